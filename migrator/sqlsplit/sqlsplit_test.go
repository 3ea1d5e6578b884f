package sqlsplit_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/migrate-dev/migrate/migrator/sqlsplit"
)

var (
	postgres = sqlsplit.Dialect{DollarQuotes: true, NestedComments: true, BeginEnd: true, Parens: true, NoCopyFromStdin: true}
	sqlite   = sqlsplit.Dialect{Brackets: true, Backticks: true, BeginEnd: true}
)

type splitCase struct {
	name  string
	d     sqlsplit.Dialect
	in    string
	texts []string
	lines []int
}

func TestSplit(t *testing.T) {
	cases := []splitCase{
		{"empty", postgres, "", nil, nil},
		{"comment only", postgres, "-- nothing\n/* at all */\n", nil, nil},
		{"two statements", postgres, "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n",
			[]string{"CREATE TABLE a (id int)", "CREATE TABLE b (id int)"}, []int{1, 2}},
		{"no trailing semicolon", postgres, "SELECT 1;\nSELECT 2",
			[]string{"SELECT 1", "SELECT 2"}, []int{1, 2}},
		{"leading comment skipped", postgres, "-- make a\n\nCREATE TABLE a (id int);",
			[]string{"CREATE TABLE a (id int)"}, []int{3}},
		{"semicolon in string", postgres, "INSERT INTO t VALUES ('a;b');SELECT 1;",
			[]string{"INSERT INTO t VALUES ('a;b')", "SELECT 1"}, []int{1, 1}},
		{"doubled quote", postgres, "SELECT 'it''s; fine';",
			[]string{"SELECT 'it''s; fine'"}, []int{1}},
		{"E string backslash", postgres, `SELECT E'a\';b';SELECT 2;`,
			[]string{`SELECT E'a\';b'`, "SELECT 2"}, []int{1, 1}},
		{"plain string keeps backslash", postgres, `SELECT 'a\';SELECT 2;`,
			[]string{`SELECT 'a\'`, "SELECT 2"}, []int{1, 1}},
		{"quoted identifier", postgres, `CREATE TABLE "we;ird" (id int);`,
			[]string{`CREATE TABLE "we;ird" (id int)`}, []int{1}},
		{"dollar body", postgres, "CREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;\nSELECT f();",
			[]string{"CREATE FUNCTION f() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql", "SELECT f()"}, []int{1, 6}},
		{"tagged dollar body with $$ inside", postgres, "DO $body$ BEGIN PERFORM '$$;'; END $body$;SELECT 1;",
			[]string{"DO $body$ BEGIN PERFORM '$$;'; END $body$", "SELECT 1"}, []int{1, 1}},
		{"positional parameter is not a dollar quote", postgres, "PREPARE p AS SELECT $1;SELECT 2;",
			[]string{"PREPARE p AS SELECT $1", "SELECT 2"}, []int{1, 1}},
		{"nested comment", postgres, "/* a /* b; */ c; */ SELECT 1;",
			[]string{"SELECT 1"}, []int{1}},
		{"begin atomic", postgres, "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\nSELECT 3;",
			[]string{"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END", "SELECT 3"}, []int{1, 2}},
		{"transaction statements split", postgres, "BEGIN;\nSELECT 1;\nCOMMIT;",
			[]string{"BEGIN", "SELECT 1", "COMMIT"}, []int{1, 2, 3}},
		{"case in select", postgres, "SELECT CASE WHEN x THEN 1 END FROM t;SELECT 2;",
			[]string{"SELECT CASE WHEN x THEN 1 END FROM t", "SELECT 2"}, []int{1, 1}},
		{"identifier containing begin", postgres, "CREATE TABLE t (begin_at int, ended int);SELECT 1;",
			[]string{"CREATE TABLE t (begin_at int, ended int)", "SELECT 1"}, []int{1, 1}},
		{"crlf", postgres, "SELECT 1;\r\n\r\nSELECT 2;\r\n",
			[]string{"SELECT 1", "SELECT 2"}, []int{1, 3}},
		{"sqlite trigger", sqlite, "CREATE TRIGGER tr AFTER INSERT ON a BEGIN\n  INSERT INTO b VALUES (1);\n  UPDATE c SET n = n + 1;\nEND;\nSELECT 1;",
			[]string{"CREATE TRIGGER tr AFTER INSERT ON a BEGIN\n  INSERT INTO b VALUES (1);\n  UPDATE c SET n = n + 1;\nEND", "SELECT 1"}, []int{1, 5}},
		{"sqlite trigger with case", sqlite, "CREATE TRIGGER tr AFTER INSERT ON a BEGIN SELECT CASE WHEN 1 THEN 2 END; END;SELECT 1;",
			[]string{"CREATE TRIGGER tr AFTER INSERT ON a BEGIN SELECT CASE WHEN 1 THEN 2 END; END", "SELECT 1"}, []int{1, 1}},
		{"sqlite brackets and backticks", sqlite, "CREATE TABLE [a;b] (`c;d` int);SELECT 1;",
			[]string{"CREATE TABLE [a;b] (`c;d` int)", "SELECT 1"}, []int{1, 1}},
		{"non-ascii", postgres, "INSERT INTO t VALUES ('Café ☕; 日本');\nSELECT 1;",
			[]string{"INSERT INTO t VALUES ('Café ☕; 日本')", "SELECT 1"}, []int{1, 2}},
		{"empty statements skipped", postgres, ";;\n;SELECT 1;;",
			[]string{"SELECT 1"}, []int{2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := sqlsplit.Split(c.in, c.d)
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			var lines []int
			for _, s := range got {
				texts = append(texts, s.Text)
				lines = append(lines, s.Line)
				if c.in[s.Start:s.End] != s.Text {
					t.Errorf("offsets [%d:%d] do not match text %q", s.Start, s.End, s.Text)
				}
			}
			if !reflect.DeepEqual(texts, c.texts) {
				t.Errorf("texts:\n got %q\nwant %q", texts, c.texts)
			}
			if !reflect.DeepEqual(lines, c.lines) {
				t.Errorf("lines: got %v, want %v", lines, c.lines)
			}
		})
	}
}

