package gitlab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/reauth/reauth/db"
)

// RedisURLError reports a Redis URL that cannot be used. URL is redacted.
type RedisURLError struct {
	URL    string
	Reason string
}

func (e *RedisURLError) Error() string { return fmt.Sprintf("redis url %q: %s", e.URL, e.Reason) }

// RedisOptions turns a Redis URL into client options:
//
//	redis://[[user]:password@]host[:port][/db][?db=N]   (port 6379 by default)
//	rediss://...                                        (TLS, the certificate and host name verified)
//	unix:///path/redis.socket[?db=N], unix:/path/redis.socket, or a bare /path/redis.socket
//
// A non-empty password overrides one in the URL; a db other than 0 overrides the URL's.
// Errors never hold a password.
func RedisOptions(rawURL, password string, dbIndex int) (*redis.Options, error) {
	shown := redactRedisURL(rawURL)
	fail := func(format string, args ...any) (*redis.Options, error) {
		return nil, &RedisURLError{URL: shown, Reason: fmt.Sprintf(format, args...)}
	}
	raw := strings.TrimSpace(rawURL)
	if raw == "" {
		return fail("is empty")
	}
	if strings.HasPrefix(raw, "/") {
		raw = "unix://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the url.Error's text quotes the whole URL
		}
		return fail("cannot be parsed: %s", redactText(err.Error(), rawURL, password))
	}
	opt := &redis.Options{}
	switch strings.ToLower(u.Scheme) {
	case "redis", "rediss":
		if u.Opaque != "" {
			return fail("give the address as %s://host:port", u.Scheme)
		}
		host, port := u.Hostname(), u.Port()
		if host == "" {
			return fail("names no host")
		}
		if port == "" {
			port = "6379"
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fail("port %q is not a port number", port)
		}
		opt.Network, opt.Addr = "tcp", net.JoinHostPort(host, port)
		if p := strings.Trim(u.Path, "/"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 {
				return fail("path %q is not a database number", "/"+p)
			}
			opt.DB = n
		}
		if strings.EqualFold(u.Scheme, "rediss") {
			opt.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
	case "unix":
		path := u.Path
		if u.Opaque != "" {
			path = u.Opaque
		}
		if u.Host != "" && u.Host != "localhost" {
			return fail("a unix socket URL names no host: unix:///path/to/redis.socket")
		}
		if path == "" {
			return fail("names no socket path")
		}
		opt.Network, opt.Addr = "unix", path
	case "":
		return fail("has no scheme: use redis://host:port, rediss://host:port or unix:///path/to/redis.socket")
	default:
		return fail("scheme %q is not supported (redis, rediss, unix)", u.Scheme)
	}
	if u.User != nil {
		opt.Username = u.User.Username()
		opt.Password, _ = u.User.Password()
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch strings.ToLower(k) {
		case "db":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fail("db=%q is not a database number", v)
			}
			opt.DB = n
		case "password":
			opt.Password = v
		default:
			return fail("option %q is not supported (only db)", k)
		}
	}
	if password != "" {
		opt.Password = password
	}
	if dbIndex < 0 {
		return fail("database number %d is negative", dbIndex)
	}
	if dbIndex != 0 {
		opt.DB = dbIndex
	}
	// RESP2 and no CLIENT SETINFO / MAINT_NOTIFICATIONS: what every Redis GitLab has shipped
	// with understands, and nothing is sent that an older server would refuse.
	opt.Protocol = 2
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	opt.DialTimeout = RedisConnectTimeout
	opt.ReadTimeout = RedisReplyTimeout
	opt.WriteTimeout = RedisReplyTimeout
	// A deadline of the caller's context also bounds each read and write (go-redis otherwise
	// waits out ReadTimeout whatever the context says).
	opt.ContextTimeoutEnabled = true
	opt.PoolSize = 8
	opt.MaxRetries = 2
	return opt, nil
}

