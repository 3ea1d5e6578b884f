package sqlsplit

import (
	"reflect"
	"testing"
)

// Inputs the fuzzers found, each pinned to the behaviour decided for it.
func TestFuzzRegressions(t *testing.T) {
	for _, c := range []struct {
		name   string
		d      Dialect
		script string
		want   []string
	}{
		// sqlcmd takes only digits after GO; "GO +1" is not a separator.
		{"GO with a signed count", sqlServer, "SELECT 1\nGO +1\nSELECT 2\nGO 2\n", []string{"SELECT 1\nGO +1\nSELECT 2"}},
		// A stray carriage return after DELIMITER is white space, as in the
		// mysql client: the delimiter is the first word after it.
		{"DELIMITER with a stray CR", mysqlDialect, "DELIMITER \r//\nSELECT 1; SELECT 2//\n", []string{"SELECT 1; SELECT 2"}},
		// Found while pinning the case above: a delimiter made of word
		// bytes ended no statement when glued to a word, so "END$$" ran on
		// into the next statement.
		{"delimiter glued to a word", mysqlDialect, "DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\nDELIMITER ;\nCALL p();\n",
			[]string{"CREATE PROCEDURE p() BEGIN SELECT 1; END", "CALL p()"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkSplit(t, c.script, c.d)
			stmts, err := Split(c.script, c.d)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range stmts {
				got = append(got, s.Text)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}
