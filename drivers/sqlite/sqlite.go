// Package sqlite is migrate's embedded default driver, on the pure-Go
// modernc.org/sqlite (no cgo). URLs: sqlite:path/to.db, sqlite://path/to.db,
// sqlite:///abs/path.db and sqlite::memory:.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/migrate-dev/migrate/drivers/sqlstore"
	"github.com/migrate-dev/migrate/migrator"
	"github.com/migrate-dev/migrate/migrator/sqlsplit"
	_ "modernc.org/sqlite" // registers database/sql driver "sqlite"
)

func init() {
	migrator.Register(Open, "sqlite", "sqlite3")
	migrator.RegisterDialect(lintDialect, "sqlite", "sqlite3")
}

var lintDialect = migrator.Dialect{Name: "sqlite", Lex: Dialect}

// LintDialect lets the engine read this driver's scripts for data loss.
func (d *Driver) LintDialect() migrator.Dialect { return lintDialect }

// Dialect is SQLite's lexical rules: brackets and backticks quote
// identifiers, and trigger bodies keep their semicolons.
var Dialect = sqlsplit.Dialect{Brackets: true, Backticks: true, BeginEnd: true}

// Driver is a SQLite database.
type Driver struct {
	*sqlstore.Store
	db   *sql.DB
	path string // "" for an in-memory database
	cfg  migrator.Config
	// snapCache keeps tables read by Snapshot for the next one.
	snapCache tableCache
}

// Path returns the database file named by a sqlite URL.
func Path(u *url.URL) string {
	if u.Opaque == "" {
		return u.Host + u.Path
	}
	// sqlite:path/to.db: its escapes (%23 for "#", %3F for "?") are
	// decoded as they are in sqlite:///abs/path.db; kept as written, they
	// named another file than the one meant. An invalid escape is
	// refused by Open.
	if p, err := url.PathUnescape(u.Opaque); err == nil {
		return p
	}
	return u.Opaque
}

