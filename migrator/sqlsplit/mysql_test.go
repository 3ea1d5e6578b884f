package sqlsplit

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// mysqlDialect is the MySQL/MariaDB configuration of drivers/mysql; it is
// repeated here because the driver imports this package.
var mysqlDialect = Dialect{
	Backticks: true, HashComments: true, DashCommentNeedsSpace: true, BackslashEscapes: true,
	DoubleQuoteStrings: true, ExecutableComments: true, Delimiter: true, BeginEnd: true,
}

func TestSplitMySQL(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   []string
	}{
		{
			// MySQL reads "--" as a comment only before a space or a
			// control character: "5--2;" is 5 minus -2, and the ';' ends it.
			name:   "double dash without a space is minus minus",
			script: "SELECT 5--2; SELECT 3;\nSELECT 4; --\tcomment; x\n-- comment;\nSELECT 6 --",
			want:   []string{"SELECT 5--2", "SELECT 3", "SELECT 4", "SELECT 6"},
		},
		{
			name:   "plain statements",
			script: "CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);\n",
			want:   []string{"CREATE TABLE a (id INT)", "INSERT INTO a VALUES (1)"},
		},
		{
			name:   "backslash and doubled quote escapes",
			script: "INSERT INTO t VALUES ('it\\'s; fine', 'o''clock; too', \"say \\\"hi\\\"; now\");\nSELECT 1;",
			want:   []string{"INSERT INTO t VALUES ('it\\'s; fine', 'o''clock; too', \"say \\\"hi\\\"; now\")", "SELECT 1"},
		},
		{
			name:   "trailing backslash before closing quote",
			script: "INSERT INTO t VALUES ('C:\\\\');\nSELECT 2;",
			want:   []string{"INSERT INTO t VALUES ('C:\\\\')", "SELECT 2"},
		},
		{
			name:   "backticks with semicolons and doubled backticks",
			script: "CREATE TABLE `odd;name` (`a``;b` INT);\nDROP TABLE `odd;name`;",
			want:   []string{"CREATE TABLE `odd;name` (`a``;b` INT)", "DROP TABLE `odd;name`"},
		},
		{
			name:   "hash, dash and block comments",
			script: "# leading; hash\n-- leading; dashes\n/* block; */ SELECT 1; # trailing; hash\nSELECT /* inline; */ 2 -- tail;\n;",
			want:   []string{"SELECT 1", "SELECT /* inline; */ 2"},
		},
		{
			name:   "DELIMITER // procedure",
			script: "DELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT 2;\nEND //\nDELIMITER ;\nCALL p();\n",
			want:   []string{"CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\n  SELECT 2;\nEND", "CALL p()"},
		},
		{
			name:   "DELIMITER $$ with the delimiter glued to END",
			script: "DELIMITER $$\nCREATE FUNCTION f() RETURNS INT DETERMINISTIC\nBEGIN\n  RETURN 1;\nEND$$\nDELIMITER ;\nSELECT f();\n",
			want:   []string{"CREATE FUNCTION f() RETURNS INT DETERMINISTIC\nBEGIN\n  RETURN 1;\nEND", "SELECT f()"},
		},
		{
			name:   "lowercase delimiter and several statements per block",
			script: "delimiter ;;\nSELECT 1;;\nSELECT 'a;;b';;\ndelimiter ;\nSELECT 3;",
			want:   []string{"SELECT 1", "SELECT 'a;;b'", "SELECT 3"},
		},
		{
			name: "procedure with IF, CASE, loops and no DELIMITER",
			script: `CREATE PROCEDURE fill(n INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  IF n < 0 THEN
    SET n = 0;
  ELSEIF n > 100 THEN
    SET n = 100;
  END IF;
  CASE n
    WHEN 0 THEN SELECT 'none';
    ELSE SELECT CASE WHEN n > 50 THEN 'many' ELSE 'some' END;
  END CASE;
  lbl: LOOP
    SET i = i + 1;
    IF i >= n THEN LEAVE lbl; END IF;
  END LOOP lbl;
  WHILE i > 0 DO
    SET i = i - 1;
  END WHILE;
  REPEAT
    SET i = i + 1;
  UNTIL i >= n END REPEAT;
END;
CALL fill(3);`,
			want: []string{`CREATE PROCEDURE fill(n INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  IF n < 0 THEN
    SET n = 0;
  ELSEIF n > 100 THEN
    SET n = 100;
  END IF;
  CASE n
    WHEN 0 THEN SELECT 'none';
    ELSE SELECT CASE WHEN n > 50 THEN 'many' ELSE 'some' END;
  END CASE;
  lbl: LOOP
    SET i = i + 1;
    IF i >= n THEN LEAVE lbl; END IF;
  END LOOP lbl;
  WHILE i > 0 DO
    SET i = i - 1;
  END WHILE;
  REPEAT
    SET i = i + 1;
  UNTIL i >= n END REPEAT;
END`, "CALL fill(3)"},
		},
		{
			name:   "trigger with BEGIN ... END and no DELIMITER",
			script: "CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW\nBEGIN\n  SET NEW.a = UPPER(NEW.a);\n  SET NEW.b = 1;\nEND;\nINSERT INTO t (a) VALUES ('x');",
			want:   []string{"CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW\nBEGIN\n  SET NEW.a = UPPER(NEW.a);\n  SET NEW.b = 1;\nEND", "INSERT INTO t (a) VALUES ('x')"},
		},
		{
			name:   "single-statement trigger",
			script: "CREATE TRIGGER t_bu BEFORE UPDATE ON t FOR EACH ROW SET NEW.n = NEW.n + 1;\nSELECT 1;",
			want:   []string{"CREATE TRIGGER t_bu BEFORE UPDATE ON t FOR EACH ROW SET NEW.n = NEW.n + 1", "SELECT 1"},
		},
		{
			name:   "MariaDB BEGIN NOT ATOMIC block",
			script: "BEGIN NOT ATOMIC\n  DECLARE x INT DEFAULT 1;\n  IF x = 1 THEN SELECT 'one'; END IF;\nEND;\nSELECT 2;",
			want:   []string{"BEGIN NOT ATOMIC\n  DECLARE x INT DEFAULT 1;\n  IF x = 1 THEN SELECT 'one'; END IF;\nEND", "SELECT 2"},
		},
		{
			name:   "BEGIN as a transaction still splits",
			script: "BEGIN;\nINSERT INTO t VALUES (1);\nCOMMIT;",
			want:   []string{"BEGIN", "INSERT INTO t VALUES (1)", "COMMIT"},
		},
		{
			name:   "executable comments are statements",
			script: "/*!40101 SET @old_csc = @@character_set_client */;\n/* plain; */\n/*M!100100 SET sql_mode = 'ANSI' */;\nSELECT 1 /*! + 1 */;",
			want:   []string{"/*!40101 SET @old_csc = @@character_set_client */", "/*M!100100 SET sql_mode = 'ANSI' */", "SELECT 1 /*! + 1 */"},
		},
		{
			name:   "non-ASCII text",
			script: "INSERT INTO t VALUES ('Café; 日本語 🎉');\nSELECT '✓';",
			want:   []string{"INSERT INTO t VALUES ('Café; 日本語 🎉')", "SELECT '✓'"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stmts, err := Split(tt.script, mysqlDialect)
			if err != nil {
				t.Fatalf("Split: %v", err)
			}
			var got []string
			for _, s := range stmts {
				got = append(got, s.Text)
				if tt.script[s.Start:s.End] != s.Text {
					t.Errorf("offsets %d:%d do not cut %q", s.Start, s.End, s.Text)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("statements:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestSplitMySQLLines(t *testing.T) {
	script := "# header\nDELIMITER //\n\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND //\nDELIMITER ;\n\nCALL p();\n"
	stmts, err := Split(script, mysqlDialect)
	if err != nil {
		t.Fatal(err)
	}
	if len(stmts) != 2 || stmts[0].Line != 4 || stmts[1].Line != 10 {
		t.Fatalf("lines: %+v", stmts)
	}
}

func TestSplitMySQLUnterminated(t *testing.T) {
	for _, script := range []string{
		"SELECT 'it\\';",
		"SELECT `a;",
		"SELECT \"a\\\";",
	} {
		_, err := Split(script, mysqlDialect)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != 1 || se.Column != 8 {
			t.Fatalf("%q: want a syntax error at 1:8, got %v", script, err)
		}
	}
}

// TestSplitMySQLDashWithoutSpace: a line meant as a comment but written
// "--x" is refused where a statement would start, naming the line, before
// anything runs; the server would reject it, perhaps after earlier
// statements of the migration committed.
func TestSplitMySQLDashWithoutSpace(t *testing.T) {
	for script, at := range map[string][2]int{
		"--migrate:no-transaction\nCREATE TABLE t (x INT);": {1, 1},
		"SELECT 1;\n  --TODO drop this\nSELECT 2;":          {2, 3},
	} {
		_, err := Split(script, mysqlDialect)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != at[0] || se.Column != at[1] || !strings.Contains(se.Msg, "needs a space") {
			t.Fatalf("%q: want a syntax error at %d:%d about the space, got %v", script, at[0], at[1], err)
		}
	}
	// Inside a statement "--" is a double minus, as the server reads it.
	if stmts, err := Split("SELECT 5\n--2;", mysqlDialect); err != nil || len(stmts) != 1 {
		t.Fatalf("double minus inside a statement: %v %+v", err, stmts)
	}
}

// TestSplitMySQLDelimiterWithoutArgument: a DELIMITER line with nothing after
// it is refused with its line, as the mysql client refuses it; it was sent to
// the server as SQL, which failed it after the statements before it committed.
func TestSplitMySQLDelimiterWithoutArgument(t *testing.T) {
	for script, line := range map[string]int{
		"CREATE TABLE b (id INT);\nDELIMITER\nCREATE TABLE c (id INT);": 2,
		"DELIMITER   \nSELECT 1;":             1,
		"SELECT 1;\r\ndelimiter\r\nSELECT 2;": 2,
		"SELECT 1;\nDELIMITER":                2,
	} {
		_, err := Split(script, mysqlDialect)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != line || !strings.Contains(se.Msg, "DELIMITER needs the delimiter") {
			t.Errorf("%q: want a syntax error on line %d about the missing delimiter, got %v", script, line, err)
		}
		// The streaming scanner, however it reads, fails the same way.
		checkScanner(t, script, mysqlDialect, 1)
	}
	// A word that only starts like the command is SQL.
	if stmts, err := Split("DELIMITERS;\nSELECT 1;", mysqlDialect); err != nil || len(stmts) != 2 {
		t.Fatalf("DELIMITERS: %v %+v", err, stmts)
	}
}
