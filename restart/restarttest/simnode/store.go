package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

var (
	errNoUser  = errors.New("no such user")
	errNoToken = errors.New("no such remember-me token")
	// errUnreachable is worth retrying during start-up; a missing table is not.
	errUnreachable = errors.New("database unreachable")
)

// store is the product database: the remember-me table (Crowd: its SSO tokens) and the user
// table, under the exact names found in the catalog (PostgreSQL folds to lower case, the
// MariaDB fixtures keep the case they were created with).
type store struct {
	pool    *sql.DB
	driver  string
	product *product
	tokens  string // quoted
	users   string // quoted; empty when an optional user table is absent
	// remember is Crowd's own remember-me table (cwd_remember_me_token), quoted; empty where
	// the product has none, or the Crowd (before 3.4) lacks it.
	remember string
}

func openStore(ctx context.Context, cfg *dbConfig, p *product) (*store, error) {
	dsn, err := os.ReadFile(cfg.DSNFile)
	if err != nil {
		return nil, fmt.Errorf("db: %w", err)
	}
	pool, err := sql.Open(cfg.Driver, strings.TrimSpace(string(dsn)))
	if err != nil {
		// The driver's message could quote the DSN, which holds the password.
		return nil, fmt.Errorf("db: the DSN in %s is not valid for driver %s", cfg.DSNFile, cfg.Driver)
	}
	pool.SetMaxOpenConns(4)
	s := &store{pool: pool, driver: cfg.Driver, product: p}
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("db: %w: %v", errUnreachable, err)
	}
	if err := s.discover(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

func (s *store) close() { s.pool.Close() }

func (s *store) discover(ctx context.Context) error {
	schema := "current_schema()"
	if s.driver == "mysql" {
		schema = "DATABASE()"
	}
	rows, err := s.pool.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = "+schema)
	if err != nil {
		return fmt.Errorf("db: list tables: %w", err)
	}
	defer rows.Close()
	found := map[string]string{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return fmt.Errorf("db: list tables: %w", err)
		}
		found[strings.ToLower(name)] = name
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("db: list tables: %w", err)
	}
	name, ok := found[s.product.tokenTable]
	if !ok {
		return fmt.Errorf("db: no table %s (any case) in the current schema", s.product.tokenTable)
	}
	s.tokens = s.quote(name)
	if name, ok := found[s.product.rememberTable]; ok && s.product.rememberTable != "" {
		s.remember = s.quote(name)
	}
	if name, ok := found[s.product.userTable]; ok {
		s.users = s.quote(name)
	} else if !s.product.userOptional {
		return fmt.Errorf("db: no table %s (any case) in the current schema", s.product.userTable)
	}
	return nil
}

