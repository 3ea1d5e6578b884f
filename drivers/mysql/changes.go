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
	// objects: a view, routine or trigger was created, altered or
	// dropped.
	objects bool
}

func (c *changes) touch(table string) {
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
	// bad: a token this reader does not understand (an executable
	// comment, a string where a name belongs).
	bad bool
}

// next returns the next token: a bare word as written, a `quoted` name
// unquoted with quoted set, or one byte of punctuation. "" is the end.
func (h *head) next() (tok string, quoted bool) {
	s := h.text
	for h.pos < len(s) {
		c := s[h.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			h.pos++
		case c == '#' || c == '-' && strings.HasPrefix(s[h.pos:], "--") && (h.pos+2 == len(s) || s[h.pos+2] <= ' '):
			for h.pos < len(s) && s[h.pos] != '\n' {
				h.pos++
			}
		case c == '/' && strings.HasPrefix(s[h.pos:], "/*"):
			// /*! and /*M! hold code the server runs.
			if strings.HasPrefix(s[h.pos:], "/*!") || strings.HasPrefix(s[h.pos:], "/*M!") {
				h.bad = true
				return "", false
			}
			end := strings.Index(s[h.pos+2:], "*/")
			if end < 0 {
				h.pos = len(s)
			} else {
				h.pos += 2 + end + 2
			}
		case c == '`':
			var b strings.Builder
			for i := h.pos + 1; i < len(s); i++ {
				if s[i] != '`' {
					b.WriteByte(s[i])
					continue
				}
				if i+1 < len(s) && s[i+1] == '`' {
					b.WriteByte('`')
					i++
					continue
				}
				h.pos = i + 1
				return b.String(), true
			}
			h.bad = true
			return "", false
		case isNameByte(c):
			start := h.pos
			for h.pos < len(s) && isNameByte(s[h.pos]) {
				h.pos++
			}
			return s[start:h.pos], false
		default:
			h.pos++
			return s[h.pos-1 : h.pos], false
		}
	}
	return "", false
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80
}

// word returns the next token upper-cased if it is a bare word, "" if not.
func (h *head) word() string {
	save := h.pos
	tok, quoted := h.next()
	if quoted || tok == "" || !isNameByte(tok[0]) {
		h.pos = save
		return ""
	}
	return strings.ToUpper(tok)
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

// name reads a table name, qualified or not, and says whether it is one of
// this database's tables.
func (h *head) name() (string, bool) {
	first, quoted := h.next()
	if first == "" || !quoted && !isNameByte(first[0]) {
		return "", false
	}
	save := h.pos
	if dot, _ := h.next(); dot != "." {
		h.pos = save
		return first, true
	}
	table, quoted := h.next()
	if table == "" || !quoted && !isNameByte(table[0]) {
		return "", false
	}
	// A table of another database: its foreign keys may name ours.
	return table, first == h.db
}

// names reads a comma-separated list of table names into c.
func (h *head) names(c *changes) bool {
	for {
		t, ok := h.name()
		if !ok {
			return false
		}
		c.touch(t)
		save := h.pos
		if tok, _ := h.next(); tok != "," {
			h.pos = save
			return true
		}
	}
}

// read classifies the statement into c; false means it was not understood.
func (h *head) read(c *changes) bool {
	ok := h.statement(c)
	return ok && !h.bad
}

// noSchemaChange are the statements that never change a definition: data
// changes (triggers and stored functions they fire cannot run DDL, which
// commits), reads and transaction control.
var noSchemaChange = map[string]bool{
	"SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true, "REPLACE": true, "DO": true, "WITH": true, "VALUES": true,
	"SHOW": true, "DESCRIBE": true, "DESC": true, "EXPLAIN": true, "LOAD": true, "CHECKSUM": true, "ANALYZE": true,
	"START": true, "COMMIT": true, "ROLLBACK": true, "SAVEPOINT": true, "RELEASE": true, "LOCK": true, "UNLOCK": true,
}

// objectKinds are the objects beside tables that CREATE, ALTER and DROP
// may name: views, routines and triggers, which a snapshot read again
// together, and sequences, which it reads every time. Not events: one may
// run DDL later, in its own session.
var objectKinds = map[string]bool{"VIEW": true, "PROCEDURE": true, "FUNCTION": true, "TRIGGER": true, "SEQUENCE": true}

func (h *head) statement(c *changes) bool {
	verb := h.word()
	switch {
	case noSchemaChange[verb]:
		return true
	case verb == "SET":
		// SET STATEMENT ... FOR runs the statement after FOR.
		return h.word() != "STATEMENT"
	case verb == "BEGIN":
		// BEGIN [WORK] starts a transaction; BEGIN NOT ATOMIC a block.
		w := h.word()
		return w == "" || w == "WORK"
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
		return ok
	case "UNIQUE", "FULLTEXT", "SPATIAL":
		return h.word() == "INDEX" && h.index(c)
	case "INDEX":
		return h.index(c)
	}
	// A view, routine or trigger, which are read again together: the
	// kind may follow ALGORITHM = ..., DEFINER = user@host, SQL SECURITY
	// ... or AGGREGATE, which only those take. Anything else (DATABASE,
	// USER, EVENT, ...) is not understood.
	h.pos = save
	first, _ := h.next()
	switch strings.ToUpper(first) {
	case "VIEW", "PROCEDURE", "FUNCTION", "TRIGGER", "SEQUENCE":
		c.objects = true
		return true
	case "ALGORITHM", "DEFINER", "SQL", "AGGREGATE":
	default:
		return false
	}
	for i := 0; i < 16; i++ {
		tok, quoted := h.next()
		if tok == "" || tok == "(" {
			return false
		}
		if !quoted && objectKinds[strings.ToUpper(tok)] {
			c.objects = true
			return true
		}
	}
	return false
}

// index reads [IF [NOT] EXISTS] name [USING type] ON table of CREATE and
// DROP INDEX.
func (h *head) index(c *changes) bool {
	h.accept("IF", "NOT", "EXISTS")
	h.accept("IF", "EXISTS")
	if name, quoted := h.next(); name == "" || !quoted && !isNameByte(name[0]) {
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
func (h *head) renames(c *changes) bool {
	if !h.accept("TABLE") && !h.accept("TABLES") {
		return false
	}
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
		save := h.pos
		if tok, _ := h.next(); tok != "," {
			h.pos = save
			return true
		}
	}
}
