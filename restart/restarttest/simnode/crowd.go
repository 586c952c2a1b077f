package main

// Crowd SSO, as simulated here.
//
// A Crowd node issues an SSO token at every login: a row of cwd_token in Crowd's columns (the
// crowd.token_key cookie holds its random_hash) and an entry in the memory of the node that
// issued it. A token is valid, at any node of the cluster, while both hold: its row is still
// in cwd_token, and the process that issued it still runs (a node asks its peers whether they
// hold a token it does not). Deleting the row ends a token, and so does a restart of the node
// that issued it. Products configured with sso_via accept the cookie by asking a Crowd node
// through Crowd's REST validation of a token, and open a session of their own for its user.
//
// Not modelled: a restarted node taking tokens back from cwd_token or from a replicated cache
// (a real Crowd that stores its tokens in the database validates them from the table, so there
// the table's rows are what keep users signed in; one that keeps them in memory only loses them
// when it restarts); expiry by inactivity or by duration; validation factors (the client's
// address) and the identifier_hash derived from them; the application credentials that
// Crowd's REST API asks for; the cache in which an application keeps a validation for a
// while. Crowd's own remember-me (a login with "Remember me" ticked) is modelled: a row of
// cwd_remember_me_token behind the crowd.rememberme.token cookie, which, while the row exists,
// signs the user in again at any node with a new SSO token.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// crowdCookie is Crowd's SSO cookie (cookie.tokenkey in Crowd, crowd.token_key by default).
const crowdCookie = "crowd.token_key"

// crowdRememberCookie is Crowd's own remember-me cookie (Crowd 3.4+), backed by a row of
// cwd_remember_me_token: while the row is there, Crowd signs its user in again and issues a
// new SSO token.
const crowdRememberCookie = "crowd.rememberme.token"

// crowdSessionPath is Crowd's REST resource for a user's SSO session, below the context path;
// the token is appended.
const crowdSessionPath = "/rest/usermanagement/1/session/"

// errCrowdUnreachable: no Crowd node of sso_via answered, so a token could not be judged.
var errCrowdUnreachable = errors.New("no Crowd node answered")

// client is for requests to other nodes: a fresh connection each time, since nodes go away
// and come back; never through a proxy.
var client = &http.Client{
	Timeout:   5 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
}

// ssoTokens are the SSO tokens a Crowd node issued, held in its memory: token to user name.
type ssoTokens struct {
	mu      sync.Mutex
	byToken map[string]string
}

func newSSOTokens() *ssoTokens { return &ssoTokens{byToken: map[string]string{}} }

func (s *ssoTokens) add(token, user string) {
	s.mu.Lock()
	s.byToken[token] = user
	s.mu.Unlock()
}

func (s *ssoTokens) holds(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byToken[token]
	return ok
}

func (s *ssoTokens) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byToken)
}

// validateSSO returns the user name of a valid SSO token: held in memory by this node or a
// live peer, and its row still in cwd_token.
func (n *node) validateSSO(ctx context.Context, st *store, token string) (string, error) {
	if st == nil || token == "" {
		return "", errNoToken
	}
	if !n.sso.holds(token) && !n.peerHolds(ctx, token) {
		return "", errNoToken
	}
	return st.check(ctx, token)
}

// peerHolds asks the peers whether one of them holds the token. A peer that does not answer
// holds nothing: it is down, or its memory is gone with it.
func (n *node) peerHolds(ctx context.Context, token string) bool {
	for _, peer := range n.cfg.Peers {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(peer, "/")+"/_sim/sso/"+url.PathEscape(token), nil)
		if err != nil {
			n.log.Printf("peer %s: %v", peer, err)
			continue
		}
		resp, err := client.Do(req)
		if err != nil {
			n.log.Printf("peer %s: %v", peer, err)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return true
		}
	}
	return false
}

// ssoHeld answers a peer: 200 when this node holds the token in memory, else 404. It is the
// simulator's own, not Crowd's.
func (n *node) ssoHeld(w http.ResponseWriter, r *http.Request) {
	if !n.sso.holds(r.PathValue("token")) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintln(w, `{"held":true}`)
}

