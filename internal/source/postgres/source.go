// Package postgres is the PostgreSQL source of transactions: it computes the per-customer
// summary of package summary inside the database, with one SQL statement (GROUP BY customer),
// so that one row per customer crosses the network instead of one row per transaction. The same
// wire protocol reaches PostgreSQL-compatible warehouses.
//
// # Modes
//
// ModeAggregate (the default) runs that statement. Its core is a single GROUP BY over the
// customer column of the table, with aggregates only (FILTER, DISTINCT and ORDER BY inside
// aggregates; no window, no subquery between the table and the GROUP BY), so that a distributed
// database computes each customer's row where the customer's transactions are: postgres_fdw
// sends it to each foreign partition of a table hash-partitioned by the customer column
// (enable_partitionwise_aggregate), Citus to each worker of a table distributed by it. See
// docs/scaling.md for what each kind of database needs.
//
// ModeStream reads the rows instead (COPY ... TO STDOUT as CSV) and summarises them with
// summary.ReadCSV, with no sort or GROUP BY in the database: on one server that is quicker
// (docs/benchmarks.md), every row crossing the network.
//
// # Equivalence with the CSV path
//
// For the same transactions the summary equals summary.ReadCSV's: the same day merge (UTC
// calendar days), x, t_x and T in the time unit (whole days converted, so bit for bit the same
// floats), the same returns policy, holdout window, future rows, invalid rows and MaxInvalidRows.
// Money is summed exactly in numeric and converted to float64 once, so it agrees with the CSV
// path's float64 sums to far below a cent (the CSV path accumulates rounding errors of about
// 1e-16 relative per row). The differences in detail:
//
//   - Database values are typed: ids and attribute values are not trimmed of spaces as CSV
//     fields are, and a NULL attribute is "".
//   - Rows have no order in SQL, so when a customer's earliest purchases share the same timestamp
//     (date-only data: several orders on the first day), the attributes are those of the row
//     with the smallest attribute values (byte order for text columns, the type's order for
//     others, such as integers), not of the first row of a file. Invalid row samples have no
//     line numbers. In Stream mode ReadCSV takes the first such row the database sends, and
//     samples carry the row's line in the COPY output (the header is line 1); ids and
//     attribute values are trimmed of spaces there, as in CSV.
//   - A text timestamp column is parsed by PostgreSQL (the formats of the CSV path, in UTC unless
//     a zone is given); a value of the right shape that is no date (2026-02-30) fails the run
//     with InvalidData rather than counting as an invalid row. Text amounts that are not plain
//     decimal numbers are invalid rows, as in CSV.
//
// # Safety
//
// The table name and the column names are quoted as identifiers (pgx.Identifier.Sanitize), so
// they can never inject SQL; dates and the policy are bind parameters. A query is used as a
// subquery. Everything runs in a read-only transaction with statement_timeout set, in both
// modes.
package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ltv-operator/ltv-operator/internal/numeric"
	"github.com/ltv-operator/ltv-operator/internal/pipeline"
	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// Source reads the transactions of a table, or of a query's result, in a PostgreSQL-compatible
// database. It implements pipeline.Source.
type Source struct {
	// DSN is the connection string. It never appears in errors.
	DSN string
	// Table is the table or view, optionally schema-qualified ("sales.orders"); the names are
	// exact (case-sensitive) and may contain any character. A part may be double-quoted to
	// contain a dot ("my.schema".orders). Exactly one of Table and Query is set.
	Table string
	// Query is a SELECT whose result has the mapped columns.
	Query string
	// Timeout bounds the connection attempt and the statement (statement_timeout); 0 means no
	// bound beyond the context's.
	Timeout time.Duration
	// Mode is ModeAggregate (the summary computed by the database; the default when empty) or
	// ModeStream (the rows read with COPY and summarised by the operator).
	Mode Mode
	// Configure, when not nil, adjusts the connection configuration (tests and benchmarks wrap
	// the network connection with it).
	Configure func(*pgx.ConnConfig)
}

// maxInvalidSamples is how many invalid rows are reported, as in the CSV path.
const maxInvalidSamples = 5

