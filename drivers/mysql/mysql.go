// Package mysql is migrate's MySQL and MariaDB driver, on go-sql-driver/mysql.
// URLs: mysql://user:pass@host:3306/db?param=value. The password is
// percent-decoded; every go-sql-driver DSN parameter (tls, charset, ...) and
// system variable is passed through. MySQL commits DDL implicitly, so the
// driver tells the engine to run migrations statement by statement and
// record per-statement progress instead of relying on a transaction.
package mysql

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/migrate-dev/migrate/drivers/sqlstore"
	"github.com/migrate-dev/migrate/migrator"
	"github.com/migrate-dev/migrate/migrator/sqlsplit"
)

func init() {
	migrator.Register(Open, "mysql")
	migrator.RegisterDialect(lintDialect, "mysql")
}

var lintDialect = migrator.Dialect{Name: "mysql", Lex: Dialect}

// LintDialect lets the engine read this driver's scripts for data loss,
// and stream large ones, with the lexical rules of its session.
func (d *Driver) LintDialect() migrator.Dialect {
	return migrator.Dialect{Name: "mysql", Lex: d.dialect}
}

// Dialect is MySQL's lexical rules: `identifiers`, # comments, "-- "
// comments only with a space after the dashes, backslash
// escapes in '...' and "..." strings, the client's DELIMITER command, and
// BEGIN ... END bodies of procedures and triggers written without it.
var Dialect = sqlsplit.Dialect{
	Backticks: true, HashComments: true, DashCommentNeedsSpace: true, BackslashEscapes: true,
	DoubleQuoteStrings: true, ExecutableComments: true, Delimiter: true, BeginEnd: true,
}

// DefaultConnectTimeout bounds the dial when the URL sets no timeout, so an
// unreachable host fails in seconds rather than after the OS gives up.
const DefaultConnectTimeout = 10 * time.Second

// Driver is a MySQL or MariaDB database.
type Driver struct {
	*sqlstore.Store
	db       *sql.DB
	cfg      migrator.Config
	database string
	// urlDatabase is the database the URL names, where scripts run.
	urlDatabase string
	lockName    string
	track       tracker
	// dialect is Dialect as the session's sql_mode has it.
	dialect sqlsplit.Dialect
}

// DSNConfig turns a mysql:// URL into go-sql-driver's configuration.
// Statements are never sent several at a time: the engine splits scripts
// itself, so multiStatements is forced off.
func DSNConfig(u *url.URL) (*mysql.Config, error) {
	if err := migrator.CheckSlashes(u); err != nil {
		return nil, err
	}
	c, err := mysql.ParseDSN("/?" + u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", migrator.ErrBadURL, badOption(u.RawQuery, err))
	}
	c.User = u.User.Username()
	c.Passwd, _ = u.User.Password()
	c.Net = "tcp"
	if strings.ContainsAny(u.Host, "()") {
		// go-sql-driver's own form, user@tcp(host:3306)/db or
		// user@unix(/path/to.sock)/db, written after mysql://: the
		// parenthesis or the socket's path read as the database name.
		return nil, fmt.Errorf("%w: the host %q is part of go-sql-driver's DSN form (tcp(host:port) or unix(socket)), which is not a URL: write mysql://user:pass@host:3306/dbname", migrator.ErrBadURL, u.Host)
	}
	if p := u.Port(); p != "" {
		// Dialled as given, 99999 failed as a connection error (exit 4).
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%w: port %s is not between 1 and 65535", migrator.ErrBadURL, p)
		}
	}
	if u.Host != "" {
		c.Addr = u.Host
	}
	c.DBName = strings.TrimPrefix(u.Path, "/")
	if c.DBName == "" {
		return nil, fmt.Errorf("%w: it names no database: use mysql://user:pass@host:3306/dbname", migrator.ErrBadURL)
	}
	if strings.Contains(c.DBName, "/") {
		return nil, fmt.Errorf("%w: the path %q names more than a database: use mysql://user:pass@host:3306/dbname", migrator.ErrBadURL, u.Path)
	}
	c.ParseTime = true
	c.MultiStatements = false
	if !u.Query().Has("timeout") {
		c.Timeout = DefaultConnectTimeout
	}
	return c, nil
}

