package integration

import (
	"github.com/migrate-dev/migrate/internal/testdb"

	_ "github.com/migrate-dev/migrate/drivers/sqlserver"
)

// SQL Server runs only through testcontainers-go (or a server named by
// MIGRATE_TEST_SQLSERVER_URL); without one every scenario skips, saying so.
func init() {
	targets = append(targets, target{name: "sqlserver", url: testdb.SQLServer, examples: "sqlserver", transactionalDDL: true, batches: true})
}
