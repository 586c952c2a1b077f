package db

import (
	"testing"

	"github.com/microsoft/go-mssqldb/msdsn"
)

// What go-mssqldb is asked for, for each SQL Server URL form: no SQL Server runs here, so the
// driver's own parser says whether the certificate will be checked. Before, a URL without
// encrypt left go-mssqldb's default, which trusts any certificate.
func TestSQLServerTLSSettings(t *testing.T) {
	tests := []struct {
		url        string
		encryption msdsn.Encryption
		skipVerify bool
		serverName string
		hasRootCAs bool
	}{
		{"jdbc:sqlserver://mssql.example.com:1433;databaseName=jiradb", msdsn.EncryptionRequired, false, "mssql.example.com", false},
		{"jdbc:sqlserver://mssql.example.com:1433;databaseName=jiradb;encrypt=true", msdsn.EncryptionRequired, false, "mssql.example.com", false},
		{"jdbc:sqlserver://mssql.example.com:1433;databaseName=jiradb;encrypt=true;hostNameInCertificate=db.example.com", msdsn.EncryptionRequired, false, "db.example.com", false},
		{"jdbc:sqlserver://mssql.example.com:1433;databaseName=jiradb;encrypt=true;trustServerCertificate=true", msdsn.EncryptionRequired, true, "mssql.example.com", false},
		{"jdbc:sqlserver://mssql.example.com:1433;databaseName=jiradb;encrypt=false", msdsn.EncryptionOff, true, "mssql.example.com", false},
		{"jdbc:sqlserver://mssql.example.com:1433;databaseName=jiradb;encrypt=false;trustServerCertificate=false", msdsn.EncryptionOff, false, "mssql.example.com", false},
		{"jdbc:sqlserver://mssql.example.com:1433;databaseName=jiradb;encrypt=strict", msdsn.EncryptionStrict, false, "mssql.example.com", false},
		{"jdbc:jtds:sqlserver://mssql.example.com:1433/jiradb", msdsn.EncryptionOff, true, "mssql.example.com", false},
		{"jdbc:jtds:sqlserver://mssql.example.com:1433/jiradb;ssl=require", msdsn.EncryptionRequired, true, "mssql.example.com", false},
		{"jdbc:jtds:sqlserver://mssql.example.com:1433/jiradb;ssl=authenticate", msdsn.EncryptionRequired, false, "mssql.example.com", false},
		{"sqlserver://mssql.example.com:1433?database=jiradb", msdsn.EncryptionRequired, false, "mssql.example.com", false},
	}
	for _, tc := range tests {
		src, err := ParseURL(tc.url)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tc.url, err)
			continue
		}
		cfg, err := msdsn.Parse(sqlserverDSN(src, Credentials{User: "jira", Password: "pw"}))
		if err != nil {
			t.Errorf("%s: msdsn.Parse: %v", tc.url, err)
			continue
		}
		if cfg.Encryption != tc.encryption {
			t.Errorf("%s: encryption %v; want %v", tc.url, cfg.Encryption, tc.encryption)
		}
		if cfg.TLSConfig == nil {
			t.Errorf("%s: no TLS config", tc.url)
			continue
		}
		if cfg.TLSConfig.InsecureSkipVerify != tc.skipVerify {
			t.Errorf("%s: InsecureSkipVerify %v; want %v", tc.url, cfg.TLSConfig.InsecureSkipVerify, tc.skipVerify)
		}
		if cfg.TLSConfig.ServerName != tc.serverName {
			t.Errorf("%s: ServerName %q; want %q", tc.url, cfg.TLSConfig.ServerName, tc.serverName)
		}
		if tr := src.Transport(); tr.Verified != (!tc.skipVerify && tc.encryption != msdsn.EncryptionOff) {
			t.Errorf("%s: Transport %+v disagrees with the driver's settings", tc.url, tr)
		}
	}
}
