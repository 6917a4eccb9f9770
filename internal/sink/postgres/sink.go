// Package postgres writes every customer's scores into a PostgreSQL table, one row per customer
// and computation. A run replaces the computation's previous rows atomically: the old rows are
// deleted and the new ones copied in (COPY, through pgx's CopyFrom) in one transaction, so
// readers see the previous run or the new one, never a mix, and a run that fails half-way
// leaves the previous rows as they were. Rows of other computations in the same table are not
// touched.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/report"
	source "github.com/ltv-operator/ltv-operator/internal/source/postgres"
)

// Columns are the table's columns, in COPY order.
var Columns = []string{
	"computation", "customer_id", "attributes", "frequency", "recency", "age", "monetary",
	"historic_value", "expected_purchases", "probability_alive", "predicted_value", "segments", "computed_at",
	"historic_revenue", "total_value",
	"probability_alive_after_window", "probability_no_purchase", "next_purchase_date",
	"predicted_value_lower", "predicted_value_upper",
}

// createTable is the table's definition; %s is the quoted table name. frequency, recency and
// age are x, t_x and T in the computation's time unit; money is in its currency: historic_revenue
// the net revenue to date, historic_value that times the gross margin, predicted_value the
// model's value, total_value historic + value still to come. The churn outlook over
// model.churnWindowDays (probability_alive_after_window, probability_no_purchase,
// next_purchase_date, the median date of the next purchase) is NULL where the model has none, and
// so are predicted_value_lower and predicted_value_upper, the 90% interval of predicted_value from
// the parameters' uncertainty.
const createTable = `CREATE TABLE IF NOT EXISTS %s (
  computation text NOT NULL,
  customer_id text NOT NULL,
  attributes jsonb NOT NULL DEFAULT '{}',
  frequency integer NOT NULL,
  recency double precision NOT NULL,
  age double precision NOT NULL,
  monetary double precision NOT NULL,
  historic_value double precision NOT NULL,
  expected_purchases double precision NOT NULL,
  probability_alive double precision NOT NULL,
  predicted_value double precision NOT NULL,
  segments text[] NOT NULL DEFAULT '{}',
  computed_at timestamptz NOT NULL,
  historic_revenue double precision NOT NULL DEFAULT 0,
  total_value double precision NOT NULL DEFAULT 0,
  probability_alive_after_window double precision,
  probability_no_purchase double precision,
  next_purchase_date date,
  predicted_value_lower double precision,
  predicted_value_upper double precision,
  PRIMARY KEY (computation, customer_id)
)`

// addColumns brings a table created by an earlier version up to date (%s: the quoted name).
const addColumns = `ALTER TABLE %[1]s ADD COLUMN IF NOT EXISTS historic_revenue double precision NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS total_value double precision NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS probability_alive_after_window double precision,
  ADD COLUMN IF NOT EXISTS probability_no_purchase double precision,
  ADD COLUMN IF NOT EXISTS next_purchase_date date,
  ADD COLUMN IF NOT EXISTS predicted_value_lower double precision,
  ADD COLUMN IF NOT EXISTS predicted_value_upper double precision`

// Sink is a table in a PostgreSQL-compatible database.
type Sink struct {
	// DSN is the connection string. It never appears in errors.
	DSN string
	// Table is the table, optionally schema-qualified (see source.ParseTableName); it is
	// created when missing (its schema must exist).
	Table string
	// ConnectTimeout bounds the connection attempt; 0 means the context's deadline only.
	ConnectTimeout time.Duration
	// Configure, when not nil, adjusts the connection configuration.
	Configure func(*pgx.ConnConfig)
}

// Rows yields every customer's scores, stopping at the first error it or its callback returns
// (pipeline.Scores.Rows has this shape).
type Rows func(fn func(report.CustomerRow) error) error

// Write replaces the computation's rows ("namespace/name") with rows, all stamped computedAt,
// and returns how many it wrote. Errors are *pipeline.Error values without the connection
// string or the password.
func (s *Sink) Write(ctx context.Context, computation string, computedAt time.Time, rows Rows) (int64, error) {
	parts, err := source.ParseTableName(s.Table)
	if err != nil {
		return 0, &pipeline.Error{Reason: pipeline.ReasonInvalidSpec, Permanent: true, Err: fmt.Errorf("spec.output.customers.postgres.table: %w", err)}
	}
	table := pgx.Identifier(parts).Sanitize()
	conn, err := source.Connect(ctx, s.DSN, s.ConnectTimeout, s.Configure)
	if err != nil {
		return 0, err
	}
	defer source.CloseConn(conn)
	fail := func(doing string, err error) error {
		return source.CleanError(err, doing+" "+s.Table, s.DSN, conn.Config().Password)
	}

	if err := ensureTable(ctx, conn, table); err != nil {
		return 0, fail("creating table", err)
	}
	var n int64
	err = pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM "+table+" WHERE computation = $1", computation); err != nil {
			return err
		}
		src := newRowSource(computation, computedAt, rows)
		defer src.stop()
		n, err = tx.CopyFrom(ctx, pgx.Identifier(parts), Columns, src)
		if src.err != nil { // the rows failed: the server's answer to the aborted COPY says less
			return src.err
		}
		return err
	})
	if err != nil {
		var rowsErr *rowsError
		if errors.As(err, &rowsErr) {
			return 0, rowsErr.err // not the database's failure
		}
		return 0, fail("writing table", err)
	}
	return n, nil
}

