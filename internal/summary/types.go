package summary

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// TimeUnit is the unit in which recency and age are expressed. Week is 7 days and Month
// 365.25/12 days, both fractional.
type TimeUnit string

// Time units.
const (
	Day   TimeUnit = "Day"
	Week  TimeUnit = "Week"
	Month TimeUnit = "Month"
)

// daysPerMonth is the mean length of a Gregorian month, 365.25/12 days.
const daysPerMonth = 365.25 / 12

// FromDays converts a number of days into the unit. An empty or unknown unit counts as Week (the
// API default); Options are validated before use, so that only matters for direct callers.
func (u TimeUnit) FromDays(days float64) float64 {
	switch u {
	case Day:
		return days
	case Month:
		return days / daysPerMonth
	default:
		return days / 7
	}
}

// PeriodsPerMonth is how many units make a month of 365.25/12 days: Day 30.4375, Week 30.4375/7,
// Month 1.
func (u TimeUnit) PeriodsPerMonth() float64 {
	switch u {
	case Day:
		return daysPerMonth
	case Month:
		return 1
	default:
		return daysPerMonth / 7
	}
}

func (u TimeUnit) valid() bool { return u == Day || u == Week || u == Month }

// ReturnsPolicy says what a negative amount (a refund or a return) means.
type ReturnsPolicy string

// Returns policies.
const (
	// ReturnsNet keeps negative rows: they reduce the customer's value on their day (see the
	// package documentation for how they enter Frequency and Monetary).
	ReturnsNet ReturnsPolicy = "Net"
	// ReturnsExclude drops negative rows and counts them in Summary.ExcludedReturns.
	ReturnsExclude ReturnsPolicy = "Exclude"
	// ReturnsReject treats a negative amount as an invalid row.
	ReturnsReject ReturnsPolicy = "Reject"
)

// Columns names the CSV header columns holding the fields the summary needs.
type Columns struct {
	CustomerID, Timestamp, Amount string
	// Attributes are further columns kept per customer from the customer's first transaction.
	Attributes []string
}

// Options configure a summary.
type Options struct {
	// CalibrationEnd is the last day of the calibration period: its calendar date in its own
	// location (build it in UTC; the time of day is ignored). Transactions up to the end of that
	// day (UTC) are calibration transactions.
	CalibrationEnd time.Time
	// ObservationEnd is the last day of observation, inclusive. It equals CalibrationEnd when there
	// is no holdout (the zero value means the same). Transactions in (CalibrationEnd,
	// ObservationEnd] are holdout transactions; rows after ObservationEnd are "future" rows,
	// excluded and counted.
	ObservationEnd time.Time
	// Unit is the unit of Recency and Age; empty means Week.
	Unit TimeUnit
	// Returns says what negative amounts mean; empty means Net.
	Returns ReturnsPolicy
	// MaxInvalidRows is how many malformed rows are skipped (and counted) before the summary
	// fails. The default 0 fails at the first one.
	MaxInvalidRows int
	// ActivityCustomers, when positive, asks for Summary.Activity (16 bytes a row) as long as
	// the customers are at most this many.
	ActivityCustomers int
}

// Customer is one customer's summary over the calibration period, in the literature's notation.
type Customer struct {
	ID string
	// Attributes are the values of the attribute columns on the customer's first transaction
	// (the earliest timestamp; on ties, the first row read). Customers with equal values share
	// the backing array: treat it as read-only.
	Attributes []string
	// FirstPurchase and LastPurchase are the calendar days (UTC midnight) of the first and the
	// last calibration transaction.
	FirstPurchase, LastPurchase time.Time
	// Frequency (x) is the number of repeat transactions: distinct calibration days - 1.
	Frequency int
	// Recency (t_x) is LastPurchase - FirstPurchase in Unit.
	Recency float64
	// Age (T) is CalibrationEnd's date - FirstPurchase in Unit: the time from the first
	// transaction to the end of the calibration period, counted in whole days.
	Age float64
	// Monetary is the mean value of the repeat transaction days (the first day excluded); 0 when
	// Frequency is 0.
	Monetary float64
	// HistoricValue is the sum of all calibration amounts, after the returns policy.
	HistoricValue float64
	// Orders is the number of calibration rows (before same-day rows are merged).
	Orders int
	// HoldoutTransactions is the number of distinct days with a (non-negative) transaction in
	// the holdout window; HoldoutValue is the sum of the holdout amounts.
	HoldoutTransactions int
	HoldoutValue        float64
}