// Open opens the database named by cfg.URL. A file that does not exist yet
// is created by the first command that writes (up, baseline, ...), not by
// status, validate or history, which report it as an empty database: a
// typo in the path must not leave a new empty file behind.
func Open(ctx context.Context, cfg migrator.Config) (migrator.Driver, error) {
	path := Path(cfg.URL)
	if _, err := url.PathUnescape(cfg.URL.Opaque); err != nil {
		return nil, fmt.Errorf("%w: the file name %s: %v; write %% in a file name as %%25", migrator.ErrBadURL, cfg.URL.Opaque, err)
	}
	if path == "" {
		return nil, fmt.Errorf("%w: it names no file: use sqlite:path/to.db or sqlite::memory:", migrator.ErrBadURL)
	}
	// SQLite's own URI form, or a go-sqlite3 DSN, written after "sqlite:":
	// it named a file called "file:x.db".
	if strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("%w: %q is SQLite's own URI form, which a sqlite: URL does not take: write sqlite:%s", migrator.ErrBadURL, path, strings.TrimPrefix(path, "file:"))
	}
	// An escaped control character: SQLite cut the name at a NUL and
	// created another file than the one the lock file is named after.
	if i := strings.IndexFunc(path, unicode.IsControl); i >= 0 {
		return nil, fmt.Errorf("%w: the file name %q holds the control character %U", migrator.ErrBadURL, path, []rune(path[i:])[0])
	}
	// A folder's name: status read x.db for sqlite:x.db/, while up failed
	// on the lock file "x.db/.migrate-lock" (exit 4), and a name that did
	// not exist was reported as a missing folder.
	if strings.HasSuffix(path, "/") {
		return nil, fmt.Errorf("%w: the file name %s ends with /, which names a folder: name the database file, as in sqlite:path/to.db", migrator.ErrBadURL, path)
	}
	// Options after "?" (mode=ro, ...) would be dropped, opening the
	// database read-write; a "#" is refused for every URL by migrator.Open.
	if u := cfg.URL; u.RawQuery != "" || u.ForceQuery {
		return nil, fmt.Errorf("%w: SQLite URLs take no parameters, got %q after the file name %s; migrate sets the connection options itself", migrator.ErrBadURL, "?"+u.RawQuery, path)
	}
	if cfg.Schema != "" {
		return nil, fmt.Errorf("schema %q: %w: migrate's tables live in the database file; drop the schema setting", cfg.Schema, migrator.ErrNoSchemas)
	}
	for _, t := range [][2]string{{"state", cfg.StateTable}, {"history", cfg.HistoryTable}} {
		if strings.HasPrefix(strings.ToLower(t[1]), "sqlite_") {
			return nil, &migrator.ReservedTableError{Table: t[0], Name: t[1], Reason: "SQLite keeps names starting with sqlite_ (in any case) for its own tables; choose another"}
		}
	}
	memory := path == ":memory:"
	if !memory {
		if dir := filepath.Dir(path); dir != "." {
			// Said by the OS ("stat DIR: no such file or directory") and
			// SQLite ("unable to open database file (14)"), neither
			// saying which part of the path is wrong.
			switch st, err := os.Stat(dir); {
			case errors.Is(err, fs.ErrNotExist):
				return nil, fmt.Errorf("the folder %s of database file %s does not exist (migrate creates the file, not its folder)%s", dir, path, migrator.ShellHint(path))
			case err != nil:
				return nil, fmt.Errorf("directory of database file %s: %w%s", path, err, migrator.ShellHint(path))
			case !st.IsDir():
				return nil, fmt.Errorf("the folder %s of database file %s is a file, not a folder", dir, path)
			}
		}
		if st, err := os.Stat(path); err == nil && st.IsDir() {
			return nil, fmt.Errorf("database file %s is a directory", path)
		} else if err == nil && migrator.SpecialFileKind(st.Mode()) != "" {
			// SQLite wrote its journal and migrate its lock file beside
			// it (in /dev, for /dev/null), and failed with an I/O error.
			return nil, fmt.Errorf("database file %s is %s, not a database file", path, migrator.SpecialFileKind(st.Mode()))
		}
	}
	// busy_timeout first so the other pragmas wait rather than fail;
	// foreign_keys is a no-op inside a transaction, so it is set per
	// connection here; _txlock=immediate takes the write lock at BEGIN,
	// which is what makes concurrent writers wait instead of deadlocking.
	// mmap_size lets reads use the file's pages in place rather than copy
	// each into a page cache of fresh memory: reading 10000 state rows
	// took a third fewer page faults (1730 -> 1090), and `status` on them
	// 6% less CPU in all.
	// (Writes still go through the journal as before; what mmap gives up,
	// a disk error reported as an error rather than a crash, leaves the
	// database as a kill would: the journal rolls the transaction back.)
	// SQLite reads the file name as a URI path: "%", "?" and "#" in it are
	// escaped so that the file opened is the one the lock and the
	// existence checks use.
	dsn := "file:" + uriPathEscaper.Replace(path) + "?_pragma=busy_timeout(" + busyTimeout + ")&_pragma=foreign_keys(1)&_pragma=mmap_size(268435456)&_txlock=immediate"
	if memory {
		dsn = "file::memory:?_pragma=foreign_keys(1)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	if memory {
		// Each :memory: connection is its own database: keep one.
		db.SetMaxOpenConns(1)
	}
	// The ping proves the file is a database; it would also create a
	// missing one.
	if memory || fileExists(path) {
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			// SQLite says "file is not a database (26)".
			var coded interface{ Code() int }
			if errors.As(err, &coded) && coded.Code()&0xff == sqliteNotADB {
				return nil, fmt.Errorf("%s is not a SQLite database: the file holds something else; check the path", path)
			}
			return nil, fmt.Errorf("opening %s: %w", path, err)
		}
	}
	d := &Driver{db: db, cfg: cfg}
	if !memory {
		d.path = path
	}
	d.Store = &sqlstore.Store{
		DB: db,
		Dialect: sqlstore.Dialect{
			CreateTables: createTables,
			TableExists: func(ctx context.Context, db *sql.DB, name string) (bool, error) {
				if !memory && !fileExists(path) {
					return false, nil
				}
				var n int
				err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, name).Scan(&n)
				return n > 0, err
			},
			ResetSession:       resetSession,
			ResetQueries:       resetTemporary,
			AbandonTransaction: "ROLLBACK",
			BoolValue: func(b bool) any {
				if b {
					return 1
				}
				return 0
			},
		},
		StateTable:   quote(cfg.StateTable),
		HistoryTable: quote(cfg.HistoryTable),
		StateName:    cfg.StateTable,
		HistoryName:  cfg.HistoryTable,
	}
	return d, nil
}

// sqliteNotADB is SQLite's primary result code for a file that is not a
// database (SQLITE_NOTADB).
const sqliteNotADB = 26

// busyTimeout is how many milliseconds a connection waits for another
// writer before it fails.
const busyTimeout = "10000"

