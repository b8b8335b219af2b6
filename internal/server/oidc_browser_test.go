package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

func TestCORS(t *testing.T) {
	o := startOIDC(t)
	ctx := o.ctx(t)
	const other = "https://evil.example.com"
	preflight := func(t *testing.T, path, origin, method string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodOptions, o.iss+path, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", method)
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		resp, err := servertest.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, c := range []struct{ path, method string }{
		{"/oauth2/token", "POST"}, {"/oauth2/revoke", "POST"}, {"/oauth2/userinfo", "GET"},
		{"/.well-known/jwks.json", "GET"}, {"/.well-known/openid-configuration", "GET"},
	} {
		t.Run("Fetch preflight from the app's origin: "+c.path, func(t *testing.T) {
			resp := preflight(t, c.path, servertest.SPAOrigin, c.method)
			h := resp.Header
			if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != servertest.SPAOrigin ||
				!strings.Contains(h.Get("Access-Control-Allow-Methods"), c.method) ||
				!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") ||
				!strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
				t.Errorf("status %d headers %v", resp.StatusCode, h)
			}
			if h.Get("Access-Control-Allow-Credentials") != "" {
				t.Error("credentials must not be allowed")
			}
		})
		t.Run("Fetch preflight from another origin gets no CORS headers: "+c.path, func(t *testing.T) {
			resp := preflight(t, c.path, other, c.method)
			for k := range resp.Header {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("%s sent to a foreign origin", k)
				}
			}
		})
	}
	t.Run("no CORS on the authorization endpoint", func(t *testing.T) {
		resp := preflight(t, "/oauth2/authorize", servertest.SPAOrigin, "GET")
		if resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Error("authorize answers CORS")
		}
	})

	// Actual requests, the way a browser SPA makes them.
	br := servertest.NewBrowser(t)
	a := newAuthRequest(o.spaConfig("openid", "offline_access"))
	code := o.codeFor(t, br, a, o.people.Alice)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {a.verifier},
		"client_id": {"banking-spa"}, "redirect_uri": {servertest.SPARedirectURI}}
	post := func(t *testing.T, path, origin string, form url.Values) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, o.iss+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		resp, err := servertest.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	t.Run("token request from the client's own origin is readable", func(t *testing.T) {
		resp := post(t, "/oauth2/token", servertest.SPAOrigin, form)
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != servertest.SPAOrigin {
			t.Errorf("status %d ACAO %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	})
	t.Run("token request of a client from another app's origin gets no CORS header", func(t *testing.T) {
		// The admin tool's origin is a tenant origin, but not the SPA's.
		resp := post(t, "/oauth2/token", "http://127.0.0.1:8400", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {"banking-spa"}})
		if resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("ACAO %q for another client's origin", resp.Header.Get("Access-Control-Allow-Origin"))
		}
	})
	t.Run("discovery from another origin has no CORS header", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, o.iss+"/.well-known/openid-configuration", nil)
		req.Header.Set("Origin", other)
		resp, err := servertest.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("status %d ACAO %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	})
	t.Run("explicit AllowedOrigins replace the redirect URIs' origins", func(t *testing.T) {
		o.env.SetAllowedOrigins(t, "banking", "banking-spa", "https://app.example.com")
		if got := preflight(t, "/oauth2/token", "https://app.example.com", "POST").Header.Get("Access-Control-Allow-Origin"); got != "https://app.example.com" {
			t.Errorf("ACAO = %q", got)
		}
		if got := preflight(t, "/oauth2/token", servertest.SPAOrigin, "POST").Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("the redirect URI's origin is still allowed: %q", got)
		}
	})
	_ = ctx
}

func TestUserinfo(t *testing.T) {
	o := startOIDC(t)
	ctx := o.ctx(t)
	br := servertest.NewBrowser(t)
	a := newAuthRequest(o.spaConfig("openid", "profile", "email", "read:transactions"))
	tok := a.exchange(t, ctx, o.codeFor(t, br, a, o.people.Alice))

	call := func(t *testing.T, method, auth, body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, o.iss+"/oauth2/userinfo", strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := servertest.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	t.Run("OIDC Core §5.3.1 GET with a bearer header", func(t *testing.T) {
		resp, body := call(t, "GET", "Bearer "+tok.AccessToken, "")
		if resp.StatusCode != 200 || !strings.Contains(body, `"sub":"usr_alice"`) || !strings.Contains(body, `"email":"alice@example.com"`) ||
			!strings.Contains(body, `"preferred_username":"alice"`) || strings.Contains(body, "phone_number") {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("RFC 6750 §2.2 POST with the token in the form body", func(t *testing.T) {
		resp, body := call(t, "POST", "", "access_token="+url.QueryEscape(tok.AccessToken))
		if resp.StatusCode != 200 || !strings.Contains(body, `"sub":"usr_alice"`) {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("RFC 6750 §3.1 no token → 401 with a bare Bearer challenge", func(t *testing.T) {
		resp, _ := call(t, "GET", "", "")
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("%d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})
	t.Run("RFC 6750 §3.1 bad token → 401 invalid_token", func(t *testing.T) {
		resp, _ := call(t, "GET", "Bearer not.a.token", "")
		if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})
	t.Run("RFC 6750 §3.1 token without openid → 403 insufficient_scope", func(t *testing.T) {
		a := newAuthRequest(o.spaConfig("read:transactions"))
		plain := a.exchange(t, ctx, o.codeFor(t, br, a, o.people.Alice))
		resp, _ := call(t, "GET", "Bearer "+plain.AccessToken, "")
		if resp.StatusCode != 403 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_scope"`) {
			t.Errorf("%d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
		cc := clientToken(t, o.env, "banking", o.b.Reporting, "read:transactions", "api.banking.example.com")
		if resp, _ := call(t, "GET", "Bearer "+cc, ""); resp.StatusCode != 403 {
			t.Errorf("client-credentials token: %d, want 403", resp.StatusCode)
		}
	})
	t.Run("RFC 6750 §2 two ways at once → 400 invalid_request", func(t *testing.T) {
		resp, _ := call(t, "POST", "Bearer "+tok.AccessToken, "access_token="+url.QueryEscape(tok.AccessToken))
		if resp.StatusCode != 400 {
			t.Errorf("%d", resp.StatusCode)
		}
	})
	t.Run("RFC 7009 revoked token → 401 invalid_token", func(t *testing.T) {
		if status, _ := postForm(t, o.iss+"/oauth2/revoke", url.Values{"token": {tok.AccessToken}, "client_id": {"banking-spa"}}); status != 200 {
			t.Fatalf("revoke: %d", status)
		}
		resp, _ := call(t, "GET", "Bearer "+tok.AccessToken, "")
		if resp.StatusCode != 401 {
			t.Errorf("%d", resp.StatusCode)
		}
	})
	t.Run("a disabled user's token → 401 invalid_token", func(t *testing.T) {
		erin := o.env.CreateUser(t, "banking", model.User{Username: "erin"}, "erin's long password")
		b2 := servertest.NewBrowser(t)
		a := newAuthRequest(o.spaConfig("openid"))
		tk := a.exchange(t, ctx, o.codeFor(t, b2, a, erin))
		u, _ := o.env.Store.Users().Get(t.Context(), "banking", erin.ID)
		u.Status = model.UserDisabled
		if _, err := o.env.Store.Users().Update(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		if resp, _ := call(t, "GET", "Bearer "+tk.AccessToken, ""); resp.StatusCode != 401 {
			t.Errorf("%d", resp.StatusCode)
		}
	})
}

func TestLogout(t *testing.T) {
	o := startOIDC(t)
	ctx := o.ctx(t)

	signedIn := func(t *testing.T) (*servertest.Browser, string) {
		br := servertest.NewBrowser(t)
		a := newAuthRequest(o.spaConfig("openid"))
		tok := a.exchange(t, ctx, o.codeFor(t, br, a, o.people.Alice))
		return br, tok.Extra("id_token").(string)
	}
	// stillSignedIn reports whether prompt=none succeeds.
	stillSignedIn := func(t *testing.T, br *servertest.Browser) bool {
		a := newAuthRequest(o.spaConfig("openid"), oauth2.SetAuthURLParam("prompt", "none"))
		q := a.callback(t, br.Visit(o.env.URL, a.url), o.iss)
		return q.Get("code") != ""
	}

	t.Run("OIDC RP-Initiated Logout §2 id_token_hint ends the session and returns to the exact URI with state", func(t *testing.T) {
		br, idt := signedIn(t)
		if !stillSignedIn(t, br) {
			t.Fatal("not signed in")
		}
		q := url.Values{"id_token_hint": {idt}, "post_logout_redirect_uri": {servertest.SPAPostLogoutURI}, "state": {"bye"}}
		p := br.Visit(o.env.URL, o.iss+"/oauth2/logout?"+q.Encode())
		if p.Location == nil || p.Location.String() != servertest.SPAPostLogoutURI+"?state=bye" {
			t.Fatalf("status %d location %v\n%s", p.Status, p.Location, p.Body)
		}
		if stillSignedIn(t, br) {
			t.Error("the session survived logout")
		}
		evs := events(t, o, model.EventLogout, "banking-spa")
		if len(evs) == 0 || evs[0].Subject != o.people.Alice.ID {
			t.Errorf("logout events %+v", evs)
		}
		// Afterwards, authorization needs a sign-in again.
		a := newAuthRequest(o.spaConfig("openid"))
		if p := br.Visit(o.env.URL, a.url); !hasPasswordField(p) {
			t.Errorf("no login page after logout: %v", p.Location)
		}
	})
	t.Run("OIDC RP-Initiated Logout §3 post_logout_redirect_uri not registered → error page, session kept", func(t *testing.T) {
		br, idt := signedIn(t)
		for _, bad := range []string{"https://evil.example.com/", servertest.SPAPostLogoutURI + "/", servertest.SPARedirectURI} {
			q := url.Values{"id_token_hint": {idt}, "post_logout_redirect_uri": {bad}}
			p := br.Visit(o.env.URL, o.iss+"/oauth2/logout?"+q.Encode())
			if p.Location != nil || p.Status != http.StatusBadRequest {
				t.Errorf("%s: status %d location %v", bad, p.Status, p.Location)
			}
		}
		if !stillSignedIn(t, br) {
			t.Error("a refused logout ended the session")
		}
	})
	t.Run("post_logout_redirect_uri without a client → error page", func(t *testing.T) {
		br, _ := signedIn(t)
		p := br.Visit(o.env.URL, o.iss+"/oauth2/logout?post_logout_redirect_uri="+url.QueryEscape(servertest.SPAPostLogoutURI))
		if p.Location != nil || p.Status != http.StatusBadRequest {
			t.Errorf("status %d location %v", p.Status, p.Location)
		}
	})
	t.Run("a forged id_token_hint → error page", func(t *testing.T) {
		br, idt := signedIn(t)
		parts := strings.Split(idt, ".")
		forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
		p := br.Visit(o.env.URL, o.iss+"/oauth2/logout?id_token_hint="+url.QueryEscape(forged))
		if p.Status != http.StatusBadRequest || !stillSignedIn(t, br) {
			t.Errorf("status %d", p.Status)
		}
	})
	t.Run("OIDC RP-Initiated Logout §2 without id_token_hint the user confirms", func(t *testing.T) {
		br, _ := signedIn(t)
		p := br.Visit(o.env.URL, o.iss+"/oauth2/logout?client_id=banking-spa&post_logout_redirect_uri="+url.QueryEscape(servertest.SPAPostLogoutURI))
		if p.Status != 200 || p.Location != nil {
			t.Fatalf("want a confirmation page: %d %v", p.Status, p.Location)
		}
		if !stillSignedIn(t, br) {
			t.Fatal("signed out before confirming")
		}
		// A cross-site POST of the confirmation does nothing.
		f := p.Form(t)
		req, _ := http.NewRequest(http.MethodPost, f.Action.String(), strings.NewReader(f.Values.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example.com")
		br.Do(o.env.URL, req)
		if !stillSignedIn(t, br) {
			t.Fatal("a cross-site confirmation signed the user out")
		}
		p = br.Submit(o.env.URL, f, nil)
		if p.Location == nil || p.Location.String() != servertest.SPAPostLogoutURI {
			t.Fatalf("after confirming: %d %v", p.Status, p.Location)
		}
		if stillSignedIn(t, br) {
			t.Error("the session survived the confirmed logout")
		}
	})
	t.Run("an expired id_token_hint is still accepted", func(t *testing.T) {
		br, idt := signedIn(t)
		o.env.Clock.Advance(2 * 3600e9)
		p := br.Visit(o.env.URL, o.iss+"/oauth2/logout?id_token_hint="+url.QueryEscape(idt))
		if p.Status != 200 || !strings.Contains(p.Body, "signed out") {
			t.Errorf("status %d\n%s", p.Status, p.Body)
		}
	})
}

func TestDiscoveryTellsTheTruth(t *testing.T) {
	o := startOIDC(t)
	var m map[string]any
	getJSON(t, o.iss+"/.well-known/openid-configuration", &m)
	str := func(k string) string { s, _ := m[k].(string); return s }
	list := func(k string) string {
		var out []string
		for _, v := range m[k].([]any) {
			out = append(out, v.(string))
		}
		return strings.Join(out, " ")
	}
	for k, want := range map[string]string{
		"authorization_endpoint": o.iss + "/oauth2/authorize",
		"userinfo_endpoint":      o.iss + "/oauth2/userinfo",
		"end_session_endpoint":   o.iss + "/oauth2/logout",
	} {
		if str(k) != want {
			t.Errorf("%s = %q, want %q", k, str(k), want)
		}
	}
	for k, want := range map[string]string{
		"response_types_supported":                   "code",
		"response_modes_supported":                   "query",
		"grant_types_supported":                      "authorization_code refresh_token client_credentials",
		"code_challenge_methods_supported":           "S256",
		"subject_types_supported":                    "public",
		"id_token_signing_alg_values_supported":      "RS256 ES256",
		"token_endpoint_auth_methods_supported":      "client_secret_basic client_secret_post none",
		"revocation_endpoint_auth_methods_supported": "client_secret_basic client_secret_post none",
		"prompt_values_supported":                    "none login consent select_account",
	} {
		if got := list(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if m["authorization_response_iss_parameter_supported"] != true {
		t.Error("RFC 9207 §3: authorization_response_iss_parameter_supported must be true")
	}
	claims := " " + list("claims_supported") + " "
	for _, c := range []string{"sub", "iss", "auth_time", "nonce", "sid", "name", "email", "email_verified", "address", "phone_number", "preferred_username", "updated_at"} {
		if !strings.Contains(claims, " "+c+" ") {
			t.Errorf("claims_supported lacks %s", c)
		}
	}
	if !strings.Contains(" "+list("scopes_supported")+" ", " offline_access ") {
		t.Error("scopes_supported lacks offline_access")
	}
}
