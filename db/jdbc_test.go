package db

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

var parseURLTests = []struct {
	in   string
	want Source
}{
	// PostgreSQL, pgjdbc
	{"jdbc:postgresql://db.example.com:5432/jiradb",
		Source{Dialect: "postgres", Hosts: []Host{{"db.example.com", 5432}}, Database: "jiradb"}},
	{"jdbc:postgresql://db.example.com/jiradb",
		Source{Dialect: "postgres", Hosts: []Host{{"db.example.com", 5432}}, Database: "jiradb"}},
	{"jdbc:postgresql://[::1]:5433/jiradb",
		Source{Dialect: "postgres", Hosts: []Host{{"::1", 5433}}, Database: "jiradb"}},
	{"jdbc:postgresql://[2001:db8::5]/confluence",
		Source{Dialect: "postgres", Hosts: []Host{{"2001:db8::5", 5432}}, Database: "confluence"}},
	{"jdbc:postgresql://pg1:5432,pg2:5433,pg3/jiradb?targetServerType=primary",
		Source{Dialect: "postgres", Hosts: []Host{{"pg1", 5432}, {"pg2", 5433}, {"pg3", 5432}}, Database: "jiradb"}},
	{"jdbc:postgresql:jiradb",
		Source{Dialect: "postgres", Hosts: []Host{{"localhost", 5432}}, Database: "jiradb"}},
	{"jdbc:postgresql://db/jira%20db",
		Source{Dialect: "postgres", Hosts: []Host{{"db", 5432}}, Database: "jira db"}},
	{"jdbc:postgresql://db:5432/jiradb?currentSchema=jira,public&user=jira&password=s3cr%26t&ApplicationName=x",
		Source{Dialect: "postgres", Hosts: []Host{{"db", 5432}}, Database: "jiradb", Schema: "jira", User: "jira", URLPassword: "s3cr&t"}},
	{"jdbc:postgresql://db/jiradb?ssl=true", // pgjdbc ≥ 42.2.5: verify-full, not require
		Source{Dialect: "postgres", Hosts: []Host{{"db", 5432}}, Database: "jiradb", Params: map[string]string{"sslmode": "verify-full", "ssl": "true"}}},
	{"jdbc:postgresql://db/jiradb?ssl=true&sslmode=verify-full",
		Source{Dialect: "postgres", Hosts: []Host{{"db", 5432}}, Database: "jiradb", Params: map[string]string{"sslmode": "verify-full"}}},
	{"jdbc:postgresql://db/jiradb?sslmode=disable&currentSchema=public",
		Source{Dialect: "postgres", Hosts: []Host{{"db", 5432}}, Database: "jiradb", Schema: "public", Params: map[string]string{"sslmode": "disable"}}},
	{"  \tjdbc:postgresql://db:5432/jiradb\n",
		Source{Dialect: "postgres", Hosts: []Host{{"db", 5432}}, Database: "jiradb"}},
	{"jdbc:postgresql://db/jiradb?useUnicode=true&amp;characterEncoding=UTF8&amp;currentSchema=jira",
		Source{Dialect: "postgres", Hosts: []Host{{"db", 5432}}, Database: "jiradb", Schema: "jira"}},

	// PostgreSQL, libpq DSNs
	{"postgres://jira:pa%40ss@db.example.com:5433/jiradb?sslmode=verify-ca&search_path=jira,public",
		Source{Dialect: "postgres", Hosts: []Host{{"db.example.com", 5433}}, Database: "jiradb", Schema: "jira", User: "jira", URLPassword: "pa@ss", Params: map[string]string{"sslmode": "verify-ca"}}},
	{"postgresql://db/jiradb",
		Source{Dialect: "postgres", Hosts: []Host{{"db", 5432}}, Database: "jiradb"}},
	{"postgres:///gitlabhq_production?host=/var/opt/gitlab/postgresql",
		Source{Dialect: "postgres", Socket: "/var/opt/gitlab/postgresql", Database: "gitlabhq_production"}},
	{"postgres://%2Fvar%2Frun%2Fpostgresql/jiradb",
		Source{Dialect: "postgres", Socket: "/var/run/postgresql", Database: "jiradb"}},
	{"postgres://gitlab@ignored:1/gitlabhq_production?host=db2&port=6432",
		Source{Dialect: "postgres", Hosts: []Host{{"db2", 6432}}, Database: "gitlabhq_production", User: "gitlab"}},
	{"postgresql://pg1:5432,[::1]:5433/jiradb?port=6432",
		Source{Dialect: "postgres", Hosts: []Host{{"pg1", 6432}, {"::1", 6432}}, Database: "jiradb"}},

	// MySQL and MariaDB, Connector/J
	{"jdbc:mysql://mysql.example.com:3306/jiradb?useUnicode=true&characterEncoding=UTF8&sessionVariables=default_storage_engine=InnoDB",
		Source{Dialect: "mysql", Hosts: []Host{{"mysql.example.com", 3306}}, Database: "jiradb"}},
	{"jdbc:mariadb://maria/confluence",
		Source{Dialect: "mysql", Hosts: []Host{{"maria", 3306}}, Database: "confluence"}},
	{"jdbc:mysql://address=(protocol=tcp)(host=db1)(port=3307)/jiradb",
		Source{Dialect: "mysql", Hosts: []Host{{"db1", 3307}}, Database: "jiradb"}},
	{"jdbc:mysql://address=(port=3310)(HOST=db1)(protocol=TCP)/jiradb",
		Source{Dialect: "mysql", Hosts: []Host{{"db1", 3310}}, Database: "jiradb"}},
	{"jdbc:mysql://address=(host=db1)(type=master),address=(host=db2)(port=3307)/jiradb",
		Source{Dialect: "mysql", Hosts: []Host{{"db1", 3306}, {"db2", 3307}}, Database: "jiradb"}},
	{"jdbc:mysql://(host=db1,port=3308,user=jira)/jiradb",
		Source{Dialect: "mysql", Hosts: []Host{{"db1", 3308}}, Database: "jiradb", User: "jira"}},
	{"jdbc:mysql:loadbalance://lb1,lb2:3307/jiradb",
		Source{Dialect: "mysql", Hosts: []Host{{"lb1", 3306}, {"lb2", 3307}}, Database: "jiradb"}},
	{"jdbc:mysql:replication://primary:3306,replica:3306/jiradb",
		Source{Dialect: "mysql", Hosts: []Host{{"primary", 3306}, {"replica", 3306}}, Database: "jiradb"}},
	{"jdbc:mysql://db/jiradb?user=jira&password=pw%2Bx&useSSL=true",
		Source{Dialect: "mysql", Hosts: []Host{{"db", 3306}}, Database: "jiradb", User: "jira", URLPassword: "pw+x", Params: map[string]string{"tls": "true", "tls-from": "useSSL=true"}}},
	{"jdbc:mysql://db/jiradb?useSSL=true&verifyServerCertificate=false",
		Source{Dialect: "mysql", Hosts: []Host{{"db", 3306}}, Database: "jiradb", Params: map[string]string{"tls": "skip-verify", "tls-from": "useSSL=true, verifyServerCertificate=false"}}},
	{"jdbc:mysql://db/jiradb?sslMode=VERIFY_IDENTITY",
		Source{Dialect: "mysql", Hosts: []Host{{"db", 3306}}, Database: "jiradb", Params: map[string]string{"tls": "true", "tls-from": "sslMode=VERIFY_IDENTITY"}}},
	{"jdbc:mysql://db/jiradb?sslMode=VERIFY_CA&verifyServerCertificate=false",
		Source{Dialect: "mysql", Hosts: []Host{{"db", 3306}}, Database: "jiradb", Params: map[string]string{"tls": "true", "tls-from": "sslMode=VERIFY_CA"}}},
	{"jdbc:mysql://db/jiradb?sslMode=REQUIRED&verifyServerCertificate=false",
		Source{Dialect: "mysql", Hosts: []Host{{"db", 3306}}, Database: "jiradb", Params: map[string]string{"tls": "skip-verify", "tls-from": "sslMode=REQUIRED, verifyServerCertificate=false"}}},
	{"jdbc:mysql://db/jiradb?sslMode=required",
		Source{Dialect: "mysql", Hosts: []Host{{"db", 3306}}, Database: "jiradb", Params: map[string]string{"tls": "true", "tls-from": "sslMode=required"}}},
	{"jdbc:mysql://db/jiradb?sslMode=DISABLED",
		Source{Dialect: "mysql", Hosts: []Host{{"db", 3306}}, Database: "jiradb", Params: map[string]string{"tls": "false", "tls-from": "sslMode=DISABLED"}}},
	{"jdbc:mariadb://db/jiradb?useSsl=false",
		Source{Dialect: "mysql", Hosts: []Host{{"db", 3306}}, Database: "jiradb", Params: map[string]string{"tls": "false", "tls-from": "useSSL=false"}}},
	{"jdbc:mysql://jira:s%3Acret@[::1]:3306/jiradb",
		Source{Dialect: "mysql", Hosts: []Host{{"::1", 3306}}, Database: "jiradb", User: "jira", URLPassword: "s:cret"}},
	{"jdbc:mariadb://localhost/jiradb?localSocket=/run/mysqld/mysqld.sock",
		Source{Dialect: "mysql", Socket: "/run/mysqld/mysqld.sock", Database: "jiradb"}},

	// MySQL, go-sql-driver style URLs
	{"mysql://jira:pw@localhost:3306/jiradb?socket=/run/mysqld/mysqld.sock",
		Source{Dialect: "mysql", Socket: "/run/mysqld/mysqld.sock", Database: "jiradb", User: "jira", URLPassword: "pw"}},
	{"mysql://jira@db:3307/jiradb?tls=skip-verify",
		Source{Dialect: "mysql", Hosts: []Host{{"db", 3307}}, Database: "jiradb", User: "jira", Params: map[string]string{"tls": "skip-verify", "tls-from": "tls=skip-verify"}}},

	// SQL Server, Microsoft driver
	{"jdbc:sqlserver://sql.example.com:1433;databaseName=jiradb;encrypt=true;trustServerCertificate=true",
		Source{Dialect: "sqlserver", Hosts: []Host{{"sql.example.com", 1433}}, Database: "jiradb", Params: map[string]string{"encrypt": "true", "TrustServerCertificate": "true"}}},
	{`jdbc:sqlserver://sqlhost\SQLEXPRESS;database=jiradb`,
		Source{Dialect: "sqlserver", Hosts: []Host{{"sqlhost", 1433}}, Instance: "SQLEXPRESS", Database: "jiradb"}},
	{`jdbc:sqlserver://sqlhost\SQLEXPRESS:1450;databaseName=jiradb`,
		Source{Dialect: "sqlserver", Hosts: []Host{{"sqlhost", 1450}}, Database: "jiradb"}},
	{"jdbc:sqlserver://;serverName=sqlhost;portNumber=1444;databaseName=jiradb",
		Source{Dialect: "sqlserver", Hosts: []Host{{"sqlhost", 1444}}, Database: "jiradb"}},
	{"jdbc:sqlserver://sqlhost;DATABASENAME=jiradb;User=jira;PassWord={pa;ss}}};integratedSecurity=false;",
		Source{Dialect: "sqlserver", Hosts: []Host{{"sqlhost", 1433}}, Database: "jiradb", User: "jira", URLPassword: "pa;ss}"}},
	{"jdbc:sqlserver://[fe80::1]:1433;databaseName=jiradb",
		Source{Dialect: "sqlserver", Hosts: []Host{{"fe80::1", 1433}}, Database: "jiradb"}},

	// SQL Server, jTDS
	{"jdbc:jtds:sqlserver://sqlhost:1433/jiradb;instance=JIRA;user=jira;password=pw",
		Source{Dialect: "sqlserver", Hosts: []Host{{"sqlhost", 1433}}, Instance: "JIRA", Database: "jiradb", User: "jira", URLPassword: "pw",
			Params: map[string]string{"encrypt": "false", "TrustServerCertificate": "true", "tls-from": "no jTDS ssl option (its default, off)"}}},
	{"jdbc:jtds:sqlserver://sqlhost/jiradb;ssl=require",
		Source{Dialect: "sqlserver", Hosts: []Host{{"sqlhost", 1433}}, Database: "jiradb", Params: map[string]string{"encrypt": "true", "TrustServerCertificate": "true", "tls-from": "jTDS ssl=require"}}},

	// SQL Server, go-mssqldb URLs
	{"sqlserver://jira:pw@sqlhost:1433?database=jiradb&encrypt=true",
		Source{Dialect: "sqlserver", Hosts: []Host{{"sqlhost", 1433}}, Database: "jiradb", User: "jira", URLPassword: "pw", Params: map[string]string{"encrypt": "true"}}},
	{"sqlserver://sqlhost/SQLEXPRESS?database=jiradb",
		Source{Dialect: "sqlserver", Hosts: []Host{{"sqlhost", 1433}}, Instance: "SQLEXPRESS", Database: "jiradb"}},

	// Oracle
	{"jdbc:oracle:thin:@//ora.example.com:1521/JIRA.example.com",
		Source{Dialect: "oracle", Hosts: []Host{{"ora.example.com", 1521}}, Database: "JIRA.example.com"}},
	{"jdbc:oracle:thin:@//orahost/JIRASVC",
		Source{Dialect: "oracle", Hosts: []Host{{"orahost", 1521}}, Database: "JIRASVC"}},
	{"jdbc:oracle:thin:@orahost:1521:ORCL",
		Source{Dialect: "oracle", Hosts: []Host{{"orahost", 1521}}, Database: "ORCL", SID: true}},
	{"jdbc:oracle:thin:@orahost:1522/JIRASVC",
		Source{Dialect: "oracle", Hosts: []Host{{"orahost", 1522}}, Database: "JIRASVC"}},
	{"jdbc:oracle:thin:jira/s3cret@//orahost:1521/JIRASVC",
		Source{Dialect: "oracle", Hosts: []Host{{"orahost", 1521}}, Database: "JIRASVC", User: "jira", URLPassword: "s3cret"}},
	{`jdbc:oracle:thin:jira/"p@ss"@//[::1]:1521/JIRASVC`,
		Source{Dialect: "oracle", Hosts: []Host{{"::1", 1521}}, Database: "JIRASVC", User: "jira", URLPassword: "p@ss"}},
	{"jdbc:oracle:thin:@(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=orahost)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=jira)))",
		Source{Dialect: "oracle", Hosts: []Host{{"orahost", 1521}}, Database: "jira",
			Descriptor: "(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=orahost)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=jira)))"}},
	{"jdbc:oracle:thin:@(description=\n  (address_list=\n    (address=(protocol=tcp)(host=rac1)(port=1521))\n    (address=(protocol=tcp)(host=rac2)))\n  (connect_data=(sid=ORCL)))",
		Source{Dialect: "oracle", Hosts: []Host{{"rac1", 1521}, {"rac2", 1521}}, Database: "ORCL", SID: true,
			Descriptor: "(description=\n  (address_list=\n    (address=(protocol=tcp)(host=rac1)(port=1521))\n    (address=(protocol=tcp)(host=rac2)))\n  (connect_data=(sid=ORCL)))"}},
	{"oracle://jira:s3cret@orahost:1521/JIRASVC",
		Source{Dialect: "oracle", Hosts: []Host{{"orahost", 1521}}, Database: "JIRASVC", User: "jira", URLPassword: "s3cret"}},
}