// Summary is the per-customer summary of a transaction log. Its customers (the calibration
// customers, sorted by ID in byte order) are read with Len, Customer and All: they are stored in
// 48 bytes each (see row), and a Customer is a view built on demand.
type Summary struct {
	rows []row
	// holdoutValue is parallel to rows; nil without a holdout window.
	holdoutValue []float64
	// ids holds the customers' ids (row.id points into it); never written where handed out.
	ids [][]byte
	// tuples are the distinct attribute tuples (row.attr indexes it); tuple 0 is empty.
	tuples [][]string
	calEnd int32
	unit   TimeUnit

	AttributeNames []string
	// Transactions is the number of calibration transactions after same-day rows are merged.
	Transactions int
	// Rows is the number of data rows read (valid or not).
	Rows int
	// Revenue is the sum of the customers' HistoricValue.
	Revenue float64
	// FutureRows are rows dated after ObservationEnd, ExcludedReturns negative rows dropped by
	// ReturnsExclude, InvalidRows malformed rows skipped (at most MaxInvalidRows).
	FutureRows, ExcludedReturns, InvalidRows int
	// InvalidSamples are the first few (at most 5) invalid rows.
	InvalidSamples []*RowError
	// Digest is "sha256:<hex>" of the raw bytes read (compressed bytes for gzip input). Empty
	// for summaries built with a Builder.
	Digest string
	// HoldoutOnlyCustomers counts customers whose first transaction falls in the holdout
	// window: they are not calibration customers and are not among the customers.
	HoldoutOnlyCustomers int
	// Activity is every admitted row as (customer, day, amount), in the order read, in chunks
	// (so that it never has to be copied to grow), when Options.ActivityCustomers asked for it and
	// the customers were not more; else nil, and ActivityNote says why when it was asked for.
	Activity     [][]Activity
	ActivityNote string
}

// Activity is one admitted row of a customer: what cohorts are built from.
type Activity struct {
	// Customer is the customer's index in the Summary.
	Customer int32
	// Day is the row's UTC calendar day, in days since 1970-01-01.
	Day    int32
	Amount float64
}

// maxInvalidSamples bounds Summary.InvalidSamples.
const maxInvalidSamples = 5

// ErrNoData is wrapped by the error returned when there is nothing to summarise: no data rows,
// or no transaction in the calibration window.
var ErrNoData = errors.New("no data")

// ErrCorruptInput is wrapped by the error for a gzip stream that is not valid (bad header, bad
// checksum, corrupt data): a permanent input error. A stream that merely ends early
// (io.ErrUnexpectedEOF) is not marked, since a dropped connection looks the same.
var ErrCorruptInput = errors.New("corrupt input")

// ErrTruncatedInput is wrapped by the error for a gzip stream that ends before its end marker.
// ReadCSV cannot tell a truncated file from a dropped connection: a caller whose input is
// complete (a ConfigMap, a local file) may treat it as a permanent input error.
var ErrTruncatedInput = errors.New("truncated input")

// MaxAmount is the largest absolute amount accepted in a row. Larger amounts are invalid rows:
// sums of them overflow float64 (two rows of 1e308 make +Inf), and so would the models'
// arithmetic. 1e15 is a thousand trillion in the currency's unit.
const MaxAmount = 1e15

// ErrInvalidOptions is wrapped by the errors for invalid Options (a permanent configuration error).
var ErrInvalidOptions = errors.New("invalid summary options")

// ColumnError is a problem with the header or the column mapping: a permanent input error.
type ColumnError struct {
	Column string // the column concerned; empty for a problem with the header as a whole
	Reason string
	// Header is the file's header when Reason lists it (as HeaderList formats it), so that a
	// caller may show less of a file it does not trust.
	Header []string
}

func (e *ColumnError) Error() string {
	if e.Column == "" {
		return e.Reason
	}
	return fmt.Sprintf("column %q %s", e.Column, e.Reason)
}

// RowError is a malformed data row.
type RowError struct {
	Line   int    // 1-based line in the file (the header is line 1) where the row starts; 0 when unknown
	Column string // the column concerned, empty for the row as a whole
	Value  string // the offending value (truncated when long)
	Reason string
}

func (e *RowError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, "column %q: ", e.Column)
	}
	if e.Value != "" {
		fmt.Fprintf(&b, "%q ", e.Value)
	}
	b.WriteString(e.Reason)
	return b.String()
}

// InvalidRowsError is returned when more than Options.MaxInvalidRows rows are invalid. It wraps
// the first invalid row's *RowError.
type InvalidRowsError struct {
	// Count is the number of invalid rows seen when the summary stopped (MaxInvalidRows+1 when it
	// stopped early, as ReadCSV does).
	Count int
	Max   int
	First *RowError
}

func (e *InvalidRowsError) Error() string {
	if e.Max == 0 {
		return fmt.Sprintf("invalid row (maxInvalidRows is 0): %v", e.First)
	}
	return fmt.Sprintf("%d invalid rows, more than maxInvalidRows (%d); the first: %v", e.Count, e.Max, e.First)
}

func (e *InvalidRowsError) Unwrap() error { return e.First }

// truncValue shortens a value quoted in an error message.
func truncValue(b []byte) string {
	const max = 64
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
