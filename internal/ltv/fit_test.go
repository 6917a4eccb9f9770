package ltv

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// TestPolishStopsOnRoundingNoise: a negative log-likelihood of 4e6 whose value carries rounding
// noise of 1e-5 (as Gamma-Gamma's does at 1M customers, where terms of 1e9 cancel) must not make the
// polish halve its line search on noise; it stops once the step is below a thousandth of the
// standard errors, at the optimum within that.
func TestPolishStopsOnRoundingNoise(t *testing.T) {
	opt := []float64{1.7, 1.3, 2.8}
	// A strongly correlated Hessian (as Gamma-Gamma's p and gamma are), curvature ~1e6: standard
	// errors of about 1e-3 in log space.
	hess := [][]float64{{2e6, 0, -1.9e6}, {0, 1e6, 0}, {-1.9e6, 0, 2e6}}
	evals := 0
	negLL := func(x, grad []float64) float64 {
		evals++
		f := 4e6
		for i := range x {
			g := 0.0
			for j := range x {
				g += hess[i][j] * (x[j] - opt[j])
			}
			f += (x[i] - opt[i]) * g / 2
			if grad != nil {
				grad[i] = g // exact
			}
		}
		// the value rounded to 1e-5, as a sum of terms of 1e9 rounds it
		return math.Round(f/1e-5) * 1e-5
	}
	// the start's inverse Hessian estimate ignores the correlation, as a crude estimate would
	inv := [][]float64{{1 / 2e6, 0, 0}, {0, 1 / 1e6, 0}, {0, 0, 1 / 2e6}}
	start := []float64{opt[0] + 3e-3, opt[1] - 2e-3, opt[2] + 1e-3}
	res, err := polishLikelihood("test", []string{"a", "b", "c"}, negLL, start, inv)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d evaluations", evals)
	if evals > 30 {
		t.Errorf("%d evaluations, want at most 30", evals)
	}
	// covariance = inverse Hessian; compare in standard errors
	cov := invertSymmetric(hess)
	for i, p := range res.Params {
		se := math.Sqrt(cov[i][i])
		if d := math.Abs(math.Log(p) - opt[i]); d > 0.01*se {
			t.Errorf("parameter %d: log %.9f, optimum %.9f: %.2g standard errors off", i, math.Log(p), opt[i], d/se)
		}
	}
}

// TestGammaGammaPolishEvaluations: on 1M repeat buyers Gamma-Gamma's likelihood sums terms of 1e9
// to about 4e6, so its value carries rounding noise far above the decrease a converged quasi-Newton
// step predicts; the polish must stop there instead of halving its line search on that noise.
func TestGammaGammaPolishEvaluations(t *testing.T) {
	if testing.Short() {
		t.Skip("1M rows")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	n := 1_000_000
	freq, mon := make([]float64, n), make([]float64, n)
	src := rand.NewPCG(3, 4)
	nu := distuv.Gamma{Alpha: 3.67, Beta: 16.8, Src: src}
	for i := range freq {
		x := 1 + math.Floor(rng.ExpFloat64()*9)
		freq[i] = x
		z := distuv.Gamma{Alpha: 5.66 * x, Beta: nu.Rand() * x, Src: src}
		mon[i] = math.Round(z.Rand()*100) / 100
	}
	d := &ggData{}
	xd := newDistinctIndex(64)
	var xi []int32
	for i := range freq {
		d.x, d.z, d.w = append(d.x, freq[i]), append(d.z, mon[i]), append(d.w, 1)
		xi = append(xi, xd.add(freq[i]))
	}
	d.finish(xd, xi)
	full := ggObjective(d)
	evals := 0
	counted := func(x, g []float64) float64 { evals++; return full(x, g) }
	starts := [][]float64{{math.Log(2), math.Log(3), math.Log(30)}, {math.Log(5), math.Log(4), math.Log(18)}}
	res, err := fitTwoStage("GammaGamma", gammaGammaNames, counted, ggObjective(d.subsample(subsampleThreshold/2)), starts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d evaluations on 1M rows: %v, gradient norm %g", evals, res.Params, res.GradientNorm)
	if !res.Converged {
		t.Errorf("not converged: %+v", res)
	}
	if evals > 25 {
		t.Errorf("%d evaluations of the full likelihood, want at most 25", evals)
	}
}
