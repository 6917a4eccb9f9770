package ltv

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// Published parameters (Fader, Hardie & Lee 2005; Fader & Hardie 2013 note) as the issue states them.
var (
	publishedBGNBD       = []float64{0.243, 4.414, 0.793, 2.426}
	publishedGammaGammaP = 6.25
	publishedGammaGammaQ = 3.74
	publishedGammaGammaG = 15.44
)

// hyp2f1Series is the Gauss series of 2F1(a, b; c; z) for 0 <= z < 1, summed until the terms stop
// mattering: slow, but independent of the package's hyp2f1.
func hyp2f1Series(a, b, c, z float64) float64 {
	sum, term := 1.0, 1.0
	for n := 0; n < 1_000_000; n++ {
		term *= (a + float64(n)) * (b + float64(n)) / ((c + float64(n)) * float64(n+1)) * z
		sum += term
		if math.Abs(term) < 1e-17*math.Abs(sum) {
			break
		}
	}
	return sum
}

// bgnbdClosedForm is E[X(t)] of BG/NBD from the paper (eq. 9), with the series above.
func bgnbdClosedForm(p []float64, t float64) float64 {
	r, alpha, a, b := p[0], p[1], p[2], p[3]
	return (a + b - 1) / (a - 1) * (1 - math.Pow(alpha/(alpha+t), r)*hyp2f1Series(r, b, a+b-1, t/(alpha+t)))
}

// bgnbdByIntegration is E[X(t)] of BG/NBD as an average over the population: a customer with
// rates (lambda, p) makes (1/p)(1 - exp(-lambda p t)) purchases in expectation; averaging over
// lambda ~ Gamma(r, alpha) gives (1/p)(1 - (alpha/(alpha+p t))^r), then over p ~ Beta(a, b) by
// Simpson's rule after p = u^(1/a), which removes the density's singularity at 0.
func bgnbdByIntegration(p []float64, t float64) float64 {
	r, alpha, a, b := p[0], p[1], p[2], p[3]
	g := func(u float64) float64 {
		if u <= 0 {
			return r * t / alpha // the limit at p = 0
		}
		q := math.Pow(u, 1/a)
		if q >= 1 {
			q = 1
		}
		return (1 - math.Pow(alpha/(alpha+q*t), r)) / q * math.Pow(1-q, b-1)
	}
	const n = 400000 // even
	h := 1.0 / n
	s := g(0) + g(1)
	for i := 1; i < n; i++ {
		w := 2.0
		if i%2 == 1 {
			w = 4
		}
		s += w * g(float64(i)*h)
	}
	lb, _ := math.Lgamma(a)
	lb2, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	beta := math.Exp(lb + lb2 - lab)
	return s * h / 3 / (a * beta)
}

func TestUnconditionalExpectedBGNBDClosedFormAndIntegral(t *testing.T) {
	// The published checks (Fader, Hardie & Lee 2005) at 4 decimals, at the spreadsheet's parameters.
	spreadsheet := newBetaGeo(false, cdnowBGNBD)
	for _, c := range []struct{ t, want float64 }{{1, 0.0532}, {3, 0.1506}, {32, 1.0437}, {78, 1.8576}} {
		if got := spreadsheet.UnconditionalExpected(c.t); math.Abs(got-c.want) > 0.00051 {
			t.Errorf("E[X(%g)] = %.5f, published %.4f", c.t, got, c.want)
		}
	}
	m := newBetaGeo(false, publishedBGNBD)
	for _, tt := range []float64{0.5, 4.348, 13, 26.09, 52.18} {
		got := m.UnconditionalExpected(tt)
		closed := bgnbdClosedForm(publishedBGNBD, tt)
		integral := bgnbdByIntegration(publishedBGNBD, tt)
		if rel := math.Abs(got-closed) / closed; rel > 1e-6 {
			t.Errorf("t=%g: E[X(t)] = %.10g, closed form by series %.10g (rel %.2g)", tt, got, closed, rel)
		}
		if rel := math.Abs(got-integral) / integral; rel > 1e-6 {
			t.Errorf("t=%g: E[X(t)] = %.10g, by integration %.10g (rel %.2g)", tt, got, integral, rel)
		}
	}
}

