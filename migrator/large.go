package migrator

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"io/fs"
	"unicode/utf8"

	"github.com/migrate-dev/migrate/migrator/sqlsplit"
)

// largeScript is the size above which a script is not kept in memory: it is
// hashed and checked while read, and read again, statement by statement,
// when it runs. Schema migrations stay far below it; a data migration of
// hundreds of megabytes would otherwise be held several times over (bytes,
// text, statements, the driver's copy). A variable so tests can lower it.
var largeScript int64 = 16 << 20

// bom is the UTF-8 byte-order mark that scripts may start with.
const bom = "\xef\xbb\xbf"

// parseLargeScript reads a large script once, without holding it: it hashes
// the bytes, checks they are UTF-8 and finds the directives, line by line.
func parseLargeScript(fsys fs.FS, file, name string, r io.Reader) (Script, directives, []Problem, error) {
	sum := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(r, sum), 64<<10)
	var ds directives
	var problems []Problem
	var pending []byte // the start of a rune cut by the buffer's end
	line, first, atLineStart := 1, true, true
	crEnded := false // the previous chunk, cut by the buffer, ended with '\r'
	for {
		chunk, err := br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) && !errors.Is(err, io.EOF) {
			return Script{}, directives{}, nil, err
		}
		if first {
			chunk, first = bytes.TrimPrefix(chunk, []byte(bom)), false
		}
		if atLineStart {
			// A directive line is short and starts with "--": only those
			// lines go through the regular expression.
			if t := bytes.TrimLeft(chunk, " \t\f\r"); bytes.HasPrefix(t, []byte("--")) {
				if p, bad := ds.read(name, line, string(chunk)); bad {
					problems = append(problems, p)
				}
			}
		}
		text := chunk
		if len(pending) > 0 {
			text = append(pending, chunk...)
		}
		valid, cut := utf8Prefix(text, errors.Is(err, io.EOF))
		if !valid {
			// As for a small script, this is the only problem reported:
			// the rest of the file cannot be read as text.
			bad := Problem{File: name, Line: line + bytes.Count(text[:cut], []byte("\n")), Msg: "not valid UTF-8; save the file as UTF-8"}
			return Script{Path: name}, directives{}, []Problem{bad}, nil
		}
		if bytes.IndexByte(chunk, 0) >= 0 {
			// chunk ends at the first newline, so the NUL is on this line.
			return Script{Path: name}, directives{}, []Problem{nulByte(name, line)}, nil
		}
		if crEnded && (len(chunk) == 0 || chunk[0] != '\n') {
			return Script{Path: name}, directives{}, []Problem{loneCRProblem(name, line)}, nil
		}
		// A '\r' ending a chunk cut by the buffer is judged with the next.
		crEnded = len(chunk) > 0 && chunk[len(chunk)-1] == '\r' && !errors.Is(err, io.EOF)
		if i := loneCR(chunk); i >= 0 && !(crEnded && i == len(chunk)-1) {
			return Script{Path: name}, directives{}, []Problem{loneCRProblem(name, line)}, nil
		}
		// Whole runes only: a mark cut by the buffer is in the next text.
		if bytes.Contains(text[:cut], []byte(bom)) {
			return Script{Path: name}, directives{}, []Problem{innerBOM(name, line)}, nil
		}
		pending = append(pending[:0], text[cut:]...)
		atLineStart = len(chunk) > 0 && chunk[len(chunk)-1] == '\n'
		if atLineStart {
			line++
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	s := Script{Path: name, Checksum: hex.EncodeToString(sum.Sum(nil)), NoTransaction: ds.noTransaction}
	s.large = &largeSource{fsys: fsys, file: file, checksum: s.Checksum}
	return s, ds, problems, nil
}

// utf8Prefix reports whether b is valid UTF-8 up to a rune its end may
// cut (unless atEOF), and where the checked part ends: at the first invalid
// byte, or where the cut rune starts.
func utf8Prefix(b []byte, atEOF bool) (bool, int) {
	end := len(b)
	if !atEOF {
		// Leave out a rune the buffer's end may have cut in two.
		for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:]) {
					end = i
				}
				break
			}
		}
	}
	if utf8.Valid(b[:end]) {
		return true, end
	}
	return false, firstInvalidUTF8(b[:end])
}

// largeSource reads a large script again when it is split or run.
type largeSource struct {
	fsys     fs.FS
	file     string
	checksum string
	// scanned is set once scanAll found no syntax error, so the run does
	// not read the file through a second time before running it.
	scanned bool
}

// statements streams the statements of a large script. It checks the bytes
// still hash to the checksum taken at load, so what runs is what was
// validated and what history records.
type statements struct {
	f   fs.File
	sum hash.Hash
	sc  *sqlsplit.Scanner
	src *largeSource
}

func (l *largeSource) open(d sqlsplit.Dialect) (*statements, error) {
	f, err := l.fsys.Open(l.file)
	if err != nil {
		return nil, err
	}
	sum := sha256.New()
	br := bufio.NewReaderSize(io.TeeReader(f, sum), 64<<10)
	if head, err := br.Peek(len(bom)); err == nil && string(head) == bom {
		_, _ = br.Discard(len(bom))
	}
	return &statements{f: f, sum: sum, sc: sqlsplit.NewScanner(br, d), src: l}, nil
}

// errChangedOnDisk means a large script's bytes no longer hash to the
// checksum taken when it was loaded.
var errChangedOnDisk = errors.New("the file changed on disk since it was read; run again")

// next returns the next statement or io.EOF after the last one.
func (s *statements) next() (sqlsplit.Statement, error) {
	st, err := s.sc.Next()
	if errors.Is(err, io.EOF) && hex.EncodeToString(s.sum.Sum(nil)) != s.src.checksum {
		return st, errChangedOnDisk
	}
	return st, err
}

// scanAll splits a large script once, only to find a syntax error before
// anything runs; the statements are dropped as they come.
func (l *largeSource) scanAll(d sqlsplit.Dialect) error {
	stmts, err := l.open(d)
	if err != nil {
		return err
	}
	defer stmts.close()
	for {
		if _, err := stmts.next(); err != nil {
			if errors.Is(err, io.EOF) {
				l.scanned = true
				return nil
			}
			return err
		}
	}
}

func (s *statements) close() error { return s.f.Close() }
