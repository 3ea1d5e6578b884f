package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/migrate-dev/migrate/migrator"
)

func TestNormaliseArgs(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	cases := []struct{ in, want string }{
		{"migrate repair 3 --applied", "migrate repair --applied 3"},
		{"migrate up --database sqlite:x.db 2", "migrate --database sqlite:x.db up 2"},
		{"migrate --dir m up --single-transaction", "migrate --dir m up --single-transaction"},
		{"migrate down -1", "migrate down -- -1"},
		{"migrate status --json --lock-timeout=1s", "migrate --json --lock-timeout=1s status"},
		{"migrate nosuch --json", "migrate nosuch --json"},
		// Given twice with the same value, a flag says nothing new.
		{"migrate --json up --json --dir m --dir=m -d x --database x", "migrate --json --dir m -d x up"},
		{"migrate repair 1 --applied --applied=true", "migrate repair --applied 1"},
	}
	for _, c := range cases {
		args, err := normaliseArgs(app, strings.Fields(c.in))
		if got := strings.Join(args, " "); err != nil || got != c.want {
			t.Errorf("%q: got %q (%v), want %q", c.in, args, err, c.want)
		}
	}
	if args, err := normaliseArgs(app, []string{"migrate"}); err != nil || !slices.Equal(args, []string{"migrate"}) {
		t.Error("bare command changed")
	}
	// Moved before the command, a flag without its value would take the
	// command as its value.
	for _, in := range []string{"migrate up --dir", "migrate status --database", "migrate lint --dialect", "migrate up 2 --lock-timeout"} {
		if args, err := normaliseArgs(app, strings.Fields(in)); err == nil || !strings.Contains(err.Error(), "needs a value") {
			t.Errorf("%q: got %q, %v; want an error saying the flag needs a value", in, args, err)
		}
	}
	// The flag package kept the last value without a word.
	for in, want := range map[string]string{
		"migrate --dir a up --dir b":                                                    `--dir is given twice (--dir "a", --dir "b")`,
		"migrate --lock-timeout=1s --lock-timeout 2s up":                                `--lock-timeout is given twice (--lock-timeout "1s", --lock-timeout "2s")`,
		"migrate --json --json=false status":                                            `--json is given twice (--json "true", --json "false")`,
		"migrate lint --dialect mysql --dialect sqlite":                                 `--dialect is given twice`,
		"migrate -d postgres://u:secret@h/db --database postgres://u:secret@h/other up": "--database is given twice (-d ..., --database ...)",
		"migrate --dir a --dir b --dir a up":                                            "--dir is given 3 times",
	} {
		_, err := normaliseArgs(app, strings.Fields(in))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: got %v, want an error saying %q", in, err, want)
		}
	}
}

// TestJSONOnError: with --json, stdout holds exactly one JSON value whatever
// fails, and the error and exit code are in it when no report was printed.
func TestJSONOnError(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("0001_a.up.sql", "CREATE TABLE a (id INTEGER);\n")
	write("0001_a.down.sql", "DROP TABLE a;\n")
	write("0002_b.up.sql", "CREATE TABLE a (id INTEGER);\n") // fails: a exists
	write("0002_b.down.sql", "")
	db := "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	cases := []struct {
		args     string
		code     int
		inReport bool // the command's own report carries the error
	}{
		{"--json frobnicate", exitUsage, false},
		{"--json --frobnicate up", exitUsage, false},
		{"--json up abc", exitUsage, false},
		{"up --json --lock-timeout", exitUsage, false},
		{"--json --dir " + filepath.Join(dir, "missing") + " up", exitBadSource, false},
		{"--json --database nosuch://x up", exitUsage, false},
		{"--json up", exitFailed, true},
	}
	for _, c := range cases {
		args := []string{"migrate", "--database", db}
		if !strings.Contains(c.args, "--dir") {
			args = append(args, "--dir", dir)
		}
		args = append(args, strings.Fields(c.args)...)
		var stdout, stderr strings.Builder
		code := run(context.Background(), args, &stdout, &stderr)
		if code != c.code {
			t.Errorf("%s: exit %d, want %d; stderr: %s", c.args, code, c.code, stderr.String())
		}
		var got struct {
			Error    string `json:"error"`
			ExitCode *int   `json:"exit_code"`
		}
		if err := json.Unmarshal([]byte(stdout.String()), &got); err != nil {
			t.Errorf("%s: stdout is not one JSON value (%v):\n%s", c.args, err, stdout.String())
			continue
		}
		if got.Error == "" || !strings.Contains(stderr.String(), got.Error) {
			t.Errorf("%s: JSON error %q, stderr %q", c.args, got.Error, stderr.String())
		}
		if !c.inReport && (got.ExitCode == nil || *got.ExitCode != c.code) {
			t.Errorf("%s: JSON exit_code %v, want %d", c.args, got.ExitCode, c.code)
		}
	}
	var stdout, stderr strings.Builder
	if run(context.Background(), []string{"migrate", "--json=false", "--database", db, "up", "abc"}, &stdout, &stderr) != exitUsage || stdout.Len() != 0 {
		t.Errorf("--json=false printed JSON: %q", stdout.String())
	}
}

