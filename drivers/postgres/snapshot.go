package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/migrate-dev/migrate/migrator"
	"github.com/migrate-dev/migrate/migrator/schema"
)

// userSchema keeps the schemas a migration can create objects in: every
// one but the system's.
const userSchema = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'`

// notExtensionMember leaves out objects an extension created, which come
// and go with their CREATE EXTENSION.
func notExtensionMember(catalog, oid string) string {
	return `NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '` + catalog + `'::regclass AND e.objid = ` + oid + ` AND e.deptype = 'e')`
}

// userRelation filters pg_class c in pg_namespace n down to relations a
// migration made: not migrate's own tables ($1 schema, $2 and $3 tables).
var userRelation = userSchema + ` AND ` + notExtensionMember("pg_class", "c.oid") + ` AND NOT (n.nspname = $1 AND c.relname IN ($2, $3))`

// Snapshot reads the schema from pg_catalog (information_schema hides what
// the user does not own), one query per kind of object, in one read-only
// repeatable-read transaction with search_path pinned to the driver's
// schema, because the pg_get_*def functions qualify names by search_path.
func (d *Driver) Snapshot(ctx context.Context) (*schema.Snapshot, error) {
	tx, err := d.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SELECT set_config('search_path', $1, true)`, quote(d.schema)); err != nil {
		return nil, fmt.Errorf("snapshot: pinning search_path: %w", err)
	}
	s := &schema.Snapshot{DefaultSchema: d.schema}
	tables := map[[2]string]*schema.Table{}
	args := []any{d.schema, d.cfg.StateTable, d.cfg.HistoryTable}
	for _, part := range []struct {
		what string
		read func(context.Context, *sql.Tx, *schema.Snapshot, map[[2]string]*schema.Table, []any) error
	}{
		{"schemas", snapshotSchemas},
		{"extensions", snapshotExtensions},
		{"types", snapshotTypes},
		{"columns", snapshotColumns},
		{"constraints", snapshotConstraints},
		{"indexes", snapshotIndexes},
		{"views", snapshotViews},
		{"sequences", snapshotSequences},
		{"functions", snapshotFunctions},
		{"triggers", snapshotTriggers},
	} {
		if err := part.read(ctx, tx, s, tables, args); err != nil {
			return nil, fmt.Errorf("snapshot of %s: %w", part.what, err)
		}
	}
	for _, t := range tables {
		s.Tables = append(s.Tables, *t)
	}
	s.Sort()
	return s, nil
}

// each runs q and calls scan for every row.
func each(ctx context.Context, tx *sql.Tx, q string, args []any, scan func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func snapshotSchemas(ctx context.Context, tx *sql.Tx, s *schema.Snapshot, _ map[[2]string]*schema.Table, _ []any) error {
	return each(ctx, tx, `SELECT n.nspname FROM pg_namespace n WHERE `+userSchema+` AND `+notExtensionMember("pg_namespace", "n.oid"), nil, func(r *sql.Rows) error {
		var name string
		err := r.Scan(&name)
		s.Schemas = append(s.Schemas, name)
		return err
	})
}

func snapshotExtensions(ctx context.Context, tx *sql.Tx, s *schema.Snapshot, _ map[[2]string]*schema.Table, _ []any) error {
	return each(ctx, tx, `SELECT x.extname, n.nspname, x.extversion FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace`, nil, func(r *sql.Rows) error {
		var e schema.Extension
		err := r.Scan(&e.Name, &e.Schema, &e.Version)
		s.Extensions = append(s.Extensions, e)
		return err
	})
}

func snapshotTypes(ctx context.Context, tx *sql.Tx, s *schema.Snapshot, _ map[[2]string]*schema.Table, _ []any) error {
	return each(ctx, tx, `SELECT n.nspname, t.typname, t.typtype,
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
WHERE `+userSchema+` AND `+notExtensionMember("pg_type", "t.oid")+`
  AND (t.typtype IN ('e', 'd') OR t.typtype = 'c' AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')`, nil, func(r *sql.Rows) error {
		var t schema.Type
		var kind, labels string
		if err := r.Scan(&t.Schema, &t.Name, &kind, &labels, &t.Definition); err != nil {
			return err
		}
		t.Kind = map[string]schema.TypeKind{"e": schema.Enum, "d": schema.Domain, "c": schema.Composite}[kind]
		if err := json.Unmarshal([]byte(labels), &t.Labels); err != nil {
			return err
		}
		s.Types = append(s.Types, t)
		return nil
	})
}

