package schema

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Difference is one way two snapshots disagree.
type Difference struct {
	// Kind is the kind of object: schema, extension, type, table, column,
	// constraint, index, view, sequence, function, trigger.
	Kind string `json:"kind"`
	// Object names it, its table included: "table customers column email".
	Object string `json:"object"`
	// Change is what differs, from the expected snapshot to the actual
	// one: "type varchar(320) -> text", "missing", "extra".
	Change string `json:"change"`
	// Detail describes a missing or extra object.
	Detail string `json:"detail,omitempty"`
}

// Missing and Extra are the Change of an object only one snapshot has.
const (
	Missing = "missing"
	Extra   = "extra"
)

// String reads as "missing index orders_customer_created_idx on table
// orders" or "table customers column email: type varchar(320) -> text".
func (d Difference) String() string {
	if d.Change == Missing || d.Change == Extra {
		out := d.Change + " " + d.Object
		if d.Detail != "" {
			out += ": " + d.Detail
		}
		return out
	}
	return d.Object + ": " + d.Change
}

// Diff lists how actual differs from expected, in a fixed order; none when
// they describe the same schema.
func Diff(expected, actual *Snapshot) []Difference {
	a, b := expected.inOrder(), actual.inOrder()
	if b.DefaultSchema != a.DefaultSchema {
		c := *b
		c.DefaultSchema = a.DefaultSchema
		b = &c
	}
	var out []Difference
	add := func(kind, object, change string) {
		out = append(out, Difference{Kind: kind, Object: object, Change: change})
	}
	changed := func(kind, object, what, from, to string) {
		if from != to {
			add(kind, object, fmt.Sprintf("%s %s -> %s", what, orNone(from), orNone(to)))
		}
	}

	diffBy(&out, "schema", a.Schemas, b.Schemas,
		func(n string) string { return "schema " + n }, func(string) string { return "" }, nil)
	diffBy(&out, "extension", a.Extensions, b.Extensions,
		func(e Extension) string { return "extension " + e.Name },
		func(e Extension) string { return e.Version + " in schema " + e.Schema },
		func(obj string, x, y Extension) {
			changed("extension", obj, "version", x.Version, y.Version)
			changed("extension", obj, "schema", x.Schema, y.Schema)
		})
	diffBy(&out, "type", a.Types, b.Types,
		func(t Type) string { return "type " + a.qualify(t.Schema, t.Name) }, Type.describe,
		func(obj string, x, y Type) { changed("type", obj, "definition", x.describe(), y.describe()) })
	diffBy(&out, "table", a.Tables, b.Tables,
		func(t Table) string { return "table " + a.qualify(t.Schema, t.Name) },
		func(t Table) string { return fmt.Sprintf("%d column(s)", len(t.Columns)) },
		func(obj string, x, y Table) {
			// Nearly every table is unchanged between two snapshots of a
			// verify run; comparing them field by field first keeps Diff
			// from building a name for every column and constraint (it
			// was a sixth of verify's own time on SQLite). Tables a driver
			// kept from its last snapshot share their lists, which need
			// no walk at all.
			if x.sharesLists(y) || reflect.DeepEqual(x, y) {
				return
			}
			diffBy(&out, "column", x.Columns, y.Columns,
				func(c Column) string { return obj + " column " + c.Name }, Column.describe,
				func(cobj string, p, q Column) {
					changed("column", cobj, "type", p.Type, q.Type)
					if p.NotNull != q.NotNull {
						add("column", cobj, "nullability "+nullability(p.NotNull)+" -> "+nullability(q.NotNull))
					}
					changed("column", cobj, "default", p.Default, q.Default)
					changed("column", cobj, "identity", p.Identity, q.Identity)
					changed("column", cobj, "generated", p.Generated, q.Generated)
				})
			diffBy(&out, "constraint", x.Constraints, y.Constraints,
				func(c Constraint) string { return obj + " " + c.key() },
				func(c Constraint) string {
					if c.Name == "" {
						// The key already says what it constrains.
						return strings.TrimSpace(c.actions())
					}
					return c.detail()
				},
				func(cobj string, p, q Constraint) {
					before := len(out)
					changed("constraint", cobj, "columns", strings.Join(p.Columns, ", "), strings.Join(q.Columns, ", "))
					changed("constraint", cobj, "references", p.RefTable+" ("+strings.Join(p.RefColumns, ", ")+")", q.RefTable+" ("+strings.Join(q.RefColumns, ", ")+")")
					changed("constraint", cobj, "on delete", p.OnDelete, q.OnDelete)
					changed("constraint", cobj, "on update", p.OnUpdate, q.OnUpdate)
					changed("constraint", cobj, "check", p.Expr, q.Expr)
					if len(out) == before {
						changed("constraint", cobj, "definition", p.Definition, q.Definition)
					}
				})
			diffBy(&out, "index", x.Indexes, y.Indexes,
				func(ix Index) string { return obj + " index " + ix.Name }, Index.describe,
				func(iobj string, p, q Index) {
					before := len(out)
					if p.Unique != q.Unique {
						add("index", iobj, "unique "+fmt.Sprint(p.Unique)+" -> "+fmt.Sprint(q.Unique))
					}
					changed("index", iobj, "columns", p.columns(), q.columns())
					changed("index", iobj, "where", p.Where, q.Where)
					if len(out) == before {
						changed("index", iobj, "definition", p.Definition, q.Definition)
					}
				})
		})
	diffBy(&out, "view", a.Views, b.Views,
		func(v View) string { return "view " + a.qualify(v.Schema, v.Name) },
		func(v View) string { return v.Definition },
		func(obj string, x, y View) {
			if x.Materialized != y.Materialized {
				add("view", obj, fmt.Sprintf("materialized %v -> %v", x.Materialized, y.Materialized))
			}
			changed("view", obj, "definition", x.Definition, y.Definition)
		})
	diffBy(&out, "sequence", a.Sequences, b.Sequences,
		func(q Sequence) string { return "sequence " + a.qualify(q.Schema, q.Name) },
		func(q Sequence) string { return q.Definition },
		func(obj string, x, y Sequence) { changed("sequence", obj, "definition", x.Definition, y.Definition) })
	diffBy(&out, "function", a.Functions, b.Functions,
		func(f Function) string { return f.Kind + " " + a.funcKey(f) }, Function.describe,
		func(obj string, x, y Function) {
			changed("function", obj, "kind", x.Kind, y.Kind)
			changed("function", obj, "result", x.Result, y.Result)
			changed("function", obj, "body", x.BodyHash, y.BodyHash)
		})
	diffBy(&out, "trigger", a.Triggers, b.Triggers,
		func(t Trigger) string { return "trigger " + t.Name + " on " + a.qualify(t.Schema, t.Table) },
		func(t Trigger) string { return t.Definition },
		func(obj string, x, y Trigger) { changed("trigger", obj, "definition", x.Definition, y.Definition) })
	return out
}

