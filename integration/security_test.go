package integration

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// secret is a password no output may contain. It holds characters that a
// URL escapes, so both spellings are looked for.
const secret = "s3cr3t/Pa ss@word"

func withPassword(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), secret)
	return u.String()
}

func assertNoSecret(t *testing.T, what, out string) {
	t.Helper()
	for _, s := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret), "s3cr3t"} {
		if strings.Contains(out, s) {
			t.Errorf("%s prints the password (%q):\n%s", what, s, out)
		}
	}
}

// TestPasswordNeverPrinted runs every command, in human and JSON output,
// against a URL holding a password, and the failures that quote a URL or a
// server message: none may print the password.
func TestPasswordNeverPrinted(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, writeFiles(t, with(
			"0002_b.up.sql", "CREATE TABLE b (id INTEGER);\n",
			"0002_b.down.sql", "DROP TABLE b;\n",
		)))
		if scheme(e.url) == "sqlite" {
			t.Skip("SQLite URLs name a file and carry no password")
		}
		secretURL := withPassword(t, e.url)
		run := func(what string, dbURL string, args ...string) (string, int) {
			t.Helper()
			out, code := runCLI(t, append([]string{"--database", dbURL, "--dir", e.dir}, args...)...)
			assertNoSecret(t, what, out)
			return out, code
		}
		// The server here may ignore the password (trust); every command
		// must still run and print nothing of it.
		if out, code := run("up 1", secretURL, "up", "1"); code != 0 {
			t.Skipf("the server refuses the test password, so the commands cannot run with it (exit %d):\n%s", code, out)
		}
		for _, args := range [][]string{
			{"status"}, {"history"}, {"validate"}, {"--dry-run", "up"}, {"up"}, {"redo"}, {"down"},
			{"goto", "2"}, {"goto", "0"}, {"version"}, {"repair", "--applied", "1"}, {"baseline", "1"},
			{"--json", "status"}, {"--json", "history"}, {"--json", "validate"}, {"--json", "up"}, {"--json", "--dry-run", "down"},
			{"--json", "down"}, {"--json", "repair", "--forget", "1"},
		} {
			run(strings.Join(args, " "), secretURL, args...)
		}
		// The password set through DATABASE_URL instead of the flag.
		cmd := exec.Command(migrateBin, "--dir", e.dir, "status")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+withPassword(t, editURL(t, e, func(u *url.URL) { u.Host = "127.0.0.1:1" })))
		envOut, _ := cmd.CombinedOutput()
		assertNoSecret(t, "status through DATABASE_URL, unreachable", string(envOut))
		cmd = exec.Command(migrateBin, "--dir", e.dir, "--json", "status")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+secretURL+"\n")
		envOut, _ = cmd.CombinedOutput()
		assertNoSecret(t, "status through DATABASE_URL with a line feed at its end", string(envOut))

		failures := map[string]string{
			"unreachable host":  withPassword(t, editURL(t, e, func(u *url.URL) { u.Host = "127.0.0.1:1" })),
			"missing database":  withPassword(t, editURL(t, e, func(u *url.URL) { u.Path = "/migrate_no_such_db" })),
			"missing role":      editURL(t, e, func(u *url.URL) { u.User = url.UserPassword("migrate_no_such_role", secret) }),
			"unknown scheme":    "pgx://admin:" + url.QueryEscape(secret) + "@127.0.0.1/db",
			"unparseable URL":   "postgres://admin:" + url.QueryEscape(secret) + "@[::1/db",
			"bad escape in URL": "postgres://admin:s3cr3t%zz@127.0.0.1/db",
			// Not percent-encoded, the "/" ended the host: url.Parse's
			// error quoted ":s3cr3t" as an invalid port.
			"password not escaped": "postgres://admin:" + secret + "@127.0.0.1/db",
			"password with a #":    "mysql://admin:s3cr3t#x@127.0.0.1/db",
			// Without "//" the user info stays in the URL's opaque part,
			// which the masking did not look in.
			"URL without //":    "postgres:admin:" + url.QueryEscape(secret) + "@127.0.0.1/db",
			"password with a ?": "mysql://admin:s3cr3t?x@127.0.0.1/db",
			// Not URLs: the password is wherever the form puts it.
			"key=value DSN": "host=127.0.0.1 user=admin password=" + secret + " dbname=db",
			"MySQL DSN":     "admin:" + secret + "@tcp(127.0.0.1:3306)/db",
			"ADO string":    "Server=127.0.0.1;User Id=sa;Password=" + secret,
			"not parseable": "password=s3cr3t%zz host=127.0.0.1",
			// url.Parse quotes the whole input in its error: a line
			// end copied in with the URL printed the password twice.
			"line feed at the end":      withPassword(t, e.url) + "\n",
			"tab inside":                withPassword(t, e.url) + "\t",
			"line feed, query password": editURL(t, e, func(u *url.URL) { u.RawQuery = "password=" + url.QueryEscape(secret) }) + "\n",
			// PostgreSQL and SQL Server read a password from the query too.
			"password in the query": editURL(t, e, func(u *url.URL) {
				u.User = url.User("migrate_no_such_role")
				q := u.Query()
				q.Set("password", secret)
				u.RawQuery = q.Encode()
			}),
			// pgx's password for the client key, go-mssqldb's new password:
			// the message naming the URL printed them.
			"SSL key password in the query": editURL(t, e, func(u *url.URL) {
				u.Host = "127.0.0.1:1"
				u.RawQuery = "sslpassword=" + url.QueryEscape(secret)
			}),
			"new password in the query": editURL(t, e, func(u *url.URL) {
				u.Host = "127.0.0.1:1"
				u.RawQuery = "change+password=" + url.QueryEscape(secret)
			}),
		}
		for what, dbURL := range failures {
			if out, code := run(what, dbURL, "up"); code == 0 {
				t.Errorf("%s: exit 0\n%s", what, out)
			}
			run(what+" (json)", dbURL, "--json", "status")
		}
		// A statement error quotes the server's message, not the URL.
		bad := writeFiles(t, map[string]string{"0001_bad.up.sql": "INSERT INTO no_such_table VALUES (1);\n", "0001_bad.down.sql": ""})
		out, code := runCLI(t, "--database", secretURL, "--dir", bad, "--state-table", "sec_state", "--history-table", "sec_history", "up")
		if code != 1 || !strings.Contains(out, "no_such_table") {
			t.Fatalf("failing statement: exit %d\n%s", code, out)
		}
		assertNoSecret(t, "a failing statement", out)
	})
}

