package integration

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/migrate-dev/migrate/internal/testdb"
	"github.com/migrate-dev/migrate/migrator"
)

// oneTable is a valid folder: the base most bad-input cases add to.
var oneTable = map[string]string{
	"0001_a.up.sql":   "CREATE TABLE a (id INTEGER PRIMARY KEY);\n",
	"0001_a.down.sql": "DROP TABLE a;\n",
}

// with returns oneTable plus the given name, content pairs.
func with(files ...string) map[string]string {
	out := map[string]string{}
	for k, v := range oneTable {
		out[k] = v
	}
	for i := 0; i+1 < len(files); i += 2 {
		out[files[i]] = files[i+1]
	}
	return out
}

// badCase is one input the tool must refuse (or, with applied set, accept).
type badCase struct {
	name  string
	files map[string]string
	// skip returns why the case does not apply to a target, or "".
	skip func(t *testing.T, e *env) string
	// setup prepares the database or folder before the command runs.
	setup func(t *testing.T, e *env)
	// url returns the database URL to pass instead of the env's.
	url  func(t *testing.T, e *env) string
	args []string
	code int
	// want are substrings the output must hold (file, line or flag).
	want []string
	// applied, for inputs that are valid, are the versions that must be
	// applied and recorded afterwards; otherwise the database must be
	// exactly as before the command.
	applied []int64
	// acceptedMeans, when the command succeeds anyway, is why that is the
	// server's doing; the case is then skipped with it.
	acceptedMeans string
	// check replaces the unchanged-database check where a target may
	// legitimately keep something (MySQL DDL is not transactional).
	check func(t *testing.T, e *env)
}

// foreignTable makes another tool's table with migrate's name, holding one
// row that must survive whatever migrate is asked to do.
func foreignTable(name string) func(*testing.T, *env) {
	return func(t *testing.T, e *env) {
		e.exec(`CREATE TABLE ` + name + ` (id INTEGER, note VARCHAR(50))`)
		e.exec(`INSERT INTO ` + name + ` (id, note) VALUES (7, 'theirs')`)
	}
}

func networked(t *testing.T, e *env) string {
	if scheme(e.url) == "sqlite" {
		return "SQLite is a file: there is no server, user or password"
	}
	return ""
}

func only(name, why string) func(*testing.T, *env) string {
	return func(t *testing.T, e *env) string {
		if e.tg.name != name {
			return why
		}
		return ""
	}
}

// editURL returns the env's URL changed by fn.
func editURL(t *testing.T, e *env, fn func(u *url.URL)) string {
	t.Helper()
	u, err := url.Parse(e.url)
	if err != nil {
		t.Fatal(err)
	}
	fn(u)
	return u.String()
}

// withQuery is the target's URL with extra ("&name=value") appended to its
// query string, which may be empty.
func withQuery(extra string) func(*testing.T, *env) string {
	return func(t *testing.T, e *env) string {
		return editURL(t, e, func(u *url.URL) { u.RawQuery = strings.TrimPrefix(u.RawQuery+extra, "&") })
	}
}

// restrictedUser creates a login that may connect and read but not create
// tables, and returns a URL that connects as it.
func restrictedUser(t *testing.T, e *env) string {
	t.Helper()
	name := strings.Replace(testdb.Name(), "migrate_t_", "migrate_ro_", 1)
	switch scheme(e.url) {
	case "postgres":
		// PostgreSQL 15 grants CREATE on schema public to its owner only.
		e.exec(`CREATE ROLE ` + name + ` LOGIN`)
		t.Cleanup(func() { _, _ = e.db().Exec(`DROP ROLE IF EXISTS ` + name) })
	case "mysql":
		u, err := url.Parse(e.url)
		if err != nil {
			t.Fatal(err)
		}
		e.exec("CREATE USER '" + name + "'@'%'")
		t.Cleanup(func() { _, _ = e.db().Exec("DROP USER IF EXISTS '" + name + "'@'%'") })
		e.exec("GRANT SELECT ON `" + strings.TrimPrefix(u.Path, "/") + "`.* TO '" + name + "'@'%'")
	default:
		t.Fatalf("no restricted-user setup for %s: add one to restrictedUser", scheme(e.url))
	}
	return editURL(t, e, func(u *url.URL) { u.User = url.User(name) })
}

