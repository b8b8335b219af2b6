package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// baseAuthorize is a valid authorization request of the banking SPA.
func baseAuthorize() url.Values {
	return url.Values{
		"client_id":             {"banking-spa"},
		"redirect_uri":          {servertest.SPARedirectURI},
		"response_type":         {"code"},
		"scope":                 {"openid read:transactions"},
		"state":                 {"st-123"},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())},
		"code_challenge_method": {"S256"},
	}
}

func TestAuthorizeEndpointErrors(t *testing.T) {
	o := startOIDC(t)
	// A signed-in browser, so requests that pass validation reach a code.
	signed := servertest.NewBrowser(t)
	a := newAuthRequest(o.spaConfig("openid", "read:transactions"))
	p, _ := o.signInAndConsent(t, signed, a, o.people.Alice)
	a.code(t, p, o.iss)

	// A permissive public app, for the strict/permissive contrast.
	if _, err := o.env.Admin.CreateApplication(t.Context(), admin.CLI(), "banking", admin.ApplicationInput{
		ClientID: "lenient-spa", Name: "Lenient", Type: model.AppSPA, RedirectURIs: []string{servertest.SPARedirectURI},
		AllowedScopes: []string{"openid", "read:transactions"}, ScopePolicy: model.PolicyPermissive, Consent: model.ConsentImplicit,
	}); err != nil {
		t.Fatal(err)
	}
	o.env.Server.Catalog().Invalidate("banking")

	with := func(f func(v url.Values)) url.Values {
		v := baseAuthorize()
		f(v)
		return v
	}
	const (
		page = "page" // an error page, never a redirect
	)
	cases := []struct {
		name    string
		params  url.Values
		anon    bool   // use a browser without a session
		want    string // page, an RFC error code, or "" for a code
		post    bool
		noState bool
	}{
		{name: "RFC 6749 §4.1.2.1 missing client_id → error page, no redirect", params: with(func(v url.Values) { v.Del("client_id") }), want: page},
		{name: "RFC 6749 §4.1.2.1 unknown client_id → error page, no redirect", params: with(func(v url.Values) { v.Set("client_id", "nobody") }), want: page},
		{name: "RFC 6749 §3.1 repeated client_id → error page", params: with(func(v url.Values) { v.Add("client_id", "banking-spa") }), want: page},
		{name: "RFC 9700 §4.1.3 unregistered redirect_uri → error page, no redirect", params: with(func(v url.Values) { v.Set("redirect_uri", "https://evil.example.com/cb") }), want: page},
		{name: "RFC 9700 §4.1.3 redirect_uri differing only in a trailing slash → error page", params: with(func(v url.Values) { v.Set("redirect_uri", servertest.SPARedirectURI+"/") }), want: page},
		{name: "RFC 9700 §4.1.3 redirect_uri with an extra query → error page", params: with(func(v url.Values) { v.Set("redirect_uri", servertest.SPARedirectURI+"?x=1") }), want: page},
		{name: "RFC 6749 §3.1.2.3 single registered redirect_uri may be omitted", params: with(func(v url.Values) { v.Del("redirect_uri") }), want: ""},
		{name: "m2m client without redirect URIs → error page", params: with(func(v url.Values) { v.Set("client_id", "reporting-job") }), want: page},
		{name: "RFC 6749 §3.1 repeated scope → invalid_request", params: with(func(v url.Values) { v.Add("scope", "openid") }), want: "invalid_request"},
		{name: "RFC 6749 §4.1.1 missing response_type → invalid_request", params: with(func(v url.Values) { v.Del("response_type") }), want: "invalid_request"},
		{name: "RFC 9700 §2.1.2 response_type=token → unsupported_response_type", params: with(func(v url.Values) { v.Set("response_type", "token") }), want: "unsupported_response_type"},
		{name: "OIDC Core §3.3 hybrid code id_token → unsupported_response_type", params: with(func(v url.Values) { v.Set("response_type", "code id_token") }), want: "unsupported_response_type"},
		{name: "RFC 7636 §4.4.1 missing code_challenge → invalid_request", params: with(func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }), want: "invalid_request"},
		{name: "RFC 7636 §4.4.1 plain → invalid_request", params: with(func(v url.Values) {
			v.Set("code_challenge", oauth2.GenerateVerifier())
			v.Set("code_challenge_method", "plain")
		}), want: "invalid_request"},
		{name: "RFC 7636 §4.3 method omitted means plain → invalid_request", params: with(func(v url.Values) { v.Del("code_challenge_method") }), want: "invalid_request"},
		{name: "RFC 7636 §4.2 malformed S256 challenge → invalid_request", params: with(func(v url.Values) { v.Set("code_challenge", "short") }), want: "invalid_request"},
		{name: "OIDC Core §3.1.2.1 prompt=none with login → invalid_request", params: with(func(v url.Values) { v.Set("prompt", "none login") }), want: "invalid_request"},
		{name: "OIDC Core §3.1.2.1 unknown prompt → invalid_request", params: with(func(v url.Values) { v.Set("prompt", "create") }), want: "invalid_request"},
		{name: "OIDC Core §3.1.2.1 negative max_age → invalid_request", params: with(func(v url.Values) { v.Set("max_age", "-1") }), want: "invalid_request"},
		{name: "OIDC Core §3.1.2.6 prompt=none without a session → login_required", params: with(func(v url.Values) { v.Set("prompt", "none") }), anon: true, want: "login_required"},
		{name: "OIDC Core §6.1 request object → request_not_supported", params: with(func(v url.Values) { v.Set("request", "eyJ.x.y") }), want: "request_not_supported"},
		{name: "OIDC Core §6.2 request_uri → request_uri_not_supported", params: with(func(v url.Values) { v.Set("request_uri", "https://x.example.com/r") }), want: "request_uri_not_supported"},
		{name: "response_mode=fragment → invalid_request", params: with(func(v url.Values) { v.Set("response_mode", "fragment") }), want: "invalid_request"},
		{name: "RFC 6749 §4.1.2.1 strict: unregistered scope → invalid_scope", params: with(func(v url.Values) { v.Set("scope", "openid delete:everything") }), want: "invalid_scope"},
		{name: "RFC 6749 §4.1.2.1 strict: scope not on the allowlist → invalid_scope", params: with(func(v url.Values) { v.Set("scope", "openid payments:approve") }), want: "invalid_scope"},
		{name: "RFC 6749 §3.3 malformed scope → invalid_scope", params: with(func(v url.Values) { v.Set("scope", "openid  profile") }), want: "invalid_scope"},
		{name: "permissive: unregistered scope is dropped, a code is issued", params: with(func(v url.Values) {
			v.Set("client_id", "lenient-spa")
			v.Set("scope", "openid read:transactions delete:everything")
		}), want: ""},
		{name: "RFC 8707 §2 unknown resource → invalid_target", params: with(func(v url.Values) { v.Set("resource", "api.nowhere.example.com") }), want: "invalid_target"},
		{name: "RFC 8707 §2.1 two resources, no requested scope of the second → invalid_target", params: with(func(v url.Values) {
			v["resource"] = []string{"api.banking.example.com", "api.health.example.com"}
		}), want: "invalid_target"},
		{name: "OIDC Core §3.1.2.1 POST form is accepted", params: baseAuthorize(), post: true, want: ""},
	}
	before := countEvents(t, o, model.EventTokenIssued, "")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			br := signed
			if c.anon {
				br = servertest.NewBrowser(t)
			}
			var p *servertest.Page
			if c.post {
				req, _ := http.NewRequest(http.MethodPost, o.iss+"/oauth2/authorize", strings.NewReader(c.params.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				p = br.Do(o.env.URL, req)
			} else {
				p = br.Visit(o.env.URL, o.iss+"/oauth2/authorize?"+c.params.Encode())
			}
			switch c.want {
			case page:
				if p.Location != nil {
					t.Fatalf("redirected to %s; RFC 6749 §4.1.2.1 MUST NOT redirect", p.Location)
				}
				if p.Status != http.StatusBadRequest || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
					t.Errorf("status %d, type %q; want a 400 HTML page", p.Status, p.Header.Get("Content-Type"))
				}
				return
			}
			if p.Location == nil {
				t.Fatalf("no redirect: status %d %s\n%s", p.Status, p.URL, p.Body)
			}
			q := p.Location.Query()
			if q.Get("iss") != o.iss {
				t.Errorf("RFC 9207 §2: iss = %q on %s", q.Get("iss"), p.Location)
			}
			if q.Get("state") != "st-123" {
				t.Errorf("state = %q", q.Get("state"))
			}
			if !strings.HasPrefix(p.Location.String(), servertest.SPARedirectURI+"?") {
				t.Errorf("redirected to %s", p.Location)
			}
			if c.want == "" {
				if q.Get("code") == "" || q.Has("error") {
					t.Errorf("want a code, got %s", p.Location)
				}
				return
			}
			if q.Get("error") != c.want || q.Has("code") {
				t.Errorf("error = %q (%s), want %s and no code", q.Get("error"), q.Get("error_description"), c.want)
			}
		})
	}
	if after := countEvents(t, o, model.EventTokenIssued, ""); after != before {
		t.Errorf("the authorization endpoint issued %d tokens", after-before)
	}
}