// diffBy matches two lists by name and reports what only one has; compare
// is called for every object both have.
func diffBy[T any](out *[]Difference, kind string, expected, actual []T, name func(T) string, describe func(T) string, compare func(object string, x, y T)) {
	byName := make(map[string]T, len(actual))
	for _, v := range actual {
		byName[name(v)] = v
	}
	seen := make(map[string]bool, len(expected))
	for _, x := range expected {
		n := name(x)
		seen[n] = true
		y, ok := byName[n]
		switch {
		case !ok:
			*out = append(*out, Difference{Kind: kind, Object: n, Change: Missing, Detail: describe(x)})
		case compare != nil:
			compare(n, x, y)
		}
	}
	var extra []string
	for n := range byName {
		if !seen[n] {
			extra = append(extra, n)
		}
	}
	slices.Sort(extra)
	for _, n := range extra {
		*out = append(*out, Difference{Kind: kind, Object: n, Change: Extra, Detail: describe(byName[n])})
	}
}

func nullability(notNull bool) string {
	if notNull {
		return "NOT NULL"
	}
	return "NULL"
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// sharesLists is whether t and u are the same table holding the very same
// lists of columns, constraints and indexes: all a Table has.
func (t Table) sharesLists(u Table) bool {
	return t.Schema == u.Schema && t.Name == u.Name && sameList(t.Columns, u.Columns) && sameList(t.Constraints, u.Constraints) && sameList(t.Indexes, u.Indexes)
}

// sameList is whether a and b are one list: same length, same first
// element in memory.
func sameList[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
