package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/migrate-dev/migrate/migrator"
	"github.com/migrate-dev/migrate/migrator/schema"
)

// Snapshot reads the schema from sqlite_schema and the pragma table
// functions, one query per kind of object. CHECK constraints, partial-index
// predicates and index expressions exist only in the stored CREATE text, so
// they are read from it after normalising its layout. migrate's own tables
// and SQLite's internal ones are left out.
//
// Everything the pragmas say about a table follows from its CREATE TABLE
// text and the CREATE INDEX texts on it, so a table whose texts are
// unchanged since an earlier snapshot is taken from the driver's cache and
// only changed tables are read again: verify snapshots a growing schema
// three times per migration.
func (d *Driver) Snapshot(ctx context.Context) (*schema.Snapshot, error) {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// One read transaction: every query sees the same schema.
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	s := &schema.Snapshot{}
	texts, err := d.snapshotObjects(ctx, tx, s)
	if err != nil {
		return nil, fmt.Errorf("snapshot of sqlite_schema: %w", err)
	}
	keys := texts.tableKeys()
	d.snapCache.mu.Lock()
	defer d.snapCache.mu.Unlock()
	tables := map[string]*schema.Table{}
	var changed []string
	for name, key := range keys {
		if t, ok := d.snapCache.tables[key]; ok {
			s.Tables = append(s.Tables, t)
			continue
		}
		tables[name] = &schema.Table{Name: name, Constraints: checks(schema.NormalizeSQL(texts.tables[name]))}
		changed = append(changed, literal(name))
	}
	if len(changed) > 0 {
		only := d.excluded() + ` AND m.name IN (` + strings.Join(changed, ", ") + `)`
		if err := snapshotColumns(ctx, tx, tables, only); err != nil {
			return nil, fmt.Errorf("snapshot of columns: %w", err)
		}
		if err := snapshotIndexes(ctx, tx, tables, texts.indexes, only); err != nil {
			return nil, fmt.Errorf("snapshot of indexes: %w", err)
		}
		if err := snapshotForeignKeys(ctx, tx, tables, only); err != nil {
			return nil, fmt.Errorf("snapshot of foreign keys: %w", err)
		}
	}
	if d.snapCache.tables == nil || len(d.snapCache.tables) > 10000 {
		d.snapCache.tables = map[string]schema.Table{}
	}
	for name, t := range tables {
		t.Sort()
		d.snapCache.tables[keys[name]] = *t
		s.Tables = append(s.Tables, *t)
	}
	s.Sort()
	return s, nil
}

// tableCache holds tables already read, by the texts they follow from.
type tableCache struct {
	mu     sync.Mutex
	tables map[string]schema.Table
}

// createTexts are the stored CREATE texts of tables and indexes, by name.
type createTexts struct {
	tables     map[string]string
	indexes    map[string]string
	indexTable map[string]string
}

// tableKeys returns, per table, a key that changes whenever its CREATE
// TABLE text or any CREATE INDEX text on it does.
func (c createTexts) tableKeys() map[string]string {
	onTable := map[string][]string{}
	for index, table := range c.indexTable {
		onTable[table] = append(onTable[table], index)
	}
	keys := make(map[string]string, len(c.tables))
	for name, text := range c.tables {
		var b strings.Builder
		b.WriteString(text)
		indexes := onTable[name]
		slices.Sort(indexes)
		for _, ix := range indexes {
			b.WriteString("\x00" + ix + "\x00" + c.indexes[ix])
		}
		keys[name] = b.String()
	}
	return keys
}

