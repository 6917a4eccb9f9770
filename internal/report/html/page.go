// Package html renders a computation's Result as one self-contained HTML page: headline figures
// and inline SVG charts laid out in Go (no chart library, no network fetch: a Content-Security-
// Policy forbids every fetch). The operator publishes it as report.html in the results ConfigMap
// and `ltvctl report` writes it. Pure: no Kubernetes, no I/O.
package html

import (
	_ "embed"
	"fmt"
	"sort"
	"strconv"

	"github.com/ltv-operator/ltv-operator/internal/report"
)

// File is the page's name in the results ConfigMap and in `ltvctl compute --out`.
const File = "report.html"

// chartWidth is the width of every chart's viewBox (the SVG scales to its column).
const chartWidth = 600.0

// The page's style and its render check script, inlined into every page.
var (
	//go:embed page.css
	pageCSS string
	//go:embed check.js
	checkJS string
)

// Options are what the Result does not say.
type Options struct {
	// Title names the computation ("shop/shop-ltv"); empty: "Customer lifetime value".
	Title string
}

// Figure is one headline number.
type Figure struct {
	Label, Value, Detail string
}

// Section groups charts under a heading.
type Section struct {
	Heading string
	Charts  []Chart
}

type view struct {
	Title    string
	Subtitle string
	Figures  []Figure
	Sections []Section
	Notes    []string
}

// Render returns the page.
func Render(r *report.Result, opts Options) ([]byte, error) {
	v := view{Title: opts.Title}
	if v.Title == "" {
		v.Title = "Customer lifetime value"
	}
	model := r.Model.Type
	if r.Model.Spend != "" {
		model += " + " + r.Model.Spend
	}
	v.Subtitle = fmt.Sprintf("%s · data to %s · %d-month horizon · computed %s", model, r.ObservationEnd, r.HorizonMonths, r.ComputedAt.UTC().Format("2006-01-02 15:04 MST"))
	v.Figures = figures(r)
	v.Sections = Sections(r)
	if !r.Model.Converged && r.Model.Type != "Historical" && r.Model.Type != "Formula" {
		v.Notes = append(v.Notes, "The model's fit did not converge: read the figures with care.")
	}
	v.Notes = append(v.Notes, r.Model.Notes...)
	return v.render(), nil
}

func figures(r *report.Result) []Figure {
	money := func(v float64) string { return Grouped(report.Money(v, r.Currency)) + " " + r.Currency }
	avg := Figure{Label: "Average LTV", Value: money(r.AverageLTV), Detail: "per customer, " + strconv.Itoa(r.HorizonMonths) + " months"}
	if iv := r.AverageLTVInterval; iv != nil {
		avg.Detail = fmt.Sprintf("%.0f%% interval %s – %s", iv.Level*100, report.Money(iv.Low, r.Currency), report.Money(iv.High, r.Currency))
	}
	out := []Figure{
		{Label: "Customers", Value: Grouped(strconv.FormatInt(r.Customers, 10)), Detail: fmt.Sprintf("%s repeat, %s transactions", Grouped(strconv.FormatInt(r.RepeatCustomers, 10)), Grouped(strconv.FormatInt(r.Transactions, 10)))},
		avg,
		{Label: "Total LTV", Value: money(r.TotalLTV), Detail: fmt.Sprintf("top 20%% hold %.0f%%", r.Top20PercentValueShare*100)},
	}
	if r.LTVToCAC != nil {
		f := Figure{Label: "LTV:CAC (new customer)", Value: strconv.FormatFloat(*r.LTVToCAC, 'f', 2, 64)}
		if r.AffordableCAC != nil {
			f.Detail = fmt.Sprintf("affordable CAC at %s:1: %s", strconv.FormatFloat(r.TargetLTVToCAC, 'f', -1, 64), money(*r.AffordableCAC))
		}
		out = append(out, f)
	}
	if r.AverageProbabilityAlive != nil {
		out = append(out, Figure{Label: "Average P(alive)", Value: fmt.Sprintf("%.0f%%", *r.AverageProbabilityAlive*100), Detail: "at " + r.ObservationEnd})
	}
	if b := r.Backtest; b != nil && b.Value != nil && b.Value.RelativeError != nil {
		f := Figure{Label: "Backtest error", Value: fmt.Sprintf("%+.1f%%", *b.Value.RelativeError*100), Detail: fmt.Sprintf("predicted vs actual over %d holdout %ss", b.HoldoutPeriods, lower(r.TimeUnit))}
		if c := b.Value.Top10PercentCapture; c != nil {
			f.Detail += fmt.Sprintf("; top 10%% capture %.0f%%", *c*100)
		}
		out = append(out, f)
	}
	return out
}

