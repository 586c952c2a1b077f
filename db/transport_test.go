package db

import (
	"strings"
	"testing"
)

// URLs as the products' and drivers' documentation write them. Each says how Open protects
// the connection, and the note names the option that decided it.
var transportTests = []struct {
	url                 string
	encrypted, verified bool
	note                []string // parts the note must hold
}{
	// pgjdbc: ssl=true is verify-full since 42.2.5; nothing at all is prefer.
	{"jdbc:postgresql://pg.example.com:5432/jiradb", false, false, []string{"may be unencrypted", "pgjdbc's default, prefer"}},
	{"jdbc:postgresql://pg.example.com:5432/jiradb?ssl=true", true, true, []string{"encrypted and verified", "certificate and host name", "system's trusted CAs", "ssl=true", "verify-full"}},
	{"jdbc:postgresql://pg.example.com:5432/jiradb?ssl", true, true, []string{"encrypted and verified", "ssl=true"}},
	{"jdbc:postgresql://pg.example.com:5432/jiradb?ssl=false", false, false, []string{"may be unencrypted", "prefer"}},
	{"jdbc:postgresql://pg.example.com:5432/jiradb?ssl=true&sslfactory=org.postgresql.ssl.NonValidatingFactory", true, false, []string{"certificate not checked", "NonValidatingFactory"}},
	{"jdbc:postgresql://pg.example.com:5432/jiradb?sslmode=require", true, false, []string{"encrypted, certificate not checked", "sslmode=require"}},
	{"jdbc:postgresql://pg.example.com:5432/jiradb?sslmode=require&sslrootcert=/etc/pki/db-ca.pem", true, true, []string{"certificate only", "/etc/pki/db-ca.pem"}},
	{"jdbc:postgresql://pg.example.com:5432/jiradb?sslmode=verify-ca&sslrootcert=/etc/pki/db-ca.pem", true, true, []string{"certificate only, not the host name", "/etc/pki/db-ca.pem", "sslmode=verify-ca"}},
	{"jdbc:postgresql://pg.example.com:5432/jiradb?ssl=true&sslmode=verify-full&sslrootcert=/etc/pki/db-ca.pem", true, true, []string{"certificate and host name, against /etc/pki/db-ca.pem", "sslmode=verify-full"}},
	{"jdbc:postgresql://pg.example.com:5432/jiradb?sslmode=disable", false, false, []string{"unencrypted: sslmode=disable"}},
	{"jdbc:postgresql://pg.example.com:5432/jiradb?sslmode=allow", false, false, []string{"may be unencrypted", "sslmode=allow"}},
	{"postgres://gitlab@db.example.com/gitlabhq_production?sslmode=verify-full", true, true, []string{"encrypted and verified"}},
	{"postgres:///gitlabhq_production?host=/var/opt/gitlab/postgresql", false, false, []string{"local socket", "/var/opt/gitlab/postgresql"}},

	// MySQL Connector/J and MariaDB Connector/J.
	{"jdbc:mysql://mysql.example.com:3306/jiradb?useUnicode=true&characterEncoding=UTF8", false, false, []string{"may be unencrypted", "Connector/J's default, PREFERRED"}},
	{"jdbc:mariadb://mysql.example.com:3306/jiradb", false, false, []string{"may be unencrypted"}},
	{"jdbc:mysql://mysql.example.com:3306/jiradb?sslMode=DISABLED", false, false, []string{"unencrypted: sslMode=DISABLED"}},
	{"jdbc:mysql://mysql.example.com:3306/jiradb?useSSL=false", false, false, []string{"unencrypted: useSSL=false"}},
	{"jdbc:mysql://mysql.example.com:3306/jiradb?sslMode=PREFERRED", false, false, []string{"may be unencrypted", "sslMode=PREFERRED"}},
	{"jdbc:mysql://mysql.example.com:3306/jiradb?sslMode=REQUIRED", true, true, []string{"encrypted and verified", "sslMode=REQUIRED"}},
	{"jdbc:mysql://mysql.example.com:3306/jiradb?sslMode=VERIFY_CA", true, true, []string{"encrypted and verified", "sslMode=VERIFY_CA"}},
	{"jdbc:mysql://mysql.example.com:3306/jiradb?sslMode=VERIFY_IDENTITY", true, true, []string{"certificate and host name", "sslMode=VERIFY_IDENTITY"}},
	{"jdbc:mysql://mysql.example.com:3306/jiradb?useSSL=true&requireSSL=true&verifyServerCertificate=false", true, false, []string{"certificate not checked", "verifyServerCertificate=false"}},
	{"jdbc:mariadb://mysql.example.com:3306/jiradb?sslMode=trust", true, false, []string{"certificate not checked", "sslMode=trust"}},
	{"jdbc:mariadb://mysql.example.com:3306/jiradb?useSsl=true&trustServerCertificate=true", true, false, []string{"certificate not checked", "trustServerCertificate=true"}},
	{"jdbc:mariadb://mysql.example.com:3306/jiradb?sslMode=verify-full&serverSslCert=/etc/mysql/ca.pem", true, true, []string{"against /etc/mysql/ca.pem", "sslMode=verify-full"}},
	{"jdbc:mariadb://localhost:3306/jiradb?localSocket=/run/mysqld/mysqld.sock", false, false, []string{"local socket"}},

	// SQL Server: mssql-jdbc encrypts and verifies by default since 10.2; jTDS does not encrypt.
	{"jdbc:sqlserver://mssql.example.com:1433;databaseName=jiradb", true, true, []string{"encrypted and verified", "mssql-jdbc's default since 10.2"}},
	{"jdbc:sqlserver://mssql.example.com:1433;databaseName=jiradb;encrypt=true", true, true, []string{"encrypted and verified", "encrypt=true"}},
	{"jdbc:sqlserver://mssql.example.com:1433;databaseName=jiradb;encrypt=true;trustServerCertificate=false;hostNameInCertificate=*.example.com", true, true, []string{"host name *.example.com", "trustServerCertificate=false"}},
	{"jdbc:sqlserver://mssql.example.com:1433;databaseName=jiradb;encrypt=true;trustServerCertificate=true", true, false, []string{"certificate not checked", "trustServerCertificate=true"}},
	{"jdbc:sqlserver://mssql.example.com:1433;databaseName=jiradb;encrypt=false", false, false, []string{"unencrypted", "only the login", "encrypt=false"}},
	{"jdbc:sqlserver://mssql.example.com:1433;databaseName=jiradb;encrypt=strict;trustServerCertificate=true", true, true, []string{"encrypted and verified", "encrypt=strict"}},
	{"jdbc:sqlserver://mssql.example.com:1433;databaseName=jiradb;encrypt=true;trustStore=/etc/pki/mssql-ca.pem", true, true, []string{"against /etc/pki/mssql-ca.pem"}},
	{"jdbc:jtds:sqlserver://mssql.example.com:1433/jiradb", false, false, []string{"unencrypted", "no jTDS ssl option"}},
	{"jdbc:jtds:sqlserver://mssql.example.com:1433/jiradb;ssl=request", true, false, []string{"certificate not checked", "jTDS ssl=request"}},
	{"jdbc:jtds:sqlserver://mssql.example.com:1433/jiradb;ssl=require", true, false, []string{"certificate not checked", "jTDS ssl=require"}},
	{"jdbc:jtds:sqlserver://mssql.example.com:1433/jiradb;ssl=authenticate", true, true, []string{"encrypted and verified", "jTDS ssl=authenticate"}},
	{"sqlserver://mssql.example.com:1433?database=jiradb", true, true, []string{"encrypted and verified"}},

	// Oracle thin: tcp only.
	{"jdbc:oracle:thin:@//oracle.example.com:1521/JIRASVC", false, false, []string{"unencrypted", "plain tcp"}},
}

func TestTransport(t *testing.T) {
	for _, tc := range transportTests {
		src, err := ParseURL(tc.url)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tc.url, err)
			continue
		}
		got := src.Transport()
		if got.Encrypted != tc.encrypted || got.Verified != tc.verified {
			t.Errorf("Transport(%q) = encrypted %v, verified %v; want %v, %v (%s)", tc.url, got.Encrypted, got.Verified, tc.encrypted, tc.verified, got.Note)
		}
		for _, part := range tc.note {
			if !strings.Contains(got.Note, part) {
				t.Errorf("TLSNote(%q) = %q; want it to hold %q", tc.url, got.Note, part)
			}
		}
		if got.Note != src.TLSNote() {
			t.Errorf("TLSNote(%q) = %q; Transport().Note = %q", tc.url, src.TLSNote(), got.Note)
		}
	}
}
