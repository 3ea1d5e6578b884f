package migrator

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/migrate-dev/migrate/migrator/sqlsplit"
)

// Dialect is what lint needs to read one database's scripts without a
// connection: how they split into statements and how their strings,
// comments and quoted names are written, so that text inside a literal is
// never mistaken for SQL.
type Dialect struct {
	// Name is the dialect's short name ("sqlite", "postgres", ...); some
	// rules only apply to some databases.
	Name string
	// Lex holds the lexical rules used both to split and to scan statements.
	Lex sqlsplit.Dialect
}

// Split cuts a script into statements with the dialect's rules.
func (d Dialect) Split(script string) ([]sqlsplit.Statement, error) {
	return sqlsplit.Split(script, d.Lex)
}

// LintDialecter is an optional Driver capability: a driver that reports its
// dialect lets down and redo check their scripts for data loss with the
// database's own lexical rules. Without it, ANSI rules are used.
type LintDialecter interface {
	LintDialect() Dialect
}

var dialects = map[string]Dialect{}

// RegisterDialect makes a dialect known under URL schemes and its own name,
// so `migrate lint` works from a --database URL or --dialect without
// connecting. Driver packages call it from init(), beside Register.
func RegisterDialect(d Dialect, schemes ...string) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, s := range append([]string{d.Name}, schemes...) {
		if old, dup := dialects[s]; dup && old.Name != d.Name {
			panic("migrator: dialect registered twice for " + s)
		}
		dialects[s] = d
	}
}

// LookupDialect returns the dialect registered under a name or URL scheme.
func LookupDialect(name string) (Dialect, error) {
	registryMu.RLock()
	d, ok := dialects[name]
	registryMu.RUnlock()
	if !ok {
		return Dialect{}, fmt.Errorf("unknown dialect %q (known: %s; a driver registers its dialect when its package under drivers/ is imported)", name, strings.Join(DialectNames(), ", "))
	}
	return d, nil
}

// DialectForURL returns the dialect of a database URL's scheme without
// opening it.
func DialectForURL(rawURL string) (Dialect, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		// Not echoed: a key=value DSN may hold a password anywhere.
		return Dialect{}, fmt.Errorf("the database URL has no scheme to take the dialect from; %s", notURLHint)
	}
	return LookupDialect(u.Scheme)
}

// DialectNames lists the registered dialect names and schemes.
func DialectNames() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(dialects))
	for s := range dialects {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// dialectOf is the dialect a driver reads its scripts with.
func dialectOf(d Driver) Dialect {
	if ld, ok := d.(LintDialecter); ok {
		return ld.LintDialect()
	}
	return Dialect{Name: "ansi"}
}
