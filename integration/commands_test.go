package integration

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/migrate-dev/migrate/migrator"
)

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	e := &env{t: t, url: "sqlite:" + filepath.Join(dir, "x.db"), dir: filepath.Join(dir, "migrations")}
	for _, name := range []string{"create_users", "add_email"} {
		if out, code := e.cli("create", name); code != 0 {
			t.Fatalf("create %s: exit %d\n%s", name, code, out)
		}
	}
	for _, f := range []string{"0001_create_users.up.sql", "0001_create_users.down.sql", "0002_add_email.up.sql", "0002_add_email.down.sql"} {
		st, err := os.Stat(filepath.Join(e.dir, f))
		if err != nil {
			t.Fatalf("create did not write %s: %v", f, err)
		}
		if st.Mode().Perm()&0o002 != 0 {
			t.Fatalf("%s is world-writable: %v", f, st.Mode())
		}
	}
	// The created pair is a valid (comment-only, no-op) migration.
	if out, code := e.cli("up"); code != 0 || !strings.Contains(out, "version 0 -> 2") {
		t.Fatalf("up of created files: exit %d\n%s", code, out)
	}
	if out, code := e.cli("create", "bad name!"); code != 2 || !strings.Contains(out, "NAME") {
		t.Fatalf("create with a bad name: exit %d\n%s", code, out)
	}
	if out, code := e.cli("create", "--timestamp", "later"); code != 0 || !strings.Contains(out, "_later.up.sql") {
		t.Fatalf("create --timestamp: exit %d\n%s", code, out)
	}
}

func TestBaselineAndRepair(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, writeFiles(t, map[string]string{
			"0001_a.up.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);\n", "0001_a.down.sql": "DROP TABLE a;\n",
			"0002_b.up.sql": "CREATE TABLE b (id INTEGER PRIMARY KEY);\n", "0002_b.down.sql": "DROP TABLE b;\n",
			"0003_c.up.sql": "CREATE TABLE c (id INTEGER PRIMARY KEY);\n", "0003_c.down.sql": "DROP TABLE c;\n",
		}))
		ctx := context.Background()
		// The schema of v1 and v2 exists already, made by hand.
		if _, err := e.migrator(migrator.Options{}).Baseline(ctx, 2); err != nil {
			t.Fatalf("baseline: %v", err)
		}
		if got := directions(e.history()); got != "baseline1 baseline2" {
			t.Fatalf("history after baseline: %s", got)
		}
		if _, err := e.migrator(migrator.Options{}).Baseline(ctx, 2); err == nil {
			t.Fatal("a second baseline was accepted")
		}
		if _, err := e.migrator(migrator.Options{}).Up(ctx, 0); err != nil {
			t.Fatalf("up after baseline: %v", err)
		}
		if got := e.current(); got != 3 {
			t.Fatalf("current %d, want 3", got)
		}

		// A cosmetic edit of an applied file is accepted by repair.
		if err := os.WriteFile(filepath.Join(e.dir, "0003_c.up.sql"), []byte("-- c\nCREATE TABLE c (id INTEGER PRIMARY KEY);\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := e.migrator(migrator.Options{}).Up(ctx, 0); !isBlocked(err, migrator.Changed) {
			t.Fatalf("up with an edited file: %v", err)
		}
		if _, err := e.migrator(migrator.Options{}).Repair(ctx, 3, migrator.RepairAcceptChecksum); err != nil {
			t.Fatalf("repair --accept-checksum: %v", err)
		}
		if problems, _ := e.migrator(migrator.Options{}).Validate(ctx); len(problems) != 0 {
			t.Fatalf("after repair: %+v", problems)
		}

		// A file deleted after it was applied blocks up until forgotten.
		for _, f := range []string{"0003_c.up.sql", "0003_c.down.sql"} {
			os.Remove(filepath.Join(e.dir, f))
		}
		if out, code := e.cli("validate"); code != 6 || !strings.Contains(out, "missing") || !strings.Contains(out, "repair 3 --forget") {
			t.Fatalf("validate with a missing file: exit %d\n%s", code, out)
		}
		if out, code := e.cli("repair", "3"); code != 2 || !strings.Contains(out, "--applied") {
			t.Fatalf("repair without an action: exit %d\n%s", code, out)
		}
		if out, code := e.cli("repair", "3", "--forget"); code != 0 {
			t.Fatalf("repair --forget: exit %d\n%s", code, out)
		}
		if got := directions(e.history()); got != "baseline1 baseline2 up3 repair3 repair3" {
			t.Fatalf("history: %s", got)
		}
		if got := e.current(); got != 2 {
			t.Fatalf("current %d after forget, want 2", got)
		}
	})
}