// codeFor runs an authorization request in a browser that is signed in and
// has consented, returning the code.
func (o *oidcEnv) codeFor(t *testing.T, br *servertest.Browser, a *authRequest, user servertest.User) string {
	t.Helper()
	p, _ := o.signInAndConsent(t, br, a, user)
	return a.code(t, p, o.iss)
}

// exchangeRaw posts an authorization_code grant.
func exchangeRaw(t *testing.T, o *oidcEnv, form url.Values, basic *servertest.Client) (int, map[string]any) {
	t.Helper()
	form.Set("grant_type", "authorization_code")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, o.iss+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic.ID), url.QueryEscape(basic.Secret))
	}
	resp, err := servertest.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestTokenEndpointCodeGrantErrors(t *testing.T) {
	o := startOIDC(t)
	ctx := o.ctx(t)
	alice := servertest.NewBrowser(t)
	spa := o.spaConfig("openid", "offline_access", "read:transactions")
	tool := o.toolConfig("openid", "users:read")

	// fresh returns a new SPA authorization with its code.
	fresh := func(t *testing.T) (*authRequest, string) {
		a := newAuthRequest(spa)
		return a, o.codeFor(t, alice, a, o.people.Alice)
	}
	spaForm := func(a *authRequest, code string) url.Values {
		return url.Values{"code": {code}, "code_verifier": {a.verifier}, "client_id": {spa.ClientID}, "redirect_uri": {spa.RedirectURL}}
	}
	cases := []struct {
		name   string
		form   func(t *testing.T) url.Values
		basic  *servertest.Client
		status int
		code   string
	}{
		{"RFC 7636 §4.6 wrong code_verifier → invalid_grant", func(t *testing.T) url.Values {
			a, c := fresh(t)
			f := spaForm(a, c)
			f.Set("code_verifier", oauth2.GenerateVerifier())
			return f
		}, nil, 400, "invalid_grant"},
		{"RFC 7636 §4.5 missing code_verifier → invalid_request", func(t *testing.T) url.Values {
			a, c := fresh(t)
			f := spaForm(a, c)
			f.Del("code_verifier")
			return f
		}, nil, 400, "invalid_request"},
		{"RFC 7636 §4.1 too short code_verifier → invalid_request", func(t *testing.T) url.Values {
			a, c := fresh(t)
			f := spaForm(a, c)
			f.Set("code_verifier", "abc")
			return f
		}, nil, 400, "invalid_request"},
		{"RFC 6749 §4.1.3 different redirect_uri → invalid_grant", func(t *testing.T) url.Values {
			a, c := fresh(t)
			f := spaForm(a, c)
			f.Set("redirect_uri", servertest.SPAOrigin+"/other")
			return f
		}, nil, 400, "invalid_grant"},
		{"RFC 6749 §5.2 unknown code → invalid_grant", func(t *testing.T) url.Values {
			a, _ := fresh(t)
			return spaForm(a, "not-a-code")
		}, nil, 400, "invalid_grant"},
		{"RFC 6749 §4.1.3 code of another client → invalid_grant", func(t *testing.T) url.Values {
			a, c := fresh(t)
			f := spaForm(a, c)
			f.Del("client_id")
			f.Set("redirect_uri", servertest.AdminToolRedirect)
			return f
		}, &o.people.AdminTool, 400, "invalid_grant"},
		{"RFC 6749 §5.2 public client presenting a secret → invalid_client", func(t *testing.T) url.Values {
			a, c := fresh(t)
			f := spaForm(a, c)
			f.Set("client_secret", "guess")
			return f
		}, nil, 401, "invalid_client"},
		{"RFC 6749 §5.2 confidential client without its secret → invalid_client", func(t *testing.T) url.Values {
			a := newAuthRequest(tool)
			c := o.codeFor(t, alice, a, o.people.Alice)
			return url.Values{"code": {c}, "code_verifier": {a.verifier}, "client_id": {tool.ClientID}, "redirect_uri": {tool.RedirectURL}}
		}, nil, 401, "invalid_client"},
		{"RFC 6749 §4.1.2 expired code (60 s) → invalid_grant", func(t *testing.T) url.Values {
			a, c := fresh(t)
			o.env.Clock.Advance(61 * time.Second)
			return spaForm(a, c)
		}, nil, 400, "invalid_grant"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := countEvents(t, o, model.EventTokenIssued, "")
			status, body := exchangeRaw(t, o, c.form(t), c.basic)
			if status != c.status || body["error"] != c.code {
				t.Errorf("got %d %v, want %d %s", status, body, c.status, c.code)
			}
			if _, ok := body["access_token"]; ok {
				t.Error("an error response carried a token")
			}
			if after := countEvents(t, o, model.EventTokenIssued, ""); after != before {
				t.Errorf("%d tokens issued", after-before)
			}
		})
	}

	t.Run("RFC 6749 §4.1.2 replayed code → invalid_grant and the first tokens are revoked", func(t *testing.T) {
		a, code := fresh(t)
		tok := a.exchange(t, ctx, code)
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token")
		}
		if got := introspect(t, o.env, "banking", o.b.Reporting, tok.AccessToken); got["active"] != true {
			t.Fatalf("first access token inactive before the replay: %v", got)
		}
		status, body := exchangeRaw(t, o, spaForm(a, code), nil)
		if status != 400 || body["error"] != "invalid_grant" || body["access_token"] != nil {
			t.Fatalf("replay: %d %v, want 400 invalid_grant", status, body)
		}
		if got := introspect(t, o.env, "banking", o.b.Reporting, tok.AccessToken); got["active"] != false {
			t.Errorf("RFC 6749 §4.1.2: the first access token is still active after the replay: %v", got)
		}
		if got := introspect(t, o.env, "banking", o.b.Reporting, tok.RefreshToken); got["active"] != false {
			t.Errorf("the first refresh token is still active after the replay: %v", got)
		}
		if status, body := refreshRaw(t, o, spa.ClientID, "", tok.RefreshToken); status != 400 || body["error"] != "invalid_grant" {
			t.Errorf("refresh after replay: %d %v, want invalid_grant", status, body)
		}
		evs := events(t, o, model.EventCodeReplayed, spa.ClientID)
		if len(evs) != 1 || evs[0].Subject != o.people.Alice.ID {
			t.Fatalf("oauth.code_replayed events = %+v", evs)
		}
	})
}