func TestUnconditionalExpectedParetoNBD(t *testing.T) {
	// E[X(t)] = E[lambda] E[(1-exp(-mu t))/mu]: the second factor by Simpson over mu ~ Gamma(s, beta).
	r, alpha, s, beta := 0.553, 10.578, 0.606, 11.669
	m, err := NewParetoNBD(r, alpha, s, beta)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []float64{1, 13, 52} {
		// mu = v^(1/s) removes the density's singularity at 0; upper limit where the density is ~0.
		ls, _ := math.Lgamma(s)
		f := func(v float64) float64 {
			mu := math.Pow(v, 1/s)
			h := tt
			if mu > 0 {
				h = -math.Expm1(-mu*tt) / mu
			}
			return h * math.Exp(-beta*mu) // density of mu times dmu/dv: beta^s/Gamma(s) exp(-beta mu) / s
		}
		const n = 400000
		upper := math.Pow(60/beta, s)
		hh := upper / n
		sum := f(0) + f(upper)
		for i := 1; i < n; i++ {
			w := 2.0
			if i%2 == 1 {
				w = 4
			}
			sum += w * f(float64(i)*hh)
		}
		want := r / alpha * sum * hh / 3 * math.Exp(s*math.Log(beta)-ls) / s
		if got := m.UnconditionalExpected(tt); math.Abs(got-want)/want > 1e-6 {
			t.Errorf("t=%g: Pareto/NBD E[X(t)] = %.10g, by integration %.10g", tt, got, want)
		}
	}
}

