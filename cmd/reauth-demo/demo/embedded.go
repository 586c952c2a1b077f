package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/reauth/reauth/internal/harness"
)

// embeddbPackage is the embedded database's command, built only when the demo uses it.
const embeddbPackage = "./cmd/reauth-demo/embeddb"

// startEmbedded runs the embeddb binary (go-mysql-server, in memory) on a free port of
// 127.0.0.1, with the account dbUser whose password is in pwFile.
func startEmbedded(ctx context.Context, bin, workDir, password, pwFile string) (_ *dbServer, err error) {
	d := &dbServer{Kind: dbEmbedded, Dialect: "mysql", Driver: "mysql", Name: dbName, User: dbUser,
		Password: password, Version: "go-mysql-server, in memory",
		stopSig: syscall.SIGTERM, logPath: filepath.Join(workDir, "embeddb.log")}
	defer func() {
		if err != nil {
			d.Close()
			err = fmt.Errorf("embedded database: %w", err)
		}
	}()
	logf, err := os.OpenFile(d.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	// Its standard input: the demo holds the write end (d.hold) until it stops the server.
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer inR.Close()
	d.hold = inW
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer outR.Close()
	cmd := exec.Command(bin, "-database", dbName, "-user", dbUser, "-password-file", pwFile)
	cmd.Dir, cmd.SysProcAttr = workDir, serverProcAttr(nil)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, logf
	d.proc, err = harness.Start(cmd)
	outW.Close()
	if err != nil {
		return nil, err
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(outR).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		addr, ok := strings.CutPrefix(strings.TrimSpace(s), "listening ")
		if !ok {
			select { // it prints nothing else: it is exiting
			case <-d.proc.Done:
			case <-time.After(5 * time.Second):
			}
			return nil, fmt.Errorf("did not start (%v); its log (%s):\n%s", d.proc.ExitErr(), d.logPath, harness.Tail(d.logPath))
		}
		d.Addr = addr
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("not listening after 30s; its log (%s):\n%s", d.logPath, harness.Tail(d.logPath))
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := waitReady(ctx, d.proc, d.Driver, d.DSN(), 30*time.Second); err != nil {
		return nil, err
	}
	return d, nil
}
