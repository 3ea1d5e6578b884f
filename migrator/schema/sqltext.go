package schema

import "strings"

// NormalizeSQL makes stored SQL text comparable when only layout differs:
// comments are dropped, runs of whitespace become one space, and no space
// is kept inside parentheses or before a comma, and a comma is always
// followed by one. Quoted strings and
// identifiers are kept as they are. Drivers whose catalogue keeps the text
// as written (SQLite) use it for views, triggers, checks and predicates.
func NormalizeSQL(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	emit := func(r byte) {
		if b.Len() > 0 {
			last := b.String()[b.Len()-1]
			if space && last != '(' && r != ')' && r != ',' || last == ',' && !space && r != ')' {
				b.WriteByte(' ')
			}
		}
		space = false
		b.WriteByte(r)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			space = true
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				i = len(s)
			} else {
				i += end + 3
			}
			space = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			space = true
		case c == '\'' || c == '"' || c == '`' || c == '[':
			closer := c
			if c == '[' {
				closer = ']'
			}
			emit(c)
			for i++; i < len(s); i++ {
				b.WriteByte(s[i])
				if s[i] == closer {
					// A doubled quote is an escaped quote, not the end.
					if closer != ']' && i+1 < len(s) && s[i+1] == closer {
						i++
						b.WriteByte(s[i])
						continue
					}
					break
				}
			}
		default:
			emit(c)
		}
	}
	return strings.TrimRight(b.String(), " ;")
}
