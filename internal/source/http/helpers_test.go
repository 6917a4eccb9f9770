package httpsource

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// txn is one row of the CDNOW sample, with a channel that varies by row (so that a customer's
// attributes are those of the first transaction, not of any).
type txn struct {
	id      int64
	date    string
	amount  string
	channel string
}

var channels = []string{"email", "organic", "paid_search"}

func cdnow(t testing.TB) []txn {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "testdata", "cdnow_sample_transactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]txn, 0, len(recs)-1)
	for i, r := range recs[1:] {
		id, err := strconv.ParseInt(r[0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, txn{id: id, date: r[1], amount: r[2], channel: channels[i%len(channels)]})
	}
	return out
}

func csvOf(txns []txn) []byte {
	var b bytes.Buffer
	b.WriteString("customer_id,date,amount,channel\n")
	for _, x := range txns {
		b.WriteString(strconv.FormatInt(x.id, 10) + "," + x.date + "," + x.amount + "," + x.channel + "\n")
	}
	return b.Bytes()
}

func gzipOf(data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

var testCols = summary.Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount", Attributes: []string{"channel"}}

// testOpts has a holdout window, so the holdout fields are compared too.
var testOpts = summary.Options{
	CalibrationEnd: time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC),
	ObservationEnd: time.Date(1998, 3, 31, 0, 0, 0, 0, time.UTC),
	Unit:           summary.Week,
}

func reference(t testing.TB, data []byte) *summary.Summary {
	t.Helper()
	s, err := summary.ReadCSV(bytes.NewReader(data), testCols, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func money(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// sameSummary compares every customer field (money to 1e-9) and the totals.
func sameSummary(t *testing.T, got, want *summary.Summary) {
	t.Helper()
	if len(got.Customers()) != len(want.Customers()) {
		t.Fatalf("%d customers, want %d", len(got.Customers()), len(want.Customers()))
	}
	bad := 0
	for i := range want.Customers() {
		g, w := got.Customer(i), want.Customer(i)
		ok := g.ID == w.ID && strings.Join(g.Attributes, "\x00") == strings.Join(w.Attributes, "\x00") && len(g.Attributes) == len(w.Attributes) &&
			g.FirstPurchase.Equal(w.FirstPurchase) && g.LastPurchase.Equal(w.LastPurchase) &&
			g.Frequency == w.Frequency && g.Recency == w.Recency && g.Age == w.Age &&
			money(g.Monetary, w.Monetary) && money(g.HistoricValue, w.HistoricValue) && g.Orders == w.Orders &&
			g.HoldoutTransactions == w.HoldoutTransactions && money(g.HoldoutValue, w.HoldoutValue)
		if !ok {
			if bad++; bad <= 5 {
				t.Errorf("customer %d:\n got %+v\nwant %+v", i, g, w)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d customers differ", bad, len(want.Customers()))
	}
	if got.Transactions != want.Transactions || got.Rows != want.Rows || !money(got.Revenue, want.Revenue) ||
		got.FutureRows != want.FutureRows || got.ExcludedReturns != want.ExcludedReturns || got.InvalidRows != want.InvalidRows ||
		got.HoldoutOnlyCustomers != want.HoldoutOnlyCustomers || strings.Join(got.AttributeNames, ",") != strings.Join(want.AttributeNames, ",") {
		t.Fatalf("totals differ:\n got %+v\nwant %+v", totals(got), totals(want))
	}
}

func totals(s *summary.Summary) string {
	return fmt.Sprintf("transactions %d rows %d revenue %v future %d excluded %d invalid %d holdout-only %d attributes %v",
		s.Transactions, s.Rows, s.Revenue, s.FutureRows, s.ExcludedReturns, s.InvalidRows, s.HoldoutOnlyCustomers, s.AttributeNames)
}

// pcol is one column of a test Parquet file: its schema node and the value of each row
// (parquet.NullValue() for null).
type pcol struct {
	name  string
	node  parquet.Node
	value func(x txn) parquet.Value
}

// writeParquet writes rows with the columns; options set page and row group sizes.
func writeParquet(t testing.TB, cols []pcol, txns []txn, options ...parquet.WriterOption) []byte {
	t.Helper()
	group := parquet.Group{}
	for _, c := range cols {
		group[c.name] = c.node
	}
	schema := parquet.NewSchema("transactions", group)
	// Leaf column order is the group's sorted field order.
	index := map[string]int{}
	for i, path := range schema.Columns() {
		index[strings.Join(path, ".")] = i
	}
	var b bytes.Buffer
	w := parquet.NewWriter(&b, append([]parquet.WriterOption{schema}, options...)...)
	rows := make([]parquet.Row, 0, len(txns))
	for _, x := range txns {
		row := make(parquet.Row, len(cols))
		for _, c := range cols {
			i := index[c.name]
			v := c.value(x)
			def := 0
			if c.node.Optional() && !v.IsNull() {
				def = 1
			}
			row[i] = v.Level(0, def, i)
		}
		rows = append(rows, row)
	}
	if _, err := w.WriteRows(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func cents(amount string) int64 {
	whole, frac, _ := strings.Cut(amount, ".")
	frac = (frac + "00")[:2]
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		panic(err)
	}
	return v
}

func days(date string) int32 {
	d, err := time.Parse(time.DateOnly, date)
	if err != nil {
		panic(err)
	}
	return int32(d.Unix() / 86400)
}

// pipelineError asserts err is a *pipeline.Error with the reason and permanence.
func pipelineError(t *testing.T, err error, reason string, permanent bool) *pipeline.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", reason)
	}
	pe := pipeline.Classify(err)
	if pe.Reason != reason || pe.Permanent != permanent {
		t.Fatalf("error %q: reason %s permanent %v, want %s %v", err, pe.Reason, pe.Permanent, reason, permanent)
	}
	return pe
}

func mustContain(t *testing.T, err error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

func mustNotContain(t *testing.T, err error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if strings.Contains(err.Error(), p) {
			t.Errorf("error %q contains %q", err, p)
		}
	}
}

func summarize(t *testing.T, cfg Config) (*summary.Summary, error) {
	t.Helper()
	src, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return src.Summarize(context.Background(), testCols, testOpts)
}

func asColumnError(err error) *summary.ColumnError {
	var ce *summary.ColumnError
	if errors.As(err, &ce) {
		return ce
	}
	return nil
}
