// Package integration is the one suite every driver passes: each scenario
// runs against every target, on real databases. A driver is added by
// appending its target in an init() of its own file here.
package integration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/migrate-dev/migrate/internal/testdb"
	"github.com/migrate-dev/migrate/migrator"

	_ "github.com/migrate-dev/migrate/drivers/postgres"
	_ "github.com/migrate-dev/migrate/drivers/sqlite"
)

// target is one database the suite runs against.
type target struct {
	name string
	// url returns the URL of a fresh, empty database for one test.
	url func(t testing.TB) string
	// examples is the dialect folder under examples/shop.
	examples string
	// transactionalDDL: a failed migration leaves nothing behind.
	transactionalDDL bool
	// batches: scripts are cut into GO batches, not statements, so a
	// script without GO lines is one "statement" (SQL Server).
	batches bool
}

// script joins statements as the target's dialect separates them.
func (tg target) script(stmts ...string) string {
	sep := ";\n"
	if tg.batches {
		sep = ";\nGO\n"
	}
	return strings.Join(stmts, sep) + sep
}

// lineOf is the 1-based line of the first occurrence of needle in text.
func lineOf(text, needle string) int {
	return strings.Count(text[:strings.Index(text, needle)], "\n") + 1
}

// index is the 1-based statement index a target reports for the n-th
// statement of a script without batch separators.
func (tg target) index(n int) int {
	if tg.batches {
		return 1
	}
	return n
}

var targets = []target{
	{
		name:             "sqlite",
		url:              func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "test.db") },
		examples:         "sqlite",
		transactionalDDL: true,
	},
	{
		name:             "postgres",
		url:              testdb.Postgres,
		examples:         "postgres",
		transactionalDDL: true,
	},
}

// migrateBin is the CLI, built once for the scenarios that need processes.
var migrateBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "migrate-bin")
	if err != nil {
		panic(err)
	}
	migrateBin = filepath.Join(dir, "migrate")
	if out, err := exec.Command("go", "build", "-o", migrateBin, "../cmd/migrate").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building migrate: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// forEachTarget runs scenario against every target as parallel subtests.
func forEachTarget(t *testing.T, scenario func(t *testing.T, tg target)) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			scenario(t, tg)
		})
	}
}

// targetNamed returns the target for a dialect-specific scenario.
func targetNamed(t *testing.T, name string) target {
	for _, tg := range targets {
		if tg.name == name {
			return tg
		}
	}
	t.Fatalf("no target named %s", name)
	return target{}
}

// env is one scenario's database, folder and migrator.
type env struct {
	t   *testing.T
	tg  target
	url string
	dir string
	drv migrator.Driver
}

func newEnv(t *testing.T, tg target, dir string) *env {
	t.Helper()
	e := &env{t: t, tg: tg, url: tg.url(t), dir: dir}
	drv, err := migrator.Open(context.Background(), e.url, migrator.Config{})
	if err != nil {
		t.Fatalf("open %s: %v", tg.name, err)
	}
	t.Cleanup(func() { drv.Close() })
	e.drv = drv
	return e
}

func (e *env) migrator(opts migrator.Options) *migrator.Migrator {
	e.t.Helper()
	src, err := migrator.LoadDir(e.dir)
	if err != nil {
		e.t.Fatalf("load %s: %v", e.dir, err)
	}
	return migrator.New(e.drv, src, opts)
}

func (e *env) current() int64 {
	e.t.Helper()
	p, err := e.migrator(migrator.Options{}).Status(context.Background())
	if err != nil {
		e.t.Fatalf("status: %v", err)
	}
	return p.Current
}

func (e *env) history() []migrator.HistoryRow {
	e.t.Helper()
	h, err := e.drv.History(context.Background())
	if err != nil {
		e.t.Fatalf("history: %v", err)
	}
	return h
}

func (e *env) state() []migrator.StateRow {
	e.t.Helper()
	s, err := e.drv.State(context.Background())
	if err != nil {
		e.t.Fatalf("state: %v", err)
	}
	return s
}

// db is the driver's connection pool, for checks made behind its back.
// Every driver exposes it as DB() *sql.DB.
func (e *env) db() *sql.DB {
	e.t.Helper()
	d, ok := e.drv.(interface{ DB() *sql.DB })
	if !ok {
		e.t.Fatalf("driver %s has no DB() *sql.DB method", e.tg.name)
	}
	return d.DB()
}

// concurrentUps starts procs `migrate up` processes at the same moment and
// returns each one's output and exit code.
func (e *env) concurrentUps(procs int, lockTimeout string) (outs []string, codes []int) {
	outs, codes = make([]string, procs), make([]int, procs)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range procs {
		wg.Go(func() {
			<-start
			outs[i], codes[i] = e.cli("--lock-timeout", lockTimeout, "up")
		})
	}
	close(start)
	wg.Wait()
	return outs, codes
}

