// Package dbtest starts private database servers for integration tests.
//
// The servers run from the machine's own binaries (PostgreSQL's initdb and postgres, MariaDB's
// mariadb-install-db and mariadbd), each in its own temporary directory, listening only on
// 127.0.0.1 at a free port. They never touch a system instance (5432, 3306, /run/mysqld): every
// setting is given on the command line and no system option file is read. One server of each kind
// is started per test binary, on first use, and shared by all of its tests; every test gets its own
// empty database from NewDatabase. Password authentication is enforced as in production.
//
// A package that uses dbtest runs its tests through Main:
//
//	func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		db := dbtest.Postgres(t).NewDatabase(t)
//		db.Exec(t, `CREATE TABLE t (id int); INSERT INTO t VALUES (1)`)
//		conn := db.Open(t) // *sql.DB as the unprivileged user "reauth"
//		...
//	}
//
// When a server's binaries are missing the test is skipped with a message naming the Debian
// package to install; with CI=true in the environment it fails instead.
//
// Running as root (as in containers) is supported: PostgreSQL runs as the postgres OS user (or
// nobody), MariaDB with --user=root. Servers are stopped by Main; if the test binary is killed they
// die with it (parent-death signal), and their directories are removed by the next run.
// Set DBTEST_KEEP=1 to keep the directories (data and server logs) after the run.
package dbtest
