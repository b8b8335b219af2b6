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

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
)

// oidcEnv is a node with the banking tenant, its users and browser apps.
type oidcEnv struct {
	env    *servertest.Env
	b      servertest.Banking
	people servertest.People
	iss    string
}

func startOIDC(t *testing.T) *oidcEnv {
	t.Helper()
	env := servertest.Start(t)
	b := env.Seed(t, "banking")
	people := env.SeedUsers(t, "banking")
	return &oidcEnv{env: env, b: b, people: people, iss: env.Issuer("banking")}
}

// spaConfig is how the banking SPA configures x/oauth2: a public client,
// so client_id goes in the body and there is no secret.
func (o *oidcEnv) spaConfig(scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:    o.people.SPA.ID,
		RedirectURL: servertest.SPARedirectURI,
		Scopes:      scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL: o.iss + "/oauth2/authorize", TokenURL: o.iss + "/oauth2/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// toolConfig is the confidential admin tool's configuration.
func (o *oidcEnv) toolConfig(scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: o.people.AdminTool.ID, ClientSecret: o.people.AdminTool.Secret,
		RedirectURL: servertest.AdminToolRedirect,
		Scopes:      scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL: o.iss + "/oauth2/authorize", TokenURL: o.iss + "/oauth2/token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
	}
}

func (o *oidcEnv) ctx(t *testing.T) context.Context {
	return oidc.ClientContext(t.Context(), servertest.HTTPClient())
}

// authRequest is one authorization request as a relying party makes it.
type authRequest struct {
	cfg      *oauth2.Config
	verifier string
	state    string
	nonce    string
	url      string
}

func newAuthRequest(cfg *oauth2.Config, opts ...oauth2.AuthCodeOption) *authRequest {
	a := &authRequest{cfg: cfg, verifier: oauth2.GenerateVerifier(), state: oauth2.GenerateVerifier()[:16], nonce: oauth2.GenerateVerifier()[:20]}
	opts = append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(a.verifier), oidc.Nonce(a.nonce)}, opts...)
	a.url = cfg.AuthCodeURL(a.state, opts...)
	return a
}

// callback checks a redirect to the client and returns its query.
func (a *authRequest) callback(t *testing.T, p *servertest.Page, iss string) url.Values {
	t.Helper()
	if p.Location == nil {
		t.Fatalf("stopped at %s (status %d), not at a redirect to the client:\n%s", p.URL, p.Status, p.Body)
	}
	want, _ := url.Parse(a.cfg.RedirectURL)
	if p.Location.Scheme != want.Scheme || p.Location.Host != want.Host || p.Location.Path != want.Path {
		t.Fatalf("redirected to %s, want %s", p.Location, a.cfg.RedirectURL)
	}
	q := p.Location.Query()
	if q.Get("iss") != iss {
		t.Errorf("RFC 9207 §2: iss = %q, want %q", q.Get("iss"), iss)
	}
	if q.Get("state") != a.state {
		t.Errorf("RFC 6749 §4.1.2: state = %q, want %q", q.Get("state"), a.state)
	}
	return q
}

// code returns the code of a successful authorization response.
func (a *authRequest) code(t *testing.T, p *servertest.Page, iss string) string {
	t.Helper()
	q := a.callback(t, p, iss)
	if q.Get("error") != "" {
		t.Fatalf("authorization error %s: %s", q.Get("error"), q.Get("error_description"))
	}
	if q.Get("code") == "" {
		t.Fatalf("no code in %s", p.Location)
	}
	return q.Get("code")
}

// authError returns the error code of a failed authorization response.
func (a *authRequest) authError(t *testing.T, p *servertest.Page, iss string) string {
	t.Helper()
	q := a.callback(t, p, iss)
	if q.Has("code") {
		t.Fatalf("got a code, want an error: %s", p.Location)
	}
	return q.Get("error")
}

