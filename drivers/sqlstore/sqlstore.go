// Package sqlstore is the bookkeeping that every database/sql-based driver
// shares: the state and history tables, and running steps statement by
// statement inside one transaction (or on one pinned connection when a
// migration cannot run in a transaction). A driver supplies a Dialect with
// its DDL, placeholders and error positions; the logic stays in one place.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/migrate-dev/migrate/migrator"
	"github.com/migrate-dev/migrate/migrator/sqlsplit"
)

// Dialect is what differs between databases in the bookkeeping.
type Dialect struct {
	// Placeholder returns the n-th (1-based) bind parameter.
	Placeholder func(n int) string
	// CreateTables returns the statements that create the state and history
	// tables (and schema) if they are missing; they run under the lock, in
	// one transaction. Where DDL is not transactional each CREATE commits
	// on its own, and the state table must come last: its presence is what
	// says "the tables exist".
	CreateTables func(state, history string) []string
	// TableExists reports whether the table of migrate's with this name (as
	// configured, unquoted: Store.StateName or Store.HistoryName) exists.
	TableExists func(ctx context.Context, db *sql.DB, name string) (bool, error)
	// CurrentUser is a query returning the database user name.
	CurrentUser string
	// ErrorLine returns the 1-based line inside stmt where err points, or 0.
	ErrorLine func(err error, stmt string) int
	// BoolValue converts a Go bool to what the database's boolean column
	// takes (SQL Server's BIT and SQLite's INTEGER take 0/1).
	BoolValue func(bool) any
	// ResetSession undoes what a script may have set for the rest of its
	// session (PostgreSQL's search_path, role, timeouts; MySQL's database,
	// foreign_key_checks, sql_mode), run before each step on its session: a
	// migration then runs the same whether the one before it ran in this
	// run or in an earlier one.
	ResetSession []string
	// ResetQueries return, one per row, more statements that reset runs
	// after ResetSession: those that depend on what the script left, such
	// as SQLite's DROP of each temporary table.
	ResetQueries []string
	// Leftovers returns statements that undo what stmt leaves on its
	// session beyond its migration where no catalogue lists it (MySQL's
	// temporary tables); reset runs them before the next migration.
	Leftovers func(stmt string) []string
	// AbandonTransaction ends, without committing it, a transaction that
	// a no-transaction script opened itself and failed inside, before the
	// failure is recorded on the same session: there the record failed
	// ("current transaction is aborted", "cannot start a transaction
	// within a transaction") and the version stayed running, unexplained.
	// Its error, when no transaction is open, is ignored. Empty where DDL
	// commits the script's transaction anyway (MySQL).
	AbandonTransaction string
	// OwnSession gives the session back to the URL's user (PostgreSQL's
	// SET SESSION AUTHORIZATION DEFAULT) before migrate writes state and
	// history on it: a script's SET ROLE to a role without rights on
	// migrate's tables made those writes fail, and outside a transaction
	// the version stayed running, its changes in place, with no failure
	// recorded.
	OwnSession string
}

// Store keeps state and history in two tables reached through db.
type Store struct {
	DB      *sql.DB
	Dialect Dialect
	// StateTable and HistoryTable are the quoted, qualified table names;
	// StateName and HistoryName the names as configured, for TableExists.
	StateTable, HistoryTable string
	StateName, HistoryName   string

	user string
	// session is the connection holding the migration lock, while it is
	// held (see LockSession): every write goes through it.
	session atomic.Pointer[sql.Conn]
	// leftovers are what Dialect.Leftovers returned for the statements
	// run since the last reset.
	leftovers []string
}

// SessionLock is a database lock that belongs to one session (a
// PostgreSQL advisory lock, MySQL's GET_LOCK, SQL Server's session-owned
// sp_getapplock): the server frees it when that session ends.
type SessionLock struct {
	// Try takes the lock without waiting and reports whether it did.
	Try func(ctx context.Context, conn *sql.Conn) (bool, error)
	// Holder describes who holds the lock, for the timeout error.
	Holder func(ctx context.Context, conn *sql.Conn) string
	// Release gives the lock back; an error means the session may still
	// hold it, and the connection is then discarded.
	Release func(ctx context.Context, conn *sql.Conn) error
}

