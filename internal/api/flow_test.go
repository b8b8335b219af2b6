package api_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// userToken signs user in through a real browser flow (authorization code
// with PKCE S256) for client c and returns the access token for audience
// with scope. The application must have implicit consent or the user must
// have consented already; use authorizeWithConsent to answer the page.
func (e *env) userToken(t *testing.T, c servertest.Client, redirectURI string, user servertest.User, audience, scope string) string {
	t.Helper()
	b := servertest.NewBrowser(t)
	verifier, au := e.authorizeURL(t, c.ID, redirectURI, audience, scope)
	page := b.Visit(e.URL, au)
	page = b.SignIn(e.URL, page, user.Username, user.Password)
	return e.exchange(t, c, redirectURI, verifier, page)
}

// authorizeURL returns a PKCE verifier and the authorize URL.
func (e *env) authorizeURL(t *testing.T, clientID, redirectURI, audience, scope string) (verifier, u string) {
	t.Helper()
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	verifier = base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirectURI}, "scope": {scope},
		"state": {"st-" + verifier[:8]}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}, "audience": {audience},
	}
	return verifier, e.Issuer + "/oauth2/authorize?" + q.Encode()
}

// exchange redeems the code the page redirected with.
func (e *env) exchange(t *testing.T, c servertest.Client, redirectURI, verifier string, page *servertest.Page) string {
	t.Helper()
	if page.Location == nil || page.Location.Query().Get("code") == "" {
		t.Fatalf("no code: status %d location %v\n%s", page.Status, page.Location, page.Body)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {page.Location.Query().Get("code")},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier}, "client_id": {c.ID}}
	req, err := http.NewRequestWithContext(t.Context(), "POST", e.Issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.Secret != "" {
		req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	}
	resp, err := servertest.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("code exchange: %d %s %s (%v)", resp.StatusCode, out.Error, out.Description, err)
	}
	return out.AccessToken
}

// selfServiceRedirect is the redirect URI of the "self-service" application.
const selfServiceRedirect = "http://127.0.0.1:8401/self/callback"

// aliceToken returns an access token from alice's sign-in (she holds the
// admin role: every platform scope) for the platform API with exactly
// scopes, through the "self-service" application (web, implicit consent,
// every platform scope allowed), created on first use. Cached per scope set.
func (e *env) aliceToken(t *testing.T, scopes ...string) string {
	t.Helper()
	key := "alice " + strings.Join(scopes, " ")
	e.mu.Lock()
	tok, ok := e.tokens[key]
	app := e.selfService
	e.mu.Unlock()
	if ok {
		return tok
	}
	if app.ID == "" {
		created, err := e.Env.Admin.CreateApplication(t.Context(), admin.CLI(), e.Tenant, admin.ApplicationInput{
			ClientID: "self-service", Name: "Self service", Type: model.AppWeb, RedirectURIs: []string{selfServiceRedirect},
			AllowedScopes: append([]string{"openid"}, model.PlatformScopeNames()...), Consent: model.ConsentImplicit})
		if err != nil {
			t.Fatal(err)
		}
		e.Server.Catalog().Invalidate(e.Tenant)
		app = servertest.Client{ID: "self-service", Secret: created.Secret}
		e.mu.Lock()
		e.selfService = app
		e.mu.Unlock()
	}
	tok = e.userToken(t, app, selfServiceRedirect, e.People.Alice, e.PlatformAudience, strings.Join(scopes, " "))
	e.mu.Lock()
	e.tokens[key] = tok
	e.mu.Unlock()
	return tok
}
