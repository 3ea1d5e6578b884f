package postgres

import (
	"strings"
	"sync"

	"github.com/migrate-dev/migrate/migrator"
)

// tracker follows the statements the driver runs while verify tracks
// changes (TrackChanges).
//
// An untracked snapshot finds what changed by the xmin of every catalogue
// row (see tableCache): sound whatever ran, but it scans pg_attribute,
// pg_class, pg_type and a dozen other catalogues whole, twice as much
// server time as rendering the one or two tables a migration changed, on
// each of verify's three snapshots per migration. While verify runs every
// script itself, the statements' text says which tables they can change
// for the common ones (CREATE TABLE, CREATE INDEX, ALTER TABLE, DROP TABLE,
// DROP INDEX); a snapshot then looks up only those names, by index. Any
// other statement, or one of those that reaches further (CASCADE, RENAME
// TO, partitions, inheritance), or code the server may run with them (an
// event trigger, a volatile function: see hiddenChanges), makes the next
// snapshot find changes by xmin again, which needs nothing from the
// tracker: it compares with the horizon of the last snapshot that did.
type tracker struct {
	mu sync.Mutex
	on bool
	// run counts TrackChanges calls, so that a stop in one run does
	// nothing to the next.
	run     int
	pending noted
}

// noted is what the statements run since the last snapshot may have
// changed, as far as their text tells.
type noted struct {
	// all: something ran whose reach the text does not tell.
	all bool
	// tables are the tables named; a name without a schema stands for
	// that name in every schema.
	tables []relName
	// indexes are the indexes dropped, found through the tables that had
	// them.
	indexes []relName
	// objects: a statement may have created or dropped a sequence
	// (serial and identity columns, LIKE ... INCLUDING) or changed a
	// trigger, which the other objects list.
	objects bool
	// runs: an ALTER TABLE or CREATE INDEX computes values over its
	// table's rows (a new column's default, USING, a check it adds or
	// checks again, a cast, an index's expressions), which may call a
	// function of the schema's; one that is volatile may change anything
	// (CREATE TABLE in a default's function). Only a volatile function
	// runs DDL, though one declared immutable may call it.
	runs bool
}

// relName is a relation as a statement names it.
type relName struct {
	schema, name string
}

// matches reports whether a relation in schema nsp named name is one n
// names.
func (n relName) matches(nsp, name string) bool {
	return n.name == name && (n.schema == "" || n.schema == nsp)
}

// TrackChanges makes each snapshot look up only the tables the scripts
// run through this driver since the last one name, while their text tells,
// until stop is called. It is right only while nothing else changes the
// database, which verify ensures and checks.
func (d *Driver) TrackChanges() (stop func()) {
	t := &d.track
	t.mu.Lock()
	defer t.mu.Unlock()
	t.run++
	run := t.run
	// The first snapshot of the run finds changes by xmin: the driver's
	// last snapshot may be from before something the tracker never saw.
	t.on, t.pending = true, noted{all: true}
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.run == run {
			t.on, t.pending = false, noted{}
		}
	}
}

// note reads the statements of steps about to run. They are noted before
// they run: a step that fails halfway may have changed what its first
// statements changed (outside a transaction).
func (t *tracker) note(steps []*migrator.Step) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.on {
		return
	}
	if !migrator.HeldStatements(steps, t.pending.note) {
		t.pending = noted{all: true}
	}
}

// take returns the changes noted since the last snapshot, and whether
// tracking is on; a snapshot that fails then calls giveBack.
func (t *tracker) take() (noted, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.on {
		return noted{}, false
	}
	ch := t.pending
	t.pending = noted{}
	return ch, true
}

// giveBack makes the next snapshot find changes by xmin, after one that
// took the changes noted failed.
func (t *tracker) giveBack() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.on {
		t.pending = noted{all: true}
	}
}

// note reads one statement.
func (c *noted) note(stmt string) {
	if c.all {
		return
	}
	l := &lexer{text: stmt}
	if !c.read(l) || l.bad {
		*c = noted{all: true}
	}
}

