package ltv

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// The dense grid and the hash table give the same cells, numbered alike (by x, then time value),
// and both refuse more than maxCells.
func TestRowCellsDenseEqualsHashed(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var rows []RFM
	for range 5000 {
		T := float64(rng.IntN(300)) / 7
		tx := float64(rng.IntN(300)) / 7
		if tx > T {
			tx, T = T, tx
		}
		rows = append(rows, RFM{X: float64(rng.IntN(12)), Tx: tx, T: T, Weight: 1})
	}
	tb := newRowTables(rows)
	dense, hashed := newRowCellsDense(tb, len(rows)), newRowCellsHashed(tb, len(rows))
	if dense == nil || hashed == nil {
		t.Fatalf("cells refused: dense %v, hashed %v", dense == nil, hashed == nil)
	}
	if !reflect.DeepEqual(dense, hashed) {
		t.Fatalf("dense and hashed cells differ: %d and %d cells", len(dense.xi), len(hashed.xi))
	}
	for i, r := range rows {
		for _, c := range []int32{dense.cT[i], dense.cTx[i]} {
			if tb.xs[dense.xi[c]] != r.X {
				t.Fatalf("row %d: cell %d has x %g, want %g", i, c, tb.xs[dense.xi[c]], r.X)
			}
		}
		if tb.times[dense.ti[dense.cT[i]]] != r.T || tb.times[dense.ti[dense.cTx[i]]] != r.Tx {
			t.Fatalf("row %d: cells' times differ from T %g, Tx %g", i, r.T, r.Tx)
		}
	}
	for c := 1; c < len(dense.xi); c++ {
		if dense.xi[c] < dense.xi[c-1] || dense.xi[c] == dense.xi[c-1] && tb.times[dense.ti[c]] <= tb.times[dense.ti[c-1]] {
			t.Fatalf("cells %d and %d out of order", c-1, c)
		}
	}
	few := len(dense.xi) - 1
	if newRowCellsDense(tb, few) != nil || newRowCellsHashed(tb, few) != nil {
		t.Fatalf("more than %d cells accepted", few)
	}
}

// Predictions on the cells a BG/NBD model was fitted on reuse the fit's row tables, and equal
// those of the same model without them (tables built again) exactly.
func TestPredictionsReuseTheFitsRowTables(t *testing.T) {
	rows, zbar, _, sm := cdnowModels(t)
	cells := NewCells(rows)
	pm, err := FitBGNBDCells(cells)
	if err != nil {
		t.Fatal(err)
	}
	if fittedTables(pm, cells.Rows) == nil {
		t.Fatal("the model fitted on the cells does not offer their row tables")
	}
	if fittedTables(pm, append([]RFM(nil), cells.Rows...)) != nil {
		t.Fatal("the row tables are offered for a copy of the rows")
	}
	bare := pm.WithParams(pm.Fit().Params) // same parameters, no tables
	if fittedTables(bare, cells.Rows) != nil {
		t.Fatal("WithParams carried the tables")
	}
	cfg := CLVConfig{HorizonMonths: 12, PeriodsPerMonth: 365.25 / 12 / 7, AnnualDiscountRate: 0.1, GrossMargin: 0.3}
	got, err := PredictCellValues(pm, sm, cells, zbar, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want, err := PredictCellValues(bare, sm, cells, zbar, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if got.Value(i) != want.Value(i) {
			t.Fatalf("customer %d: %+v with the fit's tables, %+v without", i, got.Value(i), want.Value(i))
		}
	}
}
