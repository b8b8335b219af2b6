package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/api"
	"github.com/intelliauth/intelliauth/internal/model"
)

// routeCase is one call of a route in the table test: a concrete path
// (relative to /api/v1) and body that succeed with the route's scope.
type routeCase struct {
	route  string // "METHOD /api/v1/pattern", as registered
	path   string
	body   any
	header []string
	want   int
	// asUser makes the call that must succeed with a token from alice's
	// sign-in (me:* routes act for a user) instead of client credentials.
	asUser bool
}

// seedTable creates what the table's destructive cases act on.
func seedTable(t *testing.T, e *env) {
	t.Helper()
	ctx, a, cli := context.Background(), e.Env.Admin, admin.CLI()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.CreateScope(ctx, cli, e.Tenant, admin.ScopeInput{Name: "tbl:delete", Description: "Deleted by the table.", API: "api.banking.example.com"}))
	must(a.CreateScope(ctx, cli, e.Tenant, admin.ScopeInput{Name: "tbl:rename", Description: "Renamed by the table.", API: "api.banking.example.com"}))
	must(a.CreateAPI(ctx, cli, e.Tenant, admin.APIInput{ID: "api_tbl", Identifier: "api.tbl.example.com"}))
	must(a.CreateApplication(ctx, cli, e.Tenant, admin.ApplicationInput{ClientID: "tbl-delete", Type: model.AppM2M}))
	must(a.CreateRole(ctx, cli, e.Tenant, admin.RoleInput{Name: "tbl-delete"}))
	must(a.CreateGroup(ctx, cli, e.Tenant, admin.GroupInput{Name: "tellers", Roles: []string{"teller"}}))
	must(a.CreateGroup(ctx, cli, e.Tenant, admin.GroupInput{Name: "tbl-delete"}))
	e.CreateUser(t, e.Tenant, model.User{Username: "carol", Email: "carol@example.com"}, "carol's long passphrase")
	for _, u := range []string{e.People.Alice.ID, e.People.Bob.ID} {
		if _, err := e.Store.Consents().Grant(ctx, e.Tenant, u, "banking-spa", []string{"openid", "read:transactions"}); err != nil {
			t.Fatal(err)
		}
	}
	e.Server.Catalog().Invalidate(e.Tenant)
}

