package ltv

import (
	"math"
	"testing"
)

// Outlooks (one no-purchase table per (x, T), the median by Newton on it) against the per-row
// reference CustomerOutlook (64-point quadrature per evaluation, bisection on log t) on CDNOW, a
// day-granular and a continuous-time simulated shop and extreme rows, under six parameter sets:
// windows of 1 and 90 time units: probabilities within 1e-9 absolute, the median next purchase within 1e-7 relative (and NaN
// exactly where the reference is NaN).
func TestOutlooksMatchPerRow(t *testing.T) {
	data, params := pnbdAliveCases(t)
	names := []string{"CDNOW", "daily", "continuous", "heavy"}
	const probTol, timeTol = 1e-9, 1e-7
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
				var worstP, worstT float64
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
					t.Logf("%v %-10s: %d rows checked, %d with a median; worst |dP| %.1e, worst relative dt %.1e", p, names[d], (len(rows)+step-1)/step, withNext, worstP, worstT)
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
