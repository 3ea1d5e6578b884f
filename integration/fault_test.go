package integration

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/migrate-dev/migrate/migrator"
)

// faultMigrations is the size of the folder each fault trial runs: enough
// that a random moment usually falls in the middle of the run.
const faultMigrations = 200

// faultTrials is how many faults each scenario injects per target
// (MIGRATE_FAULT_TRIALS raises it for a longer local run).
func faultTrials(t *testing.T) int {
	t.Helper()
	if s := os.Getenv("MIGRATE_FAULT_TRIALS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("MIGRATE_FAULT_TRIALS=%q: want a positive number", s)
		}
		return n
	}
	return 50
}

// faultBudget bounds the time one scenario spends on one target, so that
// a target with slow DDL (MariaDB takes ~15s for the 200 migrations) cannot
// push the package past go test's ten minutes; trials not started in time
// are counted in the log. MIGRATE_FAULT_BUDGET (a duration, 0 for none)
// changes it.
func faultBudget(t *testing.T) time.Duration {
	t.Helper()
	if s := os.Getenv("MIGRATE_FAULT_BUDGET"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("MIGRATE_FAULT_BUDGET=%q: %v", s, err)
		}
		return d
	}
	return 100 * time.Second
}

// faultRand returns the scenario's random source. The seed is logged when
// the test fails, and MIGRATE_FAULT_SEED replays it.
func faultRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("MIGRATE_FAULT_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("MIGRATE_FAULT_SEED=%q: %v", s, err)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("fault seed %d: replay with MIGRATE_FAULT_SEED=%d", seed, seed)
		}
	})
	return rand.New(rand.NewPCG(seed, 0))
}

// faultWorkers is how many trials run at once: each waits mostly on the
// database's commits, so overlapping them keeps the suite inside its time
// budget on two cores.
const faultWorkers = 4

// schemaResetters empty a database when a chain of fault trials has
// applied the whole folder, which is much faster than creating a database
// (CREATE DATABASE takes the better part of a second on a server).
var schemaResetters = map[string]func(ctx context.Context, db *sql.DB) error{
	"sqlite": func(ctx context.Context, db *sql.DB) error {
		tables, err := queryColumn[string](ctx, db, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
		if err != nil {
			return err
		}
		for _, name := range tables {
			if _, err := db.ExecContext(ctx, `DROP TABLE "`+name+`"`); err != nil {
				return err
			}
		}
		return nil
	},
	"postgres": func(ctx context.Context, db *sql.DB) error {
		var schema string
		if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return err
		}
		_, err := db.ExecContext(ctx, `DROP SCHEMA "`+schema+`" CASCADE; CREATE SCHEMA "`+schema+`"`)
		return err
	},
	"mysql": func(ctx context.Context, db *sql.DB) error {
		tables, err := queryColumn[string](ctx, db, `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()`)
		if err != nil || len(tables) == 0 {
			return err
		}
		_, err = db.ExecContext(ctx, "DROP TABLE `"+strings.Join(tables, "`, `")+"`")
		return err
	},
}

