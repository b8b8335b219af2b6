package login_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
)

// virtualAuthenticator gives the tab a platform authenticator through the
// DevTools WebAuthn domain: CTAP2, built in ("internal"), holding
// discoverable credentials, verifying the user (a screen lock that always
// succeeds) and confirming presence by itself.
func (c *chrome) virtualAuthenticator() webauthn.AuthenticatorID {
	c.t.Helper()
	if _, err := chromedp.Call(c.ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		c.t.Fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(c.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true,
		}})
	if err != nil {
		c.t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return res.AuthenticatorID
}

// credentials are the credentials the virtual authenticator holds.
func (c *chrome) credentials(id webauthn.AuthenticatorID) []*webauthn.Credential {
	c.t.Helper()
	res, err := chromedp.Call(c.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		c.t.Fatalf("WebAuthn.getCredentials: %v", err)
	}
	return res.Credentials
}

// idTokenAMR exchanges the code the callback page got and returns the ID
// token's amr and acr (the token endpoint's answer, read as the client
// reads it; its signature is checked by the OIDC tests).
func idTokenAMR(t *testing.T, issuer, clientID, callback, verifier, location string) ([]string, string) {
	t.Helper()
	cb, err := url.Parse(location)
	if err != nil || cb.Query().Get("code") == "" {
		t.Fatalf("no code at the callback: %s", location)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")}, "redirect_uri": {callback},
		"code_verifier": {verifier}, "client_id": {clientID}}
	resp, err := servertest.HTTPClient().PostForm(issuer+"/oauth2/token", form)
	must(t, err)
	defer resp.Body.Close()
	var tok struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
	}
	must(t, json.NewDecoder(resp.Body).Decode(&tok))
	parts := strings.Split(tok.IDToken, ".")
	if resp.StatusCode != 200 || len(parts) != 3 {
		t.Fatalf("code exchange: %d %s", resp.StatusCode, tok.Error)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	must(t, err)
	var claims struct {
		AMR []string `json:"amr"`
		ACR string   `json:"acr"`
	}
	must(t, json.Unmarshal(payload, &claims))
	return claims.AMR, claims.ACR
}

