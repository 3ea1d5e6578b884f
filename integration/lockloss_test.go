package integration

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/migrate-dev/migrate/migrator"
)

// lockSession finds and ends, from another session, the session holding
// migrate's lock on the connection's database, and tells whether that
// session is waiting for a row lock. SQLite's lock is a file held by the
// process, with no session to end.
type lockSession struct {
	holder  string // returns the holder's session id
	waiting string // counts rows when session $1/? waits on the gate's row lock
	kill    func(id int64) string
}

var lockSessions = map[string]lockSession{
	"postgres": {
		holder: `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
		waiting: `SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'`,
		kill:    func(id int64) string { return fmt.Sprintf("SELECT pg_terminate_backend(%d)", id) },
	},
	"mysql": {
		// The driver's lock name for the default state table; test
		// database names are short enough not to be hashed.
		holder:  `SELECT IS_USED_LOCK(CONCAT('migrate:', DATABASE(), '.migrate_state'))`,
		waiting: `SELECT count(*) FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE 'UPDATE gate%'`,
		kill:    func(id int64) string { return fmt.Sprintf("KILL %d", id) },
	},
	"sqlserver": {
		holder: `SELECT TOP (1) request_session_id FROM sys.dm_tran_locks
			WHERE resource_type = 'APPLICATION' AND request_owner_type = 'SESSION'
			AND request_status IN ('GRANT', 'GRANTED') AND resource_database_id = DB_ID()`,
		waiting: `SELECT count(*) FROM sys.dm_exec_requests WHERE session_id = @p1 AND wait_type LIKE 'LCK[_]%'`,
		kill:    func(id int64) string { return fmt.Sprintf("KILL %d", id) },
	},
}

// gatedVersion is the migration that waits, holding nothing yet, for a
// row the test keeps locked, so the lock's session is ended at a known
// point part-way through the run.
const gatedVersion = 50

var lostVersion = regexp.MustCompile(`the migration lock was lost during the up of version (\d+):`)

// TestLockLostMidRun ends the session holding the migration lock, found
// through the server's lock tables, while `up` is part-way through the
// fault set. The server then frees the lock, so the run must stop at once
// with an error naming the lost lock and the version in flight: nothing
// after the cut may be applied, state, history and schema must agree, and
// the next `up` must finish the job as after any other fault.
func TestLockLostMidRun(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, writeFaultSet(t))
		ls, ok := lockSessions[scheme(e.url)]
		if !ok {
			if scheme(e.url) == "sqlite" {
				t.Skip("SQLite's lock is a file held by the migrate process: no server session can end under it")
			}
			t.Fatalf("no lockSessions entry for %s", scheme(e.url))
		}
		gated := filepath.Join(e.dir, fmt.Sprintf("%04d_t%04d.up.sql", gatedVersion, gatedVersion))
		body, err := os.ReadFile(gated)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(gated, []byte(e.gateScript()+string(body)), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		hold := e.holdGate(ctx)
		defer hold.Rollback()

		up := e.start("up")
		defer func() { _ = up.cmd.Process.Kill() }()

		// Wait until the lock's session is the one stuck on the gate.
		var holder int64
		for {
			var waiting int
			if err := e.db().QueryRowContext(ctx, ls.holder).Scan(&holder); err == nil {
				if err := e.db().QueryRowContext(ctx, ls.waiting, holder).Scan(&waiting); err != nil {
					t.Fatalf("is the lock's session waiting: %v", err)
				}
			}
			if waiting > 0 {
				break
			}
			select {
			case <-up.exited:
				t.Fatalf("migrate exited (%v) before reaching the gate in version %d; the migrations do not run on the lock's session\n%s", up.err, gatedVersion, up.out.String())
			case <-ctx.Done():
				t.Fatal("migrate never waited on the gate with the lock's session")
			case <-time.After(10 * time.Millisecond):
			}
		}
		if _, err := e.db().ExecContext(ctx, ls.kill(holder)); err != nil {
			t.Fatalf("ending the lock's session %d: %v", holder, err)
		}
		// Open the gate: had the run carried on without the lock, the
		// rest of the folder would now be applied.
		if err := hold.Rollback(); err != nil {
			t.Fatal(err)
		}
		// awaitSessionsGone counts every session but one of the pool.
		e.db().SetMaxOpenConns(1)
		code := up.wait(t, time.Minute)
		e.awaitSessionsGone()

		m := lostVersion.FindStringSubmatch(up.out.String())
		if code != 4 || m == nil || m[1] != fmt.Sprint(gatedVersion) {
			t.Fatalf("after the lock's session ended: exit %d, want 4 with an error naming the lost lock and version %d\n%s", code, gatedVersion, up.out.String())
		}
		wantFate := "was not applied"
		if !tg.transactionalDDL {
			wantFate = "was cut part-way outside a transaction and is recorded as running"
		}
		if !strings.Contains(up.out.String(), fmt.Sprintf("version %d %s", gatedVersion, wantFate)) {
			t.Fatalf("the error does not say that version %d %s:\n%s", gatedVersion, wantFate, up.out.String())
		}
		t.Logf("the run stopped with:\n%s", up.out.String()[strings.Index(up.out.String(), "migrate: "):])
		if applied := e.checkFaultInvariants(); applied != gatedVersion-1 {
			t.Fatalf("%d versions applied after the lock was lost in version %d, want %d", applied, gatedVersion, gatedVersion-1)
		}
		for _, r := range e.state() {
			if r.Version >= gatedVersion && (tg.transactionalDDL || r.Version > gatedVersion || r.Status != migrator.StatusRunning) {
				t.Fatalf("version %d is %s: nothing may be written after the lock was lost", r.Version, r.Status)
			}
		}
		for _, h := range e.history() {
			if h.Version >= gatedVersion {
				t.Fatalf("history has a row for version %d written after the lock was lost: %+v", h.Version, h)
			}
		}
		objs := e.schemaObjects()
		for v := int64(gatedVersion + 1); v <= faultMigrations; v++ {
			if objs[faultTable(v)] {
				t.Fatalf("table of version %d exists: it ran after the lock was lost", v)
			}
		}
		e.finish(upRun)
	})
}

// holdGate creates the table gate with one row and locks that row in a
// transaction the caller rolls back: a migration that updates it waits,
// on the server, for as long as the test wants.
func (e *env) holdGate(ctx context.Context) *sql.Tx {
	e.t.Helper()
	e.exec("CREATE TABLE gate (id INTEGER PRIMARY KEY, v INTEGER)")
	e.exec("INSERT INTO gate (id, v) VALUES (1, 0)")
	hold, err := e.db().BeginTx(ctx, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := hold.ExecContext(ctx, "UPDATE gate SET v = 2 WHERE id = 1"); err != nil {
		hold.Rollback()
		e.t.Fatal(err)
	}
	return hold
}
