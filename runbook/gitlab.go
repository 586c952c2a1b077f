package runbook

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/products/gitlab"
	"github.com/reauth/reauth/tokens"
)

// gitlabSettle is how long a revoke waits before sweeping what requests already in flight
// wrote back, as GitLab's own advice for its console recipes says to.
const gitlabSettle = 2 * time.Second

// GitLabConn is an open GitLab target: the Redis its sessions live in, and its PostgreSQL.
type GitLabConn struct {
	Store *gitlab.Store
	// Users in scope, resolved; nil when the scope is every user.
	Users []gitlab.User
	// Groups names the groups the scope came from, for the audit log.
	Groups string
}

// Close closes both connections.
func (g *GitLabConn) Close() {
	g.Store.Redis.Close()
	g.Store.DB.Close()
}

// gitlabKind is a GitLab target.
type gitlabKind struct{}

func (gitlabKind) restarts() bool { return false }

func (gitlabKind) close(tp *TargetPlan) {
	if tp.gl != nil {
		tp.gl.Close()
	}
}

// GitLab is the target's GitLab connection, when it is a GitLab target.
func (tp *TargetPlan) GitLab() *GitLabConn { return tp.gl }

// gitlabConnections works out where a GitLab target's PostgreSQL and Redis are: from the
// config, or from an Omnibus node's Rails config (database.discover.home, /var/opt/gitlab).
func (c *Config) gitlabConnections(ctx context.Context, tc *TargetConfig, field func(string) string) (src db.Source, cred db.Credentials, redisURL, redisPass string, redisDB int, notes []string, err error) {
	d := tc.Database
	var read func(string) ([]byte, error)
	where := "this machine"
	if d.Discover != nil || tc.Redis.URL == "" {
		read = readLocal
		if len(tc.Nodes) > 0 {
			dialer, err := c.Dialer()
			if err != nil {
				return src, cred, "", "", 0, nil, err
			}
			client, err := dialer.Dial(ctx, tc.Nodes[0].Host)
			if err != nil {
				return src, cred, "", "", 0, nil, err
			}
			defer client.Close()
			read = func(p string) ([]byte, error) { return client.ReadFile(ctx, p) }
			where = tc.Nodes[0].Host + " over SSH"
		}
	}
	home := "/var/opt/gitlab"
	if d.Discover != nil && d.Discover.Home != "" {
		home = strings.TrimRight(d.Discover.Home, "/")
	}
	etc := home + "/gitlab-rails/etc"
	if d.Discover != nil {
		data, err := read(etc + "/database.yml")
		if err != nil {
			return src, cred, "", "", 0, nil, c.fail(tc, field("database.discover"), "cannot read %s/database.yml on %s: %w", etc, where, err)
		}
		gdb, err := gitlab.ParseDatabaseYML(data)
		if err != nil {
			return src, cred, "", "", 0, nil, c.fail(tc, field("database.discover"), "%w", err)
		}
		if src, err = gdb.Source(); err != nil {
			return src, cred, "", "", 0, nil, c.fail(tc, field("database.discover"), "%w", err)
		}
		cred = gdb.Credentials()
		c.addSecret(cred.Password)
		notes = append(notes, "database connection read from "+etc+"/database.yml on "+where)
	} else {
		if src, err = db.ParseURL(d.URL); err != nil {
			return src, cred, "", "", 0, nil, c.fail(tc, field("database.url"), "%w", err)
		}
		cred = db.Credentials{User: src.User, Password: src.URLPassword}
	}
	if src.Dialect != "postgres" {
		return src, cred, "", "", 0, nil, c.fail(tc, field("database.url"), "GitLab runs on PostgreSQL, not %s", src.Dialect)
	}
	if d.Schema != "" {
		src.Schema = d.Schema
	}
	if d.User != "" {
		cred.User = d.User
	}
	if pw, ok, err := c.secretFrom(tc, field("database"), d.Password, d.PasswordEnv, d.PasswordFile); err != nil {
		return src, cred, "", "", 0, nil, err
	} else if ok {
		cred.Password = pw
	}
	if d.Discover != nil {
		if err := c.checkPin(tc, field("database.discover.expect_host"), etc+"/database.yml on "+where, sourceEndpoints(src), d.Discover.ExpectHost, d.givesPassword()); err != nil {
			return src, cred, "", "", 0, nil, err
		}
	}
	r := tc.Redis
	redisURL, redisDB = r.URL, r.DB
	redisFrom := ""
	if redisURL == "" {
		var files gitlab.RedisFiles
		for _, f := range []struct {
			name string
			dst  *[]byte
		}{{"redis.yml", &files.RedisYML}, {"redis.sessions.yml", &files.Sessions},
			{"redis.shared_state.yml", &files.SharedState}, {"resque.yml", &files.Resque}} {
			b, err := read(etc + "/" + f.name)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return src, cred, "", "", 0, nil, c.fail(tc, field("redis"), "cannot read %s/%s on %s: %w", etc, f.name, where, err)
			}
			if err == nil && b == nil {
				b = []byte{} // present, if empty
			}
			*f.dst = b
		}
		rs, err := gitlab.ParseRedisYML(files)
		if err != nil {
			return src, cred, "", "", 0, nil, c.fail(tc, field("redis.url"), "%w (or give redis.url)", err)
		}
		redisURL, redisPass, redisDB = rs.URL, rs.Password, rs.DB
		redisFrom = etc + "/" + path.Base(rs.File) + " on " + where
		c.addSecret(redisPass)
		notes = append(notes, fmt.Sprintf("redis connection read from %s/%s on %s, entry %s: GitLab's %s instance",
			etc, path.Base(rs.File), where, rs.Entry(), rs.Instance))
	}
	if pw, ok, err := c.secretFrom(tc, field("redis"), "", r.PasswordEnv, r.PasswordFile); err != nil {
		return src, cred, "", "", 0, nil, err
	} else if ok {
		redisPass = pw
	}
	if redisFrom != "" {
		eps, _ := redisEndpoint(redisURL) // none when it cannot be parsed: then nothing is pinned
		if err := c.checkPin(tc, field("redis.expect_host"), redisFrom, eps, r.ExpectHost, r.PasswordEnv != "" || r.PasswordFile != ""); err != nil {
			return src, cred, "", "", 0, nil, err
		}
	}
	notes = append(notes, c.exposed[tc.Name]...)
	// The callers connect next: say where credentials read from a node's files are sent.
	if d.Discover != nil {
		c.announce(tc.Name, src.String(), etc+"/database.yml on "+where)
	}
	if redisFrom != "" {
		c.announce(tc.Name, "redis "+gitlab.RedactRedisURL(redisURL), redisFrom)
	}
	return src, cred, redisURL, redisPass, redisDB, notes, nil
}

