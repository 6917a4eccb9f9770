package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ltv-operator/ltv-operator/internal/summary"
	"github.com/ltv-operator/ltv-operator/internal/testutil/pgtest"
)

// shardCols are the columns of randomCSV: a text id, a timestamptz, a numeric amount, a text and
// an integer attribute.
var shardCols = summary.Columns{CustomerID: "id", Timestamp: "ts", Amount: "amount", Attributes: []string{"channel", "tier"}}

const shardDDL = "ts timestamptz, id text, amount numeric(12,2), channel text, tier int"

// TestShardedSameAsSingleServer runs the summary on a hash-partitioned table whose two
// partitions are postgres_fdw foreign tables on two other servers, and on the same rows in one
// table: the summaries are the same bit for bit (the digest covers every customer field and
// count), both equal the CSV path's, and EXPLAIN shows each shard running the GROUP BY on the
// customer key, the two shards at once (asynchronous append).
func TestShardedSameAsSingleServer(t *testing.T) {
	servers := pgtest.NewServers(t, 3)
	coord, shards := servers[0], servers[1:]
	ctx := context.Background()

	calEnd := date("2024-06-30")
	data := randomCSV(rand.New(rand.NewPCG(42, 7)), 2000, calEnd)
	// five invalid rows, as many as the samples, so that both sides report all of them (SQL
	// has no row order to pick the first five by): two empty ids, a NULL timestamp, an
	// infinite timestamp, a NULL amount
	data = append(data, []byte("2024-01-01T00:00:00Z,,5,email,1\n2024-01-02T00:00:00Z,,6,email,1\n"+
		",cust-1,7,email,1\ninfinity,cust-2,8,email,1\n2024-01-03T00:00:00Z,cust-3,,email,1\n")...)

	for i, sh := range shards {
		if _, err := sh.CreateDatabase(ctx, "shard"); err != nil {
			t.Fatal(err)
		}
		if err := sh.Exec(ctx, "shard", fmt.Sprintf("CREATE TABLE orders_p%d (%s)", i, shardDDL)); err != nil {
			t.Fatal(err)
		}
	}
	dsn, err := coord.CreateDatabase(ctx, "coord")
	if err != nil {
		t.Fatal(err)
	}
	// the DBA's settings for partitionwise aggregation over foreign partitions (the source sets
	// no planner options: other Postgres-protocol databases do not know them)
	exec(t, dsn, "ALTER DATABASE coord SET enable_partitionwise_aggregate = on")
	for i, sh := range shards {
		if err := coord.ForeignServer(ctx, "coord", fmt.Sprintf("shard%d", i), sh, "shard",
			"async_capable", "true", "fetch_size", "50000"); err != nil {
			t.Fatal(err)
		}
	}
	exec(t, dsn, fmt.Sprintf("CREATE TABLE orders (%s) PARTITION BY HASH (id)", shardDDL))
	for i := range shards {
		exec(t, dsn, fmt.Sprintf(`CREATE FOREIGN TABLE orders_p%[1]d PARTITION OF orders FOR VALUES WITH (MODULUS 2, REMAINDER %[1]d)
			SERVER shard%[1]d OPTIONS (table_name 'orders_p%[1]d', batch_size '1000')`, i))
	}
	load(t, dsn, "orders_single", shardDDL, data)
	exec(t, dsn, "INSERT INTO orders SELECT * FROM orders_single", "ANALYZE orders", "ANALYZE orders_single")
	for i, sh := range shards { // each shard holds about half of the rows
		var n int
		conn, err := pgx.Connect(ctx, sh.DSN("shard"))
		if err != nil {
			t.Fatal(err)
		}
		err = conn.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM orders_p%d", i)).Scan(&n)
		conn.Close(ctx)
		if err != nil || n < 1000 {
			t.Fatalf("shard %d holds %d rows (%v)", i, n, err)
		}
	}

	for _, opts := range []summary.Options{
		{CalibrationEnd: calEnd, ObservationEnd: calEnd.AddDate(0, 3, 0), Unit: summary.Week, MaxInvalidRows: 10},
		{CalibrationEnd: calEnd, Unit: summary.Day, Returns: summary.ReturnsExclude, MaxInvalidRows: 10},
		{CalibrationEnd: calEnd, ObservationEnd: calEnd.AddDate(0, 1, 0), Unit: summary.Month, Returns: summary.ReturnsReject, MaxInvalidRows: 1 << 20},
	} {
		t.Run(fmt.Sprintf("%s/%s", opts.Unit, opts.Returns), func(t *testing.T) {
			single := summarize(t, &Source{DSN: dsn, Table: "orders_single"}, shardCols, opts)
			sharded := summarize(t, &Source{DSN: dsn, Table: "orders"}, shardCols, opts)
			sameSummary(t, single, sharded)
			if single.Digest != sharded.Digest {
				t.Errorf("digests differ: single server %s, sharded %s", single.Digest, sharded.Digest)
			}
			if len(single.InvalidSamples) != 5 || len(sharded.InvalidSamples) != 5 {
				t.Errorf("%d invalid rows, %d and %d samples", single.InvalidRows, len(single.InvalidSamples), len(sharded.InvalidSamples))
			}
			// Reject makes every refund invalid: which five are samples is the database's choice
			if single.InvalidRows == 5 && fmt.Sprint(sampleStrings(single)) != fmt.Sprint(sampleStrings(sharded)) {
				t.Errorf("invalid samples: single server %v, sharded %v", sampleStrings(single), sampleStrings(sharded))
			}
			// computed independently: the CSV path over the same rows
			sameSummary(t, readCSV(t, data, shardCols, opts), sharded)
		})
	}

	opts := summary.Options{CalibrationEnd: calEnd, ObservationEnd: calEnd.AddDate(0, 3, 0), Unit: summary.Week}
	plan := explainSummary(t, dsn, "orders", shardCols, opts, "")
	if err := checkShardPlan(plan, "id", 2); err != nil {
		t.Errorf("the summary is not pushed to the shards: %v\n%s", err, plan)
	}
	t.Logf("plan: %s", plan)

	// The check can fail: without partitionwise aggregation the coordinator groups the rows
	// itself, and a window over the customer (the earlier statement's shape) cannot be shipped.
	if err := checkShardPlan(explainSummary(t, dsn, "orders", shardCols, opts, "SET LOCAL enable_partitionwise_aggregate = off"), "id", 2); err == nil {
		t.Error("a plan without partitionwise aggregation passed the check")
	}
	// an integer key (grouped by its value, converted to text on the coordinator) and a date
	// column: the CDNOW sample, in both layouts
	cdnowDDL := "customer_id bigint, date date, amount numeric(12,2)"
	for i, sh := range shards {
		if err := sh.Exec(ctx, "shard", fmt.Sprintf("CREATE TABLE cdnow_p%d (%s)", i, cdnowDDL)); err != nil {
			t.Fatal(err)
		}
	}
	exec(t, dsn, fmt.Sprintf("CREATE TABLE cdnow (%s) PARTITION BY HASH (customer_id)", cdnowDDL))
	for i := range shards {
		exec(t, dsn, fmt.Sprintf(`CREATE FOREIGN TABLE cdnow_p%[1]d PARTITION OF cdnow FOR VALUES WITH (MODULUS 2, REMAINDER %[1]d)
			SERVER shard%[1]d OPTIONS (table_name 'cdnow_p%[1]d', batch_size '1000')`, i))
	}
	cdnow := cdnowCSV(t)
	load(t, dsn, "cdnow_single", cdnowDDL, cdnow)
	exec(t, dsn, "INSERT INTO cdnow SELECT * FROM cdnow_single", "ANALYZE cdnow")
	cdnowOpts := summary.Options{CalibrationEnd: date("1997-09-30"), ObservationEnd: date("1998-06-30")}
	single := summarize(t, &Source{DSN: dsn, Table: "cdnow_single"}, cdnowCols, cdnowOpts)
	sharded := summarize(t, &Source{DSN: dsn, Table: "cdnow"}, cdnowCols, cdnowOpts)
	sameSummary(t, readCSV(t, cdnow, cdnowCols, cdnowOpts), sharded)
	if single.Digest != sharded.Digest || len(sharded.Customers()) != 2357 {
		t.Errorf("CDNOW: %d customers, digests %s (one server) and %s (sharded)", len(sharded.Customers()), single.Digest, sharded.Digest)
	}
	if err := checkShardPlan(explainSummary(t, dsn, "cdnow", cdnowCols, cdnowOpts, ""), "customer_id", 2); err != nil {
		t.Errorf("CDNOW: the summary is not pushed to the shards: %v", err)
	}

	window := explainSQL(t, dsn, `SELECT id, count(*) FILTER (WHERE prev IS DISTINCT FROM ts::date) FROM (
		SELECT id, ts, lag(ts::date) OVER (PARTITION BY id ORDER BY ts) AS prev FROM orders) AS w GROUP BY id`)
	if err := checkShardPlan(window, "id", 2); err == nil {
		t.Errorf("a window query passed the check:\n%s", window)
	}
}

