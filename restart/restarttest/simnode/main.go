// Command simnode behaves like one node of an Atlassian product (jira, confluence, bitbucket,
// bamboo, fisheye, crowd) for end-to-end tests of rolling restarts. It owns:
//
//   - the node's life cycle: pidfile, STARTING for a while, RUNNING, and on SIGTERM STOPPING for
//     a while (still answering), then exit 0; every state change is appended to an events file
//     before the status endpoint reports it;
//   - the product's readiness probe with its real HTTP quirks, and a fault-injection endpoint;
//   - logins: the HTTP session lives in this process's memory only, the remember-me cookie is
//     backed by a row in the product's real table in a real database;
//   - Tomcat's session persistence (SESSIONS.ser), when the node's conf/server.xml or
//     conf/context.xml asks for it;
//   - Crowd SSO (crowd.go): a Crowd node's SSO tokens, rows of cwd_token that hold only while
//     the node that issued them runs, and products that accept Crowd's SSO cookie by asking
//     a Crowd node (sso_via).
//
// Usage: simnode CONFIG.json. The config names the database through a DSN file, so that no
// secret appears in the process arguments. It is meant to be started detached, e.g.
//
//	setsid simnode cfg.json >node.log 2>&1 </dev/null &
//
// HTTP, on the config's listen address (127.0.0.0/8 only), below the product's context path
// (Crowd: /crowd, the others: none):
//
//	GET  /status                 {"state":...} with the product's code (Jira: 200 but 503 in
//	                             MAINTENANCE, 500 in ERROR; Bitbucket: 503 STARTING/STOPPING,
//	                             200 MAINTENANCE; Confluence, Bamboo: 200 but 503 STOPPING)
//	GET  /rest/api/latest/status Bamboo's probe (Bamboo answers /status too)
//	GET  /                       Fisheye's only probe: HTML, 200 when RUNNING, else 503
//	POST /login                  form user, remember=true|false; 503 unless RUNNING (Crowd:
//	                             the SSO cookie at every login, lasting with remember-me)
//	GET  /page                   "hello <user> from <node>" with a session this process holds,
//	                             a remember-me cookie whose row exists, or (sso_via) a Crowd
//	                             SSO cookie that Crowd validates; else 401 (503 when no Crowd
//	                             node answers)
//	POST /rest/usermanagement/1/session/{token}
//	                             Crowd: validates an SSO token, 200 {"token","user":{"name"}},
//	                             404 {"reason":"INVALID_SSO_TOKEN"}
//	GET  /_sim/sso/{token}       Crowd: 200 when this process holds the token, else 404 (asked
//	                             by its peers)
//	POST /_sim/fault             state=S (forced, recorded as an event), empty=N, garbage=N
//	                             (next N probe replies are 200 with an empty body, or with
//	                             "<html>oops</html>"), delay=D [delayed=N] (hold them)
//	GET  /_sim/state             the simulator's own view, as JSON
//
// Events are JSON lines {"time","node","state","pid"}: STARTING, RUNNING, STOPPING, STOPPED
// (written just before exit), and any forced state.
//
// Exit codes: 0 after a clean SIGTERM shutdown, 1 on a start-up failure, 2 on a bad config.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) != 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprintln(os.Stderr, "usage: simnode CONFIG.json")
		os.Exit(2)
	}
	os.Exit(run(os.Args[1]))
}
