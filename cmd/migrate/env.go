package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/migrate-dev/migrate/migrator"
)

// forbidRollbackKey holds, in App.Metadata, the reason the selected
// environment forbids rolling back.
const forbidRollbackKey = "forbid-rollback"

// urlVarKey holds, in App.Metadata, the environment variable the selected
// environment read the database URL from, for naming it in errors.
const urlVarKey = "url-var"

// urlUnsetKey holds, in App.Metadata, why the selected environment gave
// no URL, for a command that runs without one (lint) but then has no
// dialect to go on.
const urlUnsetKey = "url-unset"

// dirFromKey holds, in App.Metadata, where the selected environment set
// the migration folder ("environments.dev.dir at migrate.yaml:4"): that is
// what to change, not --dir or MIGRATE_DIR, which it overrides.
const dirFromKey = "dir-from"

// flagsGivenKey holds, in App.Metadata, how many flags the command line
// set, counted before applyEnvironment fills in the environment's:
// MIGRATE_ENV alone is not "flags but no command".
const flagsGivenKey = "flags-given"

// environmentFlags are the global flags that select a named environment.
func environmentFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "env", Aliases: []string{"e"}, EnvVars: []string{"MIGRATE_ENV"}, Usage: "named environment from the config file (sets the database, folder, tables and rollback policy)"},
		&cli.StringFlag{Name: "config", Usage: "config file with the environments (default: " + migrator.DefaultConfigFiles[0] + " or " + migrator.DefaultConfigFiles[1] + " in the working directory)"},
	}
}

// commandsWithoutDatabase need no URL, so a missing URL variable is not an
// error for them.
var commandsWithoutDatabase = map[string]bool{"": true, "create": true, "lint": true, "version": true, "help": true, "h": true}

// applyEnvironment runs before every command: with --env it fills the
// database URL (from the variable the environment names), folder and table
// names from the config file, unless a flag gives them explicitly, and
// records the environment's rollback policy.
func applyEnvironment(c *cli.Context) error {
	// Counted before the environment sets any: those were not typed.
	c.App.Metadata[flagsGivenKey] = c.NumFlags()
	if c.Duration("lock-timeout") < 0 {
		return usagef("--lock-timeout must not be negative, got %v", c.Duration("lock-timeout"))
	}
	// An empty value (MIGRATE_DIR= , or --dir "$UNSET") would otherwise be
	// reported as a folder named "" that does not exist.
	if c.IsSet("dir") && c.String("dir") == "" {
		return usagef("--dir (or MIGRATE_DIR) is empty: name the migration folder, or leave both unset for ./migrations")
	}
	// An empty --env (or MIGRATE_ENV) selected no environment: the run went
	// to DATABASE_URL with no environment's rollback policy; an empty
	// --config or --schema was the default one, unannounced.
	for _, f := range []struct{ flag, means string }{
		{"env (or MIGRATE_ENV)", "name an environment of the config file, or leave both unset"},
		{"config", "name the config file, or leave it out for " + migrator.DefaultConfigFiles[0]},
		{"schema", "name the schema, or leave it out for the database's default"},
	} {
		name, _, _ := strings.Cut(f.flag, " ")
		if c.IsSet(name) && c.String(name) == "" {
			return usagef("--%s is empty: %s (was it written from a variable that is not set?)", f.flag, f.means)
		}
	}
	name := c.String("env")
	path, err := migrator.FindProjectConfig(c.String("config"))
	if err != nil {
		return usagef("%v", err)
	}
	if name == "" {
		if c.String("config") != "" {
			return usagef("--config %s: say which environment to use with --env NAME", c.String("config"))
		}
		return nil
	}
	if path == "" {
		return usagef("--env %s: no %s or %s in the working directory; pass --config PATH", name, migrator.DefaultConfigFiles[0], migrator.DefaultConfigFiles[1])
	}
	cfg, err := loadConfig(c.Context, path)
	if err != nil {
		if c.Context.Err() != nil {
			return err // interrupted: exit 130
		}
		return usagef("%v", err)
	}
	env, err := cfg.Environment(name)
	if err != nil {
		return usagef("--env: %v", err)
	}
	if explicit(c, "database", "DATABASE_URL") {
		return usagef("--database and --env %s both name a database; give one of them", name)
	}
	url, err := env.URL()
	switch {
	case err == nil:
		if err := c.Set("database", url); err != nil {
			return err
		}
		c.App.Metadata[urlVarKey] = env.URLEnv
	case !commandsWithoutDatabase[c.Args().First()]:
		return usagef("%v (%s)", err, path)
	default:
		c.App.Metadata[urlUnsetKey] = err.Error()
	}
	for flag, value := range map[string]string{"dir": env.Dir, "state-table": env.StateTable, "history-table": env.HistoryTable, "schema": env.Schema} {
		envVar := ""
		if flag == "dir" {
			envVar = "MIGRATE_DIR"
		}
		if value == "" || explicit(c, flag, envVar) {
			continue
		}
		if err := c.Set(flag, value); err != nil {
			return err
		}
		if flag == "dir" {
			c.App.Metadata[dirFromKey] = fmt.Sprintf("environments.%s.dir at %s", env.Name, env.DirAt)
		}
	}
	if !env.AllowsDown() {
		c.App.Metadata[forbidRollbackKey] = fmt.Sprintf("environment %q in %s (production: %v, allow_down: false)", env.Name, path, env.Production)
	}
	return nil
}

// loadConfig reads the config file unless the run is interrupted first: a
// named pipe that nothing writes to (or /dev/stdin on a terminal) blocks in
// the open itself, where the Ctrl-C or SIGTERM that cancels ctx does not
// reach. A pipe with a writer (--config <(...)) reads as a file does.
func loadConfig(ctx context.Context, path string) (*migrator.ProjectConfig, error) {
	type loaded struct {
		cfg *migrator.ProjectConfig
		err error
	}
	done := make(chan loaded, 1)
	go func() {
		cfg, err := migrator.LoadProjectConfig(path)
		done <- loaded{cfg, err}
	}()
	select {
	case l := <-done:
		return l.cfg, l.err
	case <-ctx.Done():
		return nil, fmt.Errorf("interrupted while reading config file %s, which nothing has written to yet (a named pipe with no writer, or a terminal?)", path)
	}
}

// explicit reports whether a flag was given on the command line, as
// opposed to left at its default or taken from its environment variable,
// which the config file overrides.
func explicit(c *cli.Context, flag, envVar string) bool {
	if !c.IsSet(flag) {
		return false
	}
	v, fromEnv := os.LookupEnv(envVar)
	return envVar == "" || !fromEnv || c.String(flag) != v
}

// forbidRollback is the policy reason recorded by applyEnvironment, if any.
func forbidRollback(c *cli.Context) string {
	reason, _ := c.App.Metadata[forbidRollbackKey].(string)
	return reason
}
