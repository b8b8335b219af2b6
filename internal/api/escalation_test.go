package api_test

import (
	"slices"
	"strings"
	"testing"
)

// Issue 9, defect 4: "applications:write is equivalent to every platform
// scope". An M2M client allowed only applications:write added users:write
// roles:write audit:read scopes:write to its own allowlist and got them,
// and rotated any other client's secret and acted as it. PRODUCT.md §4: no
// caller can grant through the API (allowlists, roles, memberships) a
// platform scope it does not hold — nor take over an application or user
// holding one. Each refusal is RFC 6750 §3.1 403 insufficient_scope naming
// the missing scopes, and writes nothing.

// wantEscalationRefused checks the 403 of the escalation rule: the problem
// and the challenge name exactly the missing scopes, the detail says what
// to do.
func wantEscalationRefused(t *testing.T, r *response, missing ...string) {
	t.Helper()
	r.want(t, 403)
	p := r.problem(t)
	want := strings.Join(missing, " ")
	if p.Error != "insufficient_scope" || p.Type != "urn:intelliauth:problem:insufficient_scope" || p.Scope != want {
		t.Errorf("%s: problem %+v, want insufficient_scope with scope %q", r.what, p, want)
	}
	for _, m := range missing {
		if !strings.Contains(p.Detail, m) {
			t.Errorf("%s: detail %q does not name %s", r.what, p.Detail, m)
		}
	}
	if !strings.Contains(p.Detail, "use a token that carries") {
		t.Errorf("%s: detail %q does not say what to do", r.what, p.Detail)
	}
	ch := r.Header.Get("WWW-Authenticate")
	if !strings.Contains(ch, `error="insufficient_scope"`) || !strings.Contains(ch, `scope="`+want+`"`) {
		t.Errorf("%s: RFC 6750 §3 challenge %q, want insufficient_scope with scope %q", r.what, ch, want)
	}
}

// allowlistOf reads an application's allowlist.
func (e *env) allowlistOf(t *testing.T, clientID string) []string {
	t.Helper()
	var l struct {
		AllowedScopes []string `json:"allowed_scopes"`
	}
	e.call(t, "GET", "/applications/"+clientID+"/allowed-scopes", e.token(t, "applications:read"), nil).want(t, 200).decode(t, &l)
	return l.AllowedScopes
}

// TestPlatformScopeEscalationApplicationsWriteIsNotEveryScope reproduces the
// attack end to end over HTTP with a real client-credentials token.
func TestPlatformScopeEscalationApplicationsWriteIsNotEveryScope(t *testing.T) {
	e := newEnv(t)
	var created struct {
		ClientSecret string `json:"client_secret"`
	}
	e.call(t, "POST", "/applications", e.token(t, "applications:write"), map[string]any{
		"client_id": "ops-script", "type": "m2m", "allowed_scopes": []string{"applications:write"}}).want(t, 201).decode(t, &created)
	e.Server.Catalog().Invalidate(e.Tenant)
	ops := e.clientToken(t, e.Issuer, clientOf("ops-script", created.ClientSecret), e.PlatformAudience, "applications:write")

	t.Run("adding users:write roles:write audit:read scopes:write to its own allowlist → 403 naming them", func(t *testing.T) {
		r := e.call(t, "PATCH", "/applications/ops-script/allowed-scopes", ops,
			map[string]any{"add": []string{"users:write", "roles:write", "audit:read", "scopes:write"}}, "If-Match", "*")
		wantEscalationRefused(t, r, "audit:read", "roles:write", "scopes:write", "users:write")
		r = e.call(t, "PATCH", "/applications/ops-script/allowed-scopes", ops, map[string]any{"add": []string{"users:write"}}, "If-Match", "*")
		wantEscalationRefused(t, r, "users:write")
		r = e.call(t, "PUT", "/applications/ops-script/allowed-scopes", ops,
			map[string]any{"allowed_scopes": []string{"applications:write", "users:read"}}, "If-Match", "*")
		wantEscalationRefused(t, r, "users:read")
		if got := e.allowlistOf(t, "ops-script"); !slices.Equal(got, []string{"applications:write"}) {
			t.Errorf("allowlist after the refusals = %v, want it unchanged", got)
		}
	})
	t.Run("creating an application allowed users:write → 403", func(t *testing.T) {
		r := e.call(t, "POST", "/applications", ops, map[string]any{"client_id": "sock-puppet", "type": "m2m",
			"allowed_scopes": []string{"read:transactions", "users:write"}})
		wantEscalationRefused(t, r, "users:write")
		e.call(t, "GET", "/applications/sock-puppet", e.token(t, "applications:read"), nil).want(t, 404)
	})
	t.Run("rotating the secret of admin-tool → 403; its secret still works", func(t *testing.T) {
		r := e.call(t, "POST", "/applications/admin-tool/secret", ops, map[string]any{"grace_period": "0s"})
		wantEscalationRefused(t, r, "audit:read", "users:write")
		r = e.call(t, "POST", "/applications/platform-admin/secret", ops, map[string]any{"grace_period": "0s"})
		if r.want(t, 403); !strings.Contains(r.problem(t).Scope, "roles:write") {
			t.Errorf("rotating platform-admin: %s", r.Body)
		}
		// platform-admin's secret was not replaced: it still gets tokens.
		e.clientToken(t, e.Issuer, e.Admin, e.PlatformAudience, "users:read")
	})
	t.Run("changing, or deleting and re-creating, admin-tool → 403", func(t *testing.T) {
		r := e.call(t, "PATCH", "/applications/admin-tool", ops,
			map[string]any{"redirect_uris": []string{"https://attacker.example/cb"}}, "If-Match", "*")
		wantEscalationRefused(t, r, "audit:read", "users:write")
		r = e.call(t, "DELETE", "/applications/admin-tool", ops, nil, "If-Match", "*")
		wantEscalationRefused(t, r, "audit:read", "users:write")
		var a struct {
			RedirectURIs []string `json:"redirect_uris"`
		}
		e.call(t, "GET", "/applications/admin-tool", e.token(t, "applications:read"), nil).want(t, 200).decode(t, &a)
		if slices.Contains(a.RedirectURIs, "https://attacker.example/cb") {
			t.Errorf("admin-tool's redirect URIs changed: %v", a.RedirectURIs)
		}
	})
	t.Run("allowed: custom, implied and held scopes, removals, applications without foreign platform scopes", func(t *testing.T) {
		// applications:read is implied by applications:write; read:transactions
		// is a custom scope; me:read needs no role (PRODUCT.md §1).
		e.call(t, "PATCH", "/applications/ops-script/allowed-scopes", ops,
			map[string]any{"add": []string{"applications:read", "read:transactions", "me:read"}}, "If-Match", "*").want(t, 200)
		e.call(t, "PATCH", "/applications/ops-script/allowed-scopes", ops,
			map[string]any{"remove": []string{"read:transactions", "me:read"}}, "If-Match", "*").want(t, 200)
		// Removing a platform scope it lacks from another application is fine.
		e.call(t, "PATCH", "/applications/admin-tool/allowed-scopes", ops,
			map[string]any{"remove": []string{"audit:read"}}, "If-Match", "*").want(t, 200)
		e.call(t, "POST", "/applications", ops, map[string]any{"client_id": "ops-spa", "type": "spa",
			"redirect_uris": []string{"https://ops.example/cb"}, "allowed_scopes": []string{"openid", "applications:read", "me:read", "read:transactions"}}).want(t, 201)
		e.call(t, "POST", "/applications/legacy-batch/secret", ops, map[string]any{"grace_period": "1h"}).want(t, 200)
		e.call(t, "POST", "/applications/ops-script/secret", ops, map[string]any{"grace_period": "1h"}).want(t, 200)
		e.call(t, "PATCH", "/applications/legacy-batch", ops, map[string]any{"name": "Legacy"}, "If-Match", "*").want(t, 200)
		// A caller holding the scopes may grant them.
		e.call(t, "PATCH", "/applications/ops-script/allowed-scopes", e.token(t, "applications:write", "users:write"),
			map[string]any{"add": []string{"users:write"}}, "If-Match", "*").want(t, 200)
	})
}

// TestPlatformScopeEscalationRolesGroupsUsers: the same rule for roles,
// role assignments, groups, memberships, new users and passwords.
func TestPlatformScopeEscalationRolesGroupsUsers(t *testing.T) {
	e := newEnv(t)
	roles := e.token(t, "roles:write")
	t.Run("roles:write without audit:read adds audit:read to a role → 403", func(t *testing.T) {
		r := e.call(t, "PATCH", "/roles/teller", roles, map[string]any{"scopes": []string{"read:transactions", "audit:read"}}, "If-Match", "*")
		wantEscalationRefused(t, r, "audit:read")
		r = e.call(t, "POST", "/roles", roles, map[string]any{"name": "auditor", "scopes": []string{"audit:read"}})
		wantEscalationRefused(t, r, "audit:read")
		r = e.call(t, "PUT", "/roles/admin/users/bob", roles, nil)
		wantEscalationRefused(t, r, "applications:write", "audit:read", "groups:write", "resources:write", "scopes:write", "users:write")
		// A signed-in user's token is held to the same rule.
		r = e.call(t, "PUT", "/roles/admin/users/bob", e.aliceToken(t, "roles:write"), nil)
		wantEscalationRefused(t, r, "applications:write", "audit:read", "groups:write", "resources:write", "scopes:write", "users:write")
	})
	t.Run("allowed: with audit:read, custom scopes, me:*, roles:read, removals", func(t *testing.T) {
		e.call(t, "PATCH", "/roles/teller", e.token(t, "roles:write", "audit:read"),
			map[string]any{"scopes": []string{"read:transactions", "audit:read"}}, "If-Match", "*").want(t, 200)
		e.call(t, "PATCH", "/roles/teller", roles,
			map[string]any{"scopes": []string{"read:transactions", "write:settings", "me:read"}}, "If-Match", "*").want(t, 200)
		e.call(t, "POST", "/roles", roles, map[string]any{"name": "role-reader", "scopes": []string{"roles:read"}}).want(t, 201)
		e.call(t, "POST", "/roles", roles, map[string]any{"name": "clerk", "scopes": []string{"read:transactions"}}).want(t, 201)
		e.call(t, "PUT", "/roles/clerk/users/bob", roles, nil).want(t, 200)
		e.call(t, "DELETE", "/roles/admin/users/alice", roles, nil).want(t, 200)
	})
	t.Run("groups:write: a group giving admin, and joining it → 403", func(t *testing.T) {
		groups := e.token(t, "groups:write")
		r := e.call(t, "POST", "/groups", groups, map[string]any{"name": "admins", "roles": []string{"admin"}})
		wantEscalationRefused(t, r, "applications:write", "audit:read", "resources:write", "roles:write", "scopes:write", "users:write")
		e.call(t, "POST", "/groups", e.token(t, "groups:write", "roles:write", "users:write", "applications:write", "audit:read", "resources:write", "scopes:write"),
			map[string]any{"name": "admins", "roles": []string{"admin"}}).want(t, 201)
		r = e.call(t, "PUT", "/groups/admins/members/bob", groups, nil)
		wantEscalationRefused(t, r, "applications:write", "audit:read", "resources:write", "roles:write", "scopes:write", "users:write")
		e.call(t, "POST", "/groups", groups, map[string]any{"name": "clerks", "roles": []string{"clerk"}}).want(t, 201)
		e.call(t, "PUT", "/groups/clerks/members/bob", groups, nil).want(t, 200)
		r = e.call(t, "PATCH", "/groups/clerks", groups, map[string]any{"roles": []string{"clerk", "admin"}}, "If-Match", "*")
		wantEscalationRefused(t, r, "applications:write", "audit:read", "resources:write", "roles:write", "scopes:write", "users:write")
	})
	t.Run("users:write: a new admin, or the password of one → 403", func(t *testing.T) {
		users := e.token(t, "users:write")
		r := e.call(t, "POST", "/users", users, map[string]any{"username": "mallory", "password": "mallory's long passphrase", "roles": []string{"admin"}})
		wantEscalationRefused(t, r, "applications:write", "audit:read", "groups:write", "resources:write", "roles:write", "scopes:write")
		// alice holds admin again, through the group: whoever sets her
		// password has her platform scopes.
		e.call(t, "PUT", "/groups/admins/members/alice", e.token(t, "groups:write", "roles:write", "users:write", "applications:write", "audit:read", "resources:write", "scopes:write"), nil).want(t, 200)
		r = e.call(t, "POST", "/users/alice/password", users, map[string]any{"password": "mallory knows this one"})
		wantEscalationRefused(t, r, "applications:write", "audit:read", "groups:write", "resources:write", "roles:write", "scopes:write")
		// bob holds teller, clerk and user: custom scopes and me:* only.
		e.call(t, "POST", "/users/bob/password", users, map[string]any{"password": "bob's new long passphrase"}).want(t, 204)
		e.call(t, "POST", "/users", users, map[string]any{"username": "carol", "password": "carol's long passphrase", "roles": []string{"user", "clerk"}}).want(t, 201)
	})
}
