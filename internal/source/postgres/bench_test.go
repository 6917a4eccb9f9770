package postgres

import (
	"context"
	"encoding/binary"
	"io"
	"math"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ltv-operator/ltv-operator/internal/summary"
	"github.com/ltv-operator/ltv-operator/internal/testutil/pgtest"
)

// The benchmarks compare computing the summary of 10 million transactions (1 million
// customers, 540 days, four channels) inside PostgreSQL with streaming every row to the
// operator:
//
//	go test -run '^$' -bench Summary10M -benchtime 3x ./internal/source/postgres/
//
// wire-MB/op is what the operator read from the database connection. BENCH_ROWS changes the
// number of transactions (customers are a tenth of it).

var (
	benchOnce sync.Once
	benchDSN  string
	benchErr  error
)

// benchTable generates the transactions once per test binary, with generate_series.
func benchTable(b *testing.B) string {
	b.Helper()
	srv := pgtest.Shared(b)
	benchOnce.Do(func() {
		rows := 10_000_000
		if s := os.Getenv("BENCH_ROWS"); s != "" {
			rows, _ = strconv.Atoi(s)
		}
		ctx := context.Background()
		benchDSN, benchErr = srv.CreateDatabase(ctx, "bench")
		if benchErr != nil {
			return
		}
		start := time.Now()
		benchErr = srv.Exec(ctx, "bench",
			"SET max_parallel_workers_per_gather = 2",
			// customer g % customers, a random day of 2024-01-01 .. 2025-06-23 at a random second,
			// an amount of -10.00 .. 190.00 (5% refunds), a channel
			`CREATE UNLOGGED TABLE orders AS
			 SELECT 'cust-' || (g % `+strconv.Itoa(rows/10)+`) AS customer_id,
			        timestamptz '2024-01-01 00:00:00+00' + make_interval(days => (random() * 539)::int, secs => (random() * 86399)::int) AS ordered_at,
			        round((random() * 200 - 10)::numeric, 2)::numeric(12,2) AS amount,
			        (ARRAY['email', 'paid_search', 'organic', 'social'])[1 + floor(random() * 4)::int] AS channel
			 FROM generate_series(1, `+strconv.Itoa(rows)+`) AS g`,
			"VACUUM ANALYZE orders")
		b.Logf("generated %d transactions in %s", rows, time.Since(start).Round(time.Millisecond))
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchDSN
}

var benchCols = summary.Columns{CustomerID: "customer_id", Timestamp: "ordered_at", Amount: "amount", Attributes: []string{"channel"}}

func benchOpts() summary.Options {
	return summary.Options{CalibrationEnd: date("2025-03-31"), ObservationEnd: date("2025-06-30"), Unit: summary.Week}
}

// countingConn counts the bytes read from the database.
type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func counting(n *atomic.Int64) func(*pgx.ConnConfig) {
	return func(cfg *pgx.ConnConfig) {
		cfg.AfterNetConnect = func(_ context.Context, _ *pgconn.Config, conn net.Conn) (net.Conn, error) {
			return countingConn{conn, n}, nil
		}
	}
}

func report(b *testing.B, n *atomic.Int64, customers int) {
	b.ReportMetric(float64(n.Load())/float64(b.N)/1e6, "wire-MB/op")
	b.ReportMetric(float64(customers), "customers")
}

// BenchmarkSummary10MPushdown: the summary computed by the database, one row per customer read.
func BenchmarkSummary10MPushdown(b *testing.B) {
	dsn := benchTable(b)
	var n atomic.Int64
	src := &Source{DSN: dsn, Table: "orders", Configure: counting(&n)}
	var customers int
	b.ResetTimer()
	for range b.N {
		s, err := src.Summarize(context.Background(), benchCols, benchOpts())
		if err != nil {
			b.Fatal(err)
		}
		customers = len(s.Customers())
	}
	report(b, &n, customers)
}

// BenchmarkSummary10MStreamRows: every row SELECTed (binary format) and fed to summary.Builder
// in the operator, decoding the raw values without allocating per row.
func BenchmarkSummary10MStreamRows(b *testing.B) {
	dsn := benchTable(b)
	var n atomic.Int64
	var customers int
	b.ResetTimer()
	for range b.N {
		s, err := streamRows(context.Background(), dsn, counting(&n))
		if err != nil {
			b.Fatal(err)
		}
		customers = len(s.Customers())
	}
	report(b, &n, customers)
}

// BenchmarkSummary10MStreamCSV: every row sent as CSV with COPY TO STDOUT and read by
// summary.ReadCSV, the fastest way to stream the rows.
func BenchmarkSummary10MStreamCSV(b *testing.B) {
	dsn := benchTable(b)
	var n atomic.Int64
	var customers int
	b.ResetTimer()
	for range b.N {
		s, err := streamCSV(context.Background(), dsn, counting(&n))
		if err != nil {
			b.Fatal(err)
		}
		customers = len(s.Customers())
	}
	report(b, &n, customers)
}

// pgEpoch is 2000-01-01, the origin of binary timestamps.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

func streamRows(ctx context.Context, dsn string, configure func(*pgx.ConnConfig)) (*summary.Summary, error) {
	conn, err := Connect(ctx, dsn, 0, configure)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT customer_id, ordered_at, amount::float8, channel FROM orders")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	bld := summary.NewBuilder(benchOpts(), benchCols.Attributes)
	attrs := make([]string, 1)
	for rows.Next() {
		v := rows.RawValues() // binary: text, int64 microseconds since 2000, float8, text
		id := unsafe.String(unsafe.SliceData(v[0]), len(v[0]))
		ts := time.UnixMicro(int64(binary.BigEndian.Uint64(v[1])) + pgEpoch)
		amount := math.Float64frombits(binary.BigEndian.Uint64(v[2]))
		attrs[0] = unsafe.String(unsafe.SliceData(v[3]), len(v[3]))
		if err := bld.Add(id, ts, amount, attrs); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return bld.Finish()
}

func streamCSV(ctx context.Context, dsn string, configure func(*pgx.ConnConfig)) (*summary.Summary, error) {
	conn, err := Connect(ctx, dsn, 0, configure)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := conn.PgConn().CopyTo(ctx, pw, "COPY (SELECT customer_id, ordered_at AT TIME ZONE 'UTC', amount, channel FROM orders) TO STDOUT WITH (FORMAT csv, HEADER true)")
		pw.CloseWithError(err)
		done <- err
	}()
	cols := summary.Columns{CustomerID: "customer_id", Timestamp: "timezone", Amount: "amount", Attributes: []string{"channel"}}
	s, err := summary.ReadCSV(pr, cols, benchOpts())
	pr.CloseWithError(io.ErrClosedPipe)
	if cerr := <-done; err == nil && cerr != nil {
		err = cerr
	}
	return s, err
}

// TestStreamingMatchesPushdown checks the benchmark's three ways on a small table.
func TestStreamingMatchesPushdown(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	exec(t, dsn, `CREATE TABLE orders AS
		SELECT 'cust-' || (g % 500) AS customer_id,
		       timestamptz '2024-01-01 00:00:00+00' + make_interval(days => (g * 37 % 539), secs => (g * 7919 % 86399)) AS ordered_at,
		       round(((g * 7907 % 20000) / 100.0 - 10)::numeric, 2)::numeric(12,2) AS amount,
		       (ARRAY['email', 'paid_search', 'organic', 'social'])[1 + (g * 7919 % 4)] AS channel
		FROM generate_series(1, 5000) AS g`)
	ctx := context.Background()
	push, err := (&Source{DSN: dsn, Table: "orders"}).Summarize(ctx, benchCols, benchOpts())
	if err != nil {
		t.Fatal(err)
	}
	rows, err := streamRows(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	csv, err := streamCSV(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameSummary(t, rows, push)
	sameSummary(t, csv, push)
}
