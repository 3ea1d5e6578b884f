// Package sqlsplit cuts a migration script into the statements a database
// will run one at a time, and remembers where each one starts so that an error
// reported by the server can be mapped back to a file and line.
//
// It is written by hand rather than borrowed because it is the heart of the
// tool: a splitter that cuts on every ';' breaks function bodies, and one that
// does not know a dialect's quoting rules loses bytes. One small lexer serves
// every dialect; a Dialect value switches on the rules each database needs.
package sqlsplit

import (
	"fmt"
	"strconv"
	"strings"
)

// Dialect switches on the lexical rules of one database.
type Dialect struct {
	// DollarQuotes enables PostgreSQL $tag$ ... $tag$ string bodies.
	DollarQuotes bool
	// Backticks enables MySQL `quoted identifiers`.
	Backticks bool
	// Brackets enables [bracketed identifiers] (SQL Server, SQLite).
	Brackets bool
	// HashComments enables MySQL # comments.
	HashComments bool
	// DashCommentNeedsSpace makes "--" a comment only when a space or a
	// control character (or the end of the script) follows, as in MySQL,
	// where "SELECT 1--1" is 1 minus -1.
	DashCommentNeedsSpace bool
	// NestedComments makes /* */ comments nest (PostgreSQL).
	NestedComments bool
	// BackslashEscapes lets a backslash escape the next byte in every
	// string literal (MySQL's default sql_mode); PostgreSQL's E'...' strings
	// always honour backslashes.
	BackslashEscapes bool
	// DoubleQuoteStrings treats "..." as a string with backslash escapes
	// (MySQL) rather than an identifier; the lexing is the same either way
	// except for escapes.
	DoubleQuoteStrings bool
	// ExecutableComments makes MySQL's /*! ... */ and MariaDB's /*M! ... */
	// count as statement text: the server runs what they hold (mysqldump
	// writes whole statements that way).
	ExecutableComments bool
	// Delimiter enables the mysql client's DELIMITER command.
	Delimiter bool
	// BatchSeparator, when set (SQL Server's "GO"), splits only on lines
	// holding that word alone (optionally with a repeat count); semicolons
	// stay inside the batch.
	BatchSeparator string
	// BeginEnd keeps the ';' inside BEGIN ... END and CASE ... END bodies of
	// a CREATE statement (triggers, procedures, SQL-standard function bodies).
	BeginEnd bool
	// Parens keeps the ';' inside parentheses, as psql does: CREATE RULE
	// ... DO ALSO (INSERT ...; INSERT ...) is one statement. An unclosed
	// parenthesis is a syntax error rather than the rest of the script
	// read as one statement.
	Parens bool
	// NoCopyFromStdin refuses PostgreSQL's COPY ... FROM STDIN: psql sends
	// the rows that follow it in the script, but to the splitter they are
	// more SQL, and a server sent the statement alone waits for rows
	// forever. Needs BeginEnd, which tracks a statement's words.
	NoCopyFromStdin bool
}

// Statement is one piece of a script, in the order it appears.
type Statement struct {
	// Text is the statement as written, without the delimiter that ends it
	// and without the comments and blank space before it.
	Text string
	// Start and End are byte offsets of Text in the script.
	Start, End int
	// Line is the 1-based line on which Text starts.
	Line int
	// Repeat is how many times a SQL Server batch runs ("GO 3"); 1 otherwise.
	Repeat int
}