// Summarize computes the summary: inside the database (ModeAggregate), or from the rows it
// reads (ModeStream).
func (s *Source) Summarize(ctx context.Context, cols summary.Columns, opts summary.Options) (*summary.Summary, error) {
	opts, unitDays, err := normalize(opts)
	if err != nil {
		return nil, err
	}
	rel, what, err := s.relation()
	if err != nil {
		return nil, err
	}
	if err := checkColumns(cols); err != nil {
		return nil, err
	}
	if s.Mode != "" && s.Mode != ModeAggregate && s.Mode != ModeStream {
		return nil, invalidSpec("spec.source.postgres.mode: unknown mode %q (want Aggregate or Stream)", s.Mode)
	}
	conn, err := Connect(ctx, s.DSN, s.Timeout, s.Configure)
	if err != nil {
		return nil, err
	}
	defer CloseConn(conn)
	fail := func(err error) error { return CleanError(err, what, s.DSN, conn.Config().Password) }

	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fail(err)
	}
	defer func() { // read only: nothing to commit
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tx.Rollback(ctx)
	}()
	settings := "SET LOCAL TimeZone = 'UTC'"
	if s.Timeout > 0 {
		settings += "; SET LOCAL statement_timeout = " + strconv.FormatInt(s.Timeout.Milliseconds(), 10)
	}
	// Simple protocol: two statements in one round trip, no parameters.
	if _, err := tx.Exec(ctx, settings, pgx.QueryExecModeSimpleProtocol); err != nil {
		return nil, fail(err)
	}

	// Describe the mapped columns (no rows are read): their types choose the conversions, and
	// a missing table or column fails here with its own SQLSTATE.
	names := append([]string{cols.CustomerID, cols.Timestamp, cols.Amount}, cols.Attributes...)
	probe := make([]string, len(names))
	for i, n := range names {
		probe[i] = "src." + ident(n)
	}
	sd, err := tx.Conn().Prepare(ctx, "", "SELECT "+strings.Join(probe, ", ")+" FROM "+rel+" AS src")
	if err != nil {
		if e := missingColumn(err, names); e != nil {
			return nil, e
		}
		return nil, fail(err)
	}
	major := serverMajor(conn)
	if s.Mode == ModeStream {
		// dates written as ReadCSV reads them, whatever the database's DateStyle
		if _, err := tx.Exec(ctx, "SET LOCAL DateStyle = 'ISO, YMD'", pgx.QueryExecModeSimpleProtocol); err != nil {
			return nil, fail(err)
		}
		return s.stream(ctx, tx, rel, names, sd.Fields, major, cols, opts, fail)
	}
	q := buildQuery(rel, names, sd.Fields, major)

	args := queryArgs(opts, unitDays, q.bound)
	sum, stats, err := s.readSummary(ctx, tx, q.summary, args, cols.Attributes, opts)
	if err != nil {
		return nil, fail(err)
	}
	if stats.invalid > 0 {
		samples, err := readSamples(ctx, tx, q.samples, args[:4], cols)
		if err != nil {
			return nil, fail(err)
		}
		for _, e := range stats.badIDs {
			e.Column = cols.CustomerID
		}
		samples = append(stats.badIDs, samples...)
		if len(samples) > maxInvalidSamples {
			samples = samples[:maxInvalidSamples]
		}
		sum.InvalidSamples = samples
		if stats.invalid > opts.MaxInvalidRows {
			var first *summary.RowError
			if len(samples) > 0 {
				first = samples[0]
			} else {
				first = &summary.RowError{Reason: "invalid row"}
			}
			return nil, &summary.InvalidRowsError{Count: stats.invalid, Max: opts.MaxInvalidRows, First: first}
		}
	}
	if sum.Len() == 0 {
		return nil, noData(sum, opts)
	}
	sum.Digest = digest(sum)
	return sum, nil
}

// queryArgs are the parameters of the summary statement of buildQuery; the sample statement
// takes the first four. bound is queries.bound.
func queryArgs(opts summary.Options, unitDays float64, bound uint32) []any {
	cal, obs := dateOf(opts.CalibrationEnd), dateOf(opts.ObservationEnd)
	// the exclusive bounds: midnight (UTC) after the calibration and the observation end
	var calNext, obsNext any
	switch next := func(d time.Time) time.Time { return d.AddDate(0, 0, 1) }; bound {
	case oidDate:
		calNext, obsNext = pgtype.Date{Time: next(cal), Valid: true}, pgtype.Date{Time: next(obs), Valid: true}
	case oidTimestz:
		calNext, obsNext = pgtype.Timestamptz{Time: next(cal), Valid: true}, pgtype.Timestamptz{Time: next(obs), Valid: true}
	default:
		calNext, obsNext = pgtype.Timestamp{Time: next(cal), Valid: true}, pgtype.Timestamp{Time: next(obs), Valid: true}
	}
	return []any{
		pgtype.Date{Time: cal, Valid: true},
		pgtype.Date{Time: obs, Valid: true},
		unitDays,
		string(opts.Returns),
		calNext, obsNext,
	}
}

