package mysql

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/migrate-dev/migrate/internal/testdb"
	"github.com/migrate-dev/migrate/migrator"
	"github.com/migrate-dev/migrate/migrator/schema"
)

func TestNoteChanges(t *testing.T) {
	const all = "ALL"
	for stmt, want := range map[string]string{
		"INSERT INTO t VALUES (1)":                         "",
		"  -- a comment\n/* another */ UPDATE t SET a = 1": "",
		"SET foreign_key_checks = 0":                       "",
		"BEGIN":                                            "",
		"SELECT twice(2)":                                  "",
		"CREATE TABLE t (id INT)":                          "t",
		"create or replace temporary table if not exists `T``x` (id int)": "t`x",
		"CREATE TABLE db.t (id INT)":                                      "t",
		"CREATE TABLE other.t (id INT)":                                   all,
		"CREATE TABLE `other`.`t` LIKE db.s":                              all,
		"ALTER ONLINE IGNORE TABLE t ADD COLUMN b INT":                    "t",
		"ALTER TABLE t RENAME TO u":                                       "t",
		"DROP TABLE IF EXISTS a, `b`, db.c CASCADE":                       "a b c",
		"DROP TEMPORARY TABLE a":                                          "a",
		"CREATE UNIQUE INDEX IF NOT EXISTS i USING BTREE ON t (a)":        "t",
		"CREATE INDEX `on` ON `t` (a)":                                    "t",
		"DROP INDEX IF EXISTS i ON db.t":                                  "t",
		"DROP INDEX i":                                                    all,
		"RENAME TABLE a TO b, c WAIT 3 TO d":                              "a b c d",
		"TRUNCATE t":                                                      "t",
		"CREATE VIEW v AS SELECT 1":                                       "objects",
		"CREATE OR REPLACE ALGORITHM = MERGE DEFINER = `root`@`%` SQL SECURITY INVOKER VIEW v AS SELECT 1": "objects",
		"CREATE DEFINER='view'@'localhost' TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1":       "objects",
		"DROP PROCEDURE IF EXISTS p": "objects",
		"CREATE SEQUENCE s":          "objects",
		"CREATE USER 'view'@'%'":     all,
		"CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO ALTER TABLE t ADD b INT": all,
		"CREATE DATABASE x":                        all,
		"ALTER DATABASE db CHARACTER SET latin1":   all,
		"CALL p()":                                 all,
		"EXECUTE s":                                all,
		"PREPARE s FROM 'ALTER TABLE t ADD b INT'": all,
		"SET STATEMENT max_statement_time = 1 FOR ALTER TABLE t ADD b INT": all,
		"BEGIN NOT ATOMIC ALTER TABLE t ADD b INT; END":                    all,
		"USE other":                                all,
		"/*!50001 CREATE TABLE t (id INT) */":      all,
		"CREATE TABLE /*M!100100 x, */ t (id INT)": all,
		`CREATE TABLE "t" (id INT)`:                all,
		"(SELECT 1)":                               all,
		"":                                         all,
	} {
		var c changes
		c.note(stmt, "db")
		got := strings.Join(slices.Sorted(maps.Keys(c.tables)), " ")
		switch {
		case c.all:
			got = all
		case c.objects:
			got = strings.TrimSpace("objects " + got)
		}
		if got != want {
			t.Errorf("%q touches %q, want %q", stmt, got, want)
		}
	}
}

// TestKeepReadsWhatCanHaveChanged: a named table, tables whose foreign
// keys reference it, new tables and tables whose collation changed are
// read again; the others are kept.
func TestKeepReadsWhatCanHaveChanged(t *testing.T) {
	table := func(name, ref string) cachedTable {
		ct := cachedTable{table: schema.Table{Name: name}, collation: "utf8mb4_general_ci"}
		if ref != "" {
			ct.table.Constraints = []schema.Constraint{{Kind: schema.ForeignKey, Name: name + "_fk", RefTable: ref}}
		}
		return ct
	}
	last := &snapCache{tables: map[string]cachedTable{
		"P": table("P", ""), "child": table("child", "P"), "far": table("far", "other.P"),
		"same": table("same", ""), "recoded": table("recoded", ""),
	}}
	r := &myReading{tables: map[string]*schema.Table{}, collations: map[string]string{
		"P": "utf8mb4_general_ci", "child": "utf8mb4_general_ci", "far": "utf8mb4_general_ci",
		"same": "utf8mb4_general_ci", "recoded": "latin1_swedish_ci", "new": "utf8mb4_general_ci",
	}}
	var ch changes
	ch.touch("p")
	kept := last.keep(r, ch)
	if got := strings.Join(slices.Sorted(maps.Keys(r.tables)), " "); got != "P child new recoded" {
		t.Errorf("read again: %s", got)
	}
	if got := strings.Join(slices.Sorted(maps.Keys(kept)), " "); got != "far same" {
		t.Errorf("kept: %s", got)
	}
	if r.names == "" || strings.Count(r.names, "X'") != 4 {
		t.Errorf("the queries name %q", r.names)
	}
	r = &myReading{tables: map[string]*schema.Table{}, collations: r.collations}
	if kept := (*snapCache)(nil).keep(r, changes{}); len(kept) != 0 || len(r.tables) != 6 || r.names != "" {
		t.Errorf("without a last snapshot, everything is read, unfiltered: kept %v, read %d, names %q", kept, len(r.tables), r.names)
	}
}

