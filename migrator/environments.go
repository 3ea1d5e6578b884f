package migrator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	// YAML rather than TOML: go.yaml.in/yaml/v3 (the YAML organisation's
	// continuation of gopkg.in/yaml.v3) is already in the module graph, so
	// the config costs no new dependency, and its Node tree keeps the line
	// of every key for error messages.
	"go.yaml.in/yaml/v3"
)

// DefaultConfigFiles are looked for, in order, in the working directory.
var DefaultConfigFiles = []string{"migrate.yaml", "migrate.yml"}

// ProjectConfig is a migrate.yaml file: named environments.
type ProjectConfig struct {
	// Path is the file it was read from.
	Path         string
	Environments map[string]*Environment
}

// Environment is one named target. It holds the name of the variable that
// holds the database URL, never the URL, so passwords stay out of the file.
type Environment struct {
	Name string
	// URLEnv names the environment variable holding the database URL.
	URLEnv string
	// Dir is the migration folder, relative paths taken from the config
	// file's directory; "" leaves --dir alone.
	Dir string
	// DirAt is where Dir is set ("migrate.yaml:4"), for messages.
	DirAt                            string
	StateTable, HistoryTable, Schema string
	// Production marks a live database: rollback is forbidden unless
	// allow_down says otherwise.
	Production bool
	allowDown  *bool
}

// AllowsDown reports whether down, goto to an older version and redo may
// run: allow_down when given, otherwise only outside production.
func (e *Environment) AllowsDown() bool {
	if e.allowDown != nil {
		return *e.allowDown
	}
	return !e.Production
}

// URL returns the database URL from the environment variable.
func (e *Environment) URL() (string, error) {
	u, set := os.LookupEnv(e.URLEnv)
	switch {
	case !set:
		return "", fmt.Errorf("environment %q: its database URL comes from $%s, which is not set", e.Name, e.URLEnv)
	case u == "":
		return "", fmt.Errorf("environment %q: its database URL comes from $%s, which is set but empty", e.Name, e.URLEnv)
	}
	return u, nil
}

// ConfigError is a problem in a config file, at a line and key.
type ConfigError struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, e.Key, e.Msg)
}

// FindProjectConfig returns the config file to use: path when given (it
// must exist), else the first of DefaultConfigFiles in the working
// directory, else "".
func FindProjectConfig(path string) (string, error) {
	if path != "" {
		st, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("config file %s does not exist%s", path, ShellHint(path))
		case err != nil:
			return "", fmt.Errorf("config file %s: %w", path, err)
		case st.IsDir():
			return "", fmt.Errorf("config file %s is a folder: name the file (such as %s)", path, filepath.Join(path, DefaultConfigFiles[0]))
		}
		return path, nil
	}
	for _, p := range DefaultConfigFiles {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("config file %s: %w", p, err)
		}
	}
	return "", nil
}

