package mysql

import (
	"strings"
	"testing"
)

// FuzzNoteChanges: reading any statement never panics, and every table it
// says the statement may change is named in the statement (lower-cased,
// as the server may compare names).
func FuzzNoteChanges(f *testing.F) {
	for _, s := range []string{
		"CREATE TABLE t (id INT)", "DROP TABLE IF EXISTS a, `b``c`, db.d", "RENAME TABLE a TO b, c WAIT 3 TO d",
		"ALTER TABLE t RENAME TO u", "CREATE UNIQUE INDEX i USING BTREE ON db.t (a)", "CREATE DEFINER = 'u'@'%' TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1",
		"SET\vSTATEMENT x = 1 FOR ALTER TABLE t ADD b INT", "/*!50001 CREATE TABLE t (id INT) */", "DROP SEQUENCE IF EXISTS s, t", "INSERT INTO mysql.proc VALUES ('x')",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, stmt string) {
		var c changes
		c.note(stmt, "db")
		lower := strings.ToLower(strings.ReplaceAll(stmt, "``", "`"))
		for name := range c.tables {
			if !strings.Contains(lower, name) {
				t.Fatalf("%q: touches %q, which it does not name", stmt, name)
			}
		}
	})
}