func (s *store) quote(name string) string {
	if s.driver == "mysql" {
		return "`" + strings.ReplaceAll(name, "`", "``") + "`"
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// q rewrites ? placeholders for PostgreSQL.
func (s *store) q(query string) string {
	if s.driver == "mysql" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// resolve maps a login name to what the token table's user column stores, as the product
// does: Jira through app_user's user key, Bitbucket through sta_normal_user's user id, Crucible
// through CRU_USER's id (names compared exactly), Crowd to the directory and name of its
// cwd_user row, the others by name, checked against cwd_user where it exists.
func (s *store) resolve(ctx context.Context, login string) (any, error) {
	arg := strings.ToLower(login)
	if s.product.name == "crowd" {
		u, err := s.resolveCrowd(ctx, arg)
		if err != nil {
			return nil, err
		}
		return u, nil
	}
	var query string
	switch {
	case s.product.name == "jira":
		query = "SELECT user_key FROM " + s.users + " WHERE lower_user_name = ?"
	case s.product.name == "bitbucket":
		query = "SELECT user_id FROM " + s.users + " WHERE lower(name) = ?"
	case s.product.name == "fisheye":
		query, arg = "SELECT cru_user_id FROM "+s.users+" WHERE cru_user_name = ?", login
	case s.users != "":
		query = "SELECT user_name FROM " + s.users + " WHERE lower_user_name = ?"
	default:
		return login, nil
	}
	var stored any
	err := s.pool.QueryRowContext(ctx, s.q(query), arg).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoUser
	}
	if err != nil {
		return nil, fmt.Errorf("db: look up user: %w", err)
	}
	if b, ok := stored.([]byte); ok {
		stored = string(b)
	}
	return stored, nil
}

// crowdUser is who a Crowd SSO token belongs to: the directory that holds the user and the
// name as that directory spells it.
type crowdUser struct {
	dir  int64
	name string
}

// resolveCrowd finds the user in Crowd's cwd_user. Crowd signs a user in from the first of
// the application's directories that holds the name; the fixture has no directory order
// (cwd_app_dir_mapping), so the lowest directory id stands for the first.
func (s *store) resolveCrowd(ctx context.Context, lower string) (crowdUser, error) {
	var u crowdUser
	err := s.pool.QueryRowContext(ctx, s.q("SELECT directory_id, user_name FROM "+s.users+" WHERE lower_user_name = ? ORDER BY directory_id"),
		lower).Scan(&u.dir, &u.name)
	if errors.Is(err, sql.ErrNoRows) {
		return u, errNoUser
	}
	if err != nil {
		return u, fmt.Errorf("db: look up user: %w", err)
	}
	return u, nil
}

// loginName maps a token row's user column back to a login name, for the greeting.
func (s *store) loginName(ctx context.Context, stored any) string {
	var query string
	switch s.product.name {
	case "jira":
		query = "SELECT lower_user_name FROM " + s.users + " WHERE user_key = ?"
	case "bitbucket":
		query = "SELECT name FROM " + s.users + " WHERE user_id = ?"
	case "fisheye":
		query = "SELECT cru_user_name FROM " + s.users + " WHERE cru_user_id = ?"
	default:
		return fmt.Sprint(stored)
	}
	var name string
	if err := s.pool.QueryRowContext(ctx, s.q(query), stored).Scan(&name); err != nil {
		return fmt.Sprint(stored)
	}
	return name
}

// issue inserts a remember-me row for the user and returns the cookie value that refers to it.
// Ids are random 15-digit numbers: several nodes insert at once, and max(id)+1 would collide.
func (s *store) issue(ctx context.Context, stored any) (string, error) {
	now := time.Now().UTC()
	for attempt := 0; ; attempt++ {
		id := 100_000_000_000_000 + mathrand.Int64N(900_000_000_000_000)
		token := randomText(32)
		var (
			query  string
			args   []any
			cookie = strconv.FormatInt(id, 10) + ":" + token
		)
		switch s.product.name {
		case "jira":
			query = "INSERT INTO " + s.tokens + " (id, created, token, username) VALUES (?, ?, ?, ?)"
			args = []any{id, now, token, stored}
		case "confluence":
			query = "INSERT INTO " + s.tokens + " (id, username, created, token) VALUES (?, ?, ?, ?)"
			args = []any{id, stored, now.UnixMilli(), token}
		case "bamboo":
			query = "INSERT INTO " + s.tokens + " (id, created, token, username) VALUES (?, ?, ?, ?)"
			args = []any{id, now, token, stored}
		case "fisheye":
			query = "INSERT INTO " + s.tokens + " (cru_login_cookie_id, cru_user_id, cru_create_date, cru_rnd, cru_type, cru_url, cru_recursive_url) VALUES (?, ?, ?, ?, 1, NULL, 0)"
			args = []any{id, stored, now.UnixMilli(), token}
		case "crowd":
			// The cookie is the row's random_hash. In Crowd identifier_hash is derived from the
			// user and the login's validation factors, so that a second login from the same place
			// finds the same token; here it is random, and every login is a new token.
			u := stored.(crowdUser)
			query = "INSERT INTO " + s.tokens + " (id, directory_id, entity_name, random_number, identifier_hash, random_hash, created_date, last_accessed_date, last_accessed_time, duration) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"
			args = []any{id, u.dir, u.name, mathrand.Int64(), randomText(40), token, now, now, now.UnixMilli()}
			cookie = token
		case "bitbucket":
			series := randomText(32)
			query = "INSERT INTO " + s.tokens + " (id, series, token, user_id, expiry_timestamp, claimed, claimed_address) VALUES (?, ?, ?, ?, ?, ?, ?)"
			args = []any{id, series, token, stored, now.Add(30 * 24 * time.Hour), false, nil}
			cookie = base64.StdEncoding.EncodeToString([]byte(series + ":" + token))
		}
		_, err := s.pool.ExecContext(ctx, s.q(query), args...)
		if err == nil {
			return cookie, nil
		}
		if !duplicateKey(err) || attempt >= 5 {
			return "", fmt.Errorf("db: insert remember-me row: %w", err)
		}
	}
}

// check returns the login name of the remember-me row a cookie value refers to.
func (s *store) check(ctx context.Context, cookie string) (string, error) {
	if s.product.name == "bitbucket" {
		raw, err := base64.StdEncoding.DecodeString(cookie)
		if err != nil {
			return "", errNoToken
		}
		series, token, ok := strings.Cut(string(raw), ":")
		if !ok || !utf8.Valid(raw) {
			return "", errNoToken
		}
		var (
			uid    int64
			expiry time.Time
		)
		err = s.pool.QueryRowContext(ctx, s.q("SELECT user_id, expiry_timestamp FROM "+s.tokens+" WHERE series = ? AND token = ?"),
			series, token).Scan(&uid, &expiry)
		if errors.Is(err, sql.ErrNoRows) {
			return "", errNoToken
		}
		if err != nil {
			return "", fmt.Errorf("db: look up remember-me row: %w", err)
		}
		if time.Now().After(expiry) {
			return "", errNoToken
		}
		return s.loginName(ctx, uid), nil
	}
	if s.product.name == "crowd" {
		// An application's session (directory_id -1) is no user's SSO cookie.
		var name string
		err := s.pool.QueryRowContext(ctx, s.q("SELECT entity_name FROM "+s.tokens+" WHERE random_hash = ? AND directory_id <> -1"),
			cookie).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return "", errNoToken
		}
		if err != nil {
			return "", fmt.Errorf("db: look up SSO token row: %w", err)
		}
		return name, nil
	}
	idText, token, ok := strings.Cut(cookie, ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil {
		return "", errNoToken
	}
	query := "SELECT username FROM " + s.tokens + " WHERE id = ? AND token = ?"
	if s.product.name == "fisheye" {
		query = "SELECT cru_user_id FROM " + s.tokens + " WHERE cru_login_cookie_id = ? AND cru_rnd = ?"
	}
	var stored string
	err = s.pool.QueryRowContext(ctx, s.q(query), id, token).Scan(&stored)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errNoToken
	}
	if err != nil {
		return "", fmt.Errorf("db: look up remember-me row: %w", err)
	}
	return s.loginName(ctx, stored), nil
}

func duplicateKey(err error) bool {
	var pgErr *pgconn.PgError
	var myErr *mysql.MySQLError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" || errors.As(err, &myErr) && myErr.Number == 1062
}

func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// endCrowdSessions deletes a Crowd user's SSO tokens, as Crowd's REST call does: the rows of
// the user's directory and name.
func (s *store) endCrowdSessions(ctx context.Context, u crowdUser) (int64, error) {
	res, err := s.pool.ExecContext(ctx, s.q("DELETE FROM "+s.tokens+" WHERE directory_id = ? AND lower(entity_name) = ?"), u.dir, strings.ToLower(u.name))
	if err != nil {
		return 0, fmt.Errorf("db: delete SSO tokens: %w", err)
	}
	return res.RowsAffected()
}

// issueCrowdRemember writes a Crowd remember-me row for the user, as a login with "Remember me"
// ticked does, and returns the cookie value (series:token; Crowd's own format is not modelled).
func (s *store) issueCrowdRemember(ctx context.Context, u crowdUser) (string, error) {
	if s.remember == "" {
		return "", fmt.Errorf("db: no table %s", s.product.rememberTable)
	}
	id := 100_000_000_000_000 + mathrand.Int64N(900_000_000_000_000)
	series, token := randomText(32), randomText(32)
	_, err := s.pool.ExecContext(ctx, s.q("INSERT INTO "+s.remember+" (id, username, remote_address, token, series, created_date, used_date, directory_id) VALUES (?, ?, NULL, ?, ?, ?, NULL, ?)"),
		id, u.name, token, series, time.Now().UTC(), u.dir)
	if err != nil {
		return "", fmt.Errorf("db: insert Crowd remember-me row: %w", err)
	}
	return series + ":" + token, nil
}

// checkCrowdRemember returns the user of the Crowd remember-me row a cookie value refers to.
func (s *store) checkCrowdRemember(ctx context.Context, cookie string) (crowdUser, error) {
	var u crowdUser
	series, token, ok := strings.Cut(cookie, ":")
	if !ok || s.remember == "" {
		return u, errNoToken
	}
	err := s.pool.QueryRowContext(ctx, s.q("SELECT directory_id, username FROM "+s.remember+" WHERE series = ? AND token = ?"), series, token).Scan(&u.dir, &u.name)
	if errors.Is(err, sql.ErrNoRows) {
		return u, errNoToken
	}
	if err != nil {
		return u, fmt.Errorf("db: read Crowd remember-me row: %w", err)
	}
	return u, nil
}