func sampleStrings(s *summary.Summary) []string {
	var out []string
	for _, e := range s.InvalidSamples {
		out = append(out, fmt.Sprintf("%s|%s|%s", e.Column, e.Value, e.Reason))
	}
	slices.Sort(out)
	return out
}

// explainSummary returns EXPLAIN (VERBOSE, FORMAT JSON) of the summary statement the source
// runs, after the settings given (SET LOCAL statements, or "").
func explainSummary(t *testing.T, dsn, table string, cols summary.Columns, opts summary.Options, settings string) []byte {
	t.Helper()
	opts, unitDays, err := normalize(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "SET LOCAL TimeZone = 'UTC'"); err != nil {
		t.Fatal(err)
	}
	if settings != "" {
		if _, err := tx.Exec(ctx, settings); err != nil {
			t.Fatal(err)
		}
	}
	names := append([]string{cols.CustomerID, cols.Timestamp, cols.Amount}, cols.Attributes...)
	probe := make([]string, len(names))
	for i, n := range names {
		probe[i] = "src." + ident(n)
	}
	rel := pgx.Identifier{table}.Sanitize()
	sd, err := tx.Conn().Prepare(ctx, "", "SELECT "+strings.Join(probe, ", ")+" FROM "+rel+" AS src")
	if err != nil {
		t.Fatal(err)
	}
	q := buildQuery(rel, names, sd.Fields, serverMajor(conn))
	var plan []byte
	if err := tx.QueryRow(ctx, "EXPLAIN (VERBOSE, FORMAT JSON) "+q.summary, queryArgs(opts, unitDays, q.bound)...).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	return plan
}

