package postgres

import (
	"context"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/migrate-dev/migrate/internal/testdb"
	"github.com/migrate-dev/migrate/migrator"
)

// showCheckInterval opens the driver on rawURL, with tweak applied to its
// settings, and returns client_connection_check_interval as its sessions
// have it, after a migration has run and reset its session.
func showCheckInterval(t *testing.T, rawURL string, tweak func(*pgx.ConnConfig)) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d, err := open(ctx, migrator.Config{URL: u, StateTable: migrator.DefaultStateTable, HistoryTable: migrator.DefaultHistoryTable}, tweak)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer d.Close()
	if _, err := migrator.New(d, source(t, 1), migrator.Options{}).Up(ctx, 0); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := d.DB().QueryRowContext(ctx, `SHOW client_connection_check_interval`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// migrate's sessions ask the server to check every second, while a query
// runs, that migrate is still there, unless the URL says otherwise; a
// server that refuses the setting gets a session without it.
func TestClientConnectionCheckInterval(t *testing.T) {
	if got := showCheckInterval(t, testdb.Postgres(t), nil); got != "1s" {
		t.Fatalf("client_connection_check_interval = %s, want 1s", got)
	}
	u, err := url.Parse(testdb.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(checkInterval, "5000")
	u.RawQuery = q.Encode()
	if got := showCheckInterval(t, u.String(), nil); got != "5s" {
		t.Fatalf("with the URL setting 5000: client_connection_check_interval = %s, want 5s", got)
	}
	// A value the server refuses at startup, as PostgreSQL 13 refuses the
	// name and pgbouncer any parameter it does not know.
	refusing := func(cc *pgx.ConnConfig) { cc.RuntimeParams[checkInterval] = "-1" }
	if got := showCheckInterval(t, testdb.Postgres(t), refusing); got != "0" {
		t.Fatalf("after the server refused the setting: client_connection_check_interval = %s, want 0 (connected without it)", got)
	}
}
