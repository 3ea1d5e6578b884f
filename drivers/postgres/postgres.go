// Package postgres is migrate's PostgreSQL driver, on pgx v5.
// URLs: postgres://user:pass@host:5432/db?sslmode=disable (or postgresql://);
// every pgx connection parameter is accepted.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/migrate-dev/migrate/drivers/sqlstore"
	"github.com/migrate-dev/migrate/migrator"
	"github.com/migrate-dev/migrate/migrator/sqlsplit"
)

func init() {
	migrator.Register(Open, "postgres", "postgresql")
	migrator.RegisterDialect(lintDialect, "postgres", "postgresql")
}

var lintDialect = migrator.Dialect{Name: "postgres", Lex: Dialect}

// LintDialect lets the engine read this driver's scripts for data loss.
func (d *Driver) LintDialect() migrator.Dialect { return lintDialect }

// Dialect is PostgreSQL's lexical rules: dollar-quoted bodies, nested
// block comments, E” strings, and BEGIN ATOMIC ... END function bodies.
var Dialect = sqlsplit.Dialect{DollarQuotes: true, NestedComments: true, BeginEnd: true, Parens: true, NoCopyFromStdin: true}

// Driver is a PostgreSQL database.
type Driver struct {
	*sqlstore.Store
	db      *sql.DB
	schema  string
	lockKey int64
	cfg     migrator.Config
	// snaps keeps the last snapshot's tables for the next one.
	snaps snapshots
	// track follows the statements run while verify tracks changes.
	track tracker
}

// cancelWait bounds the wait for the server to confirm a cancelled
// statement before the connection is closed instead.
const cancelWait = 5 * time.Second

// Open connects to the database named by cfg.URL.
func Open(ctx context.Context, cfg migrator.Config) (migrator.Driver, error) {
	return open(ctx, cfg, nil)
}