// normalize applies the defaults of summary.Options and validates them as the Builder does.
func normalize(opts summary.Options) (summary.Options, float64, error) {
	if opts.Unit == "" {
		opts.Unit = summary.Week
	}
	if opts.Returns == "" {
		opts.Returns = summary.ReturnsNet
	}
	if opts.ObservationEnd.IsZero() {
		opts.ObservationEnd = opts.CalibrationEnd
	}
	var unitDays float64
	switch opts.Unit {
	case summary.Day, summary.Week, summary.Month:
		unitDays = 1 / opts.Unit.FromDays(1)
	}
	switch {
	case opts.CalibrationEnd.IsZero():
		return opts, 0, fmt.Errorf("%w: the calibration end is not set", summary.ErrInvalidOptions)
	case unitDays == 0:
		return opts, 0, fmt.Errorf("%w: unknown time unit %q (want Day, Week or Month)", summary.ErrInvalidOptions, opts.Unit)
	case opts.Returns != summary.ReturnsNet && opts.Returns != summary.ReturnsExclude && opts.Returns != summary.ReturnsReject:
		return opts, 0, fmt.Errorf("%w: unknown returns policy %q (want Net, Exclude or Reject)", summary.ErrInvalidOptions, opts.Returns)
	case opts.MaxInvalidRows < 0:
		return opts, 0, fmt.Errorf("%w: maxInvalidRows is negative (%d)", summary.ErrInvalidOptions, opts.MaxInvalidRows)
	case dateOf(opts.ObservationEnd).Before(dateOf(opts.CalibrationEnd)):
		return opts, 0, fmt.Errorf("%w: the observation end %s is before the calibration end %s", summary.ErrInvalidOptions,
			dateOf(opts.ObservationEnd).Format(time.DateOnly), dateOf(opts.CalibrationEnd).Format(time.DateOnly))
	}
	return opts, unitDays, nil
}

// dateOf is t's calendar date in its own location, as UTC midnight (the Builder's convention).
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func invalidSpec(format string, args ...any) error {
	return &pipeline.Error{Reason: pipeline.ReasonInvalidSpec, Permanent: true, Err: fmt.Errorf(format, args...)}
}

// relation returns the FROM item: the quoted table name or the parenthesised query, and what
// is being read, for messages.
func (s *Source) relation() (rel, what string, err error) {
	switch {
	case s.Table != "" && s.Query != "":
		return "", "", invalidSpec("spec.source.postgres: set either table or query, not both")
	case s.Table != "":
		parts, err := ParseTableName(s.Table)
		if err != nil {
			return "", "", invalidSpec("spec.source.postgres.table: %v", err)
		}
		return pgx.Identifier(parts).Sanitize(), "reading table " + s.Table, nil
	case strings.TrimSpace(s.Query) != "":
		q := strings.TrimSpace(s.Query)
		for strings.HasSuffix(q, ";") {
			q = strings.TrimSpace(strings.TrimSuffix(q, ";"))
		}
		// The line breaks keep a trailing -- comment from swallowing the parenthesis.
		return "(\n" + q + "\n)", "running spec.source.postgres.query", nil
	}
	return "", "", invalidSpec("spec.source.postgres: neither table nor query is set")
}

// ParseTableName splits a possibly schema-qualified table name (schema.table, or
// database.schema.table) into its parts. A part in double quotes may contain dots and doubled
// quotes ("a.b"."c""d"); otherwise the name is split at every dot. Names are exact, not
// folded to lower case.
func ParseTableName(name string) ([]string, error) {
	var parts []string
	i := 0
	for {
		var part string
		if i < len(name) && name[i] == '"' {
			var b strings.Builder
			j := i + 1
			for {
				k := strings.IndexByte(name[j:], '"')
				if k < 0 {
					return nil, fmt.Errorf("%q: unterminated quoted name", name)
				}
				b.WriteString(name[j : j+k])
				j += k + 1
				if j < len(name) && name[j] == '"' {
					b.WriteByte('"')
					j++
					continue
				}
				break
			}
			part, i = b.String(), j
			if i < len(name) && name[i] != '.' {
				return nil, fmt.Errorf("%q: a quoted name must be followed by a dot or the end", name)
			}
		} else {
			k := strings.IndexByte(name[i:], '.')
			if k < 0 {
				k = len(name) - i
			}
			part, i = name[i:i+k], i+k
		}
		if part == "" {
			return nil, fmt.Errorf("%q: empty name", name)
		}
		parts = append(parts, part)
		if i == len(name) {
			break
		}
		i++ // the dot
	}
	if len(parts) > 3 {
		return nil, fmt.Errorf("%q: at most database.schema.table", name)
	}
	return parts, nil
}

func checkColumns(cols summary.Columns) error {
	for _, c := range append([]string{cols.CustomerID, cols.Timestamp, cols.Amount}, cols.Attributes...) {
		if c == "" {
			return &summary.ColumnError{Reason: "a mapped column name is empty"}
		}
	}
	return nil
}

// missingColumn turns an undefined-column error of the describe step into a *ColumnError.
func missingColumn(err error, names []string) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42703" {
		return nil
	}
	for _, n := range names {
		if pgErr.Message == "column src."+n+" does not exist" {
			return &summary.ColumnError{Column: n, Reason: "not found in the table or query"}
		}
	}
	return &summary.ColumnError{Reason: pgErr.Message + " (SQLSTATE 42703)"}
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

