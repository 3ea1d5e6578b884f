// Package migrator is the engine of migrate: it loads versioned migrations,
// compares them with the database's state table, and applies or rolls them
// back through a Driver, one transaction per migration where the database
// allows it, keeping an append-only history of everything it does.
//
// Typical use as a library:
//
//	src, err := migrator.Load(embeddedFS, "migrations")
//	drv, err := migrator.Open(ctx, os.Getenv("DATABASE_URL"), migrator.Config{})
//	defer drv.Close()
//	report, err := migrator.New(drv, src, migrator.Options{}).Up(ctx, 0)
package migrator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/migrate-dev/migrate/migrator/sqlsplit"
)

// ToolVersion is recorded in every history row. Release builds set it with
// -ldflags "-X github.com/migrate-dev/migrate/migrator.ToolVersion=v1.2.3";
// otherwise the module version from the build info is used.
var ToolVersion = ""

// ToolVersionString is the version recorded in history and printed by `migrate version`.
func ToolVersionString() string {
	if ToolVersion != "" {
		return ToolVersion
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	// A build from a checkout: name the commit, so history rows say which
	// code ran.
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	switch {
	case rev == "":
		return "(devel)"
	case dirty:
		return "devel-" + rev + "-dirty"
	}
	return "devel-" + rev
}

// Options tune a Migrator. The zero value is usable.
type Options struct {
	// LockTimeout bounds the wait for the migration lock: 15s when zero,
	// and a negative value tries the lock once without waiting.
	LockTimeout time.Duration
	// SingleTransaction applies all pending migrations in one transaction.
	SingleTransaction bool
	// AllowOutOfOrder applies pending migrations older than the newest
	// applied one instead of refusing.
	AllowOutOfOrder bool
	// DryRun plans and returns the SQL without touching the database
	// (beyond reading the state table).
	DryRun bool
	// AllowDataLoss lets down, goto and redo run down scripts that drop
	// tables or columns, truncate, or delete without WHERE.
	AllowDataLoss bool
	// ForbidRollback, when set, names the policy that forbids rolling back
	// (such as "environment production"); down, goto downwards and redo
	// then refuse with a *RollbackForbiddenError.
	ForbidRollback string
	// Progress, when set, is told about each migration as it finishes.
	Progress func(Result)
}

// Migrator runs one source of migrations against one database.
type Migrator struct {
	driver Driver
	source *Source
	opts   Options
	osUser string
	host   string
}

// New returns a Migrator. It does not touch the database.
func New(d Driver, src *Source, opts Options) *Migrator {
	switch {
	case opts.LockTimeout == 0:
		opts.LockTimeout = 15 * time.Second
	case opts.LockTimeout < 0:
		opts.LockTimeout = 0 // try once
	}
	m := &Migrator{driver: d, source: src, opts: opts}
	if u, err := user.Current(); err == nil {
		m.osUser = u.Username
	}
	m.host, _ = os.Hostname()
	return m
}

// Result is the outcome of one migration script run (or planned).
type Result struct {
	Version   int64     `json:"version"`
	Name      string    `json:"name"`
	Direction Direction `json:"direction"`
	File      string    `json:"file"`
	// Duration runs from the migration's start to its commit, bookkeeping
	// included: what the run cost, not only its statements. Under
	// --single-transaction the one commit is in Report.Elapsed only.
	Duration time.Duration `json:"duration_ns"`
	// Statements holds the SQL that would run, in a dry run.
	Statements []string `json:"statements,omitempty"`
	// EachStatement, in a dry run of a large script, replaces Statements:
	// it reads the statements from the file again and passes each to fn,
	// so they are never all in memory.
	EachStatement func(fn func(stmt string) error) error `json:"-"`
}

// Report is what up, down, goto and redo did.
type Report struct {
	DryRun  bool     `json:"dry_run"`
	From    int64    `json:"from_version"`
	To      int64    `json:"to_version"`
	Results []Result `json:"results"`
	// Elapsed is the wall-clock time of the whole run.
	Elapsed time.Duration `json:"elapsed_ns"`
	// DataLoss lists what the down scripts destroy (shown by a dry run).
	DataLoss []Loss `json:"data_loss,omitempty"`
}

// BlockedError means up refused to start because the state does not match
// the folder (failed, interrupted, changed, missing or out-of-order
// versions). Each entry carries the rule to fix it.
type BlockedError struct{ Entries []Entry }

func (e *BlockedError) Error() string {
	var b strings.Builder
	b.WriteString("refusing to migrate: the database and the migration folder disagree; nothing was run:")
	for _, en := range e.Entries {
		fmt.Fprintf(&b, "\n  version %d (%s) is %s: %s", en.Version, en.Name, en.Status, en.Fix)
	}
	return b.String()
}

// TransactionalDDL is an optional Driver capability. A driver whose
// database commits DDL implicitly (MySQL, MariaDB) returns false, and the
// engine then runs every migration statement by statement, marking the
// version running before its first statement and failed, with the
// statement's index, when one fails. Drivers without the method are taken
// to have transactional DDL.
type TransactionalDDL interface {
	TransactionalDDL() bool
}

func transactionalDDL(d Driver) bool {
	t, ok := d.(TransactionalDDL)
	return !ok || t.TransactionalDDL()
}

// ErrNoTransactionalDDL is returned for --single-transaction on a database
// that commits DDL implicitly, where "all or nothing" cannot be kept.
var ErrNoTransactionalDDL = errors.New("--single-transaction: this database commits every DDL statement implicitly (MySQL, MariaDB), so the migrations cannot run in one transaction; run up without it, and each migration is applied statement by statement with its progress recorded")

// ErrNoSuchVersion is wrapped by errors about a version argument that names
// no migration.
var ErrNoSuchVersion = errors.New("no such version")

// MisfitError is a command whose arguments do not fit the database or the
// folder as they are: a baseline over recorded versions, a repair of a
// version that is not in the state the action fixes, --single-transaction
// with a no-transaction script. Nothing was changed.
type MisfitError struct{ msg string }

func misfitf(format string, a ...any) error { return &MisfitError{fmt.Sprintf(format, a...)} }

func (e *MisfitError) Error() string { return e.msg }

// BadArgument marks the error as the user's arguments' (exit code 2 in the
// CLI), not the database's: retrying will not help.
func (e *MisfitError) BadArgument() {}

// ErrNotReversible is wrapped by errors about rolling back a migration that
// has no down script.
var ErrNotReversible = errors.New("migration has no down script")

// Status returns the plan without changing anything.
func (m *Migrator) Status(ctx context.Context) (*Plan, error) {
	state, err := m.driver.State(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading state: %w", err)
	}
	p := NewPlan(m.source, state)
	p.noteInvalidIndexes(stuckInvalidIndexes(ctx, m.driver, state))
	return p, nil
}

// Inspect compares a folder with a database, for status and validate,
// without changing either. It opens the database and reads its state while
// load reads the folder: on 10000 migrations each takes about a third of
// `status`, and listing the folder leaves a core idle. A folder error wins,
// returned as load gave it, and does not wait for a slow connection: the
// folder is the thing to fix first. The driver is closed before Inspect
// returns.
func Inspect(ctx context.Context, open func(context.Context) (Driver, error), load func() (*Source, error)) (*Plan, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type stateRead struct {
		rows    []StateRow
		invalid []InvalidIndex
		err     error
	}
	read := make(chan stateRead, 1)
	go func() {
		d, err := open(ctx)
		if err != nil {
			read <- stateRead{err: err}
			return
		}
		defer d.Close()
		rows, err := d.State(ctx)
		if err != nil {
			err = fmt.Errorf("reading state: %w", err)
		}
		read <- stateRead{rows, stuckInvalidIndexes(ctx, d, rows), err}
	}()
	src, err := load()
	if err != nil {
		cancel()
		<-read
		return nil, err
	}
	state := <-read
	if state.err != nil {
		return nil, state.err
	}
	p := NewPlan(src, state.rows)
	p.noteInvalidIndexes(state.invalid)
	return p, nil
}

// Validate returns the versions that would block up.
func (m *Migrator) Validate(ctx context.Context) ([]Entry, error) {
	p, err := m.Status(ctx)
	if err != nil {
		return nil, err
	}
	return p.Problems(), nil
}

// History returns every history row, oldest first.
func (m *Migrator) History(ctx context.Context) ([]HistoryRow, error) {
	h, err := m.driver.History(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading history: %w", err)
	}
	return h, nil
}

// locked runs fn holding the migration lock, with the tables prepared and
// the plan read under the lock. A dry run takes no lock and creates nothing.
func (m *Migrator) locked(ctx context.Context, fn func(p *Plan) (*Report, error)) (*Report, error) {
	if m.source.downUnread {
		return nil, ErrDownScriptsNotRead
	}
	if err := m.checkScripts(); err != nil {
		return nil, err
	}
	if err := m.checkLargeScripts(ctx); err != nil {
		return nil, err
	}
	if !m.opts.DryRun {
		unlock, err := m.driver.Lock(ctx, m.opts.LockTimeout)
		if err != nil {
			return nil, err
		}
		defer func() {
			// Release even when ctx was cancelled, so an interrupted run
			// does not leave the lock behind for the session's lifetime.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = unlock(rctx)
		}()
		if err := m.driver.Prepare(ctx); err != nil {
			return nil, fmt.Errorf("creating the migrate tables: %w", err)
		}
	}
	p, err := m.Status(ctx)
	if err != nil {
		return nil, err
	}
	return fn(p)
}

// Up applies pending migrations in order; limit > 0 applies at most that
// many. It refuses to start while any version is failed, interrupted,
// changed, missing or out of order.
func (m *Migrator) Up(ctx context.Context, limit int) (*Report, error) {
	if m.opts.SingleTransaction && !transactionalDDL(m.driver) {
		// Refused before the lock and migrate's tables: the database is
		// left as it was.
		return nil, ErrNoTransactionalDDL
	}
	return m.locked(ctx, func(p *Plan) (*Report, error) {
		if err := m.blocked(p); err != nil {
			return nil, err
		}
		pending := p.Pending(m.opts.AllowOutOfOrder)
		if limit > 0 && len(pending) > limit {
			pending = pending[:limit]
		}
		return m.apply(ctx, p, pending, Up)
	})
}

// Down rolls back the n most recently applied migrations (n <= 0 means 1).
func (m *Migrator) Down(ctx context.Context, n int) (*Report, error) {
	if n <= 0 {
		n = 1
	}
	return m.locked(ctx, func(p *Plan) (*Report, error) {
		if err := m.blocked(p); err != nil {
			return nil, err
		}
		applied := p.AppliedDesc()
		if len(applied) > n {
			applied = applied[:n]
		}
		return m.rollback(ctx, p, applied)
	})
}

// Goto migrates up or down until version v is the newest applied one;
// v = 0 rolls everything back.
func (m *Migrator) Goto(ctx context.Context, v int64) (*Report, error) {
	if v != 0 && m.source.Find(v) == nil {
		return nil, fmt.Errorf("goto %d: %w: no migration with that version in the folder", v, ErrNoSuchVersion)
	}
	return m.locked(ctx, func(p *Plan) (*Report, error) {
		if err := m.blocked(p); err != nil {
			return nil, err
		}
		var down []Entry
		for _, e := range p.AppliedDesc() {
			if e.Version > v {
				down = append(down, e)
			}
		}
		if len(down) > 0 {
			return m.rollback(ctx, p, down)
		}
		var up []*Migration
		for _, mig := range p.Pending(m.opts.AllowOutOfOrder) {
			if mig.Version <= v {
				up = append(up, mig)
			}
		}
		return m.apply(ctx, p, up, Up)
	})
}

// Redo rolls back the newest applied migration and applies it again.
func (m *Migrator) Redo(ctx context.Context) (*Report, error) {
	return m.locked(ctx, func(p *Plan) (*Report, error) {
		if err := m.blocked(p); err != nil {
			return nil, err
		}
		applied := p.AppliedDesc()
		if len(applied) == 0 {
			// Nothing to redo, as down has nothing to roll back: a success,
			// not a failure to retry.
			return &Report{From: p.Current, To: p.Current}, nil
		}
		if mig := applied[0].Migration; !m.opts.DryRun && transactionalDDL(m.driver) && mig != nil && mig.Down != nil && !mig.Down.NoTransaction && !mig.Up.NoTransaction {
			return m.redoInOneTransaction(ctx, p, mig)
		}
		down, err := m.rollback(ctx, p, applied[:1])
		if err != nil {
			return down, err
		}
		// The up starts from the state the down left, so that a failed up
		// reports the version the database is really at.
		after, err := m.Status(ctx)
		if err != nil {
			return down, err
		}
		up, err := m.apply(ctx, after, []*Migration{applied[0].Migration}, Up)
		if up != nil {
			down.Results = append(down.Results, up.Results...)
			down.To = up.To
			down.Elapsed += up.Elapsed
		}
		return down, err
	})
}

// redoInOneTransaction runs mig's down and up scripts, with their state
// and history rows, in one transaction: a redo killed or cut between the
// two, or whose up fails, leaves mig applied as it was, rather than rolled
// back, where running redo again would roll back the version below it.
func (m *Migrator) redoInOneTransaction(ctx context.Context, p *Plan, mig *Migration) (*Report, error) {
	losses, err := m.checkRollback(ctx, []*Migration{mig})
	if err != nil {
		return nil, err
	}
	steps := make([]*Step, 0, 2)
	for _, dir := range []Direction{Down, Up} {
		step, err := m.newStep(mig, dir)
		if err != nil {
			return nil, err
		}
		steps = append(steps, step)
	}
	rep := &Report{From: p.Current, To: p.Current, DataLoss: losses}
	start := time.Now()
	defer func() { rep.Elapsed = time.Since(start) }()
	return rep, m.runAllOrNothing(ctx, rep, steps)
}

// runAllOrNothing runs steps in one transaction and reports each as done
// once it committed.
func (m *Migrator) runAllOrNothing(ctx context.Context, rep *Report, steps []*Step) error {
	err := m.runSteps(ctx, steps, true)
	if err != nil && !committedAnyway(err) {
		return err
	}
	for _, s := range steps {
		m.done(rep, s.result(s.History.Duration))
	}
	return err
}

func (m *Migrator) blocked(p *Plan) error {
	var block []Entry
	for _, e := range p.Problems() {
		if e.Status == OutOfOrder && m.opts.AllowOutOfOrder {
			continue
		}
		block = append(block, e)
	}
	if len(block) > 0 {
		return &BlockedError{Entries: block}
	}
	return nil
}

func (m *Migrator) rollback(ctx context.Context, p *Plan, entries []Entry) (*Report, error) {
	migs := make([]*Migration, 0, len(entries))
	for _, e := range entries {
		switch {
		case e.Migration == nil:
			return nil, fmt.Errorf("cannot roll back version %d (%s): its files are gone from the folder", e.Version, e.Name)
		case e.Migration.Down == nil:
			return nil, fmt.Errorf("cannot roll back version %d: %s is marked irreversible: %w (ship a new migration that undoes it instead, see `migrate revert`)", e.Version, e.Migration.Up.Path, ErrNotReversible)
		}
		migs = append(migs, e.Migration)
	}
	losses, err := m.checkRollback(ctx, migs)
	if err != nil {
		return nil, err
	}
	rep, err := m.apply(ctx, p, migs, Down)
	if rep != nil {
		rep.DataLoss = losses
	}
	return rep, err
}

// checkScripts splits every script of the folder with the driver's rules
// before the lock is taken, so that an unterminated quote anywhere is
// reported, with its file and line, before anything touches the database
// (not even migrate's own tables are created).
func (m *Migrator) checkScripts() error {
	var problems []Problem
	for _, mig := range m.source.Migrations {
		for _, s := range []*Script{&mig.Up, mig.Down} {
			if s == nil {
				continue
			}
			stmts, err := m.driver.Split(s.SQL)
			if err != nil {
				p := Problem{File: s.Path, Msg: err.Error()}
				var se *sqlsplit.SyntaxError
				if errors.As(err, &se) {
					p.Line, p.Msg = se.Line, fmt.Sprintf("column %d: %s", se.Column, se.Msg)
				}
				problems = append(problems, p)
				continue
			}
			problems = append(problems, m.hiddenDirectives(s)...)
			if !transactionalDDL(m.driver) {
				continue
			}
			if s.NoTransaction {
				if what, line := m.unendedTransaction(stmts); what != "" {
					problems = append(problems, Problem{File: s.Path, Line: line, Msg: fmt.Sprintf("%s opens a transaction that the script never ends: migrate would record the migration inside it, where a failure cannot be recorded and the end of the run loses or keeps it by chance; end it with COMMIT before the script ends", what)})
				}
				continue
			}
			for _, st := range stmts {
				if what := transactionControl(st.Text); what != "" {
					problems = append(problems, Problem{File: s.Path, Line: st.Line, Msg: fmt.Sprintf("%s in a script that migrate runs in a transaction: the migration would no longer commit or roll back together with its state and history rows (a failure after it would leave it half-applied and unrecorded); remove it, or mark the script \"-- migrate:no-transaction\"", what)})
				}
			}
			problems = append(problems, m.refusedInTransaction(mig, s)...)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &SourceError{Dir: filepath.Dir(problems[0].File), Problems: problems}
}

// notInTransactionRE matches a word that every statement lint knows to be
// refused (or ignored) inside a transaction holds; lint tokenizes a whole
// script, so only scripts that hold one are read by it on every run.
var notInTransactionRE = regexp.MustCompile(`(?i)\b(CONCURRENTLY|VACUUM|DATABASE|TABLESPACE|SYSTEM|PRAGMA|SCHEMA|CLUSTER|DISCARD)\b`)

// refusedInTransaction reports the statements of s, a script migrate runs
// in a transaction, that the database refuses there (CREATE INDEX
// CONCURRENTLY, VACUUM) or silently ignores (SQLite's PRAGMA foreign_keys):
// lint's rule, applied before the lock. The refusals failed mid-run, after
// the migrations before them had been applied; the ignored ones ran as if
// obeyed. A lint:ignore comment does not silence it: the server would not
// obey it either. Large scripts are streamed and not checked here.
func (m *Migrator) refusedInTransaction(mig *Migration, s *Script) []Problem {
	ld, ok := m.driver.(LintDialecter)
	if !ok || s.Large() || !notInTransactionRE.MatchString(s.SQL) {
		return nil
	}
	dir := Up
	if s != &mig.Up {
		dir = Down
	}
	found, _ := lintScript(mig, s, dir, ld.LintDialect(), false)
	var problems []Problem
	for _, f := range found {
		if f.Rule == RuleNonTransactional && f.Severity == SeverityError {
			problems = append(problems, Problem{File: f.File, Line: f.Line, Msg: f.Message})
		}
	}
	return problems
}

// hiddenDirectives reports directive lines of s that the server reads as
// part of a string or of a /* */ comment: the folder was read without the
// driver's rules, so they took effect (a script run outside a transaction,
// an up without a down), while the author may have commented them out. It
// also reports a directive written after a statement on its line, which
// was read as an ordinary comment: the script ran in a transaction, or was
// refused for lacking a down script, though it said otherwise. Large
// scripts are streamed and not checked here.
func (m *Migrator) hiddenDirectives(s *Script) []Problem {
	ld, ok := m.driver.(LintDialecter)
	if !ok || !mentionsMigrate(s.SQL) {
		return nil
	}
	var starts []int // where each directive's "--" is
	var texts []string
	off := 0
	for _, line := range strings.SplitAfter(s.SQL, "\n") {
		if d, ok := directiveIn(line); ok {
			starts = append(starts, off+strings.Index(line, "--"))
			texts = append(texts, "migrate:"+d)
		}
		off += len(line)
	}
	comments, err := sqlsplit.CommentStarts(s.SQL, ld.LintDialect().Lex)
	if err != nil {
		// Split has just read the script with the same rules.
		return nil
	}
	var problems []Problem
	for i, at := range starts {
		if _, found := slices.BinarySearch(comments, at); !found {
			problems = append(problems, Problem{File: s.Path, Line: sqlsplit.LineOf(s.SQL, at), Msg: fmt.Sprintf("the directive %q is inside a /* */ comment or a string, where the database does not read it as a comment of its own, yet migrate would obey it; move it out onto a line of its own, or delete it", texts[i])})
		}
	}
	for _, at := range comments {
		lineStart := strings.LastIndexByte(s.SQL[:at], '\n') + 1
		if strings.TrimSpace(s.SQL[lineStart:at]) == "" {
			continue
		}
		// misspelledRE matches any spelling of a known directive.
		if d := misspelledRE.FindStringSubmatch(s.SQL[at:]); d != nil {
			problems = append(problems, Problem{File: s.Path, Line: sqlsplit.LineOf(s.SQL, at), Msg: fmt.Sprintf("the directive %q is after a statement on its line, where migrate reads it as an ordinary comment; move it onto a line of its own", "migrate:"+strings.ToLower(d[1]))})
		}
	}
	return problems
}

// checkLargeScripts does for large scripts what checkScripts does for the
// others, before the lock is taken: their syntax errors were found only
// when the run split them, after migrate's tables had been created (and a
// SQLite database file with them). Only scripts that may run are read, as
// each is a streaming pass over the file: the up scripts of versions not
// applied and the down scripts of applied ones, by a read of the state
// that changes nothing. A script scanned here is not scanned again.
func (m *Migrator) checkLargeScripts(ctx context.Context) error {
	ld, ok := m.driver.(LintDialecter)
	if !ok {
		return nil // split reads such scripts whole, after the lock
	}
	var applied map[int64]bool
	for _, mig := range m.source.Migrations {
		for _, s := range []*Script{&mig.Up, mig.Down} {
			if s == nil || !s.Large() {
				continue
			}
			if applied == nil {
				applied = map[int64]bool{}
				if p, err := m.Status(ctx); err == nil {
					for _, e := range p.Entries {
						if e.State != nil {
							applied[e.Version] = true
						}
					}
				}
			}
			if (s == &mig.Up) == applied[mig.Version] {
				continue // the up of an applied version, the down of a pending one
			}
			if err := s.large.scanAll(ld.LintDialect().Lex); err != nil {
				p := Problem{File: s.Path, Msg: err.Error()}
				var se *sqlsplit.SyntaxError
				if errors.As(err, &se) {
					p.Line, p.Msg = se.Line, fmt.Sprintf("column %d: %s", se.Column, se.Msg)
				}
				return &SourceError{Dir: filepath.Dir(s.Path), Problems: []Problem{p}}
			}
		}
	}
	return nil
}

// unendedTransaction returns the statement, and its line, that opens a
// transaction the script (one run outside migrate's transaction) leaves
// open at its end, or "". On SQLite a SAVEPOINT outside a transaction opens
// one too, ended by the RELEASE of that savepoint.
func (m *Migrator) unendedTransaction(stmts []sqlsplit.Statement) (string, int) {
	savepoints := false
	if ld, ok := m.driver.(LintDialecter); ok {
		savepoints = ld.LintDialect().Name == "sqlite"
	}
	open, line, savepoint := "", 0, ""
	for _, st := range stmts {
		words := strings.Fields(strings.TrimRight(st.Text, "; \t\r\n"))
		switch what := transactionControl(st.Text); {
		case what == "BEGIN" || what == "START TRANSACTION":
			if open == "" {
				open, line, savepoint = what, st.Line, ""
			}
		case what != "":
			open = ""
		case savepoints && len(words) == 2 && strings.EqualFold(words[0], "SAVEPOINT") && open == "":
			open, line, savepoint = "SAVEPOINT "+words[1], st.Line, words[1]
		case savepoint != "" && len(words) >= 2 && strings.EqualFold(words[0], "RELEASE") && strings.EqualFold(words[len(words)-1], savepoint):
			open = ""
		}
	}
	return open, line
}

// transactionControl returns the leading words of a statement that begins,
// commits or rolls back a transaction (BEGIN, COMMIT, END, ROLLBACK, ABORT,
// START TRANSACTION, PREPARE TRANSACTION), or "". A rollback to a savepoint, and BEGIN opening a
// T-SQL block, are not: they leave the enclosing transaction alone.
func transactionControl(stmt string) string {
	// The first three words are all it reads: a data migration's statement
	// can be megabytes long.
	const head = 256
	if len(stmt) > head {
		stmt = stmt[:head]
	}
	var words []string
	for _, w := range strings.FieldsFunc(stmt, func(r rune) bool { return !unicode.IsLetter(r) && r != '_' }) {
		if words = append(words, strings.ToUpper(w)); len(words) == 3 {
			break
		}
	}
	if len(words) == 0 {
		return ""
	}
	next := func(i int) string {
		if i < len(words) {
			return words[i]
		}
		return ""
	}
	switch words[0] {
	case "COMMIT", "ABORT":
		return words[0]
	case "END":
		// END [WORK | TRANSACTION] [AND [NO] CHAIN] in PostgreSQL and
		// SQLite; T-SQL's END CONVERSATION ends a dialog, not a transaction.
		switch next(1) {
		case "", "WORK", "TRANSACTION", "AND":
			return "END"
		}
	case "ROLLBACK":
		if next(1) == "TO" || next(2) == "TO" {
			return ""
		}
		if (next(1) == "TRAN" || next(1) == "TRANSACTION") && next(2) != "" && next(2) != "AND" {
			return "" // T-SQL ROLLBACK TRANSACTION savepoint_name
		}
		return "ROLLBACK"
	case "START":
		if next(1) == "TRANSACTION" {
			return "START TRANSACTION"
		}
	case "PREPARE":
		// PostgreSQL's two-phase commit: it ends the transaction, which
		// then waits, detached, for COMMIT PREPARED from anyone.
		if next(1) == "TRANSACTION" {
			return "PREPARE TRANSACTION"
		}
	case "BEGIN":
		switch next(1) {
		case "", "TRANSACTION", "TRAN", "WORK", "DEFERRED", "IMMEDIATE", "EXCLUSIVE", "ISOLATION", "READ", "NOT", "DISTRIBUTED":
			return "BEGIN"
		}
	}
	return ""
}

// apply runs migs in the given direction. Every script is split before the
// first one runs, so a syntax problem in the tenth file stops the run before
// the first touches the database.
func (m *Migrator) apply(ctx context.Context, p *Plan, migs []*Migration, dir Direction) (*Report, error) {
	if m.opts.SingleTransaction && !transactionalDDL(m.driver) {
		return nil, ErrNoTransactionalDDL
	}
	rep := &Report{DryRun: m.opts.DryRun, From: p.Current, To: p.Current}
	start := time.Now()
	defer func() { rep.Elapsed = time.Since(start) }()
	steps := make([]*Step, 0, len(migs))
	for _, mig := range migs {
		step, err := m.newStep(mig, dir)
		if err != nil {
			return nil, err
		}
		steps = append(steps, step)
	}
	if m.opts.DryRun {
		for _, s := range steps {
			r := s.result(0)
			if s.Streamed() {
				r.EachStatement = func(fn func(string) error) error {
					return s.Each(func(_ int, st sqlsplit.Statement) error { return fn(st.Text) })
				}
			}
			for _, st := range s.Statements {
				r.Statements = append(r.Statements, st.Text)
			}
			rep.Results = append(rep.Results, r)
		}
		rep.To = m.versionAfter(p, migs, dir)
		return rep, nil
	}
	if m.opts.SingleTransaction && len(steps) > 0 {
		for _, s := range steps {
			if s.Script.NoTransaction {
				return nil, misfitf("--single-transaction: %s is marked migrate:no-transaction and cannot run inside a transaction; run it on its own", s.Script.Path)
			}
		}
		err := m.runAllOrNothing(ctx, rep, steps)
		if err == nil || committedAnyway(err) {
			rep.To = m.versionAfter(p, migs, dir)
		}
		return rep, err
	}
	done := map[int64]bool{}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			// Interrupted between two migrations: stop before the next
			// one rather than record it as failed without having run it.
			rep.To = m.versionAfterDone(p, done)
			return rep, fmt.Errorf("interrupted before the %s of version %d was started: %w", dir, s.Migration.Version, err)
		}
		inTx := !s.Script.NoTransaction && transactionalDDL(m.driver)
		if !inTx {
			if err := m.refuseOverInvalidIndex(ctx, s); err != nil {
				rep.To = m.versionAfterDone(p, done)
				return rep, err
			}
		}
		began := time.Now()
		if err := m.runSteps(ctx, []*Step{s}, inTx); err != nil {
			if committedAnyway(err) {
				done[s.Migration.Version] = dir == Up
				m.done(rep, s.result(time.Since(began)))
			}
			rep.To = m.versionAfterDone(p, done)
			return rep, err
		}
		done[s.Migration.Version] = dir == Up
		m.done(rep, s.result(time.Since(began)))
	}
	rep.To = m.versionAfterDone(p, done)
	return rep, nil
}

func (m *Migrator) versionAfter(p *Plan, migs []*Migration, dir Direction) int64 {
	done := map[int64]bool{}
	for _, mig := range migs {
		done[mig.Version] = dir == Up
	}
	return m.versionAfterDone(p, done)
}

// committedAnyway reports an error that came after the migration's commit:
// the lock was lost, but what ran is applied and is reported as done.
func committedAnyway(err error) bool {
	var lost *LockLostError
	return errors.As(err, &lost) && lost.Outcome == Committed
}

// done records a migration that committed and shows it as progress.
func (m *Migrator) done(rep *Report, r Result) {
	rep.Results = append(rep.Results, r)
	if m.opts.Progress != nil {
		m.opts.Progress(r)
	}
}

// versionAfterDone is the newest applied version once the versions in done
// are applied (true) or rolled back (false).
func (m *Migrator) versionAfterDone(p *Plan, done map[int64]bool) int64 {
	var cur int64
	for _, e := range p.Entries {
		applied := e.State != nil && e.State.Status == StatusApplied
		if d, ok := done[e.Version]; ok {
			applied = d
		}
		if applied && e.Version > cur {
			cur = e.Version
		}
	}
	return cur
}

func (m *Migrator) newStep(mig *Migration, dir Direction) (*Step, error) {
	script := &mig.Up
	if dir == Down {
		script = mig.Down
	}
	stmts, stream, err := m.split(script)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (nothing was run)", script.Path, err)
	}
	s := &Step{
		Migration: mig, Direction: dir, Script: script, Statements: stmts, stream: stream,
		History: HistoryRow{
			Version: mig.Version, Name: mig.Name, Direction: dir, Checksum: script.Checksum,
			Success: true, OSUser: m.osUser, Host: m.host, ToolVersion: ToolVersionString(),
		},
	}
	if dir == Up {
		s.State = StateChange{Kind: SetState, Row: StateRow{Version: mig.Version, Name: mig.Name, Checksum: mig.Up.Checksum, Status: StatusApplied}}
	} else {
		s.State = StateChange{Kind: RemoveState, Row: StateRow{Version: mig.Version}}
	}
	return s, nil
}

