package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reauth/reauth/restart/restarttest"
)

// TestLongServerXML: Tomcat's server.xml is often longer than the few KiB of a remote
// command's output that reauth keeps; the <Manager> check reads the whole file, so a Manager
// early in a long file is seen, whichever way it is set.
func TestLongServerXML(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "jira", clusterOpts{nodes: 1})
	path := filepath.Join(c.install, "conf", "server.xml")
	// A long commented-out access log section after the context, as admins leave them.
	tail := "\n      <!--\n" + strings.Repeat("        <Valve className=\"org.apache.catalina.valves.AccessLogValve\" directory=\"logs\" prefix=\"access_log\" pattern=\"%h %l %u %t &quot;%r&quot; %s %b\"/>\n", 80) + "      -->\n"
	for _, c2 := range []struct {
		manager  string
		persists bool
	}{{restarttest.ManagerPersist, true}, {restarttest.ManagerOff, false}} {
		restarttest.WriteServerXML(t, c.install, c2.manager)
		data, _ := os.ReadFile(path)
		long := strings.Replace(string(data), "      </Host>", tail+"      </Host>", 1)
		if len(long) < 8<<10 {
			t.Fatalf("server.xml is only %d bytes", len(long))
		}
		os.WriteFile(path, []byte(long), 0o644)
		r := c.env.run(t, "plan", "--target", "jira").mustSucceed(t)
		if got := strings.Contains(r.stdout, "persists sessions"); got != c2.persists {
			t.Errorf("%s in a %d-byte server.xml: plan reports persistence = %v, want %v:\n%s", c2.manager, len(long), got, c2.persists, r.stdout)
		}
		if c2.persists && !strings.Contains(r.stdout, `<Manager pathname="SESSIONS.ser">`) {
			t.Errorf("plan does not name the Manager that persists:\n%s", r.stdout)
		}
	}
}
