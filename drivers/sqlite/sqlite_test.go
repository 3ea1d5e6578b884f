package sqlite_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	_ "github.com/migrate-dev/migrate/drivers/sqlite"
	"github.com/migrate-dev/migrate/migrator"
)

// TestFileNameIsTheFileOpened writes through a URL whose file name holds the
// characters a SQLite URI gives a meaning to: the database must be that file,
// the one the lock and the existence checks use.
func TestFileNameIsTheFileOpened(t *testing.T) {
	dir := t.TempDir()
	name := "a#b?c%d e.db"
	u := url.URL{Scheme: "sqlite", Path: filepath.Join(dir, name)}
	drv, err := migrator.Open(context.Background(), u.String(), migrator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	if err := drv.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".migrate-lock") {
			names = append(names, e.Name())
		}
	}
	if len(names) != 1 || names[0] != name {
		t.Fatalf("URL %s wrote %q, want only %q", u.String(), names, name)
	}
}

// TestRelativeURLEscapes: sqlite:path/to.db decodes its escapes as
// sqlite:///abs/path.db does; "sqlite:a%23b.db" wrote a file named "a%23b.db".
func TestRelativeURLEscapes(t *testing.T) {
	t.Chdir(t.TempDir())
	drv, err := migrator.Open(context.Background(), "sqlite:a%23b%3Fc%25d%20e.db", migrator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	if err := drv.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("a#b?c%d e.db"); err != nil {
		entries, _ := os.ReadDir(".")
		t.Fatalf("the database is not the file the URL names: %v (the folder holds %v)", err, entries)
	}
	if _, err := migrator.Open(context.Background(), "sqlite:50%.db", migrator.Config{}); !errors.Is(err, migrator.ErrBadURL) || !strings.Contains(err.Error(), "%25") {
		t.Errorf("an invalid escape: got %v, want a bad URL error saying how to write %%", err)
	}
}

// TestURLRefused: options and fragments would otherwise be dropped, opening
// another file than the one named, read-write.
func TestURLRefused(t *testing.T) {
	dir := t.TempDir()
	for _, raw := range []string{
		"sqlite:" + filepath.Join(dir, "x.db") + "?mode=ro",
		"sqlite:" + filepath.Join(dir, "x.db") + "?",
		"sqlite:" + filepath.Join(dir, "x#y.db"),
	} {
		drv, err := migrator.Open(context.Background(), raw, migrator.Config{})
		if !errors.Is(err, migrator.ErrBadURL) {
			if drv != nil {
				drv.Close()
			}
			t.Errorf("%s: got %v, want a bad URL error", raw, err)
		}
	}
	if _, err := migrator.Open(context.Background(), "sqlite:"+dir, migrator.Config{}); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("a directory: got %v, want it named as a directory", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused URLs left files behind: %v", entries)
	}
}

// TestInMemoryUp applies a migration to sqlite::memory:, whose pool holds
// one connection: a bookkeeping read through the pool while the
// transaction held that connection waited for it forever.
func TestInMemoryUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	drv, err := migrator.Open(ctx, "sqlite::memory:", migrator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()
	src, err := migrator.Load(fstest.MapFS{
		"0001_a.up.sql":   {Data: []byte("CREATE TABLE a (id INTEGER);\n")},
		"0001_a.down.sql": {Data: []byte("DROP TABLE a;\n")},
	}, ".")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := migrator.New(drv, src, migrator.Options{}).Up(ctx, 0)
	if err != nil {
		t.Fatalf("up on sqlite::memory:: %v", err)
	}
	if rep.To != 1 {
		t.Fatalf("up reached version %d, want 1", rep.To)
	}
}