// split cuts a script into statements before anything runs. A large
// script is read through once to find any syntax error, and its step reads
// it again as it runs; that needs the driver's lexical rules, so a driver
// that does not report them gets the whole text split in memory.
func (m *Migrator) split(script *Script) ([]sqlsplit.Statement, func() (*statements, error), error) {
	ld, ok := m.driver.(LintDialecter)
	if !script.Large() || !ok {
		text, err := script.Text()
		if err != nil {
			return nil, nil, err
		}
		stmts, err := m.driver.Split(text)
		return stmts, nil, err
	}
	lex := ld.LintDialect().Lex
	if !script.large.scanned {
		if err := script.large.scanAll(lex); err != nil {
			return nil, nil, err
		}
	}
	return nil, func() (*statements, error) { return script.large.open(lex) }, nil
}

func (s *Step) result(d time.Duration) Result {
	return Result{Version: s.Migration.Version, Name: s.Migration.Name, Direction: s.Direction, File: s.Script.Path, Duration: d}
}

// runSteps runs steps and, when they fail, records the failure in history
// (and, where statements stayed committed, in the state table) so that
// nothing half-applied goes unrecorded.
func (m *Migrator) runSteps(ctx context.Context, steps []*Step, inTx bool) error {
	if !inTx {
		// Mark the version before its first statement: if this process is
		// killed part-way, the next run sees "interrupted" rather than a
		// clean state that is not true.
		s := steps[0]
		running := StateChange{Kind: SetState, Row: StateRow{Version: s.Migration.Version, Name: s.Migration.Name, Checksum: s.Migration.Up.Checksum, Status: StatusRunning, Error: runningNote(s)}}
		if err := m.driver.Record(ctx, running, HistoryRow{}); err != nil {
			if errors.Is(err, ErrLockLost) {
				return m.lockLost(ctx, steps, err)
			}
			return fmt.Errorf("recording the start of version %d: %w", s.Migration.Version, err)
		}
	}
	start := time.Now()
	err := m.driver.Run(ctx, steps, inTx)
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrLockLost) {
		// The failure is not recorded: without the lock, a write could land
		// in the middle of another migrator's run. A version cut part-way
		// outside a transaction keeps the running mark written before it.
		var se *StatementError
		if errors.As(err, &se) {
			se.Committed = !inTx && se.Index > 1
		}
		if !inTx {
			// A CREATE INDEX CONCURRENTLY cut with its session.
			return m.withInvalidIndexes(ctx, steps[0], m.lockLost(ctx, steps, err))
		}
		return m.lockLost(ctx, steps, err)
	}
	failed := steps[0]
	var se *StatementError
	if errors.As(err, &se) {
		for _, s := range steps {
			// A redo runs the down and up scripts of one version together.
			if s.Migration.Version == se.Version && (failed.Migration.Version != se.Version || s.Script.Path == se.File) {
				failed = s
			}
		}
		// Before the error's text is recorded, which says it.
		se.Committed = !inTx && se.Index > 1
	}
	if !inTx {
		err = m.withInvalidIndexes(ctx, failed, err)
	}
	entry := failed.History
	entry.Success = false
	entry.StartedAt = start
	entry.Duration = time.Since(start)
	entry.Error = err.Error()
	change := StateChange{Kind: NoStateChange}
	if !inTx {
		row := StateRow{Version: failed.Migration.Version, Name: failed.Migration.Name, Checksum: failed.Migration.Up.Checksum, Status: StatusFailed, Error: err.Error()}
		if se != nil {
			row.FailedStatement = se.Index
		}
		change = StateChange{Kind: SetState, Row: row}
	}
	// Record even if ctx was cancelled: the failure must not go unrecorded.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if rerr := m.driver.Record(rctx, change, entry); rerr != nil {
		if ctx.Err() != nil {
			return interruptedUnrecorded(err, failed, se, inTx)
		}
		return fmt.Errorf("%w (and recording the failure in history failed too: %v)", err, rerr)
	}
	return err
}

