package api_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
)

type allowlist struct {
	ClientID      string   `json:"client_id"`
	AllowedScopes []string `json:"allowed_scopes"`
	Version       int64    `json:"version"`
}

type roleDetail struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

// tokenScopes returns the scope claim of an access token (unverified: the
// token endpoint issued it in this test).
func tokenScopes(t *testing.T, raw string) []string {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Scope string `json:"scope"`
	}
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		t.Fatal(err)
	}
	return strings.Fields(c.Scope)
}

// TestScopeLifecycleEndToEnd: create a custom scope → on no allowlist → add
// it to applications (and a role, and a user's consent) → a
// client-credentials token carries it → rename → allowlists, role, consent
// and the next token follow → delete → gone from every application, role
// and consent, and scope.deleted names them (PRODUCT.md §4).
func TestScopeLifecycleEndToEnd(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	adm := e.token(t, "scopes:write", "applications:write", "roles:write")
	bank := "api.banking.example.com"

	// 1. Create.
	e.call(t, "POST", "/scopes", adm, map[string]any{"name": "loans:approve", "display_name": "Approve loans",
		"description": "Approve loan applications.", "api": bank}).want(t, 201)

	// 2. On no allowlist.
	var imp struct {
		Applications []string `json:"applications"`
		Roles        []string `json:"roles"`
		Consents     int      `json:"consents"`
	}
	e.call(t, "GET", "/scopes/loans:approve/impact", adm, nil).want(t, 200).decode(t, &imp)
	if len(imp.Applications)+len(imp.Roles)+imp.Consents != 0 {
		t.Fatalf("a new scope is held already: %+v", imp)
	}
	var apps listDoc[struct {
		ClientID      string   `json:"client_id"`
		AllowedScopes []string `json:"allowed_scopes"`
	}]
	e.call(t, "GET", "/applications?per_page=100", adm, nil).want(t, 200).decode(t, &apps)
	for _, a := range apps.Items {
		if slices.Contains(a.AllowedScopes, "loans:approve") {
			t.Errorf("new scope on %s's allowlist", a.ClientID)
		}
	}

	// 3. Add to reporting-job's and banking-spa's allowlists, to the
	// teller role, and (through the consent page) to bob's consent.
	for _, app := range []string{"reporting-job", "banking-spa"} {
		g := e.call(t, "GET", "/applications/"+app+"/allowed-scopes", adm, nil).want(t, 200)
		var al allowlist
		e.call(t, "PATCH", "/applications/"+app+"/allowed-scopes", adm, map[string]any{"add": []string{"loans:approve"}},
			"If-Match", g.Header.Get("ETag")).want(t, 200).decode(t, &al)
		if !slices.Contains(al.AllowedScopes, "loans:approve") {
			t.Fatalf("%s allowlist after add: %v", app, al.AllowedScopes)
		}
	}
	g := e.call(t, "GET", "/roles/teller", adm, nil).want(t, 200)
	var role roleDetail
	g.decode(t, &role)
	e.call(t, "PATCH", "/roles/teller", adm, map[string]any{"scopes": append(role.Scopes, "loans:approve")}, "If-Match", g.Header.Get("ETag")).want(t, 200)
	b := servertest.NewBrowser(t)
	_, au := e.authorizeURL(t, "banking-spa", servertest.SPARedirectURI, bank, "openid loans:approve")
	page := b.SignIn(e.URL, b.Visit(e.URL, au), e.People.Bob.Username, e.People.Bob.Password)
	if got := page.AskedScopes(t); !slices.Contains(got, "loans:approve") {
		t.Fatalf("consent page asks %v", got)
	}
	if page = b.Consent(e.URL, page, true); page.Location == nil || page.Location.Query().Get("code") == "" {
		t.Fatalf("consent did not redirect with a code: %d %v", page.Status, page.Location)
	}

	// 4. A client-credentials token carries it.
	tok := e.clientToken(t, e.Issuer, e.Bank.Reporting, bank, "loans:approve")
	if got := tokenScopes(t, tok); !slices.Equal(got, []string{"loans:approve"}) {
		t.Fatalf("token scope = %v", got)
	}

	// 5. Rename: allowlists, role, consent and the next token follow.
	e.call(t, "POST", "/scopes/loans:approve/rename", adm, map[string]any{"new_name": "loans:sign"}).want(t, 200)
	for _, app := range []string{"reporting-job", "banking-spa"} {
		var al allowlist
		e.call(t, "GET", "/applications/"+app+"/allowed-scopes", adm, nil).want(t, 200).decode(t, &al)
		if !slices.Contains(al.AllowedScopes, "loans:sign") || slices.Contains(al.AllowedScopes, "loans:approve") {
			t.Errorf("%s allowlist after rename: %v", app, al.AllowedScopes)
		}
	}
	e.call(t, "GET", "/roles/teller", adm, nil).want(t, 200).decode(t, &role)
	if !slices.Contains(role.Scopes, "loans:sign") || slices.Contains(role.Scopes, "loans:approve") {
		t.Errorf("teller after rename: %v", role.Scopes)
	}
	c, err := e.Store.Consents().Get(ctx, e.Tenant, e.People.Bob.ID, "banking-spa")
	if err != nil || !slices.Contains(c.Scopes, "loans:sign") || slices.Contains(c.Scopes, "loans:approve") {
		t.Errorf("bob's consent after rename: %v (%v)", c.Scopes, err)
	}
	if got := tokenScopes(t, e.clientToken(t, e.Issuer, e.Bank.Reporting, bank, "loans:sign")); !slices.Equal(got, []string{"loans:sign"}) {
		t.Errorf("token after rename: %v", got)
	}
	e.call(t, "GET", "/scopes/loans:sign/impact", adm, nil).want(t, 200).decode(t, &imp)
	if !slices.Equal(imp.Applications, []string{"banking-spa", "reporting-job"}) || !slices.Equal(imp.Roles, []string{"teller"}) || imp.Consents != 1 {
		t.Errorf("impact before delete: %+v", imp)
	}

	// 6. Delete: gone from every application, role and consent.
	var del struct {
		Applications []string `json:"applications"`
		Roles        []string `json:"roles"`
		Consents     int      `json:"consents"`
	}
	e.call(t, "DELETE", "/scopes/loans:sign", adm, nil).want(t, 200).decode(t, &del)
	if !slices.Equal(del.Applications, []string{"banking-spa", "reporting-job"}) || !slices.Equal(del.Roles, []string{"teller"}) || del.Consents != 1 {
		t.Errorf("delete answer: %+v", del)
	}
	e.call(t, "GET", "/scopes/loans:sign", adm, nil).want(t, 404)
	e.call(t, "GET", "/applications?per_page=100", adm, nil).want(t, 200).decode(t, &apps)
	for _, a := range apps.Items {
		if slices.Contains(a.AllowedScopes, "loans:sign") {
			t.Errorf("deleted scope still on %s's allowlist", a.ClientID)
		}
	}
	var roles listDoc[roleDetail]
	e.call(t, "GET", "/roles", adm, nil).want(t, 200).decode(t, &roles)
	for _, r := range roles.Items {
		if slices.Contains(r.Scopes, "loans:sign") {
			t.Errorf("deleted scope still in role %s", r.Name)
		}
	}
	c, err = e.Store.Consents().Get(ctx, e.Tenant, e.People.Bob.ID, "banking-spa")
	if err != nil || slices.Contains(c.Scopes, "loans:sign") {
		t.Errorf("bob's consent after delete: %v (%v)", c.Scopes, err)
	}
	evs, err := e.Store.Audit().Search(ctx, store.AuditQuery{TenantID: e.Tenant, Type: model.EventScopeDeleted})
	if err != nil || len(evs) != 1 {
		t.Fatalf("scope.deleted events: %d (%v)", len(evs), err)
	}
	var d struct {
		RemovedFrom []string `json:"removed_from"`
		Roles       []string `json:"roles"`
		Consents    int      `json:"consents"`
	}
	if err := json.Unmarshal(evs[0].Details, &d); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.RemovedFrom, []string{"banking-spa", "reporting-job"}) || !slices.Equal(d.Roles, []string{"teller"}) || d.Consents != 1 {
		t.Errorf("scope.deleted details: %s", evs[0].Details)
	}
	if evs[0].ActorType != model.ActorClient || evs[0].ActorID != e.Admin.ID {
		t.Errorf("scope.deleted actor = %s %s, want client %s", evs[0].ActorType, evs[0].ActorID, e.Admin.ID)
	}
	// The deleted scope can no longer be requested (strict → invalid_scope).
	form := "grant_type=client_credentials&scope=loans:sign&audience=" + bank
	if status := tokenStatus(t, e, e.Bank.Reporting, form); status != 400 {
		t.Errorf("token for a deleted scope: %d, want 400", status)
	}
}

