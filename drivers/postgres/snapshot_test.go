package postgres

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/migrate-dev/migrate/migrator"
	"github.com/migrate-dev/migrate/migrator/schema"
	"github.com/migrate-dev/migrate/migrator/sqlsplit"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden snapshot of this server's major version")

// richSchema has one of every kind of object a snapshot reads, with the
// details each query decodes: quoted names, NULLs, arrays, booleans,
// expression keys, FK actions, identity and generated columns.
const richSchema = `CREATE EXTENSION citext;
CREATE SCHEMA "Other Schema";
CREATE TYPE mood AS ENUM ('sad', 'o''k', 'happy');
CREATE DOMAIN positive AS integer NOT NULL DEFAULT 1 CONSTRAINT positive_check CHECK (VALUE > 0);
CREATE TYPE "Other Schema".pair AS (a integer, "B b" text);
CREATE TABLE parent (
    a integer,
    b integer,
    PRIMARY KEY (a, b)
);
CREATE TABLE "Mixed Case" (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    serial_id serial,
    name citext NOT NULL DEFAULT 'x',
    qty positive,
    feeling mood,
    doubled integer GENERATED ALWAYS AS (qty * 2) STORED,
    a integer,
    b integer,
    during tsrange,
    created_at timestamptz DEFAULT now(),
    CONSTRAINT qty_small CHECK (qty < 1000),
    CONSTRAINT name_unique UNIQUE (name),
    CONSTRAINT to_parent FOREIGN KEY (a, b) REFERENCES parent (a, b) ON DELETE SET NULL ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&)
);
ALTER TABLE "Mixed Case" DROP COLUMN a, ADD COLUMN a integer;
CREATE INDEX mixed_lower_idx ON "Mixed Case" (lower(name::text), id DESC);
CREATE UNIQUE INDEX mixed_partial_idx ON "Mixed Case" (feeling, created_at) INCLUDE (qty) WHERE qty IS NOT NULL;
CREATE TABLE "Other Schema".empty ();
CREATE TABLE "Other Schema".child (p_a integer, p_b integer, FOREIGN KEY (p_b, p_a) REFERENCES parent (a, b) MATCH FULL);
CREATE SEQUENCE counter AS integer START 5 INCREMENT 3 MINVALUE 2 MAXVALUE 999 CACHE 4 CYCLE;
CREATE SEQUENCE "Other Schema".standalone;
CREATE SEQUENCE owned OWNED BY "Mixed Case".qty;
CREATE VIEW happy AS SELECT id, name FROM "Mixed Case" WHERE feeling = 'happy';
CREATE MATERIALIZED VIEW "Other Schema".totals AS SELECT feeling, count(*) AS n FROM "Mixed Case" GROUP BY feeling;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.created_at := now(); RETURN NEW; END $$;
CREATE FUNCTION add(a integer, b integer DEFAULT 1) RETURNS integer LANGUAGE sql IMMUTABLE RETURN a + b;
CREATE FUNCTION add(a text, b text) RETURNS text LANGUAGE sql AS 'SELECT a || b';
CREATE PROCEDURE "Other Schema".tidy() LANGUAGE sql AS 'SELECT 1';
CREATE AGGREGATE total(integer) (SFUNC = add, STYPE = integer, INITCOND = '0');
CREATE TRIGGER mixed_touch BEFORE INSERT OR UPDATE OF name ON "Mixed Case" FOR EACH ROW WHEN (NEW.qty > 1) EXECUTE FUNCTION touch();
`