// queryColumn returns the single column of every row of q.
func queryColumn[T any](ctx context.Context, db *sql.DB, q string) ([]T, error) {
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

// otherSessions counts the server sessions on the connection's database
// other than the connection's own.
var otherSessions = map[string]string{
	"postgres": `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
	"mysql":    `SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()`,
}

// awaitSessionsGone waits until a dead migrate process's server sessions
// have ended. A server finishes the statement (or COMMIT) it was sent
// before it notices its client is gone, so until then the database is
// still moving and a check would race with it.
func (e *env) awaitSessionsGone() {
	e.t.Helper()
	q, ok := otherSessions[scheme(e.url)]
	if !ok {
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := e.db().QueryRow(q).Scan(&n); err != nil {
			e.t.Fatalf("counting sessions: %v", err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%d server sessions of the dead migrate process are still there after 30s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runTrials injects n faults per target in chains: each worker owns one
// database and runs `up` again and again, each run cut short by trial at a
// delay drawn from the scenario's seed, so every fault lands on a database
// that earlier faults left behind. When a chain has applied the whole
// folder its database is emptied and a new chain starts; at the end every
// chain must finish with an undisturbed `up`. Chaining costs about one full
// run per few faults instead of one per fault, so 50 faults fit in CI even
// where DDL is slow.
func runTrials(t *testing.T, first *env, n int, window time.Duration, trial func(t *testing.T, e *env, delay time.Duration) int) {
	t.Helper()
	reset, ok := schemaResetters[scheme(first.url)]
	if !ok {
		t.Fatalf("no schema resetter for %s: add one to schemaResetters", scheme(first.url))
	}
	rng := faultRand(t)
	delays := make(chan time.Duration, n)
	for range n {
		// A fraction of a full run, so that a replayed seed hits the same
		// moments however fast the machine is today; a third of the window
		// lets a chain make progress between faults.
		delays <- time.Duration(rng.Float64() * float64(window) / 3)
	}
	close(delays)
	budget := faultBudget(t)
	began := time.Now()
	var wg sync.WaitGroup
	var next, dropped atomic.Int64
	defer func() {
		if d := dropped.Load(); d > 0 {
			t.Logf("ran %d of %d trials: the %s budget was spent (MIGRATE_FAULT_BUDGET=0 runs them all)", int64(n)-d, n, budget)
		}
	}()
	for w := range faultWorkers {
		e := first // holds a complete run: emptied before its first trial
		if w > 0 {
			e = faultEnv(t, first.tg, first.dir)
		}
		wg.Go(func() {
			complete := w == 0
			for delay := range delays {
				if budget > 0 && time.Since(began) > budget {
					dropped.Add(1)
					continue
				}
				t.Run(fmt.Sprintf("trial%03d", next.Add(1)), func(t *testing.T) {
					e.t = t
					if complete {
						ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
						defer cancel()
						if err := reset(ctx, e.db()); err != nil {
							t.Fatalf("emptying the database for a new chain: %v", err)
						}
					}
					complete = trial(t, e, delay) == faultMigrations
				})
			}
			t.Run(fmt.Sprintf("finish%d", w), func(t *testing.T) {
				e.t = t
				e.finish()
			})
		})
	}
	wg.Wait()
}

func faultTable(v int64) string { return fmt.Sprintf("t%04d", v) }
func faultIndex(v int64) string { return fmt.Sprintf("i%04d", v) }

// writeFaultSet writes faultMigrations tiny migrations, each creating a
// table and an index on it.
func writeFaultSet(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for v := int64(1); v <= faultMigrations; v++ {
		up := fmt.Sprintf("CREATE TABLE %s (id INTEGER PRIMARY KEY, v INTEGER);\nCREATE INDEX %s ON %s (v);\n", faultTable(v), faultIndex(v), faultTable(v))
		down := fmt.Sprintf("DROP TABLE %s;\n", faultTable(v))
		for name, body := range map[string]string{"up": up, "down": down} {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%04d_t%04d.%s.sql", v, v, name)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// faultEnv is a fresh database for one trial. Its own pool keeps one
// connection, so that cutting every other session spares only it.
func faultEnv(t *testing.T, tg target, dir string) *env {
	t.Helper()
	e := newEnv(t, tg, dir)
	e.db().SetMaxOpenConns(1)
	return e
}

// fullRun applies the whole folder once, undisturbed, and returns how long
// the process took: the window in which faults are injected.
func fullRun(t *testing.T, e *env) time.Duration {
	t.Helper()
	start := time.Now()
	out, code := e.cli("up")
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("undisturbed up: exit %d\n%s", code, out)
	}
	e.checkFaultInvariants()
	if n := len(e.state()); n != faultMigrations {
		t.Fatalf("undisturbed up applied %d of %d", n, faultMigrations)
	}
	return took
}

// tally counts where the faults landed, to show the trials hit mid-run.
type tally struct {
	mu                    sync.Mutex
	before, during, after int
}

func (ty *tally) add(applied int) {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	switch applied {
	case 0:
		ty.before++
	case faultMigrations:
		ty.after++
	default:
		ty.during++
	}
}

// TestKillMidMigration SIGKILLs `migrate up` at random moments and checks
// that the database is consistent and the next `up` finishes the job.
func TestKillMidMigration(t *testing.T) {
	trials := faultTrials(t)
	forEachTarget(t, func(t *testing.T, tg target) {
		// Targets in parallel: a trial mostly waits on its server, and the
		// servers are independent.
		t.Parallel()
		first := faultEnv(t, tg, writeFaultSet(t))
		window := fullRun(t, first)
		var ty tally
		runTrials(t, first, trials, window, func(t *testing.T, e *env, delay time.Duration) int {
			cmd := exec.Command(migrateBin, "--database", e.url, "--dir", e.dir, "up")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(delay)
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			e.awaitSessionsGone()
			applied := e.checkFaultInvariants()
			ty.add(applied)
			e.repairStuck()
			return applied
		})
		t.Logf("%d kills within %s: %d before the first migration, %d mid-run, %d after the last", trials, window.Round(time.Millisecond), ty.before, ty.during, ty.after)
	})
}

// connectionCutters end, from the server side, every session on the
// connection's database except the connection's own. SQLite has no server
// connection to cut.
var connectionCutters = map[string]func(ctx context.Context, db *sql.DB) error{
	"postgres": func(ctx context.Context, db *sql.DB) error {
		_, err := db.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'migrate' AND pid <> pg_backend_pid()`)
		return err
	},
	"mysql": func(ctx context.Context, db *sql.DB) error {
		ids, err := queryColumn[int64](ctx, db, `SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()`)
		for _, id := range ids {
			// The session may have ended on its own meanwhile.
			_, _ = db.ExecContext(ctx, fmt.Sprintf("KILL %d", id))
		}
		return err
	},
}

