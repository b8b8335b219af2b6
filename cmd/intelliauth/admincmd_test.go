package main

import (
	"strings"
	"testing"
)

// adminEnv is the environment of an admin session on a fresh data dir.
func adminEnv(t *testing.T) map[string]string {
	return map[string]string{"INTELLIAUTH_DATA_DIR": t.TempDir(), "INTELLIAUTH_MASTER_KEY": testKey}
}

func TestAdminWorkflow(t *testing.T) {
	env := adminEnv(t)
	must(t, env, "migrate")
	out := must(t, env, "tenant", "create", "acme", "--public-url", "http://localhost:8080", "--name", "Acme")
	if !strings.Contains(out, "http://localhost:8080/t/acme") {
		t.Fatalf("tenant create: %s", out)
	}
	var tenants []map[string]any
	mustJSON(t, &tenants, env, "tenant", "list", "--output", "json")
	if len(tenants) != 1 || tenants[0]["issuer"] != "http://localhost:8080/t/acme" {
		t.Fatalf("tenant list: %v", tenants)
	}
	must(t, env, "api", "create", "api.bank.example", "--tenant", "acme", "--id", "bank", "--name", "Bank")
	must(t, env, "api", "create", "api.health.example", "--tenant", "acme", "--alg", "RS256", "--ttl", "10m")
	// Flags after the positional argument work too.
	must(t, env, "scope", "create", "read:tx", "--tenant", "acme", "--api", "api.bank.example", "--description", "Read transactions.")
	must(t, env, "scope", "create", "--tenant", "acme", "write:tx", "--api", "bank", "--description", "Write transactions.", "--implies", "read:tx")

	var created map[string]any
	mustJSON(t, &created, env, "app", "create", "job", "--tenant", "acme", "--type", "m2m", "--scopes", "read:tx", "--output", "json")
	if s, _ := created["client_secret"].(string); len(s) < 43 {
		t.Fatalf("app create must show the secret once: %v", created)
	}
	if out := must(t, env, "app", "allow", "job", "write:tx", "users:read", "--tenant", "acme"); !strings.Contains(out, "read:tx users:read write:tx") {
		t.Fatalf("allow: %s", out)
	}
	if out := must(t, env, "app", "disallow", "job", "users:read", "--tenant", "acme"); !strings.Contains(out, "read:tx write:tx") {
		t.Fatalf("disallow: %s", out)
	}

	out = must(t, env, "explain", "--tenant", "acme", "--client", "job", "--audience", "api.bank.example", "--scope", "write:tx")
	for _, want := range []string{"write:tx", "granted", "read:tx", "implied", `token with scope "read:tx write:tx"`} {
		if !strings.Contains(out, want) {
			t.Errorf("explain table lacks %q:\n%s", want, out)
		}
	}
	var ex struct {
		Granted []string `json:"granted"`
		Error   *struct {
			Code string `json:"error"`
		} `json:"error"`
		Results []struct {
			Scope, Reason string
		} `json:"results"`
	}
	mustJSON(t, &ex, env, "explain", "--tenant", "acme", "--client", "job", "--scope", "write:tx", "--audience", "api.bank.example", "--output", "json")
	if len(ex.Granted) != 2 || ex.Error != nil {
		t.Fatalf("explain json: %+v", ex)
	}
	mustJSON(t, &ex, env, "explain", "--tenant", "acme", "--client", "job", "--scope", "read:records", "--output", "json")
	if ex.Error == nil || ex.Error.Code != "invalid_scope" {
		t.Fatalf("strict app asking beyond its allowlist: %+v", ex)
	}

	if out := must(t, env, "scope", "list", "--tenant", "acme", "--kind", "custom"); !strings.Contains(out, "read:tx") || !strings.Contains(out, "page 1 of 1 (2 scopes)") {
		t.Fatalf("scope list: %s", out)
	}
	must(t, env, "scope", "update", "read:tx", "--tenant", "acme", "--description", "Read every transaction.")
	must(t, env, "scope", "rename", "read:tx", "view:tx", "--tenant", "acme")
	if out := must(t, env, "app", "get", "job", "--tenant", "acme"); !strings.Contains(out, "view:tx write:tx") {
		t.Fatalf("rename must follow into the allowlist: %s", out)
	}
	if out := must(t, env, "scope", "impact", "view:tx", "--tenant", "acme"); !strings.Contains(out, "1: job") {
		t.Fatalf("impact: %s", out)
	}
	if out := must(t, env, "scope", "delete", "view:tx", "--tenant", "acme"); !strings.Contains(out, "removed from 1 application(s): job") {
		t.Fatalf("delete: %s", out)
	}
	if out := must(t, env, "app", "set-scopes", "job", "--tenant", "acme"); !strings.Contains(out, "allowed scopes: -") {
		t.Fatalf("set-scopes with none: %s", out)
	}
	if out := must(t, env, "app", "rotate-secret", "job", "--tenant", "acme", "--grace", "1h"); !strings.Contains(out, "client_secret") {
		t.Fatalf("rotate-secret: %s", out)
	}
	if out := must(t, env, "keys", "rotate", "--tenant", "acme"); strings.Count(out, "current") != 2 || !strings.Contains(out, "previous") {
		t.Fatalf("keys rotate: %s", out)
	}
	if out := must(t, env, "app", "list", "--tenant", "acme"); !strings.Contains(out, "job") {
		t.Fatalf("app list: %s", out)
	}
	if out := must(t, env, "api", "list", "--tenant", "acme"); !strings.Contains(out, "api.health.example") || !strings.Contains(out, "/t/acme/api/v1") {
		t.Fatalf("api list: %s", out)
	}
	must(t, env, "app", "delete", "job", "--tenant", "acme")
	must(t, env, "scope", "delete", "write:tx", "--tenant", "acme")
	must(t, env, "api", "delete", "bank", "--tenant", "acme")
}

