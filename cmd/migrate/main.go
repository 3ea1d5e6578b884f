// Command migrate applies and rolls back versioned SQL migrations.
// It only parses flags and prints; the decisions live in package migrator.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/urfave/cli/v2"

	_ "github.com/migrate-dev/migrate/drivers/mysql"
	_ "github.com/migrate-dev/migrate/drivers/postgres"
	_ "github.com/migrate-dev/migrate/drivers/sqlite"
	_ "github.com/migrate-dev/migrate/drivers/sqlserver"
)

// Exit codes, documented in README.md.
const (
	exitOK        = 0
	exitFailed    = 1 // a migration statement failed
	exitUsage     = 2 // bad flags or arguments
	exitBadSource = 3 // the migration folder is invalid
	exitDatabase  = 4 // cannot connect, a bookkeeping query failed, or the lock's session was lost
	exitLock      = 5 // lock not taken within --lock-timeout
	exitBlocked   = 6 // state and folder disagree (failed, changed, missing, out of order)
	exitRefused   = 7 // refused for safety (data loss, environment policy, revert of a version that cannot be reverted)
	exitLint      = 8 // lint found errors (or warnings, with --strict)
	// verify found a down that did not restore the schema, an up that did
	// not rebuild it, or a schema changed outside its scripts.
	exitVerifyMismatch = 9
	exitInterrupted    = 130
)

func main() {
	// The MySQL driver logs a dropped connection ("packets.go:58 unexpected
	// EOF") to stderr besides returning it as an error, which is reported
	// in migrate's own words: the log line only reached users as noise
	// under the explanation of an interrupted run.
	_ = mysql.SetLogger(log.New(io.Discard, "", 0))
	// A reader of the output that goes away (`migrate up | head -1`, a log
	// shipper that died) must not stop a deployment between two
	// migrations: Go's default kills the process on the first write to a
	// closed stdout. Ignored, the write fails, nothing more is printed,
	// and the run finishes and exits as it would have.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	out := &countingWriter{w: stdout}
	app := newApp(out, stderr)
	norm, err := normaliseArgs(app, args)
	if err == nil {
		err = app.RunContext(ctx, norm)
	}
	defer warnLostOutput(stderr, out)
	if err == nil {
		return exitOK
	}
	code := exitCode(ctx, err)
	secrets := args
	if v, _ := app.Metadata[urlVarKey].(string); v != "" {
		// The environment's URL variable, beside DATABASE_URL.
		secrets = append(append([]string{}, args...), os.Getenv(v))
	}
	msg := redactAll(err.Error(), secrets)
	fmt.Fprintln(stderr, "migrate: "+msg)
	if out.n == 0 && jsonWanted(args) {
		// A command that failed before printing its report still prints
		// JSON, so that a consumer parsing stdout gets an object, not
		// an empty string.
		p := &printer{w: out, json: true}
		p.emit(struct {
			Error    string `json:"error"`
			ExitCode int    `json:"exit_code"`
		}{msg, code})
	}
	return code
}

// countingWriter counts what was written to stdout, and keeps the first
// write error other than a reader that went away.
type countingWriter struct {
	w   io.Writer
	n   int
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += n
	if err != nil && c.err == nil && !errors.Is(err, syscall.EPIPE) {
		c.err = err
	}
	return n, err
}

// warnLostOutput says on stderr that stdout refused the output (a full
// disk, a closed descriptor), which printing ignores so that the run goes
// on: `migrate status --json > report.json` on a full disk left an empty
// file, exit 0, and not a word. A reader that went away (`migrate up |
// head -1`) is not reported: it chose to read no more.
func warnLostOutput(stderr io.Writer, out *countingWriter) {
	if out.err != nil {
		fmt.Fprintf(stderr, "migrate: warning: writing to standard output failed (%v): the output is incomplete\n", out.err)
	}
}

// jsonWanted reports whether --json was given, read from the arguments
// themselves: an error in parsing them must still be printed as JSON.
func jsonWanted(args []string) bool {
	wanted := false
	for _, a := range args[1:] {
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name != "json" {
			continue
		}
		b, err := strconv.ParseBool(val)
		wanted = !hasVal || err == nil && b
	}
	return wanted
}

