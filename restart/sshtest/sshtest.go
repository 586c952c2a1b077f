// Package sshtest starts a private OpenSSH sshd for integration tests.
//
// The server runs from the machine's own /usr/sbin/sshd (Debian package openssh-server) with a
// configuration of its own (no system file is read), keys generated for the test, and a private
// temporary directory. It listens on one free port on several loopback addresses at once, one per
// simulated node (on Linux the whole of 127.0.0.0/8 is loopback and needs no set-up), and on
// nothing else. Only public-key authentication is accepted, for one key and one OS user: the user
// running the tests.
//
//	func TestRoll(t *testing.T) {
//		s := sshtest.Start(t, "127.0.0.2", "127.0.0.3")
//		// log in to s.Addr("127.0.0.2") as s.User with s.IdentityFile, checking s.KnownHosts
//		s.Kill(t)    // the node's sshd dies, open connections drop at once
//		s.Restart(t) // back on the same port with the same keys
//	}
//
// Every command a client runs is appended to s.CommandLog, and when the test ends the log is
// checked for the suite's secrets (internal/secretscan): a remote command is a process argument
// on the node, where other users can read it.
//
// Start skips the test when sshd or ssh-keygen is missing, or fails it when CI=true. The server
// is stopped and its directory removed when the test ends (set SSHTEST_KEEP=1 to keep the
// directory: config, keys and sshd's log). If the test binary is killed, sshd dies with it
// (parent-death signal) and the next run removes the directory.
//
// Linux only (the parent-death signal and the /proc walk that Kill uses).
package sshtest

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reauth/reauth/internal/harness"
	"github.com/reauth/reauth/internal/secretscan"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

const (
	dirPrefix     = "reauth-sshtest-"
	startDeadline = 10 * time.Second
	killDeadline  = 10 * time.Second
	portAttempts  = 5
	privsepDir    = "/run/sshd"
)

// Server is a private OpenSSH sshd listening on several loopback addresses (one per simulated
// node) on one port. Its exported fields are fixed once Start has returned.
type Server struct {
	Hosts        []string      // the loopback addresses it listens on, e.g. 127.0.0.2, 127.0.0.3
	Port         int           // the one port, on every host
	User         string        // the OS user tests log in as: the current user (e.g. root)
	IdentityFile string        // private key (ed25519, no passphrase, mode 0600) whose public key is authorized; IdentityFile+".pub" holds the public key
	KnownHosts   string        // a known_hosts file listing "[host]:port <hostkey>" for every host
	HostKey      ssh.PublicKey // the server's host key (ed25519, the same on every host)
	Dir          string        // private temp dir (0700): config, keys, known_hosts files, sshd.log
	LogFile      string        // sshd's log (its stderr, LogLevel VERBOSE), appended to by every start
	CommandLog   string        // every command a client ran, each followed by a line holding only RS (\x1e)
	Version      string        // the server's identification, e.g. "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u7"
	StartTime    time.Duration // how long Start took (keys, config, sshd up on every host)

	sshd   string
	config string

	mu     sync.Mutex
	proc   *harness.Process // nil while killed
	closed bool
}

// Addr returns host:port for one of the server's hosts.
func (s *Server) Addr(host string) string {
	return net.JoinHostPort(host, strconv.Itoa(s.Port))
}

// ---------------------------------------------------------------------------------------------
// Start

