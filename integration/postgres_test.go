package integration

import (
	"strings"
	"testing"
	"time"
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
	// Inside a transaction PostgreSQL refuses it, and the error says so.
	e2 := newEnv(t, tg, writeFiles(t, map[string]string{
		"0001_t.up.sql":   "CREATE TABLE t (id int);\nCREATE INDEX CONCURRENTLY t_id_idx ON t (id);\n",
		"0001_t.down.sql": "DROP TABLE t;\n",
	}))
	out, code := e2.cli("up")
	if code != 1 || !strings.Contains(out, "cannot run inside a transaction block") || !strings.Contains(out, "0001_t.up.sql:2") {
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
	awaitWaiting(t, e.db(), p, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
		AND application_name = 'migrate' AND state = 'active' AND query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()`)
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