// TestTrackedSnapshotsMatchFullOnes applies migrations that change tables
// without naming them (a renamed referenced column or table rewrites the
// foreign key; a dropped or renamed table drops or moves its triggers) and
// after each up and down compares the tracked snapshot with one that reads
// everything.
func TestTrackedSnapshotsMatchFullOnes(t *testing.T) {
	d := open(t, testdb.MySQL(t), migrator.Config{})
	ctx := context.Background()
	db := d.urlDatabase
	steps := [][2]string{
		{`CREATE TABLE p (id INT PRIMARY KEY, code VARCHAR(10));
CREATE TABLE c (id INT PRIMARY KEY, p_id INT, note VARCHAR(20), CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id));
CREATE TABLE lone (id INT PRIMARY KEY);
CREATE TRIGGER c_bi BEFORE INSERT ON c FOR EACH ROW SET NEW.note = 'x';
CREATE VIEW v AS SELECT id FROM p;
CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;`,
			`DROP FUNCTION twice; DROP VIEW v; DROP TABLE c; DROP TABLE p; DROP TABLE lone;`},
		{`ALTER TABLE p RENAME COLUMN id TO pid;`, `ALTER TABLE p RENAME COLUMN pid TO id;`},
		{`RENAME TABLE p TO p2;`, `RENAME TABLE p2 TO p;`},
		{`ALTER TABLE c RENAME TO c2;`, `ALTER TABLE c2 RENAME TO c;`},
		// From here on p is p2, with pid, and c is c2.
		{`INSERT INTO p2 VALUES (1, 'a'); SET @x = 1;`, `DELETE FROM p2;`},
		{`ALTER TABLE c2 ALTER COLUMN note SET DEFAULT 'n', ADD CONSTRAINT c_note CHECK (note <> '');`, `ALTER TABLE c2 ALTER COLUMN note DROP DEFAULT, DROP CONSTRAINT c_note;`},
		{`CREATE INDEX c_note_idx ON c2 (note);`, `DROP INDEX c_note_idx ON c2;`},
		{`CREATE OR REPLACE VIEW v AS SELECT pid, code FROM p2;`, `CREATE OR REPLACE VIEW v AS SELECT pid FROM p2;`},
		{`CREATE TABLE gone (id INT PRIMARY KEY);
CREATE TRIGGER gone_bi BEFORE INSERT ON gone FOR EACH ROW SET NEW.id = NEW.id + 1;`, `DROP TABLE gone;`},
		{`ALTER TABLE ` + "`" + db + "`" + `.lone ADD COLUMN a INT;`, `ALTER TABLE lone DROP COLUMN a;`},
		{`PREPARE s FROM 'ALTER TABLE lone ADD COLUMN b INT'; EXECUTE s; DEALLOCATE PREPARE s;`, `ALTER TABLE lone DROP COLUMN b;`},
	}
	fsys := fstest.MapFS{}
	for i, s := range steps {
		fsys[fmt.Sprintf("%04d_s.up.sql", i+1)] = &fstest.MapFile{Data: []byte(s[0])}
		fsys[fmt.Sprintf("%04d_s.down.sql", i+1)] = &fstest.MapFile{Data: []byte(s[1])}
	}
	src, err := migrator.Load(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	m := migrator.New(d, src, migrator.Options{AllowDataLoss: true})
	stop := d.TrackChanges()
	defer stop()
	check := func(when string) {
		t.Helper()
		tracked, err := d.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		full, _, err := d.snapshot(ctx, nil, changes{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := schema.Diff(full, tracked); len(diff) != 0 || full.String() != tracked.String() {
			t.Fatalf("%s: the tracked snapshot differs from a full one: %v\n%s\n---\n%s", when, diff, full, tracked)
		}
	}
	check("before")
	for i := range steps {
		if _, err := m.Up(ctx, 1); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("after up of %d", i+1))
		if i == 0 {
			continue
		}
		if _, err := m.Down(ctx, 1); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("after down of %d", i+1))
		if _, err := m.Up(ctx, 1); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("after up again of %d", i+1))
	}
}