// badOption names the URL parameter go-sql-driver refused, whose messages
// ("invalid bool value: maybe", "strconv.Atoi: parsing ...") name only the
// value, by parsing each parameter on its own; err is the refusal of all.
func badOption(rawQuery string, err error) string {
	for _, param := range strings.Split(rawQuery, "&") {
		if _, perr := mysql.ParseDSN("/?" + param); perr != nil {
			return fmt.Sprintf("URL parameter %s: %s", param, migrator.PlainNumbers(perr))
		}
	}
	return "URL parameters: " + migrator.PlainNumbers(err)
}

// Open connects to the database named by cfg.URL.
func Open(ctx context.Context, cfg migrator.Config) (migrator.Driver, error) {
	c, err := DSNConfig(cfg.URL)
	if err != nil {
		return nil, err
	}
	connector, err := mysql.NewConnector(c)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	// Connect now, so a wrong host, password or database is reported by
	// open rather than by the first command.
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		if c.Collation != "" && strings.HasPrefix(err.Error(), "unknown collation") {
			// go-sql-driver's own refusal, beside a charset.
			return nil, fmt.Errorf("%w: URL parameter collation=%s: %w", migrator.ErrBadURL, c.Collation, err)
		}
		return nil, badParameter(err)
	}
	sqlMode, collation, restoreSession, err := readSession(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	if c.Collation != "" && !strings.EqualFold(c.Collation, collation) {
		// Without a charset, a collation go-sql-driver or the server does
		// not know is dropped without a word, and the scripts ran with
		// another.
		db.Close()
		return nil, fmt.Errorf("%w: URL parameter collation=%s: the session got %s instead; go-sql-driver/mysql or the server does not know %s", migrator.ErrBadURL, c.Collation, collation, c.Collation)
	}
	database := cfg.Schema
	if systemDatabase(database) {
		db.Close()
		return nil, fmt.Errorf("database %q is %w: the server's own (mysql, sys, information_schema, performance_schema) refuse migrate's tables or are left out of dumps and rewritten by upgrades; choose another", database, migrator.ErrReservedSchema)
	}
	if database == "" {
		database = c.DBName
	} else if err := schemaExists(ctx, db, database); err != nil {
		db.Close()
		return nil, err
	}
	d := &Driver{db: db, cfg: cfg, database: database, urlDatabase: c.DBName, lockName: lockName(database, cfg.StateTable), dialect: sessionDialect(sqlMode)}
	qualified := func(t string) string { return quote(database) + "." + quote(t) }
	d.Store = &sqlstore.Store{
		DB: db,
		Dialect: sqlstore.Dialect{
			CreateTables: createTables,
			TableExists: func(ctx context.Context, db *sql.DB, name string) (bool, error) {
				var n int
				err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, database, name).Scan(&n)
				return n > 0, err
			},
			CurrentUser: `SELECT CURRENT_USER()`,
			// A script's USE or SET (foreign_key_checks = 0, sql_mode,
			// time_zone, SET NAMES) outlived its migration on the run's
			// one session: the next migration of the same up created its
			// tables in another database, or loaded rows unchecked,
			// though it ran as written on its own.
			ResetSession: []string{`USE ` + quote(c.DBName), restoreSession},
			Leftovers:    temporaryTables,
			ErrorLine:    errorLine,
		},
		StateTable:   qualified(cfg.StateTable),
		HistoryTable: qualified(cfg.HistoryTable),
		StateName:    cfg.StateTable,
		HistoryName:  cfg.HistoryTable,
	}
	return d, nil
}

// createTemporaryRE finds the table a CREATE TEMPORARY TABLE makes.
var createTemporaryRE = regexp.MustCompile("(?is)^\\s*CREATE\\s+TEMPORARY\\s+TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?((?:`[^`]+`|[^\\s(`.]+)(?:\\.(?:`[^`]+`|[^\\s(`.]+))?)")

// temporaryTables drops the temporary table stmt creates, before the next
// migration: it stayed on the run's one session, where the next migration
// of the same up could read it, and failed when run on its own. MySQL
// lists a session's temporary tables nowhere a query can read them, and
// resetting the connection would also release migrate's lock.
func temporaryTables(stmt string) []string {
	if m := createTemporaryRE.FindStringSubmatch(stmt); m != nil {
		return []string{"DROP TEMPORARY TABLE IF EXISTS " + m[1]}
	}
	return nil
}