// TestConnectionCutMidMigration terminates the migrating process's server
// sessions at random moments: the process must exit (0 if it had finished,
// else a documented failure code), the database must be consistent, and the
// next `up` must finish the job.
func TestConnectionCutMidMigration(t *testing.T) {
	trials := faultTrials(t)
	forEachTarget(t, func(t *testing.T, tg target) {
		t.Parallel() // as in TestKillMidMigration
		first := faultEnv(t, tg, writeFaultSet(t))
		cut, ok := connectionCutters[scheme(first.url)]
		if !ok {
			if scheme(first.url) == "sqlite" {
				t.Skip("SQLite runs inside the migrate process: there is no server connection to cut (TestKillMidMigration covers a process that dies)")
			}
			t.Fatalf("no connection cutter for %s: add one to connectionCutters", scheme(first.url))
		}
		window := fullRun(t, first)
		var ty tally
		runTrials(t, first, trials, window, func(t *testing.T, e *env, delay time.Duration) int {
			up := e.startUp()
			time.Sleep(delay)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := cut(ctx, e.db()); err != nil {
				t.Fatalf("cutting the connections: %v", err)
			}
			if code := up.wait(t, time.Minute); code != 0 && code != 1 && code != 4 {
				t.Fatalf("after the cut, migrate exited %d; want 0, 1 (statement failed) or 4 (database error)\n%s", code, up.out.String())
			}
			e.awaitSessionsGone()
			applied := e.checkFaultInvariants()
			ty.add(applied)
			e.repairStuck()
			return applied
		})
		t.Logf("%d cuts within %s: %d before the first migration, %d mid-run, %d after the last", trials, window.Round(time.Millisecond), ty.before, ty.during, ty.after)
	})
}

// upProcess is `migrate up` running on its own, for a fault to hit.
type upProcess struct {
	cmd    *exec.Cmd
	out    bytes.Buffer // read once exited is closed
	exited chan struct{}
	err    error
}

