package pipeline_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/report"
	httpsource "github.com/ltv-operator/ltv-operator/internal/source/http"
	pgsource "github.com/ltv-operator/ltv-operator/internal/source/postgres"
	"github.com/ltv-operator/ltv-operator/internal/summary"
	"github.com/ltv-operator/ltv-operator/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

type order struct {
	CustomerID string  `parquet:"customer_id"`
	Date       string  `parquet:"date"`
	Amount     float64 `parquet:"amount"`
	Channel    string  `parquet:"channel"`
}

// The CDNOW sample with a channel per customer, as CSV and as rows.
func cdnowOrders(t *testing.T) (string, []order) {
	t.Helper()
	raw, err := os.ReadFile("../../testdata/cdnow_sample_transactions.csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	channels := []string{"email", "paid_search", "organic"}
	var b strings.Builder
	b.WriteString("customer_id,date,amount,channel\n")
	var rows []order
	for _, r := range recs[1:] {
		id, _ := strconv.Atoi(r[0])
		amount, _ := strconv.ParseFloat(r[2], 64)
		o := order{CustomerID: r[0], Date: r[1], Amount: amount, Channel: channels[id%3]}
		rows = append(rows, o)
		b.WriteString(o.CustomerID + "," + o.Date + "," + r[2] + "," + o.Channel + "\n")
	}
	return b.String(), rows
}

// One computation, the same transactions from a ConfigMap-style CSV, HTTP (CSV, CSV.gz, Parquet)
// and PostgreSQL: every source gives the same result to the cent.
func TestSameResultFromEverySource(t *testing.T) {
	data, rows := cdnowOrders(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(data))
	_ = zw.Close()
	var pq bytes.Buffer
	pw := parquet.NewGenericWriter[order](&pq)
	if _, err := pw.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"/orders.csv": []byte(data), "/orders.csv.gz": gz.Bytes(), "/orders.parquet": pq.Bytes()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	defer srv.Close()

	dsn := pgtest.NewDatabase(t)
	pgtest.LoadCSV(t, dsn, "orders", "customer_id text, date date, amount numeric(12,2), channel text", []byte(data))
	ctx := context.Background()

	cfg := pipeline.Config{
		ObservationEnd: time.Date(1998, 6, 30, 0, 0, 0, 0, time.UTC), HoldoutPeriods: 39, Unit: summary.Week,
		Returns: summary.ReturnsNet, Columns: summary.Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount", Attributes: []string{"channel"}},
		Model: pipeline.ModelBGNBD, Spend: pipeline.SpendGammaGamma, HorizonMonths: 12, Currency: "USD", GrossMargin: 0.3,
		AnnualDiscountRate: 0.1, BreakdownBy: []string{"channel"}, TopCustomers: 20, IntervalDraws: -1,
		Segments: []pipeline.SegmentSpec{{Name: "email", Filter: `customer.attributes["channel"] == "email"`}},
		Now:      func() time.Time { return time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC) },
	}
	httpSrc := func(path string, format httpsource.Format) pipeline.Source {
		s, err := httpsource.New(httpsource.Config{URL: srv.URL + path, Format: format})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	sources := []struct {
		name string
		src  pipeline.Source
	}{
		{"http csv.gz", httpSrc("/orders.csv.gz", httpsource.FormatCSV)},
		{"http csv", httpSrc("/orders.csv", httpsource.FormatCSV)},
		{"http parquet", httpSrc("/orders.parquet", httpsource.FormatParquet)},
		{"postgres", &pgsource.Source{DSN: dsn, Table: "orders", Timeout: time.Minute}},
	}
	base, _, err := pipeline.Run(ctx, cfg, pipeline.CSVSource{Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(data)), nil }})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sources {
		got, _, err := pipeline.Run(ctx, cfg, s.src)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		compareResults(t, s.name, base, got)
	}
}

func compareResults(t *testing.T, name string, want, got *report.Result) {
	t.Helper()
	cents := func(v float64) int64 { return int64(math.Round(v * 100)) }
	if got.Customers != want.Customers || got.RepeatCustomers != want.RepeatCustomers || got.Transactions != want.Transactions {
		t.Errorf("%s: customers %d/%d transactions %d, want %d/%d %d", name, got.Customers, got.RepeatCustomers, got.Transactions, want.Customers, want.RepeatCustomers, want.Transactions)
	}
	for _, f := range []struct {
		field     string
		got, want float64
	}{
		{"revenue", got.Revenue, want.Revenue}, {"averageLTV", got.AverageLTV, want.AverageLTV},
		{"totalLTV", got.TotalLTV, want.TotalLTV}, {"medianLTV", got.MedianLTV, want.MedianLTV},
		{"segment email totalLTV", got.Segments[0].TotalLTV, want.Segments[0].TotalLTV},
	} {
		if cents(f.got) != cents(f.want) {
			t.Errorf("%s: %s = %.4f, want %.4f", name, f.field, f.got, f.want)
		}
	}
	for k, v := range want.Model.Parameters {
		if math.Abs(got.Model.Parameters[k]-v) > 1e-6*math.Max(1, math.Abs(v)) {
			t.Errorf("%s: parameter %s = %v, want %v", name, k, got.Model.Parameters[k], v)
		}
	}
	if got.Validation == nil || got.Validation.ActualTransactions != want.Validation.ActualTransactions {
		t.Errorf("%s: validation %+v, want %+v", name, got.Validation, want.Validation)
	}
	for i := range want.Breakdowns[0].Values {
		g, w := got.Breakdowns[0].Values[i], want.Breakdowns[0].Values[i]
		if g.Value != w.Value || g.Customers != w.Customers || cents(g.TotalLTV) != cents(w.TotalLTV) {
			t.Errorf("%s: breakdown %+v, want %+v", name, g, w)
		}
	}
}
