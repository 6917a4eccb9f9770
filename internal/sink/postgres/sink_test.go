package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/report"
	"github.com/ltv-operator/ltv-operator/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func customers(n int, prefix string, value float64) []report.CustomerRow {
	out := make([]report.CustomerRow, n)
	for i := range out {
		out[i] = report.CustomerRow{
			ID: fmt.Sprintf("%s%05d", prefix, i), Attributes: map[string]string{"channel": "email", "country": "PL"},
			Frequency: i % 7, Recency: float64(i%7) * 1.5, Age: 38.857142857142854, Monetary: 12.34,
			HistoricValue: 100 + float64(i), ExpectedPurchases: 1.25, ProbabilityAlive: 0.875, PredictedValue: value + float64(i),
			Segments: []string{"vip", "at-risk"},
		}
	}
	return out
}

func rowsOf(rs []report.CustomerRow) Rows {
	return func(fn func(report.CustomerRow) error) error {
		for _, r := range rs {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func count(t *testing.T, conn *pgx.Conn, table, computation string) (n int, total float64) {
	t.Helper()
	err := conn.QueryRow(context.Background(), "SELECT count(*), coalesce(sum(predicted_value), 0) FROM "+table+" WHERE computation = $1", computation).Scan(&n, &total)
	if err != nil {
		t.Fatal(err)
	}
	return n, total
}

var computedAt = time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)

func TestWriteReplacesTheComputationsRows(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	conn := connect(t, dsn)
	if _, err := conn.Exec(context.Background(), "CREATE SCHEMA analytics"); err != nil {
		t.Fatal(err)
	}
	sink := &Sink{DSN: dsn, Table: "analytics.customer_ltv"}
	ctx := context.Background()
	if n, err := sink.Write(ctx, "shop/a", computedAt, rowsOf(customers(3, "a", 10))); err != nil || n != 3 {
		t.Fatalf("first write: %d, %v", n, err)
	}
	if n, err := sink.Write(ctx, "shop/b", computedAt, rowsOf(customers(2, "b", 10))); err != nil || n != 2 {
		t.Fatalf("other computation: %d, %v", n, err)
	}
	later := computedAt.Add(24 * time.Hour)
	if n, err := sink.Write(ctx, "shop/a", later, rowsOf(customers(5, "a", 1000))); err != nil || n != 5 {
		t.Fatalf("second write: %d, %v", n, err)
	}
	if n, total := count(t, conn, "analytics.customer_ltv", "shop/a"); n != 5 || total != 5000+10 {
		t.Errorf("shop/a: %d rows, total %v", n, total)
	}
	if n, _ := count(t, conn, "analytics.customer_ltv", "shop/b"); n != 2 {
		t.Errorf("shop/b: %d rows", n)
	}
	// every column, as written
	var (
		id, channel                           string
		freq                                  int
		rec, age, mon, hist, exp, alive, pred float64
		segs                                  []string
		at                                    time.Time
	)
	err := conn.QueryRow(ctx, `SELECT customer_id, attributes->>'channel', frequency, recency, age, monetary, historic_value,
		expected_purchases, probability_alive, predicted_value, segments, computed_at
		FROM analytics.customer_ltv WHERE computation = 'shop/a' AND customer_id = 'a00003'`).
		Scan(&id, &channel, &freq, &rec, &age, &mon, &hist, &exp, &alive, &pred, &segs, &at)
	if err != nil {
		t.Fatal(err)
	}
	if channel != "email" || freq != 3 || rec != 4.5 || age != 38.857142857142854 || mon != 12.34 || hist != 103 ||
		exp != 1.25 || alive != 0.875 || pred != 1003 || fmt.Sprint(segs) != "[vip at-risk]" || !at.Equal(later) {
		t.Errorf("row: %s %s %d %v %v %v %v %v %v %v %v %v", id, channel, freq, rec, age, mon, hist, exp, alive, pred, segs, at)
	}
	// no attributes, no segments
	if _, err := sink.Write(ctx, "shop/c", computedAt, rowsOf([]report.CustomerRow{{ID: "x"}})); err != nil {
		t.Fatal(err)
	}
	var attrs string
	if err := conn.QueryRow(ctx, "SELECT attributes::text || cardinality(segments) FROM analytics.customer_ltv WHERE computation = 'shop/c'").Scan(&attrs); err != nil || attrs != "{}0" {
		t.Errorf("empty attributes and segments: %q %v", attrs, err)
	}
}

// TestFailedRunKeepsThePreviousRows: a run that fails in the middle of the COPY, in the
// operator or in the database, leaves the previous run's rows; while a run is copying, readers
// see the previous rows only.
func TestFailedRunKeepsThePreviousRows(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	reader := connect(t, dsn)
	sink := &Sink{DSN: dsn, Table: "customer_ltv"}
	ctx := context.Background()
	if _, err := sink.Write(ctx, "shop/a", computedAt, rowsOf(customers(1000, "a", 10))); err != nil {
		t.Fatal(err)
	}
	_, before := count(t, reader, "customer_ltv", "shop/a")

	// the operator fails after 5000 rows (the first COPY buffers were sent already)
	boom := errors.New("boom")
	seen := 0
	next := customers(20000, "n", 99)
	_, err := sink.Write(ctx, "shop/a", computedAt, func(fn func(report.CustomerRow) error) error {
		for i, r := range next {
			if i == 5000 {
				// half-way: readers see the previous run
				if n, total := count(t, reader, "customer_ltv", "shop/a"); n != 1000 || total != before {
					t.Errorf("during the copy a reader sees %d rows, total %v", n, total)
				}
				return boom
			}
			seen++
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	})
	if !errors.Is(err, boom) || seen != 5000 {
		t.Fatalf("failing rows: %v after %d rows", err, seen)
	}
	if n, total := count(t, reader, "customer_ltv", "shop/a"); n != 1000 || total != before {
		t.Errorf("after a failed run: %d rows, total %v", n, total)
	}

	// the database fails mid-copy: a duplicate customer violates the primary key
	dup := customers(5000, "d", 1)
	dup = append(dup, dup[10])
	if _, err := sink.Write(ctx, "shop/a", computedAt, rowsOf(dup)); err == nil || !strings.Contains(err.Error(), "23505") {
		t.Fatalf("duplicate rows: %v", err)
	}
	if n, total := count(t, reader, "customer_ltv", "shop/a"); n != 1000 || total != before {
		t.Errorf("after a failed COPY: %d rows, total %v", n, total)
	}

	// the connection dies mid-copy: the transaction never commits
	killed := false
	_, err = sink.Write(ctx, "shop/a", computedAt, func(fn func(report.CustomerRow) error) error {
		for i, r := range next {
			if i == 3000 && !killed {
				killed = true
				if _, err := reader.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ltv-operator' AND pid <> pg_backend_pid()"); err != nil {
					t.Error(err)
				}
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		t.Fatal("a write whose connection was terminated succeeded")
	}
	if n, total := count(t, reader, "customer_ltv", "shop/a"); n != 1000 || total != before {
		t.Errorf("after a terminated connection: %d rows, total %v", n, total)
	}
}

func TestHostileTableName(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	conn := connect(t, dsn)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE TABLE victims (x int)"); err != nil {
		t.Fatal(err)
	}
	name := `"scores; DROP TABLE victims; --"`
	if _, err := (&Sink{DSN: dsn, Table: name}).Write(ctx, "shop/a", computedAt, rowsOf(customers(3, "a", 1))); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM "scores; DROP TABLE victims; --") + (SELECT count(*) FROM victims)`).Scan(&n); err != nil || n != 3 {
		t.Errorf("%d, %v", n, err)
	}
	if _, err := (&Sink{DSN: dsn, Table: `a.b.c.d`}).Write(ctx, "shop/a", computedAt, rowsOf(nil)); err == nil {
		t.Error("a four-part name was accepted")
	}
}

func TestErrorsHideThePassword(t *testing.T) {
	srv := pgtest.Shared(t)
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()
	wrong := strings.Replace(dsn, srv.Password, "s3cr3t-W-pa55", 1)
	_, err := (&Sink{DSN: wrong, Table: "t"}).Write(ctx, "shop/a", computedAt, rowsOf(customers(1, "a", 1)))
	pe := pipeline.Classify(err)
	if err == nil || pe.Reason != pipeline.ReasonAccessDenied || strings.Contains(err.Error(), "s3cr3t-W-pa55") || strings.Contains(err.Error(), wrong) {
		t.Errorf("wrong password: %v (%s)", err, pe.Reason)
	}
	// a missing schema
	_, err = (&Sink{DSN: dsn, Table: "nosuch.t"}).Write(ctx, "shop/a", computedAt, rowsOf(customers(1, "a", 1)))
	if err == nil || !strings.Contains(err.Error(), "3F000") || strings.Contains(err.Error(), srv.Password) {
		t.Errorf("missing schema: %v", err)
	}
	t.Log(err)
}

// A table created by a version without historic_revenue and total_value gets them on the next
// write, with the rows' values.
func TestWriteAddsNewColumnsToAnOldTable(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	conn := connect(t, dsn)
	ctx := context.Background()
	old := oldScoresTable("")
	if _, err := conn.Exec(ctx, old); err != nil {
		t.Fatal(err)
	}
	rows := customers(3, "c", 10)
	for i := range rows {
		rows[i].HistoricRevenue = 4 * rows[i].HistoricValue
		rows[i].TotalValue = rows[i].HistoricValue + rows[i].PredictedValue
	}
	s := &Sink{DSN: dsn, Table: "scores"}
	if n, err := s.Write(ctx, "ns/shop", computedAt, rowsOf(rows)); err != nil || n != 3 {
		t.Fatalf("wrote %d rows: %v", n, err)
	}
	var revenue, total float64
	if err := conn.QueryRow(ctx, "SELECT sum(historic_revenue), sum(total_value) FROM scores").Scan(&revenue, &total); err != nil {
		t.Fatal(err)
	}
	// historic values 100, 101, 102; predicted 10, 11, 12.
	if revenue != 4*303 || total != 303+33 {
		t.Errorf("historic_revenue sum %v, total_value sum %v; want 1212 and 336", revenue, total)
	}
}

// The churn outlook lands in its columns, NULL where the model has none (Historical, a customer
// without a next purchase date), on a new table and on one an earlier version created.
func TestWriteChurnOutlook(t *testing.T) {
	for _, oldTable := range []bool{false, true} {
		dsn := pgtest.NewDatabase(t)
		conn := connect(t, dsn)
		ctx := context.Background()
		if oldTable {
			if _, err := conn.Exec(ctx, oldScoresTable("")); err != nil {
				t.Fatal(err)
			}
		}
		rows := customers(3, "c", 10)
		alive, none := 0.8, 0.35
		rows[0].ProbabilityAliveAfterWindow, rows[0].ProbabilityNoPurchase, rows[0].NextPurchaseDate = &alive, &none, "2026-12-24"
		rows[1].ProbabilityAliveAfterWindow, rows[1].ProbabilityNoPurchase = &alive, &none // no date: P(alive) too low
		s := &Sink{DSN: dsn, Table: "scores"}
		if n, err := s.Write(ctx, "ns/shop", computedAt, rowsOf(rows)); err != nil || n != 3 {
			t.Fatalf("old table %v: wrote %d rows: %v", oldTable, n, err)
		}
		var withAlive, withDate int
		var sumAlive, sumNone float64
		var date string
		if err := conn.QueryRow(ctx, `SELECT count(probability_alive_after_window), count(next_purchase_date),
  coalesce(sum(probability_alive_after_window), 0), coalesce(sum(probability_no_purchase), 0),
  coalesce(max(next_purchase_date)::text, '') FROM scores`).Scan(&withAlive, &withDate, &sumAlive, &sumNone, &date); err != nil {
			t.Fatal(err)
		}
		if withAlive != 2 || withDate != 1 || sumAlive != 1.6 || sumNone != 0.7 || date != "2026-12-24" {
			t.Errorf("old table %v: %d rows with P(alive after), %d with a date, sums %v %v, date %q; want 2, 1, 1.6, 0.7, 2026-12-24",
				oldTable, withAlive, withDate, sumAlive, sumNone, date)
		}
	}
}

// The customers' bounds of predicted value land in predicted_value_lower and
// predicted_value_upper, NULL where the model has no interval, on a new table and on one an
// earlier version created (without them).
func TestWritePredictedValueBounds(t *testing.T) {
	for _, oldTable := range []bool{false, true} {
		dsn := pgtest.NewDatabase(t)
		conn := connect(t, dsn)
		ctx := context.Background()
		if oldTable {
			if _, err := conn.Exec(ctx, oldScoresTable(`historic_revenue double precision NOT NULL DEFAULT 0, total_value double precision NOT NULL DEFAULT 0,
  probability_alive_after_window double precision, probability_no_purchase double precision, next_purchase_date date,`)); err != nil {
				t.Fatal(err)
			}
		}
		rows := customers(3, "c", 10)
		lo0, hi0, lo1, hi1 := 7.25, 13.5, 8.0, 14.75
		rows[0].PredictedValueLower, rows[0].PredictedValueUpper = &lo0, &hi0
		rows[1].PredictedValueLower, rows[1].PredictedValueUpper = &lo1, &hi1
		s := &Sink{DSN: dsn, Table: "scores"}
		if n, err := s.Write(ctx, "ns/shop", computedAt, rowsOf(rows)); err != nil || n != 3 {
			t.Fatalf("old table %v: wrote %d rows: %v", oldTable, n, err)
		}
		var withLower, withUpper int
		var sumLower, sumUpper float64
		var nullFor string
		if err := conn.QueryRow(ctx, `SELECT count(predicted_value_lower), count(predicted_value_upper),
  sum(predicted_value_lower), sum(predicted_value_upper),
  (SELECT customer_id FROM scores WHERE predicted_value_lower IS NULL) FROM scores`).Scan(&withLower, &withUpper, &sumLower, &sumUpper, &nullFor); err != nil {
			t.Fatal(err)
		}
		if withLower != 2 || withUpper != 2 || sumLower != lo0+lo1 || sumUpper != hi0+hi1 || nullFor != rows[2].ID {
			t.Errorf("old table %v: %d/%d rows with bounds, sums %v %v, NULL for %q; want 2/2, %v %v, %q",
				oldTable, withLower, withUpper, sumLower, sumUpper, nullFor, lo0+lo1, hi0+hi1, rows[2].ID)
		}
	}
}

// oldScoresTable is the scores table as the first version created it, with the columns later
// versions added so far (extra, each followed by a comma).
func oldScoresTable(extra string) string {
	return `CREATE TABLE scores (computation text NOT NULL, customer_id text NOT NULL, attributes jsonb NOT NULL DEFAULT '{}',
  frequency integer NOT NULL, recency double precision NOT NULL, age double precision NOT NULL, monetary double precision NOT NULL,
  historic_value double precision NOT NULL, expected_purchases double precision NOT NULL, probability_alive double precision NOT NULL,
  predicted_value double precision NOT NULL, segments text[] NOT NULL DEFAULT '{}', computed_at timestamptz NOT NULL,
  ` + extra + `
  PRIMARY KEY (computation, customer_id))`
}
