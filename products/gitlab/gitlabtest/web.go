package gitlabtest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/reauth/reauth/internal/harness"
	"github.com/reauth/reauth/internal/secretscan"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The cookies GitLab signs browsers in with.
const (
	SessionCookie  = "_gitlab_session"
	RememberCookie = "remember_user_token"
	// rememberFor is Devise's remember_for in GitLab (config/initializers/devise.rb).
	rememberFor = 2 * 7 * 24 * time.Hour
)

// Web is a simulated GitLab web node, listening on 127.0.0.1. It authenticates requests as
// GitLab does:
//
//   - the _gitlab_session cookie holds the public session id (with Prefix in front, if set);
//     its private id names the Rails session session:gitlab:<private id>, which must exist
//     and name a user who is active. Each such request rewrites the session record and
//     lookup entry, as GitLab's warden hook (ActiveSession.set) does on every fetch;
//   - failing that, the remember_user_token cookie (signed here with the node's own key: user
//     id and the time it was generated) signs the browser in, with a new session, only if the
//     user's remember_created_at is set and the cookie was generated after it, within two
//     weeks (Devise's Rememberable#remember_me?).
//
// Otherwise the request is redirected to the sign-in page.
type Web struct {
	URL    string
	Redis  *redis.Client
	DB     *sql.DB
	Prefix string // session id prefix, e.g. "cell-1-" (GitLab Cells)
	// Rack is the Rails session format of new sign-ins (RackEntry61 when empty); the node
	// reads every format, as GitLab's CacheStoreCoder does.
	Rack RackFormat

	key    []byte
	srv    *httptest.Server
	client *http.Client

	mu    sync.Mutex
	holds map[string]*hold
}

type hold struct {
	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

func (h *hold) let() { h.once.Do(func() { close(h.release) }) }

// NewWeb starts a simulated GitLab node on the sessions in rdb and the users in pool.
func NewWeb(t testing.TB, rdb *redis.Client, pool *sql.DB) *Web {
	t.Helper()
	RequireRuby(t)
	w := &Web{Redis: rdb, DB: pool, key: []byte(secretscan.Register("gitlabtest: web cookie signing key", harness.RandomHex(32))), holds: map[string]*hold{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /users/sign_in", w.signIn)
	mux.HandleFunc("GET /slow", w.slow)
	mux.HandleFunc("GET /", w.page)
	l, err := net.Listen("tcp", loopback+":0")
	if err != nil {
		t.Fatal(err)
	}
	w.srv = &httptest.Server{Listener: l, Config: &http.Server{Handler: mux}}
	w.srv.Start()
	t.Cleanup(w.srv.Close)
	// Requests still held would keep Close waiting: let them go first.
	t.Cleanup(func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, h := range w.holds {
			h.let()
		}
	})
	w.URL = w.srv.URL
	w.client = &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return w
}

type webUser struct {
	id       int64
	username string
}

// signIn: POST /users/sign_in with username and remember_me=1. The simulation takes no
// password: what it tests is what happens to the cookies afterwards.
func (w *Web) signIn(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var u webUser
	var state sql.NullString
	err := w.DB.QueryRowContext(ctx, `SELECT id, username, state FROM users WHERE lower(username) = lower($1)`,
		r.FormValue("username")).Scan(&u.id, &u.username, &state)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && state.String != "active") {
		http.Error(rw, "Invalid login or password.", http.StatusUnauthorized)
		return
	}
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	cookie, err := w.newSession(ctx, r, u)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	http.SetCookie(rw, cookie)
	if r.FormValue("remember_me") == "1" {
		c, err := w.remember(ctx, u.id)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		http.SetCookie(rw, c)
	}
	http.Redirect(rw, r, "/", http.StatusFound)
}

// newSession writes a new Rails session and ActiveSession for u and returns its cookie.
func (w *Web) newSession(ctx context.Context, r *http.Request, u webUser) (*http.Cookie, error) {
	public := w.Prefix + harness.RandomHex(16)
	// Devise's Trackable records the sign-in; ActiveSession.set writes it as created_at.
	now := time.Now().UTC()
	if _, err := w.DB.ExecContext(ctx, `UPDATE users SET current_sign_in_at = $1 WHERE id = $2`, now, u.id); err != nil {
		return nil, err
	}
	s := Session{UserID: u.id, PublicID: public, IP: remoteIP(r), Browser: r.UserAgent(), Format: V2AndLegacy, Rack: w.Rack, SignedInAt: now}
	if _, err := writeSession(ctx, w.Redis, s); err != nil {
		return nil, err
	}
	return &http.Cookie{Name: SessionCookie, Value: public, Path: "/", HttpOnly: true}, nil
}

// remember is Devise's remember_me!: remember_created_at is set unless it already is, and
// the cookie records when it was generated (after remember_created_at).
func (w *Web) remember(ctx context.Context, uid int64) (*http.Cookie, error) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	var rca time.Time
	err := w.DB.QueryRowContext(ctx, `UPDATE users SET remember_created_at = COALESCE(remember_created_at, $1)
		WHERE id = $2 RETURNING remember_created_at`, now, uid).Scan(&rca)
	if err != nil {
		return nil, err
	}
	gen := time.Now().UTC()
	if !gen.After(rca) {
		gen = rca.Add(time.Microsecond)
	}
	return &http.Cookie{Name: RememberCookie, Value: w.sign(uid, gen), Path: "/", HttpOnly: true,
		Expires: gen.Add(rememberFor)}, nil
}

