package db_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reauth/reauth/db"
	"github.com/reauth/reauth/db/dbtest"
	"github.com/reauth/reauth/internal/harness"
)

// untrustedCA writes the certificate of a CA that signed nothing the servers hold.
func untrustedCA(t *testing.T) string {
	t.Helper()
	ca, err := harness.NewCA("not the server's CA")
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(f, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// openURL parses a product's URL and opens it as the test user.
func openURL(t *testing.T, srv *dbtest.Server, url string) (db.Source, error) {
	t.Helper()
	src, err := db.ParseURL(url)
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", url, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := db.Open(ctx, src, db.Credentials{User: srv.User, Password: srv.Password})
	if err != nil {
		return src, err
	}
	defer pool.Close()
	// Prove the session itself is encrypted, as the server sees it.
	var q string
	switch src.Dialect {
	case "postgres":
		q = "SELECT CASE WHEN ssl THEN 'on' ELSE '' END FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
	case "mysql":
		q = "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'SSL_CIPHER'"
	}
	var cipher string
	if err := pool.QueryRowContext(ctx, q).Scan(&cipher); err != nil {
		t.Fatalf("%s: %s: %v", url, q, err)
	}
	if cipher == "" {
		t.Errorf("%s: the server sees an unencrypted session", url)
	}
	return src, nil
}

func wantRefused(t *testing.T, url string, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatalf("Open(%s) accepted a server whose certificate is not signed by a trusted CA", url)
	case !strings.Contains(err.Error(), "certificate"):
		t.Errorf("Open(%s) = %v; want an error that names the certificate", url, err)
	}
	t.Logf("refused as it should be: %v", err)
}

func TestPostgresTLS(t *testing.T) {
	srv := dbtest.PostgresTLS(t)
	d := srv.NewDatabase(t)

	t.Run("verify-full with the server's CA is accepted", func(t *testing.T) {
		url := d.JDBC + "?sslmode=verify-full&sslrootcert=" + srv.CAFile
		src, err := openURL(t, srv, url)
		if err != nil {
			t.Fatalf("Open(%s): %v", url, err)
		}
		if tr := src.Transport(); !tr.Encrypted || !tr.Verified {
			t.Errorf("Transport(%s) = %+v; want encrypted and verified", url, tr)
		}
	})
	t.Run("verify-full with another CA is refused", func(t *testing.T) {
		url := d.JDBC + "?sslmode=verify-full&sslrootcert=" + untrustedCA(t)
		_, err := openURL(t, srv, url)
		wantRefused(t, url, err)
	})
	// pgjdbc's ssl=true checks the certificate; reauth used to take it as require and accept
	// any certificate.
	t.Run("ssl=true refuses a certificate it cannot verify", func(t *testing.T) {
		url := d.JDBC + "?ssl=true"
		_, err := openURL(t, srv, url)
		wantRefused(t, url, err)
	})
	t.Run("ssl=true with the server's CA is accepted", func(t *testing.T) {
		url := d.JDBC + "?ssl=true&sslrootcert=" + srv.CAFile
		if _, err := openURL(t, srv, url); err != nil {
			t.Fatalf("Open(%s): %v", url, err)
		}
	})
	t.Run("require encrypts without a check, and says so", func(t *testing.T) {
		url := d.JDBC + "?sslmode=require"
		src, err := openURL(t, srv, url)
		if err != nil {
			t.Fatalf("Open(%s): %v", url, err)
		}
		if tr := src.Transport(); !tr.Encrypted || tr.Verified || !strings.Contains(tr.Note, "certificate not checked") {
			t.Errorf("Transport(%s) = %+v; want encrypted, not verified", url, tr)
		}
	})
}

func TestMariaDBTLS(t *testing.T) {
	srv := dbtest.MariaDBTLS(t)
	d := srv.NewDatabase(t)
	mariadb := strings.Replace(d.JDBC, "jdbc:mysql:", "jdbc:mariadb:", 1)

	t.Run("verify-full with the server's CA is accepted", func(t *testing.T) {
		url := mariadb + "?sslMode=verify-full&serverSslCert=" + srv.CAFile
		if _, err := openURL(t, srv, url); err != nil {
			t.Fatalf("Open(%s): %v", url, err)
		}
	})
	t.Run("VERIFY_IDENTITY without the server's CA is refused", func(t *testing.T) {
		url := d.JDBC + "?sslMode=VERIFY_IDENTITY"
		_, err := openURL(t, srv, url)
		wantRefused(t, url, err)
	})
	t.Run("verify-full with another CA is refused", func(t *testing.T) {
		url := mariadb + "?sslMode=verify-full&serverSslCert=" + untrustedCA(t)
		_, err := openURL(t, srv, url)
		wantRefused(t, url, err)
	})
	// Connector/J's default is PREFERRED: a URL without TLS options must not go out in plain
	// text to a server that offers TLS.
	t.Run("no TLS option uses TLS when the server offers it", func(t *testing.T) {
		if _, err := openURL(t, srv, d.JDBC); err != nil {
			t.Fatalf("Open(%s): %v", d.JDBC, err)
		}
	})
}
