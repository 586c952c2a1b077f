package products

import (
	"slices"
	"strings"
	"testing"
)

// TestProductFacts pins every product fact reauth acts on, as the products' public sources
// give them: Atlassian's KB articles and REST documentation (status endpoints, per-user
// session endpoints and the releases that have them, start scripts and services, cookies),
// public schema dumps (tables), and Tomcat's Manager documentation (server.xml and
// SESSIONS.ser). A change to the table must change this test, with its source.
func TestProductFacts(t *testing.T) {
	type facts struct {
		table, rememberCookie, sessionCookie string
		probePath                            string
		jsonState                            bool
		port                                 int
		databases                            string
		start, stop, service                 string
		tomcat                               bool // Tomcat layout: conf/server.xml, work/.../SESSIONS.ser
		sessionPath, sessionSince            string
	}
	want := map[string]facts{
		"jira": {"remembermetoken", "seraph.rememberme.cookie", "JSESSIONID", "/status", true, 8080,
			"postgres mysql sqlserver oracle", "bin/start-jira.sh", "bin/stop-jira.sh", "jira", true,
			"/rest/api/2/user/session/", "9.11"},
		"confluence": {"remembermetoken", "seraph.confluence", "JSESSIONID", "/status", true, 8090,
			"postgres mysql sqlserver oracle", "bin/start-confluence.sh", "bin/stop-confluence.sh", "confluence", true,
			"", ""},
		// Spring Boot with an embedded Tomcat: no server.xml, no SESSIONS.ser to look after.
		"bitbucket": {"sta_remember_me_token", "_atl_bitbucket_remember_me", "BITBUCKETSESSIONID", "/status", true, 7990,
			"postgres sqlserver oracle", "bin/start-bitbucket.sh", "bin/stop-bitbucket.sh", "atlbitbucket", false,
			"", ""},
		"bamboo": {"REMEMBERME_TOKEN", "seraph.bamboo", "JSESSIONID", "/rest/api/latest/status", true, 8085,
			"postgres mysql sqlserver oracle", "bin/start-bamboo.sh", "bin/stop-bamboo.sh", "bamboo", true,
			"/rest/admin/latest/session/", "9.4"},
		// Jetty, no status endpoint: the front page answering 200.
		"fisheye": {"CRU_LOGIN_COOKIE", "remember", "FESESSIONID", "/", false, 8060,
			"postgres mysql sqlserver oracle", "bin/start.sh", "bin/stop.sh", "fisheye", false,
			"", ""},
		// The SSO cookie is the token table's row. /status under the node URL, which carries
		// Crowd's context path (/crowd): Atlassian's load-balancer guide and its Helm chart's
		// test, which reads .state; start_crowd.sh and stop_crowd.sh in the install folder,
		// Tomcat in its apache-tomcat folder (Atlassian's Docker entrypoint). The per-user
		// session end is Crowd's REST "invalidate all tokens for a given user name" (a query
		// value, with an application's credentials; answered 204 by Crowd 2.6.0).
		"crowd": {"cwd_token", "crowd.token_key", "JSESSIONID", "/status", true, 8095,
			"postgres mysql sqlserver oracle", "start_crowd.sh", "stop_crowd.sh", "crowd", true,
			"/rest/usermanagement/1/session?username=", ""},
	}
	if got := Names(); !slices.Equal(got, []string{"jira", "confluence", "bitbucket", "bamboo", "fisheye", "crowd"}) {
		t.Fatalf("products %v", got)
	}
	for _, p := range All() {
		w := want[p.Name]
		got := facts{p.Tokens.Table, p.RememberMeCookie, p.SessionCookie, p.Probe.Path, p.Probe.JSONState, p.Port,
			strings.Join(p.Databases, " "), p.Start, p.Stop, p.Service, p.Tomcat, p.SessionPath, p.SessionSince}
		if got != w {
			t.Errorf("%s:\n got  %+v\n want %+v", p.Name, got, w)
		}
		if want := map[string]string{"crowd": "apache-tomcat"}[p.Name]; p.TomcatDir != want {
			t.Errorf("%s: Tomcat in %q of the install folder; want %q", p.Name, p.TomcatDir, want)
		}
	}
	// Crowd's own remember-me tokens (Crowd 3.4+): the Crowd 5 pg_dump's table, and the cookie
	// Crowd's debug log names.
	crowd, _ := Lookup("crowd")
	if len(crowd.Parts) != 1 {
		t.Fatalf("crowd parts %+v; want remember-me", crowd.Parts)
	}
	rm := crowd.Part(0)
	if got := []string{crowd.Parts[0].Suffix, rm.Tokens.Table, rm.RememberMeCookie, rm.Tokens.Key, rm.Tokens.User, rm.Tokens.Created, crowd.Parts[0].Since}; !slices.Equal(got,
		[]string{"remember-me", "cwd_remember_me_token", "crowd.rememberme.token", "id", "username", "created_date", "3.4"}) {
		t.Errorf("crowd remember-me part %v", got)
	}
	if rm.Parts != nil || rm.Name != "crowd" || crowd.Tokens.Table != "cwd_token" {
		t.Error("a part's view of the product must keep its name and have no parts, and leave the product as it was")
	}
	for _, tc := range []struct{ product, user, want string }{
		{"crowd", "a b&c", "http://h/crowd/rest/usermanagement/1/session?username=a+b%26c"},
		{"jira", "a b/c", "http://h/crowd/rest/api/2/user/session/a%20b%2Fc"},
	} {
		p, _ := Lookup(tc.product)
		if got := p.SessionURL("http://h/crowd/", tc.user); got != tc.want {
			t.Errorf("%s session URL for %q = %s; want %s", tc.product, tc.user, got, tc.want)
		}
	}
}
