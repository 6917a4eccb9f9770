package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/summary"
	"github.com/ltv-operator/ltv-operator/internal/testutil/pgtest"
)

// TestStreamSameAsAggregate: Stream mode (the rows summarised by the operator) gives the
// summary of Aggregate mode (computed by the database) and of the CSV path, for typed and
// text columns, every returns policy and unit.
func TestStreamSameAsAggregate(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	shop := loadShop(t, dsn)
	// money: converted with the session's lc_monetary, in both modes
	exec(t, dsn, `CREATE TABLE orders_money AS SELECT customer_id, ordered_at, amount::money AS amount, channel, country FROM orders`)
	cdnow := cdnowCSV(t)
	load(t, dsn, "cdnow", "customer_id bigint, date date, amount numeric(12,2)", cdnow)
	calEnd := date("2024-06-30")
	random := randomCSV(rand.New(rand.NewPCG(3, 7)), 1500, calEnd)
	load(t, dsn, "random", shardDDL, random)

	for _, tc := range []struct {
		table string
		data  []byte
		cols  summary.Columns
		opts  summary.Options
	}{
		{"orders", shop, shopCols, summary.Options{CalibrationEnd: date("2026-10-31"), ObservationEnd: date("2026-11-30"), Unit: summary.Day}},
		{"orders_text", shop, shopCols, summary.Options{CalibrationEnd: date("2026-10-31"), Unit: summary.Week, Returns: summary.ReturnsExclude}},
		{"orders_naive", shop, shopCols, summary.Options{CalibrationEnd: date("2026-12-31"), Unit: summary.Month}},
		{"orders_money", shop, shopCols, summary.Options{CalibrationEnd: date("2026-10-31"), ObservationEnd: date("2026-11-30"), Unit: summary.Week}},
		{"cdnow", cdnow, cdnowCols, summary.Options{CalibrationEnd: date("1997-09-30"), ObservationEnd: date("1998-06-30")}},
		{"random", random, shardCols, summary.Options{CalibrationEnd: calEnd, ObservationEnd: calEnd.AddDate(0, 2, 0), Unit: summary.Week}},
		{"random", random, shardCols, summary.Options{CalibrationEnd: calEnd, Unit: summary.Day, Returns: summary.ReturnsReject, MaxInvalidRows: 1 << 20}},
	} {
		t.Run(fmt.Sprintf("%s/%s/%s", tc.table, tc.opts.Unit, tc.opts.Returns), func(t *testing.T) {
			agg := summarize(t, &Source{DSN: dsn, Table: tc.table}, tc.cols, tc.opts)
			stream := summarize(t, &Source{DSN: dsn, Table: tc.table, Mode: ModeStream}, tc.cols, tc.opts)
			sameSummary(t, agg, stream)
			sameSummary(t, readCSV(t, tc.data, tc.cols, tc.opts), stream)
		})
	}
}

// TestStreamInvalidRows: invalid rows are counted and sampled as in the CSV path, naming the
// mapped column and the row (its line in the COPY output, the header being line 1); one more
// than allowed fails the run with InvalidData.
func TestStreamInvalidRows(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	data := []byte("customer_id,date,amount\na,2024-01-01,10\n\"\",2024-01-02,5\na,yesterday,5\na,2024-02-02,abc\nb,2024-03-01,20\n")
	load(t, dsn, "bad_text", "customer_id text, date text, amount text", data)
	exec(t, dsn, "CREATE TABLE bad_typed (who text, day timestamptz, total float8)",
		`INSERT INTO bad_typed VALUES ('a', '2024-01-01', 10), (NULL, '2024-01-02', 1), ('a', 'infinity', 1), ('a', '2024-01-03', 'NaN'), ('b', '2024-01-04', 3)`)
	cols := summary.Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount"}
	opts := summary.Options{CalibrationEnd: date("2024-12-31"), MaxInvalidRows: 3}
	got := summarize(t, &Source{DSN: dsn, Table: "bad_text", Mode: ModeStream}, cols, opts)
	sameSummary(t, readCSV(t, data, cols, opts), got)
	if len(got.InvalidSamples) != 3 {
		t.Fatalf("samples %v", got.InvalidSamples)
	}
	for i, want := range []string{"customer_id", "date", "amount"} {
		if s := got.InvalidSamples[i]; s.Column != want || s.Line != i+3 {
			t.Errorf("sample %d: %+v, want column %s on line %d", i, s, want, i+3)
		}
	}

	typedCols := summary.Columns{CustomerID: "who", Timestamp: "day", Amount: "total"}
	got = summarize(t, &Source{DSN: dsn, Table: "bad_typed", Mode: ModeStream}, typedCols, opts)
	agg := summarize(t, &Source{DSN: dsn, Table: "bad_typed"}, typedCols, opts)
	sameSummary(t, agg, got)
	if got.InvalidRows != 3 || len(got.Customers()) != 2 {
		t.Errorf("typed: %d invalid rows, %d customers", got.InvalidRows, len(got.Customers()))
	}
	for _, s := range got.InvalidSamples {
		if s.Column != "who" && s.Column != "day" && s.Column != "total" {
			t.Errorf("sample names column %q", s.Column)
		}
	}

	opts.MaxInvalidRows = 2
	_, err := (&Source{DSN: dsn, Table: "bad_typed", Mode: ModeStream}).Summarize(context.Background(), typedCols, opts)
	var ire *summary.InvalidRowsError
	var re *summary.RowError
	if !errors.As(err, &ire) || !errors.As(err, &re) || re.Column != "who" {
		t.Fatalf("more invalid rows than allowed: %v", err)
	}
	if pe := pipeline.Classify(err); pe.Reason != pipeline.ReasonInvalidData || !pe.Permanent {
		t.Errorf("classified %+v", pe)
	}

	// an unknown mode is an invalid spec
	_, err = (&Source{DSN: dsn, Table: "bad_typed", Mode: "Sample"}).Summarize(context.Background(), typedCols, opts)
	if pe := pipeline.Classify(err); err == nil || pe.Reason != pipeline.ReasonInvalidSpec || !strings.Contains(err.Error(), "Sample") {
		t.Errorf("unknown mode: %v", err)
	}
}
