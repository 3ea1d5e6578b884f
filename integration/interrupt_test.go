package integration

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/migrate-dev/migrate/drivers/sqlstore"
	"github.com/migrate-dev/migrate/migrator"
)

// The faults here land at moments chosen, not drawn: the migrate process
// is made to wait at a known point (a row lock, a table lock or a lock
// file held by the test) and is killed, interrupted or cut there.

// writeSmallSet writes n migrations shaped like the fault set's, for
// scenarios that need a few versions rather than a long run.
func writeSmallSet(t *testing.T, n int) string {
	t.Helper()
	files := map[string]string{}
	for v := int64(1); v <= int64(n); v++ {
		files[fmt.Sprintf("%04d_t%04d.up.sql", v, v)] = fmt.Sprintf("CREATE TABLE %s (id INTEGER PRIMARY KEY, v INTEGER);\nCREATE INDEX %s ON %s (v);\n", faultTable(v), faultIndex(v), faultTable(v))
		files[fmt.Sprintf("%04d_t%04d.down.sql", v, v)] = fmt.Sprintf("DROP TABLE %s;\n", faultTable(v))
	}
	return writeFiles(t, files)
}

// awaitWaiting polls q, a count, on db until it is positive: the migrate
// process p has reached the moment the test holds it at. It fails the test
// if p exits first.
func awaitWaiting(t *testing.T, db *sql.DB, p *process, q string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var n int
		if err := db.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if n > 0 {
			return
		}
		select {
		case <-p.exited:
			t.Fatalf("migrate exited (%v) before reaching the moment the test holds it at\n%s", p.err, p.out.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("migrate never reached the moment the test holds it at (%s)", q)
		}
	}
}

// tableBlockers make the first run's creation of one of migrate's tables
// wait, from a session of the test, and return the query that counts
// migrate's sessions waiting on it. The blocking session is ended by the connection
// cutter with migrate's own.
var tableBlockers = map[string]func(ctx context.Context, conn *sql.Conn, table string) (waiting string, err error){
	"postgres": func(ctx context.Context, conn *sql.Conn, table string) (string, error) {
		// An uncommitted table of the same name: the CREATE TABLE IF NOT
		// EXISTS of another session waits to see whether it commits.
		if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
			return "", err
		}
		_, err := conn.ExecContext(ctx, "CREATE TABLE "+table+" (x INTEGER)")
		return `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND application_name = 'migrate' AND wait_event_type = 'Lock' AND query LIKE 'CREATE TABLE IF NOT EXISTS%'`, err
	},
	"mysql": func(ctx context.Context, conn *sql.Conn, table string) (string, error) {
		// CREATE ... SELECT holds the new name's metadata lock while the
		// SELECT sleeps; the test cuts it before it ends. migrate waits
		// for it at its CREATE, or, for a history table, at the look-up
		// before it (a history beside no state table is refused).
		go func() { _, _ = conn.ExecContext(ctx, "CREATE TABLE "+table+" (x INTEGER) SELECT SLEEP(60) AS x") }()
		return `SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE()
			AND state = 'Waiting for table metadata lock'
			AND (info LIKE 'CREATE TABLE IF NOT EXISTS%' OR info LIKE 'SELECT COUNT(*) FROM information_schema.TABLES%')`, nil
	},
}

// TestKillWhileCreatingTables kills the very first run while it creates
// migrate's state and history tables, once at each table, and ends its
// server sessions as the server would on noticing the process gone. Where
// each CREATE commits on its own (MySQL), the first table is then left
// without the second. Whatever it left, status and
// history must read it as a database with nothing applied (not as a
// foreign table), and the next up must apply everything.
func TestKillWhileCreatingTables(t *testing.T) {
	const n = 3
	forEachTarget(t, func(t *testing.T, tg target) {
		for _, table := range []string{migrator.DefaultHistoryTable, migrator.DefaultStateTable} {
			t.Run("at "+table, func(t *testing.T) { killWhileCreating(t, tg, table, n) })
		}
	})
}

