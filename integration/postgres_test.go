package integration

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/migrate-dev/migrate/migrator"
)

// CREATE INDEX CONCURRENTLY must run outside a transaction, and several
// migrators racing on it must not deadlock: the waiters poll a try-lock
// instead of blocking in pg_advisory_lock, where CIC would wait for them.
func TestPostgresConcurrentIndexRace(t *testing.T) {
	tg := targetNamed(t, "postgres")
	e := newEnv(t, tg, writeFiles(t, map[string]string{
		"0001_t.up.sql":     "CREATE TABLE t (id int, v text);\nINSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g;\n",
		"0001_t.down.sql":   "DROP TABLE t;\n",
		"0002_idx.up.sql":   "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY t_v_idx ON t (v);\n",
		"0002_idx.down.sql": "-- migrate:no-transaction\nDROP INDEX CONCURRENTLY t_v_idx;\n",
	}))
	const procs = 4
	outs, codes := e.concurrentUps(procs, "1m")
	for i := range procs {
		if codes[i] != 0 {
			t.Fatalf("process %d: exit %d\n%s", i, codes[i], outs[i])
		}
	}
	var valid bool
	if err := e.db().QueryRow(`SELECT indisvalid FROM pg_index WHERE indexrelid = 't_v_idx'::regclass`).Scan(&valid); err != nil || !valid {
		t.Fatalf("index t_v_idx is not valid: %v", err)
	}
	if got := directions(e.history()); got != "up1 up2" {
		t.Fatalf("history %s", got)
	}
	// Inside a transaction PostgreSQL refuses it, so migrate refuses the
	// script before anything runs, and says so.
	e2 := newEnv(t, tg, writeFiles(t, map[string]string{
		"0001_t.up.sql":   "CREATE TABLE t (id int);\nCREATE INDEX CONCURRENTLY t_id_idx ON t (id);\n",
		"0001_t.down.sql": "DROP TABLE t;\n",
	}))
	out, code := e2.cli("up")
	if code != 3 || !strings.Contains(out, "cannot run inside a transaction") || !strings.Contains(out, "0001_t.up.sql:2") || !strings.Contains(out, "nothing was run") {
		t.Fatalf("CIC in a transaction: exit %d\n%s", code, out)
	}
}

