package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func TestSharedServer(t *testing.T) {
	dsn := NewDatabase(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1: %d, %v", one, err)
	}
}

func TestStopResume(t *testing.T) {
	s := New(t)
	ctx := context.Background()
	dsn, err := s.CreateDatabase(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Exec(ctx, "shop", "CREATE TABLE t (x int)", "INSERT INTO t VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	if c, err := pgx.Connect(ctx, dsn); err == nil {
		c.Close(ctx)
		t.Fatal("connected to a stopped server")
	}
	if err := s.Resume(); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var x int
	if err := conn.QueryRow(ctx, "SELECT x FROM t").Scan(&x); err != nil || x != 42 {
		t.Fatalf("after a restart: %d, %v", x, err)
	}
	// wrong password
	bad := &Server{Port: s.Port, Password: "wrong"}
	if c, err := pgx.Connect(ctx, bad.DSN("shop")); err == nil {
		c.Close(ctx)
		t.Fatal("a wrong password was accepted")
	}
}
