package main

import "fmt"

// product is what a simulated node needs to know about the product it plays. These facts are
// written out here, not taken from package products, so that the simulator checks reauth's
// knowledge instead of echoing it.
type product struct {
	name           string
	sessionCookie  string
	rememberCookie string
	// statusPaths answer {"state":...}; empty for Fisheye, whose probe is GET / (HTML, 200 only
	// when running).
	statusPaths []string
	code        func(state string) int
	tomcat      bool // standalone Tomcat with conf/server.xml: session persistence applies
	tokenTable  string
	// userTable maps login names to what the token table stores; optional ones may be absent.
	userTable    string
	userOptional bool
	// rememberTable is Crowd's own remember-me table (Crowd 3.4+), behind crowdRememberCookie.
	rememberTable string
	// contextPath is where the product's web application is mounted ("" for the root): every
	// path, the probe's included, is below it.
	contextPath string
}

func lookupProduct(name string) (*product, error) {
	switch name {
	case "jira":
		return &product{name: name, sessionCookie: "JSESSIONID", rememberCookie: "seraph.rememberme.cookie",
			statusPaths: []string{"/status"}, code: jiraCode, tomcat: true,
			tokenTable: "remembermetoken", userTable: "app_user"}, nil
	case "confluence":
		return &product{name: name, sessionCookie: "JSESSIONID", rememberCookie: "seraph.confluence",
			statusPaths: []string{"/status"}, code: onlyStoppingUnavailable, tomcat: true,
			tokenTable: "remembermetoken", userTable: "cwd_user", userOptional: true}, nil
	case "bitbucket":
		return &product{name: name, sessionCookie: "BITBUCKETSESSIONID", rememberCookie: "_atl_bitbucket_remember_me",
			statusPaths: []string{"/status"}, code: bitbucketCode,
			tokenTable: "sta_remember_me_token", userTable: "sta_normal_user"}, nil
	case "bamboo":
		return &product{name: name, sessionCookie: "JSESSIONID", rememberCookie: "seraph.bamboo",
			statusPaths: []string{"/rest/api/latest/status", "/status"}, code: onlyStoppingUnavailable, tomcat: true,
			tokenTable: "rememberme_token", userTable: "cwd_user", userOptional: true}, nil
	case "fisheye":
		return &product{name: name, sessionCookie: "FESESSIONID", rememberCookie: "remember",
			code:       fisheyeCode,
			tokenTable: "cru_login_cookie", userTable: "cru_user"}, nil
	case "crowd":
		// Crowd's SSO cookie takes the remember-me cookie's place: every login sets it, and it
		// is backed by a row of cwd_token. JSESSIONID is the session of Crowd's own pages.
		// Crowd ships under the context path /crowd. Its status codes other than 200 RUNNING
		// are not documented: reauth reads only the JSON.
		return &product{name: name, sessionCookie: "JSESSIONID", rememberCookie: crowdCookie,
			statusPaths: []string{"/status"}, code: onlyStoppingUnavailable, tomcat: true,
			tokenTable: "cwd_token", userTable: "cwd_user", contextPath: "/crowd",
			rememberTable: "cwd_remember_me_token"}, nil
	}
	return nil, fmt.Errorf("product %q: want jira, confluence, bitbucket, bamboo, fisheye or crowd", name)
}

// Jira answers 200 while STARTING, STOPPING and FIRST_RUN too: only the JSON says it is ready.
func jiraCode(state string) int {
	switch state {
	case "MAINTENANCE":
		return 503
	case "ERROR":
		return 500
	}
	return 200
}

// Bitbucket answers 503 while STARTING but 200 in MAINTENANCE.
func bitbucketCode(state string) int {
	switch state {
	case "STARTING", "STOPPING":
		return 503
	case "ERROR":
		return 500
	}
	return 200
}

// Confluence and Bamboo answer 200 with whatever state they are in, except while stopping.
func onlyStoppingUnavailable(state string) int {
	if state == "STOPPING" {
		return 503
	}
	return 200
}

// Fisheye has no status endpoint: GET / is a page that loads only once it runs.
func fisheyeCode(state string) int {
	if state == "RUNNING" {
		return 200
	}
	return 503
}
