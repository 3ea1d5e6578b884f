package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/migrate-dev/migrate/migrator"
)

// Run sends transactional steps as ONE simple-protocol query string: BEGIN,
// every statement, the state and history writes with their values escaped
// as literals, and COMMIT. That is one round trip and one commit per
// migration where the statement-by-statement path needed five or more.
// Steps that cannot run in a transaction keep the statement-by-statement
// path, because a multi-statement string is itself a transaction block.
func (d *Driver) Run(ctx context.Context, steps []*migrator.Step, inTx bool) error {
	d.track.note(steps)
	if !inTx || streamed(steps) || sqlBytes(steps) > oneStringLimit {
		return d.Store.Run(ctx, steps, inTx)
	}
	b := d.batch(steps)
	conn, done, err := d.Conn(ctx)
	if err != nil {
		return err
	}
	defer done()
	var results []*pgconn.Result
	var execErr error
	err = conn.Raw(func(dc any) error {
		pg := dc.(*stdlib.Conn).Conn().PgConn()
		results, execErr = pg.Exec(ctx, b.sql.String()).ReadAll()
		if execErr != nil && pg.TxStatus() != 'I' && !pg.IsClosed() {
			// The error left the BEGIN of the string open and aborted. It
			// may be the cancel of an interrupted run: the rollback still
			// goes, so that the failure can be recorded on this session.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelWait)
			defer cancel()
			return pg.Exec(rctx, "ROLLBACK").Close()
		}
		return nil
	})
	if execErr != nil {
		return d.Lost(ctx, b.failure(results, execErr))
	}
	if err != nil {
		return d.Lost(ctx, err)
	}
	for i, st := range steps {
		st.History.Duration = b.duration(results, i)
	}
	return nil
}

// oneStringLimit bounds the SQL sent as one string. Past it the payload,
// not the round trips, is the cost, and one string would be another copy of
// a data migration in memory: it runs statement by statement instead.
const oneStringLimit = 8 << 20

// streamed reports whether a step reads a large script as it runs; one
// string would hold all of it.
func streamed(steps []*migrator.Step) bool {
	for _, st := range steps {
		if st.Streamed() {
			return true
		}
	}
	return false
}

func sqlBytes(steps []*migrator.Step) int {
	n := 0
	for _, st := range steps {
		for _, stmt := range st.Statements {
			n += len(stmt.Text) * max(stmt.Repeat, 1)
		}
	}
	return n
}

// piece is one command of the query string, in the order sent.
type piece struct {
	// runeStart is where the command starts, in characters, because
	// PgError.Position counts characters.
	runeStart int
	step      *migrator.Step
	// stmt is the 0-based statement of step, or -1 for bookkeeping.
	stmt    int
	text    string
	history bool // the history INSERT, whose RETURNING gives the duration
}

type batch struct {
	sql    strings.Builder
	runes  int
	pieces []piece
}

func (b *batch) add(p piece) {
	if b.sql.Len() > 0 {
		b.sql.WriteString(";\n")
		b.runes += 2
	}
	p.runeStart = b.runes
	b.pieces = append(b.pieces, p)
	b.sql.WriteString(p.text)
	b.runes += utf8.RuneCountInString(p.text)
}

func (d *Driver) batch(steps []*migrator.Step) *batch {
	b := &batch{}
	b.add(piece{stmt: -1, text: "BEGIN"})
	for _, st := range steps {
		// Each step's history row times that step alone, on the server's
		// clock, also when several steps share the string.
		b.add(piece{step: st, stmt: -1, text: `SELECT set_config('migrate.step_start', clock_timestamp()::text, true)`})
		for i, stmt := range st.Statements {
			for r := 0; r < max(stmt.Repeat, 1); r++ {
				b.add(piece{step: st, stmt: i, text: stmt.Text})
			}
		}
		state, history := d.bookkeeping(st)
		b.add(piece{step: st, stmt: -1, text: ownSession})
		for _, q := range state {
			b.add(piece{step: st, stmt: -1, text: q})
		}
		if history != "" {
			b.add(piece{step: st, stmt: -1, text: history, history: true})
		}
		for _, q := range resetSession {
			b.add(piece{step: st, stmt: -1, text: q})
		}
	}
	b.add(piece{stmt: -1, text: "COMMIT"})
	return b
}

