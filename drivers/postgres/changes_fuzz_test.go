package postgres

import (
	"strings"
	"testing"
)

// FuzzNoteChanges: reading any statement never panics, and every table or
// index it says the statement may change is named in the statement
// (lower-cased, as bare names fold; quotes undoubled).
func FuzzNoteChanges(f *testing.F) {
	for _, s := range []string{
		"CREATE TABLE t (id int)", `DROP TABLE IF EXISTS a, "b""c", db.s.d RESTRICT`, "ALTER TABLE t RENAME TO u",
		"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON ONLY s.t USING btree (a)", "DROP INDEX s.i",
		"ALTER TABLE t ADD CHECK (a <> $x$ RENAME TO $x$) /* c /* nested */ */", "CREATE TABLE t (LIKE u INCLUDING ALL)",
		"ALTER TABLE t ADD c text DEFAULT E'\\'' -- x", "SET search_path = s", "create table T(id serial)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stmt string) {
		var n noted
		n.note(stmt)
		lower := strings.ToLower(strings.ReplaceAll(stmt, `""`, `"`))
		for _, r := range append(n.tables, n.indexes...) {
			for _, part := range []string{r.schema, r.name} {
				if !strings.Contains(lower, strings.ToLower(part)) {
					t.Fatalf("%q: notes %q, which it does not name", stmt, part)
				}
			}
		}
	})
}
