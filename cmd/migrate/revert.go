package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/migrate-dev/migrate/migrator"
)

func revertCommand() *cli.Command {
	return &cli.Command{
		Name:      "revert",
		Usage:     "revert V: write the next migration that undoes version V, to ship as a roll-forward",
		ArgsUsage: "V",
		Action:    cmdRevert,
	}
}

func cmdRevert(c *cli.Context) error {
	v, err := argInt(c, "V", -1)
	if err != nil {
		return err
	}
	if v == 0 {
		return usagef("revert: V must be a version number above 0")
	}
	return withMigrator(c, func(m *migrator.Migrator, o *printer) error {
		r, err := m.Revert(c.Context, v, c.String("dir"), time.Now())
		if errors.Is(err, migrator.ErrNotReversible) {
			return &codedError{err: err, code: exitRefused}
		}
		if err != nil {
			return err
		}
		if o.json {
			o.emit(r)
			return nil
		}
		if r.DryRun {
			fmt.Fprintln(o.w, "would create", r.UpPath)
			fmt.Fprintln(o.w, "would create", r.DownPath)
			fmt.Fprintln(o.w, "dry run: nothing was written")
			return nil
		}
		fmt.Fprintln(o.w, "created", r.UpPath)
		fmt.Fprintln(o.w, "created", r.DownPath)
		fmt.Fprintf(o.w, "version %s undoes version %d: review both files, commit them, and deploy with `migrate up`\n", r.Version, v)
		return nil
	})
}