// TestJSONOnSuccess: with --json, the commands that print no report of a
// run (create, version) also print one JSON value: create printed its
// "created FILE" lines as text.
func TestJSONOnSuccess(t *testing.T) {
	dir := t.TempDir()
	for _, args := range []string{"--json version", "--json create add_x", "--json --dry-run create add_y", "--json create --timestamp add_z"} {
		var stdout, stderr strings.Builder
		code := run(context.Background(), append([]string{"migrate", "--dir", dir}, strings.Fields(args)...), &stdout, &stderr)
		if code != exitOK {
			t.Errorf("%s: exit %d; stderr: %s", args, code, stderr.String())
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(stdout.String()), &v); err != nil {
			t.Errorf("%s: stdout is not one JSON value (%v):\n%s", args, err, stdout.String())
		}
	}
	// Nothing to do: results is an empty list, not null.
	var stdout, stderr strings.Builder
	db := "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	if code := run(context.Background(), []string{"migrate", "--dir", t.TempDir(), "--database", db, "--json", "up"}, &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), `"results": []`) {
		t.Errorf("up with nothing to do: exit %d, want %d and \"results\": []:\n%s", code, exitOK, stdout.String())
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 4 {
		t.Errorf("the folder holds %d files (%v), want the two pairs create wrote", len(entries), err)
	}
}

// TestCreateTimestampTwiceInOneSecond: the second create took the same
// version as the first, and the folder no longer loaded.
func TestCreateTimestampTwiceInOneSecond(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a", "b", "c"} {
		var stdout, stderr strings.Builder
		if code := run(context.Background(), []string{"migrate", "--dir", dir, "create", "--timestamp", name}, &stdout, &stderr); code != exitOK {
			t.Fatalf("create --timestamp %s: exit %d; stderr: %s", name, code, stderr.String())
		}
	}
	src, err := migrator.LoadDir(dir)
	if err != nil {
		t.Fatalf("the folder does not load: %v", err)
	}
	if len(src.Migrations) != 3 {
		t.Fatalf("%d migrations, want 3", len(src.Migrations))
	}
}

// A bare migrate prints the help, also where the shell selects an
// environment: what the environment fills in was not typed as flags.
func TestBareCommandWithEnvironment(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "migrate.yaml"), []byte("environments:\n  dev:\n    url_env: DEV_DATABASE_URL\n    dir: migrations\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	t.Setenv("MIGRATE_ENV", "dev")
	t.Setenv("DEV_DATABASE_URL", "sqlite:"+filepath.Join(dir, "x.db"))
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"migrate"}, &stdout, &stderr); code != exitOK || !strings.Contains(stdout.String(), "USAGE") {
		t.Errorf("bare migrate with MIGRATE_ENV: exit %d, want the help and %d; stderr: %s", code, exitOK, stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"migrate", "--lock-timeout", "1s"}, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "no command given") {
		t.Errorf("flags but no command with MIGRATE_ENV: exit %d, want %d; stderr: %s", code, exitUsage, stderr.String())
	}
}

