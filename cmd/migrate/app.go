package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/migrate-dev/migrate/migrator"
	"github.com/migrate-dev/migrate/migrator/sqlsplit"
)

// usageErrorHandler turns a flag the parser rejects into a usage error
// (exit 2) reported in one line, instead of a page of help.
func usageErrorHandler(c *cli.Context, err error, _ bool) error {
	if m := unknownFlagRE.FindStringSubmatch(err.Error()); m != nil {
		return &usageError{unknownFlagMessage(c, m[1])}
	}
	return &usageError{flagValueMessage(err.Error())}
}

// unknownFlagRE matches the flag package's error for an unknown flag, which
// spells it with one dash.
var unknownFlagRE = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)

// unknownFlagMessage says whose flag an unknown one is, when another
// command has it: `down --single-transaction` said only that the flag was
// "not defined".
func unknownFlagMessage(c *cli.Context, name string) string {
	var owners []string
	for _, cmd := range c.App.Commands {
		for _, f := range cmd.Flags {
			if slices.Contains(f.Names(), name) {
				owners = append(owners, cmd.Name)
			}
		}
	}
	if c.Command == nil || c.Command.Name == "" || len(owners) == 0 {
		return fmt.Sprintf("unknown flag --%s (run migrate --help, or migrate help COMMAND, for the flags)", name)
	}
	return fmt.Sprintf("%s has no flag --%s: it is a flag of %s", c.Command.Name, name, strings.Join(owners, ", "))
}

