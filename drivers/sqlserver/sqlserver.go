// Package sqlserver is migrate's SQL Server driver, on go-mssqldb.
// URLs: sqlserver://user:pass@host:1433?database=db (an instance name goes in
// the path: sqlserver://user:pass@host/SQLEXPRESS?database=db); every
// go-mssqldb URL parameter is accepted. Scripts are cut into batches on GO
// lines, as sqlcmd and SSMS do.
//
// A migration runs in one transaction with its bookkeeping. When the server
// rolls that transaction back on its own (XACT_ABORT, some conversion
// errors) without the failing batch reporting it, go-mssqldb since v1.10.0
// refuses every later statement and the commit (go-mssqldb#244, fixed by
// #370), so the failure surfaces at the next batch, the state write or the
// commit, each reported with the version, instead of the rest of the
// migration running in autocommit.
package sqlserver

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"

	"github.com/migrate-dev/migrate/drivers/sqlstore"
	"github.com/migrate-dev/migrate/migrator"
	"github.com/migrate-dev/migrate/migrator/sqlsplit"
)

func init() {
	migrator.Register(Open, "sqlserver")
	migrator.RegisterDialect(lintDialect, "sqlserver")
}

var lintDialect = migrator.Dialect{Name: "sqlserver", Lex: Dialect}

// LintDialect lets the engine read this driver's scripts for data loss.
func (d *Driver) LintDialect() migrator.Dialect { return lintDialect }

// CountRows replaces sqlstore's: COUNT_BIG, because count(*) is an int on
// SQL Server and overflows above 2^31 rows.
func (d *Driver) CountRows(ctx context.Context, table string) (int64, error) {
	var n int64
	err := d.db.QueryRowContext(ctx, `SELECT COUNT_BIG(*) FROM `+table).Scan(&n)
	return n, err
}

// Dialect is T-SQL's lexical rules: [bracketed] identifiers, nested block
// comments and GO batch separators. Semicolons never split: a batch goes to
// the server whole, so procedure and trigger bodies stay intact. N'...'
// strings lex as plain quotes.
var Dialect = sqlsplit.Dialect{Brackets: true, NestedComments: true, BatchSeparator: "GO"}

// defaultDialTimeout bounds connecting to an unreachable host. go-mssqldb's
// "connection timeout" is deliberately not defaulted: it is a deadline on
// every socket read for the connection's whole life, so it would cut off
// any migration statement that runs longer.
const defaultDialTimeout = "10"

// Driver is a SQL Server database.
type Driver struct {
	*sqlstore.Store
	db     *sql.DB
	schema string
	// resource is the sp_getapplock name; applocks are per database, so
	// the schema and state table make it unique within one.
	resource string
}

// Open connects to the database named by cfg.URL.
func Open(ctx context.Context, cfg migrator.Config) (migrator.Driver, error) {
	// sqlserver:sa:pw@host read as no host: the local server was used.
	if err := migrator.CheckSlashes(cfg.URL); err != nil {
		return nil, err
	}
	dsn := connString(cfg.URL, cfg.AppName)
	// Parse first so that a bad URL is reported at once; msdsn's messages
	// never quote the password.
	if _, err := msdsn.Parse(dsn); err != nil {
		return nil, fmt.Errorf("%w: %s", migrator.ErrBadURL, migrator.PlainNumbers(err))
	}
	db, err := sql.Open("sqlserver", dsn)
	if err != nil {
		return nil, err
	}
	schema := cfg.Schema
	if schema == "" {
		var name sql.NullString
		if err := db.QueryRowContext(ctx, `SELECT SCHEMA_NAME()`).Scan(&name); err != nil {
			db.Close()
			return nil, err
		}
		schema = name.String
		if schema == "" {
			schema = "dbo"
		}
	}
	d := &Driver{db: db, schema: schema, resource: "migrate:" + schema + "." + cfg.StateTable}
	d.Store = &sqlstore.Store{
		DB: db,
		Dialect: sqlstore.Dialect{
			Placeholder:  func(n int) string { return fmt.Sprintf("@p%d", n) },
			CreateTables: func(state, history string) []string { return createTables(schema, state, history) },
			TableExists: func(ctx context.Context, db *sql.DB, name string) (bool, error) {
				var exists int
				err := db.QueryRowContext(ctx, `SELECT CASE WHEN OBJECT_ID(@p1, N'U') IS NULL THEN 0 ELSE 1 END`, qualify(schema, name)).Scan(&exists)
				return exists == 1, err
			},
			CurrentUser: `SELECT SUSER_SNAME()`,
			ErrorLine:   errorLine,
			BoolValue: func(v bool) any {
				if v {
					return 1
				}
				return 0
			},
		},
		StateTable:   qualify(schema, cfg.StateTable),
		HistoryTable: qualify(schema, cfg.HistoryTable),
		StateName:    cfg.StateTable,
		HistoryName:  cfg.HistoryTable,
	}
	return d, nil
}

