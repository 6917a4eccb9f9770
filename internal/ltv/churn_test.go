package ltv

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
	"gonum.org/v1/gonum/stat/distuv"
)

// simulated draws customers from the model's posterior given (x, tx, T) and simulates their
// purchases after T: the share alive at T+w, the share without a purchase in (T, T+w], and the
// share who bought by T+t for the given t.
type simOutcome struct{ aliveAfter, noPurchase, boughtBy float64 }

func simulate(n int, pa float64, drawRates func() (lambda, p, mu float64), w, t float64, rng *rand.Rand) simOutcome {
	var alive, none, bought int
	horizon := math.Max(w, t)
	for i := 0; i < n; i++ {
		if rng.Float64() >= pa {
			none++
			continue
		}
		lambda, p, mu := drawRates()
		death := math.Inf(1)
		if mu > 0 {
			death = rng.ExpFloat64() / mu
		}
		now, first, dead := 0.0, math.Inf(1), false
		for !dead {
			next := now + rng.ExpFloat64()/lambda
			if next > death || next > horizon {
				break
			}
			now = next
			if math.IsInf(first, 1) {
				first = now
			}
			if p > 0 && rng.Float64() < p {
				dead = true
				death = now
			}
		}
		if death > w {
			alive++
		}
		if !(first <= w) {
			none++
		}
		if first <= t {
			bought++
		}
	}
	f := float64(n)
	return simOutcome{float64(alive) / f, float64(none) / f, float64(bought) / f}
}

// P(alive at T+w), P(no purchase in the window) and the median time to the next purchase against
// a simulation of 400,000 customers drawn from the posterior (a binomial share's standard error
// is at most 0.0008; tolerance 0.004).
func TestOutlookAgainstSimulation(t *testing.T) {
	const n, tol, w = 400_000, 0.004, 12.857 // 90 days in weeks
	bg := newBetaGeo(false, []float64{0.243, 4.414, 0.793, 2.426})
	pn, err := NewParetoNBD(0.553, 10.578, 0.606, 11.669)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	src := rand.New(rand.NewPCG(7, 8))
	customers := [][3]float64{{0, 0, 30}, {2, 30.43, 38.86}, {5, 20, 38}, {1, 5, 35}, {10, 37, 38}}
	for _, c := range customers {
		x, tx, T := c[0], c[1], c[2]
		for _, m := range []struct {
			name  string
			pm    PurchaseModel
			rates func() (float64, float64, float64)
		}{
			{"BG/NBD", bg, func() (float64, float64, float64) {
				l := distuv.Gamma{Alpha: 0.243 + x, Beta: 4.414 + T, Src: src}.Rand()
				p := distuv.Beta{Alpha: 0.793, Beta: 2.426 + x, Src: src}.Rand()
				return l, p, 0
			}},
			{"Pareto/NBD", pn, func() (float64, float64, float64) {
				l := distuv.Gamma{Alpha: 0.553 + x, Beta: 10.578 + T, Src: src}.Rand()
				mu := distuv.Gamma{Alpha: 0.606, Beta: 11.669 + T, Src: src}.Rand()
				return l, 0, mu
			}},
		} {
			o, ok := CustomerOutlook(m.pm, x, tx, T, w)
			if !ok {
				t.Fatalf("%s: no outlook", m.name)
			}
			pa := m.pm.ProbabilityAlive(x, tx, T)
			probe := o.NextPurchase
			if math.IsNaN(probe) {
				probe = w
			}
			s := simulate(n, pa, m.rates, w, probe, rng)
			if math.Abs(o.AliveAfter-s.aliveAfter) > tol || math.Abs(o.NoPurchase-s.noPurchase) > tol {
				t.Errorf("%s (%v): alive after %.4f (sim %.4f), no purchase %.4f (sim %.4f)", m.name, c, o.AliveAfter, s.aliveAfter, o.NoPurchase, s.noPurchase)
			}
			if !math.IsNaN(o.NextPurchase) && math.Abs(s.boughtBy-0.5) > tol {
				t.Errorf("%s (%v): %.4f bought by the median next purchase %.2f, want 0.5", m.name, c, s.boughtBy, o.NextPurchase)
			}
			if math.IsNaN(o.NextPurchase) && pa > MinAliveForNextPurchase && s.boughtBy > 0.5 {
				t.Errorf("%s (%v): no next purchase, but %.3f bought within the window", m.name, c, s.boughtBy)
			}
			t.Logf("%-10s x=%v tx=%v T=%v: P(alive) %.3f, after 90 days %.3f (sim %.3f), no purchase %.3f (sim %.3f), next purchase %.2f weeks",
				m.name, x, tx, T, pa, o.AliveAfter, s.aliveAfter, o.NoPurchase, s.noPurchase, o.NextPurchase)
		}
	}
}

// Pareto/NBD's quadrature against a brute-force double integral over lambda and mu (the
// definition: E[lambda/(lambda+mu) e^{-(lambda+mu)w} + mu/(lambda+mu)]).
func TestParetoNoPurchaseAgainstDoubleIntegral(t *testing.T) {
	pn, err := NewParetoNBD(0.553, 10.578, 0.606, 11.669)
	if err != nil {
		t.Fatal(err)
	}
	x, T, w := 2.0, 30.0, 13.0
	gl := distuv.Gamma{Alpha: 0.553 + x, Beta: 10.578 + T}
	gm := distuv.Gamma{Alpha: 0.606, Beta: 11.669 + T}
	// integrate over the quantiles (p in (0,1)) to keep the integrands bounded
	inner := func(l float64) float64 {
		return quad.Fixed(func(q float64) float64 {
			mu := gm.Quantile(q)
			s := l + mu
			return l/s*math.Exp(-s*w) + mu/s
		}, 0, 1, 200, quad.Legendre{}, 0)
	}
	want := quad.Fixed(func(p float64) float64 { return inner(gl.Quantile(p)) }, 0, 1, 200, quad.Legendre{}, 0)
	if got := pn.noPurchaseIfAlive(w, x, T); math.Abs(got-want) > 1e-4 {
		t.Errorf("P(no purchase | alive) = %.6f, double integral %.6f", got, want)
	}
}
