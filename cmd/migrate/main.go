// Command migrate applies and rolls back versioned SQL migrations.
// It only parses flags and prints; the decisions live in package migrator.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	_ "github.com/migrate-dev/migrate/drivers/postgres"
	_ "github.com/migrate-dev/migrate/drivers/sqlite"
)

// Exit codes, documented in README.md.
const (
	exitOK          = 0
	exitFailed      = 1 // a migration statement failed
	exitUsage       = 2 // bad flags or arguments
	exitBadSource   = 3 // the migration folder is invalid
	exitDatabase    = 4 // cannot connect, or a bookkeeping query failed
	exitLock        = 5 // lock not taken within --lock-timeout
	exitBlocked     = 6 // state and folder disagree (failed, changed, missing, out of order)
	exitRefused     = 7 // refused for safety (data loss, environment policy, not disposable)
	exitInterrupted = 130
)

// exitVerifyMismatch: verify found a down that did not restore the schema,
// or an up that did not rebuild it (documented in README.md).
const exitVerifyMismatch = 8

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, args)
	if err == nil {
		return exitOK
	}
	code := exitCode(ctx, err)
	fmt.Fprintln(stderr, "migrate: "+redactAll(err.Error(), args))
	return code
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
