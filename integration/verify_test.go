package integration

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/migrate-dev/migrate/migrator"
	"github.com/migrate-dev/migrate/migrator/schema"
)

// needSnapshots skips a target whose driver cannot describe its schema.
func needSnapshots(t *testing.T, e *env) {
	t.Helper()
	if _, ok := e.drv.(migrator.Snapshotter); !ok {
		t.Skipf("driver %T does not implement migrator.Snapshotter, so verify cannot run on %s", e.drv, e.tg.name)
	}
}

// verifyCase returns the testdata folder of a verify case for the target:
// its dialect's own folder, else the one shared by all ("any"), else "".
func verifyCase(tg target, name string) string {
	for _, d := range []string{tg.examples, "any"} {
		dir := filepath.Join("testdata", "verify", name, d)
		if _, err := os.Stat(dir); err == nil {
			return dir
		}
	}
	return ""
}

func TestVerifyExampleIsReversible(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, exampleDir(tg))
		needSnapshots(t, e)
		var streamed []migrator.VerifyStep
		rep, err := e.migrator(migrator.Options{}).Verify(context.Background(), migrator.VerifyOptions{
			Disposable: true,
			Progress:   func(s migrator.VerifyStep) { streamed = append(streamed, s) },
		})
		if err != nil {
			t.Fatalf("verify of the example: %v", err)
		}
		if len(rep.Steps) != 21 || len(streamed) != 21 {
			t.Fatalf("verify ran %d steps (%d streamed), want 7 migrations x 3", len(rep.Steps), len(streamed))
		}
		for _, s := range rep.Steps {
			if !s.OK || s.Duration <= 0 {
				t.Fatalf("step %+v", s)
			}
		}
		if got := e.current(); got != 7 {
			t.Fatalf("after verify, current = %d, want 7 (verify leaves everything applied)", got)
		}
		// The snapshot is stable: two readings of the same schema print alike.
		snap := e.drv.(migrator.Snapshotter)
		a, err := snap.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		b, err := snap.Snapshot(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if a.String() != b.String() || len(schema.Diff(a, b)) != 0 {
			t.Fatalf("two snapshots of one schema differ:\n%s\n---\n%s", a, b)
		}
		for _, want := range []string{"table customers", "column email", "index orders_customer_created_idx", "view order_totals", "check", "foreign key"} {
			if !strings.Contains(a.String(), want) {
				t.Fatalf("snapshot lacks %q:\n%s", want, a)
			}
		}
		if strings.Contains(a.String(), migrator.DefaultStateTable) || strings.Contains(a.String(), migrator.DefaultHistoryTable) {
			t.Fatalf("snapshot shows migrate's own tables:\n%s", a)
		}
	})
}

func TestVerifyCatchesWrongDown(t *testing.T) {
	cases := []struct {
		name string
		// want is a difference that must be reported: kind, part of the
		// object's name, and part of the change.
		kind, object, change string
	}{
		{"index_left", "index", "table t index t_name_idx", schema.Extra},
		{"column_type", "column", "table t column note", "type "},
		{"column_null", "column", "table t column note", "nullability NOT NULL -> NULL"},
		{"view_left", "view", "view t_names", schema.Extra},
		{"enum_left", "type", "type mood", schema.Extra},
		{"extension_left", "extension", "extension pgcrypto", schema.Extra},
		{"check_lost", "constraint", "table t check", schema.Missing},
	}
	forEachTarget(t, func(t *testing.T, tg target) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				dir := verifyCase(tg, c.name)
				if dir == "" {
					t.Skipf("case %s uses objects %s does not have", c.name, tg.name)
				}
				e := newEnv(t, tg, dir)
				needSnapshots(t, e)
				rep, err := e.migrator(migrator.Options{}).Verify(context.Background(), migrator.VerifyOptions{Disposable: true})
				var ve *migrator.VerifyError
				if !errors.As(err, &ve) {
					t.Fatalf("verify: want a *VerifyError, got %v", err)
				}
				if ve.Version != 2 || ve.Step != migrator.StepDown {
					t.Fatalf("mismatch blamed on version %d step %s, want version 2 down: %v", ve.Version, ve.Step, err)
				}
				found := false
				for _, d := range ve.Diff {
					if d.Kind == c.kind && strings.Contains(d.Object, c.object) && strings.Contains(d.Change, c.change) {
						found = true
					}
				}
				if !found {
					t.Fatalf("diff does not name %s %q (%s):\n%v", c.kind, c.object, c.change, err)
				}
				last := rep.Steps[len(rep.Steps)-1]
				if last.OK || last.Version != 2 || last.Step != migrator.StepDown || len(rep.Steps) != 5 {
					t.Fatalf("report should end at version 2's failed down after 5 steps: %+v", rep.Steps)
				}
			})
		}
	})
}

