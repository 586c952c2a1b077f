package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/reauth/reauth/runbook"
	"github.com/reauth/reauth/tokens"
)

// globalFlags are accepted before or after the command name; each has a REAUTH_ env var.
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config", Value: "reauth.yaml", Usage: "config `FILE`", EnvVars: []string{"REAUTH_CONFIG"}},
		&cli.StringFlag{Name: "output", Value: "text", Usage: "output format: text or json", EnvVars: []string{"REAUTH_OUTPUT"}},
		&cli.BoolFlag{Name: "yes", Usage: "confirm without a prompt (needed when there is no terminal)", EnvVars: []string{"REAUTH_YES"}},
		&cli.BoolFlag{Name: "dry-run", Usage: "change nothing anywhere; print exactly what would be done", EnvVars: []string{"REAUTH_DRY_RUN"}},
		&cli.StringFlag{Name: "reason", Usage: "why (e.g. a ticket id): goes into the audit log and report", EnvVars: []string{"REAUTH_REASON"}},
		&cli.BoolFlag{Name: "verbose", Usage: "print progress details on stderr", EnvVars: []string{"REAUTH_VERBOSE"}},
		&cli.BoolFlag{Name: "strict", Usage: "refuse to run when a password file, or a config file holding a password, can be read by other users", EnvVars: []string{"REAUTH_STRICT"}},
	}
}

// globals are the global options as given before or after the command name.
type globals struct {
	config  string
	output  string
	yes     bool
	dryRun  bool
	reason  string
	verbose bool
	strict  bool
}

func (g globals) json() bool { return g.output == "json" }

// readGlobals reads each global option from the innermost context that set it: a command's own
// copy when given after the command name, the app's when given before.
func readGlobals(c *cli.Context) (globals, error) {
	str := func(name string) string {
		for _, x := range c.Lineage() {
			if x.IsSet(name) {
				return x.String(name)
			}
		}
		return c.String(name)
	}
	boolean := func(name string) bool {
		for _, x := range c.Lineage() {
			if x.IsSet(name) {
				return x.Bool(name)
			}
		}
		return c.Bool(name)
	}
	g := globals{
		config: str("config"), output: str("output"), reason: str("reason"),
		yes: boolean("yes"), dryRun: boolean("dry-run"), verbose: boolean("verbose"), strict: boolean("strict"),
	}
	if g.output != "text" && g.output != "json" {
		return g, usageError("--output %q: use text or json", g.output)
	}
	return g, nil
}

// loadConfig reads the config and remembers its secrets so that no error can print them.
func (a *app) loadConfig(g globals) (*runbook.Config, error) {
	cfg, err := runbook.LoadConfig(g.config)
	if err != nil {
		return nil, err
	}
	a.cfg = cfg
	cfg.Announce = func(msg string) { fmt.Fprintln(a.err, "reauth: "+msg) }
	exposed := cfg.Exposed()
	names := make([]string, 0, len(exposed))
	for name := range exposed {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, w := range exposed[name] {
			if g.strict {
				return nil, usageError("target %s: %s (refused: --strict)", name, w)
			}
			if !a.planning { // plan lists it with the target's other warnings
				fmt.Fprintf(a.err, "reauth: warning: target %s: %s\n", name, w)
			}
		}
	}
	return cfg, nil
}

// openPlan reads the config and makes the plan of the named targets (every target when none
// is named), with their parts (Crowd's remember-me tokens) when parts is set: how each command
// that looks at targets starts. The caller closes the plan.
func (a *app) openPlan(c *cli.Context, g globals, targets []string, scope tokens.Scope, parts bool) (*runbook.Config, *runbook.Plan, error) {
	cfg, err := a.loadConfig(g)
	if err != nil {
		return nil, nil, err
	}
	if parts {
		targets = cfg.WithParts(targets)
	}
	p, err := runbook.MakePlan(c.Context, cfg, targets, scope)
	if err != nil {
		return nil, nil, err
	}
	// plan and run refuse a target whose SSO provider (sso_via) is not in them, unless told
	// --allow-sso-left; the commands on one target only warn.
	allowLeft := true
	if slices.ContainsFunc(c.Command.Flags, func(f cli.Flag) bool { return slices.Contains(f.Names(), allowSSOLeft.Name) }) {
		allowLeft = c.Bool(allowSSOLeft.Name)
	}
	p.CheckSSOVia(allowLeft)
	return cfg, p, nil
}

