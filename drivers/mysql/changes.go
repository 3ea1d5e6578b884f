package mysql

import (
	"strings"
)

// changes is what the statements run since the last snapshot may have
// changed, as far as their text tells.
//
// MySQL and MariaDB give no cheap sign that a table's definition changed
// (information_schema opens every table to answer; CREATE_TIME counts whole
// seconds), and reading every table three times per migration made verify
// three times slower than the migrations it checks. So while verify tracks
// changes, the driver reads what each statement it runs can touch, and a
// snapshot reads again only those tables. Everything not recognised here
// sets all, and the next snapshot reads everything.
type changes struct {
	// all: something ran whose reach is unknown.
	all bool
	// tables are the tables named, lower-cased (names compare either way
	// under lower_case_table_names).
	tables map[string]bool
	// objects: a view, routine, trigger or sequence was created,
	// altered, dropped or (RENAME TABLE renames views) renamed.
	objects bool
}

func (c *changes) touch(table string) {
	for i := 0; i < len(table); i++ {
		if table[i] >= 0x80 {
			// Go's case folding and the server's differ beyond ASCII.
			c.all = true
			return
		}
	}
	if c.tables == nil {
		c.tables = map[string]bool{}
	}
	c.tables[strings.ToLower(table)] = true
}

// note reads one statement run in database db.
func (c *changes) note(stmt, db string) {
	if c.all {
		return
	}
	h := &head{text: stmt, db: db}
	if !h.read(c) {
		c.all = true
	}
}

// head reads the words a statement starts with.
type head struct {
	text string
	db   string
	pos  int
	// bad: something this reader does not understand (an executable
	// comment, a control byte, an unterminated quote, a backslash in a
	// string, which sql_mode may or may not make an escape).
	bad bool
}

type tokenKind int

const (
	endToken    tokenKind = iota
	wordToken             // a bare word, as written
	nameToken             // a `quoted` name, unquoted
	stringToken           // a '...' or "..." string (or, under ANSI_QUOTES, name)
	punctToken            // one byte of punctuation
)

type token struct {
	kind tokenKind
	text string
}

// isName reports whether t can be an object's name.
func (t token) isName() bool { return t.kind == wordToken || t.kind == nameToken }

// next returns the next token; the end, also after anything bad.
func (h *head) next() token {
	s := h.text
	for h.pos < len(s) && !h.bad {
		c := s[h.pos]
		switch {
		case c == ' ' || c >= '\t' && c <= '\r':
			// The server's white space, vertical tab included.
			h.pos++
		case c < ' ' || c == 0x7f:
			h.bad = true
		case c == '#' || c == '-' && strings.HasPrefix(s[h.pos:], "--") && (h.pos+2 == len(s) || s[h.pos+2] <= ' '):
			for h.pos < len(s) && s[h.pos] != '\n' {
				h.pos++
			}
		case c == '/' && strings.HasPrefix(s[h.pos:], "/*"):
			// /*! and /*M! hold code the server runs.
			end := strings.Index(s[h.pos+2:], "*/")
			if end < 0 || strings.HasPrefix(s[h.pos:], "/*!") || strings.HasPrefix(s[h.pos:], "/*M!") {
				h.bad = true
				break
			}
			h.pos += 2 + end + 2
		case c == '`' || c == '\'' || c == '"':
			return h.quoted(c)
		case isNameByte(c):
			start := h.pos
			for h.pos < len(s) && isNameByte(s[h.pos]) {
				h.pos++
			}
			return token{wordToken, s[start:h.pos]}
		default:
			h.pos++
			return token{punctToken, s[h.pos-1 : h.pos]}
		}
	}
	return token{}
}

// quoted reads a name or string opened by q at pos, with q doubled inside.
func (h *head) quoted(q byte) token {
	s := h.text
	var b strings.Builder
	for i := h.pos + 1; i < len(s); i++ {
		switch {
		case s[i] == '\\' && q != '`':
			h.bad = true
			return token{}
		case s[i] != q:
			b.WriteByte(s[i])
		case i+1 < len(s) && s[i+1] == q:
			b.WriteByte(q)
			i++
		default:
			h.pos = i + 1
			if q == '`' {
				return token{nameToken, b.String()}
			}
			return token{stringToken, b.String()}
		}
	}
	h.bad = true
	return token{}
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80
}

