package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/summary"
	"github.com/ltv-operator/ltv-operator/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// exec and load are pgtest's helpers, named for this file's many calls.
var (
	exec = pgtest.Exec
	load = pgtest.LoadCSV
)

func readCSV(t testing.TB, csv []byte, cols summary.Columns, opts summary.Options) *summary.Summary {
	t.Helper()
	s, err := summary.ReadCSV(bytes.NewReader(csv), cols, opts)
	if err != nil {
		t.Fatalf("ReadCSV: %v", err)
	}
	return s
}

func summarize(t testing.TB, src *Source, cols summary.Columns, opts summary.Options) *summary.Summary {
	t.Helper()
	s, err := src.Summarize(context.Background(), cols, opts)
	if err != nil {
		t.Fatalf("Summarize: %v", err)
	}
	return s
}

const moneyTol = 1e-9

// sameSummary compares two summaries field by field: everything exact except money, to 1e-9.
func sameSummary(t *testing.T, want, got *summary.Summary) {
	t.Helper()
	errs := 0
	fail := func(format string, args ...any) {
		t.Helper()
		if errs++; errs <= 20 {
			t.Errorf(format, args...)
		}
	}
	if len(want.Customers()) != len(got.Customers()) {
		t.Fatalf("%d customers from CSV, %d from PostgreSQL", len(want.Customers()), len(got.Customers()))
	}
	money := func(what string, a, b float64) {
		t.Helper()
		if math.Abs(a-b) > moneyTol {
			fail("%s: CSV %.12f, PostgreSQL %.12f", what, a, b)
		}
	}
	for i := range want.Customers() {
		w, g := want.Customer(i), got.Customer(i)
		if w.ID != g.ID {
			t.Fatalf("customer %d: id %q from CSV, %q from PostgreSQL", i, w.ID, g.ID)
		}
		if fmt.Sprint(w.Attributes) != fmt.Sprint(g.Attributes) {
			fail("%s: attributes %q, %q", w.ID, w.Attributes, g.Attributes)
		}
		if !w.FirstPurchase.Equal(g.FirstPurchase) || !w.LastPurchase.Equal(g.LastPurchase) {
			fail("%s: first/last purchase %v %v, %v %v", w.ID, w.FirstPurchase, w.LastPurchase, g.FirstPurchase, g.LastPurchase)
		}
		if w.Frequency != g.Frequency || w.Orders != g.Orders || w.HoldoutTransactions != g.HoldoutTransactions {
			fail("%s: x, orders, holdout transactions %d %d %d, %d %d %d", w.ID, w.Frequency, w.Orders, w.HoldoutTransactions,
				g.Frequency, g.Orders, g.HoldoutTransactions)
		}
		if w.Recency != g.Recency || w.Age != g.Age { // whole days in the unit: bit for bit
			fail("%s: t_x, T %v %v, %v %v", w.ID, w.Recency, w.Age, g.Recency, g.Age)
		}
		money(w.ID+" monetary", w.Monetary, g.Monetary)
		money(w.ID+" historic value", w.HistoricValue, g.HistoricValue)
		money(w.ID+" holdout value", w.HoldoutValue, g.HoldoutValue)
	}
	if fmt.Sprint(want.AttributeNames) != fmt.Sprint(got.AttributeNames) {
		fail("attribute names %v, %v", want.AttributeNames, got.AttributeNames)
	}
	if want.Transactions != got.Transactions || want.Rows != got.Rows || want.FutureRows != got.FutureRows ||
		want.ExcludedReturns != got.ExcludedReturns || want.InvalidRows != got.InvalidRows || want.HoldoutOnlyCustomers != got.HoldoutOnlyCustomers {
		fail("counts: transactions %d rows %d future %d excluded %d invalid %d holdout-only %d, PostgreSQL %d %d %d %d %d %d",
			want.Transactions, want.Rows, want.FutureRows, want.ExcludedReturns, want.InvalidRows, want.HoldoutOnlyCustomers,
			got.Transactions, got.Rows, got.FutureRows, got.ExcludedReturns, got.InvalidRows, got.HoldoutOnlyCustomers)
	}
	if math.Abs(want.Revenue-got.Revenue) > moneyTol*math.Max(1, math.Abs(want.Revenue)) {
		fail("revenue %.12f, %.12f", want.Revenue, got.Revenue)
	}
	if !strings.HasPrefix(got.Digest, "sha256:") || len(got.Digest) != len("sha256:")+64 {
		fail("digest %q", got.Digest)
	}
}

