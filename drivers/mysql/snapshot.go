package mysql

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/migrate-dev/migrate/drivers/sqlstore"
	"github.com/migrate-dev/migrate/migrator"
	"github.com/migrate-dev/migrate/migrator/schema"
)

// Snapshot reads the connection's database from information_schema, one
// query per kind of object, leaving out migrate's own tables. What MySQL
// and MariaDB print differently (integer display widths, quoting of
// literal defaults, CURRENT_TIMESTAMP spelling, database-qualified view
// text) is normalised, so that a snapshot does not depend on the server's
// version and snapshots of two databases compare equal.
//
// While changes are tracked (TrackChanges), only the tables the scripts run
// since the last snapshot may have changed are read again (see changes).
func (d *Driver) Snapshot(ctx context.Context) (*schema.Snapshot, error) {
	prev, ch, run := d.track.begin()
	s, next, err := d.snapshot(ctx, prev, ch)
	d.track.end(run, next)
	return s, err
}

func (d *Driver) snapshot(ctx context.Context, prev *snapCache, ch changes) (*schema.Snapshot, *snapCache, error) {
	r := &myReading{db: d.db, tables: map[string]*schema.Table{}, collations: map[string]string{}}
	if err := d.db.QueryRowContext(ctx, `SELECT DATABASE(), VERSION()`).Scan(&r.schema, &r.version); err != nil {
		return nil, nil, fmt.Errorf("snapshot: %w", err)
	}
	r.mariaDB = strings.Contains(strings.ToLower(r.version), "mariadb")
	if r.schema == d.database {
		r.own = []string{d.cfg.StateTable, d.cfg.HistoryTable}
	}
	r.s = &schema.Snapshot{DefaultSchema: r.schema}
	if err := r.tableList(ctx); err != nil {
		return nil, nil, fmt.Errorf("snapshot of tables: %w", err)
	}
	if prev != nil && (ch.all || prev.schema != r.schema) {
		prev = nil
	}
	kept := prev.keep(r, ch)
	for _, part := range []struct {
		what string
		read func(context.Context) error
		// reuse, when set, takes the part from prev instead.
		reuse func() bool
	}{
		{"columns", r.columns, r.noTables},
		{"indexes", r.indexes, r.noTables},
		{"foreign keys", r.foreignKeys, r.noTables},
		{"check constraints", r.checks, r.noTables},
		{"views", r.views, func() bool { return prev.objectsKept(ch) && keepAll(&r.s.Views, prev.views) }},
		{"sequences", r.sequences, nil},
		{"routines", r.routines, func() bool { return prev.objectsKept(ch) && keepAll(&r.s.Functions, prev.functions) }},
		{"triggers", r.triggers, func() bool { return prev.triggersKept(ch) && keepAll(&r.s.Triggers, prev.triggers) }},
	} {
		if part.reuse != nil && part.reuse() {
			continue
		}
		if err := part.read(ctx); err != nil {
			return nil, nil, fmt.Errorf("snapshot of %s: %w", part.what, err)
		}
	}
	next := &snapCache{schema: r.schema, tables: make(map[string]cachedTable, len(r.collations))}
	for name, t := range kept {
		next.tables[name] = t
		r.s.Tables = append(r.s.Tables, t.table)
	}
	for name, t := range r.tables {
		// Sorted once here, so that the snapshots sharing it never sort it.
		t.Sort()
		next.tables[name] = cachedTable{table: *t, collation: r.collations[name]}
		r.s.Tables = append(r.s.Tables, *t)
	}
	next.views, next.functions, next.triggers = slices.Clone(r.s.Views), slices.Clone(r.s.Functions), slices.Clone(r.s.Triggers)
	r.s.Sort()
	return r.s, next, nil
}

// myReading is one snapshot being read; tables are kept by name so that
// keys and constraints can be hung on them as their rows come.
type myReading struct {
	db      *sql.DB
	schema  string
	version string
	mariaDB bool
	// own are migrate's tables, when they live in the database read.
	own []string
	s   *schema.Snapshot
	// tables are the tables to read, the others are kept from the last
	// snapshot; names is the filter on them for the queries, "" for all.
	tables        map[string]*schema.Table
	names         string
	sequenceNames []string
	// hasViews says the table list named a view: without one, the VIEWS
	// query, which makes the server open every table, is not run.
	hasViews bool
	// collations are the tables' default collations: a column's own is
	// part of its type only where it differs, so that two databases with
	// different defaults compare equal.
	collations map[string]string
}