// connString passes the URL on as go-mssqldb parses it, adding a dial
// timeout and an application name (shown to lock waiters) unless the URL
// sets them. go-mssqldb matches parameter names case-insensitively and
// refuses duplicates, so the check is case-insensitive too.
func connString(u *url.URL, appName string) string {
	if appName == "" {
		appName = "migrate"
	}
	out := *u
	q := out.Query()
	has := func(key string) bool {
		for k := range q {
			if strings.EqualFold(k, key) {
				return true
			}
		}
		return false
	}
	if !has(msdsn.DialTimeout) {
		q.Set(msdsn.DialTimeout, defaultDialTimeout)
	}
	if !has(msdsn.AppName) {
		q.Set(msdsn.AppName, appName)
	}
	out.RawQuery = q.Encode()
	return out.String()
}

func quote(name string) string { return "[" + strings.ReplaceAll(name, "]", "]]") + "]" }

func qualify(schema, table string) string { return quote(schema) + "." + quote(table) }

// literal is an N'...' string literal.
func literal(s string) string { return "N'" + strings.ReplaceAll(s, "'", "''") + "'" }

// createTables is idempotent DDL: T-SQL has no CREATE ... IF NOT EXISTS, and
// CREATE SCHEMA must be alone in its batch, hence EXEC.
func createTables(schema, state, history string) []string {
	return []string{
		`IF SCHEMA_ID(` + literal(schema) + `) IS NULL EXEC(` + literal("CREATE SCHEMA "+quote(schema)) + `)`,
		`IF OBJECT_ID(` + literal(state) + `, N'U') IS NULL
CREATE TABLE ` + state + ` (
	version BIGINT NOT NULL PRIMARY KEY,
	name NVARCHAR(MAX) NOT NULL,
	checksum NVARCHAR(MAX) NOT NULL,
	status NVARCHAR(MAX) NOT NULL,
	applied_at DATETIME2 NOT NULL,
	failed_statement INT NULL,
	error NVARCHAR(MAX) NULL
)`,
		`IF OBJECT_ID(` + literal(history) + `, N'U') IS NULL
CREATE TABLE ` + history + ` (
	id BIGINT IDENTITY(1,1) NOT NULL PRIMARY KEY,
	version BIGINT NOT NULL,
	name NVARCHAR(MAX) NOT NULL,
	direction NVARCHAR(MAX) NOT NULL,
	checksum NVARCHAR(MAX) NOT NULL,
	started_at DATETIME2 NOT NULL,
	duration_ms FLOAT NOT NULL,
	success BIT NOT NULL,
	error NVARCHAR(MAX) NULL,
	db_user NVARCHAR(MAX) NOT NULL,
	os_user NVARCHAR(MAX) NOT NULL,
	host NVARCHAR(MAX) NOT NULL,
	tool_version NVARCHAR(MAX) NOT NULL
)`,
	}
}

// errorLine returns the line inside the batch where SQL Server located the
// error. LineNo counts from the start of the batch sent. An error that names
// a procedure, function or trigger counts lines in that module's text: that
// is the batch itself when the batch creates or alters it, and some other
// text (a module the batch called) otherwise, which is not reported. The
// first error is the cause; later ones ("The statement has been
// terminated") follow from it.
func errorLine(err error, batch string) int {
	var me mssql.Error
	if !errors.As(err, &me) {
		return 0
	}
	first := me
	if len(me.All) > 0 {
		first = me.All[0]
	}
	if first.ProcName != "" && !definesModule(batch, first.ProcName) {
		return 0
	}
	line := int(first.LineNo)
	if line < 1 || line > strings.Count(batch, "\n")+1 {
		return 0
	}
	return line
}

// definesModule reports whether batch is a CREATE or ALTER whose text
// names the module.
func definesModule(batch, module string) bool {
	fields := strings.Fields(batch)
	if len(fields) == 0 {
		return false
	}
	verb := strings.ToUpper(fields[0])
	return (verb == "CREATE" || verb == "ALTER") && strings.Contains(strings.ToLower(batch), strings.ToLower(module))
}

// Split cuts a script into GO batches.
func (d *Driver) Split(sql string) ([]sqlsplit.Statement, error) {
	return sqlsplit.Split(sql, Dialect)
}

