package migrator_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	_ "github.com/migrate-dev/migrate/drivers/postgres"
	_ "github.com/migrate-dev/migrate/drivers/sqlite"
	"github.com/migrate-dev/migrate/internal/testdb"
	"github.com/migrate-dev/migrate/migrator"
)

// dataScript is a table and batches*batch rows in multi-row INSERTs of
// batch rows each, one row a line.
func dataScript(batches, batch int) string {
	var b strings.Builder
	b.WriteString("-- a data migration\nCREATE TABLE items (id INTEGER PRIMARY KEY, note TEXT NOT NULL);\n")
	for i := range batches {
		b.WriteString("INSERT INTO items (id, note) VALUES\n")
		for r := range batch {
			id := i*batch + r + 1
			sep := ",\n"
			if r == batch-1 {
				sep = ";\n"
			}
			fmt.Fprintf(&b, "  (%d, 'row %d; it''s -- not a comment /* nor this */ padding padding padding padding')%s", id, id, sep)
		}
	}
	return b.String()
}

// writeMigration writes version 1 to a new folder and returns the folder.
func writeMigration(t *testing.T, up string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "0001_data.up.sql"), []byte(up), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "0001_data.down.sql"), []byte("DROP TABLE items;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// openSQLite returns a migrator on a new SQLite database and a plain
// connection to the same file for checks.
func openSQLite(t *testing.T, dir string) (*migrator.Migrator, *sql.DB) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "test.db")
	return openURL(t, dir, "sqlite:"+file, "sqlite", file)
}

// streamTargets are the databases the streamed-script failures run on:
// SQLite, and PostgreSQL, whose driver sends small scripts as one string.
var streamTargets = []struct {
	name string
	open func(t *testing.T, dir string) (*migrator.Migrator, *sql.DB)
}{
	{"sqlite", openSQLite},
	{"postgres", func(t *testing.T, dir string) (*migrator.Migrator, *sql.DB) {
		url := testdb.Postgres(t)
		return openURL(t, dir, url, "pgx", url)
	}},
}

func openURL(t *testing.T, dir, url, sqlDriver, dsn string) (*migrator.Migrator, *sql.DB) {
	t.Helper()
	src, err := migrator.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	drv, err := migrator.Open(context.Background(), url, migrator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drv.Close() })
	db, err := sql.Open(sqlDriver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// tableExists takes any error for "no table": make sure it is not the
	// connection's.
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	return migrator.New(drv, src, migrator.Options{}), db
}

// tableExists reports whether a table can be read, on any database.
func tableExists(t *testing.T, db *sql.DB, name string) bool {
	t.Helper()
	var n int
	return db.QueryRow(`SELECT count(*) FROM `+name).Scan(&n) == nil
}

// TestLargeScriptApplies runs a 40 MB script, above the default size at
// which scripts stream: every row arrives and history records the SHA-256
// of the file's bytes.
func TestLargeScriptApplies(t *testing.T) {
	script := dataScript(4200, 100)
	if len(script) < 40_000_000 {
		t.Fatalf("the script is %d bytes, want at least 40 MB", len(script))
	}
	dir := writeMigration(t, script)
	m, db := openSQLite(t, dir)
	src, _ := migrator.LoadDir(dir)
	if up := src.Migrations[0].Up; !up.Large() || up.SQL != "" {
		t.Fatalf("a %d-byte script was loaded into memory", len(script))
	}
	ctx := context.Background()
	if _, err := m.Up(ctx, 0); err != nil {
		t.Fatal(err)
	}
	var n, sum int64
	if err := db.QueryRow(`SELECT count(*), sum(id) FROM items`).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if want := int64(420000); n != want || sum != want*(want+1)/2 {
		t.Fatalf("got %d rows with id sum %d, want %d rows 1..%d", n, sum, want, want)
	}
	h, err := m.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(script))
	if len(h) != 1 || h[0].Checksum != hex.EncodeToString(digest[:]) || !h[0].Success {
		t.Fatalf("history %+v, want one success with checksum %x", h, digest)
	}
}

