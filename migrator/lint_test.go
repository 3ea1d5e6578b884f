package migrator_test

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	_ "github.com/migrate-dev/migrate/drivers/postgres"
	_ "github.com/migrate-dev/migrate/drivers/sqlite"
	"github.com/migrate-dev/migrate/migrator"
	"github.com/migrate-dev/migrate/migrator/sqlsplit"
)

// lintCase is one migration, version 1, linted under a dialect. want lists
// "up:LINE:RULE:SEVERITY" or "down:..." findings, in any order.
type lintCase struct {
	name    string
	dialect string
	up      string
	down    string // "-" for an irreversible migration with no down file
	want    []string
}

var lintCases = []lintCase{
	// Strings, comments and quoted names are not SQL.
	{name: "string literal is not a statement", dialect: "sqlite",
		up: "INSERT INTO notes VALUES ('drop table x');\n", down: "DELETE FROM notes WHERE body = 'DELETE FROM notes';\n"},
	{name: "comment is not a statement", dialect: "postgres",
		up: "-- DROP TABLE customers;\n/* TRUNCATE orders; /* nested */ DELETE FROM x; */\nCREATE TABLE a (id int);\n", down: "DROP TABLE a; -- drops\n",
		want: []string{"down:1:drop-table:warning"}},
	{name: "dollar-quoted string is not a statement", dialect: "postgres",
		up: "INSERT INTO notes VALUES ($$drop table x$$, $tag$truncate y$tag$);\n", down: "DELETE FROM notes WHERE id = 1;\n"},
	{name: "E string with escaped quote", dialect: "postgres",
		up: "INSERT INTO notes VALUES (E'it\\'s; DROP TABLE x');\n", down: "DELETE FROM notes WHERE id = 1;\n"},
	{name: "quoted identifier spelling a keyword", dialect: "sqlite",
		up: "UPDATE \"delete\" SET [where] = 1 WHERE id = 2;\n", down: "UPDATE \"delete\" SET [where] = 0 WHERE id = 2;\n"},
	{name: "routine bodies are not linted", dialect: "postgres",
		up:   "CREATE FUNCTION purge() RETURNS void LANGUAGE sql BEGIN ATOMIC DELETE FROM logs; END;\nCREATE FUNCTION p2() RETURNS void AS $$ BEGIN DROP TABLE x; END $$ LANGUAGE plpgsql;\n",
		down: "DROP FUNCTION p2();\nDROP FUNCTION purge();\n"},
	{name: "trigger body is not linted", dialect: "sqlite",
		up: "CREATE TRIGGER trim AFTER INSERT ON a BEGIN\n  DELETE FROM b;\nEND;\n", down: "DROP TRIGGER trim;\n"},
	{name: "foreign key ON DELETE is not a delete", dialect: "postgres",
		up: "ALTER TABLE o ADD CONSTRAINT fk FOREIGN KEY (c) REFERENCES c (id) ON DELETE CASCADE ON UPDATE CASCADE;\n", down: "ALTER TABLE o DROP CONSTRAINT fk;\n"},

	// Destructive statements: errors in up, warnings in down.
	{name: "drop table list", dialect: "postgres",
		up: "CREATE TABLE a (id int);\n\nDROP TABLE IF EXISTS old_a, public.old_b CASCADE;\n", down: "DROP TABLE a;\n",
		want: []string{"up:3:drop-table:error", "up:3:drop-table:error", "down:1:drop-table:warning"}},
	{name: "drop column at its own line", dialect: "postgres",
		up: "ALTER TABLE t\n  ADD COLUMN x int,\n  DROP COLUMN y,\n  DROP CONSTRAINT t_k;\n", down: "ALTER TABLE t ADD COLUMN y int, DROP x;\n",
		want: []string{"up:3:drop-column:error", "down:1:drop-column:warning"}},
	{name: "sqlite drop column", dialect: "sqlite",
		up: "ALTER TABLE customers ADD COLUMN code TEXT;\n", down: "ALTER TABLE customers DROP COLUMN code;\n",
		want: []string{"down:1:drop-column:warning"}},
	{name: "drop schema and database", dialect: "postgres",
		up: "DROP SCHEMA reporting CASCADE;\n", down: "CREATE SCHEMA reporting;\n",
		want: []string{"up:1:drop-schema:error"}},
	{name: "truncate", dialect: "sqlite",
		up: "CREATE TABLE s (id int);\n", down: "TRUNCATE TABLE s;\n",
		want: []string{"down:1:truncate:warning"}},
	{name: "delete without where, and with", dialect: "sqlite",
		up: "DELETE FROM sessions;\nDELETE FROM carts WHERE id IN (SELECT id FROM old);\nDELETE FROM tokens -- WHERE expired\n;\n", down: "SELECT 1;\n",
		want: []string{"up:1:delete-without-where:error", "up:3:delete-without-where:error"}},
	{name: "where only inside a subquery does not count", dialect: "postgres",
		up: "UPDATE t SET x = (SELECT max(y) FROM u WHERE u.id = t.id);\nDELETE FROM t USING u WHERE t.id = u.id;\n", down: "SELECT 1;\n",
		want: []string{"up:1:update-without-where:warning"}},
	{name: "delete in a common table expression statement", dialect: "postgres",
		up: "WITH gone AS (SELECT id FROM t WHERE old)\nDELETE FROM t;\n", down: "SELECT 1;\n",
		want: []string{"up:2:delete-without-where:error"}},

	// Rollout breakers.
	{name: "column type change", dialect: "postgres",
		up:   "ALTER TABLE t ALTER COLUMN c TYPE bigint, ALTER COLUMN d SET NOT NULL, ALTER e SET DATA TYPE text, ALTER COLUMN f SET DEFAULT 1;\n",
		down: "ALTER TABLE t ALTER COLUMN c TYPE int;\n",
		want: []string{"up:1:column-type-change:warning", "up:1:column-type-change:warning", "down:1:column-type-change:warning"}},
	{name: "renames", dialect: "sqlite",
		up: "ALTER TABLE a RENAME TO b;\nALTER TABLE b RENAME COLUMN x TO y;\n", down: "ALTER TABLE b RENAME COLUMN y TO x;\nALTER TABLE b RENAME TO a;\n",
		want: []string{"up:1:rename:warning", "up:2:rename:warning", "down:1:rename:warning", "down:2:rename:warning"}},
	{name: "rename constraint is not a rename of data", dialect: "postgres",
		up: "ALTER TABLE a RENAME CONSTRAINT k1 TO k2;\n", down: "ALTER TABLE a RENAME CONSTRAINT k2 TO k1;\n"},

	// Statements that cannot run in a transaction.
	{name: "create index concurrently", dialect: "postgres",
		up: "CREATE INDEX CONCURRENTLY i ON t (c);\n", down: "DROP INDEX CONCURRENTLY i;\n",
		want: []string{"up:1:non-transactional-statement-in-transaction:error", "down:1:non-transactional-statement-in-transaction:error"}},
	{name: "no-transaction directive allows it", dialect: "postgres",
		up: "-- migrate:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);\n", down: "-- migrate:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS i;\n"},
	{name: "vacuum on sqlite", dialect: "sqlite",
		up: "VACUUM;\n", down: "SELECT 1;\n",
		want: []string{"up:1:non-transactional-statement-in-transaction:error"}},
	// SQLite ignores them inside a transaction without an error; asking
	// for a value is fine, and on other databases they mean nothing here.
	{name: "sqlite settings a transaction keeps", dialect: "sqlite",
		up: "PRAGMA foreign_keys = OFF;\nPRAGMA main.journal_mode=WAL;\nPRAGMA synchronous(0);\nPRAGMA foreign_keys;\nPRAGMA defer_foreign_keys = ON;\n", down: "-- migrate:no-transaction\nPRAGMA foreign_keys = OFF;\n",
		want: []string{"up:1:non-transactional-statement-in-transaction:error", "up:2:non-transactional-statement-in-transaction:error", "up:3:non-transactional-statement-in-transaction:error"}},
	{name: "more that postgres refuses in a transaction", dialect: "postgres",
		up:   "DISCARD ALL;\nREINDEX (VERBOSE) SCHEMA public;\nREINDEX DATABASE d;\nCLUSTER;\nCLUSTER VERBOSE;\nALTER TABLE pt DETACH PARTITION pt1 CONCURRENTLY;\nALTER DATABASE d SET TABLESPACE t;\n",
		down: "DISCARD PLANS;\nREINDEX TABLE t;\nREINDEX INDEX database_idx;\nCLUSTER t USING t_pkey;\nALTER TABLE pt DETACH PARTITION pt1;\nALTER DATABASE d SET work_mem = '8MB';\n",
		want: []string{"up:1:non-transactional-statement-in-transaction:error", "up:2:non-transactional-statement-in-transaction:error", "up:3:non-transactional-statement-in-transaction:error", "up:4:non-transactional-statement-in-transaction:error", "up:5:non-transactional-statement-in-transaction:error", "up:6:non-transactional-statement-in-transaction:error", "up:7:non-transactional-statement-in-transaction:error"}},
	{name: "enum value and database", dialect: "postgres",
		up: "ALTER TYPE mood ADD VALUE 'meh';\nCREATE DATABASE reports;\n", down: "SELECT 1;\n",
		want: []string{"up:1:non-transactional-statement-in-transaction:warning", "up:2:non-transactional-statement-in-transaction:error"}},

	// Reversibility.
	{name: "irreversible", dialect: "sqlite",
		up: "-- migrate:irreversible\nCREATE TABLE a (id int);\n", down: "-",
		want: []string{"up:1:up-without-down:warning"}},
	{name: "empty down", dialect: "sqlite",
		up: "CREATE TABLE a (id int);\n", down: "-- nothing to undo\n",
		want: []string{"down:1:empty-down:warning"}},
	{name: "empty up and down", dialect: "sqlite", up: "-- placeholder\n", down: ""},

	// Suppression and syntax.
	{name: "lint:ignore silences the next statement only", dialect: "sqlite",
		up: "-- lint:ignore delete-without-where: the table is a cache\nDELETE FROM cache;\nDELETE FROM cache2;\n", down: "SELECT 1;\n",
		want: []string{"up:3:delete-without-where:error"}},
	{name: "unterminated string", dialect: "postgres",
		up: "SELECT 1;\nINSERT INTO a VALUES ('oops);\n", down: "SELECT 1;\n",
		want: []string{"up:2:syntax:error"}},
}