// Start starts sshd listening on hosts (each 127.x.y.z; none given means 127.0.0.1), on one free
// port, or skips the test (fails it when CI=true) if sshd or ssh-keygen is missing or the loopback
// addresses cannot be bound. The server is killed and its directory removed at t.Cleanup.
func Start(t testing.TB, hosts ...string) *Server {
	t.Helper()
	t0 := time.Now()
	hosts, err := checkHosts(hosts)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	sshd := Require(t, "sshd", "openssh-server")
	Require(t, "ssh-keygen", "openssh-client")
	u, err := user.Current()
	if err != nil {
		t.Fatalf("sshtest: current OS user: %v", err)
	}
	if os.Geteuid() == 0 {
		// sshd running as root chroots its pre-authentication child into this directory.
		if err := ensurePrivsepDir(); err != nil {
			t.Fatalf("sshtest: %v", err)
		}
	}
	dir, err := newDir()
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	s := &Server{
		Hosts: hosts, User: u.Username, Dir: dir,
		IdentityFile: filepath.Join(dir, "id_ed25519"),
		KnownHosts:   filepath.Join(dir, "known_hosts"),
		LogFile:      filepath.Join(dir, "sshd.log"),
		CommandLog:   filepath.Join(dir, "commands.log"),
		sshd:         sshd,
		config:       filepath.Join(dir, "sshd_config"),
	}
	t.Cleanup(func() { s.cleanup(t) })

	hostPriv, hostPub, err := newKey()
	if err != nil {
		t.Fatalf("sshtest: host key: %v", err)
	}
	s.HostKey = hostPub
	userPriv, userPub, err := newKey()
	if err != nil {
		t.Fatalf("sshtest: user key: %v", err)
	}
	registerKey("sshtest: the host's private key", hostPriv)
	registerKey("sshtest: the user's private key", userPriv)
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"ssh_host_ed25519_key", hostPriv, 0o600},
		{"ssh_host_ed25519_key.pub", ssh.MarshalAuthorizedKey(hostPub), 0o644},
		{"id_ed25519", userPriv, 0o600},
		{"id_ed25519.pub", ssh.MarshalAuthorizedKey(userPub), 0o644},
		{"authorized_keys", ssh.MarshalAuthorizedKey(userPub), 0o600},
		{"record-command", []byte(recordCommand(s.CommandLog)), 0o700},
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			t.Fatalf("sshtest: %v", err)
		}
	}

	for attempt := 1; ; attempt++ {
		port, err := freePort(hosts)
		if err != nil {
			var bindErr *bindError
			if errors.As(err, &bindErr) {
				harness.SkipOrFail(t, err.Error())
			}
			t.Fatalf("sshtest: %v", err)
		}
		s.Port = port
		if err := writeFile(s.config, []byte(s.configText()), 0o600); err != nil {
			t.Fatalf("sshtest: %v", err)
		}
		err = s.start()
		if err == nil {
			break
		}
		if errors.Is(err, errAddrInUse) && attempt < portAttempts {
			continue // another process took the port meanwhile
		}
		t.Fatalf("sshtest: %v", err)
	}
	if err := s.writeKnownHosts(s.KnownHosts, "", nil); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	s.StartTime = time.Since(t0)
	t.Logf("sshtest: started %s on %s port %d in %v (%s)", s.Version, strings.Join(hosts, ", "), s.Port,
		s.StartTime.Round(time.Millisecond), s.Dir)
	return s
}

// checkHosts validates and normalizes the addresses: IPv4 loopback only, no repeats.
func checkHosts(hosts []string) ([]string, error) {
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1"}
	}
	var out []string
	seen := map[string]bool{}
	for _, h := range hosts {
		ip := net.ParseIP(h).To4()
		if ip == nil || ip[0] != 127 {
			return nil, fmt.Errorf("host %q is not an IPv4 loopback address (127.x.y.z): the test sshd listens on loopback only", h)
		}
		h = ip.String()
		if seen[h] {
			return nil, fmt.Errorf("host %s given twice", h)
		}
		seen[h] = true
		out = append(out, h)
	}
	return out, nil
}