// Deadlines of a Redis connection.
var (
	// RedisConnectTimeout bounds OpenRedis: the dial, TLS, AUTH and SELECT, and the first PING
	// all finish within it, or the connection is given up with an error wrapping db.ErrNoAnswer.
	RedisConnectTimeout = 15 * time.Second
	// RedisReplyTimeout bounds every later write of a command and every read of a reply (an
	// UNLINK of a thousand keys on a busy server takes a while). go-redis retries a command
	// that timed out at most twice.
	RedisReplyTimeout = time.Minute
)

// OpenRedis connects to the Redis named by rawURL (see RedisOptions) and checks the connection
// with a PING, within RedisConnectTimeout and ctx. With a rediss:// URL the server's
// certificate must chain to the CA in the PEM file caFile, or to the system's roots when
// caFile is empty. A wrong or missing password is an error wrapping db.ErrAuth; a server that
// does not answer in time, one wrapping db.ErrNoAnswer.
func OpenRedis(ctx context.Context, rawURL, password string, dbIndex int, caFile string) (*redis.Client, error) {
	opt, err := RedisOptions(rawURL, password, dbIndex)
	if err != nil {
		return nil, err
	}
	if caFile != "" {
		if opt.TLSConfig == nil {
			return nil, &RedisURLError{URL: redactRedisURL(rawURL), Reason: "redis.ca_file is given, but the URL is not rediss:// (TLS)"}
		}
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("redis.ca_file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("redis.ca_file %s: no PEM certificate in it", caFile)
		}
		opt.TLSConfig.RootCAs = roots
	}
	where := fmt.Sprintf("%s %s db %d", opt.Network, opt.Addr, opt.DB)
	quietRedis.Do(func() { redis.SetLogger(discardLog{}) })
	c := redis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, RedisConnectTimeout)
	defer cancel()
	// go-redis turns a context's deadline into a socket deadline but does not watch for the
	// context being cancelled (an interrupt): closing the client ends a read in progress.
	stop := context.AfterFunc(pctx, func() { c.Close() })
	err = c.Ping(pctx).Err()
	if !stop() {
		c.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("redis at %s: %w", where, ctx.Err())
		}
		return nil, fmt.Errorf("redis at %s: %w within %s", where, db.ErrNoAnswer, RedisConnectTimeout)
	}
	if err != nil {
		c.Close()
		msg := redactText(db.OneLine(err.Error()), rawURL, opt.Password)
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			return nil, fmt.Errorf("redis at %s: %w within %s (%s)", where, db.ErrNoAnswer, RedisConnectTimeout, msg)
		}
		if isAuthError(err) {
			return nil, fmt.Errorf("redis at %s: %w: %s", where, db.ErrAuth, msg)
		}
		return nil, fmt.Errorf("redis at %s: %s", where, msg)
	}
	return c, nil
}

// go-redis logs a failed dial ("redis: connection pool: failed to dial after 5 attempts: ...")
// on the process's stderr, beside reauth's one-line error, which says the same: its logger is
// silenced once, for the process.
var quietRedis sync.Once

type discardLog struct{}

func (discardLog) Printf(context.Context, string, ...any) {}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func isAuthError(err error) bool {
	var re redis.Error
	msg := err.Error()
	if errors.As(err, &re) {
		msg = re.Error()
	}
	for _, p := range []string{"WRONGPASS", "NOAUTH", "ERR invalid password", "ERR AUTH", "invalid username-password"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// redactRedisURL hides the password of a URL's userinfo and of a password= option.
func redactRedisURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		// Unparsable: keep only what cannot be a secret.
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			if j := strings.Index(raw, "://"); j >= 0 && j < i {
				return raw[:j+3] + "xxxxx" + raw[i:]
			}
			return "xxxxx" + raw[i:]
		}
		return raw
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
		}
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// redactText removes the secrets that rawURL and password hold from a message.
func redactText(msg, rawURL, password string) string {
	secrets := []string{password}
	for _, p := range RedisURLPasswords(rawURL) {
		secrets = append(secrets, p, url.PathEscape(p), url.QueryEscape(p))
	}
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}