// LockSession takes l on one pinned connection, polling as
// migrator.PollLock does, and runs every migration and bookkeeping write
// on that same connection until unlock.
//
// Running the work on the lock's own session, rather than asserting from
// other connections that the lock is still held, is what makes losing the
// lock safe: when the session ends (network cut, the server killing it,
// an idle timeout) the server frees the lock, and the migration in flight
// dies with the session. Its transaction rolls back, or a statement run
// outside one leaves the version marked running, and every later call on
// the connection fails, so no migration can start unlocked. An assertion
// would cost a query per migration where DDL cannot share a transaction
// (MySQL), and could not be atomic with work done on another connection.
func (s *Store) LockSession(ctx context.Context, timeout time.Duration, l SessionLock) (func(context.Context) error, error) {
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	try := func(ctx context.Context) (bool, error) { return l.Try(ctx, conn) }
	holder := func(ctx context.Context) string { return l.Holder(ctx, conn) }
	if err := migrator.PollLock(ctx, timeout, try, holder); err != nil {
		conn.Close()
		return nil, err
	}
	s.session.Store(conn)
	return func(ctx context.Context) error {
		s.session.CompareAndSwap(conn, nil)
		defer conn.Close()
		if err := l.Release(ctx, conn); err != nil {
			// Closing the session frees whatever lock it still holds;
			// returned to the pool, it would keep it.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			return err
		}
		return nil
	}, nil
}

// Conn returns the connection to run migrations on: the lock's session
// while the lock is held, else one from the pool (the Driver interface
// lets a library run steps without the lock). done gives back a pool
// connection and leaves the session alone.
func (s *Store) Conn(ctx context.Context) (conn *sql.Conn, done func(), err error) {
	if conn := s.session.Load(); conn != nil {
		return conn, func() {}, nil
	}
	conn, err = s.DB.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	return conn, func() { conn.Close() }, nil
}

// beginner is what *sql.DB and *sql.Conn share for starting a transaction.
type beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// begin starts a transaction whose COMMIT and ROLLBACK outlive an
// interrupt by up to endGrace; its statements still run with ctx, so an
// interrupt stops them. database/sql ends a transaction whose context is
// cancelled by calling the driver's Rollback with that context, which pgx
// then never sends: the lock's session stayed inside the half-run
// migration, the next BEGIN (recording the failure) was a no-op, and its
// COMMIT committed half a data migration that the state said was not
// applied. done releases the transaction's context once it has ended.
func begin(ctx context.Context, b beginner) (tx *sql.Tx, done func(), err error) {
	tctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(endGrace, cancel) })
	done = func() { stop(); cancel() }
	if tx, err = b.BeginTx(tctx, nil); err != nil {
		done()
		return nil, nil, err
	}
	return tx, done, nil
}

// endGrace bounds how long a transaction may take to end once the run is
// interrupted, so that a server that stopped answering cannot keep Ctrl-C
// waiting.
const endGrace = 10 * time.Second

// writer is where transactions that write start: the lock's session while
// it is held.
func (s *Store) writer() beginner {
	if conn := s.session.Load(); conn != nil {
		return conn
	}
	return s.DB
}