// prepare, for a GitLab target: open its PostgreSQL and Redis and count its sessions, all and
// in scope.
func (gitlabKind) prepare(ctx context.Context, p *Plan, tp *TargetPlan) error {
	tc, err := p.cfg.Target(tp.Name)
	if err != nil {
		return err
	}
	field := func(s string) string { return "targets[" + tp.Name + "]." + s }
	src, cred, rurl, rpass, rdb, notes, err := p.cfg.gitlabConnections(ctx, tc, field)
	if err != nil {
		return err
	}
	tp.Warnings = append(tp.Warnings, notes...)
	tp.Database = src.String()
	tp.transport("database", src.Transport())
	tp.transport("redis", redisTransport(rurl, tc.Redis.CAFile))
	pool, err := db.Open(ctx, src, cred)
	if err != nil {
		return fmt.Errorf("target %s: %w", tp.Name, err)
	}
	rc, err := gitlab.OpenRedis(ctx, rurl, rpass, rdb, tc.Redis.CAFile)
	if err != nil {
		pool.Close()
		return fmt.Errorf("target %s: redis: %w", tp.Name, err)
	}
	g := &GitLabConn{Store: &gitlab.Store{Redis: rc, DB: pool}}
	tp.gl = g
	tp.Table = "Redis sessions and users.remember_created_at"
	s := p.scope
	if s.OlderThan > 0 {
		return fmt.Errorf("%w: GitLab sessions have no age to revoke by: use `reauth sessions prune --older-than`", tokens.ErrScope)
	}
	all, err := g.Store.CountAll(ctx)
	if err != nil {
		return fmt.Errorf("target %s: %w", tp.Name, err)
	}
	tp.Tokens, tp.InScope = int64(all.Sessions), int64(all.Sessions)
	if len(s.Users) == 0 && len(s.Groups) == 0 {
		if len(s.Except) > 0 {
			return fmt.Errorf("%w: on GitLab, --except goes with --user or --group, not with every user", tokens.ErrScope)
		}
		return nil
	}
	if g.Users, err = p.gitlabScope(ctx, g, s); err != nil {
		return err
	}
	revoked, err := g.Store.CountRevoke(ctx, g.Users)
	if err != nil {
		return fmt.Errorf("target %s: %w", tp.Name, err)
	}
	tp.InScope = 0
	for _, r := range revoked {
		tp.InScope += int64(r.Sessions)
	}
	return nil
}

