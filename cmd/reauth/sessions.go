package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/reauth/reauth/products/gitlab"
	"github.com/reauth/reauth/runbook"
	"github.com/reauth/reauth/tokens"
)

func (a *app) sessionsCommand() *cli.Command {
	return &cli.Command{
		Name:  "sessions",
		Usage: "who holds tokens and sessions, and revoke them per user or group",
		Subcommands: []*cli.Command{
			{
				Name:      "list",
				Usage:     "remember-me tokens per user: count, oldest, newest",
				ArgsUsage: " ",
				Description: "Example:\n" +
					"  reauth sessions list --target jira\n" +
					"  reauth sessions list --target jira --user alice",
				Flags:  append([]cli.Flag{targetFlag()}, scopeFlags()...),
				Action: a.sessionsList,
			},
			{
				Name:      "revoke",
				Usage:     "back up and delete the users' tokens, and end their in-memory sessions where the product can",
				ArgsUsage: " ",
				Description: "Deletes the remember-me tokens of the users named (or the groups' members), with a\n" +
					"backup as clear does; on Crowd, their SSO sessions and the rows of its part\n" +
					"<target>.remember-me, the part first. Then, where the product has a per-user session\n" +
					"endpoint (Jira 9.11+, Bamboo, Crowd) and the target has base_url and admin credentials\n" +
					"(on Crowd, an application's name and password), it ends their sessions on the nodes at\n" +
					"once; otherwise it says that a restart is needed.\n\n" +
					"Examples:\n" +
					"  reauth sessions revoke --target jira --user alice --user bob --reason INC-1234\n" +
					"  reauth sessions revoke --target jira --group contractors --except admin\n" +
					"  reauth sessions revoke --target crowd --user alice\n" +
					"  reauth sessions revoke --target confluence --all",
				Flags: append([]cli.Flag{
					targetFlag(),
					&cli.BoolFlag{Name: "all", Usage: "every user's tokens (in-memory sessions then need a restart)"},
				}, scopeFlags()...),
				Action: a.sessionsRevoke,
			},
			{
				Name:      "prune",
				Usage:     "GitLab: cap sessions per user (keep the newest by last activity) or drop idle ones",
				ArgsUsage: " ",
				Description: "GitLab keeps at most 100 sessions per user and deletes the oldest at the next login;\n" +
					"prune applies that rule now, with your cap, to the users named or to everyone, and\n" +
					"with --older-than also drops sessions idle for longer. Remember-me is left alone.\n\n" +
					"Examples:\n" +
					"  reauth sessions prune --target gitlab --max-per-user 10\n" +
					"  reauth sessions prune --target gitlab --older-than 30d --user alice",
				Flags: []cli.Flag{
					targetFlag(),
					&cli.IntFlag{Name: "max-per-user", Value: 100, Usage: "sessions kept per user, the most recently active"},
					&cli.StringFlag{Name: "older-than", Usage: "also drop sessions not active for `DURATION` (e.g. 30d)"},
					&cli.StringSliceFlag{Name: "user", Usage: "only this user (`NAME`; repeatable; default: everyone)"},
				},
				Action: a.sessionsPrune,
			},
		},
	}
}

func (a *app) sessionsPlan(c *cli.Context) (globals, *runbook.Config, *runbook.Plan, tokens.Scope, error) {
	g, err := readGlobals(c)
	if err != nil {
		return g, nil, nil, tokens.Scope{}, err
	}
	if c.Args().Present() {
		return g, nil, nil, tokens.Scope{}, usageError("sessions %s takes no arguments (got %q)", c.Command.Name, c.Args().First())
	}
	target, err := requireTarget(c)
	if err != nil {
		return g, nil, nil, tokens.Scope{}, err
	}
	scope, err := readScope(c)
	if err != nil {
		return g, nil, nil, scope, err
	}
	// revoke takes the target's parts too (Crowd's remember-me tokens sign users in again).
	cfg, p, err := a.openPlan(c, g, []string{target}, scope, c.Command.Name == "revoke")
	if err != nil {
		return g, nil, nil, scope, err
	}
	if !p.Ready() {
		p.Close()
		return g, nil, nil, scope, p.Err()
	}
	return g, cfg, p, scope, nil
}

