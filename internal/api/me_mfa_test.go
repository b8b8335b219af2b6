package api_test

import (
	"bytes"
	"errors"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/mfa/mfatest"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

type factorDoc struct {
	ID         string  `json:"id"`
	Type       string  `json:"type"`
	Name       string  `json:"name"`
	Confirmed  bool    `json:"confirmed"`
	LastUsedAt *string `json:"last_used_at"`
}

type factorList struct {
	Items             []factorDoc `json:"items"`
	RecoveryCodesLeft int         `json:"recovery_codes_left"`
}

type enrolmentDoc struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
	QRPNG      []byte `json:"qr_png"`
}

type confirmationDoc struct {
	Factor        factorDoc `json:"factor"`
	RecoveryCodes []string  `json:"recovery_codes"`
}

// signInMFA is signIn for a user with an authenticator app: the second
// step is answered with the code of secret at the server's clock.
func (e *env) signInMFA(t *testing.T, c servertest.Client, redirectURI string, u servertest.User, scope, secret string) signedIn {
	t.Helper()
	b := servertest.NewBrowser(t)
	verifier, au := e.authorizeURL(t, c.ID, redirectURI, e.PlatformAudience, scope)
	page := b.SignIn(e.URL, b.Visit(e.URL, au), u.Username, u.Password)
	var totp *servertest.Form
	for _, f := range page.Forms() {
		if f.Values.Get("action") == "totp" {
			totp = f
		}
	}
	if totp == nil {
		t.Fatalf("after the password: %s (status %d), want the second-factor page", page.URL, page.Status)
	}
	page = b.Submit(e.URL, totp, func(v url.Values) { v.Set("code", mfatest.TOTPCode(secret, e.Clock.Now())) })
	if page.Location == nil {
		page = b.Consent(e.URL, page, true)
	}
	out := e.tokenRequest(t, c, url.Values{"grant_type": {"authorization_code"}, "code": {page.Location.Query().Get("code")},
		"redirect_uri": {redirectURI}, "code_verifier": {verifier}})
	if out.status != 200 {
		t.Fatalf("code exchange: %d %s", out.status, out.Error)
	}
	return signedIn{Browser: b, Access: out.AccessToken, ID: out.IDToken, Refresh: out.RefreshToken}
}