func TestAdminErrors(t *testing.T) {
	env := adminEnv(t)
	must(t, env, "tenant", "create", "acme", "--issuer", "http://localhost:8080/t/acme")
	cases := []struct {
		name     string
		args     []string
		code     int
		mentions []string
	}{
		{"missing --tenant", []string{"scope", "list"}, 2, []string{"--tenant is required"}},
		{"every scope problem at once", []string{"scope", "create", "9x", "--tenant", "acme"}, 1, []string{"invalid input", "name:", "description:", "api:"}},
		{"unknown scope in allowlist", []string{"app", "create", "j", "--tenant", "acme", "--type", "m2m", "--scopes", "nope:a nope:b"}, 1, []string{"nope:a nope:b"}},
		{"predefined scope cannot be deleted", []string{"scope", "delete", "openid", "--tenant", "acme"}, 1, []string{"predefined", "cannot be deleted"}},
		{"platform API cannot be deleted", []string{"api", "delete", "platform", "--tenant", "acme"}, 1, []string{"cannot be deleted"}},
		{"unknown tenant", []string{"scope", "list", "--tenant", "nope"}, 1, []string{`tenant "nope"`, "not found"}},
		{"http issuer off loopback", []string{"tenant", "create", "x", "--issuer", "http://auth.example.com/t/x"}, 1, []string{"http:// off loopback"}},
		{"type is required", []string{"app", "create", "--tenant", "acme"}, 2, []string{"--type is required"}},
		{"bad output", []string{"tenant", "list", "--output", "yaml"}, 2, []string{"table or json"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, env, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tc.code, errOut)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(errOut, m) {
					t.Errorf("stderr lacks %q:\n%s", m, errOut)
				}
			}
		})
	}
	// Without a master key, commands that seal keys explain how to get one.
	noKey := map[string]string{"INTELLIAUTH_DATA_DIR": t.TempDir()}
	code, _, errOut := runCLI(t, noKey, "tenant", "create", "x", "--issuer", "https://a.example/t/x")
	if code != 1 || !strings.Contains(errOut, "intelliauth keys master") {
		t.Fatalf("no master key: exit %d %s", code, errOut)
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	env := adminEnv(t)
	must(t, env, "tenant", "create", "acme", "--issuer", "https://auth.example.com/t/acme")
	if out := must(t, env, "tenant", "list"); !strings.Contains(out, "acme") {
		t.Fatalf("env data dir: %s", out)
	}
	if out := must(t, env, "tenant", "list", "--data-dir", t.TempDir()); strings.Contains(out, "acme") {
		t.Fatalf("--data-dir must override %s: %s", "INTELLIAUTH_DATA_DIR", out)
	}
}
