package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/products"
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
		t.Run(f.Name(), func(t *testing.T) {
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

			type planTarget struct {
				Name, Product, Table string
				Tokens               int64
				InScope              int64 `json:"in_scope"`
				Ready                bool
				Warnings             []string
			}
			var plan struct {
				Environment string
				Targets     []planTarget
			}
			e.run(t, "plan", "--output", "json").mustSucceed(t).decode(t, &plan)
			// The plan holds the target and its parts (Crowd's remember-me tokens), all ready;
			// the fixture's rows are in the table of one of them.
			name := f.Target("t1")
			i := slices.IndexFunc(plan.Targets, func(tp planTarget) bool { return tp.Name == name })
			p, _ := products.Lookup(f.Product)
			if wantN := 1 + len(p.Parts); len(plan.Targets) != wantN || i < 0 {
				t.Fatalf("plan = %+v; want %d targets, %s among them", plan, wantN, name)
			}
			for _, tp := range plan.Targets {
				if !tp.Ready || tp.Name != name && tp.Tokens != 0 {
					t.Errorf("plan target %+v; want ready, and empty but for %s", tp, name)
				}
			}
			if tp := plan.Targets[i]; tp.Tokens != rows || tp.InScope != rows {
				t.Fatalf("plan of %s = %+v; want %d tokens in scope", name, tp, rows)
			}
			if !strings.HasSuffix(plan.Targets[i].Table, "."+f.Table) {
				t.Errorf("plan table = %q; want the exact name %q", plan.Targets[i].Table, f.Table)
			}
			relied := strings.Join(plan.Targets[i].Warnings, "\n")
			if (f.Product == "bamboo" || f.Product == "fisheye") != strings.Contains(relied, "unverified") {
				t.Errorf("plan warnings for %s = %q; unverified facts must be said, and only those", f.Product, relied)
			}

			var bk struct {
				Target, Table, Backup string
				BackedUp              int64 `json:"backed_up"`
				Deleted               int64
			}
			e.run(t, "backup", "--target", name, "--output", "json").mustSucceed(t).decode(t, &bk)
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
			e.run(t, "clear", "--target", name, "--yes", "--batch-size", "64", "--output", "json").mustSucceed(t).decode(t, &cl)
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

// TestCrowdApplicationSessionsKept: Crowd's cwd_token also holds the SSO sessions of the
// applications signed in to Crowd (directory_id -1). No scope takes them: plan counts only the
// users' sessions and says how many are left alone, a clear of everyone leaves them, and
// --user bob does not take the session of an application named bob.
func TestCrowdApplicationSessionsKept(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			f, _ := producttest.For("crowd", dialect)
			d := server(t, dialect).NewDatabase(t)
			const rows = 40
			f.Setup(t, d.Exec, rows)
			f.SeedApplicationSessions(t, d.Exec)
			apps := len(producttest.Applications)
			pool := d.Open(t)
			e := newEnv(t, targetYAML{name: "crowd", product: "crowd", db: d})
			var plan struct {
				Targets []struct {
					Tokens   int64
					InScope  int64 `json:"in_scope"`
					Warnings []string
				}
			}
			e.run(t, "plan", "--output", "json").mustSucceed(t).decode(t, &plan)
			if plan.Targets[0].Tokens != rows || plan.Targets[0].InScope != rows {
				t.Errorf("plan = %+v; want %d users' sessions, all in scope", plan.Targets[0], rows)
			}
			if w := strings.Join(plan.Targets[0].Warnings, "\n"); !strings.Contains(w, fmt.Sprintf("%d rows with directory_id = -1 are left alone: application sessions", apps)) {
				t.Errorf("plan warnings %q do not say that the %d application sessions are left alone", w, apps)
			}
			bobs := producttest.Count(t, pool, f.Table) // every row, before
			e.run(t, "clear", "--target", "crowd", "--user", "bob", "--yes").mustSucceed(t)
			left := producttest.Count(t, pool, f.Table)
			var bobApp int64
			if err := pool.QueryRow("SELECT COUNT(*) FROM cwd_token WHERE directory_id = -1 AND entity_name = 'bob'").Scan(&bobApp); err != nil {
				t.Fatal(err)
			}
			if bobApp != 1 || left >= bobs {
				t.Errorf("--user bob: %d of %d rows left, the application bob's session %d; want bob's user sessions gone and the application's kept", left, bobs, bobApp)
			}
			e.run(t, "clear", "--target", "crowd", "--yes").mustSucceed(t)
			if n := producttest.Count(t, pool, f.Table); n != apps {
				t.Errorf("%d rows left after a clear of everyone; want the %d application sessions", n, apps)
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

// TestSSODetected: plan reads the identity providers of Atlassian's SSO app from the product's
// database and says, in text and JSON, where users are signed in again without reauth; the
// run's report lists it under what was not revoked, and the generic line about other SSO apps
// stays. A database without the app's table shows none.
func TestSSODetected(t *testing.T) {
	f, _ := producttest.For("jira", "postgres")
	d := server(t, "postgres").NewDatabase(t)
	f.Setup(t, d.Exec, 10)
	producttest.SetupSSO(t, d.Exec,
		producttest.IdP{Name: "Okta", Type: "SAML", Issuer: "http://www.okta.com/exk1", URL: "https://example.okta.com/app/jira/sso/saml", Enabled: true},
		producttest.IdP{Name: "Keycloak", Type: "OIDC", Issuer: "https://kc.example.com/realms/corp", Enabled: false})
	e := newEnv(t, targetYAML{name: "jira", product: "jira", db: d})

	r := e.run(t, "plan").mustSucceed(t)
	left := `users of jira are sent to https://example.okta.com/app/jira/sso/saml (SAML identity provider "Okta") and signed in again silently if their session there is alive: end their sessions at the identity provider`
	for _, want := range []string{
		`  sso:       SAML "Okta", https://example.okta.com/app/jira/sso/saml` + "\n",
		`  sso:       OIDC "Keycloak", https://kc.example.com/realms/corp (disabled)` + "\n",
		"  warning:   " + left + "\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "Keycloak\") and signed in") {
		t.Errorf("plan warns about a disabled identity provider:\n%s", r.stdout)
	}
	var plan struct {
		Targets []struct {
			SSO []struct {
				Name, Type, Issuer, URL string
				Enabled                 bool
			}
		}
	}
	e.run(t, "plan", "--output", "json").mustSucceed(t).decode(t, &plan)
	if sso := plan.Targets[0].SSO; len(sso) != 2 || sso[0].Name != "Okta" || sso[0].Type != "SAML" || !sso[0].Enabled || sso[1].Type != "OIDC" || sso[1].Enabled {
		t.Errorf("plan JSON sso = %+v", sso)
	}

	// A run without nodes fails its verify, but its report still says what was not revoked.
	var rep struct {
		NotRevoked []string `json:"not_revoked"`
	}
	out := e.run(t, "run", "--yes", "--reason", "CHG-1", "--output", "json")
	if err := json.Unmarshal([]byte(out.stdout), &rep); err != nil {
		t.Fatalf("run's JSON report: %v\n%s\n%s", err, out.stdout, out.stderr)
	}
	if len(rep.NotRevoked) == 0 || rep.NotRevoked[0] != left || !slices.ContainsFunc(rep.NotRevoked, func(s string) bool { return strings.Contains(s, "other than Atlassian's") }) {
		t.Errorf("report not revoked = %q; want the Okta line first, then what is not detected", rep.NotRevoked)
	}

	// Without the app's table: no sso line, no such warning.
	d2 := server(t, "postgres").NewDatabase(t)
	f.Setup(t, d2.Exec, 10)
	e2 := newEnv(t, targetYAML{name: "jira", product: "jira", db: d2})
	if r := e2.run(t, "plan").mustSucceed(t); strings.Contains(r.stdout, "sso:") || strings.Contains(r.stdout, "identity provider") {
		t.Errorf("plan without the SSO app:\n%s", r.stdout)
	}
}

// TestSSOVia: a target whose users sign in through Crowd (sso_via) is not ready in a plan or a
// run without Crowd: plan exits 2 and says why, run deletes nothing; --allow-sso-left turns
// the refusal into a warning; with Crowd in the run, neither is said. sso_via must name a
// Crowd target of the config.
func TestSSOVia(t *testing.T) {
	srv := server(t, "postgres")
	jd, cd := srv.NewDatabase(t), srv.NewDatabase(t)
	jf, _ := producttest.For("jira", "postgres")
	cf, _ := producttest.For("crowd", "postgres")
	jf.Setup(t, jd.Exec, 20)
	cf.Setup(t, cd.Exec, 20)
	e := newEnv(t, targetYAML{name: "jira", product: "jira", db: jd, extra: "    sso_via: crowd\n"},
		targetYAML{name: "crowd", product: "crowd", db: cd})
	why := "users of jira sign in through crowd (sso_via), which is not in this run"

	r := e.run(t, "plan", "--target", "jira")
	if r.code != 2 || !strings.Contains(r.stdout+r.stderr, why) || !strings.Contains(r.stdout+r.stderr, "--allow-sso-left") {
		t.Errorf("plan without crowd: exit %d\n%s%s\nwant 2 and %q", r.code, r.stdout, r.stderr, why)
	}
	r = e.run(t, "run", "--target", "jira", "--yes", "--reason", "CHG-1")
	if r.code != 2 || !strings.Contains(r.stderr, why) {
		t.Errorf("run without crowd: exit %d, %q; want 2 and %q", r.code, r.stderr, why)
	}
	if n := producttest.Count(t, jd.Open(t), jf.Table); n != 20 {
		t.Errorf("a refused run left %d of 20 rows", n)
	}
	r = e.run(t, "plan", "--target", "jira", "--allow-sso-left").mustSucceed(t)
	if !strings.Contains(r.stdout, "  warning:   "+why) {
		t.Errorf("plan --allow-sso-left does not warn:\n%s", r.stdout)
	}
	if r = e.run(t, "plan").mustSucceed(t); strings.Contains(r.stdout, "sso_via") {
		t.Errorf("plan with crowd still warns:\n%s", r.stdout)
	}
	// A command on one target warns only.
	if r = e.run(t, "clear", "--target", "jira", "--dry-run"); r.code != 0 || !strings.Contains(r.stdout+r.stderr, why) {
		t.Errorf("clear --dry-run of jira alone: exit %d\n%s%s\nwant 0 and the warning", r.code, r.stdout, r.stderr)
	}

	for _, bad := range []struct{ via, want string }{
		{"nope", `"nope" is not a target of this config`},
		{"jira2", "target jira2 is jira, which signs no other product's users in"},
		{"jira", `"jira" is the target itself`},
	} {
		e := newEnv(t, targetYAML{name: "jira", product: "jira", db: jd, extra: "    sso_via: " + bad.via + "\n"},
			targetYAML{name: "jira2", product: "jira", db: jd})
		if r := e.run(t, "plan"); r.code != 2 || !strings.Contains(r.stderr, "sso_via") || !strings.Contains(r.stderr, bad.want) {
			t.Errorf("sso_via: %s: exit %d, %q; want 2 and %q", bad.via, r.code, r.stderr, bad.want)
		}
	}
}

// TestCrowdTableNotAsExpected: a cwd_token that lacks a column of Crowd's layout, or the
// directory_id that tells applications' sessions apart, is refused before anything is read
// or deleted, with exit 2 and a message naming the column.
func TestCrowdTableNotAsExpected(t *testing.T) {
	f, _ := producttest.For("crowd", "postgres")
	for _, c := range []struct{ drop, want string }{
		{"random_hash", `table public.cwd_token has no column "random_hash"`},
		{"directory_id", `table public.cwd_token has no column "directory_id"`},
	} {
		t.Run(c.drop, func(t *testing.T) {
			d := server(t, "postgres").NewDatabase(t)
			f.Setup(t, d.Exec, 10)
			d.Exec(t, "ALTER TABLE cwd_token DROP COLUMN "+c.drop)
			e := newEnv(t, targetYAML{name: "crowd", product: "crowd", db: d})
			r := e.run(t, "clear", "--target", "crowd", "--yes")
			if r.code != 2 || !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "is this the right table?") {
				t.Errorf("clear: exit %d, %q; want 2 and %q", r.code, r.stderr, c.want)
			}
			if n := producttest.Count(t, d.Open(t), "cwd_token"); n != 10 {
				t.Errorf("%d of 10 rows left", n)
			}
			if entries, _ := os.ReadDir(filepath.Join(e.dir, "backups")); len(entries) > 0 {
				t.Errorf("backups written: %v", entries)
			}
		})
	}
}

// TestCrowdTokensInMemory: where Crowd keeps its SSO sessions in memory (its token storage
// setting, cwd_property crowd/database.token.storage.enabled = false), plan says that
// cwd_token holds none of them and only Crowd's restart ends them; absent or true, it does not.
func TestCrowdTokensInMemory(t *testing.T) {
	for _, dialect := range []string{"postgres", "mysql"} {
		t.Run(dialect, func(t *testing.T) {
			f, _ := producttest.For("crowd", dialect)
			d := server(t, dialect).NewDatabase(t)
			f.Setup(t, d.Exec, 10)
			e := newEnv(t, targetYAML{name: "crowd", product: "crowd", db: d})
			warn := "Crowd keeps its SSO sessions in memory (cwd_property crowd/database.token.storage.enabled = false): "
			for _, c := range []struct {
				sql  string
				want bool
			}{
				{"", false}, // no row: Crowd's default is the database
				{"INSERT INTO cwd_property (property_key, property_name, property_value) VALUES ('crowd', 'database.token.storage.enabled', 'true')", false},
				{"UPDATE cwd_property SET property_value = 'false' WHERE property_name = 'database.token.storage.enabled'", true},
			} {
				if c.sql != "" {
					d.Exec(t, c.sql)
				}
				r := e.run(t, "plan").mustSucceed(t)
				if got := strings.Contains(r.stdout, warn); got != c.want {
					t.Errorf("after %q: plan warns about memory: %v; want %v\n%s", c.sql, got, c.want, r.stdout)
				}
			}
		})
	}
}

// TestCrowdSSODetected: a product that signs users in through Crowd (Crowd SSO 2.0: a SAML
// identity provider of Atlassian's SSO app with SAML_IDP_TYPE CROWD, or, where that column is
// empty, the SSO URL Crowd's console serves) is shown as Crowd SSO in plan's text and JSON.
// Without sso_via the plan says to add the Crowd target and set sso_via; with it, and the Crowd
// target in the run, the Crowd line is gone from the warnings and from the report's not-revoked
// list, since the run ends those sessions.
func TestCrowdSSODetected(t *testing.T) {
	srv := server(t, "postgres")
	jd, cd := srv.NewDatabase(t), srv.NewDatabase(t)
	jf, _ := producttest.For("jira", "postgres")
	cf, _ := producttest.For("crowd", "postgres")
	jf.Setup(t, jd.Exec, 10)
	cf.Setup(t, cd.Exec, 10)
	const base = "https://crowd.example.com/crowd"
	producttest.SetupSSO(t, jd.Exec,
		producttest.IdP{Name: "Crowd", Type: "SAML", SAMLType: "CROWD", Issuer: base, URL: base + "/console/secure/saml/sso.action", Enabled: true},
		producttest.IdP{Name: "Crowd (older row)", Type: "SAML", Issuer: base, URL: base + "/console/secure/saml/sso.action", Enabled: false},
		producttest.IdP{Name: "Okta", Type: "SAML", SAMLType: "GENERIC", Issuer: "http://www.okta.com/exk1", URL: "https://example.okta.com/app/jira/sso/saml", Enabled: true},
		producttest.IdP{Name: "Keycloak", Type: "OIDC", Issuer: "https://kc.example.com/realms/corp", Enabled: true})
	crowdLine := `users of jira sign in through Crowd at ` + base + ` (Crowd SSO, identity provider "Crowd")`

	e := newEnv(t, targetYAML{name: "jira", product: "jira", db: jd})
	r := e.run(t, "plan").mustSucceed(t)
	for _, want := range []string{
		`  sso:       Crowd SSO (SAML) "Crowd", ` + base + "/console/secure/saml/sso.action\n",
		`  sso:       Crowd SSO (SAML) "Crowd (older row)", ` + base + "/console/secure/saml/sso.action (disabled)\n",
		`  sso:       SAML "Okta", https://example.okta.com/app/jira/sso/saml` + "\n",
		"  warning:   " + crowdLine + " and are signed in again silently while their Crowd session or Crowd remember-me lives: add the Crowd target to the run, and set sso_via: on jira so that plan checks it\n",
		`  warning:   users of jira are sent to https://kc.example.com/realms/corp (OIDC identity provider "Keycloak") and signed in again silently if their session there is alive: end their sessions at the identity provider (its issuer is a Keycloak realm's: POST https://kc.example.com/admin/realms/corp/logout-all with an admin token ends every session of the realm, .../users/{id}/logout one user's)` + "\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("plan lacks %q:\n%s", want, r.stdout)
		}
	}
	var plan struct {
		Targets []struct {
			SSO []struct {
				Name    string
				Crowd   bool
				Enabled bool
			}
		}
	}
	e.run(t, "plan", "--output", "json").mustSucceed(t).decode(t, &plan)
	if sso := plan.Targets[0].SSO; len(sso) != 4 || !sso[0].Crowd || !sso[1].Crowd || sso[2].Crowd || sso[3].Crowd {
		t.Errorf("plan JSON sso = %+v; want the two Crowd rows marked crowd, Okta and Keycloak not", sso)
	}

	e = newEnv(t, targetYAML{name: "jira", product: "jira", db: jd, extra: "    sso_via: crowd\n"},
		targetYAML{name: "crowd", product: "crowd", db: cd})
	if r := e.run(t, "plan").mustSucceed(t); strings.Contains(r.stdout, crowdLine) || !strings.Contains(r.stdout, `SAML identity provider "Okta"`) {
		t.Errorf("plan with sso_via and the Crowd target: the Crowd line stays, or Okta's went:\n%s", r.stdout)
	}
	var rep struct {
		NotRevoked []string `json:"not_revoked"`
	}
	out := e.run(t, "run", "--yes", "--reason", "CHG-1", "--output", "json")
	if err := json.Unmarshal([]byte(out.stdout), &rep); err != nil {
		t.Fatalf("run's JSON report: %v\n%s\n%s", err, out.stdout, out.stderr)
	}
	if slices.ContainsFunc(rep.NotRevoked, func(s string) bool { return strings.Contains(s, "sign in through Crowd at") }) ||
		!slices.ContainsFunc(rep.NotRevoked, func(s string) bool { return strings.Contains(s, `"Okta"`) }) {
		t.Errorf("report not revoked = %q; want Okta, and no Crowd line: the run ends Crowd's sessions", rep.NotRevoked)
	}
}

// TestCrowdRememberMePart: a Crowd target brings its part crowd.remember-me (Crowd's own
// remember-me tokens, cwd_remember_me_token): plan and run take both tables, each with its own
// backup that restore puts back; `sessions revoke --user` deletes the user's rows of both. A
// Crowd older than 3.4 has no such table: the part is left out with a warning, and the run goes
// on. A configured target may not take the part's name.
func TestCrowdRememberMePart(t *testing.T) {
	tf, _ := producttest.For("crowd", "postgres")
	rf := tf
	for _, f := range producttest.All() {
		if f.Product == "crowd" && f.Dialect == "postgres" && f.Part == "remember-me" {
			rf = f
		}
	}
	d := server(t, "postgres").NewDatabase(t)
	tf.Setup(t, d.Exec, 30) // both tables created; cwd_token seeded
	rf.Insert(t, d.Exec, 1, 20)
	pool := d.Open(t)
	before := producttest.Digest(t, pool, rf.Table)
	e := newEnv(t, targetYAML{name: "crowd", product: "crowd", db: d})

	var plan struct {
		Targets []struct {
			Name, Table string
			InScope     int64 `json:"in_scope"`
			Ready       bool
		}
	}
	e.run(t, "plan", "--output", "json").mustSucceed(t).decode(t, &plan)
	if len(plan.Targets) != 2 || plan.Targets[1].Name != "crowd.remember-me" || !strings.HasSuffix(plan.Targets[1].Table, ".cwd_remember_me_token") ||
		plan.Targets[0].InScope != 30 || plan.Targets[1].InScope != 20 || !plan.Targets[1].Ready {
		t.Fatalf("plan = %+v; want crowd (30) then crowd.remember-me (20), ready", plan)
	}

	// sessions revoke --user takes the user's rows of both tables.
	owned := func(table, col string) int {
		var n int
		if err := pool.QueryRow("SELECT COUNT(*) FROM " + table + " WHERE lower(" + col + ") = 'alice'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if owned("cwd_token", "entity_name") == 0 || owned("cwd_remember_me_token", "username") == 0 {
		t.Fatal("the seed gives alice no rows in one of the tables")
	}
	var rv struct {
		Cleared struct{ Deleted int64 }
		Parts   []struct {
			Target, Backup string
			Deleted        int64
		}
	}
	e.run(t, "sessions", "revoke", "--target", "crowd", "--user", "alice", "--yes", "--output", "json").mustSucceed(t).decode(t, &rv)
	if len(rv.Parts) != 1 || rv.Parts[0].Target != "crowd.remember-me" || rv.Parts[0].Deleted == 0 || rv.Cleared.Deleted == 0 {
		t.Errorf("revoke = %+v; want alice's rows of both tables deleted", rv)
	}
	if owned("cwd_token", "entity_name")+owned("cwd_remember_me_token", "username") != 0 {
		t.Error("alice keeps rows after sessions revoke")
	}
	e.run(t, "restore", "--yes", rv.Parts[0].Backup).mustSucceed(t)
	if producttest.Digest(t, pool, rf.Table) != before {
		t.Fatal("restore of the part's backup did not bring the table back")
	}

	// run clears both; the part's backup restores the remember-me table.
	var rep struct {
		Targets []struct {
			Name, Outcome string
			Cleared       *struct{ Backup string }
		}
		Undo []string
	}
	out := e.run(t, "run", "--yes", "--reason", "CHG-1", "--output", "json")
	if err := json.Unmarshal([]byte(out.stdout), &rep); err != nil {
		t.Fatalf("run's JSON report: %v\n%s\n%s", err, out.stdout, out.stderr)
	}
	if producttest.Count(t, pool, "cwd_token") != 0 || producttest.Count(t, pool, "cwd_remember_me_token") != 0 {
		t.Fatalf("run left rows: %d SSO sessions, %d remember-me", producttest.Count(t, pool, "cwd_token"), producttest.Count(t, pool, "cwd_remember_me_token"))
	}
	// The Crowd target lists no nodes, so its verify fails; its part's nodes are the Crowd
	// target's, so the part's verify looks at its table only, and passes.
	if len(rep.Targets) != 2 || rep.Targets[1].Name != "crowd.remember-me" || rep.Targets[1].Cleared == nil || len(rep.Undo) != 2 ||
		rep.Targets[0].Outcome != "failed" || rep.Targets[1].Outcome != "ok" {
		t.Fatalf("report = %+v; want both targets cleared, two undo lines, and only the part verified", rep)
	}
	// The part's clear ended before the target's own began.
	audit, err := os.ReadFile(filepath.Join(e.dir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	partDone, ownStart := -1, -1
	for i, line := range strings.Split(string(audit), "\n") {
		var a struct{ Target, Action, Outcome, Run string }
		if json.Unmarshal([]byte(line), &a) != nil || a.Action != "clear" {
			continue
		}
		switch {
		case a.Target == "crowd.remember-me" && a.Outcome == "ok":
			partDone = i
		case a.Target == "crowd" && a.Outcome == "started":
			ownStart = i
		}
	}
	if partDone < 0 || ownStart < partDone {
		t.Errorf("audit log: crowd's clear started at line %d, its part's ended at line %d; want the part first\n%s", ownStart, partDone, audit)
	}
	e.run(t, "restore", "--yes", rep.Targets[1].Cleared.Backup).mustSucceed(t)
	if producttest.Digest(t, pool, rf.Table) != before {
		t.Error("restore of the run's part backup did not bring the table back")
	}

	// No cwd_remember_me_token to be seen: a Crowd before 3.4, or a database user without
	// rights on it. The catalog cannot tell which, so the plan is not ready and says both;
	// skip_parts is the operator's word that this Crowd predates the table.
	old := server(t, "postgres").NewDatabase(t)
	tf.Setup(t, old.Exec, 5)
	old.Exec(t, "DROP TABLE cwd_remember_me_token")
	e = newEnv(t, targetYAML{name: "crowd", product: "crowd", db: old})
	r := e.run(t, "plan")
	if r.code != 2 || !strings.Contains(r.stdout+r.stderr, "the database user may lack rights on it; a Crowd older than 3.4 has none: then add skip_parts: [remember-me] to target crowd") {
		t.Errorf("plan of a Crowd without a visible remember-me table: exit %d\n%s%s\nwant 2 and both reasons", r.code, r.stdout, r.stderr)
	}
	if r := e.run(t, "run", "--yes", "--reason", "CHG-2"); r.code != 2 || producttest.Count(t, old.Open(t), "cwd_token") != 5 {
		t.Errorf("run of a Crowd without a visible remember-me table: exit %d; want 2 and nothing deleted", r.code)
	}
	e = newEnv(t, targetYAML{name: "crowd", product: "crowd", db: old, extra: "    skip_parts: [remember-me]\n"})
	r = e.run(t, "plan").mustSucceed(t)
	if !strings.Contains(r.stdout, "  warning:   part crowd.remember-me (cwd_remember_me_token) is left out by skip_parts: its rows are not cleared") ||
		strings.Contains(r.stdout, "\ncrowd.remember-me (") {
		t.Errorf("plan with skip_parts:\n%s", r.stdout)
	}
	e = newEnv(t, targetYAML{name: "crowd", product: "crowd", db: old, extra: "    skip_parts: [remember]\n"})
	if r := e.run(t, "plan"); r.code != 2 || !strings.Contains(r.stderr, `"remember" is not a part of crowd (its parts: remember-me)`) {
		t.Errorf("skip_parts naming no part: exit %d, %q", r.code, r.stderr)
	}

	// A part whose clear fails in a run: its target is not started, so Crowd's SSO sessions
	// are never cleared while its remember-me tokens could make new ones.
	failing := server(t, "postgres").NewDatabase(t)
	tf.Setup(t, failing.Exec, 7)
	rf.Insert(t, failing.Exec, 1, 3)
	failing.Exec(t, `CREATE FUNCTION refuse_delete() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'deletes refused here'; END $$ LANGUAGE plpgsql`)
	failing.Exec(t, "CREATE TRIGGER refuse_delete BEFORE DELETE ON cwd_remember_me_token FOR EACH ROW EXECUTE FUNCTION refuse_delete()")
	e = newEnv(t, targetYAML{name: "crowd", product: "crowd", db: failing})
	var frep struct {
		Targets []struct{ Name, Outcome, Error string }
	}
	out = e.run(t, "run", "--yes", "--reason", "CHG-3", "--output", "json")
	if err := json.Unmarshal([]byte(out.stdout), &frep); err != nil {
		t.Fatalf("run's JSON report: %v\n%s\n%s", err, out.stdout, out.stderr)
	}
	if len(frep.Targets) != 2 || frep.Targets[1].Outcome != "failed" || frep.Targets[0].Outcome != "failed" ||
		!strings.Contains(frep.Targets[0].Error, "not started: its part crowd.remember-me did not finish") {
		t.Errorf("report = %+v; want the part failed and crowd not started", frep)
	}
	if n := producttest.Count(t, failing.Open(t), "cwd_token"); n != 7 {
		t.Errorf("crowd's SSO sessions: %d of 7 left; want all: its part failed first", n)
	}

	// A target named like a part.
	e = newEnv(t, targetYAML{name: "crowd", product: "crowd", db: d}, targetYAML{name: "crowd.remember-me", product: "jira", db: d})
	if r := e.run(t, "plan"); r.code != 2 || !strings.Contains(r.stderr, `"crowd.remember-me" is taken`) {
		t.Errorf("a target named like a part: exit %d, %q; want 2 and the clash", r.code, r.stderr)
	}
}
