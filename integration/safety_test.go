package integration

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/migrate-dev/migrate/migrator"
)

// lossSet fills a table, then adds a column to it; both downs destroy data.
// The SQL is portable: every target's database accepts it as written.
var lossSet = map[string]string{
	"0001_items.up.sql":         "CREATE TABLE items (id INTEGER PRIMARY KEY, note VARCHAR(50));\nINSERT INTO items (id, note) VALUES (1, 'a'), (2, 'b'), (3, 'drop table items');\n",
	"0001_items.down.sql":       "-- the items go with the table\nDROP TABLE items;\n",
	"0002_items_extra.up.sql":   "ALTER TABLE items ADD extra VARCHAR(10);\n",
	"0002_items_extra.down.sql": "ALTER TABLE items\n    DROP COLUMN extra;\n",
}

func TestDataLossRefusal(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, writeFiles(t, lossSet))
		ctx := context.Background()
		if _, err := e.migrator(migrator.Options{}).Up(ctx, 0); err != nil {
			t.Fatalf("up: %v", err)
		}
		before := len(e.history())
		// Counting rows is an optional driver capability; without it the
		// refusal still names what would be lost.
		wantRows, rowsText := int64(-1), "row count unknown"
		if _, ok := e.drv.(migrator.RowCounter); ok {
			wantRows, rowsText = 3, "3 row(s) in items"
		}

		_, err := e.migrator(migrator.Options{}).Down(ctx, 1)
		var dl *migrator.DataLossError
		if !errors.As(err, &dl) {
			t.Fatalf("down: want a DataLossError, got %v", err)
		}
		if len(dl.Losses) != 1 || dl.Losses[0].Rule != migrator.RuleDropColumn || dl.Losses[0].Column != "extra" ||
			dl.Losses[0].Rows != wantRows || dl.Losses[0].Line != 2 || !strings.HasSuffix(dl.Losses[0].File, "0002_items_extra.down.sql") {
			t.Fatalf("down: losses %+v, want drop-column extra at 0002 down line 2 with %d rows", dl.Losses, wantRows)
		}
		if !strings.Contains(err.Error(), rowsText) || !strings.Contains(err.Error(), "--allow-data-loss") {
			t.Fatalf("refusal message lacks the row count or the way out:\n%v", err)
		}

		_, err = e.migrator(migrator.Options{}).Goto(ctx, 0)
		if !errors.As(err, &dl) || len(dl.Losses) != 2 || dl.Losses[1].Rule != migrator.RuleDropTable || dl.Losses[1].Table != "items" || dl.Losses[1].Rows != wantRows {
			t.Fatalf("goto 0: want both losses, got %v", err)
		}
		if _, err = e.migrator(migrator.Options{}).Redo(ctx); !errors.As(err, &dl) {
			t.Fatalf("redo: want a DataLossError, got %v", err)
		}
		if got := e.current(); got != 2 || len(e.history()) != before {
			t.Fatalf("a refused rollback changed the database: current %d, history %s", got, directions(e.history()))
		}

		rep, err := e.migrator(migrator.Options{DryRun: true}).Down(ctx, 1)
		if err != nil || len(rep.DataLoss) != 1 || rep.DataLoss[0].Rows != wantRows {
			t.Fatalf("dry run: want the loss reported, not refused: %v %+v", err, rep)
		}
		out, code := e.cli("--dry-run", "down")
		if code != 0 || !strings.Contains(out, "warning: this rollback destroys data") || !strings.Contains(out, rowsText) {
			t.Fatalf("dry-run down: exit %d\n%s", code, out)
		}

		out, code = e.cli("goto", "0")
		if code != 7 || !strings.Contains(out, "DROP TABLE items") || !strings.Contains(out, "0001_items.down.sql:2") {
			t.Fatalf("goto 0 without --allow-data-loss: exit %d, want 7\n%s", code, out)
		}
		if got := e.current(); got != 2 {
			t.Fatalf("refused goto changed the version to %d", got)
		}
		out, code = e.cli("down", "--allow-data-loss")
		if code != 0 {
			t.Fatalf("down --allow-data-loss: exit %d\n%s", code, out)
		}
		if got := e.current(); got != 1 {
			t.Fatalf("after down --allow-data-loss, current %d, want 1", got)
		}

		// Once the rows are gone there is nothing to lose: a driver that
		// counts rows lets the rollback through without the flag.
		if _, ok := e.drv.(migrator.RowCounter); ok {
			if _, err := e.db().ExecContext(ctx, "DELETE FROM items"); err != nil {
				t.Fatal(err)
			}
			if out, code := e.cli("down"); code != 0 {
				t.Fatalf("down of an empty table: exit %d\n%s", code, out)
			}
			if got := e.current(); got != 0 {
				t.Fatalf("after down of an empty table, current %d, want 0", got)
			}
		}
	})
}

