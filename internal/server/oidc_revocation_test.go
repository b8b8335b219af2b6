package server_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// grantTokens are the access tokens one grant (one refresh-token family)
// issued: the code exchange's and a refresh's, and the family's current
// refresh token.
type grantTokens struct {
	first, rotated string // access tokens
	refresh        string // the current refresh token
	spent          string // the refresh token the code exchange issued, rotated since
}

// grantAndRotate runs an authorization-code flow for user at cfg's client
// in br, then one refresh.
func (o *oidcEnv) grantAndRotate(t *testing.T, br *servertest.Browser, a *authRequest, user servertest.User) grantTokens {
	t.Helper()
	tok := a.exchange(t, o.ctx(t), o.codeFor(t, br, a, user))
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	status, body := refreshRaw(t, o, a.cfg.ClientID, a.cfg.ClientSecret, tok.RefreshToken)
	if status != 200 {
		t.Fatalf("refresh: %d %v", status, body)
	}
	return grantTokens{first: tok.AccessToken, rotated: body["access_token"].(string),
		refresh: body["refresh_token"].(string), spent: tok.RefreshToken}
}

// wantActive checks what RFC 7662 introspection says of each token.
func (o *oidcEnv) wantActive(t *testing.T, want bool, what string, toks ...string) {
	t.Helper()
	for i, tok := range toks {
		if got := introspect(t, o.env, "banking", o.b.Reporting, tok); got["active"] != want {
			t.Errorf("%s (%d of %d): introspection active = %v, want %v", what, i+1, len(toks), got["active"], want)
		}
	}
}

