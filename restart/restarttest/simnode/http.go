package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

func (n *node) routes() http.Handler {
	mux := http.NewServeMux()
	p := n.cfg.product
	for _, path := range p.statusPaths {
		mux.HandleFunc("GET "+path, n.status)
	}
	if len(p.statusPaths) == 0 {
		mux.HandleFunc("GET /{$}", n.status)
	}
	mux.HandleFunc("POST /login", n.login)
	mux.HandleFunc("GET /page", n.page)
	switch n.cfg.Product {
	case "jira":
		mux.HandleFunc("DELETE /rest/api/2/user/session/{username}", n.killSessions)
	case "bamboo":
		mux.HandleFunc("DELETE /rest/admin/latest/session/{username}", n.killSessions)
	case "crowd":
		mux.HandleFunc("POST "+crowdSessionPath+"{token}", n.crowdSession)
		mux.HandleFunc("DELETE "+strings.TrimSuffix(crowdSessionPath, "/"), n.crowdEndSessions)
		mux.HandleFunc("GET /_sim/sso/{token}", n.ssoHeld)
	}
	mux.HandleFunc("POST /_sim/fault", n.fault)
	mux.HandleFunc("GET /_sim/state", n.info)
	if p.contextPath == "" {
		return mux
	}
	root := http.NewServeMux()
	root.Handle(p.contextPath+"/", http.StripPrefix(p.contextPath, mux))
	return root
}

// status is the product's readiness probe, with its faults.
func (n *node) status(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	state := n.state
	var fault string
	var delay time.Duration
	switch {
	case n.empty > 0:
		n.empty--
		fault = "empty"
	case n.garbage > 0:
		n.garbage--
		fault = "garbage"
	}
	if n.delayN > 0 {
		n.delayN--
		delay = n.delay
	}
	n.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	switch fault {
	case "empty": // Bitbucket under load
		w.WriteHeader(http.StatusOK)
		return
	case "garbage":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, "<html>oops</html>")
		return
	}
	code := n.cfg.product.code(state)
	if len(n.cfg.product.statusPaths) == 0 {
		w.Header().Set("Content-Type", "text/html;charset=UTF-8")
		w.WriteHeader(code)
		if code == http.StatusOK {
			fmt.Fprintf(w, "<html><head><title>FishEye and Crucible</title></head><body>%s</body></html>\n", n.cfg.Node)
		} else {
			fmt.Fprint(w, "<html><body>Service Unavailable</body></html>\n")
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"state": state})
}

// running answers 503 and returns false unless the node serves users.
func (n *node) running(w http.ResponseWriter) (*store, bool) {
	state, st := n.current()
	if state != "RUNNING" {
		http.Error(w, n.cfg.Node+" is "+state, http.StatusServiceUnavailable)
		return nil, false
	}
	return st, true
}

