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