// TestUserTokenActsAsUser: a token from a user's sign-in (authorization
// code) acts as that user in audit records; disabling the user ends the
// token's use of the API.
func TestUserTokenActsAsUser(t *testing.T) {
	e := newEnv(t)
	alice := e.People.Alice
	tok := e.userToken(t, e.People.AdminTool, servertest.AdminToolRedirect, alice, e.PlatformAudience, "users:read users:write")
	e.call(t, "POST", "/users", tok, map[string]any{"username": "erin", "password": "erin's long passphrase"}).want(t, 201)
	evs, err := e.Store.Audit().Search(context.Background(), store.AuditQuery{TenantID: e.Tenant, Type: model.EventUserCreated})
	if err != nil || len(evs) == 0 {
		t.Fatalf("user.created: %v %v", evs, err)
	}
	if evs[0].ActorType != model.ActorUser || evs[0].ActorID != alice.ID {
		t.Errorf("actor = %s %s, want user %s", evs[0].ActorType, evs[0].ActorID, alice.ID)
	}
	// The token has users:* only.
	e.call(t, "GET", "/roles", tok, nil).want(t, 403)
	e.call(t, "GET", "/roles", e.aliceToken(t, "roles:read"), nil).want(t, 200)
	// Disabled users' tokens stop working at once.
	e.call(t, "POST", "/users/alice/disable", e.token(t, "users:write"), nil).want(t, 200)
	res := e.call(t, "GET", "/users", tok, nil).want(t, 401)
	if p := res.problem(t); !strings.Contains(p.Detail, "disabled") {
		t.Errorf("disabled user's token: %+v", p)
	}
}

func tokenStatus(t *testing.T, e *env, c servertest.Client, form string) int {
	t.Helper()
	req, err := newFormRequest(t, e.Issuer+"/oauth2/token", form)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(c.ID, c.Secret)
	resp, err := servertest.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
