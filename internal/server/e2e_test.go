package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
)

// getJSON fetches url and decodes the JSON body into v.
func getJSON(t *testing.T, u string, v any) *http.Response {
	t.Helper()
	resp, err := servertest.HTTPClient().Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp
}

// verifyWithJWKS checks an access token the way an independent resource
// server would: go-jose, keys from the served JWKS, RFC 9068 header and claims.
func verifyWithJWKS(t *testing.T, issuer, raw string, alg jose.SignatureAlgorithm) map[string]any {
	t.Helper()
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	getJSON(t, issuer+"/.well-known/openid-configuration", &meta)
	if meta.Issuer != issuer {
		t.Fatalf("discovery issuer = %q, want %q", meta.Issuer, issuer)
	}
	var set jose.JSONWebKeySet
	getJSON(t, meta.JWKSURI, &set)

	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{alg})
	if err != nil {
		t.Fatalf("parse access token: %v", err)
	}
	h := tok.Headers[0]
	if h.ExtraHeaders["typ"] != "at+jwt" {
		t.Errorf("RFC 9068 §2.1 typ = %v, want at+jwt", h.ExtraHeaders["typ"])
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in JWKS exactly once", h.KeyID)
	}
	var claims map[string]any
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		t.Fatalf("signature does not verify against the JWKS: %v", err)
	}
	var std jwt.Claims
	if err := tok.Claims(keys[0].Key, &std); err != nil {
		t.Fatal(err)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Issuer: issuer, Time: time.Now()}, time.Minute); err != nil {
		t.Errorf("RFC 9068 §4 standard claims: %v", err)
	}
	for _, c := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"} {
		if _, ok := claims[c]; !ok {
			t.Errorf("RFC 9068 §2.2 claim %s missing", c)
		}
	}
	return claims
}