// Lost marks err with migrator.ErrLockLost when the lock's session has
// ended, which is how the server takes the lock away (short of a migration
// releasing it itself, with DISCARD ALL or RELEASE_ALL_LOCKS). It asks the
// session itself (a ping), on the failure path only, rather than guessing
// from each driver's error types. A cancelled run is not a lost lock,
// though pgx closes the connection on cancellation.
func (s *Store) Lost(ctx context.Context, err error) error {
	conn := s.session.Load()
	if err == nil || conn == nil || ctx.Err() != nil || errors.Is(err, migrator.ErrLockLost) {
		return err
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if conn.PingContext(pctx) == nil {
		return err
	}
	return fmt.Errorf("%w: %w", migrator.ErrLockLost, err)
}

func (s *Store) rebind(q string) string {
	if s.Dialect.Placeholder == nil {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString(s.Dialect.Placeholder(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Store) boolValue(v bool) any {
	if s.Dialect.BoolValue != nil {
		return s.Dialect.BoolValue(v)
	}
	return v
}

// Prepare creates the tables when missing and learns the database user.
// A table of the same name left by another tool or application is refused
// by name, before migrate writes a row into it; where DDL is transactional
// the tables created on the way are rolled back with the refusal.
func (s *Store) Prepare(ctx context.Context) error {
	return s.Lost(ctx, s.prepare(ctx))
}

func (s *Store) prepare(ctx context.Context) error {
	// Before the transaction: tablesLost reads through the pool, which for
	// sqlite::memory: is the one connection the transaction would hold.
	if err := s.tablesLost(ctx); err != nil {
		return err
	}
	tx, done, err := begin(ctx, s.writer())
	if err != nil {
		return fmt.Errorf("beginning a transaction: %w", err)
	}
	defer done()
	defer func() { _ = tx.Rollback() }()
	for _, q := range s.Dialect.CreateTables(s.StateTable, s.HistoryTable) {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", firstLine(q), err)
		}
	}
	for table, columns := range map[string]string{s.StateTable: stateColumns, s.HistoryTable: historyColumns} {
		if err := checkOwned(ctx, tx, table, columns); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return s.loadUser(ctx)
}

// checkOwned refuses, by name, a table that lacks migrate's columns: one
// left by another tool, which a raw "no such column" would not explain.
func checkOwned(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, table, columns string) error {
	rows, err := q.QueryContext(ctx, `SELECT `+columns+` FROM `+table+` WHERE 1 = 0`)
	if err != nil {
		return fmt.Errorf("table %s exists but is not one of migrate's tables (it lacks the columns %s: %v); if another tool owns it, give migrate other names with --state-table and --history-table", table, columns, err)
	}
	return rows.Close()
}

// explainRead returns err, a failed read of table, or the reason it failed
// when the table is not migrate's.
func (s *Store) explainRead(ctx context.Context, table, columns string, err error) error {
	if ctx.Err() == nil {
		if owned := checkOwned(ctx, s.DB, table, columns); owned != nil {
			return owned
		}
	}
	return err
}

// The columns migrate reads and writes, in the order State and History scan them.
const (
	stateColumns   = `version, name, checksum, status, applied_at, failed_statement, error`
	historyColumns = `id, version, name, direction, checksum, started_at, duration_ms, success, error, db_user, os_user, host, tool_version`
)

func (s *Store) loadUser(ctx context.Context) error {
	if s.user != "" || s.Dialect.CurrentUser == "" {
		return nil
	}
	if err := s.DB.QueryRowContext(ctx, s.Dialect.CurrentUser).Scan(&s.user); err != nil {
		return fmt.Errorf("reading the database user: %w", err)
	}
	return nil
}

func firstLine(q string) string {
	q = strings.TrimSpace(q)
	if i := strings.IndexByte(q, '\n'); i >= 0 {
		return q[:i]
	}
	return q
}

// CountRows counts the rows of a table named as written in a migration
// script, for the data-loss refusal (migrator.RowCounter); every driver
// that embeds a Store has it. The name comes from the migration about to
// run, which uses it anyway.
func (s *Store) CountRows(ctx context.Context, table string) (int64, error) {
	var n int64
	err := s.DB.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n)
	return n, err
}

// tablesLost refuses a database where one of migrate's tables exists
// without the other.
//
// A history that records runs beside no state table: the state was dropped
// or renamed, or --state-table names another table than those runs used.
// Read as a new database, every version would be pending and run again
// (MySQL DDL half-applied, a data migration's rows inserted twice), and
// creating an empty state table would hide the mismatch from the next run.
// An empty history beside no state is a first run cut short between the
// two CREATEs where DDL commits on its own, and is carried on.
//
// A state table beside no history: the history was dropped or renamed, or
// --history-table names another table than the one migrate wrote.
// Creating it would start a second, empty history, and every run from then
// on would be recorded apart from the runs before it, each history looking
// whole. No run of migrate's leaves a state without a history, even one cut
// short: the history is created first, or with the state in one
// transaction (Dialect.CreateTables).
func (s *Store) tablesLost(ctx context.Context) error {
	history, err := s.Dialect.TableExists(ctx, s.DB, s.HistoryName)
	if err != nil {
		return err
	}
	state, err := s.Dialect.TableExists(ctx, s.DB, s.StateName)
	if err != nil || history == state {
		return err
	}
	if history {
		n, err := countOwned(ctx, s.DB, s.HistoryTable, historyColumns)
		if err != nil || n == 0 {
			return err
		}
		return fmt.Errorf("state table %s does not exist, but history table %s records %d run(s): the state was dropped or renamed, or --state-table names another table than those runs used; nothing was changed. Read as a new database, every version would run again. Pass the --state-table those runs used; if the state is lost, rename the history table to keep it and record what is applied with `migrate baseline V`", s.StateTable, s.HistoryTable, n)
	}
	n, err := countOwned(ctx, s.DB, s.StateTable, stateColumns)
	if err != nil {
		return err
	}
	return fmt.Errorf("history table %s does not exist, but state table %s records %d version(s): the history was dropped or renamed, or --history-table names another table than the one migrate wrote; nothing was changed. A new history would record the runs from now on apart from the earlier ones. Pass the --history-table those runs used; if the history is lost, rename the state table to keep it and record what is applied with `migrate baseline V`", s.HistoryTable, s.StateTable, n)
}

// countOwned counts the rows of one of migrate's tables, refusing another
// tool's table of that name as such.
func countOwned(ctx context.Context, db *sql.DB, table, columns string) (int64, error) {
	if err := checkOwned(ctx, db, table, columns); err != nil {
		return 0, err
	}
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting the rows of %s: %w", table, err)
	}
	return n, nil
}

// State reads the state table; no rows when it does not exist yet.
func (s *Store) State(ctx context.Context) ([]migrator.StateRow, error) {
	ok, err := s.Dialect.TableExists(ctx, s.DB, s.StateName)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.tablesLost(ctx)
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT `+stateColumns+` FROM `+s.StateTable+` ORDER BY version`)
	if err != nil {
		return nil, s.explainRead(ctx, s.StateTable, stateColumns, err)
	}
	defer rows.Close()
	var out []migrator.StateRow
	for rows.Next() {
		var r migrator.StateRow
		var status string
		var errText sql.NullString
		var failed sql.NullInt64
		dest := []any{&r.Version, &r.Name, &r.Checksum, &status, &r.AppliedAt, &failed, &errText}
		if err := rows.Scan(dest...); err != nil {
			return nil, unreadable(rows, s.StateTable, stateColumns, dest, 0, err)
		}
		r.Status = migrator.Status(status)
		r.FailedStatement = int(failed.Int64)
		r.Error = errText.String
		out = append(out, r)
	}
	return out, rows.Err()
}

// History reads the history table in insertion order; no rows when
// neither table exists yet.
func (s *Store) History(ctx context.Context) ([]migrator.HistoryRow, error) {
	ok, err := s.Dialect.TableExists(ctx, s.DB, s.HistoryName)
	if err != nil {
		return nil, err
	}
	if !ok {
		// Beside a state table, a missing history is not an empty one.
		return nil, s.tablesLost(ctx)
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT `+historyColumns+` FROM `+s.HistoryTable+` ORDER BY id`)
	if err != nil {
		return nil, s.explainRead(ctx, s.HistoryTable, historyColumns, err)
	}
	defer rows.Close()
	var out []migrator.HistoryRow
	for rows.Next() {
		var h migrator.HistoryRow
		var dir string
		var ms float64
		var errText sql.NullString
		dest := []any{&h.ID, &h.Version, &h.Name, &dir, &h.Checksum, &h.StartedAt, &ms, &h.Success, &errText, &h.DBUser, &h.OSUser, &h.Host, &h.ToolVersion}
		if err := rows.Scan(dest...); err != nil {
			return nil, unreadable(rows, s.HistoryTable, historyColumns, dest, 0, err)
		}
		h.Direction = migrator.Direction(dir)
		h.Duration = time.Duration(ms * float64(time.Millisecond))
		h.Error = errText.String
		out = append(out, h)
	}
	return out, rows.Err()
}

// unreadable explains err, Scan's refusal of the current row of table into
// dest: a value that is not of its column's kind. migrate never writes one,
// but SQLite keeps any value in any column, so a hand edit ("yesterday" in
// applied_at) got database/sql's words instead of the row and column. The
// column is found by scanning the row again with one real destination at a
// time; key is the index of the column that names the row.
func unreadable(rows *sql.Rows, table, columns string, dest []any, key int, err error) error {
	names := strings.Split(columns, ", ")
	raw := make([]any, len(dest))
	probe := make([]any, len(dest))
	for i := range raw {
		probe[i] = &raw[i]
	}
	if rows.Scan(probe...) != nil || len(names) != len(dest) {
		return fmt.Errorf("reading %s: %w", table, err)
	}
	for i := range dest {
		probe[i] = dest[i]
		bad := rows.Scan(probe...) != nil
		probe[i] = &raw[i]
		if bad {
			return fmt.Errorf("%s: the row with %s %s has %s %s, which is not %s: migrate never writes that, so the row was edited by hand; put back the value migrate wrote",
				table, names[key], rawValue(raw[key]), names[i], rawValue(raw[i]), kindOf(dest[i]))
		}
	}
	return fmt.Errorf("reading %s: %w", table, err)
}

func rawValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return strconv.Quote(string(v))
	case string:
		return strconv.Quote(v)
	}
	return fmt.Sprint(v)
}