func killWhileCreating(t *testing.T, tg target, table string, n int) {
	e := newEnv(t, tg, writeSmallSet(t, n))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The blocker has a pool of its own, so that ending its session
	// leaves no broken connection in the env's pool.
	other, err := migrator.Open(ctx, e.url, migrator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.(interface{ DB() *sql.DB }).DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	var up *process
	switch s := scheme(e.url); s {
	case "sqlite":
		// A write transaction held by the test: the run takes its lock
		// file, then waits at the BEGIN that creates the tables.
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			t.Fatal(err)
		}
		up = e.start("up")
		lockFile := strings.TrimPrefix(e.url, "sqlite:") + ".migrate-lock"
		deadline := time.Now().Add(15 * time.Second)
		for {
			who, _ := os.ReadFile(lockFile)
			if strings.HasPrefix(string(who), fmt.Sprintf("pid %d ", up.cmd.Process.Pid)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("migrate never took its lock file\n%s", up.out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	default:
		block, ok := tableBlockers[s]
		if !ok {
			t.Fatalf("no tableBlockers entry for %s", s)
		}
		waiting, err := block(ctx, conn, table)
		if err != nil {
			t.Fatalf("blocking %s: %v", table, err)
		}
		up = e.start("up")
		awaitWaiting(t, e.db(), up, waiting)
	}
	_ = up.cmd.Process.Kill()
	<-up.exited
	e.afterKill(ctx, conn.Close, other.Close)

	for _, cmd := range []string{"status", "history", "validate"} {
		if out, code := e.cli(cmd); code != 0 {
			t.Fatalf("%s after a first run killed while creating the tables: exit %d\n%s", cmd, code, out)
		}
	}
	if out, code := e.cli("up"); code != 0 {
		t.Fatalf("up after a first run killed while creating the tables: exit %d\n%s", code, out)
	}
	state, history := e.state(), e.history()
	if len(state) != n || len(history) != n {
		t.Fatalf("after up: %d state rows and %d history rows, want %d of each", len(state), len(history), n)
	}
	objs := e.schemaObjects()
	for _, r := range state {
		if r.Status != migrator.StatusApplied || !objs[faultTable(r.Version)] {
			t.Fatalf("version %d is %s (table there: %v), want applied with its table", r.Version, r.Status, objs[faultTable(r.Version)])
		}
	}
}

// gateWaiters count migrate's sessions waiting on the gate row the test
// holds locked. SQLite has no row locks: its migration runs an endless
// query instead. On MySQL the process list is matched on the migration's
// own statement (v = 1), not the test's hold (v = 2): MariaDB lists a
// statement for a moment after its client has the result, and the hold's
// UPDATE counted as a waiter sent the signal to a migrate still connecting
// (exit 4, "opening ...: context canceled").
var gateWaiters = map[string]string{
	"postgres": `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND application_name = 'migrate' AND wait_event_type = 'Lock' AND query LIKE '%UPDATE gate%'`,
	"mysql": `SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE() AND info LIKE 'UPDATE gate SET v = 1%'`,
}

// endless is a SQLite query that runs until it is interrupted.
const endless = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r"

// gateScript is a script that waits at the gate: on a server, for the
// gate row the test holds locked (holdGate); on SQLite, which has no row
// locks, in an endless query, until the process is interrupted or killed.
func (e *env) gateScript() string {
	if scheme(e.url) == "sqlite" {
		return e.tg.script(endless)
	}
	return e.tg.script("UPDATE gate SET v = 1 WHERE id = 1")
}

// awaitAtGate waits until the migrate process p has reached the gate of
// gateScript: on a server, until its session waits on the gate row; on
// SQLite, where nothing shows the endless query from outside, until the
// state is as reached says it is once p is there. It fails the test if p
// exits first.
func (e *env) awaitAtGate(p *process, reached func([]migrator.StateRow) bool) {
	e.t.Helper()
	if s := scheme(e.url); s != "sqlite" {
		awaitWaiting(e.t, e.db(), p, gateWaiters[s])
		return
	}
	deadline := time.Now().Add(15 * time.Second)
	for !reached(e.state()) {
		select {
		case <-p.exited:
			e.t.Fatalf("migrate exited (%v) before reaching the gate\n%s", p.err, p.out.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("migrate never reached the gate\n%s", p.out.String())
		}
	}
}

// TestInterruptMidMigration sends SIGINT or SIGTERM to `migrate up` while
// version 2 of 3 waits inside its script, in a transaction and marked
// no-transaction (where its first statement has already taken effect). The
// run must exit 130 without calling it a lost lock, nothing after the
// interrupted statement may run, even once the wait ends on the server,
// the state must say what became of version 2, and the next up (after the
// repair the state asks for) must finish the folder.
func TestInterruptMidMigration(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		for _, mode := range []string{"transaction", "no-transaction", "large"} {
			for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
				t.Run(fmt.Sprintf("%s/%v", mode, sig), func(t *testing.T) { interruptMidMigration(t, tg, mode, sig) })
			}
		}
	})
}

// largeScript is a statement that makes a script too big for PostgreSQL's
// one-string path (8 MiB), so that it runs statement by statement inside
// a database/sql transaction on the lock's session.
var largeScript = "SELECT '" + strings.Repeat("x", 9<<20) + "';\n"

func interruptMidMigration(t *testing.T, tg target, mode string, sig os.Signal) {
	const n = 3
	noTx := mode == "no-transaction"
	e := newEnv(t, tg, writeSmallSet(t, n))
	s := scheme(e.url)
	if mode == "large" && s != "postgres" {
		t.Skip("only PostgreSQL runs a large transactional script another way than a small one")
	}
	wait := e.gateScript()
	table := fmt.Sprintf("CREATE TABLE %s (id INTEGER PRIMARY KEY, v INTEGER);\n", faultTable(2))
	index := fmt.Sprintf("CREATE INDEX %s ON %s (v);\n", faultIndex(2), faultTable(2))
	body := wait + table + index
	if mode == "large" {
		body = table + largeScript + wait + index
	}
	if noTx {
		body = "-- migrate:no-transaction\n" + table + wait + index
	}
	if err := os.WriteFile(filepath.Join(e.dir, "0002_t0002.up.sql"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var hold *sql.Tx
	if s != "sqlite" {
		hold = e.holdGate(ctx)
		defer hold.Rollback()
	}
	up := e.start("up")
	defer func() { _ = up.cmd.Process.Kill() }()
	// Version 1 committed: the run is in version 2 a moment later.
	e.awaitAtGate(up, func(st []migrator.StateRow) bool { return len(st) > 0 && st[0].Status == migrator.StatusApplied })
	if s == "sqlite" {
		time.Sleep(300 * time.Millisecond) // into the endless query
	}
	if err := up.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	code := up.wait(t, 20*time.Second)
	out := up.out.String()
	// Open the gate: a run that went on would now apply the rest.
	if hold != nil {
		if err := hold.Rollback(); err != nil {
			t.Fatal(err)
		}
	}
	e.db().SetMaxOpenConns(1)
	e.awaitSessionsGone()
	if code != 130 || strings.Contains(out, "lock was lost") || !strings.Contains(out, "0002_t0002.up.sql") {
		t.Fatalf("after %v: exit %d, want 130 with an error naming 0002_t0002.up.sql and no lost lock\n%s", sig, code, out)
	}

	objs := e.schemaObjects()
	if objs[faultIndex(2)] || objs[faultTable(3)] {
		t.Fatalf("a statement after the interrupted one ran (objects %v)\n%s", objs, out)
	}
	var v2 *migrator.StateRow
	for _, r := range e.state() {
		switch {
		case r.Version == 1 && r.Status == migrator.StatusApplied:
		case r.Version == 2:
			v2 = &r
		default:
			t.Fatalf("version %d is %s after the interrupt in version 2", r.Version, r.Status)
		}
	}
	ups := map[int64]int{}
	for _, h := range e.history() {
		if h.Success && h.Direction == migrator.Up {
			if ups[h.Version]++; h.Version != 1 || ups[h.Version] > 1 {
				t.Fatalf("history: %+v", h)
			}
		}
	}
	switch {
	case v2 == nil:
		if noTx || !tg.transactionalDDL || objs[faultTable(2)] {
			t.Fatalf("version 2 is not recorded, but it ran outside a transaction (table there: %v)\n%s", objs[faultTable(2)], out)
		}
		// The statement was cancelled on the server and the session kept,
		// so the rollback is known and the failure is in history.
		if h := e.history(); len(h) != 2 || h[1].Version != 2 || h[1].Success {
			t.Fatalf("history does not end with version 2's failure: %+v", h)
		}
	case v2.Status == migrator.StatusRunning:
		// The failure could not be recorded: the message must say what to do.
		if !strings.Contains(out, "stays recorded as running") || !strings.Contains(out, "migrate repair 2") {
			t.Fatalf("version 2 is left running, and the message does not say so and how to repair it\n%s", out)
		}
	case v2.Status == migrator.StatusFailed:
		if want := tg.index(1 + btoi(noTx)); v2.FailedStatement != want {
			t.Fatalf("version 2 failed at statement %d, want %d (the one interrupted)", v2.FailedStatement, want)
		}
	default:
		t.Fatalf("version 2 is %s", v2.Status)
	}
	if v2 != nil {
		if out, code := e.cli("up"); code != 6 || !strings.Contains(out, "migrate repair 2") {
			t.Fatalf("up with version 2 %s: exit %d, want 6 naming `migrate repair 2`\n%s", v2.Status, code, out)
		}
		if objs[faultTable(2)] {
			e.exec("DROP TABLE " + faultTable(2))
		}
		if out, code := e.cli("repair", "2", "--rolled-back"); code != 0 {
			t.Fatalf("repair: exit %d\n%s", code, out)
		}
	}
	// Without its wait, which on SQLite never ends.
	if err := os.WriteFile(filepath.Join(e.dir, "0002_t0002.up.sql"), []byte(table+index), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := e.cli("up"); code != 0 {
		t.Fatalf("up after the interrupt: exit %d\n%s", code, out)
	}
	objs = e.schemaObjects()
	for v := int64(1); v <= n; v++ {
		if !objs[faultTable(v)] || !objs[faultIndex(v)] {
			t.Fatalf("after up, version %d's objects are missing (%v)", v, objs)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// stateWriteWaiters count migrate's sessions waiting for a row of the
// state table that the test has inserted and not committed.
var stateWriteWaiters = map[string]string{
	"postgres": `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND application_name = 'migrate' AND wait_event_type = 'Lock'`,
	"mysql": `SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE() AND time_ms > 200
		AND (info LIKE 'DELETE FROM%migrate_state%' OR info LIKE 'INSERT INTO%migrate_state%')`,
}

// connectionCut stands beside the signals a fault test sends for ending
// the process's server sessions instead.
var connectionCut os.Signal = cutSignal{}

type cutSignal struct{}

func (cutSignal) String() string { return "connection cut" }
func (cutSignal) Signal()        {}

// TestBaselineCutShort stops `baseline 10` at version 5, where a row the
// test holds makes it wait, by SIGKILL, by SIGINT and by ending its server
// sessions. Versions 1 to 4 stay
// recorded; the interrupted run must say so, and running the same baseline
// again must record the rest once each, rather than refuse a database that
// "already has version 1 recorded" and leave it half baselined for good.
// SQLite has no row lock to hold it there: a trigger fails the write of
// version 5 instead, which leaves the same four rows.
func TestBaselineCutShort(t *testing.T) {
	const n, at = 10, 5
	forEachTarget(t, func(t *testing.T, tg target) {
		for _, sig := range []os.Signal{os.Kill, os.Interrupt, connectionCut} {
			t.Run(sig.String(), func(t *testing.T) {
				e := newEnv(t, tg, writeSmallSet(t, n))
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if err := e.drv.Prepare(ctx); err != nil {
					t.Fatal(err)
				}
				s := scheme(e.url)
				var out string
				if s == "sqlite" {
					if sig != os.Kill {
						t.Skip("SQLite: the trigger fails the write, the same for every signal and with no connection to cut")
					}
					e.exec(fmt.Sprintf(`CREATE TRIGGER stop BEFORE INSERT ON migrate_state WHEN NEW.version = %d BEGIN SELECT RAISE(FAIL, 'stopped by the test'); END`, at))
					var code int
					if out, code = e.cli("baseline", fmt.Sprint(n)); code != 4 {
						t.Fatalf("baseline with version %d's write failing: exit %d, want 4\n%s", at, code, out)
					}
					e.exec("DROP TRIGGER stop")
				} else {
					hold, err := e.db().BeginTx(ctx, nil)
					if err != nil {
						t.Fatal(err)
					}
					defer hold.Rollback()
					if _, err := hold.ExecContext(ctx, fmt.Sprintf(`INSERT INTO migrate_state (version, name, checksum, status, applied_at) VALUES (%d, 'x', 'x', 'applied', CURRENT_TIMESTAMP)`, at)); err != nil {
						t.Fatal(err)
					}
					before := e.sessions(ctx)
					p := e.start("baseline", fmt.Sprint(n))
					defer func() { _ = p.cmd.Process.Kill() }()
					awaitWaiting(t, e.db(), p, stateWriteWaiters[s])
					if sig == connectionCut {
						e.endSessionsSince(ctx, before)
					} else if err := p.cmd.Process.Signal(sig); err != nil {
						t.Fatal(err)
					}
					code := p.wait(t, 20*time.Second)
					out = p.out.String()
					t.Logf("baseline stopped by %v: exit %d\n%s", sig, code, out)
					if sig == os.Interrupt && code != 130 || sig == connectionCut && code != 4 {
						t.Fatalf("baseline stopped by %v: exit %d, want 130 for an interrupt, 4 for a cut\n%s", sig, code, out)
					}
					if sig == os.Kill {
						e.afterKill(ctx, hold.Rollback)
					} else {
						_ = hold.Rollback()
						e.db().SetMaxOpenConns(1)
						e.awaitSessionsGone()
					}
				}
				if sig != os.Kill && !strings.Contains(out, fmt.Sprintf("versions up to %d are recorded; run `migrate baseline %d` again to finish: versions %d to %d are not recorded", at-1, n, at, n)) ||
					sig != os.Kill && !strings.Contains(out, fmt.Sprintf("now at version %d", at-1)) {
					t.Fatalf("the error does not say how far baseline got, what it did not record, and how to finish:\n%s", out)
				}
				if got := len(e.state()); got != at-1 {
					t.Fatalf("%d versions recorded after baseline stopped at version %d, want %d", got, at, at-1)
				}
				if out, code := e.cli("baseline", fmt.Sprint(n)); code != 0 {
					t.Fatalf("baseline again after it was cut short: exit %d\n%s", code, out)
				}
				state, history := e.state(), e.history()
				if len(state) != n || len(history) != n {
					t.Fatalf("after the second baseline: %d state rows, %d history rows, want %d of each", len(state), len(history), n)
				}
				for i, h := range history {
					if h.Version != int64(i+1) || h.Direction != migrator.Baseline || !h.Success {
						t.Fatalf("history row %d: %+v, want the baseline of version %d", i, h, i+1)
					}
				}
			})
		}
	})
}

// lockHeldAtGate starts a `migrate up` of three versions that takes the
// lock and then waits inside version 2 (on the gate row the test holds, or
// in SQLite's endless query) for as long as the test runs: the holder that
// the scenarios about a second migrate, waiting for the lock, need.
func lockHeldAtGate(t *testing.T, tg target) (*env, *process) {
	t.Helper()
	e := newEnv(t, tg, writeSmallSet(t, 3))
	s := scheme(e.url)
	wait := e.gateScript()
	if err := os.WriteFile(filepath.Join(e.dir, "0002_t0002.up.sql"), []byte(wait), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	if s != "sqlite" {
		hold := e.holdGate(ctx)
		t.Cleanup(func() { _ = hold.Rollback() })
	}
	holder := e.start("up")
	t.Cleanup(func() { _ = holder.cmd.Process.Kill() })
	e.awaitAtGate(holder, func(st []migrator.StateRow) bool { return len(st) > 0 })
	return e, holder
}

// TestInterruptWhileWaitingForLock interrupts a `migrate up` that polls
// for the lock another `migrate up` holds while it waits inside version 2.
// The waiter must exit 130 saying it was interrupted waiting for the lock,
// and who holds it, with nothing run: not a bare "context canceled".
func TestInterruptWhileWaitingForLock(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e, holder := lockHeldAtGate(t, tg)
		waiter := e.start("up")
		defer func() { _ = waiter.cmd.Process.Kill() }()
		// The waiter connects and reads the folder in milliseconds, then
		// polls; a second leaves it polling however loaded the machine.
		time.Sleep(time.Second)
		if err := waiter.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		code := waiter.wait(t, 10*time.Second)
		if out := waiter.out.String(); code != 130 || !strings.Contains(out, "interrupted while waiting for the migration lock held by ") || !strings.Contains(out, "nothing was run") {
			t.Fatalf("waiter interrupted: exit %d, want 130 saying it waited for the lock, who holds it, and that nothing was run\n%s", code, out)
		}
		if err := holder.cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		if code := holder.wait(t, 10*time.Second); code != 130 {
			t.Fatalf("holder interrupted: exit %d\n%s", code, holder.out.String())
		}
		if st := e.state(); len(st) < 1 || st[0].Version != 1 || len(st) > 2 {
			t.Fatalf("state after both were interrupted: %+v", st)
		}
	})
}

// sessionIDs are the server sessions on the connection's database other
// than the connection's own, as lockSessions' kill takes them.
var sessionIDs = map[string]string{
	"postgres": `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
	"mysql":    `SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()`,
}

// sessions returns the server sessions on the env's database but the
// one asking. The env's pool is held to two connections, one for a hold
// of the test's and one for its queries, so that the sessions listed
// before a migrate process starts are all the test's.
func (e *env) sessions(ctx context.Context) []int64 {
	e.t.Helper()
	e.db().SetMaxOpenConns(2)
	ids, err := sqlstore.QueryColumn[int64](ctx, e.db(), sessionIDs[scheme(e.url)])
	if err != nil {
		e.t.Fatalf("listing sessions: %v", err)
	}
	return ids
}

// endSessionsSince ends, on the server, every session on the env's
// database that is not among before (the sessions of migrate processes
// started since), and returns how many it ended.
func (e *env) endSessionsSince(ctx context.Context, before []int64) int {
	e.t.Helper()
	n := 0
	for _, id := range e.sessions(ctx) {
		if slices.Contains(before, id) {
			continue
		}
		if _, err := e.db().ExecContext(ctx, lockSessions[scheme(e.url)].kill(id)); err != nil {
			e.t.Fatalf("ending session %d: %v", id, err)
		}
		n++
	}
	return n
}

// TestWaiterCutWhileWaitingForLock ends, on the server, the sessions of a
// `migrate up` that polls for the lock another one holds. The waiter never
// held the lock, so it must say that nothing was run (exit 4), not leave
// the user to wonder whether a migration was cut part-way; the holder
// must carry on unharmed.
func TestWaiterCutWhileWaitingForLock(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		if tg.name == "sqlite" {
			t.Skip("SQLite's waiter polls a lock file in its own process: there is no server session to end")
		}
		e, holder := lockHeldAtGate(t, tg)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		before := e.sessions(ctx) // the test's and the holder's
		waiter := e.start("up")
		defer func() { _ = waiter.cmd.Process.Kill() }()
		time.Sleep(time.Second) // as in TestInterruptWhileWaitingForLock
		if e.endSessionsSince(ctx, before) == 0 {
			t.Fatalf("the waiter has no session to end\n%s", waiter.out.String())
		}
		code := waiter.wait(t, 20*time.Second)
		out := waiter.out.String()
		if code != 4 || !strings.Contains(out, "nothing was run") || !strings.Contains(out, "never held the lock") || strings.Contains(out, "lock was lost") {
			t.Fatalf("waiter cut: exit %d, want 4 saying that nothing was run and that it never held the lock\n%s", code, out)
		}
		select {
		case <-holder.exited:
			t.Fatalf("the holder stopped when the waiter was cut\n%s", holder.out.String())
		default:
		}
		// MySQL marks version 2 running before its first statement.
		for _, r := range e.state() {
			if r.Version != 1 && (r.Version != 2 || r.Status != migrator.StatusRunning || tg.transactionalDDL) {
				t.Fatalf("state while the holder waits in version 2: %+v", e.state())
			}
		}
	})
}

// TestKillMidDownScript SIGKILLs `migrate down` while version 2's down
// script, marked no-transaction, waits before its DROP. The version stays
// marked running, as an up would; status must say that it was the down
// script that was running, since that decides what "applied" and "rolled
// back" mean for the repair.
func TestKillMidDownScript(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, writeSmallSet(t, 2))
		s := scheme(e.url)
		if out, code := e.cli("up"); code != 0 {
			t.Fatalf("up: exit %d\n%s", code, out)
		}
		wait := e.gateScript()
		down := "-- migrate:no-transaction\n" + wait + tg.script("DROP TABLE "+faultTable(2))
		if err := os.WriteFile(filepath.Join(e.dir, "0002_t0002.down.sql"), []byte(down), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var release []func() error
		if s != "sqlite" {
			hold := e.holdGate(ctx)
			defer hold.Rollback()
			release = append(release, hold.Rollback)
		}
		p := e.start("down", "--allow-data-loss")
		defer func() { _ = p.cmd.Process.Kill() }()
		e.awaitAtGate(p, func(st []migrator.StateRow) bool { return len(st) > 1 && st[1].Status == migrator.StatusRunning })
		_ = p.cmd.Process.Kill()
		<-p.exited
		e.afterKill(ctx, release...)

		out, code := e.cli("status")
		if want := "version 2 is interrupted: the down script was running when migrate stopped (" + filepath.Join(e.dir, "0002_t0002.down.sql") + ")"; code != 0 || !strings.Contains(out, want) {
			t.Fatalf("status after a kill in the down script: exit %d, want it to say %q\n%s", code, want, out)
		}
		if out, _ := e.cli("--json", "status"); !strings.Contains(out, `"running_script": "down"`) {
			t.Fatalf("status --json does not say the down script was running:\n%s", out)
		}
		// The DROP never ran: the version's changes are all in place.
		if out, code := e.cli("repair", "2", "--applied"); code != 0 {
			t.Fatalf("repair 2 --applied: exit %d\n%s", code, out)
		}
		if st := e.state(); len(st) != 2 || st[1].Status != migrator.StatusApplied {
			t.Fatalf("state after the repair: %+v", st)
		}
	})
}

// TestKillMidRedo SIGKILLs `migrate redo`, and ends its server sessions,
// while version 2's up script waits at the gate, its down script having
// run. Where DDL is
// transactional the down and the up are one transaction: version 2 stays
// applied with its objects, and redo run again redoes version 2 (before,
// the down had committed on its own, and the second redo rolled back
// version 1). On MySQL the up script is left marked running: status says
// so and names the repair, after which up finishes the job.
func TestKillMidRedo(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		for _, fault := range []os.Signal{os.Kill, connectionCut} {
			t.Run(fault.String(), func(t *testing.T) {
				if fault == connectionCut && tg.name == "sqlite" {
					t.Skip("SQLite runs inside the migrate process: there is no server connection to cut")
				}
				killMidRedo(t, tg, fault)
			})
		}
	})
}

func killMidRedo(t *testing.T, tg target, fault os.Signal) {
	e := newEnv(t, tg, writeSmallSet(t, 2))
	if out, code := e.cli("up"); code != 0 {
		t.Fatalf("up: exit %d\n%s", code, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var release []func() error
	if scheme(e.url) != "sqlite" {
		hold := e.holdGate(ctx)
		defer hold.Rollback()
		release = append(release, hold.Rollback)
	}
	upPath := filepath.Join(e.dir, "0002_t0002.up.sql")
	plain, err := os.ReadFile(upPath)
	if err != nil {
		t.Fatal(err)
	}
	// The applied script, as redo will run it: the gate, then its objects.
	setUp := func(body string) {
		t.Helper()
		if err := os.WriteFile(upPath, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, code := e.cli("repair", "2", "--accept-checksum"); code != 0 {
			t.Fatalf("repair 2 --accept-checksum: exit %d\n%s", code, out)
		}
	}
	setUp(e.gateScript() + string(plain))

	p := e.start("redo", "--allow-data-loss")
	defer func() { _ = p.cmd.Process.Kill() }()
	// SQLite's transaction shows nothing outside it: the run is in the
	// endless query well within half a second.
	e.awaitAtGate(p, func([]migrator.StateRow) bool { time.Sleep(500 * time.Millisecond); return true })
	if fault == connectionCut {
		if err := connectionCutters[scheme(e.url)](ctx, e.db()); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t, 20*time.Second); code != 4 || !strings.Contains(p.out.String(), "lost during the redo of version 2") && tg.transactionalDDL {
			t.Fatalf("redo cut: exit %d, want 4 saying the lock was lost during the redo of version 2\n%s", code, p.out.String())
		}
	} else {
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	e.afterKill(ctx, release...)
	e.checkFaultInvariants()

	out, code := e.cli("status")
	if !tg.transactionalDDL {
		if want := "version 2 is interrupted: the up script was running"; code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "migrate repair 2 --rolled-back") {
			t.Fatalf("status after a kill in redo's up script: exit %d, want it to say %q and name the repair\n%s", code, want, out)
		}
		// The down script's DROP ran; the up script stopped at the gate.
		if out, code := e.cli("repair", "2", "--rolled-back"); code != 0 {
			t.Fatalf("repair 2 --rolled-back: exit %d\n%s", code, out)
		}
		if err := os.WriteFile(upPath, plain, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, code := e.cli("up"); code != 0 {
			t.Fatalf("up after the repair: exit %d\n%s", code, out)
		}
	} else {
		if code != 0 || !strings.Contains(out, "current version 2, 0 pending") {
			t.Fatalf("status after a kill in redo: exit %d, want version 2 still applied\n%s", code, out)
		}
		setUp(string(plain)) // SQLite's gate never opens
		if out, code := e.cli("redo", "--allow-data-loss"); code != 0 {
			t.Fatalf("redo again: exit %d\n%s", code, out)
		}
		if got := directions(e.history()); !strings.HasSuffix(got, "down2 up2") || strings.Contains(got, "down1") {
			t.Fatalf("history after redo again: %s, want it to end with version 2's redo", got)
		}
	}
	objs := e.schemaObjects()
	for _, r := range e.state() {
		if r.Status != migrator.StatusApplied || !objs[faultTable(r.Version)] || !objs[faultIndex(r.Version)] {
			t.Fatalf("version %d is %s (objects %v), want applied with its table and index", r.Version, r.Status, objs)
		}
	}
	if n := len(e.state()); n != 2 {
		t.Fatalf("%d versions applied, want 2", n)
	}
}
