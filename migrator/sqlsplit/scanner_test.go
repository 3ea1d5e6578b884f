package sqlsplit

import (
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// chunkReader hands out its text in reads of random sizes from 1 to max.
type chunkReader struct {
	s   string
	rnd *rand.Rand
	max int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.s) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.s), 1+c.rnd.IntN(c.max))
	copy(p, c.s[:n])
	c.s = c.s[n:]
	return n, nil
}

// scanAll drains a Scanner the way the engine does.
func scanAll(sc *Scanner) ([]Statement, error) {
	var out []Statement
	for {
		st, err := sc.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, st)
	}
}

// sameAsSplit fails t unless scanning script from r gives exactly what
// Split gives: the same statements with the same offsets, lines and repeat
// counts, or the same syntax error at the same line and column.
func sameAsSplit(t *testing.T, script string, d Dialect, how string, sc *Scanner) {
	t.Helper()
	want, wantErr := Split(script, d)
	got, gotErr := scanAll(sc)
	if wantErr != nil {
		var we, ge *SyntaxError
		errors.As(wantErr, &we)
		if !errors.As(gotErr, &ge) || *ge != *we {
			t.Fatalf("%s: %q: Split fails with %v, Scanner with %v", how, script, wantErr, gotErr)
		}
		return
	}
	if gotErr != nil {
		t.Fatalf("%s: %q: Scanner fails with %v, Split does not", how, script, gotErr)
	}
	if len(want) == 0 && len(got) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: %q:\nScanner %+v\n  Split %+v", how, script, got, want)
	}
}

// checkScanner compares Scanner with Split over every way of reading that
// moves the window's end: one byte at a time (so a window ends at every
// offset), random reads, and a tiny chunk that makes long statements take
// the growing reads.
func checkScanner(t *testing.T, script string, d Dialect, seed uint64) {
	t.Helper()
	sameAsSplit(t, script, d, "whole", NewScanner(strings.NewReader(script), d))
	sameAsSplit(t, script, d, "one byte", NewScanner(iotest.OneByteReader(strings.NewReader(script)), d))
	rnd := rand.New(rand.NewPCG(seed, uint64(len(script))))
	sameAsSplit(t, script, d, "random chunks", NewScanner(&chunkReader{s: script, rnd: rnd, max: 17}, d))
	small := NewScanner(&chunkReader{s: script, rnd: rnd, max: 5}, d)
	small.chunk = 3
	sameAsSplit(t, script, d, "tiny chunk", small)
}

// scannerSeeds are inputs that put every construct near a window's end.
var scannerSeeds = []string{
	"",
	"SELECT 1;\nSELECT 2",
	"  SELECT 1;  SELECT 2;\n\n\tSELECT 3 -- c\n;",
	"INSERT INTO t VALUES ('a;b', 'it''s');\r\nSELECT \"x;y\";",
	"SELECT 'it''';SELECT 2;",
	"SELECT E'a\\';b';SELECT e'\\\\';SELECT 1;",
	"/* a /* b; */ c; */ SELECT 1; -- tail",
	"DO $body$ BEGIN PERFORM '$$;'; END $body$;SELECT $1;SELECT 2;",
	"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\nSELECT 3;",
	"CREATE TRIGGER tr AFTER INSERT ON a BEGIN SELECT CASE WHEN 1 THEN 2 END; END;SELECT 1;",
	"CREATE TABLE [a;b] (`c;d` int);SELECT 1;",
	"# c\nDELIMITER //\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND //\nDELIMITER ;\nCALL p();\n",
	"DELIMITER $$\nSELECT 1$$ SELECT 2 $$\n  DELIMITER ;\nSELECT 3;",
	"/*!40101 SET NAMES utf8 */;\n/*M!100100 SET x=1 */;\nSELECT 'a\\'b';",
	"BEGIN NOT ATOMIC SELECT 1; SELECT 2; END;\nSELECT 3;",
	"CREATE TABLE a (id int)\nGO\nSELECT 1; SELECT 2\ngo 3\n  GO -- done\nSELECT 3\nGOTO x\n",
	"SELECT 1;\nSELECT 'abc;\n",
	"SELECT 1;\n\n/* never closed",
	"SELECT 1; SELECT 2; DO $fn$ BEGIN END $$;\n",
	"SELECT 1; SELECT [a;",
	"SELECT 1;   SELECT 'x",
	"INSERT INTO t VALUES ('Café ☕; 日本');\nSELECT 1;",
}