// TestLargeScriptFailingStatement names the file, line and index of a
// statement that fails deep in a streamed script, and nothing stays.
func TestLargeScriptFailingStatement(t *testing.T) {
	migrator.SetLargeScript(t, 1024)
	script := dataScript(50, 10) + "INSERT INTO missing VALUES (1);\nINSERT INTO items VALUES (0, 'after');\n"
	dir := writeMigration(t, script)
	for _, tg := range streamTargets {
		t.Run(tg.name, func(t *testing.T) {
			m, db := tg.open(t, dir)
			_, err := m.Up(context.Background(), 0)
			var se *migrator.StatementError
			if !errors.As(err, &se) {
				t.Fatalf("want a StatementError, got %v", err)
			}
			wantLine := strings.Count(script[:strings.Index(script, "INSERT INTO missing")], "\n") + 1
			if se.File != filepath.Join(dir, "0001_data.up.sql") || se.Line != wantLine || se.Index != 52 || !strings.Contains(se.Statement, "missing") {
				t.Fatalf("got %s:%d statement %d %q, want line %d statement 52", se.File, se.Line, se.Index, se.Statement, wantLine)
			}
			if tableExists(t, db, "items") {
				t.Fatal("the failed migration's table stayed")
			}
		})
	}
}

// TestLargeScriptSyntaxErrorRunsNothing stops at an unterminated string at
// the end of a streamed script before its first statement runs, and before
// the lock and migrate's tables, as for a small script (they were created
// first), with the same file:line form.
func TestLargeScriptSyntaxErrorRunsNothing(t *testing.T) {
	migrator.SetLargeScript(t, 1024)
	script := dataScript(50, 10) + "INSERT INTO items VALUES (0, 'never closed);\n"
	dir := writeMigration(t, script)
	m, db := openSQLite(t, dir)
	_, err := m.Up(context.Background(), 0)
	line := strings.Count(script, "\n")
	var se *migrator.SourceError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), fmt.Sprintf("0001_data.up.sql:%d: column 30: unterminated string literal", line)) || !strings.Contains(err.Error(), "nothing was run") {
		t.Fatalf("want the unterminated string at line %d, got %v", line, err)
	}
	if tableExists(t, db, "items") || tableExists(t, db, "migrate_history") {
		t.Fatal("something ran or was created before the syntax error was found")
	}
}

