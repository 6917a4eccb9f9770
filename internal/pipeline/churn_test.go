package pipeline

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/ltv-operator/ltv-operator/internal/ltv"
)

// On CDNOW, every customer's outlook in the scores equals the model's outlook at the headline
// parameters over 90 days (12.857 weeks), the next-purchase date is the observation end plus
// the median rounded up to whole days, the averages are the plain means, and a CEL filter sees it.
func TestChurnOutlookInScores(t *testing.T) {
	cfg := baseConfig("1997-09-30", ModelBGNBD)
	cfg.Segments = []SegmentSpec{{Name: "soon", Filter: "has(customer.nextPurchase) && customer.nextPurchase < timestamp('1997-12-01T00:00:00Z')"}}
	res, scores, err := Run(context.Background(), cfg, csvSource(cdnow(t)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Churn == nil || res.Churn.WindowDays != 90 {
		t.Fatalf("churn averages: %+v", res.Churn)
	}
	pm, err := refitForTest(scores)
	if err != nil {
		t.Fatal(err)
	}
	var alive, none float64
	soon := 0
	for i, c := range scores.Summary.Customers() {
		o, _ := ltv.CustomerOutlook(pm, float64(c.Frequency), c.Recency, c.Age, 90.0/7)
		row := scores.Row(i, nil)
		if math.Abs(*row.ProbabilityAliveAfterWindow-o.AliveAfter) > 1e-6 || math.Abs(*row.ProbabilityNoPurchase-o.NoPurchase) > 1e-6 {
			t.Fatalf("customer %s: outlook %v/%v, want %+v", c.ID, *row.ProbabilityAliveAfterWindow, *row.ProbabilityNoPurchase, o)
		}
		if *row.ProbabilityAliveAfterWindow > row.ProbabilityAlive+1e-12 {
			t.Fatalf("customer %s: alive after the window %v > alive now %v", c.ID, *row.ProbabilityAliveAfterWindow, row.ProbabilityAlive)
		}
		want := ""
		if !math.IsNaN(o.NextPurchase) {
			d := day("1997-09-30").AddDate(0, 0, int(math.Ceil(o.NextPurchase*7-1e-9)))
			want = d.Format(time.DateOnly)
			if d.Before(day("1997-12-01")) {
				soon++
			}
		}
		if row.NextPurchaseDate != want {
			t.Fatalf("customer %s: next purchase %q, want %q", c.ID, row.NextPurchaseDate, want)
		}
		alive += o.AliveAfter
		none += o.NoPurchase
	}
	n := float64(len(scores.Summary.Customers()))
	if math.Abs(res.Churn.AverageProbabilityAliveAfter-alive/n) > 1e-9 || math.Abs(res.Churn.AverageProbabilityNoPurchase-none/n) > 1e-9 {
		t.Errorf("averages %+v, want %.6f / %.6f", res.Churn, alive/n, none/n)
	}
	if res.Segments[0].Customers != int64(soon) || res.Segments[0].Churn == nil {
		t.Errorf("segment soon: %d customers (%+v), want %d", res.Segments[0].Customers, res.Segments[0].Churn, soon)
	}
	t.Logf("CDNOW 90-day outlook: P(alive after) %.3f, P(no purchase) %.3f, %d with a next purchase, %d before December",
		res.Churn.AverageProbabilityAliveAfter, res.Churn.AverageProbabilityNoPurchase, res.Churn.CustomersWithNextPurchase, soon)
}

// Pareto/NBD on CDNOW: the scores' outlooks (ltv.Outlooks, one no-purchase table per (x, T))
// equal the per-row reference ltv.CustomerOutlook at the run's parameters for every customer:
// probabilities within 1e-9, the median next purchase within 1e-7 relative.
func TestChurnOutlookParetoNBDMatchesPerRow(t *testing.T) {
	res, scores, err := Run(context.Background(), baseConfig("1997-09-30", ModelParetoNBD), csvSource(cdnow(t)))
	if err != nil {
		t.Fatal(err)
	}
	p := res.Model.Parameters
	pm, err := ltv.NewParetoNBD(p["r"], p["alpha"], p["s"], p["beta"])
	if err != nil {
		t.Fatal(err)
	}
	if !scores.HasOutlooks() || len(scores.outlookOf) != scores.Summary.Len() {
		t.Fatalf("%d outlooks for %d customers", len(scores.outlookOf), scores.Summary.Len())
	}
	withNext := 0
	for i, c := range scores.Summary.Customers() {
		want, _ := ltv.CustomerOutlook(pm, float64(c.Frequency), c.Recency, c.Age, 90.0/7)
		o := scores.Outlook(i)
		if math.Abs(o.AliveAfter-want.AliveAfter) > 1e-9 || math.Abs(o.NoPurchase-want.NoPurchase) > 1e-9 ||
			math.IsNaN(o.NextPurchase) != math.IsNaN(want.NextPurchase) ||
			(!math.IsNaN(want.NextPurchase) && math.Abs(o.NextPurchase-want.NextPurchase) > 1e-7*want.NextPurchase) {
			t.Fatalf("customer %s: %+v, per-row reference %+v", c.ID, o, want)
		}
		if !math.IsNaN(o.NextPurchase) {
			withNext++
		}
	}
	if withNext == 0 || int64(withNext) != res.Churn.CustomersWithNextPurchase {
		t.Errorf("%d customers with a next purchase, report says %d", withNext, res.Churn.CustomersWithNextPurchase)
	}
	t.Logf("%d customers, %d with a median next purchase", len(scores.Summary.Customers()), withNext)
}
