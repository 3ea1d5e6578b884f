package sqlserver

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"

	"github.com/migrate-dev/migrate/migrator"
)

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestConnStringAddsDefaultsGoMssqldbUnderstands(t *testing.T) {
	u := mustParse(t, "sqlserver://app%40corp:p%40ss%3Aw%2Frd%3F@db.example.com:1433/SQLEXPRESS?database=shop&encrypt=disable")
	p, err := msdsn.Parse(connString(u, ""))
	if err != nil {
		t.Fatalf("go-mssqldb refuses the connection string: %v", err)
	}
	if p.User != "app@corp" || p.Password != "p@ss:w/rd?" {
		t.Errorf("credentials = %q / %q, want app@corp / p@ss:w/rd?", p.User, p.Password)
	}
	if p.Host != "db.example.com" || p.Instance != "SQLEXPRESS" || p.Port != 1433 || p.Database != "shop" {
		t.Errorf("host %q instance %q port %d database %q", p.Host, p.Instance, p.Port, p.Database)
	}
	if p.DialTimeout != 10*time.Second {
		t.Errorf("dial timeout = %s, want the 10s default", p.DialTimeout)
	}
	if p.ConnTimeout != 0 {
		t.Errorf("connection timeout = %s; it must stay unset, it cuts off long statements", p.ConnTimeout)
	}
	if p.AppName != "migrate" {
		t.Errorf("app name = %q, want migrate", p.AppName)
	}
}

func TestConnStringKeepsTheUsersSettings(t *testing.T) {
	// go-mssqldb matches keys case-insensitively and refuses duplicates, so
	// a default added next to "Dial Timeout" would break the URL.
	u := mustParse(t, "sqlserver://sa:pw@localhost?database=x&Dial+Timeout=3&APP+NAME=deployer")
	p, err := msdsn.Parse(connString(u, "ignored"))
	if err != nil {
		t.Fatalf("go-mssqldb refuses the connection string: %v", err)
	}
	if p.DialTimeout != 3*time.Second || p.AppName != "deployer" {
		t.Errorf("dial timeout %s, app name %q; want the URL's 3s and deployer", p.DialTimeout, p.AppName)
	}
	p, err = msdsn.Parse(connString(mustParse(t, "sqlserver://sa:pw@localhost?database=x"), "ci-job"))
	if err != nil || p.AppName != "ci-job" {
		t.Errorf("app name from the config: %q, %v", p.AppName, err)
	}
}

func TestPasswordNeverInErrors(t *testing.T) {
	const secret = "S3cretPW"
	for _, raw := range []string{
		// Nothing listens on port 1: the connection is refused.
		"sqlserver://sa:" + secret + "@127.0.0.1:1?database=x&dial+timeout=2",
		// A parameter go-mssqldb rejects while parsing.
		"sqlserver://sa:" + secret + "@127.0.0.1:1?database=x&connection+timeout=soon",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := Open(ctx, migrator.Config{URL: mustParse(t, raw), StateTable: "migrate_state", HistoryTable: "migrate_history"})
		if err == nil {
			t.Fatalf("Open(%s) succeeded; nothing should answer there", raw)
		}
		t.Logf("driver error: %v", err)
		if strings.Contains(err.Error(), secret) {
			t.Errorf("driver error reveals the password: %v", err)
		}
		_, err = migrator.Open(ctx, raw, migrator.Config{})
		if err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("migrator.Open error = %v; want an error without the password", err)
		}
		cancel()
	}
}

func TestInterpretGetAppLock(t *testing.T) {
	tests := []struct {
		code    int
		want    lockResult
		wantErr string
	}{
		{0, lockGranted, ""},
		{1, lockGranted, ""},
		{-1, lockBusy, ""},
		{-2, lockFailed, "cancelled"},
		{-3, lockFailed, "deadlock victim"},
		{-999, lockFailed, "parameter validation"},
		{-7, lockFailed, "unexpected return code -7"},
	}
	for _, tt := range tests {
		got, err := interpretGetAppLock(tt.code)
		if got != tt.want {
			t.Errorf("code %d: result %d, want %d", tt.code, got, tt.want)
		}
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("code %d: error %v, want one containing %q", tt.code, err, tt.wantErr)
		}
	}
}

