package postgres

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/migrate-dev/migrate/migrator"
	"github.com/migrate-dev/migrate/migrator/schema"
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
	} {
		t.Run(change, func(t *testing.T) {
			d, _ := openCounted(t)
			for _, q := range base {
				if _, err := d.db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			before, err := d.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.db.ExecContext(ctx, change); err != nil {
				t.Fatal(err)
			}
			kept, err := d.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			d.snaps.last = nil
			full, err := d.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
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
