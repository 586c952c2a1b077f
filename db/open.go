package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	mssql "github.com/microsoft/go-mssqldb"
	goora "github.com/sijms/go-ora/v2"
)

// ErrAuth marks a connection refused because of the user name or password: a configuration
// problem, unlike an unreachable server.
var ErrAuth = errors.New("authentication failed")

// Open connects to src with cred and checks the connection before returning it. The password
// goes straight into the driver's connector: it is never part of a string that could be
// printed. The check ends when ctx ends, and after ConnectTimeout per address of src in any
// case: then the error wraps ErrNoAnswer (see ConnectTimeout for every deadline).
func Open(ctx context.Context, src Source, cred Credentials) (*sql.DB, error) {
	var (
		pool *sql.DB
		err  error
	)
	switch src.Dialect {
	case "postgres":
		pool, err = openPostgres(src, cred)
	case "mysql":
		pool, err = openMySQL(src, cred)
	case "sqlserver":
		pool, err = openSQLServer(src, cred)
	case "oracle":
		pool, err = openOracle(src, cred)
	default:
		_, err = Lookup(src.Dialect)
	}
	if err != nil {
		return nil, err
	}
	within := connectDeadline(src)
	pctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	if err := pool.PingContext(pctx); err != nil {
		pool.Close()
		var netErr net.Error
		if ctx.Err() == nil && (pctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) ||
			errors.As(err, &netErr) && netErr.Timeout()) {
			return nil, noAnswerError(src, within)
		}
		return nil, connectError(src, cred, err)
	}
	return pool, nil
}

// connectError makes a driver's connection error one line that says which database failed and
// whether the cause is the credentials.
func connectError(src Source, cred Credentials, err error) error {
	msg := OneLine(err.Error())
	// pgx lists every connection attempt (TLS, then plain); the cause is what matters.
	var pgErr0 *pgconn.PgError
	var opErr *net.OpError
	switch {
	case errors.As(err, &pgErr0):
		msg = fmt.Sprintf("%s: %s (SQLSTATE %s)", pgErr0.Severity, pgErr0.Message, pgErr0.Code)
	case errors.As(err, &opErr):
		msg = opErr.Error()
	}
	if len(cred.Password) >= 4 { // shorter ones would scrub ordinary words
		msg = strings.ReplaceAll(msg, cred.Password, "xxxxx")
	}
	var pgErr *pgconn.PgError
	var myErr *mysql.MySQLError
	switch {
	case errors.As(err, &pgErr) && (pgErr.Code == "28P01" || pgErr.Code == "28000"),
		errors.As(err, &myErr) && (myErr.Number == 1045 || myErr.Number == 1698),
		strings.Contains(msg, "Login failed for user"), // SQL Server 18456
		strings.Contains(msg, "ORA-01017"):
		return fmt.Errorf("connect to %s as %q: %w: %s", src, cred.User, ErrAuth, msg)
	}
	return fmt.Errorf("connect to %s: %s", src, msg)
}