func (a *app) sessionsList(c *cli.Context) error {
	g, _, p, scope, err := a.sessionsPlan(c)
	if err != nil {
		return err
	}
	defer p.Close()
	tp := p.Targets[0]
	if g := tp.GitLab(); g != nil {
		return a.gitlabList(c, g, tp.Name, scope)
	}
	users, err := tp.Conn().ListTokens(c.Context, scope)
	if err != nil {
		return err
	}
	if g.json() {
		return a.printJSON(map[string]any{"target": tp.Name, "table": tp.Table, "tokens": tp.InScope, "users": users})
	}
	fmt.Fprintf(a.out, "Target %s, table %s: %d remember-me tokens in scope, %d users\n\n", tp.Name, tp.Table, tp.InScope, len(users))
	tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tTOKENS\tOLDEST\tNEWEST")
	for _, u := range users {
		oldest, newest := "-", "-"
		if u.Oldest != nil {
			oldest = u.Oldest.Format("2006-01-02 15:04")
		}
		if u.Newest != nil {
			newest = u.Newest.Format("2006-01-02 15:04")
		}
		user := u.User
		if u.Unknown && len(u.Stored) > 0 {
			user += " (matches no user)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", user, u.Tokens, oldest, newest)
	}
	tw.Flush()
	fmt.Fprintf(a.out, "\nSessions held in the nodes' memory are not listed: Atlassian products do not keep them in the database.\n")
	return nil
}

