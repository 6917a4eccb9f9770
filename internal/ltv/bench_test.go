package ltv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// simulateCustomers draws n customers' summaries from BG/NBD (bg = r, alpha, a, b per week) and
// Gamma-Gamma (gg = p, q, gamma) with first purchases spread uniformly over maxDays days before the
// end of observation. Unless continuous, times are whole days expressed in weeks (days/7) and
// purchases on the same day are merged, as in the summaries the operator computes (which makes the
// data slightly different from the model). Seeded and deterministic.
func simulateCustomers(n int, seed uint64, bg, gg []float64, maxDays int, continuous bool) (rows []RFM, monetary []float64) {
	src := rand.NewPCG(seed, 0x73696d)
	rng := rand.New(src)
	lam := distuv.Gamma{Alpha: bg[0], Beta: bg[1], Src: src}
	drop := distuv.Beta{Alpha: bg[2], Beta: bg[3], Src: src}
	nu := distuv.Gamma{Alpha: gg[1], Beta: gg[2], Src: src}
	rows = make([]RFM, n)
	monetary = make([]float64, n)
	for i := range rows {
		tDays := 1 + rng.IntN(maxDays)
		T := float64(tDays) / 7
		if continuous {
			T = rng.Float64() * float64(maxDays) / 7
		}
		l, p := lam.Rand(), drop.Rand()
		x, lastDay, tx := 0, 0, 0.0
		t := 0.0
		for {
			t += rng.ExpFloat64() / l
			if t >= T {
				break
			}
			if continuous {
				x++
				tx = t
			} else {
				day := int(t * 7)
				if day >= tDays {
					break
				}
				if day != lastDay {
					x++
					lastDay = day
					tx = float64(day) / 7
				}
			}
			if rng.Float64() < p {
				break
			}
		}
		rows[i] = RFM{X: float64(x), Tx: tx, T: T}
		if x > 0 {
			v := nu.Rand()
			z := distuv.Gamma{Alpha: gg[0] * float64(x), Beta: v * float64(x), Src: src}
			monetary[i] = z.Rand()
		}
	}
	return rows, monetary
}

var (
	benchBG = []float64{0.243, 4.414, 0.793, 2.426}
	benchGG = []float64{6.25, 3.74, 15.44}
)

type simData struct {
	rows     []RFM
	monetary []float64
	freq     []float64
}

var simCache sync.Map // n -> *simData

func simulated(n int) *simData {
	if v, ok := simCache.Load(n); ok {
		return v.(*simData)
	}
	rows, m := simulateCustomers(n, 42, benchBG, benchGG, 730, false)
	d := &simData{rows: rows, monetary: m, freq: make([]float64, n)}
	for i, r := range rows {
		d.freq[i] = r.X
	}
	simCache.Store(n, d)
	return d
}

// weeks: data in days/7, 12-month horizon.
var benchCLV = CLVConfig{HorizonMonths: 12, PeriodsPerMonth: 365.25 / 12 / 7, AnnualDiscountRate: 0.1, GrossMargin: 0.3}

func TestSimulatedRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("simulation")
	}
	d := simulated(200000)
	pm, err := FitBGNBD(d.rows)
	if err != nil {
		t.Fatal(err)
	}
	sm, err := FitGammaGamma(d.freq, d.monetary, nil)
	if err != nil {
		t.Fatal(err)
	}
	pf, sf := pm.Fit(), sm.Fit()
	t.Logf("BG/NBD on 200k simulated: %v (true %v), se %v, iterations %d", pf.Params, benchBG, pf.StdErrors, pf.Iterations)
	t.Logf("Gamma-Gamma: %v (true %v), se %v", sf.Params, benchGG, sf.StdErrors)
	// The simulation rounds times to days and merges same-day purchases, so allow 4 standard errors
	// plus 5%.
	for i, v := range pf.Params {
		if math.Abs(v-benchBG[i]) > 4*pf.StdErrors[i]+0.05*benchBG[i] {
			t.Errorf("BG/NBD %s = %g, simulated with %g", pf.ParamNames[i], v, benchBG[i])
		}
	}
	for i, v := range sf.Params {
		if math.Abs(v-benchGG[i]) > 4*sf.StdErrors[i]+0.05*benchGG[i] {
			t.Errorf("Gamma-Gamma %s = %g, simulated with %g", sf.ParamNames[i], v, benchGG[i])
		}
	}
	// Predictions on many rows (parallel chunks, P(alive) tables) agree with the single-customer
	// functions.
	cfg := benchCLV
	cfg.MonthlyRetentionCost = 0.1
	out := make([]CustomerValue, len(d.rows))
	if err := PredictCustomers(pm, sm, d.rows, d.monetary, cfg, out); err != nil {
		t.Fatal(err)
	}
	disc := math.Pow(1+cfg.MonthlyDiscountRate(), -1)
	bg := pm.(*betaGeo)
	for i := 0; i < len(d.rows); i += 997 {
		r := d.rows[i]
		pa := pm.ProbabilityAlive(r.X, r.Tx, r.T)
		spend := sm.ExpectedSpend(r.X, d.monetary[i])
		var clv, prev float64
		f := 1.0
		for m := 1; m <= cfg.HorizonMonths; m++ {
			f *= disc
			e := pm.ExpectedPurchases(float64(m)*cfg.PeriodsPerMonth, r.X, r.Tx, r.T)
			clv += 0.3*spend*(e-prev)*f - 0.1*pa*bg.survivalIfAlive(float64(m-1)*cfg.PeriodsPerMonth, r.X, r.T)*f
			prev = e
		}
		got := out[i]
		if math.Abs(got.CLV-clv) > 1e-9*math.Max(1, math.Abs(clv)) || math.Abs(got.ProbabilityAlive-pa) > 1e-12 ||
			math.Abs(got.ExpectedPurchases-prev) > 1e-12 || got.ExpectedSpend != spend {
			t.Fatalf("customer %d %+v: %+v, want CLV %.12g P(alive) %.15g E %.15g spend %g", i, r, got, clv, pa, prev, spend)
		}
	}
}

