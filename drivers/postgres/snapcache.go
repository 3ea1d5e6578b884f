package postgres

import (
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/migrate-dev/migrate/migrator/schema"
)

// snapshots holds the tables of a driver's last snapshot.
type snapshots struct {
	mu   sync.Mutex
	last *tableCache
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
// types) are checked the same way, and a new or dropped schema, type,
// function, operator, operator class or family, collation or text search
// configuration or dictionary renders every table again.
type tableCache struct {
	// horizon is the xmin of the snapshot that read the tables, as an xid.
	horizon string
	// global counts the objects every table's text may name.
	global string
	tables map[int64]cachedTable
}

type cachedTable struct {
	table    schema.Table
	attnames map[int]string
	// counts are the table's defaults, constraints and indexes.
	counts string
	// deps are the relations whose names the table's text may show.
	deps []int64
}

// changes is what the first batch of a snapshot says about the tables.
type changes struct {
	horizon, global string
	// globalTouched is a new or changed schema, type, function...
	globalTouched bool
	// tables are the tables with their counts.
	tables map[int64]string
	// touched are relations with a catalogue row newer than the last
	// snapshot's horizon.
	touched map[int64]bool
}

// newer is a condition on a catalogue row's xmin: written by a transaction
// the last snapshot may not have seen. age() counts back from the next
// transaction id, so it is right across xid wraparound; a row so old that
// the count overflows also reads as newer, which costs a render, never a
// missed change.
func newer(xmin string) string {
	return `age(` + xmin + `) <= age($1::text::xid)`
}

func horizonParam(prev *tableCache) []any {
	if prev == nil {
		return []any{nil}
	}
	return []any{prev.horizon}
}

// globalKinds are the catalogues of objects a table's text may name,
// beside relations; oids below 16384 are the built-in ones, which
// migrations do not change.
var globalKinds = []string{"pg_proc", "pg_operator", "pg_opclass", "pg_opfamily", "pg_collation", "pg_ts_config", "pg_ts_dict"}

// userType keeps the types in pg_type t that are not a relation's row
// type (or array of it): those come and go with every table, and a table
// that uses one as a column type lists the relation in its deps.
const userType = `t.oid >= 16384 AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.relkind <> 'c'
  AND c.oid IN (t.typrelid, (SELECT e.typrelid FROM pg_type e WHERE e.oid = t.typelem)))`

func (st *changes) horizonPart() part {
	counts := `(SELECT count(*) FROM pg_namespace)::text, (SELECT count(*) FROM pg_type t WHERE ` + userType + `)::text`
	touched := `EXISTS (SELECT 1 FROM pg_namespace x WHERE ` + newer("x.xmin") + `) OR EXISTS (SELECT 1 FROM pg_type t WHERE ` + userType + ` AND ` + newer("t.xmin") + `)`
	for _, k := range globalKinds {
		counts += `, (SELECT count(*) FROM ` + k + ` x WHERE x.oid >= 16384)::text`
		touched += ` OR EXISTS (SELECT 1 FROM ` + k + ` x WHERE x.oid >= 16384 AND ` + newer("x.xmin") + `)`
	}
	return part{what: "the snapshot horizon",
		query: `SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::int8 % 4294967296)::text, concat_ws(',', ` + counts + `), coalesce(` + touched + `, false)`,
		scan: func(row pgx.Rows) error {
			return row.Scan(&st.horizon, &st.global, &st.globalTouched)
		}, params: horizonParam}
}

func (st *changes) tableList() part {
	return part{what: "tables", query: `SELECT c.oid::int8, concat_ws(',', (SELECT count(*) FROM pg_attrdef ad WHERE ad.adrelid = c.oid),
  (SELECT count(*) FROM pg_constraint k WHERE k.conrelid = c.oid), (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid))
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND ` + userRelation, scan: func(row pgx.Rows) error {
		var oid int64
		var counts string
		err := row.Scan(&oid, &counts)
		st.tables[oid] = counts
		return err
	}}
}

func (st *changes) touchedList() part {
	return part{what: "changed relations", query: `SELECT rel::int8 FROM (
  SELECT c.oid AS rel FROM pg_class c WHERE ` + newer("c.xmin") + `
  UNION SELECT a.attrelid FROM pg_attribute a WHERE ` + newer("a.xmin") + `
  UNION SELECT ad.adrelid FROM pg_attrdef ad WHERE ` + newer("ad.xmin") + `
  UNION SELECT k.conrelid FROM pg_constraint k WHERE ` + newer("k.xmin") + `
  UNION SELECT i.indrelid FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE ` + newer("i.xmin") + ` OR ` + newer("ic.xmin") + `
  UNION SELECT coalesce(nullif(t.typrelid, 0), e.typrelid) FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem WHERE ` + newer("t.xmin") + `
) x WHERE rel IS NOT NULL`, scan: func(row pgx.Rows) error {
		var oid int64
		err := row.Scan(&oid)
		st.touched[oid] = true
		return err
	}, params: horizonParam}
}

// keep starts the next cache with the tables of c that cannot have
// changed, giving r their column names for the foreign keys of the
// others, and returns the tables to render.
func (c *tableCache) keep(st *changes, r *reading) (*tableCache, []uint32) {
	next := &tableCache{horizon: st.horizon, global: st.global, tables: make(map[int64]cachedTable, len(st.tables))}
	var render []uint32
	for oid, counts := range st.tables {
		var old cachedTable
		ok := c != nil && c.global == st.global && !st.globalTouched
		if ok {
			old, ok = c.tables[oid]
		}
		ok = ok && old.counts == counts && !st.touched[oid] && !slices.ContainsFunc(old.deps, func(d int64) bool { return st.touched[d] })
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
		c.tables[oid] = cachedTable{table: *t, attnames: r.attnames[oid], counts: st.tables[oid], deps: r.deps[oid]}
	}
}
