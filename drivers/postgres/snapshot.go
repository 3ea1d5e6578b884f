package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/migrate-dev/migrate/drivers/sqlstore"
	"github.com/migrate-dev/migrate/migrator"
	"github.com/migrate-dev/migrate/migrator/schema"
)

// userSchema keeps the schemas a migration can create objects in: every
// one but the system's.
const userSchema = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'`

// notExtensionMember leaves out objects an extension created, which come
// and go with their CREATE EXTENSION. It reads the extensions' few
// dependency rows once, through pg_depend's index on what is depended on,
// and hashes them: a lookup per object made this test most of the cost of
// listing 300 tables. (Every dependency of kind 'e' is on an extension.)
func notExtensionMember(catalog, oid string) string {
	return oid + ` NOT IN (SELECT e.objid FROM pg_depend e WHERE e.refclassid = 'pg_extension'::regclass AND e.classid = '` + catalog + `'::regclass AND e.deptype = 'e')`
}

// userRelation filters pg_class c in pg_namespace n down to relations a
// migration made: no extension's, and not migrate's own tables (in
// {schema}, named {state} and {history}).
var userRelation = userSchema + ` AND ` + notExtensionMember("pg_class", "c.oid") + `
  AND NOT (n.nspname = {schema} AND c.relname IN ({state}, {history}))`