// word returns the next token upper-cased if it is a bare word, "" if not.
func (h *head) word() string {
	save := h.pos
	t := h.next()
	if t.kind != wordToken {
		h.pos = save
		return ""
	}
	return strings.ToUpper(t.text)
}

// accept consumes the given words if they come next, in order.
func (h *head) accept(words ...string) bool {
	save := h.pos
	for _, w := range words {
		if h.word() != w {
			h.pos = save
			return false
		}
	}
	return true
}

// punct consumes the punctuation p if it comes next.
func (h *head) punct(p string) bool {
	save := h.pos
	if t := h.next(); t.kind != punctToken || t.text != p {
		h.pos = save
		return false
	}
	return true
}

// name reads a table name, qualified or not, and says whether it is one of
// this database's tables.
func (h *head) name() (string, bool) {
	first := h.next()
	if !first.isName() {
		return "", false
	}
	if !h.punct(".") {
		return first.text, true
	}
	table := h.next()
	if !table.isName() {
		return "", false
	}
	// A table of another database: its foreign keys may name ours.
	return table.text, first.text == h.db
}

// names reads a comma-separated list of table names into c.
func (h *head) names(c *changes) bool {
	for {
		t, ok := h.name()
		if !ok {
			return false
		}
		c.touch(t)
		if !h.punct(",") {
			return true
		}
	}
}

// read classifies the statement into c; false means it was not understood.
func (h *head) read(c *changes) bool {
	ok := h.statement(c)
	return ok && !h.bad && !c.all
}

// noSchemaChange are the statements that never change a definition: data
// changes (triggers and stored functions they fire cannot run DDL, which
// commits), reads and transaction control.
var noSchemaChange = map[string]bool{
	"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true, "REPLACE": true, "DO": true, "WITH": true, "VALUES": true,
	"SHOW": true, "DESCRIBE": true, "DESC": true, "EXPLAIN": true, "LOAD": true, "CHECKSUM": true, "ANALYZE": true,
	"START": true, "COMMIT": true, "ROLLBACK": true, "SAVEPOINT": true, "RELEASE": true, "LOCK": true, "UNLOCK": true,
}

func (h *head) statement(c *changes) bool {
	verb := h.word()
	switch {
	case noSchemaChange[verb]:
		// Writing to the mysql schema's tables (mysql.proc holds
		// MariaDB's routines) is writing the catalogue.
		return !containsWord(h.text, "mysql")
	case verb == "SET":
		// SET STATEMENT ... FOR runs the statement after FOR.
		return h.word() != "STATEMENT" && !h.bad
	case verb == "BEGIN":
		// BEGIN [WORK] starts a transaction; BEGIN NOT ATOMIC a block.
		h.accept("WORK")
		return h.next().kind == endToken
	case verb == "TRUNCATE":
		h.accept("TABLE")
		return h.names(c)
	case verb == "RENAME":
		return h.renames(c)
	case verb == "CREATE" || verb == "ALTER" || verb == "DROP":
		if verb == "CREATE" {
			h.accept("OR", "REPLACE")
		}
		return h.definition(verb, c)
	}
	return false
}

// containsWord reports whether w appears in s as a word, in any case,
// wherever it is (a string or comment included: a false match costs a
// full snapshot, never a missed change).
func containsWord(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(w)], w) && (i == 0 || !isNameByte(s[i-1])) && (i+len(w) == len(s) || !isNameByte(s[i+len(w)])) {
			return true
		}
	}
	return false
}

// definition reads CREATE, ALTER or DROP after the verb (and OR REPLACE).
func (h *head) definition(verb string, c *changes) bool {
	save := h.pos
	h.accept("ONLINE")
	h.accept("IGNORE")
	h.accept("TEMPORARY")
	switch h.word() {
	case "TABLE":
		h.accept("IF", "NOT", "EXISTS")
		h.accept("IF", "EXISTS")
		if verb == "DROP" {
			return h.names(c)
		}
		t, ok := h.name()
		c.touch(t)
		if !ok || verb != "ALTER" {
			return ok
		}
		// ALTER TABLE p CONVERT TABLE t TO PARTITION, CONVERT PARTITION
		// ... TO TABLE t and EXCHANGE PARTITION ... WITH TABLE t change
		// a second table.
		return !containsWord(h.text[h.pos:], "TABLE") && h.renamedTo(c)
	case "UNIQUE", "FULLTEXT", "SPATIAL":
		return h.word() == "INDEX" && h.index(c)
	case "INDEX":
		return h.index(c)
	}
	h.pos = save
	return h.object(c)
}

