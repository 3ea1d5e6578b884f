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
// file recorded with the query-per-kind reader that the one-round-trip
// batch replaced, so that the transport cannot change the content.
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
	// The first snapshot on a connection prepares its queries; the next
	// ones are a single round trip.
	if _, err := d.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	before := wire.count()
	s, err := d.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if trips := wire.count() - before; trips != 1 {
		t.Errorf("a snapshot took %d round trips, want 1", trips)
	}
	got, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
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