// TestSnapshotGolden pins what a snapshot reads, every field of it, to a
// file recorded with the query-per-kind reader that the batches replaced,
// so that neither the transport nor the kept tables can change the
// content.
// The catalogue's deparsers print differently across major versions, so
// there is one file per major version.
func TestSnapshotGolden(t *testing.T) {
	ctx := context.Background()
	d, wire := openCounted(t)
	src, err := migrator.Load(fstest.MapFS{
		"m/1_rich.up.sql": {Data: []byte("-- migrate:irreversible\n" + richSchema)},
	}, "m")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrator.New(d, src, migrator.Options{}).Up(ctx, 0); err != nil {
		t.Fatal(err)
	}
	// The first snapshot on a connection prepares its queries and renders
	// every table; the next ones are two round trips, and render from
	// the tables the first one kept.
	cold, err := d.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := wire.Counts().RoundTrips
	s, err := d.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if trips := wire.Counts().RoundTrips - before; trips != 2 {
		t.Errorf("a snapshot took %d round trips, want 2", trips)
	}
	got, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if coldJSON, err := json.MarshalIndent(cold, "", "  "); err != nil || string(coldJSON) != string(got) {
		t.Errorf("a snapshot from kept tables differs from one rendering them all (%v):\n%s", err, coldJSON)
	}
	var version int
	if err := d.db.QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", fmt.Sprintf("snapshot_pg%d.json", version/10000))
	if *updateGolden {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if os.IsNotExist(err) {
		t.Skipf("no snapshot recorded for this server's major version: check one written by -update against %s", richSchema)
	}
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(got)+"\n" {
		t.Errorf("snapshot differs from %s:\n%s", golden, got)
	}
}

// TestKeptTablesNeverHideAChange changes a schema in every way a table's
// text can change, one way at a time, including through objects the
// table only names; the snapshot after each change, which renders only
// the tables it thinks changed, must equal one that renders every table,
// and differ from the snapshot before.
func TestKeptTablesNeverHideAChange(t *testing.T) {
	ctx := context.Background()
	base := []string{
		`CREATE SCHEMA other`,
		`CREATE TYPE mood AS ENUM ('sad', 'happy')`,
		`CREATE TYPE other.pair AS (a integer, b text)`,
		`CREATE DOMAIN positive AS integer CHECK (VALUE > 0)`,
		`CREATE FUNCTION twice(integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2'`,
		`CREATE SEQUENCE counter`,
		`CREATE TABLE parent (id integer PRIMARY KEY, code text UNIQUE)`,
		`CREATE TABLE child (
    id integer PRIMARY KEY,
    parent_id integer REFERENCES parent (id),
    code text,
    n integer NOT NULL DEFAULT nextval('counter'),
    qty integer DEFAULT 0 CHECK (qty >= 0),
    feeling mood,
    p other.pair,
    pos positive,
    twin parent,
    many parent[],
    doubled integer DEFAULT twice(1),
    CONSTRAINT child_code_fk FOREIGN KEY (code) REFERENCES parent (code)
)`,
		`CREATE INDEX child_qty_idx ON child (qty)`,
		`CREATE INDEX child_expr_idx ON child (twice(qty))`,
		`CREATE TABLE other.far (id integer)`,
		`CREATE VIEW v AS SELECT id, qty FROM child`,
		// Objects besides tables, each naming a table or column.
		`CREATE TABLE watched (id integer PRIMARY KEY, note text, at timestamptz)`,
		`CREATE VIEW pv AS SELECT id, code FROM parent`,
		`CREATE MATERIALIZED VIEW mv AS SELECT id, note FROM watched`,
		`CREATE VIEW rowv AS SELECT NULL::watched AS w`,
		`CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.at := now(); RETURN NEW; END $$`,
		`CREATE TRIGGER watched_stamp BEFORE UPDATE OF note ON watched FOR EACH ROW WHEN (NEW.note IS NOT NULL) EXECUTE FUNCTION stamp()`,
		`CREATE CONSTRAINT TRIGGER watched_far AFTER INSERT ON watched FROM other.far FOR EACH ROW EXECUTE FUNCTION stamp()`,
		`CREATE SEQUENCE owned OWNED BY watched.id`,
		`CREATE FUNCTION first_note(w watched) RETURNS text LANGUAGE sql RETURN w.note`,
		`CREATE FUNCTION notes() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(note) FROM watched; END`,
		`CREATE TYPE holder AS (w watched, n integer)`,
		`CREATE DOMAIN watched_row AS watched`,
		`CREATE TYPE unused AS ENUM ()`,
		`CREATE DOMAIN spare AS text`,
		// A table only a domain's constraint names.
		`CREATE TABLE bystander (id integer)`,
		`CREATE DOMAIN checked AS integer CHECK (VALUE > 0 OR NULL::bystander IS NULL)`,
		// The session's schema of temporary objects, which exists from its
		// first one on.
		`CREATE TEMPORARY TABLE scratch (id integer)`,
	}
	for _, change := range []string{
		`ALTER TABLE child ALTER COLUMN doubled TYPE bigint`,
		`ALTER TABLE child ALTER COLUMN code SET NOT NULL`,
		`ALTER TABLE child ALTER COLUMN qty DROP DEFAULT`,
		`ALTER TABLE child ALTER COLUMN qty SET DEFAULT 1`,
		`DROP INDEX child_qty_idx; CREATE INDEX child_qty_idx ON child (qty DESC)`,
		`DROP INDEX child_qty_idx`,
		`ALTER INDEX child_qty_idx RENAME TO child_qty_ix`,
		`ALTER TABLE child DROP CONSTRAINT child_qty_check; ALTER TABLE child ADD CONSTRAINT child_qty_check CHECK (qty > 0)`,
		`ALTER TABLE child DROP CONSTRAINT child_qty_check`,
		`ALTER TABLE child DROP CONSTRAINT child_code_fk; ALTER TABLE child ADD CONSTRAINT child_code_fk FOREIGN KEY (code) REFERENCES parent (code) ON DELETE CASCADE`,
		`ALTER TABLE child ALTER CONSTRAINT child_code_fk DEFERRABLE`,
		`CREATE OR REPLACE VIEW v AS SELECT id, qty, code FROM child`,
		`ALTER TYPE mood ADD VALUE 'meh'`,
		`CREATE OR REPLACE FUNCTION twice(integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT $1 + $1'`,
		`ALTER TABLE parent RENAME TO mother`,
		`ALTER TABLE parent RENAME COLUMN id TO pid`,
		`ALTER TABLE parent SET SCHEMA other`,
		`ALTER SEQUENCE counter RENAME TO tally`,
		`ALTER TYPE mood RENAME TO humour`,
		`ALTER TYPE other.pair RENAME TO couple`,
		`ALTER DOMAIN positive RENAME TO plus`,
		`ALTER FUNCTION twice(integer) RENAME TO double`,
		`ALTER SCHEMA other RENAME TO elsewhere`,
		`ALTER SCHEMA public RENAME TO main`,
		`ALTER TABLE child RENAME COLUMN qty TO quantity`,
		`ALTER TABLE child ADD COLUMN extra text`,
		`ALTER TABLE child DROP COLUMN feeling`,
		`ALTER TABLE child RENAME TO kid`,
		`ALTER TABLE other.far ADD PRIMARY KEY (id)`,
		`ALTER TABLE child ALTER COLUMN n DROP DEFAULT; DROP SEQUENCE counter`,
		`CREATE TABLE added (id integer)`,
		`DROP VIEW v; DROP TABLE child`,
		`ALTER TABLE parent RENAME COLUMN code TO kode`,
		`ALTER TABLE watched RENAME COLUMN note TO remark`,
		`ALTER TABLE watched RENAME COLUMN id TO ident`,
		`ALTER TABLE watched RENAME TO seen`,
		`ALTER TABLE other.far RENAME TO near`,
		`ALTER VIEW pv RENAME TO parents`,
		`ALTER VIEW pv RENAME COLUMN code TO c`,
		`ALTER MATERIALIZED VIEW mv RENAME TO mview`,
		`DROP MATERIALIZED VIEW mv`,
		`CREATE VIEW more AS SELECT 1 AS one`,
		`CREATE TRIGGER watched_stamp2 BEFORE INSERT ON watched FOR EACH ROW EXECUTE FUNCTION stamp()`,
		`DROP TRIGGER watched_stamp ON watched`,
		`ALTER TRIGGER watched_stamp ON watched RENAME TO stamped`,
		`ALTER SEQUENCE owned INCREMENT 5`,
		`ALTER SEQUENCE owned OWNED BY NONE`,
		`ALTER SEQUENCE owned OWNED BY child.qty`,
		`DROP SEQUENCE owned`,
		`ALTER TABLE watched ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY`,
		`ALTER TYPE unused ADD VALUE 'now'`,
		`DROP TYPE unused`,
		`DROP DOMAIN spare`,
		`ALTER DOMAIN spare SET DEFAULT 'x'`,
		`ALTER DOMAIN spare SET NOT NULL`,
		`ALTER DOMAIN spare ADD CONSTRAINT short CHECK (length(VALUE) < 9)`,
		`ALTER DOMAIN positive DROP CONSTRAINT positive_check`,
		`ALTER TYPE holder ADD ATTRIBUTE extra text`,
		`ALTER TYPE holder RENAME ATTRIBUTE n TO m`,
		`DROP TYPE holder`,
		`DROP TYPE holder; CREATE TYPE holder AS (n integer)`,
		`ALTER TABLE bystander RENAME TO onlooker`,
		`ALTER FUNCTION stamp() RENAME TO stamp_it`,
		`CREATE FUNCTION another() RETURNS integer LANGUAGE sql RETURN 1`,
		`DROP FUNCTION first_note(watched)`,
		`CREATE EXTENSION citext`,
		`ALTER EXTENSION plpgsql ADD FUNCTION stamp(); ALTER EXTENSION plpgsql DROP FUNCTION plpgsql_validator(oid)`,
		`ALTER LANGUAGE plpgsql RENAME TO plpgsql2`,
		`CREATE SCHEMA more`,
		`DROP SCHEMA other CASCADE`,
		// A temporary table is in no snapshot, but may hide a table of
		// the same name from the deparsers' search_path.
		`CREATE TEMPORARY TABLE watched (id integer); CREATE TABLE added (id integer)`,
		`CREATE TEMPORARY TABLE parent (id integer); CREATE TABLE added (id integer)`,
		// What the statements' text tells, and what it must not be
		// trusted with.
		`CREATE TABLE numbered (id serial PRIMARY KEY)`,
		`CREATE TABLE numbered2 (id "serial")`,
		// The server cuts names to 63 bytes.
		`CREATE TABLE ` + strings.Repeat("long", 20) + ` (id integer)`,
		`CREATE TABLE counted (id bigint GENERATED BY DEFAULT AS IDENTITY)`,
		`CREATE TABLE copied (LIKE watched INCLUDING ALL)`,
		`CREATE TABLE "Quoted ""Name""" (id integer REFERENCES parent ON DELETE CASCADE)`,
		`CREATE TABLE other.added (id integer); CREATE INDEX ON other.added (id)`,
		`SET search_path = other; CREATE TABLE added (id integer); RESET search_path`,
		`CREATE UNLOGGED TABLE IF NOT EXISTS far (id integer)`,
		`CREATE TABLE made AS SELECT 1 AS one`,
		`CREATE TABLE parts (id integer) PARTITION BY RANGE (id); CREATE TABLE part1 PARTITION OF parts FOR VALUES FROM (1) TO (9)`,
		`CREATE TABLE heir (extra text) INHERITS (parent)`,
		`CREATE INDEX CONCURRENTLY IF NOT EXISTS parent_code_idx ON ONLY parent (code)`,
		`CREATE UNIQUE INDEX ON watched (note)`,
		`ALTER TABLE child_qty_idx SET (fillfactor = 50)`,
		`DROP INDEX IF EXISTS child_qty_idx, child_expr_idx RESTRICT`,
		`DROP INDEX public.child_qty_idx`,
		`DROP TABLE other.far`,
		`DROP TABLE IF EXISTS missing, other.far`,
		`DROP TABLE watched CASCADE`,
		`ALTER TABLE other.far ADD COLUMN n serial`,
		`ALTER TABLE watched DROP COLUMN note CASCADE`,
		`ALTER TABLE IF EXISTS ONLY child ADD CONSTRAINT child_twin UNIQUE (n)`,
		`ALTER TABLE child RENAME /* the table */ TO kid`,
		`ALTER TABLE other . /* the table */ far ADD COLUMN x int`,
		// The splitter reads the line comment to the newline, the server
		// to the carriage return: one statement to the splitter, two to
		// the server.
		"ALTER TABLE child ADD COLUMN x int -- the column\r, ADD COLUMN y int;\nCREATE TABLE added (id integer)",
		"SET lock_timeout = '5s' -- the setting\r;\nCREATE TABLE added (id integer)",
		`ALTER TABLE "child" RENAME COLUMN "code" TO "Code"`,
		`ALTER TABLE parent ADD COLUMN extra text; INSERT INTO parent (id) VALUES (1)`,
		`SELECT 1; ALTER TABLE watched ADD COLUMN seen boolean`,
	} {
		t.Run(change, func(t *testing.T) {
			d, _ := openCounted(t)
			// One session, so that the snapshots see its temporary
			// objects.
			d.db.SetMaxOpenConns(1)
			for _, q := range base {
				if _, err := d.db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			before, tracked, kept, full := snapshotsAround(t, d, change)
			if diff := schema.Diff(full, tracked); len(diff) != 0 {
				t.Errorf("the snapshot that followed the statements missed %v", diff)
			}
			if diff := schema.Diff(full, kept); len(diff) != 0 {
				t.Errorf("the snapshot from kept tables missed %v", diff)
			}
			if len(schema.Diff(before, full)) == 0 {
				t.Errorf("the change shows in no snapshot")
			}
		})
	}
}

// snapshotsAround takes the snapshots of a tracked run around change, run
// as verify runs a script (read by the tracker first): the first finds
// changes by xmin; the one after the change follows the statements' text;
// the one after tracking stops finds changes by xmin again, since the
// horizon of the first. full renders every table.
func snapshotsAround(t *testing.T, d *Driver, change string) (before, tracked, kept, full *schema.Snapshot) {
	t.Helper()
	ctx := context.Background()
	snapshot := func() *schema.Snapshot {
		t.Helper()
		s, err := d.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	stop := d.TrackChanges()
	defer stop()
	before = snapshot()
	stmts, err := sqlsplit.Split(change, Dialect)
	if err != nil {
		t.Fatal(err)
	}
	d.track.note([]*migrator.Step{{Statements: stmts}})
	if _, err := d.db.ExecContext(ctx, change); err != nil {
		t.Fatal(err)
	}
	tracked = snapshot()
	stop()
	kept = snapshot()
	d.snaps.last = nil
	return before, tracked, kept, snapshot()
}

// TestObjectsReadOnlyWhenNamed checks that a snapshot reads views,
// triggers, sequences, types and functions again only when a change may
// show in them: a migration that changes a table none of them names
// reuses them, and one that renames a column a view shows does not.
func TestObjectsReadOnlyWhenNamed(t *testing.T) {
	ctx := context.Background()
	d, _ := openCounted(t)
	for _, q := range []string{
		`CREATE TYPE mood AS ENUM ('sad', 'happy')`,
		`CREATE TABLE watched (id integer PRIMARY KEY, note text)`,
		`CREATE VIEW notes AS SELECT id, note FROM watched`,
		`CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`,
		`CREATE TRIGGER watched_stamp BEFORE UPDATE ON watched FOR EACH ROW EXECUTE FUNCTION stamp()`,
		`CREATE SEQUENCE counter OWNED BY watched.id`,
	} {
		if _, err := d.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// settle takes snapshots until the last one's horizon is past every
	// change made so far. The horizon is the cluster's: a transaction open
	// in another database (a test running beside this one) holds it back,
	// and then what earlier changes wrote counts as new again, which costs
	// a needless read but is not what this test is about.
	settle := func() {
		t.Helper()
		var xid string
		if err := d.db.QueryRowContext(ctx, `SELECT (pg_current_xact_id()::text::int8 % 4294967296)::text`).Scan(&xid); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
			if _, err := d.Snapshot(ctx); err != nil {
				t.Fatal(err)
			}
			var past bool
			if err := d.db.QueryRowContext(ctx, `SELECT age($1::text::xid) < age($2::text::xid)`, d.snaps.last.horizon, xid).Scan(&past); err != nil {
				t.Fatal(err)
			}
			if past {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the snapshot horizon stayed at or before transaction %s for a minute: a transaction left open on the server?", xid)
			}
		}
	}
	for _, c := range []struct {
		change string
		reread bool
	}{
		{`CREATE TABLE lone (id integer PRIMARY KEY, parent integer REFERENCES watched (id))`, false},
		{`CREATE INDEX lone_parent ON lone (parent)`, false},
		{`ALTER TABLE lone ADD COLUMN feeling mood`, false},
		{`ALTER TABLE lone RENAME COLUMN feeling TO mood`, false},
		{`DROP TABLE lone`, false},
		{`ALTER TABLE watched RENAME COLUMN note TO remark`, true},
		{`CREATE TABLE again (id integer)`, false},
		{`ALTER TYPE mood ADD VALUE 'meh'`, true},
		{`DROP TABLE again`, false},
		{`ALTER TABLE watched RENAME TO seen`, true},
	} {
		settle()
		last := d.snaps.last.objects
		if _, err := d.db.ExecContext(ctx, c.change); err != nil {
			t.Fatalf("%s: %v", c.change, err)
		}
		if _, err := d.Snapshot(ctx); err != nil {
			t.Fatal(err)
		}
		if reread := d.snaps.last.objects != last; reread != c.reread {
			t.Errorf("after %s: objects read again = %v, want %v", c.change, reread, c.reread)
		}
	}
}

// TestSnapshotIgnoresSessionSettings: settings that change how constants
// and names print, set for the database by a migration (ALTER DATABASE ...
// SET), reach only sessions opened after it; a snapshot read on such a
// session must read as one read before.
func TestSnapshotIgnoresSessionSettings(t *testing.T) {
	ctx := context.Background()
	d, _ := openCounted(t)
	if _, err := d.db.ExecContext(ctx, `CREATE TABLE dated (
    d date DEFAULT '2020-03-04',
    i interval DEFAULT '1 day 02:03:04',
    ts timestamptz DEFAULT '2020-03-04 05:06:07+00',
    f float8 DEFAULT 0.1,
    b bytea DEFAULT '\x00ff',
    s text DEFAULT E'back\\slash' CHECK (s <> 'x')
)`); err != nil {
		t.Fatal(err)
	}
	before, err := d.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.db.ExecContext(ctx, `DO $$ BEGIN
EXECUTE format('ALTER DATABASE %I SET DateStyle = %L', current_database(), 'SQL, DMY');
EXECUTE format('ALTER DATABASE %I SET IntervalStyle = %L', current_database(), 'sql_standard');
EXECUTE format('ALTER DATABASE %I SET TimeZone = %L', current_database(), 'Asia/Tokyo');
EXECUTE format('ALTER DATABASE %I SET extra_float_digits = %L', current_database(), '-3');
EXECUTE format('ALTER DATABASE %I SET bytea_output = %L', current_database(), 'escape');
EXECUTE format('ALTER DATABASE %I SET quote_all_identifiers = %L', current_database(), 'on');
END $$`); err != nil {
		t.Fatal(err)
	}
	// The next snapshot gets a new session, which reads those settings.
	d.db.SetMaxIdleConns(0)
	d.snaps.last = nil
	after, err := d.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := schema.Diff(before, after); len(diff) != 0 {
		t.Errorf("a session with other settings read the schema differently: %v", diff)
	}
}
