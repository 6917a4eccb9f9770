package pipeline

import (
	"sort"

	"github.com/ltv-operator/ltv-operator/internal/cohort"
	"github.com/ltv-operator/ltv-operator/internal/report"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// Cohorts keep per-customer monthly activity in memory; beyond this many customers they are
// skipped (and the result says so) rather than grow the run's memory with the transactions.
const maxCohortCustomers = 200_000

// Bounds of the cohort files: the most recent cohorts, and the largest values per attribute.
const (
	maxCohorts          = 60
	maxCohortsPerValue  = 24
	maxCohortValues     = 20
	maxStatusCohorts    = 12
	cohortSourceMissing = "cohorts need the transactions row by row: a PostgreSQL source summarised inside the database does not provide them"
)

// cohortsOf builds the cohorts from the summary's activity (see summary.Options.ActivityCustomers),
// then drops the activity, or says why there are none.
func cohortsOf(cfg Config, sum *summary.Summary) (*cohort.Builder, string) {
	if sum.Activity == nil {
		if sum.ActivityNote != "" {
			return nil, "cohorts skipped: " + sum.ActivityNote
		}
		return nil, cohortSourceMissing
	}
	b := cohort.FromActivity(cfg.ObservationEnd, cfg.Columns.Attributes, sum.Len(), sum.Attributes, sum.Activity)
	sum.Activity = nil
	return b, ""
}

// cohortResults adds the cohort tables and their status summary to res.
func cohortResults(cfg Config, b *cohort.Builder, note string, curves *acquisitionCurves, res *report.Result) {
	if b == nil {
		res.CohortsNote = note
		return
	}
	all := b.Cohorts(nil)
	observedPayback(res.NewCustomer, all, cfg.GrossMargin)
	overall := lastCohorts(all, maxCohorts)
	table := report.CohortTable{Rows: cohortRows("", overall, cfg.GrossMargin, curves.pooled)}
	res.CohortTables = append(res.CohortTables, table)
	res.Cohorts = cohortSummary(overall, cfg.GrossMargin, curves.pooled)

	for _, b2 := range res.Breakdowns {
		idx := attributeIndex(cfg.Columns.Attributes, b2.Attribute)
		t := report.CohortTable{Attribute: b2.Attribute}
		for i, v := range b2.Values {
			if i == maxCohortValues {
				break
			}
			value := v.Value
			valueCohorts := b.Cohorts(func(a []string) bool { return a[idx] == value })
			observedPayback(v.NewCustomer, valueCohorts, cfg.GrossMargin)
			cos := lastCohorts(valueCohorts, maxCohortsPerValue)
			curve := curves.pooled
			if b2.Attribute == cfg.FitBy && curves.partitioned[value] != nil {
				curve = curves.partitioned[value]
			}
			t.Rows = append(t.Rows, cohortRows(value, cos, cfg.GrossMargin, curve)...)
		}
		res.CohortTables = append(res.CohortTables, t)
	}
}

// observedPayback sets nc.ObservedPaybackMonths from the cohorts: for each month k since
// acquisition, the realised cumulative margin per customer over the cohorts that have month k
// observed in full; the first k where it reaches the acquisition cost.
func observedPayback(nc *report.NewCustomer, cos []cohort.Cohort, margin float64) {
	if nc == nil || nc.AcquisitionCost == nil || *nc.AcquisitionCost <= 0 || len(cos) == 0 {
		return
	}
	for k := 0; ; k++ {
		var revenue float64
		var customers int
		for _, co := range cos {
			if k < completeMonths(co) {
				revenue += co.Months[k].CumulativeRevenue
				customers += co.Customers
			}
		}
		if customers == 0 {
			return // no cohort observed this long
		}
		if margin*revenue/float64(customers) >= *nc.AcquisitionCost {
			nc.ObservedPaybackMonths = &k
			return
		}
	}
}

// completeMonths is the number of the cohort's months observed in full (the last one is cut by
// the observation end unless that is a month's last day).
func completeMonths(co cohort.Cohort) int {
	n := len(co.Months)
	if n > 0 && co.Months[n-1].End.AddDate(0, 0, 1).Day() != 1 {
		n--
	}
	return n
}

func lastCohorts(cos []cohort.Cohort, n int) []cohort.Cohort {
	if len(cos) > n {
		return cos[len(cos)-n:]
	}
	return cos
}

func cohortRows(value string, cos []cohort.Cohort, margin float64, curve *newCustomerCurve) []report.CohortRow {
	var rows []report.CohortRow
	for _, co := range cos {
		var expected []float64
		if curve != nil {
			expected = cohort.Expected(co, margin, curve.spend, curve.repeat)
		}
		for k, m := range co.Months {
			r := report.CohortRow{Value: value, Cohort: co.Month.Format("2006-01"), MonthsSinceAcquisition: k,
				Customers: co.Customers, ActiveCustomers: m.Active, Revenue: m.Revenue,
				CumulativeMarginPerCustomer: margin * m.CumulativeRevenue / float64(co.Customers)}
			if expected != nil {
				e := expected[k]
				r.ExpectedCumulativeMarginPerCustomer = &e
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// cohortSummary is the last cohorts' cumulative margin per customer after 3, 6 and 12 months
// (through month n since acquisition, month 0 being the acquisition month), where observed in
// full, and the model's expectation at the same points.
func cohortSummary(cos []cohort.Cohort, margin float64, curve *newCustomerCurve) []report.CohortSummary {
	cos = lastCohorts(cos, maxStatusCohorts)
	out := make([]report.CohortSummary, 0, len(cos))
	for _, co := range cos {
		s := report.CohortSummary{Cohort: co.Month.Format("2006-01"), Customers: co.Customers}
		var expected []float64
		if curve != nil {
			expected = cohort.Expected(co, margin, curve.spend, curve.repeat)
		}
		complete := completeMonths(co)
		at := func(n int) (*float64, *float64) {
			if n >= complete {
				return nil, nil
			}
			v := margin * co.Months[n].CumulativeRevenue / float64(co.Customers)
			if expected == nil {
				return &v, nil
			}
			e := expected[n]
			return &v, &e
		}
		s.ValueAt3Months, s.ExpectedAt3Months = at(3)
		s.ValueAt6Months, s.ExpectedAt6Months = at(6)
		s.ValueAt12Months, s.ExpectedAt12Months = at(12)
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Cohort > out[j].Cohort }) // newest first
	return out
}
