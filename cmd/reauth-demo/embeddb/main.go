// Command embeddb is reauth-demo's fallback database, for machines without PostgreSQL's server
// binaries: an in-memory MySQL-protocol server (go-mysql-server) holding one empty database,
// with one account that has every privilege. The demo builds it only when it needs it, runs it
// as a child process and creates Jira's tables through it, like any MySQL server.
//
// Usage (the password is read from a file, never from the command line):
//
//	embeddb -database jiradb -user jira -password-file FILE
//
// It listens on a free port of 127.0.0.1, prints "listening 127.0.0.1:PORT" on stdout once
// it accepts connections, and serves until SIGTERM or SIGINT, or until its standard input is
// closed (the demo holds it open: when the demo dies, so does the database).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/sirupsen/logrus"
)

func main() {
	name := flag.String("database", "jiradb", "the database to create")
	user := flag.String("user", "", "the account to create, with every privilege")
	pwFile := flag.String("password-file", "", "file holding the account's password")
	flag.Parse()
	if err := run(*name, *user, *pwFile); err != nil {
		fmt.Fprintf(os.Stderr, "embeddb: %v\n", err)
		os.Exit(1)
	}
}

func run(name, user, pwFile string) error {
	if user == "" || pwFile == "" {
		return errors.New("-user and -password-file are required")
	}
	pw, err := os.ReadFile(pwFile)
	if err != nil {
		return err
	}
	password := strings.TrimSpace(string(pw))
	// go-mysql-server logs every connection and slow query through logrus's standard logger.
	logrus.SetOutput(io.Discard)

	mdb := memory.NewDatabase(name)
	mdb.BaseDatabase.EnablePrimaryKeyIndexes()
	pro := memory.NewDBProvider(mdb)
	engine := sqle.NewDefault(pro)
	// Enabling the mysql database makes the server check logins; the only account is ours.
	ed := engine.Analyzer.Catalog.MySQLDb.Editor()
	engine.Analyzer.Catalog.MySQLDb.AddSuperUser(ed, user, "%", password)
	ed.Close()

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	cfg := server.Config{Protocol: "tcp", Address: ln.Addr().String(), Listener: ln}
	srv, err := server.NewServer(cfg, engine, sql.NewContext, memory.NewSessionBuilder(pro), nil)
	if err != nil {
		ln.Close()
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Start() }()
	fmt.Printf("listening %s\n", ln.Addr())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()
	select {
	case <-stop:
	case <-stdinClosed:
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	}
	return srv.Close()
}
