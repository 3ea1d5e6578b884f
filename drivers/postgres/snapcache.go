package postgres

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/migrate-dev/migrate/migrator/schema"
)

// snapshots holds the tables and other objects of a driver's last
// snapshot.
type snapshots struct {
	mu   sync.Mutex
	last *tableCache
	// bound are the snapshot queries with the driver's names in them, by
	// their text before (see Driver.bound).
	bound map[string]string
}

// tableCache is the tables one snapshot read, with what tells whether each
// can have changed since.
//
// Every change to a catalogue row writes a new row version stamped with
// the writing transaction's id (xmin); the versions a snapshot saw were
// all written by transactions older than its xmin horizon. So a table
// whose rows (pg_class, pg_attribute, pg_attrdef, pg_constraint, pg_index
// and its indexes' pg_class rows) all have an xmin older than the horizon,
// and that still has as many defaults, constraints and indexes (a DROP
// deletes a row and writes none), reads as it did. What a table's text
// shows of other objects is their names: the relations it depends on
// (foreign key targets, sequences in defaults, row types used as column
// types) are checked the same way; and a new, changed or dropped schema,
// function, operator, operator class or family, collation or text search
// configuration or dictionary, or a new or changed type, renders every
// table again. (A type cannot be dropped while a table uses it.)
type tableCache struct {
	// horizon is the xmin of the snapshot that read the tables, as an xid.
	horizon string
	// global counts the objects every table's text may name.
	global string
	tables map[int64]cachedTable
	// objects are the snapshot's other objects.
	objects *objectCache
}

// objectCache is what a snapshot read besides tables: schemas, extensions,
// types, views, sequences, functions and triggers. The same xmin horizon
// tells whether they can have changed: a new or changed row in a
// catalogue they are read from (objectRel among the touched relations,
// or relation 0 for functions, schemas and types), a different count of
// those rows (a DROP writes none), or a touched relation whose name or
// columns their text shows (deps). Most migrations change tables that no
// view, trigger or sequence names, and those then cost no query.
type objectCache struct {
	// counts are the rows of the objects' catalogues when they were read.
	counts  string
	objects schema.Snapshot
	deps    map[int64]bool
}

// objectRel stands, among the relations a snapshot finds touched, for a
// new or changed row of a catalogue that only the other objects are read
// from: rules, user triggers, sequences, enum labels, domain constraints,
// composite types, extensions and their members, languages. It is the
// largest oid, as relations are numbered by oid; a relation that had it
// would only cost the objects a needless read.
const objectRel = 1<<32 - 1

type cachedTable struct {
	table    schema.Table
	attnames map[int]string
	// count is the table's defaults, constraints and indexes.
	count int64
	// deps are the relations whose names the table's text may show.
	deps []int64
}

// changes is what the first batch of a snapshot says about the tables
// and the other objects.
type changes struct {
	horizon, global string
	// objectCounts counts the rows of the other objects' catalogues.
	objectCounts string
	// tables are the tables with their counts.
	tables map[int64]int64
	// touched are relations with a catalogue row newer than the last
	// snapshot's horizon; 0 is any other object a table may name.
	touched map[int64]bool
}

// newer is a condition on a catalogue row's xmin: written by a transaction
// the last snapshot may not have seen. age() counts back from the next
// transaction id, so it is right across xid wraparound; a row so old that
// the count overflows also reads as newer, which costs a render, never a
// missed change.
func newer(xmin string) string {
	return `age(` + xmin + `) <= (SELECT age($1::text::xid))`
}

func horizonParam(prev *tableCache) []any {
	if prev == nil {
		return []any{nil}
	}
	return []any{prev.horizon}
}

// globalKinds are the catalogues of objects beside relations and types
// that a table's text may name.
var globalKinds = []string{"pg_namespace", "pg_proc", "pg_operator", "pg_opclass", "pg_opfamily", "pg_collation", "pg_ts_config", "pg_ts_dict"}

// userObject leaves out the built-in objects of catalogue kind (oids below
// 16384), which migrations do not change; but every schema, because public
// is built in and can be renamed.
func userObject(kind string) string {
	if kind == "pg_namespace" {
		return "true"
	}
	return "x.oid >= 16384"
}

