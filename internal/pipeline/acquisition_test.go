package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand"
	"sort"
	"testing"

	"github.com/ltv-operator/ltv-operator/internal/ltv"
	"github.com/ltv-operator/ltv-operator/internal/report"
	"github.com/ltv-operator/ltv-operator/internal/summary"
	"github.com/ltv-operator/ltv-operator/internal/synth"
)

// synthChannels are internal/synth's default channels: multipliers of the purchase rate lambda
// and of the transaction amounts. With lambda ~ Gamma(r, alpha) scaled by c, a channel's alpha
// is alpha/c; with amounts scaled by s, its Gamma-Gamma gamma is gamma*s.
var synthChannels = map[string]struct{ rate, spend float64 }{
	"paid_search": {0.85, 1.0}, "email": {1.4, 0.9}, "organic": {1.1, 1.0}, "social": {0.7, 0.85}, "referral": {1.2, 1.15},
}

func synthShop(t testing.TB, customers int) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := synth.Write(&buf, synth.Config{Customers: customers, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func synthConfig() Config {
	cfg := baseConfig("2025-12-31", ModelBGNBD)
	cfg.Unit = summary.Day
	cfg.Columns.Attributes = []string{"channel", "country"}
	cfg.BreakdownBy = []string{"channel", "country"}
	cfg.FitBy = "channel"
	cfg.AcquisitionCost = &AcquisitionCost{Default: 20, ByAttribute: "channel", Values: map[string]float64{"paid_search": 40, "email": 5}}
	return cfg
}

func breakdownOf(t *testing.T, res *report.Result, attr string) map[string]report.BreakdownValue {
	t.Helper()
	out := map[string]report.BreakdownValue{}
	for _, b := range res.Breakdowns {
		if b.Attribute == attr {
			for _, v := range b.Values {
				out[v.Value] = v
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no breakdown by %s", attr)
	}
	return out
}

// Partitioned fits on a simulated shop whose channels have known parameters recover each
// channel's parameters, and rank the channels' new-customer LTV as their true parameters do.
func TestFitByRecoversChannelParameters(t *testing.T) {
	if testing.Short() {
		t.Skip("fits 60,000 simulated customers")
	}
	cfg := synthConfig()
	res, _, err := Run(context.Background(), cfg, csvSource(synthShop(t, 60000)))
	if err != nil {
		t.Fatal(err)
	}
	if res.FitBy == nil || len(res.FitBy.Values) != 5 {
		t.Fatalf("fitBy = %+v", res.FitBy)
	}
	// Tolerances: sampling error at ~12,000 customers per channel, plus the bias of merging
	// same-day purchases (the synth package documents alpha 20.2 for 18 at 50,000 customers).
	trueLTV := map[string]float64{}
	fitted := map[string]float64{}
	byChannel := breakdownOf(t, res, "channel")
	for _, v := range res.FitBy.Values {
		ch := synthChannels[v.Value]
		if v.Fit != fitPartitioned {
			t.Errorf("%s: fell back to the pooled fit: %s", v.Value, v.Reason)
			continue
		}
		want := map[string]float64{"r": synth.DefaultR, "alpha": synth.DefaultAlpha / ch.rate, "a": synth.DefaultA, "b": synth.DefaultB,
			"p": synth.DefaultP, "q": synth.DefaultQ, "gamma": synth.DefaultGamma * ch.spend}
		tol := map[string]float64{"r": 0.15, "alpha": 0.2, "a": 0.25, "b": 0.3, "p": 0.2, "q": 0.2, "gamma": 0.25}
		for name, w := range want {
			if got := v.Parameters[name]; math.Abs(got-w)/w > tol[name] {
				t.Errorf("%s: %s = %.4g, true %.4g (tolerance %.0f%%)", v.Value, name, got, w, tol[name]*100)
			}
		}
		// The channel's true new-customer LTV: its true parameters, its own average first order.
		bv := byChannel[v.Value]
		if bv.NewCustomer == nil || bv.NewCustomer.Fit != fitPartitioned || bv.NewCustomer.LTV != v.NewCustomer.LTV {
			t.Errorf("%s: breakdown new-customer %+v, fit %+v", v.Value, bv.NewCustomer, v.NewCustomer)
			continue
		}
		trueLTV[v.Value] = trueNewCustomerLTV(t, cfg, ch.rate, ch.spend, bv.NewCustomer.AverageFirstOrder)
		fitted[v.Value] = v.NewCustomer.LTV
		if rel := math.Abs(fitted[v.Value]-trueLTV[v.Value]) / trueLTV[v.Value]; rel > 0.1 {
			t.Errorf("%s: new-customer LTV %.2f, true %.2f", v.Value, fitted[v.Value], trueLTV[v.Value])
		}
	}
	if got, want := rank(fitted), rank(trueLTV); !equalStrings(got, want) {
		t.Errorf("channels by fitted new-customer LTV %v, by true %v", got, want)
	}
	t.Logf("new-customer LTV fitted %v, true %v", fitted, trueLTV)
	// The channels really differ: the partitioned fit wins on BIC.
	if res.FitBy.Preferred != fitPartitioned || !(res.FitBy.PartitionedLogLikelihood > res.FitBy.PooledLogLikelihood) {
		t.Errorf("comparison %+v", res.FitBy)
	}
	if res.FitBy.PartitionedParameters != 20 || res.FitBy.PooledParameters != 4 {
		t.Errorf("parameters: pooled %d, partitioned %d", res.FitBy.PooledParameters, res.FitBy.PartitionedParameters)
	}
}

// trueNewCustomerLTV values a new customer of a synth channel from the simulation's parameters.
func trueNewCustomerLTV(t *testing.T, cfg Config, rate, spend, firstOrder float64) float64 {
	t.Helper()
	unique := []ltv.RFM{{X: 1, Tx: 1, T: 2}, {X: 0, Tx: 0, T: 2}}
	pm, err := ltv.FitBGNBD(unique) // any BG/NBD, then the true parameters
	if err != nil {
		t.Fatal(err)
	}
	pm = pm.WithParams([]float64{synth.DefaultR, synth.DefaultAlpha / rate, synth.DefaultA, synth.DefaultB})
	repeat, survival := ltv.PurchaseCurves(pm, cfg.Unit.PeriodsPerMonth())
	v, err := ltv.NewCustomerLTV(ltv.NewCustomer{FirstOrder: firstOrder, RepeatSpend: synth.DefaultP * synth.DefaultGamma * spend / (synth.DefaultQ - 1),
		RepeatPurchases: repeat, Survival: survival}, clvConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return v.Value
}

func rank(m map[string]float64) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	return keys
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A value with too few customers falls back to the pooled fit, says why, and is scored by the
// pooled fit in the partitioned log-likelihood.
func TestFitByFallback(t *testing.T) {
	cfg := synthConfig()
	// 3,000 simulated customers in five channels, plus a tiny sixth channel of 20 customers.
	data := synthShop(t, 3000)
	for i := range 20 {
		data += fmt.Sprintf("affiliate-%d,2025-03-01,20.00,affiliate,US\naffiliate-%d,2025-05-01,30.00,affiliate,US\n", i, i)
	}
	res, scores, err := Run(context.Background(), cfg, csvSource(data))
	if err != nil {
		t.Fatal(err)
	}
	if res.FitBy == nil || len(res.FitBy.Values) != 6 {
		t.Fatalf("fitBy %+v", res.FitBy)
	}
	var sumLL float64
	fellBack := 0
	rowsOf := map[string][]ltv.RFM{}
	for _, c := range scores.Summary.Customers() {
		rowsOf[c.Attributes[0]] = append(rowsOf[c.Attributes[0]], ltv.RFM{X: float64(c.Frequency), Tx: c.Recency, T: c.Age})
	}
	for _, v := range res.FitBy.Values {
		sumLL += v.LogLikelihood
		// Each value's log-likelihood, recomputed on its customers under the parameters it used.
		pm, err := ltv.FitBGNBD([]ltv.RFM{{X: 1, Tx: 1, T: 2}, {X: 0, T: 2}})
		if err != nil {
			t.Fatal(err)
		}
		pm = pm.WithParams([]float64{v.Parameters["r"], v.Parameters["alpha"], v.Parameters["a"], v.Parameters["b"]})
		if ll, err := ltv.LogLikelihood(pm, rowsOf[v.Value]); err != nil || math.Abs(ll-v.LogLikelihood) > 1e-6*math.Abs(ll) {
			t.Errorf("%s: log-likelihood %.6f, recomputed %.6f (%v)", v.Value, v.LogLikelihood, ll, err)
		}
		small := v.Customers < minPartitionCustomers || v.RepeatCustomers < minPartitionRepeaters
		if small != (v.Fit == fitPooled) {
			t.Errorf("%s: %d customers, %d repeaters, fit %s (%s)", v.Value, v.Customers, v.RepeatCustomers, v.Fit, v.Reason)
		}
		if v.Fit == fitPooled {
			fellBack++
			if v.Reason == "" || v.NewCustomer.Fit != fitPooled {
				t.Errorf("%s: fallback without a reason: %+v", v.Value, v)
			}
		}
	}
	if math.Abs(sumLL-res.FitBy.PartitionedLogLikelihood) > 1e-6 {
		t.Errorf("partitioned LL %.6f, sum of values %.6f", res.FitBy.PartitionedLogLikelihood, sumLL)
	}
	wantK := 4 * (len(res.FitBy.Values) - fellBack)
	if fellBack != 1 {
		t.Errorf("%d values fell back, want 1 (affiliate)", fellBack)
	}
	wantK += 4
	if res.FitBy.PartitionedParameters != wantK {
		t.Errorf("partitioned parameters %d, want %d", res.FitBy.PartitionedParameters, wantK)
	}
	n := float64(res.Customers)
	if math.Abs(res.FitBy.PooledBIC-(4*math.Log(n)-2*res.FitBy.PooledLogLikelihood)) > 1e-9 ||
		math.Abs(res.FitBy.PartitionedAIC-(2*float64(wantK)-2*res.FitBy.PartitionedLogLikelihood)) > 1e-9 {
		t.Errorf("AIC/BIC %+v", res.FitBy)
	}
	if math.Abs(res.FitBy.PooledLogLikelihood-*res.Model.LogLikelihood) > 1e-9 {
		t.Errorf("pooled LL %.6f, model LL %.6f", res.FitBy.PooledLogLikelihood, *res.Model.LogLikelihood)
	}
}

// With a tiny shop every value falls back; the country breakdown (not fitBy) uses the pooled fit.
func TestFitByAllFallBack(t *testing.T) {
	cfg := synthConfig()
	res, _, err := Run(context.Background(), cfg, csvSource(synthShop(t, 300)))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range res.FitBy.Values {
		if v.Fit != fitPooled {
			t.Errorf("%s: %d customers fitted separately", v.Value, v.Customers)
		}
	}
	if res.FitBy.PartitionedParameters != 4 || math.Abs(res.FitBy.PartitionedLogLikelihood-res.FitBy.PooledLogLikelihood) > 1e-6 {
		t.Errorf("all pooled: %+v", res.FitBy)
	}
	for _, v := range breakdownOf(t, res, "country") {
		if v.NewCustomer == nil || v.NewCustomer.Fit != fitPooled {
			t.Errorf("country %s: %+v", v.Value, v.NewCustomer)
		}
	}
}

// LTV:CAC, affordable CAC and payback follow from the new-customer LTV, overall and per value.
func TestNewCustomerEconomics(t *testing.T) {
	cfg := synthConfig()
	cfg.FitBy = ""
	cfg.TargetLTVToCAC = 4
	res, _, err := Run(context.Background(), cfg, csvSource(synthShop(t, 2000)))
	if err != nil {
		t.Fatal(err)
	}
	nc := res.NewCustomer
	if nc == nil || nc.Fit != fitPooled {
		t.Fatalf("newCustomer %+v", nc)
	}
	if math.Abs(*res.LTVToCAC-nc.LTV/(*res.AverageAcquisitionCost)) > 1e-12 || math.Abs(*res.AffordableCAC-nc.LTV/4) > 1e-12 || res.TargetLTVToCAC != 4 {
		t.Errorf("LTV:CAC %v affordable %v for LTV %v, CAC %v", *res.LTVToCAC, *res.AffordableCAC, nc.LTV, *res.AverageAcquisitionCost)
	}
	for value, v := range breakdownOf(t, res, "channel") {
		want := 20.0
		switch value {
		case "paid_search":
			want = 40
		case "email":
			want = 5
		}
		if *v.AcquisitionCost != want || math.Abs(*v.LTVToCAC-v.NewCustomer.LTV/want) > 1e-12 {
			t.Errorf("%s: CAC %v LTV:CAC %v, new-customer LTV %v", value, *v.AcquisitionCost, *v.LTVToCAC, v.NewCustomer.LTV)
		}
		// The first order alone (margin 1) covers a CAC at most the average first order.
		if v.NewCustomer.AverageFirstOrder >= want && (v.NewCustomer.PaybackMonths == nil || *v.NewCustomer.PaybackMonths != 0) {
			t.Errorf("%s: first order %.2f >= CAC %v but payback %v", value, v.NewCustomer.AverageFirstOrder, want, v.NewCustomer.PaybackMonths)
		}
	}
}

// Historical has no model of the future: a new customer is valued at the realised margin per
// customer, without a payback curve.
func TestNewCustomerHistorical(t *testing.T) {
	cfg := baseConfig("2026-03-31", ModelHistorical)
	cfg.GrossMargin = 0.25
	cfg.AcquisitionCost = &AcquisitionCost{Default: 4}
	res, _, err := Run(context.Background(), cfg, csvSource(valuesShop))
	if err != nil {
		t.Fatal(err)
	}
	// realised margins 10, 5, 25; first orders 10, 20, 100.
	nc := res.NewCustomer
	if nc == nil || math.Abs(nc.LTV-40.0/3) > 1e-12 || math.Abs(nc.AverageFirstOrder-130.0/3) > 1e-12 ||
		nc.PaidBackWithinHorizon != nil || math.Abs(*res.LTVToCAC-40.0/3/4) > 1e-12 {
		t.Errorf("newCustomer %+v", nc)
	}
}

func TestFitByValidation(t *testing.T) {
	cfg := synthConfig()
	cfg.FitBy = "region"
	if _, _, err := Run(context.Background(), cfg, csvSource(synthShop(t, 10))); err == nil || !bytes.Contains([]byte(err.Error()), []byte(`model.fitBy "region"`)) {
		t.Errorf("unknown attribute: %v", err)
	}
	cfg = synthConfig()
	cfg.Model = ModelFormula
	if _, _, err := Run(context.Background(), cfg, csvSource(synthShop(t, 10))); err == nil || !bytes.Contains([]byte(err.Error()), []byte("model.fitBy needs")) {
		t.Errorf("Formula: %v", err)
	}
}

// A new subscriber under the shifted-beta-geometric model: the first payment, then a renewal at
// the end of each month survived, S(m) = B(alpha, beta+m)/B(alpha, beta), each worth the payment.
func TestNewCustomerSubscription(t *testing.T) {
	var data bytes.Buffer
	data.WriteString("customer_id,date,amount\n")
	// 2,000 subscribers paying 10 a month, each churning after every payment with probability
	// theta ~ Beta(1, 3) (the shifted-beta-geometric process), acquired over 2024-2025.
	rng := rand.New(rand.NewSource(5))
	end := day("2026-06-30")
	for i := range 2000 {
		x, y := gammaSample(rng, 1), gammaSample(rng, 3)
		theta := x / (x + y)
		first := day("2024-01-01").AddDate(0, rng.Intn(24), 0)
		for m := 0; !first.AddDate(0, m, 0).After(end); m++ {
			fmt.Fprintf(&data, "s%d,%s,10\n", i, first.AddDate(0, m, 0).Format("2006-01-02"))
			if rng.Float64() < theta {
				break
			}
		}
	}
	cfg := baseConfig("2026-06-30", ModelShiftedBetaGeometric)
	cfg.Unit = summary.Month
	cfg.GrossMargin = 0.5
	cfg.AnnualDiscountRate = 0.1
	res, _, err := Run(context.Background(), cfg, csvSource(data.String()))
	if err != nil {
		t.Fatal(err)
	}
	alpha, beta := res.Model.Parameters["alpha"], res.Model.Parameters["beta"]
	lbeta := func(a, b float64) float64 {
		x, _ := math.Lgamma(a)
		y, _ := math.Lgamma(b)
		z, _ := math.Lgamma(a + b)
		return x + y - z
	}
	d := math.Pow(1.1, 1.0/12) - 1
	want := 0.5 * 10
	for m := 1; m <= 12; m++ {
		want += 0.5 * 10 * math.Exp(lbeta(alpha, beta+float64(m))-lbeta(alpha, beta)) / math.Pow(1+d, float64(m))
	}
	if nc := res.NewCustomer; nc == nil || math.Abs(nc.LTV-want) > 1e-9*want || nc.AverageFirstOrder != 10 {
		t.Errorf("new subscriber %+v, want LTV %.10f", nc, want)
	}
}