// bookkeeping is the state and history writes of a step, as literal SQL.
func (d *Driver) bookkeeping(st *migrator.Step) (state []string, history string) {
	var out []string
	r := st.State.Row
	switch st.State.Kind {
	case migrator.SetState, migrator.RemoveState:
		out = append(out, fmt.Sprintf(`DELETE FROM %s WHERE version = %d`, d.StateTable, r.Version))
	}
	if st.State.Kind == migrator.SetState {
		failed := "NULL"
		if r.FailedStatement > 0 {
			failed = strconv.Itoa(r.FailedStatement)
		}
		out = append(out, fmt.Sprintf(`INSERT INTO %s (version, name, checksum, status, applied_at, failed_statement, error) VALUES (%d, %s, %s, %s, clock_timestamp(), %s, %s)`,
			d.StateTable, r.Version, literal(r.Name), literal(r.Checksum), literal(string(r.Status)), failed, nullable(r.Error)))
	}
	h := st.History
	if h.Direction != "" {
		history = fmt.Sprintf(`INSERT INTO %s (version, name, direction, checksum, started_at, duration_ms, success, error, db_user, os_user, host, tool_version) VALUES (%d, %s, %s, %s, current_setting('migrate.step_start')::timestamptz, extract(epoch FROM clock_timestamp() - current_setting('migrate.step_start')::timestamptz) * 1000, %t, %s, current_user, %s, %s, %s) RETURNING duration_ms`,
			d.HistoryTable, h.Version, literal(h.Name), literal(string(h.Direction)), literal(h.Checksum), h.Success, nullable(h.Error), literal(h.OSUser), literal(h.Host), literal(h.ToolVersion))
	}
	return out, history
}

// literal quotes s as an escape string, which reads the same whatever
// standard_conforming_strings is set to.
func literal(s string) string {
	return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

func nullable(s string) string {
	if s == "" {
		return "NULL"
	}
	return literal(s)
}

// duration is step i's run time as its history row recorded it.
func (b *batch) duration(results []*pgconn.Result, step int) time.Duration {
	seen := -1
	var last *migrator.Step
	for i, p := range b.pieces {
		if p.step != nil && p.step != last {
			last = p.step
			seen++
		}
		if seen == step && p.history && i < len(results) && len(results[i].Rows) == 1 {
			ms, err := strconv.ParseFloat(string(results[i].Rows[0][0]), 64)
			if err == nil {
				return time.Duration(ms * float64(time.Millisecond))
			}
		}
	}
	return 0
}

// failure maps an error of the query string to the command that raised it.
// A position (parse and analysis errors) points into the string; without
// one (errors while executing) the failing command is the first one
// without a completed result, as the server stops at the first error.
func (b *batch) failure(results []*pgconn.Result, err error) error {
	idx := 0
	for idx < len(results) && results[idx].Err == nil {
		idx++
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		// The connection failed, not a command: nothing says which one.
		return fmt.Errorf("running version %d: %w", b.pieces[1].step.Migration.Version, err)
	}
	pos := 0
	if pe.Position > 0 {
		pos = int(pe.Position) - 1
		idx = sort.Search(len(b.pieces), func(i int) bool { return b.pieces[i].runeStart > pos }) - 1
	}
	if idx < 0 || idx >= len(b.pieces) {
		return err
	}
	p := b.pieces[idx]
	switch {
	case p.step != nil && p.stmt >= 0:
		line := 0
		if pos > 0 {
			line = 1 + strings.Count(runePrefix(p.text, pos-p.runeStart), "\n")
		}
		return p.step.Failure(p.stmt, p.step.Statements[p.stmt], err, line)
	case p.step != nil:
		return fmt.Errorf("version %d ran but its bookkeeping failed: %w", p.step.Migration.Version, err)
	case idx == len(b.pieces)-1:
		last := b.pieces[idx-1].step
		return fmt.Errorf("committing version %d: %w", last.Migration.Version, err)
	default:
		return fmt.Errorf("beginning a transaction: %w", err)
	}
}

// runePrefix returns the first n characters of s.
func runePrefix(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