// badFlagValueRE matches the flag package's "invalid value" errors, which
// spell the flag with one dash and end in a bare "parse error".
var badFlagValueRE = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-([a-z][a-z-]*): parse error$`)

// flagValueMessage says what a flag's value should look like: "invalid
// value \"15\" for flag -lock-timeout: parse error" did not say that a
// duration needs its unit.
func flagValueMessage(msg string) string {
	m := badFlagValueRE.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	value, flag := m[1], m[2]
	want := "a value of its kind"
	switch flag {
	case "lock-timeout":
		want = "a duration such as 30s, 2m or 1h (the unit is needed, and at most 2562047h; 0 tries once and does not wait)"
	default:
		if strings.Contains(msg, "boolean") {
			want = "true or false (or the flag alone for true)"
		}
	}
	return fmt.Sprintf("--%s: %q is not %s", flag, value, want)
}

// help answers `migrate help [COMMAND]`, the spelling git and go taught,
// like `migrate [COMMAND] --help`.
func help(c *cli.Context, args []string) error {
	// Flags after the command name are not moved before it (help is not a
	// command to the parser), and mean nothing for help.
	args = slices.DeleteFunc(slices.Clone(args), func(a string) bool { return strings.HasPrefix(a, "-") })
	switch {
	case len(args) == 0:
		return cli.ShowAppHelp(c)
	case len(args) > 1:
		return usagef("help takes one command name, not %d words", len(args))
	case c.App.Command(args[0]) == nil:
		return usagef("help %s: unknown command %q (run migrate --help for the list)", args[0], args[0])
	}
	return cli.ShowCommandHelp(c, args[0])
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:      "migrate",
		Usage:     "versioned SQL migrations with safe rollbacks and a full history",
		Writer:    stdout,
		ErrWriter: stderr,
		// Errors are printed once, by run, with passwords removed.
		ExitErrHandler:  func(*cli.Context, error) {},
		HideHelpCommand: true,
		OnUsageError:    usageErrorHandler,
		Action: func(c *cli.Context) error {
			if c.Args().First() == "help" {
				return help(c, c.Args().Tail())
			}
			if c.NArg() > 0 {
				return usagef("unknown command %q (run migrate --help for the list)", c.Args().First())
			}
			// Flags but no command is a script whose command variable came
			// out empty (or a flag that took the command as its value):
			// the help and exit 0 would pass for a run that did nothing.
			if given, _ := c.App.Metadata[flagsGivenKey].(int); given > 0 {
				return usagef("no command given (run migrate --help for the list)")
			}
			return cli.ShowAppHelp(c)
		},
		Before: applyEnvironment,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "database", Aliases: []string{"d"}, EnvVars: []string{"DATABASE_URL"}, Usage: "database URL (sqlite:file.db, postgres://..., mysql://..., sqlserver://...)"},
			&cli.StringFlag{Name: "dir", EnvVars: []string{"MIGRATE_DIR"}, Value: "./migrations", Usage: "folder holding the migration files"},
			&cli.BoolFlag{Name: "json", Usage: "print machine-readable JSON"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the SQL that would run, change nothing"},
			&cli.DurationFlag{Name: "lock-timeout", Value: 15 * time.Second, Usage: "how long to wait for another migrate to finish"},
			&cli.StringFlag{Name: "state-table", Value: migrator.DefaultStateTable, Usage: "name of the table holding applied versions"},
			&cli.StringFlag{Name: "history-table", Value: migrator.DefaultHistoryTable, Usage: "name of the append-only history table"},
			&cli.StringFlag{Name: "schema", Usage: "schema holding migrate's tables (PostgreSQL, SQL Server)"},
		}, environmentFlags()...),
		Commands: []*cli.Command{
			{Name: "create", Usage: "create NAME: write the next pair of up/down files", ArgsUsage: "NAME", Action: cmdCreate,
				Flags: []cli.Flag{&cli.BoolFlag{Name: "timestamp", Usage: "version by UTC timestamp (20260101120000) instead of the next number"}}},
			{Name: "up", Usage: "apply pending migrations (all, or the next N)", ArgsUsage: "[N]", Action: cmdUp,
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "single-transaction", Usage: "apply all pending migrations in one transaction, all or nothing"},
					&cli.BoolFlag{Name: "allow-out-of-order", Usage: "apply pending versions older than the newest applied one"},
				}},
			{Name: "down", Usage: "roll back the newest N applied migrations (default 1)", ArgsUsage: "[N]", Action: cmdDown, Flags: []cli.Flag{allowDataLossFlag()}},
			{Name: "goto", Usage: "migrate up or down to version V (0 rolls everything back)", ArgsUsage: "V", Action: cmdGoto, Flags: []cli.Flag{allowDataLossFlag()}},
			{Name: "redo", Usage: "roll back the newest migration and apply it again", Action: cmdRedo, Flags: []cli.Flag{allowDataLossFlag()}},
			{Name: "status", Usage: "show every version: applied, pending, failed, changed, missing", Action: cmdStatus},
			{Name: "history", Usage: "show the append-only history of applies, rollbacks, failures and repairs", Action: cmdHistory},
			lintCommand(),
			revertCommand(),
			{Name: "validate", Usage: "check the folder and the database agree (exit 6 when not)", Action: cmdValidate},
			{Name: "baseline", Usage: "mark versions up to V as applied without running them", ArgsUsage: "V", Action: cmdBaseline},
			{Name: "repair", Usage: "record what you did about a failed, changed or missing version", ArgsUsage: "V",
				Action: cmdRepair,
				Flags: []cli.Flag{
					&cli.BoolFlag{Name: "applied", Usage: "the failed migration was finished by hand: mark it applied"},
					&cli.BoolFlag{Name: "rolled-back", Usage: "the failed migration's changes were undone by hand: mark it not applied"},
					&cli.BoolFlag{Name: "accept-checksum", Usage: "accept the edited file of an applied migration"},
					&cli.BoolFlag{Name: "forget", Usage: "drop a version whose files are gone from the state (history keeps it)"},
				}},
			verifyCommand(),
			{Name: "version", Usage: "print the tool version", Action: func(c *cli.Context) error {
				if c.Bool("json") {
					(&printer{w: c.App.Writer, json: true}).emit(map[string]string{"version": migrator.ToolVersionString()})
					return nil
				}
				fmt.Fprintln(c.App.Writer, "migrate", migrator.ToolVersionString())
				return nil
			}},
		},
	}
	for _, cmd := range app.Commands {
		cmd.OnUsageError = usageErrorHandler
		if cmd.ArgsUsage == "" {
			cmd.Before = noArguments
		}
	}
	return app
}

// noArguments refuses arguments to a command that takes none: `migrate redo
// 3` would otherwise redo the newest version, whatever 3 was meant to say.
func noArguments(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("%s takes no arguments, got %q", c.Command.Name, c.Args().Slice())
	}
	return nil
}