// each runs q with the database name for every placeholder and calls scan
// for every row. Rows of tables not read (views', sequences', migrate's
// own) are the scan's to skip.
//
// The name goes in as a hex literal, not a parameter: with parameters the
// driver prepares, executes and closes a server-side statement, two round
// trips and a prepare for each of a snapshot's queries, three snapshots
// per migration in verify. A hex literal needs no escaping, whatever the
// server's sql_mode, and MariaDB still looks up only that database.
func (r *myReading) each(ctx context.Context, q string, scan func(*sql.Rows) error) error {
	rows, err := r.db.QueryContext(ctx, strings.ReplaceAll(q, "?", hexLiteral(r.schema)))
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

func hexLiteral(s string) string { return "_utf8mb4 X'" + hex.EncodeToString([]byte(s)) + "'" }

// noTables says no table needs reading: the per-table parts are skipped.
func (r *myReading) noTables() bool { return len(r.tables) == 0 }

// onlyTables is the condition on column of a per-table query that keeps
// it to the tables being read, or "" when all are; MariaDB then opens
// only those tables.
func (r *myReading) onlyTables(column string) string {
	if r.names == "" {
		return ""
	}
	return " AND " + column + " IN (" + r.names + ")"
}

func literal(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}

// tableList reads the tables and MariaDB's sequences, which are tables
// too, in one query.
func (r *myReading) tableList(ctx context.Context) error {
	return r.each(ctx, `SELECT TABLE_NAME, TABLE_TYPE, coalesce(TABLE_COLLATION, '') FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?`, func(row *sql.Rows) error {
		var name, kind, collation string
		if err := row.Scan(&name, &kind, &collation); err != nil {
			return err
		}
		switch {
		case kind == "VIEW":
			r.hasViews = true
		case kind == "SEQUENCE":
			r.sequenceNames = append(r.sequenceNames, name)
		case (kind == "BASE TABLE" || kind == "SYSTEM VERSIONED") && !slices.Contains(r.own, name):
			r.collations[name] = collation
		}
		return nil
	})
}

// columns, like every query here, reads one information_schema table:
// MariaDB fills a joined one for every database on the server, which
// costs tenths of a second.
func (r *myReading) columns(ctx context.Context) error {
	return r.each(ctx, `SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE = 'YES', COLUMN_DEFAULT, EXTRA, coalesce(GENERATION_EXPRESSION, ''),
  coalesce(COLLATION_NAME, '')
FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?`+r.onlyTables("TABLE_NAME"), func(row *sql.Rows) error {
		var table, name, typ, extra, generated, collation string
		var def sql.NullString
		var nullable bool
		if err := row.Scan(&table, &name, &typ, &nullable, &def, &extra, &generated, &collation); err != nil {
			return err
		}
		// Views' and MariaDB sequences' columns are not a table's.
		t := r.tables[table]
		if t == nil {
			return nil
		}
		col := schema.Column{Name: name, Type: columnType(typ), NotNull: !nullable}
		if collation != "" && collation != r.collations[table] {
			col.Type += " COLLATE " + collation
		}
		ex := strings.ToLower(extra)
		switch {
		case strings.Contains(ex, "generated") && generated != "" && !strings.Contains(ex, "default_generated"):
			kind := "VIRTUAL"
			if strings.Contains(ex, "stored") {
				kind = "STORED"
			}
			col.Generated = kind + " " + generated
		default:
			col.Default = r.columnDefault(typ, def, ex)
		}
		if strings.Contains(ex, "auto_increment") {
			// AUTO_INCREMENT is MySQL's identity: a value is generated
			// unless one is given.
			col.Identity = "BY DEFAULT"
		}
		if i := strings.Index(ex, "on update "); i >= 0 {
			col.Default += " ON UPDATE " + currentTimestamp(ex[i+len("on update "):])
			col.Default = strings.TrimSpace(col.Default)
		}
		t.Columns = append(t.Columns, col)
		return nil
	})
}

// displayWidth is an integer type's display width, which MySQL 8.0.19
// stopped printing (but for tinyint(1), the boolean spelling) and MariaDB
// still prints; it never changes what a column holds.
var displayWidth = regexp.MustCompile(`^(tinyint|smallint|mediumint|int|bigint)\(\d+\)`)

// columnType drops integer display widths, except with ZEROFILL (where
// the width pads) and for tinyint(1), which every version keeps.
func columnType(t string) string {
	if strings.Contains(t, "zerofill") {
		return t
	}
	return displayWidth.ReplaceAllStringFunc(t, func(m string) string {
		if m == "tinyint(1)" {
			return m
		}
		return m[:strings.IndexByte(m, '(')]
	})
}

// currentTimestamp spells CURRENT_TIMESTAMP the MariaDB way, with
// parentheses and in lower case; MySQL writes CURRENT_TIMESTAMP or
// CURRENT_TIMESTAMP(6).
var currentTimestampRe = regexp.MustCompile(`(?i)^current_timestamp(\(\d*\))?$`)

func currentTimestamp(s string) string {
	s = strings.TrimSpace(s)
	m := currentTimestampRe.FindStringSubmatch(s)
	if m == nil {
		return s
	}
	if m[1] == "" {
		return "current_timestamp()"
	}
	return "current_timestamp" + m[1]
}

// unquotedDefault are the types whose literal defaults both servers print
// bare: numbers and bit values.
var unquotedDefault = regexp.MustCompile(`^(tinyint|smallint|mediumint|int|bigint|decimal|numeric|float|double|real|bit|year)\b`)

// columnDefault is the default as MariaDB (10.2.7+) prints it: literals
// quoted, expressions bare, and nothing for no default or DEFAULT NULL.
// MySQL prints literals bare and marks expressions DEFAULT_GENERATED.
func (r *myReading) columnDefault(typ string, def sql.NullString, extra string) string {
	if !def.Valid {
		return ""
	}
	if r.mariaDB {
		if def.String == "NULL" {
			return ""
		}
		return currentTimestamp(def.String)
	}
	if strings.Contains(extra, "default_generated") {
		return currentTimestamp(def.String)
	}
	if unquotedDefault.MatchString(typ) {
		return def.String
	}
	return "'" + strings.ReplaceAll(def.String, "'", "''") + "'"
}

func (r *myReading) indexes(ctx context.Context) error {
	// MySQL 8 lists functional key parts in EXPRESSION; MariaDB has none.
	expression := "NULL"
	if !r.mariaDB {
		expression = "s.EXPRESSION"
	}
	return r.each(ctx, `SELECT s.TABLE_NAME, s.INDEX_NAME, s.NON_UNIQUE = 0, s.COLUMN_NAME, `+expression+`, s.SUB_PART, s.COLLATION, s.INDEX_TYPE
FROM information_schema.STATISTICS s
WHERE s.TABLE_SCHEMA = ?`+r.onlyTables("s.TABLE_NAME")+`
ORDER BY s.TABLE_NAME, s.INDEX_NAME, s.SEQ_IN_INDEX`, func(row *sql.Rows) error {
		var table, name, method string
		var unique bool
		var column, expr, collation sql.NullString
		var subPart sql.NullInt64
		if err := row.Scan(&table, &name, &unique, &column, &expr, &subPart, &collation, &method); err != nil {
			return err
		}
		t := r.tables[table]
		if t == nil {
			return nil
		}
		key := column.String
		if expr.Valid && expr.String != "" {
			key = expr.String
		}
		if subPart.Valid {
			key += "(" + strconv.FormatInt(subPart.Int64, 10) + ")"
		}
		if name == "PRIMARY" {
			if n := len(t.Constraints); n > 0 && t.Constraints[n-1].Kind == schema.PrimaryKey {
				t.Constraints[n-1].Columns = append(t.Constraints[n-1].Columns, key)
			} else {
				t.Constraints = append(t.Constraints, schema.Constraint{Kind: schema.PrimaryKey, Name: name, Columns: []string{key}})
			}
			return nil
		}
		// A unique key and a unique index are one thing in MySQL, so both
		// are indexes here. So is the index InnoDB adds for a foreign key
		// that has none: it outlives a dropped key, so it is part of the
		// schema a down script must restore.
		if n := len(t.Indexes); n == 0 || t.Indexes[n-1].Name != name {
			t.Indexes = append(t.Indexes, schema.Index{Name: name, Unique: unique, Definition: "USING " + method})
		}
		ix := &t.Indexes[len(t.Indexes)-1]
		ix.Columns = append(ix.Columns, schema.IndexColumn{Expr: key, Desc: collation.String == "D"})
		return nil
	})
}

func (r *myReading) foreignKeys(ctx context.Context) error {
	// Two queries, not a join: see columns.
	type rules struct{ onDelete, onUpdate string }
	ruleOf := map[string]rules{}
	if err := r.each(ctx, `SELECT TABLE_NAME, CONSTRAINT_NAME, DELETE_RULE, UPDATE_RULE
FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ?`+r.onlyTables("TABLE_NAME"), func(row *sql.Rows) error {
		var table, name string
		var x rules
		err := row.Scan(&table, &name, &x.onDelete, &x.onUpdate)
		ruleOf[table+"\x00"+name] = x
		return err
	}); err != nil {
		return err
	}
	return r.each(ctx, `SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
FROM information_schema.KEY_COLUMN_USAGE
WHERE TABLE_SCHEMA = ? AND REFERENCED_TABLE_NAME IS NOT NULL`+r.onlyTables("TABLE_NAME")+`
ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION`, func(row *sql.Rows) error {
		var table, name, column, refSchema, refTable, refColumn string
		if err := row.Scan(&table, &name, &column, &refSchema, &refTable, &refColumn); err != nil {
			return err
		}
		onDelete, onUpdate := ruleOf[table+"\x00"+name].onDelete, ruleOf[table+"\x00"+name].onUpdate
		t := r.tables[table]
		if t == nil {
			return nil
		}
		if n := len(t.Constraints); n > 0 && t.Constraints[n-1].Kind == schema.ForeignKey && t.Constraints[n-1].Name == name {
			c := &t.Constraints[n-1]
			c.Columns = append(c.Columns, column)
			c.RefColumns = append(c.RefColumns, refColumn)
			return nil
		}
		if refSchema != r.schema {
			refTable = refSchema + "." + refTable
		}
		t.Constraints = append(t.Constraints, schema.Constraint{
			Kind: schema.ForeignKey, Name: name, Columns: []string{column},
			RefTable: refTable, RefColumns: []string{refColumn}, OnDelete: onDelete, OnUpdate: onUpdate,
		})
		return nil
	})
}

func (r *myReading) checks(ctx context.Context) error {
	// MariaDB's CHECK_CONSTRAINTS names the table (check names are per
	// table there); MySQL's does not, but its check names are unique in
	// the database, so TABLE_CONSTRAINTS supplies the table.
	q := `SELECT c.TABLE_NAME, c.CONSTRAINT_NAME, c.CHECK_CLAUSE
FROM information_schema.CHECK_CONSTRAINTS c
WHERE c.CONSTRAINT_SCHEMA = ?` + r.onlyTables("c.TABLE_NAME")
	if !r.mariaDB {
		q = `SELECT t.TABLE_NAME, c.CONSTRAINT_NAME, c.CHECK_CLAUSE
FROM information_schema.CHECK_CONSTRAINTS c
JOIN information_schema.TABLE_CONSTRAINTS t
  ON t.CONSTRAINT_SCHEMA = ? AND t.CONSTRAINT_NAME = c.CONSTRAINT_NAME AND t.CONSTRAINT_TYPE = 'CHECK'
WHERE c.CONSTRAINT_SCHEMA = ?` + r.onlyTables("t.TABLE_NAME")
	}
	return r.each(ctx, q, func(row *sql.Rows) error {
		var table string
		con := schema.Constraint{Kind: schema.Check}
		if err := row.Scan(&table, &con.Name, &con.Expr); err != nil {
			return err
		}
		if t := r.tables[table]; t != nil {
			t.Constraints = append(t.Constraints, con)
		}
		return nil
	})
}

func (r *myReading) views(ctx context.Context) error {
	// Both servers store the query with every name qualified by the
	// database; without the qualifier, the same view in two databases
	// reads the same.
	if !r.hasViews {
		return nil
	}
	qualifier := quote(r.schema) + "."
	return r.each(ctx, `SELECT TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?`, func(row *sql.Rows) error {
		var v schema.View
		var check string
		if err := row.Scan(&v.Name, &v.Definition, &check); err != nil {
			return err
		}
		v.Definition = schema.NormalizeSQL(strings.ReplaceAll(v.Definition, qualifier, ""))
		if check != "" && check != "NONE" {
			v.Definition += " WITH " + check + " CHECK OPTION"
		}
		r.s.Views = append(r.s.Views, v)
		return nil
	})
}

// sequences lists MariaDB's sequences, which are tables of one row
// holding their settings: one UNION query reads them all.
func (r *myReading) sequences(ctx context.Context) error {
	names := r.sequenceNames
	if len(names) == 0 {
		return nil
	}
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = `SELECT ` + literal(n) + `, start_value, minimum_value, maximum_value, increment, cache_size, cycle_option FROM ` + quote(r.schema) + `.` + quote(n)
	}
	rows, err := r.db.QueryContext(ctx, strings.Join(parts, " UNION ALL "))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var q schema.Sequence
		var start, minimum, maximum, increment, cache int64
		var cycle bool
		if err := rows.Scan(&q.Name, &start, &minimum, &maximum, &increment, &cache, &cycle); err != nil {
			return err
		}
		q.Definition = fmt.Sprintf("start %d increment %d min %d max %d cache %d", start, increment, minimum, maximum, cache)
		if cycle {
			q.Definition += " cycle"
		}
		r.s.Sequences = append(r.s.Sequences, q)
	}
	return rows.Err()
}

