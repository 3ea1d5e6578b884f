package migrator

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// InvalidIndex is an index the database keeps but does not use: on
// PostgreSQL, what a CREATE INDEX CONCURRENTLY (or REINDEX CONCURRENTLY)
// leaves when it fails or is cut part-way.
type InvalidIndex struct {
	Schema, Name, Table string
}

func (ix InvalidIndex) String() string {
	return fmt.Sprintf("%s.%s on %s.%s", ix.Schema, ix.Name, ix.Schema, ix.Table)
}

// InvalidIndexLister is an optional Driver capability (PostgreSQL): it
// lists the invalid indexes of the database. An invalid index is left by
// a statement that ran outside a transaction, so nothing rolls it back;
// a CREATE INDEX CONCURRENTLY IF NOT EXISTS run again then does nothing,
// and the migration passes for applied with an index that is never used.
type InvalidIndexLister interface {
	InvalidIndexes(ctx context.Context) ([]InvalidIndex, error)
}

// reindexSuffix is what REINDEX CONCURRENTLY adds to the names of the
// indexes it builds and retires (t_idx_ccnew, t_idx_ccold1).
var reindexSuffix = regexp.MustCompile(`_cc(new|old)[0-9]*$`)

// invalidIndexesOf returns the invalid indexes that the scripts of mig
// name: those its failed or cut run may have left. Indexes no script of
// it names are someone else's business. Errors leave the list empty: it
// adds to a report, and must not replace it.
func (m *Migrator) invalidIndexesOf(ctx context.Context, mig *Migration) []InvalidIndex {
	l, ok := m.driver.(InvalidIndexLister)
	if !ok || mig == nil {
		return nil
	}
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	all, err := l.InvalidIndexes(lctx)
	if err != nil && lctx.Err() == nil {
		// After a cut, as for stateAfterLoss: a dead idle connection.
		all, err = l.InvalidIndexes(lctx)
	}
	if err != nil {
		return nil
	}
	return namedBy(mig, all)
}

// namedBy returns the indexes of all that a script of mig names.
func namedBy(mig *Migration, all []InvalidIndex) []InvalidIndex {
	var texts []string
	for _, s := range []*Script{&mig.Up, mig.Down} {
		if s != nil && !s.Large() {
			texts = append(texts, s.SQL)
		}
	}
	var out []InvalidIndex
	for _, ix := range all {
		name := reindexSuffix.ReplaceAllString(ix.Name, "")
		word := regexp.MustCompile(`(?i)(^|[^\w$])` + regexp.QuoteMeta(name) + `($|[^\w$])`)
		for _, text := range texts {
			if word.MatchString(text) {
				out = append(out, ix)
				break
			}
		}
	}
	return out
}

// stuckInvalidIndexes lists d's invalid indexes when a version is failed
// or running (a run that did not finish), and none otherwise: status and
// up then say what such a run left without a query on every run.
func stuckInvalidIndexes(ctx context.Context, d Driver, rows []StateRow) []InvalidIndex {
	l, ok := d.(InvalidIndexLister)
	if !ok {
		return nil
	}
	for _, r := range rows {
		if r.Status == StatusFailed || r.Status == StatusRunning {
			all, err := l.InvalidIndexes(ctx)
			if err != nil {
				return nil // a note, not a reason to fail status
			}
			return all
		}
	}
	return nil
}

// noteInvalidIndexes adds to the fix of each failed or interrupted version
// the invalid indexes its scripts name: a SIGKILL leaves no failure
// report to name them.
func (p *Plan) noteInvalidIndexes(all []InvalidIndex) {
	if len(all) == 0 {
		return
	}
	for i := range p.Entries {
		e := &p.Entries[i]
		if (e.Status != Failed && e.Status != Running) || e.Migration == nil {
			continue
		}
		if ixs := namedBy(e.Migration, all); len(ixs) > 0 {
			e.Fix += "; and " + invalidIndexNote("its run", ixs)
		}
	}
}

// invalidIndexNote says what to do about invalid indexes that who (a run)
// left.
func invalidIndexNote(who string, ixs []InvalidIndex) string {
	names := make([]string, 0, len(ixs))
	drops := make([]string, 0, len(ixs))
	for _, ix := range ixs {
		names = append(names, ix.String())
		drops = append(drops, fmt.Sprintf("DROP INDEX CONCURRENTLY %s.%s;", sqlName(ix.Schema), sqlName(ix.Name)))
	}
	return fmt.Sprintf("%s left INVALID index(es) %s: built part-way outside a transaction, never used by queries, and not removed by any rollback; drop them (%s) before running the migration again or recording it with `migrate repair`", who, strings.Join(names, ", "), strings.Join(drops, " "))
}

// withInvalidIndexes adds to err, the failure of step s outside a
// transaction, the invalid indexes its scripts name.
func (m *Migrator) withInvalidIndexes(ctx context.Context, s *Step, err error) error {
	ixs := m.invalidIndexesOf(ctx, s.Migration)
	if len(ixs) == 0 {
		return err
	}
	return fmt.Errorf("%w\n%s", err, invalidIndexNote(fmt.Sprintf("version %d", s.Migration.Version), ixs))
}

// createIfNotExists finds the index names of CREATE INDEX ... IF NOT
// EXISTS, which does nothing, without a word, when an invalid index of
// that name is there.
var createIfNotExists = regexp.MustCompile(`(?is)\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?IF\s+NOT\s+EXISTS\s+"?([\w$]+)"?`)

// refuseOverInvalidIndex refuses to run step s when its script creates,
// IF NOT EXISTS, an index whose name an invalid index has: the statement
// would succeed doing nothing and the version be recorded as applied.
func (m *Migrator) refuseOverInvalidIndex(ctx context.Context, s *Step) error {
	if s.Script.Large() {
		return nil
	}
	created := map[string]bool{}
	for _, sub := range createIfNotExists.FindAllStringSubmatch(s.Script.SQL, -1) {
		created[strings.ToLower(sub[1])] = true
	}
	if len(created) == 0 {
		return nil
	}
	var hit []InvalidIndex
	for _, ix := range m.invalidIndexesOf(ctx, s.Migration) {
		if created[strings.ToLower(ix.Name)] {
			hit = append(hit, ix)
		}
	}
	if len(hit) == 0 {
		return nil
	}
	return misfitf("%s creates an index IF NOT EXISTS, which would do nothing over the index of that name there: %s; nothing was run", s.Script.Path, invalidIndexNote("an earlier run that did not finish", hit))
}

// plainName is a name PostgreSQL reads as written without quotes.
var plainName = regexp.MustCompile(`^[a-z_][a-z0-9_$]*$`)

// sqlName writes a name for a statement to copy: quoted unless it reads
// the same without quotes (an index named "Orders_Idx" is not orders_idx).
func sqlName(name string) string {
	if plainName.MatchString(name) {
		return name
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
