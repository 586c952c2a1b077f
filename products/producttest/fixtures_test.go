package producttest_test

import (
	"os"
	"strings"
	"testing"

	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/products/producttest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// TestSchemaFiles: every table of every fixture says where its shape comes from, in the comment
// right above its CREATE TABLE, and a file that relies on no public source says UNVERIFIED.
func TestSchemaFiles(t *testing.T) {
	for _, f := range producttest.All() {
		lines := strings.Split(f.Schema(), "\n")
		tables := 0
		for i, line := range lines {
			if !strings.HasPrefix(line, "CREATE TABLE") {
				continue
			}
			tables++
			if i == 0 || !strings.HasPrefix(lines[i-1], "-- ") || len(strings.TrimSpace(lines[i-1])) < 12 {
				t.Errorf("%s/%s: %q has no source comment above it", f.Product, f.Dialect, line)
			}
		}
		if tables == 0 {
			t.Errorf("%s/%s: no CREATE TABLE", f.Product, f.Dialect)
		}
		if !strings.HasPrefix(lines[0], "-- ") {
			t.Errorf("%s/%s: the file does not start with a comment naming its sources", f.Product, f.Dialect)
		}
	}
	for _, want := range []struct{ product, dialect string }{{"bamboo", "postgres"}, {"bamboo", "mysql"}, {"fisheye", "postgres"}, {"confluence", "mysql"}} {
		f, _ := producttest.For(want.product, want.dialect)
		if !strings.Contains(f.Schema(), "UNVERIFIED") {
			t.Errorf("%s/%s relies on no public source for its columns but does not say UNVERIFIED", want.product, want.dialect)
		}
	}
}

// TestSetup loads every fixture, seeds it, and checks the rows landed where the product keeps
// them.
func TestSetup(t *testing.T) {
	for _, f := range producttest.All() {
		t.Run(f.Name(), func(t *testing.T) {
			t.Parallel()
			var s *dbtest.Server
			if f.Dialect == "postgres" {
				s = dbtest.Postgres(t)
			} else {
				s = dbtest.MariaDB(t)
			}
			d := s.NewDatabase(t)
			f.Setup(t, d.Exec, 25)
			f.SeedPeople(t, d.Exec)
			pool := d.Open(t)
			if n, want := producttest.Count(t, pool, f.Table), 25+len(producttest.People)*producttest.PersonRows; n != want {
				t.Errorf("%d token rows; want %d", n, want)
			}
			if f.Product != "fisheye" {
				var members int
				if err := pool.QueryRow("SELECT COUNT(*) FROM cwd_membership").Scan(&members); err != nil {
					t.Fatal(err)
				}
				if members == 0 {
					t.Errorf("no group memberships seeded")
				}
			}
		})
	}
}