// SyntaxError reports input the splitter cannot cut safely, such as an
// unterminated quote. Line and Column are 1-based and point at the opening.
type SyntaxError struct {
	Line, Column int
	Msg          string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// StartsDashComment reports whether s starts with a "--" comment.
func (d Dialect) StartsDashComment(s string) bool {
	return strings.HasPrefix(s, "--") && (!d.DashCommentNeedsSpace || len(s) == 2 || s[2] <= ' ')
}

// LineOf returns the 1-based line of byte offset off in script.
func LineOf(script string, off int) int {
	if off > len(script) {
		off = len(script)
	}
	return strings.Count(script[:off], "\n") + 1
}

type lexer struct {
	d     Dialect
	src   string
	pos   int
	out   []Statement
	delim string

	// current statement
	start     int // -1 while no significant byte has been seen
	end       int // end of the last significant token
	firstWord string
	depth     int  // BEGIN/CASE nesting inside a CREATE body
	compound  bool // MariaDB's BEGIN NOT ATOMIC ... END block
	fromStdin bool // a COPY ... FROM STDIN (Dialect.NoCopyFromStdin)
	parens    int  // open parentheses (Dialect.Parens)
	parenOpen int  // offset of the outermost open parenthesis
	lastWord  string
	// comments, when not nil, collects where line comments start
	// (CommentStarts).
	comments   []int
	lineAtPos  int // line number of pos, kept incrementally
	lineCursor int
	startLine  int

	// Where src sits in the whole script, for a Scanner that lexes one
	// window of it at a time; Split leaves them at the script's start.
	base      int  // offset of src[0] in the script
	lineBase  int  // line of src[0]
	col0      int  // bytes of src[0]'s line that lie before src[0]
	lineBlank bool // whether those bytes are all blank

	// partial says more of the script follows src. Then every look at the
	// end of src touches it, since the bytes after could change the
	// decision; only the statements cut before the first touch are final.
	partial  bool
	touched  bool
	cutPos   int    // where lexing may restart after the last final cut
	cutDelim string // the delimiter in force there
	cutOut   int    // statements final at that cut
}

// Split cuts script into statements under dialect d.
func Split(script string, d Dialect) ([]Statement, error) {
	lx := newLexer(script, d)
	if err := lx.run(); err != nil {
		return nil, err
	}
	return lx.out, nil
}

// CommentStarts returns, in order, the byte offsets at which a line comment
// ("--", or MySQL's "#") starts as the server reads the script: not inside
// a string, a quoted identifier or a /* */ comment, where the same text is
// data or already comment.
func CommentStarts(script string, d Dialect) ([]int, error) {
	lx := newLexer(script, d)
	lx.comments = []int{}
	if err := lx.run(); err != nil {
		return nil, err
	}
	return lx.comments, nil
}

func newLexer(src string, d Dialect) *lexer {
	return &lexer{d: d, src: src, delim: ";", start: -1, lineAtPos: 1, lineBase: 1, lineBlank: true}
}

// touch notes that a decision looked at the end of a partial window.
func (lx *lexer) touch() {
	if lx.partial {
		lx.touched = true
	}
}

// hasPrefix reports whether s starts at pos, touching the end of the window
// when the bytes there are only a beginning of s.
func (lx *lexer) hasPrefix(s string) bool {
	rest := lx.src[lx.pos:]
	if len(rest) < len(s) && strings.HasPrefix(s, rest) {
		lx.touch()
	}
	return strings.HasPrefix(rest, s)
}

// dashComment reports whether a "--" comment starts at pos; the byte after
// the dashes decides in MySQL, so a window ending there is touched.
func (lx *lexer) dashComment() bool {
	if !lx.hasPrefix("--") {
		return false
	}
	if lx.pos+2 == len(lx.src) {
		lx.touch()
	}
	return lx.d.StartsDashComment(lx.src[lx.pos:])
}

func (lx *lexer) lineAt(off int) int {
	// Offsets only move forward, so count incrementally.
	if off < lx.lineCursor {
		return lx.lineBase + strings.Count(lx.src[:off], "\n")
	}
	lx.lineAtPos += strings.Count(lx.src[lx.lineCursor:off], "\n")
	lx.lineCursor = off
	return lx.lineAtPos
}

func (lx *lexer) errAt(off int, format string, args ...any) error {
	line := lx.lineBase + strings.Count(lx.src[:off], "\n")
	col := off - (strings.LastIndexByte(lx.src[:off], '\n') + 1) + 1
	if !strings.Contains(lx.src[:off], "\n") {
		col += lx.col0
	}
	return &SyntaxError{Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// firstWords is the start of s up to its line's end, at most 30 bytes, for
// messages.
func firstWords(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 30 {
		s = s[:30]
	}
	return s
}

// mark records that a significant token spans [from, to).
func (lx *lexer) mark(from, to int) {
	if lx.start < 0 {
		lx.start = from
		lx.startLine = lx.lineAt(from)
	}
	lx.end = to
}

func (lx *lexer) flush(repeat int) {
	if lx.start >= 0 {
		lx.out = append(lx.out, Statement{
			Text: lx.src[lx.start:lx.end], Start: lx.base + lx.start, End: lx.base + lx.end,
			Line: lx.startLine, Repeat: repeat,
		})
	}
	if !lx.touched {
		lx.cutPos, lx.cutDelim, lx.cutOut = lx.pos, lx.delim, len(lx.out)
	}
	lx.start, lx.end, lx.firstWord, lx.lastWord, lx.depth, lx.compound, lx.fromStdin, lx.parens = -1, 0, "", "", 0, false, false, 0
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func (lx *lexer) atLineStart(off int) bool {
	for i := off - 1; i >= 0; i-- {
		switch lx.src[i] {
		case '\n':
			return true
		case ' ', '\t', '\r':
			continue
		default:
			return false
		}
	}
	return lx.lineBlank
}

func (lx *lexer) run() error {
	src := lx.src
	for lx.pos < len(src) && !lx.touched {
		c := src[lx.pos]
		switch {
		// The first-byte test spares a look back to the line start at
		// every byte of a batch script.
		case lx.d.BatchSeparator != "" && c|0x20 == lx.d.BatchSeparator[0]|0x20 && lx.atLineStart(lx.pos) && lx.batchSeparator():
			continue
		case lx.d.Delimiter && lx.start < 0 && lx.atLineStart(lx.pos) && lx.delimiterLine():
			if err := lx.delimiterCommand(); err != nil {
				return err
			}
			continue
		case c == '\\' && lx.start < 0:
			// No SQL statement starts with a backslash: this is psql's
			// \i or \set, or the mysql client's \. (source). The server
			// would reject it, perhaps after earlier statements committed.
			return lx.errAt(lx.pos, "%q is a command of the database's command-line client (psql, mysql), not SQL, and migrate sends SQL only; put the SQL it stands for in the script", firstWords(lx.src[lx.pos:]))
		case lx.d.BatchSeparator != "" && c == ':' && lx.start < 0 && lx.atLineStart(lx.pos) && lx.sqlcmdCommand():
			// sqlcmd's :r, :setvar, :on error: T-SQL never starts so.
			return lx.errAt(lx.pos, "%q is a sqlcmd command, not T-SQL, and migrate sends T-SQL only; put the SQL it stands for in the script", firstWords(lx.src[lx.pos:]))
		case lx.d.Delimiter && lx.start < 0 && c|0x20 == 's' && lx.atLineStart(lx.pos) && lx.sourceCommand():
			return lx.errAt(lx.pos, "%q is the mysql client's command to read another file, not SQL, and migrate sends SQL only; put that file's statements in the script, or make it a migration of its own", firstWords(lx.src[lx.pos:]))
		case lx.d.BatchSeparator == "" && lx.parens == 0 && lx.hasPrefix(lx.delim) && lx.depth == 0:
			if lx.fromStdin {
				return lx.copyFromStdin()
			}
			lx.pos += len(lx.delim)
			lx.flush(1)
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			lx.pos++
		case c == '-' && lx.dashComment(), c == '#' && lx.d.HashComments:
			if lx.comments != nil {
				lx.comments = append(lx.comments, lx.pos)
			}
			lx.skipLine()
		case c == '-' && lx.start < 0 && lx.hasPrefix("--"):
			// Only MySQL gets here: a "--" not followed by a space. No
			// statement starts with a double minus, so this was meant as
			// a comment, and the server would reject it, perhaps after
			// earlier statements of the migration committed.
			return lx.errAt(lx.pos, "%q is not a comment in MySQL, which needs a space after \"--\"; write \"-- %s\"", firstWords(lx.src[lx.pos:]), strings.TrimLeft(firstWords(lx.src[lx.pos:]), "-"))
		case c == '/' && lx.hasPrefix("/*"):
			from := lx.pos
			if err := lx.blockComment(); err != nil {
				return err
			}
			if lx.d.ExecutableComments && (strings.HasPrefix(src[from:], "/*!") || strings.HasPrefix(src[from:], "/*M!")) {
				lx.mark(from, lx.pos)
			}
		case c == '\'':
			escapes := lx.d.BackslashEscapes || lx.pos > 0 && (src[lx.pos-1] == 'E' || src[lx.pos-1] == 'e') && (lx.pos < 2 || !isWordByte(src[lx.pos-2]))
			if err := lx.quoted('\'', '\'', escapes, "string literal"); err != nil {
				return err
			}
		case c == '"':
			if err := lx.quoted('"', '"', lx.d.DoubleQuoteStrings && lx.d.BackslashEscapes, "quoted identifier"); err != nil {
				return err
			}
		case c == '`' && lx.d.Backticks:
			if err := lx.quoted('`', '`', false, "backtick identifier"); err != nil {
				return err
			}
		case c == '[' && lx.d.Brackets:
			if err := lx.quoted('[', ']', false, "bracketed identifier"); err != nil {
				return err
			}
		case c == '$' && lx.d.DollarQuotes && (lx.pos == 0 || !isWordByte(src[lx.pos-1])) && lx.dollarTag() != "":
			if err := lx.dollarQuoted(); err != nil {
				return err
			}
		case lx.d.Parens && c == '(':
			if lx.parens == 0 {
				lx.parenOpen = lx.pos
			}
			lx.parens++
			lx.mark(lx.pos, lx.pos+1)
			lx.pos++
		case lx.d.Parens && c == ')' && lx.parens > 0:
			lx.parens--
			lx.mark(lx.pos, lx.pos+1)
			lx.pos++
		case isWordByte(c):
			lx.word()
		default:
			lx.mark(lx.pos, lx.pos+1)
			lx.pos++
		}
	}
	if lx.partial {
		// The last statement may go on in the bytes that follow.
		lx.touched = true
		return nil
	}
	if lx.fromStdin {
		return lx.copyFromStdin()
	}
	if lx.parens > 0 {
		return lx.errAt(lx.parenOpen, "unclosed parenthesis: the rest of the script would be read as one statement")
	}
	lx.flush(1)
	return nil
}

func (lx *lexer) copyFromStdin() error {
	return lx.errAt(lx.start, "COPY ... FROM STDIN reads rows that psql sends from the lines after it, and migrate sends SQL statements only (the server would wait for the rows forever); write the rows as INSERT statements, or COPY FROM a file on the server")
}

func (lx *lexer) skipLine() {
	if i := strings.IndexByte(lx.src[lx.pos:], '\n'); i >= 0 {
		lx.pos += i + 1
	} else {
		lx.touch()
		lx.pos = len(lx.src)
	}
}

func (lx *lexer) blockComment() error {
	open := lx.pos
	depth := 0
	for lx.pos < len(lx.src) {
		switch {
		case lx.hasPrefix("/*"):
			if depth == 0 || lx.d.NestedComments {
				depth++
			}
			lx.pos += 2
		case lx.hasPrefix("*/"):
			depth--
			lx.pos += 2
			if depth == 0 {
				return nil
			}
		default:
			lx.pos++
		}
	}
	return lx.errAt(open, "unterminated /* comment")
}

func (lx *lexer) quoted(open, close byte, escapes bool, what string) error {
	from := lx.pos
	lx.pos++
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch {
		case escapes && c == '\\':
			lx.pos += 2
		case c == close:
			if lx.pos+1 == len(lx.src) {
				lx.touch()
			}
			if lx.pos+1 < len(lx.src) && lx.src[lx.pos+1] == close {
				// A doubled closer escapes itself: '' in strings, "" and
				// `` in identifiers, and ]] inside [brackets].
				lx.pos += 2
				continue
			}
			lx.pos++
			lx.mark(from, lx.pos)
			return nil
		default:
			lx.pos++
		}
	}
	return lx.errAt(from, "unterminated %s (opened with %c)", what, open)
}

// dollarTag returns the $tag$ opening at pos, or "" if there is none.
func (lx *lexer) dollarTag() string {
	s := lx.src[lx.pos:]
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == '$' {
			return s[:i+1]
		}
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 || i > 1 && c >= '0' && c <= '9') {
			return ""
		}
	}
	lx.touch()
	return ""
}

func (lx *lexer) dollarQuoted() error {
	from := lx.pos
	tag := lx.dollarTag()
	i := strings.Index(lx.src[from+len(tag):], tag)
	if i < 0 {
		return lx.errAt(from, "unterminated dollar-quoted string (opened with %s)", tag)
	}
	lx.pos = from + len(tag) + i + len(tag)
	lx.mark(from, lx.pos)
	return nil
}

func (lx *lexer) word() {
	from := lx.pos
	// A custom delimiter may start with a word byte ("END$$"), and it ends
	// the word there.
	for lx.pos < len(lx.src) && isWordByte(lx.src[lx.pos]) && (lx.delim == ";" || !lx.hasPrefix(lx.delim)) {
		lx.pos++
	}
	if lx.pos == len(lx.src) {
		lx.touch()
	}
	lx.mark(from, lx.pos)
	if !lx.d.BeginEnd || lx.delim != ";" {
		return
	}
	w := strings.ToUpper(lx.src[from:lx.pos])
	prev := lx.lastWord
	lx.lastWord = w
	if lx.firstWord == "" {
		lx.firstWord = w
		return // a statement that starts with BEGIN is a transaction, not a body
	}
	if lx.d.NoCopyFromStdin && lx.firstWord == "COPY" && prev == "FROM" && w == "STDIN" {
		lx.fromStdin = true
	}
	if lx.firstWord == "BEGIN" && prev == "BEGIN" && w == "NOT" {
		// BEGIN NOT ATOMIC opens a MariaDB compound statement, whose body
		// holds ';' like a procedure's.
		lx.compound = true
		lx.depth = 1
		return
	}
	if lx.firstWord != "CREATE" && !lx.compound {
		return
	}
	switch w {
	case "BEGIN", "CASE":
		// END CASE closes a CASE statement; it opens nothing.
		if prev != "END" {
			lx.depth++
		}
	case "END":
		if lx.depth > 0 {
			lx.depth--
		}
	case "IF", "LOOP", "WHILE", "REPEAT":
		// MySQL's END IF / END LOOP ... close blocks that were never
		// counted; undo the decrement their END made.
		if prev == "END" {
			lx.depth++
		}
	}
}

// sqlcmdCommand reports whether a sqlcmd command (":" and a letter) starts
// at pos.
func (lx *lexer) sqlcmdCommand() bool {
	if lx.pos+1 >= len(lx.src) {
		lx.touch()
		return false
	}
	c := lx.src[lx.pos+1] | 0x20
	return c >= 'a' && c <= 'z'
}

// sourceCommand reports whether the mysql client's SOURCE command starts at
// pos: the word, then a blank.
func (lx *lexer) sourceCommand() bool {
	rest := lx.src[lx.pos:]
	const kw = "SOURCE"
	if len(rest) <= len(kw) {
		lx.touch()
		return false
	}
	return strings.EqualFold(rest[:len(kw)], kw) && (rest[len(kw)] == ' ' || rest[len(kw)] == '\t')
}

// delimiterLine reports whether a mysql-client DELIMITER command starts at
// pos: the word, then a blank or the line's end (LF or CRLF). A carriage
// return with more after it on the line does not end the word, so
// "DELIMITER\r0" is SQL, not a command.
func (lx *lexer) delimiterLine() bool {
	rest := lx.src[lx.pos:]
	const kw = "DELIMITER"
	if len(rest) < len(kw) || len(rest) == len(kw) && lx.partial {
		lx.touch()
		return false
	}
	if !strings.EqualFold(rest[:len(kw)], kw) {
		return false
	}
	if len(rest) == len(kw) {
		return true
	}
	switch rest[len(kw)] {
	case ' ', '\t', '\n':
		return true
	case '\r':
		if len(rest) == len(kw)+1 {
			if lx.partial {
				lx.touch()
				return false
			}
			return true
		}
		return rest[len(kw)+1] == '\n'
	}
	return false
}

// delimiterCommand consumes a mysql-client "DELIMITER x" line. One without
// its delimiter is an error, as in the client: sent to the server, it
// failed there, after the statements before it had taken effect.
func (lx *lexer) delimiterCommand() error {
	rest := lx.src[lx.pos:]
	const kw = "DELIMITER"
	line := rest
	if i := strings.IndexByte(rest, '\n'); i >= 0 {
		line = rest[:i]
	} else {
		lx.touch()
		if lx.partial {
			return nil
		}
	}
	d := strings.TrimSpace(line[len(kw):])
	if f := strings.Fields(d); len(f) > 0 {
		d = f[0]
	}
	if d == "" {
		return lx.errAt(lx.pos, "DELIMITER needs the delimiter to use after it on the same line, such as DELIMITER //")
	}
	lx.delim = d
	lx.skipLine()
	return nil
}

// batchSeparator consumes a SQL Server "GO [count]" line and ends the batch.
func (lx *lexer) batchSeparator() bool {
	rest := lx.src[lx.pos:]
	line := rest
	if i := strings.IndexByte(rest, '\n'); i >= 0 {
		line = rest[:i]
	} else {
		lx.touch()
	}
	if c := strings.Index(line, "--"); c >= 0 {
		line = line[:c]
	}
	f := strings.Fields(line)
	if len(f) == 0 || len(f) > 2 || !strings.EqualFold(f[0], lx.d.BatchSeparator) {
		return false
	}
	repeat := 1
	if len(f) == 2 {
		// Digits only, as sqlcmd takes it: Atoi alone would read "GO +1"
		// as a separator that sqlcmd refuses.
		n, err := strconv.Atoi(f[1])
		if err != nil || n < 1 || strings.TrimLeft(f[1], "0123456789") != "" {
			return false
		}
		repeat = n
	}
	lx.skipLine()
	lx.flush(repeat)
	return true
}
