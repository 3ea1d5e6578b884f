package mysql

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/migrate-dev/migrate/internal/testdb"
	"github.com/migrate-dev/migrate/migrator"
)

func TestDSNConfig(t *testing.T) {
	u, err := url.Parse("mysql://app:p%40ss%3Aw%2Frd%3F%23%25@db.example:3307/shop?multiStatements=true&tls=skip-verify&sql_mode=%27ANSI_QUOTES%27")
	if err != nil {
		t.Fatal(err)
	}
	c, err := DSNConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	if c.User != "app" || c.Passwd != "p@ss:w/rd?#%" || c.Net != "tcp" || c.Addr != "db.example:3307" || c.DBName != "shop" {
		t.Fatalf("identity not carried over: %+v", c)
	}
	if !c.ParseTime || c.MultiStatements || c.Timeout != DefaultConnectTimeout {
		t.Fatalf("parseTime %v, multiStatements %v, timeout %v; want true, false, %v", c.ParseTime, c.MultiStatements, c.Timeout, DefaultConnectTimeout)
	}
	if c.TLSConfig != "skip-verify" || c.Params["sql_mode"] != "'ANSI_QUOTES'" {
		t.Fatalf("parameters not passed through: tls %q, params %v", c.TLSConfig, c.Params)
	}

	u, _ = url.Parse("mysql://root@localhost/shop?timeout=2s")
	if c, err := DSNConfig(u); err != nil || c.Timeout != 2*time.Second {
		t.Fatalf("timeout=2s: %v %v", c, err)
	}
	u, _ = url.Parse("mysql://root@localhost:3306")
	if _, err := DSNConfig(u); err == nil || !strings.Contains(err.Error(), "names no database") {
		t.Fatalf("a URL without a database: %v", err)
	}
}

func TestLockName(t *testing.T) {
	short := lockName("shop", "migrate_state")
	if short != "migrate:shop.migrate_state" {
		t.Fatalf("short name %q", short)
	}
	long := lockName(strings.Repeat("d", 64), strings.Repeat("s", 63))
	if len(long) > 64 || long == lockName(strings.Repeat("d", 64), strings.Repeat("s", 62)) {
		t.Fatalf("long name %q (%d bytes) is too long or not distinct", long, len(long))
	}
}

func open(t *testing.T, rawURL string, cfg migrator.Config) *Driver {
	t.Helper()
	d, err := migrator.Open(context.Background(), rawURL, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d.(*Driver)
}

func TestPasswordWithSpecialCharacters(t *testing.T) {
	base := testdb.MySQL(t)
	admin := open(t, base, migrator.Config{})
	ctx := context.Background()
	user := testdb.Name()
	const pass = "p@ss:w/rd?#%é"
	if _, err := admin.DB().ExecContext(ctx, "CREATE USER '"+user+"'@'%' IDENTIFIED BY '"+pass+"'"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.DB().Exec("DROP USER '" + user + "'@'%'") })
	if _, err := admin.DB().ExecContext(ctx, "GRANT ALL ON `"+admin.Database()+"`.* TO '"+user+"'@'%'"); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(base)
	u.User = url.UserPassword(user, pass)
	d := open(t, u.String(), migrator.Config{})
	var who string
	if err := d.DB().QueryRowContext(ctx, `SELECT CURRENT_USER()`).Scan(&who); err != nil || !strings.HasPrefix(who, user+"@") {
		t.Fatalf("connected as %q (%v), want %s", who, err, user)
	}

	// A wrong password is refused, and neither the driver's error nor the
	// engine's quotes it.
	u.User = url.UserPassword(user, "wrong-"+pass)
	_, err := Open(ctx, migrator.Config{URL: u, StateTable: "s", HistoryTable: "h"})
	if err == nil || strings.Contains(err.Error(), "wrong-") {
		t.Fatalf("driver error for a wrong password: %v", err)
	}
	_, err = migrator.Open(ctx, u.String(), migrator.Config{})
	if err == nil || strings.Contains(err.Error(), "wrong-") || !strings.Contains(err.Error(), "xxxxx") {
		t.Fatalf("engine error for a wrong password: %v", err)
	}
}

func TestUnreachableHostFailsFast(t *testing.T) {
	start := time.Now()
	// Port 1 on loopback refuses at once; the URL's own timeout bounds
	// hosts that never answer.
	_, err := migrator.Open(context.Background(), "mysql://root:secret@127.0.0.1:1/db?timeout=2s", migrator.Config{})
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("open of a closed port: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("open of a closed port took %s", d)
	}
}

