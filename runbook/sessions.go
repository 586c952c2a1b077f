package runbook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/products"
	"github.com/reauth/reauth/tokens"
)

// UserRevoke is what happened to one user's in-memory sessions.
type UserRevoke struct {
	User    string `json:"user"`
	HTTP    int    `json:"http,omitempty"`
	Ended   bool   `json:"sessions_ended"`
	Outcome string `json:"outcome"`
}

// RevokeResult is what `sessions revoke` did on an Atlassian target.
type RevokeResult struct {
	Cleared tokens.ClearResult `json:"cleared"`
	// Parts are the clears of the target's parts (Crowd's remember-me tokens).
	Parts []tokens.ClearResult `json:"parts,omitempty"`
	Users []UserRevoke         `json:"users"`
	// RestartNeeded is set when some in-memory sessions could not be ended through the API.
	RestartNeeded bool   `json:"restart_needed"`
	Restart       string `json:"restart,omitempty"` // the command that ends them
}

// ErrNoSessionAPI says why a target's in-memory sessions cannot be ended per user.
var ErrNoSessionAPI = errors.New("no per-user session endpoint")

// sessionAPI is a target's per-user session endpoint: the product, the target's base URL and
// the credentials it takes.
type sessionAPI struct {
	product        *products.Product
	base           string
	user, password string
}

// url is the endpoint for one user.
func (s sessionAPI) url(user string) string { return s.product.SessionURL(s.base, user) }

// sessionAPI returns the endpoint of a target, or why it has none.
func (c *Config) sessionAPI(name string) (sessionAPI, error) {
	tc, err := c.Target(name)
	if err != nil {
		return sessionAPI{}, err
	}
	p, err := tc.productFacts()
	if err != nil || p.SessionPath == "" {
		return sessionAPI{}, fmt.Errorf("%w: %s has none", ErrNoSessionAPI, tc.Product)
	}
	// A part's endpoint settings are its target's.
	if tc, err = c.Target(tc.Owner()); err != nil {
		return sessionAPI{}, err
	}
	if tc.BaseURL == "" || tc.Admin.User == "" {
		return sessionAPI{}, fmt.Errorf("%w: target %s has no base_url and admin: user", ErrNoSessionAPI, tc.Name)
	}
	pass, given, err := c.secretFrom(tc, "admin", "", tc.Admin.PasswordEnv, tc.Admin.PasswordFile)
	switch {
	case err != nil:
		return sessionAPI{}, err
	case !given:
		return sessionAPI{}, c.fail(tc, "admin", "give password_env or password_file")
	}
	return sessionAPI{product: p, base: tc.BaseURL, user: tc.Admin.User, password: pass}, nil
}

// CheckSessionAPI reports a problem with a target's per-user session endpoint settings (an
// unset admin password variable, say) before anything is deleted. A target without the
// endpoint is not a problem: EndSessions then says a restart is needed.
func (c *Config) CheckSessionAPI(name string) error {
	_, err := c.sessionAPI(name)
	if errors.Is(err, ErrNoSessionAPI) {
		return nil
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
}

// SessionAPITimeout bounds one call of a product's per-user session endpoint.
var SessionAPITimeout = 30 * time.Second

// EndSessions calls the product's per-user session endpoint for each user, so that sessions
// held in the nodes' memory end without a restart. Where there is no endpoint (or no admin
// credentials), or a call fails, the result says a restart is needed.
func (p *Plan) EndSessions(ctx context.Context, target string, users []string) ([]UserRevoke, bool, error) {
	api, err := p.cfg.sessionAPI(target)
	if errors.Is(err, ErrNoSessionAPI) {
		var out []UserRevoke
		for _, u := range users {
			out = append(out, UserRevoke{User: u, Outcome: "in-memory sessions remain until the nodes restart (" + err.Error() + ")"})
		}
		return out, true, nil
	}
	if err != nil {
		return nil, true, err
	}
	// A redirect is never a success: an SSO proxy answering the API with a login page (200 after
	// a redirect) must not be taken for ended sessions.
	client := &http.Client{Timeout: SessionAPITimeout, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	var out []UserRevoke
	restartNeeded := false
	// An endpoint that did not answer one call is not asked again: a thousand users would
	// otherwise wait a thousand timeouts.
	unanswered := ""
	for _, u := range users {
		r := UserRevoke{User: u}
		if unanswered != "" {
			r.Outcome = "not called: " + unanswered + "; in-memory sessions remain until the nodes restart"
			restartNeeded = true
			out = append(out, r)
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, api.url(u), nil)
		if err != nil {
			return nil, true, err
		}
		req.SetBasicAuth(api.user, api.password)
		resp, err := client.Do(req)
		switch {
		case err != nil && (isTimeout(err) || ctx.Err() != nil):
			unanswered = fmt.Sprintf("%s did not answer within %s", api.base, SessionAPITimeout)
			if ctx.Err() != nil {
				unanswered = "interrupted"
			}
			r.Outcome = "the call failed (" + unanswered + "): in-memory sessions remain until the nodes restart"
		case err != nil:
			r.Outcome = "the call failed (" + db.OneLine(err.Error()) + "): in-memory sessions remain until the nodes restart"
		case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent:
			r.HTTP, r.Ended, r.Outcome = resp.StatusCode, true, "sessions ended"
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			who := "the admin credentials of the target"
			if api.product.SessionAuth != "" {
				who = "the target's admin: user and password (" + api.product.SessionAuth + ")"
			}
			r.HTTP, r.Outcome = resp.StatusCode, fmt.Sprintf("refused (HTTP %d): check %s; in-memory sessions remain until the nodes restart", resp.StatusCode, who)
			if resp.StatusCode == http.StatusUnauthorized {
				// Wrong credentials: every further call would be refused the same way. A 403
				// may be about this user alone.
				unanswered = fmt.Sprintf("%s refused the credentials (HTTP 401)", api.base)
			}
		case resp.StatusCode == http.StatusNotFound:
			older := "a version without the endpoint"
			if api.product.SessionSince != "" {
				older += fmt.Sprintf(" (%s before %s)", api.product.Title, api.product.SessionSince)
			}
			r.HTTP, r.Outcome = resp.StatusCode, "not found (HTTP 404): an unknown user, or "+older+"; in-memory sessions remain until the nodes restart"
		case resp.StatusCode == http.StatusMethodNotAllowed:
			r.HTTP, r.Outcome = resp.StatusCode, fmt.Sprintf("not allowed (HTTP 405): this %s is too old for the endpoint; in-memory sessions remain until the nodes restart", api.product.Title)
			unanswered = fmt.Sprintf("%s has no such endpoint (HTTP 405)", api.base)
		default:
			r.HTTP, r.Outcome = resp.StatusCode, fmt.Sprintf("HTTP %d: in-memory sessions remain until the nodes restart", resp.StatusCode)
		}
		if resp != nil {
			resp.Body.Close()
		}
		if !r.Ended {
			restartNeeded = true
		}
		out = append(out, r)
	}
	return out, restartNeeded, nil
}

// Scope is the plan's scope.
func (p *Plan) ScopeValue() tokens.Scope { return p.scope }
