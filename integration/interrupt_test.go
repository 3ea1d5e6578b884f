package integration

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

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
func awaitWaiting(t *testing.T, db *sql.DB, p *upProcess, q string, args ...any) {
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
		// SELECT sleeps; the test cuts it before it ends.
		go func() { _, _ = conn.ExecContext(ctx, "CREATE TABLE "+table+" (x INTEGER) SELECT SLEEP(60) AS x") }()
		return `SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE()
			AND state = 'Waiting for table metadata lock' AND info LIKE 'CREATE TABLE IF NOT EXISTS%'`, nil
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

	var up *upProcess
	switch s := scheme(e.url); s {
	case "sqlite":
		// A write transaction held by the test: the run takes its lock
		// file, then waits at the BEGIN that creates the tables.
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			t.Fatal(err)
		}
		up = e.startUp()
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
		up = e.startUp()
		awaitWaiting(t, e.db(), up, waiting)
	}
	_ = up.cmd.Process.Kill()
	<-up.exited
	if cut, ok := connectionCutters[scheme(e.url)]; ok {
		if err := cut(ctx, e.db()); err != nil {
			t.Fatalf("ending the dead process's sessions: %v", err)
		}
	}
	_ = conn.Close()
	_ = other.Close()
	e.db().SetMaxOpenConns(1)
	e.awaitSessionsGone()

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
