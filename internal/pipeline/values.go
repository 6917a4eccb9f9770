package pipeline

import (
	"github.com/ltv-operator/ltv-operator/internal/ltv"
	"github.com/ltv-operator/ltv-operator/internal/report"
	"github.com/ltv-operator/ltv-operator/internal/segment"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// customerValues are every customer's three value figures, index-aligned with the summary.
type customerValues struct {
	// historic is the margin realised to date: net revenue x gross margin.
	historic []float64
	// predicted is the model's value (ltv.CustomerValue.CLV).
	predicted []float64
	// total is historic + the value still to come; for Historical, which predicts nothing,
	// total = historic.
	total []float64
}

// predictsFuture reports whether the model's value is value still to come (every model but
// Historical, whose value is the margin already realised).
func predictsFuture(model string) bool { return model != ModelHistorical }

// valueOf is customer c's historic, predicted and total value.
func valueOf(margin float64, future bool, historicRevenue float64, v ltv.CustomerValue) (historic, predicted, total float64) {
	historic = margin * historicRevenue
	total = historic
	if future {
		total += v.CLV
	}
	return historic, v.CLV, total
}

func newCustomerValues(cfg Config, sum *summary.Summary, values []ltv.CustomerValue) *customerValues {
	n := sum.Len()
	cv := &customerValues{historic: make([]float64, n), predicted: make([]float64, n), total: make([]float64, n)}
	future := predictsFuture(cfg.Model)
	for i := range sum.Len() {
		cv.historic[i], cv.predicted[i], cv.total[i] = valueOf(cfg.GrossMargin, future, sum.Customer(i).HistoricValue, values[i])
	}
	return cv
}

// totals is the average and the sum of v over members (without Aggregate's sort for the median).
func totals(v []float64, members []int32) report.ValueTotals {
	if len(members) == 0 {
		return report.ValueTotals{}
	}
	sum := segment.SumOf(v, members)
	return report.ValueTotals{Average: sum / float64(len(members)), Total: sum}
}