// Grouped puts thousands separators into a formatted number: 22378.00 -> 22,378.00.
func Grouped(s string) string {
	sign := ""
	if len(s) > 0 && s[0] == '-' {
		sign, s = "-", s[1:]
	}
	intPart, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, frac = s[:i], s[i:]
			break
		}
	}
	var b []byte
	for i := range len(intPart) {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, intPart[i])
	}
	return sign + string(b) + frac
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Sections lays out every chart the Result has data for, in reading order. A chart without data
// is left out, never drawn empty.
func Sections(r *report.Result) []Section {
	var out []Section
	add := func(heading string, charts ...Chart) {
		var keep []Chart
		for _, c := range charts {
			if c.Points > 0 {
				keep = append(keep, c)
			}
		}
		if len(keep) > 0 {
			out = append(out, Section{Heading: heading, Charts: keep})
		}
	}
	for _, b := range r.Breakdowns {
		add("By "+b.Attribute, ltvByValue(r, b), ltvToCAC(b))
	}
	add("Segments", segmentShare(r))
	add("Who is still a customer", aliveHistogram(r))
	if bt := r.Backtest; bt != nil {
		add(fmt.Sprintf("Backtest: calibration to %s, %d %ss of holdout", bt.CalibrationEnd, bt.HoldoutPeriods, lower(r.TimeUnit)),
			frequencyBacktest(bt), decileBacktest(r, bt))
	}
	add("Cohorts", cohortCharts(r)...)
	return out
}

func ltvByValue(r *report.Result, b report.Breakdown) Chart {
	var bars []Bar
	for _, v := range b.Values {
		bar := Bar{Label: v.Value, Value: v.AverageLTV, Text: report.Money(v.AverageLTV, r.Currency)}
		bar.Tip = fmt.Sprintf("%s: average LTV %s %s, %d customers", v.Value, report.Money(v.AverageLTV, r.Currency), r.Currency, v.Customers)
		if iv := v.AverageLTVInterval; iv != nil {
			low, high := iv.Low, iv.High
			bar.Low, bar.High = &low, &high
			bar.Tip += fmt.Sprintf(", %.0f%% interval %s – %s", iv.Level*100, report.Money(low, r.Currency), report.Money(high, r.Currency))
		}
		bars = append(bars, bar)
	}
	note := "Average predicted value per customer (" + r.Currency + ")"
	if len(b.Values) > 0 && b.Values[0].AverageLTVInterval != nil {
		note += "; whiskers: 90% interval from the parameters' uncertainty"
	}
	return HBars("ltv-by-"+b.Attribute, "Average LTV by "+b.Attribute, note, bars, nil, "", chartWidth)
}

func ltvToCAC(b report.Breakdown) Chart {
	var bars []Bar
	for _, v := range b.Values {
		if v.LTVToCAC == nil {
			continue
		}
		bars = append(bars, Bar{Label: v.Value, Value: *v.LTVToCAC, Text: strconv.FormatFloat(*v.LTVToCAC, 'f', 2, 64),
			Tip: fmt.Sprintf("%s: LTV:CAC %.2f (CAC %.2f)", v.Value, *v.LTVToCAC, deref(v.AcquisitionCost))})
	}
	note := "Average LTV over average acquisition cost; the dashed line is the usual 3:1 target"
	if missing := len(b.Values) - len(bars); missing > 0 {
		note += fmt.Sprintf("; %d value(s) without an acquisition cost not shown", missing)
	}
	three := 3.0
	return HBars("ltv-to-cac-by-"+b.Attribute, "LTV:CAC by "+b.Attribute, note, bars, &three, "3:1", chartWidth)
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func segmentShare(r *report.Result) Chart {
	segs := append([]report.Segment(nil), r.Segments...)
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].ValueShare > segs[j].ValueShare })
	var bars []Bar
	for _, s := range segs {
		bars = append(bars, Bar{Label: s.Name, Value: s.ValueShare * 100, Text: fmt.Sprintf("%.1f%%", s.ValueShare*100),
			Tip: fmt.Sprintf("%s: %d customers, %.1f%% of the total LTV, average %s %s", s.Name, s.Customers, s.ValueShare*100, report.Money(s.AverageLTV, r.Currency), r.Currency)})
	}
	return HBars("segment-value-share", "Share of the total LTV by segment", "Percent of the total predicted value held by each segment's members (segments may overlap)", bars, nil, "", chartWidth)
}

func aliveHistogram(r *report.Result) Chart {
	if len(r.ProbabilityAliveHistogram) == 0 {
		return Chart{}
	}
	cats := make([]string, len(r.ProbabilityAliveHistogram))
	vals := make([]float64, len(cats))
	tips := make([]string, len(cats))
	w := 1 / float64(len(cats))
	for i, n := range r.ProbabilityAliveHistogram {
		cats[i] = strconv.FormatFloat(float64(i)*w, 'f', 1, 64) + "–" + strconv.FormatFloat(float64(i+1)*w, 'f', 1, 64)
		vals[i] = float64(n)
		tips[i] = fmt.Sprintf("P(alive) %.1f–%.1f: %d customers", float64(i)*w, float64(i+1)*w, n)
	}
	return Columns("probability-alive", "Customers by probability of being alive", "How many customers the model believes are still active at "+r.ObservationEnd,
		cats, []Series{{Label: "customers", Class: "bar", Values: vals, Tips: tips}}, "probability of being alive at the observation end", chartWidth, 260)
}