// inlineDialects stand in for drivers that are not in this package's
// imports: the rules for semicolon-free T-SQL batches and MySQL's quoting
// are tested here with the lexical settings those drivers use.
var inlineDialects = map[string]migrator.Dialect{
	"tsql":  {Name: "sqlserver", Lex: sqlsplit.Dialect{Brackets: true, BatchSeparator: "GO"}},
	"mysql": {Name: "mysql", Lex: sqlsplit.Dialect{Backticks: true, HashComments: true, DashCommentNeedsSpace: true, BackslashEscapes: true, DoubleQuoteStrings: true, Delimiter: true, BeginEnd: true}},
}

var moreLintCases = []lintCase{
	{name: "T-SQL batch without semicolons", dialect: "tsql",
		up:   "CREATE TABLE [x] (id INT REFERENCES y ON DELETE CASCADE)\nDROP TABLE old_x\nDELETE FROM logs\nGO\nALTER TABLE t ALTER COLUMN c BIGINT NOT NULL\nGO\n",
		down: "ALTER TABLE t DROP COLUMN a, b\nGO\nEXEC sp_rename 'dbo.t.c', 'd', 'COLUMN'\nGO\nCREATE DATABASE reports\n",
		want: []string{"up:2:drop-table:error", "up:3:delete-without-where:error", "up:5:column-type-change:warning",
			"down:1:drop-column:warning", "down:1:drop-column:warning", "down:3:rename:warning", "down:5:non-transactional-statement-in-transaction:error"}},
	{name: "T-SQL grants and MERGE are not deletes", dialect: "tsql",
		up:   "GRANT DELETE, UPDATE ON t TO app\nMERGE t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET t.v = s.v WHEN NOT MATCHED BY SOURCE THEN DELETE;\n",
		down: "REVOKE DELETE, UPDATE ON t FROM app\n"},
	{name: "MySQL quoting, MODIFY, CHANGE and RENAME TABLE", dialect: "mysql",
		up:   "# DROP TABLE x\nINSERT INTO notes VALUES ('it\\'s; DROP TABLE x', \"TRUNCATE y\");\nALTER TABLE `t` MODIFY COLUMN c BIGINT, CHANGE d e INT;\nRENAME TABLE a TO b;\n",
		down: "RENAME TABLE b TO a;\nALTER TABLE `t` CHANGE e d INT, MODIFY c INT, DROP `e2`;\n",
		want: []string{"up:3:column-type-change:warning", "up:3:column-type-change:warning", "up:3:rename:warning", "up:4:rename:warning",
			"down:1:rename:warning", "down:2:column-type-change:warning", "down:2:column-type-change:warning", "down:2:rename:warning", "down:2:drop-column:warning"}},
	{name: "MySQL: no transaction rule (DDL commits anyway)", dialect: "mysql",
		up: "CREATE DATABASE reports;\n", down: "SELECT 1;\n"},
}