func snapshotColumns(ctx context.Context, tx *sql.Tx, _ *schema.Snapshot, tables map[[2]string]*schema.Table, args []any) error {
	return each(ctx, tx, `SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
  coalesce(pg_get_expr(ad.adbin, ad.adrelid), ''), a.attidentity::text, a.attgenerated::text
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
WHERE c.relkind IN ('r', 'p') AND `+userRelation, args, func(r *sql.Rows) error {
		var nsp, table string
		var name, typ, def, identity, generated sql.NullString
		var notNull sql.NullBool
		if err := r.Scan(&nsp, &table, &name, &typ, &notNull, &def, &identity, &generated); err != nil {
			return err
		}
		t := tableOf(tables, nsp, table)
		if !name.Valid {
			return nil // a table with no columns
		}
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
	})
}

// tableOf returns the table, adding it the first time it is named.
func tableOf(tables map[[2]string]*schema.Table, nsp, name string) *schema.Table {
	k := [2]string{nsp, name}
	t := tables[k]
	if t == nil {
		t = &schema.Table{Schema: nsp, Name: name}
		tables[k] = t
	}
	return t
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

func snapshotConstraints(ctx context.Context, tx *sql.Tx, _ *schema.Snapshot, tables map[[2]string]*schema.Table, args []any) error {
	return each(ctx, tx, `SELECT n.nspname, c.relname, k.conname, k.contype::text,
  coalesce((SELECT json_agg(a.attname ORDER BY u.ord) FROM unnest(k.conkey) WITH ORDINALITY u(num, ord)
    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num), '[]'),
  CASE WHEN k.contype = 'f' THEN k.confrelid::regclass::text ELSE '' END,
  coalesce((SELECT json_agg(a.attname ORDER BY u.ord) FROM unnest(k.confkey) WITH ORDINALITY u(num, ord)
    JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.num), '[]'),
  k.confdeltype::text, k.confupdtype::text,
  CASE WHEN k.contype = 'c' THEN pg_get_expr(k.conbin, k.conrelid) ELSE '' END,
  pg_get_constraintdef(k.oid)
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE k.contype IN ('p', 'u', 'f', 'c', 'x') AND `+userRelation, args, func(r *sql.Rows) error {
		var nsp, table, kind, cols, refCols, onDelete, onUpdate string
		var con schema.Constraint
		if err := r.Scan(&nsp, &table, &con.Name, &kind, &cols, &con.RefTable, &refCols, &onDelete, &onUpdate, &con.Expr, &con.Definition); err != nil {
			return err
		}
		con.Kind = map[string]schema.ConstraintKind{"p": schema.PrimaryKey, "u": schema.Unique, "f": schema.ForeignKey, "c": schema.Check, "x": schema.Exclusion}[kind]
		if err := json.Unmarshal([]byte(cols), &con.Columns); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(refCols), &con.RefColumns); err != nil {
			return err
		}
		if con.Kind == schema.ForeignKey {
			con.OnDelete, con.OnUpdate = fkAction(onDelete), fkAction(onUpdate)
		}
		t := tableOf(tables, nsp, table)
		t.Constraints = append(t.Constraints, con)
		return nil
	})
}

func snapshotIndexes(ctx context.Context, tx *sql.Tx, _ *schema.Snapshot, tables map[[2]string]*schema.Table, args []any) error {
	// Indexes behind a primary key, unique or exclusion constraint are
	// that constraint; only the others are listed.
	return each(ctx, tx, `SELECT n.nspname, c.relname, ic.relname, i.indisunique, pg_get_indexdef(i.indexrelid),
  coalesce(pg_get_expr(i.indpred, i.indrelid), ''),
  (SELECT json_agg(json_build_array(pg_get_indexdef(i.indexrelid, k, false), (i.indoption[k - 1] & 1) = 1) ORDER BY k)
     FROM generate_series(1, i.indnkeyatts) k)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND `+userRelation+`
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))`, args, func(r *sql.Rows) error {
		var nsp, table, keys string
		var ix schema.Index
		if err := r.Scan(&nsp, &table, &ix.Name, &ix.Unique, &ix.Definition, &ix.Where, &keys); err != nil {
			return err
		}
		var raw [][2]any
		if err := json.Unmarshal([]byte(keys), &raw); err != nil {
			return err
		}
		for _, k := range raw {
			expr, _ := k[0].(string)
			desc, _ := k[1].(bool)
			ix.Columns = append(ix.Columns, schema.IndexColumn{Expr: expr, Desc: desc})
		}
		t := tableOf(tables, nsp, table)
		t.Indexes = append(t.Indexes, ix)
		return nil
	})
}

func snapshotViews(ctx context.Context, tx *sql.Tx, s *schema.Snapshot, _ map[[2]string]*schema.Table, args []any) error {
	return each(ctx, tx, `SELECT n.nspname, c.relname, c.relkind = 'm', pg_get_viewdef(c.oid, false)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('v', 'm') AND `+userRelation, args, func(r *sql.Rows) error {
		var v schema.View
		err := r.Scan(&v.Schema, &v.Name, &v.Materialized, &v.Definition)
		v.Definition = schema.NormalizeSQL(v.Definition)
		s.Views = append(s.Views, v)
		return err
	})
}