func (r *myReading) routines(ctx context.Context) error {
	args := map[string][]string{}
	if err := r.each(ctx, `SELECT ROUTINE_TYPE, SPECIFIC_NAME, coalesce(PARAMETER_MODE, ''), PARAMETER_NAME, DTD_IDENTIFIER
FROM information_schema.PARAMETERS
WHERE SPECIFIC_SCHEMA = ? AND ORDINAL_POSITION > 0
ORDER BY ROUTINE_TYPE, SPECIFIC_NAME, ORDINAL_POSITION`, func(row *sql.Rows) error {
		var kind, routine, mode, name, typ string
		if err := row.Scan(&kind, &routine, &mode, &name, &typ); err != nil {
			return err
		}
		arg := name + " " + columnType(typ)
		if kind == "PROCEDURE" {
			arg = mode + " " + arg
		}
		args[kind+"\x00"+routine] = append(args[kind+"\x00"+routine], arg)
		return nil
	}); err != nil {
		return err
	}
	// The characteristics (DETERMINISTIC, SQL SECURITY, data access) are
	// hashed with the body: changing any is a new definition.
	return r.each(ctx, `SELECT ROUTINE_TYPE, SPECIFIC_NAME, coalesce(DTD_IDENTIFIER, ''),
  md5(concat_ws('|', coalesce(ROUTINE_DEFINITION, ''), IS_DETERMINISTIC, SQL_DATA_ACCESS, SECURITY_TYPE))
FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?`, func(row *sql.Rows) error {
		var kind string
		var f schema.Function
		if err := row.Scan(&kind, &f.Name, &f.Result, &f.BodyHash); err != nil {
			return err
		}
		f.Kind = strings.ToLower(kind)
		f.Args = strings.Join(args[kind+"\x00"+f.Name], ", ")
		f.Result = columnType(f.Result)
		f.BodyHash = "md5:" + f.BodyHash
		r.s.Functions = append(r.s.Functions, f)
		return nil
	})
}