func TestVerifyIrreversibleAndApplied(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, verifyCase(tg, "irreversible"))
		needSnapshots(t, e)
		ctx := context.Background()
		// Version 1 is applied already: verify leaves it alone.
		if _, err := e.migrator(migrator.Options{}).Up(ctx, 1); err != nil {
			t.Fatal(err)
		}
		rep, err := e.migrator(migrator.Options{}).Verify(ctx, migrator.VerifyOptions{Disposable: true})
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		var got []string
		for _, s := range rep.Steps {
			got = append(got, s.Step+" "+s.Note)
			if s.Version == 1 {
				t.Fatalf("verify touched the applied version 1: %+v", s)
			}
		}
		want := "up irreversible, skipped rollback check|up |down |up-again "
		if strings.Join(got, "|") != want {
			t.Fatalf("steps:\n got %q\nwant %q", strings.Join(got, "|"), want)
		}
		if n := e.current(); n != 3 {
			t.Fatalf("current = %d, want 3", n)
		}
		// Version 1 was not verified, and the report says so rather than
		// let it pass for proven.
		if len(rep.AlreadyApplied) != 1 || rep.AlreadyApplied[0] != 1 {
			t.Fatalf("report's already applied versions: %v, want [1]", rep.AlreadyApplied)
		}
		e = newEnv(t, tg, verifyCase(tg, "column_null"))
		if _, err := e.migrator(migrator.Options{}).Up(ctx, 1); err != nil {
			t.Fatal(err)
		}
		out, code := e.cli("verify", "--i-know-this-database-is-disposable")
		if code != 9 || !strings.Contains(out, "1 version(s) were already applied before verify ran and were not verified (left as they are): 1\n") {
			t.Fatalf("verify with version 1 applied: exit %d, want 9 noting version 1 as not verified\n%s", code, out)
		}
		out, _ = e.cli("--json", "verify", "--i-know-this-database-is-disposable")
		if !strings.Contains(out, `"already_applied": [`) {
			t.Fatalf("verify --json does not list the versions already applied:\n%s", out)
		}
	})
}

func TestVerifyRefusesUnlessDisposable(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, exampleDir(tg))
		needSnapshots(t, e)
		_, err := e.migrator(migrator.Options{}).Verify(context.Background(), migrator.VerifyOptions{})
		if !errors.Is(err, migrator.ErrNotDisposable) {
			t.Fatalf("verify without consent: want ErrNotDisposable, got %v", err)
		}
		if len(e.state()) != 0 {
			t.Fatal("a refused verify changed the database")
		}
		out, code := e.cli("verify")
		if code != 7 || !strings.Contains(out, "--i-know-this-database-is-disposable") {
			t.Fatalf("cli verify without consent: exit %d\n%s", code, out)
		}
	})
}