// kindOf says in words what a Scan destination holds.
func kindOf(dest any) string {
	switch dest.(type) {
	case *time.Time:
		return "a time"
	case *int64, *int, *sql.NullInt64:
		return "a whole number"
	case *float64:
		return "a number"
	case *bool:
		return "true or false"
	case *string:
		return "text"
	}
	return "of its column's kind"
}

// execer is the part of *sql.Tx and *sql.Conn that bookkeeping needs.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *Store) write(ctx context.Context, ex execer, change migrator.StateChange, h migrator.HistoryRow) error {
	switch change.Kind {
	case migrator.SetState, migrator.RemoveState:
		if _, err := ex.ExecContext(ctx, s.rebind(`DELETE FROM `+s.StateTable+` WHERE version = ?`), change.Row.Version); err != nil {
			return fmt.Errorf("updating %s: %w", s.StateTable, err)
		}
	}
	if change.Kind == migrator.SetState {
		r := change.Row
		var failed any
		if r.FailedStatement > 0 {
			failed = r.FailedStatement
		}
		var errText any
		if r.Error != "" {
			errText = r.Error
		}
		if _, err := ex.ExecContext(ctx, s.rebind(`INSERT INTO `+s.StateTable+` (version, name, checksum, status, applied_at, failed_statement, error) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			r.Version, r.Name, r.Checksum, string(r.Status), time.Now().UTC(), failed, errText); err != nil {
			return fmt.Errorf("updating %s: %w", s.StateTable, err)
		}
	}
	if h.Direction == "" {
		return nil
	}
	var errText any
	if h.Error != "" {
		errText = h.Error
	}
	if h.StartedAt.IsZero() {
		h.StartedAt = time.Now()
	}
	if _, err := ex.ExecContext(ctx, s.rebind(`INSERT INTO `+s.HistoryTable+` (version, name, direction, checksum, started_at, duration_ms, success, error, db_user, os_user, host, tool_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		h.Version, h.Name, string(h.Direction), h.Checksum, h.StartedAt.UTC(), float64(h.Duration)/float64(time.Millisecond),
		s.boolValue(h.Success), errText, s.user, h.OSUser, h.Host, h.ToolVersion); err != nil {
		return fmt.Errorf("writing %s: %w", s.HistoryTable, err)
	}
	return nil
}

// Record writes bookkeeping in its own transaction.
func (s *Store) Record(ctx context.Context, change migrator.StateChange, h migrator.HistoryRow) error {
	if err := s.loadUser(ctx); err != nil {
		return err
	}
	return s.Lost(ctx, s.writeTx(ctx, s.writer(), change, h))
}

// Run executes steps as migrator.Driver.Run describes.
func (s *Store) Run(ctx context.Context, steps []*migrator.Step, inTx bool) error {
	if err := s.loadUser(ctx); err != nil {
		return err
	}
	return s.Lost(ctx, s.run(ctx, steps, inTx))
}

func (s *Store) run(ctx context.Context, steps []*migrator.Step, inTx bool) error {
	if !inTx {
		return s.runEach(ctx, steps)
	}
	conn, release, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	defer release()
	// The first reset goes before BEGIN, on the connection the
	// transaction will use: SQLite ignores PRAGMA foreign_keys inside one.
	if err := s.reset(ctx, conn, steps[0]); err != nil {
		return err
	}
	tx, done, err := begin(ctx, conn)
	if err != nil {
		return fmt.Errorf("beginning a transaction: %w", err)
	}
	defer done()
	for i, st := range steps {
		var err error
		if i > 0 {
			err = s.reset(ctx, tx, st)
		}
		if err == nil {
			err = s.runStep(ctx, tx, st)
		}
		if err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing version %d: %w", steps[len(steps)-1].Migration.Version, err)
	}
	return nil
}

// runEach runs non-transactional steps on one pinned connection, so that
// session settings made by one statement hold for the next.
func (s *Store) runEach(ctx context.Context, steps []*migrator.Step) error {
	conn, done, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	defer done()
	for _, st := range steps {
		if err := s.reset(ctx, conn, st); err != nil {
			return err
		}
		if err := s.runStep(ctx, conn, st); err != nil {
			// The failure is recorded next, on this session; what cannot
			// be undone here shows in that record's own error.
			for _, q := range []string{s.Dialect.AbandonTransaction, s.Dialect.OwnSession} {
				if q != "" && ctx.Err() == nil {
					_, _ = conn.ExecContext(ctx, q)
				}
			}
			return err
		}
	}
	return nil
}

// reset runs Dialect.ResetSession before st. Before the step, not after
// its bookkeeping: outside a transaction a failure there would be blamed
// on a version already recorded.
func (s *Store) reset(ctx context.Context, ex execer, st *migrator.Step) error {
	stmts := s.Dialect.ResetSession
	if len(s.Dialect.ResetQueries) > 0 {
		more, err := resetStatements(ctx, ex.(querier), s.Dialect.ResetQueries)
		if err != nil {
			return fmt.Errorf("version %d: reading what to reset before it: %w", st.Migration.Version, err)
		}
		stmts = append(slices.Clip(stmts), more...)
	}
	stmts = append(slices.Clip(stmts), s.leftovers...)
	for _, q := range stmts {
		if _, err := ex.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("version %d: resetting the session's settings before it (%s): %w", st.Migration.Version, q, err)
		}
	}
	s.leftovers = nil
	return nil
}

// querier is the part of *sql.Tx and *sql.Conn that ResetQueries need.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func resetStatements(ctx context.Context, q querier, queries []string) ([]string, error) {
	var out []string
	for _, query := range queries {
		rows, err := q.QueryContext(ctx, query)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var stmt string
			if err := rows.Scan(&stmt); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, stmt)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) runStep(ctx context.Context, ex execer, st *migrator.Step) error {
	start := time.Now()
	prevLine := 0 // a streamed script's statements are gone once run
	err := st.Each(func(i int, stmt sqlsplit.Statement) error {
		if s.Dialect.Leftovers != nil {
			s.leftovers = append(s.leftovers, s.Dialect.Leftovers(stmt.Text)...)
		}
		for r := 0; r < max(stmt.Repeat, 1); r++ {
			if _, err := ex.ExecContext(ctx, stmt.Text); err != nil {
				line := 0
				if s.Dialect.ErrorLine != nil {
					line = s.Dialect.ErrorLine(err, stmt.Text)
				}
				se := st.Failure(i, stmt, err, line)
				if se.PrevLine == 0 {
					se.PrevLine = prevLine
				}
				return se
			}
		}
		prevLine = stmt.Line
		return nil
	})
	if err != nil {
		return err
	}
	st.History.StartedAt = start
	st.History.Duration = time.Since(start)
	if s.Dialect.OwnSession != "" {
		if _, err := ex.ExecContext(ctx, s.Dialect.OwnSession); err != nil {
			return fmt.Errorf("version %d ran but its bookkeeping failed: taking the session back from the script's role (%s): %w", st.Migration.Version, s.Dialect.OwnSession, err)
		}
	}
	if conn, ok := ex.(*sql.Conn); ok {
		// Outside a migration transaction the state and history rows still
		// commit together, so a crash cannot leave one without the other.
		err = s.writeTx(ctx, conn, st.State, st.History)
	} else {
		err = s.write(ctx, ex, st.State, st.History)
	}
	if err != nil {
		return fmt.Errorf("version %d ran but its bookkeeping failed: %w", st.Migration.Version, err)
	}
	return nil
}

func (s *Store) writeTx(ctx context.Context, b beginner, change migrator.StateChange, h migrator.HistoryRow) error {
	tx, done, err := begin(ctx, b)
	if err != nil {
		return err
	}
	defer done()
	if err := s.write(ctx, tx, change, h); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// QueryColumn returns the one column of every row of q, for the
// catalogue look-ups of drivers (verify's leftover scratch databases) and
// of the tests that check on them.
func QueryColumn[T any](ctx context.Context, db *sql.DB, q string) ([]T, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
