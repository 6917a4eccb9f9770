package ltv

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
)

// loadCDNOW reads the published 39-week RFM summary of the CDNOW sample (2357 customers):
// ID, x, t_x, T (weeks), zbar (mean repeat spend).
func loadCDNOW(t testing.TB) (rows []RFM, zbar []float64) {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "cdnow_sample_rfm_39w.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs[1:] {
		v := make([]float64, 4)
		for i := range v {
			if v[i], err = strconv.ParseFloat(rec[i+1], 64); err != nil {
				t.Fatal(err)
			}
		}
		rows = append(rows, RFM{X: v[0], Tx: v[1], T: v[2]})
		zbar = append(zbar, v[3])
	}
	if len(rows) != 2357 {
		t.Fatalf("CDNOW sample has %d customers, want 2357", len(rows))
	}
	return rows, zbar
}

func round(v float64, decimals int) float64 {
	s := math.Pow(10, float64(decimals))
	return math.Round(v*s) / s
}

// Published BG/NBD estimates on the CDNOW sample (Fader, Hardie & Lee 2005), to the precision of
// Hardie's spreadsheet; the paper rounds them to r=0.243, alpha=4.414, a=0.793, b=2.426.
var cdnowBGNBD = []float64{0.2426, 4.4136, 0.7929, 2.4259}

