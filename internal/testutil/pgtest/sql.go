package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Exec runs statements in the database of dsn, failing the test at the first error.
func Exec(t testing.TB, dsn string, sql ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range sql {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// LoadCSV creates table (its columns in ddl) and fills it from CSV with a header row, through
// PostgreSQL's own COPY parser: an empty unquoted field is NULL.
func LoadCSV(t testing.TB, dsn, table, ddl string, csv []byte) {
	t.Helper()
	Exec(t, dsn, fmt.Sprintf("CREATE TABLE %s (%s)", table, ddl))
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.PgConn().CopyFrom(ctx, bytes.NewReader(csv), fmt.Sprintf("COPY %s FROM STDIN WITH (FORMAT csv, HEADER true)", table)); err != nil {
		t.Fatalf("loading %s: %v", table, err)
	}
}