// TestBadURLNamesItsVariable: a bad URL from DATABASE_URL or an
// environment's url_env variable is reported under that variable's name,
// not as --database, which was never typed.
func TestBadURLNamesItsVariable(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "migrate.yaml"), []byte("environments:\n  dev:\n    url_env: DEV_DATABASE_URL\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	t.Setenv("DEV_DATABASE_URL", "postgres://u:pw@h/db\n")
	t.Setenv("DATABASE_URL", "sqlite:x.db\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--dir", ".", "--env", "dev", "status"}, "DEV_DATABASE_URL (--env): bad database URL: it holds a line feed at its end"},
		{[]string{"--dir", ".", "status"}, "DATABASE_URL: bad database URL: it holds a line feed at its end"},
		{[]string{"--dir", ".", "--database", "sqlite:y.db\t", "status"}, "--database: bad database URL: it holds a tab"},
	} {
		var stdout, stderr strings.Builder
		if code := run(context.Background(), append([]string{"migrate"}, c.args...), &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%q: exit %d, want %d and %q; stderr: %s", c.args, code, exitUsage, c.want, stderr.String())
		}
	}
}

// TestBadFlagValue: a value a flag cannot take says what it should be;
// the flag package said only "parse error", with the flag spelled -flag.
func TestBadFlagValue(t *testing.T) {
	for args, want := range map[string]string{
		"--lock-timeout 15 up":         `--lock-timeout: "15" is not a duration such as 30s`,
		"--lock-timeout=1e9h up":       `--lock-timeout: "1e9h" is not a duration`,
		"--json=maybe status":          `--json: "maybe" is not true or false`,
		"down --allow-data-loss=maybe": `--allow-data-loss: "maybe" is not true or false`,
	} {
		var stdout, stderr strings.Builder
		argv := append([]string{"migrate", "--dir", t.TempDir(), "--database", "sqlite:" + filepath.Join(t.TempDir(), "x.db")}, strings.Fields(args)...)
		if code := run(context.Background(), argv, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), want) {
			t.Errorf("%s: exit %d, want %d and %q; stderr: %s", args, code, exitUsage, want, stderr.String())
		}
	}
}

// TestEmptyDatabaseURL: an empty DATABASE_URL is named as such, not
// reported as if it were unset.
func TestEmptyDatabaseURL(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DATABASE_URL", "")
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"migrate", "--dir", dir, "status"}, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "DATABASE_URL is set but empty") {
		t.Errorf("exit %d, want %d saying DATABASE_URL is empty; stderr: %s", code, exitUsage, stderr.String())
	}
}

// TestEmptyDatabaseFlag: --database "" (a variable the script left empty)
// was told to "pass --database", which it had.
func TestEmptyDatabaseFlag(t *testing.T) {
	t.Setenv("DATABASE_URL", "sqlite:x.db")
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"migrate", "--dir", t.TempDir(), "--database", "", "status"}, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "--database is empty") {
		t.Errorf("exit %d, want %d saying --database is empty; stderr: %s", code, exitUsage, stderr.String())
	}
}

// TestHelpCommand: `migrate help up` prints up's help like `migrate up
// --help`; a command that does not exist is a usage error naming it.
func TestHelpCommand(t *testing.T) {
	for _, c := range []struct {
		args string
		code int
		want string
	}{
		{"help up", exitOK, "--single-transaction"},
		{"help up --json", exitOK, "--single-transaction"},
		{"help", exitOK, "COMMANDS:"},
		{"help nope", exitUsage, `unknown command "nope"`},
		{"help up down", exitUsage, "help takes one command name"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"migrate"}, strings.Fields(c.args)...), &stdout, &stderr)
		if code != c.code || !strings.Contains(stdout.String()+stderr.String(), c.want) {
			t.Errorf("migrate %s: exit %d, want %d and %q:\n%s%s", c.args, code, c.code, c.want, stdout.String(), stderr.String())
		}
	}
}

