package postgres_test

import (
	"context"
	"errors"
	"testing"
	"testing/fstest"

	"github.com/migrate-dev/migrate/internal/testdb"
	"github.com/migrate-dev/migrate/migrator"

	_ "github.com/migrate-dev/migrate/drivers/postgres"
)

// The server reports an error position in characters into the statement;
// the driver maps it to the script's line, counting multi-byte text right.
func TestErrorLineInsideStatement(t *testing.T) {
	ctx := context.Background()
	url := testdb.Postgres(t)
	drv, err := migrator.Open(ctx, url, migrator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	src, err := migrator.Load(fstest.MapFS{
		"m/1_a.up.sql":   {Data: []byte("-- ünïcödé comment ☕\nCREATE TABLE a (id int);\nSELECT 'café ☕',\n       id,\n       no_such_column\nFROM a;\n")},
		"m/1_a.down.sql": {Data: []byte("DROP TABLE a;")},
	}, "m")
	if err != nil {
		t.Fatal(err)
	}
	_, err = migrator.New(drv, src, migrator.Options{}).Up(ctx, 0)
	var se *migrator.StatementError
	if !errors.As(err, &se) {
		t.Fatalf("want StatementError, got %v", err)
	}
	if se.Line != 5 || se.Index != 2 {
		t.Fatalf("error at line %d statement %d, want line 5 statement 2: %v", se.Line, se.Index, err)
	}
}

func TestSchemaOption(t *testing.T) {
	ctx := context.Background()
	url := testdb.Postgres(t)
	drv, err := migrator.Open(ctx, url, migrator.Config{Schema: "tooling", StateTable: "mig_state", HistoryTable: "mig_history"})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	src, err := migrator.Load(fstest.MapFS{
		"m/1_a.up.sql":   {Data: []byte("CREATE TABLE a (id int);")},
		"m/1_a.down.sql": {Data: []byte("DROP TABLE a;")},
	}, "m")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrator.New(drv, src, migrator.Options{}).Up(ctx, 0); err != nil {
		t.Fatal(err)
	}
	h, err := drv.History(ctx)
	if err != nil || len(h) != 1 || h[0].DBUser == "" {
		t.Fatalf("history in tooling.mig_history: %v %+v", err, h)
	}
	if _, err := migrator.Open(ctx, url, migrator.Config{StateTable: "x; DROP TABLE a"}); err == nil {
		t.Fatal("an unsafe table name was accepted")
	}
}