func TestClientCredentialsEndToEnd(t *testing.T) {
	env := servertest.Start(t)
	b := env.Seed(t, "banking")
	iss := env.Issuer("banking")

	for _, style := range []struct {
		name  string
		style oauth2.AuthStyle
	}{{"client_secret_basic", oauth2.AuthStyleInHeader}, {"client_secret_post", oauth2.AuthStyleInParams}} {
		t.Run(style.name, func(t *testing.T) {
			cfg := clientcredentials.Config{
				ClientID: b.Reporting.ID, ClientSecret: b.Reporting.Secret,
				TokenURL:       iss + "/oauth2/token",
				Scopes:         []string{"read:transactions"},
				EndpointParams: url.Values{"audience": {"api.banking.example.com"}},
				AuthStyle:      style.style,
			}
			tok, err := cfg.Token(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
				t.Errorf("token type %q expiry %v", tok.TokenType, tok.Expiry)
			}
			if got := tok.Extra("scope"); got != "read:transactions" {
				t.Errorf("response scope = %v", got)
			}
			claims := verifyWithJWKS(t, iss, tok.AccessToken, jose.ES256)
			if claims["aud"] != "api.banking.example.com" || claims["scope"] != "read:transactions" ||
				claims["client_id"] != "reporting-job" || claims["sub"] != "reporting-job" || claims["iss"] != iss {
				t.Errorf("claims = %v", claims)
			}
			exp, iat := claims["exp"].(float64), claims["iat"].(float64)
			if exp-iat != 3600 {
				t.Errorf("lifetime = %vs, want the API's 3600s", exp-iat)
			}
		})
	}

	t.Run("RFC 8707 resource selects the RS256 API", func(t *testing.T) {
		_, err := env.Admin.AddAllowedScopes(t.Context(), admin.CLI(), "banking", "reporting-job", []string{"read:records"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		cfg := clientcredentials.Config{
			ClientID: b.Reporting.ID, ClientSecret: b.Reporting.Secret, TokenURL: iss + "/oauth2/token",
			Scopes: []string{"read:records"}, EndpointParams: url.Values{"resource": {"api.health.example.com"}},
		}
		tok, err := cfg.Token(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		claims := verifyWithJWKS(t, iss, tok.AccessToken, jose.RS256)
		if claims["aud"] != "api.health.example.com" {
			t.Errorf("aud = %v", claims["aud"])
		}
	})

	t.Run("token_issued is committed with reasons before the response", func(t *testing.T) {
		// Its own token, found by its jti the moment the response is in:
		// no sleep, no retry, no reliance on the events of other subtests.
		cfg := clientcredentials.Config{
			ClientID: b.Reporting.ID, ClientSecret: b.Reporting.Secret, TokenURL: iss + "/oauth2/token",
			Scopes: []string{"read:transactions"}, EndpointParams: url.Values{"audience": {"api.banking.example.com"}},
		}
		tok, err := cfg.Token(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		jti, _ := verifyWithJWKS(t, iss, tok.AccessToken, jose.ES256)["jti"].(string)
		evs, err := env.Store.Audit().Search(t.Context(), store.AuditQuery{TenantID: "banking", Type: model.EventTokenIssued, ClientID: "reporting-job"})
		if err != nil {
			t.Fatal(err)
		}
		type details struct {
			GrantType string   `json:"grant_type"`
			Requested []string `json:"requested"`
			Granted   []string `json:"granted"`
			JTI       string   `json:"jti"`
			Results   []struct {
				Scope, Reason string
			} `json:"results"`
		}
		var found *model.AuditEvent
		var d details
		for i := range evs {
			var di details
			if err := json.Unmarshal(evs[i].Details, &di); err != nil {
				t.Fatal(err)
			}
			if jti != "" && di.JTI == jti {
				found, d = &evs[i], di
			}
		}
		if found == nil {
			t.Fatalf("PRODUCT.md §9: no token_issued event with jti %q when the response arrived (%d events)", jti, len(evs))
		}
		if d.GrantType != "client_credentials" || len(d.Requested) != 1 || d.Requested[0] != "read:transactions" ||
			len(d.Results) != 1 || d.Results[0].Scope != "read:transactions" || d.Results[0].Reason != "granted" {
			t.Errorf("details = %+v", d)
		}
		if found.Audience != "api.banking.example.com" {
			t.Errorf("audience = %q", found.Audience)
		}
	})
}

// tokenCall posts a raw form to the token endpoint.
type tokenCall struct {
	method  string
	ctype   string
	body    string
	basic   *servertest.Client
	rawAuth string
}

func (c tokenCall) do(t *testing.T, endpoint string) (*http.Response, map[string]any) {
	t.Helper()
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(t.Context(), method, endpoint, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	ctype := c.ctype
	if ctype == "" {
		ctype = "application/x-www-form-urlencoded"
	}
	req.Header.Set("Content-Type", ctype)
	if c.basic != nil {
		req.SetBasicAuth(url.QueryEscape(c.basic.ID), url.QueryEscape(c.basic.Secret))
	}
	if c.rawAuth != "" {
		req.Header.Set("Authorization", c.rawAuth)
	}
	resp, err := servertest.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("body is not JSON: %q", raw)
		}
	}
	return resp, body
}

func TestTokenEndpointErrors(t *testing.T) {
	env := servertest.Start(t)
	b := env.Seed(t, "banking")
	endpoint := env.Issuer("banking") + "/oauth2/token"
	rep, leg := &b.Reporting, &b.Legacy
	wrong := &servertest.Client{ID: rep.ID, Secret: "not-the-secret"}
	unknown := &servertest.Client{ID: "nobody", Secret: "x"}
	cc := "grant_type=client_credentials"

	cases := []struct {
		name      string
		call      tokenCall
		status    int
		code      string // "" means success
		wantScope string
		challenge bool
	}{
		{name: "RFC 6749 §5.2 wrong secret via Basic → 401 invalid_client with WWW-Authenticate", call: tokenCall{basic: wrong, body: cc}, status: 401, code: "invalid_client", challenge: true},
		{name: "RFC 6749 §5.2 wrong secret via post → 401 invalid_client", call: tokenCall{body: cc + "&client_id=reporting-job&client_secret=nope"}, status: 401, code: "invalid_client"},
		{name: "RFC 6749 §5.2 unknown client → 401 invalid_client", call: tokenCall{basic: unknown, body: cc}, status: 401, code: "invalid_client", challenge: true},
		{name: "RFC 6749 §5.2 no client authentication → 401 invalid_client", call: tokenCall{body: cc}, status: 401, code: "invalid_client"},
		{name: "RFC 6749 §5.2 confidential client without secret → 401 invalid_client", call: tokenCall{body: cc + "&client_id=reporting-job"}, status: 401, code: "invalid_client"},
		{name: "RFC 6749 §5.2 bad Basic header → 401 invalid_client", call: tokenCall{rawAuth: "Basic %%%", body: cc}, status: 401, code: "invalid_client", challenge: true},
		{name: "RFC 6749 §5.2 Basic without colon → 401 invalid_client", call: tokenCall{rawAuth: "Basic " + base64.StdEncoding.EncodeToString([]byte("reporting-job")), body: cc}, status: 401, code: "invalid_client", challenge: true},
		{name: "RFC 6749 §2.3 two authentication methods → invalid_request", call: tokenCall{basic: rep, body: cc + "&client_secret=" + url.QueryEscape(rep.Secret)}, status: 400, code: "invalid_request"},
		{name: "RFC 6749 §5.2 missing grant_type → invalid_request", call: tokenCall{basic: rep, body: "scope=read:transactions"}, status: 400, code: "invalid_request"},
		{name: "RFC 6749 §5.2 unknown grant type → unsupported_grant_type", call: tokenCall{basic: rep, body: "grant_type=urn:example:magic"}, status: 400, code: "unsupported_grant_type"},
		{name: "RFC 9700 §2.4 password grant → unsupported_grant_type", call: tokenCall{basic: rep, body: "grant_type=password&username=a&password=b"}, status: 400, code: "unsupported_grant_type"},
		{name: "RFC 6749 §3.2 repeated parameter → invalid_request", call: tokenCall{basic: rep, body: cc + "&scope=a&scope=b"}, status: 400, code: "invalid_request"},
		{name: "RFC 6749 §3.2 GET → 405 invalid_request", call: tokenCall{method: "GET", basic: rep}, status: 405, code: "invalid_request"},
		{name: "JSON body → invalid_request", call: tokenCall{basic: rep, ctype: "application/json", body: `{"grant_type":"client_credentials"}`}, status: 400, code: "invalid_request"},
		{name: "non-UTF-8 parameter → invalid_request", call: tokenCall{basic: rep, body: cc + "&scope=%C3%28"}, status: 400, code: "invalid_request"},
		{name: "huge body → 413 invalid_request", call: tokenCall{basic: rep, body: cc + "&scope=" + strings.Repeat("a", 300<<10)}, status: 413, code: "invalid_request"},
		{name: "RFC 6749 §3.3 scope over 64 KiB → invalid_scope (too large, not malformed)", call: tokenCall{basic: rep, body: cc + "&scope=" + strings.Repeat("a", 70<<10)}, status: 400, code: "invalid_scope"},
		{name: "RFC 6749 §3.3 forbidden character in scope → invalid_scope", call: tokenCall{basic: rep, body: cc + "&scope=" + url.QueryEscape(`read:"transactions"`)}, status: 400, code: "invalid_scope"},
		{name: "RFC 6749 §3.3 double space in scope → invalid_scope", call: tokenCall{basic: rep, body: cc + "&scope=read:transactions++users:read"}, status: 400, code: "invalid_scope"},
		{name: "RFC 6749 §5.2 strict: unregistered scope → invalid_scope", call: tokenCall{basic: rep, body: cc + "&scope=read:transactions+delete:everything"}, status: 400, code: "invalid_scope"},
		{name: "RFC 6749 §5.2 strict: registered but not allowlisted → invalid_scope", call: tokenCall{basic: rep, body: cc + "&scope=payments:approve"}, status: 400, code: "invalid_scope"},
		{name: "permissive: not allowlisted is dropped", call: tokenCall{basic: leg, body: cc + "&scope=read:transactions+payments:approve"}, status: 200, wantScope: "read:transactions"},
		{name: "permissive: unregistered is dropped", call: tokenCall{basic: leg, body: cc + "&scope=read:transactions+delete:everything"}, status: 200, wantScope: "read:transactions"},
		{name: "RFC 6749 §5.1 permissive: every scope dropped → a token whose scope is empty, present", call: tokenCall{basic: leg, body: cc + "&scope=payments:approve+read:transaction&audience=api.banking.example.com"}, status: 200, wantScope: ""},
		{name: "RFC 8707 §2 unknown audience → invalid_target", call: tokenCall{basic: rep, body: cc + "&scope=read:transactions&audience=api.nowhere.example.com"}, status: 400, code: "invalid_target"},
		{name: "RFC 8707 §2 two resources → invalid_target", call: tokenCall{basic: rep, body: cc + "&scope=read:transactions&resource=api.banking.example.com&resource=api.health.example.com"}, status: 400, code: "invalid_target"},
		{name: "RFC 8707 §2 scopes of two APIs without audience → invalid_target", call: tokenCall{basic: rep, body: cc + "&scope=read:transactions+users:read"}, status: 400, code: "invalid_target"},
		{name: "strict: scope of another API than the audience → invalid_scope", call: tokenCall{basic: rep, body: cc + "&scope=read:transactions+users:read&audience=api.banking.example.com"}, status: 400, code: "invalid_scope"},
		{name: "platform scopes without audience target the platform API", call: tokenCall{basic: rep, body: cc + "&scope=users:read+audit:read"}, status: 200, wantScope: "audit:read users:read"},
		{name: "RFC 6749 §3.3 no scope: the allowlist's default for the audience", call: tokenCall{basic: rep, body: cc + "&audience=api.banking.example.com"}, status: 200, wantScope: "read:transactions"},
		{name: "empty scope value is treated as omitted (RFC 6749 §3.1)", call: tokenCall{basic: rep, body: cc + "&scope=&audience=api.banking.example.com"}, status: 200, wantScope: "read:transactions"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := c.call.do(t, endpoint)
			if resp.StatusCode != c.status {
				t.Fatalf("status = %d, want %d (body %v)", resp.StatusCode, c.status, body)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("RFC 6749 §5.1 Cache-Control = %q", got)
			}
			if c.code == "" {
				if sc, present := body["scope"]; body["access_token"] == nil || !present || sc != c.wantScope {
					t.Errorf("body = %v, want scope %q", body, c.wantScope)
				}
				return
			}
			if body["error"] != c.code {
				t.Errorf("error = %v, want %s (%v)", body["error"], c.code, body["error_description"])
			}
			if _, ok := body["access_token"]; ok {
				t.Errorf("an error response carried a token")
			}
			if got := resp.Header.Get("WWW-Authenticate"); (got != "") != c.challenge {
				t.Errorf("WWW-Authenticate = %q, want present=%v", got, c.challenge)
			}
		})
	}

	t.Run("a token that carries no scope says why in its token_issued event", func(t *testing.T) {
		evs, err := env.Store.Audit().Search(t.Context(), store.AuditQuery{TenantID: "banking", Type: model.EventTokenIssued, ClientID: "legacy-batch"})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range evs {
			var d struct {
				Granted []string
				Results []struct{ Scope, Reason string }
				Note    string
			}
			_ = json.Unmarshal(e.Details, &d)
			if len(d.Granted) != 0 || len(e.Scopes) != 0 {
				continue
			}
			found = true
			reasons := map[string]string{}
			for _, r := range d.Results {
				reasons[r.Scope] = r.Reason
			}
			if reasons["payments:approve"] != "not_allowed" || reasons["read:transaction"] != "not_registered" {
				t.Errorf("results %+v lack each dropped scope's reason", d.Results)
			}
			for _, want := range []string{"every requested scope was dropped", "payments:approve is not on legacy-batch's allowlist", "read:transaction is not a scope of this tenant (did you mean read:transactions?)"} {
				if !strings.Contains(d.Note, want) {
					t.Errorf("note %q lacks %q", d.Note, want)
				}
			}
		}
		if !found {
			t.Errorf("no token_issued event of legacy-batch with no scope among %d", len(evs))
		}
	})

	t.Run("refusals of authenticated clients are audited with reasons", func(t *testing.T) {
		evs, err := env.Store.Audit().Search(t.Context(), store.AuditQuery{TenantID: "banking", Type: model.EventTokenRefused, ClientID: "reporting-job"})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range evs {
			var d struct {
				Error   string `json:"error"`
				Results []struct{ Scope, Reason string }
			}
			_ = json.Unmarshal(e.Details, &d)
			for _, r := range d.Results {
				if r.Scope == "payments:approve" && r.Reason == "not_allowed" && d.Error == "invalid_scope" {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("no token_refused event names payments:approve as not_allowed among %d", len(evs))
		}
	})
}

// clientToken gets a token with the client credentials grant.
func clientToken(t *testing.T, env *servertest.Env, tenant string, c servertest.Client, scope, aud string) string {
	t.Helper()
	cfg := clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: env.Issuer(tenant) + "/oauth2/token",
		Scopes: strings.Fields(scope), EndpointParams: url.Values{"audience": {aud}}}
	tok, err := cfg.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

func introspect(t *testing.T, env *servertest.Env, tenant string, c servertest.Client, tok string) map[string]any {
	t.Helper()
	resp, body := tokenCall{basic: &c, body: "token=" + url.QueryEscape(tok)}.do(t, env.Issuer(tenant)+"/oauth2/introspect")
	if resp.StatusCode != 200 {
		t.Fatalf("introspect status %d: %v", resp.StatusCode, body)
	}
	return body
}

func TestIntrospectionAndRevocation(t *testing.T) {
	env := servertest.Start(t)
	b := env.Seed(t, "banking")
	iss := env.Issuer("banking")
	tok := clientToken(t, env, "banking", b.Reporting, "read:transactions", "api.banking.example.com")

	t.Run("RFC 7662 §2.2 active token with its claims", func(t *testing.T) {
		got := introspect(t, env, "banking", b.Legacy, tok)
		if got["active"] != true || got["scope"] != "read:transactions" || got["client_id"] != "reporting-job" ||
			got["aud"] != "api.banking.example.com" || got["iss"] != iss || got["token_type"] != "Bearer" {
			t.Errorf("introspection = %v", got)
		}
	})
	t.Run("RFC 7662 §2.1 caller must authenticate", func(t *testing.T) {
		resp, body := tokenCall{body: "token=" + tok}.do(t, iss+"/oauth2/introspect")
		if resp.StatusCode != 401 || body["error"] != "invalid_client" {
			t.Errorf("status %d body %v", resp.StatusCode, body)
		}
	})
	t.Run("RFC 7662 §2.2 garbage is inactive, with nothing else", func(t *testing.T) {
		got := introspect(t, env, "banking", b.Legacy, "not.a.jwt")
		if got["active"] != false || len(got) != 1 {
			t.Errorf("introspection = %v", got)
		}
	})
	t.Run("RFC 7009 §2.1 another client may not revoke the token", func(t *testing.T) {
		resp, body := tokenCall{basic: &b.Legacy, body: "token=" + tok}.do(t, iss+"/oauth2/revoke")
		if resp.StatusCode != 400 || body["error"] != "unauthorized_client" {
			t.Errorf("status %d body %v", resp.StatusCode, body)
		}
		if introspect(t, env, "banking", b.Legacy, tok)["active"] != true {
			t.Errorf("token revoked by another client")
		}
	})
	t.Run("RFC 7009 §2.2 invalid token → 200", func(t *testing.T) {
		resp, _ := tokenCall{basic: &b.Reporting, body: "token=garbage&token_type_hint=access_token"}.do(t, iss+"/oauth2/revoke")
		if resp.StatusCode != 200 {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
	t.Run("RFC 7009 §2 revoked token is inactive at introspection and audited", func(t *testing.T) {
		resp, _ := tokenCall{basic: &b.Reporting, body: "token=" + tok + "&token_type_hint=refresh_token"}.do(t, iss+"/oauth2/revoke")
		if resp.StatusCode != 200 {
			t.Fatalf("revoke status %d", resp.StatusCode)
		}
		if got := introspect(t, env, "banking", b.Legacy, tok); got["active"] != false {
			t.Errorf("revoked token still active: %v", got)
		}
		evs, err := env.Store.Audit().Search(t.Context(), store.AuditQuery{TenantID: "banking", Type: model.EventTokenRevoked})
		if err != nil || len(evs) != 1 {
			t.Errorf("token_revoked events = %d, %v", len(evs), err)
		}
	})
	t.Run("RFC 7662 §2.2 expired token is inactive", func(t *testing.T) {
		fresh := clientToken(t, env, "banking", b.Reporting, "read:transactions", "api.banking.example.com")
		env.Clock.Advance(time.Hour + time.Second)
		if got := introspect(t, env, "banking", b.Legacy, fresh); got["active"] != false {
			t.Errorf("expired token active: %v", got)
		}
	})
}

func TestTenantIsolation(t *testing.T) {
	env := servertest.Start(t)
	a := env.Seed(t, "alpha")
	b := env.Seed(t, "beta")
	tokA := clientToken(t, env, "alpha", a.Reporting, "read:transactions", "api.banking.example.com")

	if got := introspect(t, env, "alpha", a.Legacy, tokA); got["active"] != true {
		t.Fatalf("token inactive at its own tenant: %v", got)
	}
	if got := introspect(t, env, "beta", b.Legacy, tokA); got["active"] != false {
		t.Errorf("tenant A's token active at tenant B: %v", got)
	}
	// Same client IDs exist in both tenants; A's secret must not work at B.
	resp, body := tokenCall{basic: &a.Reporting, body: "grant_type=client_credentials&scope=read:transactions"}.do(t, env.Issuer("beta")+"/oauth2/token")
	if resp.StatusCode != 401 || body["error"] != "invalid_client" {
		t.Errorf("tenant A's client at tenant B: %d %v", resp.StatusCode, body)
	}
	resp, _ = tokenCall{basic: &a.Reporting, body: "token=" + tokA}.do(t, env.Issuer("beta")+"/oauth2/revoke")
	if resp.StatusCode != 401 {
		t.Errorf("tenant A's client revoked at tenant B: %d", resp.StatusCode)
	}
	resp, _ = tokenCall{basic: &a.Reporting, body: "grant_type=client_credentials"}.do(t, env.URL+"/t/gamma/oauth2/token")
	if resp.StatusCode != 404 {
		t.Errorf("unknown tenant: status %d, want 404", resp.StatusCode)
	}
}

func TestDiscoveryAndJWKS(t *testing.T) {
	env := servertest.Start(t)
	env.Seed(t, "banking")
	iss := env.Issuer("banking")
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		var m map[string]any
		resp := getJSON(t, iss+path, &m)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		if m["issuer"] != iss || m["token_endpoint"] != iss+"/oauth2/token" || m["jwks_uri"] != iss+"/.well-known/jwks.json" ||
			m["introspection_endpoint"] != iss+"/oauth2/introspect" || m["revocation_endpoint"] != iss+"/oauth2/revoke" {
			t.Errorf("RFC 8414 §2 endpoints wrong: %v", m)
		}
		gts, _ := json.Marshal(m["grant_types_supported"])
		if string(gts) != `["authorization_code","refresh_token","client_credentials"]` {
			t.Errorf("grant_types_supported = %s, must list only what is served", gts)
		}
		scopes, _ := json.Marshal(m["scopes_supported"])
		for _, s := range []string{"openid", "read:transactions", "users:read"} {
			if !strings.Contains(string(scopes), `"`+s+`"`) {
				t.Errorf("scopes_supported lacks %s", s)
			}
		}
	}
	var raw map[string][]map[string]any
	getJSON(t, iss+"/.well-known/jwks.json", &raw)
	algs := map[string]int{}
	for _, k := range raw["keys"] {
		algs[k["alg"].(string)]++
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := k[private]; ok {
				t.Errorf("JWKS key %v exposes private member %s", k["kid"], private)
			}
		}
	}
	// Current and next key of each algorithm: the next key is published
	// before it signs anything.
	if algs["ES256"] != 2 || algs["RS256"] != 2 {
		t.Errorf("JWKS algs = %v, want current+next of ES256 and RS256", algs)
	}
}

func TestKeyRotationWithoutDowntime(t *testing.T) {
	env := servertest.Start(t)
	b := env.Seed(t, "banking")
	before := clientToken(t, env, "banking", b.Reporting, "read:transactions", "api.banking.example.com")
	if _, err := env.Admin.RotateKeys(t.Context(), admin.CLI(), "banking"); err != nil {
		t.Fatal(err)
	}
	// The node's cache polls revisions every 50ms in tests.
	deadline := time.Now().Add(5 * time.Second)
	var after string
	for time.Now().Before(deadline) {
		after = clientToken(t, env, "banking", b.Reporting, "read:transactions", "api.banking.example.com")
		if kid(t, after) != kid(t, before) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if kid(t, after) == kid(t, before) {
		t.Fatal("new tokens still signed with the old key after rotation")
	}
	if got := introspect(t, env, "banking", b.Legacy, before); got["active"] != true {
		t.Errorf("token signed before rotation no longer active: %v", got)
	}
	verifyWithJWKS(t, env.Issuer("banking"), before, jose.ES256)
	verifyWithJWKS(t, env.Issuer("banking"), after, jose.ES256)
}

func kid(t *testing.T, raw string) string {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Headers[0].KeyID
}

func TestAllowlistChangeSeenAtOnce(t *testing.T) {
	env := servertest.Start(t)
	b := env.Seed(t, "banking")
	ctx := context.Background()
	rep := tokenCall{basic: &b.Reporting, body: "grant_type=client_credentials&scope=write:settings&audience=api.banking.example.com"}
	if resp, body := rep.do(t, env.Issuer("banking")+"/oauth2/token"); resp.StatusCode != 400 || body["error"] != "invalid_scope" {
		t.Fatalf("before: %d %v", resp.StatusCode, body)
	}
	if _, err := env.Admin.AddAllowedScopes(ctx, admin.CLI(), "banking", "reporting-job", []string{"write:settings"}, 0); err != nil {
		t.Fatal(err)
	}
	// No waiting for the poll: a refusal re-checks the tenant revision.
	if resp, body := rep.do(t, env.Issuer("banking")+"/oauth2/token"); resp.StatusCode != 200 || body["scope"] != "write:settings" {
		t.Fatalf("after adding: %d %v", resp.StatusCode, body)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	env := servertest.Start(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		var m map[string]any
		if resp := getJSON(t, env.URL+p, &m); resp.StatusCode != 200 {
			t.Errorf("%s = %d", p, resp.StatusCode)
		}
	}
	resp, err := servertest.HTTPClient().Get(env.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "intelliauth_http_requests_total") {
		t.Errorf("metrics: %d %.200s", resp.StatusCode, body)
	}
}
