package pipeline

import (
	"github.com/ltv-operator/ltv-operator/internal/ltv"
	"github.com/ltv-operator/ltv-operator/internal/numeric"
	"github.com/ltv-operator/ltv-operator/internal/report"
	"github.com/ltv-operator/ltv-operator/internal/summary"
	"runtime"
	"runtime/debug"
)

// customerValues are every customer's three value figures, index-aligned with the summary.
type customerValues struct {
	// sum and margin give the margin realised to date, net revenue x gross margin (see historic).
	sum    *summary.Summary
	margin float64
	// predicted is the model's value (ltv.CustomerValue.CLV).
	predicted []float64
	// future says whether predicted is value still to come, which the total adds to historic
	// (for Historical, which predicts nothing, the total is historic): see total.
	future bool
}

// total is customer i's historic value plus the value still to come (computed, not stored: a
// million customers would hold another 8 MB).
func (cv *customerValues) total(i int32) float64 {
	if cv.future {
		return cv.historic(i) + cv.predicted[i]
	}
	return cv.historic(i)
}

// historic is customer i's realised margin (computed, not stored, as total).
func (cv *customerValues) historic(i int32) float64 { return cv.margin * cv.sum.HistoricValue(int(i)) }

// historicTotals is totals of the customers' historic values.
func (cv *customerValues) historicTotals(members []int32) report.ValueTotals {
	return totalsOf(cv.historic, members)
}

// totalTotals is totals of the customers' total values.
func (cv *customerValues) totalTotals(members []int32) report.ValueTotals {
	return totalsOf(cv.total, members)
}

// totalsOf is totals of a per-customer value given by a function.
func totalsOf(value func(i int32) float64, members []int32) report.ValueTotals {
	if len(members) == 0 {
		return report.ValueTotals{}
	}
	var sum numeric.Sum
	for _, i := range members {
		sum.Add(value(i))
	}
	return report.ValueTotals{Average: sum.Value() / float64(len(members)), Total: sum.Value()}
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

func newCustomerValues(cfg Config, sum *summary.Summary, preds predictions) *customerValues {
	future := predictsFuture(cfg.Model)
	// predicted is the models' own array of values, not a copy
	return &customerValues{sum: sum, margin: cfg.GrossMargin, predicted: preds.CLV(), future: future}
}

// predictions are the models' per-customer predictions: ltv.CellValues for the probabilistic
// models (per cell, 8 bytes a customer), perCustomer for the others.
type predictions interface {
	Len() int
	Value(i int) ltv.CustomerValue
	ProbabilityAlive(i int) float64
	// CLV is every customer's value (read-only).
	CLV() []float64
}

// perCustomer are predictions computed customer by customer.
type perCustomer struct {
	values []ltv.CustomerValue
	clv    []float64
}

func newPerCustomer(n int) *perCustomer { return &perCustomer{values: make([]ltv.CustomerValue, n)} }

func (p *perCustomer) Len() int                       { return len(p.values) }
func (p *perCustomer) Value(i int) ltv.CustomerValue  { return p.values[i] }
func (p *perCustomer) ProbabilityAlive(i int) float64 { return p.values[i].ProbabilityAlive }
func (p *perCustomer) CLV() []float64 {
	if p.clv == nil {
		p.clv = make([]float64, len(p.values))
		for i, v := range p.values {
			p.clv[i] = v.CLV
		}
	}
	return p.clv
}

// totals is the average and the sum of v over members (without Aggregate's sort for the median).
func totals(v []float64, members []int32) report.ValueTotals {
	return totalsOf(func(i int32) float64 { return v[i] }, members)
}

// collectPhaseCustomers is the number of customers from which collectPhase collects, and
// returnMemoryCustomers the number from which collectSummaryBuilder also returns the freed
// memory to the OS.
const (
	collectPhaseCustomers = 200_000
	returnMemoryCustomers = 2_000_000
)

// collectPhase runs the garbage collector between two phases of a large computation. The
// phases allocate large pointer-free arrays (per customer, per distinct row) that are garbage
// when the phase ends; the collector's default pacing would let the heap grow to twice the live
// data before collecting them, so the peak would hold the last phase's garbage on top of the
// next phase's arrays. Marking is cheap here (the large arrays hold no pointers); below
// collectPhaseCustomers customers the garbage is too small to matter.
func collectPhase(customers int) {
	if customers >= collectPhaseCustomers {
		runtime.GC()
	}
}

// collectSummaryBuilder is collectPhase once the summary is built; from returnMemoryCustomers it
// also returns the freed memory to the OS at once. The builder frees its states in 8 MiB chunks,
// which the next phases' larger arrays cannot reuse, so they stayed resident until the runtime's
// scavenger got to them, under the fits' arrays: at 10M customers 100-165 MB of the peak. Below,
// re-faulting the pages costs more time than the memory is worth (at 1M customers 0.1 s).
func collectSummaryBuilder(customers int) {
	if customers >= returnMemoryCustomers {
		debug.FreeOSMemory()
		return
	}
	collectPhase(customers)
}