func fuzzScanner(f *testing.F, d Dialect) {
	for _, s := range scannerSeeds {
		f.Add(s, uint64(1))
	}
	f.Fuzz(func(t *testing.T, script string, seed uint64) {
		checkScanner(t, script, d, seed)
	})
}

func FuzzScannerPostgres(f *testing.F)  { fuzzScanner(f, benchPostgres) }
func FuzzScannerSQLite(f *testing.F)    { fuzzScanner(f, benchSQLite) }
func FuzzScannerMySQL(f *testing.F)     { fuzzScanner(f, mysqlDialect) }
func FuzzScannerSQLServer(f *testing.F) { fuzzScanner(f, sqlServer) }

// TestScannerRealisticScripts runs the benchmark scripts of every dialect,
// big enough to span many windows, through the Scanner.
func TestScannerRealisticScripts(t *testing.T) {
	for _, sc := range scripts {
		script := realistic(sc.block, 3*scanChunk)
		t.Run(sc.name, func(t *testing.T) {
			sameAsSplit(t, script, sc.dialect, "whole", NewScanner(strings.NewReader(script), sc.dialect))
			rnd := rand.New(rand.NewPCG(1, 2))
			sameAsSplit(t, script, sc.dialect, "random chunks", NewScanner(&chunkReader{s: script, rnd: rnd, max: 4096}, sc.dialect))
		})
	}
}

// TestScannerLongStatement checks a statement many chunks long: it comes
// out whole, and the growing reads keep the lexed bytes linear.
func TestScannerLongStatement(t *testing.T) {
	var b strings.Builder
	b.WriteString("SELECT 0;\n-- head\nINSERT INTO t VALUES\n")
	for i := 0; b.Len() < 64<<10; i++ {
		b.WriteString("  (1, 'row; with '' quote'),\n")
	}
	b.WriteString("  (2, 'last');\nSELECT 3 /* end")
	script := b.String()
	sc := NewScanner(iotest.OneByteReader(strings.NewReader(script+" */")), benchPostgres)
	sc.chunk = 64
	sameAsSplit(t, script+" */", benchPostgres, "long", sc)
	// The unterminated comment is reported where it opens, in file terms.
	for _, d := range []Dialect{benchPostgres, benchSQLite} {
		sc := NewScanner(&chunkReader{s: script, rnd: rand.New(rand.NewPCG(3, 4)), max: 100}, d)
		_, err := scanAll(sc)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != strings.Count(script, "\n")+1 || se.Column != 10 {
			t.Fatalf("want the open comment at the last line, column 10; got %v", err)
		}
	}
}

// TestScannerReaderError passes the reader's own failure through.
func TestScannerReaderError(t *testing.T) {
	boom := errors.New("disk gone")
	sc := NewScanner(io.MultiReader(strings.NewReader("SELECT 1; SELECT 2"), iotest.ErrReader(boom)), benchPostgres)
	st, err := sc.Next()
	if err != nil || st.Text != "SELECT 1" {
		t.Fatalf("first statement: %q, %v", st.Text, err)
	}
	if _, err := sc.Next(); !errors.Is(err, boom) {
		t.Fatalf("want the reader's error, got %v", err)
	}
}

// BenchmarkScanner cuts the same 4 MB scripts as BenchmarkSplit, read from
// an io.Reader; bytes/s compares directly.
func BenchmarkScanner(b *testing.B) {
	for _, sc := range scripts {
		script := realistic(sc.block, 4<<20)
		b.Run(sc.name, func(b *testing.B) {
			b.SetBytes(int64(len(script)))
			for b.Loop() {
				stmts, err := scanAll(NewScanner(strings.NewReader(script), sc.dialect))
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