func TestLint(t *testing.T) {
	lintCases := append(append([]lintCase(nil), lintCases...), moreLintCases...)
	for _, tc := range lintCases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"m/0001_x.up.sql": {Data: []byte(tc.up)}}
			if tc.down != "-" {
				fsys["m/0001_x.down.sql"] = &fstest.MapFile{Data: []byte(tc.down)}
			}
			src, err := migrator.Load(fsys, "m")
			if err != nil {
				t.Fatal(err)
			}
			d, ok := inlineDialects[tc.dialect]
			if !ok {
				d, err = migrator.LookupDialect(tc.dialect)
				if err != nil {
					t.Fatal(err)
				}
			}
			var got []string
			for _, f := range migrator.Lint(src, d) {
				if f.Line <= 0 || f.Message == "" || f.Version != 1 {
					t.Errorf("finding lacks a line, message or version: %+v", f)
				}
				dir := strings.TrimSuffix(strings.TrimPrefix(path.Base(f.File), "0001_x."), ".sql")
				got = append(got, fmt.Sprintf("%s:%d:%s:%s", dir, f.Line, f.Rule, f.Severity))
			}
			want := append([]string(nil), tc.want...)
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("findings:\n got %v\nwant %v", got, want)
			}
		})
	}
}

func TestLintNamesTablesAndColumns(t *testing.T) {
	src, err := migrator.Load(fstest.MapFS{
		"m/0001_x.up.sql":   {Data: []byte("CREATE TABLE \"Order\" (id int, note text);\n")},
		"m/0001_x.down.sql": {Data: []byte("ALTER TABLE \"Order\" DROP COLUMN note;\nDROP TABLE \"Order\";\n")},
	}, "m")
	if err != nil {
		t.Fatal(err)
	}
	d, _ := migrator.LookupDialect("postgres")
	f := migrator.Lint(src, d)
	if len(f) != 2 || f[0].Table != `"Order"` || f[0].Column != "note" || !f[0].Destructive || f[1].Table != `"Order"` || f[1].Column != "" {
		t.Fatalf("findings do not name the table and column as written: %+v", f)
	}
}