func TestCodeExchangeSeesConfigurationNow(t *testing.T) {
	o := startOIDC(t)
	ctx := o.ctx(t)
	br := servertest.NewBrowser(t)
	a := newAuthRequest(o.spaConfig("openid", "read:transactions", "write:settings"))
	code := o.codeFor(t, br, a, o.people.Alice)
	if _, err := o.env.Admin.RemoveAllowedScopes(t.Context(), admin.CLI(), "banking", "banking-spa", []string{"write:settings"}, 0); err != nil {
		t.Fatal(err)
	}
	o.env.Server.Catalog().Invalidate("banking")
	tok := a.exchange(t, ctx, code)
	if tok.Extra("scope") != "openid read:transactions" {
		t.Errorf("PRODUCT §2: scope = %v, want write:settings dropped", tok.Extra("scope"))
	}
	var d struct {
		Results []struct{ Scope, Reason string }
	}
	_ = json.Unmarshal(events(t, o, model.EventTokenIssued, "banking-spa")[0].Details, &d)
	if !slices.Contains(d.Results, struct{ Scope, Reason string }{"write:settings", "not_allowed"}) {
		t.Errorf("results %+v, want write:settings not_allowed", d.Results)
	}
	if n := countEvents(t, o, model.EventCodeReplayed, ""); n != 0 {
		t.Errorf("%d code_replayed events for a single exchange", n)
	}
}