func TestVerifyCLI(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, exampleDir(tg))
		needSnapshots(t, e)
		out, code := e.cli("verify", "--scratch")
		if code != 0 || !hasStepLine(out, "0004_add_customers_referral_code", "down", "ok") || !strings.Contains(out, "7 migration(s) verified") {
			t.Fatalf("verify --scratch: exit %d\n%s", code, out)
		}
		if len(e.state()) != 0 {
			t.Fatalf("verify --scratch changed the named database: %+v", e.state())
		}
		e.dir = verifyCase(tg, "column_null")
		out, code = e.cli("verify", "--i-know-this-database-is-disposable")
		if code != 9 || !hasStepLine(out, "0002_drop_note", "down", "DIFF") || !strings.Contains(out, "table t column note: nullability NOT NULL -> NULL") {
			t.Fatalf("verify of a wrong down: exit %d\n%s", code, out)
		}
		e.dir = verifyCase(tg, "index_left")
		out, code = e.cli("--json", "verify", "--scratch")
		if code != 9 || !strings.Contains(out, `"change": "extra"`) || !strings.Contains(out, `"object": "table t index t_name_idx"`) {
			t.Fatalf("verify --json of a wrong down: exit %d\n%s", code, out)
		}
	})
}

// hasStepLine reports whether verify's human output has the line of one
// step: "0004_name  down  ok  (3.1ms)".
func hasStepLine(out, migration, step, result string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == migration && f[1] == step && f[2] == result && strings.HasPrefix(f[3], "(") {
			return true
		}
	}
	return false
}

// TestVerifyScratchDroppedOnCancel interrupts verify --scratch after its
// first step and checks the scratch database is gone all the same.
func TestVerifyScratchDroppedOnCancel(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, exampleDir(tg))
		needSnapshots(t, e)
		if _, ok := e.drv.(migrator.ScratchCreator); !ok {
			t.Skipf("driver %T cannot create scratch databases", e.drv)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rep, err := e.migrator(migrator.Options{}).Verify(ctx, migrator.VerifyOptions{
			Scratch:  true,
			Progress: func(migrator.VerifyStep) { cancel() },
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("verify after cancel: want context.Canceled, got %v", err)
		}
		if rep == nil || rep.Scratch == "" || len(rep.Steps) != 1 {
			t.Fatalf("report of the interrupted run: %+v", rep)
		}
		if scratchExists(t, e, rep.Scratch) {
			t.Fatalf("scratch database %s survived the interrupted verify", rep.Scratch)
		}
	})
}

// TestVerifyNamesLeftoverScratch leaves a scratch database on the server,
// as a verify --scratch that was killed does, and checks that the next
// verify --scratch names it (and lists it under --json) without touching it.
func TestVerifyNamesLeftoverScratch(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, writeSmallSet(t, 1))
		needSnapshots(t, e)
		if _, ok := e.drv.(migrator.ScratchLister); !ok {
			t.Skipf("driver %T does not list leftover scratch databases", e.drv)
		}
		// A name of the scratch pattern that no other test run can take.
		name := fmt.Sprintf("migrate_verify_leftover_%d", time.Now().UnixNano())
		if tg.name == "sqlite" {
			// What a killed verify leaves: a scratch folder in the
			// temporary folder, untouched since, whose lock no one holds.
			dir, err := os.MkdirTemp("", "migrate-verify-leftover")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			name = filepath.Join(dir, "scratch.db")
			if err := os.WriteFile(name, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			old := time.Now().Add(-time.Hour)
			if err := os.Chtimes(dir, old, old); err != nil {
				t.Fatal(err)
			}
		} else {
			e.exec("CREATE DATABASE " + name)
			t.Cleanup(func() {
				e.db().SetMaxOpenConns(0)
				e.exec("DROP DATABASE IF EXISTS " + name)
			})
		}
		out, code := e.cli("verify", "--scratch")
		if code != 0 || !strings.Contains(out, "left scratch databases") || !strings.Contains(out, name) {
			t.Fatalf("verify --scratch beside a leftover scratch database: exit %d, want 0 naming %s\n%s", code, name, out)
		}
		out, code = e.cli("--json", "verify", "--scratch")
		var rep struct {
			Leftover []string `json:"leftover_scratch"`
		}
		if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil || !slices.Contains(rep.Leftover, name) {
			t.Fatalf("verify --scratch --json: exit %d, leftover_scratch %v (%v), want it to hold %s\n%s", code, rep.Leftover, err, name, out)
		}
		if !scratchExists(t, e, name) {
			t.Fatalf("verify dropped %s, which it cannot know to be a dead run's", name)
		}
	})
}

