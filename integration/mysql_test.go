package integration

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/migrate-dev/migrate/internal/testdb"
	"github.com/migrate-dev/migrate/migrator"

	_ "github.com/migrate-dev/migrate/drivers/mysql"
)

func init() {
	targets = append(targets, target{name: "mysql", url: testdb.MySQL, examples: "mysql", transactionalDDL: false})
}

func (e *env) exec(q string, args ...any) {
	e.t.Helper()
	if _, err := e.db().ExecContext(context.Background(), q, args...); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.db().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// realWorldSet is what people write for MySQL: a trigger written without
// DELIMITER, a procedure between DELIMITER lines, strings holding ';' and
// both kinds of quote escape, backticked names and # comments.
var realWorldSet = map[string]string{
	"0001_accounts.up.sql": "# Accounts and their audit trail.\n" + `CREATE TABLE accounts (
    id            INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    ` + "`owner name`" + ` VARCHAR(100) NOT NULL,
    balance_cents BIGINT NOT NULL DEFAULT 0,
    updates       INT NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE audit_log (
    id         INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account_id INT NOT NULL,
    note       VARCHAR(200) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- A trigger body without DELIMITER: the splitter keeps BEGIN ... END whole.
CREATE TRIGGER accounts_bu BEFORE UPDATE ON accounts FOR EACH ROW
BEGIN
    SET NEW.updates = OLD.updates + 1;
    IF NEW.balance_cents < 0 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'balance; cannot go negative';
    END IF;
END;

DELIMITER //
CREATE PROCEDURE transfer(IN from_id INT, IN to_id INT, IN cents BIGINT)
BEGIN
    DECLARE tries INT DEFAULT 0;
    CASE
        WHEN cents <= 0 THEN
            SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'amount must be positive';
        ELSE
            UPDATE accounts SET balance_cents = balance_cents - cents WHERE id = from_id;
            UPDATE accounts SET balance_cents = balance_cents + cents WHERE id = to_id;
    END CASE;
    WHILE tries < 2 DO
        SET tries = tries + 1;
    END WHILE;
    INSERT INTO audit_log (account_id, note) VALUES (from_id, CONCAT('sent ', cents, '; it''s done, \'really\''));
END //
DELIMITER ;

INSERT INTO accounts (` + "`owner name`" + `, balance_cents) VALUES ('Ana', 1000), ("Bo \"the; second\"", 0);
`,
	"0001_accounts.down.sql": "DROP PROCEDURE transfer;\nDROP TRIGGER accounts_bu;\nDROP TABLE audit_log;\nDROP TABLE accounts;\n",
	"0002_report.up.sql": `DELIMITER $$
CREATE FUNCTION total_cents() RETURNS BIGINT
READS SQL DATA
BEGIN
    DECLARE total BIGINT;
    SELECT COALESCE(SUM(balance_cents), 0) INTO total FROM accounts;
    RETURN total;
END$$
DELIMITER ;
`,
	"0002_report.down.sql": "DROP FUNCTION total_cents;\n",
}

func TestMySQLRealWorldScripts(t *testing.T) {
	e := newEnv(t, targetNamed(t, "mysql"), writeFiles(t, realWorldSet))
	ctx := context.Background()
	// The scenario is about scripts, not data loss: its rollback may drop rows.
	m := e.migrator(migrator.Options{AllowDataLoss: true})
	if _, err := m.Up(ctx, 0); err != nil {
		t.Fatalf("up: %v", err)
	}
	e.exec(`CALL transfer(1, 2, 300)`)
	var a, b, updates int
	if err := e.db().QueryRowContext(ctx, `SELECT (SELECT balance_cents FROM accounts WHERE id = 1), (SELECT balance_cents FROM accounts WHERE id = 2), (SELECT SUM(updates) FROM accounts)`).Scan(&a, &b, &updates); err != nil {
		t.Fatal(err)
	}
	if a != 700 || b != 300 || updates != 2 {
		t.Fatalf("after transfer: balances %d/%d, trigger counted %d updates; want 700/300 and 2", a, b, updates)
	}
	var note, owner string
	if err := e.db().QueryRowContext(ctx, `SELECT (SELECT note FROM audit_log), (SELECT `+"`owner name`"+` FROM accounts WHERE id = 2)`).Scan(&note, &owner); err != nil {
		t.Fatal(err)
	}
	if note != `sent 300; it's done, 'really'` || owner != `Bo "the; second"` {
		t.Fatalf("strings lost their escapes: note %q, owner %q", note, owner)
	}
	_, err := e.db().ExecContext(ctx, `UPDATE accounts SET balance_cents = -1 WHERE id = 1`)
	if err == nil || !strings.Contains(err.Error(), "balance; cannot go negative") {
		t.Fatalf("trigger did not refuse a negative balance: %v", err)
	}
	if n := e.count(`SELECT total_cents()`); n != 1000 {
		t.Fatalf("total_cents() = %d, want 1000", n)
	}
	if _, err := m.Goto(ctx, 0); err != nil {
		t.Fatalf("goto 0: %v", err)
	}
	if n := e.count(`SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()`) + e.count(`SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()`); n != 0 {
		t.Fatalf("%d routines or triggers left after goto 0", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME NOT LIKE 'migrate\_%'`); n != 0 {
		t.Fatalf("%d tables left after goto 0", n)
	}
}

// TestMySQLCompoundStatement runs MariaDB's anonymous BEGIN NOT ATOMIC
// block, which MySQL does not have.
func TestMySQLCompoundStatement(t *testing.T) {
	e := newEnv(t, targetNamed(t, "mysql"), writeFiles(t, map[string]string{
		"0001_seed.up.sql": `CREATE TABLE seq (n INT NOT NULL);
BEGIN NOT ATOMIC
    DECLARE i INT DEFAULT 0;
    WHILE i < 5 DO
        INSERT INTO seq (n) VALUES (i);
        SET i = i + 1;
    END WHILE;
END;
INSERT INTO seq (n) VALUES (100);
`,
		"0001_seed.down.sql": "DROP TABLE seq;\n",
	}))
	var version string
	if err := e.db().QueryRow(`SELECT VERSION()`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(version, "MariaDB") {
		t.Skipf("BEGIN NOT ATOMIC is MariaDB syntax; the server is MySQL %s", version)
	}
	if _, err := e.migrator(migrator.Options{}).Up(context.Background(), 0); err != nil {
		t.Fatalf("up: %v", err)
	}
	if n := e.count(`SELECT COUNT(*) FROM seq`); n != 6 {
		t.Fatalf("seq has %d rows, want 6", n)
	}
}

// TestMySQLFailureInThirdStatement walks the whole non-transactional
// failure path through the CLI: half-applied, blocked, undone by hand,
// repaired, fixed.
func TestMySQLFailureInThirdStatement(t *testing.T) {
	e := newEnv(t, targetNamed(t, "mysql"), writeFiles(t, map[string]string{
		"0001_items.up.sql":   "CREATE TABLE items (id INT PRIMARY KEY, label VARCHAR(50));\n",
		"0001_items.down.sql": "DROP TABLE items;\n",
		"0002_price.up.sql": "-- third statement repeats the first\n" +
			"ALTER TABLE items ADD COLUMN price INT NULL;\n" +
			"INSERT INTO items (id, label) VALUES (1, 'first');\n" +
			"ALTER TABLE items\n  ADD COLUMN price INT NULL;\n",
		"0002_price.down.sql": "ALTER TABLE items DROP COLUMN price;\n",
		"0003_later.up.sql":   "CREATE TABLE later (id INT);\n",
		"0003_later.down.sql": "DROP TABLE later;\n",
	}))
	out, code := e.cli("up")
	if code != 1 || !strings.Contains(out, "0002_price.up.sql:4: statement 3 failed") || !strings.Contains(out, "Duplicate column") {
		t.Fatalf("up: want exit 1 naming 0002_price.up.sql:4 statement 3, got exit %d\n%s", code, out)
	}
	// The first two statements were committed by MySQL and stay.
	if n := e.count(`SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'items' AND COLUMN_NAME = 'price'`); n != 1 {
		t.Fatalf("statement 1 (ADD COLUMN price) did not stay applied")
	}
	if n := e.count(`SELECT COUNT(*) FROM items WHERE id = 1`); n != 1 {
		t.Fatalf("statement 2 (INSERT) did not stay applied")
	}
	st := e.state()
	if len(st) != 2 || st[1].Version != 2 || st[1].Status != migrator.StatusFailed || st[1].FailedStatement != 3 || !strings.Contains(st[1].Error, "Duplicate column") {
		t.Fatalf("state after the failure: %+v", st)
	}
	h := e.history()
	if got := directions(h); got != "up1 up2!" {
		t.Fatalf("history = %s, want up1 up2!", got)
	}
	if last := h[len(h)-1]; !strings.Contains(last.Error, "ALTER TABLE items\n") || !strings.Contains(last.Error, "ADD COLUMN price INT NULL") || !strings.Contains(last.Error, "statement 3") {
		t.Fatalf("history failure row lacks the statement: %q", last.Error)
	}

	out, code = e.cli("up")
	if code != 6 || !strings.Contains(out, "half-applied") || !strings.Contains(out, "`migrate repair 2 --rolled-back`") {
		t.Fatalf("up while failed: want exit 6 naming repair, got exit %d\n%s", code, out)
	}
	out, code = e.cli("status")
	if code != 0 || !strings.Contains(out, "statement 3 failed outside a transaction after statements 1-2 took effect, so the migration is half-applied") {
		t.Fatalf("status does not say the migration is half-applied: exit %d\n%s", code, out)
	}

	// Undo statements 1 and 2 by hand, say so, and ship a fixed file.
	e.exec(`DELETE FROM items WHERE id = 1`)
	e.exec(`ALTER TABLE items DROP COLUMN price`)
	if out, code := e.cli("repair", "2", "--rolled-back"); code != 0 {
		t.Fatalf("repair --rolled-back: exit %d\n%s", code, out)
	}
	fixed := "ALTER TABLE items ADD COLUMN price INT NULL;\nINSERT INTO items (id, label) VALUES (1, 'first');\nALTER TABLE items ADD COLUMN stock INT NULL;\n"
	if err := os.WriteFile(filepath.Join(e.dir, "0002_price.up.sql"), []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := e.cli("up"); code != 0 || !strings.Contains(out, "version 1 -> 3") {
		t.Fatalf("up of the fixed file: exit %d\n%s", code, out)
	}
	if got := directions(e.history()); got != "up1 up2! repair2 up2 up3" {
		t.Fatalf("history = %s", got)
	}
	if n := e.count(`SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'items' AND COLUMN_NAME IN ('price', 'stock')`); n != 2 {
		t.Fatalf("fixed migration left %d of the 2 columns", n)
	}
}

// TestMySQLSyntaxErrorLine maps MariaDB's "at line N", counted from the
// failing statement, back to the line in the file.
func TestMySQLSyntaxErrorLine(t *testing.T) {
	e := newEnv(t, targetNamed(t, "mysql"), writeFiles(t, map[string]string{
		"0001_bad.up.sql":   "CREATE TABLE ok1 (id INT);\n\nCREATE TABLE bad (\n  id INT,\n  name VARCHAR(10) NOT NULL DEFALT 'x'\n);\n",
		"0001_bad.down.sql": "DROP TABLE ok1;\n",
	}))
	_, err := e.migrator(migrator.Options{}).Up(context.Background(), 0)
	var se *migrator.StatementError
	if !errors.As(err, &se) || se.Index != 2 || se.Line != 5 || !se.Committed {
		t.Fatalf("want statement 2 at line 5, committed after statement 1; got %+v (%v)", se, err)
	}
}

func TestMySQLSixteenConcurrentCLIs(t *testing.T) {
	const procs = 16
	e := newEnv(t, targetNamed(t, "mysql"), exampleDir(targetNamed(t, "mysql")))
	outs, codes := e.concurrentUps(procs, "2m")
	applied := 0
	for i := range procs {
		if codes[i] != 0 {
			t.Fatalf("process %d exited %d:\n%s", i, codes[i], outs[i])
		}
		applied += strings.Count(outs[i], ".up.sql")
	}
	if applied != 7 {
		t.Fatalf("the processes reported %d applied migrations between them, want 7", applied)
	}
	seen := map[int64]int{}
	for _, h := range e.history() {
		if !h.Success || h.Direction != migrator.Up {
			t.Fatalf("unexpected history row %+v", h)
		}
		seen[h.Version]++
	}
	for v := int64(1); v <= 7; v++ {
		if seen[v] != 1 {
			t.Fatalf("version %d applied %d times, want exactly once (history %s)", v, seen[v], directions(e.history()))
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM migrate_state WHERE status = 'applied'`); n != 7 {
		t.Fatalf("%d applied state rows, want 7", n)
	}
}

func TestMySQLNonASCII(t *testing.T) {
	texts := []string{"Café", "日本語", "emoji 🎉🚀", "Ærøskøbing ß"}
	e := newEnv(t, targetNamed(t, "mysql"), writeFiles(t, map[string]string{
		"0001_notes.up.sql": "-- Notes in many scripts: ünïcödé in a comment too.\n" +
			"CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(50) NOT NULL) DEFAULT CHARSET=utf8mb4;\n" +
			"INSERT INTO notes VALUES (1, '" + texts[0] + "'), (2, '" + texts[1] + "'), (3, '" + texts[2] + "'), (4, '" + texts[3] + "');\n",
		"0001_notes.down.sql": "DROP TABLE notes;\n",
		"0002_fails.up.sql":   "INSERT INTO nowhere_ñ (body) VALUES ('Crème brûlée 🍮');\n",
		"0002_fails.down.sql": "SELECT 1;\n",
	}))
	_, err := e.migrator(migrator.Options{}).Up(context.Background(), 0)
	if err == nil {
		t.Fatal("0002 should fail")
	}
	for i, want := range texts {
		var got string
		if err := e.db().QueryRow(`SELECT body FROM notes WHERE id = ?`, i+1).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("note %d = %q, want %q", i+1, got, want)
		}
	}
	h := e.history()
	if len(h) != 2 || !strings.Contains(h[1].Error, "Crème brûlée 🍮") || !strings.Contains(h[1].Error, "nowhere_ñ") {
		t.Fatalf("the failure's text did not round-trip through history: %+v", h)
	}
}

// TestMySQLDoubleDashIsMinusMinus: MySQL reads "--" as a comment only
// before a space, so "5--2" is arithmetic and the ';' after it ends the
// statement. A splitter that took it for a comment would send the next
// statement glued to this one.
func TestMySQLDoubleDashIsMinusMinus(t *testing.T) {
	e := newEnv(t, targetNamed(t, "mysql"), writeFiles(t, map[string]string{
		"0001_m.up.sql":   "CREATE TABLE m (v INT);\nINSERT INTO m VALUES (5--2); INSERT INTO m VALUES (1);\nINSERT INTO m VALUES (10); -- INSERT INTO m VALUES (100);\n",
		"0001_m.down.sql": "DROP TABLE m;\n",
	}))
	if _, err := e.migrator(migrator.Options{}).Up(context.Background(), 0); err != nil {
		t.Fatalf("up: %v", err)
	}
	if sum := e.count(`SELECT SUM(v) FROM m`); sum != 18 {
		t.Fatalf("SUM(v) = %d, want 18 (7 + 1 + 10; the commented insert not run)", sum)
	}
}
