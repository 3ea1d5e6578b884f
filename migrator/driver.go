package migrator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/migrate-dev/migrate/migrator/sqlsplit"
)

// Driver is what the engine needs from one database. A driver package
// registers an Opener in init(); the engine never speaks SQL itself.
type Driver interface {
	// Split cuts a script into statements using the database's own rules.
	Split(sql string) ([]sqlsplit.Statement, error)
	// Lock takes the database-wide migration lock, polling a try-lock until
	// timeout. The returned function releases it. A timeout is a *LockError.
	// Where the lock belongs to a database session, Prepare, Run and Record
	// run on that session while it is held, and an error caused by the
	// session ending wraps ErrLockLost.
	Lock(ctx context.Context, timeout time.Duration) (unlock func(context.Context) error, err error)
	// Prepare creates the state and history tables when they are missing.
	Prepare(ctx context.Context) error
	// State returns the state rows ordered by version; none when the tables
	// do not exist yet.
	State(ctx context.Context) ([]StateRow, error)
	// History returns the history rows in the order they were written.
	History(ctx context.Context) ([]HistoryRow, error)
	// Run executes steps. With inTx the statements of every step and their
	// state and history writes commit together or not at all; without it
	// statements run one by one and each step's bookkeeping follows its last
	// statement. A failing statement is reported as a *StatementError.
	Run(ctx context.Context, steps []*Step, inTx bool) error
	// Record writes bookkeeping only (failures, baselines, repairs).
	Record(ctx context.Context, change StateChange, entry HistoryRow) error
	// Close releases the connection pool.
	Close() error
}

// Status is the state of one version in the state table.
type Status string

// Statuses a version can have in the state table.
const (
	// StatusApplied: the migration ran to completion.
	StatusApplied Status = "applied"
	// StatusFailed: a migration that could not run in a transaction failed
	// part-way; some of its statements may have taken effect.
	StatusFailed Status = "failed"
	// StatusRunning: a non-transactional migration started and its process
	// never reported back (killed, connection lost).
	StatusRunning Status = "running"
)

// StateRow is one version currently applied (or stuck) in the database.
type StateRow struct {
	Version   int64
	Name      string
	Checksum  string
	Status    Status
	AppliedAt time.Time
	// FailedStatement is the 1-based index of the statement that failed.
	FailedStatement int
	Error           string
}

// HistoryRow is one append-only history entry.
type HistoryRow struct {
	ID          int64
	Version     int64
	Name        string
	Direction   Direction
	Checksum    string
	StartedAt   time.Time
	Duration    time.Duration
	Success     bool
	Error       string
	DBUser      string
	OSUser      string
	Host        string
	ToolVersion string
}

// ChangeKind says how a step changes the state table.
type ChangeKind int

// State changes.
const (
	// SetState inserts or replaces the row for the version.
	SetState ChangeKind = iota + 1
	// RemoveState deletes the row for the version.
	RemoveState
	// NoStateChange leaves the state table alone (a failure of a
	// transactional migration changes nothing).
	NoStateChange
)

// StateChange is the state-table write that goes with a step.
type StateChange struct {
	Kind ChangeKind
	Row  StateRow
}

// Step is one migration script to run with its bookkeeping.
type Step struct {
	Migration *Migration
	Direction Direction
	Script    *Script
	// Statements are the script's statements, unless it is large: then
	// they are read from its file again as they run (see Each).
	Statements []sqlsplit.Statement
	State      StateChange
	// History is written after the statements; the driver fills StartedAt
	// and Duration from its own clock and DBUser from its session.
	History HistoryRow

	// stream, for a large script, reads its statements again.
	stream func() (*statements, error)
}

// Streamed reports whether the step's statements are read from the file as
// they run rather than held in Statements.
func (s *Step) Streamed() bool { return s.stream != nil }