// usageError marks bad flags or arguments.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// codedError carries an explicit exit code.
type codedError struct {
	err  error
	code int
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

func exitCode(ctx context.Context, err error) int {
	var (
		ce *codedError
		ue *usageError
	)
	switch {
	case errors.As(err, &ce):
		return ce.code
	case errors.As(err, &ue):
		return exitUsage
	case ctx.Err() != nil:
		return exitInterrupted
	}
	return classify(err)
}

// normaliseArgs lets flags go anywhere, as people type them
// (`migrate repair 3 --applied`, `migrate up --database URL`): urfave/cli
// stops at the first positional argument, so global flags are moved before
// the command and the command's flags before its arguments. A flag that
// takes a value but ends the line is an error here: moved before the
// command, it would take the command as its value (`migrate up --dir` with
// an empty $DIR would print the help and exit 0). So is a flag given twice
// with different values (see repeats).
func normaliseArgs(app *cli.App, args []string) ([]string, error) {
	if len(args) < 2 {
		return args, nil
	}
	find := func(flags []cli.Flag, tok string) cli.Flag {
		name, _, _ := strings.Cut(strings.TrimLeft(tok, "-"), "=")
		for _, f := range flags {
			if slices.Contains(f.Names(), name) {
				return f
			}
		}
		return nil
	}
	takesValue := func(f cli.Flag, tok string) bool {
		_, isBool := f.(*cli.BoolFlag)
		return !isBool && !strings.Contains(tok, "=")
	}
	seen := &repeats{}
	var globals, cmdFlags, positionals []string
	var cmd *cli.Command
	for i := 1; i < len(args); i++ {
		tok := args[i]
		if tok == "--" {
			positionals = append(positionals, args[i:]...)
			break
		}
		if !strings.HasPrefix(tok, "-") || tok == "-" || len(tok) > 1 && tok[1] >= '0' && tok[1] <= '9' {
			if cmd == nil {
				cmd = app.Command(tok)
				if cmd == nil {
					return args, nil // unknown command: let cli report it
				}
				continue
			}
			positionals = append(positionals, tok)
			continue
		}
		f, to := find(app.Flags, tok), &globals
		if f == nil && cmd != nil {
			f, to = find(cmd.Flags, tok), &cmdFlags
		}
		if f == nil {
			cmdFlags = append(cmdFlags, tok)
			continue
		}
		given := []string{tok}
		if takesValue(f, tok) {
			if i+1 == len(args) {
				return nil, usagef("flag %s needs a value", tok)
			}
			i++
			given = append(given, args[i])
		}
		if seen.add(f, given) {
			*to = append(*to, given...)
		}
	}
	if err := seen.err(); err != nil {
		return nil, err
	}
	out := append([]string{args[0]}, globals...)
	if cmd != nil {
		out = append(out, cmd.Name)
	}
	out = append(out, cmdFlags...)
	// A negative number (goto -1) is kept as an argument above, but the
	// command's own flag parser would read it as an unknown flag "-1": the
	// terminator hands it to the command, which says what it must be.
	if len(positionals) > 0 && positionals[0] != "--" && slices.ContainsFunc(positionals, func(p string) bool { return strings.HasPrefix(p, "-") }) {
		out = append(out, "--")
	}
	return append(out, positionals...), nil
}

// repeats finds flags given more than once. The flag package keeps the
// last value without a word, so `migrate --dir a up --dir b` (a script's
// defaults followed by the user's) ran on folder b alone; urfave/cli
// refuses two spellings of one flag (-d and --database) without saying
// which flag's value would have been kept. A flag repeated with the same
// value says nothing new, and is kept once.
type repeats struct {
	order []cli.Flag
	given map[cli.Flag][][]string
}

// add records a flag as given (its tokens: "--dir", "m" or "--dir=m") and
// reports whether it says something new.
func (r *repeats) add(f cli.Flag, given []string) bool {
	if r.given == nil {
		r.given = map[cli.Flag][][]string{}
	}
	prev := r.given[f]
	if prev == nil {
		r.order = append(r.order, f)
	}
	r.given[f] = append(prev, given)
	for _, p := range prev {
		if flagValue(p) == flagValue(given) {
			return false
		}
	}
	return true
}

// err refuses the first flag given with two values.
func (r *repeats) err() error {
	for _, f := range r.order {
		all := r.given[f]
		values := map[string]bool{}
		for _, g := range all {
			values[flagValue(g)] = true
		}
		if len(values) < 2 {
			continue
		}
		var shown []string
		for _, g := range all {
			name, _, _ := strings.Cut(g[0], "=")
			if f.Names()[0] == "database" {
				// A URL may hold a password.
				shown = append(shown, name+" ...")
				continue
			}
			shown = append(shown, fmt.Sprintf("%s %q", name, flagValue(g)))
		}
		times := fmt.Sprintf("%d times", len(all))
		if len(all) == 2 {
			times = "twice"
		}
		return usagef("--%s is given %s (%s): give it once", f.Names()[0], times, strings.Join(shown, ", "))
	}
	return nil
}

// flagValue is the value a flag's tokens give it; a boolean flag alone is
// true.
func flagValue(given []string) string {
	if len(given) == 2 {
		return given[1]
	}
	_, v, ok := strings.Cut(given[0], "=")
	if !ok {
		return "true"
	}
	if b, err := strconv.ParseBool(v); err == nil {
		return strconv.FormatBool(b)
	}
	return v
}