func (e *env) startUp() *upProcess {
	e.t.Helper()
	p := &upProcess{cmd: exec.Command(migrateBin, "--database", e.url, "--dir", e.dir, "up"), exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	return p
}

// wait returns the process's exit code once it ends; a process still
// running after limit is killed and fails the test.
func (p *upProcess) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Fatalf("migrate still running %s after the fault\n%s", limit, p.out.String())
	}
	var ee *exec.ExitError
	switch {
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	case p.err != nil:
		t.Fatal(p.err)
	}
	return 0
}

// checkFaultInvariants checks what must hold however a run of the fault set
// ended, and returns how many versions are applied:
//   - every applied version has its table and index;
//   - no table exists for a version the state does not hold (on a target
//     without transactional DDL, a version left "running" or "failed" may
//     have some of its objects: that is what those statuses say);
//   - no (version, direction) succeeded twice in history, and on
//     transactional targets every applied version has its history row.
func (e *env) checkFaultInvariants() int {
	t := e.t
	t.Helper()
	objs := e.schemaObjects()
	status := map[int64]migrator.Status{}
	applied := 0
	for _, r := range e.state() {
		status[r.Version] = r.Status
		switch r.Status {
		case migrator.StatusApplied:
			applied++
			if !objs[faultTable(r.Version)] || !objs[faultIndex(r.Version)] {
				t.Fatalf("version %d is applied but its table or index is missing (objects %v)", r.Version, objs)
			}
		case migrator.StatusRunning, migrator.StatusFailed:
			if e.tg.transactionalDDL {
				t.Fatalf("version %d is %s on a target with transactional DDL", r.Version, r.Status)
			}
		default:
			t.Fatalf("version %d has unknown status %q", r.Version, r.Status)
		}
	}
	for v := int64(1); v <= faultMigrations; v++ {
		if objs[faultTable(v)] || objs[faultIndex(v)] {
			if _, ok := status[v]; !ok {
				t.Fatalf("table or index of version %d exists but the state does not hold version %d", v, v)
			}
		}
	}
	succeeded := map[string]int{}
	for _, h := range e.history() {
		// A chain may repair the same version more than once (stuck,
		// repaired, re-run, stuck again); an apply or rollback may not
		// succeed twice.
		if !h.Success || h.Direction == migrator.Repair {
			continue
		}
		key := fmt.Sprintf("%s %d", h.Direction, h.Version)
		if succeeded[key]++; succeeded[key] > 1 {
			t.Fatalf("history holds two successful rows for %s", key)
		}
	}
	if e.tg.transactionalDDL {
		for v, s := range status {
			if s == migrator.StatusApplied && succeeded[fmt.Sprintf("up %d", v)] != 1 {
				t.Fatalf("version %d is applied without a successful up row in history", v)
			}
		}
	}
	return applied
}

// repairStuck repairs versions a non-transactional target left running or
// failed, judging by which of their objects exist, as a person would.
func (e *env) repairStuck() {
	t := e.t
	t.Helper()
	objs := e.schemaObjects()
	for _, r := range e.state() {
		if r.Status == migrator.StatusApplied {
			continue
		}
		action := "--rolled-back"
		switch table, index := objs[faultTable(r.Version)], objs[faultIndex(r.Version)]; {
		case table && index:
			action = "--applied"
		case table:
			e.exec("DROP TABLE " + faultTable(r.Version))
		}
		if out, code := e.cli("repair", action, strconv.FormatInt(r.Version, 10)); code != 0 {
			t.Fatalf("repair %s %d: exit %d\n%s", action, r.Version, code, out)
		}
	}
}

// finish runs up after the last fault of a chain: it must apply everything.
func (e *env) finish() {
	t := e.t
	t.Helper()
	e.repairStuck()
	if out, code := e.cli("up"); code != 0 {
		t.Fatalf("up after the fault: exit %d\n%s", code, out)
	}
	if applied := e.checkFaultInvariants(); applied != faultMigrations {
		t.Fatalf("up after the fault left %d of %d applied", applied, faultMigrations)
	}
}
