package db

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"
)

// Transport says how a connection to a Source is protected on the network, as Open will make
// it: at least as strictly as the product's own JDBC driver would with the same URL.
type Transport struct {
	// Encrypted is true when every connection is TLS-encrypted, or fails. A connection that
	// may fall back to plain text (PostgreSQL prefer, MySQL preferred) is not Encrypted.
	Encrypted bool
	// Verified is true when the server's certificate is checked against trusted CAs (the
	// URL's CA file, else the system's) before the password is sent. Only with Encrypted.
	Verified bool
	// Local is true for a unix socket on this machine: nothing crosses the network, so there
	// is nothing to encrypt.
	Local bool
	// Note is one line for a plan: "unencrypted: ...", "may be unencrypted: ...",
	// "encrypted, certificate not checked: ...", "encrypted and verified ...", or "local
	// socket: ...", followed by the URL option that decided it (or that none did, and which
	// driver default applies).
	Note string
}

// TLSNote returns Transport().Note: one line that says whether connections to s are
// unencrypted (or may be), encrypted without checking the server's certificate, or encrypted
// and verified, and which URL option (or driver default) made it so. It never holds a secret.
func (s Source) TLSNote() string { return s.Transport().Note }

// Transport says how Open protects connections to s. See Transport's fields.
func (s Source) Transport() Transport {
	p := func(k string) string { return strings.TrimSpace(s.Params[k]) }
	if s.Socket != "" && s.Dialect != "sqlserver" && s.Dialect != "oracle" {
		return LocalSocket(s.Socket)
	}
	switch s.Dialect {
	case "postgres":
		return s.postgresTransport()
	case "mysql":
		return s.mysqlTransport()
	case "sqlserver":
		enc := strings.ToLower(p("encrypt"))
		trust := strings.ToLower(p("TrustServerCertificate"))
		from := p("tls-from")
		switch enc {
		case "":
			from = "no encrypt option: mssql-jdbc's default since 10.2 is encrypt=true with the certificate checked"
		case "disable":
			return Transport{Note: "unencrypted: encrypt=disable"}
		}
		if from == "" {
			from = "encrypt=" + p("encrypt")
			if trust != "" {
				from += ", trustServerCertificate=" + p("TrustServerCertificate")
			}
		}
		switch {
		case enc != "" && enc != "strict" && !isTrue(enc) && enc != "mandatory":
			return Transport{Note: "unencrypted: only the login is encrypted, without checking the certificate; queries and rows travel in plain text (" + from + ")"}
		case enc != "strict" && isTrue(trust):
			return Transport{Encrypted: true, Note: "encrypted, certificate not checked: any server can pose as the database (" + from + ")"}
		}
		return Transport{Encrypted: true, Verified: true, Note: "encrypted and verified (certificate and host name" +
			hostInCert(p("hostNameInCertificate")) + ", against " + caName(p("certificate")) + "): " + from}
	case "oracle":
		return Transport{Note: "unencrypted: Oracle connections use plain tcp (tcps is not supported); Oracle's native network encryption applies only where the server demands it"}
	}
	return Transport{Note: "unencrypted: unknown dialect " + s.Dialect}
}

// LocalSocket is the Transport of a connection over the unix socket at path.
func LocalSocket(path string) Transport {
	return Transport{Local: true, Note: "local socket: " + path + " is a unix socket on this machine; nothing crosses the network"}
}

func hostInCert(h string) string {
	if h == "" {
		return ""
	}
	return " " + h
}

func caName(file string) string {
	if file == "" {
		return "the system's trusted CAs"
	}
	return file
}

func (s Source) postgresTransport() Transport {
	mode := s.Params["sslmode"]
	from := "sslmode=" + mode
	switch {
	case s.Params["sslfactory"] != "":
		from = "ssl=true with sslfactory=" + s.Params["sslfactory"]
	case s.Params["ssl"] != "":
		from = "ssl=true, which pgjdbc (since 42.2.5) takes as sslmode=verify-full"
	}
	ca := s.Params["sslrootcert"]
	switch mode {
	case "disable":
		return Transport{Note: "unencrypted: " + from}
	case "allow":
		return Transport{Note: "may be unencrypted: plain text first, TLS without checking the certificate only if the server demands it (" + from + ")"}
	case "", "prefer":
		if mode == "" {
			from = "no ssl or sslmode option: pgjdbc's default, prefer"
		}
		return Transport{Note: "may be unencrypted: TLS if the server offers it, without checking the certificate, else plain text (" + from + ")"}
	case "require":
		if ca != "" { // libpq and pgx: require with a root certificate is verify-ca
			return Transport{Encrypted: true, Verified: true, Note: "encrypted and verified (certificate only, not the host name, against " + ca + "): " + from + " with sslrootcert"}
		}
		return Transport{Encrypted: true, Note: "encrypted, certificate not checked: any server can pose as the database (" + from + ")"}
	case "verify-ca":
		return Transport{Encrypted: true, Verified: true, Note: "encrypted and verified (certificate only, not the host name, against " + caName(ca) + "): " + from}
	}
	return Transport{Encrypted: true, Verified: true, Note: "encrypted and verified (certificate and host name, against " + caName(ca) + "): " + from}
}

func (s Source) mysqlTransport() Transport {
	from := s.Params["tls-from"]
	switch s.Params["tls"] {
	case "false":
		return Transport{Note: "unencrypted: " + from}
	case "", "preferred":
		if from == "" {
			from = "no TLS option (sslMode, useSSL): Connector/J's default, PREFERRED"
		}
		return Transport{Note: "may be unencrypted: TLS if the server offers it, without checking the certificate, else plain text (" + from + ")"}
	case "skip-verify":
		return Transport{Encrypted: true, Note: "encrypted, certificate not checked: any server can pose as the database (" + from + ")"}
	}
	return Transport{Encrypted: true, Verified: true, Note: "encrypted and verified (certificate and host name, against " + caName(s.Params["tls-ca"]) + "): " + from}
}

// mysqlTLSConfig is the TLS configuration for a verified MySQL connection: the URL's CA file
// when it names one, else the system's CAs; the host name is always checked.
func mysqlTLSConfig(src Source) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(src.Hosts) > 0 {
		cfg.ServerName = src.Hosts[0].Name
	}
	if file := src.Params["tls-ca"]; file != "" {
		pem, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("mysql connection settings for %s: serverSslCert: %w", src, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mysql connection settings for %s: serverSslCert %s holds no PEM certificate", src, file)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