// open is Open with a hook on the connection settings, so that a test can
// watch the wire.
func open(ctx context.Context, cfg migrator.Config, tweak func(*pgx.ConnConfig)) (*Driver, error) {
	// CREATE SCHEMA refuses pg_*, and information_schema would take
	// migrate's tables, which pg_dump leaves out with the rest of it.
	if strings.HasPrefix(cfg.Schema, "pg_") || cfg.Schema == "information_schema" {
		return nil, fmt.Errorf("schema %q is %w: PostgreSQL reserves names starting with pg_ for its catalogue, and pg_dump leaves information_schema out; choose another", cfg.Schema, migrator.ErrReservedSchema)
	}
	u := *cfg.URL
	q, add := u.Query(), url.Values{}
	if q.Get("connect_timeout") == "" {
		// An unreachable host should fail in seconds, not minutes.
		add.Set("connect_timeout", "10")
	}
	if q.Get("application_name") == "" {
		add.Set("application_name", "migrate")
	}
	// Added to the query as written, not encoded again with it: pgx reads
	// a URL as libpq does, where "+" is not a space, and Encode wrote the
	// space of options=-c%20statement_timeout%3D60000 as one.
	if len(add) > 0 && u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += add.Encode()
	// postgres:db or postgres:user@host: pgx would read it as a
	// key=value string and send the server a parameter named
	// "postgres:db?application_name".
	if err := migrator.CheckSlashes(&u); err != nil {
		return nil, err
	}
	conn := u.String()
	if !strings.Contains(conn, "://") {
		// postgres:// with nothing after it, which libpq reads as every
		// default (the local socket, the OS user): url.URL.String drops
		// the "//" and pgx, as for postgres:db, misreads the rest.
		conn = strings.Replace(conn, ":", "://", 1)
	}
	connConfig, err := pgx.ParseConfig(conn)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", migrator.ErrBadURL, parseConfigReason(err))
	}
	// An interrupted run (Ctrl-C, SIGTERM) cancels the statement in flight
	// on the server and waits for the server to confirm, keeping the
	// session and its lock: the transaction is then known to be rolled back
	// and the failure is recorded on the same session. pgx's default closes
	// the connection instead and sends the cancel from a goroutine that
	// the exiting process may never run, so the server could go on and
	// commit a migration the run reported as not applied. A server that
	// does not answer within cancelWait gets its connection closed.
	connConfig.BuildContextWatcherHandler = func(pg *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pg, DeadlineDelay: cancelWait}
	}
	// A migrate killed mid-statement (or whose host vanished) leaves its
	// session running the statement to its end, holding the migration
	// lock and its transaction's locks, until the server next writes to
	// the dead socket: a long data migration kept them for minutes. With
	// this setting the server checks the socket every second while a
	// query runs and ends the session. A URL that sets it wins.
	checkAdded := false
	if _, set := connConfig.RuntimeParams[checkInterval]; !set && !strings.Contains(connConfig.RuntimeParams["options"], checkInterval) {
		connConfig.RuntimeParams[checkInterval] = "1000"
		checkAdded = true
	}
	if tweak != nil {
		tweak(connConfig)
	}
	db, schema, err := connect(ctx, connConfig, cfg.Schema)
	if err != nil && checkAdded && refused(err, checkInterval) {
		// PostgreSQL before 14 does not know it, a pooler (pgbouncer)
		// refuses startup parameters it does not pass on, and platforms
		// without POLLRDHUP allow only 0: connect as before, without it.
		delete(connConfig.RuntimeParams, checkInterval)
		db, schema, err = connect(ctx, connConfig, cfg.Schema)
	}
	if err != nil {
		return nil, startupParameter(err)
	}
	d := &Driver{db: db, schema: schema, cfg: cfg}
	qualified := func(t string) string { return quote(schema) + "." + quote(t) }
	h := fnv.New64a()
	h.Write([]byte("migrate:" + schema + "." + cfg.StateTable))
	d.lockKey = int64(h.Sum64())
	d.Store = &sqlstore.Store{
		DB: db,
		Dialect: sqlstore.Dialect{
			Placeholder: func(n int) string { return fmt.Sprintf("$%d", n) },
			CreateTables: func(state, history string) []string {
				return []string{
					// CREATE SCHEMA IF NOT EXISTS needs CREATE on the database
					// even when the schema is there, which a user who owns
					// only the schema lacks: create it only when missing.
					`DO $migrate$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ` + quoteLiteral(schema) + `) THEN CREATE SCHEMA ` + quote(schema) + `; END IF; END $migrate$`,
					`CREATE TABLE IF NOT EXISTS ` + state + ` (
	version BIGINT PRIMARY KEY,
	name TEXT NOT NULL,
	checksum TEXT NOT NULL,
	status TEXT NOT NULL,
	applied_at TIMESTAMPTZ NOT NULL,
	failed_statement INTEGER,
	error TEXT
)`,
					`CREATE TABLE IF NOT EXISTS ` + history + ` (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	version BIGINT NOT NULL,
	name TEXT NOT NULL,
	direction TEXT NOT NULL,
	checksum TEXT NOT NULL,
	started_at TIMESTAMPTZ NOT NULL,
	duration_ms DOUBLE PRECISION NOT NULL,
	success BOOLEAN NOT NULL,
	error TEXT,
	db_user TEXT NOT NULL,
	os_user TEXT NOT NULL,
	host TEXT NOT NULL,
	tool_version TEXT NOT NULL
)`,
				}
			},
			TableExists: func(ctx context.Context, db *sql.DB, name string) (bool, error) {
				var ok bool
				err := db.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, qualified(name)).Scan(&ok)
				return ok, err
			},
			CurrentUser:        `SELECT current_user`,
			ErrorLine:          errorLine,
			ResetSession:       resetSession,
			AbandonTransaction: "ROLLBACK",
			OwnSession:         ownSession,
		},
		StateTable:   qualified(cfg.StateTable),
		HistoryTable: qualified(cfg.HistoryTable),
		StateName:    cfg.StateTable,
		HistoryName:  cfg.HistoryTable,
	}
	return d, nil
}

