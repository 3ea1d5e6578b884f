package migrator

import "testing"

func TestTransactionControl(t *testing.T) {
	cases := map[string]string{
		"COMMIT":                             "COMMIT",
		"commit work":                        "COMMIT",
		"END TRANSACTION":                    "END",
		"END":                                "END",
		"end work and chain":                 "END",
		"END CONVERSATION @handle":           "", // T-SQL Service Broker
		"ABORT":                              "ABORT",
		"ROLLBACK":                           "ROLLBACK",
		"ROLLBACK AND NO CHAIN":              "ROLLBACK",
		"ROLLBACK TRANSACTION":               "ROLLBACK",
		"ROLLBACK TO SAVEPOINT s":            "",
		"rollback work to s":                 "",
		"ROLLBACK TRANSACTION sp1":           "", // T-SQL savepoint
		"START TRANSACTION":                  "START TRANSACTION",
		"START REPLICA":                      "",
		"PREPARE TRANSACTION 'm1'":           "PREPARE TRANSACTION",
		"PREPARE q (int) AS SELECT $1":       "",
		"BEGIN":                              "BEGIN",
		"BEGIN IMMEDIATE TRANSACTION":        "BEGIN",
		"BEGIN ISOLATION LEVEL SERIALIZABLE": "BEGIN",
		"BEGIN TRAN":                         "BEGIN",
		"BEGIN\n  UPDATE t SET x = 1;\nEND":  "", // T-SQL block
		"BEGIN TRY\n  SELECT 1\nEND TRY":     "",
		"SAVEPOINT s":                        "",
		"RELEASE SAVEPOINT s":                "",
		"CREATE TABLE commit_log (id INT)":   "",
		"UPDATE t SET note = 'COMMIT'":       "",
		"":                                   "",
	}
	for stmt, want := range cases {
		if got := transactionControl(stmt); got != want {
			t.Errorf("transactionControl(%q) = %q, want %q", stmt, got, want)
		}
	}
}
