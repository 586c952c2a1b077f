package db_test

import (
	"os"
	"testing"

	"github.com/reauth/reauth/db/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// The same conformance suite runs on every dialect that has a server here. SQL Server and
// Oracle are pinned by the golden files instead.
func TestConformancePostgres(t *testing.T) { dbtest.Conformance(t, dbtest.Postgres(t).NewDatabase(t)) }

func TestConformanceMariaDB(t *testing.T) { dbtest.Conformance(t, dbtest.MariaDB(t).NewDatabase(t)) }

// SQL Server and Oracle run the same suite when a server is named in the environment
// (REAUTH_TEST_SQLSERVER_DSN, REAUTH_TEST_ORACLE_DSN); otherwise they skip.
func TestConformanceSQLServer(t *testing.T) {
	dbtest.ConformanceLive(t, dbtest.External(t, "sqlserver"))
}

func TestConformanceOracle(t *testing.T) { dbtest.ConformanceLive(t, dbtest.External(t, "oracle")) }