func TestErrorLine(t *testing.T) {
	batch := "CREATE PROCEDURE dbo.p AS\nBEGIN\n    SELECT * FROM nope;\nEND"
	tests := []struct {
		name  string
		err   error
		batch string
		want  int
	}{
		{"plain batch error", mssql.Error{Number: 208, LineNo: 3}, "SELECT 1;\nSELECT 2;\nINSERT INTO nope VALUES (1);", 3},
		{"first error is the cause", mssql.Error{Number: 3621, LineNo: 1, All: []mssql.Error{{Number: 2627, LineNo: 2}, {Number: 3621, LineNo: 1}}}, "SELECT 1\nINSERT t VALUES (1)", 2},
		{"inside the module the batch creates", mssql.Error{Number: 102, ProcName: "p", LineNo: 3}, batch, 3},
		{"inside a module the batch calls", mssql.Error{Number: 208, ProcName: "other_proc", LineNo: 40}, "EXEC dbo.other_proc", 0},
		{"calling a module the batch names but does not define", mssql.Error{Number: 208, ProcName: "p", LineNo: 1}, "EXEC dbo.p", 0},
		{"line past the batch", mssql.Error{Number: 50000, LineNo: 9}, "SELECT 1", 0},
		{"not a server error", context.DeadlineExceeded, "SELECT 1", 0},
	}
	for _, tt := range tests {
		if got := errorLine(tt.err, tt.batch); got != tt.want {
			t.Errorf("%s: line %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestCreateTablesQuotesNames(t *testing.T) {
	ddl := strings.Join(createTables("ops", qualify("ops", "migrate_state"), qualify("ops", "migrate_history")), "\n")
	for _, want := range []string{
		`IF SCHEMA_ID(N'ops') IS NULL EXEC(N'CREATE SCHEMA [ops]')`,
		`IF OBJECT_ID(N'[ops].[migrate_state]', N'U') IS NULL`,
		`CREATE TABLE [ops].[migrate_history] (`,
		`id BIGINT IDENTITY(1,1) NOT NULL PRIMARY KEY`,
	} {
		if !strings.Contains(ddl, want) {
			t.Errorf("DDL lacks %q:\n%s", want, ddl)
		}
	}
}

// The shop example must cut into the batches SQL Server needs: CREATE VIEW
// and CREATE FUNCTION alone in theirs, and the backfill apart from the
// ALTER that adds its column.
func TestShopExampleBatches(t *testing.T) {
	src, err := migrator.LoadDir("../../examples/shop/sqlserver")
	if err != nil {
		t.Fatalf("loading the example: %v", err)
	}
	if len(src.Migrations) != 7 {
		t.Fatalf("%d migrations, want 7", len(src.Migrations))
	}
	d := &Driver{}
	for _, m := range src.Migrations {
		for _, s := range []*migrator.Script{&m.Up, m.Down} {
			if batches, err := d.Split(s.SQL); err != nil || len(batches) == 0 {
				t.Fatalf("%s: %d batches, %v", s.Path, len(batches), err)
			}
		}
	}
	up6, _ := d.Split(src.Find(6).Up.SQL)
	if len(up6) != 1 || !strings.HasPrefix(up6[0].Text, "CREATE VIEW order_totals") {
		t.Errorf("0006 up: want one batch starting CREATE VIEW, got %+v", up6)
	}
	up7, _ := d.Split(src.Find(7).Up.SQL)
	var starts []string
	for _, b := range up7 {
		starts = append(starts, strings.Fields(b.Text)[0]+" "+strings.Fields(b.Text)[1]+"@"+strconv.Itoa(b.Line))
	}
	if got, want := strings.Join(starts, ", "), "ALTER TABLE@6, CREATE FUNCTION@10, UPDATE c@22"; got != want {
		t.Errorf("0007 up batches: %s, want %s", got, want)
	}
}