func (a *app) sessionsRevoke(c *cli.Context) error {
	all := c.Bool("all")
	if !all && len(c.StringSlice("user")) == 0 && len(c.StringSlice("group")) == 0 {
		return usageError("sessions revoke needs --user NAME, --group NAME or --all")
	}
	if all && (len(c.StringSlice("user")) > 0 || len(c.StringSlice("group")) > 0) {
		return usageError("--all cannot be combined with --user or --group")
	}
	g, cfg, p, scope, err := a.sessionsPlan(c)
	if err != nil {
		return err
	}
	defer p.Close()
	tp := p.Targets[0]
	if tp.GitLab() != nil {
		return a.gitlabRevoke(c, g, cfg, p, tp)
	}
	users, err := tp.Conn().ScopeUsers(c.Context, scope)
	if err != nil {
		return err
	}
	if err := cfg.CheckSessionAPI(tp.Name); err != nil {
		return err
	}
	parts := p.Targets[1:]
	if !g.json() {
		a.printPlan(p)
		fmt.Fprintf(a.out, "\nWill back up and DELETE %d %s rows of %s", tp.InScope, tp.Noun(), tp.Table)
		for _, pt := range parts {
			fmt.Fprintf(a.out, " and %d %s rows of %s", pt.InScope, pt.Noun(), pt.Table)
		}
		if !all {
			fmt.Fprintf(a.out, " (%d users), then end their in-memory sessions where the product can", len(users))
		}
		fmt.Fprintf(a.out, ".\n\n")
	}
	if g.dryRun {
		if g.json() {
			doc := map[string]any{"dry_run": true, "target": tp.Name, "in_scope": tp.InScope, "users": users}
			if len(parts) > 0 {
				var ps []map[string]any
				for _, pt := range parts {
					ps = append(ps, map[string]any{"target": pt.Name, "table": pt.Table, "in_scope": pt.InScope})
				}
				doc["parts"] = ps
			}
			return a.printJSON(doc)
		}
		fmt.Fprintf(a.out, "Dry run: nothing was changed.\n")
		return nil
	}
	if g.json() && !g.yes {
		fmt.Fprintf(a.err, "Will back up and DELETE %d %s rows of %s", tp.InScope, tp.Noun(), tp.Table)
		for _, pt := range parts {
			fmt.Fprintf(a.err, " and %d %s rows of %s", pt.InScope, pt.Noun(), pt.Table)
		}
		fmt.Fprintf(a.err, " for %d users\n", len(users))
	}
	run := runbook.NewRun(cfg, g.reason, a.redact)
	h := hold{action: "revoke the sessions of these users"}
	for _, t := range p.Targets {
		h.needs = append(h.needs, runbook.Need{Target: t.Name, Table: t.Conn()})
	}
	release, err := a.acquire(c.Context, g, cfg, run, h)
	if err != nil {
		return err
	}
	defer release()
	res := runbook.RevokeResult{Users: []runbook.UserRevoke{}}
	// The parts first (Crowd's remember-me tokens): cleared after the target's own rows, a
	// remember-me cookie used in between would make a new session.
	for _, pt := range parts {
		r, err := p.Execute(c.Context, run, pt, "clear", tokens.ClearOptions{Tool: version(), LockedReads: lockedReads()})
		if err != nil {
			if r.Backup != "" {
				return fmt.Errorf("%w; %d rows of %s were deleted, all in backup %s; nothing of %s was deleted", err, r.Deleted, pt.Table, r.Backup, tp.Name)
			}
			return fmt.Errorf("%w; nothing was deleted", err)
		}
		res.Parts = append(res.Parts, r)
	}
	res.Cleared, err = p.Execute(c.Context, run, tp, "clear", tokens.ClearOptions{Tool: version(), LockedReads: lockedReads()})
	if err != nil {
		for _, r := range res.Parts {
			err = fmt.Errorf("%w; part %s's rows were deleted first (backup %s)", err, r.Target, r.Backup)
		}
		return err
	}
	if all {
		res.RestartNeeded = true
	} else {
		res.Users, res.RestartNeeded, err = p.EndSessions(c.Context, tp.Name, users)
		if err != nil {
			return err
		}
		if err := run.Audit(runbook.AuditEntry{Target: tp.Name, Action: "end-sessions", Scope: p.Scope, Outcome: "ok",
			Counts: map[string]int64{"users": int64(len(users)), "ended": int64(countEnded(res.Users))}}); err != nil {
			return fmt.Errorf("%w; the tokens were deleted (backup %s) and %d users' sessions ended", err, res.Cleared.Backup, countEnded(res.Users))
		}
	}
	if res.RestartNeeded {
		res.Restart = fmt.Sprintf("reauth --config %s restart --target %s", cfg.Path, cfg.OwnerOf(tp.Name))
	}
	if g.json() {
		return a.printJSON(res)
	}
	for _, r := range append([]tokens.ClearResult{res.Cleared}, res.Parts...) {
		fmt.Fprintf(a.out, "Deleted %d rows of %s (target %s); backup %s (sha256 %s)\nUndo: reauth --config %s restore %s\n",
			r.Deleted, r.Table, r.Target, r.Backup, r.SHA256, cfg.Path, r.Backup)
	}
	for _, u := range res.Users {
		fmt.Fprintf(a.out, "  %-20s %s\n", u.User, u.Outcome)
	}
	if res.RestartNeeded {
		fmt.Fprintf(a.out, "Sessions held in the nodes' memory end only when the nodes restart: %s\n", res.Restart)
	}
	return nil
}

func countEnded(users []runbook.UserRevoke) int {
	n := 0
	for _, u := range users {
		if u.Ended {
			n++
		}
	}
	return n
}

