package ltv

import (
	"math"
	"testing"
)

// sqrtModel is a purchase model with E[X(t)] = sqrt(t) * P(alive) and P(alive) = 0.5, without the
// factorised fast path: predictions go through ExpectedPurchases.
type sqrtModel struct{}

func (sqrtModel) Fit() FitResult                                { return FitResult{Model: "sqrt"} }
func (sqrtModel) ExpectedPurchases(t, x, tx, T float64) float64 { return 0.5 * math.Sqrt(t) }
func (sqrtModel) ProbabilityAlive(x, tx, T float64) float64     { return 0.5 }
func (sqrtModel) UnconditionalExpected(t float64) float64       { return math.Sqrt(t) }
func (m sqrtModel) WithParams([]float64) PurchaseModel          { return m }

// constSpend expects 50 per transaction.
type constSpend struct{}

func (constSpend) Fit() FitResult                            { return FitResult{Model: "const"} }
func (constSpend) ExpectedSpend(x, monetary float64) float64 { return 50 }
func (c constSpend) WithParams([]float64) SpendModel         { return c }

func TestCLVHandComputed(t *testing.T) {
	// 3 months of 1 period each, monthly discount rate exactly 1%, margin 30%, retention cost 2.
	cfg := CLVConfig{HorizonMonths: 3, PeriodsPerMonth: 1, AnnualDiscountRate: math.Pow(1.01, 12) - 1, GrossMargin: 0.3, MonthlyRetentionCost: 2}
	rows := []RFM{{X: 1, Tx: 2, T: 5}}
	out := make([]CustomerValue, 1)
	if err := PredictCustomers(sqrtModel{}, constSpend{}, rows, []float64{10}, cfg, out); err != nil {
		t.Fatal(err)
	}
	// E[X(m)] = 0.5 sqrt(m): increments 0.5, 0.5(sqrt2-1), 0.5(sqrt3-sqrt2).
	// margin: 0.3*50*(0.5/1.01 + 0.5*(sqrt2-1)/1.01^2 + 0.5*(sqrt3-sqrt2)/1.01^3)
	//       = 15*(0.4950495049504950 + 0.2030259594025562 + 0.1542448494157445) = 12.7848047065
	// cost (a model without survival keeps P(alive)=0.5 each month): 2*0.5*(1/1.01 + 1/1.01^2 + 1/1.01^3)
	//       = 2.9409852072
	want := CustomerValue{ExpectedPurchases: 0.5 * math.Sqrt(3), ProbabilityAlive: 0.5, ExpectedSpend: 50,
		CLV: 15*(0.4950495049504950+0.2030259594025562+0.1542448494157445) - (0.9900990099009901 + 0.9802960494069208 + 0.9705901479276443)}
	got := out[0]
	if math.Abs(got.CLV-want.CLV) > 1e-9 || math.Abs(got.ExpectedPurchases-want.ExpectedPurchases) > 1e-12 ||
		got.ProbabilityAlive != want.ProbabilityAlive || got.ExpectedSpend != want.ExpectedSpend {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if math.Abs(want.CLV-(12.7848047065-2.9409852072)) > 1e-9 {
		t.Errorf("hand arithmetic: %.10f", want.CLV)
	}
}

// hidden hides the fast-path interfaces of a model so that the generic path is used.
type hiddenPurchase struct{ PurchaseModel }

func (h hiddenPurchase) WithParams(p []float64) PurchaseModel {
	return hiddenPurchase{h.PurchaseModel.WithParams(p)}
}

type hiddenSpend struct{ SpendModel }

func (h hiddenSpend) WithParams(p []float64) SpendModel {
	return hiddenSpend{h.SpendModel.WithParams(p)}
}

func TestPredictCustomersBGNBD(t *testing.T) {
	rows, zbar := loadCDNOW(t)
	pm := fittedCDNOW(t)
	freq := make([]float64, len(rows))
	for i, r := range rows {
		freq[i] = r.X
	}
	sm, err := FitGammaGamma(freq, zbar, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := CLVConfig{HorizonMonths: 12, PeriodsPerMonth: 365.25 / 12 / 7, AnnualDiscountRate: 0.1, GrossMargin: 0.3}
	fast := make([]CustomerValue, len(rows))
	slow := make([]CustomerValue, len(rows))
	if err := PredictCustomers(pm, sm, rows, zbar, cfg, fast); err != nil {
		t.Fatal(err)
	}
	if err := PredictCustomers(hiddenPurchase{pm}, hiddenSpend{sm}, rows, zbar, cfg, slow); err != nil {
		t.Fatal(err)
	}
	d := math.Pow(1.1, 1.0/12) - 1
	var total float64
	for i, r := range rows {
		f, s := fast[i], slow[i]
		if math.Abs(f.CLV-s.CLV) > 1e-9*math.Max(1, math.Abs(s.CLV)) || math.Abs(f.ExpectedPurchases-s.ExpectedPurchases) > 1e-12 ||
			f.ProbabilityAlive != s.ProbabilityAlive || f.ExpectedSpend != s.ExpectedSpend {
			t.Fatalf("customer %d: factorised %+v, generic %+v", i, f, s)
		}
		if i < 50 {
			// Direct: sum_m margin*spend*(E(m)-E(m-1))/(1+d)^m
			want, prev := 0.0, 0.0
			for m := 1; m <= 12; m++ {
				e := pm.ExpectedPurchases(float64(m)*cfg.PeriodsPerMonth, r.X, r.Tx, r.T)
				want += 0.3 * sm.ExpectedSpend(r.X, zbar[i]) * (e - prev) / math.Pow(1+d, float64(m))
				prev = e
			}
			if math.Abs(f.CLV-want) > 1e-9 {
				t.Errorf("customer %d: CLV %.12f, direct %.12f", i, f.CLV, want)
			}
		}
		total += f.CLV
	}
	t.Logf("CDNOW average 12-month CLV (30%% margin, 10%%/year): %.4f", total/float64(len(rows)))

	// Retention cost: P(alive at T) * sum_m S((m-1) months | alive) / (1+d)^m per unit cost, with the
	// survival computed by quadrature over the dropout probability.
	cfg.MonthlyRetentionCost = 1
	withCost := make([]CustomerValue, len(rows))
	if err := PredictCustomers(pm, sm, rows, zbar, cfg, withCost); err != nil {
		t.Fatal(err)
	}
	p := pm.Fit().Params
	for _, i := range []int{0, 1, 2, 5, 17} {
		r := rows[i]
		var alive float64
		for m := 1; m <= 12; m++ {
			_, s := quadratureIfAlive(p, 0, float64(m-1)*cfg.PeriodsPerMonth, r.X, r.T)
			if m == 1 {
				s = 1
			}
			alive += s / math.Pow(1+d, float64(m))
		}
		want := fast[i].CLV - pm.ProbabilityAlive(r.X, r.Tx, r.T)*alive
		if math.Abs(withCost[i].CLV-want) > 1e-6 {
			t.Errorf("customer %d with retention cost: %.9f, want %.9f", i, withCost[i].CLV, want)
		}
	}
}

func TestPredictCustomersErrors(t *testing.T) {
	pm := fittedCDNOW(t)
	sm := FitMeanSpend([]float64{1}, []float64{10}, nil)
	rows := []RFM{{X: 1, Tx: 1, T: 2}}
	out := make([]CustomerValue, 1)
	good := CLVConfig{HorizonMonths: 12, PeriodsPerMonth: 4.35, AnnualDiscountRate: 0.1, GrossMargin: 0.3}
	for _, cfg := range []CLVConfig{
		{HorizonMonths: 0, PeriodsPerMonth: 4.35, GrossMargin: 0.3},
		{HorizonMonths: 12, PeriodsPerMonth: 0, GrossMargin: 0.3},
		{HorizonMonths: 12, PeriodsPerMonth: 4.35, GrossMargin: math.NaN()},
		{HorizonMonths: 12, PeriodsPerMonth: 4.35, AnnualDiscountRate: -1},
		{HorizonMonths: 12, PeriodsPerMonth: 4.35, MonthlyRetentionCost: -1},
	} {
		if err := PredictCustomers(pm, sm, rows, []float64{10}, cfg, out); err == nil {
			t.Errorf("config %+v: want an error", cfg)
		}
	}
	if err := PredictCustomers(pm, sm, rows, []float64{10, 20}, good, out); err == nil {
		t.Error("length mismatch: want an error")
	}
	if err := PredictCustomers(pm, sm, rows, []float64{10}, good, out); err != nil {
		t.Error(err)
	}
}
