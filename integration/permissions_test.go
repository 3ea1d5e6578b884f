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
		out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("running migrate: %v", err)
		}
		return string(out), 0
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
	dir := filepath.Join(base, "migrations")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range oneTable {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
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
