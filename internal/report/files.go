package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// File names in the results ConfigMap.
const (
	SummaryFile      = "summary.json"
	SegmentsFile     = "segments.csv"
	TopCustomersFile = "top-customers.csv"
	CohortsFile      = "cohorts.csv"
	BacktestFile     = "backtest.csv"
	breakdownPrefix  = "breakdown-"
	cohortsPrefix    = "cohorts-"
)

// CohortsAttributeFile is the file name of one attribute's cohorts.
func CohortsAttributeFile(attribute string) string {
	return cohortsPrefix + sanitizeKey(attribute) + ".csv"
}

// BreakdownFile is the file name of one attribute's breakdown.
func BreakdownFile(attribute string) string {
	return breakdownPrefix + sanitizeKey(attribute) + ".csv"
}

// Files renders a Result as the results ConfigMap's files: the whole Result as JSON (without the
// top-customer rows, which have their own CSV) and one CSV per table.
func Files(r *Result) (map[string][]byte, error) {
	files := map[string][]byte{}
	money := func(v float64) string { return Money(v, r.Currency) }
	optMoney := func(v *float64) string {
		if v == nil {
			return ""
		}
		return money(*v)
	}
	summary := *r
	summary.Top, summary.CohortTables = nil, nil // their own CSVs
	js, err := json.MarshalIndent(&summary, "", "  ")
	if err != nil {
		return nil, err
	}
	files[SummaryFile] = append(js, '\n')

	rows := [][]string{append([]string{"segment", "customers", "average_ltv", "median_ltv", "total_ltv", "value_share", "average_ltv_low", "average_ltv_high"}, valueColumns...)}
	for _, s := range r.Segments {
		low, high := "", ""
		if s.AverageLTVInterval != nil {
			low, high = money(s.AverageLTVInterval.Low), money(s.AverageLTVInterval.High)
		}
		rows = append(rows, append([]string{s.Name, strconv.FormatInt(s.Customers, 10), money(s.AverageLTV), money(s.MedianLTV), money(s.TotalLTV), num(s.ValueShare), low, high},
			valueCells(s.HistoricValue, s.TotalValue, money)...))
	}
	files[SegmentsFile] = csvBytes(rows)

	for _, b := range r.Breakdowns {
		rows := [][]string{append([]string{b.Attribute, "customers", "average_ltv", "total_ltv", "value_share", "acquisition_cost", "ltv_to_cac", "average_ltv_low", "average_ltv_high"}, valueColumns...)}
		for _, v := range b.Values {
			low, high := "", ""
			if v.AverageLTVInterval != nil {
				low, high = money(v.AverageLTVInterval.Low), money(v.AverageLTVInterval.High)
			}
			rows = append(rows, append([]string{v.Value, strconv.FormatInt(v.Customers, 10), money(v.AverageLTV), money(v.TotalLTV), num(v.ValueShare), optMoney(v.AcquisitionCost), optNum(v.LTVToCAC), low, high},
				valueCells(v.HistoricValue, v.TotalValue, money)...))
		}
		files[BreakdownFile(b.Attribute)] = csvBytes(rows)
	}

	var attrNames []string
	for _, c := range r.Top {
		for k := range c.Attributes {
			attrNames = append(attrNames, k)
		}
	}
	sort.Strings(attrNames)
	var top bytes.Buffer
	cw := NewCustomerCSV(&top, r.Currency, dedupe(attrNames))
	for i := range r.Top {
		cw.Write(&r.Top[i])
	}
	if err := cw.Flush(); err != nil {
		return nil, err
	}
	files[TopCustomersFile] = top.Bytes()
	if r.Backtest != nil {
		files[BacktestFile] = backtestCSV(r.Backtest, money)
	}

	for _, t := range r.CohortTables {
		header := slices.Clone(cohortColumns)
		name := CohortsFile
		if t.Attribute != "" {
			header = append([]string{t.Attribute}, header...)
			name = CohortsAttributeFile(t.Attribute)
		}
		rows := [][]string{header}
		for _, c := range t.Rows {
			row := []string{c.Cohort, strconv.Itoa(c.MonthsSinceAcquisition), strconv.Itoa(c.Customers), strconv.Itoa(c.ActiveCustomers),
				money(c.Revenue), money(c.CumulativeMarginPerCustomer), optMoney(c.ExpectedCumulativeMarginPerCustomer)}
			if t.Attribute != "" {
				row = append([]string{c.Value}, row...)
			}
			rows = append(rows, row)
		}
		files[name] = csvBytes(rows)
	}
	return files, nil
}

// CustomerCSV writes customer rows in the columns of top-customers.csv (docs/data.md), one
// row at a time, for the top customers and for ltvctl's every-customer file alike.
type CustomerCSV struct {
	w        *csv.Writer
	currency string
	attrs    []string
	header   bool
}

// NewCustomerCSV writes to w; attrs are the attribute columns, in order, after the fixed ones.
func NewCustomerCSV(w io.Writer, currency string, attrs []string) *CustomerCSV {
	return &CustomerCSV{w: csv.NewWriter(w), currency: currency, attrs: attrs}
}

