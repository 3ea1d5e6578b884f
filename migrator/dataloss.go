package migrator

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
)

// RowCounter is an optional Driver capability: counting the rows of a table
// lets a refused rollback say how much data it would have destroyed.
type RowCounter interface {
	// CountRows returns the number of rows in table, named as written in a
	// migration script (possibly qualified and quoted).
	CountRows(ctx context.Context, table string) (int64, error)
}

// Loss is one destructive statement of a rollback, with the data it would
// destroy as the database holds it now.
type Loss struct {
	Finding
	// Rows is the table's current row count; -1 when unknown.
	Rows int64 `json:"rows"`
	// RowsUnknown says why Rows is -1.
	RowsUnknown string `json:"rows_unknown,omitempty"`
}

func (l Loss) String() string {
	rows := "row count unknown: " + l.RowsUnknown
	if l.Rows >= 0 {
		rows = fmt.Sprintf("%d row(s) in %s now", l.Rows, l.Table)
	}
	return fmt.Sprintf("%s:%d: %s (%s)", filepath.ToSlash(l.File), l.Line, l.Message, rows)
}

// DataLossError means a rollback was refused because its down scripts
// destroy data and AllowDataLoss was not set. Nothing was run.
type DataLossError struct{ Losses []Loss }

func (e *DataLossError) Error() string {
	var b strings.Builder
	b.WriteString("refusing to roll back: the down scripts that would run destroy data; nothing was run:")
	for _, l := range e.Losses {
		b.WriteString("\n  " + l.String())
	}
	b.WriteString("\nre-run with --allow-data-loss if that data may go, or leave the database as it is and roll forward instead (`migrate revert V` writes a new migration that undoes version V)")
	return b.String()
}

// Refused marks the error as a safety refusal (exit code 7 in the CLI).
func (e *DataLossError) Refused() {}

// RollbackForbiddenError means the environment's policy forbids rolling
// back at all. Nothing was run.
type RollbackForbiddenError struct {
	// Reason names the policy, such as "environment production".
	Reason string
	// Versions are the versions the rollback would have undone, newest first.
	Versions []int64
}

func (e *RollbackForbiddenError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "refusing to roll back: %s forbids down, goto to an older version and redo; nothing was run.\n", e.Reason)
	b.WriteString("A live database is never rewound: roll forward instead. ")
	if len(e.Versions) > 0 {
		v := e.Versions[0]
		fmt.Fprintf(&b, "`migrate revert %d` writes the next migration, whose up is version %d's down script and whose down is its up script; review it, commit it, and deploy it with `migrate up` like any release, so the history reads ... -> %d -> revert of %d", v, v, v, v)
		if len(e.Versions) > 1 {
			b.WriteString(" (revert newer versions first: ")
			for i, o := range e.Versions {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprint(&b, o)
			}
			b.WriteString(")")
		}
		b.WriteString(".")
	} else {
		b.WriteString("`migrate revert V` writes a new migration that undoes version V.")
	}
	return b.String()
}

// Refused marks the error as a safety refusal (exit code 7 in the CLI).
func (e *RollbackForbiddenError) Refused() {}

// checkRollback applies the rollback policy and the data-loss check to the
// migrations about to be rolled back, before anything runs. It returns the
// losses found, for the report.
func (m *Migrator) checkRollback(ctx context.Context, migs []*Migration) ([]Loss, error) {
	if len(migs) == 0 {
		return nil, nil
	}
	if m.opts.ForbidRollback != "" {
		e := &RollbackForbiddenError{Reason: m.opts.ForbidRollback}
		for _, mig := range migs {
			e.Versions = append(e.Versions, mig.Version)
		}
		return nil, e
	}
	d := dialectOf(m.driver)
	var losses []Loss
	for _, mig := range migs {
		if mig.Down == nil {
			continue
		}
		found, _ := lintScript(mig, mig.Down, Down, d, false)
		for _, f := range found {
			if !f.Destructive {
				continue
			}
			losses = append(losses, Loss{Finding: f, Rows: -1})
		}
	}
	if len(losses) == 0 || m.opts.AllowDataLoss {
		return losses, nil
	}
	counter, ok := m.driver.(RowCounter)
	for i := range losses {
		l := &losses[i]
		switch {
		case l.Table == "":
			l.RowsUnknown = "not a single table"
		case !ok:
			l.RowsUnknown = "this driver cannot count rows"
		default:
			n, err := counter.CountRows(ctx, l.Table)
			if err != nil {
				l.RowsUnknown = firstLineOf(err.Error())
				continue
			}
			l.Rows = n
		}
	}
	if m.opts.DryRun || nothingToLose(losses) {
		return losses, nil
	}
	return losses, &DataLossError{Losses: losses}
}

// nothingToLose is true when every table the down scripts destroy is known
// to be empty: dropping an empty table or a column of one loses no data, so
// a rollback of a release nobody used yet needs no --allow-data-loss.
func nothingToLose(losses []Loss) bool {
	for _, l := range losses {
		if l.Rows != 0 {
			return false
		}
	}
	return true
}

func firstLineOf(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
