package restarttest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/reauth/reauth/products"
)

// site is the one site a Browser's cookies belong to, whichever node it talks to: users reach
// a cluster through its load balancer, so every node sees the same cookies.
var site = &url.URL{Scheme: "http", Host: "cluster.test", Path: "/"}

// Browser is one user's browser: a cookie jar shared by every node of a product. The cookie
// names are those package products gives, so a simnode that set others would fail the tests.
type Browser struct {
	Product        string
	SessionName    string // e.g. JSESSIONID
	RememberMeName string // e.g. seraph.rememberme.cookie
	jar            *cookiejar.Jar
}

// NewBrowser returns a browser with no cookies.
func NewBrowser(t testing.TB, product string) *Browser {
	t.Helper()
	p, err := products.Lookup(product)
	if err != nil {
		t.Fatalf("restarttest: %v", err)
	}
	jar, _ := cookiejar.New(nil)
	return &Browser{Product: product, SessionName: p.SessionCookie, RememberMeName: p.RememberMeCookie, jar: jar}
}

// Login logs user in on the node (POST /login), with the remember-me box ticked or not, and
// fails the test unless the node answers 200 with a session cookie (and a remember-me cookie
// when asked).
func (b *Browser) Login(t testing.TB, nodeURL, user string, remember bool) {
	t.Helper()
	code, body, err := b.TryLogin(nodeURL, user, remember)
	if err != nil {
		t.Fatalf("restarttest: login %s on %s: %v", user, nodeURL, err)
	}
	if code != http.StatusOK {
		t.Fatalf("restarttest: login %s on %s: HTTP %d: %s", user, nodeURL, code, body)
	}
	if len(b.SessionCookies()) == 0 {
		t.Fatalf("restarttest: login %s on %s set no %s cookie", user, nodeURL, b.SessionName)
	}
	if remember && len(b.RememberCookies()) == 0 {
		t.Fatalf("restarttest: login %s on %s with remember-me set no %s cookie", user, nodeURL, b.RememberMeName)
	}
}

// TryLogin is Login that returns the outcome instead of judging it.
func (b *Browser) TryLogin(nodeURL, user string, remember bool) (code int, body string, err error) {
	form := url.Values{"user": {user}, "remember": {fmt.Sprint(remember)}}
	req, err := http.NewRequest(http.MethodPost, strings.TrimRight(nodeURL, "/")+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// Get requests /page on the node with the browser's cookies, keeps any cookie it sets, and
// returns the HTTP status: 200 when the user is logged in, 401 when not.
func (b *Browser) Get(nodeURL string) (code int, err error) {
	code, _, err = b.Page(nodeURL)
	return code, err
}

// Page is Get with the body ("hello <user> from <node>" when logged in).
func (b *Browser) Page(nodeURL string) (code int, body string, err error) {
	req, err := http.NewRequest(http.MethodGet, strings.TrimRight(nodeURL, "/")+"/page", nil)
	if err != nil {
		return 0, "", err
	}
	return b.do(req)
}

func (b *Browser) do(req *http.Request) (int, string, error) {
	for _, c := range b.jar.Cookies(site) {
		req.AddCookie(c)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b.jar.SetCookies(site, resp.Cookies())
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// ForgetSession drops the session cookie and keeps the remember-me cookie, as a browser does
// when it is closed and reopened.
func (b *Browser) ForgetSession() {
	b.jar.SetCookies(site, []*http.Cookie{{Name: b.SessionName, Value: "", Path: "/", MaxAge: -1}})
}

// AddCookies puts cookies into the browser, e.g. the SSO cookie a Crowd login set into the
// browser of a product that signs in through Crowd: a real browser sends that cookie to every
// site of the SSO domain.
func (b *Browser) AddCookies(cookies ...*http.Cookie) {
	for _, c := range cookies {
		b.jar.SetCookies(site, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/"}})
	}
}

// Cookies returns a copy of every cookie the browser holds, to Replay later.
func (b *Browser) Cookies() []*http.Cookie { return b.jar.Cookies(site) }

// SessionCookies returns a copy of the session cookie (none or one).
func (b *Browser) SessionCookies() []*http.Cookie { return b.named(b.SessionName) }

// RememberCookies returns a copy of the remember-me cookie (none or one).
func (b *Browser) RememberCookies() []*http.Cookie { return b.named(b.RememberMeName) }

func (b *Browser) named(name string) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range b.jar.Cookies(site) {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// Replay requests /page on the node with exactly these cookies, e.g. ones saved before a
// restart, and returns the HTTP status. No browser's cookies change.
func Replay(nodeURL string, cookies ...*http.Cookie) (code int, err error) {
	req, err := http.NewRequest(http.MethodGet, strings.TrimRight(nodeURL, "/")+"/page", nil)
	if err != nil {
		return 0, err
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
