package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/migrate-dev/migrate/internal/pgwire"
	"github.com/migrate-dev/migrate/internal/testdb"
	"github.com/migrate-dev/migrate/migrator"
)

// openCounted opens the driver on a fresh database through a counter of
// round trips and commits.
func openCounted(t *testing.T) (*Driver, *pgwire.Counter) {
	t.Helper()
	u, err := url.Parse(testdb.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	w := &pgwire.Counter{}
	d, err := open(context.Background(), migrator.Config{URL: u, StateTable: migrator.DefaultStateTable, HistoryTable: migrator.DefaultHistoryTable}, func(cc *pgx.ConnConfig) {
		cc.DialFunc = w.Dial(cc.DialFunc)
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
	var marks []pgwire.Counts
	opts := migrator.Options{AllowDataLoss: true, Progress: func(migrator.Result) { marks = append(marks, w.Counts()) }}
	// each migration after the first: what happened between its progress
	// report and the one before.
	onePerMigration := func(direction string) {
		t.Helper()
		for i := 1; i < len(marks); i++ {
			trips, commits := marks[i].RoundTrips-marks[i-1].RoundTrips, marks[i].Commits-marks[i-1].Commits
			if trips != 1 || commits != 1 {
				t.Fatalf("%s of migration %d took %d round trips and %d commits, want 1 of each", direction, i+1, trips, commits)
			}
		}
	}
	if _, err := migrator.New(d, source(t, 20), opts).Up(ctx, 0); err != nil {
		t.Fatal(err)
	}
	marks = marks[:0]
	if _, err := migrator.New(d, source(t, 20), opts).Down(ctx, 20); err != nil {
		t.Fatal(err)
	}
	onePerMigration("down")
	marks = marks[:0]
	if _, err := migrator.New(d, source(t, 20), opts).Up(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if len(marks) != 20 {
		t.Fatalf("progress reported %d migrations, want 20", len(marks))
	}
	onePerMigration("up")
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
	if one, many := w1.Counts(), w20.Counts(); many.RoundTrips > one.RoundTrips || many.Commits > one.Commits {
		t.Fatalf("20 migrations in a single transaction took %d round trips and %d commits; one migration alone takes %d and %d", many.RoundTrips, many.Commits, one.RoundTrips, one.Commits)
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