func TestRefreshGrant(t *testing.T) {
	o := startOIDC(t)
	ctx := o.ctx(t)
	alice := servertest.NewBrowser(t)
	spa := o.spaConfig("openid", "offline_access", "read:transactions", "write:settings")
	grant := func(t *testing.T) *oauth2.Token {
		a := newAuthRequest(spa)
		return a.exchange(t, ctx, o.codeFor(t, alice, a, o.people.Alice))
	}

	t.Run("RFC 6749 §6 narrowing is allowed, the family keeps its scope", func(t *testing.T) {
		tok := grant(t)
		status, body := refreshRaw(t, o, spa.ClientID, "", tok.RefreshToken, "scope", "openid read:transactions")
		if status != 200 || body["scope"] != "openid read:transactions" {
			t.Fatalf("narrow: %d %v", status, body)
		}
		status, body = refreshRaw(t, o, spa.ClientID, "", body["refresh_token"].(string))
		if status != 200 || body["scope"] != "offline_access openid read:transactions write:settings" {
			t.Errorf("RFC 6749 §6: the next refresh must have the original scope: %d %v", status, body)
		}
	})
	t.Run("RFC 6749 §6 widening → invalid_scope", func(t *testing.T) {
		tok := grant(t)
		before := countEvents(t, o, model.EventTokenIssued, "")
		status, body := refreshRaw(t, o, spa.ClientID, "", tok.RefreshToken, "scope", "openid read:transactions profile")
		if status != 400 || body["error"] != "invalid_scope" || body["access_token"] != nil {
			t.Errorf("widen: %d %v, want invalid_scope", status, body)
		}
		if after := countEvents(t, o, model.EventTokenIssued, ""); after != before {
			t.Error("a token was issued")
		}
		// The refusal did not spend the token.
		if status, _ := refreshRaw(t, o, spa.ClientID, "", tok.RefreshToken); status != 200 {
			t.Errorf("refresh after a refused widening: %d", status)
		}
	})
	t.Run("RFC 6749 §6 another client's refresh token → invalid_grant", func(t *testing.T) {
		tok := grant(t)
		status, body := refreshRaw(t, o, o.people.AdminTool.ID, o.people.AdminTool.Secret, tok.RefreshToken)
		if status != 400 || body["error"] != "invalid_grant" {
			t.Errorf("%d %v", status, body)
		}
	})
	t.Run("PRODUCT §2 refresh re-runs the decision: a scope removed from the allowlist disappears", func(t *testing.T) {
		tok := grant(t)
		if _, err := o.env.Admin.RemoveAllowedScopes(t.Context(), admin.CLI(), "banking", spa.ClientID, []string{"write:settings"}, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_, _ = o.env.Admin.AddAllowedScopes(context.Background(), admin.CLI(), "banking", spa.ClientID, []string{"write:settings"}, 0)
			o.env.Server.Catalog().Invalidate("banking")
		})
		o.env.Server.Catalog().Invalidate("banking")
		status, body := refreshRaw(t, o, spa.ClientID, "", tok.RefreshToken)
		if status != 200 {
			t.Fatalf("%d %v", status, body)
		}
		if s := body["scope"].(string); strings.Contains(s, "write:settings") || !strings.Contains(s, "read:transactions") {
			t.Errorf("refreshed scope = %q, want write:settings gone", s)
		}
		var d struct {
			Results []struct{ Scope, Reason string }
		}
		evs := events(t, o, model.EventTokenIssued, spa.ClientID)
		_ = json.Unmarshal(evs[0].Details, &d)
		if !slices.Contains(d.Results, struct{ Scope, Reason string }{"write:settings", "not_allowed"}) {
			t.Errorf("results %+v, want write:settings not_allowed", d.Results)
		}
		// Asking for it explicitly is a strict application's error.
		status, body = refreshRaw(t, o, spa.ClientID, "", body["refresh_token"].(string), "scope", "openid write:settings")
		if status != 400 || body["error"] != "invalid_scope" {
			t.Errorf("explicit request of a removed scope: %d %v, want invalid_scope", status, body)
		}
	})
	t.Run("PRODUCT §2 refresh re-runs the decision: a role removed stops its scopes", func(t *testing.T) {
		carol := o.env.CreateUser(t, "banking", model.User{Username: "carol"}, "carol's long password", "manager")
		br := servertest.NewBrowser(t)
		a := newAuthRequest(spa)
		tok := a.exchange(t, ctx, o.codeFor(t, br, a, carol))
		if s := tok.Extra("scope"); s != "offline_access openid read:transactions write:settings" {
			t.Fatalf("scope = %v", s)
		}
		if err := o.env.Store.Roles().Unassign(t.Context(), "banking", carol.ID, "manager"); err != nil {
			t.Fatal(err)
		}
		status, body := refreshRaw(t, o, spa.ClientID, "", tok.RefreshToken)
		if status != 200 || body["scope"] != "offline_access openid" {
			t.Errorf("after losing the role: %d %v, want only the OIDC scopes", status, body)
		}
	})
	t.Run("a disabled user's refresh → invalid_grant", func(t *testing.T) {
		dave := o.env.CreateUser(t, "banking", model.User{Username: "dave"}, "dave's long password", "teller")
		br := servertest.NewBrowser(t)
		a := newAuthRequest(o.spaConfig("openid", "offline_access"))
		tok := a.exchange(t, ctx, o.codeFor(t, br, a, dave))
		u, err := o.env.Store.Users().Get(t.Context(), "banking", dave.ID)
		if err != nil {
			t.Fatal(err)
		}
		u.Status = model.UserDisabled
		if _, err := o.env.Store.Users().Update(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		if status, body := refreshRaw(t, o, spa.ClientID, "", tok.RefreshToken); status != 400 || body["error"] != "invalid_grant" {
			t.Errorf("%d %v", status, body)
		}
	})
	t.Run("idle lifetime: an unused family expires", func(t *testing.T) {
		tok := grant(t)
		o.env.Clock.Advance(31 * 24 * time.Hour)
		if status, body := refreshRaw(t, o, spa.ClientID, "", tok.RefreshToken); status != 400 || body["error"] != "invalid_grant" {
			t.Errorf("%d %v", status, body)
		}
	})
	t.Run("absolute lifetime: a family ends however often it is used", func(t *testing.T) {
		abs, idle := 3*time.Hour, 2*time.Hour
		if _, err := o.env.Admin.UpdateApplication(t.Context(), admin.CLI(), "banking", spa.ClientID, admin.ApplicationUpdate{RefreshAbsoluteTTL: &abs, RefreshIdleTTL: &idle}); err != nil {
			t.Fatal(err)
		}
		o.env.Server.Catalog().Invalidate("banking")
		t.Cleanup(func() {
			var zero time.Duration
			_, _ = o.env.Admin.UpdateApplication(context.Background(), admin.CLI(), "banking", spa.ClientID, admin.ApplicationUpdate{RefreshAbsoluteTTL: &zero, RefreshIdleTTL: &zero})
			o.env.Server.Catalog().Invalidate("banking")
		})
		rt := grant(t).RefreshToken
		for i := range 2 {
			o.env.Clock.Advance(80 * time.Minute)
			status, body := refreshRaw(t, o, spa.ClientID, "", rt)
			if status != 200 {
				t.Fatalf("refresh %d within both lifetimes: %d %v", i, status, body)
			}
			rt = body["refresh_token"].(string)
		}
		o.env.Clock.Advance(30 * time.Minute) // 190 minutes since the grant
		if status, body := refreshRaw(t, o, spa.ClientID, "", rt); status != 400 || body["error"] != "invalid_grant" {
			t.Errorf("after the absolute lifetime: %d %v", status, body)
		}
	})
	t.Run("RFC 7009 §2.1 revoking a refresh token ends its family", func(t *testing.T) {
		tok := grant(t)
		status, _ := postForm(t, o.iss+"/oauth2/revoke", url.Values{"token": {tok.RefreshToken}, "client_id": {spa.ClientID}, "token_type_hint": {"refresh_token"}})
		if status != 200 {
			t.Fatalf("revoke: %d", status)
		}
		if status, body := refreshRaw(t, o, spa.ClientID, "", tok.RefreshToken); status != 400 || body["error"] != "invalid_grant" {
			t.Errorf("refresh after revocation: %d %v", status, body)
		}
	})
	t.Run("no offline_access → no refresh token", func(t *testing.T) {
		a := newAuthRequest(o.spaConfig("openid", "read:transactions"))
		tok := a.exchange(t, ctx, o.codeFor(t, alice, a, o.people.Alice))
		if tok.RefreshToken != "" {
			t.Error("a refresh token without offline_access")
		}
	})
	t.Run("no openid → plain OAuth, no ID token", func(t *testing.T) {
		a := newAuthRequest(o.spaConfig("read:transactions"))
		tok := a.exchange(t, ctx, o.codeFor(t, alice, a, o.people.Alice))
		if _, ok := tok.Extra("id_token").(string); ok {
			t.Error("an ID token without openid")
		}
		if tok.Extra("scope") != "read:transactions" {
			t.Errorf("scope = %v", tok.Extra("scope"))
		}
	})
}