func serverMajor(conn *pgx.Conn) int {
	v := conn.PgConn().ParameterStatus("server_version")
	end := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	if end >= 0 {
		v = v[:end]
	}
	n, _ := strconv.Atoi(v)
	return n
}

// Type OIDs the conversions know.
const (
	oidInt2, oidInt4, oidInt8          = 21, 23, 20
	oidFloat4, oidFloat8, oidNumeric   = 700, 701, 1700
	oidMoney                           = 790
	oidDate, oidTimestamp, oidTimestz  = 1082, 1114, 1184
	timestampPattern                   = `^[[:space:]]*([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])([Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?)?|[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01]))[[:space:]]*$`
	amountPattern                      = `^[[:space:]]*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,3})?[[:space:]]*$`
	maxIDLengthLiteral                 = summary.MaxIDLength
	reasonEmptyID, reasonLongID        = 1, 2
	reasonBadTimestamp, reasonBadAmout = 3, 4
	reasonRejectedReturn               = 5
	reasonAmountTooLarge               = 6
	maxAmountLiteral                   = "1e15" // summary.MaxAmount
)

// timestampExpr converts column c into a timestamp (without time zone) in UTC, NULL when it is
// missing or not a finite date or time.
func timestampExpr(c string, oid uint32) string {
	switch oid {
	case oidDate:
		return fmt.Sprintf("CASE WHEN isfinite(%[1]s) THEN %[1]s::timestamp END", c)
	case oidTimestamp:
		return fmt.Sprintf("CASE WHEN isfinite(%[1]s) THEN %[1]s END", c)
	case oidTimestz:
		// AT TIME ZONE with an interval, not 'UTC': the same conversion, but a function of
		// the value alone, which postgres_fdw sends to a shard (it ships no function of a text
		// constant that depends on a collation)
		return fmt.Sprintf("CASE WHEN isfinite(%[1]s) THEN %[1]s AT TIME ZONE INTERVAL '00:00' END", c)
	}
	// text or anything else: the CSV path's formats, zone-less values in UTC (the session's
	// TimeZone is UTC)
	return fmt.Sprintf("CASE WHEN %[1]s::text ~ '%[2]s' THEN %[1]s::text::timestamptz AT TIME ZONE 'UTC' END", c, timestampPattern)
}

// typedTimestamp says whether timestampExpr converts a typed value (no text parsing).
func typedTimestamp(oid uint32) bool {
	return oid == oidDate || oid == oidTimestamp || oid == oidTimestz
}

// typedAmount says whether amountExpr converts a typed value (no text parsing).
func typedAmount(oid uint32) bool {
	switch oid {
	case oidInt2, oidInt4, oidInt8, oidMoney, oidFloat4, oidFloat8, oidNumeric:
		return true
	}
	return false
}

// amountExpr converts column c into numeric, NULL when it is missing or not a finite number.
func amountExpr(c string, oid uint32, major int) string {
	switch oid {
	case oidInt2, oidInt4, oidInt8, oidMoney:
		return c + "::numeric"
	case oidFloat4, oidFloat8:
		return fmt.Sprintf("CASE WHEN %[1]s NOT IN ('NaN', 'Infinity', '-Infinity') THEN %[1]s::numeric END", c)
	case oidNumeric:
		if major >= 14 { // numeric infinities exist since PostgreSQL 14
			return fmt.Sprintf("CASE WHEN %[1]s NOT IN ('NaN', 'Infinity', '-Infinity') THEN %[1]s END", c)
		}
		return fmt.Sprintf("CASE WHEN %[1]s <> 'NaN' THEN %[1]s END", c)
	}
	return fmt.Sprintf("CASE WHEN %[1]s::text ~ '%[2]s' THEN %[1]s::text::numeric END", c, amountPattern)
}

type queries struct {
	summary, samples string
	// bound is the type of the summary's time bounds $5 and $6: the time column's (date,
	// timestamp or timestamptz), or timestamp for a time parsed from text
	bound uint32
}

// Type OIDs whose text form is the value itself (text-like) or is one-to-one with the value
// (integers, uuid): a column of these types is grouped or ordered by as it is, which a
// distributed database can do on its shards (postgres_fdw ships no I/O conversion to text).
const (
	oidText, oidVarchar, oidBpchar, oidName = 25, 1043, 1042, 19
	oidUUID                                 = 2950
)

func isTextLike(oid uint32) bool {
	return oid == oidText || oid == oidVarchar || oid == oidBpchar || oid == oidName
}