// renamedTo notes the new name of ALTER TABLE ... RENAME [TO | AS] name,
// read to the end of the statement (RENAME COLUMN, INDEX and KEY rename
// inside the table): the name may be that of a table the cache still
// holds, dropped by a statement that did not name it as a table.
func (h *head) renamedTo(c *changes) bool {
	for t := h.next(); t.kind != endToken; t = h.next() {
		if t.kind != wordToken || !strings.EqualFold(t.text, "RENAME") {
			continue
		}
		switch h.word() {
		case "COLUMN", "INDEX", "KEY":
			continue
		case "TO", "AS", "":
		default:
			return false
		}
		to, ok := h.name()
		if !ok {
			return false
		}
		c.touch(to)
	}
	return !h.bad
}

// object reads a view, routine or trigger statement, which makes them all
// be read again, after the clauses that may come before the kind:
// ALGORITHM = w, DEFINER = user, SQL SECURITY w, AGGREGATE. Anything else
// (DATABASE, USER, EVENT, ...) is not understood.
func (h *head) object(c *changes) bool {
	for {
		switch h.word() {
		case "VIEW", "PROCEDURE", "FUNCTION", "TRIGGER":
			c.objects = true
			return true
		case "SEQUENCE":
			// MariaDB's sequences are tables: CREATE OR REPLACE SEQUENCE
			// replaces a table of that name, and DROP SEQUENCE frees the
			// name for one.
			c.objects = true
			h.accept("IF", "NOT", "EXISTS")
			h.accept("IF", "EXISTS")
			return h.names(c)
		case "ALGORITHM":
			if !h.punct("=") || h.word() == "" {
				return false
			}
		case "DEFINER":
			if !h.punct("=") || !h.user() {
				return false
			}
		case "SQL":
			if !h.accept("SECURITY") || h.word() == "" {
				return false
			}
		case "AGGREGATE":
		default:
			return false
		}
	}
}

// user reads an account: CURRENT_USER[()], CURRENT_ROLE, or a name with
// an optional @host, each a word, a `name` or a 'string'.
func (h *head) user() bool {
	t := h.next()
	if !t.isName() && t.kind != stringToken {
		return false
	}
	if t.kind == wordToken && (strings.EqualFold(t.text, "CURRENT_USER") || strings.EqualFold(t.text, "CURRENT_ROLE")) {
		if h.punct("(") && !h.punct(")") {
			return false
		}
		return true
	}
	if h.punct("@") {
		host := h.next()
		return host.isName() || host.kind == stringToken
	}
	return true
}

// index reads [IF [NOT] EXISTS] name [USING type] ON table of CREATE and
// DROP INDEX.
func (h *head) index(c *changes) bool {
	h.accept("IF", "NOT", "EXISTS")
	h.accept("IF", "EXISTS")
	if !h.next().isName() {
		return false
	}
	if h.accept("USING") {
		h.word()
	}
	if !h.accept("ON") {
		return false
	}
	t, ok := h.name()
	c.touch(t)
	return ok
}

// renames reads RENAME TABLE [IF EXISTS] a [WAIT n | NOWAIT] TO b, ...
// RENAME TABLE renames views too, so views and routines are read again.
func (h *head) renames(c *changes) bool {
	if !h.accept("TABLE") && !h.accept("TABLES") {
		return false
	}
	c.objects = true
	h.accept("IF", "EXISTS")
	for {
		from, ok := h.name()
		if !ok {
			return false
		}
		if h.accept("WAIT") {
			h.next()
		}
		h.accept("NOWAIT")
		if !h.accept("TO") {
			return false
		}
		to, ok := h.name()
		if !ok {
			return false
		}
		c.touch(from)
		c.touch(to)
		if !h.punct(",") {
			return true
		}
	}
}
