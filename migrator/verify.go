package migrator

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/migrate-dev/migrate/migrator/schema"
)

// Snapshotter is a driver that can describe its schema. It is optional:
// verify finds it by type assertion.
type Snapshotter interface {
	// Snapshot reads the schema from the database's catalogue, leaving out
	// migrate's own state and history tables.
	Snapshot(ctx context.Context) (*schema.Snapshot, error)
}

// ChangeTracker is a driver whose snapshots can read again only what the
// scripts it ran since its last snapshot may have changed. That is right only while
// nothing else changes the database, so verify, which holds the migration
// lock and runs every script itself, turns it on for its run and checks a
// full snapshot against the last one at the end.
type ChangeTracker interface {
	// TrackChanges turns tracking on until stop is called.
	TrackChanges() (stop func())
}

// ScratchCreator is a driver that can make a throwaway database beside its
// own, for verify --scratch.
type ScratchCreator interface {
	// CreateScratch creates an empty database on the same server and
	// opens it with the driver's settings; name says which (a database
	// name or a file). drop closes it and destroys the database; it is
	// called with a context that is never cancelled, even when the run
	// was interrupted.
	CreateScratch(ctx context.Context) (scratch Driver, name string, drop func(context.Context) error, err error)
}

// ScratchLister is a ScratchCreator that can find the scratch databases
// earlier verify runs left behind: a run that is killed, or loses its
// server, cannot drop its own. Verify names them rather than drop them,
// as it cannot tell them from those of a run going on elsewhere that its
// lister missed.
type ScratchLister interface {
	// LeftoverScratch lists the scratch databases that no session (on
	// SQLite, no process's lock) is using.
	LeftoverScratch(ctx context.Context) ([]string, error)
}

// ErrNotDisposable is returned when verify is asked to run on a database
// nobody said it may destroy.
var ErrNotDisposable = errors.New("verify runs every down script and may destroy data: it only runs on a database you declare disposable (--i-know-this-database-is-disposable) or on a scratch copy it creates itself (--scratch)")

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Disposable is the caller's word that the database may be destroyed.
	Disposable bool
	// Scratch verifies in a new empty database on the same server, which
	// is dropped afterwards, even when ctx is cancelled.
	Scratch bool
	// Progress, when set, is told about each step as it finishes.
	Progress func(VerifyStep)
}

// Verify step names.
const (
	StepUp      = "up"
	StepDown    = "down"
	StepUpAgain = "up-again"
)

// VerifyStep is one step of verify: a script run and the schema check
// after it.
type VerifyStep struct {
	Version int64  `json:"version"`
	Name    string `json:"name"`
	// Step is StepUp, StepDown or StepUpAgain.
	Step string `json:"step"`
	OK   bool   `json:"ok"`
	// Note says why a check was skipped (an irreversible migration).
	Note string `json:"note,omitempty"`
	// Diff is how the schema after the step differs from the schema it
	// should equal.
	Diff     []schema.Difference `json:"diff,omitempty"`
	Duration time.Duration       `json:"duration_ns"`
}

// VerifyReport is every step verify ran, in order.
type VerifyReport struct {
	// Scratch names the database verify created and dropped, if any.
	Scratch string `json:"scratch,omitempty"`
	// LeftoverScratch are scratch databases that earlier verify runs, cut
	// short, left behind (found before this run made its own).
	LeftoverScratch []string `json:"leftover_scratch,omitempty"`
	// AlreadyApplied are the versions applied before verify ran: it left
	// them as they were, so their up, down and up again were not checked.
	AlreadyApplied []int64      `json:"already_applied,omitempty"`
	Steps          []VerifyStep `json:"steps"`
}

// VerifyError is a down script that did not restore the schema its up
// found, or an up that built a different schema the second time.
type VerifyError struct {
	Version int64
	Name    string
	Step    string
	Diff    []schema.Difference
}

func (e *VerifyError) Error() string {
	var b strings.Builder
	switch e.Step {
	case StepDown:
		fmt.Fprintf(&b, "verify: version %d (%s): after down the schema differs from before up:", e.Version, e.Name)
	default:
		fmt.Fprintf(&b, "verify: version %d (%s): up after down built a different schema than the first up:", e.Version, e.Name)
	}
	for _, d := range e.Diff {
		b.WriteString("\n  " + d.String())
	}
	return b.String()
}