func argInt(c *cli.Context, what string, def int64) (int64, error) {
	switch c.NArg() {
	case 0:
		if def < 0 {
			return 0, usagef("%s: missing argument %s", c.Command.Name, what)
		}
		return def, nil
	case 1:
		// ParseInt takes a "+", and "goto +1" (one step forward, to its
		// writer) went to version 1, rolling back everything after it;
		// and "-0", which "goto -0" read as 0, rolling back everything.
		if arg := c.Args().First(); strings.HasPrefix(arg, "+") || strings.HasPrefix(arg, "-") && strings.Trim(arg[1:], "0") == "" && len(arg) > 1 {
			hint := ""
			if what == "V" {
				hint = ": V is a version number, not a step (to move N steps, use up N or down N)"
			}
			return 0, usagef("%s: %s is written in digits alone, without a sign, got %q%s", c.Command.Name, what, arg, hint)
		}
		v, err := strconv.ParseInt(c.Args().First(), 10, 64)
		if tooLarge(c.Args().First()) {
			return 0, usagef("%s: %s %s is too large: at most %d", c.Command.Name, what, c.Args().First(), int64(math.MaxInt64))
		}
		if err != nil || v < 0 {
			return 0, usagef("%s: %s must be a non-negative integer, got %q", c.Command.Name, what, c.Args().First())
		}
		return v, nil
	default:
		return 0, usagef("%s: takes at most one argument (%s), got %d", c.Command.Name, what, c.NArg())
	}
}

// argCount reads the optional N of up and down: 0 when omitted. A written
// 0 is refused rather than read as "all" or "one", which is not what it says.
func argCount(c *cli.Context, hint string) (int64, error) {
	n, err := argInt(c, "N", 0)
	if arg := c.Args().First(); c.NArg() == 1 && n == 0 && !tooLarge(arg) && !strings.HasPrefix(arg, "+") {
		return 0, usagef("%s: N must be a positive integer, got %q (%s)", c.Command.Name, c.Args().First(), hint)
	}
	return n, err
}

// tooLarge is whether arg is a positive integer beyond int64, which
// deserves a message of its own rather than "must be an integer".
func tooLarge(arg string) bool {
	v, err := strconv.ParseInt(arg, 10, 64)
	return errors.Is(err, strconv.ErrRange) && v > 0
}

var createNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_\-]*$`)

func cmdCreate(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("create: give exactly one NAME, such as add_orders")
	}
	name := c.Args().First()
	if !createNameRE.MatchString(name) {
		return usagef("create: NAME %q may hold only ASCII letters, digits, _ and -, starting with a letter or digit", name)
	}
	dir := c.String("dir")
	dryRun := c.Bool("dry-run")
	if !dryRun {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return folderError(dir, err)
		}
	}
	var version string
	if c.Bool("timestamp") {
		// Two creates in one second got the same version, which made the
		// folder invalid: the second takes the next one.
		v, err := migrator.NextTimestamp(dir, time.Now())
		if err != nil {
			var se *migrator.SourceError
			if errors.As(err, &se) {
				return err
			}
			return folderError(dir, err)
		}
		version = v
	} else {
		next, width, err := migrator.NextSequential(dir)
		if err != nil {
			var se *migrator.SourceError
			if errors.As(err, &se) {
				return err
			}
			return folderError(dir, err)
		}
		version = fmt.Sprintf("%0*d", width, next)
	}
	// Most file systems allow 255 bytes in a name; past that the error
	// would come from the write, as if the folder could not be written.
	if long := fmt.Sprintf("%s_%s.down.sql", version, name); len(long) > 255 {
		return usagef("create: NAME is too long: %s would be %d bytes, and file names may have at most 255", long[:40]+"...", len(long))
	}
	// Under --json the files go into one object at the end, so that
	// stdout holds one JSON value as for every other command.
	o := &printer{w: c.App.Writer, json: c.Bool("json")}
	created := createdFiles{Command: "create", Version: version, Name: name, DryRun: dryRun}
	for _, dirn := range []string{"up", "down"} {
		p := filepath.Join(dir, fmt.Sprintf("%s_%s.%s.sql", version, name, dirn))
		if dirn == "up" {
			created.UpPath = p
		} else {
			created.DownPath = p
		}
		if dryRun {
			if !o.json {
				fmt.Fprintln(c.App.Writer, "would create", p)
			}
			continue
		}
		body := fmt.Sprintf("-- %s: %s (%s)\n", name, dirn, map[string]string{"up": "apply the change", "down": "undo exactly what the up script did"}[dirn])
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return folderError(dir, err)
		}
		_, err = f.WriteString(body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		if !o.json {
			fmt.Fprintln(c.App.Writer, "created", p)
		}
	}
	if o.json {
		o.emit(created)
	}
	return nil
}

// createdFiles is create's report under --json.
type createdFiles struct {
	Command  string `json:"command"`
	Version  string `json:"version"`
	Name     string `json:"name"`
	UpPath   string `json:"up"`
	DownPath string `json:"down"`
	DryRun   bool   `json:"dry_run"`
}

// folderError explains why create could not read or write the migration
// folder. It is a folder problem (exit 3), not a database one (exit 4,
// which invites a retry that cannot help).
func folderError(dir string, err error) error {
	var hint string
	var pe *fs.PathError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(err, fs.ErrPermission):
			// Creating a file or folder takes write permission on the
			// folder holding it.
			where := filepath.Dir(pe.Path)
			if pe.Op == "open" && pe.Path == dir {
				where = dir
			}
			hint = fmt.Sprintf("; run migrate as a user who may read and write in %s, or pass another --dir", where)
		case errors.Is(err, fs.ErrExist) && pe.Op == "mkdir":
			// MkdirAll met a name that is there but is no folder: a
			// symbolic link that leads nowhere.
			if target, lerr := os.Readlink(pe.Path); lerr == nil {
				hint = fmt.Sprintf("; %s is a symbolic link to %s, which does not lead to a folder", pe.Path, target)
			}
		case errors.Is(err, syscall.ENOTDIR):
			hint = fmt.Sprintf("; --dir (or MIGRATE_DIR) %s must be a folder, but %s is a file", dir, pe.Path)
		}
	}
	return &codedError{err: fmt.Errorf("create: %w%s", err, hint), code: exitBadSource}
}

func cmdUp(c *cli.Context) error {
	n, err := argCount(c, "omit it to apply every pending migration")
	if err != nil {
		return err
	}
	return withMigrator(c, func(m *migrator.Migrator, o *printer) error {
		rep, err := m.Up(c.Context, int(n))
		return o.report("up", rep, err)
	})
}

func cmdDown(c *cli.Context) error {
	n, err := argCount(c, "use goto 0 to roll back everything")
	if err != nil {
		return err
	}
	if n == 0 {
		n = 1
	}
	return withMigrator(c, func(m *migrator.Migrator, o *printer) error {
		rep, err := m.Down(c.Context, int(n))
		return o.report("down", rep, err)
	})
}

func cmdGoto(c *cli.Context) error {
	v, err := argInt(c, "V", -1)
	if err != nil {
		return err
	}
	return withMigrator(c, func(m *migrator.Migrator, o *printer) error {
		rep, err := m.Goto(c.Context, v)
		return o.report("goto", rep, err)
	})
}

func cmdRedo(c *cli.Context) error {
	return withMigrator(c, func(m *migrator.Migrator, o *printer) error {
		rep, err := m.Redo(c.Context)
		return o.report("redo", rep, err)
	})
}

func cmdBaseline(c *cli.Context) error {
	v, err := argInt(c, "V", -1)
	if err != nil {
		return err
	}
	return withMigrator(c, func(m *migrator.Migrator, o *printer) error {
		rep, err := m.Baseline(c.Context, v)
		return o.report("baseline", rep, err)
	})
}

func cmdRepair(c *cli.Context) error {
	v, err := argInt(c, "V", -1)
	if err != nil {
		return err
	}
	var actions []migrator.RepairAction
	for _, a := range []migrator.RepairAction{migrator.RepairApplied, migrator.RepairRolledBack, migrator.RepairAcceptChecksum, migrator.RepairForget} {
		if c.Bool(string(a)) {
			actions = append(actions, a)
		}
	}
	if len(actions) != 1 {
		return usagef("repair %d: say what happened with exactly one of --applied, --rolled-back, --accept-checksum, --forget", v)
	}
	return withMigrator(c, func(m *migrator.Migrator, o *printer) error {
		rep, err := m.Repair(c.Context, v, actions[0])
		return o.report("repair", rep, err)
	})
}

func cmdStatus(c *cli.Context) error {
	return inspect(c, func(p *migrator.Plan, o *printer) error {
		o.status(p)
		return nil
	})
}

func cmdValidate(c *cli.Context) error {
	return inspect(c, func(p *migrator.Plan, o *printer) error {
		problems := p.Problems()
		o.validate(problems)
		if len(problems) > 0 {
			return &codedError{err: fmt.Errorf("validate: %d version(s) need attention", len(problems)), code: exitBlocked}
		}
		return nil
	})
}

func cmdHistory(c *cli.Context) error {
	return withMigratorFor(c, statusOnly, func(m *migrator.Migrator, o *printer) error {
		h, err := m.History(c.Context)
		if err != nil {
			return err
		}
		o.history(h)
		return nil
	})
}

// withMigrator loads the folder (before touching the database, so a bad
// folder is reported without a connection), opens the driver and runs fn.
func withMigrator(c *cli.Context, fn func(*migrator.Migrator, *printer) error) error {
	return withMigratorFor(c, migrator.LoadOptions{}, fn)
}

// statusOnly loads what commands that only compare the folder with the
// database need: the up scripts' checksums.
var statusOnly = migrator.LoadOptions{SkipDownScripts: true}

func withMigratorFor(c *cli.Context, load migrator.LoadOptions, fn func(*migrator.Migrator, *printer) error) error {
	if err := checkTableFlags(c); err != nil {
		return err
	}
	src, err := loadFolder(c, load)
	if err != nil {
		return err
	}
	drv, err := openDriver(c.Context, c)
	if err != nil {
		return err
	}
	defer drv.Close()
	o := &printer{w: c.App.Writer, json: c.Bool("json"), dryRun: c.Bool("dry-run")}
	m := migrator.New(drv, src, migrator.Options{
		LockTimeout:       lockTimeout(c),
		SingleTransaction: c.Bool("single-transaction"),
		AllowOutOfOrder:   c.Bool("allow-out-of-order"),
		DryRun:            c.Bool("dry-run"),
		AllowDataLoss:     c.Bool("allow-data-loss"),
		ForbidRollback:    forbidRollback(c),
		Progress:          o.progress,
	})
	return fn(m, o)
}

// inspect compares the folder with the database (migrator.Inspect),
// reading the two at once: status and validate change nothing, so there is
// no reason to wait for the folder before connecting.
func inspect(c *cli.Context, fn func(*migrator.Plan, *printer) error) error {
	if err := checkTableFlags(c); err != nil {
		return err
	}
	p, err := migrator.Inspect(c.Context,
		func(ctx context.Context) (migrator.Driver, error) { return openDriver(ctx, c) },
		func() (*migrator.Source, error) { return loadFolder(c, statusOnly) })
	if err != nil {
		return err
	}
	return fn(p, &printer{w: c.App.Writer, json: c.Bool("json")})
}

// lockTimeout is --lock-timeout as Options reads it: there a zero means the
// default, so --lock-timeout 0 (do not wait) becomes a negative value.
func lockTimeout(c *cli.Context) time.Duration {
	if d := c.Duration("lock-timeout"); d > 0 {
		return d
	}
	return -1
}

func checkTableFlags(c *cli.Context) error {
	for _, flag := range []string{"state-table", "history-table", "schema"} {
		if v := c.String(flag); v != "" || flag != "schema" {
			if err := migrator.CheckIdentifier(v); err != nil {
				return usagef("--%s: %v", flag, err)
			}
		}
	}
	if err := migrator.CheckTableNames(c.String("state-table"), c.String("history-table")); err != nil {
		return usagef("--state-table, --history-table: %v", err)
	}
	return nil
}

func loadFolder(c *cli.Context, load migrator.LoadOptions) (*migrator.Source, error) {
	dir := c.String("dir")
	check := "--dir or MIGRATE_DIR"
	if from, _ := c.App.Metadata[dirFromKey].(string); from != "" {
		check = from
		load.DirHint = "set " + from + ", or --dir"
	}
	src, err := migrator.LoadDirWith(dir, load)
	if err != nil {
		return nil, &codedError{err: err, code: exitBadSource}
	}
	if len(src.Migrations) == 0 {
		warnEmptyFolder(c.App.ErrWriter, dir, check)
	}
	return src, nil
}

// warnEmptyFolder says on stderr that a folder holds no migrations. It is
// not an error (a new project starts with one), but a mistyped --dir that
// exists would otherwise pass for "nothing to do", or for a database whose
// versions all went missing.
func warnEmptyFolder(w io.Writer, dir, check string) {
	where := dir
	if abs, err := filepath.Abs(dir); err == nil && abs != filepath.Clean(dir) {
		where = fmt.Sprintf("%s (%s)", dir, abs)
	}
	fmt.Fprintf(w, "migrate: warning: %s holds no migration files (VERSION_NAME.up.sql, VERSION_NAME.down.sql); check %s, or write the first with 'migrate create NAME'\n", where, check)
}

func openDriver(ctx context.Context, c *cli.Context) (migrator.Driver, error) {
	drv, err := migrator.Open(ctx, c.String("database"), migrator.Config{
		StateTable: c.String("state-table"), HistoryTable: c.String("history-table"), Schema: c.String("schema"),
	})
	if err != nil {
		var reserved *migrator.ReservedTableError
		switch {
		case errors.As(err, &reserved):
			return nil, usagef("--%s-table: %v", reserved.Table, err)
		case errors.Is(err, migrator.ErrNoDatabaseURL):
			// DATABASE_URL= (a variable the deploy script left empty)
			// reads as unset: say it is there and empty.
			if c.IsSet("database") && explicit(c, "database", "DATABASE_URL") {
				return nil, usagef("--database is empty: give it a database URL (was it written from a variable that is not set?)")
			}
			if v, set := os.LookupEnv("DATABASE_URL"); set && v == "" {
				return nil, usagef("DATABASE_URL is set but empty: give it a database URL, or pass --database")
			}
			return nil, usagef("%v", err)
		case errors.Is(err, migrator.ErrNoSchemas), errors.Is(err, migrator.ErrNoSuchSchema), errors.Is(err, migrator.ErrReservedSchema):
			return nil, usagef("--schema: %v", err)
		case errors.Is(err, migrator.ErrBadURL):
			// Name where the URL came from: a newline at the end of
			// DATABASE_URL is not on the command line to be seen.
			if v, _ := c.App.Metadata[urlVarKey].(string); v != "" {
				return nil, usagef("%s (--env): %v", v, err)
			}
			if _, fromEnv := os.LookupEnv("DATABASE_URL"); fromEnv && !explicit(c, "database", "DATABASE_URL") {
				return nil, usagef("DATABASE_URL: %v", err)
			}
			return nil, usagef("--database: %v", err)
		}
		return nil, &codedError{err: err, code: exitDatabase}
	}
	return drv, nil
}

// classify maps an engine error to its documented exit code.
func classify(err error) int {
	var (
		se  *migrator.StatementError
		le  *migrator.LockError
		be  *migrator.BlockedError
		src *migrator.SourceError
		syn *sqlsplit.SyntaxError
	)
	switch {
	case isRefusal(err):
		return exitRefused
	case isBadArgument(err):
		return exitUsage
	case errors.As(err, &le):
		return exitLock
	case errors.Is(err, migrator.ErrLockLost):
		// A lost connection, even when a statement reported it.
		return exitDatabase
	case errors.Is(err, migrator.ErrNoTransactionalDDL):
		return exitUsage
	case errors.As(err, &be):
		return exitBlocked
	case errors.As(err, &src), errors.As(err, &syn):
		return exitBadSource
	case errors.Is(err, migrator.ErrNotReversible):
		// Refused before anything ran: no statement failed.
		return exitRefused
	case errors.As(err, &se):
		return exitFailed
	case errors.Is(err, migrator.ErrNoSuchVersion):
		return exitUsage
	}
	return exitDatabase
}

// redactAll removes any password found in a database URL among the
// arguments or DATABASE_URL from a message: the last line of defence after
// the drivers' own redaction.
func redactAll(msg string, args []string) string {
	candidates := append([]string{os.Getenv("DATABASE_URL")}, args...)
	for _, a := range candidates {
		if i := strings.Index(a, "="); strings.HasPrefix(a, "--database=") || strings.HasPrefix(a, "-d=") {
			a = a[i+1:]
		}
		for _, pw := range migrator.URLSecrets(a) {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
			if esc := url.QueryEscape(pw); esc != pw {
				msg = strings.ReplaceAll(msg, esc, "xxxxx")
			}
		}
	}
	return msg
}