// tableCases calls every route once; the order matters only where a case
// acts on what an earlier one made.
func tableCases(e *env) []routeCase {
	P := api.Prefix
	star := []string{"If-Match", "*"}
	return []routeCase{
		{route: "GET " + P + "/openapi.json", path: "/openapi.json", want: 200},

		{route: "GET " + P + "/scopes", path: "/scopes?kind=custom", want: 200},
		{route: "POST " + P + "/scopes", path: "/scopes", body: map[string]any{"name": "tbl:new", "description": "Made by the table.", "api": "api.banking.example.com"}, want: 201},
		{route: "GET " + P + "/scopes/{name}", path: "/scopes/read:transactions", want: 200},
		{route: "PATCH " + P + "/scopes/{name}", path: "/scopes/read:transactions", body: map[string]any{"display_name": "Transactions"}, header: star, want: 200},
		{route: "DELETE " + P + "/scopes/{name}", path: "/scopes/tbl:delete", want: 200},
		{route: "POST " + P + "/scopes/{name}/rename", path: "/scopes/tbl:rename/rename", body: map[string]any{"new_name": "tbl:renamed"}, want: 200},
		{route: "GET " + P + "/scopes/{name}/impact", path: "/scopes/read:transactions/impact", want: 200},

		{route: "GET " + P + "/apis", path: "/apis", want: 200},
		{route: "POST " + P + "/apis", path: "/apis", body: map[string]any{"identifier": "api.tbl-new.example.com"}, want: 201},
		{route: "GET " + P + "/apis/{id}", path: "/apis/" + e.Bank.Bank.ID, want: 200},
		{route: "PATCH " + P + "/apis/{id}", path: "/apis/api.health.example.com", body: map[string]any{"name": "Health"}, header: star, want: 200},
		{route: "DELETE " + P + "/apis/{id}", path: "/apis/api_tbl", want: 204},

		{route: "GET " + P + "/applications", path: "/applications?per_page=2", want: 200},
		{route: "POST " + P + "/applications", path: "/applications", body: map[string]any{"client_id": "tbl-new", "type": "m2m"}, want: 201},
		{route: "GET " + P + "/applications/{client_id}", path: "/applications/legacy-batch", want: 200},
		{route: "PATCH " + P + "/applications/{client_id}", path: "/applications/legacy-batch", body: map[string]any{"name": "Legacy"}, header: star, want: 200},
		{route: "DELETE " + P + "/applications/{client_id}", path: "/applications/tbl-delete", want: 204},
		{route: "GET " + P + "/applications/{client_id}/allowed-scopes", path: "/applications/legacy-batch/allowed-scopes", want: 200},
		{route: "PUT " + P + "/applications/{client_id}/allowed-scopes", path: "/applications/legacy-batch/allowed-scopes", body: map[string]any{"allowed_scopes": []string{"read:transactions", "write:settings"}}, header: star, want: 200},
		{route: "PATCH " + P + "/applications/{client_id}/allowed-scopes", path: "/applications/legacy-batch/allowed-scopes", body: map[string]any{"add": []string{"payments:approve"}}, header: star, want: 200},
		{route: "POST " + P + "/applications/{client_id}/secret", path: "/applications/tbl-new/secret", body: map[string]any{"grace_period": "1h"}, want: 200},
		{route: "POST " + P + "/explain", path: "/explain", body: map[string]any{"client_id": "reporting-job", "scope": "read:transactions", "audience": "api.banking.example.com"}, want: 200},

		{route: "GET " + P + "/users", path: "/users?q=a", want: 200},
		{route: "POST " + P + "/users", path: "/users", body: map[string]any{"username": "dave", "password": "dave's long passphrase", "roles": []string{"teller"}}, want: 201},
		{route: "GET " + P + "/users/{user}", path: "/users/alice", want: 200},
		{route: "PATCH " + P + "/users/{user}", path: "/users/bob", body: map[string]any{"name": "Robert Brown"}, header: star, want: 200},
		{route: "DELETE " + P + "/users/{user}", path: "/users/carol", want: 204},
		{route: "POST " + P + "/users/{user}/disable", path: "/users/bob/disable", want: 200},
		{route: "POST " + P + "/users/{user}/enable", path: "/users/bob/enable", want: 200},
		{route: "POST " + P + "/users/{user}/password", path: "/users/bob/password", body: map[string]any{"password": "bob's new long passphrase"}, want: 204},
		{route: "GET " + P + "/users/{user}/consents", path: "/users/bob/consents", want: 200},
		{route: "DELETE " + P + "/users/{user}/consents/{client_id}", path: "/users/bob/consents/banking-spa", want: 204},
		{route: "GET " + P + "/users/{user}/mfa", path: "/users/bob/mfa", want: 200},
		{route: "DELETE " + P + "/users/{user}/mfa", path: "/users/bob/mfa", want: 200},

		{route: "GET " + P + "/groups", path: "/groups", want: 200},
		{route: "POST " + P + "/groups", path: "/groups", body: map[string]any{"name": "managers", "roles": []string{"manager"}}, want: 201},
		{route: "GET " + P + "/groups/{group}", path: "/groups/tellers", want: 200},
		{route: "PATCH " + P + "/groups/{group}", path: "/groups/tellers", body: map[string]any{"description": "Tellers of every branch."}, header: star, want: 200},
		{route: "DELETE " + P + "/groups/{group}", path: "/groups/tbl-delete", want: 204},
		{route: "PUT " + P + "/groups/{group}/members/{user}", path: "/groups/tellers/members/bob", want: 200},
		{route: "DELETE " + P + "/groups/{group}/members/{user}", path: "/groups/tellers/members/bob", want: 200},

		{route: "GET " + P + "/settings/mfa", path: "/settings/mfa", want: 200},
		{route: "PUT " + P + "/settings/mfa", path: "/settings/mfa", body: map[string]any{"policy": "off"}, header: star, want: 200},
		{route: "GET " + P + "/settings/audit-retention", path: "/settings/audit-retention", want: 200},
		{route: "PUT " + P + "/settings/audit-retention", path: "/settings/audit-retention", body: map[string]any{"issuance_days": 30}, want: 200},

		{route: "GET " + P + "/roles", path: "/roles", want: 200},
		{route: "POST " + P + "/roles", path: "/roles", body: map[string]any{"name": "reader", "scopes": []string{"read:transactions"}}, want: 201},
		{route: "GET " + P + "/roles/{role}", path: "/roles/teller", want: 200},
		{route: "PATCH " + P + "/roles/{role}", path: "/roles/teller", body: map[string]any{"description": "Reads transactions at the counter."}, header: star, want: 200},
		{route: "DELETE " + P + "/roles/{role}", path: "/roles/tbl-delete", want: 204},
		{route: "PUT " + P + "/roles/{role}/users/{user}", path: "/roles/teller/users/alice", want: 200},
		{route: "DELETE " + P + "/roles/{role}/users/{user}", path: "/roles/teller/users/alice", want: 200},

		{route: "GET " + P + "/audit", path: "/audit?type=oauth.token_issued&limit=5", want: 200},
		{route: "GET " + P + "/reports/scope-usage", path: "/reports/scope-usage?window=7d", want: 200},

		// me:* act for the signed-in user: the call that succeeds uses
		// alice's token (a client-credentials token is 403, me_test.go).
		{route: "GET " + P + "/me/profile", path: "/me/profile", asUser: true, want: 200},
		{route: "PATCH " + P + "/me/profile", path: "/me/profile", body: map[string]any{"name": "Alice A. Adams"}, header: star, asUser: true, want: 200},
		{route: "GET " + P + "/me/consents", path: "/me/consents", asUser: true, want: 200},
		{route: "DELETE " + P + "/me/consents/{client_id}", path: "/me/consents/banking-spa", asUser: true, want: 204},
		{route: "DELETE " + P + "/me/consents", path: "/me/consents", asUser: true, want: 200},
		{route: "GET " + P + "/me/sessions", path: "/me/sessions", asUser: true, want: 200},
		{route: "DELETE " + P + "/me/sessions/{id}", path: "/me/sessions/no-such-session", asUser: true, want: 404},
		{route: "DELETE " + P + "/me/sessions", path: "/me/sessions", asUser: true, want: 200},
		{route: "GET " + P + "/me/mfa", path: "/me/mfa", asUser: true, want: 200},
		{route: "POST " + P + "/me/mfa/totp", path: "/me/mfa/totp", body: map[string]any{"name": "Table phone"}, asUser: true, want: 201},
		{route: "POST " + P + "/me/mfa/totp/{id}/confirm", path: "/me/mfa/totp/mfa_none/confirm", body: map[string]any{"code": "123456"}, asUser: true, want: 404},
		{route: "PATCH " + P + "/me/mfa/{id}", path: "/me/mfa/mfa_none", body: map[string]any{"name": "Renamed"}, asUser: true, want: 404},
		{route: "DELETE " + P + "/me/mfa/{id}", path: "/me/mfa/mfa_none", asUser: true, want: 404},
		// Alice has no confirmed factor: nothing to stand in for.
		{route: "POST " + P + "/me/mfa/recovery-codes", path: "/me/mfa/recovery-codes", asUser: true, want: 409},
		// The node is on 127.0.0.1: no WebAuthn relying party there.
		{route: "POST " + P + "/me/mfa/webauthn/register", path: "/me/mfa/webauthn/register", asUser: true, want: 409},
		{route: "POST " + P + "/me/mfa/webauthn/register/finish", path: "/me/mfa/webauthn/register/finish", body: map[string]any{"challenge_id": "wac_none", "credential": map[string]any{}}, asUser: true, want: 400},
		// Last: it changes alice's password.
		{route: "POST " + P + "/me/password", path: "/me/password", body: map[string]any{"current_password": e.People.Alice.Password, "new_password": "alice's brand new passphrase"}, asUser: true, want: 204},
	}
}

