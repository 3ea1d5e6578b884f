package migrator

import (
	"fmt"
	"sort"
	"strings"
)

// VersionStatus is how one version stands between the folder and the
// database.
type VersionStatus string

// Version statuses shown by status.
const (
	Pending    VersionStatus = "pending"
	Applied    VersionStatus = "applied"
	Failed     VersionStatus = "failed"
	Running    VersionStatus = "interrupted"
	Changed    VersionStatus = "changed"
	Missing    VersionStatus = "missing"
	OutOfOrder VersionStatus = "out-of-order"
	// Unrecognised: the state row's status is none migrate writes; the
	// row was edited by hand or by another tool, and what it means for
	// the schema is unknown.
	Unrecognised VersionStatus = "unrecognised"
)

// Entry is one row of the plan: a version in the folder, the database, or
// both.
type Entry struct {
	Version   int64         `json:"version"`
	Name      string        `json:"name"`
	Status    VersionStatus `json:"status"`
	Migration *Migration    `json:"-"`
	State     *StateRow     `json:"-"`
	// Fix says how to resolve a status that blocks up.
	Fix string `json:"fix,omitempty"`
	// RunningScript, for an interrupted version, says whether its up or
	// its down script was running; empty when the mark does not say
	// (written by a migrate before it did).
	RunningScript Direction `json:"running_script,omitempty"`
}

// Plan compares the folder with the state table.
type Plan struct {
	Entries []Entry
	// Current is the highest applied version, 0 when none.
	Current int64
}

// NewPlan builds the plan from a source and the state rows.
func NewPlan(src *Source, state []StateRow) *Plan {
	p := &Plan{}
	seen := map[int64]bool{}
	for i := range state {
		row := &state[i]
		seen[row.Version] = true
		e := Entry{Version: row.Version, Name: row.Name, State: row, Migration: src.Find(row.Version)}
		switch {
		case row.Status == StatusFailed:
			e.Status = Failed
			e.Fix = failedFix(row)
		case row.Status == StatusRunning:
			e.Status = Running
			e.RunningScript = RunningDirection(row)
			e.Fix = runningFix(row, e.RunningScript)
		case row.Status != StatusApplied:
			e.Status = Unrecognised
			e.Fix = fmt.Sprintf("the state row of version %d has status %q, which migrate never writes (edited by hand or by another tool?); find out whether the migration's changes are in place, then run `migrate repair %d --applied` or `migrate repair %d --rolled-back`", row.Version, string(row.Status), row.Version, row.Version)
		case e.Migration == nil:
			e.Status = Missing
			e.Fix = fmt.Sprintf("restore the file of version %d, or run `migrate repair %d --forget` to drop it from the state (history keeps it)", row.Version, row.Version)
		case e.Migration.Up.Checksum != row.Checksum:
			e.Status = Changed
			e.Fix = fmt.Sprintf("%s changed after it was applied; restore it and ship the change as a new migration, or run `migrate repair %d --accept-checksum` if the edit is cosmetic", e.Migration.Up.Path, row.Version)
		default:
			e.Status = Applied
		}
		if row.Status == StatusApplied && row.Version > p.Current {
			p.Current = row.Version
		}
		p.Entries = append(p.Entries, e)
	}
	for _, m := range src.Migrations {
		if seen[m.Version] {
			continue
		}
		e := Entry{Version: m.Version, Name: m.Name, Status: Pending, Migration: m}
		if m.Version < p.Current {
			e.Status = OutOfOrder
			e.Fix = fmt.Sprintf("version %d is older than the newest applied version %d; renumber it above %d, or run up with --allow-out-of-order", m.Version, p.Current, p.Current)
		}
		p.Entries = append(p.Entries, e)
	}
	sort.Slice(p.Entries, func(i, j int) bool { return p.Entries[i].Version < p.Entries[j].Version })
	return p
}

