package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/migrate-dev/migrate/migrator"
)

func lintCommand() *cli.Command {
	return &cli.Command{
		Name:   "lint",
		Usage:  "check the migrations for data loss, changes that break a rollout, and statements that cannot run in a transaction (no database needed)",
		Action: cmdLint,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dialect", Usage: "the SQL dialect (" + strings.Join(migrator.DialectNames(), ", ") + "); default: the scheme of --database, which is not connected to"},
			&cli.BoolFlag{Name: "strict", Usage: "fail on warnings too"},
		},
	}
}

func cmdLint(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("lint: takes no arguments, got %q", c.Args().First())
	}
	var (
		d   migrator.Dialect
		err error
	)
	switch {
	case c.String("dialect") != "":
		d, err = migrator.LookupDialect(c.String("dialect"))
	case c.String("database") != "":
		d, err = migrator.DialectForURL(c.String("database"))
	default:
		why := ""
		if unset, _ := c.App.Metadata[urlUnsetKey].(string); unset != "" {
			why = " (" + unset + ")"
		}
		return usagef("lint: name the SQL dialect with --dialect (%s) or --database URL%s; lint does not connect", strings.Join(migrator.DialectNames(), ", "), why)
	}
	if err != nil {
		return usagef("lint: %v", err)
	}
	// Both given, the dialect won without a word: a SQLite folder linted
	// as PostgreSQL misses what SQLite refuses in a transaction.
	if c.String("dialect") != "" && explicit(c, "database", "DATABASE_URL") {
		if byURL, err := migrator.DialectForURL(c.String("database")); err == nil && byURL.Name != d.Name {
			return usagef("lint: --dialect %s and --database (a %s URL) name different dialects; give one of them", c.String("dialect"), byURL.Name)
		}
	}
	src, err := loadFolder(c, migrator.LoadOptions{})
	if err != nil {
		return err
	}
	findings := migrator.Lint(src, d)
	errs, warns := 0, 0
	for _, f := range findings {
		if f.Severity == migrator.SeverityError {
			errs++
		} else {
			warns++
		}
	}
	o := &printer{w: c.App.Writer, json: c.Bool("json")}
	if o.json {
		if findings == nil {
			findings = []migrator.Finding{}
		}
		o.emit(struct {
			Dialect  string             `json:"dialect"`
			Errors   int                `json:"errors"`
			Warnings int                `json:"warnings"`
			Findings []migrator.Finding `json:"findings"`
		}{d.Name, errs, warns, findings})
	} else {
		for _, f := range findings {
			f.File = filepath.ToSlash(f.File)
			fmt.Fprintln(o.w, f.String())
		}
		fmt.Fprintf(o.w, "lint (%s): %d error(s), %d warning(s) in %d migration(s)\n", d.Name, errs, warns, len(src.Migrations))
	}
	if errs > 0 || c.Bool("strict") && warns > 0 {
		return &codedError{err: fmt.Errorf("lint: %d error(s), %d warning(s)", errs, warns), code: exitLint}
	}
	return nil
}