func TestParseURL(t *testing.T) {
	for _, tc := range parseURLTests {
		got, err := ParseURL(tc.in)
		if err != nil {
			t.Errorf("ParseURL(%q) error: %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseURL(%q) = %+v; want %+v", tc.in, got, tc.want)
		}
	}
}

var badURLTests = []struct {
	in          string
	reason      string // a part of the reason the user must see
	unsupported bool   // wraps ErrUnsupported
	password    string // held by the input: must not show in the error
}{
	{"", "empty", false, ""},
	{" \n\t", "empty", false, ""},
	{"jdbc:sqlserver://sqlhost;databaseName=jiradb;integratedSecurity=true;password=Sup3rSecret", "Windows authentication", true, "Sup3rSecret"},
	{"jdbc:sqlserver://sqlhost;databaseName=jiradb;authenticationScheme=JavaKerberos", "Windows authentication", true, ""},
	{"jdbc:sqlserver://sqlhost;authentication=ActiveDirectoryIntegrated", "Entra ID", true, ""},
	{"jdbc:jtds:sqlserver://sqlhost/jiradb;domain=CORP;password=Sup3rSecret", "NTLM", true, "Sup3rSecret"},
	{"jdbc:h2:file:/var/atlassian/application-data/jira/database/h2db", "embedded", true, ""},
	{"jdbc:hsqldb:/opt/fisheye/var/data/defaultdb", "embedded", true, ""},
	{"jdbc:db2://dbhost:50000/jira", "unknown jdbc driver", true, ""},
	{"redis://cache:6379", "unknown kind of database", true, ""},
	{"jdbc:oracle:thin:@JIRA_TNS", "tns alias", true, ""},
	{"jdbc:postgresql://db:99999/jiradb?password=Sup3rSecret", "out of range", false, "Sup3rSecret"},
	{"jdbc:postgresql://db:0/jiradb", "out of range", false, ""},
	{"jdbc:postgresql://db:port/jiradb", "not a number", false, ""},
	{"jdbc:postgresql://db:/jiradb", "port after the colon is empty", false, ""},
	{"jdbc:postgresql:/", "no database name", false, ""},
	{"jdbc:postgresql://db:5432", "no database", false, ""},
	{"jdbc:postgresql:///jiradb", "no host", false, ""},
	{"jdbc:postgresql://pg1,,pg2/jiradb", "empty entry", false, ""},
	{"jdbc:postgresql://::1:5432/jiradb", "brackets", false, ""},
	{"jdbc:postgresql://jira:Sup3rSecret@db:5432/jiradb", "user:password@", false, "Sup3rSecret"},
	{"jdbc:postgresql://db/jiradb?sslmode=sometimes", "sslmode", false, ""},
	{"jdbc:postgresql://${jira.db.host}:5432/jiradb", "placeholder", false, ""},
	{"jdbc:postgresql://db/jira\x00db", "control character", false, ""},
	{"postgres://jira:Sup3rSecret@db:99999999/jiradb", "out of range", false, "Sup3rSecret"},
	{"postgres://jira:Sup3r/Secret@db/jiradb", "percent-encode", false, "Sup3r/Secret"},
	{"postgres://jira:Sup3r@Secret@db:x/jiradb", "not a number", false, "Sup3r@Secret"},
	{"postgres:///jiradb", "no host", false, ""},
	{"postgres:///jiradb?host=/run/postgresql&port=5433", "unix socket", false, ""},
	{"mysql:///jiradb", "no host", false, ""},
	{"jdbc:mysql://db:3306/?password=Sup3rSecret", "no database name", false, "Sup3rSecret"},
	{"jdbc:mysql://db/jiradb?sslMode=SOMETIMES&password=Sup3rSecret", "sslMode", false, "Sup3rSecret"},
	{"jdbc:mysql://address=(protocol=tcp)(host=db)(port=3307/jiradb", "unbalanced", false, ""},
	{"jdbc:mysql://address=(protocol=pipe)(path=x)/jiradb", "protocol", true, ""},
	{"jdbc:mysql://jira:Sup3rSecret@db:33o6/jiradb", "not a number", false, "Sup3rSecret"},
	{"jdbc:mysql+srv://_mysql._tcp.example.com/jiradb", "not supported", true, ""},
	{"jdbc:sqlserver://sqlhost;password={Sup3r;Secret", "no closing }", false, "Sup3r;Secret"},
	{"jdbc:sqlserver://;databaseName=jiradb", "no server name", false, ""},
	{"jdbc:sqlserver://jira:Sup3rSecret@sqlhost;databaseName=jiradb", "user:password@", false, "Sup3rSecret"},
	{"jdbc:sqlserver://sqlhost:70000;databaseName=jiradb", "out of range", false, ""},
	{"jdbc:oracle:thin:jira/Sup3rSecret@(DESCRIPTION=(ADDRESS=(HOST=orahost)(PORT=1521))", "unbalanced", false, "Sup3rSecret"},
	{"jdbc:oracle:thin:jira/Sup3rSecret@orahost:ORCL", "not a number", false, "Sup3rSecret"},
	{"jdbc:oracle:thin:@(ADDRESS=(HOST=orahost)(PORT=1521))", "DESCRIPTION", false, ""},
	{"jdbc:oracle:thin:@//orahost:1521", "no service name", false, ""},
	{"user:Sup3rSecret@tcp(db:3306)/jiradb", "not a database url", false, "Sup3rSecret"},
	{"jdbc:mysql://address=(host=db)(password=Sup3rSecret)(port=x)/jiradb", "port cannot be read", false, "Sup3rSecret"},
	{"jdbc:mysql://db/jiradb?password1=Sup3rSecret&sslMode=x", "sslMode", false, "Sup3rSecret"},
	{"jdbc:sqlserver://sqlhost:x;password={Sup3r;Secret}", "not a number", false, "Sup3r;Secret"},
	{`jdbc:oracle:thin:jira/"Sup3r@Secret"@orahost:x/JIRASVC`, "not a number", false, "Sup3r@Secret"},
	{"jdbc:oracle:thin:jira/Sup3rSecret", "no @", false, "Sup3rSecret"},
	{"jdbc:postgresql://db/jiradb?password\n=Sup3rSecret&sslmode=x", "sslmode", false, "Sup3rSecret"},
	{"jdbc:postgresql://db/jiradb?\u212Apassword=Sup3rSecret&sslmode=x", "sslmode", false, "Sup3rSecret"},
}

