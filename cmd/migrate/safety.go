package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/migrate-dev/migrate/migrator"
)

// allowDataLossFlag is given to every command that can roll back.
func allowDataLossFlag() cli.Flag {
	return &cli.BoolFlag{Name: "allow-data-loss", Usage: "run down scripts that drop tables or columns, truncate, or delete without WHERE (refused otherwise, exit 7)"}
}

// isRefusal reports a safety refusal: data loss, environment policy, or a
// revert that would not undo what the database holds.
func isRefusal(err error) bool {
	var r interface{ Refused() }
	return errors.As(err, &r)
}

// isBadArgument reports an error the engine marks as the arguments' fault.
func isBadArgument(err error) bool {
	var b interface{ BadArgument() }
	return errors.As(err, &b)
}

// printDataLoss warns, in a dry run, about what the rollback would destroy.
func printDataLoss(w io.Writer, losses []migrator.Loss) {
	if len(losses) == 0 {
		return
	}
	fmt.Fprintln(w, "warning: this rollback destroys data; without --dry-run it is refused unless --allow-data-loss is given:")
	for _, l := range losses {
		fmt.Fprintln(w, "  "+l.String())
	}
}
