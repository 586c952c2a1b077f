package restart

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"

	"github.com/reauth/reauth/internal/termtext"
	"golang.org/x/crypto/ssh/agent"
)

// SSHConfig is how reauth logs in to nodes. Host keys are always checked against KnownHosts:
// there is no way to turn that off.
type SSHConfig struct {
	User         string
	IdentityFile string // a private key; when empty, the agent at $SSH_AUTH_SOCK
	KnownHosts   string
	Port         int    // default 22
	JumpHost     string // host or host:port, optional; reached with the same user and keys
	// ConnectTimeout bounds the TCP connection and SSH handshake (default SSHConnectTimeout).
	ConnectTimeout time.Duration
}

// SSHConnectTimeout is the default bound on connecting to a node (TCP and SSH handshake,
// each hop through a jump host), and the bound on opening a session on a connection: a
// server that accepts and never answers is given up after it.
var SSHConnectTimeout = 15 * time.Second

// HostKeyError is a host key that known_hosts does not vouch for: unknown, or changed.
type HostKeyError struct {
	Host        string // host:port as dialled
	KnownHosts  string
	Changed     bool
	Fingerprint string // SHA256 fingerprint of the key the host presented
}

func (e *HostKeyError) Error() string {
	host, port, _ := net.SplitHostPort(e.Host)
	entry := host
	if port != "22" {
		entry = "[" + host + "]:" + port
	}
	if e.Changed {
		return fmt.Sprintf("host key of %s CHANGED (it now presents %s), which %s does not accept: if the host was rebuilt, verify the new key out of band, then `ssh-keygen -R '%s' -f %s` and add the new key; otherwise someone may be intercepting the connection",
			e.Host, e.Fingerprint, e.KnownHosts, entry, e.KnownHosts)
	}
	return fmt.Sprintf("host %s is not in %s (it presents %s): verify that fingerprint out of band, then add the host with `ssh-keyscan -p %s %s >> %s`",
		e.Host, e.KnownHosts, e.Fingerprint, port, host, e.KnownHosts)
}

// ErrSSHSetup marks an SSH configuration problem (keys, known_hosts, agent): the operator's to
// fix, before any node is touched.
var ErrSSHSetup = errors.New("ssh setup")

// Dialer opens SSH connections to nodes.
type Dialer struct {
	cfg     SSHConfig
	auth    []ssh.AuthMethod
	hostKey *knownhosts.HostKeyDB
}

// NewDialer reads the identity (or connects to the agent) and the known_hosts file.
func NewDialer(cfg SSHConfig) (*Dialer, error) {
	if cfg.Port == 0 {
		cfg.Port = 22
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = SSHConnectTimeout
	}
	if cfg.User == "" {
		return nil, fmt.Errorf("%w: ssh.user is not set", ErrSSHSetup)
	}
	if cfg.KnownHosts == "" {
		return nil, fmt.Errorf("%w: ssh.known_hosts is not set: host keys are always checked", ErrSSHSetup)
	}
	db, err := knownhosts.NewDB(cfg.KnownHosts)
	if err != nil {
		return nil, fmt.Errorf("%w: known_hosts %s: %v", ErrSSHSetup, cfg.KnownHosts, err)
	}
	d := &Dialer{cfg: cfg, hostKey: db}
	if cfg.IdentityFile != "" {
		pem, err := os.ReadFile(cfg.IdentityFile)
		if err != nil {
			return nil, fmt.Errorf("%w: identity_file: %v", ErrSSHSetup, err)
		}
		signer, err := ssh.ParsePrivateKey(pem)
		if err != nil {
			var missing *ssh.PassphraseMissingError
			if errors.As(err, &missing) {
				return nil, fmt.Errorf("%w: identity_file %s has a passphrase: load it into ssh-agent and leave identity_file unset", ErrSSHSetup, cfg.IdentityFile)
			}
			return nil, fmt.Errorf("%w: identity_file %s: %v", ErrSSHSetup, cfg.IdentityFile, err)
		}
		d.auth = append(d.auth, ssh.PublicKeys(signer))
	} else {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, fmt.Errorf("%w: no ssh.identity_file and no ssh-agent ($SSH_AUTH_SOCK is empty)", ErrSSHSetup)
		}
		conn, err := net.Dial("unix", sock)
		if err != nil {
			return nil, fmt.Errorf("%w: ssh-agent at $SSH_AUTH_SOCK: %v", ErrSSHSetup, err)
		}
		d.auth = append(d.auth, ssh.PublicKeysCallback(agent.NewClient(conn).Signers))
	}
	return d, nil
}

