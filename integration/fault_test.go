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

	"github.com/migrate-dev/migrate/drivers/sqlstore"
	"github.com/migrate-dev/migrate/migrator"
)

// faultMigrations is the size of the folder each fault trial runs: enough
// that a random moment usually falls in the middle of the run.
const faultMigrations = 200

// faultTrials is how many faults a scenario injects per target: its own
// default, or MIGRATE_FAULT_TRIALS for a longer local run.
func faultTrials(t *testing.T, def int) int {
	t.Helper()
	if s := os.Getenv("MIGRATE_FAULT_TRIALS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("MIGRATE_FAULT_TRIALS=%q: want a positive number", s)
		}
		return n
	}
	return def
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
		tables, err := sqlstore.QueryColumn[string](ctx, db, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`)
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
		tables, err := sqlstore.QueryColumn[string](ctx, db, `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()`)
		if err != nil || len(tables) == 0 {
			return err
		}
		_, err = db.ExecContext(ctx, "DROP TABLE `"+strings.Join(tables, "`, `")+"`")
		return err
	},
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

// afterKill does what the server does once it notices that a SIGKILLed
// migrate is gone: it ends the dead process's sessions (one waiting on a
// lock the test holds would otherwise wait on, unnoticed), then releases
// what the test held and waits until no session of the process is left.
// The env's pool keeps one connection from then on: awaitSessionsGone
// counts every session but one.
func (e *env) afterKill(ctx context.Context, release ...func() error) {
	e.t.Helper()
	if cut, ok := connectionCutters[scheme(e.url)]; ok {
		if err := cut(ctx, e.db()); err != nil {
			e.t.Fatalf("ending the dead process's sessions: %v", err)
		}
	}
	for _, r := range release {
		_ = r() // its session may have been ended with the process's
	}
	e.db().SetMaxOpenConns(1)
	e.awaitSessionsGone()
}

// faultRun is a command that fault trials interrupt, and where a chain
// of them starts and ends.
type faultRun struct {
	// args follow --database and --dir.
	args []string
	// from is how many versions are applied where a chain starts, and goal
	// how many once args has run to the end.
	from, goal int
	// allOrNothing: a fault leaves the run wholly applied or not at all.
	allOrNothing bool
}

var (
	upRun = faultRun{args: []string{"up"}, from: 0, goal: faultMigrations}
	// downRun rolls the whole folder back; the down scripts drop tables.
	downRun     = faultRun{args: []string{"down", "--allow-data-loss", strconv.Itoa(faultMigrations)}, from: faultMigrations, goal: 0}
	singleTxRun = faultRun{args: []string{"up", "--single-transaction"}, from: 0, goal: faultMigrations, allOrNothing: true}
)

// runTrials injects n faults per target in chains: each worker owns one
// database and runs run.args again and again, each run cut short by trial
// at a delay drawn from the scenario's seed, so every fault lands on a
// database that earlier faults left behind. When a chain has reached
// run.goal its database is emptied and brought back to run.from (a down
// chain applies the folder first), and a new chain starts; at the end
// every chain must finish with an undisturbed run. Chaining costs about
// one full run per few faults instead of one per fault, so 50 faults fit
// in CI even where DDL is slow.
func runTrials(t *testing.T, first *env, run faultRun, n int, window time.Duration, trial func(t *testing.T, e *env, delay time.Duration) int) {
	t.Helper()
	reset, ok := schemaResetters[scheme(first.url)]
	if !ok {
		t.Fatalf("no schema resetter for %s: add one to schemaResetters", scheme(first.url))
	}
	// Delays are a fraction of a full run, so that a replayed seed hits the
	// same moments however fast the machine is today. A third of the window
	// lets a chain make progress between faults. A run that is all or
	// nothing makes none, and commits at its very end: its faults spread
	// over twice the window, because four trials at once run slower than
	// the run measured alone (within one window, 200 of 200 SQLite kills
	// landed before the commit).
	reach := 1.0 / 3
	if run.allOrNothing {
		reach = 2
	}
	rng := faultRand(t)
	delays := make(chan time.Duration, n)
	for range n {
		delays <- time.Duration(rng.Float64() * float64(window) * reach)
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
		e := first // holds a complete run: started again before its first trial
		if w > 0 {
			e = faultEnv(t, first.tg, first.dir)
		}
		wg.Go(func() {
			complete := true
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
						e.applyAll(run.from)
					}
					complete = trial(t, e, delay) == run.goal
				})
			}
			t.Run(fmt.Sprintf("finish%d", w), func(t *testing.T) {
				e.t = t
				e.finish(run)
			})
		})
	}
	wg.Wait()
}

// applyAll brings an empty database to n applied versions, undisturbed.
func (e *env) applyAll(n int) {
	e.t.Helper()
	if n == 0 {
		return
	}
	if out, code := e.cli("up", strconv.Itoa(n)); code != 0 {
		e.t.Fatalf("up %d to start a chain: exit %d\n%s", n, code, out)
	}
	if applied := e.checkFaultInvariants(); applied != n {
		e.t.Fatalf("up %d to start a chain applied %d", n, applied)
	}
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

// fullRun runs run once, undisturbed, from where its chains start, and
// returns how long the process took: the window in which faults are
// injected.
func fullRun(t *testing.T, e *env, run faultRun) time.Duration {
	t.Helper()
	e.applyAll(run.from)
	start := time.Now()
	out, code := e.cli(run.args...)
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("undisturbed %s: exit %d\n%s", strings.Join(run.args, " "), code, out)
	}
	if n := e.checkFaultInvariants(); n != run.goal {
		t.Fatalf("undisturbed %s left %d applied, want %d", strings.Join(run.args, " "), n, run.goal)
	}
	return took
}

// tally counts where the faults landed, to show the trials hit mid-run.
type tally struct {
	run                   faultRun
	mu                    sync.Mutex
	before, during, after int
}

func (ty *tally) add(applied int) {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	switch applied {
	case ty.run.from:
		ty.before++
	case ty.run.goal:
		ty.after++
	default:
		ty.during++
	}
}

func (ty *tally) String() string {
	return fmt.Sprintf("%d before the first migration, %d mid-run, %d after the last", ty.before, ty.during, ty.after)
}

// afterFault checks the database a fault left, with the trial's own rule
// for a run that is all or nothing, and repairs what a person would.
func (e *env) afterFault(run faultRun, ty *tally) int {
	e.t.Helper()
	e.awaitSessionsGone()
	applied := e.checkFaultInvariants()
	if run.allOrNothing && applied != run.from && applied != run.goal {
		e.t.Fatalf("%s was cut with %d of its versions applied; it is all or nothing (%d or %d)", strings.Join(run.args, " "), applied, run.from, run.goal)
	}
	ty.add(applied)
	e.repairStuck()
	return applied
}

// TestKillMidMigration SIGKILLs `migrate up` at random moments and checks
// that the database is consistent and the next `up` finishes the job.
func TestKillMidMigration(t *testing.T) {
	killTrials(t, upRun, faultTrials(t, 50))
}

// TestKillMidRollback SIGKILLs `migrate down` of the whole folder at random
// moments, each on what the kills before it left, with the same checks:
// the next `down` finishes the rollback.
func TestKillMidRollback(t *testing.T) {
	killTrials(t, downRun, faultTrials(t, 25))
}

// TestKillMidSingleTransaction SIGKILLs `migrate up --single-transaction`
// at random moments: the database must hold all 200 migrations or none.
func TestKillMidSingleTransaction(t *testing.T) {
	killTrials(t, singleTxRun, faultTrials(t, 20))
}

// killTrials SIGKILLs run's command at random moments and checks that the
// database is consistent and the next run finishes the job.
func killTrials(t *testing.T, run faultRun, trials int) {
	forEachTarget(t, func(t *testing.T, tg target) {
		// Targets in parallel: a trial mostly waits on its server, and the
		// servers are independent.
		t.Parallel()
		if run.allOrNothing && !tg.transactionalDDL {
			t.Skipf("%s refuses %s (exit 2; TestSingleTransaction): it cannot run DDL in a transaction", tg.name, strings.Join(run.args, " "))
		}
		first := faultEnv(t, tg, writeFaultSet(t))
		window := fullRun(t, first, run)
		ty := &tally{run: run}
		runTrials(t, first, run, trials, window, func(t *testing.T, e *env, delay time.Duration) int {
			p := e.start(run.args...)
			time.Sleep(delay)
			_ = p.cmd.Process.Kill()
			<-p.exited
			return e.afterFault(run, ty)
		})
		t.Logf("%d kills within %s: %s", trials, window.Round(time.Millisecond), ty)
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
		ids, err := sqlstore.QueryColumn[int64](ctx, db, `SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()`)
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
	cutTrials(t, upRun, faultTrials(t, 50))
}

// TestConnectionCutMidRollback is TestConnectionCutMidMigration for
// `migrate down` of the whole folder.
func TestConnectionCutMidRollback(t *testing.T) {
	cutTrials(t, downRun, faultTrials(t, 25))
}

// cutTrials ends run's server sessions at random moments and checks the
// exit code, the database, and that the next run finishes the job.
func cutTrials(t *testing.T, run faultRun, trials int) {
	forEachTarget(t, func(t *testing.T, tg target) {
		t.Parallel() // as in killTrials
		first := faultEnv(t, tg, writeFaultSet(t))
		cut, ok := connectionCutters[scheme(first.url)]
		if !ok {
			if scheme(first.url) == "sqlite" {
				t.Skip("SQLite runs inside the migrate process: there is no server connection to cut (the kill scenarios cover a process that dies)")
			}
			t.Fatalf("no connection cutter for %s: add one to connectionCutters", scheme(first.url))
		}
		window := fullRun(t, first, run)
		ty := &tally{run: run}
		runTrials(t, first, run, trials, window, func(t *testing.T, e *env, delay time.Duration) int {
			p := e.start(run.args...)
			time.Sleep(delay)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := cut(ctx, e.db()); err != nil {
				t.Fatalf("cutting the connections: %v", err)
			}
			if code := p.wait(t, time.Minute); code != 0 && code != 1 && code != 4 {
				t.Fatalf("after the cut, migrate exited %d; want 0, 1 (statement failed) or 4 (database error)\n%s", code, p.out.String())
			}
			return e.afterFault(run, ty)
		})
		t.Logf("%d cuts within %s: %s", trials, window.Round(time.Millisecond), ty)
	})
}

// process is a migrate command running on its own, for a fault to hit.
type process struct {
	cmd    *exec.Cmd
	out    bytes.Buffer // read once exited is closed
	exited chan struct{}
	err    error
}

// start runs the migrate binary with args against the env's database and
// folder, without waiting for it.
func (e *env) start(args ...string) *process {
	e.t.Helper()
	p := &process{cmd: exec.Command(migrateBin, append([]string{"--database", e.url, "--dir", e.dir}, args...)...), exited: make(chan struct{})}
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
func (p *process) wait(t *testing.T, limit time.Duration) int {
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
//   - no (version, direction) succeeded twice in history, and a version
//     is applied exactly when its last successful up or down in history
//     is an up (unless a repair came after it, or the version is running
//     or failed).
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
	// last is each version's last successful up or down, or a repair after
	// it: what a repair found is written to the state alone.
	last := map[int64]migrator.Direction{}
	for _, h := range e.history() {
		if h.Direction == migrator.Repair {
			last[h.Version] = migrator.Repair
		}
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
		last[h.Version] = h.Direction
	}
	for v := int64(1); v <= faultMigrations; v++ {
		s, held := status[v]
		if last[v] == migrator.Repair || s == migrator.StatusRunning || s == migrator.StatusFailed {
			continue
		}
		if held != (last[v] == migrator.Up) {
			t.Fatalf("version %d: in the state %v, but its last successful up or down in history is %q", v, held, last[v])
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

// finish runs run's command after the last fault of a chain, undisturbed:
// it must finish the job.
func (e *env) finish(run faultRun) {
	t := e.t
	t.Helper()
	e.repairStuck()
	if out, code := e.cli(run.args...); code != 0 {
		t.Fatalf("%s after the fault: exit %d\n%s", strings.Join(run.args, " "), code, out)
	}
	if applied := e.checkFaultInvariants(); applied != run.goal {
		t.Fatalf("%s after the fault left %d applied, want %d", strings.Join(run.args, " "), applied, run.goal)
	}
}
