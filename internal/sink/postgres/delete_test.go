package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/ltv-operator/ltv-operator/internal/testutil/pgtest"
)

// Delete removes one computation's rows and no other's; a missing table or schema holds none.
func TestDeleteRemovesOnlyTheComputationsRows(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	ctx := context.Background()
	conn := connect(t, dsn)
	s := &Sink{DSN: dsn, Table: "public.scores"}
	if n, err := s.Delete(ctx, "ns/a"); err != nil || n != 0 {
		t.Fatalf("missing table: %d, %v", n, err)
	}
	if n, err := (&Sink{DSN: dsn, Table: "nosuchschema.scores"}).Delete(ctx, "ns/a"); err != nil || n != 0 {
		t.Fatalf("missing schema: %d, %v", n, err)
	}
	at := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	for _, c := range []string{"ns/a", "ns/b"} {
		if _, err := s.Write(ctx, c, at, rowsOf(customers(50, "c", 10))); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.Delete(ctx, "ns/a"); err != nil || n != 50 {
		t.Fatalf("deleted %d rows, %v; want 50", n, err)
	}
	if n, _ := count(t, conn, "public.scores", "ns/a"); n != 0 {
		t.Errorf("%d rows of ns/a left", n)
	}
	if n, _ := count(t, conn, "public.scores", "ns/b"); n != 50 {
		t.Errorf("ns/b has %d rows, want 50", n)
	}
}