// OneLine folds a multi-line driver message onto one line.
func OneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func openPostgres(src Source, cred Credentials) (*sql.DB, error) {
	// Start from an explicit keyword/value string so that libpq environment variables on the
	// jump host (PGHOST, PGPASSWORD...) cannot silently redirect or authenticate the run.
	var kv []string
	add := func(k, v string) {
		v = strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), `'`, `\'`)
		kv = append(kv, k+"='"+v+"'")
	}
	if src.Socket != "" {
		add("host", src.Socket)
	} else {
		var hosts, ports []string
		for _, h := range src.Hosts {
			hosts = append(hosts, h.Name)
			ports = append(ports, strconv.Itoa(h.Port))
		}
		add("host", strings.Join(hosts, ","))
		add("port", strings.Join(ports, ","))
	}
	add("dbname", src.Database)
	add("user", cred.User)
	sslmode := src.Params["sslmode"]
	if sslmode == "" {
		sslmode = "prefer"
	}
	add("sslmode", sslmode)
	for _, k := range []string{"sslrootcert", "sslcert", "sslkey"} {
		if v := src.Params[k]; v != "" {
			add(k, v)
		}
	}
	// connect_timeout bounds each host's whole connect in pgx (dial, TLS, authentication), not
	// only the dial; whole seconds here, the exact value is set below.
	add("connect_timeout", strconv.Itoa(int(max(time.Second, ConnectTimeout).Seconds())))
	cfg, err := pgx.ParseConfig(strings.Join(kv, " "))
	if err != nil {
		return nil, fmt.Errorf("postgres connection settings for %s: %s", src, OneLine(err.Error()))
	}
	cfg.ConnectTimeout = ConnectTimeout
	cfg.Password = cred.Password
	cfg.RuntimeParams["application_name"] = "reauth"
	cfg.RuntimeParams["lock_timeout"] = strconv.FormatInt(max(LockTimeout.Milliseconds(), 1), 10)
	if src.Schema != "" {
		cfg.RuntimeParams["search_path"] = src.Schema
	}
	return stdlib.OpenDB(*cfg), nil
}

func openMySQL(src Source, cred Credentials) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User = cred.User
	cfg.Passwd = cred.Password
	if src.Socket != "" {
		cfg.Net, cfg.Addr = "unix", src.Socket
	} else {
		if len(src.Hosts) == 0 {
			return nil, fmt.Errorf("mysql connection settings for %s: no host", src)
		}
		cfg.Net, cfg.Addr = "tcp", src.Hosts[0].String()
	}
	cfg.DBName = src.Database
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	// Timeout bounds the dial only; the guard bounds the handshake and login. No ReadTimeout:
	// it would apply to every packet read, and cut a long batch delete (see ConnectTimeout).
	cfg.Timeout = ConnectTimeout
	cfg.WriteTimeout = mysqlWriteTimeout
	// The driver's own log lines ("[mysql] packets.go:58 read tcp ...: i/o timeout") would go
	// to the process's stderr beside reauth's one-line error; every error reaches the caller.
	cfg.Logger = &mysql.NopLogger{}
	guard := &loginGuard{timeout: ConnectTimeout}
	cfg.DialFunc = guard.DialContext
	// Read and write DATETIME/TIMESTAMP in UTC so a backup restores the very same values
	// whatever the server's or jump host's time zone.
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	// See Source.Transport: no TLS option means preferred, never plain text.
	switch t := src.Params["tls"]; t {
	case "true":
		tlsCfg, err := mysqlTLSConfig(src)
		if err != nil {
			return nil, err
		}
		cfg.TLS = tlsCfg // a config of its own, not a name in go-sql-driver's global registry
	case "":
		if src.Socket == "" { // a unix socket stays on this machine: plain, as before
			cfg.TLSConfig = "preferred"
		}
	default:
		cfg.TLSConfig = t
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql connection settings for %s: %s", src, OneLine(err.Error()))
	}
	guard.inner = conn
	return sql.OpenDB(guard), nil
}

func openSQLServer(src Source, cred Credentials) (*sql.DB, error) {
	if len(src.Hosts) == 0 {
		return nil, fmt.Errorf("sqlserver connection settings for %s: no host", src)
	}
	conn, err := mssql.NewConnector(sqlserverDSN(src, cred))
	if err != nil {
		return nil, fmt.Errorf("sqlserver connection settings for %s: %s", src, OneLine(strings.ReplaceAll(err.Error(), cred.Password, "xxxxx")))
	}
	guard := &loginGuard{inner: conn, timeout: ConnectTimeout}
	conn.Dialer = guard
	return sql.OpenDB(guard), nil
}