func TestOutOfOrder(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		files := map[string]string{
			"0001_a.up.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);\n", "0001_a.down.sql": "DROP TABLE a;\n",
			"0003_c.up.sql": "CREATE TABLE c (id INTEGER PRIMARY KEY);\n", "0003_c.down.sql": "DROP TABLE c;\n",
		}
		e := newEnv(t, tg, writeFiles(t, files))
		ctx := context.Background()
		if _, err := e.migrator(migrator.Options{}).Up(ctx, 0); err != nil {
			t.Fatal(err)
		}
		// A branch merged late brings version 2.
		os.WriteFile(filepath.Join(e.dir, "0002_b.up.sql"), []byte("CREATE TABLE b (id INTEGER PRIMARY KEY);\n"), 0o644)
		os.WriteFile(filepath.Join(e.dir, "0002_b.down.sql"), []byte("DROP TABLE b;\n"), 0o644)
		if _, err := e.migrator(migrator.Options{}).Up(ctx, 0); !isBlocked(err, migrator.OutOfOrder) {
			t.Fatalf("up with an out-of-order version: %v", err)
		}
		rep, err := e.migrator(migrator.Options{AllowOutOfOrder: true}).Up(ctx, 0)
		if err != nil || len(rep.Results) != 1 || rep.Results[0].Version != 2 {
			t.Fatalf("up --allow-out-of-order: %v %+v", err, rep)
		}
	})
}

func TestSingleTransaction(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, writeFiles(t, failingSet))
		ctx := context.Background()
		if !tg.transactionalDDL {
			// All or nothing cannot be kept where DDL commits itself, so
			// the flag is refused before any statement runs.
			out, code := e.cli("up", "--single-transaction")
			if code != 2 || !strings.Contains(out, "commits every DDL statement implicitly") {
				t.Fatalf("up --single-transaction: want exit 2 explaining the refusal, got exit %d\n%s", code, out)
			}
			if len(e.state()) != 0 || len(e.history()) != 0 {
				t.Fatalf("a refused run recorded something: state %+v, history %s", e.state(), directions(e.history()))
			}
			return
		}
		_, err := e.migrator(migrator.Options{SingleTransaction: true}).Up(ctx, 0)
		var se *migrator.StatementError
		if !errors.As(err, &se) || se.Version != 2 {
			t.Fatalf("want version 2 to fail, got %v", err)
		}
		// All or nothing: version 1 was rolled back with version 2.
		if got := e.current(); got != 0 {
			t.Fatalf("current %d after a failed single transaction, want 0", got)
		}
		if got := directions(e.history()); got != "up2!" {
			t.Fatalf("history %s, want only the failure", got)
		}
	})
}

func isBlocked(err error, status migrator.VersionStatus) bool {
	var be *migrator.BlockedError
	if !errors.As(err, &be) {
		return false
	}
	for _, e := range be.Entries {
		if e.Status == status {
			return true
		}
	}
	return false
}

// TestStatusReadsOnlyUpScripts: status and validate compare the up
// scripts' checksums with the database and leave the down scripts unread,
// so a broken down script does not stop them; every command that runs,
// lints or verifies still reads it and refuses the folder, naming the file,
// before it changes anything.
func TestStatusReadsOnlyUpScripts(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, writeFiles(t, map[string]string{
			"0001_a.up.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);\n", "0001_a.down.sql": "DROP TABLE a;\n",
			"0002_b.up.sql": "CREATE TABLE b (id INTEGER PRIMARY KEY);\n", "0002_b.down.sql": "DROP TABLE b;\n",
		}))
		if err := os.WriteFile(filepath.Join(e.dir, "0002_b.down.sql"), []byte("DROP TABLE b; -- caf\xe9\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, code := e.cli("status"); code != 0 || !strings.Contains(out, "current version 0, 2 pending") {
			t.Fatalf("status with a broken down script: exit %d\n%s", code, out)
		}
		if out, code := e.cli("validate"); code != 0 {
			t.Fatalf("validate with a broken down script: exit %d\n%s", code, out)
		}
		for _, cmd := range [][]string{{"up"}, {"lint"}, {"up", "--dry-run"}} {
			out, code := e.cli(cmd...)
			if code != 3 || !strings.Contains(out, "0002_b.down.sql:1: not valid UTF-8") {
				t.Fatalf("%v with a broken down script: exit %d, want 3 naming the file and line\n%s", cmd, code, out)
			}
		}
		if rows := e.state(); len(rows) != 0 {
			t.Fatalf("a refused up left state rows: %+v", rows)
		}
		// A missing down script is a folder problem status still reports.
		if err := os.Remove(filepath.Join(e.dir, "0002_b.down.sql")); err != nil {
			t.Fatal(err)
		}
		if out, code := e.cli("status"); code != 3 || !strings.Contains(out, "0002_b.up.sql: no down script") {
			t.Fatalf("status without a down script: exit %d\n%s", code, out)
		}
	})
}