func TestParseURLErrors(t *testing.T) {
	for _, tc := range badURLTests {
		got, err := ParseURL(tc.in)
		if err == nil {
			t.Errorf("ParseURL(%q) = %+v; want an error", tc.in, got)
			continue
		}
		var ue *URLError
		if !errors.As(err, &ue) {
			t.Errorf("ParseURL(%q) error %v is a %T; want *URLError", tc.in, err, err)
			continue
		}
		if !reflect.DeepEqual(got, Source{}) {
			t.Errorf("ParseURL(%q) = %+v with an error; want a zero Source", tc.in, got)
		}
		if !strings.Contains(ue.Reason, tc.reason) {
			t.Errorf("ParseURL(%q) reason %q; want it to say %q", tc.in, ue.Reason, tc.reason)
		}
		if r, _ := utf8.DecodeRuneInString(ue.Reason); unicode.IsUpper(r) || strings.ContainsAny(ue.Reason, "\n\r") {
			t.Errorf("ParseURL(%q) reason %q; want one lower-case line", tc.in, ue.Reason)
		}
		if errors.Is(err, ErrUnsupported) != tc.unsupported {
			t.Errorf("ParseURL(%q) error %v: errors.Is(err, ErrUnsupported) = %v; want %v", tc.in, err, !tc.unsupported, tc.unsupported)
		}
		if tc.password != "" && strings.Contains(err.Error(), tc.password) {
			t.Errorf("ParseURL(%q) error %q shows the password %q", tc.in, err, tc.password)
		}
		if tc.password == "" && ue.URL != redactURL(tc.in) {
			t.Errorf("ParseURL(%q) error URL %q; want %q", tc.in, ue.URL, redactURL(tc.in))
		}
	}
}