// objectKinds are the catalogues only the other objects are read from,
// each with the rows that count: what the snapshot lists, and extension
// membership, which ALTER EXTENSION ADD or DROP changes in pg_depend only
// (one object leaving an extension as another joins keeps the count). New
// rows are looked for in those marked new; tableList finds those of
// pg_type as relation 0. A composite type's pg_class row is looked for
// here too: tableList finds it as its own relation, which the objects
// cannot name before they read it, so a type dropped and another created
// in its place would keep the count and go unseen. Languages count every
// row, built in or not: a function's text names its language.
var objectKinds = []struct {
	catalog, rows string
	new           bool
}{
	{"pg_rewrite", "true", true},
	{"pg_trigger", "NOT x.tgisinternal", true},
	{"pg_sequence", "true", true},
	{"pg_enum", "true", true},
	{"pg_extension", "true", true},
	{"pg_constraint", "x.contypid > 0", true},
	{"pg_type", "x.typtype IN ('d', 'e')", false},
	{"pg_class", "x.relkind = 'c'", true},
	{"pg_depend", "x.refclassid = 'pg_extension'::regclass AND x.deptype = 'e'", true},
	{"pg_language", "true", true},
}

// horizonPart reads the snapshot's xmin, how many objects of globalKinds
// there are (dropping one may change how a table's text names another: an
// overload gone makes a function name unambiguous), and how many rows of
// objectKinds there are and whether one is newer than the last snapshot's
// horizon (objectRel).
func (st *changes) horizonPart() part {
	counts := make([]string, len(globalKinds))
	for i, k := range globalKinds {
		counts[i] = `(SELECT count(*) FROM ` + k + ` x WHERE ` + userObject(k) + `)::text`
	}
	objects := make([]string, len(objectKinds))
	for i, k := range objectKinds {
		changed := "false"
		if k.new {
			changed = `coalesce(bool_or(` + newer("x.xmin") + `), false)`
		}
		objects[i] = `SELECT ` + strconv.Itoa(i) + `, count(*), ` + changed + ` FROM ` + k.catalog + ` x WHERE ` + k.rows
	}
	return part{what: "the snapshot horizon",
		query: `WITH o (kind, n, changed) AS (
  ` + strings.Join(objects, "\n  UNION ALL ") + `
)
SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::int8 % 4294967296)::text, concat_ws(',', ` + strings.Join(counts, ", ") + `),
  (SELECT string_agg(o.n::text, ',' ORDER BY o.kind) FROM o), (SELECT bool_or(o.changed) FROM o)`,
		scan: func(row pgx.Rows) error {
			var changed bool
			err := row.Scan(&st.horizon, &st.global, &st.objectCounts, &changed)
			if changed {
				st.touched[objectRel] = true
			}
			return err
		}, params: horizonParam}
}

// tableList lists the tables, each with its count of defaults,
// constraints and indexes, and every relation with a catalogue row newer
// than the last snapshot's horizon. Relation 0 stands for a new or changed
// object of globalKinds or a type that is no relation's row type (or
// array of it): a relation's row type is the relation's business.
//
// One count for the three kinds is enough: a table that gained a row is
// touched anyway, and one that only lost rows has fewer.
//
// A newer pg_class row of an index touches the index and its table; the
// table is found through pg_index for those few rows only, not by joining
// every index.
func (st *changes) tableList() part {
	global := ""
	for _, k := range globalKinds {
		global += `
    UNION ALL SELECT 0, 0, true FROM ` + k + ` x WHERE ` + userObject(k) + ` AND ` + newer("x.xmin")
	}
	return part{what: "tables", query: `WITH g AS (
  SELECT rel, sum(n)::int8 AS n, bool_or(new) AS new FROM (
    SELECT ad.adrelid AS rel, 1 AS n, ` + newer("ad.xmin") + ` AS new FROM pg_attrdef ad
    UNION ALL SELECT k.conrelid, 1, ` + newer("k.xmin") + ` FROM pg_constraint k WHERE k.conrelid <> 0
    UNION ALL SELECT i.indrelid, 1, ` + newer("i.xmin") + ` FROM pg_index i
    UNION ALL SELECT a.attrelid, 0, true FROM pg_attribute a WHERE ` + newer("a.xmin") + `
    UNION ALL SELECT v.rel, 0, true FROM pg_class c, LATERAL (VALUES (c.oid), ((SELECT i.indrelid FROM pg_index i WHERE i.indexrelid = c.oid))) v (rel)
      WHERE ` + newer("c.xmin") + ` AND v.rel IS NOT NULL
    UNION ALL SELECT coalesce(` + relationOfType("t.oid") + `, 0), 0, true FROM pg_type t WHERE ` + newer("t.xmin") + global + `
  ) x GROUP BY rel
)
SELECT coalesce(r.oid, g.rel)::int8, r.oid IS NOT NULL, coalesce(g.n, 0), coalesce(g.new, false)
FROM (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND ` + userRelation + `) r
FULL JOIN g ON g.rel = r.oid
WHERE r.oid IS NOT NULL OR g.new`, scan: func(row pgx.Rows) error {
		var oid, n int64
		var table, touched bool
		if err := row.Scan(&oid, &table, &n, &touched); err != nil {
			return err
		}
		if table {
			st.tables[oid] = n
		}
		if touched {
			st.touched[oid] = true
		}
		return nil
	}, params: horizonParam}
}