func snapshotSequences(ctx context.Context, tx *sql.Tx, s *schema.Snapshot, _ map[[2]string]*schema.Table, args []any) error {
	// Identity sequences (deptype 'i') are their column's business.
	return each(ctx, tx, `SELECT n.nspname, c.relname,
  format('%s start %s increment %s min %s max %s cache %s%s%s', format_type(q.seqtypid, NULL), q.seqstart, q.seqincrement,
    q.seqmin, q.seqmax, q.seqcache, CASE WHEN q.seqcycle THEN ' cycle' ELSE '' END,
    (SELECT ' owned by ' || o.refobjid::regclass::text || '.' || quote_ident(a.attname) FROM pg_depend o
       JOIN pg_attribute a ON a.attrelid = o.refobjid AND a.attnum = o.refobjsubid
     WHERE o.classid = 'pg_class'::regclass AND o.objid = c.oid AND o.deptype = 'a' LIMIT 1))
FROM pg_sequence q
JOIN pg_class c ON c.oid = q.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE `+userRelation+`
  AND NOT EXISTS (SELECT 1 FROM pg_depend o WHERE o.classid = 'pg_class'::regclass AND o.objid = c.oid AND o.deptype = 'i')`, args, func(r *sql.Rows) error {
		var q schema.Sequence
		err := r.Scan(&q.Schema, &q.Name, &q.Definition)
		s.Sequences = append(s.Sequences, q)
		return err
	})
}

func snapshotFunctions(ctx context.Context, tx *sql.Tx, s *schema.Snapshot, _ map[[2]string]*schema.Table, _ []any) error {
	// pg_get_functiondef refuses aggregates; their prosrc names the
	// transition function, which is what can change.
	return each(ctx, tx, `SELECT n.nspname, p.proname,
  CASE p.prokind WHEN 'f' THEN 'function' WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'window function' END,
  pg_get_function_identity_arguments(p.oid), coalesce(pg_get_function_result(p.oid), ''),
  md5(CASE WHEN p.prokind = 'a' THEN p.prosrc ELSE pg_get_functiondef(p.oid) END)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE `+userSchema+` AND `+notExtensionMember("pg_proc", "p.oid"), nil, func(r *sql.Rows) error {
		var f schema.Function
		err := r.Scan(&f.Schema, &f.Name, &f.Kind, &f.Args, &f.Result, &f.BodyHash)
		f.BodyHash = "md5:" + f.BodyHash
		s.Functions = append(s.Functions, f)
		return err
	})
}

func snapshotTriggers(ctx context.Context, tx *sql.Tx, s *schema.Snapshot, _ map[[2]string]*schema.Table, args []any) error {
	return each(ctx, tx, `SELECT n.nspname, c.relname, g.tgname, pg_get_triggerdef(g.oid, false)
FROM pg_trigger g
JOIN pg_class c ON c.oid = g.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT g.tgisinternal AND `+userRelation, args, func(r *sql.Rows) error {
		var t schema.Trigger
		err := r.Scan(&t.Schema, &t.Table, &t.Name, &t.Definition)
		s.Triggers = append(s.Triggers, t)
		return err
	})
}

// CreateScratch creates an empty database beside this one
// (migrate_verify_<random>) and opens it with this driver's settings. drop
// closes it and drops the database, forcing out any session left in it.
func (d *Driver) CreateScratch(ctx context.Context) (migrator.Driver, string, func(context.Context) error, error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "migrate_verify_" + hex.EncodeToString(b)
	if _, err := d.db.ExecContext(ctx, `CREATE DATABASE `+quote(name)); err != nil {
		return nil, "", nil, fmt.Errorf("creating scratch database %s: %w", name, err)
	}
	dropDB := func(ctx context.Context) error {
		if _, err := d.db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+quote(name)+` WITH (FORCE)`); err != nil {
			return fmt.Errorf("dropping scratch database %s: %w", name, err)
		}
		return nil
	}
	u := *d.cfg.URL
	u.Path, u.RawPath = "/"+name, ""
	scratch, err := migrator.Open(ctx, u.String(), d.cfg)
	if err != nil {
		if derr := dropDB(context.WithoutCancel(ctx)); derr != nil {
			return nil, "", nil, fmt.Errorf("opening scratch database %s: %w (and %v)", name, err, derr)
		}
		return nil, "", nil, fmt.Errorf("opening scratch database %s: %w", name, err)
	}
	drop := func(ctx context.Context) error {
		cerr := scratch.Close()
		if err := dropDB(ctx); err != nil {
			return err
		}
		return cerr
	}
	return scratch, name, drop, nil
}