func (a *authRequest) exchange(t *testing.T, ctx context.Context, code string) *oauth2.Token {
	t.Helper()
	tok, err := a.cfg.Exchange(ctx, code, oauth2.VerifierOption(a.verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

// signInAndConsent runs the browser through login and (if shown) consent.
func (o *oidcEnv) signInAndConsent(t *testing.T, br *servertest.Browser, a *authRequest, user servertest.User, untick ...string) (*servertest.Page, []string) {
	t.Helper()
	p := br.Visit(o.env.URL, a.url)
	if p.Location == nil && hasPasswordField(p) {
		p = br.SignIn(o.env.URL, p, user.Username, user.Password)
	}
	var asked []string
	if p.Location == nil && p.Status == http.StatusOK {
		asked = p.AskedScopes(t)
		p = br.Consent(o.env.URL, p, true, untick...)
	}
	return p, asked
}

func hasPasswordField(p *servertest.Page) bool {
	for _, f := range p.Forms() {
		if _, ok := f.Values["password"]; ok {
			return true
		}
	}
	return false
}

// idClaims are the ID token claims the tests look at.
type idClaims struct {
	Sub               string          `json:"sub"`
	Azp               string          `json:"azp"`
	AuthTime          int64           `json:"auth_time"`
	Sid               string          `json:"sid"`
	AtHash            string          `json:"at_hash"`
	Name              string          `json:"name"`
	PreferredUsername string          `json:"preferred_username"`
	Email             string          `json:"email"`
	EmailVerified     *bool           `json:"email_verified"`
	Address           json.RawMessage `json:"address"`
	PhoneNumber       string          `json:"phone_number"`
}

func TestAuthorizationCodeFlowEndToEnd(t *testing.T) {
	o := startOIDC(t)
	ctx := o.ctx(t)
	provider, err := oidc.NewProvider(ctx, o.iss)
	if err != nil {
		t.Fatalf("OIDC Discovery 1.0 §4: %v", err)
	}

	t.Run("public SPA: PKCE, login, consent, go-oidc, userinfo, refresh rotation and reuse", func(t *testing.T) {
		cfg := o.spaConfig("openid", "profile", "email", "offline_access", "read:transactions")
		cfg.Endpoint = provider.Endpoint()
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		a := newAuthRequest(cfg)
		br := servertest.NewBrowser(t)

		p := br.Visit(o.env.URL, a.url)
		if !hasPasswordField(p) {
			t.Fatalf("no login page: status %d %s\n%s", p.Status, p.URL, p.Body)
		}
		p = br.SignIn(o.env.URL, p, o.people.Alice.Username, o.people.Alice.Password)
		asked := p.AskedScopes(t)
		slices.Sort(asked)
		if want := []string{"email", "offline_access", "openid", "profile", "read:transactions"}; !slices.Equal(asked, want) {
			t.Errorf("consent asks %v, want every requested scope %v", asked, want)
		}
		p = br.Consent(o.env.URL, p, true)
		code := a.code(t, p, o.iss)
		tok := a.exchange(t, ctx, code)

		if got := tok.Extra("scope"); got != "email offline_access openid profile read:transactions" {
			t.Errorf("scope = %v", got)
		}
		if tok.RefreshToken == "" {
			t.Error("OIDC Core §11: offline_access granted but no refresh token")
		}
		rawID, _ := tok.Extra("id_token").(string)
		if rawID == "" {
			t.Fatal("openid granted but no id_token")
		}
		idt, err := provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}).Verify(ctx, rawID)
		if err != nil {
			t.Fatalf("go-oidc: %v", err)
		}
		if idt.Nonce != a.nonce {
			t.Errorf("OIDC Core §3.1.3.7: nonce = %q, want %q", idt.Nonce, a.nonce)
		}
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			t.Errorf("OIDC Core §3.1.3.8 at_hash: %v", err)
		}
		var c idClaims
		if err := idt.Claims(&c); err != nil {
			t.Fatal(err)
		}
		if c.Sub != o.people.Alice.ID || c.Azp != cfg.ClientID || c.AuthTime == 0 || c.Sid == "" ||
			c.Name != "Alice Adams" || c.PreferredUsername != "alice" || c.Email != "alice@example.com" ||
			c.EmailVerified == nil || !*c.EmailVerified {
			t.Errorf("ID token claims = %+v", c)
		}
		if c.Address != nil || c.PhoneNumber != "" {
			t.Errorf("address/phone released without their scopes: %+v", c)
		}
		at := verifyWithJWKS(t, o.iss, tok.AccessToken, "ES256")
		if at["sub"] != o.people.Alice.ID || at["aud"] != "api.banking.example.com" || at["auth_time"] == nil {
			t.Errorf("access token claims = %v", at)
		}

		info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatalf("OIDC Core §5.3 userinfo: %v", err)
		}
		if info.Subject != o.people.Alice.ID || info.Email != "alice@example.com" || !info.EmailVerified {
			t.Errorf("userinfo = %+v", info)
		}

		// RFC 6749 §6 with rotation (RFC 9700 §4.14.2): an expired token
		// makes the TokenSource refresh.
		old := tok.RefreshToken
		expired := *tok
		expired.Expiry = time.Now().Add(-time.Minute)
		fresh, err := cfg.TokenSource(ctx, &expired).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if fresh.RefreshToken == "" || fresh.RefreshToken == old {
			t.Fatalf("refresh token not rotated: %q", fresh.RefreshToken)
		}
		if fresh.AccessToken == tok.AccessToken {
			t.Error("refresh returned the same access token")
		}
		if _, ok := fresh.Extra("id_token").(string); !ok {
			t.Error("OIDC Core §12.2: refresh with openid returns an ID token")
		}

		// The rotated token again: refused, and the whole family dies.
		status, body := refreshRaw(t, o, cfg.ClientID, "", old)
		if status != 400 || body["error"] != "invalid_grant" {
			t.Errorf("RFC 9700 §4.14.2 reuse: %d %v, want 400 invalid_grant", status, body)
		}
		status, body = refreshRaw(t, o, cfg.ClientID, "", fresh.RefreshToken)
		if status != 400 || body["error"] != "invalid_grant" {
			t.Errorf("newest token after reuse: %d %v, want the family revoked (invalid_grant)", status, body)
		}
		if n := countEvents(t, o, model.EventRefreshTokenReused, cfg.ClientID); n != 1 {
			t.Errorf("oauth.refresh_token_reused events = %d, want 1", n)
		}
	})

	t.Run("confidential web app: implicit consent, client_secret_basic", func(t *testing.T) {
		cfg := o.toolConfig("openid", "profile", "offline_access", "users:read")
		a := newAuthRequest(cfg)
		br := servertest.NewBrowser(t)
		p := br.Visit(o.env.URL, a.url)
		p = br.SignIn(o.env.URL, p, o.people.Alice.Username, o.people.Alice.Password)
		// Implicit consent: straight back to the client.
		code := a.code(t, p, o.iss)
		tok := a.exchange(t, ctx, code)
		if got := tok.Extra("scope"); got != "offline_access openid profile users:read" {
			t.Errorf("scope = %v", got)
		}
		idt, err := provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}).Verify(ctx, tok.Extra("id_token").(string))
		if err != nil {
			t.Fatalf("go-oidc: %v", err)
		}
		var c idClaims
		_ = idt.Claims(&c)
		if c.Email != "" {
			t.Errorf("email released without the email scope: %+v", c)
		}
		at := verifyWithJWKS(t, o.iss, tok.AccessToken, "ES256")
		if at["aud"] != o.iss+"/api/v1" {
			t.Errorf("aud = %v, want the platform API", at["aud"])
		}
		fresh, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
		if err != nil || fresh.RefreshToken == tok.RefreshToken {
			t.Fatalf("confidential refresh: %v", err)
		}
	})
}

