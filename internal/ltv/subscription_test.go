package ltv

import (
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"testing"
)

// cohortSubscribers turns a cohort's survival percentages (year 0 = 100) into subscribers: those
// lost in year t churned after t-1 renewals; those alive at the last year are censored there.
func cohortSubscribers(t *testing.T, column int, years int) []Subscriber {
	t.Helper()
	f, err := os.Open("../../testdata/sbg_retention_fader_hardie_2007.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	alive := make([]int, 0, years+1)
	for _, rec := range recs[1 : years+2] {
		pct, err := strconv.ParseFloat(rec[column], 64)
		if err != nil {
			t.Fatal(err)
		}
		alive = append(alive, int(math.Round(pct*10))) // a cohort of 1000
	}
	var subs []Subscriber
	for year := 1; year <= years; year++ {
		for i := 0; i < alive[year-1]-alive[year]; i++ {
			subs = append(subs, Subscriber{Renewals: year - 1, Churned: true})
		}
	}
	for i := 0; i < alive[years]; i++ {
		subs = append(subs, Subscriber{Renewals: years})
	}
	return subs
}

// With one cohort observed for seven years the censored likelihood is the paper's, so the fits
// must equal Fader & Hardie (2007): regular alpha=0.704 beta=1.182, high end 0.668 / 3.806.
func TestFitSubscriptionsReproducesFaderHardie(t *testing.T) {
	for _, c := range []struct {
		name        string
		column      int
		alpha, beta float64
	}{
		{"regular", 1, 0.704, 1.182},
		{"high end", 2, 0.668, 3.806},
	} {
		m, err := FitSubscriptions(cohortSubscribers(t, c.column, 7))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(m.Alpha-c.alpha) > 0.0005 || math.Abs(m.Beta-c.beta) > 0.0005 {
			t.Errorf("%s: alpha=%.4f beta=%.4f, want %.3f %.3f (±0.0005)", c.name, m.Alpha, m.Beta, c.alpha, c.beta)
		}
	}
}

// ExpectedRenewals equals the sum of conditional survival ratios computed from the closed form
// S(t) = prod_{i=1..t} (beta+i-1)/(alpha+beta+i-1).
func TestExpectedRenewalsAgainstProductForm(t *testing.T) {
	m := &SubscriptionModel{ShiftedBetaGeometric: ShiftedBetaGeometric{Alpha: 0.704, Beta: 1.182}}
	survival := func(t int) float64 {
		s := 1.0
		for i := 1; i <= t; i++ {
			s *= (m.Beta + float64(i) - 1) / (m.Alpha + m.Beta + float64(i) - 1)
		}
		return s
	}
	const renewals, periods, discount = 3, 12, 0.99
	want, f := 0.0, 1.0
	for k := 1; k <= periods; k++ {
		f *= discount
		want += f * survival(renewals+k) / survival(renewals)
	}
	if got := m.ExpectedRenewals(renewals, periods, discount); math.Abs(got-want) > 1e-12 {
		t.Fatalf("ExpectedRenewals = %.15f, want %.15f", got, want)
	}
}

func TestFitSubscriptionsNeedsChurn(t *testing.T) {
	if _, err := FitSubscriptions([]Subscriber{{Renewals: 3}, {Renewals: 1}}); err == nil {
		t.Fatal("want an error when nobody churned")
	}
}