// lockResult says what an sp_getapplock return code means.
type lockResult int

const (
	lockGranted lockResult = iota
	lockBusy
	lockFailed
)

// interpretGetAppLock maps sp_getapplock's return code: 0 and 1 are
// granted; with @LockTimeout = 0, -1 means another session holds the lock
// and is worth polling again; the rest are errors.
func interpretGetAppLock(code int) (lockResult, error) {
	switch code {
	case 0, 1:
		return lockGranted, nil
	case -1:
		return lockBusy, nil
	case -2:
		return lockFailed, errors.New("sp_getapplock: the lock request was cancelled (-2)")
	case -3:
		return lockFailed, errors.New("sp_getapplock: the lock request was chosen as a deadlock victim (-3)")
	case -999:
		return lockFailed, errors.New("sp_getapplock: parameter validation or other call error (-999)")
	default:
		return lockFailed, fmt.Errorf("sp_getapplock: unexpected return code %d", code)
	}
}

// Lock polls sp_getapplock with @LockTimeout = 0 on one pinned connection.
// The lock is owned by the session, not a transaction, so it outlives the
// per-migration transactions, which run on that same session
// (sqlstore.LockSession says why), and the server frees it if this process
// dies.
func (d *Driver) Lock(ctx context.Context, timeout time.Duration) (func(context.Context) error, error) {
	return d.LockSession(ctx, timeout, sqlstore.SessionLock{
		Try: func(ctx context.Context, conn *sql.Conn) (bool, error) {
			var code int
			err := conn.QueryRowContext(ctx, `DECLARE @result int;
EXEC @result = sp_getapplock @Resource = @p1, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;
SELECT @result`, d.resource).Scan(&code)
			if err != nil {
				return false, err
			}
			res, err := interpretGetAppLock(code)
			if err != nil {
				return false, fmt.Errorf("lock %q: %w", d.resource, err)
			}
			return res == lockGranted, nil
		},
		Holder: d.holder,
		Release: func(ctx context.Context, conn *sql.Conn) error {
			var code int
			err := conn.QueryRowContext(ctx, `DECLARE @result int;
EXEC @result = sp_releaseapplock @Resource = @p1, @LockOwner = 'Session';
SELECT @result`, d.resource).Scan(&code)
			if err == nil && code < 0 {
				err = fmt.Errorf("sp_releaseapplock returned %d", code)
			}
			if err != nil {
				return fmt.Errorf("releasing the migration lock %q: %w", d.resource, err)
			}
			return nil
		},
	})
}

// holder names the session holding the lock. sys.dm_tran_locks shows only
// the first 32 characters of an application lock's name, and needs VIEW
// SERVER STATE; without it sys.dm_exec_sessions shows only our own session.
// The documentation spells a granted request_status GRANTED while servers
// and the scripts written against them use GRANT, so both are accepted.
func (d *Driver) holder(ctx context.Context, conn *sql.Conn) string {
	prefix := d.resource
	if r := []rune(prefix); len(r) > 32 {
		prefix = string(r[:32])
	}
	var session int
	var login, host, program, since sql.NullString
	err := conn.QueryRowContext(ctx, `
SELECT TOP (1) l.request_session_id, s.login_name, s.host_name, s.program_name,
       CONVERT(nvarchar(30), s.login_time, 120)
FROM sys.dm_tran_locks l
LEFT JOIN sys.dm_exec_sessions s ON s.session_id = l.request_session_id
WHERE l.resource_type = 'APPLICATION' AND l.request_status IN ('GRANT', 'GRANTED')
  AND l.resource_database_id = DB_ID() AND l.request_session_id <> @@SPID
  AND CHARINDEX(@p1, l.resource_description) > 0`, prefix).Scan(&session, &login, &host, &program, &since)
	if errors.Is(err, sql.ErrNoRows) {
		return "another SQL Server session (it may have released the lock just now)"
	}
	if err != nil {
		return fmt.Sprintf("another SQL Server session (naming it needs VIEW SERVER STATE permission: %v)", err)
	}
	if !login.Valid {
		return fmt.Sprintf("SQL Server session %d (VIEW SERVER STATE permission is needed for its details)", session)
	}
	return fmt.Sprintf("SQL Server session %d (login %s, host %s, program %q, logged in %s)", session, login.String, host.String, program.String, since.String)
}

// Close closes the pool.
func (d *Driver) Close() error { return d.db.Close() }

// DB returns the underlying pool, for tests and schema snapshots.
func (d *Driver) DB() *sql.DB { return d.db }

// Schema returns the schema that holds migrate's tables.
func (d *Driver) Schema() string { return d.schema }