// TestPostgresKilledMigrateSessionEnds SIGKILLs `migrate up` while its
// migration runs a long statement. The server must notice within seconds
// that migrate is gone (client_connection_check_interval) and end the
// session, freeing the migration lock and the transaction's locks, rather
// than run the statement to its end first.
func TestPostgresKilledMigrateSessionEnds(t *testing.T) {
	tg := targetNamed(t, "postgres")
	e := newEnv(t, tg, writeFiles(t, map[string]string{
		"0001_slow.up.sql":   "CREATE TABLE slow (id int);\nSELECT pg_sleep(60);\n",
		"0001_slow.down.sql": "DROP TABLE slow;\n",
	}))
	e.db().SetMaxOpenConns(1) // otherSessions counts every session but one
	p := e.start("up")
	defer func() { _ = p.cmd.Process.Kill() }()
	awaitWaiting(t, e.db(), p, migrateSessions(`state = 'active' AND query LIKE '%pg_sleep(60)%'`))
	_ = p.cmd.Process.Kill()
	<-p.exited
	killed := time.Now()
	for {
		var n int
		if err := e.db().QueryRow(otherSessions["postgres"]).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("the killed migrate's session still runs its statement %s later: the server did not notice that its client was gone", time.Since(killed).Round(time.Second))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the server ended the killed migrate's session %s after the kill", time.Since(killed).Round(time.Millisecond))
	if len(e.state()) != 0 {
		t.Fatalf("state after the kill: %+v", e.state())
	}
}

// migrateSessions counts the sessions of migrate processes on the
// database that match where. The test's own pool has migrate's
// application_name too: the session asking is left out, as its query text
// would match.
func migrateSessions(where string) string {
	return `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND application_name = 'migrate' AND pid <> pg_backend_pid() AND ` + where
}

// indexValid reads whether index name is there and valid.
func (e *env) indexValid(name string) (exists, valid bool) {
	e.t.Helper()
	err := e.db().QueryRow(`SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)`, name).Scan(&valid)
	if err == sql.ErrNoRows {
		return false, false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return true, valid
}

// TestPostgresFailedConcurrentIndex fails a CREATE UNIQUE INDEX
// CONCURRENTLY on duplicate values, which leaves the index INVALID. The
// failure must name it and say to drop it; repair must refuse while it is
// there; and a CREATE INDEX CONCURRENTLY IF NOT EXISTS, which would do
// nothing over it and be recorded as applied, must be refused too.
func TestPostgresFailedConcurrentIndex(t *testing.T) {
	tg := targetNamed(t, "postgres")
	e := newEnv(t, tg, writeFiles(t, map[string]string{
		"0001_t.up.sql":      "CREATE TABLE t (id int PRIMARY KEY, v int);\nINSERT INTO t VALUES (1, 1), (2, 1);\n",
		"0001_t.down.sql":    "DROP TABLE t;\n",
		"0002_uniq.up.sql":   "-- migrate:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY t_v_uniq ON t (v);\n",
		"0002_uniq.down.sql": "-- migrate:no-transaction\nDROP INDEX CONCURRENTLY t_v_uniq;\n",
	}))
	out, code := e.cli("up")
	const named, drop = "INVALID index(es) public.t_v_uniq on public.t", "DROP INDEX CONCURRENTLY public.t_v_uniq;"
	if code != 1 || !strings.Contains(out, named) || !strings.Contains(out, drop) {
		t.Fatalf("up with a failing CREATE UNIQUE INDEX CONCURRENTLY: exit %d, want 1 naming the invalid index and how to drop it\n%s", code, out)
	}
	if exists, valid := e.indexValid("t_v_uniq"); !exists || valid {
		t.Fatalf("t_v_uniq exists %v, valid %v: the test wants the failed build's INVALID index", exists, valid)
	}
	if out, _ := e.cli("status"); !strings.Contains(out, named) {
		t.Fatalf("status does not show the recorded failure naming the invalid index:\n%s", out)
	}
	for _, action := range []string{"--rolled-back", "--applied"} {
		out, code := e.cli("repair", "2", action)
		if code != 2 || !strings.Contains(out, named) || !strings.Contains(out, "nothing was recorded") {
			t.Fatalf("repair 2 %s with the invalid index there: exit %d, want 2 naming it\n%s", action, code, out)
		}
	}
	if st := e.state(); len(st) != 2 || st[1].Status != migrator.StatusFailed {
		t.Fatalf("state after the refused repairs: %+v", st)
	}
	// Past repair by hand, as a person forcing it would, with the data
	// fixed and the script made to skip an index that is there: that
	// would record version 2 as applied over the invalid index.
	e.exec("DELETE FROM migrate_state WHERE version = 2")
	e.exec("DELETE FROM t WHERE id = 2")
	ifNotExists := "-- migrate:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_v_uniq ON t (v);\n"
	if err := os.WriteFile(filepath.Join(e.dir, "0002_uniq.up.sql"), []byte(ifNotExists), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code = e.cli("up")
	if code != 2 || !strings.Contains(out, "creates an index IF NOT EXISTS") || !strings.Contains(out, named) || !strings.Contains(out, "nothing was run") {
		t.Fatalf("up creating IF NOT EXISTS over the invalid index: exit %d, want 2 naming it\n%s", code, out)
	}
	if st := e.state(); len(st) != 1 {
		t.Fatalf("state after the refused up: %+v", st)
	}
	e.exec(strings.TrimSuffix(drop, ";"))
	if out, code := e.cli("up"); code != 0 {
		t.Fatalf("up once the invalid index is dropped: exit %d\n%s", code, out)
	}
	if exists, valid := e.indexValid("t_v_uniq"); !exists || !valid {
		t.Fatalf("after up, t_v_uniq exists %v, valid %v", exists, valid)
	}
}

// TestPostgresCutConcurrentIndex ends migrate's sessions while its
// CREATE INDEX CONCURRENTLY waits for an older snapshot (a REPEATABLE READ
// transaction the test holds), after the index was entered INVALID. The
// lost-lock error must name the invalid index, repair must refuse while it
// is there, and once it is dropped the version can be repaired and run.
func TestPostgresCutConcurrentIndex(t *testing.T) {
	tg := targetNamed(t, "postgres")
	e := newEnv(t, tg, writeFiles(t, map[string]string{
		"0001_t.up.sql":     "CREATE TABLE t (id int PRIMARY KEY, v int);\nINSERT INTO t SELECT g, g FROM generate_series(1, 1000) g;\n",
		"0001_t.down.sql":   "DROP TABLE t;\n",
		"0002_idx.up.sql":   "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY t_v_idx ON t (v);\n",
		"0002_idx.down.sql": "-- migrate:no-transaction\nDROP INDEX CONCURRENTLY t_v_idx;\n",
	}))
	if out, code := e.cli("up", "1"); code != 0 {
		t.Fatalf("up 1: exit %d\n%s", code, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	old, err := e.db().BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Rollback()
	var n int
	if err := old.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	before := e.sessions(ctx) // the test's, the old snapshot's among them
	p := e.start("up")
	defer func() { _ = p.cmd.Process.Kill() }()
	awaitWaiting(t, e.db(), p, migrateSessions(`wait_event_type = 'Lock' AND query LIKE 'CREATE INDEX CONCURRENTLY%'`))
	// Only migrate's sessions: ending the old snapshot's too could let
	// the CREATE INDEX finish first.
	e.endSessionsSince(ctx, before)
	code := p.wait(t, 30*time.Second)
	out := p.out.String()
	const named = "INVALID index(es) public.t_v_idx on public.t"
	if code != 4 || !strings.Contains(out, "the migration lock was lost") || !strings.Contains(out, named) {
		t.Fatalf("CREATE INDEX CONCURRENTLY cut: exit %d, want 4 with the lost lock naming the invalid index\n%s", code, out)
	}
	_ = old.Rollback()
	e.db().SetMaxOpenConns(1)
	e.awaitSessionsGone()
	// Where no error could say it (a SIGKILL), status and up do.
	if out, _ := e.cli("status"); !strings.Contains(out, "version 2 is interrupted: the up script was running") || !strings.Contains(out, "its run left "+named) {
		t.Fatalf("status after the cut does not name the invalid index the interrupted version left:\n%s", out)
	}
	if out, code := e.cli("up"); code != 6 || !strings.Contains(out, named) {
		t.Fatalf("up after the cut: exit %d, want 6 naming the invalid index\n%s", code, out)
	}
	if out, code := e.cli("repair", "2", "--rolled-back"); code != 2 || !strings.Contains(out, named) {
		t.Fatalf("repair 2 --rolled-back with the invalid index there: exit %d, want 2 naming it\n%s", code, out)
	}
	e.exec("DROP INDEX CONCURRENTLY public.t_v_idx")
	if out, code := e.cli("repair", "2", "--rolled-back"); code != 0 {
		t.Fatalf("repair 2 --rolled-back once the index is dropped: exit %d\n%s", code, out)
	}
	if out, code := e.cli("up"); code != 0 {
		t.Fatalf("up after the repair: exit %d\n%s", code, out)
	}
	if exists, valid := e.indexValid("t_v_idx"); !exists || !valid {
		t.Fatalf("after up, t_v_idx exists %v, valid %v", exists, valid)
	}
}
