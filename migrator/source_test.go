package migrator_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/migrate-dev/migrate/migrator"
)

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys["m/"+name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

func TestLoadValid(t *testing.T) {
	src, err := migrator.Load(mapFS(map[string]string{
		"0002_b.up.sql":              "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);",
		"0002_b.down.sql":            "DROP INDEX CONCURRENTLY i;",
		"0001_a.up.sql":              "\xef\xbb\xbfCREATE TABLE t (c int);\r\n",
		"0001_a.down.sql":            "",
		"20260101120000_c.up.sql":    "-- migrate:irreversible\nDELETE FROM t WHERE c = 1;",
		"README.md":                  "not a migration",
		".0003_hidden.up.sql":        "ignored",
		"0004_comment_only.up.sql":   "-- nothing yet\n",
		"0004_comment_only.down.sql": "/* nothing */",
	}), "m")
	if err != nil {
		t.Fatal(err)
	}
	var versions []int64
	for _, m := range src.Migrations {
		versions = append(versions, m.Version)
	}
	if len(versions) != 4 || versions[0] != 1 || versions[1] != 2 || versions[2] != 4 || versions[3] != 20260101120000 {
		t.Fatalf("versions %v", versions)
	}
	a, b, c := src.Find(1), src.Find(2), src.Find(20260101120000)
	if strings.HasPrefix(a.Up.SQL, "\xef\xbb\xbf") {
		t.Error("byte-order mark was not removed")
	}
	if len(a.Up.Checksum) != 64 {
		t.Errorf("checksum %q is not SHA-256 hex", a.Up.Checksum)
	}
	if !b.Up.NoTransaction || b.Down.NoTransaction {
		t.Error("no-transaction directive applies to the file that has it")
	}
	if !c.Irreversible || c.Down != nil {
		t.Error("irreversible migration parsed wrong")
	}
}

func TestLoadProblems(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"bad name", map[string]string{"add_users.up.sql": "x"}, []string{"add_users.up.sql: file name must look like VERSION_NAME.up.sql"}},
		{"no direction", map[string]string{"0001_a.sql": "x"}, []string{"0001_a.sql: file name must look like"}},
		{"zero version", map[string]string{"0_a.up.sql": "x", "0_a.down.sql": "x"}, []string{"version 0 must be a positive integer"}},
		{"overflow", map[string]string{"99999999999999999999_a.up.sql": "x"}, []string{"must be a positive integer below 2^63"}},
		{"duplicate", map[string]string{"1_a.up.sql": "x", "1_a.down.sql": "x", "01_a.up.sql": "x"}, []string{"duplicate version 1"}},
		{"duplicate other name", map[string]string{"1_a.up.sql": "x", "1_b.down.sql": "x"}, []string{"duplicate version 1 with a different name"}},
		{"up without down", map[string]string{"0003_orders.up.sql": "x"}, []string{"0003_orders.up.sql: no down script: add 0003_orders.down.sql, or mark"}},
		{"down without up", map[string]string{"0003_orders.down.sql": "x"}, []string{"0003_orders.down.sql: down script without an up script"}},
		{"irreversible with down", map[string]string{"1_a.up.sql": "-- migrate:irreversible\nx", "1_a.down.sql": "x"}, []string{"marked irreversible but has a down script"}},
		{"unknown directive", map[string]string{"1_a.up.sql": "SELECT 1;\n-- migrate:no-transation\n", "1_a.down.sql": ""}, []string{"1_a.up.sql:2: unknown directive \"migrate:no-transation\""}},
		// Read as comments: the script ran in a transaction, or was
		// refused for its missing down, with no word about the directive.
		{"directive in upper case", map[string]string{"1_a.up.sql": "-- MIGRATE:NO-TRANSACTION\nVACUUM;\n", "1_a.down.sql": ""}, []string{`1_a.up.sql:1: "-- MIGRATE:NO-TRANSACTION" is not read as a directive: write "-- migrate:no-transaction"`}},
		{"directive with three dashes", map[string]string{"1_a.up.sql": "SELECT 1;\n--- migrate:irreversible\r\n"}, []string{`1_a.up.sql:2: "--- migrate:irreversible" is not read as a directive`}},
		{"directive with spaces around the colon", map[string]string{"1_a.up.sql": "-- migrate : no-transaction\n", "1_a.down.sql": ""}, []string{`1_a.up.sql:1: "-- migrate : no-transaction" is not read`}},
		{"directive with a space after the colon", map[string]string{"1_a.up.sql": "-- migrate: irreversible\n"}, []string{`1_a.up.sql:1: "-- migrate: irreversible" is not read`}},
		// Printed raw, a line feed split the message and an escape
		// sequence coloured the terminal; 0xFF was named U+FFFD.
		{"line feed in a name", map[string]string{"2_b\n.up.sql": "x"}, []string{`"2_b\n.up.sql": file name must look like`, "control character U+000A"}},
		{"escape sequence in a name", map[string]string{"2_b\x1b[31m.up.sql": "x"}, []string{`"2_b\x1b[31m.up.sql"`, "control character U+001B"}},
		{"byte that is not UTF-8 in a name", map[string]string{"2_b\xff.up.sql": "x"}, []string{`"2_b\xff.up.sql"`, "byte 0xFF is not UTF-8 text"}},
		{"non-utf8", map[string]string{"1_a.up.sql": "SELECT 1;\nSELECT '\xff';\n", "1_a.down.sql": ""}, []string{"1_a.up.sql:2: not valid UTF-8"}},
		{"NUL byte", map[string]string{"1_a.up.sql": "SELECT 1;\nSELECT 2;\x00SELECT 3;\n", "1_a.down.sql": ""}, []string{"1_a.up.sql:2: contains a NUL byte"}},
		{"UTF-16 without a byte-order mark", map[string]string{"1_a.up.sql": "S\x00E\x00L\x00E\x00C\x00T\x00 \x001\x00;\x00", "1_a.down.sql": ""}, []string{"1_a.up.sql:1: contains a NUL byte", "UTF-16"}},
		{"carriage returns only", map[string]string{"1_a.up.sql": "-- make a\rCREATE TABLE a (id INT);\r", "1_a.down.sql": ""}, []string{"1_a.up.sql:1: has a carriage return without a line feed"}},
		{"one lone carriage return", map[string]string{"1_a.up.sql": "SELECT 1;\r\n-- two\r\nSELECT 2;\r-- three\n", "1_a.down.sql": ""}, []string{"1_a.up.sql:3: has a carriage return without"}},
		{"byte-order mark inside", map[string]string{"1_a.up.sql": "\ufeffSELECT 1;\n\ufeffSELECT 2;\n", "1_a.down.sql": ""}, []string{"1_a.up.sql:2: has a byte-order mark (U+FEFF) after the start"}},
		{"several at once", map[string]string{"x.up.sql": "", "2_b.up.sql": ""}, []string{"x.up.sql", "2_b.up.sql: no down script"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := migrator.Load(mapFS(c.files), "m")
			var se *migrator.SourceError
			if !errors.As(err, &se) {
				t.Fatalf("want SourceError, got %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if !strings.Contains(err.Error(), "nothing was run") {
				t.Errorf("error does not say nothing ran: %v", err)
			}
		})
	}
}

