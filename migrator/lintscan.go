package migrator

import (
	"strings"

	"github.com/migrate-dev/migrate/migrator/sqlsplit"
)

type tokenKind int

const (
	wordToken   tokenKind = iota + 1 // keyword or bare identifier
	quotedToken                      // "quoted", `backtick` or [bracketed] identifier
	stringToken                      // any string literal; its text is never read
	punctToken                       // one byte of punctuation
)

// token is one lexical item of a statement. Comments are dropped and string
// literals carry no text, so no rule can match words inside them.
type token struct {
	kind tokenKind
	text string // as written; "" for strings
	off  int    // byte offset in the script
}

// upper is the token's text upper-cased when it is a bare word, "" otherwise,
// so keyword tests never match a quoted identifier that spells a keyword.
func (t token) upper() string {
	if t.kind != wordToken {
		return ""
	}
	return strings.ToUpper(t.text)
}

func (t token) isIdent() bool { return t.kind == wordToken || t.kind == quotedToken }

// scanTokens reads the statement at [start, end) of script with the
// dialect's lexical rules. The splitter has already rejected unterminated
// quotes and comments, so an unterminated one here simply ends the scan.
func scanTokens(script string, start, end int, d sqlsplit.Dialect) []token {
	// About one token per five bytes of SQL; growing the slice dominated
	// the benchmark.
	out := make([]token, 0, (end-start)/5+1)
	i := start
	for i < end {
		c := script[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && d.StartsDashComment(script[i:end]), c == '#' && d.HashComments:
			for i < end && script[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < end && script[i+1] == '*':
			i = skipBlockComment(script, i, end, d.NestedComments)
		case c == '\'':
			escapes := d.BackslashEscapes || i > start && (script[i-1] == 'E' || script[i-1] == 'e') && (i-1 == start || !isWordChar(script[i-2]))
			out = append(out, token{kind: stringToken, off: i})
			i = skipQuoted(script, i, end, '\'', escapes)
		case c == '"' && d.DoubleQuoteStrings:
			out = append(out, token{kind: stringToken, off: i})
			i = skipQuoted(script, i, end, '"', d.BackslashEscapes)
		case c == '"', c == '`' && d.Backticks:
			j := skipQuoted(script, i, end, c, false)
			out = append(out, token{kind: quotedToken, text: script[i:j], off: i})
			i = j
		case c == '[' && d.Brackets:
			j := skipQuoted(script, i, end, ']', false)
			out = append(out, token{kind: quotedToken, text: script[i:j], off: i})
			i = j
		case c == '$' && d.DollarQuotes && (i == start || !isWordChar(script[i-1])) && dollarTagAt(script[i:end]) != "":
			tag := dollarTagAt(script[i:end])
			out = append(out, token{kind: stringToken, off: i})
			if k := strings.Index(script[i+len(tag):end], tag); k >= 0 {
				i += len(tag) + k + len(tag)
			} else {
				i = end
			}
		case isWordChar(c):
			j := i
			for j < end && isWordChar(script[j]) {
				j++
			}
			out = append(out, token{kind: wordToken, text: script[i:j], off: i})
			i = j
		default:
			out = append(out, token{kind: punctToken, text: script[i : i+1], off: i})
			i++
		}
	}
	return out
}

func isWordChar(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// skipQuoted returns the offset just past the quoted item opened at i and
// closed by close; a doubled closing quote stands for itself.
func skipQuoted(s string, i, end int, close byte, escapes bool) int {
	for j := i + 1; j < end; j++ {
		switch {
		case escapes && s[j] == '\\':
			j++
		case s[j] == close:
			if j+1 < end && s[j+1] == close {
				j++
				continue
			}
			return j + 1
		}
	}
	return end
}

func skipBlockComment(s string, i, end int, nested bool) int {
	depth := 0
	for i < end {
		switch {
		case strings.HasPrefix(s[i:end], "/*"):
			if depth == 0 || nested {
				depth++
			}
			i += 2
		case strings.HasPrefix(s[i:end], "*/"):
			depth--
			i += 2
			if depth == 0 {
				return i
			}
		default:
			i++
		}
	}
	return end
}

// dollarTagAt returns the PostgreSQL $tag$ that s starts with, or "".
func dollarTagAt(s string) string {
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == '$' {
			return s[:i+1]
		}
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 || i > 1 && c >= '0' && c <= '9') {
			return ""
		}
	}
	return ""
}