// Issue 11: passkeys in real Chromium with the DevTools virtual
// authenticator. Alice registers a passkey on her account page (the
// script, the page's CSP and the browser's own WebAuthn client), signs
// out, signs in to an application with her password and the passkey as
// her second factor, signs out, and signs in again with the passkey alone.
// The ID tokens say how (RFC 8176): hwk (a key bound to the device), user
// (its screen lock verified her) and mfa — and no pwd the second time.
func TestPasskeyJourneysInChromium(t *testing.T) {
	c := newChrome(t, phoneWidth)
	e := servertest.Start(t)
	e.URL = strings.Replace(e.URL, "http://127.0.0.1:", "http://localhost:", 1) // a WebAuthn RP ID cannot be an IP address
	const tenant = "acme"
	e.Seed(t, tenant)
	alice := e.SeedUsers(t, tenant).Alice
	issuer := e.Issuer(tenant)
	app := newJourneyApp(t, e, tenant)
	authn := c.virtualAuthenticator()

	// 1. Register a passkey on the account page.
	c.open(issuer + "/account/")
	c.do(chromedp.SendKeys("", alice.Username, named("textbox", "Username or email")),
		chromedp.SendKeys("", alice.Password, named("textbox", "Password")))
	c.submit(issuer+"/account/", chromedp.Click("", named("button", "Sign in")))
	c.do(chromedp.SetValue("", "This phone", named("textbox", "Name for the passkey")))
	c.submit(issuer+"/account/mfa/webauthn/finish", chromedp.Click("", named("button", "Register a passkey")))
	codes, err := chromedp.Run(c.ctx, chromedp.Evaluate[int]("document.querySelectorAll('ul.codes li').length"))
	if err != nil || codes != 10 {
		t.Fatalf("after registering: %d recovery codes (%v)\n%s", codes, err, c.text())
	}
	c.fitsWidth()
	creds := c.credentials(authn)
	if len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" {
		t.Fatalf("the authenticator holds %+v, want one discoverable credential for localhost", creds)
	}
	list, err := e.Admin.UserFactors(t.Context(), admin.CLI(), tenant, alice.ID)
	if err != nil || len(list.Items) != 1 || list.Items[0].Type != model.FactorWebAuthn || list.Items[0].Name != "This phone" {
		t.Fatalf("stored factors %+v (%v)", list, err)
	}

	// The account page now wants the new factor: the passkey gives it.
	c.open(issuer + "/account/")
	if !strings.HasPrefix(c.location(), issuer+"/mfa") {
		t.Fatalf("after enrolling, the account page is at %s, want the second factor first", c.location())
	}
	c.submit(issuer+"/account/", chromedp.Click("", named("button", "Use a passkey or security key")))
	if !strings.Contains(c.text(), "This phone") || !strings.Contains(c.text(), "Security key or passkey") {
		t.Fatalf("the account page does not list the passkey:\n%s", c.text())
	}
	c.shot("account-passkey-phone")

	// 2. Sign out; sign in to the application with the password and the
	// passkey as the second factor.
	c.submit(issuer+"/", chromedp.Click("", named("button", "Sign out")))
	verifier, au := authorize(issuer, app.ClientID, app.Callback, "openid read:transactions")
	c.open(au)
	c.do(chromedp.SendKeys("", alice.Username, named("textbox", "Username or email")),
		chromedp.SendKeys("", alice.Password, named("textbox", "Password")))
	c.submit(issuer+"/mfa", chromedp.Click("", named("button", "Sign in")))
	c.fitsWidth()
	c.submit(issuer+"/consent", chromedp.Click("", named("button", "Use a passkey or security key")))
	c.submit(app.Callback, chromedp.Click("", named("button", "Allow")))
	amr, acr := idTokenAMR(t, issuer, app.ClientID, app.Callback, verifier, c.location())
	if !slices.Contains(amr, "pwd") || !slices.Contains(amr, "mfa") || !(slices.Contains(amr, "hwk") || slices.Contains(amr, "swk")) || acr != "mfa" {
		t.Errorf("RFC 8176 amr after password and passkey: %v (acr %q), want pwd, hwk or swk, and mfa", amr, acr)
	}

	// 3. Sign out; sign in with the passkey alone.
	c.open(issuer + "/account/")
	c.submit(issuer+"/", chromedp.Click("", named("button", "Sign out")))
	verifier, au = authorize(issuer, app.ClientID, app.Callback, "openid read:transactions")
	c.open(au)
	c.shot("login-passkey-phone")
	c.submit(app.Callback, chromedp.Click("", named("button", "Sign in with a passkey")))
	amr, acr = idTokenAMR(t, issuer, app.ClientID, app.Callback, verifier, c.location())
	if slices.Contains(amr, "pwd") || !slices.Contains(amr, "mfa") || !slices.Contains(amr, "user") || !(slices.Contains(amr, "hwk") || slices.Contains(amr, "swk")) || acr != "mfa" {
		t.Errorf("RFC 8176 amr after a passkey alone: %v (acr %q), want hwk or swk, user and mfa, no pwd", amr, acr)
	}

	// The audit tells the same story.
	evs, err := e.Store.Audit().Search(t.Context(), store.AuditQuery{TenantID: tenant, Type: model.EventLoginSucceeded, Limit: 10})
	must(t, err)
	var methods []string
	for _, ev := range evs {
		var d map[string]any
		must(t, json.Unmarshal(ev.Details, &d))
		methods = append(methods, d["method"].(string))
	}
	if !slices.Equal(methods, []string{"passkey", "password", "password"}) { // newest first
		t.Errorf("login.succeeded methods %v, want password, password, passkey", methods)
	}
}