func (d *Dialer) addr(host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(d.cfg.Port))
}

func (d *Dialer) clientConfig(addr string) *ssh.ClientConfig {
	check := d.hostKey.HostKeyCallback()
	return &ssh.ClientConfig{
		User: d.cfg.User,
		Auth: d.auth,
		HostKeyCallback: func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			err := check(hostname, remote, key)
			if err == nil {
				return nil
			}
			hke := &HostKeyError{Host: addr, KnownHosts: d.cfg.KnownHosts, Fingerprint: ssh.FingerprintSHA256(key)}
			switch {
			case knownhosts.IsHostKeyChanged(err):
				hke.Changed = true
				return hke
			case knownhosts.IsHostUnknown(err):
				return hke
			}
			return err
		},
		// Offer the key types known_hosts has for this host, so that a host with several keys
		// is not refused for presenting one we do not list.
		HostKeyAlgorithms: d.hostKey.HostKeyAlgorithms(addr),
		Timeout:           d.cfg.ConnectTimeout,
	}
}

// Client is an SSH connection to one node.
type Client struct {
	Host    string // as configured
	user    string
	conn    *ssh.Client
	jump    *ssh.Client
	timeout time.Duration // bound on opening a session
}

// Dial connects to host (through the jump host, if configured), checking its host key.
func (d *Dialer) Dial(ctx context.Context, host string) (*Client, error) {
	addr := d.addr(host)
	c := &Client{Host: host, user: d.cfg.User, timeout: d.cfg.ConnectTimeout}
	dial := func(network, address string) (net.Conn, error) {
		var dl net.Dialer
		dctx, cancel := context.WithTimeout(ctx, d.cfg.ConnectTimeout)
		defer cancel()
		return dl.DialContext(dctx, network, address)
	}
	if d.cfg.JumpHost != "" {
		jaddr := d.addr(d.cfg.JumpHost)
		raw, err := dial("tcp", jaddr)
		if err != nil {
			return nil, &NodeError{Node: host, Op: "ssh", Err: fmt.Errorf("jump host %s: %w", jaddr, err)}
		}
		if c.jump, err = handshake(ctx, raw, jaddr, d.clientConfig(jaddr), d.cfg.ConnectTimeout); err != nil {
			return nil, &NodeError{Node: host, Op: "ssh", Err: fmt.Errorf("jump host %s: %w", jaddr, err)}
		}
		dial = func(network, address string) (net.Conn, error) {
			dctx, cancel := context.WithTimeout(ctx, d.cfg.ConnectTimeout)
			defer cancel()
			return c.jump.DialContext(dctx, network, address)
		}
	}
	raw, err := dial("tcp", addr)
	if err != nil {
		c.Close()
		return nil, &NodeError{Node: host, Op: "ssh", Err: err}
	}
	if c.conn, err = handshake(ctx, raw, addr, d.clientConfig(addr), d.cfg.ConnectTimeout); err != nil {
		c.Close()
		return nil, &NodeError{Node: host, Op: "ssh", Err: err}
	}
	return c, nil
}

// handshake runs the SSH handshake on conn, giving up (and closing conn) after timeout or when
// ctx ends: a server that accepts a connection and then says nothing must not hang reauth.
// Deadlines on conn would not do: through a jump host, conn is an SSH channel without them.
func handshake(ctx context.Context, conn net.Conn, addr string, cfg *ssh.ClientConfig, timeout time.Duration) (*ssh.Client, error) {
	type result struct {
		c     ssh.Conn
		chans <-chan ssh.NewChannel
		reqs  <-chan *ssh.Request
		err   error
	}
	done := make(chan result, 1)
	go func() {
		c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
		done <- result{c, chans, reqs, err}
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-done:
		if r.err != nil {
			conn.Close()
			return nil, r.err
		}
		return ssh.NewClient(r.c, r.chans, r.reqs), nil
	case <-t.C:
		conn.Close()
		<-done
		return nil, fmt.Errorf("ssh handshake with %s: no answer within %s", addr, timeout)
	case <-ctx.Done():
		conn.Close()
		<-done
		return nil, ctx.Err()
	}
}