// HeldStatements calls fn with the text of each statement of steps, in
// order, for drivers that read what a script will change before it runs.
// It stops and reports false at a streamed step, whose statements are not
// held in memory to be read twice.
func HeldStatements(steps []*Step, fn func(text string)) bool {
	for _, st := range steps {
		if st.Streamed() {
			return false
		}
		for _, stmt := range st.Statements {
			fn(stmt.Text)
		}
	}
	return true
}

// Each calls fn with every statement of the step in order and its 0-based
// index, stopping at the first error. A large script is read as fn goes, so
// its statements are never all in memory; if its file no longer matches the
// checksum taken at load, Each fails after the last statement, before the
// caller commits or records it.
func (s *Step) Each(fn func(i int, st sqlsplit.Statement) error) error {
	if s.stream == nil {
		for i, st := range s.Statements {
			if err := fn(i, st); err != nil {
				return err
			}
		}
		return nil
	}
	stmts, err := s.stream()
	if err != nil {
		return fmt.Errorf("%s: %w", s.Script.Path, err)
	}
	defer stmts.close()
	for i := 0; ; i++ {
		st, err := stmts.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.Script.Path, err)
		}
		if err := fn(i, st); err != nil {
			return err
		}
	}
}

// StatementError is a statement that the database refused.
type StatementError struct {
	Version int64
	File    string
	Line    int
	// Index is the 1-based position of the statement in its script.
	Index     int
	Statement string
	// Committed is true when earlier statements of the script stayed
	// applied (the script did not run in a transaction).
	Committed bool
	// PrevLine is the line where statement Index-1, the last one that
	// took effect, starts; 0 when unknown.
	PrevLine int
	Err      error
}

func (e *StatementError) Error() string {
	stmt := e.Statement
	if len(stmt) > 300 {
		stmt = stmt[:300] + "..."
	}
	// Outside a transaction the statements before it stay applied: say
	// which was the last, so that the user knows what there is to undo.
	after := ""
	if e.Committed && e.Index > 1 {
		after = fmt.Sprintf(" after statement %d took effect", e.Index-1)
		if e.PrevLine > 0 {
			after = fmt.Sprintf(" after statement %d (line %d) took effect", e.Index-1, e.PrevLine)
		}
	}
	return fmt.Sprintf("%s:%d: statement %d failed%s: %v\n    %s", e.File, e.Line, e.Index, after, e.Err, strings.ReplaceAll(stmt, "\n", "\n    "))
}

func (e *StatementError) Unwrap() error { return e.Err }

// LockError means the migration lock could not be taken in time.
type LockError struct {
	Timeout time.Duration
	// Holder describes who holds the lock, when the database can tell.
	Holder string
}

func (e *LockError) Error() string {
	msg := fmt.Sprintf("could not take the migration lock within %s", e.Timeout)
	if e.Holder != "" {
		msg += "; it is held by " + e.Holder
	}
	return msg + " (raise --lock-timeout, or wait for the other migration to finish)"
}

// ErrLockLost is wrapped by a driver's error when the session holding the
// migration lock ended while the lock was held (connection cut, session
// killed on the server, idle timeout): the server has freed the lock, so
// another migrator may be running and nothing more may be written.
var ErrLockLost = errors.New("the migration lock was lost: the database session holding it ended")

// LockLostError means a run stopped because the migration lock was lost.
// Nothing was run or written after the loss; Outcome says, from the state
// table read afterwards, what became of the versions in flight.
type LockLostError struct {
	// Versions were in flight: one, or all of a --single-transaction run.
	Versions  []int64
	Direction Direction
	Outcome   LockLostOutcome
	Err       error
}

// LockLostOutcome is what became of the versions in flight.
type LockLostOutcome string

// Outcomes of the versions in flight when the lock was lost.
const (
	// NotRun: their changes did not commit (rolled back with the session,
	// or never started).
	NotRun LockLostOutcome = "not run"
	// LeftRunning: a migration outside a transaction was cut part-way;
	// some of its statements may have taken effect, and the state table
	// marks it running, as after any interruption.
	LeftRunning LockLostOutcome = "left running"
	// Committed: the commit reached the server just before the session
	// ended; nothing after it ran.
	Committed LockLostOutcome = "committed"
	// Unknown: the state table could not be read after the loss.
	Unknown LockLostOutcome = "unknown"
)