// Verify proves each pending migration reversible, in order: snapshot,
// up, snapshot, down, snapshot (must equal the first), up again, snapshot
// (must equal the second). Applied migrations are left as they are, and
// listed in the report's AlreadyApplied as not verified. It
// stops at the first mismatch with a *VerifyError; the report holds the
// steps so far. Irreversible migrations are applied and reported without a
// rollback check.
func (m *Migrator) Verify(ctx context.Context, opts VerifyOptions) (*VerifyReport, error) {
	if m.source.downUnread {
		return nil, ErrDownScriptsNotRead
	}
	if m.opts.DryRun {
		return nil, misfitf("verify cannot be a dry run (--dry-run): it has to run the scripts to compare the schemas")
	}
	snap, ok := m.driver.(Snapshotter)
	if !ok {
		return nil, misfitf("driver %T does not support schema snapshots, so verify cannot compare schemas", m.driver)
	}
	if opts.Scratch {
		return m.verifyScratch(ctx, opts)
	}
	if !opts.Disposable {
		return nil, ErrNotDisposable
	}
	// Verify reports through opts.Progress, step by step; the per-script
	// progress of up and down would repeat it.
	quiet := *m
	quiet.opts.Progress = nil
	rep := &VerifyReport{}
	_, err := quiet.locked(ctx, func(p *Plan) (*Report, error) {
		if err := quiet.blocked(p); err != nil {
			return nil, err
		}
		for _, e := range p.Entries {
			if e.State != nil {
				rep.AlreadyApplied = append(rep.AlreadyApplied, e.Version)
			}
		}
		return nil, quiet.verifyPending(ctx, p, snap, opts, rep)
	})
	return rep, err
}

func (m *Migrator) verifyScratch(ctx context.Context, opts VerifyOptions) (rep *VerifyReport, err error) {
	sc, ok := m.driver.(ScratchCreator)
	if !ok {
		return nil, fmt.Errorf("driver %T cannot create a scratch database; run verify on a disposable database with --i-know-this-database-is-disposable instead", m.driver)
	}
	var leftover []string
	if l, ok := m.driver.(ScratchLister); ok {
		// A note, not a reason to stop: an error here leaves it out.
		leftover, _ = l.LeftoverScratch(ctx)
	}
	scratch, name, drop, err := sc.CreateScratch(ctx)
	if err != nil {
		if len(leftover) > 0 {
			// Perhaps the reason: a quota of databases or of disk.
			err = fmt.Errorf("%w (earlier verify runs that were cut short left scratch databases on the server: %s)", err, strings.Join(leftover, ", "))
		}
		return nil, err
	}
	defer func() {
		// Drop even when interrupted: a cancelled ctx must not leave the
		// scratch database behind.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if derr := drop(dctx); derr != nil {
			err = errors.Join(err, derr)
		}
	}()
	inner := New(scratch, m.source, m.opts)
	opts.Scratch, opts.Disposable = false, true
	rep, err = inner.Verify(ctx, opts)
	if rep != nil {
		rep.Scratch = name
		rep.LeftoverScratch = leftover
	}
	return rep, err
}