// newSession opens a session within the connect timeout and ctx: a server that completed the
// handshake can still leave the channel's opening unanswered. On a timeout the connection is
// closed, since a request to open a channel cannot be withdrawn.
func (c *Client) newSession(ctx context.Context) (*ssh.Session, error) {
	type result struct {
		s   *ssh.Session
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := c.conn.NewSession()
		done <- result{s, err}
	}()
	t := time.NewTimer(c.timeout)
	defer t.Stop()
	var err error
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("ssh session on %s: %w", c.Host, r.err)
		}
		return r.s, nil
	case <-t.C:
		err = fmt.Errorf("ssh session on %s: no answer within %s", c.Host, c.timeout)
	case <-ctx.Done():
		err = fmt.Errorf("ssh session on %s: %w", c.Host, ctx.Err())
	}
	c.Close()
	if r := <-done; r.s != nil {
		r.s.Close()
	}
	return nil, err
}

// Close closes the connection (and the jump host's).
func (c *Client) Close() error {
	var errs []error
	if c.conn != nil {
		errs = append(errs, c.conn.Close())
	}
	if c.jump != nil {
		errs = append(errs, c.jump.Close())
	}
	return errors.Join(errs...)
}

// Result is what a remote command did.
type Result struct {
	Command  string        `json:"command"`
	ExitCode int           `json:"exit_code"`
	Output   string        `json:"output"` // stdout and stderr, trimmed to the last 4 KiB
	Took     time.Duration `json:"took"`
}

// ErrCommandFailed marks a remote command that ran and exited non-zero.
var ErrCommandFailed = errors.New("command failed")

// Run runs a shell command on the node and waits for it, at most until ctx ends (then the
// session is closed and the command abandoned). A non-zero exit is an error wrapping
// ErrCommandFailed, with the Result filled in.
func (c *Client) Run(ctx context.Context, cmd string) (Result, error) {
	res := Result{Command: cmd}
	sess, err := c.newSession(ctx)
	if err != nil {
		return res, err
	}
	defer sess.Close()
	var out tailBuffer
	sess.Stdout, sess.Stderr = &out, &out
	start := time.Now()
	if err := sess.Start(cmd); err != nil {
		return res, fmt.Errorf("ssh start %q: %w", cmd, err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		sess.Signal(ssh.SIGKILL)
		sess.Close()
		res.Took, res.Output = time.Since(start), termtext.Clean(out.String())
		return res, fmt.Errorf("%q did not finish: %w", cmd, ctx.Err())
	}
	res.Took, res.Output = time.Since(start), termtext.Clean(out.String())
	var exit *ssh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitStatus()
		return res, fmt.Errorf("%w: %q exited %d: %s", ErrCommandFailed, cmd, res.ExitCode, lastLine(res.Output))
	default:
		// The connection dropped, or the command died without an exit status.
		return res, fmt.Errorf("%q: connection lost before it finished: %w", cmd, err)
	}
	return res, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(termtext.Clean(s))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" {
		return "(no output)"
	}
	return s
}

// tailBuffer keeps the last 4 KiB written to it: enough for a report, bounded for chatty
// start scripts.
// stdout and stderr are copied by two goroutines, hence the lock.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

const tailMax = 4096

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > tailMax {
		t.b = append(t.b[:0], t.b[len(t.b)-tailMax:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.b))
}

// MaxReadFile bounds ReadFile (and reauth's reads of product files on this machine too):
// product config files are kilobytes.
const MaxReadFile = 8 << 20

// ReadFileTimeout bounds ReadFile, whatever its context.
var ReadFileTimeout = 60 * time.Second

