package sqlsplit

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// The dialect presets of drivers/postgres and drivers/sqlite, written here
// rather than imported because the drivers import this package (MySQL's
// and SQL Server's are in mysql_test.go and sqlserver_test.go).
var (
	postgresDialect = Dialect{DollarQuotes: true, NestedComments: true, BeginEnd: true, Parens: true, NoCopyFromStdin: true}
	sqliteDialect   = Dialect{Brackets: true, Backticks: true, BeginEnd: true}
)

// seeds are scripts that reach every rule of the lexer; each fuzz target
// starts from all of them, plus its corpus under testdata/fuzz.
var seeds = []string{
	"",
	"SELECT 1",
	"CREATE TABLE a (id INT);\nCREATE INDEX a_id ON a (id);\n",
	"-- only a comment\n",
	"/* block */ SELECT 1; /* trailing */",
	"/* outer /* nested */ still */ SELECT 2;",
	"INSERT INTO t VALUES ('it''s; fine');",
	"SELECT E'a\\'b;c';",
	"SELECT \"weird;name\" FROM t;",
	"CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\nSELECT 2;",
	"CREATE TABLE t (a int);\nCOPY t (a) FROM stdin;\n1\n\\.\n",
	"SELECT 1;\n\\i other.sql\nSOURCE x.sql;\n",
	"DO $body$ BEGIN RAISE NOTICE 'x;'; END $body$;",
	"CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\nSELECT 3;",
	"CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET n = n + 1; END;\nSELECT 1;",
	"SELECT `a;b`, [c;d] FROM t;",
	"SELECT 1; # hash comment ;\nSELECT 'a\\'b';",
	"DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\nDELIMITER ;\nCALL p();",
	"CREATE PROCEDURE q() BEGIN IF 1 THEN SELECT 1; END IF; END;\nSELECT 2;",
	"SELECT CASE WHEN 1 THEN 'a;' ELSE 'b' END;",
	"CREATE TABLE a (id INT);\nGO\nSELECT 1; SELECT 2;\nGO 3\nPRINT 'x'\ngo -- done\n",
	"SELECT 1;\r\nSELECT 2;\r\n",
	"\ufeffSELECT 1;",
	"SELECT 'unterminated",
	"SELECT $$ unterminated",
	"/* unterminated",
	"SELECT [unterminated",
}

func fuzzDialect(f *testing.F, d Dialect) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, script string) {
		checkSplit(t, script, d)
	})
}

func FuzzSplitPostgres(f *testing.F)  { fuzzDialect(f, postgresDialect) }
func FuzzSplitSQLite(f *testing.F)    { fuzzDialect(f, sqliteDialect) }
func FuzzSplitMySQL(f *testing.F)     { fuzzDialect(f, mysqlDialect) }
func FuzzSplitSQLServer(f *testing.F) { fuzzDialect(f, sqlServer) }

// checkSplit asserts the splitter's contract on one script: statements in
// order and not overlapping, each Text the exact bytes at [Start, End),
// Line right, and every byte between statements something a database would
// ignore (space, a comment, the delimiter, a DELIMITER or GO line).
func checkSplit(t *testing.T, script string, d Dialect) {
	t.Helper()
	stmts, err := Split(script, d)
	if err != nil {
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Fatalf("error is %T, not a *SyntaxError: %v", err, err)
		}
		if lines := strings.Count(script, "\n") + 1; se.Line < 1 || se.Line > lines || se.Column < 1 {
			t.Fatalf("syntax error points outside the script (%d lines): %v", lines, err)
		}
		return
	}
	prevEnd := 0
	delim := ";"
	for i, st := range stmts {
		if st.Start < prevEnd || st.End <= st.Start || st.End > len(script) {
			t.Fatalf("statement %d spans [%d,%d) after previous end %d in a script of %d bytes", i+1, st.Start, st.End, prevEnd, len(script))
		}
		if st.Text != script[st.Start:st.End] {
			t.Fatalf("statement %d: Text %q is not script[%d:%d] = %q", i+1, st.Text, st.Start, st.End, script[st.Start:st.End])
		}
		if want := 1 + strings.Count(script[:st.Start], "\n"); st.Line != want {
			t.Fatalf("statement %d (%q): Line %d, want %d", i+1, st.Text, st.Line, want)
		}
		if st.Repeat < 1 {
			t.Fatalf("statement %d: Repeat %d", i+1, st.Repeat)
		}
		checkGap(t, script, prevEnd, st.Start, d, &delim)
		prevEnd = st.End
	}
	checkGap(t, script, prevEnd, len(script), d, &delim)

	again, err := Split(script, d)
	if err != nil || len(again) != len(stmts) {
		t.Fatalf("second split differs: %d statements, %v", len(again), err)
	}
}