func frequencyBacktest(bt *report.Backtest) Chart {
	if bt.Transactions == nil {
		return Chart{}
	}
	var cats []string
	pred, act := Series{Label: "predicted", Class: "predicted"}, Series{Label: "actual", Class: "actual"}
	for _, g := range bt.Transactions.ByFrequency {
		if g.Customers == 0 {
			continue
		}
		cats = append(cats, g.Frequency)
		pred.Values = append(pred.Values, g.Predicted)
		act.Values = append(act.Values, g.Actual)
		pred.Tips = append(pred.Tips, fmt.Sprintf("%s repeat purchases in calibration (%d customers): %.2f predicted per customer", g.Frequency, g.Customers, g.Predicted))
		act.Tips = append(act.Tips, fmt.Sprintf("%s repeat purchases in calibration (%d customers): %.2f actual per customer", g.Frequency, g.Customers, g.Actual))
	}
	return Columns("backtest-by-frequency", "Holdout purchases by calibration frequency", "Mean repeat purchases per customer in the holdout, predicted by the calibration fit and actual",
		cats, []Series{pred, act}, "repeat purchases in the calibration period", chartWidth, 260)
}

func decileBacktest(r *report.Result, bt *report.Backtest) Chart {
	var cats []string
	pred, act := Series{Label: "predicted", Class: "predicted"}, Series{Label: "actual", Class: "actual"}
	for _, d := range bt.Deciles {
		cats = append(cats, strconv.Itoa(d.Decile))
		pred.Values = append(pred.Values, d.Predicted)
		act.Values = append(act.Values, d.Actual)
		pred.Tips = append(pred.Tips, fmt.Sprintf("decile %d (%d customers): %s %s predicted per customer", d.Decile, d.Customers, report.Money(d.Predicted, r.Currency), r.Currency))
		act.Tips = append(act.Tips, fmt.Sprintf("decile %d (%d customers): %s %s actual per customer", d.Decile, d.Customers, report.Money(d.Actual, r.Currency), r.Currency))
	}
	note := "Mean holdout value (net margin, " + r.Currency + ") per customer, customers ranked by predicted value"
	if v := bt.Value; v != nil && v.Spearman != nil {
		note += fmt.Sprintf("; rank correlation %.2f", *v.Spearman)
	}
	return Columns("backtest-by-decile", "Predicted vs actual value by decile", note, cats, []Series{pred, act}, "decile of predicted value (1 = highest)", chartWidth, 260)
}

// cohortCharts draws the realised cumulative margin per acquired customer of the six largest
// recent cohorts against months since acquisition, with the model's expectation for the oldest
// of them, so the model can be held against what cohorts actually did.
func cohortCharts(r *report.Result) []Chart {
	var overall *report.CohortTable
	for i := range r.CohortTables {
		if r.CohortTables[i].Attribute == "" {
			overall = &r.CohortTables[i]
		}
	}
	if overall == nil || len(overall.Rows) == 0 {
		return nil
	}
	byCohort := map[string][]report.CohortRow{}
	var names []string
	for _, row := range overall.Rows {
		if _, ok := byCohort[row.Cohort]; !ok {
			names = append(names, row.Cohort)
		}
		byCohort[row.Cohort] = append(byCohort[row.Cohort], row)
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	// the six most recent cohorts with at least three months observed, drawn oldest first
	var picked []string
	for _, n := range names {
		if len(byCohort[n]) >= 3 {
			picked = append(picked, n)
		}
		if len(picked) == 6 {
			break
		}
	}
	if len(picked) == 0 {
		return nil
	}
	sort.Strings(picked)
	// Money at the precision cohorts.csv has, so that the page drawn from summary.json and
	// cohorts.csv (ltvctl report --summary) is the page the run drew.
	atCSVPrecision := func(v float64) float64 {
		f, err := strconv.ParseFloat(report.Money(v, r.Currency), 64)
		if err != nil {
			return v
		}
		return f
	}
	var curves []Curve
	for _, n := range picked {
		cv := Curve{Label: n}
		for _, row := range byCohort[n] {
			cv.X = append(cv.X, float64(row.MonthsSinceAcquisition))
			cv.Y = append(cv.Y, atCSVPrecision(row.CumulativeMarginPerCustomer))
		}
		curves = append(curves, cv)
	}
	expected := Curve{Label: "model, " + picked[0]}
	for _, row := range byCohort[picked[0]] {
		if row.ExpectedCumulativeMarginPerCustomer != nil {
			expected.X = append(expected.X, float64(row.MonthsSinceAcquisition))
			expected.Y = append(expected.Y, atCSVPrecision(*row.ExpectedCumulativeMarginPerCustomer))
		}
	}
	if len(expected.X) > 0 {
		curves = append(curves, expected)
	}
	return []Chart{Lines("cohorts", "Cumulative margin per acquired customer, by acquisition month",
		"realised net margin per customer acquired in the month; the last curve is the model's expectation", curves,
		"months since acquisition", chartWidth, 280)}
}