// excluded is the SQL condition, on sqlite_schema aliased m, that leaves
// out SQLite's internal tables and migrate's own.
func (d *Driver) excluded() string {
	return fmt.Sprintf(`m.name NOT LIKE 'sqlite\_%%' ESCAPE '\' AND m.tbl_name NOT IN (%s, %s)`, literal(d.cfg.StateTable), literal(d.cfg.HistoryTable))
}

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// snapshotObjects reads sqlite_schema: views and triggers go straight into
// s; the CREATE texts of tables and indexes are returned.
func (d *Driver) snapshotObjects(ctx context.Context, tx *sql.Tx, s *schema.Snapshot) (createTexts, error) {
	texts := createTexts{tables: map[string]string{}, indexes: map[string]string{}, indexTable: map[string]string{}}
	rows, err := tx.QueryContext(ctx, `SELECT m.type, m.name, m.tbl_name, coalesce(m.sql, '') FROM sqlite_schema m WHERE `+d.excluded())
	if err != nil {
		return texts, err
	}
	defer rows.Close()
	for rows.Next() {
		var kind, name, table, text string
		if err := rows.Scan(&kind, &name, &table, &text); err != nil {
			return texts, err
		}
		switch kind {
		case "table":
			texts.tables[name] = text
		case "index":
			texts.indexes[name] = schema.NormalizeSQL(text)
			texts.indexTable[name] = table
		case "view":
			s.Views = append(s.Views, schema.View{Name: name, Definition: viewQuery(schema.NormalizeSQL(text))})
		case "trigger":
			s.Triggers = append(s.Triggers, schema.Trigger{Table: table, Name: name, Definition: schema.NormalizeSQL(text)})
		}
	}
	return texts, rows.Err()
}

