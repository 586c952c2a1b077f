package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/products/producttest"
)

func server(t testing.TB, dialect string) *dbtest.Server {
	if dialect == "postgres" {
		return dbtest.Postgres(t)
	}
	return dbtest.MariaDB(t)
}

// TestProductsRoundTrip runs plan, backup, clear and restore for every product in its real
// column layout on PostgreSQL and MariaDB (Bitbucket Data Center does not support MySQL), and
// checks that the restored table equals the original row for row.
func TestProductsRoundTrip(t *testing.T) {
	const rows = 700
	for _, f := range producttest.All() {
		t.Run(f.Product+"/"+f.Dialect, func(t *testing.T) {
			t.Parallel()
			d := server(t, f.Dialect).NewDatabase(t)
			f.Setup(t, d.Exec, rows)
			pool := d.Open(t)
			extra := ""
			if f.TableOverride != "" {
				extra = "    table: " + f.TableOverride + "\n"
			}
			e := newEnv(t, targetYAML{name: "t1", product: f.Product, db: d, extra: extra})
			before := producttest.Digest(t, pool, f.Table)

			var plan struct {
				Environment string
				Targets     []struct {
					Name, Product, Table string
					Tokens               int64
					InScope              int64 `json:"in_scope"`
					Ready                bool
					Warnings             []string
				}
			}
			e.run(t, "plan", "--output", "json").mustSucceed(t).decode(t, &plan)
			if len(plan.Targets) != 1 || !plan.Targets[0].Ready || plan.Targets[0].Tokens != rows || plan.Targets[0].InScope != rows {
				t.Fatalf("plan = %+v; want 1 ready target with %d tokens in scope", plan, rows)
			}
			if !strings.HasSuffix(plan.Targets[0].Table, "."+f.Table) {
				t.Errorf("plan table = %q; want the exact name %q", plan.Targets[0].Table, f.Table)
			}
			relied := strings.Join(plan.Targets[0].Warnings, "\n")
			if (f.Product == "bamboo" || f.Product == "fisheye") != strings.Contains(relied, "unverified") {
				t.Errorf("plan warnings for %s = %q; unverified facts must be said, and only those", f.Product, relied)
			}

			var bk struct {
				Target, Table, Backup string
				BackedUp              int64 `json:"backed_up"`
				Deleted               int64
			}
			e.run(t, "backup", "--target", "t1", "--output", "json").mustSucceed(t).decode(t, &bk)
			if bk.BackedUp != rows || bk.Deleted != 0 {
				t.Errorf("backup = %+v; want %d backed up, 0 deleted", bk, rows)
			}
			if got := producttest.Digest(t, pool, f.Table); got != before {
				t.Fatal("backup changed the table")
			}
			checkPrivate(t, bk.Backup)

			var cl struct {
				Backup   string
				BackedUp int64 `json:"backed_up"`
				Deleted  int64
			}
			e.run(t, "clear", "--target", "t1", "--yes", "--batch-size", "64", "--output", "json").mustSucceed(t).decode(t, &cl)
			if cl.BackedUp != rows || cl.Deleted != rows {
				t.Errorf("clear = %+v; want %d backed up and deleted", cl, rows)
			}
			if n := producttest.Count(t, pool, f.Table); n != 0 {
				t.Errorf("%d rows left after clear; want 0", n)
			}
			checkPrivate(t, cl.Backup)

			var rs struct{ Restored, Skipped int64 }
			e.run(t, "restore", cl.Backup, "--yes", "--output", "json").mustSucceed(t).decode(t, &rs)
			if rs.Restored != rows || rs.Skipped != 0 {
				t.Errorf("restore = %+v; want %d restored", rs, rows)
			}
			if got := producttest.Digest(t, pool, f.Table); got != before {
				t.Errorf("restored table differs from the original:\n%s\nwant:\n%s", head(got), head(before))
			}
			e.run(t, "restore", "--yes", "--output", "json", cl.Backup).mustSucceed(t).decode(t, &rs)
			if rs.Restored != 0 || rs.Skipped != rows {
				t.Errorf("second restore = %+v; want all %d skipped", rs, rows)
			}
			if got := producttest.Digest(t, pool, f.Table); got != before {
				t.Error("a second restore changed the table")
			}
		})
	}
}

func head(s string) string {
	lines := strings.SplitN(s, "\n", 4)
	return strings.Join(lines[:min(3, len(lines))], "\n")
}

// checkPrivate checks invariant 2's permissions: the backup 0600, its folder 0700.
func checkPrivate(t testing.TB, path string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("backup file: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("backup %s has mode %04o; want 0600", path, st.Mode().Perm())
	}
	dst, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if dst.Mode().Perm() != 0o700 {
		t.Errorf("backup folder has mode %04o; want 0700", dst.Mode().Perm())
	}
}