// sqlserverDSN is go-mssqldb's URL for src; it holds the password, and is never shown.
func sqlserverDSN(src Source, cred Credentials) string {
	h := src.Hosts[0]
	u := &url.URL{Scheme: "sqlserver", User: url.UserPassword(cred.User, cred.Password)}
	u.Host = net.JoinHostPort(h.Name, strconv.Itoa(h.Port))
	if src.Instance != "" {
		u.Host = h.Name
		u.Path = "/" + src.Instance
	}
	q := url.Values{}
	q.Set("database", src.Database)
	q.Set("app name", "reauth")
	// go-mssqldb bounds the dial only and reads the pre-login and login answers without
	// watching the context: the guard bounds them. "connection timeout" would be a deadline
	// on every read for the connection's life, which would cut long deletes.
	q.Set("dial timeout", strconv.Itoa(int(max(time.Second, ConnectTimeout).Seconds())))
	// See Source.Transport. No encrypt option: mssql-jdbc's default since 10.2 (10.1 preview),
	// encrypt=true with the certificate checked unless trustServerCertificate=true (maintainers
	// in microsoft/mssql-jdbc#1775; "JDBC Driver 10.2 for SQL Server released", Microsoft SQL
	// Server blog); go-mssqldb's own default would trust any certificate. encrypt=false:
	// mssql-jdbc encrypts the login alone and does not check the certificate.
	encrypt := src.Params["encrypt"]
	trust := src.Params["TrustServerCertificate"]
	if encrypt == "" {
		encrypt = "true"
	} else if trust == "" && (isFalse(encrypt) || strings.EqualFold(encrypt, "optional")) {
		trust = "true"
	}
	q.Set("encrypt", encrypt)
	if trust != "" {
		q.Set("TrustServerCertificate", trust)
	}
	for _, k := range []string{"hostNameInCertificate", "certificate"} {
		if v := src.Params[k]; v != "" {
			q.Set(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func openOracle(src Source, cred Credentials) (*sql.DB, error) {
	var dsn string
	switch {
	case src.Descriptor != "":
		dsn = goora.BuildJDBC(cred.User, cred.Password, src.Descriptor, nil)
	case len(src.Hosts) > 0:
		h := src.Hosts[0]
		if src.SID {
			dsn = goora.BuildUrl(h.Name, h.Port, "", cred.User, cred.Password, map[string]string{"SID": src.Database})
		} else {
			dsn = goora.BuildUrl(h.Name, h.Port, src.Database, cred.User, cred.Password, nil)
		}
	default:
		return nil, fmt.Errorf("oracle connection settings for %s: no host", src)
	}
	// go-ora's TIMEOUT option is a deadline on every read for the connection's life; the guard
	// bounds the connect alone.
	conn, ok := goora.NewConnector(dsn).(*goora.OracleConnector)
	if !ok {
		return nil, fmt.Errorf("oracle connection settings for %s: unexpected go-ora connector", src)
	}
	guard := &loginGuard{inner: conn, timeout: ConnectTimeout}
	conn.Dialer(guard)
	return sql.OpenDB(guard), nil
}

// Retryable reports an error from a transaction that the database aborted because of a
// concurrent one (serialization failure, deadlock, lock wait timeout): running it again is safe.
func Retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// serialization_failure, deadlock_detected, lock_not_available (lock_timeout).
		return pgErr.Code == "40001" || pgErr.Code == "40P01" || pgErr.Code == "55P03"
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		return myErr.Number == 1213 || myErr.Number == 1205
	}
	var msErr mssql.Error
	if errors.As(err, &msErr) {
		return msErr.Number == 1205 || msErr.Number == 1222
	}
	// go-ora's error type lives in an internal-looking package; its text starts with the code.
	msg := err.Error()
	return strings.Contains(msg, "ORA-00060") || strings.Contains(msg, "ORA-08177")
}

// LockWaitTimedOut reports a Retryable error that came after a wait for a lock another session
// holds ran out (PostgreSQL's lock_timeout, MySQL's innodb_lock_wait_timeout, SQL Server's
// LOCK_TIMEOUT): each such attempt has already waited long.
func LockWaitTimedOut(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "55P03"
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		return myErr.Number == 1205
	}
	var msErr mssql.Error
	return errors.As(err, &msErr) && msErr.Number == 1222
}