// TestLargeScriptChangedOnDisk refuses to commit a streamed script whose
// file changed after it was loaded: what ran is not what was checked.
func TestLargeScriptChangedOnDisk(t *testing.T) {
	migrator.SetLargeScript(t, 1024)
	script := dataScript(50, 10)
	dir := writeMigration(t, script)
	m, db := openSQLite(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "0001_data.up.sql"), []byte(script+"DELETE FROM items;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := m.Up(context.Background(), 0)
	if err == nil || !strings.Contains(err.Error(), "changed on disk") {
		t.Fatalf("want a changed-on-disk error, got %v", err)
	}
	if tableExists(t, db, "items") {
		t.Fatal("the changed script was committed")
	}
}

// TestLargeScriptLoadsLikeSmall reads the same files with and without
// streaming: the same checksums, directives and problems, with lines.
func TestLargeScriptLoadsLikeSmall(t *testing.T) {
	long := strings.Repeat("é", 40000) // runes cut by every read buffer
	cases := map[string]string{
		"directives after a BOM":    "\xef\xbb\xbf-- migrate:no-transaction\r\n  -- migrate:irreversible\nSELECT '" + long + "';\n",
		"unknown directives":        "SELECT 1;\n\n\t--  migrate:sometimes\n-- migrate:never\r\n",
		"directive then bad byte":   "-- migrate:sometimes\nSELECT '\xc3';\n",
		"misspelled directives":     "-- MIGRATE:IRREVERSIBLE\n--- migrate:no-transaction\r\n-- migrate: irreversible\n",
		"invalid UTF-8":             "SELECT '" + long + "';\n" + long + "\nSELECT '\xff';\n",
		"invalid UTF-8 at end":      "SELECT 1;\n" + long + "\xe2\x82",
		"no final newline":          "-- migrate:irreversible",
		"NUL byte":                  "SELECT 1;\n" + long + "\nSELECT '\x00';\n",
		"lone carriage return":      "SELECT 1;\r\n" + long + "\r\n-- x\rSELECT 2;\r\n",
		"CR only, long lines":       strings.Repeat("-- "+long+"\r", 3),
		"carriage return at end":    "SELECT 1;\r",
		"inner byte-order mark":     "\xef\xbb\xbfSELECT 1;\n" + long + "\n\xef\xbb\xbfSELECT 2;\n",
		"NUL before a CR on a line": "SELECT 1;\n\xef\xbb\xbfSELECT\r2;\x00\n",
		// A byte-order mark cut by the 64 KiB buffer.
		"byte-order mark cut by the buffer": strings.Repeat("a", 64<<10-1) + "\xef\xbb\xbf;\n",
		// The streaming read's buffer is 64 KiB: a CR as its last byte.
		"CRLF cut by the buffer": strings.Repeat("a", 64<<10-1) + "\r\nSELECT 1;\r\n",
		"CR cut by the buffer":   strings.Repeat("a", 64<<10-1) + "\rSELECT 1;\n",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			fsys := fstest.MapFS{"m/0001_a.up.sql": {Data: []byte(body)}}
			small, smallErr := migrator.Load(fsys, "m")
			migrator.SetLargeScript(t, 0)
			large, largeErr := migrator.Load(fsys, "m")
			if fmt.Sprint(smallErr) != fmt.Sprint(largeErr) {
				t.Fatalf("in memory: %v\nstreamed: %v", smallErr, largeErr)
			}
			if smallErr != nil {
				return
			}
			s, l := small.Migrations[0], large.Migrations[0]
			if !l.Up.Large() || s.Up.Checksum != l.Up.Checksum || s.Up.NoTransaction != l.Up.NoTransaction || s.Irreversible != l.Irreversible {
				t.Fatalf("in memory %+v\nstreamed %+v", s.Up, l.Up)
			}
			text, err := l.Up.Text()
			if err != nil || text != s.Up.SQL {
				t.Fatalf("the streamed script's text differs: %v", err)
			}
		})
	}
}

// TestLargeScriptDryRun streams a large script's statements in a dry run,
// the same ones a small script holds in Statements, and runs nothing.
func TestLargeScriptDryRun(t *testing.T) {
	script := dataScript(20, 10)
	dir := writeMigration(t, script)
	dryRun := func() migrator.Result {
		src, err := migrator.LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "dry.db")
		drv, err := migrator.Open(context.Background(), "sqlite:"+file, migrator.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer drv.Close()
		rep, err := migrator.New(drv, src, migrator.Options{DryRun: true}).Up(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("sqlite", file)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Ping(); err != nil {
			t.Fatal(err)
		}
		if tableExists(t, db, "items") {
			t.Fatal("a dry run created a table")
		}
		return rep.Results[0]
	}
	small := dryRun()
	migrator.SetLargeScript(t, 1024)
	large := dryRun()
	if len(small.Statements) != 21 || small.EachStatement != nil {
		t.Fatalf("small script: %d statements held, streamed %v", len(small.Statements), small.EachStatement != nil)
	}
	if large.Statements != nil || large.EachStatement == nil {
		t.Fatalf("large script: %d statements held, streamed %v", len(large.Statements), large.EachStatement != nil)
	}
	var streamed []string
	if err := large.EachStatement(func(s string) error { streamed = append(streamed, s); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(streamed, "\x00") != strings.Join(small.Statements, "\x00") {
		t.Fatalf("streamed %d statements, want the %d of the small path", len(streamed), len(small.Statements))
	}
}
