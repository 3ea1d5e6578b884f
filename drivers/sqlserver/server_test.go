package sqlserver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/migrate-dev/migrate/internal/testdb"
	"github.com/migrate-dev/migrate/migrator"
)

// These tests need a SQL Server; testdb skips them, saying why, when there
// is none (no Docker engine and no MIGRATE_TEST_SQLSERVER_URL).

func open(t *testing.T, url string, cfg migrator.Config) *Driver {
	t.Helper()
	d, err := migrator.Open(context.Background(), url, cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d.(*Driver)
}

func folder(t *testing.T, files map[string]string) *migrator.Source {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src, err := migrator.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestLockIsExclusiveAndReleased(t *testing.T) {
	url := testdb.SQLServer(t)
	ctx := context.Background()
	a, b := open(t, url, migrator.Config{}), open(t, url, migrator.Config{})
	unlock, err := a.Lock(ctx, time.Second)
	if err != nil {
		t.Fatalf("first lock: %v", err)
	}
	_, err = b.Lock(ctx, 300*time.Millisecond)
	var le *migrator.LockError
	if !errors.As(err, &le) || !strings.Contains(le.Holder, "session") {
		t.Fatalf("second lock while held: want a LockError naming the holder's session, got %v", err)
	}
	if err := unlock(ctx); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	unlockB, err := b.Lock(ctx, time.Second)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	if err := unlockB(ctx); err != nil {
		t.Fatalf("unlock b: %v", err)
	}
}

func TestFailureInALaterBatchPointsAtItsLine(t *testing.T) {
	d := open(t, testdb.SQLServer(t), migrator.Config{})
	ctx := context.Background()
	src := folder(t, map[string]string{
		"0001_t.up.sql":   "CREATE TABLE t (id INT)\nGO\n\n-- the second batch starts on line 5\nINSERT INTO t VALUES (1);\nINSERT INTO no_such_table VALUES (1);\n",
		"0001_t.down.sql": "DROP TABLE t\n",
	})
	_, err := migrator.New(d, src, migrator.Options{}).Up(ctx, 0)
	var se *migrator.StatementError
	if !errors.As(err, &se) || se.Line != 6 || se.Index != 2 {
		t.Fatalf("want a StatementError at line 6, batch 2; got %v", err)
	}
	var exists int
	if err := d.DB().QueryRowContext(ctx, `SELECT CASE WHEN OBJECT_ID(N't', N'U') IS NULL THEN 0 ELSE 1 END`).Scan(&exists); err != nil || exists != 0 {
		t.Fatalf("table t survived the rolled-back migration (exists=%d, err=%v)", exists, err)
	}
}

func TestRepeatedBatchAndCustomSchema(t *testing.T) {
	d := open(t, testdb.SQLServer(t), migrator.Config{Schema: "ops"})
	ctx := context.Background()
	src := folder(t, map[string]string{
		"0001_counts.up.sql":   "CREATE TABLE counts (id INT IDENTITY PRIMARY KEY, note NVARCHAR(20) NOT NULL DEFAULT N'é')\nGO\nINSERT INTO counts DEFAULT VALUES\nGO 3\n",
		"0001_counts.down.sql": "DROP TABLE counts\n",
	})
	if _, err := migrator.New(d, src, migrator.Options{}).Up(ctx, 0); err != nil {
		t.Fatalf("up: %v", err)
	}
	var n int
	if err := d.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM counts WHERE note = N'é'`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("GO 3 inserted %d rows (err %v), want 3", n, err)
	}
	var found int
	if err := d.DB().QueryRowContext(ctx, `SELECT CASE WHEN OBJECT_ID(N'[ops].[migrate_state]', N'U') IS NULL THEN 0 ELSE 1 END`).Scan(&found); err != nil || found != 1 {
		t.Fatalf("state table not created in schema ops (found=%d, err=%v)", found, err)
	}
	h, err := d.History(ctx)
	if err != nil || len(h) != 1 || !h[0].Success || h[0].DBUser == "" {
		t.Fatalf("history = %+v, %v; want one successful row with the database user", h, err)
	}
}