// ReadFile returns a file of the node, read with cat. A missing file is an error wrapping
// fs.ErrNotExist.
func (c *Client) ReadFile(ctx context.Context, path string) ([]byte, error) {
	sess, err := c.newSession(ctx)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	var out bytes.Buffer
	var errOut tailBuffer
	lb := &limitedBuffer{b: &out, n: MaxReadFile}
	sess.Stdout, sess.Stderr = lb, &errOut
	// head stops the remote side itself once the limit is passed; what it sends is drained.
	cmd := fmt.Sprintf("head -c %d -- %s", MaxReadFile+1, shellQuote(path))
	done := make(chan error, 1)
	if err := sess.Start(cmd); err != nil {
		return nil, fmt.Errorf("ssh start %q: %w", cmd, err)
	}
	go func() { done <- sess.Wait() }()
	t := time.NewTimer(ReadFileTimeout)
	defer t.Stop()
	select {
	case err = <-done:
	case <-ctx.Done():
		sess.Close()
		return nil, fmt.Errorf("read %s on %s: %w", path, c.Host, ctx.Err())
	case <-t.C:
		sess.Close()
		return nil, fmt.Errorf("read %s on %s: not read within %s", path, c.Host, ReadFileTimeout)
	}
	if lb.overflow {
		return nil, fmt.Errorf("read %s on %s: larger than %d MiB, which no product config file is", path, c.Host, MaxReadFile>>20)
	}
	var exit *ssh.ExitError
	if errors.As(err, &exit) {
		msg := lastLine(errOut.String())
		if strings.Contains(msg, "No such file") {
			return nil, fmt.Errorf("read %s on %s: %w", path, c.Host, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("read %s on %s as %s: %s", path, c.Host, c.user, msg)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s on %s: %w", path, c.Host, err)
	}
	return out.Bytes(), nil
}

// limitedBuffer keeps the first n bytes written to it and discards the rest, noting that it
// did: it never refuses a write, so the remote side is drained and its command can end.
type limitedBuffer struct {
	b        *bytes.Buffer
	n        int
	overflow bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); len(p) > room {
		l.overflow = true
		if room > 0 {
			l.b.Write(p[:room])
		}
		return len(p), nil
	}
	return l.b.Write(p)
}

// ErrNodeBusy marks a node whose lock another reauth holds.
var ErrNodeBusy = errors.New("node busy")

// nodeLockHeld is the line the remote side prints once it holds the lock.
const nodeLockHeld = "reauth-node-lock-held"

// LockTimeout bounds taking a node lock, whatever the context.
var LockTimeout = 30 * time.Second

// Lock takes an exclusive flock(1) on path on the node, without waiting: another holder (any
// reauth, from any host or config, as any user who can open the file) makes it fail with
// ErrNodeBusy. The lock is held by a remote command that reads its standard input: release
// closes it, and a connection that drops or a reauth that dies releases it as well.
func (c *Client) Lock(ctx context.Context, path string) (release func(), err error) {
	sess, err := c.newSession(ctx)
	if err != nil {
		return nil, err
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("ssh session: %w", err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("ssh session: %w", err)
	}
	var errOut tailBuffer
	sess.Stderr = &errOut
	cmd := "command -v flock >/dev/null 2>&1 || { echo 'flock (util-linux) is not installed' >&2; exit 127; }; " +
		"exec flock -n " + shellQuote(path) + " -c 'echo " + nodeLockHeld + "; exec cat >/dev/null'"
	if err := sess.Start(cmd); err != nil {
		sess.Close()
		return nil, fmt.Errorf("ssh start %q: %w", cmd, err)
	}
	first := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(io.LimitReader(stdout, 256)).ReadString('\n')
		first <- strings.TrimSpace(line)
		io.Copy(io.Discard, stdout)
	}()
	t := time.NewTimer(LockTimeout)
	defer t.Stop()
	var line string
	select {
	case line = <-first:
	case <-ctx.Done():
		sess.Close()
		return nil, fmt.Errorf("lock %s on %s: %w", path, c.Host, ctx.Err())
	case <-t.C:
		sess.Close()
		return nil, fmt.Errorf("lock %s on %s: no answer within %s", path, c.Host, LockTimeout)
	}
	if line == nodeLockHeld {
		return func() {
			stdin.Close()
			done := make(chan struct{})
			go func() { sess.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
			}
			sess.Close()
		}, nil
	}
	err = sess.Wait()
	sess.Close()
	var exit *ssh.ExitError
	if errors.As(err, &exit) && exit.ExitStatus() == 1 && errOut.String() == "" {
		return nil, fmt.Errorf("%w: %s on %s is held by another reauth, from this or another host or config", ErrNodeBusy, path, c.Host)
	}
	msg := lastLine(errOut.String())
	if err == nil {
		msg = "the lock command ended without taking the lock"
	}
	return nil, fmt.Errorf("lock %s on %s as %s: %s", path, c.Host, c.user, msg)
}