// configText is the complete sshd_config: nothing comes from /etc/ssh.
func (s *Server) configText() string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# written by sshtest for one test; sshd reads no other configuration")
	line("Port %d", s.Port)
	for _, h := range s.Hosts {
		line("ListenAddress %s", net.JoinHostPort(h, strconv.Itoa(s.Port)))
	}
	line("AddressFamily inet")
	line("HostKey %s", filepath.Join(s.Dir, "ssh_host_ed25519_key"))
	line("PidFile %s", filepath.Join(s.Dir, "sshd.pid"))
	line("AuthorizedKeysFile %s", filepath.Join(s.Dir, "authorized_keys"))
	line("AuthorizedKeysCommand none")
	line("AuthorizedPrincipalsFile none")
	// The authorized key is for the test user alone, whatever the path says.
	line("AllowUsers %s", s.User)
	line("PubkeyAuthentication yes")
	line("PasswordAuthentication no")
	line("KbdInteractiveAuthentication no")
	line("HostbasedAuthentication no")
	line("PermitEmptyPasswords no")
	line("UsePAM no")
	line("StrictModes no") // the key files live in a temp dir
	if os.Geteuid() == 0 {
		line("PermitRootLogin yes")
	} else {
		line("PermitRootLogin no")
	}
	line("AllowTcpForwarding yes") // jump host tests
	line("X11Forwarding no")
	line("MaxSessions 50")
	line("MaxStartups 100")
	line("MaxAuthTries 6")
	line("LoginGraceTime 30")
	line("UseDNS no")
	line("PrintMotd no")
	line("PrintLastLog no")
	line("Banner none")
	line("LogLevel VERBOSE")
	// sshd does not log the commands it runs: a wrapper records each one for the secret scan,
	// then runs it as sshd would have ($SHELL -c).
	line("ForceCommand %s", filepath.Join(s.Dir, "record-command"))
	// Sessions get the test's own folder as HOME: the login shell then reads none of the
	// machine user's start-up files (~/.bashrc), which the tests must not depend on, and which
	// can hang (a shell killed mid-start by Kill may leave a tool's lock behind).
	line("SetEnv HOME=%s", filepath.Join(s.Dir, "home"))
	if v := sshdVersion(s.sshd); v >= 908 {
		// OpenSSH 9.8 penalizes a source address after failed logins; the tests fail on purpose.
		line("PerSourcePenalties no")
	}
	return b.String()
}

// recordCommand is the ForceCommand script: it appends the client's command to log and runs it
// with the user's shell, as sshd does without a ForceCommand (a session without a command gets a
// login shell). exec keeps the process tree, exit status and signals as they were.
func recordCommand(log string) string {
	return `#!/bin/sh
if [ -n "${SSH_ORIGINAL_COMMAND+set}" ]; then
	printf '%s\n\036\n' "$SSH_ORIGINAL_COMMAND" >>` + log + `
	exec "$SHELL" -c "$SSH_ORIGINAL_COMMAND"
fi
exec "$SHELL" -l
`
}

// Commands returns the commands clients ran so far, oldest first.
func (s *Server) Commands() []string {
	b, err := os.ReadFile(s.CommandLog)
	if err != nil {
		return nil
	}
	recs := strings.Split(string(b), "\n\x1e\n")
	return recs[:len(recs)-1]
}

// ---------------------------------------------------------------------------------------------
// Host keys in known_hosts files

// KnownHostsWith writes a known_hosts file in which host's entry carries a different (freshly
// generated) ed25519 key and every other host the real one, for the "changed host key" test.
// Returns its path.
func (s *Server) KnownHostsWith(t testing.TB, host string) string {
	t.Helper()
	host = s.mustHost(t, host)
	_, other, err := newKey()
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	return s.knownHostsFile(t, "known_hosts-changed-"+host+"-", host, other)
}

// KnownHostsWithout writes a known_hosts file that lacks host (and lists every other host with the
// real key), for the "unknown host" test. Returns its path.
func (s *Server) KnownHostsWithout(t testing.TB, host string) string {
	t.Helper()
	host = s.mustHost(t, host)
	return s.knownHostsFile(t, "known_hosts-without-"+host+"-", host, nil)
}

func (s *Server) mustHost(t testing.TB, host string) string {
	t.Helper()
	if ip := net.ParseIP(host).To4(); ip != nil {
		host = ip.String()
	}
	for _, h := range s.Hosts {
		if h == host {
			return h
		}
	}
	t.Fatalf("sshtest: %q is not one of the server's hosts %v", host, s.Hosts)
	return ""
}

func (s *Server) knownHostsFile(t testing.TB, prefix, host string, key ssh.PublicKey) string {
	t.Helper()
	f, err := os.CreateTemp(s.Dir, prefix)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	f.Close()
	if err := s.writeKnownHosts(f.Name(), host, key); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	return f.Name()
}

