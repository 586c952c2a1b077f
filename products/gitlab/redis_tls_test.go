package gitlab_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/internal/harness"
	"github.com/reauth/reauth/products/gitlab"
)

// tlsRedis starts a private redis-server that speaks only TLS, on 127.0.0.1, with a certificate
// for 127.0.0.1 from a CA made for the test, and a password. It returns the address, the CA's
// PEM file and the password.
func tlsRedis(t *testing.T) (addr, caFile, password string) {
	t.Helper()
	bin := dbtest.Require(t, "redis-server", "redis-server")
	dir, err := harness.OwnedDir(os.TempDir(), "reauth-redis-tls-", 0o700)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ca, err := harness.NewCA("reauth test redis CA")
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(dir, "ca.pem")
	cert, key := filepath.Join(dir, "redis.crt"), filepath.Join(dir, "redis.key")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ca.Issue(cert, key, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	password = harness.RandomHex(16)
	conf := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(conf, []byte("requirepass "+password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port, err := harness.FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "redis.log")
	cmd := exec.Command(bin, conf, "--port", "0", "--tls-port", strconv.Itoa(port),
		"--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", caFile,
		"--tls-auth-clients", "no", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no", "--logfile", logPath, "--protected-mode", "yes")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	proc, err := harness.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		proc.Cmd.Process.Kill()
		<-proc.Done
	})
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	// Ready once it completes a TLS handshake that trusts its CA.
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CertPEM)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
		if err == nil {
			c.Close()
			return addr, caFile, password
		}
		if perr := proc.ExitErr(); perr != nil {
			if strings.Contains(harness.Tail(logPath), "TLS") {
				harness.SkipOrFail(t, fmt.Sprintf("redis-server at %s was built without TLS: %v\n%s", bin, perr, harness.Tail(logPath)))
			}
			t.Fatalf("redis-server exited (%v):\n%s", perr, harness.Tail(logPath))
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server with TLS on %s not ready within 10s: %v\n%s", addr, err, harness.Tail(logPath))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rediss:// verifies the server: a certificate from a CA that neither the system nor
// redis.ca_file vouches for is refused, and so is one for another host name; the CA given as
// ca_file is trusted.
func TestOpenRedisTLS(t *testing.T) {
	addr, caFile, password := tlsRedis(t)
	_, port, _ := net.SplitHostPort(addr)
	ctx := context.Background()

	c, err := gitlab.OpenRedis(ctx, "rediss://"+addr, password, 0, "")
	if err == nil {
		c.Close()
		t.Fatal("rediss:// to a server whose CA nobody trusts: connected")
	}
	if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("untrusted CA: %v; want the address and the certificate's problem", err)
	}

	c, err = gitlab.OpenRedis(ctx, "rediss://localhost:"+port, password, 0, caFile)
	if err == nil {
		c.Close()
		t.Fatal("rediss:// to localhost with a certificate for 127.0.0.1: connected")
	}
	if !strings.Contains(err.Error(), "x509: certificate") || !strings.Contains(err.Error(), "localhost") {
		t.Errorf("wrong host name: %v", err)
	}

	c, err = gitlab.OpenRedis(ctx, "rediss://"+addr, password, 0, caFile)
	if err != nil {
		t.Fatalf("rediss:// with ca_file naming the server's CA: %v", err)
	}
	if err := c.Set(ctx, "reauth:tls", "ok", time.Minute).Err(); err != nil {
		t.Errorf("SET over TLS: %v", err)
	}
	c.Close()

	var ue *gitlab.RedisURLError
	if _, err := gitlab.OpenRedis(ctx, "redis://"+addr, password, 0, caFile); !errors.As(err, &ue) || !strings.Contains(err.Error(), "not rediss://") {
		t.Errorf("ca_file with a plain redis:// URL: %v; want a RedisURLError", err)
	}
	if strings.Contains(fmt.Sprint(err), password) {
		t.Error("an error holds the password")
	}
}
