package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/migrate-dev/migrate/migrator"
)

// TestSettingsDoNotOutliveTheirMigration: a script's PRAGMA settings held on
// its connection, which the pool gave the next migration of the same up, so
// that migration ran otherwise than on its own (foreign keys unchecked).
func TestSettingsDoNotOutliveTheirMigration(t *testing.T) {
	// What the next migration sees, and what a new connection would.
	seen := []struct {
		expr string
		want int64
	}{
		{"(SELECT * FROM pragma_foreign_keys)", 1},
		{"(SELECT * FROM pragma_ignore_check_constraints)", 0},
		{"(SELECT * FROM pragma_recursive_triggers)", 0},
		{"(SELECT * FROM pragma_legacy_alter_table)", 0},
		{"(SELECT * FROM pragma_reverse_unordered_selects)", 0},
		{"(SELECT * FROM pragma_busy_timeout)", 10000},
		{"'a' LIKE 'A'", 1},
	}
	var exprs []string
	for _, s := range seen {
		exprs = append(exprs, s.expr)
	}
	read := "CREATE TABLE seen AS SELECT " + strings.Join(exprs, ", ") + ";\n"
	for _, inTx := range []bool{false, true} {
		set := "PRAGMA ignore_check_constraints = ON;\nPRAGMA recursive_triggers = ON;\nPRAGMA legacy_alter_table = ON;\nPRAGMA reverse_unordered_selects = ON;\nPRAGMA busy_timeout = 1;\nPRAGMA case_sensitive_like = ON;\n"
		if !inTx {
			// In a transaction SQLite ignores PRAGMA foreign_keys, and
			// migrate refuses a script that sets it there.
			set = "-- migrate:no-transaction\nPRAGMA foreign_keys = OFF;\n" + set
		}
		ctx := context.Background()
		db := "sqlite:" + filepath.Join(t.TempDir(), "x.db")
		drv, err := migrator.Open(ctx, db, migrator.Config{})
		if err != nil {
			t.Fatal(err)
		}
		defer drv.Close()
		src, err := migrator.Load(fstest.MapFS{
			"0001_set.up.sql":    {Data: []byte(set)},
			"0001_set.down.sql":  {Data: []byte("")},
			"0002_read.up.sql":   {Data: []byte(read)},
			"0002_read.down.sql": {Data: []byte("DROP TABLE seen;\n")},
		}, ".")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := migrator.New(drv, src, migrator.Options{}).Up(ctx, 0); err != nil {
			t.Fatalf("up: %v", err)
		}
		got := make([]any, len(seen))
		vals := make([]int64, len(seen))
		for i := range vals {
			got[i] = &vals[i]
		}
		if err := drv.(interface{ DB() *sql.DB }).DB().QueryRowContext(ctx, "SELECT * FROM seen").Scan(got...); err != nil {
			t.Fatal(err)
		}
		for i, s := range seen {
			if vals[i] != s.want {
				t.Errorf("in a transaction %v: the next migration saw %s = %d, want %d", inTx, s.expr, vals[i], s.want)
			}
		}
	}
}