// writeKnownHosts writes every host with the real host key, except that special (if not empty)
// gets key instead, or no line when key is nil.
func (s *Server) writeKnownHosts(path, special string, key ssh.PublicKey) error {
	var b strings.Builder
	for _, h := range s.Hosts {
		k := s.HostKey
		if h == special {
			if key == nil {
				continue
			}
			k = key
		}
		b.WriteString(knownhosts.Line([]string{s.Addr(h)}, k) + "\n")
	}
	return writeFile(path, []byte(b.String()), 0o600)
}

// ---------------------------------------------------------------------------------------------
// Kill and Restart

// Kill kills sshd at once with SIGKILL, as a node crash would: the listener, every connection's
// sshd process and every command they run (a process that detached itself from the tree with a
// double fork survives). Connections drop in the middle of their commands and new ones are
// refused until Restart. Killing a killed server does nothing.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.kill(); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
}

// Restart starts sshd again on the same port, addresses and keys (after killing it as Kill does,
// if it is running) and waits until it accepts connections on every host.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		t.Fatalf("sshtest: Restart after the test's cleanup")
	}
	if err := s.kill(); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	t0 := time.Now()
	if err := s.start(); err != nil {
		if errors.Is(err, errAddrInUse) {
			t.Fatalf("sshtest: restarting sshd: port %d was taken by another process while sshd was down: %v", s.Port, err)
		}
		t.Fatalf("sshtest: restarting sshd: %v", err)
	}
	t.Logf("sshtest: restarted sshd on %s port %d in %v", strings.Join(s.Hosts, ", "), s.Port,
		time.Since(t0).Round(time.Millisecond))
}

// Running reports whether sshd is up (not killed, not exited).
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil && s.proc.ExitErr() == nil
}

// LogTail returns the last lines of sshd's log.
func (s *Server) LogTail() string { return harness.Tail(s.LogFile) }

// kill kills the process tree and waits for the listener. s.mu is held.
func (s *Server) kill() error {
	p := s.proc
	if p == nil {
		return nil
	}
	s.proc = nil
	killTree(p.Cmd.Process.Pid)
	select {
	case <-p.Done:
		return nil
	case <-time.After(killDeadline):
		return fmt.Errorf("sshd (pid %d) did not die within %v of SIGKILL", p.Cmd.Process.Pid, killDeadline)
	}
}

func (s *Server) cleanup(t testing.TB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if err := s.kill(); err != nil {
		t.Errorf("sshtest: %v", err)
	}
	secretscan.CheckPath(t, "the log of remote commands sent to sshd", s.CommandLog)
	if t.Failed() {
		if _, err := os.Stat(s.LogFile); err == nil {
			t.Logf("sshtest: sshd's log (%s):\n%s", s.LogFile, s.LogTail())
		}
	}
	if v := os.Getenv("SSHTEST_KEEP"); v != "" && v != "0" {
		_ = os.WriteFile(filepath.Join(s.Dir, "keep"), nil, 0o600)
		t.Logf("sshtest: SSHTEST_KEEP: sshd's config, keys and log kept in %s", s.Dir)
		return
	}
	if err := os.RemoveAll(s.Dir); err != nil {
		t.Errorf("sshtest: %v", err)
	}
}

// ---------------------------------------------------------------------------------------------
// Running sshd

var errAddrInUse = errors.New("address already in use")

// start runs sshd on s.config and waits until it listens on every host and answers with an SSH
// banner. On failure sshd is killed and the error carries its log's tail. s.mu is held, or s is not
// shared yet.
func (s *Server) start() error {
	logf, err := os.OpenFile(s.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fi, err := logf.Stat()
	if err != nil {
		logf.Close()
		return err
	}
	offset := fi.Size() // this start's lines begin here
	fmt.Fprintf(logf, "--- sshtest: %s -D -e -f %s (port %d) at %s\n", s.sshd, s.config, s.Port,
		time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(s.sshd, "-D", "-e", "-f", s.config) // sshd needs its absolute path to re-exec
	cmd.Dir = s.Dir
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "LC_ALL=C"}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Pdeathsig: syscall.SIGKILL, // dies with the test binary
		Setpgid:   true,            // a ^C at the terminal goes to the test binary only
	}
	p, err := harness.Start(cmd)
	logf.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", s.sshd, err)
	}
	s.proc = p
	if err := s.waitReady(p, offset); err != nil {
		_ = s.kill()
		return err
	}
	return nil
}

