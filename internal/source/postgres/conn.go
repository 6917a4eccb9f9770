package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ltv-operator/ltv-operator/internal/pipeline"
)

// Connect opens a connection with a connection string (a libpq URL or key=value DSN). timeout
// bounds the connection attempt (0: the connection string's connect_timeout, if any); configure,
// when not nil, adjusts the parsed configuration.
//
// Errors never contain the connection string or the password: they are *pipeline.Error values
// built from the SQLSTATE and the server's message, or from the network error (see CleanError).
func Connect(ctx context.Context, dsn string, timeout time.Duration, configure func(*pgx.ConnConfig)) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// The parse error quotes the (redacted on a best-effort basis) connection string and
		// the URL parser's error quotes it whole: say what is wrong without either.
		return nil, &pipeline.Error{Reason: pipeline.ReasonInvalidSpec, Permanent: true,
			Err: errors.New("the connection string cannot be parsed (want a libpq URL such as postgres://user:password@host:5432/db or key=value pairs)")}
	}
	if timeout > 0 && (cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > timeout) {
		cfg.ConnectTimeout = timeout
	}
	// Unnamed prepared statements: binary results, and safe behind transaction-pooling
	// poolers (PgBouncer), which named prepared statements are not.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeDescribeExec
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "ltv-operator"
	}
	if configure != nil {
		configure(cfg)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, CleanError(err, "connecting to the database", dsn, cfg.Password)
	}
	return conn, nil
}

// CloseConn closes a connection, waiting at most a few seconds for the server (a dead network
// must not hold the run).
func CloseConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}

// CleanError turns an error of pgx into a *pipeline.Error whose message says what failed
// (doing: "connecting to the database", "reading table x") with the SQLSTATE and the server's
// message, or the network error, and never the connection string: every occurrence of the
// secrets given (the connection string, the password) is masked too, as a last line of defence.
//
// Authentication failures and missing or inaccessible objects are permanent; a database that is
// down, restarting, overloaded or unreachable is not, nor is a timeout.
func CleanError(err error, doing string, secrets ...string) *pipeline.Error {
	if err == nil {
		return nil
	}
	var pe *pipeline.Error
	if errors.As(err, &pe) {
		return pe
	}
	out := &pipeline.Error{Reason: pipeline.ReasonSourceUnavailable}
	var msg string
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.As(err, &pgErr):
		msg = fmt.Sprintf("%s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
		if pgErr.Detail != "" && !isAuth(pgErr.Code) {
			msg += ": " + pgErr.Detail
		}
		out.Reason, out.Permanent = classifySQLState(pgErr.Code)
		if pgErr.Code == "25006" {
			msg += " (the source is read in a read-only transaction: the query must only read)"
		}
		if pgErr.Code == "57014" {
			msg += " (the statement ran longer than timeoutSeconds, or the run was cancelled)"
		}
	case errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err):
		msg = "timed out"
	case errors.Is(err, context.Canceled):
		msg = "cancelled"
	case errors.As(err, &netErr):
		msg = netErr.Error()
	default:
		var ce *pgconn.ConnectError
		if errors.As(err, &ce) {
			// "failed to connect to `user=... database=...`: <host> (<name>): <cause>"
			msg = errors.Unwrap(ce).Error()
		} else {
			msg = err.Error()
		}
	}
	out.Err = errors.New(doing + ": " + mask(msg, secrets...))
	return out
}

func isAuth(code string) bool { return strings.HasPrefix(code, "28") }

// classifySQLState maps a SQLSTATE to a reason and whether a retry can help, by the code's
// class (its first two characters) with a few codes of their own.
//
// Permanent: the query, the data or the grants must change first. 0A feature not supported (a
// data-modifying WITH in a subquery), 21 cardinality, 22 data exception, 25 invalid transaction
// state (25006: a write in the read-only transaction, from a function, a data-modifying CTE or
// SELECT ... FOR UPDATE), 28 authorization, 2B/2F/38/39 routine errors, 3D/3F/42P01 missing
// objects, 42 syntax or access rule, 44 check option, P0 PL/pgSQL RAISE.
//
// Transient: 08 connection, 40 rollback (serialization failure, deadlock), 53 insufficient
// resources, 55 object not in prerequisite state (a lock not available), 57 operator
// intervention (shutdown, starting up, statement timeout), 58 system error, XX internal, and
// every class not listed.
func classifySQLState(code string) (reason string, permanent bool) {
	class := code
	if len(class) > 2 {
		class = class[:2]
	}
	switch {
	case isAuth(code): // 28000 invalid authorization, 28P01 wrong password
		return pipeline.ReasonAccessDenied, true
	case code == "42501": // insufficient_privilege
		return pipeline.ReasonAccessDenied, true
	case code == "3D000", code == "3F000", code == "42P01": // no such database, schema, table
		return pipeline.ReasonSourceNotFound, true
	case code == "42703": // undefined column
		return pipeline.ReasonMissingColumn, true
	case code == "25P03": // idle_in_transaction_session_timeout: the session was closed
		return pipeline.ReasonSourceUnavailable, false
	}
	switch class {
	case "42", "0A", "25", "2B", "2F", "38", "39", "44", "P0": // the query cannot run as written
		return pipeline.ReasonInvalidSpec, true
	case "21", "22": // data exception (a text value that does not convert), cardinality
		return pipeline.ReasonInvalidData, true
	}
	return pipeline.ReasonSourceUnavailable, false
}

// mask replaces every occurrence of the secrets (at least 4 bytes long) in s.
func mask(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "xxxxx")
		}
	}
	return s
}