// TestConfigFileProblems: each mistake in or around migrate.yaml is named
// with the file, line and key, in the user's terms, with the exit code of
// its kind.
func TestConfigFileProblems(t *testing.T) {
	for _, c := range []struct {
		name, config string
		args         []string
		code         int
		want         []string
		// unwanted are texts the message must not hold.
		unwanted []string
	}{
		// It said "(set --dir or MIGRATE_DIR)", and MIGRATE_DIR does not
		// override the file.
		{"dir that does not exist", "environments:\n  dev:\n    url_env: DEV_DATABASE_URL\n    dir: nodir\n", []string{"--env", "dev", "status"},
			exitBadSource, []string{"nodir does not exist", "environments.dev.dir", "migrate.yaml:4"}, []string{"MIGRATE_DIR"}},
		{"dir naming a variable", "environments:\n  dev:\n    url_env: DEV_DATABASE_URL\n    dir: $HOME/m\n", []string{"--env", "dev", "status"},
			exitBadSource, []string{"$HOME/m does not exist", "does not expand $VARIABLES"}, nil},
		// "config file migrate.yaml: yaml: line 2: found character that
		// cannot start any token".
		{"YAML syntax error", "environments:\n\tdev:\n", []string{"--env", "dev", "status"},
			exitUsage, []string{"migrate.yaml:2: ", "found character that cannot start any token"}, []string{"yaml: line"}},
		// Read as the string "true": "want true or false, got "true"".
		{"quoted boolean", "environments:\n  dev:\n    url_env: DEV_DATABASE_URL\n    production: \"true\"\n", []string{"--env", "dev", "status"},
			exitUsage, []string{"migrate.yaml:4", "environments.dev.production", "without quotes"}, nil},
		// The keys after "---" were not read at all.
		{"second YAML document", "environments:\n  dev:\n    url_env: DEV_DATABASE_URL\n---\nenvironments:\n  prod:\n    url_env: PROD_DATABASE_URL\n", []string{"--env", "dev", "status"},
			exitUsage, []string{"migrate.yaml:4", "one YAML document"}, nil},
		// "config file nope.yaml: stat nope.yaml: no such file or directory".
		{"--config that does not exist", "", []string{"--config", "nope.yaml", "--env", "dev", "status"},
			exitUsage, []string{"config file nope.yaml does not exist"}, []string{"stat "}},
		// "read .: is a directory".
		{"--config naming a folder", "", []string{"--config", ".", "--env", "dev", "status"},
			exitUsage, []string{"config file . is a folder"}, []string{"read "}},
		// "name the SQL dialect with --dialect ([mysql postgres ...]) or
		// --database URL", with no word of the environment's variable.
		{"lint with the URL variable unset", "environments:\n  dev:\n    url_env: UNSET_URL\n", []string{"--env", "dev", "lint"},
			exitUsage, []string{"--dialect (mysql, postgres", "$UNSET_URL, which is not set"}, []string{"[mysql"}},
		// "its database URL comes from $EMPTY_URL, which is not set".
		{"URL variable set but empty", "environments:\n  dev:\n    url_env: EMPTY_URL\n", []string{"--env", "dev", "status"},
			exitUsage, []string{"$EMPTY_URL", "is set but empty"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.config != "" {
				if err := os.WriteFile(filepath.Join(dir, "migrate.yaml"), []byte(c.config), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			t.Chdir(dir)
			t.Setenv("HOME", dir)
			t.Setenv("DEV_DATABASE_URL", "sqlite:"+filepath.Join(dir, "x.db"))
			t.Setenv("EMPTY_URL", "")
			var stdout, stderr strings.Builder
			code := run(context.Background(), append([]string{"migrate"}, c.args...), &stdout, &stderr)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, c.code, stderr.String())
			}
			for _, w := range c.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q: %s", w, stderr.String())
				}
			}
			for _, u := range c.unwanted {
				if strings.Contains(stderr.String(), u) {
					t.Errorf("stderr holds %q: %s", u, stderr.String())
				}
			}
		})
	}
}

// TestBadURLParameterSaidPlainly: a URL parameter that does not parse is
// refused in the user's terms; go-mssqldb quoted strconv ("invalid tcp port
// '99999': strconv.ParseUint: parsing "99999": value out of range"). SQL
// Server URLs are parsed before any connection, so no server is needed.
func TestBadURLParameterSaidPlainly(t *testing.T) {
	for query, want := range map[string]string{
		":99999?database=x":                           `invalid tcp port '99999': "99999" is out of range`,
		"?database=x&connection+timeout=soon":         `invalid connection timeout 'soon': "soon" is not a whole number`,
		"?database=x&TrustServerCertificate=perhaps":  `invalid trust server certificate 'perhaps': "perhaps" is not true or false`,
		"?database=x&packet+size=4096&log=everything": `invalid log parameter 'everything': "everything" is not a whole number`,
	} {
		var stdout, stderr strings.Builder
		argv := []string{"migrate", "--dir", t.TempDir(), "--database", "sqlserver://sa:pw@127.0.0.1" + query, "status"}
		code := run(context.Background(), argv, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), want) || strings.Contains(stderr.String(), "strconv") {
			t.Errorf("%s: exit %d, want %d and %q; stderr: %s", query, code, exitUsage, want, stderr.String())
		}
	}
}