// gitlabScope resolves --user and --group to GitLab users, without --except.
func (p *Plan) gitlabScope(ctx context.Context, g *GitLabConn, s tokens.Scope) ([]gitlab.User, error) {
	var users []gitlab.User
	if len(s.Users) > 0 {
		u, err := g.Store.Users(ctx, s.Users)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", tokens.ErrScope, err)
		}
		users = append(users, u...)
	}
	for _, grp := range s.Groups {
		u, err := g.Store.GroupMembers(ctx, grp)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", tokens.ErrScope, err)
		}
		users = append(users, u...)
	}
	g.Groups = strings.Join(s.Groups, ", ")
	except := map[string]bool{}
	for _, e := range s.Except {
		except[strings.ToLower(e)] = true
	}
	seen := map[int64]bool{}
	var out []gitlab.User
	for _, u := range users {
		if !seen[u.ID] && !except[strings.ToLower(u.Username)] {
			seen[u.ID] = true
			out = append(out, u)
		}
	}
	return out, nil
}

// GitLabResult is what revoking a GitLab target's sessions did.
type GitLabResult struct {
	Target          string           `json:"target"`
	All             bool             `json:"all"`
	DryRun          bool             `json:"dry_run,omitempty"`
	Users           int              `json:"users"`
	Sessions        int              `json:"sessions"`
	Impersonated    int              `json:"impersonated"`
	RememberCleared int              `json:"remember_cleared"`
	Rewritten       int              `json:"rewritten"`
	PerUser         []gitlab.Revoked `json:"per_user,omitempty"`
}

// RevokeGitLab revokes the sessions and remember-me of the users in scope (every user when
// the scope names none), with audit lines per user carrying GitLab's own fields.
func (p *Plan) RevokeGitLab(ctx context.Context, run *Run, tp *TargetPlan, dryRun bool) (GitLabResult, error) {
	g := tp.gl
	res := GitLabResult{Target: tp.Name, All: g.Users == nil, DryRun: dryRun}
	if dryRun {
		if res.All {
			a, err := g.Store.CountAll(ctx)
			res.Users, res.Sessions, res.RememberCleared = a.Users, a.Sessions, a.RememberCleared
			return res, err
		}
		revoked, err := g.Store.CountRevoke(ctx, g.Users)
		res.tally(revoked)
		return res, err
	}
	entry := AuditEntry{Target: tp.Name, Action: "revoke-sessions", Scope: p.Scope, Group: g.Groups, Outcome: "started"}
	if err := run.Audit(entry); err != nil {
		return res, err
	}
	var err error
	if res.All {
		var a gitlab.AllRevoked
		a, err = g.Store.RevokeAll(ctx, gitlabSettle)
		res.Users, res.Sessions, res.RememberCleared, res.Rewritten = a.Users, a.Sessions, a.RememberCleared, a.Rewritten
	} else {
		var revoked []gitlab.Revoked
		revoked, err = g.Store.Revoke(ctx, g.Users, gitlabSettle)
		res.tally(revoked)
		now := time.Now().UTC()
		for _, r := range revoked {
			n := r.Sessions
			if aerr := run.Audit(AuditEntry{Target: tp.Name, Action: "revoke-user-sessions", Outcome: "ok",
				UserID: r.UserID, Username: r.Username, SessionCount: &n, Group: g.Groups, PerformedAt: &now,
				Counts: map[string]int64{"impersonated": int64(r.Impersonated), "rewritten": int64(r.Rewritten)}}); aerr != nil && err == nil {
				err = fmt.Errorf("%w: %v", ErrAudit, aerr)
			}
		}
	}
	entry.Outcome = "ok"
	entry.Counts = map[string]int64{"users": int64(res.Users), "sessions": int64(res.Sessions), "remember_cleared": int64(res.RememberCleared), "rewritten": int64(res.Rewritten)}
	if err != nil {
		entry.Outcome, entry.Error = "failed", db.OneLine(err.Error())
	}
	return res, withAudit(err, run.Audit(entry))
}

