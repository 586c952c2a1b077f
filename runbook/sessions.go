package runbook

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/products"
)

// UserTokens is one user's remember-me tokens.
type UserTokens struct {
	// User is the login name, folded as the product folds it where it compares names so (the
	// stored value itself when it maps to no user, with Unknown set).
	User    string `json:"user"`
	Unknown bool   `json:"unknown,omitempty"`
	// Stored are the values of the token table's user column counted here: a user key, an id,
	// or each spelling of a name.
	Stored []string   `json:"stored"`
	Tokens int64      `json:"tokens"`
	Oldest *time.Time `json:"oldest,omitempty"`
	Newest *time.Time `json:"newest,omitempty"`
}

// ListTokens counts the remember-me tokens in scope per user, most first.
func (c *Conn) ListTokens(ctx context.Context, s Scope) ([]UserTokens, error) {
	tt := c.Tokens
	if tt.User == "" {
		return nil, fmt.Errorf("%w: %s's table %s has no user column (set columns.user if it has one)", ErrScope, c.Target.Product.Title, tt.Table)
	}
	conds, err := c.conditions(ctx, s)
	if err != nil {
		return nil, err
	}
	d := c.Target.Dialect
	q, args := d.GroupCount(tt.Table, tt.User, true, tt.Created, conds...)
	rows, err := c.Pool.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list tokens of %s: %w", tt.Table, err)
	}
	defer rows.Close()
	var per []UserTokens
	for rows.Next() {
		var (
			u          sql.NullString
			n          int64
			minT, maxT = db.ScanTarget(tt.CreatedKind), db.ScanTarget(tt.CreatedKind)
		)
		dest := []any{&u, &n}
		if tt.Created != "" {
			dest = append(dest, minT, maxT)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("list tokens of %s: %w", tt.Table, err)
		}
		ut := UserTokens{User: u.String, Tokens: n}
		if u.Valid {
			ut.Stored = []string{u.String}
		} else {
			ut.User, ut.Unknown = "(no user)", true
		}
		if tt.Created != "" {
			ut.Oldest, ut.Newest = createdTime(minT, tt.CreatedKind), createdTime(maxT, tt.CreatedKind)
		}
		per = append(per, ut)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens of %s: %w", tt.Table, err)
	}
	names, err := c.loginNames(ctx, per)
	if err != nil {
		return nil, err
	}
	out := mergeByUser(per, names)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Tokens != out[j].Tokens {
			return out[i].Tokens > out[j].Tokens
		}
		return out[i].User < out[j].User
	})
	return out, nil
}

// mergeByUser adds up the counts of the stored values that belong to one login name.
func mergeByUser(per []UserTokens, names map[string]string) []UserTokens {
	var out []UserTokens
	at := map[string]int{}
	for _, ut := range per {
		if len(ut.Stored) == 0 {
			out = append(out, ut)
			continue
		}
		login, ok := names[ut.Stored[0]]
		if !ok {
			ut.Unknown = true
			out = append(out, ut)
			continue
		}
		i, seen := at[login]
		if !seen {
			at[login] = len(out)
			ut.User = login
			out = append(out, ut)
			continue
		}
		m := &out[i]
		m.Tokens += ut.Tokens
		m.Stored = append(m.Stored, ut.Stored...)
		if ut.Oldest != nil && (m.Oldest == nil || ut.Oldest.Before(*m.Oldest)) {
			m.Oldest = ut.Oldest
		}
		if ut.Newest != nil && (m.Newest == nil || ut.Newest.After(*m.Newest)) {
			m.Newest = ut.Newest
		}
	}
	for i := range out {
		sort.Strings(out[i].Stored)
	}
	return out
}