var (
	goLine = regexp.MustCompile(`^[0-9]+$`)
)

// checkGap fails unless script[from:to] holds only what the lexer may skip.
// delim follows DELIMITER commands from gap to gap.
func checkGap(t *testing.T, script string, from, to int, d Dialect, delim *string) {
	t.Helper()
	lineStart := func(i int) bool {
		j := strings.LastIndexByte(script[:i], '\n') + 1
		return strings.Trim(script[j:i], " \t\r") == ""
	}
	restOfLine := func(i int) (string, int) {
		if n := strings.IndexByte(script[i:to], '\n'); n >= 0 {
			return script[i : i+n], i + n + 1
		}
		return script[i:to], to
	}
	for i := from; i < to; {
		rest := script[i:to]
		if d.BatchSeparator != "" && lineStart(i) {
			line, next := restOfLine(i)
			if c := strings.Index(line, "--"); c >= 0 {
				line = line[:c]
			}
			f := strings.Fields(line)
			if len(f) >= 1 && len(f) <= 2 && strings.EqualFold(f[0], d.BatchSeparator) && (len(f) == 1 || goLine.MatchString(f[1])) {
				i = next
				continue
			}
		}
		if d.Delimiter && lineStart(i) {
			line, next := restOfLine(i)
			if d := delimiterArg(line); d != "" {
				*delim = d
				i = next
				continue
			}
		}
		switch c := script[i]; {
		case d.BatchSeparator == "" && strings.HasPrefix(rest, *delim):
			i += len(*delim)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case d.StartsDashComment(rest), c == '#' && d.HashComments:
			_, i = restOfLine(i)
		case strings.HasPrefix(rest, "/*"):
			i = commentEnd(t, script, i, to, d)
		default:
			t.Fatalf("byte %d (%q) between statements is neither space, comment nor delimiter: lost from %q", i, c, script[from:to])
		}
	}
}

// delimiterArg returns the new delimiter of a "DELIMITER x" line as the
// mysql client reads it (the keyword, a blank, then the first word after
// any white space, a stray \r included), or "".
func delimiterArg(line string) string {
	const kw = "DELIMITER"
	if len(line) <= len(kw) || !strings.EqualFold(line[:len(kw)], kw) || line[len(kw)] != ' ' && line[len(kw)] != '\t' {
		return ""
	}
	if f := strings.Fields(line[len(kw):]); len(f) > 0 {
		return f[0]
	}
	return ""
}

func commentEnd(t *testing.T, script string, i, to int, d Dialect) int {
	t.Helper()
	depth := 0
	for i < to {
		switch {
		case strings.HasPrefix(script[i:to], "/*"):
			if depth == 0 || d.NestedComments {
				depth++
			}
			i += 2
		case strings.HasPrefix(script[i:to], "*/"):
			depth--
			i += 2
			if depth == 0 {
				return i
			}
		default:
			i++
		}
	}
	t.Fatalf("comment at byte %d runs past the gap it sits in", i)
	return to
}

// TestSplitCopyFromStdin: PostgreSQL's COPY ... FROM STDIN is refused with
// its line, by the in-memory splitter and the streaming one alike. The
// server, sent it alone, waited for rows forever; the rows after it, split
// as SQL, gave errors about the data.
func TestSplitCopyFromStdin(t *testing.T) {
	for script, line := range map[string]int{
		"CREATE TABLE t (a int, b text);\n\nCOPY t (a, b) FROM stdin;\n1\tit's\n\\.\n": 3,
		"copy t from STDIN with (format csv)":                                          1,
		"SELECT 1;\n  COPY public.t FROM\n  STDIN;":                                    2,
	} {
		_, err := Split(script, postgresDialect)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != line || !strings.Contains(se.Msg, "COPY ... FROM STDIN") {
			t.Errorf("%q: want a syntax error on line %d about COPY FROM STDIN, got %v", script, line, err)
		}
		// The streaming scanner, however it reads, fails the same way.
		checkScanner(t, script, postgresDialect, 1)
	}
	// Other COPYs are SQL the server runs by itself.
	for _, script := range []string{
		"COPY t TO STDOUT;",
		"COPY t FROM '/srv/t.csv';",
		"COPY (SELECT * FROM stdin_log) TO '/tmp/x';",
		"INSERT INTO t SELECT * FROM stdin;",
	} {
		if _, err := Split(script, postgresDialect); err != nil {
			t.Errorf("%q: %v", script, err)
		}
	}
}

