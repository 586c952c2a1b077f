package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/reauth/reauth/backup"
	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/internal/secrets"
	"github.com/reauth/reauth/internal/termtext"
	"github.com/reauth/reauth/products/gitlab"
	"github.com/reauth/reauth/restart"
	"github.com/reauth/reauth/runbook"
	"github.com/reauth/reauth/tokens"
)

// Exit codes, as the README documents them.
const (
	exitOK     = 0
	exitFailed = 1 // failed with nothing unsafe left behind
	exitUsage  = 2 // usage or config error
	exitHalted = 3 // halted part-way
)

// app is one invocation: its streams and what it learnt that must not leak.
type app struct {
	in       io.Reader
	out, err io.Writer
	// errFile is stderr itself, for telling whether it is a terminal (err wraps it).
	errFile io.Writer
	// cfg, once read, knows the values that must never be printed (passwords given or found):
	// out and err scrub them from everything written, a driver's error message included.
	cfg *runbook.Config
	// planning is set by plan, which shows the config's warnings with each target's.
	planning bool
}

// exitError carries an exit code other than the default for its error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageError(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// version is the module version and, for a build from a checkout, the VCS revision it was
// built from (and whether the checkout had uncommitted changes): what a backup manifest and the
// audit log record as the tool, and what --version prints.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return versionOf(bi)
}

func versionOf(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	var rev, when string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return v
	}
	v += " (revision " + rev
	if when != "" {
		v += ", committed " + when
	}
	if dirty {
		v += ", with uncommitted changes"
	}
	return v + ")"
}

// run runs reauth with the given arguments and streams and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Everything printed may quote remote text (node replies, product files, driver errors):
	// control characters are stripped at this edge, whatever path the text took.
	a := &app{in: stdin}
	// Passwords are scrubbed at the same edge, from whatever is written to stdout or stderr.
	known := func() *secrets.Set {
		if a.cfg == nil {
			return nil
		}
		return a.cfg.SecretSet()
	}
	out, errOut := secrets.NewWriter(termtext.Writer(stdout), known), secrets.NewWriter(stderr, known)
	defer out.Flush()
	defer errOut.Flush()
	a.out, a.err, a.errFile = out, errOut, stderr
	ctx, stop := interruptible(context.Background(), stderr)
	defer stop()
	cliApp := a.newCLI()
	err := cliApp.RunContext(ctx, normalizeArgs(cliApp, args))
	if err == nil {
		return exitOK
	}
	out.Flush()
	fmt.Fprintln(a.err, "reauth: "+termtext.Line(db.OneLine(err.Error())))
	return exitCode(err)
}

func exitCode(err error) int {
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case inputError(err):
		return exitUsage
	}
	return exitFailed
}

// inputError reports whether err is the operator's to fix (config, flags, names, a backup file)
// rather than a failure of the environment: such errors exit 2.
func inputError(err error) bool {
	var (
		ce *runbook.ConfigError
		te *tokens.TableError
		fe *backup.FileError
		ue *db.URLError
		re *gitlab.RedisURLError
	)
	var hk *restart.HostKeyError
	return errors.As(err, &ce) || errors.As(err, &te) || errors.As(err, &fe) || errors.As(err, &ue) || errors.As(err, &re) ||
		errors.As(err, &hk) || errors.Is(err, restart.ErrSSHSetup) ||
		errors.Is(err, tokens.ErrScope) || errors.Is(err, tokens.ErrManifest) || errors.Is(err, runbook.ErrUnlogged) || errors.Is(err, tokens.ErrUnconfirmed) ||
		errors.Is(err, runbook.ErrNoNodes) || errors.Is(err, runbook.ErrResumeState) || errors.Is(err, db.ErrAuth) ||
		errors.Is(err, runbook.ErrSSOLeft)
}

// redact masks the passwords this invocation knows in text bound for a file (the report);
// stdout and stderr are scrubbed as they are written.
func (a *app) redact(s string) string {
	if a.cfg == nil {
		return s
	}
	return a.cfg.Scrub(s)
}

