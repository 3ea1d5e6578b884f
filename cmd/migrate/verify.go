package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/migrate-dev/migrate/migrator"
)

// verifyCommand proves every pending migration reversible on a database
// that may be destroyed.
func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "on a disposable database, run each pending migration up, down and up again and check the schema after each (exit 9 on a mismatch)",
		Description: "For each pending migration: snapshot the schema, up, snapshot, down, compare with the first snapshot,\n" +
			"up again, compare with the second. Stops at the first difference and names it.\n" +
			"It runs every down script, so it refuses to start unless you pass --scratch (verify in a new\n" +
			"database on the same server, dropped afterwards) or --i-know-this-database-is-disposable.",
		Action: cmdVerify,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "scratch", Usage: "create a temporary database on the same server, verify there, drop it afterwards"},
			&cli.BoolFlag{Name: "i-know-this-database-is-disposable", Usage: "verify on --database itself; its data may be destroyed"},
		},
	}
}

func cmdVerify(c *cli.Context) error {
	return withMigrator(c, func(m *migrator.Migrator, o *printer) error {
		start := time.Now()
		rep, err := m.Verify(c.Context, migrator.VerifyOptions{
			Scratch:    c.Bool("scratch"),
			Disposable: c.Bool("i-know-this-database-is-disposable"),
			Progress:   o.verifyStep,
		})
		o.verifyReport(rep, err, time.Since(start))
		var ve *migrator.VerifyError
		switch {
		case errors.Is(err, migrator.ErrNotDisposable):
			return &codedError{err: err, code: exitRefused}
		case errors.As(err, &ve):
			return &codedError{err: fmt.Errorf("verify: version %d (%s) failed its %s check with %d difference(s), listed above", ve.Version, ve.Name, ve.Step, len(ve.Diff)), code: exitVerifyMismatch}
		case errors.Is(err, migrator.ErrChangedOutside):
			return &codedError{err: err, code: exitVerifyMismatch}
		}
		return err
	})
}

// verifyStep prints one line per step as it finishes, with the
// differences under a failed one.
func (o *printer) verifyStep(s migrator.VerifyStep) {
	if o.json {
		return
	}
	result := "ok"
	if !s.OK {
		result = "DIFF"
	}
	line := fmt.Sprintf("%-40s  %-8s  %-4s  (%s)", fmt.Sprintf("%04d_%s", s.Version, s.Name), s.Step, result, ms(s.Duration))
	if s.Note != "" {
		line += "  " + s.Note
	}
	fmt.Fprintln(o.w, line)
	for _, d := range s.Diff {
		fmt.Fprintln(o.w, "    "+d.String())
	}
}

func (o *printer) verifyReport(rep *migrator.VerifyReport, err error, took time.Duration) {
	if rep == nil {
		return
	}
	if o.json {
		out := struct {
			Command string `json:"command"`
			OK      bool   `json:"ok"`
			*migrator.VerifyReport
			Error string `json:"error,omitempty"`
		}{Command: "verify", OK: err == nil, VerifyReport: rep}
		if err != nil {
			out.Error = err.Error()
		}
		o.emit(out)
		return
	}
	versions := map[int64]bool{}
	for _, s := range rep.Steps {
		versions[s.Version] = true
	}
	where := ""
	if rep.Scratch != "" {
		where = " in scratch database " + rep.Scratch + " (dropped)"
	}
	if len(rep.LeftoverScratch) > 0 {
		fmt.Fprintf(o.w, "note: earlier verify runs that were cut short (killed, or their server connection lost) left scratch databases, which this run did not touch: %s; drop them once no verify is running (DROP DATABASE name; for SQLite, delete the file's folder)\n", strings.Join(rep.LeftoverScratch, ", "))
	}
	if n := len(rep.AlreadyApplied); n > 0 {
		// Counted as verified, they would pass for proven reversible.
		fmt.Fprintf(o.w, "note: %d version(s) were already applied before verify ran and were not verified (left as they are): %s\n", n, versionList(rep.AlreadyApplied))
	}
	switch {
	case err != nil:
		fmt.Fprintf(o.w, "verify stopped after %d step(s)%s\n", len(rep.Steps), where)
	case len(rep.Steps) == 0:
		fmt.Fprintf(o.w, "nothing to verify: no pending migration%s\n", where)
	default:
		fmt.Fprintf(o.w, "verify: %d migration(s) verified in %s%s: each down restored the schema and each up rebuilt it\n", len(versions), ms(took), where)
	}
}

// versionList prints versions for a person: all of a few, or the first and
// the last of many.
func versionList(vs []int64) string {
	parts := make([]string, 0, len(vs))
	for _, v := range vs {
		parts = append(parts, fmt.Sprint(v))
	}
	if len(parts) > 10 {
		return strings.Join(parts[:5], ", ") + ", ..., " + parts[len(parts)-1]
	}
	return strings.Join(parts, ", ")
}
