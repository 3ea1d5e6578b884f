package sqlsplit

import (
	"fmt"
	"strings"
	"testing"
)

// The dialects as the drivers configure them.
var (
	benchPostgres  = Dialect{DollarQuotes: true, NestedComments: true, BeginEnd: true, Parens: true, NoCopyFromStdin: true}
	benchSQLite    = Dialect{Brackets: true, Backticks: true, BeginEnd: true}
	benchMySQL     = Dialect{Backticks: true, HashComments: true, DashCommentNeedsSpace: true, BackslashEscapes: true, DoubleQuoteStrings: true, Delimiter: true, BeginEnd: true}
	benchSQLServer = Dialect{Brackets: true, NestedComments: true, BatchSeparator: "GO", BeginEnd: true}
)

// realistic repeats a block of the things real migrations hold: DDL with
// comments, quoted names, multi-row INSERTs whose strings hold the delimiter
// and quotes, and a routine body, until the script is about size bytes.
func realistic(block func(i int) string, size int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		b.WriteString(block(i))
	}
	return b.String()
}

func insertRows(i int, quote func(string) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO products (id, name, note) VALUES\n")
	for r := 0; r < 20; r++ {
		if r > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "  (%d, %s, %s)", i*20+r, quote(fmt.Sprintf("product %d; it's \"good\"", r)), quote("-- not a comment /* nor this */"))
	}
	b.WriteString(";\n")
	return b.String()
}

func standardQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func mysqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

var scripts = []struct {
	name    string
	dialect Dialect
	block   func(i int) string
}{
	{"postgres", benchPostgres, func(i int) string {
		return fmt.Sprintf(`-- table %[1]d
CREATE TABLE "order_%[1]d" (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, /* nested /* comment */ here */
	total numeric(10,2) NOT NULL DEFAULT 0,
	note text DEFAULT E'a\'b;c'
);
CREATE INDEX order_%[1]d_total ON "order_%[1]d" (total);
CREATE FUNCTION touch_%[1]d() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
	NEW.total := NEW.total + 1; -- keeps its semicolons
	RETURN NEW;
END;
$body$;
`, i) + insertRows(i, standardQuote)
	}},
	{"sqlite", benchSQLite, func(i int) string {
		return fmt.Sprintf(`-- table %[1]d
CREATE TABLE [order_%[1]d] (
	id INTEGER PRIMARY KEY, /* comment; with a semicolon */
	total REAL NOT NULL DEFAULT 0,
	`+"`note`"+` TEXT DEFAULT 'a''b;c'
);
CREATE INDEX order_%[1]d_total ON [order_%[1]d] (total);
CREATE TRIGGER touch_%[1]d AFTER INSERT ON [order_%[1]d] BEGIN
	UPDATE [order_%[1]d] SET total = total + 1 WHERE id = NEW.id;
	SELECT CASE WHEN NEW.total < 0 THEN RAISE(ABORT, 'negative; no') END;
END;
`, i) + insertRows(i, standardQuote)
	}},
	{"mysql", benchMySQL, func(i int) string {
		return fmt.Sprintf(`# table %[1]d
CREATE TABLE `+"`order_%[1]d`"+` (
	id BIGINT AUTO_INCREMENT PRIMARY KEY, /* comment; with a semicolon */
	total DECIMAL(10,2) NOT NULL DEFAULT 0,
	note TEXT DEFAULT 'a\'b;c'
) ENGINE=InnoDB;
CREATE INDEX order_%[1]d_total ON `+"`order_%[1]d`"+` (total);
DELIMITER //
CREATE PROCEDURE touch_%[1]d()
BEGIN
	IF (SELECT COUNT(*) FROM `+"`order_%[1]d`"+`) > 0 THEN
		UPDATE `+"`order_%[1]d`"+` SET total = total + 1;
	END IF;
END//
DELIMITER ;
`, i) + insertRows(i, mysqlQuote)
	}},
	{"sqlserver", benchSQLServer, func(i int) string {
		return fmt.Sprintf(`-- table %[1]d
CREATE TABLE [order_%[1]d] (
	id BIGINT IDENTITY PRIMARY KEY, /* nested /* comment */ here */
	total DECIMAL(10,2) NOT NULL DEFAULT 0,
	note NVARCHAR(100) DEFAULT N'a''b;c'
);
CREATE INDEX order_%[1]d_total ON [order_%[1]d] (total);
GO
CREATE PROCEDURE touch_%[1]d AS
BEGIN
	UPDATE [order_%[1]d] SET total = total + 1;
END
GO
`, i) + insertRows(i, standardQuote) + "GO\n"
	}},
}

// BenchmarkSplit cuts a 4 MB script of each dialect; bytes/s is the
// splitter's throughput.
func BenchmarkSplit(b *testing.B) {
	for _, sc := range scripts {
		script := realistic(sc.block, 4<<20)
		b.Run(sc.name, func(b *testing.B) {
			b.SetBytes(int64(len(script)))
			for b.Loop() {
				stmts, err := Split(script, sc.dialect)
				if err != nil {
					b.Fatal(err)
				}
				if len(stmts) == 0 {
					b.Fatal("no statements")
				}
			}
		})
	}
}

// TestRealisticScriptsSplitAsWritten checks the benchmark inputs cut where a
// person would: one block of each dialect gives the statements it was
// written as, so the benchmark measures correct work.
func TestRealisticScriptsSplitAsWritten(t *testing.T) {
	want := map[string]int{"postgres": 4, "sqlite": 4, "mysql": 4, "sqlserver": 3}
	for _, sc := range scripts {
		stmts, err := Split(sc.block(7), sc.dialect)
		if err != nil {
			t.Fatalf("%s: %v", sc.name, err)
		}
		if len(stmts) != want[sc.name] {
			var texts []string
			for _, s := range stmts {
				texts = append(texts, s.Text)
			}
			t.Fatalf("%s: %d statements, want %d:\n%s", sc.name, len(stmts), want[sc.name], strings.Join(texts, "\n-----\n"))
		}
		if last := stmts[len(stmts)-1].Text; !strings.HasPrefix(last, "INSERT INTO products") || !strings.Contains(last, "(159, ") {
			t.Fatalf("%s: the INSERT was cut: %q", sc.name, last)
		}
	}
}