func TestSourceStringHidesPassword(t *testing.T) {
	for _, tc := range []struct{ in, want, password string }{
		{"jdbc:postgresql://db:5432/jiradb?user=jira&password=Sup3rSecret", "postgres://db:5432/jiradb", "Sup3rSecret"},
		{"postgres://gitlab:Sup3rSecret@/gitlabhq_production?host=/var/opt/gitlab/postgresql", "postgres://unix(/var/opt/gitlab/postgresql)/gitlabhq_production", "Sup3rSecret"},
		{"jdbc:mysql://jira:Sup3rSecret@[::1]:3307/jiradb", "mysql://[::1]:3307/jiradb", "Sup3rSecret"},
		{`jdbc:jtds:sqlserver://sqlhost/jiradb;instance=JIRA;password=Sup3rSecret`, `sqlserver://sqlhost:1433\JIRA/jiradb`, "Sup3rSecret"},
		{"jdbc:oracle:thin:jira/Sup3rSecret@orahost:1521:ORCL", "oracle://orahost:1521/ORCL (SID)", "Sup3rSecret"},
		{"jdbc:oracle:thin:jira/Sup3rSecret@(DESCRIPTION=(ADDRESS=(HOST=h))(CONNECT_DATA=(SID=X)))", "oracle://(DESCRIPTION=(ADDRESS=(HOST=h))(CONNECT_DATA=(SID=X)))", "Sup3rSecret"},
	} {
		src, err := ParseURL(tc.in)
		if err != nil {
			t.Errorf("ParseURL(%q) error: %v", tc.in, err)
			continue
		}
		if src.URLPassword != tc.password {
			t.Errorf("ParseURL(%q).URLPassword = %q; want %q", tc.in, src.URLPassword, tc.password)
		}
		if got := src.String(); got != tc.want || strings.Contains(got, tc.password) {
			t.Errorf("ParseURL(%q).String() = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func ExampleParseURL() {
	src, err := ParseURL("jdbc:sqlserver://sqlhost:1433;databaseName=jiradb;user=jira;password=secret;encrypt=true")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(src, src.User, src.Params)
	_, err = ParseURL("jdbc:sqlserver://sqlhost;databaseName=jiradb;integratedSecurity=true")
	fmt.Println(errors.Is(err, ErrUnsupported))
	_, err = ParseURL("postgres://jira:secret@db:54321x/jiradb")
	fmt.Println(err)
	// Output:
	// sqlserver://sqlhost:1433/jiradb jira map[encrypt:true]
	// true
	// database url "postgres://jira:xxxxx@db:54321x/jiradb": port "54321x" is not a number
}

// passwordsIn finds what an input may hold as a password, independently of the parser's own
// search, so that the fuzzer can check errors that stop before the parser reaches it.
var (
	passwordOption   = regexp.MustCompile(`(?i)password\d*\s*=\s*([^;&]*)`)
	userinfoPassword = regexp.MustCompile(`://([^@]*)@`)
	sqlserverUser    = regexp.MustCompile(`://([^@;]*)@`) // SQL Server's options start at the first ';'
	oraclePassword   = regexp.MustCompile(`(?i)^jdbc:oracle:[^:]*:[^@/]*/([^@]*)@`)
)

func passwordsIn(raw string) []string {
	s := strings.TrimSpace(raw)
	var out []string
	for _, m := range passwordOption.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1], strings.Trim(m[1], "{}"))
	}
	userinfo := userinfoPassword
	if l := strings.ToLower(s); strings.HasPrefix(l, "jdbc:sqlserver:") || strings.HasPrefix(l, "jdbc:jtds:") {
		userinfo = sqlserverUser
	}
	if m := userinfo.FindStringSubmatch(s); m != nil {
		if _, pw, ok := strings.Cut(m[1], ":"); ok {
			out = append(out, pw)
		}
	}
	if m := oraclePassword.FindStringSubmatch(s); m != nil {
		out = append(out, m[1], strings.Trim(m[1], `"`))
	}
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			out = append(out, pw)
		}
	}
	return out
}

