package pgtest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
)

// NewServers starts n servers of the test's own at once (their initdb and start-up run in
// parallel: a coordinator and its shards cost the time of one), each closed when the test ends.
func NewServers(t testing.TB, n int) []*Server {
	t.Helper()
	servers := make([]*Server, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			servers[i], errs[i] = Start()
		}()
	}
	wg.Wait()
	for _, s := range servers {
		if s != nil {
			t.Cleanup(func() { _ = s.Close() })
		}
	}
	for _, err := range errs {
		if err != nil {
			Unavailable(t, err)
		}
	}
	return servers
}

// ForeignServer makes a database of remote reachable from a database of s through
// postgres_fdw (Debian's postgresql package ships it): it creates the extension if needed, a
// foreign server called name pointing at remote over loopback with the given server options
// (key, value pairs such as "async_capable", "true"), and a user mapping for the superuser with
// remote's password.
func (s *Server) ForeignServer(ctx context.Context, database, name string, remote *Server, remoteDatabase string, options ...string) error {
	if len(options)%2 != 0 {
		return fmt.Errorf("ForeignServer: options come in key, value pairs: %q", options)
	}
	opts := []string{"host '127.0.0.1'", "port '" + strconv.Itoa(remote.Port) + "'", "dbname " + literal(remoteDatabase)}
	for i := 0; i < len(options); i += 2 {
		opts = append(opts, pgx.Identifier{options[i]}.Sanitize()+" "+literal(options[i+1]))
	}
	srv := pgx.Identifier{name}.Sanitize()
	return s.Exec(ctx, database,
		"CREATE EXTENSION IF NOT EXISTS postgres_fdw",
		fmt.Sprintf("CREATE SERVER %s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (%s)", srv, strings.Join(opts, ", ")),
		fmt.Sprintf("CREATE USER MAPPING FOR %s SERVER %s OPTIONS (user %s, password %s)",
			pgx.Identifier{SuperUser}.Sanitize(), srv, literal(SuperUser), literal(remote.Password)))
}

// literal quotes s as an SQL string literal.
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
