package sqlite

import (
	"strings"

	"github.com/migrate-dev/migrate/migrator/schema"
)

// token is one lexical token of normalised CREATE text, with its byte
// span and the parenthesis depth it sits at.
type token struct {
	text       string
	start, end int
	depth      int
}

// tokenize splits normalised SQL into words, quoted names or strings, and
// single punctuation characters. It is only for finding clauses in text
// SQLite has already accepted, so it need not reject anything.
func tokenize(s string) []token {
	var out []token
	depth := 0
	for i := 0; i < len(s); {
		c := s[i]
		start := i
		switch {
		case c == ' ':
			i++
			continue
		case c == '\'' || c == '"' || c == '`' || c == '[':
			closer := c
			if c == '[' {
				closer = ']'
			}
			for i++; i < len(s); i++ {
				if s[i] == closer {
					if closer != ']' && i+1 < len(s) && s[i+1] == closer {
						i++
						continue
					}
					break
				}
			}
			i++
		case isWord(c):
			for i < len(s) && isWord(s[i]) {
				i++
			}
		default:
			i++
		}
		i = min(i, len(s))
		t := token{text: s[start:i], start: start, end: i, depth: depth}
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			t.depth = depth
		}
		out = append(out, t)
	}
	return out
}

func isWord(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func (t token) is(word string) bool { return strings.EqualFold(t.text, word) }

// closing returns the index of the ')' matching the '(' at toks[open].
func closing(toks []token, open int) int {
	for j := open + 1; j < len(toks); j++ {
		if toks[j].text == ")" && toks[j].depth == toks[open].depth {
			return j
		}
	}
	return len(toks) - 1
}

// unquote strips identifier quotes.
func unquote(name string) string {
	if len(name) >= 2 {
		switch name[0] {
		case '"', '`':
			return strings.ReplaceAll(name[1:len(name)-1], name[:1]+name[:1], name[:1])
		case '[':
			return name[1 : len(name)-1]
		}
	}
	return name
}

// checks finds the CHECK constraints, column and table ones alike, in a
// normalised CREATE TABLE: SQLite reports them through no pragma.
func checks(text string) []schema.Constraint {
	toks := tokenize(text)
	var out []schema.Constraint
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].depth != 1 || !toks[i].is("CHECK") || toks[i+1].text != "(" {
			continue
		}
		end := closing(toks, i+1)
		c := schema.Constraint{Kind: schema.Check, Expr: text[toks[i+1].end:toks[end].start]}
		if i >= 2 && toks[i-2].is("CONSTRAINT") {
			c.Name = unquote(toks[i-1].text)
		}
		out = append(out, c)
		i = end
	}
	return out
}

// viewQuery is the SELECT of a normalised CREATE VIEW.
func viewQuery(text string) string {
	for _, t := range tokenize(text) {
		if t.depth == 0 && t.is("AS") {
			return strings.TrimSpace(text[t.end:])
		}
	}
	return text
}

// indexKeys returns the key texts of a normalised CREATE INDEX, without
// their ASC/DESC or COLLATE, which the pragmas report.
func indexKeys(text string) []string {
	toks := tokenize(text)
	open := -1
	for i, t := range toks {
		if t.depth == 0 && t.text == "(" {
			open = i
			break
		}
	}
	if open < 0 {
		return nil
	}
	end := closing(toks, open)
	var keys []string
	from := open + 1
	for j := open + 1; j <= end; j++ {
		if j < end && (toks[j].text != "," || toks[j].depth != 1) {
			continue
		}
		last := j
		for k := from; k < j; k++ {
			if toks[k].depth == 1 && toks[k].is("COLLATE") {
				last = k
				break
			}
		}
		if last-1 >= from && (toks[last-1].is("ASC") || toks[last-1].is("DESC")) {
			last--
		}
		if last > from {
			keys = append(keys, text[toks[from].start:toks[last-1].end])
		}
		from = j + 1
	}
	return keys
}

// indexWhere is the predicate of a normalised partial CREATE INDEX.
func indexWhere(text string) string {
	for _, t := range tokenize(text) {
		if t.depth == 0 && t.is("WHERE") {
			return strings.TrimSpace(text[t.end:])
		}
	}
	return ""
}
