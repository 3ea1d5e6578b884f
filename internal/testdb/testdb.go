// Package testdb gives each test a fresh database of its own on a real
// server: the local server named by an environment variable, or else a
// throwaway container through testcontainers-go when a Docker engine is
// there. Without either, the test is skipped with a message saying so;
// under CI=true an unreachable server fails the test instead, so a missing
// server can never pass CI silently.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/microsoft/go-mssqldb" // registers database/sql driver "sqlserver"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Environment variables naming local servers. The URL's database is only a
// place to connect to; each test creates its own database beside it.
const (
	PostgresEnv  = "MIGRATE_TEST_POSTGRES_URL"
	MySQLEnv     = "MIGRATE_TEST_MYSQL_URL"
	SQLServerEnv = "MIGRATE_TEST_SQLSERVER_URL"
)

// InCI reports whether missing servers must fail rather than skip.
func InCI() bool { return os.Getenv("CI") == "true" }

func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("%s (CI=true: a missing server fails the run)", msg)
	}
	t.Skip(msg)
}

// Name returns a fresh database name.
func Name() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "migrate_t_" + hex.EncodeToString(b)
}

// server is a reachable admin URL, found once per test binary.
type server struct {
	once sync.Once
	url  string
	err  error
}

var (
	pgServer, myServer, msServer server
)

func (s *server) get(env string, start func(context.Context) (string, error)) (string, error) {
	s.once.Do(func() {
		if u := os.Getenv(env); u != "" {
			s.url = u
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		s.url, s.err = start(ctx)
	})
	return s.url, s.err
}

// dockerAvailable reports whether testcontainers can reach a Docker engine.
func dockerAvailable() error {
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		return err
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.Health(ctx)
}

func startContainer(ctx context.Context, req testcontainers.ContainerRequest, port string, format func(host, port string) string) (string, error) {
	if err := dockerAvailable(); err != nil {
		return "", fmt.Errorf("no Docker engine for testcontainers-go: %v", err)
	}
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true})
	if err != nil {
		return "", err
	}
	host, err := c.Host(ctx)
	if err != nil {
		return "", err
	}
	mapped, err := c.MappedPort(ctx, port)
	if err != nil {
		return "", err
	}
	// The container is reaped by testcontainers' Ryuk when the test binary exits.
	return format(host, mapped.Port()), nil
}

// Postgres creates a fresh database and returns its postgres:// URL; the
// database is dropped when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	admin, err := pgServer.get(PostgresEnv, func(ctx context.Context) (string, error) {
		return startContainer(ctx, testcontainers.ContainerRequest{
			Image:        "postgres:15",
			Env:          map[string]string{"POSTGRES_HOST_AUTH_METHOD": "trust"},
			ExposedPorts: []string{"5432/tcp"},
			WaitingFor:   wait.ForListeningPort("5432/tcp"),
		}, "5432/tcp", func(h, p string) string {
			return fmt.Sprintf("postgres://postgres@%s:%s/postgres?sslmode=disable", h, p)
		})
	})
	if err != nil {
		unavailable(t, "PostgreSQL tests need %s or a Docker engine: %v", PostgresEnv, err)
	}
	name := Name()
	db := openAdmin(t, "pgx", admin, "PostgreSQL")
	if _, err := db.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
		db.Close()
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

// MySQL creates a fresh database and returns its mysql:// URL; the database
// is dropped when the test ends.
func MySQL(t testing.TB) string {
	t.Helper()
	admin, err := myServer.get(MySQLEnv, func(ctx context.Context) (string, error) {
		return startContainer(ctx, testcontainers.ContainerRequest{
			Image:        "mariadb:10.11",
			Env:          map[string]string{"MARIADB_ALLOW_EMPTY_ROOT_PASSWORD": "1", "MARIADB_DATABASE": "test"},
			ExposedPorts: []string{"3306/tcp"},
			WaitingFor:   wait.ForLog("ready for connections").WithOccurrence(2),
		}, "3306/tcp", func(h, p string) string { return fmt.Sprintf("mysql://root@%s:%s/test", h, p) })
	})
	if err != nil {
		unavailable(t, "MySQL/MariaDB tests need %s or a Docker engine: %v", MySQLEnv, err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("%s: %v", MySQLEnv, err)
	}
	db := openAdmin(t, "mysql", MySQLDSN(u), "MySQL")
	name := Name()
	if _, err := db.Exec("CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4"); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP DATABASE IF EXISTS `" + name + "`")
		db.Close()
	})
	u.Path = "/" + name
	return u.String()
}

// SQLServer returns the URL of a fresh SQL Server database. SQL Server only
// runs through testcontainers-go (or a server named by the environment).
func SQLServer(t testing.TB) string {
	t.Helper()
	admin, err := msServer.get(SQLServerEnv, func(ctx context.Context) (string, error) {
		return startContainer(ctx, testcontainers.ContainerRequest{
			Image:        "mcr.microsoft.com/mssql/server:2022-latest",
			Env:          map[string]string{"ACCEPT_EULA": "Y", "MSSQL_SA_PASSWORD": "Migrate-Test-1"},
			ExposedPorts: []string{"1433/tcp"},
			WaitingFor:   wait.ForLog("Recovery is complete").WithStartupTimeout(3 * time.Minute),
		}, "1433/tcp", func(h, p string) string {
			return fmt.Sprintf("sqlserver://sa:Migrate-Test-1@%s:%s?database=master", h, p)
		})
	})
	if err != nil {
		// SQL Server cannot run on this kind of machine at all, so it skips
		// even under CI unless a server was named explicitly.
		if os.Getenv(SQLServerEnv) != "" {
			t.Fatalf("SQL Server named by %s is unreachable: %v", SQLServerEnv, err)
		}
		t.Skipf("SQL Server tests run only through testcontainers-go with a Docker engine (or %s); none here: %v", SQLServerEnv, err)
	}
	db := openAdmin(t, "sqlserver", admin, "SQL Server")
	name := Name()
	if _, err := db.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec(`ALTER DATABASE ` + name + ` SET SINGLE_USER WITH ROLLBACK IMMEDIATE`)
		_, _ = db.Exec(`DROP DATABASE ` + name)
		db.Close()
	})
	u, _ := url.Parse(admin)
	q := u.Query()
	q.Set("database", name)
	u.RawQuery = q.Encode()
	return u.String()
}

func openAdmin(t testing.TB, driverName, dsn, what string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		unavailable(t, "%s server is unreachable: %v", what, err)
	}
	return db
}

// MySQLDSN converts a mysql:// URL to go-sql-driver's DSN, for tests that
// talk to the server directly.
func MySQLDSN(u *url.URL) string {
	c := mysql.NewConfig()
	c.User = u.User.Username()
	c.Passwd, _ = u.User.Password()
	c.Net = "tcp"
	c.Addr = u.Host
	c.DBName = strings.TrimPrefix(u.Path, "/")
	c.ParseTime = true
	return c.FormatDSN()
}