func (m *Migrator) verifyPending(ctx context.Context, p *Plan, snap Snapshotter, opts VerifyOptions, rep *VerifyReport) error {
	take := func(version int64, when string) (*schema.Snapshot, error) {
		s, err := snap.Snapshot(ctx)
		if err != nil {
			return nil, fmt.Errorf("verify: snapshot %s version %d: %w", when, version, err)
		}
		return s, nil
	}
	var before *schema.Snapshot
	// untracked, for a driver that tracks changes, compares a snapshot it
	// tracked with a full one, once: at the end, and at a mismatch, which
	// a change it missed would cause as well.
	var untracked func(last *schema.Snapshot) error
	if tr, ok := snap.(ChangeTracker); ok {
		stop := tr.TrackChanges()
		defer stop()
		untracked = func(last *schema.Snapshot) error {
			stop()
			return checkUntracked(ctx, snap, last)
		}
	}
	for _, mig := range p.Pending(m.opts.AllowOutOfOrder) {
		if before == nil {
			var err error
			if before, err = take(mig.Version, "before"); err != nil {
				return err
			}
		}
		step := func(name string, dir Direction, want *schema.Snapshot) (*schema.Snapshot, error) {
			start := time.Now()
			if _, err := m.apply(ctx, p, []*Migration{mig}, dir); err != nil {
				return nil, err
			}
			after, err := take(mig.Version, "after "+name+" of")
			if err != nil {
				return nil, err
			}
			st := VerifyStep{Version: mig.Version, Name: mig.Name, Step: name, OK: true, Duration: time.Since(start)}
			if want != nil {
				st.Diff = schema.Diff(want, after)
				st.OK = len(st.Diff) == 0
			}
			if name == StepUp && mig.Down == nil {
				st.Note = "irreversible, skipped rollback check"
			}
			rep.Steps = append(rep.Steps, st)
			if opts.Progress != nil {
				opts.Progress(st)
			}
			if !st.OK {
				if untracked != nil {
					if err := untracked(after); err != nil {
						return nil, err
					}
				}
				return nil, &VerifyError{Version: mig.Version, Name: mig.Name, Step: name, Diff: st.Diff}
			}
			return after, nil
		}
		afterUp, err := step(StepUp, Up, nil)
		if err != nil {
			return err
		}
		if mig.Down == nil {
			before = afterUp
			continue
		}
		if _, err := step(StepDown, Down, before); err != nil {
			return err
		}
		if before, err = step(StepUpAgain, Up, afterUp); err != nil {
			return err
		}
	}
	if untracked != nil && before != nil {
		return untracked(before)
	}
	return nil
}

// checkUntracked compares the last snapshot, read from tracked changes, to
// a full one: a change made outside the scripts verify ran (another
// session, a scheduled event), or one the driver could not tell from a
// statement's text, would otherwise go unseen.
func checkUntracked(ctx context.Context, snap Snapshotter, last *schema.Snapshot) error {
	full, err := snap.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("verify: the full snapshot at the end: %w", err)
	}
	diff := schema.Diff(last, full)
	if len(diff) == 0 {
		return nil
	}
	var b strings.Builder
	for _, d := range diff {
		b.WriteString("\n  " + d.String())
	}
	return fmt.Errorf("verify: %w:%s", ErrChangedOutside, b.String())
}

// ErrChangedOutside is verify finding, at the end, a schema its scripts
// did not build.
var ErrChangedOutside = errors.New("the schema is not what verify's snapshots followed from its scripts: it changed outside them (another session or a scheduled event?), or a statement changed what its text does not name, so the checks cannot be trusted; a full snapshot differs from the last one")

// ScratchOnServer is how a driver for a database server implements
// CreateScratch: it runs create(name) on db for a new database named
// migrate_verify_<random>, opens it through u with its path replaced by the
// name and with cfg, and returns a drop that closes it and runs drop(name).
// If opening fails, the new database is dropped at once.
func ScratchOnServer(ctx context.Context, db *sql.DB, u url.URL, cfg Config, create, drop func(name string) string) (Driver, string, func(context.Context) error, error) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "migrate_verify_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, create(name)); err != nil {
		return nil, "", nil, fmt.Errorf("creating scratch database %s: %w", name, err)
	}
	dropDB := func(ctx context.Context) error {
		if _, err := db.ExecContext(ctx, drop(name)); err != nil {
			return fmt.Errorf("dropping scratch database %s: %w", name, err)
		}
		return nil
	}
	u.Path, u.RawPath = "/"+name, ""
	scratch, err := Open(ctx, u.String(), cfg)
	if err != nil {
		if derr := dropDB(context.WithoutCancel(ctx)); derr != nil {
			return nil, "", nil, fmt.Errorf("opening scratch database %s: %w (and %v)", name, err, derr)
		}
		return nil, "", nil, fmt.Errorf("opening scratch database %s: %w", name, err)
	}
	closeAndDrop := func(ctx context.Context) error {
		cerr := scratch.Close()
		if err := dropDB(ctx); err != nil {
			return err
		}
		return cerr
	}
	return scratch, name, closeAndDrop, nil
}
