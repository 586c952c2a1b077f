package restart

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/reauth/reauth/products"
)

// probeOf is the product table's probe for a product.
func probeOf(t testing.TB, product string) products.Probe {
	t.Helper()
	p, err := products.Lookup(product)
	if err != nil {
		t.Fatal(err)
	}
	return p.Probe
}

// TestProbeQuirks: each product's status endpoint, with every quirk of its HTTP codes, empty
// and non-JSON replies. Only a JSON RUNNING with the code RUNNING comes with is ready.
func TestProbeQuirks(t *testing.T) {
	tests := []struct {
		name    string
		product string
		code    int
		body    string
		want    State
	}{
		{"jira running", "jira", 200, `{"state":"RUNNING"}`, Running},
		{"jira starting answers 200", "jira", 200, `{"state":"STARTING"}`, Starting},
		{"jira stopping answers 200", "jira", 200, `{"state":"STOPPING"}`, Stopping},
		{"jira first run answers 200", "jira", 200, `{"state":"FIRST_RUN"}`, FirstRun},
		{"jira maintenance is 503", "jira", 503, `{"state":"MAINTENANCE"}`, Maintenance},
		{"jira error is 500", "jira", 500, `{"state":"ERROR"}`, Error},
		{"jira RUNNING with a 503 is not trusted", "jira", 503, `{"state":"RUNNING"}`, Unknown},
		{"jira lower-case state", "jira", 200, `{"state":"running"}`, Running},
		{"jira extra fields", "jira", 200, `{"state":"RUNNING","health":{"ok":true}}`, Running},
		{"jira empty 200", "jira", 200, ``, Unknown},
		{"jira html 200 (a proxy page)", "jira", 200, `<html><body>Service Unavailable</body></html>`, Unknown},
		{"jira json without state", "jira", 200, `{"status":"ok"}`, Unknown},
		{"confluence running", "confluence", 200, `{"state":"RUNNING"}`, Running},
		{"confluence starting", "confluence", 200, `{"state":"STARTING"}`, Starting},
		{"bitbucket starting is 503", "bitbucket", 503, `{"state":"STARTING"}`, Starting},
		{"bitbucket running", "bitbucket", 200, `{"state":"RUNNING"}`, Running},
		{"bitbucket maintenance answers 200", "bitbucket", 200, `{"state":"MAINTENANCE"}`, Maintenance},
		{"bitbucket empty reply under load", "bitbucket", 200, ``, Unknown},
		{"bitbucket whitespace reply", "bitbucket", 200, " \n", Unknown},
		{"bamboo running", "bamboo", 200, `{"state":"RUNNING"}`, Running},
		{"bamboo paused", "bamboo", 200, `{"state":"PAUSED"}`, Paused},
		{"bamboo not json", "bamboo", 200, `RUNNING`, Unknown},
		{"a state with escape sequences", "jira", 200, `{"state":"\u001b]0;owned\u0007RUNNING"}`, Unknown},
		{"a state forging a line", "jira", 200, `{"state":"RUNNING\nreauth: all nodes restarted"}`, Unknown},
		{"fisheye front page up", "fisheye", 200, `<html>FishEye</html>`, Running},
		{"fisheye front page 503", "fisheye", 503, ``, Starting},
		{"fisheye redirect to login is not up", "fisheye", 302, ``, Starting},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var path string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				path = r.URL.Path
				if tt.code == 302 {
					http.Redirect(w, r, "/login", http.StatusFound)
					return
				}
				w.WriteHeader(tt.code)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			got := Probe(context.Background(), NewHTTPClient(), probeOf(t, tt.product), srv.URL+"/")
			if got.State != tt.want {
				t.Errorf("Probe(%s, %d %q) = %s; want %s", tt.product, tt.code, tt.body, got, tt.want)
			}
			if got.Ready() != (tt.want == Running) {
				t.Errorf("Ready() = %v for %s", got.Ready(), got)
			}
			if want := probeOf(t, tt.product).Path; path != want {
				t.Errorf("probed %s; want %s", path, want)
			}
		})
	}
}

func TestProbeDown(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	got := Probe(context.Background(), NewHTTPClient(), probeOf(t, "jira"), "http://"+addr)
	if got.State != Down || got.Ready() {
		t.Errorf("Probe(closed port) = %s; want DOWN", got)
	}
	// A server that accepts and closes without answering is not down, and not ready.
	l, _ = net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if got := Probe(context.Background(), NewHTTPClient(), probeOf(t, "bitbucket"), "http://"+l.Addr().String()); got.Ready() {
		t.Errorf("Probe(closing server) = %s; want not ready", got)
	}
}

func TestPersistingManager(t *testing.T) {
	tests := []struct {
		name, doc string
		persists  bool
	}{
		{"shipped default", `<Context><Manager pathname=""/></Context>`, false},
		{"no manager: Tomcat's default persists", `<Server><Service><Engine><Host><Context path=""/></Host></Engine></Service></Server>`, true},
		{"manager without pathname", `<Context><Manager/></Context>`, true},
		{"manager with pathname", `<Context><Manager pathname="SESSIONS.ser"/></Context>`, true},
		{"persistent manager", `<Context><Manager className="org.apache.catalina.session.PersistentManager" pathname=""/></Context>`, true},
		{"commented out", `<Context><!-- <Manager pathname="SESSIONS.ser"/> --><Manager pathname=""/></Context>`, false},
		{"inside server.xml", `<Server port="8005"><Service name="Catalina"><Engine><Host><Context path="" docBase="x"><Manager pathname="x.ser"/></Context></Host></Engine></Service></Server>`, true},
		{"not xml, so no manager", `hello`, true},
	}
	for _, tt := range tests {
		if got := managerPersistence(tt.doc) != ""; got != tt.persists {
			t.Errorf("%s: persists = %v; want %v", tt.name, got, tt.persists)
		}
	}
}

func TestPersistenceAcrossFiles(t *testing.T) {
	off := `<Context><Manager pathname=""/></Context>`
	if got := managerPersistence(`<Server/>`, off); got != "" {
		t.Errorf("server.xml without a Manager and context.xml turning it off: %q; want off", got)
	}
	if got := managerPersistence(`<Server/>`, `<Context/>`); got == "" {
		t.Error("no Manager anywhere: want Tomcat's default persistence reported")
	}
}

func TestOrderedPutsPrimaryLast(t *testing.T) {
	s := Spec{Nodes: []Node{{Host: "p", Primary: true}, {Host: "s1"}, {Host: "s2"}}}
	got := s.Ordered()
	if got[0].Host != "s1" || got[1].Host != "s2" || got[2].Host != "p" {
		t.Errorf("Ordered = %v; want standbys first, primary last", got)
	}
}