func createdTime(dest any, kind db.Kind) *time.Time {
	s, ok := db.Text(dest)
	if !ok {
		return nil
	}
	if kind == db.KindTime {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil
		}
		return &t
	}
	var ms int64
	if _, err := fmt.Sscan(s, &ms); err != nil {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

// loginNames maps stored values to login names: through the product's user tables (Jira's user
// keys, Bitbucket's ids), and, where the column holds names, by the product's fold.
func (c *Conn) loginNames(ctx context.Context, per []UserTokens) (map[string]string, error) {
	users := c.Target.Product.Tokens.Users
	out := map[string]string{}
	var stored []any
	for _, u := range per {
		if len(u.Stored) > 0 {
			stored = append(stored, u.Stored[0])
		}
	}
	if len(stored) == 0 {
		return out, nil
	}
	d := c.Target.Dialect
	for _, m := range users.Maps {
		tables, err := db.Tables(ctx, c.Pool, d, c.Tokens.Table.Schema, db.NameIs(m.Table))
		if err != nil {
			return nil, err
		}
		if len(tables) != 1 {
			c.note(fmt.Sprintf("no table %s in schema %s: users are shown as the token table stores them", m.Table, c.Tokens.Table.Schema))
			continue
		}
		mc, err := c.exactColumns(ctx, tables[0], m.Stored, m.Login)
		if err != nil {
			return nil, err
		}
		col, _ := db.Columns(ctx, c.Pool, d, tables[0])
		cond := db.In
		for _, cc := range col {
			if cc.Name == mc[m.Stored] && cc.Kind == db.KindText {
				cond = db.ExactIn
			}
		}
		for i := 0; i < len(stored); i += d.MaxInList {
			err := c.each(ctx, tables[0], []string{mc[m.Stored], mc[m.Login]}, cond(mc[m.Stored], stored[i:min(i+d.MaxInList, len(stored))]...), func(v []sql.NullString) {
				if v[0].Valid && v[1].Valid {
					if _, dup := out[v[0].String]; !dup {
						out[v[0].String] = v[1].String
					}
				}
			})
			if err != nil {
				return nil, fmt.Errorf("map users through %s: %w", tables[0], err)
			}
		}
	}
	if users.Names {
		for _, s := range stored {
			s := s.(string)
			if _, ok := out[s]; ok {
				continue
			}
			if f, exact := users.Fold.Apply(s); exact {
				out[s] = f
			}
		}
	}
	return out, nil
}

// UserRevoke is what happened to one user's in-memory sessions.
type UserRevoke struct {
	User    string `json:"user"`
	HTTP    int    `json:"http,omitempty"`
	Ended   bool   `json:"sessions_ended"`
	Outcome string `json:"outcome"`
}

// RevokeResult is what `sessions revoke` did on an Atlassian target.
type RevokeResult struct {
	Cleared ClearResult  `json:"cleared"`
	Users   []UserRevoke `json:"users"`
	// RestartNeeded is set when some in-memory sessions could not be ended through the API.
	RestartNeeded bool   `json:"restart_needed"`
	Restart       string `json:"restart,omitempty"` // the command that ends them
}

// ErrNoSessionAPI says why a target's in-memory sessions cannot be ended per user.
var ErrNoSessionAPI = errors.New("no per-user session endpoint")

// sessionAPI returns the endpoint base and the admin credentials of a target, or why not.
func (c *Config) sessionAPI(name string) (base, user, pass string, err error) {
	tc, err := c.Target(name)
	if err != nil {
		return "", "", "", err
	}
	path := ""
	if p, err := products.Lookup(tc.Product); err == nil {
		path = p.SessionPath
	}
	switch {
	case path == "":
		return "", "", "", fmt.Errorf("%w: %s has none", ErrNoSessionAPI, tc.Product)
	case tc.BaseURL == "" || tc.Admin.User == "":
		return "", "", "", fmt.Errorf("%w: target %s has no base_url and admin: user", ErrNoSessionAPI, name)
	}
	pass, given, err := c.secretFrom(tc, "admin", "", tc.Admin.PasswordEnv, tc.Admin.PasswordFile)
	switch {
	case err != nil:
		return "", "", "", err
	case !given:
		return "", "", "", c.fail(tc, "admin", "give password_env or password_file")
	}
	return strings.TrimRight(tc.BaseURL, "/") + path, tc.Admin.User, pass, nil
}

// CheckSessionAPI reports a problem with a target's per-user session endpoint settings (an
// unset admin password variable, say) before anything is deleted. A target without the
// endpoint is not a problem: EndSessions then says a restart is needed.
func (c *Config) CheckSessionAPI(name string) error {
	_, _, _, err := c.sessionAPI(name)
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
	base, admin, pass, err := p.cfg.sessionAPI(target)
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
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, base+url.PathEscape(u), nil)
		if err != nil {
			return nil, true, err
		}
		req.SetBasicAuth(admin, pass)
		resp, err := client.Do(req)
		switch {
		case err != nil && (isTimeout(err) || ctx.Err() != nil):
			unanswered = fmt.Sprintf("%s did not answer within %s", base, SessionAPITimeout)
			if ctx.Err() != nil {
				unanswered = "interrupted"
			}
			r.Outcome = "the call failed (" + unanswered + "): in-memory sessions remain until the nodes restart"
		case err != nil:
			r.Outcome = "the call failed (" + db.OneLine(err.Error()) + "): in-memory sessions remain until the nodes restart"
		case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent:
			r.HTTP, r.Ended, r.Outcome = resp.StatusCode, true, "sessions ended"
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			r.HTTP, r.Outcome = resp.StatusCode, fmt.Sprintf("refused (HTTP %d): check the admin credentials of the target; in-memory sessions remain until the nodes restart", resp.StatusCode)
		case resp.StatusCode == http.StatusNotFound:
			r.HTTP, r.Outcome = resp.StatusCode, "not found (HTTP 404): an unknown user, or a version without the endpoint (Jira before 9.11); in-memory sessions remain until the nodes restart"
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

// ScopeUsers lists the login names a scope names: its users and its groups' members.
func (tp *TargetPlan) ScopeUsers(ctx context.Context, s Scope) ([]string, error) {
	names := append([]string{}, s.Users...)
	if len(s.Groups) > 0 {
		members, err := tp.conn.groupMembers(ctx, s.Groups)
		if err != nil {
			return nil, err
		}
		names = append(names, members...)
	}
	fold := func(n string) string {
		f, _ := tp.conn.Target.Product.Tokens.Users.Fold.Apply(n)
		return f
	}
	except := map[string]bool{}
	for _, e := range s.Except {
		except[fold(e)] = true
	}
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		l := fold(n)
		if !except[l] && !seen[l] {
			seen[l] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// Scope is the plan's scope.
func (p *Plan) ScopeValue() Scope { return p.scope }