// buildQuery writes the summary statement and the invalid-row sample statement.
// Parameters: $1 calibration end (date), $2 observation end (date), $3 days per time unit
// (float8), $4 returns policy (Net, Exclude, Reject), $5 and $6 the first instants after the
// calibration and the observation end in the time column's type (queryArgs).
//
// The summary is one GROUP BY over the customer key of the table with plain aggregates
// (FILTER, DISTINCT, ORDER BY inside the aggregate): no window, and between the table and the
// GROUP BY only a derived table of column expressions, which the planner pulls up. That is the
// shape a distributed database runs next to the data, once per shard: postgres_fdw ships it
// whole to each foreign partition of a table partitioned by the customer column (partitionwise
// aggregation), Citus to each worker of a table distributed by it. The statement around it
// (nested subqueries, no CTE: older servers would materialise one) only converts, one row per
// customer; it sorts nothing (readSummary sorts the customers by id).
//
// PostgreSQL computes each use of a typed row value again, in every aggregate's FILTER, so
// the conditions compare the typed columns as they are (the time with typed bounds, the
// amount with numbers) and the conversion to a day is used only where a day is aggregated. A
// text timestamp or amount is parsed once per row behind an OFFSET 0 fence instead: such a
// conversion depends on the session and cannot run on a shard anyway.
//
// The first purchase day's value (refunds of that day included) is the one field an aggregate
// cannot filter for, since the day is itself an aggregate: the calibration rows' amounts and
// days are collected in day order and the slice of the first purchase day's rows is kept
// (array_position and array_positions find it), usually one or two values per customer, which
// readSummary sums, so that the statement around the GROUP BY needs no subquery.
func buildQuery(rel string, names []string, fields []pgconn.FieldDescription, major int) queries {
	id, ts, amt := "src."+ident(names[0]), "src."+ident(names[1]), "src."+ident(names[2])
	nattr := len(names) - 3

	// the customer key: text as it is, integers and uuids raw (converted to text outside the
	// aggregate), anything else converted to text first
	idOID := fields[0].DataTypeOID
	key, outID := id+"::text", "c.gid"
	if idOID == oidInt2 || idOID == oidInt4 || idOID == oidInt8 || idOID == oidUUID {
		key, outID = id, "c.gid::text"
	}
	tsOID, amtOID := fields[1].DataTypeOID, fields[2].DataTypeOID
	tsExpr, amtExpr := timestampExpr(ts, tsOID), amountExpr(amt, amtOID, major)

	// The row: gid the customer key; tm the time, compared with the bounds $5 and $6 as it
	// is (typed columns) or as parsed (text); day its UTC calendar day; amt the amount,
	// compared as it is; num the amount as numeric, for the exact sums.
	var row, aggs, outAttrs strings.Builder
	fence := ""
	maxAmt := maxAmountLiteral
	bound := uint32(oidTimestamp)
	switch {
	case !typedTimestamp(tsOID) || !typedAmount(amtOID) || amtOID == oidMoney:
		// text (or money, whose conversion depends on the session): converted once per row
		// behind a fence; such a conversion cannot run on a shard anyway
		fmt.Fprintf(&row, "SELECT %s AS gid, %s AS tm, (%[2]s)::date AS day, %s AS amt, %[3]s AS num", key, tsExpr, amtExpr)
		fence = "\n    OFFSET 0"
	default:
		day := ts
		switch tsOID {
		case oidTimestamp:
			day = ts + "::date"
		case oidTimestz:
			// AT TIME ZONE with an interval, not 'UTC': the same conversion, but a function
			// of the value alone, which postgres_fdw ships (see timestampExpr)
			day = "(" + ts + " AT TIME ZONE INTERVAL '00:00')::date"
		}
		num := amt
		switch amtOID {
		case oidNumeric:
		case oidFloat4, oidFloat8:
			num, maxAmt = amt+"::numeric", maxAmountLiteral+"::float8"
		default: // integers
			num, maxAmt = amt+"::numeric", "1000000000000000"
		}
		fmt.Fprintf(&row, "SELECT %s AS gid, %s AS tm, %s AS day, %s AS amt, %s AS num", key, ts, day, amt, num)
		bound = tsOID
	}
	order := "t.tm"
	for i := range nattr {
		a := "src." + ident(names[3+i])
		if isTextLike(fields[3+i].DataTypeOID) {
			// NULL is "", ties broken in byte order (~<~ compares bytes, whatever the collation)
			fmt.Fprintf(&row, ", CASE WHEN %[1]s IS NULL THEN '' ELSE %[1]s::text END AS a%[2]d", a, i)
			order += fmt.Sprintf(", t.a%d USING ~<~", i)
			fmt.Fprintf(&outAttrs, ", a%d", i)
		} else {
			// typed: ties broken in the type's order, the value converted to text outside
			fmt.Fprintf(&row, ", %s AS a%d", a, i)
			order += fmt.Sprintf(", t.a%d", i)
			fmt.Fprintf(&outAttrs, ", coalesce(a%d::text, '')", i)
		}
	}
	// ok: the time and the amount are valid (NULL, infinite, NaN or too large are not; a NULL
	// or empty id is a group of its own). The time is compared with the exclusive bounds $5
	// (the day after the calibration end) and $6 (the day after the observation end) in its
	// own type, so that a condition costs a comparison, not a conversion.
	ok := fmt.Sprintf("isfinite(t.tm) AND t.amt BETWEEN -%[1]s AND %[1]s", maxAmt)
	var (
		// valid: a transaction that counts, up to the observation end (Reject: a negative
		// amount is invalid; Exclude: it is excluded)
		valid    = ok + " AND t.tm < $6 AND (t.amt >= 0 OR $4::text = 'Net')"
		cal      = ok + " AND t.tm < $5 AND (t.amt >= 0 OR $4::text = 'Net')"
		buy      = ok + " AND t.tm < $5 AND t.amt >= 0"
		hold     = ok + " AND t.tm >= $5 AND t.tm < $6 AND (t.amt >= 0 OR $4::text = 'Net')"
		holdBuy  = ok + " AND t.tm >= $5 AND t.tm < $6 AND t.amt >= 0"
		future   = ok + " AND t.tm >= $6"
		excluded = ok + " AND t.tm < $6 AND t.amt < 0 AND $4::text = 'Exclude'"
	)
	for i := range nattr {
		fmt.Fprintf(&aggs, ",\n    (array_agg(t.a%d ORDER BY %s) FILTER (WHERE %s))[1] AS a%[1]d", i, order, buy)
	}
	days := fmt.Sprintf("array_agg(t.day ORDER BY t.day) FILTER (WHERE %s)", cal)
	first := fmt.Sprintf("min(t.day) FILTER (WHERE %s)", buy)

	var q strings.Builder
	fmt.Fprintf(&q, `SELECT CASE WHEN cid = '' OR octet_length(cid) > %[15]d THEN NULL ELSE cid END,
  first_day, last_day, days::int4,
  CASE WHEN days > 0 THEN (last_day - first_day)::float8 / $3::float8 END AS recency,
  CASE WHEN days > 0 THEN ($1::date - first_day)::float8 / $3::float8 END AS age,
  first_values::float8[],
  coalesce(total, 0)::float8, orders::int4, holdout_days::int4, coalesce(holdout_value, 0)::float8,
  -- a customer whose id is unusable (NULL, empty, too long) is only invalid rows
  CASE WHEN cid IS NULL OR cid = '' OR octet_length(cid) > %[15]d THEN 0 ELSE nrows END::int8,
  CASE WHEN cid IS NULL OR cid = '' OR octet_length(cid) > %[15]d THEN all_rows ELSE all_rows - nrows - future - excluded END::int8,
  CASE WHEN cid IS NULL OR cid = '' OR octet_length(cid) > %[15]d THEN 0 ELSE future END::int8,
  CASE WHEN cid IS NULL OR cid = '' OR octet_length(cid) > %[15]d THEN 0 ELSE excluded END::int8%[16]s
FROM (
  SELECT %[14]s AS cid, c.* FROM (
    SELECT t.gid,
      count(*) AS all_rows,
      count(*) FILTER (WHERE %[1]s) AS nrows,
      count(*) FILTER (WHERE %[2]s) AS future,
      count(*) FILTER (WHERE %[3]s) AS excluded,
      %[4]s AS first_day,
      max(t.day) FILTER (WHERE %[5]s) AS last_day,
      count(DISTINCT t.day) FILTER (WHERE %[5]s) AS days,
      sum(t.num) FILTER (WHERE %[6]s) AS total,
      count(*) FILTER (WHERE %[6]s) AS orders,
      (array_agg(t.num ORDER BY t.day) FILTER (WHERE %[6]s))[
        array_position(%[7]s, %[4]s) :
        array_position(%[7]s, %[4]s) + cardinality(array_positions(%[7]s, %[4]s)) - 1] AS first_values,
      count(DISTINCT t.day) FILTER (WHERE %[8]s) AS holdout_days,
      sum(t.num) FILTER (WHERE %[9]s) AS holdout_value%[10]s
    FROM (
      %[11]s
      FROM %[12]s AS src%[13]s
    ) AS t
    GROUP BY t.gid
  ) AS c
) AS r
WHERE $2::date IS NOT NULL -- $2 is not used otherwise: mentioned so that its type is known`,
		valid, future, excluded, first, buy, cal, days, holdBuy, hold, aggs.String(),
		row.String(), rel, fence, outID, maxIDLengthLiteral, outAttrs.String())

	// why: the reason of an invalid row, in the order of the CSV path's checks.
	// ($1 and $3 are unused here: they are mentioned so that their types are known.)
	samples := fmt.Sprintf(`SELECT why, raw_id, raw_ts, raw_amt FROM (
  SELECT raw_id, raw_ts, raw_amt,
    CASE WHEN id IS NULL OR id = '' THEN %d
         WHEN octet_length(id) > %d THEN %d
         WHEN ts IS NULL THEN %d
         WHEN amt IS NULL THEN %d
         WHEN abs(amt) > %s THEN %d
         WHEN ts::date <= $2::date AND amt < 0 AND $4::text = 'Reject' THEN %d
         ELSE 0 END AS why
  FROM (
  SELECT %s::text AS id, %s AS ts, %s AS amt,
    %s::text AS raw_id, %s::text AS raw_ts, %s::text AS raw_amt
  FROM %s AS src
  ) AS t
) AS s
WHERE why <> 0 AND $1::date IS NOT NULL AND $3::float8 > 0
LIMIT %d`, reasonEmptyID, maxIDLengthLiteral, reasonLongID, reasonBadTimestamp, reasonBadAmout, maxAmountLiteral, reasonAmountTooLarge, reasonRejectedReturn,
		id, tsExpr, amtExpr, id, ts, amt, rel, maxInvalidSamples)
	return queries{summary: q.String(), samples: samples, bound: bound}
}