// cli runs the migrate binary against the env's database and folder.
func (e *env) cli(args ...string) (string, int) {
	e.t.Helper()
	return combined(e.t, exec.Command(migrateBin, append([]string{"--database", e.url, "--dir", e.dir}, args...)...))
}

// combined runs cmd and returns its combined output and exit code; a
// command that could not run at all fails the test.
func combined(t testing.TB, cmd *exec.Cmd) (string, int) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("running migrate: %v", err)
	}
	return string(out), 0
}

func exampleDir(tg target) string {
	return filepath.Join("..", "examples", "shop", tg.examples)
}

// writeFiles writes a migration folder from name -> content.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	return writeFilesIn(t, t.TempDir(), files)
}

// writeFilesIn writes a migration folder at dir, creating it if missing.
func writeFilesIn(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func directions(h []migrator.HistoryRow) string {
	var parts []string
	for _, r := range h {
		s := fmt.Sprintf("%s%d", r.Direction, r.Version)
		if !r.Success {
			s += "!"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestLifecycle(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, exampleDir(tg))
		ctx := context.Background()
		// The example's down scripts drop tables and columns; this scenario
		// is about the flow, not the refusal (see safety_test.go).
		m := e.migrator(migrator.Options{AllowDataLoss: true})

		rep, err := m.Up(ctx, 0)
		if err != nil {
			t.Fatalf("up: %v", err)
		}
		if len(rep.Results) != 7 || rep.To != 7 {
			t.Fatalf("up applied %d to version %d, want 7 to 7", len(rep.Results), rep.To)
		}
		if _, err := m.Down(ctx, 1); err != nil {
			t.Fatalf("down: %v", err)
		}
		if got := e.current(); got != 6 {
			t.Fatalf("after down, current = %d, want 6", got)
		}
		if n := len(e.state()); n != 6 {
			t.Fatalf("after down, %d state rows, want 6", n)
		}
		if _, err := m.Up(ctx, 0); err != nil {
			t.Fatalf("up again: %v", err)
		}
		if _, err := m.Goto(ctx, 3); err != nil {
			t.Fatalf("goto 3: %v", err)
		}
		if got := e.current(); got != 3 {
			t.Fatalf("after goto 3, current = %d", got)
		}
		if _, err := m.Goto(ctx, 5); err != nil {
			t.Fatalf("goto 5: %v", err)
		}
		if _, err := m.Redo(ctx); err != nil {
			t.Fatalf("redo: %v", err)
		}
		want := "up1 up2 up3 up4 up5 up6 up7 down7 up7 down7 down6 down5 down4 up4 up5 down5 up5"
		if got := directions(e.history()); got != want {
			t.Fatalf("history:\n got %s\nwant %s", got, want)
		}
		for _, h := range e.history() {
			if h.Checksum == "" || h.StartedAt.IsZero() || h.OSUser == "" || h.Host == "" || h.ToolVersion == "" {
				t.Fatalf("history row %d lacks who/when/checksum: %+v", h.ID, h)
			}
		}
		if got := e.current(); got != 5 {
			t.Fatalf("after redo, current = %d, want 5", got)
		}
	})
}

func TestCLIStatusAndHistory(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, exampleDir(tg))
		out, code := e.cli("up", "3")
		if code != 0 || !strings.Contains(out, "0003_create_orders.up.sql") || !strings.Contains(out, "version 0 -> 3") {
			t.Fatalf("up 3: exit %d\n%s", code, out)
		}
		out, code = e.cli("status")
		if code != 0 || !strings.Contains(out, "current version 3, 4 pending") {
			t.Fatalf("status: exit %d\n%s", code, out)
		}
		out, code = e.cli("--json", "history")
		if code != 0 || strings.Count(out, `"direction": "up"`) != 3 {
			t.Fatalf("history --json: exit %d\n%s", code, out)
		}
		out, code = e.cli("--dry-run", "up")
		if code != 0 || !strings.Contains(out, "CREATE VIEW order_totals") || !strings.Contains(out, "nothing was changed") {
			t.Fatalf("dry-run: exit %d\n%s", code, out)
		}
		if got := e.current(); got != 3 {
			t.Fatalf("dry run changed the database: current %d", got)
		}
	})
}

// failingSet has a second migration whose third statement fails.
var failingSet = map[string]string{
	"0001_first.up.sql":    "CREATE TABLE t1 (id INTEGER PRIMARY KEY);\n",
	"0001_first.down.sql":  "DROP TABLE t1;\n",
	"0002_second.up.sql":   "-- creates t2, fills t1, then fails\nCREATE TABLE t2 (id INTEGER PRIMARY KEY);\nINSERT INTO t1 (id) VALUES (1);\n\nINSERT INTO no_such_table (id)\nVALUES (1);\n",
	"0002_second.down.sql": "DROP TABLE t2;\n",
}