// setMFAPolicy sets the tenant's second-factor policy in the store.
func setMFAPolicy(t *testing.T, e *env, p model.MFAPolicy) {
	t.Helper()
	tn, err := e.Store.Tenants().Get(t.Context(), e.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	tn.MFAPolicy = p
	if _, err := e.Store.Tenants().Update(t.Context(), tn); err != nil {
		t.Fatal(err)
	}
	e.Server.Catalog().Invalidate(e.Tenant)
}

// RFC 6238 through /me/mfa: enrol an authenticator app, confirm it with a
// code computed from the secret at the server's clock, and see that no
// listing ever shows the secret.
func TestMeMFAEnrolConfirmListRFC6238(t *testing.T) {
	e := newEnv(t)
	withMeScopes(t, e)
	dora := e.CreateUser(t, e.Tenant, model.User{Username: "dora", Email: "dora@example.com"}, "dora's long passphrase", model.RoleUser)
	// One sign-in, before any factor: a later one would ask for it.
	s := e.signIn(t, e.People.AdminTool, servertest.AdminToolRedirect, dora, meScopes)

	var enr enrolmentDoc
	res := e.call(t, "POST", "/me/mfa/totp", s.Access, map[string]any{"name": "Phone"}).want(t, 201).decode(t, &enr)
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the enrolment holds the secret: Cache-Control = %q, want no-store", res.Header.Get("Cache-Control"))
	}
	if enr.ID == "" || enr.Name != "Phone" || len(enr.Secret) < 26 || !strings.HasPrefix(enr.OTPAuthURI, "otpauth://totp/") ||
		!strings.Contains(enr.OTPAuthURI, "secret="+enr.Secret) {
		t.Fatalf("enrolment = %+v", enr)
	}
	if _, err := png.Decode(bytes.NewReader(enr.QRPNG)); err != nil {
		t.Fatalf("qr_png is not a PNG: %v", err)
	}
	// Without a body the name is the default.
	e.Clock.Advance(time.Second) // listed oldest first
	var other enrolmentDoc
	e.call(t, "POST", "/me/mfa/totp", s.Access, nil).want(t, 201).decode(t, &other)
	if other.Name != "Authenticator app" || other.Secret == enr.Secret {
		t.Fatalf("second enrolment = %+v", other)
	}

	var list factorList
	res = e.call(t, "GET", "/me/mfa", s.Access, nil).want(t, 200).decode(t, &list)
	if len(list.Items) != 2 || list.Items[0].ID != enr.ID || list.Items[0].Confirmed || list.Items[0].Type != "totp" || list.RecoveryCodesLeft != 0 {
		t.Fatalf("before confirmation: %+v", list)
	}
	noSecrets := func(what string, body []byte, secrets ...string) {
		t.Helper()
		for _, sec := range secrets {
			if bytes.Contains(body, []byte(sec)) {
				t.Fatalf("%s shows a secret: %s", what, body)
			}
		}
		if bytes.Contains(body, []byte(`"secret"`)) {
			t.Fatalf("%s has a secret member: %s", what, body)
		}
	}
	noSecrets("GET /me/mfa", res.Body, enr.Secret, other.Secret)

	// A wrong code, a malformed one: 400 on code, still unconfirmed.
	p := e.call(t, "POST", "/me/mfa/totp/"+enr.ID+"/confirm", s.Access, map[string]any{"code": mfatest.TOTPCode(enr.Secret, e.Clock.Now().Add(-10*time.Minute))}).want(t, 400).problem(t)
	if !strings.Contains(p.field("code"), "not valid") {
		t.Fatalf("wrong code: %+v", p)
	}
	p = e.call(t, "POST", "/me/mfa/totp/"+enr.ID+"/confirm", s.Access, map[string]any{"code": "12ab56"}).want(t, 400).problem(t)
	if !strings.Contains(p.field("code"), "6 digits") {
		t.Fatalf("malformed code: %+v", p)
	}

	code := mfatest.TOTPCode(enr.Secret, e.Clock.Now())
	var conf confirmationDoc
	res = e.call(t, "POST", "/me/mfa/totp/"+enr.ID+"/confirm", s.Access, map[string]any{"code": code}).want(t, 200).decode(t, &conf)
	if !conf.Factor.Confirmed || conf.Factor.ID != enr.ID || len(conf.RecoveryCodes) != 10 || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("confirmation = %+v (Cache-Control %q)", conf, res.Header.Get("Cache-Control"))
	}
	// RFC 6238 §5.2: the confirming code is spent — not accepted at
	// sign-in (the check the sign-in page runs), and the factor is set up.
	if err := e.Env.Admin.CheckTOTP(t.Context(), e.Tenant, dora.ID, code); !errors.Is(err, admin.ErrCodeReplayed) {
		t.Fatalf("RFC 6238 §5.2 the confirming code at sign-in: %v", err)
	}
	// RFC 9470 §3: now that dora has a factor, her password-only token
	// may not change her factors; she signs in again with it.
	res = e.call(t, "POST", "/me/mfa/totp/"+enr.ID+"/confirm", s.Access, map[string]any{"code": code}).want(t, 401)
	if p := res.problem(t); p.Error != "insufficient_user_authentication" ||
		!strings.Contains(res.Header.Get("WWW-Authenticate"), `error="insufficient_user_authentication"`) ||
		!strings.Contains(res.Header.Get("WWW-Authenticate"), `acr_values="mfa"`) {
		t.Fatalf("RFC 9470 §3 password-only token after the first factor: %+v, %q", p, res.Header.Get("WWW-Authenticate"))
	}
	e.Clock.Advance(30 * time.Second)
	s = e.signInMFA(t, e.People.AdminTool, servertest.AdminToolRedirect, dora, meScopes, enr.Secret)
	e.call(t, "POST", "/me/mfa/totp/"+enr.ID+"/confirm", s.Access, map[string]any{"code": code}).want(t, 409)

	// The second factor brings no new recovery codes.
	otherCode := mfatest.TOTPCode(other.Secret, e.Clock.Now())
	var conf2 confirmationDoc
	e.call(t, "POST", "/me/mfa/totp/"+other.ID+"/confirm", s.Access, map[string]any{"code": otherCode}).want(t, 200).decode(t, &conf2)
	if len(conf2.RecoveryCodes) != 0 {
		t.Fatalf("second confirmation issued codes: %+v", conf2)
	}
	res = e.call(t, "GET", "/me/mfa", s.Access, nil).want(t, 200).decode(t, &list)
	if len(list.Items) != 2 || !list.Items[0].Confirmed || list.Items[0].LastUsedAt == nil || list.RecoveryCodesLeft != 10 {
		t.Fatalf("after confirmation: %+v", list)
	}
	noSecrets("GET /me/mfa", res.Body, enr.Secret, other.Secret, conf.RecoveryCodes[0])
	res = e.call(t, "GET", "/users/dora/mfa", e.token(t, "users:read"), nil).want(t, 200).decode(t, &list)
	if len(list.Items) != 2 {
		t.Fatalf("admin's view: %+v", list)
	}
	noSecrets("GET /users/dora/mfa", res.Body, enr.Secret, other.Secret, conf.RecoveryCodes[0])

	// Rename; regenerate the recovery codes.
	var f factorDoc
	e.call(t, "PATCH", "/me/mfa/"+other.ID, s.Access, map[string]any{"name": "Tablet"}).want(t, 200).decode(t, &f)
	if f.Name != "Tablet" {
		t.Fatalf("renamed: %+v", f)
	}
	var codes struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	e.call(t, "POST", "/me/mfa/recovery-codes", s.Access, nil).want(t, 200).decode(t, &codes)
	if len(codes.RecoveryCodes) != 10 || codes.RecoveryCodes[0] == conf.RecoveryCodes[0] {
		t.Fatalf("regenerated: %v", codes.RecoveryCodes)
	}
	if err := e.Env.Admin.UseRecoveryCode(t.Context(), e.Tenant, dora.ID, conf.RecoveryCodes[0]); !errors.Is(err, admin.ErrInvalidCode) {
		t.Fatalf("an old recovery code after regeneration: %v", err)
	}

	// Under a required policy, the last factor stays.
	setMFAPolicy(t, e, model.MFARequired)
	e.call(t, "DELETE", "/me/mfa/"+other.ID, s.Access, nil).want(t, 204)
	p = e.call(t, "DELETE", "/me/mfa/"+enr.ID, s.Access, nil).want(t, 409).problem(t)
	if !strings.Contains(p.Detail, "last second factor") || !strings.Contains(p.Detail, "set up another") {
		t.Fatalf("removing the last factor: %+v", p)
	}
	e.call(t, "DELETE", "/me/mfa/"+other.ID, s.Access, nil).want(t, 404)

	// Every change is audited as dora.
	var evs auditPage
	for typ, n := range map[string]int{model.EventMFAEnrolled: 2, model.EventMFARenamed: 1, model.EventMFARemoved: 1, model.EventMFARecoveryCodes: 1} {
		e.call(t, "GET", "/audit?type="+typ+"&subject="+dora.ID, e.token(t, "audit:read"), nil).want(t, 200).decode(t, &evs)
		if len(evs.Items) != n || evs.Items[0].Actor.ID != dora.ID {
			t.Errorf("%s: %d events (%+v), want %d by dora", typ, len(evs.Items), evs.Items, n)
		}
	}
}