// platformStatus calls the platform API with a bearer token and returns the
// status.
func (o *oidcEnv) platformStatus(t *testing.T, method, path, access string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, o.iss+"/api/v1"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := servertest.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestGrantRevocationReachesAccessTokens: every way a refresh-token family
// ends — revocation at /oauth2/revoke, reuse detection, a replayed code,
// consent withdrawal, disabling the user, a password set with sign-out —
// also invalidates the access tokens issued from that grant, the code
// exchange's and every refresh's, while other grants' tokens stay active.
func TestGrantRevocationReachesAccessTokens(t *testing.T) {
	o := startOIDC(t)
	tool, spa := o.people.AdminTool, o.people.SPA
	// A bystander: a client-credentials token is based on no user grant.
	cc := clientToken(t, o.env, "banking", o.b.Reporting, "read:transactions", "api.banking.example.com")

	t.Run("RFC 7009 §2.1 revoking a refresh token invalidates the access tokens of the same grant", func(t *testing.T) {
		br := servertest.NewBrowser(t)
		cfg := o.toolConfig("openid", "offline_access", "users:read") // platform audience
		g := o.grantAndRotate(t, br, newAuthRequest(cfg), o.people.Alice)
		other := o.grantAndRotate(t, br, newAuthRequest(cfg), o.people.Alice) // another grant, same user and client
		o.wantActive(t, true, "access tokens before the revocation", g.first, g.rotated)
		for _, at := range []string{g.first, g.rotated} {
			if status := o.platformStatus(t, "GET", "/users", at); status != 200 {
				t.Fatalf("platform API before the revocation: %d", status)
			}
		}

		resp, body := tokenCall{basic: &tool, body: "token_type_hint=refresh_token&token=" + url.QueryEscape(g.refresh)}.do(t, o.iss+"/oauth2/revoke")
		if resp.StatusCode != 200 {
			t.Fatalf("revoke: %d %v", resp.StatusCode, body)
		}
		// RFC 7662 §2.2: "active … whether or not the presented token is
		// currently active"; the earlier rotation's access token is based on
		// the same grant too.
		o.wantActive(t, false, "RFC 7009 §2.1 access tokens of the revoked grant", g.first, g.rotated, g.refresh)
		for _, at := range []string{g.first, g.rotated} {
			if status := o.platformStatus(t, "GET", "/users", at); status != http.StatusUnauthorized {
				t.Errorf("RFC 6750 §3.1 platform API with an access token of the revoked grant: %d, want 401", status)
			}
		}
		o.wantActive(t, true, "another grant's tokens", other.first, other.rotated, other.refresh)
		if status := o.platformStatus(t, "GET", "/users", other.rotated); status != 200 {
			t.Errorf("platform API with another grant's access token: %d", status)
		}
	})

	t.Run("RFC 9700 §4.14.2 refresh-token reuse invalidates every access token of the family", func(t *testing.T) {
		br := servertest.NewBrowser(t)
		cfg := o.spaConfig("openid", "offline_access", "read:transactions")
		g := o.grantAndRotate(t, br, newAuthRequest(cfg), o.people.Alice)
		other := o.grantAndRotate(t, br, newAuthRequest(cfg), o.people.Alice)
		if status, body := refreshRaw(t, o, spa.ID, "", g.spent); status != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("reuse: %d %v, want invalid_grant", status, body)
		}
		o.wantActive(t, false, "RFC 9700 §4.14.2 tokens of the family after reuse", g.first, g.rotated, g.refresh)
		o.wantActive(t, true, "another family's tokens", other.first, other.rotated, other.refresh)
	})

	t.Run("RFC 6749 §4.1.2 a replayed code also invalidates the access tokens of its family's refreshes", func(t *testing.T) {
		br := servertest.NewBrowser(t)
		a := newAuthRequest(o.spaConfig("openid", "offline_access", "read:transactions"))
		code := o.codeFor(t, br, a, o.people.Alice)
		tok := a.exchange(t, o.ctx(t), code)
		status, body := refreshRaw(t, o, spa.ID, "", tok.RefreshToken)
		if status != 200 {
			t.Fatalf("refresh: %d %v", status, body)
		}
		refreshed := body["access_token"].(string)
		status, body = exchangeRaw(t, o, url.Values{"code": {code}, "code_verifier": {a.verifier}, "client_id": {spa.ID},
			"redirect_uri": {a.cfg.RedirectURL}}, nil)
		if status != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("replay: %d %v, want invalid_grant", status, body)
		}
		o.wantActive(t, false, "tokens issued based on the replayed code", tok.AccessToken, refreshed)
	})

	t.Run("consent withdrawal (DELETE /api/v1/me/consents/{client_id}) invalidates the application's access tokens", func(t *testing.T) {
		if _, err := o.env.Admin.AddAllowedScopes(t.Context(), admin.CLI(), "banking", tool.ID, []string{"me:read", "me:write"}, 0); err != nil {
			t.Fatal(err)
		}
		o.env.Server.Catalog().Invalidate("banking")
		br := servertest.NewBrowser(t)
		bob := o.people.Bob
		g := o.grantAndRotate(t, br, newAuthRequest(o.spaConfig("openid", "offline_access", "read:transactions")), bob)
		a := newAuthRequest(o.toolConfig("openid", "offline_access", "me:write"))
		self := a.exchange(t, o.ctx(t), o.codeFor(t, br, a, bob))
		if status := o.platformStatus(t, "DELETE", "/me/consents/"+spa.ID, self.AccessToken); status != http.StatusNoContent {
			t.Fatalf("DELETE /me/consents/%s: %d", spa.ID, status)
		}
		o.wantActive(t, false, "the withdrawn application's tokens", g.first, g.rotated, g.refresh)
		o.wantActive(t, true, "another application's tokens of the user", self.AccessToken, self.RefreshToken)
	})

	t.Run("disabling a user invalidates the access tokens of their grants", func(t *testing.T) {
		dora := o.env.CreateUser(t, "banking", model.User{Username: "dora"}, "dora's long password", "teller")
		kept := o.env.CreateUser(t, "banking", model.User{Username: "kept"}, "kept's long password", "teller")
		cfg := o.spaConfig("openid", "offline_access", "read:transactions")
		g := o.grantAndRotate(t, servertest.NewBrowser(t), newAuthRequest(cfg), dora)
		k := o.grantAndRotate(t, servertest.NewBrowser(t), newAuthRequest(cfg), kept)
		if _, err := o.env.Admin.DisableUser(t.Context(), admin.CLI(), "banking", dora.ID); err != nil {
			t.Fatal(err)
		}
		o.wantActive(t, false, "the disabled user's tokens", g.first, g.rotated, g.refresh)
		o.wantActive(t, true, "another user's tokens", k.first, k.rotated, k.refresh)
	})

	t.Run("a password set with sign-out invalidates the access tokens of the user's grants", func(t *testing.T) {
		erin := o.env.CreateUser(t, "banking", model.User{Username: "erin"}, "erin's long password", "teller")
		g := o.grantAndRotate(t, servertest.NewBrowser(t), newAuthRequest(o.spaConfig("openid", "offline_access", "read:transactions")), erin)
		if err := o.env.Admin.SetPassword(t.Context(), admin.CLI(), "banking", erin.ID, "erin's new long password", true); err != nil {
			t.Fatal(err)
		}
		o.wantActive(t, false, "the signed-out user's tokens", g.first, g.rotated, g.refresh)
	})

	t.Run("deleting a user invalidates the access tokens of their grants", func(t *testing.T) {
		fay := o.env.CreateUser(t, "banking", model.User{Username: "fay"}, "fay's long password", "teller")
		g := o.grantAndRotate(t, servertest.NewBrowser(t), newAuthRequest(o.spaConfig("openid", "offline_access", "read:transactions")), fay)
		if err := o.env.Admin.DeleteUser(t.Context(), admin.CLI(), "banking", fay.ID, 0); err != nil {
			t.Fatal(err)
		}
		o.wantActive(t, false, "the deleted user's tokens", g.first, g.rotated, g.refresh)
	})

	t.Run("deleting an application invalidates the access tokens of its grants", func(t *testing.T) {
		if _, err := o.env.Admin.CreateApplication(t.Context(), admin.CLI(), "banking", admin.ApplicationInput{
			ClientID: "branch-spa", Type: model.AppSPA, RedirectURIs: []string{"http://localhost:5174/callback"},
			AllowedScopes: []string{"openid", "offline_access", "read:transactions"},
		}); err != nil {
			t.Fatal(err)
		}
		o.env.Server.Catalog().Invalidate("banking")
		cfg := o.spaConfig("openid", "offline_access", "read:transactions")
		cfg.ClientID, cfg.RedirectURL = "branch-spa", "http://localhost:5174/callback"
		g := o.grantAndRotate(t, servertest.NewBrowser(t), newAuthRequest(cfg), o.people.Bob)
		kept := o.grantAndRotate(t, servertest.NewBrowser(t), newAuthRequest(o.spaConfig("openid", "offline_access", "read:transactions")), o.people.Bob)
		if err := o.env.Admin.DeleteApplication(t.Context(), admin.CLI(), "banking", "branch-spa", 0); err != nil {
			t.Fatal(err)
		}
		o.wantActive(t, false, "the deleted application's tokens", g.first, g.rotated)
		o.wantActive(t, true, "the user's tokens at another application", kept.first, kept.rotated, kept.refresh)
	})

	o.wantActive(t, true, "the client-credentials token", cc)
}
