package gitlab_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/products/gitlab"
	"github.com/reauth/reauth/products/gitlab/gitlabtest"
)

func TestRedisOptions(t *testing.T) {
	tests := []struct {
		url, password string
		db            int
		network, addr string
		user, pw      string
		wantDB        int
		tls           bool
	}{
		{"redis://redis.example.com", "", 0, "tcp", "redis.example.com:6379", "", "", 0, false},
		{"redis://:p%40ss@10.0.0.5:6380/4", "", 0, "tcp", "10.0.0.5:6380", "", "p@ss", 4, false},
		{"redis://:inurl@10.0.0.5:6380/4", "given", 7, "tcp", "10.0.0.5:6380", "", "given", 7, false},
		{"redis://gitlab:pw@[::1]:6379?db=2", "", 0, "tcp", "[::1]:6379", "gitlab", "pw", 2, false},
		{"rediss://redis.example.com:6390/1", "", 0, "tcp", "redis.example.com:6390", "", "", 1, true},
		{"unix:///var/opt/gitlab/redis/redis.socket?db=3", "", 0, "unix", "/var/opt/gitlab/redis/redis.socket", "", "", 3, false},
		{"unix:/var/opt/gitlab/redis/redis.socket", "", 0, "unix", "/var/opt/gitlab/redis/redis.socket", "", "", 0, false},
		{"/var/opt/gitlab/redis/redis.socket", "pw", 1, "unix", "/var/opt/gitlab/redis/redis.socket", "", "pw", 1, false},
		{"unix://:sockpw@/run/redis.sock", "", 0, "unix", "/run/redis.sock", "", "sockpw", 0, false},
	}
	for _, tt := range tests {
		o, err := gitlab.RedisOptions(tt.url, tt.password, tt.db)
		if err != nil {
			t.Errorf("RedisOptions(%q): %v", tt.url, err)
			continue
		}
		if o.Network != tt.network || o.Addr != tt.addr || o.Username != tt.user || o.Password != tt.pw || o.DB != tt.wantDB ||
			(o.TLSConfig != nil) != tt.tls {
			t.Errorf("RedisOptions(%q, %q, %d) = %s %s user %q password %q db %d tls %v", tt.url, tt.password, tt.db,
				o.Network, o.Addr, o.Username, o.Password, o.DB, o.TLSConfig != nil)
		}
	}
	for _, bad := range []string{"", "http://h:1", "redis://", "redis://h:notaport", "redis://h/x", "unix://host/sock",
		"redis://h?ssl=1", "h:6379", "redis://:TopSecret1@h:99999", "redis://u:TopSecret1@[::1"} {
		_, err := gitlab.RedisOptions(bad, "", 0)
		var ue *gitlab.RedisURLError
		if !errors.As(err, &ue) || strings.Contains(err.Error(), "TopSecret1") {
			t.Errorf("RedisOptions(%q) error = %v; want a RedisURLError without the password", bad, err)
		}
	}
}

// OpenRedis against the private server: TCP and unix socket, the password given apart or in
// the URL, the database selected; a wrong or missing password is ErrAuth, and no message
// holds it.
func TestOpenRedis(t *testing.T) {
	srv := gitlabtest.Redis(t)
	d := srv.NewDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Client.Set(ctx, "marker", d.Index, 0).Err(); err != nil {
		t.Fatal(err)
	}
	pwInURL := "redis://:" + url.PathEscape(srv.Password) + "@" + srv.Addr + "/" + fmt.Sprint(d.Index)
	for _, c := range []struct{ url, password string }{
		{d.URL(), srv.Password},
		{srv.URL, srv.Password},
		{pwInURL, ""},
		{"unix://" + srv.Socket + "?db=" + fmt.Sprint(d.Index), srv.Password},
		{"unix:" + srv.Socket, srv.Password},
		{srv.Socket, srv.Password},
	} {
		dbIndex := 0
		if !strings.Contains(c.url, "db=") && !strings.HasSuffix(c.url, "/"+fmt.Sprint(d.Index)) {
			dbIndex = d.Index
		}
		client, err := gitlab.OpenRedis(ctx, c.url, c.password, dbIndex, "")
		if err != nil {
			t.Errorf("OpenRedis(%s): %v", strings.ReplaceAll(c.url, srv.Password, "xxxxx"), err)
			continue
		}
		if v, err := client.Get(ctx, "marker").Int(); err != nil || v != d.Index {
			t.Errorf("OpenRedis(%s): marker %d, %v; want database %d", strings.ReplaceAll(c.url, srv.Password, "xxxxx"), v, err, d.Index)
		}
		client.Close()
	}
	for _, c := range []struct{ url, password string }{
		{srv.URL, "wrong-TopSecret1"},
		{srv.URL, ""},
		{"redis://:wrong-TopSecret1@" + srv.Addr, ""},
	} {
		_, err := gitlab.OpenRedis(ctx, c.url, c.password, 0, "")
		if !errors.Is(err, db.ErrAuth) || strings.Contains(err.Error(), "TopSecret1") || strings.Contains(err.Error(), srv.Password) {
			t.Errorf("OpenRedis with a wrong password: %v; want ErrAuth without the password", err)
		}
	}
}