func TestEntitlementAndConsent(t *testing.T) {
	o := startOIDC(t)
	ctx := o.ctx(t)

	t.Run("PRODUCT §2 step 5 scope not entitled → dropped with the reason in the audit", func(t *testing.T) {
		br := servertest.NewBrowser(t)
		a := newAuthRequest(o.spaConfig("openid", "read:transactions", "write:settings"))
		p, asked := o.signInAndConsent(t, br, a, o.people.Bob)
		if slices.Contains(asked, "write:settings") {
			t.Errorf("the consent screen asks bob for write:settings, which he is not entitled to: %v", asked)
		}
		tok := a.exchange(t, ctx, a.code(t, p, o.iss))
		if tok.Extra("scope") != "openid read:transactions" {
			t.Errorf("scope = %v", tok.Extra("scope"))
		}
		evs := events(t, o, model.EventTokenIssued, "banking-spa")
		var d struct {
			Results []struct{ Scope, Reason string }
		}
		_ = json.Unmarshal(evs[0].Details, &d)
		if evs[0].Subject != o.people.Bob.ID || !slices.Contains(d.Results, struct{ Scope, Reason string }{"write:settings", "not_entitled"}) {
			t.Errorf("token_issued subject %q results %+v, want write:settings not_entitled", evs[0].Subject, d.Results)
		}
	})

	t.Run("consent: first asks all, then only what is new; unticked scopes are left out", func(t *testing.T) {
		alice := servertest.NewBrowser(t)
		a := newAuthRequest(o.spaConfig("openid", "profile", "read:transactions"))
		p, asked := o.signInAndConsent(t, alice, a, o.people.Alice, "profile")
		slices.Sort(asked)
		if !slices.Equal(asked, []string{"openid", "profile", "read:transactions"}) {
			t.Errorf("first consent asks %v", asked)
		}
		tok := a.exchange(t, ctx, a.code(t, p, o.iss))
		if tok.Extra("scope") != "openid read:transactions" {
			t.Errorf("unticked profile still granted: scope = %v", tok.Extra("scope"))
		}
		evs := events(t, o, model.EventTokenIssued, "banking-spa")
		var d struct {
			Results []struct{ Scope, Reason string }
		}
		_ = json.Unmarshal(evs[0].Details, &d)
		if !slices.Contains(d.Results, struct{ Scope, Reason string }{"profile", "not_consented"}) {
			t.Errorf("results %+v, want profile not_consented", d.Results)
		}

		// Incremental: one new scope.
		a = newAuthRequest(o.spaConfig("openid", "read:transactions", "email"))
		p = alice.Visit(o.env.URL, a.url)
		if got := p.AskedScopes(t); !slices.Equal(got, []string{"email"}) {
			t.Errorf("second consent asks %v, want only [email]", got)
		}
		p = alice.Consent(o.env.URL, p, true)
		tok = a.exchange(t, ctx, a.code(t, p, o.iss))
		if tok.Extra("scope") != "email openid read:transactions" {
			t.Errorf("scope = %v", tok.Extra("scope"))
		}

		// Nothing new: no screen at all.
		a = newAuthRequest(o.spaConfig("openid", "email"))
		a.code(t, alice.Visit(o.env.URL, a.url), o.iss)

		// include_granted_scopes adds the earlier scopes to the token.
		a = newAuthRequest(o.spaConfig("openid"), oauth2.SetAuthURLParam("include_granted_scopes", "true"),
			oauth2.SetAuthURLParam("audience", "api.banking.example.com"))
		tok = a.exchange(t, ctx, a.code(t, alice.Visit(o.env.URL, a.url), o.iss))
		if tok.Extra("scope") != "email openid read:transactions" {
			t.Errorf("include_granted_scopes: scope = %v", tok.Extra("scope"))
		}

		// prompt=consent shows the screen although everything is granted.
		a = newAuthRequest(o.spaConfig("openid", "email"), oauth2.SetAuthURLParam("prompt", "consent"))
		p = alice.Visit(o.env.URL, a.url)
		if p.Location != nil || len(p.Forms()) != 1 {
			t.Fatalf("OIDC Core §3.1.2.1 prompt=consent: no consent page (%v)", p.Location)
		}
		a.code(t, alice.Consent(o.env.URL, p, true), o.iss)

		// prompt=none with a new scope cannot ask.
		a = newAuthRequest(o.spaConfig("openid", "write:settings"), oauth2.SetAuthURLParam("prompt", "none"))
		if got := a.authError(t, alice.Visit(o.env.URL, a.url), o.iss); got != "consent_required" {
			t.Errorf("OIDC Core §3.1.2.6: error = %q, want consent_required", got)
		}

		// Deny.
		a = newAuthRequest(o.spaConfig("openid", "write:settings"))
		p = alice.Visit(o.env.URL, a.url)
		if got := a.authError(t, alice.Consent(o.env.URL, p, false), o.iss); got != "access_denied" {
			t.Errorf("RFC 6749 §4.1.2.1 deny: error = %q, want access_denied", got)
		}
	})

	t.Run("implicit consent shows no screen", func(t *testing.T) {
		br := servertest.NewBrowser(t)
		a := newAuthRequest(o.toolConfig("openid", "profile", "users:read"))
		p := br.SignIn(o.env.URL, br.Visit(o.env.URL, a.url), o.people.Alice.Username, o.people.Alice.Password)
		a.code(t, p, o.iss)
	})

	t.Run("OIDC Core §3.1.2.1 prompt=login and max_age ask for a fresh sign-in", func(t *testing.T) {
		br := servertest.NewBrowser(t)
		a := newAuthRequest(o.toolConfig("openid"))
		o.codeFor(t, br, a, o.people.Alice)
		for _, opt := range []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "60")} {
			o.env.Clock.Advance(2 * time.Minute)
			a = newAuthRequest(o.toolConfig("openid"), opt)
			p := br.Visit(o.env.URL, a.url)
			if !hasPasswordField(p) {
				t.Fatalf("no login page for %v: %v", opt, p.Location)
			}
			p = br.SignIn(o.env.URL, p, o.people.Alice.Username, o.people.Alice.Password)
			tok := a.exchange(t, ctx, a.code(t, p, o.iss))
			at := unverifiedClaims(t, tok.AccessToken)
			if int64(at["auth_time"].(float64)) != o.env.Clock.Now().Unix() {
				t.Errorf("auth_time = %v, want the fresh sign-in %d", at["auth_time"], o.env.Clock.Now().Unix())
			}
		}
		// A recent enough session satisfies max_age without a page.
		a = newAuthRequest(o.toolConfig("openid"), oauth2.SetAuthURLParam("max_age", "3600"))
		a.code(t, br.Visit(o.env.URL, a.url), o.iss)
	})

	t.Run("a request signed in by one browser cannot be resumed by another", func(t *testing.T) {
		alice := servertest.NewBrowser(t)
		a := newAuthRequest(o.spaConfig("openid", "write:settings"))
		p := alice.Visit(o.env.URL, a.url)
		p = alice.SignIn(o.env.URL, p, o.people.Alice.Username, o.people.Alice.Password)
		if p.Location != nil {
			t.Fatalf("want the consent page, got %s", p.Location)
		}
		id := p.URL.Query().Get("request")
		mallory := servertest.NewBrowser(t)
		q := mallory.Visit(o.env.URL, o.iss+"/oauth2/authorize/resume?request="+url.QueryEscape(id))
		if q.Location != nil || q.Status != http.StatusBadRequest {
			t.Errorf("another browser resumed: status %d location %v", q.Status, q.Location)
		}
	})
}

// unverifiedClaims decodes a JWT's claims without checking anything (for
// tests whose clock runs ahead of the real one).
func unverifiedClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := tok.UnsafeClaimsWithoutVerification(&c); err != nil {
		t.Fatal(err)
	}
	return c
}
