package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// TestTokenRefusalSaysWhyPerScope: over HTTP, the token endpoint's
// error_description states the reason for each offending scope (RFC 6749
// §5.2), and an unknown audience lists the tenant's APIs (RFC 8707 §2).
func TestTokenRefusalSaysWhyPerScope(t *testing.T) {
	e := servertest.Start(t)
	b := e.Seed(t, "banking")
	for _, tc := range []struct {
		name, scope, audience, code, want string
	}{
		{"RFC 6749 §5.2 not on the allowlist", "read:transactions payments:approve", "api.banking.example.com", "invalid_scope",
			"payments:approve is not on reporting-job's allowlist"},
		{"RFC 6749 §5.2 a typo", "read:transaction", "", "invalid_scope",
			"read:transaction is not a scope of this tenant (did you mean read:transactions?)"},
		{"RFC 6749 §5.2 another API's scope", "read:transactions", "api.health.example.com", "invalid_scope",
			"read:transactions belongs to api.banking.example.com, not api.health.example.com"},
		{"RFC 8707 §2 an unknown audience", "read:transactions", "api.nowhere", "invalid_target",
			"the audience api.nowhere is not an API of this tenant (known: api.banking.example.com, api.health.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"grant_type": {"client_credentials"}, "scope": {tc.scope}}
			if tc.audience != "" {
				form.Set("audience", tc.audience)
			}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.Issuer("banking")+"/oauth2/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(b.Reporting.ID, b.Reporting.Secret)
			resp, err := servertest.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusBadRequest || body.Error != tc.code || !strings.HasPrefix(body.Description, tc.want) {
				t.Fatalf("%d %s %q, want 400 %s %q", resp.StatusCode, body.Error, body.Description, tc.code, tc.want)
			}
		})
	}
}
