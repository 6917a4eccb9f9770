package ltv

import (
	"math"
	"slices"
	"testing"
)

// Outlooks (one no-purchase table per (x, T), the median by Newton on it) against the per-row
// reference CustomerOutlook (64-point quadrature per evaluation, bisection on log t) on CDNOW, a
// day-granular and a continuous-time simulated shop and extreme rows, under six parameter sets:
// windows of 1 and 90 time units: probabilities within 1e-9 absolute, the median next purchase within 1e-7 relative (and NaN
// exactly where the reference is NaN; the reference's bisection stops at 1e-10), and the
// reference N at the new median within 1e-13 of the target level 1 - 1/(2 P(alive)).
func TestOutlooksMatchPerRow(t *testing.T) {
	data, params := pnbdAliveCases(t)
	names := []string{"CDNOW", "daily", "continuous", "heavy"}
	const probTol, timeTol, resTol = 1e-9, 1e-7, 1e-13
	for _, p := range params {
		m, err := NewParetoNBD(p[0], p[1], p[2], p[3])
		if err != nil {
			t.Fatal(err)
		}
		for d, rows := range data {
			for _, w := range []float64{1, 90} {
				got, ok := Outlooks(m, rows, w)
				if !ok {
					t.Fatal("no outlook")
				}
				step := max(1, len(rows)/250) // the reference costs ~0.1 ms a row
				if names[d] == "heavy" {
					step = len(rows)/80 + 1 // and far more for 1000+ purchases
				}
				var worstP, worstT, worstRes float64
				withNext := 0
				for i := 0; i < len(rows); i += step {
					r := rows[i]
					want, _ := CustomerOutlook(m, r.X, r.Tx, r.T, w)
					o := got[i]
					dp := math.Max(math.Abs(o.AliveAfter-want.AliveAfter), math.Abs(o.NoPurchase-want.NoPurchase))
					worstP = math.Max(worstP, dp)
					if math.IsNaN(o.NextPurchase) != math.IsNaN(want.NextPurchase) {
						t.Fatalf("%v %s w=%v row %+v: next purchase %v, reference %v", p, names[d], w, r, o.NextPurchase, want.NextPurchase)
					}
					if !math.IsNaN(want.NextPurchase) {
						// the residual at our median, by the reference quadrature
						target := 1 - 1/(2*m.ProbabilityAlive(r.X, r.Tx, r.T))
						res := math.Abs(m.noPurchaseIfAlive(o.NextPurchase, r.X, r.T) - target)
						worstRes = math.Max(worstRes, res)
						if res > resTol {
							t.Errorf("%v %s row %+v: N(median) - target = %.2g", p, names[d], r, res)
						}
						withNext++
						worstT = math.Max(worstT, math.Abs(o.NextPurchase-want.NextPurchase)/want.NextPurchase)
					}
					if dp > probTol {
						t.Errorf("%v %s w=%v row %+v: %+v, reference %+v", p, names[d], w, r, o, want)
					}
					if !math.IsNaN(want.NextPurchase) && math.Abs(o.NextPurchase-want.NextPurchase) > timeTol*want.NextPurchase {
						t.Errorf("%v %s w=%v row %+v: next purchase %.12g, reference %.12g", p, names[d], w, r, o.NextPurchase, want.NextPurchase)
					}
				}
				if w == 90 {
					t.Logf("%v %-10s: %d rows checked, %d with a median; worst |dP| %.1e, worst relative dt %.1e, worst residual %.1e", p, names[d], (len(rows)+step-1)/step, withNext, worstP, worstT, worstRes)
				}
			}
		}
	}
}

// For BG/NBD, Outlooks is CustomerOutlook row by row.
func TestOutlooksBGNBD(t *testing.T) {
	rows, _ := loadCDNOW(t)
	m := fittedCDNOW(t)
	got, ok := Outlooks(m, rows, 12.857)
	if !ok {
		t.Fatal("no outlook")
	}
	for i, r := range rows {
		want, _ := CustomerOutlook(m, r.X, r.Tx, r.T, 12.857)
		if got[i] != want && !(math.IsNaN(got[i].NextPurchase) && math.IsNaN(want.NextPurchase) && got[i].AliveAfter == want.AliveAfter && got[i].NoPurchase == want.NoPurchase) {
			t.Fatalf("row %+v: %+v, want %+v", r, got[i], want)
		}
	}
}