func TestNativeAppEndToEnd(t *testing.T) {
	o := startOIDC(t)
	ctx := o.ctx(t)
	// RFC 8252 §7.1: a private-use URI scheme redirect.
	const redirect = "com.example.bank:/oauth2redirect"
	if _, err := o.env.Admin.CreateApplication(t.Context(), admin.CLI(), "banking", admin.ApplicationInput{
		ClientID: "bank-ios", Name: "Bank for iOS", Type: model.AppNative, RedirectURIs: []string{redirect},
		AllowedScopes: []string{"openid", "offline_access", "read:transactions"},
	}); err != nil {
		t.Fatal(err)
	}
	o.env.Server.Catalog().Invalidate("banking")
	provider, err := oidc.NewProvider(ctx, o.iss)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &oauth2.Config{ClientID: "bank-ios", RedirectURL: redirect, Endpoint: provider.Endpoint(),
		Scopes: []string{oidc.ScopeOpenID, oidc.ScopeOfflineAccess, "read:transactions"}}
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	a := newAuthRequest(cfg)
	br := servertest.NewBrowser(t)
	p, asked := o.signInAndConsent(t, br, a, o.people.Bob)
	if len(asked) != 3 {
		t.Errorf("consent asked %v", asked)
	}
	if p.Location == nil || p.Location.Scheme != "com.example.bank" {
		t.Fatalf("not redirected to the app: %v", p.Location)
	}
	tok := a.exchange(t, ctx, a.code(t, p, o.iss))
	idt, err := provider.Verifier(&oidc.Config{ClientID: "bank-ios"}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil || idt.Subject != o.people.Bob.ID || idt.Nonce != a.nonce {
		t.Fatalf("go-oidc: %v %+v", err, idt)
	}
	fresh, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
	if err != nil || fresh.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh: %v", err)
	}
}