// shows reports whether out shows the password pw that raw holds: out has it, and loses it
// when that one occurrence in raw is replaced. A pw that raw holds elsewhere too (a database
// named like the password) or only percent-encoded cannot be told apart, and is skipped.
func shows(raw, pw, out string, render func(string) string) bool {
	if len(pw) <= 3 || !strings.Contains(out, pw) || strings.Count(raw, pw) != 1 {
		return false
	}
	other := []byte(pw)
	for i, c := range other {
		if c == 'Z' {
			other[i] = 'Y'
		} else {
			other[i] = 'Z'
		}
	}
	return !strings.Contains(render(strings.Replace(raw, pw, string(other), 1)), pw)
}

func FuzzParseURL(f *testing.F) {
	for _, tc := range parseURLTests {
		f.Add(tc.in)
	}
	for _, tc := range badURLTests {
		f.Add(tc.in)
	}
	errorText := func(raw string) string {
		if _, err := ParseURL(raw); err != nil {
			return err.Error()
		}
		return ""
	}
	f.Fuzz(func(t *testing.T, raw string) {
		src, err := ParseURL(raw)
		if err != nil {
			ue, ok := err.(*URLError)
			if !ok {
				t.Fatalf("ParseURL(%q) error %v is a %T; want *URLError", raw, err, err)
			}
			if ue.Reason == "" {
				t.Fatalf("ParseURL(%q) error %v has no reason", raw, err)
			}
			for _, pw := range passwordsIn(raw) {
				if shows(raw, pw, err.Error(), errorText) {
					t.Fatalf("ParseURL(%q) error %q shows the password %q", raw, err, pw)
				}
			}
			return
		}
		if _, err := Lookup(src.Dialect); err != nil {
			t.Fatalf("ParseURL(%q) = %+v: dialect: %v", raw, src, err)
		}
		if len(src.Hosts) == 0 && src.Socket == "" && src.Descriptor == "" {
			t.Fatalf("ParseURL(%q) = %+v; want hosts, a socket or a descriptor", raw, src)
		}
		for _, h := range src.Hosts {
			if h.Name == "" || h.Port < 1 || h.Port > 65535 {
				t.Fatalf("ParseURL(%q) = %+v: bad host %+v", raw, src, h)
			}
		}
		pw := src.URLPassword
		str := func(raw string) string {
			s, err := ParseURL(raw)
			if err != nil {
				return ""
			}
			return s.String()
		}
		if shows(raw, pw, src.String(), str) {
			t.Fatalf("ParseURL(%q).String() = %q shows the password %q", raw, src.String(), pw)
		}
		// A plan prints the TLS note: it must say something, and never the password.
		note := func(raw string) string {
			s, err := ParseURL(raw)
			if err != nil {
				return ""
			}
			return s.TLSNote()
		}
		if src.TLSNote() == "" {
			t.Fatalf("ParseURL(%q) = %+v has no TLS note", raw, src)
		}
		if shows(raw, pw, src.TLSNote(), note) {
			t.Fatalf("ParseURL(%q).TLSNote() = %q shows the password %q", raw, src.TLSNote(), pw)
		}
		// The same URL with any error in it would be quoted like this: it must hide the
		// password that the parser found.
		redacted := func(raw string) string { return newURLParser(raw).redacted() }
		if shows(raw, pw, redacted(raw), redacted) {
			t.Fatalf("ParseURL(%q) found the password %q, which its redaction %q shows", raw, pw, redacted(raw))
		}
	})
}

// redactParams must cut at the right place whatever bytes precede the option (invalid UTF-8,
// characters whose lower case is longer), as the fuzzer once found.
func TestRedactParamsOddBytes(t *testing.T) {
	for _, in := range []string{"\u212aPASSWORD=secret;y", "\xffpassword=secret&z=1", "jdbc:x://h;Password=secret;a=b"} {
		if got := redactParams(in); strings.Contains(got, "secret") || len(got) < len(in)-3 {
			t.Errorf("redactParams(%q) = %q", in, got)
		}
	}
}