// read reads the statement l holds, reporting false when its reach is
// not told by its text.
func (c *noted) read(l *lexer) bool {
	first := l.next()
	switch {
	case first.kind == endToken:
		return true // only comments
	case first.is("set"), first.is("reset"):
		// Session settings change no catalogue row. (A search_path set
		// here changes where names without a schema go, which the
		// lookup of such names in every schema covers.) The rest is
		// read for a second statement (see rest).
		return c.rest(l, nil)
	case first.is("create"):
		return c.create(l)
	case first.is("drop"):
		return c.drop(l)
	case first.is("alter"):
		if !l.next().is("table") {
			return false
		}
		l.optional("if", "exists")
		l.optional("only")
		t, ok := l.relName()
		if !ok || t.schema == "" && t.name == "all" {
			// ALTER TABLE ALL IN TABLESPACE moves every table.
			return false
		}
		c.tables, c.runs = append(c.tables, t), true
		return c.rest(l, alterWords)
	}
	return false
}

func (c *noted) create(l *lexer) bool {
	tok := l.next()
	if tok.is("unlogged") {
		tok = l.next()
	}
	if tok.is("table") {
		l.optional("if", "not", "exists")
		t, ok := l.relName()
		if !ok || !l.next().isPunct('(') {
			// CREATE TABLE ... AS, OF a type, PARTITION OF.
			return false
		}
		c.tables = append(c.tables, t)
		return c.rest(l, createTableWords)
	}
	if tok.is("unique") {
		tok = l.next()
	}
	if !tok.is("index") {
		return false
	}
	l.optional("concurrently")
	if !l.optional("on") {
		l.optional("if", "not", "exists")
		if _, ok := l.relName(); !ok || !l.next().is("on") {
			return false
		}
	}
	l.optional("only")
	t, ok := l.relName()
	if !ok {
		return false
	}
	c.tables, c.runs = append(c.tables, t), true
	return c.rest(l, nil)
}

func (c *noted) drop(l *lexer) bool {
	tok := l.next()
	list := &c.tables
	switch {
	case tok.is("table"):
	case tok.is("index"):
		list = &c.indexes
		l.optional("concurrently")
	default:
		return false
	}
	l.optional("if", "exists")
	for {
		t, ok := l.relName()
		if !ok {
			return false
		}
		*list = append(*list, t)
		tok := l.next()
		switch {
		case tok.isPunct(','):
			continue
		case tok.is("restrict"):
			tok = l.next()
		}
		// CASCADE drops what depends on the relation, wherever it is.
		return tok.kind == endToken || tok.isPunct(';') && l.next().kind == endToken
	}
}

// wordReach is what a word in the rest of a statement means for what it
// can change.
type wordReach int

const (
	reachOther   wordReach = iota + 1 // beyond the tables named: find changes by xmin
	reachObjects                      // a sequence or trigger: read the other objects again
)

// createTableWords and alterWords are the words that take CREATE TABLE and
// ALTER TABLE beyond the table named. They are looked for anywhere in the
// rest of the statement but in strings and comments, where no word
// reaches anything; as a word in a clause that does not reach further
// costs only a slower snapshot. RENAME reaches further only before TO
// (the table's own new name); see rest.
var (
	createTableWords = map[string]wordReach{
		"partition": reachOther, "inherits": reachOther,
		"serial": reachObjects, "serial2": reachObjects, "serial4": reachObjects, "serial8": reachObjects,
		"smallserial": reachObjects, "bigserial": reachObjects, "identity": reachObjects,
		// LIKE ... INCLUDING ALL copies identity columns, with new
		// sequences.
		"like": reachObjects,
	}
	alterWords = map[string]wordReach{
		"partition": reachOther, "inherit": reachOther, "attach": reachOther, "detach": reachOther,
		"schema": reachOther, "of": reachOther, "rule": reachOther,
		"serial": reachObjects, "serial2": reachObjects, "serial4": reachObjects, "serial8": reachObjects,
		"smallserial": reachObjects, "bigserial": reachObjects, "identity": reachObjects,
		"trigger": reachObjects, "sequence": reachObjects,
	}
)

