package main

import (
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
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshServer is an in-process SSH server that stands in for each node's sshd: one port on
// several loopback addresses (one per node), public-key login for one key and the current OS
// user, and "exec" requests run with sh -c, as OpenSSH runs them: in a session of their own,
// with SSH_CONNECTION set, stdout and stderr sent back, then the exit status.
type sshServer struct {
	Hosts        []string
	Port         int
	User         string
	IdentityFile string // the client's private key (ed25519, 0600)
	KnownHosts   string // "[host]:port key" for every host

	config    *ssh.ServerConfig
	listeners []net.Listener
	wg        sync.WaitGroup

	mu       sync.Mutex
	conns    map[net.Conn]bool
	procs    map[*os.Process]bool
	closed   bool
	commands []string // every exec request's command, for the tests' secret scan
}

// Commands returns every command a client ran so far, oldest first.
func (s *sshServer) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

// startSSH generates a host key and a client key in dir and listens on one free port on every
// host (IPv4 loopback addresses).
func startSSH(dir string, hosts []string) (*sshServer, error) {
	u, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("ssh server: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &sshServer{Hosts: hosts, User: u.Username, conns: map[net.Conn]bool{}, procs: map[*os.Process]bool{},
		IdentityFile: filepath.Join(dir, "id_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts")}

	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		return nil, err
	}
	clientPub, clientPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(clientPriv, "reauth-demo")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(s.IdentityFile, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	authorized, err := ssh.NewPublicKey(clientPub)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(s.IdentityFile+".pub", ssh.MarshalAuthorizedKey(authorized), 0o644); err != nil {
		return nil, err
	}

	s.config = &ssh.ServerConfig{
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if meta.User() == s.User && bytes.Equal(key.Marshal(), authorized.Marshal()) {
				return nil, nil
			}
			return nil, fmt.Errorf("public key of %s not authorized", meta.User())
		},
		ServerVersion: "SSH-2.0-reauth-demo",
	}
	s.config.AddHostKey(hostSigner)

	if err := s.listen(); err != nil {
		return nil, err
	}
	var kh bytes.Buffer
	for _, h := range hosts {
		kh.WriteString(knownhosts.Line([]string{knownhosts.Normalize(net.JoinHostPort(h, strconv.Itoa(s.Port)))}, hostSigner.PublicKey()) + "\n")
	}
	if err := os.WriteFile(s.KnownHosts, kh.Bytes(), 0o600); err != nil {
		s.Close()
		return nil, err
	}
	for _, ln := range s.listeners {
		s.wg.Add(1)
		go s.accept(ln)
	}
	return s, nil
}

// listen finds one port free on every host.
func (s *sshServer) listen() error {
	var last error
	for attempt := 0; attempt < 10; attempt++ {
		first, err := net.Listen("tcp4", net.JoinHostPort(s.Hosts[0], "0"))
		if err != nil {
			return fmt.Errorf("ssh server: listen on %s: %w (the demo needs the IPv4 loopback range 127.0.0.0/8, as Linux has it)", s.Hosts[0], err)
		}
		port := first.Addr().(*net.TCPAddr).Port
		lns := []net.Listener{first}
		for _, h := range s.Hosts[1:] {
			ln, err := net.Listen("tcp4", net.JoinHostPort(h, strconv.Itoa(port)))
			if err != nil {
				last = err
				break
			}
			lns = append(lns, ln)
		}
		if len(lns) == len(s.Hosts) {
			s.listeners, s.Port = lns, port
			return nil
		}
		for _, ln := range lns {
			ln.Close()
		}
	}
	return fmt.Errorf("ssh server: no port free on all of %v: %w", s.Hosts, last)
}

func (s *sshServer) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

func (s *sshServer) serve(c net.Conn) {
	c.SetDeadline(time.Now().Add(15 * time.Second))
	sc, chans, reqs, err := ssh.NewServerConn(c, s.config)
	if err != nil {
		return
	}
	c.SetDeadline(time.Time{})
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	// OpenSSH's SSH_CONNECTION: client address and port, server address and port.
	client := c.RemoteAddr().(*net.TCPAddr)
	server := c.LocalAddr().(*net.TCPAddr)
	conn := fmt.Sprintf("%s %d %s %d", client.IP, client.Port, server.IP, server.Port)
	var wg sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			// No port forwarding, no jump host through the demo's nodes.
			nc.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.session(ch, chReqs, conn)
		}()
	}
	wg.Wait()
}

// session serves one session channel: one exec request; env, pty and shell requests are
// refused.
func (s *sshServer) session(ch ssh.Channel, reqs <-chan *ssh.Request, sshConn string) {
	defer ch.Close()
	var cmd *exec.Cmd
	done := make(chan struct{})
	for {
		select {
		case req, ok := <-reqs:
			if !ok {
				// The client closed the channel: end what it started.
				if cmd != nil {
					s.kill(cmd, syscall.SIGKILL)
					<-done
				}
				return
			}
			switch {
			case req.Type == "exec" && cmd == nil:
				var payload struct{ Command string }
				if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
					req.Reply(false, nil)
					continue
				}
				s.mu.Lock()
				s.commands = append(s.commands, payload.Command)
				s.mu.Unlock()
				cmd = s.command(payload.Command, sshConn, ch)
				if err := s.start(cmd); err != nil {
					req.Reply(false, nil)
					fmt.Fprintf(ch.Stderr(), "sh: %v\n", err)
					sendExit(ch, 127)
					return
				}
				req.Reply(true, nil)
				go func() {
					defer close(done)
					err := cmd.Wait()
					s.mu.Lock()
					delete(s.procs, cmd.Process)
					s.mu.Unlock()
					code := 0
					var exit *exec.ExitError
					if errors.As(err, &exit) {
						code = exit.ExitCode()
						if code < 0 {
							code = 128 + int(exit.Sys().(syscall.WaitStatus).Signal())
						}
					} else if err != nil {
						code = 255
					}
					sendExit(ch, code)
					ch.CloseWrite()
				}()
			case req.Type == "signal" && cmd != nil:
				var payload struct{ Signal string }
				ssh.Unmarshal(req.Payload, &payload)
				sig := map[string]syscall.Signal{"KILL": syscall.SIGKILL, "TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "HUP": syscall.SIGHUP}[payload.Signal]
				if sig != 0 {
					s.kill(cmd, sig)
				}
				if req.WantReply {
					req.Reply(sig != 0, nil)
				}
			default:
				if req.WantReply {
					req.Reply(false, nil)
				}
			}
		case <-done:
			// The exit status is sent and our side closed; the deferred Close ends the channel.
			return
		}
	}
}

func (s *sshServer) command(command, sshConn string, ch ssh.Channel) *exec.Cmd {
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Env = append(os.Environ(), "SSH_CONNECTION="+sshConn, "USER="+s.User, "LOGNAME="+s.User)
	if home, err := os.UserHomeDir(); err == nil {
		cmd.Dir = home
	}
	cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
	// Like sshd: the command leads a session of its own, so what it starts in the background
	// outlives it and the channel.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// A background child that kept stdout open would hold the channel: stop waiting for it.
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

func (s *sshServer) start(cmd *exec.Cmd) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("server closing")
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	s.procs[cmd.Process] = true
	return nil
}

// kill signals the command's process group (its session).
func (s *sshServer) kill(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, sig)
	}
}

func sendExit(ch ssh.Channel, code int) {
	ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(code)}))
}

// Close stops listening, kills running commands and drops every connection.
func (s *sshServer) Close() {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.closed = true
	for _, ln := range s.listeners {
		ln.Close()
	}
	for p := range s.procs {
		_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