func (e *LockLostError) Error() string {
	lost := "the migration lock was lost during the %s of %s: the database session holding it ended, so the server released it and another migrator may take it; %s (cause: %s)"
	cause := strings.TrimPrefix(e.Err.Error(), ErrLockLost.Error()+": ")
	if len(e.Versions) == 2 && e.Versions[0] == e.Versions[1] {
		// A redo: the down and up scripts of one version, one transaction.
		v := e.Versions[0]
		return fmt.Sprintf(lost, "redo", fmt.Sprintf("version %d", v), fmt.Sprintf("its down and up scripts ran in one transaction, so version %d stays applied whether or not the redo committed (`migrate history` shows which); run the command again to redo it", v), cause)
	}
	which := fmt.Sprintf("version %d", e.Versions[0])
	if n := len(e.Versions); n > 1 {
		which = fmt.Sprintf("versions %d to %d (one transaction)", e.Versions[0], e.Versions[n-1])
	}
	done := "applied"
	if e.Direction == Down {
		done = "rolled back"
	}
	var what string
	switch e.Outcome {
	case NotRun:
		what = which + " was not " + done + " and no later migration was started; run the command again"
	case LeftRunning:
		what = which + " was cut part-way outside a transaction and is recorded as running, and no later migration was started: check which of its statements took effect and record it with `migrate repair`"
	case Committed:
		what = which + " was " + done + " just before the loss, and no later migration was started"
	default:
		what = "no later migration was started; whether " + which + " was " + done + " could not be read (`migrate status` shows it)"
	}
	return fmt.Sprintf(lost, e.Direction, which, what, cause)
}

func (e *LockLostError) Unwrap() error { return e.Err }

// Config is what a driver needs to open a database.
type Config struct {
	// URL is the database URL; its scheme chose the driver.
	URL *url.URL
	// StateTable and HistoryTable name the tool's own tables.
	StateTable, HistoryTable string
	// Schema is the schema holding them, where the database has schemas.
	Schema string
	// AppName identifies this process to the server (shown to lock waiters).
	AppName string
}

// Opener opens a driver for a URL.
type Opener func(ctx context.Context, cfg Config) (Driver, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Opener{}
)

// Register makes a driver available for the URL schemes given. Driver
// packages call it from init(), as database/sql drivers do.
func Register(opener Opener, schemes ...string) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, s := range schemes {
		if _, dup := registry[s]; dup {
			panic("migrator: driver registered twice for scheme " + s)
		}
		registry[s] = opener
	}
}