// cdnowAverageFirstOrder is the mean value of the CDNOW sample's first purchase day (same-day rows
// merged), read from the raw transactions.
func cdnowAverageFirstOrder(t *testing.T) float64 {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "cdnow_sample_transactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	firstDay := map[string]string{}
	firstAmount := map[string]float64{}
	for _, rec := range recs[1:] {
		id, day := rec[0], rec[1]
		amt, err := strconv.ParseFloat(rec[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		switch d, ok := firstDay[id]; {
		case !ok || day < d:
			firstDay[id], firstAmount[id] = day, amt
		case day == d:
			firstAmount[id] += amt
		}
	}
	var sum float64
	for _, v := range firstAmount {
		sum += v
	}
	if len(firstAmount) != 2357 {
		t.Fatalf("%d customers, want 2357", len(firstAmount))
	}
	return sum / float64(len(firstAmount))
}

// TestNewCustomerLTVCDNOW: 12 months at 1% a month, margin 1, from the published BG/NBD and
// Gamma-Gamma parameters, against the same sum written out with the series closed form.
func TestNewCustomerLTVCDNOW(t *testing.T) {
	first := cdnowAverageFirstOrder(t)
	pm := newBetaGeo(false, publishedBGNBD)
	p, q, g := publishedGammaGammaP, publishedGammaGammaQ, publishedGammaGammaG
	sm := &gammaGamma{p: p, q: q, g: g}
	ppm := 365.25 / 12 / 7
	cfg := CLVConfig{HorizonMonths: 12, PeriodsPerMonth: ppm, AnnualDiscountRate: math.Pow(1.01, 12) - 1, GrossMargin: 1}
	repeat, survival := PurchaseCurves(pm, ppm)
	got, err := NewCustomerLTV(NewCustomer{FirstOrder: first, RepeatSpend: NewCustomerSpend(sm), RepeatPurchases: repeat, Survival: survival}, cfg)
	if err != nil {
		t.Fatal(err)
	}

	spend := p * g / (q - 1) // Gamma-Gamma population mean, 35.22
	want := first
	for m := 1; m <= 12; m++ {
		inc := bgnbdClosedForm(publishedBGNBD, float64(m)*ppm) - bgnbdClosedForm(publishedBGNBD, float64(m-1)*ppm)
		want += spend * inc / math.Pow(1.01, float64(m))
	}
	if rel := math.Abs(got.Value-want) / want; rel > 1e-6 {
		t.Errorf("new-customer LTV %.8f, independent %.8f (rel %.2g)", got.Value, want, rel)
	}
	if math.Abs(got.Cumulative[0]-first) > 1e-12 || math.Abs(got.Cumulative[12]-got.Value) > 1e-12 {
		t.Errorf("cumulative ends %v .. %v, want %v .. %v", got.Cumulative[0], got.Cumulative[12], first, got.Value)
	}
	// The design's order of magnitude: about 81 USD for a new customer.
	if got.Value < 75 || got.Value > 87 {
		t.Errorf("new-customer LTV %.2f is not about 81 USD", got.Value)
	}
	t.Logf("CDNOW: first order %.4f, repeat spend %.4f, E[X(12 months)] %.4f, new-customer LTV %.4f", first, spend, got.RepeatPurchases, got.Value)
}

// TestNewCustomerLTVHandComputed: two months, monthly rate exactly 10%, margin 0.5, retention cost
// 1 a month, E[X(m)] = 0.4 m, survival 0.8^m.
func TestNewCustomerLTVHandComputed(t *testing.T) {
	cfg := CLVConfig{HorizonMonths: 2, PeriodsPerMonth: 1, AnnualDiscountRate: math.Pow(1.1, 12) - 1, GrossMargin: 0.5, MonthlyRetentionCost: 1}
	nc := NewCustomer{FirstOrder: 40, RepeatSpend: 20,
		RepeatPurchases: func(m float64) float64 { return 0.4 * m },
		Survival:        func(m float64) float64 { return math.Pow(0.8, m) }}
	got, err := NewCustomerLTV(nc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// month 0: 0.5*40 = 20
	// month 1: (0.5*20*0.4 - 1*1)/1.1 = 3/1.1 = 2.727272...
	// month 2: (0.5*20*0.4 - 1*0.8)/1.21 = 3.2/1.21 = 2.644628...
	want := []float64{20, 20 + 3/1.1, 20 + 3/1.1 + 3.2/1.21}
	for m, w := range want {
		if math.Abs(got.Cumulative[m]-w) > 1e-9 {
			t.Errorf("cumulative[%d] = %.10f, want %.10f", m, got.Cumulative[m], w)
		}
	}
	if math.Abs(got.Value-25.3719008264) > 1e-9 || math.Abs(got.RepeatPurchases-0.8) > 1e-12 {
		t.Errorf("value %.10f, repeat purchases %g", got.Value, got.RepeatPurchases)
	}
}

func TestPaybackMonths(t *testing.T) {
	cum := []float64{20, 22.7, 25.4, 27.9}
	for _, c := range []struct {
		cac    float64
		months int
		ok     bool
	}{
		{cac: 15, months: 0, ok: true},   // the first order repays it
		{cac: 20, months: 0, ok: true},   // exactly
		{cac: 21, months: 1, ok: true},   // month 1
		{cac: 25.4, months: 2, ok: true}, // month k
		{cac: 27, months: 3, ok: true},
		{cac: 28, ok: false}, // never within the horizon
	} {
		m, ok := PaybackMonths(cum, c.cac)
		if ok != c.ok || (ok && m != c.months) {
			t.Errorf("CAC %g: got (%d, %v), want (%d, %v)", c.cac, m, ok, c.months, c.ok)
		}
	}
}

func TestNewCustomerLTVErrors(t *testing.T) {
	cfg := CLVConfig{HorizonMonths: 1, PeriodsPerMonth: 1, GrossMargin: 1}
	if _, err := NewCustomerLTV(NewCustomer{FirstOrder: 1}, cfg); err == nil {
		t.Error("no curve: want an error")
	}
	if _, err := NewCustomerLTV(NewCustomer{FirstOrder: math.NaN(), RepeatPurchases: func(float64) float64 { return 0 }}, cfg); err == nil {
		t.Error("NaN first order: want an error")
	}
	cfg.HorizonMonths = 0
	if _, err := NewCustomerLTV(NewCustomer{RepeatPurchases: func(float64) float64 { return 0 }}, cfg); err == nil {
		t.Error("zero horizon: want an error")
	}
}

func TestLogLikelihoodMatchesFit(t *testing.T) {
	rows, _ := loadCDNOW(t)
	pm := fittedCDNOW(t)
	ll, err := LogLikelihood(pm, rows)
	if err != nil {
		t.Fatal(err)
	}
	if fit := pm.Fit().LogLikelihood; math.Abs(ll-fit) > 1e-6*math.Abs(fit) {
		t.Errorf("LogLikelihood %.6f, fit's %.6f", ll, fit)
	}
	// Splitting the rows splits the log-likelihood.
	a, _ := LogLikelihood(pm, rows[:1000])
	b, _ := LogLikelihood(pm, rows[1000:])
	if math.Abs(a+b-ll) > 1e-6 {
		t.Errorf("parts %.6f + %.6f != %.6f", a, b, ll)
	}
}