var (
	envVarRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	envNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_\-]*$`)
)

// LoadProjectConfig reads and checks a config file.
func LoadProjectConfig(path string) (*ProjectConfig, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	bad := func(n *yaml.Node, key, format string, a ...any) error {
		return &ConfigError{File: path, Line: n.Line, Key: key, Msg: fmt.Sprintf(format, a...)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var doc yaml.Node
	err = dec.Decode(&doc)
	for err == nil {
		// Unmarshal read the first document and ignored the rest, keys
		// and mistakes alike; a "---" with nothing after it is harmless.
		var next yaml.Node
		if err = dec.Decode(&next); err == nil && !emptyDocument(&next) {
			return nil, bad(&next, "", "a second YAML document (after \"---\"): the file holds one YAML document, with every environment under its \"environments:\"")
		}
	}
	if !errors.Is(err, io.EOF) {
		return nil, syntaxError(path, err)
	}
	cfg := &ProjectConfig{Path: path, Environments: map[string]*Environment{}}
	if len(doc.Content) == 0 {
		return nil, &ConfigError{File: path, Line: 1, Msg: "the file is empty; it needs an \"environments:\" mapping"}
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, bad(top, "", "the top level must be a mapping with an \"environments:\" key")
	}
	err = eachKey(top, "", bad, func(k, v *yaml.Node) error {
		if k.Value != "environments" {
			return bad(k, k.Value, "unknown key (known: environments)")
		}
		if v.Kind != yaml.MappingNode {
			return bad(v, "environments", "must map environment names to their settings")
		}
		return eachKey(v, "environments", bad, func(nk, nv *yaml.Node) error {
			env, err := parseEnvironment(path, nk, nv, bad)
			if err != nil {
				return err
			}
			cfg.Environments[env.Name] = env
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if len(cfg.Environments) == 0 {
		return nil, bad(top, "environments", "no environment is defined")
	}
	return cfg, nil
}

// emptyDocument reports a YAML document that holds nothing.
func emptyDocument(doc *yaml.Node) bool {
	for _, n := range doc.Content {
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!null" || n.Value != "" {
			return false
		}
	}
	return true
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError is a YAML parser's error as file:line: reason, rather than
// "config file migrate.yaml: yaml: line 2: reason".
func syntaxError(path string, err error) error {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &ConfigError{File: path, Line: line, Msg: "not valid YAML: " + m[2]}
	}
	return fmt.Errorf("config file %s is not valid YAML: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
}

type badFunc func(n *yaml.Node, key, format string, a ...any) error

// eachKey walks a mapping, rejecting duplicate keys.
func eachKey(m *yaml.Node, prefix string, bad badFunc, fn func(k, v *yaml.Node) error) error {
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		full := k.Value
		if prefix != "" {
			full = prefix + "." + k.Value
		}
		if seen[k.Value] {
			return bad(k, full, "defined twice")
		}
		seen[k.Value] = true
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

var environmentKeys = []string{"url_env", "dir", "state_table", "history_table", "schema", "production", "allow_down"}

func parseEnvironment(path string, nk, nv *yaml.Node, bad badFunc) (*Environment, error) {
	prefix := "environments." + nk.Value
	if !envNameRE.MatchString(nk.Value) {
		return nil, bad(nk, prefix, "an environment name may hold only letters, digits, _ and -")
	}
	if nv.Kind != yaml.MappingNode {
		return nil, bad(nv, prefix, "must be a mapping of settings (%s)", strings.Join(environmentKeys, ", "))
	}
	env := &Environment{Name: nk.Value}
	str := func(k, v *yaml.Node) (string, error) {
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" || v.Value == "" {
			return "", bad(v, prefix+"."+k.Value, "want a non-empty string")
		}
		return v.Value, nil
	}
	boolean := func(k, v *yaml.Node) (bool, error) {
		quoted := v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
		if v.Kind == yaml.ScalarNode && quoted && (strings.EqualFold(v.Value, "true") || strings.EqualFold(v.Value, "false")) {
			return false, bad(v, prefix+"."+k.Value, "want true or false without quotes, got the string %q", v.Value)
		}
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" {
			return false, bad(v, prefix+"."+k.Value, "want true or false, got %q", v.Value)
		}
		var b bool
		err := v.Decode(&b)
		return b, err
	}
	err := eachKey(nv, prefix, bad, func(k, v *yaml.Node) error {
		var err error
		switch k.Value {
		case "url_env":
			env.URLEnv, err = str(k, v)
			if err == nil && !envVarRE.MatchString(env.URLEnv) {
				return bad(v, prefix+".url_env", "must name an environment variable (such as PROD_DATABASE_URL) that holds the URL, not the URL itself")
			}
		case "dir":
			env.Dir, err = str(k, v)
			env.DirAt = fmt.Sprintf("%s:%d", path, v.Line)
			if err == nil && !filepath.IsAbs(env.Dir) {
				env.Dir = filepath.Join(filepath.Dir(path), env.Dir)
			}
		case "state_table":
			env.StateTable, err = str(k, v)
		case "history_table":
			env.HistoryTable, err = str(k, v)
		case "schema":
			env.Schema, err = str(k, v)
		case "production":
			env.Production, err = boolean(k, v)
		case "allow_down":
			var b bool
			b, err = boolean(k, v)
			env.allowDown = &b
		case "url", "database", "database_url":
			return bad(k, prefix+"."+k.Value, "the file must not hold a database URL (it would put passwords in the file): set it in an environment variable and name that variable with url_env")
		default:
			return bad(k, prefix+"."+k.Value, "unknown key (known: %s)", strings.Join(environmentKeys, ", "))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if env.URLEnv == "" {
		return nil, bad(nk, prefix, "url_env is missing: name the environment variable that holds this environment's database URL")
	}
	return env, nil
}

// Environment returns the named environment, or an error listing the
// known ones.
func (c *ProjectConfig) Environment(name string) (*Environment, error) {
	if env, ok := c.Environments[name]; ok {
		return env, nil
	}
	known := make([]string, 0, len(c.Environments))
	for n := range c.Environments {
		known = append(known, n)
	}
	sort.Strings(known)
	return nil, fmt.Errorf("%s: no environment %q (known: %s)", c.Path, name, strings.Join(known, ", "))
}