// Schemes lists the registered URL schemes.
func Schemes() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	var out []string
	for s := range registry {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// ErrNoDatabaseURL is returned when no database URL was given.
var ErrNoDatabaseURL = errors.New("no database URL: pass --database or set DATABASE_URL")

// ErrNoSchemas is wrapped by a driver's error for a Config.Schema on a
// database that has no schemas (SQLite), rather than ignoring it and
// putting migrate's tables somewhere the user did not ask for.
var ErrNoSchemas = errors.New("this database has no schemas")

// ErrNoSuchSchema is wrapped by a driver's error for a Config.Schema that
// names nothing on the server, where the driver does not create it (MySQL,
// whose schemas are databases).
var ErrNoSuchSchema = errors.New("no such schema")

// ErrReservedSchema is wrapped by a driver's error for a Config.Schema
// that its server keeps for itself (PostgreSQL's pg_*, MySQL's mysql):
// refused there after connecting, as if the database had failed, or
// accepted, with migrate's state where dumps and upgrades do not keep it.
var ErrReservedSchema = errors.New("a schema the database keeps for itself")

// ErrBadURL is wrapped by errors about a database URL that cannot name any
// database (it does not parse, or no driver has its scheme); no connection
// was tried.
var ErrBadURL = errors.New("bad database URL")

// PlainNumbers returns err's text with strconv's wording of a value that
// does not parse ("strconv.ParseInt: parsing \"abc\": invalid syntax"),
// which drivers pass on from a URL parameter, said in the user's terms
// ("\"abc\" is not a whole number"). It reads the text, not the error
// chain: go-mssqldb keeps only strconv's message.
func PlainNumbers(err error) string {
	return strconvRE.ReplaceAllStringFunc(err.Error(), func(m string) string {
		sub := strconvRE.FindStringSubmatch(m)
		switch fn, value, reason := sub[1], sub[2], sub[3]; {
		case fn == "ParseBool":
			return value + " is not true or false"
		case reason == "value out of range":
			return value + " is out of range"
		case fn == "ParseFloat":
			return value + " is not a number"
		default:
			return value + " is not a whole number"
		}
	})
}

var strconvRE = regexp.MustCompile(`strconv\.(\w+): parsing ("(?:[^"\\]|\\.)*"): (invalid syntax|value out of range)`)

// ReservedTableError is a driver's refusal, before it connects, of a
// state or history table name that its database keeps for itself
// (SQLite's sqlite_*): the first write would fail as if the database had.
type ReservedTableError struct {
	// Table is "state" or "history".
	Table string
	Name  string
	// Reason says who keeps the name.
	Reason string
}

func (e *ReservedTableError) Error() string {
	return fmt.Sprintf("%s table name %q is not allowed: %s", e.Table, e.Name, e.Reason)
}

// CheckIdentifier refuses a table or schema name that is not a plain SQL
// identifier. Names are also quoted where they are used; this check keeps
// them portable across databases and keeps SQL out of flag values.
func CheckIdentifier(name string) error {
	if !identRE.MatchString(name) {
		return fmt.Errorf("name %q is not allowed: use letters, digits and _ (at most 63, not starting with a digit)", name)
	}
	return nil
}

// CheckTableNames refuses a state and a history table of the same name.
// Case is ignored, as SQLite and MySQL on some systems ignore it: one table
// cannot be both, and the second would be reported as "not one of
// migrate's tables", which hides the real mistake.
func CheckTableNames(state, history string) error {
	if strings.EqualFold(state, history) {
		return fmt.Errorf("the state and the history table must have different names, got %q and %q", state, history)
	}
	return nil
}

// notURLHint says what a database URL looks like, for input that is not one.
const notURLHint = "write a URL such as postgres://user@host/db, mysql://user@host/db or sqlite:path/to.db (key=value and driver DSN strings are not read)"

// Open opens the driver that the URL's scheme names.
func Open(ctx context.Context, rawURL string, cfg Config) (Driver, error) {
	if rawURL == "" {
		return nil, ErrNoDatabaseURL
	}
	if msg := urlSpaceProblem(rawURL); msg != "" {
		// A newline or space read in with DATABASE_URL: url.Parse quoted
		// the whole input (password included) in its error, and a SQLite
		// file name kept a trailing space, opening another database.
		return nil, fmt.Errorf("%w: %s", ErrBadURL, msg)
	}
	u, err := url.Parse(rawURL)
	if err != nil && !strings.Contains(rawURL, "://") {
		// Not a URL at all (a key=value or driver DSN): where its password
		// is cannot be known, so none of it is echoed.
		return nil, fmt.Errorf("%w: it does not parse as a URL; %s", ErrBadURL, notURLHint)
	}
	if err != nil {
		// url.Parse echoes the whole input, password included: only its
		// reason is kept.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w: %q does not parse: %s%s", ErrBadURL, Redact(rawURL), parseErrorText(rawURL, redactErr(err, rawURL)), socketHostHint(rawURL))
	}
	registryMu.RLock()
	opener := registry[u.Scheme]
	registryMu.RUnlock()
	if opener == nil {
		known := fmt.Sprintf("known: %s; a driver registers its scheme when its package under drivers/ is imported", strings.Join(Schemes(), ", "))
		if u.Scheme == "" || u.Opaque != "" {
			// "host=h password=pw" or "user:pw@tcp(h)/db" (the MySQL
			// driver's DSN, whose user parses as a scheme): no part of it
			// is echoed, for the same reason.
			return nil, fmt.Errorf("%w: unknown scheme %q (%s); %s", ErrBadURL, u.Scheme, known, notURLHint)
		}
		return nil, fmt.Errorf("%w: %q: unknown scheme %q (%s)", ErrBadURL, Redact(rawURL), u.Scheme, known)
	}
	if u.Fragment != "" || strings.HasSuffix(rawURL, "#") {
		// A "#" left unencoded in a password, a database or a file name:
		// MySQL dropped the rest without a word, pgx read it into the
		// connect_timeout migrate adds. What follows it is not echoed,
		// as it may be the end of a password.
		return nil, fmt.Errorf("%w: it holds a \"#\", which ends what a database reads of a URL; write a # that belongs to a password or a name as %%23", ErrBadURL)
	}
	if key := repeatedParameter(u.RawQuery); key != "" {
		return nil, fmt.Errorf("%w: URL parameter %s is given twice, with different values: drivers differ on which one counts (pgx takes the first, libpq and go-sql-driver the last); give it once", ErrBadURL, key)
	}
	if cfg.StateTable == "" {
		cfg.StateTable = DefaultStateTable
	}
	if cfg.HistoryTable == "" {
		cfg.HistoryTable = DefaultHistoryTable
	}
	for _, name := range []string{cfg.StateTable, cfg.HistoryTable, cfg.Schema} {
		if name != "" {
			if err := CheckIdentifier(name); err != nil {
				return nil, fmt.Errorf("table or schema %w", err)
			}
		}
	}
	if err := CheckTableNames(cfg.StateTable, cfg.HistoryTable); err != nil {
		return nil, err
	}
	cfg.URL = u
	d, err := opener(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", Redact(rawURL), redactErr(err, rawURL))
	}
	return d, nil
}

// quotedRE finds the quoted pieces of url.Parse's errors ("invalid port
// \":pw\" after host", "invalid URL escape \"%zz\"").
var quotedRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// parseErrorText is url.Parse's reason, unless it quotes a piece of the
// URL's user information: a password holding "/", "#" or "?" ends the host
// early, and the error then quoted the password as an invalid port; one
// holding "%" got its next two characters quoted as an invalid escape.
func parseErrorText(rawURL string, err error) string {
	msg := err.Error()
	i := strings.Index(rawURL, "://")
	at := strings.LastIndex(rawURL, "@")
	if i < 0 || at <= i {
		return msg
	}
	userinfo := rawURL[i+3 : at]
	for _, q := range quotedRE.FindAllString(msg, -1) {
		frag, uerr := strconv.Unquote(q)
		if uerr != nil {
			frag = strings.Trim(q, `"`)
		}
		if frag = strings.TrimPrefix(frag, ":"); frag != "" && strings.Contains(userinfo, frag) {
			return "the user name or password holds a character that a URL needs percent-encoded: write @ as %40, : as %3A, / as %2F, ? as %3F, # as %23 and % as %25"
		}
	}
	return msg
}

// repeatedParameter returns the first query parameter given twice with
// different values, or "". The values are not returned: one may be a
// password.
func repeatedParameter(rawQuery string) string {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return ""
	}
	keys := make([]string, 0, len(q))
	for k, vs := range q {
		for _, v := range vs[1:] {
			if v != vs[0] {
				keys = append(keys, k)
				break
			}
		}
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}

// socketHostHint explains libpq's way to name a Unix socket's folder as
// the host (postgres://user@%2Fvar%2Frun%2Fpostgresql/db), which url.Parse
// refuses with "invalid URL escape "%2F"", a valid escape to the reader.
func socketHostHint(rawURL string) string {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host = host[i+1:]
	}
	if !strings.Contains(strings.ToLower(host), "%2f") {
		return ""
	}
	if scheme != "postgres" && scheme != "postgresql" {
		return "; a host cannot hold an escaped /"
	}
	return "; a host cannot hold an escaped /: name a Unix socket's folder with the host parameter instead (postgres://user@/db?host=/var/run/postgresql)"
}

