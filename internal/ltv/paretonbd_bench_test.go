package ltv

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// simulateParetoNBD draws n customers from the Pareto/NBD model with parameters p = (r, alpha, s,
// beta) in days: lambda ~ Gamma(r, alpha), mu ~ Gamma(s, beta), lifetime ~ Exp(mu), purchases a
// Poisson process while alive, observation T ~ Uniform(1, maxT) days after the first purchase.
// Times are continuous (no merging to days), so nearly every row is unique. Seeded, deterministic.
func simulateParetoNBD(n int, seed uint64, p []float64, maxT float64) []RFM {
	src := rand.NewPCG(seed, 0x706e6264)
	rng := rand.New(src)
	lam := distuv.Gamma{Alpha: p[0], Beta: p[1], Src: src}
	mu := distuv.Gamma{Alpha: p[2], Beta: p[3], Src: src}
	rows := make([]RFM, n)
	for i := range rows {
		T := 1 + rng.Float64()*(maxT-1)
		l, m := lam.Rand(), mu.Rand()
		life := rng.ExpFloat64() / m
		end := math.Min(life, T)
		x, tx := 0, 0.0
		for t := rng.ExpFloat64() / l; t < end; t += rng.ExpFloat64() / l {
			x++
			tx = t
		}
		rows[i] = RFM{X: float64(x), Tx: tx, T: T}
	}
	return rows
}

var pnbdTrue = []float64{0.55, 75, 0.6, 80} // CDNOW-like, in days

var (
	pnbdSimOnce sync.Once
	pnbdSim1M   []RFM
)

func pnbdSimulated(n int) []RFM {
	pnbdSimOnce.Do(func() { pnbdSim1M = simulateParetoNBD(1_000_000, 42, pnbdTrue, 730) })
	return pnbdSim1M[:n]
}

func TestParetoNBDSimulatedRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("fits 100,000 simulated customers")
	}
	rows := pnbdSimulated(100_000)
	pm, err := FitParetoNBD(rows)
	if err != nil {
		t.Fatal(err)
	}
	fr := pm.Fit()
	t.Logf("params %v (true %v) se %v LL %.3f converged %v", fr.Params, pnbdTrue, fr.StdErrors, fr.LogLikelihood, fr.Converged)
	for i, v := range pnbdTrue {
		if se := fr.StdErrors[i]; !(se > 0) || math.Abs(fr.Params[i]-v) > 4*se {
			t.Errorf("%s = %g, true %g, standard error %g", fr.ParamNames[i], fr.Params[i], v, se)
		}
	}
	if !fr.Converged {
		t.Error("not converged")
	}
}

func benchmarkFitParetoNBD(b *testing.B, n int) {
	rows := pnbdSimulated(n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pm, err := FitParetoNBD(rows)
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			fr := pm.Fit()
			b.Logf("n=%d params %.4g LL %.2f converged %v iterations %d", n, fr.Params, fr.LogLikelihood, fr.Converged, fr.Iterations)
		}
	}
}

func BenchmarkFitParetoNBD100k(b *testing.B) { benchmarkFitParetoNBD(b, 100_000) }
func BenchmarkFitParetoNBD1M(b *testing.B)   { benchmarkFitParetoNBD(b, 1_000_000) }

// BenchmarkFitParetoNBDDaily1M fits the 1M day-granular customers of BenchmarkIntervals1M (times in
// days/7: their rows share (x, time) cells, unlike pnbdSimulated's continuous times).
func BenchmarkFitParetoNBDDaily1M(b *testing.B) {
	d := simulated(1_000_000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pm, err := FitParetoNBD(d.rows)
		if err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			fr := pm.Fit()
			b.Logf("params %.6g LL %.4f converged %v", fr.Params, fr.LogLikelihood, fr.Converged)
		}
	}
}

// BenchmarkParetoNBDLikelihood1M is one evaluation of the log-likelihood and its gradient on 1M rows.
func BenchmarkParetoNBDLikelihood1M(b *testing.B) {
	rows := pnbdSimulated(1_000_000)
	d := newPNBDData(rows)
	theta := []float64{math.Log(0.55), math.Log(75), math.Log(0.6), math.Log(80)}
	g := make([]float64, 4)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.negLL(theta, g)
	}
}

var (
	pnbdBenchOnce sync.Once
	pnbdBenchPM   PurchaseModel
	pnbdBenchSM   SpendModel
	pnbdBenchErr  error
)

// pnbdBenchModels fits Pareto/NBD and Gamma-Gamma once to the 1M day-granular simulated customers
// of BenchmarkIntervals1M (times in days/7, as the operator's summaries).
func pnbdBenchModels(b *testing.B) (*simData, PurchaseModel, SpendModel) {
	d := simulated(1_000_000)
	pnbdBenchOnce.Do(func() {
		pnbdBenchPM, pnbdBenchErr = FitParetoNBD(d.rows)
		if pnbdBenchErr == nil {
			pnbdBenchSM, pnbdBenchErr = FitGammaGamma(d.freq, d.monetary, nil)
		}
	})
	if pnbdBenchErr != nil {
		b.Fatal(pnbdBenchErr)
	}
	return d, pnbdBenchPM, pnbdBenchSM
}

// BenchmarkIntervalsParetoNBD1M is BenchmarkIntervals1M with a Pareto/NBD purchase model.
func BenchmarkIntervalsParetoNBD1M(b *testing.B) {
	d, pm, sm := pnbdBenchModels(b)
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

func BenchmarkPredictCustomersParetoNBD1M(b *testing.B) {
	d, pm, sm := pnbdBenchModels(b)
	out := make([]CustomerValue, len(d.rows))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := PredictCustomers(pm, sm, d.rows, d.monetary, benchCLV, out); err != nil {
			b.Fatal(err)
		}
	}
}