// interruptedUnrecorded explains a run interrupted (Ctrl-C, SIGTERM) whose
// driver closed the connection to abandon the statement in flight (MySQL's
// does), so that the failure could not be recorded: the session is gone,
// and with it the lock, which is not the same as losing the lock while
// running. What the state table holds is what the user has to act on.
func interruptedUnrecorded(err error, failed *Step, se *StatementError, inTx bool) error {
	v := failed.Migration.Version
	if inTx {
		return fmt.Errorf("%w (interrupted: the connection was closed before the server confirmed, so version %d's transaction is rolled back unless its commit had already reached the server; `migrate status` shows which)", err, v)
	}
	inFlight := "its statement in flight"
	if se != nil {
		inFlight = fmt.Sprintf("statement %d in flight", se.Index)
	}
	return fmt.Errorf("%w (interrupted: the connection was closed with %s, which may still finish on the server; version %d stays recorded as running: check which of its statements took effect, then run `migrate repair %d --applied` or `migrate repair %d --rolled-back`)", err, inFlight, v, v, v)
}

// lockLost builds the error for a run that lost its lock with steps in
// flight. What became of them is read from the state table on another
// connection: reading needs no lock, and a commit sent just before the
// session ended may have landed.
func (m *Migrator) lockLost(ctx context.Context, steps []*Step, err error) error {
	e := &LockLostError{Direction: steps[0].Direction, Outcome: Unknown, Err: err}
	for _, s := range steps {
		e.Versions = append(e.Versions, s.Migration.Version)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	state, rerr := m.stateAfterLoss(rctx)
	if rerr != nil {
		return e
	}
	var row *StateRow
	for i := range state {
		if state[i].Version == e.Versions[0] {
			row = &state[i]
		}
	}
	switch {
	case row != nil && row.Status == StatusRunning:
		e.Outcome = LeftRunning
	case (row != nil) == (e.Direction == Up):
		e.Outcome = Committed
	default:
		e.Outcome = NotRun
	}
	return e
}

// stateAfterLoss reads the state after a session ended under the run. A
// cut that ended the lock's session often ended the pool's idle ones
// with it, and the first read can meet one of those; the pool has dropped
// it by the second.
func (m *Migrator) stateAfterLoss(ctx context.Context) ([]StateRow, error) {
	state, err := m.driver.State(ctx)
	if err != nil && ctx.Err() == nil {
		state, err = m.driver.State(ctx)
	}
	return state, err
}

// Baseline marks every migration up to v as applied without running it, for
// a database whose schema already exists. It refuses when any version is
// already recorded.
func (m *Migrator) Baseline(ctx context.Context, v int64) (*Report, error) {
	if m.source.Find(v) == nil {
		return nil, fmt.Errorf("baseline %d: %w: no migration with that version in the folder", v, ErrNoSuchVersion)
	}
	return m.locked(ctx, func(p *Plan) (*Report, error) {
		resumed, err := m.baselineResumes(ctx, p, v)
		if err != nil {
			return nil, err
		}
		rep := &Report{From: 0, To: v, DryRun: m.opts.DryRun}
		start := time.Now()
		defer func() { rep.Elapsed = time.Since(start) }()
		var last int64
		for _, mig := range m.source.Migrations {
			if mig.Version > v {
				break
			}
			if resumed[mig.Version] {
				last = mig.Version
				continue
			}
			row := StateRow{Version: mig.Version, Name: mig.Name, Checksum: mig.Up.Checksum, Status: StatusApplied}
			entry := m.entry(mig.Version, mig.Name, Baseline, mig.Up.Checksum)
			if !m.opts.DryRun {
				if err := m.driver.Record(ctx, StateChange{Kind: SetState, Row: row}, entry); err != nil {
					rep.To = last
					return rep, fmt.Errorf("baseline of version %d: %w (%s)", mig.Version, err, m.baselineProgress(ctx, v, last))
				}
			}
			last = mig.Version
			rep.Results = append(rep.Results, Result{Version: mig.Version, Name: mig.Name, Direction: Baseline, File: mig.Up.Path})
		}
		return rep, nil
	})
}

// baselineProgress says, for a baseline to v that stopped part-way, which
// versions are recorded and which are not, and that running it again
// finishes the job: each version is its own write. What is recorded is
// read again, on a connection of its own, as a write cut with its session
// may have committed; last, the newest this run knows it recorded, is the
// answer when the state cannot be read.
func (m *Migrator) baselineProgress(ctx context.Context, v, last int64) string {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	recorded := map[int64]bool{}
	if state, err := m.stateAfterLoss(rctx); err == nil {
		for _, r := range state {
			recorded[r.Version] = true
		}
	} else {
		for _, mig := range m.source.Migrations {
			recorded[mig.Version] = mig.Version <= last
		}
	}
	last = 0
	var missing []int64
	for _, mig := range m.source.Migrations {
		switch {
		case mig.Version > v:
		case !recorded[mig.Version]:
			missing = append(missing, mig.Version)
		case len(missing) == 0:
			last = mig.Version
		}
	}
	done := "no version is recorded"
	if last > 0 {
		done = fmt.Sprintf("versions up to %d are recorded", last)
	}
	switch len(missing) {
	case 0:
		return done + ": the last write reached the database before the error, and nothing is left to record"
	case 1:
		return fmt.Sprintf("%s; run `migrate baseline %d` again to finish: version %d is not recorded", done, v, missing[0])
	}
	return fmt.Sprintf("%s; run `migrate baseline %d` again to finish: versions %d to %d are not recorded", done, v, missing[0], missing[len(missing)-1])
}

// baselineResumes returns the versions an earlier baseline recorded before
// it was cut short (killed, interrupted, its connection lost), which a new
// baseline to v leaves as they are and completes. Any other recorded
// version means the database is not one baseline is for, and is refused.
func (m *Migrator) baselineResumes(ctx context.Context, p *Plan, v int64) (map[int64]bool, error) {
	var recorded []Entry
	for _, e := range p.Entries {
		if e.State != nil {
			recorded = append(recorded, e)
		}
	}
	if len(recorded) == 0 {
		return nil, nil
	}
	history, err := m.History(ctx)
	if err != nil {
		return nil, err
	}
	lastBy := map[int64]Direction{}
	for _, h := range history {
		lastBy[h.Version] = h.Direction
	}
	refuse := misfitf("baseline %d: the database already has version %d recorded; baseline is only for a database with no migrate state (or one an interrupted baseline left part-way)", v, recorded[0].Version)
	resumed := map[int64]bool{}
	for _, e := range recorded {
		if e.Version > v || e.State.Status != StatusApplied || lastBy[e.Version] != Baseline {
			return nil, refuse
		}
		resumed[e.Version] = true
	}
	for _, mig := range m.source.Migrations {
		if mig.Version <= v && !resumed[mig.Version] {
			return resumed, nil
		}
	}
	// A baseline that finished: running it again is refused as before.
	return nil, refuse
}

// RepairAction says what repair should record.
type RepairAction string

// Repair actions.
const (
	// RepairApplied: the version's changes are fully in place (a failed
	// migration was finished by hand).
	RepairApplied RepairAction = "applied"
	// RepairRolledBack: the version's changes are gone (undone by hand).
	RepairRolledBack RepairAction = "rolled-back"
	// RepairAcceptChecksum: the file's edit is accepted as the applied one.
	RepairAcceptChecksum RepairAction = "accept-checksum"
	// RepairForget: drop a version whose file is gone from the state.
	RepairForget RepairAction = "forget"
)

// Repair records what a person did about a blocked version. It never runs
// migration SQL; it writes the state row and a history entry saying so.
func (m *Migrator) Repair(ctx context.Context, v int64, action RepairAction) (*Report, error) {
	// A version the database does not record is refused before the lock
	// is taken and migrate's tables are created (a database that never
	// saw migrate has none to repair); it is checked again under the lock.
	if p, err := m.Status(ctx); err == nil && !p.recorded(v) {
		return nil, fmt.Errorf("repair %d: %w: version %d is not recorded in the database; nothing to repair", v, ErrNoSuchVersion, v)
	}
	return m.locked(ctx, func(p *Plan) (*Report, error) {
		var e *Entry
		for i := range p.Entries {
			if p.Entries[i].Version == v && p.Entries[i].State != nil {
				e = &p.Entries[i]
			}
		}
		if e == nil {
			return nil, fmt.Errorf("repair %d: %w: version %d is not recorded in the database; nothing to repair", v, ErrNoSuchVersion, v)
		}
		var change StateChange
		checksum := e.State.Checksum
		switch action {
		case RepairApplied:
			if e.Status != Failed && e.Status != Running && e.Status != Unrecognised {
				return nil, misfitf("repair %d --applied: version %d is %s, not failed, interrupted or unrecognised", v, v, e.Status)
			}
			if e.Migration != nil {
				checksum = e.Migration.Up.Checksum
			}
			change = StateChange{Kind: SetState, Row: StateRow{Version: v, Name: e.Name, Checksum: checksum, Status: StatusApplied}}
		case RepairRolledBack:
			if e.Status != Failed && e.Status != Running && e.Status != Unrecognised {
				return nil, misfitf("repair %d --rolled-back: version %d is %s, not failed, interrupted or unrecognised", v, v, e.Status)
			}
			change = StateChange{Kind: RemoveState, Row: StateRow{Version: v}}
		case RepairAcceptChecksum:
			if e.Status != Changed {
				return nil, misfitf("repair %d --accept-checksum: version %d is %s, not changed", v, v, e.Status)
			}
			checksum = e.Migration.Up.Checksum
			row := *e.State
			row.Checksum = checksum
			change = StateChange{Kind: SetState, Row: row}
		case RepairForget:
			if e.Status != Missing {
				return nil, misfitf("repair %d --forget: version %d is %s; only a version whose files are gone can be forgotten", v, v, e.Status)
			}
			change = StateChange{Kind: RemoveState, Row: StateRow{Version: v}}
		default:
			return nil, misfitf("repair %d: unknown action %q", v, action)
		}
		if action == RepairApplied || action == RepairRolledBack {
			// Neither is true while the index a CREATE INDEX CONCURRENTLY
			// was building is there, INVALID: not in place, as queries do
			// not use it, and not gone; and a CREATE INDEX CONCURRENTLY IF
			// NOT EXISTS run again would keep it as it is.
			if ixs := m.invalidIndexesOf(ctx, e.Migration); len(ixs) > 0 {
				return nil, misfitf("repair %d --%s: version %d's run did not finish, and %s; nothing was recorded", v, action, v, invalidIndexNote("it", ixs))
			}
		}
		entry := m.entry(v, e.Name, Repair, checksum)
		entry.Error = "repair: marked " + string(action)
		if !m.opts.DryRun {
			if err := m.driver.Record(ctx, change, entry); err != nil {
				return nil, fmt.Errorf("repair %d: %w", v, err)
			}
		}
		rep := &Report{From: p.Current, DryRun: m.opts.DryRun, Results: []Result{{Version: v, Name: e.Name, Direction: Repair}}}
		rep.To = m.versionAfterDone(p, map[int64]bool{v: change.Kind == SetState && change.Row.Status == StatusApplied})
		return rep, nil
	})
}

func (m *Migrator) entry(v int64, name string, dir Direction, checksum string) HistoryRow {
	return HistoryRow{
		Version: v, Name: name, Direction: dir, Checksum: checksum, StartedAt: time.Now(),
		Success: true, OSUser: m.osUser, Host: m.host, ToolVersion: ToolVersionString(),
	}
}
