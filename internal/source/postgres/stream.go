package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ltv-operator/ltv-operator/internal/summary"
)

// Mode is how the source computes the summary.
type Mode string

const (
	// ModeAggregate computes the per-customer summary inside the database (one GROUP BY over
	// the customer key): one row per customer crosses the network. The default.
	ModeAggregate Mode = "Aggregate"
	// ModeStream reads every row (COPY ... TO STDOUT as CSV) and computes the summary in the
	// operator with summary.ReadCSV: no sort or GROUP BY in the database, every row on the
	// network. Quicker where the database is one server and the network is fast.
	ModeStream Mode = "Stream"
)

// errStopped closes the pipe when the CSV reader stops before the end of the COPY (too many
// invalid rows): the COPY then fails with it and is not reported.
var errStopped = errors.New("the summary stopped reading")

// stream column aliases: the CSV header names ReadCSV reads, independent of the mapped names
// (which may hold spaces ReadCSV would trim, or repeat); errors name the mapped columns again.
const (
	streamID, streamTime, streamAmount = "id", "ts", "amount"
)

func streamAttr(i int) string { return fmt.Sprintf("a%d", i) }

// streamQuery is the COPY statement of Stream mode: the mapped columns as text, each typed
// value written in a form ReadCSV parses (a timestamp in UTC without zone, an amount as a
// plain number), a value it cannot use left empty (NULL, an infinite date, a NaN amount), so
// that the row is invalid in the same way. Text columns are sent as they are and parsed as
// CSV fields are.
func streamQuery(rel string, names []string, fields []pgconn.FieldDescription, major int) string {
	id, ts, amt := "src."+ident(names[0]), "src."+ident(names[1]), "src."+ident(names[2])
	tsOut := ts + "::text"
	if typedTimestamp(fields[1].DataTypeOID) {
		tsOut = timestampExpr(ts, fields[1].DataTypeOID)
		if fields[1].DataTypeOID == oidDate {
			tsOut = fmt.Sprintf("CASE WHEN isfinite(%[1]s) THEN %[1]s END", ts)
		}
	}
	amtOut := amt + "::text"
	if typedAmount(fields[2].DataTypeOID) {
		amtOut = amountExpr(amt, fields[2].DataTypeOID, major)
	}
	cols := []string{
		id + "::text AS " + streamID,
		tsOut + " AS " + streamTime,
		amtOut + " AS " + streamAmount,
	}
	for i := range len(names) - 3 {
		cols = append(cols, fmt.Sprintf("src.%s::text AS %s", ident(names[3+i]), streamAttr(i)))
	}
	return fmt.Sprintf("COPY (SELECT %s FROM %s AS src) TO STDOUT WITH (FORMAT csv, HEADER true)", strings.Join(cols, ", "), rel)
}

// stream runs Stream mode in the transaction tx: the COPY writes into a pipe that ReadCSV,
// on this goroutine, reads.
func (s *Source) stream(ctx context.Context, tx pgx.Tx, rel string, names []string, fields []pgconn.FieldDescription, major int,
	cols summary.Columns, opts summary.Options, fail func(error) error) (*summary.Summary, error) {
	sql := streamQuery(rel, names, fields, major)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := tx.Conn().PgConn().CopyTo(ctx, pw, sql)
		if err == nil {
			err = io.EOF
		}
		pw.CloseWithError(err)
		done <- err
	}()
	alias := summary.Columns{CustomerID: streamID, Timestamp: streamTime, Amount: streamAmount}
	for i := range cols.Attributes {
		alias.Attributes = append(alias.Attributes, streamAttr(i))
	}
	sum, err := summary.ReadCSV(pr, alias, opts)
	pr.CloseWithError(errStopped) // a COPY still writing fails with errStopped
	cerr := <-done
	if cerr != nil && cerr != io.EOF && !errors.Is(cerr, errStopped) {
		return nil, fail(cerr) // the database's error (a timeout, a failed conversion), not ReadCSV's
	}
	rename := func(e *summary.RowError) {
		if e == nil {
			return
		}
		switch e.Column {
		case streamID:
			e.Column = cols.CustomerID
		case streamTime:
			e.Column = cols.Timestamp
		case streamAmount:
			e.Column = cols.Amount
		default:
			for i := range cols.Attributes {
				if e.Column == streamAttr(i) {
					e.Column = cols.Attributes[i]
				}
			}
		}
	}
	if err != nil {
		var re *summary.RowError
		if errors.As(err, &re) {
			rename(re)
		}
		return nil, err
	}
	for _, e := range sum.InvalidSamples {
		rename(e)
	}
	sum.AttributeNames = append([]string(nil), cols.Attributes...)
	return sum, nil
}