// refreshRaw posts a refresh_token grant and returns status and body.
func refreshRaw(t *testing.T, o *oidcEnv, clientID, secret, refresh string, extra ...string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {clientID}}
	if secret != "" {
		form.Set("client_secret", secret)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return postForm(t, o.iss+"/oauth2/token", form)
}

func postForm(t *testing.T, endpoint string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := servertest.HTTPClient().PostForm(endpoint, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func countEvents(t *testing.T, o *oidcEnv, typ, clientID string) int {
	t.Helper()
	return len(events(t, o, typ, clientID))
}

func events(t *testing.T, o *oidcEnv, typ, clientID string) []model.AuditEvent {
	t.Helper()
	evs, err := o.env.Store.Audit().Search(t.Context(), store.AuditQuery{TenantID: "banking", Type: typ, ClientID: clientID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

var _ = strings.TrimSpace

// TestNativeLoopbackRedirectAnyPort: a native app that registered
// http://127.0.0.1/callback listens on whatever port the OS gave it; the
// authorization server MUST accept any port there (RFC 8252 §7.3), and the
// code is bound to the exact URI used (RFC 6749 §4.1.3).
func TestNativeLoopbackRedirectAnyPort(t *testing.T) {
	o := startOIDC(t)
	ctx := o.ctx(t)
	if _, err := o.env.Admin.CreateApplication(t.Context(), admin.CLI(), "banking", admin.ApplicationInput{
		ClientID: "bank-desktop", Name: "Bank for desktops", Type: model.AppNative, RedirectURIs: []string{"http://127.0.0.1/callback"},
		AllowedScopes: []string{"openid", "read:transactions"},
	}); err != nil {
		t.Fatal(err)
	}
	o.env.Server.Catalog().Invalidate("banking")
	provider, err := oidc.NewProvider(ctx, o.iss)
	if err != nil {
		t.Fatal(err)
	}
	br := servertest.NewBrowser(t)
	// authorize runs one flow with the app listening on port and returns the
	// code it got back there.
	authorize := func(port string) (*authRequest, string) {
		t.Helper()
		cfg := &oauth2.Config{ClientID: "bank-desktop", RedirectURL: "http://127.0.0.1:" + port + "/callback", Endpoint: provider.Endpoint(),
			Scopes: []string{oidc.ScopeOpenID, "read:transactions"}}
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
		a := newAuthRequest(cfg)
		p, _ := o.signInAndConsent(t, br, a, o.people.Bob)
		if p.Location == nil || p.Location.Host != "127.0.0.1:"+port || p.Location.Path != "/callback" {
			t.Fatalf("not redirected to port %s: %v", port, p.Location)
		}
		return a, a.code(t, p, o.iss)
	}
	a, code := authorize("53117")
	if tok := a.exchange(t, ctx, code); tok.AccessToken == "" {
		t.Fatal("no access token")
	}
	// Another run, another port; the code is bound to the URI of its
	// request, port included.
	a, code = authorize("40001")
	status, body := postForm(t, o.iss+"/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"client_id": {"bank-desktop"}, "redirect_uri": {"http://127.0.0.1:53117/callback"}, "code_verifier": {a.verifier}})
	if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("the code presented with another port: %d %v", status, body)
	}
}