// withoutScope returns every platform scope except scope and, for a read
// scope, its write scope (which implies it at issuance).
func withoutScope(scope string) []string {
	var out []string
	write := strings.TrimSuffix(scope, ":read") + ":write"
	for _, s := range model.PlatformScopeNames() {
		if s != scope && s != write {
			out = append(out, s)
		}
	}
	return out
}

// TestEveryRouteRFC6750 calls every route with no token (401, a challenge
// without an error code, RFC 6750 §3.1), a token lacking the route's scope
// (403 insufficient_scope naming it, §3.1), a token of another tenant that
// holds every platform scope (401 invalid_token: never data), and a token
// with only the route's scope (its normal 2xx).
func TestEveryRouteRFC6750(t *testing.T) {
	e := newEnv(t)
	seedTable(t, e)
	other := "globex"
	e.Seed(t, other)
	otherClient := e.platformClient(t, other, "platform-admin")
	otherIssuer := e.Env.Issuer(other)
	otherToken := e.clientToken(t, otherIssuer, otherClient, otherIssuer+admin.PlatformAPIPath, model.PlatformScopeNames()...)

	routes := map[string]api.Route{}
	for _, r := range (&api.Handler{}).Routes() {
		routes[r.Method+" "+r.Path] = r
	}
	covered := map[string]bool{}
	for _, c := range tableCases(e) {
		r, ok := routes[c.route]
		if !ok {
			t.Fatalf("table names %s, which is not registered", c.route)
		}
		covered[c.route] = true
		method := r.Method
		t.Run(c.route, func(t *testing.T) {
			if r.Scope != "" {
				// No token: 401 with a bare challenge (RFC 6750 §3.1: no error code).
				res := e.call(t, method, c.path, "", c.body, c.header...).want(t, 401)
				ch := res.Header.Get("WWW-Authenticate")
				if !strings.HasPrefix(ch, `Bearer realm="`+e.Issuer+`"`) || strings.Contains(ch, "error=") {
					t.Errorf("RFC 6750 §3.1 challenge without a token = %q", ch)
				}
				// Every other platform scope: 403 naming this one.
				res = e.call(t, method, c.path, e.token(t, withoutScope(r.Scope)...), c.body, c.header...).want(t, 403)
				p := res.problem(t)
				ch = res.Header.Get("WWW-Authenticate")
				if p.Error != "insufficient_scope" || p.Scope != r.Scope || !strings.Contains(p.Detail, r.Scope) ||
					!strings.Contains(ch, `error="insufficient_scope"`) || !strings.Contains(ch, `scope="`+r.Scope+`"`) {
					t.Errorf("RFC 6750 §3.1 insufficient_scope: problem %+v challenge %q, want scope %s named", p, ch, r.Scope)
				}
				// Another tenant's token with every scope: 401, nothing read.
				res = e.call(t, method, c.path, otherToken, c.body, c.header...).want(t, 401)
				if p := res.problem(t); p.Error != "invalid_token" || !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Errorf("other tenant's token: %+v %q", p, res.Header.Get("WWW-Authenticate"))
				}
			}
			tok := ""
			switch {
			case r.Scope != "" && c.asUser:
				tok = e.aliceToken(t, r.Scope)
			case r.Scope != "":
				tok = e.token(t, r.Scope)
			}
			e.call(t, method, c.path, tok, c.body, c.header...).want(t, c.want)
		})
	}
	var missing []string
	for k := range routes {
		if !covered[k] {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("routes the table does not call: %s", strings.Join(missing, ", "))
	}
}