func scratchExists(t *testing.T, e *env, name string) bool {
	t.Helper()
	switch e.tg.name {
	case "sqlite":
		_, err := os.Stat(name)
		return err == nil
	case "mysql":
		var n int
		if err := e.db().QueryRow(`SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	case "postgres":
	default:
		t.Fatalf("scratchExists has no check for target %s: add one", e.tg.name)
	}
	db, err := sql.Open("pgx", e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// TestSnapshotDetails checks what only the catalogue's finer parts tell:
// expression keys, DESC, partial predicates, composite foreign keys.
func TestSnapshotDetails(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, verifyCase(tg, "details"))
		needSnapshots(t, e)
		ctx := context.Background()
		rep, err := e.migrator(migrator.Options{}).Verify(ctx, migrator.VerifyOptions{Disposable: true})
		if err != nil || len(rep.Steps) != 3 {
			t.Fatalf("verify: %v", err)
		}
		s, err := e.drv.(migrator.Snapshotter).Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		text := s.String()
		wants := []string{
			"index c_lower_name_idx (lower(", "id DESC)",
			"index c_name_partial_idx UNIQUE (name) WHERE ", "a IS NOT NULL",
			"foreign key", "(a, b) -> p (a, b) ON DELETE SET NULL",
			"primary key", "(a, b)",
		}
		if tg.examples == "mysql" {
			// Its own case: MySQL has no partial indexes, MariaDB no
			// expression keys. Display widths, CURRENT_TIMESTAMP's
			// spelling and the database qualifier in the view are
			// normalised away.
			wants = []string{
				"index c_name_prefix_idx (name(10), id DESC)", "index c_name_key UNIQUE (name)",
				"foreign key", "(a, b) -> p (a, b) ON DELETE SET NULL",
				"primary key PRIMARY (a, b)", "column a int NULL", "column id int NOT NULL GENERATED BY DEFAULT AS IDENTITY",
				"column name varchar(50) NULL DEFAULT 'it''s'",
				"column created_at datetime NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp()",
				"column total int NULL GENERATED AS STORED ", "check qty (",
				"view c_names AS select `c`.`name` AS `name` from (`c` join `p` on(", "trigger c_bi on c: BEFORE INSERT",
				"procedure c_count(IN min_qty int, OUT n int) [body md5:",
			}
		}
		for _, want := range wants {
			if !strings.Contains(text, want) {
				t.Errorf("snapshot lacks %q:\n%s", want, text)
			}
		}
	})
}

// TestVerifySeesOutsideChanges alters a table from another session in the
// middle of verify, between migrations, where no script will touch it
// again. Verify must not pass: a driver that reads every snapshot in full
// sees it at the next down; one that tracks the scripts' changes
// (migrator.ChangeTracker) by the full snapshot it checks at the end.
func TestVerifySeesOutsideChanges(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		e := newEnv(t, tg, verifyCase(tg, "outside"))
		needSnapshots(t, e)
		altered := false
		_, err := e.migrator(migrator.Options{}).Verify(context.Background(), migrator.VerifyOptions{
			Disposable: true,
			Progress: func(s migrator.VerifyStep) {
				if s.Version == 1 && s.Step == migrator.StepUpAgain {
					if _, err := e.db().Exec(`ALTER TABLE t ADD COLUMN sneaky INTEGER`); err != nil {
						t.Errorf("altering t from another session: %v", err)
					}
					altered = true
				}
			},
		})
		if !altered {
			t.Fatalf("verify never finished version 1: %v", err)
		}
		if err == nil || !strings.Contains(err.Error(), "sneaky") {
			t.Fatalf("verify passed or did not name the column added behind its back: %v", err)
		}
		if _, tracks := e.drv.(migrator.ChangeTracker); tracks && !errors.Is(err, migrator.ErrChangedOutside) {
			t.Fatalf("a tracking driver should report the outside change at the end: %v", err)
		}
	})
}