// TestTableNamesValidatedAndQuoted refuses SQL smuggled in table and schema
// names with a usage error (exit 2) before connecting, and shows that names
// which are SQL keywords or mixed case work because they are quoted.
func TestTableNamesValidatedAndQuoted(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, writeFiles(t, oneTable))
		e.exec(`CREATE TABLE y (id INTEGER)`)
		for _, flag := range []string{"--state-table", "--history-table", "--schema"} {
			for _, name := range []string{"x; drop table y", `x"; drop table y; --`, "x`; drop table y", "1abc", strings.Repeat("a", 64), "a.b"} {
				out, code := e.cli(flag, name, "up")
				if code != 2 || !strings.Contains(out, flag+": name") || !strings.Contains(out, "is not allowed") {
					t.Fatalf("%s %q: exit %d, want 2 naming the flag:\n%s", flag, name, code, out)
				}
			}
		}
		if objs := e.schemaObjects(); !objs["y"] || objs["migrate_state"] {
			t.Fatalf("a refused name changed the database: %v", objs)
		}
		// Keywords and mixed case are fine once quoted.
		for _, args := range [][]string{{"up"}, {"status"}, {"down", "--allow-data-loss"}, {"up"}} {
			out, code := e.cli(append([]string{"--state-table", "order", "--history-table", "Select"}, args...)...)
			if code != 0 {
				t.Fatalf("%v with keyword table names: exit %d\n%s", args, code, out)
			}
		}
		out, code := e.cli("--state-table", "order", "--history-table", "Select", "--json", "history")
		if code != 0 || strings.Count(out, `"direction": "up"`) != 2 || strings.Count(out, `"direction": "down"`) != 1 {
			t.Fatalf("history in the quoted tables: exit %d\n%s", code, out)
		}
	})
}

// TestCreatedFilesNotWorldWritable runs `migrate create` with a umask of 0,
// so the modes seen are the ones migrate asks for.
func TestCreatedFilesNotWorldWritable(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "migrations")
	for _, args := range [][]string{{"create", "add_orders"}, {"create", "--timestamp", "add_items"}} {
		if out, code := runCLI(t, append([]string{"--dir", dir}, args...)...); code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, out)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 4 {
		t.Fatalf("create made %d files (%v), want 4", len(entries), err)
	}
	paths := []string{dir}
	for _, en := range entries {
		paths = append(paths, filepath.Join(dir, en.Name()))
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o022 != 0 {
			t.Errorf("%s has mode %v: writable by group or others", p, st.Mode().Perm())
		}
	}
}