func (n *node) login(w http.ResponseWriter, r *http.Request) {
	st, ok := n.running(w)
	if !ok {
		return
	}
	user := strings.TrimSpace(r.FormValue("user"))
	remember := r.FormValue("remember") == "true"
	if user == "" {
		http.Error(w, "user: missing", http.StatusBadRequest)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	var stored any = user
	if st != nil {
		var err error
		stored, err = st.resolve(ctx, user)
		if errors.Is(err, errNoUser) {
			http.Error(w, "no such user: "+user, http.StatusUnauthorized)
			return
		}
		if err != nil {
			n.log.Print(err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	// Crowd sets its SSO cookie at every login (without a database, it has none to give):
	// remember-me only makes the cookie outlive the browser.
	crowd := n.cfg.product.name == "crowd"
	if remember || crowd && st != nil {
		if st == nil {
			http.Error(w, "remember-me needs a database (no db in the config)", http.StatusNotImplemented)
			return
		}
		value, err := st.issue(ctx, stored)
		if err != nil {
			n.log.Print(err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if crowd {
			n.sso.add(value, stored.(crowdUser).name)
		}
		c := &http.Cookie{Name: n.cfg.product.rememberCookie, Value: value, Path: "/", HttpOnly: true}
		if remember {
			c.MaxAge = 14 * 24 * 3600
		}
		http.SetCookie(w, c)
		// Crowd 3.4+ also remembers the user in a table of its own, where it has the table.
		if crowd && remember && st.remember != "" {
			rv, err := st.issueCrowdRemember(ctx, stored.(crowdUser))
			if err != nil {
				n.log.Print(err)
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: crowdRememberCookie, Value: rv, Path: "/", HttpOnly: true, MaxAge: 14 * 24 * 3600})
		}
	}
	sess := n.sessions.create(user)
	n.setSessionCookie(w, sess)
	n.log.Printf("login %s (remember-me %v)", user, remember)
	fmt.Fprintf(w, "welcome %s to %s\n", user, n.cfg.Node)
}

func (n *node) setSessionCookie(w http.ResponseWriter, sess session) {
	http.SetCookie(w, &http.Cookie{Name: n.cfg.product.sessionCookie, Value: sess.ID, Path: "/", HttpOnly: true})
}

// page needs a session this node holds in memory; without one, a cookie that signs the user
// in opens a new session (see signIn).
func (n *node) page(w http.ResponseWriter, r *http.Request) {
	st, ok := n.running(w)
	if !ok {
		return
	}
	if c, err := r.Cookie(n.cfg.product.sessionCookie); err == nil {
		if sess, ok := n.sessions.get(c.Value); ok {
			fmt.Fprintf(w, "hello %s from %s", sess.User, n.cfg.Node)
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	user, how, err := n.signIn(ctx, r, st)
	if errors.Is(err, errNoToken) && n.cfg.product.name == "crowd" {
		// No valid SSO cookie: Crowd's remember-me signs the user in with a new one.
		var token string
		if user, token, err = n.crowdRemembered(ctx, r, st); err == nil {
			how = "Crowd remember-me"
			http.SetCookie(w, &http.Cookie{Name: crowdCookie, Value: token, Path: "/", HttpOnly: true})
		}
	}
	switch {
	case errors.Is(err, errNoToken):
		http.Error(w, "not logged in", http.StatusUnauthorized)
		return
	case errors.Is(err, errCrowdUnreachable):
		n.log.Print(err)
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	case err != nil:
		n.log.Print(err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	sess := n.sessions.create(user)
	n.setSessionCookie(w, sess)
	n.log.Printf("%s logged %s in", how, user)
	fmt.Fprintf(w, "hello %s from %s", sess.User, n.cfg.Node)
}

// signIn finds who a request without a session is: the remember-me cookie whose row is still
// in the database (Crowd: the SSO cookie, valid as crowd.go says), else, with sso_via, the
// Crowd SSO cookie that Crowd validates, for a user this product knows. errNoToken: nobody.
func (n *node) signIn(ctx context.Context, r *http.Request, st *store) (user, how string, err error) {
	if c, cerr := r.Cookie(n.cfg.product.rememberCookie); cerr == nil && st != nil {
		if n.cfg.product.name == "crowd" {
			user, err = n.validateSSO(ctx, st, c.Value)
			return user, "the SSO cookie", err
		}
		user, err = st.check(ctx, c.Value)
		if !errors.Is(err, errNoToken) {
			return user, "remember-me", err
		}
	}
	c, cerr := r.Cookie(crowdCookie)
	if cerr != nil || len(n.cfg.SSOVia) == 0 {
		return "", "", errNoToken
	}
	if user, err = n.askCrowd(ctx, c.Value); err != nil {
		return "", "", err
	}
	if st != nil {
		if _, err := st.resolve(ctx, user); err != nil {
			if errors.Is(err, errNoUser) {
				n.log.Printf("Crowd signs in %s, who is no user here", user)
				err = errNoToken
			}
			return "", "", err
		}
	}
	return user, "Crowd SSO", nil
}

// fault injects failures: state=S forces a state (recorded as a transition), empty=N and
// garbage=N make the next N status replies an empty 200 or non-JSON HTML with 200, delay=D
// with delayed=N (default 1) holds the next N status replies for D.
func (n *node) fault(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	count := func(name string) (int, bool) {
		v := r.Form.Get(name)
		if v == "" {
			return 0, true
		}
		i, err := strconv.Atoi(v)
		if err != nil || i < 0 {
			http.Error(w, name+": not a count", http.StatusBadRequest)
			return 0, false
		}
		return i, true
	}
	empty, ok1 := count("empty")
	garbage, ok2 := count("garbage")
	delayed, ok3 := count("delayed")
	if !ok1 || !ok2 || !ok3 {
		return
	}
	var delay time.Duration
	if v := r.Form.Get("delay"); v != "" {
		var err error
		if delay, err = time.ParseDuration(v); err != nil || delay < 0 {
			http.Error(w, "delay: not a duration", http.StatusBadRequest)
			return
		}
		if delayed == 0 {
			delayed = 1
		}
	}
	state := strings.ToUpper(strings.TrimSpace(r.Form.Get("state")))
	n.mu.Lock()
	if r.Form.Has("empty") {
		n.empty = empty
	}
	if r.Form.Has("garbage") {
		n.garbage = garbage
	}
	if delay > 0 {
		n.delay, n.delayN = delay, delayed
	}
	if state != "" && state != n.state {
		n.setStateLocked(state)
	}
	n.mu.Unlock()
	n.log.Printf("fault %s", r.Form.Encode())
	n.info(w, r)
}

// info is the simulator's own view, for tests: not part of any product.
func (n *node) info(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	v := map[string]any{"node": n.cfg.Node, "product": n.cfg.Product, "state": n.state,
		"sessions": n.sessions.count(), "pid": os.Getpid(), "db": n.store != nil,
		"empty": n.empty, "garbage": n.garbage, "sso_tokens": n.sso.count()}
	n.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// killSessions is the per-user session endpoint of Jira 9.11+ and Bamboo: an administrator
// (HTTP basic auth) ends every session of a user on this node. Without an admin password
// configured it answers 404, like a version without the endpoint.
func (n *node) killSessions(w http.ResponseWriter, r *http.Request) {
	if n.cfg.AdminPasswordFile == "" {
		http.NotFound(w, r)
		return
	}
	st, ok := n.running(w)
	if !ok {
		return
	}
	want, err := os.ReadFile(n.cfg.AdminPasswordFile)
	user, pass, basic := r.BasicAuth()
	if err != nil || !basic || user != "admin" || pass != strings.TrimSpace(string(want)) {
		w.Header().Set("WWW-Authenticate", `Basic realm="simnode"`)
		http.Error(w, `{"errorMessages":["You are not authenticated. Authentication required to perform this operation."]}`, http.StatusUnauthorized)
		return
	}
	name := r.PathValue("username")
	if st != nil {
		if _, err := st.resolve(r.Context(), name); errors.Is(err, errNoUser) {
			http.Error(w, `{"errorMessages":["The user named '`+name+`' does not exist"]}`, http.StatusNotFound)
			return
		}
	}
	dropped := n.sessions.dropUser(name)
	n.log.Printf("admin ended %d sessions of %s", dropped, name)
	w.WriteHeader(http.StatusNoContent)
}