// Write writes one customer (the header first).
func (cw *CustomerCSV) Write(c *CustomerRow) {
	if !cw.header {
		cw.header = true
		header := []string{"customer_id", "predicted_value", "expected_purchases", "probability_alive", "historic_value", "frequency", "recency", "age", "monetary", "segments",
			"probability_alive_after_window", "probability_no_purchase", "next_purchase_date", "historic_revenue", "total_value",
			"predicted_value_lower", "predicted_value_upper"}
		_ = cw.w.Write(append(header, cw.attrs...))
	}
	if c == nil {
		return
	}
	money := func(v float64) string { return Money(v, cw.currency) }
	optMoney := func(v *float64) string {
		if v == nil {
			return ""
		}
		return money(*v)
	}
	row := []string{c.ID, money(c.PredictedValue), num(c.ExpectedPurchases), num(c.ProbabilityAlive), money(c.HistoricValue),
		strconv.Itoa(c.Frequency), num(c.Recency), num(c.Age), money(c.Monetary), strings.Join(c.Segments, ";"),
		optNum(c.ProbabilityAliveAfterWindow), optNum(c.ProbabilityNoPurchase), c.NextPurchaseDate, money(c.HistoricRevenue), money(c.TotalValue),
		optMoney(c.PredictedValueLower), optMoney(c.PredictedValueUpper)}
	for _, a := range cw.attrs {
		row = append(row, c.Attributes[a])
	}
	_ = cw.w.Write(row) // errors are kept by the csv.Writer and returned by Flush
}

// Flush writes the header when no row was written, flushes, and returns the first write error.
func (cw *CustomerCSV) Flush() error {
	if !cw.header {
		cw.Write(nil)
	}
	cw.w.Flush()
	return cw.w.Error()
}

// valueColumns are the historic and total value columns of segments.csv and breakdown CSVs
// (average_ltv and total_ltv are the predicted value).
var valueColumns = []string{"average_historic_value", "total_historic_value", "average_total_value", "total_total_value"}

func valueCells(historic, total ValueTotals, money func(float64) string) []string {
	return []string{money(historic.Average), money(historic.Total), money(total.Average), money(total.Total)}
}

// backtestCSV has one row per scored group: all customers, each segment, each breakdown value
// (group = the attribute), each decile of predicted value.
func backtestCSV(b *Backtest, money func(float64) string) []byte {
	rows := [][]string{{"group", "name", "customers", "predicted", "actual", "relative_error", "mean_absolute_error",
		"root_mean_squared_error", "top10_percent_capture", "top20_percent_capture", "spearman"}}
	add := func(group, name string, v *ValueBacktest) {
		rows = append(rows, []string{group, name, strconv.FormatInt(v.Customers, 10), money(v.Predicted), money(v.Actual),
			optNum(v.RelativeError), money(v.MeanAbsoluteError), money(v.RootMeanSquaredError),
			optNum(v.Top10PercentCapture), optNum(v.Top20PercentCapture), optNum(v.Spearman)})
	}
	if b.Value != nil {
		add("all", "", b.Value)
	}
	for i := range b.Segments {
		add("segment", b.Segments[i].Name, &b.Segments[i].ValueBacktest)
	}
	for _, br := range b.Breakdowns {
		for i := range br.Values {
			add(br.Attribute, br.Values[i].Name, &br.Values[i].ValueBacktest)
		}
	}
	for _, d := range b.Deciles {
		// deciles carry means per customer, not totals
		rows = append(rows, []string{"decile", strconv.Itoa(d.Decile), strconv.FormatInt(d.Customers, 10),
			money(d.Predicted), money(d.Actual), "", "", "", "", "", ""})
	}
	return csvBytes(rows)
}

func csvBytes(rows [][]string) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.WriteAll(rows) // writes to memory cannot fail
	return buf.Bytes()
}

func num(v float64) string { return Number(v) }

func optNum(v *float64) string {
	if v == nil {
		return ""
	}
	return num(*v)
}

func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// sanitizeKey keeps ConfigMap key characters ([-._a-zA-Z0-9]) and replaces the rest.
func sanitizeKey(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			b[i] = '_'
		}
	}
	return string(b)
}

// cohortColumns are the columns of cohorts.csv (cohorts-<attribute>.csv put the attribute first).
var cohortColumns = []string{"cohort", "months_since_acquisition", "customers", "active_customers", "revenue",
	"cumulative_margin_per_customer", "expected_cumulative_margin_per_customer"}

// ReadCohortsCSV reads a cohorts.csv back into the overall cohort table (what `ltvctl report
// --summary` draws its cohort curves from, as summary.json leaves the tables out). Money comes
// back at the file's precision.
func ReadCohortsCSV(r io.Reader) (CohortTable, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return CohortTable{}, err
	}
	if len(rows) == 0 || !slices.Equal(rows[0], cohortColumns) {
		return CohortTable{}, fmt.Errorf("%s: the header is not %s", CohortsFile, strings.Join(cohortColumns, ","))
	}
	var t CohortTable
	for i, row := range rows[1:] {
		line := i + 2
		var c CohortRow
		var errs []error
		atoi := func(s string) int { v, err := strconv.Atoi(s); errs = append(errs, err); return v }
		atof := func(s string) float64 { v, err := strconv.ParseFloat(s, 64); errs = append(errs, err); return v }
		c.Cohort = row[0]
		c.MonthsSinceAcquisition, c.Customers, c.ActiveCustomers = atoi(row[1]), atoi(row[2]), atoi(row[3])
		c.Revenue, c.CumulativeMarginPerCustomer = atof(row[4]), atof(row[5])
		if row[6] != "" {
			v := atof(row[6])
			c.ExpectedCumulativeMarginPerCustomer = &v
		}
		if err := errors.Join(errs...); err != nil {
			return CohortTable{}, fmt.Errorf("%s line %d: %w", CohortsFile, line, err)
		}
		t.Rows = append(t.Rows, c)
	}
	return t, nil
}
