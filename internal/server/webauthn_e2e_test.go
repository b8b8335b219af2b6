package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/mfa/mfatest"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
)

// startPasskeyOIDC is startOIDC with the node addressed as localhost: a
// WebAuthn relying party cannot be an IP address, so the tenant's issuer
// (and every URL the tests use) names the host.
func startPasskeyOIDC(t *testing.T) *oidcEnv {
	t.Helper()
	env := servertest.Start(t)
	env.URL = strings.Replace(env.URL, "http://127.0.0.1:", "http://localhost:", 1)
	b := env.Seed(t, "banking")
	people := env.SeedUsers(t, "banking")
	return &oidcEnv{env: env, b: b, people: people, iss: env.Issuer("banking")}
}

// passkey registers a new software authenticator for u, as the account
// page does, and returns it.
func (o *oidcEnv) passkey(t *testing.T, u servertest.User) *mfatest.Authenticator {
	t.Helper()
	key := mfatest.NewAuthenticator(o.env.URL, "localhost")
	as := admin.Actor{Type: model.ActorUser, ID: u.ID}
	opts, id, err := o.env.Admin.BeginPasskeyRegistration(t.Context(), as, "banking")
	must(t, err)
	resp, err := key.Register(opts)
	must(t, err)
	_, err = o.env.Admin.FinishPasskeyRegistration(t.Context(), as, "banking", id, "Security key", resp)
	must(t, err)
	return key
}

var passkeyButton = regexp.MustCompile(`id="webauthn-start" data-begin="([^"]+)" data-finish="([^"]+)" data-target="([^"]+)" data-csrf="([^"]+)"`)

// usePasskey does what the page's script does with its passkey button:
// begin, let key answer, finish; it returns the URL the answer sends the
// browser on to.
func usePasskey(t *testing.T, br *servertest.Browser, p *servertest.Page, key *mfatest.Authenticator) string {
	t.Helper()
	m := passkeyButton.FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("%s offers no passkey:\n%s", p.URL, p.Body)
	}
	begin, finish, target, csrf := m[1], m[2], m[3], m[4]
	post := func(path string, body any) map[string]json.RawMessage {
		t.Helper()
		raw, _ := json.Marshal(body)
		u, _ := p.URL.Parse(path) // relative to the page, as fetch resolves it
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u.String(), bytes.NewReader(raw))
		must(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", csrf)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := br.Client.Do(req)
		must(t, err)
		defer resp.Body.Close()
		text, _ := io.ReadAll(resp.Body)
		var out map[string]json.RawMessage
		if resp.StatusCode != http.StatusOK || json.Unmarshal(text, &out) != nil {
			t.Fatalf("POST %s: %d %s", u, resp.StatusCode, text)
		}
		return out
	}
	begun := post(begin, map[string]string{"target": target})
	cred, err := key.Assert(begun["options"])
	must(t, err)
	var challenge string
	_ = json.Unmarshal(begun["challenge_id"], &challenge)
	done := post(finish, map[string]any{"target": target, "challenge_id": challenge, "credential": json.RawMessage(cred)})
	var next string
	_ = json.Unmarshal(done["next"], &next)
	if !strings.HasPrefix(next, p.URL.Scheme+"://"+p.URL.Host+"/") {
		t.Fatalf("next %q leaves the issuer's origin", next)
	}
	return next
}

// verifiedAMR verifies the ID token with go-oidc and returns its amr and
// acr, and the access token's.
func (o *oidcEnv) verifiedAMR(t *testing.T, ctx context.Context, clientID, rawID, access string) (idAMR []string, idACR string, atAMR []string, atACR string) {
	t.Helper()
	provider, err := oidc.NewProvider(ctx, o.iss)
	must(t, err)
	idt, err := provider.Verifier(&oidc.Config{ClientID: clientID}).Verify(ctx, rawID)
	must(t, err)
	var c struct {
		AMR []string `json:"amr"`
		ACR string   `json:"acr"`
	}
	must(t, idt.Claims(&c))
	ac := unverifiedClaims(t, access)
	s, _ := ac["acr"].(string)
	return c.AMR, c.ACR, amrOf(ac), s
}

