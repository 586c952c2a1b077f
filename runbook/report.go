package runbook

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/reauth/reauth/products"
)

// Markdown renders the report for a change ticket.
func (r *Report) Markdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# reauth run %s: %s\n\n", r.RunID, strings.ToUpper(r.Outcome))
	w("| | |\n|---|---|\n")
	w("| environment | %s |\n", r.Environment)
	if r.Reason != "" {
		w("| reason | %s |\n", mdCell(r.Reason))
	}
	w("| operator | %s@%s |\n", r.OSUser, r.Host)
	w("| scope | %s |\n", mdCell(r.Scope))
	w("| started | %s |\n| finished | %s (%s) |\n\n", r.Started.Format(time.RFC3339), r.Finished.Format(time.RFC3339), r.Finished.Sub(r.Started).Round(time.Second))
	for _, t := range r.Targets {
		w("## %s (%s): %s\n\n", t.Name, t.Product, t.Outcome)
		if t.Error != "" {
			w("Error: %s\n\n", t.Error)
		}
		if t.Note != "" {
			w("%s.\n\n", t.Note)
		}
		if c := t.Cleared; c != nil {
			w("Remember-me tokens revoked: **%d** rows deleted from `%s` in %s", c.Deleted, c.Table, plural(c.Batches, "batch", "batches"))
			if t.Resumed {
				w(" (by the run this one resumed)")
			}
			w(".\n\nBackup: `%s`  \nSHA-256: `%s` (%d rows)\n\n", c.Backup, c.SHA256, c.BackedUp)
		}
		if g := t.GitLab; g != nil {
			who := fmt.Sprintf("%d users", g.Users)
			if g.All {
				who = "every user (" + who + " with sessions)"
			}
			w("GitLab sessions revoked for %s: **%d** sessions deleted (%d impersonated), remember-me cleared for %d users, %d written back meanwhile and deleted. No restart is needed.\n\n",
				who, g.Sessions, g.Impersonated, g.RememberCleared, g.Rewritten)
		}
		if len(t.Nodes) > 0 {
			w("| node | stop | down | start | RUNNING | settled | SESSIONS.ser removed |\n|---|---|---|---|---|---|---|\n")
			for _, n := range t.Nodes {
				w("| %s | %s | %s | %s | %s | %s | %d |\n", n.Host, hms(n.StopAt), hms(n.DownAt), hms(n.StartAt), hms(n.RunningAt), hms(n.SettledAt), len(n.SessionsRemoved))
			}
			w("\n")
		}
		if v := t.Verify; v != nil {
			verdict := "passed"
			if !v.OK {
				verdict = "FAILED: " + strings.Join(v.Problems, "; ")
			}
			w("Verification since %s: %s", v.Since.Format(time.RFC3339), verdict)
			if v.OldTokens >= 0 {
				w(" (%d tokens in scope older than the run", v.OldTokens)
			} else {
				w(" (the table has no creation time")
			}
			w("; %d cleared rows back in the table; %s RUNNING and restarted)\n\n", v.ClearedLeft, plural(countOK(v.Nodes), "node", "nodes"))
		}
	}
	w("## Not revoked\n\n")
	for _, n := range r.NotRevoked {
		w("- %s\n", n)
	}
	w("\n## Undo (the database part)\n\n")
	for _, t := range r.Targets {
		if t.GitLab != nil {
			w("GitLab sessions of %s cannot be put back: their users sign in again.\n\n", t.Name)
		}
	}
	if len(r.Undo) == 0 {
		w("Nothing was deleted.\n")
	}
	for _, u := range r.Undo {
		w("    %s\n", u)
	}
	if r.Resume != "" {
		w("\n## Resume\n\nThe run halted. Once the node is fixed and RUNNING:\n\n    %s\n", r.Resume)
	}
	return b.String()
}

func hms(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("15:04:05.000")
}

func countOK(nodes []NodeVerify) int {
	n := 0
	for _, x := range nodes {
		if x.OK {
			n++
		}
	}
	return n
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// ssoLeft says, for each identity provider the target signs users in through, what the run
// does not end there.
func (p *Plan) ssoLeft(tp *TargetPlan) []string {
	via := ""
	if tc, err := p.cfg.Target(tp.Name); err == nil {
		via = tc.SSOVia
	}
	var out []string
	for _, i := range tp.SSO {
		switch {
		case !i.Enabled:
		case i.Crowd && via != "":
			// Crowd's sessions are target via's, which plan requires in the same run (sso_via).
		case i.Crowd:
			out = append(out, fmt.Sprintf("users of %s sign in through Crowd at %s (Crowd SSO, identity provider %q) and are signed in again silently while their Crowd session or Crowd remember-me lives: add the Crowd target to the run, and set sso_via: on %s so that plan checks it",
				tp.Name, i.Issuer, i.Name, tp.Name))
		default:
			end := "end their sessions at the identity provider"
			if api, ok := keycloakLogoutAll(i.Issuer); ok {
				end += fmt.Sprintf(" (its issuer is a Keycloak realm's: POST %s with an admin token ends every session of the realm, .../users/{id}/logout one user's)", api)
			}
			out = append(out, fmt.Sprintf("users of %s are sent to %s (%s identity provider %q) and signed in again silently if their session there is alive: %s", tp.Name, i.Where(), i.Type, i.Name, end))
		}
	}
	return out
}

// keycloakLogoutAll is the admin endpoint that ends every session of a Keycloak realm, where
// issuer has the form of a Keycloak realm's (<base>/realms/<realm>, <base> ending in /auth
// before Keycloak 17): <base>/admin/realms/<realm>/logout-all.
func keycloakLogoutAll(issuer string) (string, bool) {
	u, err := url.Parse(strings.TrimRight(issuer, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", false
	}
	base, realm, ok := strings.Cut(u.Path, "/realms/")
	if !ok || realm == "" || strings.Contains(realm, "/") || strings.Contains(base, "/realms") {
		return "", false
	}
	u.Path = base + "/admin/realms/" + realm + "/logout-all"
	u.RawQuery, u.Fragment = "", ""
	return u.String(), true
}

// notRevoked is what the run does not end, from what the plan found: the identity providers
// each target signs users in through, Crowd (a target of the run or not), and what no run
// ends.
func (p *Plan) notRevoked() []string {
	var out []string
	crowd, atlassian := false, false
	for _, tp := range p.Targets {
		out = append(out, p.ssoLeft(tp)...)
		crowd = crowd || products.SignsInOthers(tp.Product)
		atlassian = atlassian || !products.IsGitLab(tp.Product)
	}
	switch {
	case crowd:
		out = append(out, "users' Crowd sessions created by applications that Crowd allows to generate user tokens without a password (the application's \"Allow to generate user tokens\"): such an application signs its users in to Crowd again")
	case atlassian:
		out = append(out, "Crowd SSO sessions (crowd.token_key) and Crowd's own remember-me tokens, where the products sign in through Crowd: add Crowd as a target of the run")
	}
	if atlassian {
		out = append(out, "sessions at identity providers that SSO apps other than Atlassian's sign users in through (not detected)")
	}
	out = append(out,
		"personal access tokens and API tokens",
		"OAuth tokens and application links",
		"SSH keys")
	return out
}
