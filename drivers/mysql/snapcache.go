package mysql

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/migrate-dev/migrate/migrator"
	"github.com/migrate-dev/migrate/migrator/schema"
)

// tracker follows the statements the driver runs while verify tracks
// changes, and keeps what the last snapshot read.
type tracker struct {
	mu sync.Mutex
	on bool
	// run counts TrackChanges calls, so that a stop, or a snapshot begun,
	// in one run does nothing to the next.
	run     int
	pending changes
	last    *snapCache
}

// TrackChanges makes each snapshot read again only the tables that the
// scripts run through this driver since the last one may have changed,
// until stop is called. It is right only while nothing else changes the
// database, which verify ensures and checks.
func (d *Driver) TrackChanges() (stop func()) {
	t := &d.track
	t.mu.Lock()
	defer t.mu.Unlock()
	t.run++
	run := t.run
	t.on, t.pending, t.last = true, changes{}, nil
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.run == run {
			t.on, t.pending, t.last = false, changes{}, nil
		}
	}
}

// note reads the statements of steps about to run in database db. They are
// noted before they run: a step that fails halfway has still changed what
// its first statements changed.
func (t *tracker) note(steps []*migrator.Step, db string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.on {
		return
	}
	if !migrator.HeldStatements(steps, func(text string) { t.pending.note(text, db) }) {
		t.pending.all = true
	}
}

// begin returns the last snapshot's reading and what changed since, nil
// when changes are not tracked, and the run they belong to.
func (t *tracker) begin() (*snapCache, changes, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.on {
		return nil, changes{}, 0
	}
	last, ch := t.last, t.pending
	t.pending = changes{}
	return last, ch, t.run
}

// end keeps what a snapshot of run read for the next one; nil, after a
// failed snapshot, makes the next one read everything.
func (t *tracker) end(run int, next *snapCache) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.on && t.run == run {
		t.last = next
	}
}

// Run notes the statements of steps when changes are tracked, and runs
// them.
func (d *Driver) Run(ctx context.Context, steps []*migrator.Step, inTx bool) error {
	d.track.note(steps, d.urlDatabase)
	return d.Store.Run(ctx, steps, inTx)
}

// snapCache is what one snapshot read.
type snapCache struct {
	schema    string
	tables    map[string]cachedTable
	views     []schema.View
	functions []schema.Function
	triggers  []schema.Trigger
}

type cachedTable struct {
	table     schema.Table
	collation string
}

// maxNamed is how many tables a snapshot names in its queries; past it,
// it reads every table and skips the rows of the ones it keeps.
const maxNamed = 100

// keep puts in r.tables the tables to read, and returns the others, taken
// from the last snapshot c: a table is read again when it is new, its
// collation changed, the statements run since named it, or one of its
// foreign keys references a table they named (renaming a referenced
// column or table rewrites the reference).
func (c *snapCache) keep(r *myReading, ch changes) map[string]cachedTable {
	kept := map[string]cachedTable{}
	for name, collation := range r.collations {
		if c != nil {
			old, ok := c.tables[name]
			if ok && old.collation == collation && !ch.tables[strings.ToLower(name)] && !referencesAny(old.table, ch.tables) {
				kept[name] = old
				continue
			}
		}
		r.tables[name] = &schema.Table{Name: name}
	}
	if len(kept) == 0 || len(r.tables) > maxNamed {
		return kept
	}
	names := make([]string, 0, len(r.tables))
	for name := range r.tables {
		names = append(names, hexLiteral(name))
	}
	sort.Strings(names)
	r.names = strings.Join(names, ", ")
	return kept
}

func referencesAny(t schema.Table, tables map[string]bool) bool {
	for _, k := range t.Constraints {
		if k.Kind == schema.ForeignKey && tables[strings.ToLower(k.RefTable)] {
			return true
		}
	}
	return false
}

// objectsKept says views and routines can be taken from c: no statement
// since created, altered or dropped one.
func (c *snapCache) objectsKept(ch changes) bool { return c != nil && !ch.objects }

// triggersKept says triggers can be taken from c: besides views and
// routines, no table with a trigger was named (dropping or renaming a
// table drops or moves its triggers).
func (c *snapCache) triggersKept(ch changes) bool {
	if !c.objectsKept(ch) {
		return false
	}
	for _, t := range c.triggers {
		if ch.tables[strings.ToLower(t.Table)] {
			return false
		}
	}
	return true
}

// keepAll sets *dst to a copy of kept, which a snapshot's sort must not
// reorder under another, and reports true.
func keepAll[T any](dst *[]T, kept []T) bool {
	*dst = append([]T(nil), kept...)
	return true
}
