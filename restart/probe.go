package restart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/reauth/reauth/internal/termtext"
	"github.com/reauth/reauth/products"
)

// State is a node's state as its status endpoint reports it, plus the states reauth infers.
type State string

// The products' own states, and reauth's: Down when the connection is refused (nothing
// listens), Unknown for anything else reauth cannot read (no answer in time, nonsense).
const (
	Running     State = "RUNNING"
	Starting    State = "STARTING"
	Stopping    State = "STOPPING"
	FirstRun    State = "FIRST_RUN"
	Maintenance State = "MAINTENANCE"
	Error       State = "ERROR"
	Paused      State = "PAUSED"
	Down        State = "DOWN"
	Unknown     State = "UNKNOWN"
)

// Status is one answer of a node's readiness probe.
type Status struct {
	State  State  `json:"state"`
	HTTP   int    `json:"http,omitempty"` // 0 when nothing answered
	Detail string `json:"detail,omitempty"`
}

// Ready is the only state in which reauth moves on: the JSON says RUNNING and the HTTP code
// agrees. Neither alone is trusted.
func (s Status) Ready() bool { return s.State == Running }

func (s Status) String() string {
	if s.HTTP == 0 {
		return fmt.Sprintf("%s (%s)", s.State, s.Detail)
	}
	if s.Detail != "" {
		return fmt.Sprintf("%s (HTTP %d, %s)", s.State, s.HTTP, s.Detail)
	}
	return fmt.Sprintf("%s (HTTP %d)", s.State, s.HTTP)
}

// readStatus turns a node's answer to the probe p into a state; body is at most 64 KiB. A
// product's HTTP codes lie in its own ways (Jira answers 200 while STARTING, Bitbucket 200 in
// MAINTENANCE and sometimes an empty 200 under load), so a JSON state is ready only as RUNNING
// with HTTP 200.
func readStatus(p products.Probe, code int, body []byte) Status {
	if p.JSONState {
		return readJSONState(map[State]int{Running: 200})(code, body)
	}
	if code == http.StatusOK {
		return Status{State: Running, HTTP: code}
	}
	return Status{State: Starting, HTTP: code, Detail: "front page not answering 200"}
}

var stateName = regexp.MustCompile(`^[A-Za-z_]{1,40}$`)

// readJSONState reads {"state":"..."} and accepts RUNNING only with the HTTP code given.
func readJSONState(codeFor map[State]int) func(int, []byte) Status {
	return func(code int, body []byte) Status {
		var v struct {
			State string `json:"state"`
		}
		trimmed := strings.TrimSpace(string(body))
		if trimmed == "" {
			return Status{State: Unknown, HTTP: code, Detail: "empty reply"}
		}
		if err := json.Unmarshal([]byte(trimmed), &v); err != nil || v.State == "" {
			return Status{State: Unknown, HTTP: code, Detail: "reply is not the JSON status"}
		}
		if !stateName.MatchString(v.State) {
			// Whatever the node sends is printed: only a plain state name is taken as one.
			return Status{State: Unknown, HTTP: code, Detail: fmt.Sprintf("says %q, which is not a state", termtext.Line(v.State))}
		}
		st := Status{State: State(strings.ToUpper(v.State)), HTTP: code}
		if want, ok := codeFor[st.State]; ok && code != want {
			return Status{State: Unknown, HTTP: code, Detail: fmt.Sprintf("says %s with HTTP %d", st.State, code)}
		}
		return st
	}
}

// Probe asks a node for its state once. It never returns an error: a node that does not
// answer is Down, one that answers nonsense is Unknown.
func Probe(ctx context.Context, client *http.Client, p products.Probe, baseURL string) Status {
	if p.Path == "" {
		return Status{State: Unknown, Detail: "no status path for this product"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(baseURL, "/")+p.Path, nil)
	if err != nil {
		return Status{State: Unknown, Detail: err.Error()}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		// Only a refused connection means nothing listens: a node that does not answer in time
		// may be a JVM still shutting down, or a network problem.
		if errors.Is(err, syscall.ECONNREFUSED) {
			return Status{State: Down, Detail: "connection refused"}
		}
		reason := downReason(err)
		if reason == noAnswer && client.Timeout > 0 && ctx.Err() == nil {
			reason = fmt.Sprintf("no answer from %s within %s", req.URL.Redacted(), client.Timeout)
		}
		return Status{State: Unknown, Detail: reason}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return Status{State: Unknown, HTTP: resp.StatusCode, Detail: "reply cut short"}
	}
	return readStatus(p, resp.StatusCode, body)
}

const noAnswer = "no answer in time"

func downReason(err error) string {
	var op *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.ETIMEDOUT):
		return noAnswer
	case errors.As(err, &op):
		return op.Err.Error()
	}
	return err.Error()
}

// ProbeTimeout bounds one probe of a node's status endpoint: connecting, sending, and reading
// the whole answer. A node that does not answer within it is in an unknown state, and
// the probe says so.
var ProbeTimeout = 5 * time.Second

// NewHTTPClient is the client probes use: no redirects followed (a login page is not a status),
// no keep-alive (a restarted node must be asked afresh), a short timeout per probe.
func NewHTTPClient() *http.Client {
	return &http.Client{
		Timeout: ProbeTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	}
}
