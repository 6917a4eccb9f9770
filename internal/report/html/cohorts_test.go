package html

import (
	"testing"

	"github.com/ltv-operator/ltv-operator/internal/report"
)

// Cohorts with at least three observed months each get a curve, the oldest drawn one also its
// model curve; a cohort observed for two months and the per-attribute tables are left out.
func TestCohortCharts(t *testing.T) {
	exp := func(v float64) *float64 { return &v }
	var rows []report.CohortRow
	for _, c := range []struct {
		name   string
		months int
	}{{"2026-05", 4}, {"2026-06", 3}, {"2026-07", 2}} {
		for m := 0; m < c.months; m++ {
			rows = append(rows, report.CohortRow{Cohort: c.name, MonthsSinceAcquisition: m, Customers: 10,
				CumulativeMarginPerCustomer: float64(10 * (m + 1)), ExpectedCumulativeMarginPerCustomer: exp(float64(9 * (m + 1)))})
		}
	}
	r := &report.Result{CohortTables: []report.CohortTable{
		{Attribute: "channel", Rows: rows[:1]},
		{Rows: rows},
	}}
	charts := cohortCharts(r)
	if len(charts) != 1 {
		t.Fatalf("%d charts, want 1", len(charts))
	}
	// one polyline each: 2026-05, 2026-06 and the model for 2026-05 (2026-07 has two months only)
	if got := charts[0].Points; got != 3 {
		t.Errorf("%d curves, want 3", got)
	}
	if cohortCharts(&report.Result{}) != nil {
		t.Error("a result without cohorts drew a chart")
	}
}
