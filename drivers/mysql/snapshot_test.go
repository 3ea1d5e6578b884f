package mysql

import (
	"context"
	"strings"
	"testing"

	"github.com/migrate-dev/migrate/internal/testdb"
	"github.com/migrate-dev/migrate/migrator"
	"github.com/migrate-dev/migrate/migrator/schema"
)

func TestColumnTypeDropsDisplayWidths(t *testing.T) {
	for in, want := range map[string]string{
		"int(11)":                      "int",
		"bigint(20) unsigned":          "bigint unsigned",
		"tinyint(1)":                   "tinyint(1)",
		"tinyint(4)":                   "tinyint",
		"bigint(20) unsigned zerofill": "bigint(20) unsigned zerofill",
		"varchar(11)":                  "varchar(11)",
		"decimal(10,2)":                "decimal(10,2)",
		"enum('int(3)','b')":           "enum('int(3)','b')",
	} {
		if got := columnType(in); got != want {
			t.Errorf("columnType(%q) = %q, want %q", in, got, want)
		}
	}
	if got := currentTimestamp("CURRENT_TIMESTAMP"); got != "current_timestamp()" {
		t.Errorf("MySQL's CURRENT_TIMESTAMP reads %q", got)
	}
	if got := currentTimestamp("CURRENT_TIMESTAMP(6)"); got != "current_timestamp(6)" {
		t.Errorf("MySQL's CURRENT_TIMESTAMP(6) reads %q", got)
	}
}

// snapshotOf builds script in a fresh database and snapshots it.
func snapshotOf(t *testing.T, statements ...string) (*Driver, *schema.Snapshot) {
	t.Helper()
	d := open(t, testdb.MySQL(t), migrator.Config{})
	ctx := context.Background()
	for _, q := range statements {
		if _, err := d.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s, err := d.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return d, s
}

// TestSnapshotsOfTwoDatabasesCompareEqual builds one schema in two
// databases: the view text, which the server qualifies with the
// database's name, and everything else must read the same.
func TestSnapshotsOfTwoDatabasesCompareEqual(t *testing.T) {
	script := []string{
		"CREATE TABLE p (id INT NOT NULL PRIMARY KEY, code VARCHAR(10) NOT NULL, tag VARCHAR(10) COLLATE utf8mb4_bin, UNIQUE KEY p_code (code(4)))",
		"CREATE TABLE c (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, p_id INT, note VARCHAR(20) DEFAULT NULL, word VARCHAR(20) DEFAULT 'NULL', n INT DEFAULT 0, CONSTRAINT c_p_fk FOREIGN KEY (p_id) REFERENCES p (id) ON UPDATE CASCADE)",
		"CREATE VIEW v AS SELECT c.id, p.code FROM c JOIN p ON p.id = c.p_id",
		"CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2",
		"CREATE TRIGGER c_bi BEFORE INSERT ON c FOR EACH ROW SET NEW.n = twice(NEW.n)",
	}
	_, a := snapshotOf(t, script...)
	d, b := snapshotOf(t, script...)
	if diff := schema.Diff(a, b); len(diff) != 0 {
		t.Fatalf("one schema in two databases differs: %v\n%s\n---\n%s", diff, a, b)
	}
	text := a.String()
	for _, want := range []string{
		"column note varchar(20) NULL\n", "column code varchar(10) NOT NULL\n", "column tag varchar(10) COLLATE utf8mb4_bin NULL", "column word varchar(20) NULL DEFAULT 'NULL'", "column n int NULL DEFAULT 0",
		"index p_code UNIQUE (code(4))", "foreign key c_p_fk (p_id) -> p (id) ON DELETE RESTRICT ON UPDATE CASCADE",
		"index c_p_fk (p_id)", "function twice(x int) returns int [body md5:", "trigger c_bi on c: BEFORE INSERT",
		"view v AS select `c`.`id` AS `id`",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("snapshot lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, d.database) {
		t.Errorf("snapshot names its database %s:\n%s", d.database, text)
	}
	// A routine whose body changes is named by the diff.
	if _, err := d.db.Exec("DROP FUNCTION twice"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.db.Exec("CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x + x"); err != nil {
		t.Fatal(err)
	}
	c, err := d.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	diff := schema.Diff(a, c)
	if len(diff) != 1 || diff[0].Object != "function twice(x int)" || !strings.HasPrefix(diff[0].Change, "body md5:") {
		t.Fatalf("changed body: %v", diff)
	}
}

func TestSnapshotSequenceOnMariaDB(t *testing.T) {
	d, s := snapshotOf(t)
	var version string
	if err := d.db.QueryRow("SELECT VERSION()").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(version, "MariaDB") {
		t.Skipf("sequences are MariaDB's; this server is %s", version)
	}
	if len(s.Sequences) != 0 {
		t.Fatalf("sequences in an empty database: %+v", s.Sequences)
	}
	if _, err := d.db.Exec("CREATE SEQUENCE s START WITH 10 INCREMENT BY 5"); err != nil {
		t.Fatal(err)
	}
	// Using the sequence moves its value, not its definition.
	if _, err := d.db.Exec("SELECT NEXTVAL(s)"); err != nil {
		t.Fatal(err)
	}
	after, err := d.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Tables) != 0 {
		t.Fatalf("the sequence shows as a table: %s", after)
	}
	diff := schema.Diff(s, after)
	if len(diff) != 1 || diff[0].Object != "sequence s" || diff[0].Change != schema.Extra || !strings.HasPrefix(diff[0].Detail, "start 10 increment 5 ") {
		t.Fatalf("a new sequence: %v", diff)
	}
}

// TestSnapshotLeavesOutMigrateTables checks migrate's own tables are left
// out under their configured names.
func TestSnapshotLeavesOutMigrateTables(t *testing.T) {
	d := open(t, testdb.MySQL(t), migrator.Config{StateTable: "my_state", HistoryTable: "my_history"})
	ctx := context.Background()
	if err := d.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := d.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Tables) != 0 {
		t.Fatalf("snapshot shows migrate's tables: %s", s)
	}
}