func TestLock(t *testing.T) {
	base := testdb.MySQL(t)
	ctx := context.Background()
	a := open(t, base, migrator.Config{})
	b := open(t, base, migrator.Config{})
	other := open(t, base, migrator.Config{StateTable: "other_state", HistoryTable: "other_history"})

	unlock, err := a.Lock(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Lock(ctx, 200*time.Millisecond)
	var le *migrator.LockError
	if !errors.As(err, &le) || !strings.Contains(le.Holder, "MySQL connection id") || !strings.Contains(le.Holder, "user "+mustParse(t, base).User.Username()+",") {
		t.Fatalf("second lock: want a LockError naming the holder, got %v", err)
	}
	// GET_LOCK is server-wide; another state table is another lock.
	unlockOther, err := other.Lock(ctx, 200*time.Millisecond)
	if err != nil {
		t.Fatalf("lock of another state table: %v", err)
	}
	if err := unlockOther(ctx); err != nil {
		t.Fatal(err)
	}
	if err := unlock(ctx); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	unlockB, err := b.Lock(ctx, time.Second)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	if err := unlockB(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLockWaitsForRelease(t *testing.T) {
	base := testdb.MySQL(t)
	ctx := context.Background()
	a := open(t, base, migrator.Config{})
	b := open(t, base, migrator.Config{})
	unlock, err := a.Lock(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = unlock(ctx)
		close(released)
	}()
	unlockB, err := b.Lock(ctx, 10*time.Second)
	if err != nil {
		t.Fatalf("waiting lock: %v", err)
	}
	select {
	case <-released:
	default:
		t.Fatal("second lock was granted while the first was held")
	}
	if err := unlockB(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestLockLostConnectionIsDiscarded(t *testing.T) {
	base := testdb.MySQL(t)
	ctx := context.Background()
	a := open(t, base, migrator.Config{})
	unlock, err := a.Lock(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Kill the session holding the lock, as a server restart or network
	// loss would; the server frees the lock, and unlock reports the loss.
	var id int64
	if err := a.DB().QueryRowContext(ctx, `SELECT IS_USED_LOCK(?)`, a.lockName).Scan(&id); err != nil {
		t.Fatal(err)
	}
	killer, err := sql.Open("mysql", testdb.MySQLDSN(mustParse(t, base)))
	if err != nil {
		t.Fatal(err)
	}
	defer killer.Close()
	if _, err := killer.ExecContext(ctx, `KILL ?`, id); err != nil {
		t.Fatal(err)
	}
	if err := unlock(ctx); err == nil {
		t.Fatal("unlock on a killed session reported success")
	}
	unlockAgain, err := a.Lock(ctx, time.Second)
	if err != nil {
		t.Fatalf("lock after the holder was killed: %v", err)
	}
	if err := unlockAgain(ctx); err != nil {
		t.Fatal(err)
	}
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSessionSQLModeSetsTheSplitter: under NO_BACKSLASH_ESCAPES 'C:\' is a
// whole string, and under ANSI_QUOTES "a\" is a whole identifier; split the
// default way, each ran on into the next statement.
func TestSessionSQLModeSetsTheSplitter(t *testing.T) {
	u, err := url.Parse(testdb.MySQL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("sql_mode", "'NO_BACKSLASH_ESCAPES,ANSI_QUOTES'")
	u.RawQuery = q.Encode()
	d := open(t, u.String(), migrator.Config{})
	script := `CREATE TABLE "a\" (v VARCHAR(10));
INSERT INTO "a\" VALUES ('C:\');
INSERT INTO "a\" VALUES ('D:\');
`
	src, err := migrator.Load(fstest.MapFS{
		"0001_paths.up.sql":   {Data: []byte(script)},
		"0001_paths.down.sql": {Data: []byte(`DROP TABLE "a\";`)},
	}, ".")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := migrator.New(d, src, migrator.Options{}).Up(ctx, 0); err != nil {
		t.Fatalf("up under NO_BACKSLASH_ESCAPES and ANSI_QUOTES: %v", err)
	}
	var n int
	if err := d.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM `a\\` WHERE v IN ('C:\\', 'D:\\')").Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows with the two paths: %d, %v", n, err)
	}
	if _, err := open(t, testdb.MySQL(t), migrator.Config{}).Split(`SELECT 'C:\'; SELECT 1;`); err == nil {
		t.Fatal("with the default sql_mode, 'C:\\' is an unterminated string")
	}
}

// TestUseDoesNotOutliveItsMigration: a script's USE switched the run's
// session to another database, where the next migration of the same up
// created its table.
func TestUseDoesNotOutliveItsMigration(t *testing.T) {
	d := open(t, testdb.MySQL(t), migrator.Config{})
	other := open(t, testdb.MySQL(t), migrator.Config{})
	src, err := migrator.Load(fstest.MapFS{
		"0001_use.up.sql":   {Data: []byte("USE " + quote(other.Database()) + ";\n")},
		"0001_use.down.sql": {Data: []byte("SELECT 1;\n")},
		"0002_t.up.sql":     {Data: []byte("CREATE TABLE t (id INT);\n")},
		"0002_t.down.sql":   {Data: []byte("DROP TABLE t;\n")},
	}, ".")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := migrator.New(d, src, migrator.Options{}).Up(ctx, 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		db   *Driver
		want int
	}{{d, 1}, {other, 0}} {
		var n int
		if err := c.db.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't'`, c.db.Database()).Scan(&n); err != nil || n != c.want {
			t.Errorf("table t in %s: %d, %v; want %d", c.db.Database(), n, err, c.want)
		}
	}
}

func TestTemporaryTables(t *testing.T) {
	for stmt, want := range map[string]string{
		"CREATE TEMPORARY TABLE stage (id INT)":                 "DROP TEMPORARY TABLE IF EXISTS stage",
		"create temporary table if not exists `a b`(id int)":    "DROP TEMPORARY TABLE IF EXISTS `a b`",
		"CREATE TEMPORARY TABLE db.stage LIKE t":                "DROP TEMPORARY TABLE IF EXISTS db.stage",
		"CREATE\n  TEMPORARY TABLE `db`.`s` AS SELECT 1":        "DROP TEMPORARY TABLE IF EXISTS `db`.`s`",
		"CREATE TABLE stage (id INT)":                           "",
		"INSERT INTO t VALUES ('CREATE TEMPORARY TABLE x (a)')": "",
	} {
		got := strings.Join(temporaryTables(stmt), "; ")
		if got != want {
			t.Errorf("temporaryTables(%q) = %q, want %q", stmt, got, want)
		}
	}
}