// ensureTable creates the table when missing. Two computations creating it at the same time
// may collide on the catalog's unique index: the loser finds the table on its second try.
func ensureTable(ctx context.Context, conn *pgx.Conn, table string) error {
	var err error
	for range 2 {
		_, err = conn.Exec(ctx, fmt.Sprintf(createTable, table))
		var pgErr *pgconn.PgError
		if err == nil {
			_, err = conn.Exec(ctx, fmt.Sprintf(addColumns, table))
			return err
		}
		if !errors.As(err, &pgErr) || pgErr.Code != "23505" && pgErr.Code != "42P07" {
			return err
		}
	}
	return err
}

// rowsError is an error of the Rows function, as opposed to the database's.
type rowsError struct{ err error }

func (e *rowsError) Error() string { return e.err.Error() }
func (e *rowsError) Unwrap() error { return e.err }

// rowSource turns the push-style Rows into pgx's pull-style CopyFromSource.
type rowSource struct {
	computation string
	computedAt  time.Time
	next        func() (report.CustomerRow, bool)
	stop        func()
	cur         report.CustomerRow
	err         error
}

func newRowSource(computation string, computedAt time.Time, rows Rows) *rowSource {
	s := &rowSource{computation: computation, computedAt: computedAt}
	var seq iter.Seq[report.CustomerRow] = func(yield func(report.CustomerRow) bool) {
		stopped := errors.New("stopped")
		err := rows(func(r report.CustomerRow) error {
			if !yield(r) {
				return stopped
			}
			return nil
		})
		if err != nil && err != stopped {
			s.err = &rowsError{err}
		}
	}
	s.next, s.stop = iter.Pull(seq)
	return s
}

func (s *rowSource) Next() bool {
	r, ok := s.next()
	s.cur = r
	return ok
}

func (s *rowSource) Values() ([]any, error) {
	r := &s.cur
	attrs := r.Attributes
	if attrs == nil {
		attrs = map[string]string{}
	}
	segs := r.Segments
	if segs == nil {
		segs = []string{}
	}
	var nextPurchase *time.Time
	if r.NextPurchaseDate != "" {
		d, err := time.Parse(time.DateOnly, r.NextPurchaseDate)
		if err != nil {
			return nil, fmt.Errorf("customer %q: next purchase date %q: %w", r.ID, r.NextPurchaseDate, err)
		}
		nextPurchase = &d
	}
	return []any{
		s.computation, r.ID, attrs, int32(r.Frequency), r.Recency, r.Age, r.Monetary,
		r.HistoricValue, r.ExpectedPurchases, r.ProbabilityAlive, r.PredictedValue, segs, s.computedAt,
		r.HistoricRevenue, r.TotalValue,
		r.ProbabilityAliveAfterWindow, r.ProbabilityNoPurchase, nextPurchase,
		r.PredictedValueLower, r.PredictedValueUpper,
	}, nil
}

func (s *rowSource) Err() error { return s.err }

// Delete removes the computation's rows ("namespace/name") from the table and returns how
// many it removed; a table that does not exist holds none. Errors are *pipeline.Error values
// without the connection string or the password.
func (s *Sink) Delete(ctx context.Context, computation string) (int64, error) {
	parts, err := source.ParseTableName(s.Table)
	if err != nil {
		return 0, &pipeline.Error{Reason: pipeline.ReasonInvalidSpec, Permanent: true, Err: fmt.Errorf("spec.output.customers.postgres.table: %w", err)}
	}
	conn, err := source.Connect(ctx, s.DSN, s.ConnectTimeout, s.Configure)
	if err != nil {
		return 0, err
	}
	defer source.CloseConn(conn)
	tag, err := conn.Exec(ctx, "DELETE FROM "+pgx.Identifier(parts).Sanitize()+" WHERE computation = $1", computation)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000"): // no such table or schema
		return 0, nil
	case err != nil:
		return 0, source.CleanError(err, "deleting rows from "+s.Table, s.DSN, conn.Config().Password)
	}
	return tag.RowsAffected(), nil
}
