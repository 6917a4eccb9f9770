package pipeline

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/ltv-operator/ltv-operator/internal/ltv"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// cellsOf, split in two halves of the key space above parallelCellsFrom customers, gives the
// cells of one pass and of ltv.Compress on per-customer rows: the same rows, order and counts.
func TestCellsOfEqualsCompress(t *testing.T) {
	end := time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(11, 12))
	n := parallelCellsFrom + 1000
	app := summary.NewAppender(summary.Options{CalibrationEnd: end, Unit: summary.Week}, nil)
	for i := range n {
		first := end.AddDate(0, 0, -rng.IntN(365))
		last := first.AddDate(0, 0, rng.IntN(int(end.Sub(first).Hours()/24)+1))
		x := 0
		if !last.Equal(first) {
			x = 1 + rng.IntN(10)
		}
		app.Append(summary.Customer{ID: fmt.Sprintf("c%07d", i), FirstPurchase: first, LastPurchase: last, Frequency: x, Monetary: float64(i % 97)})
	}
	sum := app.Summary()
	rows := make([]ltv.RFM, n)
	for i, c := range sum.All() {
		rows[i] = ltv.RFM{X: float64(c.Frequency), Tx: c.Recency, T: c.Age}
	}
	want := ltv.NewCells(rows)
	got, monetary := cellsOf(sum)
	if len(got.Rows) < 1000 || !reflect.DeepEqual(got.Rows, want.Rows) || !reflect.DeepEqual(got.Index, want.Index) {
		t.Fatalf("split cells differ from ltv.Compress: %d and %d rows", len(got.Rows), len(want.Rows))
	}
	one := cellsIn(sum, 0, 1, make([]int32, n))
	if !reflect.DeepEqual(one.Rows, want.Rows) || !reflect.DeepEqual(one.Index, want.Index) {
		t.Fatal("one-pass cells differ from ltv.Compress")
	}
	for i := range n {
		if monetary[i] != sum.Monetary(i) {
			t.Fatalf("monetary[%d] = %v, want %v", i, monetary[i], sum.Monetary(i))
		}
	}
}