func explainSQL(t *testing.T, dsn, sql string) []byte {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var plan []byte
	if err := conn.QueryRow(ctx, "EXPLAIN (VERBOSE, FORMAT JSON) "+sql).Scan(&plan); err != nil {
		t.Fatal(err)
	}
	return plan
}

// checkShardPlan checks a JSON plan for the distributed shape: one foreign scan per shard
// table, each under an Append and run asynchronously (Async Capable), each of whose Remote SQL
// groups by the customer key (key) and aggregates (the per-customer summary computed on
// the shard, not the rows shipped to the coordinator).
func checkShardPlan(planJSON []byte, key string, shards int) error {
	var plans []struct {
		Plan map[string]any `json:"Plan"`
	}
	if err := json.Unmarshal(planJSON, &plans); err != nil {
		return err
	}
	if len(plans) != 1 {
		return fmt.Errorf("%d plans", len(plans))
	}
	type scan struct {
		node   map[string]any
		parent string
	}
	var scans []scan
	var walk func(n map[string]any, parent string)
	walk = func(n map[string]any, parent string) {
		if _, ok := n["Remote SQL"]; ok {
			scans = append(scans, scan{n, parent})
		}
		kids, _ := n["Plans"].([]any)
		for _, k := range kids {
			if m, ok := k.(map[string]any); ok {
				walk(m, fmt.Sprint(n["Node Type"]))
			}
		}
	}
	walk(plans[0].Plan, "")
	if len(scans) != shards {
		return fmt.Errorf("%d foreign scans, want %d", len(scans), shards)
	}
	tables := map[string]bool{}
	for _, s := range scans {
		sql := fmt.Sprint(s.node["Remote SQL"])
		if !strings.Contains(sql, " GROUP BY ") || !strings.Contains(sql, "array_agg(") || !strings.Contains(sql, "count(DISTINCT ") {
			return fmt.Errorf("the shard's SQL does not aggregate per customer: %s", sql)
		}
		// postgres_fdw writes the grouping key as the first output column and GROUP BY 1
		if !strings.HasPrefix(sql, "SELECT "+key+", ") || !strings.Contains(sql, " GROUP BY 1") {
			return fmt.Errorf("the shard's SQL does not group by the customer key %s: %s", key, sql)
		}
		if strings.Contains(sql, " OVER ") {
			return fmt.Errorf("the shard's SQL has a window: %s", sql)
		}
		if s.node["Async Capable"] != true || s.parent != "Append" {
			return fmt.Errorf("the foreign scan is not an asynchronous scan under an Append (async %v, parent %s)", s.node["Async Capable"], s.parent)
		}
		rel := fmt.Sprint(s.node["Relations"])
		if !strings.HasPrefix(rel, "Aggregate on ") {
			return fmt.Errorf("the foreign scan is over %q, not an aggregate", rel)
		}
		tables[rel] = true
	}
	if len(tables) != shards {
		return fmt.Errorf("the scans cover %d distinct shard tables, want %d", len(tables), shards)
	}
	return nil
}
