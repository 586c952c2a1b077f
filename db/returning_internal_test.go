package db

import "testing"

func TestMariaDBReturningVersions(t *testing.T) {
	for v, want := range map[string]bool{
		"10.11.19-MariaDB-0+deb12u1": true,
		"11.4.2-MariaDB-log":         true,
		"10.0.5-MariaDB":             true,
		"10.0.4-MariaDB":             false,
		"5.5.68-MariaDB":             false,
		"8.0.36":                     false, // MySQL
		"8.4.0-commercial":           false,
		"10.6.16-MariaDB-cll-lve":    true,
		"junk-MariaDB":               false,
		"":                           false,
	} {
		if got := mariaDBReturning(v); got != want {
			t.Errorf("mariaDBReturning(%q) = %v; want %v", v, got, want)
		}
	}
}
