// Command reauth-demo runs the whole reauth job end to end on a simulated Jira Data Center
// cluster that it builds on this machine, with nothing but Go installed:
//
//   - Jira's database, with its real remembermetoken and app_user tables: a private PostgreSQL
//     instance (initdb in the working folder, listening on 127.0.0.1) when the machine has
//     PostgreSQL's server binaries, reached by reauth through a jdbc:postgresql:// URL; else an
//     in-memory MySQL-protocol server (go-mysql-server, in ../embeddb, built only then) reached
//     through a jdbc:mysql:// URL;
//   - an in-process SSH server answering on one loopback address per node (127.0.0.2, ...),
//     with a generated host key (in a known_hosts file) and a generated client key;
//   - simulated Jira nodes (restart/restarttest/simnode), started and stopped through the
//     configured shell commands over SSH, like systemctl on real hosts.
//
// It uses the real reauth binary (built by the launcher, ../main.go, and passed with --bin; or
// built here when run without it, as its tests do), logs users in, and runs, as an operator would:
// `reauth plan`, `reauth run --yes --reason DEMO-1` (its Markdown report is printed), checks
// that every old session and remember-me cookie is rejected on every node and that a fresh
// login works, then `reauth verify`. Everything listens on loopback only and is removed at the
// end, also on Ctrl-C.
//
// Usage, from the repository (the launcher builds this command and runs it):
//
//	go run ./cmd/reauth-demo [--nodes 3] [--users 20] [--db auto|postgres|embedded] [--keep]
//
// It is a command of its own so that the reauth binary links none of the demo's servers, and
// the embedded database is a command of its own so that the demo builds it only when used.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	var o options
	fs := flag.NewFlagSet("reauth-demo", flag.ContinueOnError)
	fs.IntVar(&o.Nodes, "nodes", 3, "simulated Jira nodes")
	fs.IntVar(&o.Users, "users", 20, "users logged in before the run (every other one with remember-me)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the working folder (config, backups, audit log, node logs)")
	fs.StringVar(&o.DB, "db", dbAuto, "the database: auto (PostgreSQL if its server binaries are installed, else embedded), postgres or embedded")
	fs.StringVar(&o.Bin, "bin", "", "a folder with reauth and simnode already built (go run ./cmd/reauth-demo builds them with the demo)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./cmd/reauth-demo [--nodes N] [--users N] [--db auto|postgres|embedded] [--keep]\n\n"+
			"Runs reauth plan, run and verify against a simulated Jira cluster on this machine.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "reauth-demo: unexpected argument %q\n", fs.Arg(0))
		os.Exit(2)
	}
	// Ctrl-C also ends a pipe reader such as `| tee`: without this, the next line printed
	// would kill the demo (SIGPIPE) before it could stop what it started.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	err := demo(ctx, os.Stdout, o)
	interrupted := ctx.Err() != nil
	stop()
	switch {
	case interrupted:
		fmt.Fprintln(os.Stderr, "reauth-demo: interrupted; everything it started was stopped")
		os.Exit(130)
	case err != nil:
		fmt.Fprintf(os.Stderr, "reauth-demo: %v\n", err)
		os.Exit(1)
	}
}
