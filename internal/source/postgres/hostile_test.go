package postgres

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/summary"
	"github.com/ltv-operator/ltv-operator/internal/testutil/pgtest"
)

// Queries that the read-only transaction refuses can never succeed: they are permanent errors
// (InvalidSpec), not SourceUnavailable retried with backoff forever.
func TestWritingQueriesArePermanentErrors(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	exec(t, dsn, "CREATE TABLE orders (customer_id text, date date, amount numeric)",
		"INSERT INTO orders VALUES ('a', '2024-01-01', 5)",
		"CREATE TABLE audit (n int)",
		`CREATE FUNCTION log_read() RETURNS int LANGUAGE plpgsql AS $$ BEGIN INSERT INTO audit VALUES (1); RETURN 1; END $$`)
	cols := summary.Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount"}
	opts := summary.Options{CalibrationEnd: date("2024-12-31")}
	for _, tc := range []struct{ name, query, sqlstate string }{
		{"INSERT in a function", "SELECT o.*, log_read() AS n FROM orders o", "25006"},
		{"data-modifying CTE", "WITH d AS (DELETE FROM audit RETURNING n) SELECT o.* FROM orders o", "0A000"},
		{"SELECT FOR UPDATE", "SELECT * FROM orders FOR UPDATE", "25006"},
		{"data exception", "SELECT customer_id, date, amount / 0 AS amount FROM orders", "22012"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := (&Source{DSN: dsn, Query: tc.query}).Summarize(context.Background(), cols, opts)
			if err == nil {
				t.Fatal("no error")
			}
			pe := pipeline.Classify(err)
			if !pe.Permanent || pe.Reason == pipeline.ReasonSourceUnavailable || !strings.Contains(err.Error(), tc.sqlstate) {
				t.Errorf("%q: reason %s permanent %v, want a permanent error with SQLSTATE %s", err, pe.Reason, pe.Permanent, tc.sqlstate)
			}
			t.Log(err)
		})
	}
}

func TestClassifySQLState(t *testing.T) {
	for code, permanent := range map[string]bool{
		"25006": true, "25001": true, "42601": true, "42883": true, "22003": true, "0A000": true, "28P01": true,
		"08006": false, "08001": false, "53100": false, "53300": false, "57014": false, "57P01": false, "40001": false, "40P01": false, "XX000": false,
	} {
		if _, p := classifySQLState(code); p != permanent {
			t.Errorf("SQLSTATE %s: permanent %v, want %v", code, p, permanent)
		}
	}
}

// Amounts whose sums overflow are refused with the row (the customer), the column and the
// reason, as in the CSV path; the numeric sum of two 1e308 would otherwise fail the float8
// conversion or reach +Inf.
func TestAmountsThatOverflowAreInvalidRows(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	exec(t, dsn, "CREATE TABLE big (customer_id text, date date, amount float8)",
		"INSERT INTO big VALUES ('a', '2024-01-01', 1e308), ('a', '2024-01-02', 1e308), ('b', '2024-01-01', 5)",
		"CREATE TABLE bign (customer_id text, date date, amount numeric)",
		"INSERT INTO bign VALUES ('a', '2024-01-01', 1e400), ('b', '2024-01-01', 5)")
	cols := summary.Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount"}
	for _, table := range []string{"big", "bign"} {
		_, err := (&Source{DSN: dsn, Table: table}).Summarize(context.Background(), cols, summary.Options{CalibrationEnd: date("2024-12-31")})
		var re *summary.RowError
		if !errors.As(err, &re) || re.Column != "amount" || !strings.Contains(re.Reason, "largest amount") || !strings.Contains(re.Reason, "customer a") {
			t.Fatalf("%s: want the amount refused with the customer: %v", table, err)
		}
		if pe := pipeline.Classify(err); pe.Reason != pipeline.ReasonInvalidData || !pe.Permanent {
			t.Errorf("classified %+v", pe)
		}
		s, err := (&Source{DSN: dsn, Table: table}).Summarize(context.Background(), cols, summary.Options{CalibrationEnd: date("2024-12-31"), MaxInvalidRows: 2})
		if err != nil || len(s.Customers()) != 1 || math.IsInf(s.Revenue, 0) || s.Revenue != 5 {
			t.Fatalf("%s: %v %+v", table, err, s)
		}
	}
}

// A SQL_ASCII database stores ids that are not UTF-8: they are refused with the customer, as the
// CSV path refuses them (PostgreSQL text never holds a NUL byte).
func TestInvalidUTF8IDsAreInvalidRows(t *testing.T) {
	srv := pgtest.Shared(t)
	ctx := context.Background()
	name := "ascii_" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_"))
	if err := srv.Exec(ctx, "postgres", "CREATE DATABASE "+name+" ENCODING 'SQL_ASCII' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'"); err != nil {
		t.Fatal(err)
	}
	dsn := srv.DSN(name)
	exec(t, dsn, "CREATE TABLE orders (customer_id text, date date, amount numeric)",
		`INSERT INTO orders VALUES (E'caf\xe9', '2024-01-01', 5), (E'caf\xe9', '2024-01-02', 5), ('ok', '2024-01-01', 7)`)
	cols := summary.Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount"}
	_, err := (&Source{DSN: dsn, Table: "orders"}).Summarize(ctx, cols, summary.Options{CalibrationEnd: date("2024-12-31")})
	var re *summary.RowError
	if !errors.As(err, &re) || re.Column != "customer_id" || !strings.Contains(re.Reason, "UTF-8") {
		t.Fatalf("want the id refused: %v", err)
	}
	s, err := (&Source{DSN: dsn, Table: "orders"}).Summarize(ctx, cols, summary.Options{CalibrationEnd: date("2024-12-31"), MaxInvalidRows: 2})
	if err != nil || len(s.Customers()) != 1 || s.Customer(0).ID != "ok" || s.InvalidRows != 2 || s.Rows != 3 {
		t.Fatalf("%v %+v", err, s)
	}
}