// rest reads the statement after the part that names its table.
func (c *noted) rest(l *lexer, words map[string]wordReach) bool {
	prev := token{}
	for {
		tok := l.next()
		switch {
		case l.bad:
			return false
		case tok.kind == endToken:
			return true
		case tok.isPunct(';'):
			// A text the splitter left whole may hold another statement
			// for the server, where the two read a comment differently (a
			// line comment ended by a carriage return): that one is not
			// read here.
			return l.next().kind == endToken
		case tok.kind == nameToken:
			// A column's type "serial", quoted, is serial too: the
			// server compares the type's name, not how it was written.
			if words[tok.text] == reachObjects {
				c.objects = true
			}
		case tok.kind != wordToken:
		case tok.text == "cascade" && !prev.is("delete") && !prev.is("update"),
			prev.is("rename") && tok.text == "to":
			// CASCADE drops what depends on a column or constraint, in
			// other tables and views (ON DELETE CASCADE is a foreign
			// key's action); RENAME TO renames the table itself.
			return false
		default:
			switch words[tok.text] {
			case reachOther:
				return false
			case reachObjects:
				c.objects = true
			}
		}
		prev = tok
	}
}

// lexer reads PostgreSQL tokens.
type lexer struct {
	text string
	pos  int
	// bad: something this reader does not understand (an unterminated
	// quote or comment, a Unicode-escaped name, a word with bytes beyond
	// ASCII, which the server may fold differently).
	bad bool
}

type tokenKind int

const (
	endToken   tokenKind = iota
	wordToken            // a bare word, lower-cased
	nameToken            // a "quoted" name, unquoted
	punctToken           // one byte of punctuation
	otherToken           // a string, number or parameter
)

type token struct {
	kind tokenKind
	text string
}

func (t token) is(word string) bool  { return t.kind == wordToken && t.text == word }
func (t token) isPunct(b byte) bool  { return t.kind == punctToken && t.text[0] == b }
func (t token) isName() bool         { return t.kind == wordToken || t.kind == nameToken }
func isWordStart(b byte) bool        { return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }
func isWordByte(b byte) bool         { return isWordStart(b) || b >= '0' && b <= '9' || b == '$' }
func (l *lexer) fail() token         { l.bad = true; return token{} }
func (l *lexer) peekByte(i int) byte { return byteAt(l.text, l.pos+i) }