// interruptible cancels the context on the first SIGINT or SIGTERM, so that work in progress
// stops at a safe point and says what it did; a second signal exits at once with 130.
func interruptible(parent context.Context, stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
			fmt.Fprintln(stderr, "reauth: interrupted: stopping at the next safe point (interrupt again to exit now)")
			cancel()
		case <-done:
			return
		}
		select {
		case <-sig:
			os.Exit(130)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sig)
		close(done)
		cancel()
	}
}

func (a *app) newCLI() *cli.App {
	onUsage := func(_ *cli.Context, err error, _ bool) error {
		return usageError("%v (see --help)", err)
	}
	cmds := []*cli.Command{
		a.productsCommand(),
		a.planCommand(),
		a.backupCommand(),
		a.clearCommand(),
		a.restoreCommand(),
		a.restartCommand(),
		a.runCommand(),
		a.verifyCommand(),
		a.sessionsCommand(),
		a.discoverCommand(),
	}
	var addGlobals func([]*cli.Command)
	addGlobals = func(cs []*cli.Command) {
		for _, c := range cs {
			c.Flags = append(c.Flags, globalFlags()...)
			c.OnUsageError = onUsage
			addGlobals(c.Subcommands)
		}
	}
	addGlobals(cmds)
	return &cli.App{
		Name:    "reauth",
		Usage:   "force users of on-prem Atlassian products and GitLab to log in again, safely",
		Version: version(),
		Description: "reauth backs up and clears the remember-me tokens of Jira, Confluence, Bitbucket,\n" +
			"Bamboo and Fisheye/Crucible, and Crowd's SSO sessions and remember-me tokens, with a\n" +
			"plan before anything changes, a confirmation, an audit log and an undo (reauth\n" +
			"restore). Sessions held in a node's memory end when the node restarts. On GitLab\n" +
			"Self-Managed it lists and revokes web sessions (Redis) and remember-me (PostgreSQL)\n" +
			"per user, per group or for everyone, with no restart (reauth sessions).\n\n" +
			"Global options work before or after the command name and each has a REAUTH_ env var.",
		Reader:                 a.in,
		Writer:                 a.out,
		ErrWriter:              a.err,
		Flags:                  globalFlags(),
		Commands:               cmds,
		OnUsageError:           onUsage,
		HideHelpCommand:        true,
		UseShortOptionHandling: false,
		ExitErrHandler:         func(*cli.Context, error) {},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError("unknown command %q (commands: products, discover, plan, backup, clear, restore, restart, run, verify, sessions)", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
	}
}

// normalizeArgs moves options that follow a command's positional arguments in front of them
// (`reauth restore FILE --yes`), because the flag parser stops at the first positional one.
func normalizeArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	i := 1
	// Options before the command name stay where they are.
	takesValue := flagArity(app.Flags)
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "--" {
		if takesValue[flagName(args[i])] && !strings.Contains(args[i], "=") && i+1 < len(args) {
			out = append(out, args[i], args[i+1])
			i += 2
			continue
		}
		out = append(out, args[i])
		i++
	}
	if i >= len(args) {
		return out
	}
	cmd := app.Command(args[i])
	if cmd == nil {
		return append(out, args[i:]...)
	}
	out = append(out, args[i])
	i++
	// Down the subcommands (sessions list), so that their own flags are known.
	for i < len(args) {
		sub := cmd.Command(args[i])
		if sub == nil {
			break
		}
		cmd = sub
		out = append(out, args[i])
		i++
	}
	takesValue = flagArity(cmd.Flags)
	var flags, positional []string
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flags = append(flags, a)
			if takesValue[flagName(a)] && !strings.Contains(a, "=") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			positional = append(positional, a)
		}
	}
	return append(append(out, flags...), positional...)
}

func flagName(arg string) string {
	name := strings.TrimLeft(arg, "-")
	if i := strings.IndexByte(name, '='); i >= 0 {
		name = name[:i]
	}
	return name
}

// flagArity says, for each flag name, whether it takes a value.
func flagArity(flags []cli.Flag) map[string]bool {
	m := map[string]bool{}
	for _, f := range flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			m[n] = !isBool
		}
	}
	return m
}