// Snapshot reads the schema from pg_catalog (information_schema hides what
// the user does not own), one query per kind of object, in a read-only
// repeatable-read transaction with search_path pinned to the driver's
// schema, because the pg_get_*def functions qualify names by search_path.
// pg_temp goes last in it: unlisted, the session's temporary schema is
// searched first, and a temporary table a migration left on the session
// would make the deparsers qualify the name of the table it hides, in
// text that the kept tables and objects have from before it.
//
// verify takes three snapshots per migration, so the queries go in two
// pgx batches, two round trips where a query per kind made a dozen. A
// batch, rather than one simple-protocol string or one query folding every
// kind into JSON, keeps the queries prepared on the connection: the simple
// protocol would plan these catalogue joins again on every snapshot, and
// planning them costs more than running them: measured on an empty schema,
// 0.9 ms a snapshot as a prepared batch, 6.9 ms as a simple-protocol
// string. JSON would add encoding on the server and reflection on the
// client to that.
//
// Deparsing tables (pg_get_constraintdef, pg_get_indexdef, pg_get_expr,
// format_type) is most of a snapshot's cost, and grows with the schema
// while a migration touches one or two tables; so the driver keeps the
// tables of its last snapshot (see tableCache) and the second batch
// renders only the tables that may have changed since.
func (d *Driver) Snapshot(ctx context.Context) (*schema.Snapshot, error) {
	r := &reading{
		s:      &schema.Snapshot{DefaultSchema: d.schema},
		tables: map[int64]*schema.Table{}, attnames: map[int64]map[int]string{}, deps: map[int64][]int64{},
		objectDeps: map[int64]bool{},
	}
	d.snaps.mu.Lock()
	prev := d.snaps.last
	d.snaps.mu.Unlock()
	st := &changes{tables: map[int64]int64{}, touched: map[int64]bool{}}
	noted, tracked := d.track.take()
	// named: the statements run since the last snapshot told which
	// tables they change, so only those names are looked up.
	named := tracked && !noted.all && prev != nil
	var found []foundRel
	var hidden bool
	byXmin := func() []part { return []part{st.horizonPart(), st.tableList()} }
	queue := func(b *pgx.Batch, parts []part) {
		for _, p := range parts {
			b.Queue(d.bound(p.query), p.args(prev)...)
		}
	}
	first := byXmin()
	if named {
		first = []part{lookup(noted.names(), &found), hiddenChanges(noted, &hidden)}
	}
	batch := &pgx.Batch{}
	batch.Queue(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`)
	batch.Queue(`SELECT ` + snapshotSettings(d.schema))
	queue(batch, first)
	conn, err := d.db.Conn(ctx)
	if err != nil {
		if tracked {
			d.track.giveBack()
		}
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	defer conn.Close()
	var next *tableCache
	var objects *objectCache
	err = conn.Raw(func(dc any) error {
		pg := dc.(*stdlib.Conn).Conn()
		err := func() error {
			if err := read(pg.SendBatch(ctx, batch), first, 2, 0); err != nil {
				return err
			}
			var render []uint32
			ok := false
			if named && !hidden {
				next, render, objects, ok = prev.keepNamed(noted, found, st, r)
			}
			if !ok {
				if named {
					// A name the lookup cannot follow (a partitioned
					// table, a view), or code that may have run with the
					// statements: find the changes by xmin, in the same
					// transaction.
					fallback, parts := &pgx.Batch{}, byXmin()
					queue(fallback, parts)
					if err := read(pg.SendBatch(ctx, fallback), parts, 0, 0); err != nil {
						return err
					}
				}
				next, render = prev.keep(st, r)
				objects = prev.keptObjects(st)
			}
			var second []part
			if objects == nil {
				second = []part{r.schemas(), r.extensions(), r.types(), r.views(), r.sequences(), r.functions(), r.triggers(), r.objectDependencies()}
			}
			batch := &pgx.Batch{}
			for _, p := range second {
				batch.Queue(d.bound(p.query))
			}
			// Constraints and indexes name their columns from what columns
			// read, so the parts run in this order. A migration that only
			// dropped tables leaves none to render.
			var tables []part
			if len(render) > 0 {
				tables = []part{r.columns(), r.constraints(), r.indexes(), r.dependencies()}
			}
			for _, p := range tables {
				batch.Queue(d.bound(p.query), render)
			}
			batch.Queue(`COMMIT`)
			return read(pg.SendBatch(ctx, batch), append(second, tables...), 0, 1)
		}()
		if err != nil && pg.PgConn().TxStatus() != 'I' && !pg.PgConn().IsClosed() {
			// The error left the batch's transaction open and aborted.
			if rerr := pg.PgConn().Exec(ctx, "ROLLBACK").Close(); rerr != nil {
				return fmt.Errorf("%w (and rolling back: %v)", err, rerr)
			}
		}
		return err
	})
	if err != nil {
		if tracked {
			d.track.giveBack()
		}
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	next.add(r, st)
	if objects != nil {
		objects.into(r.s)
	}
	r.s.Tables = make([]schema.Table, 0, len(next.tables))
	for _, c := range next.tables {
		r.s.Tables = append(r.s.Tables, c.table)
	}
	r.s.Sort()
	if objects == nil {
		objects = newObjectCache(r.s, st.objectCounts, r.objectDeps)
	}
	next.objects = objects
	d.snaps.mu.Lock()
	d.snaps.last = next
	d.snaps.mu.Unlock()
	return r.s, nil
}

// bound is query with the driver's schema and migrate's table names in
// it. They go in as literals, not parameters, so that each query is one
// generic plan, prepared once per connection; and once per driver, as
// replacing them on every snapshot was a twentieth of verify's own CPU.
func (d *Driver) bound(query string) string {
	d.snaps.mu.Lock()
	defer d.snaps.mu.Unlock()
	if q, ok := d.snaps.bound[query]; ok {
		return q
	}
	if d.snaps.bound == nil {
		d.snaps.bound = map[string]string{}
	}
	q := strings.NewReplacer("{schema}", literal(d.schema), "{state}", literal(d.cfg.StateTable), "{history}", literal(d.cfg.HistoryTable)).Replace(query)
	d.snaps.bound[query] = q
	return q
}

// snapshotSettings pins, for a snapshot's transaction, what the text it
// reads depends on besides the catalogue, so that every snapshot of a run
// is read alike on whichever pooled session: the search_path, by which the
// pg_get_*def functions qualify names (pg_temp last, so that a temporary
// table hides no table of the same name); how constants in defaults,
// checks and views print (dates, intervals, time zones, floats, bytea,
// backslashes), which ALTER DATABASE or ALTER ROLE ... SET can change for
// sessions opened later in the run; and whether every name is quoted. And
// generic plans: a custom plan per call would plan each query again on
// every snapshot, for a few tables' worth of rows. One statement sets them
// all, as each costs the server a message.
func snapshotSettings(schema string) string {
	settings := [][2]string{
		{"search_path", quote(schema) + ", pg_temp"},
		{"DateStyle", "ISO, MDY"},
		{"IntervalStyle", "postgres"},
		{"TimeZone", "UTC"},
		{"extra_float_digits", "1"},
		{"bytea_output", "hex"},
		{"standard_conforming_strings", "on"},
		{"quote_all_identifiers", "off"},
		{"plan_cache_mode", "force_generic_plan"},
	}
	calls := make([]string, len(settings))
	for i, kv := range settings {
		calls[i] = `set_config('` + kv[0] + `', ` + literal(kv[1]) + `, true)`
	}
	return strings.Join(calls, ", ")
}

// part is the query for one kind of object and what reads its rows.
type part struct {
	what  string
	query string
	scan  func(pgx.Rows) error
	// params, when set, are the query's parameters, from the tables the
	// last snapshot kept.
	params func(*tableCache) []any
}

func (p part) args(prev *tableCache) []any {
	if p.params == nil {
		return nil
	}
	return p.params(prev)
}

// read takes a batch's results in the order queued: leading statements
// (BEGIN, SETs), the parts, and trailing ones (COMMIT).
func read(results pgx.BatchResults, parts []part, leading, trailing int) error {
	err := func() error {
		for i := 0; i < leading; i++ {
			if _, err := results.Exec(); err != nil {
				return fmt.Errorf("%s: %w", []string{"beginning a transaction", "pinning the session's settings"}[i], err)
			}
		}
		for _, p := range parts {
			if err := readPart(results, p); err != nil {
				return fmt.Errorf("reading %s: %w", p.what, err)
			}
		}
		for i := 0; i < trailing; i++ {
			if _, err := results.Exec(); err != nil {
				return fmt.Errorf("committing: %w", err)
			}
		}
		return nil
	}()
	if cerr := results.Close(); err == nil {
		err = cerr
	}
	return err
}

func readPart(results pgx.BatchResults, p part) error {
	rows, err := results.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := p.scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// The queries that render tables take the tables' oids as $1 and reach
// their rows through lateral subqueries (OFFSET 0 keeps the planner from
// flattening them), so that the generic plan probes the catalogues'
// indexes once per table rather than scanning them whole: in the middle
// of verify they are full of dead rows.

// reading is one snapshot being read. Tables are kept by oid with their
// column names by number, so that constraints and indexes can name their
// columns without a catalogue lookup per row.
type reading struct {
	s        *schema.Snapshot
	tables   map[int64]*schema.Table
	attnames map[int64]map[int]string
	// deps are the relations each table's text may name (see tableCache).
	deps map[int64][]int64
	// objectDeps are the relations the other objects' text may name (see
	// objectCache).
	objectDeps map[int64]bool
}

// names maps column numbers of table oid to names, as listed in an
// int2vector ("1 2") or int2[] ("{1,2}") text.
func (r *reading) names(oid int64, nums string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(nums, func(c rune) bool { return c == ' ' || c == ',' || c == '{' || c == '}' }) {
		n, _ := strconv.Atoi(f)
		name, ok := r.attnames[oid][n]
		if !ok {
			name = "#" + f
		}
		out = append(out, name)
	}
	return out
}

func (r *reading) schemas() part {
	return part{"schemas", `SELECT n.nspname FROM pg_namespace n WHERE ` + userSchema + ` AND ` + notExtensionMember("pg_namespace", "n.oid"), func(row pgx.Rows) error {
		var name string
		err := row.Scan(&name)
		r.s.Schemas = append(r.s.Schemas, name)
		return err
	}, nil}
}

func (r *reading) extensions() part {
	return part{"extensions", `SELECT x.extname, n.nspname, x.extversion FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace`, func(row pgx.Rows) error {
		var e schema.Extension
		err := row.Scan(&e.Name, &e.Schema, &e.Version)
		r.s.Extensions = append(r.s.Extensions, e)
		return err
	}, nil}
}

func (r *reading) types() part {
	return part{"types", `SELECT n.nspname, t.typname, t.typtype,
  coalesce((SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '[]'),
  CASE t.typtype
    WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod)
      || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
      || coalesce(' DEFAULT ' || t.typdefault, '')
      || coalesce((SELECT string_agg(' CONSTRAINT ' || quote_ident(k.conname) || ' ' || pg_get_constraintdef(k.oid), '' ORDER BY k.conname) FROM pg_constraint k WHERE k.contypid = t.oid), '')
    WHEN 'c' THEN '(' || coalesce((SELECT string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
      FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '') || ')'
    ELSE '' END
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE ` + userSchema + ` AND ` + notExtensionMember("pg_type", "t.oid") + `
  AND (t.typtype IN ('e', 'd') OR t.typtype = 'c' AND t.typrelid IN (SELECT c.oid FROM pg_class c WHERE c.relkind = 'c'))`, func(row pgx.Rows) error {
		var t schema.Type
		var kind, labels string
		if err := row.Scan(&t.Schema, &t.Name, &kind, &labels, &t.Definition); err != nil {
			return err
		}
		t.Kind = map[string]schema.TypeKind{"e": schema.Enum, "d": schema.Domain, "c": schema.Composite}[kind]
		if err := json.Unmarshal([]byte(labels), &t.Labels); err != nil {
			return err
		}
		r.s.Types = append(r.s.Types, t)
		return nil
	}, nil}
}

func (r *reading) columns() part {
	return part{"columns", `SELECT c.oid::int8, n.nspname, c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
  coalesce((SELECT pg_get_expr(ad.adbin, ad.adrelid) FROM pg_attrdef ad WHERE ad.adrelid = c.oid AND ad.adnum = a.attnum), ''),
  a.attidentity::text, a.attgenerated::text
FROM unnest($1::oid[]) r (oid)
CROSS JOIN LATERAL (SELECT c.oid, c.relname, c.relnamespace FROM pg_class c WHERE c.oid = r.oid OFFSET 0) c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (SELECT * FROM pg_attribute a WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped OFFSET 0) a ON true`, func(row pgx.Rows) error {
		var oid int64
		var nsp, table string
		var num sql.NullInt64
		var name, typ, def, identity, generated sql.NullString
		var notNull sql.NullBool
		if err := row.Scan(&oid, &nsp, &table, &num, &name, &typ, &notNull, &def, &identity, &generated); err != nil {
			return err
		}
		t := r.tables[oid]
		if t == nil {
			t = &schema.Table{Schema: nsp, Name: table}
			r.tables[oid], r.attnames[oid] = t, map[int]string{}
		}
		if !name.Valid {
			return nil // a table with no columns
		}
		r.attnames[oid][int(num.Int64)] = name.String
		col := schema.Column{Name: name.String, Type: typ.String, NotNull: notNull.Bool, Default: def.String}
		switch identity.String {
		case "a":
			col.Identity = "ALWAYS"
		case "d":
			col.Identity = "BY DEFAULT"
		}
		if generated.String == "s" {
			col.Generated, col.Default = "STORED "+def.String, ""
		}
		t.Columns = append(t.Columns, col)
		return nil
	}, nil}
}

// fkAction spells out pg_constraint's confdeltype/confupdtype codes.
func fkAction(code string) string {
	switch code {
	case "r":
		return "RESTRICT"
	case "c":
		return "CASCADE"
	case "n":
		return "SET NULL"
	case "d":
		return "SET DEFAULT"
	}
	return "NO ACTION"
}

func (r *reading) constraints() part {
	return part{"constraints", `SELECT k.conrelid::int8, k.conname, k.contype::text, coalesce(k.conkey::text, ''),
  CASE WHEN k.contype = 'f' THEN k.confrelid::regclass::text ELSE '' END, k.confrelid::int8, coalesce(k.confkey::text, ''),
  k.confdeltype::text, k.confupdtype::text,
  CASE WHEN k.contype = 'c' THEN pg_get_expr(k.conbin, k.conrelid) ELSE '' END,
  pg_get_constraintdef(k.oid)
FROM unnest($1::oid[]) r (oid), LATERAL (SELECT * FROM pg_constraint k WHERE k.conrelid = r.oid OFFSET 0) k
WHERE k.contype IN ('p', 'u', 'f', 'c', 'x')`, func(row pgx.Rows) error {
		var rel, refRel int64
		var kind, cols, refCols, onDelete, onUpdate string
		var con schema.Constraint
		if err := row.Scan(&rel, &con.Name, &kind, &cols, &con.RefTable, &refRel, &refCols, &onDelete, &onUpdate, &con.Expr, &con.Definition); err != nil {
			return err
		}
		t := r.tables[rel]
		if t == nil {
			return nil
		}
		switch kind {
		case "p":
			con.Kind = schema.PrimaryKey
		case "u":
			con.Kind = schema.Unique
		case "f":
			con.Kind = schema.ForeignKey
			con.OnDelete, con.OnUpdate = fkAction(onDelete), fkAction(onUpdate)
			con.RefColumns = r.names(refRel, refCols)
		case "c":
			con.Kind = schema.Check
		case "x":
			con.Kind = schema.Exclusion
		}
		con.Columns = r.names(rel, cols)
		t.Constraints = append(t.Constraints, con)
		return nil
	}, nil}
}

func (r *reading) indexes() part {
	// Indexes behind a primary key, unique or exclusion constraint are
	// that constraint; only the others are listed. Key expressions are
	// decompiled only for indexes that have one (key number 0). The test
	// is a count, not NOT EXISTS, which the planner turns into an anti
	// join hashing all of pg_constraint for the few indexes listed.
	return part{"indexes", `SELECT i.indrelid::int8, ic.relname, i.indisunique, pg_get_indexdef(i.indexrelid),
  coalesce(pg_get_expr(i.indpred, i.indrelid), ''), i.indnkeyatts, i.indkey::text, i.indoption::text,
  CASE WHEN 0 = ANY (i.indkey::int2[]) THEN
    (SELECT json_agg(pg_get_indexdef(i.indexrelid, k, false) ORDER BY k) FROM generate_series(1, i.indnkeyatts) k)::text
  ELSE '[]' END
FROM unnest($1::oid[]) r (oid), LATERAL (SELECT * FROM pg_index i WHERE i.indrelid = r.oid OFFSET 0) i
JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE (SELECT count(*) FROM pg_constraint k WHERE k.conrelid = i.indrelid AND k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x')) = 0`, func(row pgx.Rows) error {
		var rel int64
		var nkeys int
		var keys, options, exprJSON string
		var ix schema.Index
		if err := row.Scan(&rel, &ix.Name, &ix.Unique, &ix.Definition, &ix.Where, &nkeys, &keys, &options, &exprJSON); err != nil {
			return err
		}
		t := r.tables[rel]
		if t == nil {
			return nil
		}
		var exprs []string
		if err := json.Unmarshal([]byte(exprJSON), &exprs); err != nil {
			return err
		}
		nums, opts := strings.Fields(keys), strings.Fields(options)
		names := r.names(rel, keys)
		for k := 0; k < nkeys && k < len(nums); k++ {
			c := schema.IndexColumn{Expr: names[k]}
			if nums[k] == "0" && k < len(exprs) {
				c.Expr = exprs[k]
			}
			// Bit 0 of indoption is DESC.
			if k < len(opts) {
				o, _ := strconv.Atoi(opts[k])
				c.Desc = o&1 == 1
			}
			ix.Columns = append(ix.Columns, c)
		}
		t.Indexes = append(t.Indexes, ix)
		return nil
	}, nil}
}

// dependencies lists the relations whose names the tables' text may
// show: whatever a table, its column types, defaults, constraints or
// indexes depend on in pg_class, or through a relation's row type (or an
// array of it) in pg_type.
func (r *reading) dependencies() part {
	return part{"dependencies", `WITH o (rel, classid, objid) AS (
  SELECT r.oid, 'pg_class'::regclass, r.oid FROM unnest($1::oid[]) r (oid)
  UNION ALL SELECT r.oid, 'pg_class'::regclass, i.indexrelid FROM unnest($1::oid[]) r (oid), LATERAL (SELECT i.indexrelid FROM pg_index i WHERE i.indrelid = r.oid OFFSET 0) i
  UNION ALL SELECT r.oid, 'pg_constraint'::regclass, k.oid FROM unnest($1::oid[]) r (oid), LATERAL (SELECT k.oid FROM pg_constraint k WHERE k.conrelid = r.oid OFFSET 0) k
  UNION ALL SELECT r.oid, 'pg_attrdef'::regclass, ad.oid FROM unnest($1::oid[]) r (oid), LATERAL (SELECT ad.oid FROM pg_attrdef ad WHERE ad.adrelid = r.oid OFFSET 0) ad
)
SELECT DISTINCT o.rel::int8, (CASE WHEN d.refclassid = 'pg_class'::regclass THEN d.refobjid ELSE coalesce(` + relationOfType("d.refobjid") + `, 0) END)::int8
FROM o, LATERAL (SELECT d.refclassid, d.refobjid FROM pg_depend d WHERE d.classid = o.classid AND d.objid = o.objid OFFSET 0) d
WHERE d.refclassid IN ('pg_class'::regclass, 'pg_type'::regclass)`, func(row pgx.Rows) error {
		var rel, ref int64
		if err := row.Scan(&rel, &ref); err != nil {
			return err
		}
		if ref != 0 && ref != rel {
			r.deps[rel] = append(r.deps[rel], ref)
		}
		return nil
	}, nil}
}

// objectDependencies lists the relations whose names or columns the other
// objects' text may show: what views (their rules), functions, triggers
// and domains' constraints depend on in pg_class, or through a relation's
// row type in pg_type; the tables of triggers and the referenced tables of
// constraint triggers; views and sequences themselves, and the columns
// sequences are owned by; composite types and the row types of their
// attributes; and the row types domains are over.
func (r *reading) objectDependencies() part {
	return part{"what the other objects name", `SELECT DISTINCT rel::int8 FROM (
  SELECT CASE WHEN d.refclassid = 'pg_class'::regclass THEN d.refobjid ELSE ` + relationOfType("d.refobjid") + ` END AS rel
  FROM pg_depend d
  WHERE (d.classid IN ('pg_rewrite'::regclass, 'pg_proc'::regclass, 'pg_trigger'::regclass) AND d.objid >= 16384
      OR d.classid = 'pg_constraint'::regclass AND d.objid IN (SELECT k.oid FROM pg_constraint k WHERE k.contypid > 0))
    AND d.refclassid IN ('pg_class'::regclass, 'pg_type'::regclass)
  UNION ALL SELECT w.ev_class FROM pg_rewrite w WHERE w.oid >= 16384
  UNION ALL SELECT g.tgrelid FROM pg_trigger g WHERE NOT g.tgisinternal
  UNION ALL SELECT g.tgconstrrelid FROM pg_trigger g WHERE NOT g.tgisinternal
  UNION ALL SELECT q.seqrelid FROM pg_sequence q
  UNION ALL SELECT o.refobjid FROM pg_sequence q, LATERAL (SELECT o.refobjid FROM pg_depend o WHERE o.classid = 'pg_class'::regclass AND o.objid = q.seqrelid AND o.refclassid = 'pg_class'::regclass OFFSET 0) o
  UNION ALL SELECT c.oid FROM pg_class c WHERE c.relkind = 'c'
  UNION ALL SELECT ` + relationOfType("a.atttypid") + ` FROM pg_class c, LATERAL (SELECT a.atttypid FROM pg_attribute a WHERE a.attrelid = c.oid OFFSET 0) a WHERE c.relkind = 'c'
  UNION ALL SELECT ` + relationOfType("t.typbasetype") + ` FROM pg_type t WHERE t.typtype = 'd'
) x WHERE rel IS NOT NULL AND rel <> 0`, func(row pgx.Rows) error {
		var rel int64
		err := row.Scan(&rel)
		r.objectDeps[rel] = true
		return err
	}, nil}
}

func (r *reading) views() part {
	return part{"views", `SELECT n.nspname, c.relname, c.relkind = 'm', pg_get_viewdef(c.oid, false)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND ` + userRelation, func(row pgx.Rows) error {
		var v schema.View
		err := row.Scan(&v.Schema, &v.Name, &v.Materialized, &v.Definition)
		v.Definition = schema.NormalizeSQL(v.Definition)
		r.s.Views = append(r.s.Views, v)
		return err
	}, nil}
}

func (r *reading) sequences() part {
	// Identity sequences (deptype 'i') are their column's business.
	return part{"sequences", `SELECT n.nspname, c.relname,
  format('%s start %s increment %s min %s max %s cache %s%s%s', format_type(q.seqtypid, NULL), q.seqstart, q.seqincrement,
    q.seqmin, q.seqmax, q.seqcache, CASE WHEN q.seqcycle THEN ' cycle' ELSE '' END,
    (SELECT ' owned by ' || o.refobjid::regclass::text || '.' || quote_ident(a.attname) FROM pg_depend o
       JOIN pg_attribute a ON a.attrelid = o.refobjid AND a.attnum = o.refobjsubid
     WHERE o.classid = 'pg_class'::regclass AND o.objid = c.oid AND o.deptype = 'a' LIMIT 1))
FROM pg_sequence q
JOIN pg_class c ON c.oid = q.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE ` + userRelation + `
  AND NOT EXISTS (SELECT 1 FROM pg_depend o WHERE o.classid = 'pg_class'::regclass AND o.objid = c.oid AND o.deptype = 'i')`, func(row pgx.Rows) error {
		var q schema.Sequence
		err := row.Scan(&q.Schema, &q.Name, &q.Definition)
		r.s.Sequences = append(r.s.Sequences, q)
		return err
	}, nil}
}

func (r *reading) functions() part {
	// pg_get_functiondef refuses aggregates; their prosrc names the
	// transition function, which is what can change. Oids below 16384 are
	// initdb's, and every routine created later has a higher one (the oid
	// counter wraps back to 16384): the condition lets the plan skip
	// pg_proc's built-in rows, most of it, by index.
	return part{"functions", `SELECT n.nspname, p.proname,
  CASE p.prokind WHEN 'f' THEN 'function' WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'window function' END,
  pg_get_function_identity_arguments(p.oid), coalesce(pg_get_function_result(p.oid), ''),
  md5(CASE WHEN p.prokind = 'a' THEN p.prosrc ELSE pg_get_functiondef(p.oid) END)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.oid >= 16384 AND ` + userSchema + ` AND ` + notExtensionMember("pg_proc", "p.oid"), func(row pgx.Rows) error {
		var f schema.Function
		err := row.Scan(&f.Schema, &f.Name, &f.Kind, &f.Args, &f.Result, &f.BodyHash)
		f.BodyHash = "md5:" + f.BodyHash
		r.s.Functions = append(r.s.Functions, f)
		return err
	}, nil}
}

func (r *reading) triggers() part {
	return part{"triggers", `SELECT n.nspname, c.relname, g.tgname, pg_get_triggerdef(g.oid, false)
FROM pg_trigger g
JOIN pg_class c ON c.oid = g.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT g.tgisinternal AND ` + userRelation, func(row pgx.Rows) error {
		var t schema.Trigger
		err := row.Scan(&t.Schema, &t.Table, &t.Name, &t.Definition)
		r.s.Triggers = append(r.s.Triggers, t)
		return err
	}, nil}
}

// CreateScratch creates an empty database beside this one
// (migrate_verify_<random>) and opens it with this driver's settings. drop
// closes it and drops the database, forcing out any session left in it.
func (d *Driver) CreateScratch(ctx context.Context) (migrator.Driver, string, func(context.Context) error, error) {
	return migrator.ScratchOnServer(ctx, d.db, *d.cfg.URL, d.cfg,
		func(name string) string { return `CREATE DATABASE ` + quote(name) },
		func(name string) string { return `DROP DATABASE IF EXISTS ` + quote(name) + ` WITH (FORCE)` })
}

// LeftoverScratch lists the scratch databases of earlier verify runs that
// no session is connected to: those of a run that was killed or cut off
// before it could drop them.
func (d *Driver) LeftoverScratch(ctx context.Context) ([]string, error) {
	return sqlstore.QueryColumn[string](ctx, d.db, `SELECT d.datname FROM pg_database d
WHERE d.datname LIKE 'migrate\_verify\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)
ORDER BY 1`)
}

// InvalidIndexes lists the indexes that a CREATE INDEX CONCURRENTLY or
// REINDEX CONCURRENTLY left INVALID (pg_index.indisvalid false) when it
// failed or was cut, in every schema but the server's own. One that
// another session is building right now is listed too: the engine only
// names those a migration's scripts name, while it holds the lock.
func (d *Driver) InvalidIndexes(ctx context.Context) ([]migrator.InvalidIndex, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT n.nspname, c.relname, t.relname
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
ORDER BY 1, 2`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []migrator.InvalidIndex
	for rows.Next() {
		var ix migrator.InvalidIndex
		if err := rows.Scan(&ix.Schema, &ix.Name, &ix.Table); err != nil {
			return nil, err
		}
		out = append(out, ix)
	}
	return out, rows.Err()
}

// relationOfType is the relation whose row type is type oid, or whose row
// type is oid's element type (an array of rows); 0 or NULL when neither.
// It looks them up by index: as a join, the generic plan hashed all of
// pg_type, twice, to find a few rows, which was most of the query's time.
func relationOfType(oid string) string {
	return `(SELECT coalesce(nullif(rt.typrelid, 0), (SELECT re.typrelid FROM pg_type re WHERE re.oid = rt.typelem)) FROM pg_type rt WHERE rt.oid = ` + oid + `)`
}
