package main

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/products/producttest"
)

// olderThan returns an --older-than value whose cutoff falls half-way between two seeded rows
// (rows are an hour apart), so that the test's expectation cannot race the clock.
func olderThan(hours float64) string {
	cutoff := producttest.Base.Add(-time.Duration(hours * float64(time.Hour)))
	return fmt.Sprintf("%ds", int64(time.Since(cutoff).Seconds()))
}

// TestScopes checks that --user, --except and --older-than delete exactly the expected rows,
// with login names mapped the way each product stores them.
func TestScopes(t *testing.T) {
	const n = 240
	tests := []struct {
		product, dialect string
		args             []string
		// deleted reports whether seeded row i must be deleted.
		deleted func(i int) bool
		extra   func(t *testing.T, exec func(string)) // more rows, ids >= 20000: never deleted
	}{
		{
			// Today's dave has user key JIRAUSER10104; the key "dave" belongs to david, who was
			// renamed from dave. Mapping by name would delete david's tokens.
			product: "jira", dialect: "postgres", args: []string{"--user", "dave", "--user", "Alice"},
			deleted: func(i int) bool { o := producttest.Owner(i); return o == "dave" || o == "alice" },
			extra: func(t *testing.T, exec func(string)) {
				exec("INSERT INTO remembermetoken VALUES (20001, '2026-01-01 00:00:00+00', 'david-1', 'dave'), (20002, '2026-01-01 00:00:00+00', 'david-2', 'dave')")
			},
		},
		{
			product: "jira", dialect: "mysql", args: []string{"--user", "dave"},
			deleted: func(i int) bool { return producttest.Owner(i) == "dave" },
			extra: func(t *testing.T, exec func(string)) {
				exec("INSERT INTO remembermetoken VALUES (20001, '2026-01-01 00:00:00', 'david-1', 'dave')")
			},
		},
		{
			product: "jira", dialect: "postgres", args: []string{"--except", "admin", "--except", "bob", "--older-than", olderThan(100.5)},
			deleted: func(i int) bool {
				o := producttest.Owner(i)
				return o != "admin" && o != "bob" && i > 100
			},
		},
		{
			// Confluence stores creation times as epoch milliseconds.
			product: "confluence", dialect: "mysql", args: []string{"--older-than", olderThan(47.5), "--except", "ADMIN"},
			deleted: func(i int) bool { return i >= 48 && producttest.Owner(i) != "admin" },
			extra: func(t *testing.T, exec func(string)) {
				exec("INSERT INTO REMEMBERMETOKEN VALUES (20001, 'no-created', NULL, 'tok')")
			},
		},
		{
			product: "confluence", dialect: "postgres", args: []string{"--user", "carol", "--older-than", "30d"},
			deleted: func(i int) bool { return false },
		},
		{
			// Bitbucket stores user ids: mapped through stash_user.
			product: "bitbucket", dialect: "postgres", args: []string{"--user", "bob", "--except", "carol"},
			deleted: func(i int) bool { return producttest.Owner(i) == "bob" },
		},
		{
			product: "bamboo", dialect: "mysql", args: []string{"--except", "alice", "--older-than", olderThan(200.5)},
			deleted: func(i int) bool { return i > 200 && producttest.Owner(i) != "alice" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.product+"/"+tt.dialect+"/"+strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			f, _ := producttest.For(tt.product, tt.dialect)
			d := server(t, tt.dialect).NewDatabase(t)
			f.Setup(t, d.Exec, n)
			if tt.extra != nil {
				tt.extra(t, func(q string) { d.Exec(t, q) })
			}
			pool := d.Open(t)
			before := tableKeys(t, pool, f.Table)
			e := newEnv(t, targetYAML{name: "t", product: tt.product, db: d})
			var want []string
			for i := 1; i <= n; i++ {
				if !tt.deleted(i) {
					want = append(want, fmt.Sprint(10000+i))
				}
			}
			for k := range before {
				if k >= "20000" {
					want = append(want, k)
				}
			}
			var plan struct {
				Targets []struct {
					InScope int64 `json:"in_scope"`
				}
			}
			e.run(t, append([]string{"plan", "--output", "json"}, tt.args...)...).mustSucceed(t).decode(t, &plan)
			wantDeleted := len(before) - len(want)
			if plan.Targets[0].InScope != int64(wantDeleted) {
				t.Errorf("plan: %d in scope; want %d", plan.Targets[0].InScope, wantDeleted)
			}
			var cl struct{ Deleted int64 }
			e.run(t, append([]string{"clear", "--target", "t", "--yes", "--batch-size", "7", "--output", "json"}, tt.args...)...).mustSucceed(t).decode(t, &cl)
			if cl.Deleted != int64(wantDeleted) {
				t.Errorf("clear deleted %d; want %d", cl.Deleted, wantDeleted)
			}
			var got []string
			for k := range tableKeys(t, pool, f.Table) {
				got = append(got, k)
			}
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("rows left:\n%v\nwant:\n%v", got, want)
			}
		})
	}
}

// TestScopeNotApplicable: a filter the product's table cannot express is refused, not ignored.
func TestScopeNotApplicable(t *testing.T) {
	f, _ := producttest.For("bitbucket", "postgres")
	d := server(t, "postgres").NewDatabase(t)
	f.Setup(t, d.Exec, 10)
	e := newEnv(t, targetYAML{name: "bb", product: "bitbucket", db: d})
	r := e.run(t, "clear", "--target", "bb", "--older-than", "30d", "--yes")
	if r.code != 2 || !strings.Contains(r.stderr, "--older-than cannot apply") {
		t.Errorf("exit %d, %q; want 2 and --older-than cannot apply", r.code, r.stderr)
	}
	if n := producttest.Count(t, d.Open(t), f.Table); n != 10 {
		t.Errorf("%d rows left; want 10", n)
	}
}

// TestUnknownNames: a login name that matches no user is an error wherever the product has a
// user table to check, so that a typo in --except never exposes the account it should protect;
// where it has none (Fisheye), the plan says the names could not be checked.
func TestUnknownNames(t *testing.T) {
	for _, product := range []string{"confluence", "bamboo"} {
		f, _ := producttest.For(product, "postgres")
		d := server(t, "postgres").NewDatabase(t)
		f.Setup(t, d.Exec, 20)
		e := newEnv(t, targetYAML{name: "t", product: product, db: d})
		r := e.run(t, "clear", "--target", "t", "--except", "admni", "--yes")
		if r.code != 2 || !strings.Contains(r.stderr, "no user admni in public.cwd_user") {
			t.Errorf("%s --except admni: exit %d, %q; want 2 and no user admni", product, r.code, r.stderr)
		}
		if n := producttest.Count(t, d.Open(t), f.Table); n != 20 {
			t.Errorf("%s: %d rows left; want 20", product, n)
		}
	}
	f, _ := producttest.For("fisheye", "postgres")
	d := server(t, "postgres").NewDatabase(t)
	f.Setup(t, d.Exec, 20)
	e := newEnv(t, targetYAML{name: "fe", product: "fisheye", db: d, extra: "    table: " + f.TableOverride + "\n"})
	r := e.run(t, "plan", "--except", "admni").mustSucceed(t)
	if !strings.Contains(r.stdout, "cannot be checked") {
		t.Errorf("fisheye plan does not say that names cannot be checked:\n%s", r.stdout)
	}
}