// checkInterval is the server setting that makes it notice, while a query
// runs, that its client is gone (PostgreSQL 14 and later).
const checkInterval = "client_connection_check_interval"

// connect opens the pool and connects now, so that a wrong host,
// password, database or URL parameter is reported by open, with the URL,
// rather than by the first command; the schema query connects when there
// is one. It returns the schema that holds migrate's tables.
func connect(ctx context.Context, connConfig *pgx.ConnConfig, schema string) (*sql.DB, string, error) {
	db := stdlib.OpenDB(*connConfig)
	var err error
	if schema == "" {
		var current sql.NullString
		var path string
		err = db.QueryRowContext(ctx, `SELECT current_schema(), current_setting('search_path')`).Scan(&current, &path)
		if err == nil && !current.Valid {
			err = noSchema(path, connConfig)
		}
		schema = current.String
	} else {
		err = db.PingContext(ctx)
		if err == nil {
			err = schemaCase(ctx, db, schema)
		}
	}
	if err != nil {
		db.Close()
		return nil, "", err
	}
	return db, schema, nil
}

// refused reports a server (or pooler) refusing to start a session with
// the setting name: PostgreSQL names it in its error, pgbouncer in its
// "unsupported startup parameter".
func refused(err error, name string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && strings.Contains(pe.Message, name)
}

// resetSession undoes, after each migration, the session settings its
// script made with SET (not SET LOCAL), SET ROLE or set_config(..., false):
// pg_dump's output starts by emptying search_path. They outlived the
// migration on the run's one session, so the next migration's tables went
// to another schema, or ran as another role, only when both ran in the
// same `up`. RESET ALL returns to the URL's settings; it leaves the role
// alone, which SET SESSION AUTHORIZATION DEFAULT resets. DISCARD TEMP drops
// the temporary tables a script made: the next migration of the same run
// could read them, and failed when run on its own.
var resetSession = []string{ownSession, `RESET ALL`, `DISCARD TEMP`}

// ownSession is the part of resetSession that also runs before each
// migration's bookkeeping, in its transaction: a script's SET ROLE to a
// role that may not write migrate's tables made that bookkeeping fail.
// RESET ALL waits until after it, as it would clear migrate.step_start.
const ownSession = `SET SESSION AUTHORIZATION DEFAULT`

// startupParameter explains the server refusing a URL parameter: pgx
// sends every parameter it does not know to the server as a setting, so a
// misspelled one (connect_timout=5) failed to connect with "unrecognized
// configuration parameter", and a bad value with "invalid value for
// parameter", which are the URL's fault, not the server's.
func startupParameter(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "42704": // undefined_object
		return fmt.Errorf("%w: a URL parameter is neither a pgx option nor a setting the server knows (misspelled?): %w", migrator.ErrBadURL, err)
	case "22023": // invalid_parameter_value
		return fmt.Errorf("%w: a URL parameter has a value the server refuses: %w", migrator.ErrBadURL, err)
	}
	return err
}

// noSchema explains a search_path that names no schema that exists:
// migrate's tables go in the first one when --schema is not given, and the
// NULL current_schema() failed to scan. Set in the URL, it is the URL's
// fault; set for the role or the database, it is not.
func noSchema(path string, c *pgx.ConnConfig) error {
	msg := fmt.Sprintf("search_path %q names no schema that exists in database %s, so migrate's tables have nowhere to go: create the schema, name one that exists, or pass --schema", path, c.Database)
	if c.RuntimeParams["search_path"] != "" || strings.Contains(c.RuntimeParams["options"], "search_path") {
		return fmt.Errorf("%w: %s", migrator.ErrBadURL, msg)
	}
	return errors.New(msg + " (the search_path comes from the settings of the role or the database)")
}