// allowSSOLeft is plan's and run's flag to go on without a target's SSO provider.
var allowSSOLeft = &cli.BoolFlag{Name: "allow-sso-left", Usage: "go on when a target's SSO provider (sso_via) is not in the run, with a warning: its sessions sign the users in again"}

// returningEnv names the environment variable that, set to "off", keeps a clear on MariaDB from
// deleting with DELETE ... RETURNING: it then reads and locks each batch before deleting it, as
// on MySQL (tokens.ClearOptions.LockedReads).
const returningEnv = "REAUTH_DELETE_RETURNING"

// lockedReads is the REAUTH_DELETE_RETURNING=off switch: clear MariaDB the MySQL way.
func lockedReads() bool { return os.Getenv(returningEnv) == "off" }

func scopeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "user", Usage: "only this user's tokens (login `NAME`; repeatable)"},
		&cli.StringSliceFlag{Name: "group", Usage: "only the tokens of this group's members, nested groups included (`NAME`; repeatable)"},
		&cli.StringSliceFlag{Name: "except", Usage: "never this user's tokens (login `NAME`; repeatable): the admin running it, break-glass accounts"},
		&cli.StringFlag{Name: "older-than", Usage: "only tokens created more than `DURATION` ago (e.g. 720h, 30d)"},
	}
}

func readScope(c *cli.Context) (tokens.Scope, error) {
	s := tokens.Scope{Now: time.Now().UTC()}
	clean := func(names []string, flag string) ([]string, error) {
		var out []string
		for _, n := range names {
			n = strings.TrimSpace(n)
			if n == "" {
				return nil, usageError("--%s: empty user name", flag)
			}
			out = append(out, n)
		}
		return out, nil
	}
	var err error
	if s.Users, err = clean(c.StringSlice("user"), "user"); err != nil {
		return s, err
	}
	if s.Except, err = clean(c.StringSlice("except"), "except"); err != nil {
		return s, err
	}
	if s.Groups, err = clean(c.StringSlice("group"), "group"); err != nil {
		return s, err
	}
	for _, u := range s.Users {
		for _, e := range s.Except {
			if strings.EqualFold(u, e) {
				return s, usageError("user %q is given with both --user and --except", u)
			}
		}
	}
	if v := c.String("older-than"); v != "" {
		d, err := runbook.ParseDuration(v)
		if err != nil {
			return s, usageError("--older-than: %v", err)
		}
		if d == 0 {
			return s, usageError("--older-than: must be more than 0")
		}
		s.OlderThan = d
	}
	return s, nil
}

func targetFlag() cli.Flag {
	return &cli.StringFlag{Name: "target", Aliases: []string{"t"}, Usage: "the target's `NAME` in the config (required)"}
}

// requireTarget returns --target, which the command cannot do without.
func requireTarget(c *cli.Context) (string, error) {
	name := strings.TrimSpace(c.String("target"))
	if name == "" {
		return "", usageError("%s needs --target NAME (the target's name in the config)", c.Command.Name)
	}
	return name, nil
}

// confirm asks the operator to type the environment name, unless --yes was given. Without a
// terminal and without --yes it refuses: nothing destructive runs unattended by accident.
func (a *app) confirm(g globals, env, action string) error {
	if g.yes {
		return nil
	}
	if err := a.canConfirm(g, action); err != nil {
		return err
	}
	fmt.Fprintf(a.err, "Type the environment name (%s) to %s, anything else to abort: ", env, action)
	line, err := bufio.NewReader(a.in).ReadString('\n')
	if err != nil && line == "" {
		return &exitError{code: exitFailed, err: errors.New("aborted: no confirmation; nothing was changed")}
	}
	if strings.TrimSpace(line) != env {
		return &exitError{code: exitFailed, err: errors.New("aborted: the name typed is not the environment's; nothing was changed")}
	}
	return nil
}

// canConfirm refuses, before anything is taken or written, a change that could not be
// confirmed: no --yes and no terminal to ask on.
func (a *app) canConfirm(g globals, action string) error {
	if g.yes {
		return nil
	}
	f, ok := a.in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return usageError("refusing to %s without confirmation: there is no terminal to ask on; read the plan (--dry-run) and pass --yes", action)
	}
	return nil
}

// printJSON writes v as the command's one JSON document on stdout (scrubbed of secrets there,
// like every other output).
func (a *app) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(a.out, string(b))
	return err
}

// parseTime reads an RFC 3339 time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, usageError("--since is required (RFC 3339, e.g. 2026-11-23T10:00:00Z)")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usageError("--since %q: use RFC 3339, e.g. 2026-11-23T10:00:00Z", s)
	}
	return t, nil
}

func jsonBytes(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }
