package main

import (
	"strings"
	"testing"
	"time"
)

// TestMFASettingsCommands drives the settings side of issue 11 through the
// CLI over /api/v1: a scope's --requires-mfa, an application's --mfa, the
// tenant's policy (settings mfa / set-mfa), and explain --mfa. Problems
// name the flag that set the value.
func TestMFASettingsCommands(t *testing.T) {
	n := startAPINode(t)
	env := n.API
	appBankScopes(t, env)

	// Scopes.
	out := must(t, env, "scope", "create", "pay:approve", "--api", "bank", "--description", "Approve payments.", "--requires-mfa")
	if !strings.Contains(out, "created scope pay:approve") || !strings.Contains(out, "second factor") {
		t.Errorf("scope create --requires-mfa:\n%s", out)
	}
	var sc struct {
		RequiresMFA bool `json:"requires_mfa"`
	}
	mustJSON(t, &sc, env, "scope", "get", "pay:approve", "--output", "json")
	if !sc.RequiresMFA {
		t.Fatal("scope get: requires_mfa false after create --requires-mfa")
	}
	if out := must(t, env, "scope", "get", "pay:approve"); !strings.Contains(out, "requires MFA  yes") {
		t.Errorf("scope get table:\n%s", out)
	}
	if out := must(t, env, "scope", "list", "--kind", "custom"); !strings.Contains(out, "MFA") || !strings.Contains(lineOf(out, "pay:approve"), "yes") || !strings.Contains(lineOf(out, "read:tx"), " no ") {
		t.Errorf("scope list has no MFA column:\n%s", out)
	}
	// An update without the flag leaves it; --requires-mfa=false clears it.
	mustJSON(t, &sc, env, "scope", "update", "pay:approve", "--description", "Approve outgoing payments.", "--output", "json")
	if !sc.RequiresMFA {
		t.Error("scope update without --requires-mfa cleared it")
	}
	mustJSON(t, &sc, env, "scope", "update", "pay:approve", "--requires-mfa=false", "--output", "json")
	if sc.RequiresMFA {
		t.Error("scope update --requires-mfa=false left it set")
	}
	must(t, env, "scope", "update", "write:tx", "--requires-mfa")
	mustFail(t, env, 1, []string{"scope", "update", "openid", "--requires-mfa"}, "--requires-mfa", "OpenID Connect")

	// Applications.
	var app struct {
		MFA string `json:"mfa"`
	}
	mustJSON(t, &app, env, "app", "create", "web", "--type", "web", "--redirect-uri", "https://web.example.com/cb", "--consent", "implicit",
		"--scopes", "openid read:tx write:tx", "--mfa", "required", "--output", "json")
	if app.MFA != "required" {
		t.Errorf("app create --mfa required: mfa %q", app.MFA)
	}
	if out := must(t, env, "app", "get", "web"); !strings.Contains(out, "mfa             required") {
		t.Errorf("app get:\n%s", out)
	}
	mustJSON(t, &app, env, "app", "update", "web", "--mfa", "inherit", "--output", "json")
	if app.MFA != "inherit" {
		t.Errorf("app update --mfa inherit: mfa %q", app.MFA)
	}
	mustJSON(t, &app, env, "app", "create", "job", "--type", "m2m", "--output", "json")
	if app.MFA != "inherit" {
		t.Errorf("app create without --mfa: mfa %q, want inherit", app.MFA)
	}
	mustFail(t, env, 1, []string{"app", "update", "web", "--mfa", "sometimes"}, "--mfa", "inherit or required")

	// The tenant's policy.
	if out := must(t, env, "settings", "mfa"); !strings.Contains(out, "policy   optional") {
		t.Errorf("settings mfa:\n%s", out)
	}
	out = must(t, env, "settings", "set-mfa", "--policy", "required", "--grace", "72h")
	if !strings.Contains(out, "policy   required") || !strings.Contains(out, "grace    until ") {
		t.Errorf("settings set-mfa --policy required --grace 72h:\n%s", out)
	}
	var p struct {
		Policy     string     `json:"policy"`
		GraceUntil *time.Time `json:"grace_until"`
		Version    int64      `json:"version"`
	}
	mustJSON(t, &p, env, "settings", "mfa", "--output", "json")
	if p.Policy != "required" || p.GraceUntil == nil || time.Until(*p.GraceUntil) < 71*time.Hour || time.Until(*p.GraceUntil) > 73*time.Hour {
		t.Errorf("settings mfa --output json = %+v, want required for about 72h", p)
	}
	mustFail(t, env, 1, []string{"settings", "set-mfa", "--policy", "sometimes"}, "--policy", "must be off, optional or required")
	mustFail(t, env, 1, []string{"settings", "set-mfa", "--policy", "optional", "--grace", "1h"}, "--grace", "only to the policy required")
	mustFail(t, env, 2, []string{"settings", "set-mfa", "--grace", "1h"}, "--policy is required")
	mustFail(t, env, 1, []string{"settings", "set-mfa", "--policy", "off", "--version", "1"}, "--version given is stale")
	if out := must(t, n.DB, "tenant", "get", "acme"); !strings.Contains(out, "MFA policy     required") || !strings.Contains(out, "MFA grace      until ") {
		t.Errorf("tenant get:\n%s", out)
	}
	must(t, env, "settings", "set-mfa", "--policy", "optional")
	if out := must(t, n.DB, "tenant", "get", "acme"); !strings.Contains(out, "MFA policy     optional") || strings.Contains(out, "MFA grace") {
		t.Errorf("tenant get after optional:\n%s", out)
	}

	// Explain: write:tx requires a second factor now.
	must(t, env, "role", "create", "clerk", "--scopes", "read:tx write:tx")
	createUser(t, env, "alice", "--roles", "clerk")
	out = must(t, env, "explain", "--client", "web", "--audience", "api.bank.example", "--scope", "openid write:tx", "--user", "alice")
	if !strings.Contains(lineOf(out, "write:tx"), "step_up_required") || !strings.Contains(out, "password only") {
		t.Errorf("explain without --mfa:\n%s", out)
	}
	out = must(t, env, "explain", "--client", "web", "--audience", "api.bank.example", "--scope", "openid write:tx", "--user", "alice", "--mfa")
	if !strings.Contains(out, `token with scope "openid read:tx write:tx"`) || !strings.Contains(out, "with a second factor") {
		t.Errorf("explain --mfa:\n%s", out)
	}
	mustFail(t, env, 2, []string{"explain", "--client", "web", "--scope", "read:tx", "--mfa"}, "--user")
}

// lineOf returns the first line of out that starts with prefix (after
// spaces), or "".
func lineOf(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return l + " "
		}
	}
	return ""
}
