package migrator

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchFolder writes n trivial migrations (a table and an index each) to a
// temporary directory, as `bench/run.sh` does.
func benchFolder(b *testing.B, n int) string {
	b.Helper()
	dir := b.TempDir()
	for v := 1; v <= n; v++ {
		base := filepath.Join(dir, fmt.Sprintf("%05d_t%d", v, v))
		up := fmt.Sprintf("CREATE TABLE t%d (id INTEGER PRIMARY KEY, name VARCHAR(100));\nCREATE INDEX t%d_name ON t%d (name);\n", v, v, v)
		if err := os.WriteFile(base+".up.sql", []byte(up), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(base+".down.sql", []byte(fmt.Sprintf("DROP TABLE t%d;\n", v)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// BenchmarkLoadDir10000 is the folder half of `status` and `validate` on
// 10000 migrations: list, read, checksum and check every file.
func BenchmarkLoadDir10000(b *testing.B) {
	dir := benchFolder(b, 10000)
	b.ResetTimer()
	for b.Loop() {
		if _, err := LoadDir(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlan10000 is the other half: comparing 10000 applied state rows
// with the folder.
func BenchmarkPlan10000(b *testing.B) {
	src, err := LoadDir(benchFolder(b, 10000))
	if err != nil {
		b.Fatal(err)
	}
	state := make([]StateRow, len(src.Migrations))
	for i, m := range src.Migrations {
		state[i] = StateRow{Version: m.Version, Name: m.Name, Checksum: m.Up.Checksum, Status: StatusApplied, AppliedAt: time.Now()}
	}
	b.ResetTimer()
	for b.Loop() {
		p := NewPlan(src, state)
		if len(p.Problems()) != 0 || len(p.Pending(false)) != 0 {
			b.Fatal("a fully applied folder has problems or pending versions")
		}
	}
}