// resetSession undoes, before each migration, the settings a script may
// have made with PRAGMA for the rest of its connection's life: the pool
// hands the next migration of the same up that connection, which then
// loaded rows with foreign keys or CHECK constraints unchecked, fired
// triggers recursively or renamed tables the legacy way, though it ran as
// written on its own. The values are those every new connection starts
// with (SQLite's defaults, and the DSN's foreign_keys and busy_timeout);
// foreign_keys only takes outside a transaction, which is where sqlstore
// runs the first reset of a migration.
var resetSession = []string{`PRAGMA foreign_keys = ON; PRAGMA ignore_check_constraints = OFF; PRAGMA recursive_triggers = OFF; PRAGMA legacy_alter_table = OFF; PRAGMA reverse_unordered_selects = OFF; PRAGMA case_sensitive_like = OFF; PRAGMA busy_timeout = ` + busyTimeout}

// resetTemporary drops the temporary triggers, views and tables a script
// left on its connection, for the same reason: the next migration of the
// same up could read them, or fire them, and failed or ran otherwise on
// its own.
var resetTemporary = []string{`SELECT 'DROP ' || type || ' IF EXISTS temp."' || replace(name, '"', '""') || '"' FROM temp.sqlite_schema WHERE type IN ('trigger', 'view', 'table') ORDER BY type = 'table', type = 'view'`}

var uriPathEscaper = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func createTables(state, history string) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + state + ` (
	version INTEGER PRIMARY KEY,
	name TEXT NOT NULL,
	checksum TEXT NOT NULL,
	status TEXT NOT NULL,
	applied_at DATETIME NOT NULL,
	failed_statement INTEGER,
	error TEXT
)`,
		`CREATE TABLE IF NOT EXISTS ` + history + ` (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	version INTEGER NOT NULL,
	name TEXT NOT NULL,
	direction TEXT NOT NULL,
	checksum TEXT NOT NULL,
	started_at DATETIME NOT NULL,
	duration_ms REAL NOT NULL,
	success BOOLEAN NOT NULL,
	error TEXT,
	db_user TEXT NOT NULL,
	os_user TEXT NOT NULL,
	host TEXT NOT NULL,
	tool_version TEXT NOT NULL
)`,
	}
}

// Split cuts a script with SQLite's rules.
func (d *Driver) Split(sql string) ([]sqlsplit.Statement, error) {
	return sqlsplit.Split(sql, Dialect)
}

// Lock takes an exclusive file lock (flock, or LockFileEx on Windows) on "<database>.migrate-lock" beside the
// database file. A file lock holds across processes and is released by the
// operating system if the holder dies, so a killed migrator never leaves a
// stale lock. The holder writes who it is into the file for waiters to read.
func (d *Driver) Lock(ctx context.Context, timeout time.Duration) (func(context.Context) error, error) {
	if d.path == "" {
		return func(context.Context) error { return nil }, nil
	}
	// Only commands that write take the lock. SQLite opens a file it may
	// not write read-only without a word, and the first write then fails
	// as if the migration's own statement were wrong (exit 1, blaming the
	// script); the file's permissions are the thing to fix, so say so
	// before anything runs.
	if f, err := os.OpenFile(d.path, os.O_RDWR, 0); err == nil {
		f.Close()
	} else if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return nil, fmt.Errorf("database file %s cannot be written by this user (%w): run migrate as a user who may write it and its folder %s, or change their permissions", d.path, err, filepath.Dir(d.path))
	}
	if err := folderWritable(filepath.Dir(d.path)); errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		return nil, fmt.Errorf("the folder %s of database file %s cannot be written by this user (%w): SQLite writes its journal there during each migration; run migrate as a user who may write in it, or change its permissions", filepath.Dir(d.path), d.path, err)
	}
	lockPath := d.path + ".migrate-lock"
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		hint := ""
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
			hint = fmt.Sprintf(": migrate creates and writes this file beside the database; run it as a user who may write in %s (and the lock file, if it exists)", filepath.Dir(d.path))
		}
		return nil, fmt.Errorf("opening lock file %w%s", err, hint)
	}
	try := func(context.Context) (bool, error) { return tryLockFile(f) }
	holder := func(context.Context) string {
		who, _ := os.ReadFile(lockPath)
		return strings.TrimSpace(string(who)) + " (lock file " + lockPath + ")"
	}
	if err := migrator.PollLock(ctx, timeout, try, holder); err != nil {
		f.Close()
		return nil, err
	}
	host, _ := os.Hostname()
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d on %s since %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))), 0)
	return func(context.Context) error {
		defer f.Close()
		return unlockFile(f)
	}, nil
}

// Close closes the database.
func (d *Driver) Close() error { return d.db.Close() }

// DB returns the underlying pool, for tests and schema snapshots.
func (d *Driver) DB() *sql.DB { return d.db }
