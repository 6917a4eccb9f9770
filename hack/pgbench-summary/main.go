// Command pgbench-summary measures the PostgreSQL source's Summarize on one server and on a
// coordinator with two postgres_fdw shards (docs/benchmarks.md, "PostgreSQL: one server, Stream
// mode, two shards").
//
// serve starts three PostgreSQL servers on loopback (Debian's packages, as pgtest runs them:
// as the postgres user under root), loads a transaction log (ltv-synth's CSV, gzip allowed)
// into one table on the first server (orders_single) and, split by the hash of the customer
// id, into a table on each of the other two, which the first server reads as the foreign
// partitions of a hash-partitioned table (orders: async_capable, partitionwise aggregation).
// It writes the connection strings to -state and keeps the servers up until interrupted.
//
// run reads -state and runs one Summarize of a variant (single: Aggregate on orders_single;
// stream: Stream on orders_single; sharded: Aggregate on orders), printing the wall time of
// the call and the process's peak RSS. Run it under /usr/bin/time -v, one process per
// measurement, alternating the variants:
//
//	go run ./cmd/ltv-synth -customers 1050000 -seed 1 -out /tmp/pgbench/tx.csv.gz
//	go build -o /tmp/pgbench/pgbench-summary ./hack/pgbench-summary
//	/tmp/pgbench/pgbench-summary serve -data /tmp/pgbench/tx.csv.gz -state /tmp/pgbench/state.json &
//	for v in single stream sharded; do /usr/bin/time -v /tmp/pgbench/pgbench-summary run -state /tmp/pgbench/state.json -variant $v; done
package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	pgsource "github.com/ltv-operator/ltv-operator/internal/source/postgres"
	"github.com/ltv-operator/ltv-operator/internal/summary"
	"github.com/ltv-operator/ltv-operator/internal/testutil/pgtest"
)

type state struct {
	Coordinator string   `json:"coordinator"`
	Shards      []string `json:"shards"`
	Rows        int64    `json:"rows"`
}

const ddl = "customer_id text, date date, amount numeric(12,2), channel text, country text"

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: pgbench-summary serve|run [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "run":
		err = run(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (want serve or run)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgbench-summary:", err)
		os.Exit(1)
	}
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	data := fs.String("data", "", "transaction log (CSV with ltv-synth's columns, gzip allowed)")
	statePath := fs.String("state", "/tmp/pgbench/state.json", "where to write the connection strings")
	_ = fs.Parse(args)
	if *data == "" {
		return errors.New("-data is required")
	}
	ctx := context.Background()
	servers := make([]*pgtest.Server, 3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range servers {
		wg.Add(1)
		go func() { defer wg.Done(); servers[i], errs[i] = pgtest.Start() }()
	}
	wg.Wait()
	defer func() {
		for _, s := range servers {
			if s != nil {
				_ = s.Close()
			}
		}
	}()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	coord, shards := servers[0], servers[1:]
	st := state{}
	var err error
	if st.Coordinator, err = coord.CreateDatabase(ctx, "bench"); err != nil {
		return err
	}
	start := time.Now()
	if st.Rows, err = loadFile(ctx, st.Coordinator, *data); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "loaded %d rows into orders_single in %s\n", st.Rows, time.Since(start).Round(time.Second))

	if err := coord.Exec(ctx, "bench", "ALTER DATABASE bench SET enable_partitionwise_aggregate = on",
		"CREATE TABLE orders ("+ddl+") PARTITION BY HASH (customer_id)"); err != nil {
		return err
	}
	for i, sh := range shards {
		dsn, err := sh.CreateDatabase(ctx, "shard")
		if err != nil {
			return err
		}
		st.Shards = append(st.Shards, dsn)
		if err := sh.Exec(ctx, "shard", fmt.Sprintf("CREATE UNLOGGED TABLE orders_p%d (%s)", i, ddl)); err != nil {
			return err
		}
		name := fmt.Sprintf("shard%d", i)
		if err := coord.ForeignServer(ctx, "bench", name, sh, "shard", "async_capable", "true", "fetch_size", "100000"); err != nil {
			return err
		}
		if err := coord.Exec(ctx, "bench", fmt.Sprintf(`CREATE FOREIGN TABLE orders_p%[1]d PARTITION OF orders
			FOR VALUES WITH (MODULUS 2, REMAINDER %[1]d) SERVER %s OPTIONS (table_name 'orders_p%[1]d')`, i, name)); err != nil {
			return err
		}
	}
	// each shard's rows, chosen by the partition's own hash function, copied straight from
	// orders_single (COPY into a foreign partition would insert row by row)
	start = time.Now()
	for i := range shards {
		n, err := copyAcross(ctx, st.Coordinator, st.Shards[i],
			fmt.Sprintf("COPY (SELECT * FROM orders_single WHERE satisfies_hash_partition('orders'::regclass, 2, %d, customer_id)) TO STDOUT", i),
			fmt.Sprintf("COPY orders_p%d FROM STDIN", i))
		if err != nil {
			return err
		}
		if err := shards[i].Exec(ctx, "shard", fmt.Sprintf("VACUUM ANALYZE orders_p%d", i)); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "shard %d: %d rows\n", i, n)
	}
	fmt.Fprintf(os.Stderr, "split in %s\n", time.Since(start).Round(time.Second))
	if err := coord.Exec(ctx, "bench", "VACUUM ANALYZE orders_single", "ANALYZE orders"); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(*statePath, b, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "ready: %s (interrupt to stop the servers)\n", *statePath)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	return nil
}

