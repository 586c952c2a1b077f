package runbook

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/products/gitlab"
)

// ErrUnpinned marks a discovered endpoint that the config does not name, while the password
// for it comes from the config: a node whose product file was rewritten must not receive the
// operator's password.
var ErrUnpinned = errors.New("discovered endpoint not named by expect_host")

// HostList is one host or a list of hosts (host, host:port, an IP address, or a unix socket
// path), as expect_host takes them.
type HostList []string

// UnmarshalYAML reads one value or a list.
func (h *HostList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if n.Value != "" {
			*h = HostList{n.Value}
		}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*h = l
	return nil
}

// checkPin refuses a discovered connection (read from from) whose servers expect does not all
// name, when the password for it comes from the config (configPassword) or expect is given
// anyway; field is the expect_host key, for the error.
func (c *Config) checkPin(tc *TargetConfig, field, from string, eps []endpoint, expect HostList, configPassword bool) error {
	if !configPassword && len(expect) == 0 {
		return nil
	}
	err := pinned(eps, expect)
	if err == nil {
		return nil
	}
	why := "it must be one the config names"
	if configPassword {
		why = "the password comes from the config, so reauth will not send it there"
	}
	return c.fail(tc, field, "the connection read from %s %w: %s (if that server is the right one, add it to expect_host)", from, err, why)
}

// endpoint is one address a connection may go to: a TCP host and port, or a unix socket.
type endpoint struct {
	host   string
	port   int // 0: not known (an Oracle descriptor without PORT)
	socket string
}

func (e endpoint) String() string {
	switch {
	case e.socket != "":
		return "unix socket " + e.socket
	case e.port == 0:
		return e.host
	}
	return net.JoinHostPort(e.host, strconv.Itoa(e.port))
}

var descriptorHost = regexp.MustCompile(`(?i)\(\s*HOST\s*=\s*([^()\s]+)\s*\)(?:\s*\(\s*PORT\s*=\s*(\d+)\s*\))?`)

// sourceEndpoints lists every address a database connection to src may go to.
func sourceEndpoints(src db.Source) []endpoint {
	switch {
	case src.Socket != "":
		return []endpoint{{socket: src.Socket}}
	case src.Descriptor != "":
		var out []endpoint
		for _, m := range descriptorHost.FindAllStringSubmatch(src.Descriptor, -1) {
			port, _ := strconv.Atoi(m[2])
			out = append(out, endpoint{host: m[1], port: port})
		}
		return out
	}
	var out []endpoint
	for _, h := range src.Hosts {
		out = append(out, endpoint{host: h.Name, port: h.Port})
	}
	return out
}

// redisEndpoint is where a Redis URL points.
func redisEndpoint(rawURL string) ([]endpoint, error) {
	opt, err := gitlab.RedisOptions(rawURL, "", 0)
	if err != nil {
		return nil, err
	}
	if opt.Network == "unix" {
		return []endpoint{{socket: opt.Addr}}, nil
	}
	host, port, err := net.SplitHostPort(opt.Addr)
	if err != nil {
		return nil, err
	}
	n, _ := strconv.Atoi(port)
	return []endpoint{{host: host, port: n}}, nil
}

// pinned checks that every endpoint is named by expect; it returns an error wrapping
// ErrUnpinned naming the first that is not (or saying that none can be checked).
func pinned(eps []endpoint, expect []string) error {
	if len(eps) == 0 {
		return fmt.Errorf("%w: names no host that can be checked", ErrUnpinned)
	}
	for _, e := range eps {
		ok := false
		for _, x := range expect {
			if pinMatches(strings.TrimSpace(x), e) {
				ok = true
				break
			}
		}
		if !ok {
			return &pinError{ep: e, expect: expect}
		}
	}
	return nil
}

type pinError struct {
	ep     endpoint
	expect []string
}

func (e *pinError) Error() string {
	if len(e.expect) == 0 {
		return fmt.Sprintf("points at %s, and expect_host names no server", e.ep)
	}
	return fmt.Sprintf("points at %s, which expect_host (%s) does not name", e.ep, strings.Join(e.expect, ", "))
}

func (e *pinError) Unwrap() error { return ErrUnpinned }

// pinMatches says whether an expect_host entry names e: the same socket path, or the same
// host (names compared without case and trailing dot, addresses as addresses) and, when the
// entry gives one, the same port.
func pinMatches(x string, e endpoint) bool {
	if x == "" {
		return false
	}
	if strings.HasPrefix(x, "/") {
		return e.socket != "" && filepath.Clean(x) == filepath.Clean(e.socket)
	}
	if e.socket != "" {
		return false
	}
	host, port := x, 0
	if h, p, err := net.SplitHostPort(x); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil {
			return false
		}
		host, port = h, n
	}
	host = strings.Trim(host, "[]")
	if port != 0 && port != e.port {
		return false
	}
	a, b := net.ParseIP(host), net.ParseIP(strings.Trim(e.host, "[]"))
	if a != nil || b != nil {
		return a != nil && b != nil && a.Equal(b)
	}
	norm := func(s string) string { return strings.ToLower(strings.TrimSuffix(s, ".")) }
	return norm(host) == norm(e.host)
}