func TestBGNBDFitCDNOW(t *testing.T) {
	rows, _ := loadCDNOW(t)
	m, err := FitBGNBD(rows)
	if err != nil {
		t.Fatal(err)
	}
	fr := m.Fit()
	t.Logf("BG/NBD CDNOW: %v LL=%.4f converged=%v iterations=%d |grad|=%.2g se=%v", fr.Params, fr.LogLikelihood, fr.Converged, fr.Iterations, fr.GradientNorm, fr.StdErrors)
	want := map[string]float64{"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
	for name, w := range want {
		if got := round(fr.Param(name), 3); got != w {
			t.Errorf("%s = %.5f, published %.3f (to 3 decimals)", name, fr.Param(name), w)
		}
	}
	if got := round(fr.LogLikelihood, 1); got != -9582.4 {
		t.Errorf("LL = %.3f, published -9582.4 (to 0.1)", fr.LogLikelihood)
	}
	if !fr.Converged || fr.Model != "BGNBD" || len(fr.LogCovariance) != 4 {
		t.Errorf("fit result: %+v", fr)
	}
	for i, se := range fr.StdErrors {
		if !(se > 0) || se > fr.Params[i] {
			t.Errorf("standard error of %s = %g", fr.ParamNames[i], se)
		}
	}

	// The same fit from rows compressed beforehand (weights) gives the same optimum.
	unique, _ := Compress(rows)
	if len(unique) >= len(rows) {
		t.Fatalf("Compress did not merge any CDNOW rows")
	}
	m2, err := FitBGNBD(unique)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range m2.Fit().Params {
		if math.Abs(v-fr.Params[i]) > 1e-6*fr.Params[i] {
			t.Errorf("fit on unique rows: %s = %.8f, on raw rows %.8f", fr.ParamNames[i], v, fr.Params[i])
		}
	}
}

// cdnowFit is the BG/NBD fit on the CDNOW sample, shared by tests.
var cdnowFit struct {
	once sync.Once
	m    PurchaseModel
	err  error
}

func fittedCDNOW(t testing.TB) PurchaseModel {
	rows, _ := loadCDNOW(t)
	cdnowFit.once.Do(func() { cdnowFit.m, cdnowFit.err = FitBGNBD(rows) })
	if cdnowFit.err != nil {
		t.Fatal(cdnowFit.err)
	}
	return cdnowFit.m
}

func TestBGNBDPublishedPredictions(t *testing.T) {
	// At the maximum-likelihood parameters (the published ones before rounding).
	m := fittedCDNOW(t)
	// FHL 2005 / Hardie's spreadsheet: E[X(t)] for t = 1, 3, 32 weeks (4 decimals).
	for _, c := range []struct{ t, want float64 }{{1, 0.0532}, {3, 0.1506}, {32, 1.0437}} {
		if got := m.UnconditionalExpected(c.t); round(got, 4) != c.want {
			t.Errorf("E[X(%g)] = %.6f, published %.4f", c.t, got, c.want)
		}
	}
	// t = 78 weeks: the published 1.8576 is what the Gauss series gives when cut off after about
	// 150 terms (z = 78/(alpha+78) = 0.946 converges slowly); the converged value, confirmed by
	// quadrature over the dropout probability, is 1.8580. Check both.
	got78 := m.UnconditionalExpected(78)
	if round(got78, 4) != 1.8580 || math.Abs(got78-1.8576) > 5e-4 {
		t.Errorf("E[X(78)] = %.6f, want 1.8580 (published, truncated series: 1.8576)", got78)
	}
	p := m.Fit().Params
	quad78, _ := quadratureIfAlive(p, 0, 78, 0, 0)
	if math.Abs(got78-quad78) > 1e-7 {
		t.Errorf("E[X(78)] = %.9f, quadrature %.9f", got78, quad78)
	}
	r, alpha, a, b := p[0], p[1], p[2], p[3]
	term, sum, z := 1.0, 1.0, 78/(alpha+78)
	for n := 0; n < 149; n++ {
		term *= (r + float64(n)) * (b + float64(n)) / ((a + b - 1 + float64(n)) * float64(n+1)) * z
		sum += term
	}
	if trunc := (a + b - 1) / (a - 1) * (1 - math.Pow(alpha/(alpha+78), r)*sum); round(trunc, 4) != 1.8576 {
		t.Errorf("150-term series gives %.6f, expected to reproduce the published 1.8576", trunc)
	}
	// Conditional expectation for x=2, tx=30.43, T=38.86 over 39 weeks (3 decimals).
	if got := m.ExpectedPurchases(39, 2, 30.43, 38.86); round(got, 3) != 1.226 {
		t.Errorf("E[Y(39) | 2, 30.43, 38.86] = %.6f, published 1.226", got)
	}
	// The paper's rounded parameters give the same conditional value to the published precision.
	m3 := newBetaGeo(false, []float64{0.243, 4.414, 0.793, 2.426})
	if got := m3.ExpectedPurchases(39, 2, 30.43, 38.86); round(got, 3) != 1.226 {
		t.Errorf("at the rounded parameters: E[Y(39) | 2, 30.43, 38.86] = %.6f, published 1.226", got)
	}
}

// directBGNBDLikelihood evaluates the BG/NBD likelihood (FHL 2005 eq. 6) without logs.
func directBGNBDLikelihood(p []float64, x, tx, T float64) float64 {
	r, alpha, a, b := p[0], p[1], p[2], p[3]
	beta := func(u, v float64) float64 { return math.Gamma(u) * math.Gamma(v) / math.Gamma(u+v) }
	common := math.Gamma(r+x) * math.Pow(alpha, r) / math.Gamma(r)
	l := beta(a, b+x) / beta(a, b) * common / math.Pow(alpha+T, r+x)
	if x > 0 {
		l += beta(a+1, b+x-1) / beta(a, b) * common / math.Pow(alpha+tx, r+x)
	}
	return l
}

func TestBGNBDLikelihoodDirect(t *testing.T) {
	rows, _ := loadCDNOW(t)
	m := newBetaGeo(false, cdnowBGNBD)
	var sum float64
	for i, r := range rows {
		got := m.logLikelihoodRow(r.X, r.Tx, r.T)
		sum += got
		if r.X <= 20 { // math.Gamma overflows for large x
			want := math.Log(directBGNBDLikelihood(cdnowBGNBD, r.X, r.Tx, r.T))
			if math.Abs(got-want) > 1e-10*math.Max(1, math.Abs(want)) {
				t.Fatalf("row %d %+v: log-likelihood %.12g, direct %.12g", i, r, got, want)
			}
		}
	}
	// The fitting objective (unique rows, per-x tables, parallel) agrees with the per-row sum.
	unique, _ := Compress(rows)
	obj := betaGeoObjective(newBetaGeoData(unique), 0)
	lt := logs(cdnowBGNBD)
	if got := -obj(lt, nil); math.Abs(got-sum) > 1e-8*math.Abs(sum) {
		t.Errorf("objective %.10f, per-row sum %.10f", got, sum)
	}
	checkGradient(t, "BGNBD", obj, lt)
	checkGradient(t, "BGNBD", obj, logs([]float64{1.3, 0.7, 2.1, 0.4}))
	full := betaGeoLikelihood(newBetaGeoData(unique), 0)
	checkHessian(t, "BGNBD", full, lt)
	checkHessian(t, "BGNBD", full, logs([]float64{1.3, 0.7, 2.1, 0.4}))
	checkHessian(t, "BGNBD", full, logs([]float64{0.05, 20, 0.3, 9}))
}

func logs(p []float64) []float64 {
	out := make([]float64, len(p))
	for i, v := range p {
		out[i] = math.Log(v)
	}
	return out
}

// checkHessian compares an objective's analytic Hessian with central differences of its analytic
// gradient (checked by checkGradient), entry by entry relative to the diagonal's scale, and checks
// that asking for the Hessian leaves the value and the gradient as they were.
func checkHessian(t *testing.T, name string, obj hessianObjective, x []float64) {
	t.Helper()
	n := len(x)
	g0, g1 := make([]float64, n), make([]float64, n)
	hess := newSquare(n)
	f0 := obj(x, g0, nil)
	f1 := obj(x, g1, hess)
	if f0 != f1 {
		t.Errorf("%s: value %.17g with the Hessian, %.17g without", name, f1, f0)
	}
	for i := range g0 {
		if g0[i] != g1[i] {
			t.Errorf("%s: gradient[%d] %.17g with the Hessian, %.17g without", name, i, g1[i], g0[i])
		}
	}
	gp, gm := make([]float64, n), make([]float64, n)
	xs := append([]float64(nil), x...)
	for j := range x {
		h := 1e-5 * math.Max(1, math.Abs(x[j]))
		xs[j] = x[j] + h
		obj(xs, gp, nil)
		xs[j] = x[j] - h
		obj(xs, gm, nil)
		xs[j] = x[j]
		for i := range x {
			num := (gp[i] - gm[i]) / (2 * h)
			scale := math.Sqrt(math.Abs(hess[i][i] * hess[j][j]))
			if math.Abs(num-hess[i][j]) > 1e-6*math.Max(1, scale) {
				t.Errorf("%s at %v: Hessian[%d][%d] = %.10g, numeric %.10g", name, x, i, j, hess[i][j], num)
			}
		}
	}
}

// checkGradient compares an objective's analytic gradient with central differences.
func checkGradient(t *testing.T, name string, obj objective, x []float64) {
	t.Helper()
	g := make([]float64, len(x))
	obj(x, g)
	xs := append([]float64(nil), x...)
	for i := range x {
		h := 1e-5
		xs[i] = x[i] + h
		fp := obj(xs, nil)
		xs[i] = x[i] - h
		fm := obj(xs, nil)
		xs[i] = x[i]
		num := (fp - fm) / (2 * h)
		if math.Abs(num-g[i]) > 1e-5*math.Max(1, math.Abs(num)) {
			t.Errorf("%s gradient[%d] = %.9g, numeric %.9g", name, i, g[i], num)
		}
	}
}

func TestBGNBDProbabilityAlive(t *testing.T) {
	m := newBetaGeo(false, cdnowBGNBD)
	r, alpha, a, b := cdnowBGNBD[0], cdnowBGNBD[1], cdnowBGNBD[2], cdnowBGNBD[3]
	for _, c := range []struct{ x, tx, T float64 }{{0, 0, 38.86}, {2, 30.43, 38.86}, {1, 1.71, 38.86}, {7, 35, 38}, {25, 10, 39}, {1, 0.1, 0.2}} {
		want := 1.0
		if c.x > 0 {
			want = 1 / (1 + a/(b+c.x-1)*math.Pow((alpha+c.T)/(alpha+c.tx), r+c.x))
		}
		if got := m.ProbabilityAlive(c.x, c.tx, c.T); math.Abs(got-want) > 1e-12 {
			t.Errorf("P(alive | %v) = %.15f, closed form %.15f", c, got, want)
		}
	}
	// The batch form used by predictions agrees, directly (few rows) and through its power tables
	// (many rows on few distinct times), for BG/NBD and MBG/NBD.
	rows := []RFM{{X: 0, T: 38.86}, {X: 2, Tx: 30.43, T: 38.86}, {X: 25, Tx: 10, T: 39}}
	var simU []RFM
	for x := 0; x < 10; x++ {
		for T := 1; T <= 104; T++ {
			for tx := 0; tx <= T; tx += 5 {
				if x > 0 || tx == 0 {
					simU = append(simU, RFM{X: float64(x), Tx: float64(tx), T: float64(T)})
				}
			}
		}
	}
	// x = 400 over this time range would overflow the tables: evaluated directly.
	simU = append(simU, RFM{X: 400, Tx: 100, T: 104}, RFM{X: 400, Tx: 1, T: 104})
	for _, mm := range []*betaGeo{m, newBetaGeo(true, []float64{0.525, 6.183, 0.891, 1.614})} {
		for _, rs := range [][]RFM{rows, simU} {
			out := make([]float64, len(rs))
			tb := newRowTables(rs)
			mm.probabilityAliveRows(tb, out)
			t.Logf("%d rows, %d x values, %d times", len(rs), len(tb.xs), len(tb.times))
			for i, rr := range rs {
				if want := mm.ProbabilityAlive(rr.X, rr.Tx, rr.T); math.Abs(out[i]-want) > 1e-13 {
					t.Fatalf("batch P(alive) %v = %.16g, single %.16g", rr, out[i], want)
				}
			}
		}
	}
}

// quadratureIfAlive computes E[purchases in (T,T+t] | alive] and P(survive t | alive) by integrating
// over the posterior p ~ Beta(a, b+x+k) numerically, independently of any hypergeometric function:
// E = E_p[(1 - ((alpha+T)/(alpha+T+p t))^(r+x)) / p], S = E_p[((alpha+T)/(alpha+T+p t))^(r+x)].
func quadratureIfAlive(p []float64, k, t, x, T float64) (expected, survival float64) {
	r, alpha, a, b := p[0], p[1], p[2], p[3]
	bb := b + x + k
	s := r + x
	lnB := lnBeta(a, bb)
	// substitute p = u^(1/a): p^(a-1) dp = du/a
	integrate := func(f func(p float64) float64) float64 {
		return quad.Fixed(func(u float64) float64 {
			if u <= 0 {
				return 0
			}
			pp := math.Pow(u, 1/a)
			return f(pp) * math.Exp((bb-1)*math.Log1p(-pp)-lnB) / a
		}, 0, 1, 2000, nil, 0)
	}
	expected = integrate(func(pp float64) float64 {
		q := pp * t / (alpha + T)
		if q < 1e-8 {
			return s * t / (alpha + T)
		}
		return -math.Expm1(-s*math.Log1p(q)) / pp
	})
	survival = integrate(func(pp float64) float64 { return math.Pow((alpha+T)/(alpha+T+pp*t), s) })
	return
}

func TestBetaGeoExpectationByQuadrature(t *testing.T) {
	for _, modified := range []bool{false, true} {
		for _, p := range [][]float64{cdnowBGNBD, {0.525, 6.183, 0.891, 1.614}, {0.8, 12, 1.6, 4}, {0.5, 3, 1.00003, 2}} {
			m := newBetaGeo(modified, p)
			for _, c := range []struct{ t, x, T float64 }{{39, 2, 38.86}, {4.35, 0, 10}, {52, 0, 0}, {13, 15, 60}, {104, 60, 80}} {
				we, ws := quadratureIfAlive(p, m.k, c.t, c.x, c.T)
				ge, gs := m.expectedIfAlive(c.t, c.x, c.T), m.survivalIfAlive(c.t, c.x, c.T)
				if math.Abs(ge-we) > 1e-6*math.Max(1, we) || math.Abs(gs-ws) > 1e-6 {
					t.Errorf("modified=%v %v %+v: expected %.9f (quadrature %.9f), survival %.9f (quadrature %.9f)",
						modified, p, c, ge, we, gs, ws)
				}
			}
		}
	}
}

// The Euler-transformed evaluation equals the paper's form of the conditional expectation.
func TestBGNBDExpectationPaperForm(t *testing.T) {
	p := cdnowBGNBD
	r, alpha, a, b := p[0], p[1], p[2], p[3]
	m := newBetaGeo(false, p)
	for _, c := range []struct{ t, x, tx, T float64 }{{39, 2, 30.43, 38.86}, {10, 0, 0, 20}, {52, 5, 20, 30}} {
		z := c.t / (alpha + c.T + c.t)
		want := (a + b + c.x - 1) / (a - 1) * (1 - math.Pow((alpha+c.T)/(alpha+c.T+c.t), r+c.x)*hyp2f1(r+c.x, b+c.x, a+b+c.x-1, z))
		if c.x > 0 {
			want /= 1 + a/(b+c.x-1)*math.Pow((alpha+c.T)/(alpha+c.tx), r+c.x)
		}
		if got := m.ExpectedPurchases(c.t, c.x, c.tx, c.T); math.Abs(got-want) > 1e-10 {
			t.Errorf("%+v: %.12f, paper form %.12f", c, got, want)
		}
	}
	// A new customer's conditional expectation is the unconditional one.
	if d := m.ExpectedPurchases(20, 0, 0, 0) - m.UnconditionalExpected(20); d != 0 {
		t.Errorf("conditional at x=tx=T=0 differs from unconditional by %g", d)
	}
}

func TestFitBGNBDErrors(t *testing.T) {
	if _, err := FitBGNBD(nil); err == nil {
		t.Error("no rows: want an error")
	}
	if _, err := FitBGNBD([]RFM{{X: 1, Tx: 5, T: 3}}); err == nil {
		t.Error("tx > T: want an error")
	}
	if _, err := FitBGNBD([]RFM{{X: math.NaN(), Tx: 1, T: 3}}); err == nil {
		t.Error("NaN: want an error")
	}
	// No repeat purchases at all: the likelihood has no interior maximum.
	rows := make([]RFM, 50)
	for i := range rows {
		rows[i] = RFM{T: float64(10 + i)}
	}
	for _, fit := range []func([]RFM) (PurchaseModel, error){FitBGNBD, FitModifiedBGNBD} {
		if _, err := fit(rows); err == nil || !strings.Contains(err.Error(), "BGNBD") {
			t.Errorf("no repeat purchases: error %v, want one naming the model", err)
		}
	}
}

func TestCompress(t *testing.T) {
	rows := []RFM{{X: 1, Tx: 2, T: 3}, {X: 0, T: 3}, {X: 1, Tx: 2 + 1e-12, T: 3}, {X: 0, T: 3, Weight: 4}, {X: 1, Tx: 2, T: 4}}
	u, idx := Compress(rows)
	if len(u) != 3 {
		t.Fatalf("unique rows %v", u)
	}
	wantIdx := []int32{0, 1, 0, 1, 2}
	for i := range idx {
		if idx[i] != wantIdx[i] {
			t.Fatalf("index %v, want %v", idx, wantIdx)
		}
	}
	if u[0].Weight != 2 || u[1].Weight != 5 || u[2].Weight != 1 || u[0].Tx != 2 {
		t.Errorf("weights %v", u)
	}
}

// The fit does not depend on the time unit: in days alpha is 7 times larger, the other parameters
// are unchanged and the log-likelihood (a density in time) shifts by -sum(x)*log(scale). This also
// exercises the starting points on other scales.
func TestBGNBDTimeUnits(t *testing.T) {
	rows, _ := loadCDNOW(t)
	base := fittedCDNOW(t).Fit()
	var sumX float64
	for _, r := range rows {
		sumX += r.X
	}
	for _, scale := range []float64{7, 1.0 / 4.348, 365} {
		scaled := make([]RFM, len(rows))
		for i, r := range rows {
			scaled[i] = RFM{X: r.X, Tx: r.Tx * scale, T: r.T * scale}
		}
		for _, modified := range []bool{false, true} {
			fit := FitBGNBD
			ref := base
			if modified {
				fit = FitModifiedBGNBD
				m, err := FitModifiedBGNBD(rows)
				if err != nil {
					t.Fatal(err)
				}
				ref = m.Fit()
			}
			m, err := fit(scaled)
			if err != nil {
				t.Fatalf("scale %g: %v", scale, err)
			}
			fr := m.Fit()
			for i, v := range fr.Params {
				want := ref.Params[i]
				if i == 1 {
					want *= scale
				}
				if math.Abs(v-want) > 1e-5*want {
					t.Errorf("modified=%v scale %g: %s = %.8g, want %.8g", modified, scale, fr.ParamNames[i], v, want)
				}
			}
			if d := fr.LogLikelihood - (ref.LogLikelihood - sumX*math.Log(scale)); math.Abs(d) > 1e-6 {
				t.Errorf("modified=%v scale %g: LL %.6f, want %.6f", modified, scale, fr.LogLikelihood, ref.LogLikelihood-sumX*math.Log(scale))
			}
		}
	}
}