func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func quoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// errorLine maps PgError.Position, a 1-based count of characters (not
// bytes) into the statement sent, to a line inside the statement.
func errorLine(err error, stmt string) int {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Position <= 0 {
		return 0
	}
	line, chars := 1, 0
	for _, r := range stmt {
		chars++
		if chars >= int(pe.Position) {
			break
		}
		if r == '\n' {
			line++
		}
	}
	return line
}

// Split cuts a script with PostgreSQL's rules.
func (d *Driver) Split(sql string) ([]sqlsplit.Statement, error) {
	return sqlsplit.Split(sql, Dialect)
}

// Lock polls pg_try_advisory_lock on one pinned connection, the session
// every migration then runs on (sqlstore.LockSession says why). It never
// waits inside pg_advisory_lock, because a session blocked there while the
// holder runs CREATE INDEX CONCURRENTLY deadlocks with it.
func (d *Driver) Lock(ctx context.Context, timeout time.Duration) (func(context.Context) error, error) {
	return d.LockSession(ctx, timeout, sqlstore.SessionLock{
		Try: func(ctx context.Context, conn *sql.Conn) (got bool, err error) {
			err = conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, d.lockKey).Scan(&got)
			return got, err
		},
		Holder: d.holder,
		Release: func(ctx context.Context, conn *sql.Conn) error {
			_, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, d.lockKey)
			return err
		},
	})
}

// holder names the session holding the lock, from pg_locks.
func (d *Driver) holder(ctx context.Context, conn *sql.Conn) string {
	var pid int
	var user, app, addr, since string
	err := conn.QueryRowContext(ctx, `
SELECT a.pid, coalesce(a.usename, ''), coalesce(a.application_name, ''),
       coalesce(host(a.client_addr), 'local socket'), coalesce(to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ'), '')
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = ($1::bigint >> 32)::bigint::oid AND l.objid = ($1::bigint & 4294967295)::bigint::oid AND l.objsubid = 1
LIMIT 1`, d.lockKey).Scan(&pid, &user, &app, &addr, &since)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("PostgreSQL backend pid %d (user %s, application %q, from %s, connected %s)", pid, user, app, addr, since)
}

// Close closes the pool.
func (d *Driver) Close() error { return d.db.Close() }

// DB returns the underlying pool, for tests and schema snapshots.
func (d *Driver) DB() *sql.DB { return d.db }

// Schema returns the schema that holds migrate's tables.
func (d *Driver) Schema() string { return d.schema }

// schemaCase refuses a schema name that exists only in lower case: the
// server folds an unquoted name (CREATE SCHEMA MySchema made myschema), while
// migrate quotes it, so a second schema "MySchema" was created beside the
// one meant and migrate's tables went there. A name no schema has, in any
// case, is created as written.
func schemaCase(ctx context.Context, db *sql.DB, schema string) error {
	lower := strings.ToLower(schema)
	if lower == schema {
		return nil
	}
	var exact, folded bool
	err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1), EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $2)`, schema, lower).Scan(&exact, &folded)
	if err != nil || exact || !folded {
		return err
	}
	return fmt.Errorf("schema %q: %w; %q exists: PostgreSQL folds a name written without quotes to lower case, and migrate takes --schema as written; pass --schema %s", schema, migrator.ErrNoSuchSchema, lower, lower)
}

// parseConfigReason is why pgx refused the URL, without its "cannot parse
// `URL`: " prefix: that URL is the one migrate passed on, with the
// defaults it added (application_name, connect_timeout) that the user
// never wrote, and migrate's own message already names the URL given.
func parseConfigReason(err error) string {
	msg := migrator.PlainNumbers(err)
	if rest, ok := strings.CutPrefix(msg, "cannot parse `"); ok {
		if i := strings.Index(rest, "`: "); i >= 0 {
			return rest[i+len("`: "):]
		}
	}
	return msg
}
