package main

import (
	"strings"
	"testing"
)

// reauth products lists the six Atlassian products, each with its table, columns, cookies,
// probe and port, and GitLab, in text and in JSON.
func TestProductsList(t *testing.T) {
	text := reauth(t, "", "products").mustSucceed(t).stdout
	for _, want := range []string{"jira", "confluence", "bitbucket", "bamboo", "fisheye", "crowd", "gitlab", "cwd_token", "crowd.token_key",
		"remembermetoken", "sta_remember_me_token", "seraph.rememberme.cookie", "BITBUCKETSESSIONID",
		"FESESSIONID", "/rest/api/latest/status", "7990", "UNVERIFIED", "_gitlab_session"} {
		if !strings.Contains(text, want) {
			t.Errorf("reauth products does not mention %q", want)
		}
	}
	var out struct {
		Products []struct {
			Name       string
			RememberMe struct {
				Table   string
				Columns []struct{ Name, Type string }
			} `json:"remember_me"`
			RememberMeCookie string `json:"remember_me_cookie"`
			SessionCookie    string `json:"session_cookie"`
			Probe            struct{ Path, Ready string }
			Port             int `json:"default_port"`
		}
		GitLab struct {
			Title         string
			SessionCookie string `json:"session_cookie"`
		}
	}
	reauth(t, "", "products", "--output", "json").mustSucceed(t).decode(t, &out)
	if len(out.Products) != 6 {
		t.Fatalf("%d products in JSON; want 6", len(out.Products))
	}
	for _, p := range out.Products {
		tableOK := p.RememberMe.Table != "" && len(p.RememberMe.Columns) > 0 || p.Name == "fisheye"
		if !tableOK || p.RememberMeCookie == "" || p.SessionCookie == "" || p.Probe.Path == "" || p.Probe.Ready == "" || p.Port == 0 {
			t.Errorf("product %s is missing facts: %+v", p.Name, p)
		}
	}
	if out.GitLab.Title == "" || out.GitLab.SessionCookie != "_gitlab_session" {
		t.Errorf("JSON gitlab = %+v", out.GitLab)
	}
}
