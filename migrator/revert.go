package migrator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Reversion is the roll-forward migration that Revert wrote.
type Reversion struct {
	// Reverts is the version undone.
	Reverts int64 `json:"reverts"`
	// Version and Name are the new migration's.
	Version  string `json:"version"`
	Name     string `json:"name"`
	UpPath   string `json:"up"`
	DownPath string `json:"down"`
	// DryRun is set when the files were not written (Options.DryRun).
	DryRun bool `json:"dry_run"`
}

// RevertRefusedError means revert would write a migration that does not
// undo what the database holds. Nothing was written.
type RevertRefusedError struct {
	Version int64
	Reason  string
}

func (e *RevertRefusedError) Error() string {
	return fmt.Sprintf("revert %d: %s; nothing was written", e.Version, e.Reason)
}

// Refused marks the error as a safety refusal (exit code 7 in the CLI).
func (e *RevertRefusedError) Refused() {}

// Revert writes, into dir, the next migration after the folder's newest
// one: its up script is version v's down script and its down script is v's
// up script, each under a header saying what it reverts. So "undo v" ships
// as an ordinary deployment and the history keeps v applied, followed by
// its reversal. It refuses unless v is applied in the database with the
// same up script as the folder's, and has a down script. Files are created
// 0644 and never overwritten; in a dry run they are only named.
func (m *Migrator) Revert(ctx context.Context, v int64, dir string, now time.Time) (*Reversion, error) {
	if m.source.downUnread {
		return nil, ErrDownScriptsNotRead
	}
	p, err := m.Status(ctx)
	if err != nil {
		return nil, err
	}
	var entry *Entry
	for i := range p.Entries {
		if p.Entries[i].Version == v {
			entry = &p.Entries[i]
		}
	}
	switch {
	case entry == nil:
		// A mistyped number, like goto's and baseline's: a bad argument,
		// not a refusal to write something that exists.
		return nil, fmt.Errorf("revert %d: %w: there is no version %d in the folder or the database; nothing was written", v, ErrNoSuchVersion, v)
	case entry.State == nil:
		return nil, &RevertRefusedError{Version: v, Reason: fmt.Sprintf("version %d is not applied in this database, so there is nothing to undo (edit or delete its files instead)", v)}
	case entry.Status == Missing:
		return nil, &RevertRefusedError{Version: v, Reason: fmt.Sprintf("the files of version %d (%s) are gone from %s; restore them first", v, entry.Name, dir)}
	case entry.Status == Changed:
		return nil, &RevertRefusedError{Version: v, Reason: fmt.Sprintf("%s changed after it was applied, so its down script may not undo what ran; restore the applied file first", entry.Migration.Up.Path)}
	case entry.Status != Applied:
		return nil, &RevertRefusedError{Version: v, Reason: fmt.Sprintf("version %d is %s: %s", v, entry.Status, entry.Fix)}
	case entry.Migration.Down == nil:
		return nil, fmt.Errorf("revert %d: %s is marked irreversible, so there is no down script to roll forward with; write the undoing migration by hand (`migrate create`): %w", v, entry.Migration.Up.Path, ErrNotReversible)
	}
	mig := entry.Migration
	version, err := NextVersion(dir, now)
	if err != nil {
		return nil, fmt.Errorf("revert %d: %w", v, err)
	}
	r := &Reversion{Reverts: v, Version: version, Name: "revert_" + mig.Name}
	r.UpPath = filepath.Join(dir, fmt.Sprintf("%s_%s.up.sql", version, r.Name))
	r.DownPath = filepath.Join(dir, fmt.Sprintf("%s_%s.down.sql", version, r.Name))
	upText, err := mig.Up.Text()
	if err != nil {
		return nil, fmt.Errorf("revert %d: %w", v, err)
	}
	downText, err := mig.Down.Text()
	if err != nil {
		return nil, fmt.Errorf("revert %d: %w", v, err)
	}
	written := now.UTC().Format(time.RFC3339)
	applied := entry.State.AppliedAt.UTC().Format(time.RFC3339)
	up := fmt.Sprintf(`-- Reverts version %d (%s) by rolling forward: written by `+"`migrate revert %d`"+` at %s.
-- Version %d was applied at %s with up script %s (sha256 %s).
-- This up script is its down script, %s (sha256 %s).

%s`, v, mig.Name, v, written, v, applied, filepath.Base(mig.Up.Path), mig.Up.Checksum, filepath.Base(mig.Down.Path), mig.Down.Checksum, downText)
	down := fmt.Sprintf(`-- Undoes the revert of version %d (%s), written by `+"`migrate revert %d`"+` at %s.
-- This down script is version %d's up script, %s (sha256 %s).

%s`, v, mig.Name, v, written, v, filepath.Base(mig.Up.Path), mig.Up.Checksum, upText)
	if m.opts.DryRun {
		r.DryRun = true
		return r, nil
	}
	if err := createFile(r.UpPath, up); err != nil {
		return nil, fmt.Errorf("revert %d: %w", v, err)
	}
	if err := createFile(r.DownPath, down); err != nil {
		// Leave no up without its down behind.
		return nil, errors.Join(fmt.Errorf("revert %d: %w", v, err), os.Remove(r.UpPath))
	}
	return r, nil
}

// createFile writes a new file, refusing to replace one that exists.
func createFile(path, body string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return errors.Join(err, os.Remove(path))
	}
	return nil
}