// TestInvalidTokensRFC6750 covers the ways a bearer token is refused with
// 401 invalid_token (RFC 6750 §3.1) or, without usable credentials, a bare
// challenge.
func TestInvalidTokensRFC6750(t *testing.T) {
	e := newEnv(t)
	good := e.token(t, "scopes:read")
	bankToken := e.clientToken(t, e.Issuer, e.Bank.Reporting, "api.banking.example.com", "read:transactions")
	revoked := e.clientToken(t, e.Issuer, e.Admin, e.PlatformAudience, "scopes:read")
	revoke(t, e, revoked)

	cases := []struct {
		name     string
		header   []string
		path     string
		withCode bool
	}{
		{name: "RFC 6750 §3.1 wrong audience (a token for another API) → invalid_token", header: []string{"Authorization", "Bearer " + bankToken}, withCode: true},
		{name: "RFC 6750 §3.1 malformed token → invalid_token", header: []string{"Authorization", "Bearer not.a.jwt"}, withCode: true},
		{name: "RFC 6750 §3.1 tampered signature → invalid_token", header: []string{"Authorization", "Bearer " + good[:len(good)-4] + "AAAA"}, withCode: true},
		{name: "RFC 7009 revoked token → invalid_token", header: []string{"Authorization", "Bearer " + revoked}, withCode: true},
		{name: "RFC 6750 §2.1 Basic scheme is no bearer token → bare challenge", header: []string{"Authorization", "Basic dXNlcjpwdw=="}},
		{name: "RFC 6750 §2.3 token in the query is not accepted → bare challenge", path: "?access_token=" + good},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := e.callInvalid(t, "GET", "/scopes"+c.path, "", nil, c.header...).want(t, 401)
			p := res.problem(t)
			ch := res.Header.Get("WWW-Authenticate")
			if got := strings.Contains(ch, `error="invalid_token"`); got != c.withCode {
				t.Errorf("challenge %q: error code present = %v, want %v", ch, got, c.withCode)
			}
			if p.Error != "invalid_token" || p.Status != 401 || p.Detail == "" {
				t.Errorf("problem %+v", p)
			}
		})
	}
	t.Run("RFC 9068 §4 expired token → invalid_token", func(t *testing.T) {
		e.Clock.Advance(2 * 3600 * 1e9)
		defer e.Clock.Advance(-2 * 3600 * 1e9)
		res := e.call(t, "GET", "/scopes", good, nil).want(t, 401)
		if !strings.Contains(res.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("challenge %q", res.Header.Get("WWW-Authenticate"))
		}
	})
}

// revoke revokes an access token at the RFC 7009 endpoint as its client.
func revoke(t *testing.T, e *env, tok string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "POST", e.Issuer+"/oauth2/revoke", strings.NewReader("token="+tok))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(e.Admin.ID, e.Admin.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
}