// loadFile creates orders_single and fills it from the CSV file with COPY.
func loadFile(ctx context.Context, dsn, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return 0, err
		}
		r = gz
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE UNLOGGED TABLE orders_single ("+ddl+")"); err != nil {
		return 0, err
	}
	tag, err := conn.PgConn().CopyFrom(ctx, r, "COPY orders_single FROM STDIN WITH (FORMAT csv, HEADER true)")
	return tag.RowsAffected(), err
}

// copyAcross pipes a COPY TO on one server into a COPY FROM on another.
func copyAcross(ctx context.Context, fromDSN, toDSN, copyTo, copyFrom string) (int64, error) {
	from, err := pgx.Connect(ctx, fromDSN)
	if err != nil {
		return 0, err
	}
	defer from.Close(ctx)
	to, err := pgx.Connect(ctx, toDSN)
	if err != nil {
		return 0, err
	}
	defer to.Close(ctx)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := from.PgConn().CopyTo(ctx, pw, copyTo)
		pw.CloseWithError(err)
		done <- err
	}()
	tag, err := to.PgConn().CopyFrom(ctx, pr, copyFrom)
	pr.CloseWithError(io.ErrClosedPipe)
	if cerr := <-done; err == nil {
		err = cerr
	}
	return tag.RowsAffected(), err
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	statePath := fs.String("state", "/tmp/pgbench/state.json", "the state file of serve")
	variant := fs.String("variant", "single", "single (Aggregate, one server), stream (Stream, one server) or sharded (Aggregate, two shards)")
	_ = fs.Parse(args)
	b, err := os.ReadFile(*statePath)
	if err != nil {
		return err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	src := &pgsource.Source{DSN: st.Coordinator, Table: "orders_single"}
	switch *variant {
	case "single":
	case "stream":
		src.Mode = pgsource.ModeStream
	case "sharded":
		src.Table = "orders"
	default:
		return fmt.Errorf("unknown variant %q", *variant)
	}
	cols := summary.Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount", Attributes: []string{"channel", "country"}}
	// ltv-synth's default window is 2025; nine months of calibration, three of holdout
	opts := summary.Options{CalibrationEnd: time.Date(2025, 9, 30, 0, 0, 0, 0, time.UTC),
		ObservationEnd: time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), Unit: summary.Week}
	start := time.Now()
	sum, err := src.Summarize(context.Background(), cols, opts)
	if err != nil {
		return err
	}
	wall := time.Since(start)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("%s: Summarize %.2f s, %d customers, %d rows, revenue %.2f, peak RSS %d MB, digest %s\n",
		*variant, wall.Seconds(), len(sum.Customers()), sum.Rows, sum.Revenue, ru.Maxrss/1024, sum.Digest[:19])
	return nil
}