func (a *app) gitlabList(c *cli.Context, g *runbook.GitLabConn, target string, scope tokens.Scope) error {
	gl, err := readGlobals(c)
	if err != nil {
		return err
	}
	if len(scope.Users) == 0 {
		return usageError("sessions list on a GitLab target needs --user NAME")
	}
	users, err := g.Store.Users(c.Context, scope.Users)
	if err != nil {
		return usageError("%v", err)
	}
	type listed struct {
		User     string           `json:"user"`
		UserID   int64            `json:"user_id"`
		Sessions []gitlab.Session `json:"sessions"`
		Stale    int              `json:"stale_ids"`
	}
	var out []listed
	for _, u := range users {
		ss, stale, err := g.Store.Sessions(c.Context, u.ID)
		if err != nil {
			return err
		}
		if ss == nil {
			ss = []gitlab.Session{}
		}
		out = append(out, listed{User: u.Username, UserID: u.ID, Sessions: ss, Stale: len(stale)})
	}
	if gl.json() {
		return a.printJSON(map[string]any{"target": target, "users": out})
	}
	for _, l := range out {
		fmt.Fprintf(a.out, "%s (id %d): %d sessions\n", l.User, l.UserID, len(l.Sessions))
		tw := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  LAST ACTIVE\tIP\tBROWSER\tOS\tDEVICE\tFLAGS")
		for _, ss := range l.Sessions {
			flags := ""
			switch {
			case ss.Legacy:
				flags = "legacy record (details unreadable)"
			case ss.Unreadable:
				flags = "unreadable record"
			}
			if ss.Impersonated {
				flags += " impersonated"
			}
			if ss.AdminMode {
				flags += " admin-mode"
			}
			last := "-"
			if !ss.UpdatedAt.IsZero() {
				last = ss.UpdatedAt.UTC().Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", last, ss.IP, ss.Browser, ss.OS, strings.TrimSpace(ss.DeviceName+" "+ss.DeviceType), strings.TrimSpace(flags))
		}
		tw.Flush()
		if l.Stale > 0 {
			fmt.Fprintf(a.out, "  (%d stale ids in the lookup set)\n", l.Stale)
		}
	}
	return nil
}

func (a *app) gitlabRevoke(c *cli.Context, g globals, cfg *runbook.Config, p *runbook.Plan, tp *runbook.TargetPlan) error {
	dry, err := p.RevokeGitLab(c.Context, nil, tp, true)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("revoke %d sessions for %d users and clear their remember-me", dry.Sessions, dry.Users)
	if dry.All {
		what = fmt.Sprintf("revoke every session (%d, of %d users) and clear everyone's remember-me", dry.Sessions, dry.Users)
	}
	if g.dryRun {
		if g.json() {
			return a.printJSON(dry)
		}
		fmt.Fprintf(a.out, "Dry run: would %s (target %s). Nothing was changed.\n", what, tp.Name)
		return nil
	}
	if g.json() && !g.yes {
		fmt.Fprintf(a.err, "Will %s (target %s)\n", what, tp.Name)
	} else if !g.json() {
		fmt.Fprintf(a.out, "Will %s (target %s, environment %s). Impersonated sessions are revoked too.\n\n", what, tp.Name, p.Environment)
	}
	run := runbook.NewRun(cfg, g.reason, a.redact)
	release, err := a.acquire(c.Context, g, cfg, run, hold{
		action: "revoke these GitLab sessions",
		needs:  []runbook.Need{{Target: tp.Name}},
	})
	if err != nil {
		return err
	}
	defer release()
	res, err := p.RevokeGitLab(c.Context, run, tp, false)
	if err != nil {
		return err
	}
	if g.json() {
		return a.printJSON(res)
	}
	fmt.Fprintf(a.out, "Revoked %d sessions of %d users (%d impersonated); remember-me cleared for %d users; %d written back meanwhile, deleted too.\n",
		res.Sessions, res.Users, res.Impersonated, res.RememberCleared, res.Rewritten)
	fmt.Fprintf(a.out, "Not revoked: personal, project and group access tokens, deploy tokens, SSH keys, OAuth tokens.\n")
	return nil
}
