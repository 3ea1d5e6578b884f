package integration

import (
	"context"
	"fmt"
	"os/exec"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// scheme is the driver's URL scheme, which picks the catalogue queries below.
func scheme(url string) string {
	s, _, _ := strings.Cut(url, ":")
	if s == "postgresql" {
		return "postgres"
	}
	return s
}

// objectsQuery lists the tables and indexes of the connection's default
// schema, one name per row.
var objectsQuery = map[string]string{
	"sqlite": `SELECT name FROM sqlite_schema WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%'`,
	"postgres": `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()
		UNION ALL SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()`,
	"mysql": `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()
		UNION SELECT index_name FROM information_schema.statistics WHERE table_schema = DATABASE()`,
	"sqlserver": `SELECT t.name FROM sys.tables t WHERE t.schema_id = SCHEMA_ID()
		UNION ALL SELECT i.name FROM sys.indexes i JOIN sys.tables t ON t.object_id = i.object_id WHERE t.schema_id = SCHEMA_ID() AND i.name IS NOT NULL`,
}

// schemaObjects returns the names of the tables and indexes in the env's
// database, migrate's own included.
func (e *env) schemaObjects() map[string]bool {
	e.t.Helper()
	q, ok := objectsQuery[scheme(e.url)]
	if !ok {
		e.t.Fatalf("no catalogue query for %s: add one to objectsQuery", scheme(e.url))
	}
	rows, err := e.db().QueryContext(context.Background(), q)
	if err != nil {
		e.t.Fatalf("listing tables and indexes: %v", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			e.t.Fatal(err)
		}
		out[strings.ToLower(name)] = true
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// snapshot is what a refused command must leave unchanged: every table and
// index, the state rows and the number of history rows.
type snapshot struct {
	Objects []string
	State   []string
	History int
}

func (e *env) snapshot() snapshot {
	e.t.Helper()
	var s snapshot
	for name := range e.schemaObjects() {
		s.Objects = append(s.Objects, name)
	}
	sort.Strings(s.Objects)
	for _, r := range e.state() {
		s.State = append(s.State, fmt.Sprintf("%d %s %s", r.Version, r.Checksum, r.Status))
	}
	s.History = len(e.history())
	return s
}

func (e *env) assertUnchanged(before snapshot) {
	e.t.Helper()
	if after := e.snapshot(); !reflect.DeepEqual(before, after) {
		e.t.Fatalf("the database changed:\nbefore %+v\nafter  %+v", before, after)
	}
}

// runCLI runs the migrate binary with exactly args and returns its
// combined output and exit code.
func runCLI(t testing.TB, args ...string) (string, int) {
	t.Helper()
	return combined(t, exec.Command(migrateBin, args...))
}
