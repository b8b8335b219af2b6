package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/mfa/mfatest"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/token"
	"github.com/intelliauth/intelliauth/scope"
)

// newPasskeyEnv is newEnv with the node addressed as localhost: WebAuthn
// refuses an IP address as the relying party (the tenant's issuer host).
func newPasskeyEnv(t *testing.T) *env {
	t.Helper()
	se := servertest.Start(t)
	se.URL = strings.Replace(se.URL, "http://127.0.0.1:", "http://localhost:", 1)
	e := &env{Env: se, Tenant: "acme", tokens: map[string]string{}}
	e.Issuer = se.Issuer(e.Tenant)
	e.Bank = se.Seed(t, e.Tenant)
	e.People = se.SeedUsers(t, e.Tenant)
	e.PlatformAudience = e.Issuer + admin.PlatformAPIPath
	e.Admin = e.platformClient(t, e.Tenant, "platform-admin")
	e.HTTP = &http.Client{Transport: validating{t: t, base: http.DefaultTransport}, Timeout: servertest.HTTPClient().Timeout}
	return e
}

// strongToken is an access token of the tenant for the platform API whose
// sign-in passed a passkey (amr pwd hwk mfa), minted with the tenant's own
// signing key as the token endpoint would after such a sign-in.
func (e *env) strongToken(t *testing.T, userID string, scopes ...string) string {
	t.Helper()
	snap, err := e.Server.Catalog().Tenant(t.Context(), e.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	apiDef, ok := snap.Registry.API(e.PlatformAudience)
	app, ok2 := snap.App(model.ConsoleClientID)
	if !ok || !ok2 {
		t.Fatal("no platform API or console application in the snapshot")
	}
	raw, _, err := snap.Keys.MintAccess(token.AccessGrant{
		Issuer: e.Issuer, App: &app.Application, API: &apiDef, Subject: userID, Granted: scope.New(scopes...),
		AuthTime: e.Clock.Now(), AMR: []string{model.AMRPassword, model.AMRHardware, model.AMRMulti}, Now: e.Clock.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

type passkeyCeremony struct {
	ChallengeID string          `json:"challenge_id"`
	Options     json.RawMessage `json:"options"`
}

type passkeyRegistration struct {
	Factor struct {
		ID, Type, Name string
		Confirmed      bool
	} `json:"factor"`
	RecoveryCodes []string `json:"recovery_codes"`
}

// A passkey registered through /api/v1: begin, the authenticator's answer,
// finish; the ceremony is the caller's and finishes once.
func TestMyPasskeyRegistration(t *testing.T) {
	e := newPasskeyEnv(t)
	tok := e.aliceToken(t, "me:read", "me:write")
	readOnly := e.aliceToken(t, "me:read") // (before alice has a second factor to sign in with)
	key := mfatest.NewAuthenticator(e.URL, "localhost")

	var c passkeyCeremony
	r := e.call(t, "POST", "/me/mfa/webauthn/register", tok, nil).want(t, 200).decode(t, &c)
	if r.Header.Get("Cache-Control") != "no-store" || c.ChallengeID == "" || !strings.Contains(string(c.Options), `"rp":{"name":"acme","id":"localhost"}`) {
		t.Fatalf("begin: %s (Cache-Control %q)", r.Body, r.Header.Get("Cache-Control"))
	}
	cred, err := key.Register(c.Options)
	if err != nil {
		t.Fatal(err)
	}
	var reg passkeyRegistration
	r = e.call(t, "POST", "/me/mfa/webauthn/register/finish", tok,
		map[string]any{"challenge_id": c.ChallengeID, "name": "YubiKey", "credential": json.RawMessage(cred)}).want(t, 201).decode(t, &reg)
	if reg.Factor.Type != "webauthn" || reg.Factor.Name != "YubiKey" || !reg.Factor.Confirmed || len(reg.RecoveryCodes) != 10 || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("finish: %s", r.Body)
	}
	// Replayed: the ceremony was finished.
	p := e.call(t, "POST", "/me/mfa/webauthn/register/finish", tok,
		map[string]any{"challenge_id": c.ChallengeID, "name": "Again", "credential": json.RawMessage(cred)}).want(t, 400).problem(t)
	if !strings.Contains(p.field("challenge_id"), "expired or was already used") {
		t.Errorf("replay: %+v", p)
	}
	var list struct {
		Items []struct{ ID, Type, Name string }
	}
	e.call(t, "GET", "/me/mfa", tok, nil).want(t, 200).decode(t, &list)
	// RFC 9470 §3: alice has a factor now; her password-only token may
	// read her factors but not add one. A token whose sign-in passed her
	// passkey may.
	e.call(t, "POST", "/me/mfa/webauthn/register", tok, nil).want(t, 401)
	tok = e.strongToken(t, e.People.Alice.ID, "me:read", "me:write")
	if len(list.Items) != 1 || list.Items[0].ID != reg.Factor.ID || list.Items[0].Type != "webauthn" {
		t.Errorf("GET /me/mfa: %+v", list.Items)
	}

	// WebAuthn §7.1 step 9: an answer made for another origin.
	e.call(t, "POST", "/me/mfa/webauthn/register", tok, nil).want(t, 200).decode(t, &c)
	phish := mfatest.NewAuthenticator("https://evil.example", "localhost")
	cred, err = phish.Register(c.Options)
	if err != nil {
		t.Fatal(err)
	}
	p = e.call(t, "POST", "/me/mfa/webauthn/register/finish", tok,
		map[string]any{"challenge_id": c.ChallengeID, "credential": json.RawMessage(cred)}).want(t, 400).problem(t)
	if p.field("credential") == "" {
		t.Errorf("another origin: %+v, want a problem on credential", p)
	}
	// A bad name does not spend the ceremony.
	e.call(t, "POST", "/me/mfa/webauthn/register", tok, nil).want(t, 200).decode(t, &c)
	cred, _ = mfatest.NewAuthenticator(e.URL, "localhost").Register(c.Options)
	p = e.call(t, "POST", "/me/mfa/webauthn/register/finish", tok,
		map[string]any{"challenge_id": c.ChallengeID, "name": " ", "credential": json.RawMessage(cred)}).want(t, 400).problem(t)
	if p.field("name") == "" {
		t.Errorf("blank name: %+v", p)
	}
	reg = passkeyRegistration{}
	e.call(t, "POST", "/me/mfa/webauthn/register/finish", tok,
		map[string]any{"challenge_id": c.ChallengeID, "credential": json.RawMessage(cred)}).want(t, 201).decode(t, &reg)
	if reg.Factor.Name != "Passkey" || len(reg.RecoveryCodes) != 0 {
		t.Errorf("second passkey: %+v, want the default name and no new recovery codes", reg)
	}

	// The routes act for a signed-in user only, with me:write.
	e.call(t, "POST", "/me/mfa/webauthn/register", e.token(t, "me:write"), nil).want(t, 403)
	e.call(t, "POST", "/me/mfa/webauthn/register", readOnly, nil).want(t, 403)
	e.callInvalid(t, "POST", "/me/mfa/webauthn/register/finish", tok, map[string]any{"name": "x"}).want(t, 400)
}

// A tenant served on an IP address cannot offer passkeys: browsers refuse
// an IP address as a WebAuthn relying party.
func TestMyPasskeyRegistrationNeedsAHostName(t *testing.T) {
	e := newEnv(t) // http://127.0.0.1:PORT
	p := e.call(t, "POST", "/me/mfa/webauthn/register", e.aliceToken(t, "me:write"), nil).want(t, 409).problem(t)
	if !strings.Contains(p.Detail, "host name") {
		t.Errorf("409 detail %q", p.Detail)
	}
}