func (r *GitLabResult) tally(revoked []gitlab.Revoked) {
	r.PerUser = revoked
	for _, x := range revoked {
		r.Users++
		r.Sessions += x.Sessions
		r.Impersonated += x.Impersonated
		r.Rewritten += x.Rewritten
		if x.RememberCleared {
			r.RememberCleared++
		}
	}
}

// verifyGitLab checks that the users in scope (every user when none) have no session and no
// remember-me left from before since. Every leftover, and every value that could not be read,
// is a problem: nothing of what a GitLab verification examines is merely noted.
func (gitlabKind) verify(ctx context.Context, p *Plan, tp *TargetPlan, since time.Time) (VerifyResult, error) {
	res := VerifyResult{Target: tp.Name, Since: since.UTC(), OldTokens: 0, Nodes: []NodeVerify{}, Problems: []string{}, Backups: []string{}, Notes: []string{}}
	v, err := tp.gl.Store.Verify(ctx, tp.gl.Users, since)
	if err != nil {
		return res, fmt.Errorf("verify %s: %w", tp.Name, err)
	}
	res.GitLab = &v
	res.OldTokens = int64(v.Left())
	if !v.All && v.Users == 0 {
		res.Problems = append(res.Problems, "the scope holds no GitLab user: nothing was examined")
	}
	for _, l := range v.Leftovers {
		who := "owner unknown"
		if l.UserID != 0 {
			who = fmt.Sprintf("user %d", l.UserID)
		}
		res.Problems = append(res.Problems, fmt.Sprintf("%s %s (%s): %s", l.Kind, l.Key, who, l.Why))
	}
	if n := v.Left() - len(v.Leftovers); n > 0 {
		res.Problems = append(res.Problems, fmt.Sprintf("and %d more leftovers not listed (%d session records, %d lookup ids, %d Rails sessions, %d unreadable values, %d users with remember-me in all)",
			n, v.Records, v.LookupIDs, v.RailsSessions, v.Unreadable, v.Remember))
	}
	if v.NewLogins > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d sessions of users in scope signed in at or after %s: new logins, not leftovers", v.NewLogins, since.UTC().Format(time.RFC3339)))
	}
	res.OK = v.OK() && len(res.Problems) == 0
	return res, nil
}

// redisTransport says how connections to a Redis URL are protected, as gitlab.OpenRedis
// makes them.
func redisTransport(rawURL, caFile string) db.Transport {
	eps, err := redisEndpoint(rawURL)
	switch {
	case err != nil:
		return db.Transport{Note: "unknown: the URL cannot be parsed"}
	case len(eps) == 1 && eps[0].socket != "":
		return db.LocalSocket(eps[0].socket)
	case strings.HasPrefix(strings.ToLower(strings.TrimSpace(rawURL)), "rediss:"):
		ca := "the system's CAs"
		if caFile != "" {
			ca = caFile + " (redis.ca_file)"
		}
		return db.Transport{Encrypted: true, Verified: true, Note: "encrypted and verified (rediss://: TLS, the certificate and host name checked against " + ca + ")"}
	}
	return db.Transport{Note: "unencrypted: redis:// sends the password and the session data in plain text (rediss:// would encrypt)"}
}

// run, for a GitLab target: sessions and remember-me go at once, no restart is needed; then
// verify.
func (gitlabKind) run(ctx context.Context, p *Plan, run *Run, tp *TargetPlan, _ RunOptions, started time.Time, tr *TargetReport) error {
	// GitLab's run keeps no state to resume from: an interrupt between its steps ends it.
	return runSteps(ctx, run, tp.Name, false, []step{
		{"revoke", func(ctx context.Context) error {
			res, err := p.RevokeGitLab(ctx, run, tp, false)
			tr.GitLab = &res
			return err
		}},
		{"verify", func(ctx context.Context) error {
			v, err := p.Verify(ctx, tp, started)
			if err != nil {
				return err
			}
			tr.Verify = &v
			if !v.OK {
				return fmt.Errorf("verify: %s", strings.Join(v.Problems, "; "))
			}
			return nil
		}},
	})
}