// urlSpaceProblem describes a control character anywhere in a database URL,
// or a space at either end, or returns "". Neither belongs in a URL; both
// come from copying it with its line end or a padded config file.
func urlSpaceProblem(rawURL string) string {
	if i := strings.IndexFunc(rawURL, unicode.IsControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(rawURL[i:])
		name := map[rune]string{'\n': "a line feed", '\r': "a carriage return", '\t': "a tab"}[r]
		if name == "" {
			name = fmt.Sprintf("the control character %U", r)
		}
		where := fmt.Sprintf("at byte %d of %d", i+1, len(rawURL))
		if strings.TrimRightFunc(rawURL, unicode.IsSpace) == rawURL[:i] {
			where = "at its end"
		}
		return fmt.Sprintf("it holds %s %s (copied in with the URL?); remove it", name, where)
	}
	switch {
	case strings.TrimLeftFunc(rawURL, unicode.IsSpace) != rawURL:
		return "it starts with a space; remove it"
	case strings.TrimRightFunc(rawURL, unicode.IsSpace) != rawURL:
		return "it ends with a space, which would be read as part of the database name; remove it"
	}
	return ""
}

// Default names of the tool's tables; they collide with no other migration
// tool's (schema_migrations, goose_db_version, flyway_schema_history,
// migrations).
const (
	DefaultStateTable   = "migrate_state"
	DefaultHistoryTable = "migrate_history"
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Redact returns the URL with its password replaced by "xxxxx".
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		if i := strings.Index(rawURL, "://"); i >= 0 {
			if at := strings.LastIndex(rawURL, "@"); at > i {
				return rawURL[:i+3] + "xxxxx" + rawURL[at:]
			}
		}
		return rawURL
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if u.Fragment != "" {
		// The end of a password whose "#" was not encoded.
		u.Fragment, u.RawFragment = "xxxxx", ""
	}
	if _, pw, ok := opaquePassword(u); ok {
		u.Opaque = strings.Replace(u.Opaque, ":"+pw+"@", ":xxxxx@", 1)
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, part := range parts {
			if key, _, _ := strings.Cut(part, "="); isPasswordKey(key) {
				parts[i] = key + "=xxxxx"
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	return u.String()
}

// CheckSlashes refuses a server URL written without "//" after its scheme
// (postgres:db, sqlserver:sa:pw@host): url.Parse keeps all of it as one
// opaque string, and the drivers read that as no host at all, so the
// local default server (or a misread key=value string) was used instead
// of the one named.
func CheckSlashes(u *url.URL) error {
	if u.Opaque == "" {
		return nil
	}
	return fmt.Errorf("%w: no // after %s: (write %s://user@host/...)", ErrBadURL, u.Scheme, u.Scheme)
}

// opaquePassword finds user:password@ in a URL written without "//"
// (postgres:user:pw@host/db), which url.Parse leaves in Opaque instead of
// User: Redact printed it whole.
func opaquePassword(u *url.URL) (user, pw string, ok bool) {
	at := strings.LastIndex(u.Opaque, "@")
	if at < 0 {
		return "", "", false
	}
	user, pw, ok = strings.Cut(u.Opaque[:at], ":")
	return user, pw, ok
}

// isPasswordKey reports a query parameter that carries a password:
// PostgreSQL and SQL Server read one from "?password=" as well as from the
// user info, pgx the client key's from "?sslpassword=", and go-mssqldb a
// new one from "?change password=".
func isPasswordKey(rawKey string) bool {
	key, err := url.QueryUnescape(rawKey)
	if err != nil {
		return false
	}
	for _, k := range []string{"password", "sslpassword", "change password"} {
		if strings.EqualFold(key, k) {
			return true
		}
	}
	return false
}

// URLSecrets returns the passwords a database URL holds, in the user info
// or a password query parameter, for removing from messages.
func URLSecrets(rawURL string) []string {
	u, err := url.Parse(rawURL)
	if err != nil {
		// A URL with a line end or tab copied in does not parse, and
		// still holds its password: look again without them.
		u, err = url.Parse(strings.Map(func(r rune) rune {
			if unicode.IsControl(r) {
				return -1
			}
			return r
		}, strings.TrimSpace(rawURL)))
		if err != nil {
			return nil
		}
	}
	var out []string
	if pw, has := u.User.Password(); has && pw != "" {
		out = append(out, pw)
	}
	if _, pw, ok := opaquePassword(u); ok && pw != "" {
		out = append(out, pw)
		if dec, err := url.PathUnescape(pw); err == nil && dec != pw {
			out = append(out, dec)
		}
	}
	for _, part := range strings.Split(u.RawQuery, "&") {
		key, raw, _ := strings.Cut(part, "=")
		if !isPasswordKey(key) {
			continue
		}
		if pw, err := url.QueryUnescape(raw); err == nil && pw != "" {
			out = append(out, pw)
		}
		if raw != "" {
			out = append(out, raw)
		}
	}
	return out
}

// redactErr removes the URL's password from an error message that might
// quote it.
func redactErr(err error, rawURL string) error {
	if err == nil {
		return nil
	}
	if _, perr := url.Parse(rawURL); perr != nil {
		return errors.New(strings.ReplaceAll(err.Error(), rawURL, Redact(rawURL)))
	}
	msg := err.Error()
	for _, pw := range URLSecrets(rawURL) {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Unwrap keeps errors.Is/As working; the wrapped message is never printed
// by this package.
func (e *redactedError) Unwrap() error { return e.err }

// Failure builds the error for st, statement i (0-based) of the step.
// lineInStatement is the 1-based line inside the statement where the
// database located the error, or 0 when it did not say.
func (s *Step) Failure(i int, st sqlsplit.Statement, err error, lineInStatement int) *StatementError {
	line := st.Line
	if lineInStatement > 1 {
		line += lineInStatement - 1
	}
	se := &StatementError{
		Version: s.Migration.Version, File: s.Script.Path, Line: line,
		Index: i + 1, Statement: st.Text, Err: err,
	}
	if i > 0 && i <= len(s.Statements) {
		se.PrevLine = s.Statements[i-1].Line
	}
	return se
}

// PollLock is how every driver waits for its lock: it calls try until it
// reports success, backing off from 10ms to 250ms, and gives up at timeout
// with a *LockError naming the holder that holder() describes. Polling a
// try-lock, rather than blocking inside the database, keeps the wait
// cancellable and avoids PostgreSQL's deadlock between a blocked
// pg_advisory_lock and CREATE INDEX CONCURRENTLY.
func PollLock(ctx context.Context, timeout time.Duration, try func(context.Context) (bool, error), holder func(context.Context) string) error {
	deadline := time.Now().Add(timeout)
	wait := 10 * time.Millisecond
	interrupted := func() error {
		// Say who was waited for: holder runs after the interrupt, so it
		// gets a context of its own.
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		by := ""
		if h := holder(hctx); h != "" {
			by = " held by " + h
		}
		return fmt.Errorf("interrupted while waiting for the migration lock%s; nothing was run: %w", by, ctx.Err())
	}
	for {
		got, err := try(ctx)
		switch {
		case err != nil && ctx.Err() != nil:
			return interrupted()
		case err != nil:
			// The waiter's session ended (killed on the server, the
			// network cut) or the server refused the try: either way this
			// run never held the lock, and a bare connection error would
			// read as a migration cut part-way.
			return fmt.Errorf("taking the migration lock failed while waiting for it; nothing was run: this run never held the lock, so no migration was started or recorded: %w", err)
		case got:
			return nil
		case time.Now().After(deadline):
			return &LockError{Timeout: timeout, Holder: holder(ctx)}
		}
		select {
		case <-ctx.Done():
			return interrupted()
		case <-time.After(wait):
		}
		wait = min(wait*2, 250*time.Millisecond)
	}
}
