package postgres

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/migrate-dev/migrate/migrator"
	"github.com/migrate-dev/migrate/migrator/schema"
	"github.com/migrate-dev/migrate/migrator/sqlsplit"
)

func TestNoteReadsWhatAStatementChanges(t *testing.T) {
	all := noted{all: true}
	tables := func(names ...relName) noted { return noted{tables: names} }
	computes := func(names ...relName) noted { return noted{tables: names, runs: true} }
	for _, c := range []struct {
		stmt string
		want noted
	}{
		{"-- nothing but a comment", noted{}},
		{"SET LOCAL lock_timeout = '5s'", noted{}},
		{"SET lock_timeout = '5s'; DROP VIEW v", all},
		{"RESET lock_timeout; DROP VIEW v", all},
		{"CREATE TABLE t (id int)", tables(relName{name: "t"})},
		{"create table IF NOT EXISTS S.T (id int)", tables(relName{"s", "t"})},
		{`CREATE UNLOGGED TABLE "My ""T""" (id int)`, tables(relName{name: `My "T"`})},
		{"CREATE TABLE db.s.t (id int)", tables(relName{"s", "t"})},
		{"ALTER TABLE s . /* the table */ t ADD COLUMN c int", computes(relName{"s", "t"})},
		{"DROP TABLE s\n.t, u", tables(relName{"s", "t"}, relName{name: "u"})},
		{"CREATE TABLE t (id serial)", noted{tables: []relName{{name: "t"}}, objects: true}},
		{`CREATE TABLE t (id "serial")`, noted{tables: []relName{{name: "t"}}, objects: true}},
		{`CREATE TABLE t (id "Serial")`, tables(relName{name: "t"})},
		{"CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY)", noted{tables: []relName{{name: "t"}}, objects: true}},
		{"CREATE TABLE t (LIKE u INCLUDING ALL)", noted{tables: []relName{{name: "t"}}, objects: true}},
		{"CREATE TABLE t (p int REFERENCES u ON DELETE CASCADE ON UPDATE CASCADE)", tables(relName{name: "t"})},
		{"CREATE TABLE t AS SELECT 1", all},
		{"CREATE TABLE t OF some_type", all},
		{"CREATE TABLE t PARTITION OF p FOR VALUES IN (1)", all},
		{"CREATE TABLE t (id int) PARTITION BY LIST (id)", all},
		{"CREATE TABLE t (id int) INHERITS (p)", all},
		{"CREATE TEMPORARY TABLE t (id int)", all},
		{"CREATE INDEX ON t (a)", computes(relName{name: "t"})},
		{"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON ONLY s.t USING btree (a) WHERE a > 0", computes(relName{"s", "t"})},
		{"CREATE INDEX i ON /* the table */ t (a)", computes(relName{name: "t"})},
		{"DROP TABLE t", tables(relName{name: "t"})},
		{"DROP TABLE IF EXISTS t, s.u RESTRICT;", tables(relName{name: "t"}, relName{"s", "u"})},
		{"DROP TABLE t CASCADE", all},
		{"DROP INDEX CONCURRENTLY IF EXISTS s.i", noted{indexes: []relName{{"s", "i"}}}},
		{"DROP INDEX i CASCADE", all},
		{"DROP VIEW v", all},
		{"ALTER TABLE t ADD COLUMN c text NOT NULL DEFAULT 'x'", computes(relName{name: "t"})},
		{"ALTER TABLE IF EXISTS ONLY t RENAME COLUMN a TO b", computes(relName{name: "t"})},
		{"ALTER TABLE t RENAME a TO b", computes(relName{name: "t"})},
		{"ALTER TABLE t RENAME TO u", all},
		{"ALTER TABLE " + strings.Repeat("t", 63) + " ADD COLUMN c int", computes(relName{name: strings.Repeat("t", 63)})},
		{"ALTER TABLE " + strings.Repeat("t", 64) + " ADD COLUMN c int", all},
		{`DROP INDEX s."` + strings.Repeat("i", 64) + `"`, all},
		{"ALTER TABLE t RENAME -- the table\n TO u", all},
		{"ALTER TABLE t RENAME -- the table\r TO u", all},
		{"DROP TABLE t -- the table\rCASCADE", all},
		{"ALTER TABLE t ADD COLUMN c int;", computes(relName{name: "t"})},
		{"ALTER TABLE t ADD COLUMN c int; DROP VIEW v", all},
		{"CREATE INDEX ON t (a); DROP VIEW v", all},
		{"ALTER TABLE t SET SCHEMA s", all},
		{"ALTER TABLE t DROP COLUMN c CASCADE", all},
		{"ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES u ON DELETE CASCADE", computes(relName{name: "t"})},
		{"ALTER TABLE t ATTACH PARTITION p FOR VALUES IN (1)", all},
		{"ALTER TABLE t ADD COLUMN n bigserial", noted{tables: []relName{{name: "t"}}, objects: true, runs: true}},
		{"ALTER TABLE t ENABLE TRIGGER x", noted{tables: []relName{{name: "t"}}, objects: true, runs: true}},
		{"ALTER TABLE ALL IN TABLESPACE a SET TABLESPACE b", all},
		{"ALTER TABLE t ADD CHECK (a <> E'it''s \\' RENAME TO')", computes(relName{name: "t"})},
		{"ALTER TABLE t ADD CHECK (a <> $x$ RENAME TO $x$)", computes(relName{name: "t"})},
		{"ALTER TABLE t ADD CHECK (a <> 'back\\slash')", all},
		{"ALTER TABLE U&\"t\" ADD COLUMN c int", all},
		{"ALTER TABLE tà ADD COLUMN c int", all},
		{"ALTER TABLE t ADD COLUMN c int /* unterminated", all},
		{"ALTER INDEX i RENAME TO j", all},
		{"INSERT INTO t VALUES (1)", all},
		{"SELECT make_tables()", all},
		{"DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$", all},
		{"COMMENT ON TABLE t IS 'x'", all},
	} {
		var got noted
		got.note(c.stmt)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: noted %+v, want %+v", c.stmt, got, c.want)
		}
	}
}