func benchmarkFitBGNBD(b *testing.B, n int) {
	d := simulated(n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pm, err := FitBGNBD(d.rows)
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			fr := pm.Fit()
			b.Logf("n=%d params=%.4f LL=%.1f iterations=%d converged=%v", n, fr.Params, fr.LogLikelihood, fr.Iterations, fr.Converged)
		}
	}
}

func BenchmarkFitBGNBD100k(b *testing.B) { benchmarkFitBGNBD(b, 100_000) }
func BenchmarkFitBGNBD1M(b *testing.B)   { benchmarkFitBGNBD(b, 1_000_000) }

func BenchmarkCompress1M(b *testing.B) {
	d := simulated(1_000_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		u, _ := Compress(d.rows)
		if i == 0 {
			b.Logf("unique rows: %d", len(u))
		}
	}
}

func BenchmarkFitGammaGamma1M(b *testing.B) {
	d := simulated(1_000_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := FitGammaGamma(d.freq, d.monetary, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func benchModels(b *testing.B, d *simData) (PurchaseModel, SpendModel) {
	pm, err := FitBGNBD(d.rows)
	if err != nil {
		b.Fatal(err)
	}
	sm, err := FitGammaGamma(d.freq, d.monetary, nil)
	if err != nil {
		b.Fatal(err)
	}
	return pm, sm
}

func BenchmarkPredictCustomers1M(b *testing.B) {
	d := simulated(1_000_000)
	pm, sm := benchModels(b, d)
	out := make([]CustomerValue, len(d.rows))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := PredictCustomers(pm, sm, d.rows, d.monetary, benchCLV, out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPipeline1M is the modelling part of a run: BG/NBD fit, Gamma-Gamma fit and 12-month CLV
// for one million customers.
func BenchmarkPipeline1M(b *testing.B) {
	d := simulated(1_000_000)
	out := make([]CustomerValue, len(d.rows))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pm, sm := benchModels(b, d)
		if err := PredictCustomers(pm, sm, d.rows, d.monetary, benchCLV, out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIntervals1M(b *testing.B) {
	d := simulated(1_000_000)
	pm, sm := benchModels(b, d)
	// All customers plus two segments.
	var rep, one []int32
	for i, r := range d.rows {
		if r.X > 0 {
			rep = append(rep, int32(i))
		} else if i%2 == 0 {
			one = append(one, int32(i))
		}
	}
	groups := []IntervalRequest{{Name: "all"}, {Name: "repeat", Members: rep}, {Name: "half-single", Members: one}}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		iv, err := AverageCLVIntervals(pm, sm, d.rows, d.monetary, benchCLV, groups, 200, 7, 0.9)
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			b.Logf("%+v", iv)
		}
	}
}

// BenchmarkCustomerBounds compares AverageCLVIntervals with CLVIntervals (the same groups plus
// every customer's bounds) on one million simulated customers (the delta method) and on 15,000
// (the 200-draw bootstrap, below IntervalSampleRows unique rows).
func BenchmarkCustomerBounds(b *testing.B) {
	for _, n := range []int{15_000, 1_000_000} {
		d := simulated(n)
		pm, sm := benchModels(b, d)
		groups := []IntervalRequest{{Name: "all"}}
		b.Run(fmt.Sprintf("average/%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := AverageCLVIntervals(pm, sm, d.rows, d.monetary, benchCLV, groups, 200, 7, 0.9); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("withCustomers/%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, _, err := CLVIntervals(pm, sm, d.rows, d.monetary, benchCLV, groups, 200, 7, 0.9); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