// triggers filters on the schema of the triggers' tables, which is theirs
// too: MariaDB looks up only that database's tables by EVENT_OBJECT_SCHEMA,
// while a filter on TRIGGER_SCHEMA made it open every table on the server
// (EXPLAIN: "Scanned all databases"), the costliest query of a snapshot.
func (r *myReading) triggers(ctx context.Context) error {
	return r.each(ctx, `SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER, md5(ACTION_STATEMENT)
FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ?`, func(row *sql.Rows) error {
		var t schema.Trigger
		var timing, event, hash string
		var order int
		if err := row.Scan(&t.Table, &t.Name, &timing, &event, &order, &hash); err != nil {
			return err
		}
		// ACTION_ORDER ranks triggers of one timing and event: which of
		// them runs first is part of the schema.
		t.Definition = fmt.Sprintf("%s %s FOR EACH ROW (order %d) [body md5:%s]", timing, event, order, hash)
		r.s.Triggers = append(r.s.Triggers, t)
		return nil
	})
}

// CreateScratch creates an empty database beside this one
// (migrate_verify_<random>) on the same server and opens it with this
// driver's settings, migrate's tables included. drop closes it and drops
// the database.
func (d *Driver) CreateScratch(ctx context.Context) (migrator.Driver, string, func(context.Context) error, error) {
	cfg := d.cfg
	// A database set aside for migrate's tables belongs to the real
	// project: the scratch run keeps its bookkeeping in the scratch.
	cfg.Schema = ""
	return migrator.ScratchOnServer(ctx, d.db, *d.cfg.URL, cfg,
		func(name string) string { return `CREATE DATABASE ` + quote(name) + ` CHARACTER SET utf8mb4` },
		func(name string) string { return `DROP DATABASE IF EXISTS ` + quote(name) })
}

// LeftoverScratch lists the scratch databases of earlier verify runs that
// no session of the process list has as its database: those of a run that
// was killed or cut off before it could drop them. Without the PROCESS
// privilege the list shows only this user's sessions, so a run of
// another user's may be named too.
func (d *Driver) LeftoverScratch(ctx context.Context) ([]string, error) {
	return sqlstore.QueryColumn[string](ctx, d.db, `SELECT SCHEMA_NAME FROM information_schema.SCHEMATA
WHERE SCHEMA_NAME LIKE 'migrate\_verify\_%'
  AND SCHEMA_NAME NOT IN (SELECT DB FROM information_schema.PROCESSLIST WHERE DB IS NOT NULL)
ORDER BY 1`)
}