func byteAt(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// optional consumes words if the next tokens are those words, and reports
// whether they were.
func (l *lexer) optional(words ...string) bool {
	save := l.pos
	for _, w := range words {
		if !l.next().is(w) {
			l.pos = save
			return false
		}
	}
	return true
}

// maxNameBytes is the longest name the server keeps (NAMEDATALEN - 1). It
// cuts a longer one down, at a character of the server's encoding, and
// the name looked up would not be the one the statement changed.
const maxNameBytes = 63

// relName reads a name, qualified or not (a database in front is
// dropped). Blanks and comments may stand around the dots: "s . t" is
// s.t to the server.
func (l *lexer) relName() (relName, bool) {
	var parts []string
	for {
		tok := l.next()
		if !tok.isName() || len(tok.text) > maxNameBytes {
			return relName{}, false
		}
		parts = append(parts, tok.text)
		save := l.pos
		if !l.skipSpace() {
			return relName{}, false
		}
		if l.peekByte(0) != '.' || len(parts) == 3 {
			l.pos = save
			break
		}
		l.pos++
	}
	if len(parts) == 1 {
		return relName{name: parts[0]}, true
	}
	return relName{schema: parts[len(parts)-2], name: parts[len(parts)-1]}, true
}

func (l *lexer) next() token {
	if !l.skipSpace() {
		return l.fail()
	}
	if l.pos >= len(l.text) {
		return token{}
	}
	b := l.text[l.pos]
	switch {
	case (b == 'u' || b == 'U') && l.peekByte(1) == '&':
		return l.fail()
	case (b == 'e' || b == 'E') && l.peekByte(1) == '\'':
		l.pos++
		return l.quoted('\'', true, otherToken)
	case (b == 'b' || b == 'B' || b == 'x' || b == 'X' || b == 'n' || b == 'N') && l.peekByte(1) == '\'':
		l.pos++
		return l.quoted('\'', false, otherToken)
	case isWordStart(b):
		start := l.pos
		for l.pos < len(l.text) && isWordByte(l.text[l.pos]) {
			l.pos++
		}
		if l.pos < len(l.text) && l.text[l.pos] >= 0x80 {
			return l.fail()
		}
		return token{wordToken, strings.ToLower(l.text[start:l.pos])}
	case b >= 0x80:
		return l.fail()
	case b == '"':
		return l.quoted('"', false, nameToken)
	case b == '\'':
		return l.quoted('\'', false, otherToken)
	case b == '$':
		return l.dollar()
	case b >= '0' && b <= '9':
		for l.pos < len(l.text) && (isWordByte(l.text[l.pos]) || l.text[l.pos] == '.') {
			l.pos++
		}
		return token{kind: otherToken}
	}
	l.pos++
	return token{punctToken, string(b)}
}

// skipSpace skips blanks and comments (block comments nest), reporting
// false at an unterminated one.
func (l *lexer) skipSpace() bool {
	for l.pos < len(l.text) {
		switch b := l.text[l.pos]; {
		case b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v':
			l.pos++
		case b == '-' && l.peekByte(1) == '-':
			// The server ends a line comment at a carriage return too.
			end := strings.IndexAny(l.text[l.pos:], "\n\r")
			if end < 0 {
				l.pos = len(l.text)
			} else {
				l.pos += end + 1
			}
		case b == '/' && l.peekByte(1) == '*':
			depth := 0
			for {
				if l.pos+1 >= len(l.text) {
					return false
				}
				switch l.text[l.pos : l.pos+2] {
				case "/*":
					depth++
					l.pos += 2
				case "*/":
					depth--
					l.pos += 2
				default:
					l.pos++
				}
				if depth == 0 {
					break
				}
			}
		default:
			return true
		}
	}
	return true
}

// quoted reads a string or name quoted by q, with q doubled inside; with
// escapes, a backslash escapes the next byte. A string without E that
// holds a backslash is not understood: whether it escapes depends on
// standard_conforming_strings.
func (l *lexer) quoted(q byte, escapes bool, kind tokenKind) token {
	l.pos++
	var b strings.Builder
	for l.pos < len(l.text) {
		c := l.text[l.pos]
		switch {
		case c == '\\' && escapes:
			l.pos += 2
			continue
		case c == '\\' && q == '\'':
			return l.fail()
		case c == q && l.peekByte(1) == q:
			b.WriteByte(q)
			l.pos += 2
			continue
		case c == q:
			l.pos++
			return token{kind, b.String()}
		}
		b.WriteByte(c)
		l.pos++
	}
	return l.fail()
}

// dollar reads a parameter ($1) or a dollar-quoted string ($tag$...$tag$).
func (l *lexer) dollar() token {
	start := l.pos
	l.pos++
	if b := l.peekByte(0); b >= '0' && b <= '9' {
		for l.pos < len(l.text) && l.text[l.pos] >= '0' && l.text[l.pos] <= '9' {
			l.pos++
		}
		return token{kind: otherToken}
	}
	for l.pos < len(l.text) && l.text[l.pos] != '$' {
		if !isWordByte(l.text[l.pos]) || l.text[l.pos] == '$' {
			return l.fail()
		}
		l.pos++
	}
	if l.pos >= len(l.text) {
		return l.fail()
	}
	l.pos++
	tag := l.text[start:l.pos]
	end := strings.Index(l.text[l.pos:], tag)
	if end < 0 {
		return l.fail()
	}
	l.pos += end + len(tag)
	return token{kind: otherToken}
}