// waitReady waits until sshd's log says it listens on every host, then reads the SSH banner on
// every host:port.
func (s *Server) waitReady(p *harness.Process, offset int64) error {
	deadline := time.Now().Add(startDeadline)
	want := make([]string, len(s.Hosts))
	for i, h := range s.Hosts {
		want[i] = fmt.Sprintf("Server listening on %s port %d.", h, s.Port)
	}
	bindFailed := regexp.MustCompile(`Bind to port \d+ on \S+ failed: Address already in use|Cannot bind any address`)
	logErr := func(what string) error {
		return fmt.Errorf("sshd %s; its log (%s):\n%s", what, s.LogFile, s.LogTail())
	}
	for {
		log := readFrom(s.LogFile, offset)
		if bindFailed.MatchString(log) {
			return fmt.Errorf("sshd on port %d: %w; its log (%s):\n%s", s.Port, errAddrInUse, s.LogFile, s.LogTail())
		}
		if err := p.ExitErr(); err != nil {
			return logErr(fmt.Sprintf("exited during start-up (%v)", err))
		}
		listening := true
		for _, w := range want {
			if !strings.Contains(log, w) {
				listening = false
				break
			}
		}
		if listening {
			break
		}
		if time.Now().After(deadline) {
			return logErr(fmt.Sprintf("did not report listening on every host within %v", startDeadline))
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, h := range s.Hosts {
		var last error
		for {
			banner, err := readBanner(s.Addr(h), time.Until(deadline))
			if err == nil {
				s.Version = banner
				break
			}
			last = err
			if p.ExitErr() != nil || time.Now().After(deadline) {
				return logErr(fmt.Sprintf("does not answer on %s (%v)", s.Addr(h), last))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// readBanner connects to addr and reads the server's SSH identification line.
func readBanner(addr string, timeout time.Duration) (string, error) {
	if timeout < 100*time.Millisecond {
		timeout = 100 * time.Millisecond
	}
	if timeout > 2*time.Second {
		timeout = 2 * time.Second
	}
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, "SSH-2.0-") {
		return "", fmt.Errorf("%s answered %q, not an SSH banner", addr, line)
	}
	return line, nil
}

// killTree kills root and all its descendants with SIGKILL. sshd puts every connection's process
// in a session of its own (setsid), out of reach of a process-group kill, so the tree is found
// through /proc: each process found is stopped first, so that none can fork a child that escapes
// the walk, and once a walk finds nothing new, all are killed.
func killTree(root int) {
	tree := map[int]bool{root: true}
	_ = syscall.Kill(root, syscall.SIGSTOP)
	for range 100 {
		found := false
		for pid, ppid := range parents() {
			if tree[ppid] && !tree[pid] {
				_ = syscall.Kill(pid, syscall.SIGSTOP)
				tree[pid] = true
				found = true
			}
		}
		if !found {
			break
		}
	}
	for pid := range tree {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	// SIGKILL takes effect when the process next runs: wait until every one is dead (gone, or a
	// zombie awaiting its reaper), so that nothing of the tree runs once Kill has returned.
	deadline := time.Now().Add(killDeadline)
	for pid := range tree {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
}

// alive reports whether pid is a process that has not exited (a zombie has).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(string(b[i+1:])), "Z")
}

// parents maps every process's pid to its parent's, from /proc/<pid>/stat.
func parents() map[int]int {
	m := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			m[pid] = ppid
		}
	}
	return m
}

// ---------------------------------------------------------------------------------------------
// Binaries, CI

type missingError struct{ binary, pkg string }

func (e *missingError) Error() string {
	return fmt.Sprintf("sshtest: %s not found on PATH, in /usr/sbin, /usr/bin, /sbin or /bin; install the Debian package %s",
		e.binary, e.pkg)
}

// Require returns the absolute path of binary. When it is missing the test is skipped, or fails
// when CI=true, with a message naming the Debian package that provides it.
func Require(t testing.TB, binary, debianPackage string) string {
	t.Helper()
	p, err := lookup(binary, debianPackage)
	if err != nil {
		harness.SkipOrFail(t, err.Error())
	}
	return p
}

func lookup(binary, pkg string) (string, error) {
	if p, ok := harness.Find(binary, "/usr/sbin", "/usr/bin", "/sbin", "/bin"); ok {
		return p, nil
	}
	return "", &missingError{binary, pkg}
}

var (
	versionOnce sync.Once
	versionNum  int
)

// sshdVersion is sshd's version as major*100+minor (902 for 9.2), or 0 if unknown. sshd -V
// prints it (older versions print it in the usage message of the unknown option).
func sshdVersion(sshd string) int {
	versionOnce.Do(func() {
		out, _ := exec.Command(sshd, "-V").CombinedOutput()
		m := regexp.MustCompile(`OpenSSH_(\d+)\.(\d+)`).FindSubmatch(out)
		if m != nil {
			major, _ := strconv.Atoi(string(m[1]))
			minor, _ := strconv.Atoi(string(m[2]))
			versionNum = major*100 + minor
		}
	})
	return versionNum
}

// ensurePrivsepDir creates /run/sshd (root-owned, 0755), which sshd running as root insists on.
func ensurePrivsepDir() error {
	fi, err := os.Stat(privsepDir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s, sshd's privilege separation directory, is not a directory", privsepDir)
		}
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(privsepDir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("creating sshd's privilege separation directory: %w", err)
	}
	return os.Chmod(privsepDir, 0o755) // whatever the umask
}

// ---------------------------------------------------------------------------------------------
// Ports, keys, files

type bindError struct {
	addr string
	err  error
}

func (e *bindError) Error() string {
	return fmt.Sprintf("sshtest: cannot bind the loopback address %s (%v); on Linux all of 127.0.0.0/8 is "+
		"loopback, elsewhere each address needs an alias on lo", e.addr, e.err)
}

// freePort asks the kernel for a free port on the first host and checks that every host can bind
// it. Another process can take it before sshd binds it; Start retries with a new port then.
func freePort(hosts []string) (int, error) {
	var last error
	for range portAttempts {
		l, err := net.Listen("tcp4", net.JoinHostPort(hosts[0], "0"))
		if err != nil {
			return 0, &bindError{hosts[0], err}
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		ok := true
		for _, h := range hosts {
			addr := net.JoinHostPort(h, strconv.Itoa(port))
			l, err := net.Listen("tcp4", addr)
			if err != nil {
				if errors.Is(err, syscall.EADDRINUSE) {
					last, ok = err, false
					break
				}
				return 0, &bindError{addr, err}
			}
			l.Close()
		}
		if ok {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no port free on all of %v after %d attempts: %v", hosts, portAttempts, last)
}

// newKey generates an ed25519 key: the private key in OpenSSH's PEM format, unencrypted, and the
// public key.
func newKey() ([]byte, ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "sshtest")
	if err != nil {
		return nil, nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(block), sshPub, nil
}

// registerKey registers a line of a private key's PEM body with secretscan: one that holds
// private bytes (the first lines are the format's fixed header and the public key), so that a
// key printed or sent anywhere is found.
func registerKey(label string, pemKey []byte) {
	block, _ := pem.Decode(pemKey)
	if block == nil {
		return
	}
	lines := strings.Split(strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: block.Bytes}))), "\n")
	if len(lines) > 4 {
		secretscan.Register(label, lines[4])
	}
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode) // whatever the umask, and for files that existed
}

// newDir makes the server's private directory (0700). sshd's config takes unquoted paths, so a
// TMPDIR holding spaces or other odd characters is passed over for /tmp.
func newDir() (string, error) {
	parent := os.TempDir()
	if !regexp.MustCompile(`^[A-Za-z0-9/._+-]+$`).MatchString(parent) {
		parent = "/tmp"
	}
	dir, err := harness.OwnedDir(parent, dirPrefix, 0o700)
	if err != nil {
		return "", err
	}
	if err := os.Mkdir(filepath.Join(dir, "home"), 0o700); err != nil {
		return "", err
	}
	return dir, nil
}

// readFrom returns a file's contents from offset on.
func readFrom(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) < offset {
		return ""
	}
	return string(b[offset:])
}