// Server errors about system variables, which is what URL parameters the
// driver does not know become: it sends them as SET name = value.
const (
	erUnknownSystemVariable = 1193
	erWrongValueForVar      = 1231
	erWrongTypeForVar       = 1232
	// The driver sends charset (and collation) as SET NAMES.
	erUnknownCharacterSet      = 1115
	erUnknownCollation         = 1273
	erCollationCharsetMismatch = 1253
)

// badParameter explains the server refusing a URL parameter: a misspelled
// one (timout=5s) is an unknown system variable, and sql_mode=nonsense a
// wrong value for one. Either is a bad URL, not a database failure.
func badParameter(err error) error {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return err
	}
	switch me.Number {
	case erUnknownSystemVariable:
		return fmt.Errorf("%w: a URL parameter is neither a go-sql-driver/mysql option nor a system variable the server knows (misspelled?): %w", migrator.ErrBadURL, err)
	case erWrongValueForVar, erWrongTypeForVar:
		return fmt.Errorf("%w: a URL parameter sets a system variable to a value the server refuses: %w", migrator.ErrBadURL, err)
	case erUnknownCharacterSet, erUnknownCollation, erCollationCharsetMismatch:
		return fmt.Errorf("%w: the URL's charset or collation is a value the server refuses: %w", migrator.ErrBadURL, err)
	}
	return err
}

// systemDatabase reports one of the server's own databases.
func systemDatabase(name string) bool {
	for _, sys := range []string{"mysql", "sys", "information_schema", "performance_schema"} {
		if strings.EqualFold(name, sys) {
			return true
		}
	}
	return false
}