func TestLintCommand(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, writeFiles(t, lossSet))
		// Down scripts that drop what their up created are warnings only.
		out, code := e.cli("lint")
		if code != 0 || strings.Count(out, "warning:") != 2 || !strings.Contains(out, "0002_items_extra.down.sql:2: warning: drop-column") {
			t.Fatalf("lint: exit %d\n%s", code, out)
		}
		if out, code = e.cli("lint", "--strict"); code != 8 {
			t.Fatalf("lint --strict with warnings: exit %d, want 8\n%s", code, out)
		}
		if err := os.WriteFile(filepath.Join(e.dir, "0003_purge.up.sql"), []byte("DELETE FROM items;\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(e.dir, "0003_purge.down.sql"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		out, code = e.cli("--json", "lint")
		if code != 8 || !strings.Contains(out, `"rule": "delete-without-where"`) || !strings.Contains(out, `"rule": "empty-down"`) || !strings.Contains(out, `"errors": 1`) {
			t.Fatalf("lint --json with an error: exit %d, want 8\n%s", code, out)
		}
		if len(e.state()) != 0 {
			t.Fatal("lint touched the database")
		}
	})
}

// copyExamples copies the example's first n migrations into a new folder.
func copyExamples(t *testing.T, tg target, n int) string {
	t.Helper()
	dir := t.TempDir()
	src, err := migrator.LoadDir(exampleDir(tg))
	if err != nil {
		t.Fatal(err)
	}
	for _, mig := range src.Migrations[:n] {
		for _, p := range []string{mig.Up.Path, mig.Down.Path} {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// statementTexts splits a script with the target's own splitter.
func statementTexts(t *testing.T, drv migrator.Driver, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := drv.Split(string(b))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range st {
		out = append(out, s.Text)
	}
	return out
}

func TestRevert(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, copyExamples(t, tg, 4))
		ctx := context.Background()
		if _, err := e.migrator(migrator.Options{}).Up(ctx, 0); err != nil {
			t.Fatalf("up: %v", err)
		}
		out, code := e.cli("revert", "4")
		if code != 0 {
			t.Fatalf("revert 4: exit %d\n%s", code, out)
		}
		up := filepath.Join(e.dir, "0005_revert_add_customers_referral_code.up.sql")
		down := filepath.Join(e.dir, "0005_revert_add_customers_referral_code.down.sql")
		src, err := migrator.LoadDir(e.dir)
		if err != nil {
			t.Fatalf("the folder with the revert does not load: %v", err)
		}
		v4 := src.Find(4)
		for _, p := range []string{up, down} {
			st, err := os.Stat(p)
			if err != nil || st.Mode().Perm()&^0o022 != 0o644&^0o022 {
				t.Fatalf("%s: %v %v", p, err, st)
			}
			b, _ := os.ReadFile(p)
			if !strings.Contains(string(b), "version 4 (add_customers_referral_code)") || !strings.Contains(string(b), v4.Up.Checksum) {
				t.Fatalf("%s lacks a header naming version 4 and its checksum:\n%s", p, b)
			}
		}
		// The roll-forward the example's authors wrote by hand, 0005, says
		// the same SQL as the one revert wrote.
		handUp := filepath.Join(exampleDir(tg), "0005_drop_customers_referral_code.up.sql")
		handDown := filepath.Join(exampleDir(tg), "0005_drop_customers_referral_code.down.sql")
		if got, want := statementTexts(t, e.drv, up), statementTexts(t, e.drv, handUp); strings.Join(got, ";") != strings.Join(want, ";") {
			t.Fatalf("revert's up %q differs from the hand-written 0005 up %q", got, want)
		}
		if got, want := statementTexts(t, e.drv, down), statementTexts(t, e.drv, handDown); strings.Join(got, ";") != strings.Join(want, ";") {
			t.Fatalf("revert's down %q differs from the hand-written 0005 down %q", got, want)
		}

		if out, code := e.cli("revert", "4"); code != 0 || !strings.Contains(out, "0006_revert_add_customers_referral_code.up.sql") {
			t.Fatalf("a second revert must take the next version, never overwrite: exit %d\n%s", code, out)
		}
		for _, f := range []string{"0006_revert_add_customers_referral_code.up.sql", "0006_revert_add_customers_referral_code.down.sql"} {
			if err := os.Remove(filepath.Join(e.dir, f)); err != nil {
				t.Fatal(err)
			}
		}

		rep, err := e.migrator(migrator.Options{}).Up(ctx, 0)
		if err != nil || len(rep.Results) != 1 || rep.To != 5 {
			t.Fatalf("up of the revert: %v %+v", err, rep)
		}
		if got := directions(e.history()); got != "up1 up2 up3 up4 up5" {
			t.Fatalf("history %s, want up1 up2 up3 up4 up5", got)
		}
		// Refusals: a pending version and an irreversible one; an unknown one is a bad argument.
		if err := os.WriteFile(filepath.Join(e.dir, "0006_seed.up.sql"), []byte("-- migrate:irreversible\nCREATE TABLE seed_marker (id INTEGER PRIMARY KEY);\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		var refused *migrator.RevertRefusedError
		if _, err := e.migrator(migrator.Options{}).Revert(ctx, 6, e.dir, time.Now()); !errors.As(err, &refused) || !strings.Contains(err.Error(), "not applied") {
			t.Fatalf("revert of a pending version: want a refusal, got %v", err)
		}
		if out, code := e.cli("revert", "99"); code != 2 || !strings.Contains(out, "no version 99") {
			t.Fatalf("revert 99: exit %d, want 2 (a version argument naming no migration)\n%s", code, out)
		}
		if _, err := e.migrator(migrator.Options{}).Up(ctx, 0); err != nil {
			t.Fatal(err)
		}
		if out, code := e.cli("revert", "6"); code != 7 || !strings.Contains(out, "irreversible") {
			t.Fatalf("revert of an irreversible version: exit %d, want 7\n%s", code, out)
		}
		if _, err := os.Stat(filepath.Join(e.dir, "0007_revert_seed.up.sql")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a refused revert wrote a file: %v", err)
		}
	})
}

// inDir runs the migrate binary in dir with extra environment variables and
// no DATABASE_URL, MIGRATE_DIR or MIGRATE_ENV from the caller.
func inDir(t *testing.T, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(migrateBin, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "DATABASE_URL" && k != "MIGRATE_DIR" && k != "MIGRATE_ENV" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	return combined(t, cmd)
}

const safetyConfig = `# The URL is in an environment variable, never in this file.
environments:
  production:
    url_env: SAFETY_TEST_DATABASE_URL
    dir: migrations
    production: true
  dev:
    url_env: SAFETY_TEST_DATABASE_URL
    dir: migrations
`

func TestEnvironments(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		work := t.TempDir()
		dir := writeFilesIn(t, filepath.Join(work, "migrations"), lossSet)
		if err := os.WriteFile(filepath.Join(work, "migrate.yaml"), []byte(safetyConfig), 0o644); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, tg, dir)
		vars := []string{"SAFETY_TEST_DATABASE_URL=" + e.url}
		run := func(args ...string) (string, int) { return inDir(t, work, vars, args...) }

		if out, code := run("--env", "production", "up"); code != 0 || !strings.Contains(out, "version 0 -> 2") {
			t.Fatalf("up in production: exit %d\n%s", code, out)
		}
		for _, args := range [][]string{{"down"}, {"down", "--allow-data-loss"}, {"goto", "1"}, {"redo"}} {
			out, code := run(append([]string{"--env", "production"}, args...)...)
			if code != 7 || !strings.Contains(out, "roll forward") || !strings.Contains(out, "migrate revert 2") || !strings.Contains(out, `environment "production"`) {
				t.Fatalf("%v in production: exit %d, want 7 with the way forward\n%s", args, code, out)
			}
		}
		if out, code := run("--env", "production", "goto", "2"); code != 0 {
			t.Fatalf("goto the current version in production is no rollback: exit %d\n%s", code, out)
		}
		if got := e.current(); got != 2 || len(e.history()) != 2 {
			t.Fatalf("refused rollbacks changed the database: current %d, history %s", got, directions(e.history()))
		}
		if out, code := run("--env", "dev", "down", "--allow-data-loss"); code != 0 {
			t.Fatalf("down in dev: exit %d\n%s", code, out)
		}
		if got := e.current(); got != 1 {
			t.Fatalf("after down in dev, current %d, want 1", got)
		}

		if out, code := run("--env", "prod", "status"); code != 2 || !strings.Contains(out, "known: dev, production") {
			t.Fatalf("unknown environment: exit %d, want 2 listing the known ones\n%s", code, out)
		}
		if out, code := run("--env", "production", "--database", e.url, "status"); code != 2 || !strings.Contains(out, "give one of them") {
			t.Fatalf("--database with --env: exit %d, want 2\n%s", code, out)
		}
		if out, code := inDir(t, work, nil, "--env", "production", "status"); code != 2 || !strings.Contains(out, "$SAFETY_TEST_DATABASE_URL, which is not set") {
			t.Fatalf("unset URL variable: exit %d, want 2\n%s", code, out)
		}
		bad := filepath.Join(work, "bad.yaml")
		if err := os.WriteFile(bad, []byte("environments:\n  production:\n    url: "+e.url+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, code := run("--config", bad, "--env", "production", "status")
		if code != 2 || !strings.Contains(out, "bad.yaml:3: environments.production.url: the file must not hold a database URL") {
			t.Fatalf("URL in the config file: exit %d, want 2 naming file, line and key\n%s", code, out)
		}
	})
}

// TestRevertCutShort leaves what `migrate revert 2` leaves when it is
// killed after creating its up script and before its down script: the up
// script, whole or still empty. Every command then refuses the folder
// (exit 3); the error must say that a revert was cut short and how to
// finish it, and the revert run again once the file is gone must succeed.
// A SIGKILL cannot be aimed between two file writes, so the files are
// left as such a kill leaves them.
func TestRevertCutShort(t *testing.T) {
	tg := targetNamed(t, "sqlite")
	for _, left := range []string{"whole", "empty"} {
		t.Run(left, func(t *testing.T) {
			e := newEnv(t, tg, writeSmallSet(t, 2))
			if out, code := e.cli("up"); code != 0 {
				t.Fatalf("up: exit %d\n%s", code, out)
			}
			if out, code := e.cli("revert", "2"); code != 0 {
				t.Fatalf("revert 2: exit %d\n%s", code, out)
			}
			up := filepath.Join(e.dir, "0003_revert_t0002.up.sql")
			if err := os.Remove(filepath.Join(e.dir, "0003_revert_t0002.down.sql")); err != nil {
				t.Fatal(err)
			}
			want := "delete it and run `migrate revert 2` again"
			if left == "empty" {
				want = "as a `migrate revert` cut short leaves it"
				if err := os.WriteFile(up, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, cmd := range [][]string{{"status"}, {"revert", "2"}} {
				if out, code := e.cli(cmd...); code != 3 || !strings.Contains(out, "0003_revert_t0002.up.sql: no down script: ") || !strings.Contains(out, want) {
					t.Fatalf("%s after a revert cut short: exit %d, want 3 saying %q\n%s", cmd, code, want, out)
				}
			}
			if err := os.Remove(up); err != nil {
				t.Fatal(err)
			}
			if out, code := e.cli("revert", "2"); code != 0 || !strings.Contains(out, "0003_revert_t0002.down.sql") {
				t.Fatalf("revert 2 again: exit %d\n%s", code, out)
			}
			if out, code := e.cli("up"); code != 0 || e.current() != 3 {
				t.Fatalf("up of the revert: exit %d\n%s", code, out)
			}
		})
	}
}
