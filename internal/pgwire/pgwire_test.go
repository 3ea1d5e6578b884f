package pgwire

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/migrate-dev/migrate/internal/testdb"
)

// TestCounts sends the server what migration tools send, one step at a
// time, and checks the round trips and commits counted for each.
func TestCounts(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(testdb.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLSConfig = nil // the counter reads plain frames
	cfg.Fallbacks = nil
	var counter Counter
	cfg.DialFunc = counter.Dial(cfg.DialFunc)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	simple := func(sql string) func() {
		return func() { _ = conn.PgConn().Exec(ctx, sql).Close() }
	}
	steps := []struct {
		name string
		run  func()
		want Counts
	}{
		{"implicit transaction", simple("CREATE TABLE a (id int); CREATE INDEX a_id ON a (id)"), Counts{RoundTrips: 1, Commits: 1}},
		{"explicit transaction in one string", simple("BEGIN; INSERT INTO a VALUES (1); INSERT INTO a VALUES (2); COMMIT"), Counts{RoundTrips: 1, Commits: 1}},
		{"read only", simple("SELECT count(*) FROM a"), Counts{RoundTrips: 1}},
		{"read-only transaction", simple("BEGIN; SELECT 1; COMMIT"), Counts{RoundTrips: 1}},
		{"rolled back", simple("BEGIN; INSERT INTO a VALUES (3); ROLLBACK"), Counts{RoundTrips: 1}},
		{"implicit transaction that fails", simple("INSERT INTO a VALUES (4); SELECT 1/0"), Counts{RoundTrips: 1}},
		{"explicit transaction over three trips", func() {
			simple("BEGIN")()
			simple("INSERT INTO a VALUES (5)")()
			simple("COMMIT")()
		}, Counts{RoundTrips: 3, Commits: 1}},
		{"failed transaction ended by COMMIT", func() {
			simple("BEGIN; INSERT INTO a VALUES (6)")()
			simple("SELECT 1/0")()
			simple("COMMIT")()
		}, Counts{RoundTrips: 3}},
		{"back to a savepoint, then commit", func() {
			simple("BEGIN; INSERT INTO a VALUES (7); SAVEPOINT s")()
			simple("INSERT INTO no_such_table VALUES (1)")()
			simple("ROLLBACK TO SAVEPOINT s; COMMIT")()
		}, Counts{RoundTrips: 3, Commits: 1}},
		{"extended protocol", func() {
			_, _ = conn.PgConn().ExecParams(ctx, "INSERT INTO a VALUES ($1)", [][]byte{[]byte("8")}, nil, nil, nil).Close()
		}, Counts{RoundTrips: 1, Commits: 1}},
		{"ping", func() { _ = conn.Ping(ctx) }, Counts{Pings: 1}},
	}
	for _, step := range steps {
		before := counter.Counts()
		step.run()
		after := counter.Counts()
		got := Counts{RoundTrips: after.RoundTrips - before.RoundTrips, Pings: after.Pings - before.Pings, Commits: after.Commits - before.Commits}
		if got != step.want {
			t.Errorf("%s: counted %+v, want %+v", step.name, got, step.want)
		}
	}
	var rows int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM a").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 5 { // 1, 2, 5, 7, 8
		t.Errorf("a holds %d rows, want 5: a step did not do what its name says", rows)
	}
}