// runningNote is what the running mark of step s holds in its error
// column, which is otherwise empty while a version runs: which script ran.
// Up and down leave the same mark, and after a kill the user has to know
// which way the version was going to know what to look for.
func runningNote(s *Step) string {
	return fmt.Sprintf("%s script was running: %s", s.Direction, s.Script.Path)
}

// RunningDirection reads which script a running mark says was running, or
// "" when it does not say.
func RunningDirection(row *StateRow) Direction {
	if row.Status != StatusRunning {
		return ""
	}
	for _, d := range []Direction{Up, Down} {
		if strings.HasPrefix(row.Error, string(d)+" script was running") {
			return d
		}
	}
	return ""
}

// runningFix explains a version whose run stopped part-way outside a
// transaction, and what each repair means for the script that ran.
func runningFix(row *StateRow, dir Direction) string {
	v := row.Version
	switch dir {
	case Up:
		return fmt.Sprintf("the up script was running when migrate stopped (%s), outside a transaction; check which of its statements took effect, finish or undo them by hand, then run `migrate repair %d --applied` if its changes are all in place, or `migrate repair %d --rolled-back` if they are all gone", scriptOf(row), v, v)
	case Down:
		return fmt.Sprintf("the down script was running when migrate stopped (%s), outside a transaction; check which of its statements took effect, finish or undo them by hand, then run `migrate repair %d --rolled-back` if the version's changes are all gone (the rollback finished), or `migrate repair %d --applied` if they are all still in place", scriptOf(row), v, v)
	}
	return fmt.Sprintf("a non-transactional run was interrupted; check which statements took effect, then run `migrate repair %d --applied` or `migrate repair %d --rolled-back`", v, v)
}

// scriptOf is the script path a running mark names.
func scriptOf(row *StateRow) string {
	_, path, _ := strings.Cut(row.Error, ": ")
	return path
}

// failedFix explains a version that failed outside a transaction: on a
// database that commits DDL as it goes (MySQL, MariaDB) the statements
// before the failing one stayed applied, and people must be told plainly.
func failedFix(row *StateRow) string {
	what := "it failed outside a transaction and may be half-applied"
	switch {
	case row.FailedStatement == 1:
		what = "statement 1 failed outside a transaction, before any other ran; check it left nothing behind"
	case row.FailedStatement > 1:
		what = fmt.Sprintf("statement %d failed outside a transaction after statements 1-%d took effect, so the migration is half-applied", row.FailedStatement, row.FailedStatement-1)
	}
	return fmt.Sprintf("%s; finish or undo it by hand, then run `migrate repair %d --applied` if its changes are now all in place, or `migrate repair %d --rolled-back` if they are all gone", what, row.Version, row.Version)
}

// Problems returns the entries that block up: failed, interrupted, changed,
// missing, out-of-order and unrecognised versions.
func (p *Plan) Problems() []Entry {
	var out []Entry
	for _, e := range p.Entries {
		if e.Fix != "" {
			out = append(out, e)
		}
	}
	return out
}

// Pending returns the migrations to apply, in order; out-of-order ones only
// when allowed.
func (p *Plan) Pending(allowOutOfOrder bool) []*Migration {
	var out []*Migration
	for _, e := range p.Entries {
		if e.Status == Pending || e.Status == OutOfOrder && allowOutOfOrder {
			out = append(out, e.Migration)
		}
	}
	return out
}

// AppliedDesc returns the applied entries, newest first.
func (p *Plan) AppliedDesc() []Entry {
	var out []Entry
	for i := len(p.Entries) - 1; i >= 0; i-- {
		if p.Entries[i].State != nil {
			out = append(out, p.Entries[i])
		}
	}
	return out
}

// recorded reports whether the state table has a row for version v.
func (p *Plan) recorded(v int64) bool {
	for _, e := range p.Entries {
		if e.Version == v && e.State != nil {
			return true
		}
	}
	return false
}