// keep starts the next cache with the tables of c that cannot have
// changed, giving r their column names for the foreign keys of the
// others, and returns the tables to render.
func (c *tableCache) keep(st *changes, r *reading) (*tableCache, []uint32) {
	next := &tableCache{horizon: st.horizon, global: st.global, tables: make(map[int64]cachedTable, len(st.tables))}
	var render []uint32
	for oid, count := range st.tables {
		var old cachedTable
		ok := c != nil && c.global == st.global && !st.touched[0]
		if ok {
			old, ok = c.tables[oid]
		}
		ok = ok && old.count == count && !st.touched[oid] && !slices.ContainsFunc(old.deps, func(d int64) bool { return st.touched[d] })
		if !ok {
			render = append(render, uint32(oid))
			continue
		}
		next.tables[oid] = old
		r.attnames[oid] = old.attnames
	}
	return next, render
}

// add puts the tables r rendered in c.
func (c *tableCache) add(r *reading, st *changes) {
	for oid, t := range r.tables {
		// Sorted once here, so that the snapshots sharing it never sort it.
		t.Sort()
		c.tables[oid] = cachedTable{table: *t, attnames: r.attnames[oid], count: st.tables[oid], deps: r.deps[oid]}
	}
}

// keptObjects is c's objects when none can have changed since, else nil.
func (c *tableCache) keptObjects(st *changes) *objectCache {
	if c == nil || c.objects == nil || c.global != st.global || c.objects.counts != st.objectCounts || st.touched[0] || st.touched[objectRel] {
		return nil
	}
	for rel := range st.touched {
		if c.objects.deps[rel] {
			return nil
		}
	}
	return c.objects
}

// newObjectCache keeps the objects of s, sorted, besides its tables.
func newObjectCache(s *schema.Snapshot, counts string, deps map[int64]bool) *objectCache {
	o := &objectCache{counts: counts, deps: deps, objects: *s}
	o.objects.Tables = nil
	return o
}

// into puts copies of the kept objects in s, which may sort them.
func (o *objectCache) into(s *schema.Snapshot) {
	k := &o.objects
	s.Schemas, s.Extensions, s.Types = slices.Clone(k.Schemas), slices.Clone(k.Extensions), slices.Clone(k.Types)
	s.Views, s.Sequences, s.Functions, s.Triggers = slices.Clone(k.Views), slices.Clone(k.Sequences), slices.Clone(k.Functions), slices.Clone(k.Triggers)
}

// foundRel is a relation the names a tracked snapshot looks up found.
type foundRel struct {
	oid          int64
	schema, name string
	kind         string
	// user: a table the snapshot lists (not migrate's own, not an
	// extension's).
	user bool
	// plain: neither partitioned, nor a partition, nor inherited from,
	// so that a statement on it changes no other table.
	plain bool
}

// names are the table names to look up, without their schemas: a name
// without one may be in any schema.
func (n noted) names() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range n.tables {
		if !seen[t.name] {
			seen[t.name] = true
			out = append(out, t.name)
		}
	}
	return out
}

// lookup finds the relations named, by pg_class's index on names, in
// every schema a migration can use.
func lookup(names []string, found *[]foundRel) part {
	return part{what: "the tables the statements named", query: `SELECT c.oid::int8, n.nspname, c.relname, c.relkind::text,
  c.relkind IN ('r', 'p') AND ` + userRelation + `,
  c.relkind = 'r' AND NOT c.relhassubclass AND NOT c.relispartition
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = ANY ($1::text[]) AND ` + userSchema, scan: func(row pgx.Rows) error {
		var f foundRel
		err := row.Scan(&f.oid, &f.schema, &f.name, &f.kind, &f.user, &f.plain)
		*found = append(*found, f)
		return err
	}, params: func(*tableCache) []any { return []any{names} }}
}