// Bad input is a 400 naming the field; a client-credentials token is 403.
func TestMeMFABadInput(t *testing.T) {
	e := newEnv(t)
	withMeScopes(t, e)
	erin := e.CreateUser(t, e.Tenant, model.User{Username: "erin"}, "erin's long passphrase", model.RoleUser)
	s := e.signIn(t, e.People.AdminTool, servertest.AdminToolRedirect, erin, meScopes)

	p := e.callInvalid(t, "POST", "/me/mfa/totp", s.Access, map[string]any{"name": strings.Repeat("n", 65)}).want(t, 400).problem(t)
	if p.field("name") == "" {
		t.Errorf("long name: %+v", p)
	}
	p = e.callInvalid(t, "POST", "/me/mfa/totp", s.Access, map[string]any{"name": ""}).want(t, 400).problem(t)
	if p.field("name") == "" {
		t.Errorf("empty name: %+v", p)
	}
	p = e.callInvalid(t, "POST", "/me/mfa/totp", s.Access, map[string]any{"name": "a\u0000b"}).want(t, 400).problem(t)
	if p.field("name") == "" {
		t.Errorf("NUL in the name: %+v", p)
	}
	var enr enrolmentDoc
	e.call(t, "POST", "/me/mfa/totp", s.Access, map[string]any{"name": "Phone"}).want(t, 201).decode(t, &enr)
	for _, code := range []string{"", "12345", "1234567", "abcdef"} {
		p = e.callInvalid(t, "POST", "/me/mfa/totp/"+enr.ID+"/confirm", s.Access, map[string]any{"code": code}).want(t, 400).problem(t)
		if p.field("code") == "" {
			t.Errorf("code %q: %+v", code, p)
		}
	}
	p = e.callInvalid(t, "POST", "/me/mfa/totp/"+enr.ID+"/confirm", s.Access, map[string]any{"code": 123456}).want(t, 400).problem(t)
	if p.field("code") == "" {
		t.Errorf("a number for code: %+v", p)
	}
	p = e.callInvalid(t, "PATCH", "/me/mfa/"+enr.ID, s.Access, map[string]any{}).want(t, 400).problem(t)
	if p.field("name") == "" {
		t.Errorf("rename without a name: %+v", p)
	}
	p = e.callInvalid(t, "PATCH", "/me/mfa/"+enr.ID, s.Access, map[string]any{"name": strings.Repeat("é", 65)}).want(t, 400).problem(t)
	if p.field("name") == "" {
		t.Errorf("rename, 65 characters: %+v", p)
	}
	e.callInvalid(t, "PATCH", "/me/mfa/"+strings.Repeat("x", 65), s.Access, map[string]any{"name": "x"}).want(t, 404)

	// A client-credentials token has no user.
	for _, c := range []struct{ method, path, scope string }{
		{"GET", "/me/mfa", "me:read"}, {"POST", "/me/mfa/totp", "me:write"}, {"POST", "/me/mfa/recovery-codes", "me:write"},
		{"DELETE", "/me/mfa/" + enr.ID, "me:write"},
	} {
		p := e.call(t, c.method, c.path, e.token(t, c.scope), nil).want(t, 403).problem(t)
		if p.Error != "forbidden" || !strings.Contains(p.Detail, "user sign-in") {
			t.Errorf("%s %s with a client token: %+v", c.method, c.path, p)
		}
	}
}

