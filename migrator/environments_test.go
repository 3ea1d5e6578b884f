package migrator_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/migrate-dev/migrate/migrator"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "migrate.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProjectConfig(t *testing.T) {
	p := writeConfig(t, `# environments of the shop
environments:
  dev:
    url_env: DEV_DATABASE_URL
    dir: db/migrations
  production:
    url_env: PROD_DATABASE_URL
    state_table: shop_migrate_state
    history_table: shop_migrate_history
    schema: ops
    production: true
  staging:
    url_env: STAGING_DATABASE_URL
    production: true
    allow_down: true
`)
	cfg, err := migrator.LoadProjectConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := cfg.Environment("dev")
	if err != nil {
		t.Fatal(err)
	}
	if !dev.AllowsDown() || dev.Dir != filepath.Join(filepath.Dir(p), "db/migrations") {
		t.Fatalf("dev: allows down %v, dir %q (want it beside the config file)", dev.AllowsDown(), dev.Dir)
	}
	prod, _ := cfg.Environment("production")
	if prod.AllowsDown() || prod.StateTable != "shop_migrate_state" || prod.HistoryTable != "shop_migrate_history" || prod.Schema != "ops" {
		t.Fatalf("production: %+v allows down %v", prod, prod.AllowsDown())
	}
	if staging, _ := cfg.Environment("staging"); !staging.AllowsDown() {
		t.Fatal("allow_down: true did not override production: true")
	}
	t.Setenv("PROD_DATABASE_URL", "")
	if _, err := prod.URL(); err == nil || !strings.Contains(err.Error(), "$PROD_DATABASE_URL") {
		t.Fatalf("unset URL variable: %v", err)
	}
	t.Setenv("PROD_DATABASE_URL", "postgres://app:pw@db/shop")
	if u, err := prod.URL(); err != nil || u != "postgres://app:pw@db/shop" {
		t.Fatalf("URL from the variable: %q %v", u, err)
	}
	_, err = cfg.Environment("prod")
	if err == nil || !strings.Contains(err.Error(), "known: dev, production, staging") {
		t.Fatalf("unknown environment: want the known ones listed, got %v", err)
	}
}

func TestProjectConfigErrors(t *testing.T) {
	cases := []struct {
		name, body string
		line       int
		want       string
	}{
		{"unknown key", "environments:\n  dev:\n    url_env: X\n    drr: m\n", 4, "environments.dev.drr: unknown key (known: url_env, dir"},
		{"URL in the file", "environments:\n  prod:\n    url: postgres://u:pw@h/db\n", 3, "must not hold a database URL"},
		{"URL in url_env", "environments:\n  prod:\n    url_env: postgres://u:pw@h/db\n", 3, "not the URL itself"},
		{"not a boolean", "environments:\n  prod:\n    url_env: X\n    production: yes please\n", 4, "environments.prod.production: want true or false"},
		{"missing url_env", "environments:\n  prod:\n    production: true\n", 2, "url_env is missing"},
		{"duplicate environment", "environments:\n  a:\n    url_env: X\n  a:\n    url_env: Y\n", 4, "environments.a: defined twice"},
		{"unknown top-level key", "environment:\n  a:\n    url_env: X\n", 1, "environment: unknown key (known: environments)"},
		{"no environments", "environments: {}\n", 1, "no environment is defined"},
		{"empty file", "", 1, "the file is empty"},
		{"YAML syntax error", "environments:\n  dev: [\n", 2, "not valid YAML"},
		{"quoted boolean", "environments:\n  prod:\n    url_env: X\n    production: 'true'\n", 4, "environments.prod.production: want true or false without quotes"},
		{"second document", "environments:\n  a:\n    url_env: X\n---\nenvironments:\n  b:\n    url_env: Y\n", 4, "a second YAML document"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeConfig(t, tc.body)
			_, err := migrator.LoadProjectConfig(p)
			var ce *migrator.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("want a ConfigError, got %v", err)
			}
			if ce.File != p || ce.Line != tc.line || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %q (line %d), want line %d and %q", err, ce.Line, tc.line, tc.want)
			}
		})
	}
	// A "---" that ends the file, or starts it, holds no second document.
	for _, body := range []string{"environments:\n  a:\n    url_env: X\n---\n", "---\nenvironments:\n  a:\n    url_env: X\n"} {
		if _, err := migrator.LoadProjectConfig(writeConfig(t, body)); err != nil {
			t.Errorf("%q: %v", body, err)
		}
	}
}

func TestNextVersion(t *testing.T) {
	now := time.Date(2026, 11, 23, 19, 40, 5, 0, time.UTC)
	cases := []struct {
		name  string
		files []string
		want  string
	}{
		{"empty folder", nil, "0001"},
		{"sequential keeps the padding", []string{"0001_a.up.sql", "0009_b.up.sql", "README.md"}, "0010"},
		{"wider padding", []string{"000041_a.up.sql"}, "000042"},
		{"timestamps take the time now", []string{"20260101120000_a.up.sql"}, "20261123194005"},
		{"timestamp from the future stays ordered", []string{"20271231235959_a.up.sql"}, "20271231235960"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := migrator.NextVersion(dir, now)
			if err != nil || got != tc.want {
				t.Fatalf("NextVersion = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestNextVersionAfterTheLargest: nothing follows 2^63-1; the next number
// wrapped to a negative version before, written as a file no load accepts.
func TestNextVersionAfterTheLargest(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "9223372036854775807_last.up.sql"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := migrator.NextVersion(dir, time.Now())
	var se *migrator.SourceError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "9223372036854775807_last.up.sql") {
		t.Fatalf("NextVersion = %q, %v; want a folder error naming the file", got, err)
	}
}