// hiddenChanges reads whether code that no statement's text shows may have
// run with the statements: an event trigger, which fires on the DDL they
// are (one creating an audit table for each new table, or adding a
// trigger to it); or, when a statement computed values over rows (see
// noted.runs), a volatile function of the schema's that an expression can
// call and that can run DDL: not a trigger's; not one with a body in SQL
// (RETURN, BEGIN ATOMIC: prosrc empty), which holds no DDL and calls only
// what it names; not an extension's, whose functions do not run DDL in a
// default.
func hiddenChanges(n noted, hidden *bool) part {
	return part{what: "the code that may have run", query: `SELECT EXISTS (SELECT FROM pg_event_trigger e WHERE e.evtenabled <> 'D')
  OR $1 AND EXISTS (SELECT FROM pg_proc p WHERE p.oid >= 16384 AND p.prokind = 'f' AND p.provolatile = 'v' AND p.prosrc <> ''
    AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype) AND ` + notExtensionMember("pg_proc", "p.oid") + `)`,
		scan:   func(row pgx.Rows) error { return row.Scan(hidden) },
		params: func(*tableCache) []any { return []any{n.runs} }}
}

// keepNamed is keep for a tracked snapshot: the tables to render are those
// the statements named (found now, or cached under a name they named, or
// having a dropped index they named) and the cached tables whose text
// names one of those. ok is false when the names cannot be followed this
// way: a view, sequence or index of that name, a partitioned or inherited
// table, an index dropped that no cached table had. The next cache keeps
// c's horizon, so a snapshot that finds changes by xmin later looks back
// to it, over everything tracked since.
func (c *tableCache) keepNamed(n noted, found []foundRel, st *changes, r *reading) (next *tableCache, render []uint32, objects *objectCache, ok bool) {
	touched := map[int64]bool{}
	now := map[int64]bool{}
	for _, f := range found {
		if !slices.ContainsFunc(n.tables, func(t relName) bool { return t.matches(f.schema, f.name) }) {
			continue
		}
		switch {
		case f.kind != "r" && f.kind != "p":
			// A view or sequence of the name; or an index, which ALTER
			// TABLE changes too (SET (fillfactor = 50) shows in its
			// definition), and which the tables' cache knows only by
			// its table.
			return nil, nil, nil, false
		case !f.user:
		case !f.plain:
			return nil, nil, nil, false
		default:
			touched[f.oid], now[f.oid] = true, true
		}
	}
	for _, ix := range n.indexes {
		had := false
		for oid, t := range c.tables {
			if slices.ContainsFunc(t.table.Indexes, func(i schema.Index) bool { return ix.matches(t.table.Schema, i.Name) }) {
				touched[oid], had = true, true
			}
		}
		if !had {
			return nil, nil, nil, false
		}
	}
	// A cached table named but not found now was dropped or renamed.
	gone := map[int64]bool{}
	for oid, t := range c.tables {
		if slices.ContainsFunc(n.tables, func(n relName) bool { return n.matches(t.table.Schema, t.table.Name) }) {
			touched[oid] = true
			gone[oid] = !now[oid]
		}
	}
	next = &tableCache{horizon: c.horizon, global: c.global, tables: make(map[int64]cachedTable, len(c.tables)+len(now))}
	tables := make(map[int64]int64, len(c.tables)+len(now))
	for oid, old := range c.tables {
		switch {
		case gone[oid]:
		case touched[oid] || slices.ContainsFunc(old.deps, func(d int64) bool { return touched[d] }):
			render = append(render, uint32(oid))
			tables[oid] = -1
		default:
			next.tables[oid] = old
			r.attnames[oid] = old.attnames
			tables[oid] = old.count
		}
	}
	for oid := range now {
		if _, cached := c.tables[oid]; !cached {
			render = append(render, uint32(oid))
			tables[oid] = -1
		}
	}
	// The tables rendered count -1 defaults, constraints and indexes, and
	// the objects read again no rows, so that a snapshot finding changes
	// by xmin renders and reads them again.
	st.horizon, st.global, st.tables = c.horizon, c.global, tables
	if c.objects == nil || n.objects {
		return next, render, nil, true
	}
	for rel := range touched {
		if c.objects.deps[rel] {
			return next, render, nil, true
		}
	}
	// The tables rendered for what they depend on too: DROP TABLE of a
	// partitioned table drops its partitions, with the sequences owned by
	// their columns and the triggers on them.
	for _, oid := range render {
		if c.objects.deps[int64(oid)] {
			return next, render, nil, true
		}
	}
	return next, render, c.objects, true
}
