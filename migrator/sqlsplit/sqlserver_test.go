package sqlsplit

import (
	"reflect"
	"testing"
)

// sqlServer is the dialect drivers/sqlserver uses (kept here, not imported,
// so that the splitter's tests do not depend on a driver).
var sqlServer = Dialect{Brackets: true, NestedComments: true, BatchSeparator: "GO"}

// batch is what a test expects of one Statement.
type batch struct {
	Text   string
	Line   int
	Repeat int
}

func TestSplitSQLServerBatches(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   []batch
	}{
		{
			name:   "GO alone on a line; semicolons stay in the batch",
			script: "CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);\nGO\nSELECT 1;\n",
			want:   []batch{{"CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);", 1, 1}, {"SELECT 1;", 4, 1}},
		},
		{
			name:   "lowercase go and surrounding blanks",
			script: "SELECT 1\n  go  \nSELECT 2\n\tGo\n",
			want:   []batch{{"SELECT 1", 1, 1}, {"SELECT 2", 3, 1}},
		},
		{
			name:   "GO with a repeat count",
			script: "INSERT INTO t DEFAULT VALUES\nGO 3\nSELECT COUNT(*) FROM t\n",
			want:   []batch{{"INSERT INTO t DEFAULT VALUES", 1, 3}, {"SELECT COUNT(*) FROM t", 3, 1}},
		},
		{
			name:   "GO followed by a -- comment",
			script: "SELECT 1\nGO -- end of the first batch\nSELECT 2\nGO 2 -- twice\n",
			want:   []batch{{"SELECT 1", 1, 1}, {"SELECT 2", 3, 2}},
		},
		{
			name:   "GO inside a string does not split",
			script: "INSERT INTO notes VALUES (N'first line\nGO\nlast line')\nGO\nSELECT 2\n",
			want:   []batch{{"INSERT INTO notes VALUES (N'first line\nGO\nlast line')", 1, 1}, {"SELECT 2", 5, 1}},
		},
		{
			name:   "GO inside a block comment does not split",
			script: "SELECT 1 /* a comment\nGO\nstill the comment */\nSELECT 2\n",
			want:   []batch{{"SELECT 1 /* a comment\nGO\nstill the comment */\nSELECT 2", 1, 1}},
		},
		{
			name:   "block comments nest, as the server reads them",
			script: "/* outer\n/* inner */\nGO\n*/\nSELECT 1\nGO\n",
			want:   []batch{{"SELECT 1", 5, 1}},
		},
		{
			name:   "GO in a line comment does not split",
			script: "SELECT 1\n-- GO\nSELECT 2\n",
			want:   []batch{{"SELECT 1\n-- GO\nSELECT 2", 1, 1}},
		},
		{
			name:   "GO inside a bracketed identifier does not split",
			script: "CREATE TABLE [odd\nGO\nname] (id INT)\nGO\n",
			want:   []batch{{"CREATE TABLE [odd\nGO\nname] (id INT)", 1, 1}},
		},
		{
			name:   "words that start with GO are not separators",
			script: "SELECT 1\nGOTO done\ngo_table\nGO\n",
			want:   []batch{{"SELECT 1\nGOTO done\ngo_table", 1, 1}},
		},
		{
			name:   "GO with anything but a count after it is not a separator",
			script: "SELECT 1\nGO x\nGO\n",
			want:   []batch{{"SELECT 1\nGO x", 1, 1}},
		},
		{
			name:   "doubled ]] inside brackets escapes, so a quote there opens nothing",
			script: "CREATE TABLE [it]]'s] (id INT)\nGO\nSELECT 'x'\n",
			want:   []batch{{"CREATE TABLE [it]]'s] (id INT)", 1, 1}, {"SELECT 'x'", 3, 1}},
		},
		{
			name:   "N strings and doubled quotes",
			script: "SELECT N'it''s; GO', 'x'\nGO\n",
			want:   []batch{{"SELECT N'it''s; GO', 'x'", 1, 1}},
		},
		{
			name: "CREATE PROCEDURE, VIEW and TRIGGER each in their own batch",
			script: "-- objects\nCREATE PROCEDURE dbo.touch AS\nBEGIN\n    UPDATE t SET n = n + 1;\n    SELECT 1;\nEND\nGO\n" +
				"CREATE VIEW dbo.v AS SELECT n FROM t;\nGO\n\n" +
				"CREATE TRIGGER dbo.tr ON t AFTER INSERT AS\nBEGIN\n    SET NOCOUNT ON;\n    UPDATE t SET n = 0 WHERE n IS NULL;\nEND;\nGO\n",
			want: []batch{
				{"CREATE PROCEDURE dbo.touch AS\nBEGIN\n    UPDATE t SET n = n + 1;\n    SELECT 1;\nEND", 2, 1},
				{"CREATE VIEW dbo.v AS SELECT n FROM t;", 8, 1},
				{"CREATE TRIGGER dbo.tr ON t AFTER INSERT AS\nBEGIN\n    SET NOCOUNT ON;\n    UPDATE t SET n = 0 WHERE n IS NULL;\nEND;", 11, 1},
			},
		},
		{
			name:   "the last batch needs no GO",
			script: "SELECT 1\nGO\n\n-- trailing batch\nSELECT 2;\nSELECT 3;",
			want:   []batch{{"SELECT 1", 1, 1}, {"SELECT 2;\nSELECT 3;", 5, 1}},
		},
		{
			name:   "empty batches and a comment-only script yield nothing",
			script: "GO\n-- nothing here\nGO\n\nGO 2\n",
			want:   nil,
		},
		{
			name:   "CRLF line endings",
			script: "SELECT 1\r\nGO\r\nSELECT 2\r\n",
			want:   []batch{{"SELECT 1", 1, 1}, {"SELECT 2", 3, 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stmts, err := Split(tt.script, sqlServer)
			if err != nil {
				t.Fatalf("Split: %v", err)
			}
			var got []batch
			for _, s := range stmts {
				got = append(got, batch{s.Text, s.Line, s.Repeat})
				if tt.script[s.Start:s.End] != s.Text {
					t.Errorf("Start/End %d/%d do not frame %q", s.Start, s.End, s.Text)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSplitSQLServerUnterminated(t *testing.T) {
	tests := []struct {
		name, script string
		line, col    int
	}{
		{"string", "SELECT 1\nGO\nSELECT N'open\nGO\n", 3, 9},
		{"bracket", "SELECT [open\n", 1, 8},
		// The server counts the /* inside the quote as a nested comment.
		{"nested comment", "/*\nSELECT '/*';\n*/\nSELECT 1;\nGO\n", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Split(tt.script, sqlServer)
			se, ok := err.(*SyntaxError)
			if !ok || se.Line != tt.line || se.Column != tt.col {
				t.Fatalf("got %v, want a SyntaxError at line %d, column %d", err, tt.line, tt.col)
			}
		})
	}
}