type stats struct {
	invalid int
	// badIDs are customers whose ids cannot be used (invalid UTF-8: a SQL_ASCII database), each
	// as a sample of its rows, which are invalid.
	badIDs []*summary.RowError
}

// readSummary runs the summary statement and builds the Summary.
func (s *Source) readSummary(ctx context.Context, tx pgx.Tx, sql string, args []any, attrNames []string, opts summary.Options) (*summary.Summary, stats, error) {
	var st stats
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, st, err
	}
	defer rows.Close()
	app := summary.NewAppender(opts, attrNames)
	var sum summary.Summary // the counts; the customers are in app
	nattr := len(attrNames)
	var (
		cid                       pgtype.Text
		first, last               pgtype.Date
		days, orders, holdDays    int32
		recency, age              pgtype.Float8
		firstValues               []float64 // the values of the first purchase day's rows
		total, holdValue          float64
		nrows                     int64
		invalid, future, excluded pgtype.Int8
		attrs                     = make([]pgtype.Text, nattr)
		dest                      = make([]any, 0, 15+nattr)
		tuple                     = make([]string, nattr)
	)
	dest = append(dest, &cid, &first, &last, &days, &recency, &age, &firstValues, &total, &orders, &holdDays, &holdValue,
		&nrows, &invalid, &future, &excluded)
	for i := range attrs {
		dest = append(dest, &attrs[i])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, st, err
		}
		// every group counts its rows: a customer's valid, invalid, future and excluded rows,
		// or all rows of an unusable id (NULL cid) as invalid
		sum.Rows += int(nrows + invalid.Int64 + future.Int64 + excluded.Int64)
		st.invalid += int(invalid.Int64)
		sum.FutureRows += int(future.Int64)
		sum.ExcludedReturns += int(excluded.Int64)
		if !cid.Valid { // the rows of no customer
			continue
		}
		if !utf8.ValidString(cid.String) || strings.IndexByte(cid.String, 0) >= 0 {
			// PostgreSQL text cannot hold a NUL byte, but a SQL_ASCII database holds any other
			// byte: refused as the CSV path refuses them
			st.invalid += int(nrows)
			e := &summary.RowError{Value: trunc(cid.String), Reason: "is not valid UTF-8"}
			if strings.IndexByte(cid.String, 0) >= 0 {
				e.Reason = "contains a NUL byte"
			}
			st.badIDs = append(st.badIDs, e)
			continue
		}
		if days == 0 {
			if holdDays > 0 {
				sum.HoldoutOnlyCustomers++
			}
			continue
		}
		// Monetary: the mean value of the repeat days, the calibration total less the first
		// purchase day's value, refunds of that day included (package summary's convention)
		monetary := 0.0
		if days > 1 {
			// in a fixed order: the database returns the day's rows in any order, and the
			// summary (its digest) must not depend on it
			slices.Sort(firstValues)
			first := 0.0
			for _, v := range firstValues {
				first += v
			}
			monetary = (total - first) / float64(days-1)
		}
		c := summary.Customer{
			ID:                  cid.String,
			FirstPurchase:       first.Time,
			LastPurchase:        last.Time,
			Frequency:           int(days - 1),
			Monetary:            monetary,
			HistoricValue:       total,
			Orders:              int(orders),
			HoldoutTransactions: int(holdDays),
			HoldoutValue:        holdValue,
		}
		if nattr > 0 {
			for i, a := range attrs {
				tuple[i] = a.String
			}
			c.Attributes = tuple // the Appender shares equal tuples, as the Builder does
		}
		app.Append(c)
		sum.Transactions += int(days)
	}
	if err := rows.Err(); err != nil {
		return nil, st, err
	}
	sum.InvalidRows = st.invalid
	// byte order, whatever the database's collation did
	out := app.Summary()
	out.Rows, out.FutureRows, out.ExcludedReturns = sum.Rows, sum.FutureRows, sum.ExcludedReturns
	out.HoldoutOnlyCustomers, out.Transactions, out.InvalidRows = sum.HoldoutOnlyCustomers, sum.Transactions, sum.InvalidRows
	return withRevenue(out), st, nil
}