var cdnowCols = summary.Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount"}

func cdnowCSV(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "cdnow_sample_transactions.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCDNOWSameAsCSV runs the CDNOW sample through ReadCSV and through PostgreSQL, with typed
// columns and with text columns, for the published 39-week calibration and with a holdout.
func TestCDNOWSameAsCSV(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	data := cdnowCSV(t)
	load(t, dsn, "cdnow", "customer_id text, date date, amount numeric(12,2)", data)
	load(t, dsn, "cdnow_text", "customer_id text, date text, amount text", data)
	load(t, dsn, "cdnow_float", "customer_id bigint, date timestamptz, amount float8", data)
	for _, opts := range []summary.Options{
		{CalibrationEnd: date("1997-09-30"), Unit: summary.Week},
		{CalibrationEnd: date("1997-09-30"), ObservationEnd: date("1998-06-30"), Unit: summary.Week},
		{CalibrationEnd: date("1997-12-31"), ObservationEnd: date("1998-03-31"), Unit: summary.Month, Returns: summary.ReturnsExclude},
		{CalibrationEnd: date("1997-06-30"), Unit: summary.Day},
	} {
		want := readCSV(t, data, cdnowCols, opts)
		for _, table := range []string{"cdnow", "cdnow_text", "cdnow_float"} {
			t.Run(fmt.Sprintf("%s/%s-%s", table, opts.CalibrationEnd.Format(time.DateOnly), opts.Unit), func(t *testing.T) {
				got := summarize(t, &Source{DSN: dsn, Table: table}, cdnowCols, opts)
				sameSummary(t, want, got)
			})
		}
	}
	// the published figures, for the record: 2357 customers, 39-week calibration
	got := summarize(t, &Source{DSN: dsn, Table: "public.cdnow"}, cdnowCols, summary.Options{CalibrationEnd: date("1997-09-30")})
	if len(got.Customers()) != 2357 || got.Rows != 6919 {
		t.Errorf("CDNOW: %d customers, %d rows", len(got.Customers()), got.Rows)
	}
}

// shop exercises every convention: same-day merges, times of day, refunds on the first day,
// before the first purchase and on days without a purchase, zero amounts, a customer with
// refunds only, holdout purchases and refunds, a holdout-only customer, future rows, and
// attributes from the first purchase (earlier the same day but later in the file).
const shopCSV = `customer_id,ordered_at,amount,channel,country
a,2026-01-05 10:00:00,100.10,email,PL
a,2026-01-05 08:00:00,20.20,search,DE
a,2026-01-05 12:00:00,-5.05,email,PL
a,2026-03-10T09:30:00+02:00,50.55,email,PL
a,2026-04-01,-3.30,email,PL
a,2026-06-20,0,social,PL
b,2026-02-01T23:30:00-02:00,80,paid_search,US
c,2026-02-14,-7.5,organic,FR
c,2026-02-15,30.25,organic,FR
c,2026-02-15,-10.10,organic,FR
c,2026-04-20,-10,organic,FR
c,2026-06-01,45.5,organic,FR
c,2026-11-03,12.34,organic,FR
c,2026-11-04,-2,organic,FR
d,2026-03-01,-15,email,PL
e,2026-11-10,99,email,PL
f,2026-12-15,99,email,PL
g,2026-05-05,1e2,,
h,2026-07-01 07:00:00,-4.5,email,PL
h,2026-07-01 09:00:00,20,search,PL
h,2026-08-01,10,email,PL
`

var shopCols = summary.Columns{CustomerID: "customer_id", Timestamp: "ordered_at", Amount: "amount", Attributes: []string{"channel", "country"}}

// loadShop loads shopCSV as the tables orders (typed), orders_text (every column text) and
// orders_naive (varchar, a zone-less timestamp in UTC, float8 and char(2)), and returns its bytes.
func loadShop(t *testing.T, dsn string) []byte {
	t.Helper()
	data := []byte(shopCSV)
	load(t, dsn, "orders", "customer_id text, ordered_at timestamptz, amount numeric, channel text, country text", data)
	load(t, dsn, "orders_text", "customer_id text, ordered_at text, amount text, channel text, country text", data)
	exec(t, dsn, `CREATE TABLE orders_naive AS SELECT customer_id::varchar(10), ordered_at AT TIME ZONE 'UTC' AS ordered_at,
		amount::float8 AS amount, channel, country::char(2) AS country FROM orders`)
	return data
}

func TestShopSameAsCSV(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	data := loadShop(t, dsn)
	for _, returns := range []summary.ReturnsPolicy{summary.ReturnsNet, summary.ReturnsExclude} {
		for _, opts := range []summary.Options{
			{CalibrationEnd: date("2026-10-31"), ObservationEnd: date("2026-11-30"), Unit: summary.Day, Returns: returns},
			{CalibrationEnd: date("2026-10-31"), Unit: summary.Week, Returns: returns},
			{CalibrationEnd: date("2026-12-31"), Unit: summary.Month, Returns: returns},
		} {
			want := readCSV(t, data, shopCols, opts)
			for _, table := range []string{"orders", "orders_text", "orders_naive"} {
				t.Run(fmt.Sprintf("%s/%s/%s", table, returns, opts.Unit), func(t *testing.T) {
					sameSummary(t, want, summarize(t, &Source{DSN: dsn, Table: table}, shopCols, opts))
				})
			}
		}
	}
	// by hand, Net, holdout to 2026-11-30, in days
	got := summarize(t, &Source{DSN: dsn, Table: "orders"}, shopCols,
		summary.Options{CalibrationEnd: date("2026-10-31"), ObservationEnd: date("2026-11-30"), Unit: summary.Day})
	byID := map[string]summary.Customer{}
	for _, c := range got.Customers() {
		byID[c.ID] = c
	}
	a := byID["a"]
	if a.Frequency != 2 || a.Attributes[0] != "search" || a.Attributes[1] != "DE" || a.Orders != 6 ||
		math.Abs(a.HistoricValue-162.5) > 1e-12 || math.Abs(a.Monetary-(50.55-3.30+0)/2) > 1e-12 || a.Recency != 166 || a.Age != 299 {
		t.Errorf("a: %+v", a)
	}
	c := byID["c"]
	// first purchase day 02-15: 30.25-10.10; the refund of 02-14 and 04-20 lower the repeat spend
	if c.Frequency != 1 || math.Abs(c.Monetary-(45.5-7.5-10)) > 1e-12 || c.HoldoutTransactions != 1 || math.Abs(c.HoldoutValue-10.34) > 1e-12 {
		t.Errorf("c: %+v", c)
	}
	// a refund earlier on the first purchase day than the purchase lowers the first day's value
	if h := byID["h"]; h.Frequency != 1 || h.Monetary != 10 || h.Attributes[0] != "search" || h.HistoricValue != 25.5 {
		t.Errorf("h: %+v", h)
	}
	if _, ok := byID["d"]; ok || got.HoldoutOnlyCustomers != 1 || got.FutureRows != 1 || len(got.Customers()) != 5 {
		t.Errorf("customers %d, holdout-only %d, future %d", len(got.Customers()), got.HoldoutOnlyCustomers, got.FutureRows)
	}
	if g := byID["g"]; len(g.Attributes) != 2 || g.Attributes[0] != "" || g.HistoricValue != 100 {
		t.Errorf("g: %+v", g)
	}
}

// TestRandomLogsSameAsCSV compares random logs (many customers, long histories, refunds, zero
// amounts, same-day rows, times of day) in every policy and unit.
func TestRandomLogsSameAsCSV(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	calEnd := date("2024-06-30")
	cols := summary.Columns{CustomerID: "id", Timestamp: "ts", Amount: "amount", Attributes: []string{"channel", "tier"}}
	for seed := range uint64(3) {
		data := randomCSV(rand.New(rand.NewPCG(seed, 7)), 2000, calEnd)
		table := fmt.Sprintf("log%d", seed)
		load(t, dsn, table, "ts timestamptz, id text, amount numeric(12,2), channel text, tier int", data)
		for _, opts := range []summary.Options{
			{CalibrationEnd: calEnd, Unit: summary.Day},
			{CalibrationEnd: calEnd, ObservationEnd: calEnd.AddDate(0, 3, 0), Unit: summary.Week, Returns: summary.ReturnsExclude},
			{CalibrationEnd: calEnd, ObservationEnd: calEnd.AddDate(0, 0, 45), Unit: summary.Month},
		} {
			t.Run(fmt.Sprintf("%d/%s/%s", seed, opts.Unit, opts.Returns), func(t *testing.T) {
				sameSummary(t, readCSV(t, data, cols, opts), summarize(t, &Source{DSN: dsn, Table: table}, cols, opts))
			})
		}
	}
}

// randomCSV is a random log whose rows have distinct timestamps per customer (SQL has no row
// order to break ties of the earliest timestamp with; TestAttributeTies covers those).
func randomCSV(rng *rand.Rand, customers int, calEnd time.Time) []byte {
	channels := []string{"email", "paid_search", "organic", "with,comma", `with "quote"`, "ünïcödé"}
	var b bytes.Buffer
	b.WriteString("ts,id,amount,channel,tier\n")
	q := func(s string) string {
		if strings.ContainsAny(s, ",\"\n") {
			return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
		}
		return s
	}
	for c := range customers {
		id := fmt.Sprintf("cust-%d", rng.IntN(customers*3))
		if c%7 == 0 {
			id = fmt.Sprint(c)
		}
		n := 1 + rng.IntN(25)
		start := -rng.IntN(400)
		for i := range n {
			ts := calEnd.AddDate(0, 0, start+rng.IntN(500)).Add(time.Duration(c%1000*86+i) * time.Second)
			if rng.IntN(3) == 0 {
				ts = ts.Add(time.Duration(rng.IntN(86000)) * time.Second)
			}
			amount := math.Round(rng.Float64()*20000-2000) / 100
			if rng.IntN(10) == 0 {
				amount = 0
			}
			format := time.RFC3339
			if i%3 == 0 {
				ts = ts.In(time.FixedZone("", -5*3600))
			}
			fmt.Fprintf(&b, "%s,%s,%.2f,%s,%d\n", ts.Format(format), q(id), amount, q(channels[rng.IntN(len(channels))]), rng.IntN(3))
			if rng.IntN(5) == 0 {
				fmt.Fprintf(&b, "%s,%s,%.2f,email,9\n", ts.Add(time.Minute).UTC().Format(time.RFC3339), q(id), math.Round(rng.Float64()*5000)/100)
			}
		}
	}
	return b.Bytes()
}

// TestAttributeTies: SQL rows have no order, so of several earliest purchases at the same
// timestamp the smallest attribute values (byte order) win, whatever the physical order.
func TestAttributeTies(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	cols := summary.Columns{CustomerID: "id", Timestamp: "day", Amount: "amount", Attributes: []string{"channel"}}
	load(t, dsn, "ties", "id text, day date, amount numeric, channel text", []byte("id,day,amount,channel\n"+
		"a,2024-01-02,5,zeta\na,2024-01-02,5,alpha\na,2024-01-01,-5,aaa-refund\n"+
		"b,2024-01-02,5,Zeta\nb,2024-01-02,5,alpha\n"))
	got := summarize(t, &Source{DSN: dsn, Table: "ties"}, cols, summary.Options{CalibrationEnd: date("2024-12-31")})
	if got.Customer(0).Attributes[0] != "alpha" || got.Customer(1).Attributes[0] != "Zeta" {
		t.Errorf("attributes %v %v, want alpha (the refund is no purchase) and Zeta (byte order)", got.Customer(0).Attributes, got.Customer(1).Attributes)
	}
}

// TestInvalidRows: empty and NULL ids, NULL, malformed and infinite dates, NULL, malformed and
// non-finite amounts are invalid rows, counted against MaxInvalidRows as in the CSV path;
// negative amounts under Reject too.
func TestInvalidRows(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	data := []byte(`customer_id,date,amount
a,2024-01-01,10
"",2024-01-02,5
,2024-01-03,5
a,,5
a,2024-13-01,5
a,yesterday,5
a,2024-02-01,
a,2024-02-02,abc
a,2024-02-03,1.2.3
a,2024-02-04,NaN
a,2024-02-05,-7
a,2025-02-05,-7
b,2024-03-01,20
`)
	cols := summary.Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount"}
	load(t, dsn, "bad_text", "customer_id text, date text, amount text", data)
	opts := summary.Options{CalibrationEnd: date("2024-12-31"), MaxInvalidRows: 9}
	csvSum := readCSV(t, data, cols, opts)
	if csvSum.InvalidRows != 9 {
		t.Fatalf("CSV: %d invalid rows", csvSum.InvalidRows)
	}
	got := summarize(t, &Source{DSN: dsn, Table: "bad_text"}, cols, opts)
	sameSummary(t, csvSum, got)
	if len(got.InvalidSamples) != 5 {
		t.Errorf("samples %v", got.InvalidSamples)
	}
	for _, s := range got.InvalidSamples {
		if s.Column == "" || s.Reason == "" {
			t.Errorf("sample %+v", s)
		}
	}

	// one more invalid row than allowed fails, wrapping a *RowError, as ReadCSV does
	opts.MaxInvalidRows = 8
	_, err := (&Source{DSN: dsn, Table: "bad_text"}).Summarize(context.Background(), cols, opts)
	var ire *summary.InvalidRowsError
	var re *summary.RowError
	if !errors.As(err, &ire) || ire.Count != 9 || ire.Max != 8 || !errors.As(err, &re) {
		t.Fatalf("more invalid rows than allowed: %v", err)
	}
	if pe := pipeline.Classify(err); pe.Reason != pipeline.ReasonInvalidData || !pe.Permanent {
		t.Errorf("classified %+v", pe)
	}

	// Reject: negative calibration and holdout amounts are invalid, future ones are future
	opts = summary.Options{CalibrationEnd: date("2024-06-30"), ObservationEnd: date("2024-12-31"), Returns: summary.ReturnsReject, MaxInvalidRows: 20}
	sameSummary(t, readCSV(t, data, cols, opts), summarize(t, &Source{DSN: dsn, Table: "bad_text"}, cols, opts))

	// typed columns: NULLs and infinities
	exec(t, dsn, "CREATE TABLE bad_typed (customer_id text, date timestamptz, amount float8)",
		`INSERT INTO bad_typed VALUES ('a', '2024-01-01', 10), (NULL, '2024-01-02', 1), ('', '2024-01-02', 1),
		 ('a', NULL, 1), ('a', 'infinity', 1), ('a', '-infinity', 1), ('a', '2024-01-03', NULL),
		 ('a', '2024-01-03', 'NaN'), ('a', '2024-01-03', 'Infinity'), ('b', '2024-01-04', 3)`)
	got = summarize(t, &Source{DSN: dsn, Table: "bad_typed"}, cols, summary.Options{CalibrationEnd: date("2024-12-31"), MaxInvalidRows: 8})
	if got.InvalidRows != 8 || got.Rows != 10 || len(got.Customers()) != 2 {
		t.Errorf("typed: %d invalid of %d rows, %d customers", got.InvalidRows, got.Rows, len(got.Customers()))
	}
}

func TestNoData(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	exec(t, dsn, "CREATE TABLE empty (customer_id text, date date, amount numeric)",
		"CREATE TABLE later (customer_id text, date date, amount numeric)",
		"INSERT INTO later VALUES ('a', '2030-01-01', 5)")
	cols := summary.Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount"}
	for _, table := range []string{"empty", "later"} {
		_, err := (&Source{DSN: dsn, Table: table}).Summarize(context.Background(), cols, summary.Options{CalibrationEnd: date("2024-12-31")})
		if !errors.Is(err, summary.ErrNoData) {
			t.Errorf("%s: %v", table, err)
		}
	}
}

// TestQuery: a query is a subquery, with a trailing semicolon or comment.
func TestQuery(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	data := []byte(shopCSV)
	load(t, dsn, "orders", "customer_id text, ordered_at timestamptz, amount numeric, channel text, country text", data)
	opts := summary.Options{CalibrationEnd: date("2026-10-31"), Unit: summary.Week}
	want := readCSV(t, data, shopCols, opts)
	for _, q := range []string{
		"SELECT * FROM orders",
		"SELECT customer_id, ordered_at, amount, channel, country FROM orders WHERE true;  ",
		"SELECT * FROM orders -- all of them",
		"WITH o AS (SELECT * FROM orders) SELECT * FROM o;",
	} {
		sameSummary(t, want, summarize(t, &Source{DSN: dsn, Query: q}, shopCols, opts))
	}
	// renamed columns
	cols := summary.Columns{CustomerID: "who", Timestamp: "when", Amount: "how much", Attributes: []string{"channel", "country"}}
	got := summarize(t, &Source{DSN: dsn, Query: `SELECT customer_id AS who, ordered_at AS "when", amount AS "how much", channel, country FROM orders`}, cols, opts)
	got.AttributeNames = want.AttributeNames
	sameSummary(t, want, got)

	// the statement runs read-only
	_, err := (&Source{DSN: dsn, Query: "SELECT * FROM orders FOR UPDATE"}).Summarize(context.Background(), shopCols, opts)
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("FOR UPDATE in a read-only transaction: %v", err)
	}
}