// An admin's reset takes every factor and recovery code, ends the user's
// sessions, and is audited as mfa.reset.
func TestAdminResetsUserFactors(t *testing.T) {
	e := newEnv(t)
	withMeScopes(t, e)
	frank := e.CreateUser(t, e.Tenant, model.User{Username: "frank"}, "frank's long passphrase", model.RoleUser)
	tool := e.People.AdminTool
	s := e.signIn(t, tool, servertest.AdminToolRedirect, frank, meScopes)
	var enr enrolmentDoc
	e.call(t, "POST", "/me/mfa/totp", s.Access, map[string]any{"name": "Phone"}).want(t, 201).decode(t, &enr)
	e.call(t, "POST", "/me/mfa/totp/"+enr.ID+"/confirm", s.Access, map[string]any{"code": mfatest.TOTPCode(enr.Secret, e.Clock.Now())}).want(t, 200)
	if ss, err := e.Store.Sessions().ListByUser(t.Context(), e.Tenant, frank.ID); err != nil || len(ss) != 1 {
		t.Fatalf("frank's sessions before the reset: %d %v", len(ss), err)
	}

	e.call(t, "DELETE", "/users/frank/mfa", e.token(t, "users:read"), nil).want(t, 403)
	var out struct {
		FactorsRemoved int `json:"factors_removed"`
		SessionsEnded  int `json:"sessions_ended"`
	}
	e.call(t, "DELETE", "/users/frank/mfa", e.token(t, "users:write"), nil).want(t, 200).decode(t, &out)
	if out.FactorsRemoved != 1 || out.SessionsEnded != 1 {
		t.Fatalf("reset = %+v", out)
	}
	// His browser must sign in again (the login page, not a code).
	if code, _ := e.authorizeAgain(t, s.Browser, tool, servertest.AdminToolRedirect); code {
		t.Fatal("frank's browser is still signed in after the reset")
	}
	var list factorList
	e.call(t, "GET", "/users/frank/mfa", e.token(t, "users:read"), nil).want(t, 200).decode(t, &list)
	if len(list.Items) != 0 || list.RecoveryCodesLeft != 0 {
		t.Fatalf("after the reset: %+v", list)
	}
	var evs auditPage
	e.call(t, "GET", "/audit?type=mfa.reset&subject="+frank.ID, e.token(t, "audit:read"), nil).want(t, 200).decode(t, &evs)
	if len(evs.Items) != 1 || evs.Items[0].Actor.Type != "client" || evs.Items[0].Actor.ID != e.Admin.ID {
		t.Fatalf("mfa.reset = %+v", evs.Items)
	}
	e.call(t, "DELETE", "/users/nobody/mfa", e.token(t, "users:write"), nil).want(t, 404)
}