func TestSplitErrors(t *testing.T) {
	cases := []struct {
		name, in string
		d        sqlsplit.Dialect
		line     int
		msg      string
	}{
		{"unterminated string", "SELECT 1;\nSELECT 'abc;\n", postgres, 2, "unterminated string literal"},
		{"unterminated identifier", "SELECT \"abc;\n", postgres, 1, "unterminated quoted identifier"},
		{"unterminated comment", "SELECT 1;\n\n/* never closed", postgres, 3, "unterminated /* comment"},
		{"unterminated nested comment", "/* a /* b */ SELECT 1;", postgres, 1, "unterminated /* comment"},
		{"unterminated dollar quote", "SELECT 1;\nDO $fn$ BEGIN END $$;\n", postgres, 2, "unterminated dollar-quoted string (opened with $fn$)"},
		{"unterminated bracket", "SELECT [a;", sqlite, 1, "unterminated bracketed identifier"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := sqlsplit.Split(c.in, c.d)
			var se *sqlsplit.SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("want SyntaxError, got %v", err)
			}
			if se.Line != c.line || !strings.Contains(se.Msg, c.msg) {
				t.Fatalf("got line %d %q, want line %d %q", se.Line, se.Msg, c.line, c.msg)
			}
		})
	}
}

func TestCommentStarts(t *testing.T) {
	mysql := sqlsplit.Dialect{Backticks: true, HashComments: true, DashCommentNeedsSpace: true, BackslashEscapes: true, DoubleQuoteStrings: true, Delimiter: true, BeginEnd: true}
	for _, c := range []struct {
		name string
		d    sqlsplit.Dialect
		in   string
		want []int
	}{
		{"top level", postgres, "-- a\nSELECT 1; -- b\n  -- c\n", []int{0, 15, 22}},
		{"inside a block comment", postgres, "/*\n-- a\n/* nested */\n-- b\n*/\n-- c\n", []int{29}},
		{"inside strings", postgres, "SELECT '\n-- a\n', $x$\n-- b\n$x$, \"\n-- c\n\";\n", []int{}},
		{"a string closing on the line", postgres, "SELECT 'x\n-- a '); -- b\n", []int{19}},
		{"MySQL hash and escapes", mysql, "# a\nSELECT 'it\\'s\n-- b\n'; -- c\nSELECT 1--1;\n", []int{0, 26}},
	} {
		got, err := sqlsplit.CommentStarts(c.in, c.d)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: comments start at %v, %v; want %v", c.name, got, err, c.want)
		}
	}
	if _, err := sqlsplit.CommentStarts("SELECT 'open", postgres); err == nil {
		t.Error("an unterminated string: no error")
	}
}
