package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/migrate-dev/migrate/migrator"
)

// manyTables writes n migrations, each creating a table with a foreign key
// to the one before, an index and a check: the shape of a long-lived
// project's folder.
func manyTables(b *testing.B, tg target, n int) string {
	b.Helper()
	dir := b.TempDir()
	for i := 1; i <= n; i++ {
		up := fmt.Sprintf("CREATE TABLE t%04d (\n    id INTEGER PRIMARY KEY,\n    name VARCHAR(100) NOT NULL DEFAULT '',\n    qty INTEGER CHECK (qty >= 0),\n    created_at TIMESTAMP", i)
		if i > 1 {
			up += fmt.Sprintf(",\n    parent_id INTEGER REFERENCES t%04d (id) ON DELETE CASCADE", i-1)
		}
		up += fmt.Sprintf("\n);\nCREATE INDEX t%04d_name_idx ON t%04d (name, created_at DESC);\n", i, i)
		down := fmt.Sprintf("DROP INDEX t%04d_name_idx;\nDROP TABLE t%04d;\n", i, i)
		if tg.examples == "mysql" {
			// MySQL names the table of the index it drops.
			down = fmt.Sprintf("DROP INDEX t%04d_name_idx ON t%04d;\nDROP TABLE t%04d;\n", i, i, i)
		}
		for name, body := range map[string]string{
			fmt.Sprintf("%04d_t%04d.up.sql", i, i):   up,
			fmt.Sprintf("%04d_t%04d.down.sql", i, i): down,
		} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	return dir
}

func benchMigrator(b *testing.B, tg target, dir string) (*migrator.Migrator, migrator.Driver) {
	b.Helper()
	drv, err := migrator.Open(context.Background(), tg.url(b), migrator.Config{})
	if err != nil {
		b.Fatalf("open %s: %v", tg.name, err)
	}
	b.Cleanup(func() { drv.Close() })
	if _, ok := drv.(migrator.Snapshotter); !ok {
		b.Skipf("driver %T does not implement migrator.Snapshotter", drv)
	}
	src, err := migrator.LoadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	// The rollback is the point of the benchmark, and its tables are empty.
	return migrator.New(drv, src, migrator.Options{AllowDataLoss: true}), drv
}

// BenchmarkSnapshot times one snapshot of the example schema and of a
// schema of 300 tables.
func BenchmarkSnapshot(b *testing.B) {
	for _, tg := range targets {
		for _, set := range []struct {
			name string
			dir  func(b *testing.B) string
		}{
			{"example", func(*testing.B) string { return exampleDir(tg) }},
			{"300tables", func(b *testing.B) string { return manyTables(b, tg, 300) }},
		} {
			b.Run(tg.name+"/"+set.name, func(b *testing.B) {
				m, drv := benchMigrator(b, tg, set.dir(b))
				ctx := context.Background()
				if _, err := m.Up(ctx, 0); err != nil {
					b.Fatal(err)
				}
				snap := drv.(migrator.Snapshotter)
				b.ResetTimer()
				for b.Loop() {
					if _, err := snap.Snapshot(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkVerify300 compares verify on 300 migrations with what it does
// without the checks: up all, down all, up all.
func BenchmarkVerify300(b *testing.B) {
	for _, tg := range targets {
		b.Run(tg.name+"/verify", func(b *testing.B) {
			dir := manyTables(b, tg, 300)
			for b.Loop() {
				b.StopTimer()
				m, _ := benchMigrator(b, tg, dir)
				b.StartTimer()
				if _, err := m.Verify(context.Background(), migrator.VerifyOptions{Disposable: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tg.name+"/up-down-up", func(b *testing.B) {
			dir := manyTables(b, tg, 300)
			for b.Loop() {
				b.StopTimer()
				m, _ := benchMigrator(b, tg, dir)
				b.StartTimer()
				ctx := context.Background()
				if _, err := m.Up(ctx, 0); err != nil {
					b.Fatal(err)
				}
				if _, err := m.Goto(ctx, 0); err != nil {
					b.Fatal(err)
				}
				if _, err := m.Up(ctx, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