// TestHostileNames: table and column names are identifiers, never SQL.
func TestHostileNames(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	exec(t, dsn, "CREATE TABLE victims (x int)", "INSERT INTO victims VALUES (1)")
	hostile := []string{
		`x"; DROP TABLE victims; --`,
		`a" FROM victims; DROP TABLE victims; SELECT "`,
		`'); DROP TABLE victims; --`,
		`Mixed Case.with dot`,
		"new\nline\ttab",
		`back\slash`,
	}
	cols := summary.Columns{CustomerID: hostile[0], Timestamp: hostile[1], Amount: hostile[2], Attributes: hostile[3:]}
	schema, table := `s"; DROP TABLE victims; --`, `t.x"); DROP TABLE victims; --`
	ddl := fmt.Sprintf(`CREATE TABLE %s (%s text, %s date, %s numeric, %s text, %s text, %s text)`,
		pgx.Identifier{schema, table}.Sanitize(),
		ident(hostile[0]), ident(hostile[1]), ident(hostile[2]), ident(hostile[3]), ident(hostile[4]), ident(hostile[5]))
	exec(t, dsn, "CREATE SCHEMA "+ident(schema), ddl, fmt.Sprintf(`INSERT INTO %s VALUES ('a', '2024-01-01', 5, 'x', 'y', 'z'), ('a', '2024-02-01', 7, 'p', 'q', 'r')`,
		pgx.Identifier{schema, table}.Sanitize()))
	name := `"` + strings.ReplaceAll(schema, `"`, `""`) + `"."` + strings.ReplaceAll(table, `"`, `""`) + `"`
	for _, mode := range []Mode{ModeAggregate, ModeStream} {
		got := summarize(t, &Source{DSN: dsn, Table: name, Mode: mode}, cols, summary.Options{CalibrationEnd: date("2024-12-31")})
		if got.Len() != 1 || got.Customer(0).Frequency != 1 || fmt.Sprint(got.Customer(0).Attributes) != "[x y z]" ||
			fmt.Sprint(got.AttributeNames) != fmt.Sprint(cols.Attributes) {
			t.Errorf("hostile names, %s: %+v", mode, got.Customers())
		}
	}
	// a hostile name that does not exist is a missing column or table, nothing else
	for _, tc := range []struct {
		src  *Source
		cols summary.Columns
	}{
		{&Source{DSN: dsn, Table: name}, summary.Columns{CustomerID: `x" FROM victims; DROP TABLE victims; --`, Timestamp: hostile[1], Amount: hostile[2]}},
		{&Source{DSN: dsn, Table: `victims; DROP TABLE victims`}, cols},
		{&Source{DSN: dsn, Table: `public.victims"; DROP TABLE victims; --`}, cols},
	} {
		_, err := tc.src.Summarize(context.Background(), tc.cols, summary.Options{CalibrationEnd: date("2024-12-31")})
		if pe := pipeline.Classify(err); err == nil || !pe.Permanent || (pe.Reason != pipeline.ReasonMissingColumn && pe.Reason != pipeline.ReasonSourceNotFound && pe.Reason != pipeline.ReasonInvalidSpec) {
			t.Errorf("%q / %q: %v", tc.src.Table, tc.cols.CustomerID, err)
		}
	}
	var n int
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM victims").Scan(&n); err != nil || n != 1 {
		t.Fatalf("victims: %d, %v", n, err)
	}
}

