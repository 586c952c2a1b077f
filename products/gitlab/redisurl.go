package gitlab

import (
	"net/url"
	"strings"
)

// RedisURLPasswords returns the passwords a Redis URL holds (in its userinfo or a password=
// option), so that they can be kept out of output; none when the URL cannot be parsed.
func RedisURLPasswords(raw string) []string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil
	}
	var out []string
	if u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			out = append(out, p)
		}
	}
	if p := u.Query().Get("password"); p != "" {
		out = append(out, p)
	}
	return out
}

// RedactRedisURL is the URL with its passwords masked, for messages.
func RedactRedisURL(raw string) string { return redactRedisURL(raw) }
