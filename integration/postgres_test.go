package integration

import (
	"strings"
	"testing"
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