func TestParseTableName(t *testing.T) {
	for in, want := range map[string]string{
		"orders":            "[orders]",
		"sales.orders":      "[sales orders]",
		"db.sales.orders":   "[db sales orders]",
		`"my.schema".Order`: "[my.schema Order]",
		`"a""b"."c"`:        `[a"b c]`,
		`Sales.Orders`:      "[Sales Orders]",
	} {
		got, err := ParseTableName(in)
		if err != nil || fmt.Sprint(got) != want {
			t.Errorf("%s: %v %v, want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", ".", "a.", ".a", `"a`, `"a"b`, "a.b.c.d"} {
		if got, err := ParseTableName(in); err == nil {
			t.Errorf("%q: %v, want an error", in, got)
		}
	}
}

// TestErrors: each failure has a reason, says whether a retry helps, and never carries the
// password or the connection string.
func TestErrors(t *testing.T) {
	srv := pgtest.Shared(t)
	dsn := pgtest.NewDatabase(t)
	exec(t, dsn, "CREATE TABLE orders (customer_id text, date date, amount numeric)", "INSERT INTO orders VALUES ('a', '2024-01-01', 5)",
		"CREATE ROLE reader LOGIN PASSWORD 'reader-secret-pw'")
	cols := summary.Columns{CustomerID: "customer_id", Timestamp: "date", Amount: "amount"}
	opts := summary.Options{CalibrationEnd: date("2024-12-31")}
	wrongPassword := strings.Replace(dsn, srv.Password, "s3cr3t-Wr0ng-pa55", 1)
	down := fmt.Sprintf("postgres://postgres:s3cr3t-D0wn-pa55@127.0.0.1:%d/db?sslmode=disable", closedPort(t))
	readerDSN := strings.Replace(dsn, "postgres:"+srv.Password, "reader:reader-secret-pw", 1)
	for _, tc := range []struct {
		name      string
		src       *Source
		reason    string
		permanent bool
		contains  string
		secret    string
	}{
		{"wrong password", &Source{DSN: wrongPassword, Table: "orders"}, pipeline.ReasonAccessDenied, true, "28P01", "s3cr3t-Wr0ng-pa55"},
		{"database down", &Source{DSN: down, Table: "orders", Timeout: 5 * time.Second}, pipeline.ReasonSourceUnavailable, false, "connection refused", "s3cr3t-D0wn-pa55"},
		{"unparsable DSN", &Source{DSN: "postgres://u:s3cr3t-Pars3-pa55@host:notaport/db", Table: "orders"}, pipeline.ReasonInvalidSpec, true, "cannot be parsed", "s3cr3t-Pars3-pa55"},
		{"missing database", &Source{DSN: strings.Replace(dsn, "/t", "/nodb_t", 1), Table: "orders"}, pipeline.ReasonSourceNotFound, true, "3D000", srv.Password},
		{"missing table", &Source{DSN: dsn, Table: "sales.orders"}, pipeline.ReasonSourceNotFound, true, `relation "sales.orders" does not exist`, srv.Password},
		{"missing column", &Source{DSN: dsn, Table: "orders"}, pipeline.ReasonMissingColumn, true, `"total"`, srv.Password},
		{"no privilege", &Source{DSN: readerDSN, Table: "orders"}, pipeline.ReasonAccessDenied, true, "42501", "reader-secret-pw"},
		{"query syntax", &Source{DSN: dsn, Query: "SELEKT 1"}, pipeline.ReasonInvalidSpec, true, "42601", srv.Password},
		{"statement timeout", &Source{DSN: dsn, Query: "SELECT o.* FROM orders o, pg_sleep(3)", Timeout: time.Second}, pipeline.ReasonSourceUnavailable, false, "57014", srv.Password},
	} {
		for _, mode := range []Mode{ModeAggregate, ModeStream} {
			t.Run(tc.name+"/"+string(mode), func(t *testing.T) {
				c := cols
				if tc.name == "missing column" {
					c.Amount = "total"
				}
				src := *tc.src
				src.Mode = mode
				_, err := src.Summarize(context.Background(), c, opts)
				if err == nil {
					t.Fatal("no error")
				}
				pe := pipeline.Classify(err)
				if pe.Reason != tc.reason || pe.Permanent != tc.permanent || !strings.Contains(err.Error(), tc.contains) {
					t.Errorf("%q: reason %s permanent %v, want %s %v containing %q", err, pe.Reason, pe.Permanent, tc.reason, tc.permanent, tc.contains)
				}
				for _, leak := range []string{tc.secret, tc.src.DSN} {
					if strings.Contains(err.Error(), leak) {
						t.Errorf("%q contains a secret", err)
					}
				}
				t.Log(err)
			})
		}
	}
}

func closedPort(t *testing.T) int {
	t.Helper()
	srv := pgtest.New(t) // a server stopped for good: nothing listens on its port
	srv.Stop()
	return srv.Port
}

// TestDigest: the digest is stable and follows the data.
func TestDigest(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	load(t, dsn, "orders", "customer_id text, ordered_at timestamptz, amount numeric, channel text, country text", []byte(shopCSV))
	src := &Source{DSN: dsn, Table: "orders"}
	opts := summary.Options{CalibrationEnd: date("2026-10-31")}
	a, b := summarize(t, src, shopCols, opts), summarize(t, src, shopCols, opts)
	if a.Digest != b.Digest {
		t.Errorf("digest not stable: %s %s", a.Digest, b.Digest)
	}
	exec(t, dsn, "UPDATE orders SET amount = amount + 0.01 WHERE customer_id = 'b'")
	if c := summarize(t, src, shopCols, opts); c.Digest == a.Digest {
		t.Error("digest unchanged after a data change")
	}
}