// TestTrackedSnapshotFollowsOnlyTheStatements checks that a tracked
// snapshot reads what the noted statements named and nothing else, which
// is what makes it cheap; verify's full snapshot at the end is what sees
// the rest.
func TestTrackedSnapshotFollowsOnlyTheStatements(t *testing.T) {
	ctx := context.Background()
	d, _ := openCounted(t)
	stop := d.TrackChanges()
	if _, err := d.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	stmts, err := sqlsplit.Split("CREATE TABLE named (id int)", Dialect)
	if err != nil {
		t.Fatal(err)
	}
	d.track.note([]*migrator.Step{{Statements: stmts}})
	if _, err := d.db.ExecContext(ctx, "CREATE TABLE named (id int); CREATE TABLE unnamed (id int)"); err != nil {
		t.Fatal(err)
	}
	tables := func() []string {
		t.Helper()
		s, err := d.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tb := range s.Tables {
			names = append(names, tb.Name)
		}
		slices.Sort(names)
		return names
	}
	if got := tables(); !slices.Equal(got, []string{"named"}) {
		t.Errorf("tracked snapshot read tables %v, want only the one the statements named", got)
	}
	stop()
	if got := tables(); !slices.Equal(got, []string{"named", "unnamed"}) {
		t.Errorf("after tracking stopped, a snapshot read tables %v, want both", got)
	}
}

// TestTrackedSnapshotAfterASetup runs, after a setup of its own,
// statements whose text names less than they change: through code the
// server runs with them, or through what depends on the table named; the
// tracked snapshot after them must equal a full one.
func TestTrackedSnapshotAfterASetup(t *testing.T) {
	ctx := context.Background()
	// A table with rows, and a function that creates a table.
	const marks = `CREATE TABLE filled (id integer);
INSERT INTO filled VALUES (1), (2);
CREATE FUNCTION mark() RETURNS integer LANGUAGE plpgsql AS $$ BEGIN
  CREATE TABLE IF NOT EXISTS marked (id integer); RETURN 1;
END $$`
	for _, c := range []struct{ setup, change string }{
		{`CREATE FUNCTION audit() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN
  IF to_regclass('audit') IS NULL THEN CREATE TABLE audit (id integer); END IF;
END $$;
CREATE EVENT TRIGGER audit ON ddl_command_end EXECUTE FUNCTION audit()`, `CREATE TABLE named (id integer)`},
		{marks, `ALTER TABLE filled ADD COLUMN n integer DEFAULT mark()`},
		// An immutable function cannot run DDL, but may call one that
		// does.
		{marks + `;
CREATE FUNCTION plus(integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT $1 + mark()'`, `CREATE INDEX ON filled (plus(id))`},
		// The partitions depend on the partitioned table, so they are
		// rendered with it: their indexes go with its index, and they
		// with it.
		{`CREATE TABLE parts (id integer, k integer) PARTITION BY RANGE (id);
CREATE TABLE part1 PARTITION OF parts FOR VALUES FROM (1) TO (9);
CREATE INDEX parts_k ON parts (k)`, `DROP INDEX parts_k`},
		{`CREATE TABLE parts (id integer) PARTITION BY RANGE (id);
CREATE TABLE part1 PARTITION OF parts FOR VALUES FROM (1) TO (9);
CREATE SEQUENCE part1_seq OWNED BY part1.id;
CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER part1_stamp BEFORE INSERT ON part1 FOR EACH ROW EXECUTE FUNCTION stamp()`, `DROP TABLE parts`},
	} {
		t.Run(c.change, func(t *testing.T) {
			d, _ := openCounted(t)
			if _, err := d.db.ExecContext(ctx, c.setup); err != nil {
				t.Fatal(err)
			}
			_, tracked, _, full := snapshotsAround(t, d, c.change)
			if diff := schema.Diff(full, tracked); len(diff) != 0 {
				t.Errorf("the snapshot that followed the statements missed %v", diff)
			}
		})
	}
}
