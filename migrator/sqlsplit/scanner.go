package sqlsplit

import (
	"errors"
	"io"
	"strings"
)

// scanChunk is the most a Scanner asks its reader for at a time, while the
// statement in progress is shorter. A longer statement makes it wait for as
// many bytes again as that statement holds so far, so a huge statement
// costs a linear number of lexed bytes, not a quadratic one.
const scanChunk = 1 << 20

// Scanner cuts a script read from r into the same statements as Split,
// holding only about one chunk and one statement in memory.
//
// It lexes a window of the script that starts at the last statement
// boundary. At a boundary the lexer's state is only the delimiter in force
// and the position, so restarting there is exact. A decision that looks at
// the end of the window could change once more bytes arrive; the lexer
// reports the first such look, and only the statements cut before it are
// released. The rest of the window is lexed again after the next read.
type Scanner struct {
	r io.Reader
	d Dialect

	window    string // the unreleased text, from a little before resume
	resume    int    // where lexing restarts in window
	delim     string // the delimiter in force at resume
	base      int    // offset of window[0] in the script
	line      int    // line of window[0]
	col0      int    // bytes of window[0]'s line that lie before it
	lineBlank bool   // whether those bytes are all blank
	eof       bool
	chunk     int

	ready []Statement
	err   error
	buf   []byte
}

// NewScanner returns a Scanner reading the script from r.
func NewScanner(r io.Reader, d Dialect) *Scanner {
	return &Scanner{r: r, d: d, delim: ";", line: 1, lineBlank: true, chunk: scanChunk}
}

// Next returns the next statement, io.EOF after the last one, a
// *SyntaxError where Split would return one, or the reader's error. Its
// Text does not share memory with the text of other statements.
func (s *Scanner) Next() (Statement, error) {
	for len(s.ready) == 0 {
		if s.err != nil {
			return Statement{}, s.err
		}
		s.err = s.scan()
	}
	st := s.ready[0]
	s.ready = s.ready[1:]
	return st, nil
}

// scan fills ready with the next final statements, reading as needed.
func (s *Scanner) scan() error {
	for {
		lx := newLexer(s.window, s.d)
		lx.pos, lx.delim = s.resume, s.delim
		lx.base, lx.lineBase, lx.lineAtPos, lx.col0, lx.lineBlank = s.base, s.line, s.line, s.col0, s.lineBlank
		lx.partial = !s.eof
		err := lx.run()
		if !lx.partial {
			if err != nil {
				return err
			}
			s.release(lx.out)
			s.window = ""
			return io.EOF
		}
		// An error in a partial window is an unterminated token whose end
		// may not have been read yet; the last cut before it stands.
		if lx.cutOut > 0 {
			s.release(lx.out[:lx.cutOut])
			s.advance(lx.cutPos, lx.cutDelim)
			return nil
		}
		if err := s.read(); err != nil {
			return err
		}
	}
}

func (s *Scanner) release(stmts []Statement) {
	for _, st := range stmts {
		st.Text = strings.Clone(st.Text)
		s.ready = append(s.ready, st)
	}
}

// advance drops the window up to the cut at pos, keeping the two bytes
// before it that the lexer looks back at (never crossing a line start).
func (s *Scanner) advance(pos int, delim string) {
	keep := max(pos-2, 0)
	if nl := strings.LastIndexByte(s.window[:pos], '\n'); nl >= 0 {
		keep = max(keep, nl+1)
		s.line += strings.Count(s.window[:nl+1], "\n")
		s.col0 = keep - (nl + 1)
		s.lineBlank = blank(s.window[nl+1 : keep])
	} else {
		s.col0 += keep
		s.lineBlank = s.lineBlank && blank(s.window[:keep])
	}
	s.base += keep
	s.window = s.window[keep:]
	s.resume = pos - keep
	s.delim = delim
}

// blank reports whether s holds only the bytes atLineStart skips.
func blank(s string) bool {
	return strings.Trim(s, " \t\r") == ""
}

// read appends what the reader gives to the window: one read's worth while
// the statement in progress is shorter than a chunk, else at least as many
// bytes as it holds.
func (s *Scanner) read() error {
	pending := len(s.window) - s.resume
	least := 1
	if pending >= s.chunk {
		least = pending
	}
	n := max(s.chunk, least)
	if cap(s.buf) < n {
		s.buf = make([]byte, n)
	}
	got, err := io.ReadAtLeast(s.r, s.buf[:n], least)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		s.eof, err = true, nil
	}
	if err != nil {
		return err
	}
	s.window += string(s.buf[:got])
	return nil
}