// The churn outlook of 100,000 day-granular simulated customers (distinct (x, tx, T) rows, as
// the pipeline passes them) under CDNOW-like Pareto/NBD parameters in days: per row
// (CustomerOutlook) against one table per (x, T) (Outlooks).
func BenchmarkOutlooksParetoNBD100k(b *testing.B) {
	all, _ := simulateCustomers(100_000, 3, benchBG, benchGG, 730, false)
	seen := map[RFM]bool{}
	var rows []RFM
	cells := map[[2]float64]bool{}
	for _, r := range all {
		r.Weight = 0
		if !seen[r] {
			seen[r] = true
			rows = append(rows, r)
			cells[[2]float64{r.X, r.T}] = true
		}
	}
	m, err := NewParetoNBD(pnbdTrue[0], pnbdTrue[1], pnbdTrue[2], pnbdTrue[3])
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d distinct rows, %d (x, T) cells", len(rows), len(cells))
	const w = 90
	b.Run("per-row", func(b *testing.B) {
		for range b.N {
			for _, r := range rows {
				CustomerOutlook(m, r.X, r.Tx, r.T, w)
			}
		}
	})
	b.Run("table", func(b *testing.B) {
		for range b.N {
			Outlooks(m, rows, w)
		}
	})
}

// Given the rows' P(alive), the outlooks are the ones computed from scratch: exactly when the
// same P(alive) is given, to rounding when it comes from the predictions' per-cell tables.
func TestOutlooksGivenAlive(t *testing.T) {
	rows, zbar := loadCDNOW(t)
	cells := NewCells(rows)
	bg := fittedCDNOW(t)
	pnbd, err := FitParetoNBDCells(cells)
	if err != nil {
		t.Fatal(err)
	}
	cfg := CLVConfig{HorizonMonths: 12, PeriodsPerMonth: 30.4375 / 7, AnnualDiscountRate: 0.1, GrossMargin: 1}
	for _, pm := range []PurchaseModel{bg, pnbd} {
		want, _ := Outlooks(pm, cells.Rows, 12.857)
		exact := make([]float64, len(cells.Rows))
		for i, r := range cells.Rows {
			exact[i] = pm.ProbabilityAlive(r.X, r.Tx, r.T)
		}
		got, _ := OutlooksGivenAlive(pm, cells.Rows, exact, 12.857)
		for i := range want {
			if !sameOutlook(got[i], want[i], 0) {
				t.Fatalf("%s row %d: %+v, want %+v", pm.Fit().Model, i, got[i], want[i])
			}
		}
		v, err := PredictCellValues(pm, FitMeanSpend(make([]float64, len(zbar)), zbar, nil), cells, zbar[:len(cells.Index)], cfg)
		if err != nil {
			t.Fatal(err)
		}
		got, _ = OutlooksGivenAlive(pm, cells.Rows, v.CellAlive(), 12.857)
		for i := range want {
			if !sameOutlook(got[i], want[i], 1e-9) {
				t.Fatalf("%s row %d with the predictions' P(alive): %+v, want %+v", pm.Fit().Model, i, got[i], want[i])
			}
		}
	}
}

func sameOutlook(a, b Outlook, tol float64) bool {
	near := func(x, y float64) bool {
		return (math.IsNaN(x) && math.IsNaN(y)) || math.Abs(x-y) <= tol*math.Max(1, math.Abs(y))
	}
	return near(a.AliveAfter, b.AliveAfter) && near(a.NoPurchase, b.NoPurchase) && near(a.NextPurchase, b.NextPurchase)
}

// groupByPair lists every row once, by pair index, rows in their order within a pair.
func TestGroupByPair(t *testing.T) {
	pairOf := []int32{2, 0, 2, 1, 0, 2, 1}
	got := groupByPair(pairOf, 3)
	want := []int32{1, 4, 3, 6, 0, 2, 5}
	if !slices.Equal(got, want) {
		t.Fatalf("groupByPair(%v) = %v, want %v", pairOf, got, want)
	}
}
