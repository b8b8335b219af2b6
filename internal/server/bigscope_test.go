package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/scope"
)

// TestBigAllowlistBigRequest is issue 12's "big allowlists and big
// requests" end to end: an application allowed scope.MaxTokens scopes asks
// for every one of them in one client-credentials request (RFC 6749 §3.3)
// and gets a token carrying them all, which introspects active (RFC 7662
// §2.2) even though it is far over the old 8 KiB token bound; one scope
// more is refused with invalid_scope saying the parameter is too large —
// not "malformed".
func TestBigAllowlistBigRequest(t *testing.T) {
	env := servertest.Start(t)
	seed := env.Seed(t, "banking")
	ctx := context.Background()
	names := make([]string, scope.MaxTokens)
	for i := range names {
		names[i] = fmt.Sprintf("ledger:account-%04d:read", i)
	}
	for _, n := range names {
		if _, err := env.Admin.CreateScope(ctx, admin.CLI(), "banking", admin.ScopeInput{Name: n, Description: "Read one ledger account.", API: seed.Bank.Identifier}); err != nil {
			t.Fatal(err)
		}
	}
	app, err := env.Admin.CreateApplication(ctx, admin.CLI(), "banking", admin.ApplicationInput{
		ClientID: "ledger-sync", Name: "Ledger sync", Type: model.AppM2M, ScopePolicy: model.PolicyStrict, AllowedScopes: names,
	})
	if err != nil {
		t.Fatal(err)
	}
	post := func(path string, form url.Values) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, env.Issuer("banking")+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("ledger-sync", app.Secret)
		resp, err := servertest.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return resp.StatusCode, out
	}
	status, tok := post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "audience": {seed.Bank.Identifier}, "scope": {strings.Join(names, " ")}})
	access, _ := tok["access_token"].(string)
	if status != http.StatusOK || access == "" {
		t.Fatalf("%d scopes at once: HTTP %d %v", len(names), status, tok)
	}
	if got, _ := tok["scope"].(string); got != "" && len(strings.Fields(got)) != len(names) {
		t.Fatalf("scope in the response names %d scopes, want %d", len(strings.Fields(got)), len(names))
	}
	if len(access) <= 8<<10 {
		t.Fatalf("the token is %d bytes; the test means to cross the old 8 KiB bound", len(access))
	}
	status, in := post("/oauth2/introspect", url.Values{"token": {access}})
	if status != http.StatusOK || in["active"] != true || len(strings.Fields(fmt.Sprint(in["scope"]))) != len(names) {
		t.Fatalf("introspection of the %d-byte token: HTTP %d active=%v", len(access), status, in["active"])
	}

	// The same token in an Authorization header (RFC 6750 §2.1) reaches
	// the handler, which refuses it for its audience — not a 431 from a
	// header bound smaller than the tokens the server issues.
	req, _ := http.NewRequest(http.MethodGet, env.Issuer("banking")+"/api/v1/applications", nil)
	req.Header.Set("Authorization", "Bearer "+access+strings.Repeat("A", 60<<10))
	if resp, err := servertest.HTTPClient().Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a %d-byte bearer token: %v %v, want 401 from the handler", len(access)+60<<10, resp.Status, err)
	} else {
		resp.Body.Close()
	}

	status, e := post("/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "audience": {seed.Bank.Identifier}, "scope": {strings.Join(names, " ") + " one:more"}})
	desc, _ := e["error_description"].(string)
	if status != http.StatusBadRequest || e["error"] != "invalid_scope" || !strings.Contains(desc, "too large") || strings.Contains(desc, "malformed") {
		t.Fatalf("one over the limit: HTTP %d %v, want invalid_scope saying too large", status, e)
	}
}