// PRODUCT.md §6c, issue 11: a passkey as the second step of a sign-in.
// The tokens say how the user authenticated (RFC 8176 §2): the password,
// the key (hwk: a key bound to its device), the user's verification by it
// (user), and two factors (mfa); acr is "mfa".
func TestPasskeyAsSecondFactorEndToEnd(t *testing.T) {
	o := startPasskeyOIDC(t)
	ctx := o.ctx(t)
	key := o.passkey(t, o.people.Alice)
	cfg := o.spaConfig("openid", "read:transactions")

	br := servertest.NewBrowser(t)
	a := newAuthRequest(cfg)
	p := br.Visit(o.env.URL, a.url)
	p = br.SignIn(o.env.URL, p, o.people.Alice.Username, o.people.Alice.Password)
	if !isMFAPage(p) {
		t.Fatalf("after the password: %s (status %d), want the second-factor page:\n%s", p.URL, p.Status, p.Body)
	}
	if !strings.Contains(p.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("second-factor page CSP %q does not allow its script", p.Header.Get("Content-Security-Policy"))
	}
	p = br.Visit(o.env.URL, usePasskey(t, br, p, key))
	if p.Location == nil {
		p = br.Consent(o.env.URL, p, true)
	}
	tok := a.exchange(t, ctx, a.code(t, p, o.iss))
	idAMR, idACR, atAMR, atACR := o.verifiedAMR(t, ctx, cfg.ClientID, tok.Extra("id_token").(string), tok.AccessToken)
	want := []string{"pwd", "hwk", "user", "mfa"}
	if !slices.Equal(idAMR, want) || idACR != "mfa" {
		t.Errorf("RFC 8176 ID token amr %v acr %q, want %v and mfa", idAMR, idACR, want)
	}
	if !slices.Equal(atAMR, want) || atACR != "mfa" {
		t.Errorf("RFC 9068 §2.2.1 access token amr %v acr %q, want %v and mfa", atAMR, atACR, want)
	}
	evs, err := o.env.Store.Audit().Search(t.Context(), store.AuditQuery{TenantID: "banking", Type: model.EventLoginSecondFactor, Limit: 10})
	must(t, err)
	if len(evs) != 1 || !bytes.Contains(evs[0].Details, []byte(`"factor":"webauthn"`)) || !bytes.Contains(evs[0].Details, []byte(`"result":"success"`)) {
		t.Errorf("login.second_factor events %+v", evs)
	}
}

// Passwordless: a discoverable passkey signs in from the login page
// without the password; the passkey verified the user, so the session is
// multi-factor on its own, and the tokens carry no "pwd".
func TestPasswordlessPasskeyEndToEnd(t *testing.T) {
	o := startPasskeyOIDC(t)
	ctx := o.ctx(t)
	key := o.passkey(t, o.people.Bob)
	cfg := o.spaConfig("openid", "read:transactions")

	br := servertest.NewBrowser(t)
	a := newAuthRequest(cfg)
	p := br.Visit(o.env.URL, a.url)
	if !hasPasswordField(p) || !strings.Contains(p.Body, "Sign in with a passkey") {
		t.Fatalf("the login page offers no passkey:\n%s", p.Body)
	}
	p = br.Visit(o.env.URL, usePasskey(t, br, p, key))
	if p.Location == nil {
		p = br.Consent(o.env.URL, p, true)
	}
	tok := a.exchange(t, ctx, a.code(t, p, o.iss))
	idAMR, idACR, _, _ := o.verifiedAMR(t, ctx, cfg.ClientID, tok.Extra("id_token").(string), tok.AccessToken)
	if !slices.Equal(idAMR, []string{"hwk", "user", "mfa"}) || idACR != "mfa" {
		t.Errorf("RFC 8176 passwordless ID token amr %v acr %q, want [hwk user mfa] and mfa", idAMR, idACR)
	}
	c := unverifiedClaims(t, tok.Extra("id_token").(string))
	if c["sub"] != o.people.Bob.ID {
		t.Errorf("sub %v, want bob", c["sub"])
	}
}