// withRevenue sets sum.Revenue, the compensated sum of the customers' historic values.
func withRevenue(sum *summary.Summary) *summary.Summary {
	var revenue numeric.Sum
	for i := range sum.Len() {
		revenue.Add(sum.Customer(i).HistoricValue)
	}
	sum.Revenue = revenue.Value()
	return sum
}

// readSamples reads the first few invalid rows.
func readSamples(ctx context.Context, tx pgx.Tx, sql string, args []any, cols summary.Columns) ([]*summary.RowError, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*summary.RowError
	for rows.Next() {
		var why int32
		var id, ts, amt pgtype.Text
		if err := rows.Scan(&why, &id, &ts, &amt); err != nil {
			return nil, err
		}
		e := &summary.RowError{}
		switch why {
		case reasonEmptyID:
			e.Column, e.Reason = cols.CustomerID, "customer ID is empty"
		case reasonLongID:
			e.Column, e.Value, e.Reason = cols.CustomerID, trunc(id.String), fmt.Sprintf("is longer than %d bytes", summary.MaxIDLength)
		case reasonBadTimestamp:
			e.Column, e.Value, e.Reason = cols.Timestamp, trunc(ts.String), "is not a date or timestamp (want a date, timestamp or timestamptz, or text as 2006-01-02, 20060102, RFC 3339 or 2006-01-02 15:04:05)"
			if !ts.Valid {
				e.Value, e.Reason = "", "is NULL"
			}
		case reasonBadAmout:
			e.Column, e.Value, e.Reason = cols.Amount, trunc(amt.String), "is not a number"
			if !amt.Valid {
				e.Value, e.Reason = "", "is NULL"
			}
		case reasonAmountTooLarge:
			e.Column, e.Value, e.Reason = cols.Amount, trunc(amt.String), summary.AmountTooLargeReason
		case reasonRejectedReturn:
			e.Column, e.Value, e.Reason = cols.Amount, trunc(amt.String), "is negative and returns is Reject"
		}
		if id.Valid && why != reasonEmptyID && why != reasonLongID {
			e.Reason += fmt.Sprintf(" (customer %s)", trunc(id.String))
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func trunc(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

func noData(sum *summary.Summary, opts summary.Options) error {
	end := dateOf(opts.CalibrationEnd).Format(time.DateOnly)
	if sum.Rows == 0 {
		return fmt.Errorf("%w: no data rows", summary.ErrNoData)
	}
	detail := ""
	if sum.FutureRows > 0 {
		detail += fmt.Sprintf(", %d after the observation end %s", sum.FutureRows, dateOf(opts.ObservationEnd).Format(time.DateOnly))
	}
	if sum.InvalidRows > 0 {
		detail += fmt.Sprintf(", %d invalid", sum.InvalidRows)
	}
	if sum.ExcludedReturns > 0 {
		detail += fmt.Sprintf(", %d negative amounts excluded", sum.ExcludedReturns)
	}
	return fmt.Errorf("%w: no transactions on or before the calibration end %s (%d data rows%s)", summary.ErrNoData, end, sum.Rows, detail)
}

// digest is "sha256:<hex>" of the summary: every customer's row as read and the counts. It
// changes when the data that enters the computation changes.
func digest(sum *summary.Summary) string {
	h := sha256.New()
	var buf []byte
	str := func(s string) {
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	num := func(v int64) { buf = binary.AppendVarint(buf, v) }
	flt := func(v float64) { buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v)) }
	for _, n := range sum.AttributeNames {
		str(n)
	}
	for i := range sum.Len() {
		c := sum.Customer(i)
		str(c.ID)
		for _, a := range c.Attributes {
			str(a)
		}
		num(c.FirstPurchase.Unix())
		num(c.LastPurchase.Unix())
		num(int64(c.Frequency))
		num(int64(c.Orders))
		num(int64(c.HoldoutTransactions))
		flt(c.Recency)
		flt(c.Age)
		flt(c.Monetary)
		flt(c.HistoricValue)
		flt(c.HoldoutValue)
		if len(buf) > 64<<10 {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	for _, v := range []int{sum.Rows, sum.FutureRows, sum.ExcludedReturns, sum.InvalidRows, sum.HoldoutOnlyCustomers} {
		num(int64(v))
	}
	h.Write(buf)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