// crowdSession is Crowd's REST validation of an SSO token, POST
// /rest/usermanagement/1/session/{token}: 200 with the session and its user, 404 when the
// token is not (or no longer) valid.
func (n *node) crowdSession(w http.ResponseWriter, r *http.Request) {
	st, ok := n.running(w)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	token := r.PathValue("token")
	user, err := n.validateSSO(ctx, st, token)
	w.Header().Set("Content-Type", "application/json")
	if errors.Is(err, errNoToken) {
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"reason": "INVALID_SSO_TOKEN", "message": "the token is not valid"})
		return
	}
	if err != nil {
		n.log.Print(err)
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(map[string]string{"reason": "OPERATION_FAILED", "message": err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(crowdSessionJSON{Token: token, User: crowdUserJSON{Name: user}})
}

type crowdSessionJSON struct {
	Token string        `json:"token"`
	User  crowdUserJSON `json:"user"`
}

type crowdUserJSON struct {
	Name string `json:"name"`
}

// askCrowd has the Crowd nodes of sso_via validate an SSO token, in turn until one answers, and
// returns the token's user; errNoToken when Crowd says the token is not valid,
// errCrowdUnreachable when no node said anything.
func (n *node) askCrowd(ctx context.Context, token string) (string, error) {
	var errs []error
	for _, base := range n.cfg.SSOVia {
		user, err := validateAt(ctx, base, token)
		if err == nil || errors.Is(err, errNoToken) {
			return user, err
		}
		errs = append(errs, err)
	}
	return "", fmt.Errorf("%w: %w", errCrowdUnreachable, errors.Join(errs...))
}

func validateAt(ctx context.Context, base, token string) (string, error) {
	u := strings.TrimRight(base, "/") + crowdSessionPath + url.PathEscape(token)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(`{"validationFactors":[]}`))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("crowd %s: %w", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("crowd %s: %w", base, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		var s crowdSessionJSON
		if err := json.Unmarshal(body, &s); err != nil || s.User.Name == "" {
			return "", fmt.Errorf("crowd %s: a session without a user: %q", base, body)
		}
		return s.User.Name, nil
	case http.StatusNotFound:
		// Crowd says why; a 404 without its reason is a wrong URL, not an answer.
		var e struct{ Reason string }
		if json.Unmarshal(body, &e) == nil && e.Reason == "INVALID_SSO_TOKEN" {
			return "", errNoToken
		}
		return "", fmt.Errorf("crowd %s: HTTP 404 %.200q", base, body)
	}
	return "", fmt.Errorf("crowd %s: HTTP %d", base, resp.StatusCode)
}

// crowdEndSessions is Crowd's REST "invalidate all tokens for a given user name", DELETE
// /rest/usermanagement/1/session?username=U, which takes an application's name and password
// (Basic): 204 once the user's tokens are gone, from cwd_token and from this node's memory;
// 401 with "Application failed to authenticate" (text/plain) for wrong credentials; 404 for an
// unknown user (Crowd answers with an HTML page). Without an admin password file the node plays
// a Crowd older than the endpoint: 405, as Crowd's own client reads it.
func (n *node) crowdEndSessions(w http.ResponseWriter, r *http.Request) {
	if n.cfg.AdminPasswordFile == "" {
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	st, ok := n.running(w)
	if !ok {
		return
	}
	want, err := os.ReadFile(n.cfg.AdminPasswordFile)
	app, pass, basic := r.BasicAuth()
	if err != nil || !basic || app != "admin" || pass != strings.TrimSpace(string(want)) {
		w.Header().Set("WWW-Authenticate", `BASIC realm="Crowd REST Service"`)
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, "Application failed to authenticate")
		return
	}
	name := r.URL.Query().Get("username")
	if st == nil {
		http.Error(w, "no database", http.StatusInternalServerError)
		return
	}
	u, err := st.resolveCrowd(r.Context(), strings.ToLower(name))
	if errors.Is(err, errNoUser) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<html><body><h1>HTTP Status 404 - Not Found</h1></body></html>")
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	dropped, err := st.endCrowdSessions(r.Context(), u)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	n.sso.dropUser(u.name)
	n.log.Printf("application ended %d SSO sessions of %s", dropped, u.name)
	w.WriteHeader(http.StatusNoContent)
}

// dropUser forgets the user's tokens.
func (s *ssoTokens) dropUser(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for tok, u := range s.byToken {
		if strings.EqualFold(u, name) {
			delete(s.byToken, tok)
		}
	}
}

// crowdRemembered signs a user in again from Crowd's remember-me cookie: while its row is in
// cwd_remember_me_token, a new SSO token is issued (a row of cwd_token, held by this node) and
// returned for the crowd.token_key cookie. errNoToken: no such cookie, or no row.
func (n *node) crowdRemembered(ctx context.Context, r *http.Request, st *store) (user, token string, err error) {
	c, err := r.Cookie(crowdRememberCookie)
	if err != nil || st == nil {
		return "", "", errNoToken
	}
	u, err := st.checkCrowdRemember(ctx, c.Value)
	if err != nil {
		return "", "", err
	}
	if token, err = st.issue(ctx, u); err != nil {
		return "", "", err
	}
	n.sso.add(token, u.name)
	return u.name, token, nil
}
