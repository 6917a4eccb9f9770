package pipeline

import (
	"github.com/ltv-operator/ltv-operator/internal/ltv"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// cellsOf collapses the customers into their distinct (x, tx, T) rows, in order of first
// appearance with their counts as weights (as ltv.Compress would), and returns their mean repeat
// spends. The key is the three integers the summary holds (frequency, recency and age in days),
// so no float is hashed and no per-customer row is built: the models, predictions, intervals and
// churn outlooks all work from these cells.
func cellsOf(sum *summary.Summary) (ltv.Cells, []float64) {
	n := sum.Len()
	unit := sum.Unit()
	cells := ltv.Cells{Index: make([]int32, n)}
	monetary := make([]float64, n)
	seen := make(map[uint64]int32, n/4)
	for i := range n {
		x, rec, age := sum.RFMDays(i)
		// 22 bits of frequency, 21 of days each (5,700 years): more than a summary holds
		k := uint64(uint32(x))<<42 | uint64(uint32(rec))<<21 | uint64(uint32(age))
		j, ok := seen[k]
		if !ok {
			j = int32(len(cells.Rows))
			seen[k] = j
			cells.Rows = append(cells.Rows, ltv.RFM{X: float64(x), Tx: unit.FromDays(float64(rec)), T: unit.FromDays(float64(age))})
		}
		cells.Rows[j].Weight++
		cells.Index[i] = j
		monetary[i] = sum.Monetary(i)
	}
	return cells, monetary
}
