package restart

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// stallingSSH is an SSH server on 127.0.0.1 that completes the handshake, accepts any key, and
// then never answers a request to open a session. It returns the address and a dialer that
// trusts it.
func stallingSSH(t *testing.T) (string, *Dialer) {
	t.Helper()
	dir := t.TempDir()
	hostPub, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	_, userPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(userPriv, "")
	if err != nil {
		t.Fatal(err)
	}
	identity := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(identity, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) { return nil, nil }}
	cfg.AddHostKey(hostSigner)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go func() {
				_, chans, reqs, err := ssh.NewServerConn(c, cfg)
				if err != nil {
					return
				}
				go ssh.DiscardRequests(reqs)
				for range chans {
					// Neither accepted nor rejected: the client waits for an answer.
				}
			}()
		}
	}()
	addr := l.Addr().String()
	pub, _ := ssh.NewPublicKey(hostPub)
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(knownhosts.Line([]string{knownhosts.Normalize(addr)}, pub)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := NewDialer(SSHConfig{User: "deploy", IdentityFile: identity, KnownHosts: kh, ConnectTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return addr, d
}

// A node that answers the handshake and then leaves the opening of a session unanswered: Run
// gives up after the connect timeout, though its context has no deadline (a Tomcat config
// read in the preflight), and the command is never started.
func TestRunStalledSession(t *testing.T) {
	if SSHConnectTimeout != 15*time.Second {
		t.Errorf("SSHConnectTimeout = %v; the README documents 15s", SSHConnectTimeout)
	}
	addr, d := stallingSSH(t)
	c, err := d.Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	type result struct {
		err  error
		took time.Duration
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		_, err := c.Run(context.Background(), "cat -- /opt/atlassian/jira/conf/server.xml")
		done <- result{err, time.Since(start)}
	}()
	select {
	case r := <-done:
		if r.err == nil || !strings.Contains(r.err.Error(), "ssh session on "+addr+": no answer within 1s") {
			t.Errorf("Run: %v; want no answer within 1s", r.err)
		}
		t.Logf("%v after %v", r.err, r.took.Round(time.Millisecond))
	case <-time.After(20 * time.Second):
		t.Fatal("Run on a node that never opens the session: still waiting after 20s")
	}
	// An interrupt ends the wait too.
	c2, err := d.Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := c2.ReadFile(ctx, "/var/atlassian/application-data/jira/dbconfig.xml"); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("ReadFile interrupted: %v", err)
	}
}
