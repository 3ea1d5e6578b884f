package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/migrate-dev/migrate/migrator"
)

// A migration marked no-transaction that fails part-way leaves its earlier
// statements applied; the version is recorded as failed with the statement
// that failed, and up refuses until repair is told what happened.
func TestNoTransactionFailure(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		up := "-- migrate:no-transaction\n" + tg.script("CREATE TABLE b (id INTEGER PRIMARY KEY)", "INSERT INTO a (id) VALUES (1)", "INSERT INTO no_such_table (id) VALUES (1)")
		e := newEnv(t, tg, writeFiles(t, map[string]string{
			"0001_a.up.sql":   "CREATE TABLE a (id INTEGER PRIMARY KEY);\n",
			"0001_a.down.sql": "DROP TABLE a;\n",
			"0002_b.up.sql":   up,
			"0002_b.down.sql": "DROP TABLE b;\n",
		}))
		ctx := context.Background()
		_, err := e.migrator(migrator.Options{}).Up(ctx, 0)
		var se *migrator.StatementError
		if !errors.As(err, &se) || se.Index != 3 || se.Line != lineOf(up, "no_such_table") || !se.Committed {
			t.Fatalf("want statement 3 at line %d failing after committed statements, got %#v", lineOf(up, "no_such_table"), err)
		}
		// The error says what stayed applied: statements 1 and 2, the last
		// of them at its line, which is where undoing by hand starts.
		if want := fmt.Sprintf("statement 3 failed after statement 2 (line %d) took effect", lineOf(up, "INSERT INTO a ")); !strings.Contains(err.Error(), want) {
			t.Fatalf("the error does not say %q:\n%v", want, err)
		}
		st := e.state()
		if len(st) != 2 || st[1].Status != migrator.StatusFailed || st[1].FailedStatement != 3 || !strings.Contains(st[1].Error, "no_such_table") {
			t.Fatalf("state: %+v", st)
		}
		out, code := e.cli("up")
		if code != 6 || !strings.Contains(out, "version 2 (b) is failed") || !strings.Contains(out, "repair 2 --rolled-back") {
			t.Fatalf("up after a failed non-transactional migration: exit %d\n%s", code, out)
		}
		out, code = e.cli("status")
		if code != 0 || !strings.Contains(out, "statement 3 failed outside a transaction") {
			t.Fatalf("status: exit %d\n%s", code, out)
		}
		// Undo by hand what did run, fix the file, and tell repair.
		db := e.db()
		for _, q := range []string{"DROP TABLE b", "DELETE FROM a"} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if err := os.WriteFile(filepath.Join(e.dir, "0002_b.up.sql"), []byte("-- migrate:no-transaction\nCREATE TABLE b (id INTEGER PRIMARY KEY);\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, code := e.cli("repair", "2", "--rolled-back"); code != 0 {
			t.Fatalf("repair: exit %d\n%s", code, out)
		}
		if out, code := e.cli("up"); code != 0 {
			t.Fatalf("up after repair: exit %d\n%s", code, out)
		}
		if got := directions(e.history()); got != "up1 up2! repair2 up2" {
			t.Fatalf("history %s", got)
		}
	})
}
