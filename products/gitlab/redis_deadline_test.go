package gitlab_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/internal/harness"
	"github.com/reauth/reauth/products/gitlab"
)

// silentRedis is a Redis that hangs right after the dial; it returns the address.
func silentRedis(t *testing.T) string {
	return "127.0.0.1:" + strconv.Itoa(harness.SilentListener(t))
}

// A Redis that accepts the connection and never answers: OpenRedis gives up after
// RedisConnectTimeout with an error that names the server and says it did not answer.
func TestOpenRedisSilentServer(t *testing.T) {
	if gitlab.RedisConnectTimeout != 15*time.Second || gitlab.RedisReplyTimeout != time.Minute {
		t.Errorf("deadlines %v, %v; the README documents 15s and 1m", gitlab.RedisConnectTimeout, gitlab.RedisReplyTimeout)
	}
	old := gitlab.RedisConnectTimeout
	gitlab.RedisConnectTimeout = time.Second
	t.Cleanup(func() { gitlab.RedisConnectTimeout = old })
	addr := silentRedis(t)
	start := time.Now()
	c, err := gitlab.OpenRedis(context.Background(), "redis://"+addr, "secret-pw", 0, "")
	took := time.Since(start)
	if err == nil {
		c.Close()
		t.Fatal("OpenRedis on a silent server succeeded")
	}
	if !errors.Is(err, db.ErrNoAnswer) || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "no answer within 1s") {
		t.Errorf("error %q; want one wrapping db.ErrNoAnswer, naming %s", err, addr)
	}
	if strings.Contains(err.Error(), "secret-pw") {
		t.Errorf("error %q holds the password", err)
	}
	if took > 20*time.Second {
		t.Errorf("took %v", took)
	}
	t.Logf("%v after %v", err, took.Round(time.Millisecond))
}

// An interrupt (the context cancelled, with no deadline of its own) ends a wait on a silent
// Redis at once: go-redis alone waits out its read timeout whatever the context says.
func TestOpenRedisSilentServerInterrupted(t *testing.T) {
	addr := silentRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	c, err := gitlab.OpenRedis(ctx, "redis://"+addr, "", 0, "")
	took := time.Since(start)
	if err == nil {
		c.Close()
		t.Fatal("OpenRedis on a silent server succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %q; want context.Canceled", err)
	}
	// RedisConnectTimeout is 15s: ending well before it shows the interrupt was heard.
	if took > 10*time.Second {
		t.Errorf("interrupted after 300ms, returned after %v", took)
	}
}
