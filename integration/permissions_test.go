package integration

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// otherUser returns a runner for migrate as a user the file permissions
// apply to: root ignores them, so as root the binary runs as nobody
// (setpriv); otherwise as the test's own user.
func otherUser(t *testing.T) func(args ...string) (string, int) {
	t.Helper()
	var prefix []string
	if os.Geteuid() == 0 {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skip("running as root without setpriv: file permissions cannot be tested")
		}
		prefix = []string{setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"}
		// nobody must reach the binary.
		if err := os.Chmod(filepath.Dir(migrateBin), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return func(args ...string) (string, int) {
		t.Helper()
		argv := append(append(prefix, migrateBin), args...)
		return combined(t, exec.Command(argv[0], argv[1:]...))
	}
}

// reachableDir is a temporary folder, with its parent, open to every user.
func reachableDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func chmod(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	// t.TempDir removes the folder at the end, which needs write access.
	t.Cleanup(func() { _ = os.Chmod(path, 0o755) })
}

// TestCreateInReadOnlyFolder: create names the folder and what to do,
// with exit 3 (a folder problem), not 4 (cannot connect), and writes nothing.
func TestCreateInReadOnlyFolder(t *testing.T) {
	run := otherUser(t)
	base := reachableDir(t)
	dir := writeFilesIn(t, filepath.Join(base, "migrations"), oneTable)
	chmod(t, dir, 0o555)
	for _, args := range [][]string{{"create", "b"}, {"create", "--timestamp", "b"}} {
		out, code := run(append([]string{"--dir", dir}, args...)...)
		if code != 3 || !strings.Contains(out, "permission denied") || !strings.Contains(out, "may read and write in "+dir) {
			t.Errorf("%v: exit %d, want 3 naming %s and what to do:\n%s", args, code, dir, out)
		}
	}
	// A folder to create inside a read-only one: the parent is named.
	out, code := run("--dir", filepath.Join(dir, "sub"), "create", "b")
	if code != 3 || !strings.Contains(out, "may read and write in "+dir+",") {
		t.Errorf("create in a new subfolder: exit %d, want 3 naming %s:\n%s", code, dir, out)
	}
	assertFolder(t, &env{dir: dir}, "0001_a.down.sql", "0001_a.up.sql")

	// A folder that cannot be listed was named "." (the root inside it).
	chmod(t, dir, 0o111)
	out, code = run("--database", "sqlite:"+filepath.Join(base, "x.db"), "--dir", dir, "status")
	if code != 3 || !strings.Contains(out, "reading migration directory "+dir+": permission denied") {
		t.Errorf("status of an unreadable folder: exit %d, want 3 naming %s:\n%s", code, dir, out)
	}
}

// TestSQLiteReadOnly: up on a database file, or in a folder, the user may
// not write is refused before anything runs (exit 4), naming the file or
// folder, instead of failing the migration's first statement (exit 1) as if
// the script were wrong; status, which only reads, still works.
func TestSQLiteReadOnly(t *testing.T) {
	run := otherUser(t)
	dir := writeFiles(t, with("0002_b.up.sql", "CREATE TABLE b (id INTEGER);\n", "0002_b.down.sql", "DROP TABLE b;\n"))
	chmod(t, dir, 0o755)
	chmod(t, filepath.Dir(dir), 0o755)
	base := reachableDir(t)

	db := filepath.Join(base, "app.db")
	if out, code := runCLI(t, "--database", "sqlite:"+db, "--dir", dir, "up", "1"); code != 0 {
		t.Fatalf("setup: exit %d\n%s", code, out)
	}
	if err := os.Remove(db + ".migrate-lock"); err != nil {
		t.Fatal(err)
	}
	chmod(t, db, 0o444)
	chmod(t, base, 0o777)
	out, code := run("--database", "sqlite:"+db, "--dir", dir, "up")
	if code != 4 || !strings.Contains(out, "database file "+db+" cannot be written") || strings.Contains(out, "0002_b.up.sql") {
		t.Fatalf("up on a read-only file: exit %d, want 4 naming %s and not the script:\n%s", code, db, out)
	}
	out, code = run("--database", "sqlite:"+db, "--dir", dir, "status")
	if code != 0 || !strings.Contains(out, "current version 1, 1 pending") {
		t.Fatalf("status on a read-only file: exit %d, want 0 with version 1 and 2 pending:\n%s", code, out)
	}

	roDir := filepath.Join(base, "ro")
	if err := os.Mkdir(roDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A writable file and lock file in a folder that is not: SQLite cannot
	// create its journal, which failed the script's first statement.
	shared := filepath.Join(roDir, "shared.db")
	if out, code := runCLI(t, "--database", "sqlite:"+shared, "--dir", dir, "up", "1"); code != 0 {
		t.Fatalf("setup: exit %d\n%s", code, out)
	}
	chmod(t, shared, 0o666)
	chmod(t, shared+".migrate-lock", 0o666)
	chmod(t, roDir, 0o555)
	newDB := filepath.Join(roDir, "new.db")
	for _, db := range []string{shared, newDB} {
		out, code = run("--database", "sqlite:"+db, "--dir", dir, "up")
		if code != 4 || !strings.Contains(out, "the folder "+roDir+" of database file "+db+" cannot be written") || strings.Contains(out, "0002_b.up.sql") {
			t.Fatalf("up of %s in a read-only folder: exit %d, want 4 naming %s and not the script:\n%s", db, code, roDir, out)
		}
	}
	out, code = run("--database", "sqlite:"+shared, "--dir", dir, "status")
	if code != 0 || !strings.Contains(out, "current version 1, 1 pending") {
		t.Fatalf("status in a read-only folder: exit %d, want 0 with version 1 and 2 pending:\n%s", code, out)
	}
	if _, err := os.Stat(newDB); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused up left %s behind: %v", newDB, err)
	}
}