func snapshotColumns(ctx context.Context, tx *sql.Tx, tables map[string]*schema.Table, excluded string) error {
	rows, err := tx.QueryContext(ctx, `SELECT m.name, p.name, p.type, p."notnull", p.dflt_value, p.pk, p.hidden
FROM sqlite_schema m JOIN pragma_table_xinfo(m.name) p
WHERE m.type = 'table' AND `+excluded+` ORDER BY m.name, p.pk, p.cid`)
	if err != nil {
		return err
	}
	defer rows.Close()
	pk := map[string][]string{}
	for rows.Next() {
		var table, name, typ string
		var notNull bool
		var def sql.NullString
		var pkPos, hidden int
		if err := rows.Scan(&table, &name, &typ, &notNull, &def, &pkPos, &hidden); err != nil {
			return err
		}
		t := tables[table]
		if t == nil || hidden == 1 {
			// hidden 1 marks a virtual table's hidden column, not part of
			// what a migration declares.
			continue
		}
		c := schema.Column{Name: name, Type: typ, NotNull: notNull, Default: def.String}
		switch hidden {
		case 2:
			c.Generated = "VIRTUAL"
		case 3:
			c.Generated = "STORED"
		}
		t.Columns = append(t.Columns, c)
		if pkPos > 0 {
			pk[table] = append(pk[table], name)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for table, cols := range pk {
		t := tables[table]
		t.Constraints = append(t.Constraints, schema.Constraint{Kind: schema.PrimaryKey, Columns: cols})
	}
	return nil
}

func snapshotIndexes(ctx context.Context, tx *sql.Tx, tables map[string]*schema.Table, indexSQL map[string]string, excluded string) error {
	rows, err := tx.QueryContext(ctx, `SELECT m.name, l.name, l."unique", l.origin, x.cid, coalesce(x.name, ''), x."desc", coalesce(x.coll, '')
FROM sqlite_schema m JOIN pragma_index_list(m.name) l JOIN pragma_index_xinfo(l.name) x
WHERE m.type = 'table' AND `+excluded+` AND x.key = 1 AND l.origin <> 'pk'
ORDER BY m.name, l.name, x.seqno`)
	if err != nil {
		return err
	}
	defer rows.Close()
	type key struct{ table, index string }
	indexes := map[key]*schema.Index{}
	uniques := map[key]*schema.Constraint{}
	var order []key
	for rows.Next() {
		var table, index, origin, col, coll string
		var unique, desc bool
		var cid int
		if err := rows.Scan(&table, &index, &unique, &origin, &cid, &col, &desc, &coll); err != nil {
			return err
		}
		k := key{table, index}
		if origin == "u" {
			// An autoindex of a UNIQUE clause: the constraint, by columns.
			u := uniques[k]
			if u == nil {
				u = &schema.Constraint{Kind: schema.Unique}
				uniques[k] = u
				order = append(order, k)
			}
			u.Columns = append(u.Columns, col)
			continue
		}
		ix := indexes[k]
		if ix == nil {
			text := indexSQL[index]
			ix = &schema.Index{Name: index, Unique: unique, Where: indexWhere(text), Definition: text}
			indexes[k] = ix
			order = append(order, k)
		}
		c := schema.IndexColumn{Expr: col, Desc: desc}
		if cid == -2 {
			// An expression key: its text is only in the CREATE INDEX.
			if exprs := indexKeys(indexSQL[index]); len(ix.Columns) < len(exprs) {
				c.Expr = exprs[len(ix.Columns)]
			}
		}
		if !strings.EqualFold(coll, "BINARY") {
			c.Collation = coll
		}
		ix.Columns = append(ix.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, k := range order {
		t := tables[k.table]
		if t == nil {
			continue
		}
		if u := uniques[k]; u != nil {
			t.Constraints = append(t.Constraints, *u)
		} else {
			t.Indexes = append(t.Indexes, *indexes[k])
		}
	}
	return nil
}

func snapshotForeignKeys(ctx context.Context, tx *sql.Tx, tables map[string]*schema.Table, excluded string) error {
	rows, err := tx.QueryContext(ctx, `SELECT m.name, f.id, f."table", f."from", coalesce(f."to", ''), f.on_update, f.on_delete
FROM sqlite_schema m JOIN pragma_foreign_key_list(m.name) f
WHERE m.type = 'table' AND `+excluded+` ORDER BY m.name, f.id, f.seq`)
	if err != nil {
		return err
	}
	defer rows.Close()
	type key struct {
		table string
		id    int
	}
	fks := map[key]*schema.Constraint{}
	var order []key
	for rows.Next() {
		var table, ref, from, to, onUpdate, onDelete string
		var id int
		if err := rows.Scan(&table, &id, &ref, &from, &to, &onUpdate, &onDelete); err != nil {
			return err
		}
		k := key{table, id}
		fk := fks[k]
		if fk == nil {
			fk = &schema.Constraint{Kind: schema.ForeignKey, RefTable: ref, OnUpdate: action(onUpdate), OnDelete: action(onDelete)}
			fks[k] = fk
			order = append(order, k)
		}
		fk.Columns = append(fk.Columns, from)
		fk.RefColumns = append(fk.RefColumns, to)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, k := range order {
		if t := tables[k.table]; t != nil {
			t.Constraints = append(t.Constraints, *fks[k])
		}
	}
	return nil
}

func action(a string) string {
	if a == "" {
		return "NO ACTION"
	}
	return strings.ToUpper(a)
}

// CreateScratch makes an empty database in a temporary file, opened with
// this driver's settings; drop closes it and removes the file and its
// lock file.
func (d *Driver) CreateScratch(ctx context.Context) (migrator.Driver, string, func(context.Context) error, error) {
	dir, err := os.MkdirTemp("", strings.TrimSuffix(scratchPattern, "*"))
	if err != nil {
		return nil, "", nil, fmt.Errorf("creating a scratch database: %w", err)
	}
	path := filepath.Join(dir, "scratch.db")
	scratch, err := migrator.Open(ctx, "sqlite:"+path, d.cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", nil, fmt.Errorf("opening the scratch database: %w", err)
	}
	drop := func(context.Context) error {
		cerr := scratch.Close()
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("removing scratch database %s: %w", dir, err)
		}
		return cerr
	}
	return scratch, path, drop, nil
}

// scratchPattern names the folders CreateScratch makes in the system's
// temporary folder.
const scratchPattern = "migrate-verify-*"

// LeftoverScratch lists the scratch databases that earlier verify runs
// left when killed: files in a scratch folder whose lock file no process
// holds (a live verify holds it for its whole run). A folder touched in the
// last minute is left out, as a verify starting now has made its folder
// but not yet taken the lock; so is one this user cannot open.
func (d *Driver) LeftoverScratch(context.Context) ([]string, error) {
	dirs, err := filepath.Glob(filepath.Join(os.TempDir(), scratchPattern))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, dir := range dirs {
		info, err := os.Stat(dir)
		if err != nil || !info.IsDir() || time.Since(info.ModTime()) < time.Minute {
			continue
		}
		db := filepath.Join(dir, "scratch.db")
		if _, err := os.Stat(db); err != nil {
			continue
		}
		if f, err := os.OpenFile(db+".migrate-lock", os.O_RDWR, 0); err == nil {
			got, _ := tryLockFile(f)
			if got {
				_ = unlockFile(f)
			}
			f.Close()
			if !got {
				continue // a verify is running on it
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		out = append(out, db)
	}
	return out, nil
}