func TestDialectRegistry(t *testing.T) {
	d, err := migrator.DialectForURL("postgresql://app:s3cret@db.example/shop")
	if err != nil || d.Name != "postgres" {
		t.Fatalf("postgresql:// URL: %v %+v", err, d)
	}
	if d, err := migrator.DialectForURL("sqlite:app.db"); err != nil || d.Name != "sqlite" {
		t.Fatalf("sqlite: URL: %v %+v", err, d)
	}
	_, err = migrator.DialectForURL("oracle://app:s3cret@db/x")
	if err == nil || !strings.Contains(err.Error(), "known: ") || !strings.Contains(err.Error(), "postgres") {
		t.Fatalf("unknown scheme: want an error listing the known dialects, got %v", err)
	}
	if _, err := migrator.DialectForURL("no scheme at all"); err == nil {
		t.Fatal("a URL without a scheme gave no error")
	}
}

// BenchmarkLint lints a folder of 500 migrations of five statements each.
func BenchmarkLint(b *testing.B) {
	fsys := fstest.MapFS{}
	for v := 1; v <= 500; v++ {
		fsys[fmt.Sprintf("m/%04d_x.up.sql", v)] = &fstest.MapFile{Data: []byte(fmt.Sprintf(`-- migration %d
CREATE TABLE t%d (id INT PRIMARY KEY, note TEXT DEFAULT 'drop table x');
INSERT INTO t%d (id, note) VALUES (1, 'a'), (2, 'b');
ALTER TABLE t%d ADD COLUMN extra INT, ALTER COLUMN note SET NOT NULL;
UPDATE t%d SET extra = 1 WHERE id = 1;
CREATE INDEX t%d_extra ON t%d (extra);
`, v, v, v, v, v, v, v))}
		fsys[fmt.Sprintf("m/%04d_x.down.sql", v)] = &fstest.MapFile{Data: []byte(fmt.Sprintf("DROP TABLE t%d;\n", v))}
	}
	src, err := migrator.Load(fsys, "m")
	if err != nil {
		b.Fatal(err)
	}
	d, _ := migrator.LookupDialect("postgres")
	b.ResetTimer()
	for range b.N {
		if n := len(migrator.Lint(src, d)); n != 500 {
			b.Fatalf("%d findings, want 500", n)
		}
	}
}