type rememberPayload struct {
	UserID    int64 `json:"uid"`
	Generated int64 `json:"gen"` // unix nanoseconds
}

func (w *Web) sign(uid int64, gen time.Time) string {
	b, _ := json.Marshal(rememberPayload{uid, gen.UnixNano()})
	data := base64.RawURLEncoding.EncodeToString(b)
	return data + "--" + w.mac(data)
}

func (w *Web) mac(data string) string {
	m := hmac.New(sha256.New, w.key)
	m.Write([]byte(data))
	return hex.EncodeToString(m.Sum(nil))
}

func (w *Web) verify(value string) (rememberPayload, bool) {
	data, sig, ok := strings.Cut(value, "--")
	if !ok || !hmac.Equal([]byte(sig), []byte(w.mac(data))) {
		return rememberPayload{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(data)
	var p rememberPayload
	if err != nil || json.Unmarshal(b, &p) != nil {
		return rememberPayload{}, false
	}
	return p, true
}

// authenticate returns the signed-in user and how ("session" or "remember"), or via "" when
// the request is anonymous. A remember-me sign-in sets a new session cookie on rw.
func (w *Web) authenticate(rw http.ResponseWriter, r *http.Request, refresh bool) (webUser, string, error) {
	ctx := r.Context()
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		rack := RackKey(PrivateID(c.Value))
		v, err := w.Redis.Get(ctx, rack).Bytes()
		switch {
		case err == redis.Nil:
		case err != nil:
			return webUser{}, "", err
		default:
			uid, err := rackSessionUser(v)
			if err != nil {
				return webUser{}, "", err
			}
			if uid != 0 {
				u, ok, err := w.activeUser(ctx, uid)
				if err != nil {
					return webUser{}, "", err
				}
				if ok {
					if refresh {
						if err := w.touch(ctx, r, u, c.Value, v); err != nil {
							return webUser{}, "", err
						}
					}
					return u, "session", nil
				}
			}
		}
	}
	if c, err := r.Cookie(RememberCookie); err == nil && c.Value != "" {
		p, ok := w.verify(c.Value)
		if !ok {
			return webUser{}, "", nil
		}
		var rca sql.NullTime
		var state, username sql.NullString
		err := w.DB.QueryRowContext(ctx, `SELECT username, state, remember_created_at FROM users WHERE id = $1`, p.UserID).
			Scan(&username, &state, &rca)
		if errors.Is(err, sql.ErrNoRows) {
			return webUser{}, "", nil
		}
		if err != nil {
			return webUser{}, "", err
		}
		gen := time.Unix(0, p.Generated).UTC()
		if !rca.Valid || !gen.After(rca.Time) || time.Since(gen) > rememberFor || state.String != "active" {
			return webUser{}, "", nil
		}
		u := webUser{p.UserID, username.String}
		cookie, err := w.newSession(ctx, r, u)
		if err != nil {
			return webUser{}, "", err
		}
		http.SetCookie(rw, cookie)
		return u, "remember", nil
	}
	return webUser{}, "", nil
}

func (w *Web) activeUser(ctx context.Context, uid int64) (webUser, bool, error) {
	var u webUser
	var state sql.NullString
	err := w.DB.QueryRowContext(ctx, `SELECT id, username, state FROM users WHERE id = $1`, uid).Scan(&u.id, &u.username, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return u, false, nil
	}
	return u, err == nil && state.String == "active", err
}

// touch is what a request of a signed-in browser writes: ActiveSession.set (the v2 and legacy
// records, the lookup entry) and the Rails session's renewed expiry.
func (w *Web) touch(ctx context.Context, r *http.Request, u webUser, public string, rackValue []byte) error {
	// ActiveSession.set: created_at is the user's current_sign_in_at, whichever session the
	// request belongs to.
	var signedIn sql.NullTime
	if err := w.DB.QueryRowContext(ctx, `SELECT current_sign_in_at FROM users WHERE id = $1`, u.id).Scan(&signedIn); err != nil {
		return err
	}
	s := Session{UserID: u.id, PublicID: public, IP: remoteIP(r), Browser: r.UserAgent(), NoRack: true, SignedInAt: signedIn.Time}
	if _, err := writeSession(ctx, w.Redis, s); err != nil {
		return err
	}
	return w.Redis.Set(ctx, RackKey(PrivateID(public)), rackValue, 7*24*time.Hour).Err()
}

// page: any page that needs a signed-in user. 200 with "user <username> via <how>", or a
// redirect to the sign-in page.
func (w *Web) page(rw http.ResponseWriter, r *http.Request) {
	u, via, err := w.authenticate(rw, r, true)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	if via == "" {
		http.Redirect(rw, r, "/users/sign_in", http.StatusFound)
		return
	}
	fmt.Fprintf(rw, "user %s via %s", u.username, via)
}

// slow: a request that authenticates at once and, when the test releases it, writes its
// session back as a request ending after a revocation would: the Rails session and
// ActiveSession.set.
func (w *Web) slow(rw http.ResponseWriter, r *http.Request) {
	w.mu.Lock()
	h := w.holds[r.URL.Query().Get("hold")]
	w.mu.Unlock()
	if h == nil {
		http.Error(rw, "no such hold", http.StatusBadRequest)
		return
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		http.Redirect(rw, r, "/users/sign_in", http.StatusFound)
		close(h.reached)
		return
	}
	rack := RackKey(PrivateID(c.Value))
	v, err := w.Redis.Get(r.Context(), rack).Bytes()
	var uid int64
	if err == nil {
		uid, err = rackSessionUser(v)
	}
	if err != nil || uid == 0 {
		http.Redirect(rw, r, "/users/sign_in", http.StatusFound)
		close(h.reached)
		return
	}
	u, ok, err := w.activeUser(r.Context(), uid)
	if err != nil || !ok {
		http.Redirect(rw, r, "/users/sign_in", http.StatusFound)
		close(h.reached)
		return
	}
	close(h.reached)
	<-h.release
	// The session as this request loaded it goes back to Redis.
	if err := w.touch(context.WithoutCancel(r.Context()), r, u, c.Value, v); err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(rw, "user %s via session", u.username)
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Login signs username in through the sign-in form and returns the cookies the browser got:
// the session cookie and, with remember, the remember-me cookie.
func (w *Web) Login(t testing.TB, username string, remember bool) []*http.Cookie {
	t.Helper()
	form := url.Values{"username": {username}}
	if remember {
		form.Set("remember_me", "1")
	}
	resp, err := w.client.PostForm(w.URL+"/users/sign_in", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("gitlabtest: sign-in of %s: %s %s", username, resp.Status, body)
	}
	return resp.Cookies()
}

// Response is what the node answered a page request.
type Response struct {
	Status   int
	Username string // the signed-in user, when Status is 200
	Via      string // "session" or "remember"
	Cookies  []*http.Cookie
}

// SignedIn reports whether the request was let in.
func (r Response) SignedIn() bool { return r.Status == http.StatusOK }

// Get requests a page with the cookies given (the request must not fail at the HTTP level).
func (w *Web) Get(t testing.TB, cookies ...*http.Cookie) Response {
	t.Helper()
	req, err := http.NewRequest("GET", w.URL+"/dashboard/projects", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "Firefox")
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := w.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := Response{Status: resp.StatusCode, Cookies: resp.Cookies()}
	switch resp.StatusCode {
	case http.StatusOK:
		if _, err := fmt.Sscanf(string(body), "user %s via %s", &out.Username, &out.Via); err != nil {
			t.Fatalf("gitlabtest: page body %q", body)
		}
	case http.StatusFound:
	default:
		t.Fatalf("gitlabtest: page: %s %s", resp.Status, body)
	}
	return out
}

// InFlight starts a request with the cookies that authenticates now but writes its session
// back only when finish is called, as a slow request that ends after a revocation does. It
// returns once the request has authenticated; finish returns the request's status.
func (w *Web) InFlight(t testing.TB, cookies ...*http.Cookie) (finish func() int) {
	t.Helper()
	id := harness.RandomHex(8)
	h := &hold{reached: make(chan struct{}), release: make(chan struct{})}
	w.mu.Lock()
	w.holds[id] = h
	w.mu.Unlock()
	req, err := http.NewRequest("GET", w.URL+"/slow?hold="+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := w.client.Do(req)
		if err != nil {
			done <- result{0, err}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- result{resp.StatusCode, nil}
	}()
	select {
	case <-h.reached:
	case r := <-done:
		t.Fatalf("gitlabtest: in-flight request ended before it authenticated: %d %v", r.status, r.err)
	}
	var once sync.Once
	status := 0
	return func() int {
		once.Do(func() {
			h.let()
			r := <-done
			if r.err != nil {
				t.Errorf("gitlabtest: in-flight request: %v", r.err)
			}
			status = r.status
		})
		return status
	}
}