// TestSplitClientCommands: the command-line clients' own commands (psql's
// \i and \set, the mysql client's \. and SOURCE) are refused with their
// line: the server rejected them, on MySQL after the statements before
// them had committed.
func TestSplitClientCommands(t *testing.T) {
	cases := []struct {
		d      Dialect
		script string
		line   int
	}{
		{postgresDialect, "CREATE TABLE b (id int);\n\\i other.sql\nCREATE TABLE c (id int);", 2},
		{postgresDialect, "\\set ON_ERROR_STOP on\nSELECT 1;", 1},
		{sqliteDialect, "SELECT 1;\n  \\echo hi", 2},
		{mysqlDialect, "CREATE TABLE b (id INT);\nSOURCE other.sql;\nCREATE TABLE c (id INT);", 2},
		{mysqlDialect, "CREATE TABLE b (id INT);\nsource other.sql\n", 2},
		{mysqlDialect, "SELECT 1;\n\\. other.sql\n", 2},
		{sqlServer, "SELECT 1\nGO\n\\connect other\n", 3},
		{sqlServer, ":setvar db shop\nSELECT 1\nGO\n", 1},
		{sqlServer, "SELECT 1\nGO\n  :r other.sql\nGO\n", 3},
	}
	for _, c := range cases {
		_, err := Split(c.script, c.d)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != c.line || !strings.Contains(se.Msg, "not SQL") && !strings.Contains(se.Msg, "not T-SQL") {
			t.Errorf("%q: want a syntax error on line %d about a client command, got %v", c.script, c.line, err)
		}
		// The streaming scanner, however it reads, fails the same way.
		checkScanner(t, c.script, c.d, 1)
	}
	// A backslash inside a statement, and words that only start like SOURCE.
	for _, c := range []struct {
		d      Dialect
		script string
	}{
		{postgresDialect, "SELECT E'\\\\i';\nSELECT 1 \\\n;"},
		{mysqlDialect, "SELECT 'a\\'b';\nSOURCES;\nSELECT source FROM t;\nINSERT INTO t (source) VALUES\nsource;"},
	} {
		if _, err := Split(c.script, c.d); err != nil {
			t.Errorf("%q: %v", c.script, err)
		}
	}
}

// TestSplitPostgresParens: a ';' inside parentheses does not end a
// PostgreSQL statement, as in psql. CREATE RULE ... DO ALSO (a; b) was cut
// in two, and run statement by statement (no-transaction, large scripts)
// its first half failed after the statements before it took effect.
func TestSplitPostgresParens(t *testing.T) {
	script := "CREATE TABLE b (id int);\nCREATE RULE r AS ON INSERT TO b DO ALSO (INSERT INTO lg VALUES (1); INSERT INTO lg VALUES (2));\nSELECT ')';\n"
	stmts, err := Split(script, postgresDialect)
	if err != nil || len(stmts) != 3 || !strings.HasSuffix(stmts[1].Text, "VALUES (2))") || stmts[2].Line != 3 {
		t.Fatalf("got %v %+v, want three statements, the rule whole", err, stmts)
	}
	_, err = Split("SELECT 1;\nSELECT (1;\nSELECT 2;\n", postgresDialect)
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 2 || se.Column != 8 || !strings.Contains(se.Msg, "unclosed parenthesis") {
		t.Fatalf("an unclosed parenthesis: got %v, want a syntax error at 2:8", err)
	}
	checkScanner(t, "SELECT 1;\nSELECT (1;\nSELECT 2;\n", postgresDialect, 1)
}
