package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/migrate-dev/migrate/internal/testdb"
	"github.com/migrate-dev/migrate/migrator"
)

// wireCounter counts round trips: every simple Query and every Sync of the
// extended protocol makes the client wait for ReadyForQuery. Pool liveness
// pings are left out; they are not part of any migration.
type wireCounter struct {
	mu    sync.Mutex
	trips int
}

func (w *wireCounter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.trips
}

// countingConn parses the frontend message stream written to the server.
type countingConn struct {
	net.Conn
	w       *wireCounter
	started bool // the startup message has no type byte
	pending []byte
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.pending = append(c.pending, p...)
	for {
		head := 5
		if !c.started {
			head = 4
		}
		if len(c.pending) < head {
			break
		}
		size := int(binary.BigEndian.Uint32(c.pending[head-4 : head]))
		total := head - 4 + size
		if len(c.pending) < total {
			break
		}
		if c.started {
			typ, body := c.pending[0], c.pending[5:total]
			if typ == 'S' || typ == 'Q' && string(body) != "-- ping\x00" {
				c.w.mu.Lock()
				c.w.trips++
				c.w.mu.Unlock()
			}
		}
		c.started = true
		c.pending = c.pending[total:]
	}
	return c.Conn.Write(p)
}

func openCounted(t *testing.T) (*Driver, *wireCounter) {
	t.Helper()
	u, err := url.Parse(testdb.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	w := &wireCounter{}
	d, err := open(context.Background(), migrator.Config{URL: u, StateTable: migrator.DefaultStateTable, HistoryTable: migrator.DefaultHistoryTable}, func(cc *pgx.ConnConfig) {
		dial := cc.DialFunc
		cc.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countingConn{Conn: conn, w: w}, nil
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, w
}

func source(t *testing.T, n int) *migrator.Source {
	t.Helper()
	fsys := fstest.MapFS{}
	for v := 1; v <= n; v++ {
		fsys[fmt.Sprintf("%04d_t%d.up.sql", v, v)] = &fstest.MapFile{Data: []byte(fmt.Sprintf("CREATE TABLE t%d (id int PRIMARY KEY, name text);\nCREATE INDEX t%d_name ON t%d (name);\n", v, v, v))}
		fsys[fmt.Sprintf("%04d_t%d.down.sql", v, v)] = &fstest.MapFile{Data: []byte(fmt.Sprintf("DROP TABLE t%d;\n", v))}
	}
	src, err := migrator.Load(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestOneRoundTripPerMigration(t *testing.T) {
	d, w := openCounted(t)
	ctx := context.Background()
	var marks []int
	opts := migrator.Options{AllowDataLoss: true, Progress: func(migrator.Result) { marks = append(marks, w.count()) }}
	if _, err := migrator.New(d, source(t, 20), opts).Up(ctx, 0); err != nil {
		t.Fatal(err)
	}
	marks = marks[:0]
	if _, err := migrator.New(d, source(t, 20), opts).Down(ctx, 20); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(marks); i++ {
		if trips := marks[i] - marks[i-1]; trips != 1 {
			t.Fatalf("down of migration %d took %d round trips, want 1", i+1, trips)
		}
	}
	marks = marks[:0]
	if _, err := migrator.New(d, source(t, 20), opts).Up(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if len(marks) != 20 {
		t.Fatalf("progress reported %d migrations, want 20", len(marks))
	}
	for i := 1; i < len(marks); i++ {
		if trips := marks[i] - marks[i-1]; trips != 1 {
			t.Fatalf("up of migration %d took %d round trips, want 1", i+1, trips)
		}
	}
	h, err := d.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := h[len(h)-1]
	if last.Version != 20 || !last.Success || last.DBUser != "postgres" || last.Duration <= 0 || last.StartedAt.IsZero() {
		t.Fatalf("history row written with the migration is wrong: %+v", last)
	}
}

func TestSingleTransactionIsOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	one, w1 := openCounted(t)
	if _, err := migrator.New(one, source(t, 1), migrator.Options{}).Up(ctx, 0); err != nil {
		t.Fatal(err)
	}
	many, w20 := openCounted(t)
	if _, err := migrator.New(many, source(t, 20), migrator.Options{SingleTransaction: true}).Up(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if w20.count() > w1.count() {
		t.Fatalf("20 migrations in a single transaction took %d round trips; one migration alone takes %d", w20.count(), w1.count())
	}
	state, err := many.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(state) != 20 {
		t.Fatalf("%d versions applied, want 20", len(state))
	}
}

func TestFailurePointsAtStatement(t *testing.T) {
	cases := []struct {
		name, script    string
		single          bool
		version         int64
		line, index     int
		leftStateLength int
	}{
		// A syntax error stops the string before anything runs; its
		// position counts characters, and "é" is two bytes.
		{name: "syntax", script: "CREATE TABLE a (id int);\nSELECT 'é';\nCREATE TABLE b (\n  id int,,\n  x int\n);\n", version: 2, line: 4, index: 3, leftStateLength: 1},
		// Division by zero is raised while executing and has no position.
		{name: "runtime", script: "CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n\nSELECT 1/0;\n", version: 2, line: 4, index: 3, leftStateLength: 1},
		// In one transaction the second version fails and the first goes too.
		{name: "single transaction", script: "CREATE TABLE a (id int);\nSELECT * FROM no_such_table;\n", single: true, version: 2, line: 2, index: 2, leftStateLength: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := openCounted(t)
			ctx := context.Background()
			fsys := fstest.MapFS{
				"0001_one.up.sql":   {Data: []byte("CREATE TABLE one (id int);\n")},
				"0001_one.down.sql": {Data: []byte("DROP TABLE one;\n")},
				"0002_two.up.sql":   {Data: []byte(tc.script)},
				"0002_two.down.sql": {Data: []byte("DROP TABLE a;\n")},
			}
			src, err := migrator.Load(fsys, ".")
			if err != nil {
				t.Fatal(err)
			}
			_, err = migrator.New(d, src, migrator.Options{SingleTransaction: tc.single}).Up(ctx, 0)
			var se *migrator.StatementError
			if !errors.As(err, &se) {
				t.Fatalf("want a StatementError, got %v", err)
			}
			if se.Version != tc.version || se.Line != tc.line || se.Index != tc.index || se.File != "0002_two.up.sql" {
				t.Fatalf("error points at version %d %s:%d statement %d, want version %d line %d statement %d: %v", se.Version, se.File, se.Line, se.Index, tc.version, tc.line, tc.index, err)
			}
			state, err := d.State(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(state) != tc.leftStateLength {
				t.Fatalf("state after the failure has %d rows, want %d", len(state), tc.leftStateLength)
			}
			var exists bool
			if err := d.DB().QueryRowContext(ctx, `SELECT to_regclass('a') IS NOT NULL`).Scan(&exists); err != nil {
				t.Fatal(err)
			}
			if exists {
				t.Fatal("table a of the failed migration was left behind")
			}
		})
	}
}

func TestLiteralReadsBackUnchanged(t *testing.T) {
	d, _ := openCounted(t)
	for _, s := range []string{`it's`, `back\slash`, `\'; DROP TABLE x; --`, "new\nline", "ünïcode ✓", `''\\`} {
		var got string
		if err := d.DB().QueryRowContext(context.Background(), `SELECT `+literal(s)).Scan(&got); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if got != s {
			t.Fatalf("literal(%q) reads back as %q", s, got)
		}
	}
}