func badInputCases() []badCase {
	source := func(name string, files map[string]string, want ...string) badCase {
		return badCase{name: name, files: files, args: []string{"up"}, code: 3, want: want}
	}
	valid := func(name string, files map[string]string, applied ...int64) badCase {
		return badCase{name: name, files: files, args: []string{"up"}, applied: applied}
	}
	usage := func(name string, args []string, want ...string) badCase {
		return badCase{name: name, files: oneTable, args: args, code: 2, want: want}
	}
	// onlyOn runs c on one target; why says why it does not apply to the
	// others.
	onlyOn := func(target, why string, c badCase) badCase {
		c.skip = only(target, why)
		return c
	}
	// transactionalOnly runs c where DDL is transactional; why says what
	// happens elsewhere.
	transactionalOnly := func(why string, c badCase) badCase {
		c.skip = func(t *testing.T, e *env) string {
			if !e.tg.transactionalDDL {
				return why
			}
			return ""
		}
		return c
	}
	applyFirst := func(t *testing.T, e *env) {
		if _, err := e.migrator(migrator.Options{}).Up(context.Background(), 1); err != nil {
			t.Fatalf("applying version 1: %v", err)
		}
	}
	return []badCase{
		// File names and versions.
		onlyOn("mysql", "only MySQL needs a space after \"--\"", source("MySQL comment without a space", with("0002_b.up.sql", "--migrate:no-transaction\nCREATE TABLE b (id INT);\n", "0002_b.down.sql", "DROP TABLE b;\n"),
			"0002_b.up.sql:1", "needs a space", `write "-- migrate:no-transaction"`)),
		// The server got "DELIMITER\nCREATE TABLE c ..." as SQL and failed
		// it after b was created: version 2 half-applied.
		onlyOn("mysql", "DELIMITER is the mysql client's command", source("DELIMITER without its delimiter", with("0002_b.up.sql", "CREATE TABLE b (id INT);\nDELIMITER\nCREATE TABLE c (id INT);\n", "0002_b.down.sql", "DROP TABLE b;\n"),
			"0002_b.up.sql:2", "DELIMITER needs the delimiter")),
		source("name without a name", with("0002.up.sql", "SELECT 1;"), "0002.up.sql", "file name must look like VERSION_NAME.up.sql"),
		// The message listed _ among NAME's characters without saying it
		// cannot come first.
		source("name starting with _", with("0002__x.up.sql", "SELECT 1;"), "0002__x.up.sql", "starting with a letter or digit"),
		source("name with a space", with("0002_add orders.up.sql", "SELECT 1;"), "0002_add orders.up.sql", "file name must look like"),
		source("accented letter in a name", with("0002_café.up.sql", "SELECT 1;", "0002_café.down.sql", ""), "0002_café.up.sql", `"é" (U+00E9) is not ASCII`),
		// Cyrillic "у" in ".up.sql" looks exactly like the Latin one.
		source("look-alike letter in the direction", with("0002_b.уp.sql", "SELECT 1;", "0002_b.down.sql", ""), "U+0443", "is not ASCII"),
		// Not ending in .sql, it was skipped: up reported success without
		// running version 2.
		source("space after .sql in a name", with("0002_b.up.sql ", "CREATE TABLE b (id INTEGER);\n", "0002_b.down.sql ", "DROP TABLE b;\n"), `"0002_b.up.sql "`, "ends in white space after .sql", `rename it "0002_b.up.sql"`),
		source("misspelled direction", with("0002_b.upp.sql", "SELECT 1;"), "0002_b.upp.sql", "file name must look like"),
		source("negative version", with("-1_neg.up.sql", "SELECT 1;", "-1_neg.down.sql", ""), "-1_neg.up.sql", "file name must look like"),
		source("version zero", with("0_zero.up.sql", "SELECT 1;", "0_zero.down.sql", ""), "0_zero.up.sql", "must be a positive integer below 2^63"),
		source("version above 2^63", with("9223372036854775808_big.up.sql", "SELECT 1;", "9223372036854775808_big.down.sql", ""), "9223372036854775808_big.up.sql", "must be a positive integer below 2^63"),
		source("duplicate version", with("01_a.up.sql", "SELECT 1;"), "01_a.up.sql", "duplicate version 1", "0001_a.up.sql"),
		source("duplicate version, other name", map[string]string{"0001_a.up.sql": "SELECT 1;", "0001_b.down.sql": ""}, "0001_b.down.sql", "duplicate version 1 with a different name"),
		source("up without down", map[string]string{"0001_a.up.sql": oneTable["0001_a.up.sql"]}, "0001_a.up.sql", "no down script", "migrate:irreversible"),
		source("down without up", with("0002_b.down.sql", "DROP TABLE b;"), "0002_b.down.sql", "down script without an up script"),
		// Directives.
		source("unknown directive", with("0002_b.up.sql", "SELECT 1;\n-- migrate:no-transactions\n", "0002_b.down.sql", ""), "0002_b.up.sql:2", `unknown directive "migrate:no-transactions"`),
		// Read as a comment: the script ran in a transaction.
		source("directive in upper case", with("0002_b.up.sql", "-- MIGRATE:NO-TRANSACTION\nCREATE TABLE b (id INTEGER);\n", "0002_b.down.sql", ""), "0002_b.up.sql:1", `write "-- migrate:no-transaction"`),
		// Read as an ordinary comment: the script ran in a transaction.
		source("directive after a statement", with("0002_b.up.sql", "CREATE TABLE b (id INTEGER); -- migrate:no-transaction\n", "0002_b.down.sql", "DROP TABLE b;\n"), "0002_b.up.sql:1", "after a statement on its line", "a line of its own"),
		// It said to mark the script irreversible, which it was, to the eye.
		source("irreversible directive after a statement", map[string]string{"0001_a.up.sql": "CREATE TABLE a (id INTEGER); -- migrate:irreversible\n"}, "0001_a.up.sql", "no down script", `"-- migrate:irreversible" on a line of its own`),
		source("irreversible directive in a down file", with("0001_a.down.sql", "-- migrate:irreversible\nDROP TABLE a;\n"), "0001_a.down.sql", "belongs in the up script"),
		source("irreversible up with a down file", with("0001_a.up.sql", "-- migrate:irreversible\nCREATE TABLE a (id INTEGER);\n"), "0001_a.up.sql", "marked irreversible but has a down script"),
		// Contents.
		source("not UTF-8", with("0002_latin1.up.sql", "SELECT 1;\nINSERT INTO a (id) VALUES (1); -- caf\xe9\n", "0002_latin1.down.sql", ""), "0002_latin1.up.sql:2", "not valid UTF-8"),
		source("unterminated string", with("0002_q.up.sql", "CREATE TABLE q (id INTEGER);\nINSERT INTO q VALUES ('oops);\n", "0002_q.down.sql", "DROP TABLE q;"), "0002_q.up.sql:2", "column 23", "unterminated string literal"),
		source("unterminated quoted identifier", with("0002_q.up.sql", "\n\nCREATE TABLE \"q (id INTEGER);\n", "0002_q.down.sql", ""), "0002_q.up.sql:3", "unterminated quoted identifier"),
		source("unterminated block comment", with("0002_c.up.sql", "SELECT 1;\n\n/* never closed\n", "0002_c.down.sql", ""), "0002_c.up.sql:3", "unterminated /* comment"),
		source("syntax error in a pending down file", with("0002_b.up.sql", "CREATE TABLE b (id INTEGER);", "0002_b.down.sql", "DROP TABLE 'b;\n"), "0002_b.down.sql:1", "unterminated string literal"),
		onlyOn("postgres", "dollar-quotes are PostgreSQL syntax", source("unterminated dollar-quote", with("0002_f.up.sql", "CREATE FUNCTION f() RETURNS int AS $body$\nSELECT 1;\n", "0002_f.down.sql", "DROP FUNCTION f;"), "0002_f.up.sql:1", "unterminated dollar-quoted string (opened with $body$)")),
		// pg_dump's form: the server waited for the rows forever.
		onlyOn("postgres", "COPY FROM STDIN is PostgreSQL's", source("COPY FROM STDIN", with("0002_b.up.sql", "CREATE TABLE b (id INTEGER, note TEXT);\nCOPY b (id, note) FROM stdin;\n1\tit's\n\\.\n", "0002_b.down.sql", "DROP TABLE b;\n"),
			"0002_b.up.sql:2", "COPY ... FROM STDIN", "INSERT")),
		// The server rejected the client's command after b was created:
		// version 2 half-applied.
		source("client command", with("0002_b.up.sql", "-- migrate:no-transaction\nCREATE TABLE b (id INTEGER);\n\\i other.sql\nCREATE TABLE c (id INTEGER);\n", "0002_b.down.sql", "DROP TABLE b;\n"),
			"0002_b.up.sql:3", `"\\i other.sql" is a command of the database's command-line client`),
		onlyOn("mysql", "SOURCE is the mysql client's command", source("mysql client SOURCE", with("0002_b.up.sql", "CREATE TABLE b (id INT);\nSOURCE other.sql;\n", "0002_b.down.sql", "DROP TABLE b;\n"),
			"0002_b.up.sql:2", "the mysql client's command to read another file")),
		// SQLite ends a statement at a NUL and would silently skip the rest.
		source("NUL byte", with("0002_nul.up.sql", "CREATE TABLE b (id INTEGER);\nCREATE TABLE c (id INTEGER);\x00CREATE TABLE d (id INTEGER);\n", "0002_nul.down.sql", ""), "0002_nul.up.sql:2", "NUL byte"),
		// "--" comments end at a line feed: a CR-only script that starts
		// with a comment would be recorded as applied with nothing run.
		source("carriage returns without line feeds", with("0002_cr.up.sql", "-- make b\rCREATE TABLE b (id INTEGER);\r", "0002_cr.down.sql", "DROP TABLE b;\r"), "0002_cr.up.sql:1", "0002_cr.down.sql:1", "carriage return without a line feed"),
		// PostgreSQL and MySQL failed on an invisible character, MySQL after
		// the first statement took effect; SQLite skipped it.
		source("byte-order mark inside a file", with("0002_cat.up.sql", "\ufeffCREATE TABLE b (id INTEGER);\n\ufeffCREATE TABLE c (id INTEGER);\n", "0002_cat.down.sql", "DROP TABLE c;\nDROP TABLE b;\n"), "0002_cat.up.sql:2", "byte-order mark (U+FEFF) after the start"),
		// COMMIT ended migrate's transaction: the failure after it left b
		// created and version 2 pending, with nothing recorded.
		transactionalOnly("scripts run statement by statement here, with their progress recorded", source("COMMIT inside a transactional script", with("0002_c.up.sql", "CREATE TABLE b (id INTEGER);\nCOMMIT;\nINSERT INTO nosuch VALUES (1);\n", "0002_c.down.sql", "DROP TABLE b;"),
			"0002_c.up.sql:2", "COMMIT in a script that migrate runs in a transaction", "migrate:no-transaction")),
		// Where max_prepared_transactions allows it, it detaches migrate's
		// transaction from the session (PostgreSQL's documentation), and
		// the rest of the script runs outside it; here it failed mid-run,
		// after version 1 had been applied.
		onlyOn("postgres", "two-phase commit is PostgreSQL's here", source("PREPARE TRANSACTION in a transactional script", with("0002_b.up.sql", "CREATE TABLE b (id INTEGER);\nPREPARE TRANSACTION 'm2';\nCREATE TABLE c (id INTEGER);\n", "0002_b.down.sql", "DROP TABLE b;\n"),
			"0002_b.up.sql:2", "PREPARE TRANSACTION in a script that migrate runs in a transaction", "migrate:no-transaction")),
		// migrate's bookkeeping ran inside the script's transaction: on
		// SQLite it failed ("cannot start a transaction within a
		// transaction"), left version 2 running and b gone; on PostgreSQL
		// it happened to end up committed.
		transactionalOnly("DDL commits the script's transaction here", source("BEGIN never committed in a no-transaction script", with("0002_b.up.sql", "-- migrate:no-transaction\nBEGIN;\nCREATE TABLE b (id INTEGER);\n", "0002_b.down.sql", "DROP TABLE b;\n"),
			"0002_b.up.sql:2", "BEGIN opens a transaction that the script never ends", "COMMIT")),
		// The failure could not be recorded on the session the script's
		// transaction held ("current transaction is aborted", "cannot
		// start a transaction within a transaction"): version 2 stayed
		// running, with no failure row and no statement to show.
		transactionalOnly("DDL commits the script's transaction here", badCase{name: "failure inside a no-transaction script's own transaction", args: []string{"up"}, code: 1,
			files: with("0002_b.up.sql", "-- migrate:no-transaction\nCREATE TABLE b (id INTEGER);\nBEGIN;\nCREATE TABLE c (id INTEGER);\nINSERT INTO nosuch VALUES (1);\nCOMMIT;\n", "0002_b.down.sql", "DROP TABLE b;\n"),
			want:  []string{"0002_b.up.sql:5", "statement 4 failed", "nosuch"},
			check: func(t *testing.T, e *env) {
				st := e.state()
				if len(st) != 2 || st[1].Version != 2 || st[1].Status != migrator.StatusFailed || st[1].FailedStatement != 4 {
					t.Fatalf("state %+v, want version 2 failed at statement 4", st)
				}
				h := e.history()
				if last := h[len(h)-1]; last.Version != 2 || last.Success || !strings.Contains(last.Error, "nosuch") {
					t.Fatalf("the last history row is %+v, want version 2's failure", last)
				}
				if objs := e.schemaObjects(); !objs["b"] || objs["c"] {
					t.Fatalf("want b, made before the script's BEGIN, and not c, made inside it: %v", objs)
				}
			}}),
		onlyOn("sqlite", "only SQLite's SAVEPOINT opens a transaction", source("SAVEPOINT never released in a no-transaction script", with("0002_b.up.sql", "-- migrate:no-transaction\nSAVEPOINT s1;\nCREATE TABLE b (id INTEGER);\nROLLBACK TO s1;\n", "0002_b.down.sql", "DROP TABLE b;\n"),
			"0002_b.up.sql:2", "SAVEPOINT s1 opens a transaction that the script never ends")),
		// The server refused it mid-run, after version 1 had been applied.
		onlyOn("postgres", "CONCURRENTLY is PostgreSQL's", source("CREATE INDEX CONCURRENTLY in a transactional script", with("0002_b.up.sql", "CREATE TABLE b (id INTEGER);\nCREATE INDEX CONCURRENTLY b_id ON b (id);\n", "0002_b.down.sql", "DROP TABLE b;\n"),
			"0002_b.up.sql:2", "CREATE INDEX CONCURRENTLY cannot run inside a transaction", "migrate:no-transaction")),
		onlyOn("postgres", "REINDEX SCHEMA is PostgreSQL's", source("REINDEX SCHEMA in a transactional script", with("0002_b.up.sql", "CREATE TABLE b (id INTEGER PRIMARY KEY);\nREINDEX SCHEMA public;\n", "0002_b.down.sql", "DROP TABLE b;\n"),
			"0002_b.up.sql:2", "REINDEX SCHEMA cannot run inside a transaction", "migrate:no-transaction")),
		func() badCase {
			c := source("VACUUM in a transactional script", with("0002_b.up.sql", "CREATE TABLE b (id INTEGER);\nVACUUM;\n", "0002_b.down.sql", "DROP TABLE b;\n"),
				"0002_b.up.sql:2", "VACUUM cannot run inside a transaction", "migrate:no-transaction")
			c.skip = func(t *testing.T, e *env) string {
				if e.tg.name != "sqlite" && e.tg.name != "postgres" {
					return "VACUUM is SQLite's and PostgreSQL's"
				}
				return ""
			}
			return c
		}(),
		// SQLite ignores the pragma inside migrate's transaction: the
		// rebuild's DROP TABLE p deleted c's row ON DELETE CASCADE, and
		// the run succeeded.
		onlyOn("sqlite", "a SQLite pragma", source("PRAGMA foreign_keys in a transactional script", with(
			"0002_pc.up.sql", "CREATE TABLE p (id INTEGER PRIMARY KEY);\nCREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id) ON DELETE CASCADE);\nINSERT INTO p VALUES (1);\nINSERT INTO c VALUES (1, 1);\n", "0002_pc.down.sql", "DROP TABLE c;\nDROP TABLE p;\n",
			"0003_rebuild.up.sql", "PRAGMA foreign_keys = OFF;\nCREATE TABLE p2 (id INTEGER PRIMARY KEY, note TEXT);\nINSERT INTO p2 SELECT id, NULL FROM p;\nDROP TABLE p;\nALTER TABLE p2 RENAME TO p;\nPRAGMA foreign_keys = ON;\n", "0003_rebuild.down.sql", "SELECT 1;\n"),
			"0003_rebuild.up.sql:1", "0003_rebuild.up.sql:6", "PRAGMA foreign_keys does nothing inside a transaction", "ON DELETE CASCADE", "migrate:no-transaction")),
		onlyOn("sqlite", "a SQLite pragma", source("PRAGMA journal_mode in a transactional script", with("0002_wal.up.sql", "PRAGMA journal_mode = WAL;\n", "0002_wal.down.sql", ""),
			"0002_wal.up.sql:1", "PRAGMA journal_mode does nothing inside a transaction", "migrate:no-transaction")),
		// Cut at the ';' inside the parentheses, the rule's first half
		// failed after b and lg were created.
		onlyOn("postgres", "CREATE RULE is PostgreSQL's", valid("semicolons inside parentheses", with("0002_r.up.sql", "-- migrate:no-transaction\nCREATE TABLE b (id INTEGER);\nCREATE TABLE lg (id INTEGER);\nCREATE RULE r AS ON INSERT TO b DO ALSO (INSERT INTO lg VALUES (1); INSERT INTO lg VALUES (2));\n", "0002_r.down.sql", "DROP TABLE lg CASCADE;\nDROP TABLE b CASCADE;\n"), 1, 2)),
		// The state and history rows were written as the script's role,
		// which may not: in a transaction version 2 was refused (exit 4,
		// "permission denied"); outside one, b stayed, version 2 stayed
		// running and its failure went unrecorded.
		onlyOn("postgres", "SET ROLE is PostgreSQL's here", withSetup(scriptRole, valid("SET ROLE in a script", with("0002_b.up.sql", "SET ROLE {role};\nCREATE TABLE b (id INTEGER);\n", "0002_b.down.sql", "DROP TABLE b;\n",
			"0003_c.up.sql", "-- migrate:no-transaction\nSET ROLE {role};\nCREATE TABLE c (id INTEGER);\n", "0003_c.down.sql", "DROP TABLE c;\n"), 1, 2, 3))),
		// Version 3 read the temporary table version 2 left on the
		// session, and failed when run on its own.
		{name: "temporary table left by a script", args: []string{"up"}, code: 1, want: []string{"0003_c.up.sql:1", "stage"},
			files: with("0002_b.up.sql", "CREATE TEMPORARY TABLE stage (id INTEGER);\nINSERT INTO stage VALUES (1);\n", "0002_b.down.sql", "",
				"0003_c.up.sql", "CREATE TABLE c AS SELECT id FROM stage;\n", "0003_c.down.sql", "DROP TABLE c;\n"),
			check: func(t *testing.T, e *env) {
				if !e.tg.transactionalDDL {
					// Recorded as failed, with the statement: nothing of it ran.
					e.exec(`DELETE FROM migrate_state WHERE version = 3 AND status = 'failed'`)
				}
				assertApplied(t, e, []int64{1, 2})
			}},
		// foreign_key_checks = 0 and ANSI_QUOTES left by a script: the next
		// migration of the same run loaded an orphan row unchecked (and
		// read "x" as a column), and failed when run on its own.
		onlyOn("mysql", "MySQL session variables", valid("MySQL session settings left by a script", with(
			"0002_off.up.sql", "SET foreign_key_checks = 0;\nSET sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES');\nCREATE TABLE p (id INTEGER PRIMARY KEY);\nCREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER, note VARCHAR(10), FOREIGN KEY (p_id) REFERENCES p (id));\n", "0002_off.down.sql", "DROP TABLE c;\nDROP TABLE p;\n",
			"0003_rows.up.sql", "INSERT INTO p VALUES (1);\nINSERT INTO c VALUES (1, 1, \"x\");\n", "0003_rows.down.sql", "DELETE FROM c;\nDELETE FROM p;\n"), 1, 2, 3)),
		// pg_dump's preamble empties search_path for the rest of the
		// session: the next migration of the same run failed with "no
		// schema has been selected to create in", and passed when run on
		// its own.
		onlyOn("postgres", "a PostgreSQL session setting", valid("session setting left by a script", with(
			"0002_dump.up.sql", "SELECT pg_catalog.set_config('search_path', '', false);\nCREATE TABLE public.b (id INTEGER);\n", "0002_dump.down.sql", "DROP TABLE public.b;\n",
			"0003_c.up.sql", "CREATE TABLE c (id INTEGER);\n", "0003_c.down.sql", "DROP TABLE c;\n"), 1, 2, 3)),
		// The pool handed the next migration the connection a script had
		// turned foreign keys off on: the orphan row loaded unchecked, and
		// failed when its migration ran on its own.
		onlyOn("sqlite", "a SQLite connection setting", badCase{name: "SQLite setting left by a script", files: with(
			"0002_off.up.sql", "-- migrate:no-transaction\nPRAGMA foreign_keys = OFF;\nCREATE TABLE p (id INTEGER PRIMARY KEY);\nCREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id));\n", "0002_off.down.sql", "DROP TABLE c;\nDROP TABLE p;\n",
			"0003_orphan.up.sql", "INSERT INTO c VALUES (1, 42);\n", "0003_orphan.down.sql", "DELETE FROM c;\n"),
			args: []string{"up"}, code: 1, want: []string{"0003_orphan.up.sql:1", "FOREIGN KEY constraint failed"},
			check: func(t *testing.T, e *env) { assertApplied(t, e, []int64{1, 2}) }}),
		valid("empty files are no-ops", with("0002_empty.up.sql", "", "0002_empty.down.sql", ""), 1, 2),
		valid("comment-only files are no-ops", with("0002_later.up.sql", "-- nothing yet\n/* later */\n", "0002_later.down.sql", "-- nothing to undo\n"), 1, 2),
		valid("byte-order mark", with("0002_bom.up.sql", "\ufeffCREATE TABLE bom (id INTEGER);\n", "0002_bom.down.sql", "\ufeffDROP TABLE bom;\n"), 1, 2),
		valid("CRLF line ends", with("0002_crlf.up.sql", "-- migrate:no-transaction\r\nCREATE TABLE crlf (\r\n  id INTEGER\r\n);\r\nCREATE INDEX crlf_id ON crlf (id);\r\n", "0002_crlf.down.sql", "DROP TABLE crlf;\r\n"), 1, 2),
		// The folder itself.
		{name: "unreadable file", files: oneTable, args: []string{"up"}, code: 3, want: []string{"0001_a.up.sql", "cannot read", "permission denied"},
			skip: func(*testing.T, *env) string {
				if os.Geteuid() == 0 {
					return "running as root, which reads a chmod 000 file: there is no unreadable file to test"
				}
				return ""
			},
			setup: func(t *testing.T, e *env) {
				if err := os.Chmod(filepath.Join(e.dir, "0001_a.up.sql"), 0); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "folder named like a migration", files: oneTable, args: []string{"up"}, code: 3, want: []string{"0002_b.up.sql", "is a folder, not a migration file"},
			setup: func(t *testing.T, e *env) {
				if err := os.Mkdir(filepath.Join(e.dir, "0002_b.up.sql"), 0o755); err != nil {
					t.Fatal(err)
				}
			}},
		// "cannot read: read 0002_b.up.sql: is a directory".
		{name: "symbolic link to a folder named like a migration", files: with("0002_b.down.sql", "DROP TABLE b;"), args: []string{"up"}, code: 3, want: []string{"0002_b.up.sql", "is a symbolic link to", "a folder, not a migration file", "(1 problem)"},
			setup: func(t *testing.T, e *env) {
				if err := os.Symlink(t.TempDir(), filepath.Join(e.dir, "0002_b.up.sql")); err != nil {
					t.Fatal(err)
				}
			}},
		// "cannot read: open 0002_b.up.sql: too many levels of symbolic links".
		{name: "symbolic link loop", files: with("0002_b.down.sql", "DROP TABLE b;"), args: []string{"up"}, code: 3, want: []string{"0002_b.up.sql", "is a symbolic link to 0002_b.up.sql that leads back to itself", "(1 problem)"},
			setup: func(t *testing.T, e *env) {
				if err := os.Symlink("0002_b.up.sql", filepath.Join(e.dir, "0002_b.up.sql")); err != nil {
					t.Fatal(err)
				}
			}},
		// Reading it waited for a writer forever, deaf to SIGTERM.
		{name: "named pipe named like a migration", files: with("0002_b.down.sql", "DROP TABLE b;"), args: []string{"up"}, code: 3, want: []string{"0002_b.up.sql", "is a named pipe (FIFO)", "(1 problem)"},
			setup: func(t *testing.T, e *env) {
				if err := syscall.Mkfifo(filepath.Join(e.dir, "0002_b.up.sql"), 0o644); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "symbolic link to a named pipe", files: with("0002_b.down.sql", "DROP TABLE b;"), args: []string{"up"}, code: 3, want: []string{"0002_b.up.sql", "is a named pipe (FIFO)", "(1 problem)"},
			setup: func(t *testing.T, e *env) {
				fifo := filepath.Join(t.TempDir(), "pipe")
				if err := syscall.Mkfifo(fifo, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(fifo, filepath.Join(e.dir, "0002_b.up.sql")); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "broken symbolic link", files: with("0002_b.down.sql", "DROP TABLE b;"), args: []string{"up"}, code: 3, want: []string{"0002_b.up.sql", "is a symbolic link to", "which does not exist", "(1 problem)"},
			setup: func(t *testing.T, e *env) {
				if err := os.Symlink(filepath.Join(e.dir, "gone.sql"), filepath.Join(e.dir, "0002_b.up.sql")); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "folder does not exist", files: oneTable, args: []string{"up"}, code: 3, want: []string{"no-such-folder", "does not exist", "--dir"},
			setup: func(t *testing.T, e *env) { e.dir = filepath.Join(e.dir, "no-such-folder") }},
		{name: "--dir is a broken symbolic link", files: oneTable, args: []string{"up"}, code: 3, want: []string{"link", "is a symbolic link to", "which does not exist"},
			setup: func(t *testing.T, e *env) {
				link := filepath.Join(e.dir, "link")
				if err := os.Symlink(filepath.Join(e.dir, "gone"), link); err != nil {
					t.Fatal(err)
				}
				e.dir = link
			}},
		{name: "create in a broken symbolic link", files: oneTable, args: []string{"create", "b"}, code: 3, want: []string{"is a symbolic link to", "does not lead to a folder"},
			setup: func(t *testing.T, e *env) {
				link := filepath.Join(e.dir, "link")
				if err := os.Symlink(filepath.Join(e.dir, "gone"), link); err != nil {
					t.Fatal(err)
				}
				e.dir = link
			}},
		{name: "--dir names a file", files: oneTable, args: []string{"up"}, code: 3, want: []string{"0001_a.up.sql", "is not a directory", "--dir or MIGRATE_DIR"},
			setup: func(t *testing.T, e *env) { e.dir = filepath.Join(e.dir, "0001_a.up.sql") }},
		// The database URL and connection.
		{name: "unknown URL scheme", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", `unknown scheme "mysqlx"`},
			url: func(*testing.T, *env) string { return "mysqlx://root@127.0.0.1/db" }},
		{name: "unparseable URL", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "does not parse"},
			url: func(*testing.T, *env) string { return "postgres://u@[::1/db" }},
		{name: "URL naming no database", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "names no"},
			url: func(t *testing.T, e *env) string {
				switch scheme(e.url) {
				case "sqlite":
					return "sqlite:"
				}
				u, err := url.Parse(e.url)
				if err != nil {
					t.Fatal(err)
				}
				u.Path = "/"
				return u.String()
			},
			skip: func(t *testing.T, e *env) string {
				if s := scheme(e.url); s != "sqlite" && s != "mysql" {
					return "a " + s + " URL without a database name falls back to the user's default database"
				}
				return ""
			}},
		{name: "invalid URL option", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "sslmode is invalid"},
			url: func(t *testing.T, e *env) string {
				return strings.Replace(e.url, "sslmode=disable", "sslmode=bogus", 1)
			},
			skip: func(t *testing.T, e *env) string {
				if !strings.Contains(e.url, "sslmode=disable") {
					return "only a PostgreSQL URL has sslmode"
				}
				return ""
			}},
		// A line end copied in with the URL: url.Parse's error quoted
		// the password, and a SQLite name kept it (a second database).
		{name: "URL with a line feed at the end", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "line feed at its end"},
			url: func(t *testing.T, e *env) string { return e.url + "\n" }},
		{name: "URL with a space at the end", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "ends with a space"},
			url: func(t *testing.T, e *env) string { return e.url + " " }},
		// MySQL dropped it without a word; pgx read it into the
		// connect_timeout migrate adds ("10#x" is not a whole number).
		{name: "URL with a fragment", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", `"#"`, "%23"},
			url: func(t *testing.T, e *env) string { return e.url + "#x" }},
		// pgx took the first (disable), libpq and go-sql-driver the last:
		// a "&sslmode=require" appended to harden a URL did nothing.
		{name: "PostgreSQL URL parameter given twice", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "URL parameter sslmode is given twice", "give it once"},
			skip: only("postgres", "sslmode is PostgreSQL's"),
			url:  withQuery("&sslmode=require")},
		{name: "MySQL URL parameter given twice", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "URL parameter timeout is given twice", "give it once"},
			skip: only("mysql", "timeout is go-sql-driver's"),
			url:  withQuery("&timeout=5s&timeout=7s")},
		// postgres:db and sqlserver:sa:pw@host were read as naming no
		// host: the local default server was used instead.
		{name: "URL without //", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "no // after"}, skip: networked,
			url: func(t *testing.T, e *env) string { return strings.Replace(e.url, "://", ":", 1) }},
		{name: "SQLite URL with options", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", `"?mode=ro"`, "take no parameters"},
			skip: only("sqlite", "only a SQLite URL drops its parameters"),
			url:  func(t *testing.T, e *env) string { return e.url + "?mode=ro" }},
		{name: "MySQL URL with a misspelled parameter", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "timout", "URL parameter", "misspelled"},
			skip: only("mysql", "go-sql-driver/mysql sends unknown parameters to the server as system variables"),
			url: func(t *testing.T, e *env) string {
				return editURL(t, e, func(u *url.URL) { u.RawQuery = "timout=5s" })
			}},
		{name: "MySQL URL setting a variable to a bad value", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "sql_mode", "a value the server refuses"},
			skip: only("mysql", "go-sql-driver/mysql sends unknown parameters to the server as system variables"),
			url: func(t *testing.T, e *env) string {
				return editURL(t, e, func(u *url.URL) { u.RawQuery = "sql_mode=%27NO_SUCH_MODE%27" })
			}},
		// Sent to the server as a setting: exit 4, as if the server were at fault.
		{name: "PostgreSQL URL with a misspelled parameter", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "connect_timout", "URL parameter", "misspelled"},
			skip: only("postgres", "pgx sends unknown parameters to the server as settings"),
			url:  withQuery("&connect_timout=5")},
		{name: "PostgreSQL URL with a misspelled parameter and --schema", files: oneTable, args: []string{"--schema", "s", "up"}, code: 2, want: []string{"--database", "connect_timout", "URL parameter"},
			skip: only("postgres", "pgx sends unknown parameters to the server as settings"),
			url:  withQuery("&connect_timout=5")},
		{name: "PostgreSQL URL with a bad setting value", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "statement_timeout", "a value the server refuses"},
			skip: only("postgres", "pgx sends unknown parameters to the server as settings"),
			url:  withQuery("&statement_timeout=soon")},
		// libpq's way to name a socket folder: "invalid URL escape "%2F"",
		// though %2F is a valid escape.
		{name: "PostgreSQL URL with a socket folder as its host", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "escaped /", "?host=/var/run/postgresql"},
			skip: only("postgres", "a socket folder as the host is libpq's form"),
			url: func(t *testing.T, e *env) string {
				// Set as Host, the "%" would be escaped again.
				return strings.Replace(editURL(t, e, func(u *url.URL) { u.Host = "HOST" }), "HOST", "%2Fvar%2Frun%2Fpostgresql", 1)
			}},
		// pgx's "cannot parse `postgres://...&application_name=migrate&connect_timeout=10`:
		// invalid connect_timeout (strconv.ParseInt: parsing "soon": invalid
		// syntax)": the URL again, with parameters the user never wrote.
		{name: "PostgreSQL URL with a connect_timeout that is not a number", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "connect_timeout", `"soon" is not a whole number`},
			skip: only("postgres", "connect_timeout is pgx's"),
			url:  withQuery("&connect_timeout=soon")},
		{name: "PostgreSQL URL with a connect_timeout out of range", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "connect_timeout", `"99999999999999999999" is out of range`},
			skip: only("postgres", "connect_timeout is pgx's"),
			url:  withQuery("&connect_timeout=99999999999999999999")},
		// go-sql-driver's "strconv.Atoi: parsing "lots": invalid syntax" and
		// "invalid bool value: maybe" named no parameter.
		{name: "MySQL URL with an option that is not a number", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "URL parameter maxAllowedPacket=lots", `"lots" is not a whole number`},
			skip: only("mysql", "maxAllowedPacket is go-sql-driver's"),
			url:  withQuery("&maxAllowedPacket=lots")},
		{name: "MySQL URL with a bad tls value", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "URL parameter tls=bogus"},
			skip: only("mysql", "tls is go-sql-driver's"),
			url:  withQuery("&tls=bogus")},
		// "Error 1115 (42000): Unknown character set", exit 4, as if the
		// server had failed.
		{name: "MySQL URL with an unknown charset", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "klingon", "charset or collation is a value the server refuses"},
			skip: only("mysql", "charset is go-sql-driver's"),
			url:  withQuery("&charset=klingon")},
		// Dropped without a word: the scripts ran with the server's
		// default collation.
		{name: "MySQL URL with an unknown collation", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "URL parameter collation=utf8mb4_klingon_ci", "the session got"},
			skip: only("mysql", "collation is go-sql-driver's"),
			url:  withQuery("&collation=utf8mb4_klingon_ci")},
		// libpq's way to set a server setting: the space came to the server
		// as "+" ("unrecognized configuration parameter "+statement_timeout""),
		// and a valid URL was refused.
		{name: "PostgreSQL URL with options", files: oneTable, args: []string{"up"}, applied: []int64{1},
			skip: only("postgres", "options is libpq's"),
			url:  withQuery("&options=-c%20statement_timeout%3D60000")},
		// "sql: Scan error on column index 0, name "current_schema":
		// converting NULL to string is unsupported", exit 4.
		{name: "PostgreSQL URL with a search_path of no schema", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", `search_path "migrate_no_such_schema"`, "names no schema", "--schema"},
			skip: only("postgres", "search_path is PostgreSQL's"),
			url:  withQuery("&search_path=migrate_no_such_schema")},
		// Dialled as given: exit 4, as if the server were unreachable.
		{name: "MySQL URL with a port out of range", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", "port 99999", "between 1 and 65535"},
			skip: only("mysql", "pgx and go-mssqldb check the port themselves"),
			url: func(t *testing.T, e *env) string {
				return editURL(t, e, func(u *url.URL) { u.Host = u.Hostname() + ":99999" })
			}},
		// Read as host "unix(" and database "run/mysqld/...": it said the
		// URL names no database.
		{name: "MySQL URL in go-sql-driver's socket form", files: oneTable, args: []string{"up"}, code: 2, want: []string{"--database", `"unix("`, "DSN form", "mysql://user:pass@host:3306/dbname"},
			skip: only("mysql", "unix(...) is go-sql-driver's DSN form"),
			url: func(t *testing.T, e *env) string {
				u, err := url.Parse(e.url)
				if err != nil {
					t.Fatal(err)
				}
				return "mysql://" + u.User.String() + "@unix(/run/mysqld/mysqld.sock)" + u.Path
			}},
		{name: "SQLite database is a directory", files: oneTable, args: []string{"up"}, code: 4, want: []string{"is a directory"},
			skip: only("sqlite", "only SQLite names a file"),
			url:  func(t *testing.T, e *env) string { return "sqlite:" + t.TempDir() }},
		// It left /dev/null-journal and /dev/null.migrate-lock in /dev and
		// failed with "disk I/O error"; status showed an empty database.
		{name: "SQLite database is a device", files: oneTable, args: []string{"up"}, code: 4, want: []string{"/dev/null", "is a device, not a database file"},
			skip: only("sqlite", "only SQLite names a file"),
			url:  func(t *testing.T, e *env) string { return "sqlite:/dev/null" }},
		// SQLite's own URI form: it wrote a file named "file:x.db".
		sqliteFileName("SQLite URL in SQLite's URI form", func(dir string) string { return "sqlite:file:" + dir + "/x.db" }, "SQLite's own URI form", "write sqlite:"),
		// SQLite cut the name at the NUL: up created an empty x.db, then
		// failed to open the lock file "x.db\x00y.migrate-lock".
		sqliteFileName("SQLite file name with an escaped NUL", func(dir string) string { return "sqlite:" + dir + "/x.db%00y" }, "U+0000", "control character"),
		// Status read x.db; up failed with "opening lock file open
		// x.db/.migrate-lock: not a directory" (exit 4).
		sqliteFileName("SQLite file name ending in a slash", func(dir string) string { return "sqlite:" + dir + "/x.db/" }, "ends with /"),
		// "stat DIR: no such file or directory"; with a file in the
		// folder's place, SQLite's "unable to open database file (14)".
		{name: "SQLite file in a folder that does not exist", files: oneTable, args: []string{"up"}, code: 4, want: []string{"the folder", "no-such-dir", "does not exist"},
			skip: only("sqlite", "only SQLite names a file"),
			url: func(t *testing.T, e *env) string {
				return "sqlite:" + filepath.Join(t.TempDir(), "no-such-dir", "x.db")
			}},
		{name: "SQLite file in a file", files: oneTable, args: []string{"up"}, code: 4, want: []string{"the folder", "0001_a.up.sql", "is a file, not a folder"},
			skip: only("sqlite", "only SQLite names a file"),
			url:  func(t *testing.T, e *env) string { return "sqlite:" + filepath.Join(e.dir, "0001_a.up.sql", "x.db") }},
		// "file is not a database (26)".
		{name: "SQLite database is another kind of file", files: oneTable, args: []string{"status"}, code: 4, want: []string{"0001_a.up.sql is not a SQLite database"},
			skip: only("sqlite", "only SQLite names a file"),
			url:  func(t *testing.T, e *env) string { return "sqlite:" + filepath.Join(e.dir, "0001_a.up.sql") }},
		{name: "unreachable server", files: oneTable, args: []string{"up"}, code: 4,
			url: func(t *testing.T, e *env) string {
				if scheme(e.url) == "sqlite" {
					return "sqlite:" + filepath.Join(t.TempDir(), "no-such-dir", "x.db")
				}
				return editURL(t, e, func(u *url.URL) { u.Host = "127.0.0.1:1" })
			}},
		{name: "wrong password", files: oneTable, args: []string{"status"}, code: 4, skip: networked,
			acceptedMeans: "the server accepted a wrong password (PostgreSQL's pg_hba.conf says trust for 127.0.0.1 here); the missing-role case covers a refused login",
			url: func(t *testing.T, e *env) string {
				return editURL(t, e, func(u *url.URL) { u.User = url.UserPassword(u.User.Username(), "not-the-password") })
			}},
		{name: "missing role", files: oneTable, args: []string{"up"}, code: 4, want: []string{"migrate_no_such_role"}, skip: networked,
			url: func(t *testing.T, e *env) string {
				return editURL(t, e, func(u *url.URL) { u.User = url.User("migrate_no_such_role") })
			}},
		{name: "missing database", files: oneTable, args: []string{"up"}, code: 4, want: []string{"migrate_no_such_db"},
			skip: func(t *testing.T, e *env) string {
				if scheme(e.url) == "sqlite" {
					return "SQLite creates a missing database file; a missing directory is the unreachable-server case"
				}
				return ""
			},
			url: func(t *testing.T, e *env) string {
				return editURL(t, e, func(u *url.URL) {
					if scheme(e.url) == "sqlserver" {
						q := u.Query()
						q.Set("database", "migrate_no_such_db")
						u.RawQuery = q.Encode()
						return
					}
					u.Path = "/migrate_no_such_db"
				})
			}},
		{name: "user without DDL rights", files: oneTable, args: []string{"up"}, code: 4, want: []string{"creating the migrate tables", "denied"}, skip: networked,
			url: restrictedUser},
		// Tables that are not migrate's.
		{name: "history table of another tool", files: oneTable, args: []string{"up"}, code: 4,
			want:  []string{"migrate_history", "is not one of migrate's tables", "--history-table"},
			setup: foreignTable("migrate_history"),
			check: func(t *testing.T, e *env) { assertForeignTableKept(t, e, "migrate_history") }},
		{name: "state table of another tool", files: oneTable, args: []string{"up"}, code: 4,
			want:  []string{"migrate_state", "is not one of migrate's tables"},
			setup: foreignTable("migrate_state"),
			check: func(t *testing.T, e *env) { assertForeignTableKept(t, e, "migrate_state") }},
		{name: "status on a state table of another tool", files: oneTable, args: []string{"status"}, code: 4,
			want:  []string{"migrate_state", "is not one of migrate's tables", "--state-table"},
			setup: foreignTable("migrate_state"),
			check: func(t *testing.T, e *env) { assertForeignTableKept(t, e, "migrate_state") }},
		{name: "history on a history table of another tool", files: oneTable, args: []string{"history"}, code: 4,
			want: []string{"migrate_history", "is not one of migrate's tables", "--history-table"},
			setup: func(t *testing.T, e *env) {
				e.exec(`CREATE TABLE migrate_state (version INTEGER)`)
				foreignTable("migrate_history")(t, e)
			},
			check: func(t *testing.T, e *env) { assertForeignRowKept(t, e, "migrate_history") }},
		// Edits after the fact.
		// Read as a new database, version 1 ran again: it failed on its
		// own table, and a data migration would have inserted twice.
		{name: "--state-table other than the history's runs used", files: oneTable, args: []string{"--state-table", "other_state", "up"}, code: 4,
			want:  []string{`other_state`, "does not exist", "migrate_history", "records 1 run(s)", "--state-table", "nothing was changed"},
			setup: applyFirst},
		// It showed every version as pending.
		{name: "status with a --state-table other than the history's runs used", files: oneTable, args: []string{"--state-table", "other_state", "status"}, code: 4,
			want:  []string{`other_state`, "does not exist", "records 1 run(s)"},
			setup: applyFirst},
		// It created an empty other_history and recorded version 2 there:
		// the history split in two, each looking whole.
		{name: "--history-table other than the state's runs used", files: with("0002_b.up.sql", "CREATE TABLE b (id INTEGER);", "0002_b.down.sql", "DROP TABLE b;"),
			args: []string{"--history-table", "other_history", "up"}, code: 4,
			want:  []string{`other_history`, "does not exist", "migrate_state", "records 1 version(s)", "--history-table", "nothing was changed", "migrate baseline V"},
			setup: applyFirst},
		// It said the missing table "exists but is not one of migrate's".
		{name: "history with a --history-table that does not exist", files: oneTable, args: []string{"--history-table", "other_history", "history"}, code: 4,
			want:  []string{`other_history`, "does not exist", "migrate_state", "--history-table"},
			setup: applyFirst},
		{name: "tampered state checksum", files: with("0002_b.up.sql", "CREATE TABLE b (id INTEGER);", "0002_b.down.sql", "DROP TABLE b;"),
			args: []string{"up"}, code: 6, want: []string{"version 1", "0001_a.up.sql changed after it was applied", "repair 1 --accept-checksum"},
			setup: func(t *testing.T, e *env) {
				applyFirst(t, e)
				e.exec(`UPDATE migrate_state SET checksum = 'edited' WHERE version = 1`)
			}},
		{name: "directive inside a block comment", files: map[string]string{
			"0001_a.up.sql":   "/*\n-- migrate:no-transaction\n*/\nCREATE TABLE a (id INTEGER PRIMARY KEY);\n",
			"0001_a.down.sql": "DROP TABLE a;\n",
		}, args: []string{"up"}, code: 3, want: []string{"0001_a.up.sql:2", `"migrate:no-transaction" is inside a /* */ comment or a string`}},
		{name: "directive inside a string", files: map[string]string{
			"0001_a.up.sql": "CREATE TABLE a (note VARCHAR(100));\nINSERT INTO a VALUES ('first line\n-- migrate:irreversible\n');\n",
		}, args: []string{"up"}, code: 3, want: []string{"0001_a.up.sql:3", `"migrate:irreversible" is inside`}},
		{name: "directive in a string closing before a comment", files: map[string]string{
			"0001_a.up.sql": "CREATE TABLE a (note VARCHAR(100));\nINSERT INTO a VALUES ('x\n-- migrate:irreversible '); -- note\n",
		}, args: []string{"up"}, code: 3, want: []string{"0001_a.up.sql:3", `"migrate:irreversible" is inside`}},
		{name: "tampered state status", files: with("0002_b.up.sql", "CREATE TABLE b (id INTEGER);", "0002_b.down.sql", "DROP TABLE b;"),
			args: []string{"up"}, code: 6, want: []string{"version 1", `status "weird"`, "which migrate never writes", "repair 1 --applied"},
			setup: func(t *testing.T, e *env) {
				applyFirst(t, e)
				e.exec(`UPDATE migrate_state SET status = 'weird' WHERE version = 1`)
			}},
		{name: "status shows a tampered state status", files: oneTable,
			args: []string{"status"}, want: []string{"unrecognised", `status "weird"`},
			setup: func(t *testing.T, e *env) {
				applyFirst(t, e)
				e.exec(`UPDATE migrate_state SET status = 'weird' WHERE version = 1`)
			}},
		{name: "repair of a tampered state status", files: oneTable,
			args: []string{"repair", "1", "--applied"}, want: []string{"repair", "1_a"}, applied: []int64{1},
			setup: func(t *testing.T, e *env) {
				applyFirst(t, e)
				e.exec(`UPDATE migrate_state SET status = 'weird' WHERE version = 1`)
			}},
		// SQLite keeps any value in any column: status and history said
		// "sql: Scan error on column index 4, name "applied_at": unsupported
		// Scan, storing driver.Value type string into type *time.Time".
		onlyOn("sqlite", "the other databases keep a column's type", badCase{name: "hand-edited time in the state", files: oneTable, args: []string{"status"}, code: 4,
			want: []string{"migrate_state", "version 1", `applied_at "yesterday"`, "not a time", "edited by hand"},
			setup: func(t *testing.T, e *env) {
				applyFirst(t, e)
				e.exec(`UPDATE migrate_state SET applied_at = 'yesterday'`)
			},
			check: rowsKept(`SELECT count(*) FROM migrate_state WHERE applied_at = 'yesterday'`, `SELECT count(*) FROM migrate_history`)}),
		onlyOn("sqlite", "the other databases keep a column's type", badCase{name: "hand-edited flag in the history", files: oneTable, args: []string{"history"}, code: 4,
			want: []string{"migrate_history", "id 1", `success "maybe"`, "not true or false", "edited by hand"},
			setup: func(t *testing.T, e *env) {
				applyFirst(t, e)
				e.exec(`UPDATE migrate_history SET success = 'maybe'`)
			},
			check: rowsKept(`SELECT count(*) FROM migrate_state`, `SELECT count(*) FROM migrate_history WHERE success = 'maybe'`)}),
		{name: "changed applied file", files: with("0002_b.up.sql", "CREATE TABLE b (id INTEGER);", "0002_b.down.sql", "DROP TABLE b;"),
			args: []string{"up"}, code: 6, want: []string{"0001_a.up.sql changed after it was applied"},
			setup: func(t *testing.T, e *env) {
				applyFirst(t, e)
				if err := os.WriteFile(filepath.Join(e.dir, "0001_a.up.sql"), []byte("CREATE TABLE a (id INTEGER PRIMARY KEY, x INTEGER);\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}},
		// --dry-run changes nothing, whatever the command: baseline and
		// repair wrote their rows, revert and create their files.
		{name: "baseline --dry-run", files: oneTable, args: []string{"--dry-run", "baseline", "1"}, want: []string{"dry run", "nothing was changed"}},
		{name: "repair --dry-run", files: oneTable, args: []string{"--dry-run", "repair", "1", "--accept-checksum"}, want: []string{"dry run", "nothing was changed"},
			setup: func(t *testing.T, e *env) {
				applyFirst(t, e)
				e.exec(`UPDATE migrate_state SET checksum = 'edited' WHERE version = 1`)
			}},
		usage("revert of a version that does not exist", []string{"revert", "5"}, "revert 5", "no version 5", "nothing was written"),
		{name: "revert --dry-run", files: oneTable, args: []string{"--dry-run", "revert", "1"}, want: []string{"would create", "0002_revert_a.up.sql", "nothing was written"},
			setup: applyFirst,
			check: func(t *testing.T, e *env) {
				assertApplied(t, e, []int64{1})
				assertFolder(t, e, "0001_a.down.sql", "0001_a.up.sql")
			}},
		{name: "create --dry-run", files: oneTable, args: []string{"--dry-run", "create", "b"}, want: []string{"would create", "0002_b.up.sql"},
			check: func(t *testing.T, e *env) { assertFolder(t, e, "0001_a.down.sql", "0001_a.up.sql") }},
		// Arguments and flags.
		usage("up with a word", []string{"up", "abc"}, `N must be a positive integer, got "abc"`),
		usage("up with two numbers", []string{"up", "1", "2"}, "takes at most one argument"),
		usage("down -1", []string{"down", "-1"}, "-1"),
		usage("down 0", []string{"down", "0"}, "down: N must be a positive integer, got \"0\"", "goto 0"),
		usage("up 0", []string{"up", "0"}, `up: N must be a positive integer, got "0"`),
		// It said "must be a positive integer", which it is.
		usage("up beyond int64", []string{"up", "99999999999999999999"}, "up: N 99999999999999999999 is too large: at most 9223372036854775807"),
		usage("goto beyond int64", []string{"goto", "9223372036854775808"}, "goto: V 9223372036854775808 is too large"),
		// Read as version 1: at version 5, "one forward" rolled back four.
		usage("goto with a sign", []string{"goto", "+1"}, "goto: V", `"+1"`, "not a step", "up N or down N"),
		usage("down with a sign", []string{"down", "+1"}, "down: N", `"+1"`),
		// Read as goto 0: everything was rolled back.
		func() badCase {
			c := usage("goto minus zero", []string{"goto", "-0"}, "goto: V", `"-0"`, "without a sign")
			c.setup = applyFirst
			return c
		}(),
		usage("negative lock timeout", []string{"--lock-timeout", "-5s", "up"}, "--lock-timeout must not be negative"),
		usage("goto an unknown version", []string{"goto", "99"}, "goto 99", "no migration with that version"),
		usage("baseline an unknown version", []string{"baseline", "99"}, "baseline 99", "no migration with that version"),
		// It redid the newest version, whatever 2 was meant to say.
		func() badCase {
			c := usage("redo with an argument", []string{"redo", "2"}, `redo takes no arguments, got ["2"]`)
			c.files = with("0002_b.up.sql", "CREATE TABLE b (id INTEGER);", "0002_b.down.sql", "DROP TABLE b;")
			c.setup = applyFirst
			return c
		}(),
		// Exit 4 read as "cannot connect", which invites a retry.
		usage("verify --dry-run", []string{"--dry-run", "verify", "--scratch"}, "verify cannot be a dry run", "--dry-run"),
		usage("goto without a version", []string{"goto"}, "missing argument V"),
		usage("repair without an action", []string{"repair", "1"}, "exactly one of --applied, --rolled-back, --accept-checksum, --forget"),
		usage("repair with two actions", []string{"repair", "--applied", "--forget", "1"}, "exactly one of"),
		// Arguments that do not fit the database as it is: exit 2, not 4,
		// which says the database failed and invites a retry.
		func() badCase {
			c := usage("repair of an applied version", []string{"repair", "1", "--applied"}, "repair 1 --applied", "version 1 is applied, not failed, interrupted or unrecognised")
			c.setup = applyFirst
			return c
		}(),
		// Both were refused only after migrate's tables had been created
		// in a database that never had them.
		usage("repair of a version never recorded", []string{"repair", "1", "--applied"}, "repair 1", "not recorded in the database"),
		func() badCase {
			c := usage("--single-transaction where DDL commits", []string{"up", "--single-transaction"}, "--single-transaction", "commits every DDL statement implicitly")
			c.skip = func(t *testing.T, e *env) string {
				if e.tg.transactionalDDL {
					return "this database runs --single-transaction"
				}
				return ""
			}
			return c
		}(),
		func() badCase {
			c := usage("baseline over recorded versions", []string{"baseline", "2"}, "baseline 2", "already has version 1 recorded")
			c.files = with("0002_b.up.sql", "CREATE TABLE b (id INTEGER);", "0002_b.down.sql", "DROP TABLE b;")
			c.setup = applyFirst
			return c
		}(),
		func() badCase {
			c := usage("--single-transaction with a no-transaction script", []string{"up", "--single-transaction"}, "--single-transaction", "0002_nt.up.sql", "migrate:no-transaction")
			c.files = with("0002_nt.up.sql", "-- migrate:no-transaction\nCREATE TABLE nt (id INTEGER);\n", "0002_nt.down.sql", "DROP TABLE nt;")
			// The refusal comes once the lock is held and migrate's tables
			// exist; what must not change is everything after that.
			c.setup = applyFirst
			c.skip = func(t *testing.T, e *env) string {
				if !e.tg.transactionalDDL {
					return "this database refuses --single-transaction before looking at the scripts"
				}
				return ""
			}
			return c
		}(),
		// Exit 1 said a statement failed; none had run.
		{name: "down of an irreversible migration", files: map[string]string{"0001_a.up.sql": "-- migrate:irreversible\nCREATE TABLE a (id INTEGER);\n"},
			args: []string{"down"}, code: 7, want: []string{"cannot roll back version 1", "0001_a.up.sql", "marked irreversible", "migrate revert"},
			setup: applyFirst},
		{name: "redo with nothing applied", files: oneTable, args: []string{"redo"}, applied: []int64{}, want: []string{"nothing to do"}},
		// A --dir that exists but is the wrong folder: the valid no-op keeps
		// exit 0, but says the folder holds no migrations.
		{name: "folder with no migrations, up", files: map[string]string{"README.md": "notes\n"}, args: []string{"up"}, applied: []int64{}, want: []string{"nothing to do", "holds no migration files", "check --dir"}},
		{name: "folder with no migrations, status", files: map[string]string{"README.md": "notes\n"}, args: []string{"status"}, want: []string{"holds no migration files", "check --dir"}},
		{name: "folder with no migrations, validate", files: map[string]string{}, args: []string{"validate"}, want: []string{"holds no migration files", "check --dir"}},
		// A script whose command variable came out empty: not the help and exit 0.
		usage("flags but no command", nil, "no command given"),
		// Read as an unknown flag "-1" before, which named no command.
		usage("negative version argument", []string{"goto", "-1"}, "goto: V must be a non-negative integer", `"-1"`),
		usage("unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`),
		usage("unknown flag", []string{"--frobnicate", "up"}, "unknown flag --frobnicate"),
		// "flag provided but not defined: -single-transaction" spelled it
		// with one dash and did not say whose flag it is.
		usage("another command's flag", []string{"down", "--single-transaction"}, "down has no flag --single-transaction", "it is a flag of up"),
		// Moved before the command, it took "up" as its value: help, exit 0.
		usage("flag without its value at the end", []string{"up", "--lock-timeout"}, "flag --lock-timeout needs a value"),
		// The last one won without a word: up ran the other folder.
		usage("a flag given twice", []string{"up", "--dir", "."}, "--dir is given twice", `--dir "."`, "give it once"),
		// urfave/cli said "Cannot use two forms of the same flag: d database".
		usage("a flag and its alias", []string{"-d", "sqlite:other.db", "up"}, "--database is given twice (--database ..., -d ...)"),
		usage("a command's flag given twice", []string{"repair", "1", "--applied", "--applied=false"}, `--applied is given twice (--applied "true", --applied "false")`),
		usage("bad lock timeout", []string{"--lock-timeout", "soon", "up"}, "lock-timeout", "soon"),
		usage("create with a name too long for a file", []string{"create", strings.Repeat("x", 300)}, "NAME is too long", "at most 255"),
		func() badCase {
			c := usage("empty --dir", []string{"up"}, "--dir (or MIGRATE_DIR) is empty")
			c.setup = func(t *testing.T, e *env) { e.dir = "" }
			return c
		}(),
		// --env "$UNSET" chose no environment: the rollback ran on
		// --database (or DATABASE_URL), out of reach of the environment's
		// production policy.
		func() badCase {
			c := usage("empty --env", []string{"--env", "", "down"}, "--env (or MIGRATE_ENV) is empty")
			c.setup = applyFirst
			return c
		}(),
		// Read as no --schema: the database's default schema, unannounced.
		usage("empty --schema", []string{"--schema", "", "up"}, "--schema is empty"),
		usage("empty --config", []string{"--config", "", "up"}, "--config is empty"),
		// The dialect won: the folder was linted by another database's
		// rules, and what this one refuses went unreported.
		func() badCase {
			c := usage("lint with --dialect of another database", []string{"lint", "--dialect", "mysql"}, "--dialect mysql and --database", "name different dialects")
			c.skip = func(t *testing.T, e *env) string {
				if e.tg.name == "mysql" {
					return "--dialect mysql is this database's"
				}
				return ""
			}
			return c
		}(),
		usage("SQL in a table name", []string{"--state-table", "x; drop table y", "up"}, "--state-table", "is not allowed"),
		usage("one name for both tables", []string{"--state-table", "mig", "--history-table", "MIG", "up"}, "--state-table, --history-table", "must have different names"),
		// Refused by SQLite when creating it: exit 4, as if the database
		// had failed.
		onlyOn("sqlite", "only SQLite keeps table names for itself", usage("SQLite's own table as --state-table", []string{"--state-table", "sqlite_master", "up"}, "--state-table", `"sqlite_master"`, "SQLite keeps names starting with sqlite_")),
		onlyOn("sqlite", "only SQLite keeps table names for itself", usage("SQLite's prefix in --history-table", []string{"--history-table", "SQLite_history", "status"}, "--history-table", `"SQLite_history"`, "SQLite keeps names starting with sqlite_")),
		onlyOn("sqlite", "this database has schemas", usage("--schema on SQLite", []string{"--schema", "other", "up"}, "--schema", `schema "other"`, "no schemas")),
		// Creating migrate's tables failed with "Unknown database" (exit
		// 4), and status showed every version pending.
		onlyOn("mysql", "PostgreSQL and SQL Server create a missing schema; SQLite has none", usage("--schema naming a missing database", []string{"--schema", "migrate_no_such_db", "status"}, "--schema", `database "migrate_no_such_db"`, "does not create it")),
		// Refused by the server after connecting, exit 4 with the DDL
		// quoted: "unacceptable schema name "pg_migrate"".
		onlyOn("postgres", "PostgreSQL keeps pg_ for itself", usage("--schema with PostgreSQL's prefix", []string{"--schema", "pg_migrate", "up"}, "--schema", `"pg_migrate"`, "keeps for itself")),
		// Accepted: migrate's tables went into information_schema, which
		// pg_dump does not dump.
		onlyOn("postgres", "information_schema is PostgreSQL's here", usage("--schema information_schema on PostgreSQL", []string{"--schema", "information_schema", "up"}, "--schema", `"information_schema"`, "keeps for itself")),
		// Accepted: migrate's tables went into the server's own database.
		onlyOn("mysql", "mysql and sys are MySQL's", usage("--schema naming a MySQL system database", []string{"--schema", "mysql", "up"}, "--schema", `"mysql"`, "keeps for itself")),
		onlyOn("mysql", "mysql and sys are MySQL's", usage("--schema sys on MySQL", []string{"--schema", "sys", "status"}, "--schema", `"sys"`, "keeps for itself")),
		// "CREATE SCHEMA MigrateMixed" made migratemixed, and migrate,
		// which quotes the name, created a second schema "MigrateMixed"
		// beside it and kept its tables there.
		onlyOn("postgres", "PostgreSQL folds unquoted names to lower case", func() badCase {
			c := usage("--schema in another case than the schema", []string{"--schema", "MigrateMixed", "up"}, "--schema", `"MigrateMixed"`, `"migratemixed"`, "lower case")
			c.setup = func(t *testing.T, e *env) { e.exec(`CREATE SCHEMA MigrateMixed`) }
			return c
		}()),
		usage("SQL in a schema name", []string{"--schema", `s"; drop table y; --`, "up"}, "--schema", "is not allowed"),
	}
}

// withSetup returns c with setup to prepare the database or folder.
func withSetup(setup func(*testing.T, *env), c badCase) badCase {
	c.setup = setup
	return c
}

// scriptRole creates a PostgreSQL role that may create tables in the test
// database but not write migrate's, and writes its name where a script of
// the folder says {role}.
func scriptRole(t *testing.T, e *env) {
	t.Helper()
	name := strings.Replace(testdb.Name(), "migrate_t_", "migrate_role_", 1)
	e.exec(`CREATE ROLE ` + name)
	t.Cleanup(func() {
		_, _ = e.db().Exec(`DROP OWNED BY ` + name)
		_, _ = e.db().Exec(`DROP ROLE IF EXISTS ` + name)
	})
	e.exec(`GRANT USAGE, CREATE ON SCHEMA public TO ` + name)
	entries, err := os.ReadDir(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range entries {
		path := filepath.Join(e.dir, en.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(b), "{role}", name)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// sqliteFileName is a SQLite URL (made by url) naming a file in a folder of
// its own, which the command must refuse (exit 2) leaving that folder empty.
func sqliteFileName(name string, url func(dir string) string, want ...string) badCase {
	var dir string
	return badCase{name: name, files: oneTable, args: []string{"up"}, code: 2, want: append([]string{"--database"}, want...),
		skip: only("sqlite", "only SQLite names a file"),
		url: func(t *testing.T, e *env) string {
			dir = t.TempDir()
			return url(dir)
		},
		check: func(t *testing.T, e *env) {
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Fatalf("the refused URL left %v behind", entries)
			}
		}}
}

// rowsKept checks, where migrate cannot read its own tables to compare
// them, that each query still counts one row.
func rowsKept(queries ...string) func(*testing.T, *env) {
	return func(t *testing.T, e *env) {
		t.Helper()
		for _, q := range queries {
			var n int
			if err := e.db().QueryRow(q).Scan(&n); err != nil || n != 1 {
				t.Fatalf("%s: %d row(s), %v; want 1", q, n, err)
			}
		}
	}
}

// assertFolder checks that the migration folder holds exactly the files named.
func assertFolder(t *testing.T, e *env, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range entries {
		got = append(got, en.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Fatalf("the folder holds %v, want %v", got, names)
	}
}

// assertForeignRowKept checks that another tool's table still has its own
// columns and row.
func assertForeignRowKept(t *testing.T, e *env, table string) {
	t.Helper()
	var id int
	var note string
	if err := e.db().QueryRow(`SELECT id, note FROM `+table).Scan(&id, &note); err != nil || id != 7 || note != "theirs" {
		t.Fatalf("%s was changed: %v (id %d, note %q)", table, err, id, note)
	}
}

// assertForeignTableKept checks that another tool's table still has its
// own columns and row, and that migrate left no state of its own beside it
// where DDL is transactional.
func assertForeignTableKept(t *testing.T, e *env, table string) {
	t.Helper()
	assertForeignRowKept(t, e, table)
	objs := e.schemaObjects()
	other := map[string]string{"migrate_history": "migrate_state", "migrate_state": "migrate_history"}[table]
	if e.tg.transactionalDDL && objs[other] {
		t.Fatalf("%s was created although the run was refused: %v", other, objs)
	}
}

// goInternal are pieces of Go's and its libraries' own error texts, which
// name a function or a type rather than the input at fault.
var goInternal = []string{"strconv.", "sql: no rows", "sql: Scan error", "goroutine ", "panic:", ": stat "}

func TestBadInput(t *testing.T) {
	cases := badInputCases()
	if len(cases) < 30 {
		t.Fatalf("the catalogue has %d cases; keep at least 30", len(cases))
	}
	forEachTarget(t, func(t *testing.T, tg target) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e := newEnv(t, tg, writeFiles(t, c.files))
				if c.skip != nil {
					if why := c.skip(t, e); why != "" {
						t.Skip(why)
					}
				}
				if c.setup != nil {
					c.setup(t, e)
				}
				dbURL := e.url
				if c.url != nil {
					dbURL = c.url(t, e)
				}
				var before snapshot
				if c.applied == nil && c.check == nil {
					before = e.snapshot()
				}
				out, code := runCLI(t, append([]string{"--database", dbURL, "--dir", e.dir}, c.args...)...)
				if c.acceptedMeans != "" && code == 0 {
					t.Skipf("%s:\n%s", c.acceptedMeans, out)
				}
				if code != c.code {
					t.Fatalf("exit %d, want %d; output:\n%s", code, c.code, out)
				}
				for _, w := range c.want {
					if !strings.Contains(out, w) {
						t.Errorf("output lacks %q:\n%s", w, out)
					}
				}
				if strings.Contains(out, "Incorrect Usage") || strings.Contains(out, "GLOBAL OPTIONS") {
					t.Errorf("a bad input should get one clear line, not a page of help:\n%s", out)
				}
				for _, internal := range goInternal {
					if strings.Contains(out, internal) {
						t.Errorf("output holds Go's own wording %q, which tells the user nothing:\n%s", internal, out)
					}
				}
				switch {
				case c.applied != nil:
					assertApplied(t, e, c.applied)
				case c.check != nil:
					c.check(t, e)
				default:
					e.assertUnchanged(before)
				}
			})
		}
	})
}

// assertApplied checks that exactly the versions given are applied, each
// with one successful history row.
func assertApplied(t *testing.T, e *env, versions []int64) {
	t.Helper()
	st := e.state()
	if len(st) != len(versions) {
		t.Fatalf("state has %d rows, want %d: %+v", len(st), len(versions), st)
	}
	ups := map[int64]int{}
	for _, h := range e.history() {
		if h.Direction == migrator.Up && h.Success {
			ups[h.Version]++
		}
	}
	for i, v := range versions {
		if st[i].Version != v || st[i].Status != migrator.StatusApplied {
			t.Fatalf("state row %d is %+v, want version %d applied", i, st[i], v)
		}
		if ups[v] != 1 {
			t.Fatalf("version %d has %d successful up rows in history, want 1", v, ups[v])
		}
	}
}