func TestFailingMigration(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, writeFiles(t, failingSet))
		ctx := context.Background()
		_, err := e.migrator(migrator.Options{}).Up(ctx, 0)
		var se *migrator.StatementError
		if !errors.As(err, &se) {
			t.Fatalf("up: want a StatementError, got %v", err)
		}
		if !strings.HasSuffix(se.File, "0002_second.up.sql") || se.Line != 5 || se.Index != tg.index(3) || !strings.Contains(se.Statement, "no_such_table") {
			t.Fatalf("error does not point at file:5 statement 3: %+v", se)
		}
		h := e.history()
		if got := directions(h); got != "up1 up2!" {
			t.Fatalf("history = %s, want up1 up2!", got)
		}
		if !strings.Contains(h[1].Error, "no_such_table") {
			t.Fatalf("failure row lacks the error: %q", h[1].Error)
		}
		if tg.transactionalDDL {
			if got := e.current(); got != 1 {
				t.Fatalf("current = %d, want 1", got)
			}
			if len(e.state()) != 1 {
				t.Fatalf("state changed by a failed transactional migration: %+v", e.state())
			}
			// Nothing of version 2 stayed: t2 can be created by a fixed v2.
			fixed := writeFiles(t, map[string]string{
				"0001_first.up.sql": failingSet["0001_first.up.sql"], "0001_first.down.sql": failingSet["0001_first.down.sql"],
				"0002_second.up.sql": "CREATE TABLE t2 (id INTEGER PRIMARY KEY);\n", "0002_second.down.sql": "DROP TABLE t2;\n",
			})
			e.dir = fixed
			if _, err := e.migrator(migrator.Options{}).Up(ctx, 0); err != nil {
				t.Fatalf("up of the fixed set: %v (did the failed run leave t2 behind?)", err)
			}
			return
		}
		// Without transactional DDL the version is recorded as failed and
		// up refuses until repair is told what happened.
		st := e.state()
		if len(st) != 2 || st[1].Status != migrator.StatusFailed || st[1].FailedStatement != 3 {
			t.Fatalf("state after a non-transactional failure: %+v", st)
		}
		_, err = e.migrator(migrator.Options{}).Up(ctx, 0)
		var be *migrator.BlockedError
		if !errors.As(err, &be) {
			t.Fatalf("up after failure: want BlockedError, got %v", err)
		}
		if _, err := e.migrator(migrator.Options{}).Repair(ctx, 2, migrator.RepairApplied); err != nil {
			t.Fatalf("repair: %v", err)
		}
		if got := e.current(); got != 2 {
			t.Fatalf("after repair --applied, current = %d", got)
		}
	})
}

func TestChangedAppliedFile(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, writeFiles(t, map[string]string{
			"0001_a.up.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);\n", "0001_a.down.sql": "DROP TABLE a;\n",
		}))
		ctx := context.Background()
		if _, err := e.migrator(migrator.Options{}).Up(ctx, 0); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(e.dir, "0001_a.up.sql"), []byte("CREATE TABLE a (id INTEGER PRIMARY KEY, x INTEGER);\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		problems, err := e.migrator(migrator.Options{}).Validate(ctx)
		if err != nil || len(problems) != 1 || problems[0].Status != migrator.Changed {
			t.Fatalf("validate: %v %+v", err, problems)
		}
		out, code := e.cli("up")
		if code != 6 || !strings.Contains(out, "0001_a.up.sql changed after it was applied") {
			t.Fatalf("up with a changed file: exit %d\n%s", code, out)
		}
	})
}

func TestConcurrentUp(t *testing.T) {
	const procs = 8
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, exampleDir(tg))
		outs, codes := e.concurrentUps(procs, "2m")
		for i := range procs {
			if codes[i] != 0 {
				t.Fatalf("process %d exited %d:\n%s", i, codes[i], outs[i])
			}
		}
		seen := map[int64]int{}
		for _, h := range e.history() {
			seen[h.Version]++
		}
		for v := int64(1); v <= 7; v++ {
			if seen[v] != 1 {
				t.Fatalf("version %d applied %d times, want exactly once (history %s)", v, seen[v], directions(e.history()))
			}
		}
	})
}

func TestLockTimeoutNamesHolder(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, exampleDir(tg))
		ctx := context.Background()
		unlock, err := e.drv.Lock(ctx, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer unlock(ctx)
		before := e.snapshot()
		out, code := e.cli("--lock-timeout", "300ms", "up")
		if code != 5 || !strings.Contains(out, "could not take the migration lock within 300ms; it is held by ") {
			t.Fatalf("up while locked: exit %d\n%s", code, out)
		}
		if describe, ok := holderDescriptions[scheme(e.url)]; ok {
			for _, w := range describe() {
				if !strings.Contains(out, w) {
					t.Errorf("the holder is not named precisely: output lacks %q:\n%s", w, out)
				}
			}
		}
		// 0 means do not wait; the library reads a zero timeout as 15s.
		start := time.Now()
		out, code = e.cli("--lock-timeout", "0", "up")
		if code != 5 || time.Since(start) > 10*time.Second {
			t.Fatalf("up --lock-timeout 0 while locked: exit %d after %v\n%s", code, time.Since(start), out)
		}
		e.assertUnchanged(before)
	})
}