func TestLoadDirMissing(t *testing.T) {
	_, err := migrator.LoadDir("/no/such/dir")
	if err == nil || !strings.Contains(err.Error(), "/no/such/dir does not exist") || strings.Contains(err.Error(), "~") {
		t.Fatalf("got %v", err)
	}
	// MIGRATE_DIR='~/db/migrations' from a quoted value or a .env file:
	// the message said only that the folder does not exist.
	t.Chdir(t.TempDir())
	_, err = migrator.LoadDir("~/db/migrations")
	if err == nil || !strings.Contains(err.Error(), "a leading ~ is expanded by the shell, not by migrate") {
		t.Fatalf("got %v, want the ~ explained", err)
	}
}

func TestSkipDownScripts(t *testing.T) {
	files := map[string]string{
		"1_a.up.sql": "CREATE TABLE a (id INT);\n", "1_a.down.sql": "DROP TABLE a; -- caf\xe9\n",
	}
	if _, err := migrator.Load(mapFS(files), "m"); err == nil || !strings.Contains(err.Error(), "1_a.down.sql:1: not valid UTF-8") {
		t.Fatalf("a full load accepted a broken down script: %v", err)
	}
	src, err := migrator.LoadWith(mapFS(files), "m", migrator.LoadOptions{SkipDownScripts: true})
	if err != nil {
		t.Fatalf("skipping down scripts still read one: %v", err)
	}
	m := src.Migrations[0]
	if m.Up.SQL != files["1_a.up.sql"] || m.Down == nil || m.Down.Path != "1_a.down.sql" || m.Down.SQL != "" {
		t.Fatalf("up %q, down %+v", m.Up.SQL, m.Down)
	}
	// What the file names alone tell is still checked.
	for name, want := range map[string]string{"2_b.up.sql": "2_b.up.sql: no down script", "3_c.down.sql": "3_c.down.sql: down script without an up script"} {
		bad := map[string]string{name: "SELECT 1;\n"}
		for k, v := range files {
			bad[k] = v
		}
		if _, err := migrator.LoadWith(mapFS(bad), "m", migrator.LoadOptions{SkipDownScripts: true}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("with %s: got %v, want %q", name, err, want)
		}
	}
	defer func() {
		if r := recover(); r != migrator.ErrDownScriptsNotRead {
			t.Fatalf("Lint of a source without down scripts: recovered %v", r)
		}
	}()
	migrator.Lint(src, migrator.Dialect{})
}

// TestLoadDirBrokenLink names a symbolic link to nothing as such, and does
// not call its partner an orphan: one problem, the real one.
func TestLoadDirBrokenLink(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "0001_a.down.sql"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "gone.sql"), filepath.Join(dir, "0001_a.up.sql")); err != nil {
		t.Fatal(err)
	}
	_, err := migrator.LoadDir(dir)
	var se *migrator.SourceError
	if !errors.As(err, &se) || len(se.Problems) != 1 || !strings.Contains(se.Problems[0].String(), "0001_a.up.sql: is a symbolic link to "+filepath.Join(dir, "gone.sql")+", which does not exist") {
		t.Fatalf("got %v", err)
	}
}

// vanishing is a folder that lists a file it no longer holds: one deleted
// or renamed between the listing and the read.
type vanishing struct {
	fstest.MapFS
	gone string
}

func (v vanishing) Open(name string) (fs.File, error) {
	if name == v.gone {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return v.MapFS.Open(name)
}

// TestFileGoneWhileLoading: it said "cannot read: open m/0002_b.up.sql:
// file does not exist", the file named twice in Go's words.
func TestFileGoneWhileLoading(t *testing.T) {
	fsys := vanishing{mapFS(map[string]string{"0001_a.up.sql": "SELECT 1;", "0001_a.down.sql": ""}), "m/0001_a.up.sql"}
	_, err := migrator.Load(fsys, "m")
	var se *migrator.SourceError
	if !errors.As(err, &se) || len(se.Problems) != 1 || !strings.Contains(err.Error(), "0001_a.up.sql: was listed in the folder but is gone") || strings.Contains(err.Error(), "open ") {
		t.Fatalf("want one problem saying 0001_a.up.sql is gone, got %v", err)
	}
}