// schemaExists checks the database a Config.Schema names before anything
// is written: creating migrate's tables there failed with "Unknown
// database", and status read an empty state as if nothing were applied.
func schemaExists(ctx context.Context, db *sql.DB, name string) error {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?`, name).Scan(&n); err != nil {
		return fmt.Errorf("looking up database %q: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("database %q: %w on this server: migrate keeps its tables in it and does not create it (CREATE DATABASE %s)", name, migrator.ErrNoSuchSchema, quote(name))
	}
	return nil
}

// lockName is the GET_LOCK name. User-level locks are server-wide, so it
// names the database and state table; MySQL refuses names over 64
// characters, so a long one is replaced by its hash.
func lockName(database, stateTable string) string {
	name := "migrate:" + database + "." + stateTable
	if len(name) <= 64 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return "migrate:" + hex.EncodeToString(sum[:28])
}

func quote(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// createTables creates the history table before the state table. Each
// CREATE commits on its own here, and the state table is what says the
// tables exist (sqlstore.Dialect.TableExists): a first run killed between the two must not
// leave a state table whose history is missing, which status and history
// would then report as a foreign table.
func createTables(state, history string) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + history + ` (
	id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
	version BIGINT NOT NULL,
	name VARCHAR(255) NOT NULL,
	direction VARCHAR(16) NOT NULL,
	checksum VARCHAR(64) NOT NULL,
	started_at DATETIME(6) NOT NULL,
	duration_ms DOUBLE NOT NULL,
	success BOOLEAN NOT NULL,
	error MEDIUMTEXT NULL,
	db_user VARCHAR(300) NOT NULL,
	os_user VARCHAR(255) NOT NULL,
	host VARCHAR(255) NOT NULL,
	tool_version VARCHAR(100) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
		`CREATE TABLE IF NOT EXISTS ` + state + ` (
	version BIGINT NOT NULL PRIMARY KEY,
	name VARCHAR(255) NOT NULL,
	checksum VARCHAR(64) NOT NULL,
	status VARCHAR(16) NOT NULL,
	applied_at DATETIME(6) NOT NULL,
	failed_statement INT NULL,
	error MEDIUMTEXT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
	}
}

// atLine finds MariaDB's "... at line N" in a syntax error (1064); N counts
// from the first line of the statement sent.
var atLine = regexp.MustCompile(`at line (\d+)\s*$`)

func errorLine(err error, _ string) int {
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1064 {
		return 0
	}
	m := atLine.FindStringSubmatch(me.Message)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TransactionalDDL reports false: MySQL and MariaDB commit before (and
// after) every DDL statement, so a transaction would not protect a
// migration; the engine records per-statement progress instead.
func (d *Driver) TransactionalDDL() bool { return false }

// Split cuts a script with MySQL's rules, as the session's sql_mode sets
// them.
func (d *Driver) Split(sql string) ([]sqlsplit.Statement, error) {
	return sqlsplit.Split(sql, d.dialect)
}

// sessionVariables are what a migration's SET may leave changed for the
// next one; sql_mode first.
var sessionVariables = []string{"sql_mode", "foreign_key_checks", "unique_checks", "time_zone", "character_set_client", "collation_connection", "character_set_results"}

// readSession reads the session's sql_mode and collation and returns with
// them the SET that puts sessionVariables back to the values the URL set up.
// Strings go in as hex literals, which read the same whatever sql_mode and
// character set a script left.
func readSession(ctx context.Context, db *sql.DB) (sqlMode, collation, restore string, err error) {
	cols := make([]string, len(sessionVariables))
	values := make([]sql.NullString, len(sessionVariables))
	dest := make([]any, len(sessionVariables))
	for i, v := range sessionVariables {
		cols[i], dest[i] = "@@SESSION."+v, &values[i]
	}
	if err := db.QueryRowContext(ctx, `SELECT `+strings.Join(cols, ", ")).Scan(dest...); err != nil {
		return "", "", "", fmt.Errorf("reading the session's settings: %w", err)
	}
	sets := make([]string, len(sessionVariables))
	for i, v := range sessionVariables {
		value := "NULL"
		switch x := values[i]; {
		case x.Valid && x.String != "" && strings.Trim(x.String, "0123456789") == "":
			value = x.String // foreign_key_checks takes 1, not '1'
		case x.Valid:
			value = hexLiteral(x.String)
		}
		sets[i] = v + " = " + value
	}
	return values[0].String, values[5].String, `SET SESSION ` + strings.Join(sets, ", "), nil
}

// sessionDialect is Dialect as sql_mode changes it (set on the server or by
// the URL's sql_mode parameter): with NO_BACKSLASH_ESCAPES a backslash is an
// ordinary character in strings, and with ANSI_QUOTES (and ANSI) "..." is an
// identifier, in which a backslash escapes nothing either. Split the
// default way, 'C:\' would run on past the quote that ends it and take the
// next statement with it.
func sessionDialect(sqlMode string) sqlsplit.Dialect {
	d := Dialect
	for _, mode := range strings.Split(strings.ToUpper(sqlMode), ",") {
		switch mode {
		case "NO_BACKSLASH_ESCAPES":
			d.BackslashEscapes = false
		case "ANSI_QUOTES":
			d.DoubleQuoteStrings = false
		}
	}
	return d
}

// Lock polls GET_LOCK(name, 0) on one pinned connection: the lock belongs
// to the session, so it is taken and released there, and every migration
// runs on that session too (sqlstore.LockSession says why). It never waits
// inside GET_LOCK, so the wait stays cancellable.
func (d *Driver) Lock(ctx context.Context, timeout time.Duration) (func(context.Context) error, error) {
	return d.LockSession(ctx, timeout, sqlstore.SessionLock{
		Try: func(ctx context.Context, conn *sql.Conn) (bool, error) {
			var got sql.NullInt64
			if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(?, 0)`, d.lockName).Scan(&got); err != nil {
				return false, err
			}
			if !got.Valid {
				return false, fmt.Errorf("GET_LOCK(%q) returned NULL", d.lockName)
			}
			return got.Int64 == 1, nil
		},
		Holder: d.holder,
		Release: func(ctx context.Context, conn *sql.Conn) error {
			var released sql.NullInt64
			err := conn.QueryRowContext(ctx, `SELECT RELEASE_LOCK(?)`, d.lockName).Scan(&released)
			if err == nil && released.Int64 != 1 {
				err = fmt.Errorf("releasing the migration lock %q: this session no longer held it", d.lockName)
			}
			return err
		},
	})
}

// holder names the connection holding the lock, from the process list.
func (d *Driver) holder(ctx context.Context, conn *sql.Conn) string {
	var id, secs int64
	var user, host string
	err := conn.QueryRowContext(ctx, `
SELECT p.ID, p.USER, p.HOST, p.TIME
FROM information_schema.PROCESSLIST p
WHERE p.ID = IS_USED_LOCK(?)`, d.lockName).Scan(&id, &user, &host, &secs)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("MySQL connection id %d (user %s, from %s, in its current state for %ds)", id, user, host, secs)
}

// Close closes the pool.
func (d *Driver) Close() error { return d.db.Close() }

// DB returns the underlying pool, for tests and schema snapshots.
func (d *Driver) DB() *sql.DB { return d.db }

// Database returns the database that holds migrate's tables.
func (d *Driver) Database() string { return d.database }
