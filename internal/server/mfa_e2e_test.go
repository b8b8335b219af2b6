package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
)

// requireMFA marks a scope as requiring a second factor and lets the SPA
// ask for it.
func (o *oidcEnv) requireMFA(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	s, err := o.env.Store.Scopes().Get(ctx, "banking", name)
	must(t, err)
	s.RequiresMFA = true
	_, err = o.env.Store.Scopes().Update(ctx, s)
	must(t, err)
	o.allowSPA(t, name)
}

// allowSPA puts a scope on the SPA's allowlist.
func (o *oidcEnv) allowSPA(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	a, err := o.env.Store.Applications().Get(ctx, "banking", o.people.SPA.ID)
	must(t, err)
	if !slices.Contains(a.AllowedScopes, name) {
		a.AllowedScopes = append(a.AllowedScopes, name)
		_, err = o.env.Store.Applications().Update(ctx, a)
		must(t, err)
	}
	o.env.Server.Catalog().Invalidate("banking")
}

// enrolTOTP gives the user a confirmed authenticator app and returns its
// secret.
func (o *oidcEnv) enrolTOTP(t *testing.T, u servertest.User) string {
	t.Helper()
	ctx := context.Background()
	actor := admin.Actor{Type: model.ActorUser, ID: u.ID}
	enr, err := o.env.Admin.EnrolTOTP(ctx, actor, "banking", "Phone")
	must(t, err)
	code, err := totp.GenerateCode(enr.Secret, o.env.Clock.Now())
	must(t, err)
	_, err = o.env.Admin.ConfirmTOTP(ctx, actor, "banking", enr.FactorID, code)
	must(t, err)
	// The next sign-in's code must be of a later step than the one spent.
	o.env.Clock.Advance(30 * time.Second)
	return enr.Secret
}

// mfaForm returns the second-factor page's form for action, or fails.
func mfaForm(t *testing.T, p *servertest.Page, action string) *servertest.Form {
	t.Helper()
	for _, f := range p.Forms() {
		if f.Values.Get("action") == action {
			return f
		}
	}
	t.Fatalf("%s (status %d) has no %q form:\n%s", p.URL, p.Status, action, p.Body)
	return nil
}

func isMFAPage(p *servertest.Page) bool {
	return p.Location == nil && p.URL != nil && strings.HasSuffix(p.URL.Path, "/mfa")
}

// tokenEvent returns the oauth.token_issued event of the access token.
func tokenEvent(t *testing.T, st store.Store, access string) map[string]any {
	t.Helper()
	jti := servertest.JTI(t, access)
	evs, err := st.Audit().Search(context.Background(), store.AuditQuery{TenantID: "banking", Type: "oauth.token_issued", Limit: 200})
	must(t, err)
	for _, ev := range evs {
		var d map[string]any
		_ = json.Unmarshal(ev.Details, &d)
		if d["jti"] == jti {
			return d
		}
	}
	t.Fatalf("no oauth.token_issued event for jti %s", jti)
	return nil
}

// droppedReason is the reason the event's decision dropped scope with, or
// "" when it did not drop it.
func droppedReason(ev map[string]any, scope string) string {
	rs, _ := ev["results"].([]any)
	for _, x := range rs {
		m, _ := x.(map[string]any)
		if m["scope"] == scope && m["granted"] == false {
			r, _ := m["reason"].(string)
			return r
		}
	}
	return ""
}

func amrOf(claims map[string]any) []string {
	var out []string
	xs, _ := claims["amr"].([]any)
	for _, x := range xs {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

var secretPattern = regexp.MustCompile(`<code class="secret">([A-Z2-7=]+)</code>`)

// PRODUCT.md §2 step 6b: payments:approve requires a second factor. Alice
// (entitled to it, no factor yet) is asked to step up; she declines once —
// her token lacks the scope, the audit says step_up_required, and a
// refresh of that grant never adds it — and enrols the next time, when
// her token carries both scopes and amr/acr say how.
func TestStepUpForAScopeThatRequiresMFA(t *testing.T) {
	o := startOIDC(t)
	o.requireMFA(t, "payments:approve")
	ctx := o.ctx(t)
	cfg := o.spaConfig("openid", "offline_access", "read:transactions", "payments:approve")

	// 1. Declined.
	br := servertest.NewBrowser(t)
	a := newAuthRequest(cfg)
	p := br.Visit(o.env.URL, a.url)
	p = br.SignIn(o.env.URL, p, o.people.Alice.Username, o.people.Alice.Password)
	if !isMFAPage(p) {
		t.Fatalf("after the password: %s (status %d), want the second-factor page", p.URL, p.Status)
	}
	if p.URL.Query().Get("step_up") != "1" {
		t.Errorf("second-factor page %s does not say it is a step-up", p.URL)
	}
	p = br.Submit(o.env.URL, mfaForm(t, p, "skip"), nil)
	if p.Location == nil {
		p = br.Consent(o.env.URL, p, true)
	}
	tok := a.exchange(t, ctx, a.code(t, p, o.iss))
	if got := strings.Fields(tok.Extra("scope").(string)); slices.Contains(got, "payments:approve") || !slices.Contains(got, "read:transactions") {
		t.Errorf("declined step-up: scope %v, want read:transactions without payments:approve", got)
	}
	ev := tokenEvent(t, o.env.Store, tok.AccessToken)
	if r := droppedReason(ev, "payments:approve"); r != "step_up_required" {
		t.Errorf("token_issued dropped payments:approve with %q, want step_up_required (%v)", r, ev)
	}
	ac := unverifiedClaims(t, tok.AccessToken)
	if got := amrOf(ac); !slices.Equal(got, []string{"pwd"}) || ac["acr"] != "pwd" {
		t.Errorf("RFC 9068 §2.2.1 password-only token: amr %v acr %v, want [pwd] pwd", got, ac["acr"])
	}

	// 2. Enrolled: the same browser asks again, and this time sets up an
	// authenticator app.
	b := newAuthRequest(cfg)
	p = br.Visit(o.env.URL, b.url)
	if !isMFAPage(p) {
		t.Fatalf("second request: %s (status %d), want the second-factor page", p.URL, p.Status)
	}
	p = br.Submit(o.env.URL, mfaForm(t, p, "enrol"), nil)
	m := secretPattern.FindStringSubmatch(p.Body)
	if m == nil || !strings.Contains(p.Body, `src="data:image/png;base64,`) {
		t.Fatalf("enrolment page shows no key or QR code:\n%s", p.Body)
	}
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src data:") {
		t.Errorf("enrolment page CSP %q does not allow its data: QR image", csp)
	}
	code, err := totp.GenerateCode(m[1], o.env.Clock.Now())
	must(t, err)
	wrong := mfaForm(t, p, "confirm")
	p2 := br.Submit(o.env.URL, wrong, func(v url.Values) { v.Set("code", "000000") })
	if p2.Status != http.StatusUnauthorized {
		t.Errorf("enrolment with a wrong code: status %d, want 401", p2.Status)
	}
	p = br.Submit(o.env.URL, wrong, func(v url.Values) { v.Set("code", code) })
	if !strings.Contains(p.Body, "recovery codes") || strings.Count(p.Body, "<li><code>") != 10 {
		t.Fatalf("after enrolment: want the 10 recovery codes once:\n%s", p.Body)
	}
	next := regexp.MustCompile(`href="([^"]+)">I have saved them`).FindStringSubmatch(p.Body)
	if next == nil {
		t.Fatalf("no way on from the recovery codes:\n%s", p.Body)
	}
	p = br.Visit(o.env.URL, strings.ReplaceAll(next[1], "&amp;", "&"))
	if p.Location == nil {
		p = br.Consent(o.env.URL, p, true)
	}
	tok2 := b.exchange(t, ctx, b.code(t, p, o.iss))
	if got := strings.Fields(tok2.Extra("scope").(string)); !slices.Contains(got, "payments:approve") {
		t.Errorf("after the step-up: scope %v, want payments:approve", got)
	}
	for what, raw := range map[string]string{"access token": tok2.AccessToken, "ID token": tok2.Extra("id_token").(string)} {
		c := unverifiedClaims(t, raw)
		if got := amrOf(c); !slices.Contains(got, "otp") || !slices.Contains(got, "mfa") || c["acr"] != "mfa" {
			t.Errorf("RFC 8176 %s after TOTP: amr %v acr %v, want otp and mfa, acr mfa", what, got, c["acr"])
		}
	}

	// 3. The first grant's refresh never adds the scope, though the
	// session has since passed a second factor.
	ts := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken})
	r, err := ts.Token()
	must(t, err)
	if got := strings.Fields(r.Extra("scope").(string)); slices.Contains(got, "payments:approve") {
		t.Errorf("refresh of a pre-MFA grant: scope %v must not hold payments:approve", got)
	}
	evs, err := o.env.Store.Audit().Search(context.Background(), store.AuditQuery{TenantID: "banking", Type: model.EventLoginStepUp})
	must(t, err)
	outcomes := map[string]bool{}
	for _, e := range evs {
		var d map[string]any
		_ = json.Unmarshal(e.Details, &d)
		outcomes[d["outcome"].(string)] = true
	}
	if !outcomes["declined"] || !outcomes["passed"] {
		t.Errorf("login.step_up outcomes %v, want declined and passed", outcomes)
	}
}

// A user with an authenticator app passes it at every sign-in (tenant
// policy optional): a wrong code is refused, a code is accepted once
// (RFC 6238 §5.2: "the verifier MUST NOT accept the second attempt of the
// OTP after the successful validation"), a recovery code works once, and
// six wrong codes lock the second step.
func TestSecondFactorAtSignIn(t *testing.T) {
	o := startOIDC(t)
	secret := o.enrolTOTP(t, o.people.Bob)
	cfg := o.spaConfig("openid", "read:transactions")
	ctx := o.ctx(t)
	signIn := func() (*servertest.Browser, *authRequest, *servertest.Page) {
		br := servertest.NewBrowser(t)
		a := newAuthRequest(cfg)
		p := br.SignIn(o.env.URL, br.Visit(o.env.URL, a.url), o.people.Bob.Username, o.people.Bob.Password)
		if !isMFAPage(p) {
			t.Fatalf("after the password: %s (status %d), want the second-factor page:\n%s", p.URL, p.Status, p.Body)
		}
		for _, f := range p.Forms() {
			if f.Values.Get("action") == "skip" {
				t.Errorf("a user with a factor may skip it:\n%s", p.Body)
			}
		}
		return br, a, p
	}

	br, a, p := signIn()
	if wrong := br.Submit(o.env.URL, mfaForm(t, p, "totp"), func(v url.Values) { v.Set("code", "123456") }); wrong.Status != http.StatusUnauthorized {
		t.Errorf("wrong code: status %d, want 401", wrong.Status)
	}
	code, err := totp.GenerateCode(secret, o.env.Clock.Now())
	must(t, err)
	p = br.Submit(o.env.URL, mfaForm(t, p, "totp"), func(v url.Values) { v.Set("code", code) })
	if p.Location == nil {
		p = br.Consent(o.env.URL, p, true)
	}
	tok := a.exchange(t, ctx, a.code(t, p, o.iss))
	if got := amrOf(unverifiedClaims(t, tok.Extra("id_token").(string))); !slices.Equal(got, []string{"pwd", "otp", "mfa"}) {
		t.Errorf("ID token amr %v, want [pwd otp mfa]", got)
	}
	// The metrics count the second factor's outcomes (docs/observability.md).
	m := scrape(t, o.env)
	for outcome, want := range map[string]float64{"success": 1, "mfa_failed": 1, "mfa_passed": 1} {
		if got := m.get("intelliauth_login_outcomes_total", "tenant", "banking", "outcome", outcome); got != want {
			t.Errorf("intelliauth_login_outcomes_total{outcome=%q} = %v, want %v", outcome, got, want)
		}
	}

	// The same code, in another browser within its window: refused.
	br2, _, p2 := signIn()
	if again := br2.Submit(o.env.URL, mfaForm(t, p2, "totp"), func(v url.Values) { v.Set("code", code) }); again.Status != http.StatusUnauthorized {
		t.Errorf("RFC 6238 §5.2 replayed code: status %d, want 401", again.Status)
	}
	// A code two steps old: refused.
	old, err := totp.GenerateCode(secret, o.env.Clock.Now().Add(-60*time.Second))
	must(t, err)
	if stale := br2.Submit(o.env.URL, mfaForm(t, p2, "totp"), func(v url.Values) { v.Set("code", old) }); stale.Status != http.StatusUnauthorized {
		t.Errorf("RFC 6238 §5.2 code two steps old: status %d, want 401", stale.Status)
	}

	// Six wrong codes in all: the second step is throttled, even for the
	// right code.
	for i := 0; i < 4; i++ {
		br2.Submit(o.env.URL, mfaForm(t, p2, "totp"), func(v url.Values) { v.Set("code", "000000") })
	}
	o.env.Clock.Advance(30 * time.Second)
	fresh, err := totp.GenerateCode(secret, o.env.Clock.Now())
	must(t, err)
	if locked := br2.Submit(o.env.URL, mfaForm(t, p2, "totp"), func(v url.Values) { v.Set("code", fresh) }); locked.Status != http.StatusTooManyRequests {
		t.Errorf("after six wrong codes: status %d, want 429", locked.Status)
	}
}

// A grant made before its scope required a second factor: the next
// refresh re-runs the decision with the grant's amr and drops the scope
// with step_up_required (PRODUCT.md §2: refresh re-runs the decision); a
// grant whose sign-in passed a second factor keeps it.
func TestRefreshDropsAScopeThatNowRequiresMFA(t *testing.T) {
	o := startOIDC(t)
	o.allowSPA(t, "payments:approve")
	secret := o.enrolTOTP(t, o.people.Alice)
	ctx := o.ctx(t)
	cfg := o.spaConfig("openid", "offline_access", "read:transactions", "payments:approve")

	// A grant whose sign-in passed Alice's authenticator app.
	br0 := servertest.NewBrowser(t)
	a0 := newAuthRequest(cfg)
	p0 := br0.SignIn(o.env.URL, br0.Visit(o.env.URL, a0.url), o.people.Alice.Username, o.people.Alice.Password)
	if !isMFAPage(p0) {
		t.Fatalf("after the password: %s, want the second-factor page", p0.URL)
	}
	code, err := totp.GenerateCode(secret, o.env.Clock.Now())
	must(t, err)
	p0 = br0.Submit(o.env.URL, mfaForm(t, p0, "totp"), func(v url.Values) { v.Set("code", code) })
	if p0.Location == nil {
		p0 = br0.Consent(o.env.URL, p0, true)
	}
	withMFA := a0.exchange(t, ctx, a0.code(t, p0, o.iss))

	// A password-only grant of the same scopes, made while the scope did
	// not require a second factor: policy off, so no second step.
	setPolicy := func(p model.MFAPolicy) {
		tn, err := o.env.Store.Tenants().Get(context.Background(), "banking")
		must(t, err)
		tn.MFAPolicy = p
		_, err = o.env.Store.Tenants().Update(context.Background(), tn)
		must(t, err)
		o.env.Server.Catalog().Invalidate("banking")
	}
	setPolicy(model.MFAOff)
	br := servertest.NewBrowser(t)
	a := newAuthRequest(cfg)
	p := br.SignIn(o.env.URL, br.Visit(o.env.URL, a.url), o.people.Alice.Username, o.people.Alice.Password)
	if p.Location == nil {
		p = br.Consent(o.env.URL, p, true)
	}
	pwdOnly := a.exchange(t, ctx, a.code(t, p, o.iss))
	if got := strings.Fields(pwdOnly.Extra("scope").(string)); !slices.Contains(got, "payments:approve") {
		t.Fatalf("password-only grant before the scope required MFA: scope %v", got)
	}
	setPolicy(model.MFAOptional)

	o.requireMFA(t, "payments:approve")
	refresh := func(tok *oauth2.Token) *oauth2.Token {
		r, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		must(t, err)
		return r
	}
	r := refresh(pwdOnly)
	if got := strings.Fields(r.Extra("scope").(string)); slices.Contains(got, "payments:approve") {
		t.Errorf("refresh of a password-only grant: scope %v still holds payments:approve", got)
	}
	if reason := droppedReason(tokenEvent(t, o.env.Store, r.AccessToken), "payments:approve"); reason != "step_up_required" {
		t.Errorf("refresh dropped payments:approve with %q, want step_up_required", reason)
	}
	r2 := refresh(withMFA)
	if got := strings.Fields(r2.Extra("scope").(string)); !slices.Contains(got, "payments:approve") {
		t.Errorf("refresh of a grant that passed a second factor: scope %v lost payments:approve", got)
	}
	if c := unverifiedClaims(t, r2.AccessToken); c["acr"] != "mfa" {
		t.Errorf("refreshed token of an MFA grant: acr %v, want mfa", c["acr"])
	}
}

// OIDC Core 1.0 §3.1.2.1 acr_values: a relying party that asks for "mfa"
// gets a second step (skippable: acr_values is voluntary), and discovery
// lists the values (OIDC Discovery 1.0 §3 acr_values_supported). A
// recovery code is a second factor that works once.
func TestACRValuesAndRecoveryCodes(t *testing.T) {
	o := startOIDC(t)
	res, err := servertest.HTTPClient().Get(o.iss + "/.well-known/openid-configuration")
	must(t, err)
	var meta struct {
		ACR []string `json:"acr_values_supported"`
	}
	must(t, json.NewDecoder(res.Body).Decode(&meta))
	res.Body.Close()
	if !slices.Equal(meta.ACR, []string{"pwd", "mfa"}) {
		t.Errorf("acr_values_supported = %v, want [pwd mfa]", meta.ACR)
	}

	// Bob has no factor: acr_values=mfa asks him to step up; he declines
	// and gets acr pwd.
	cfg := o.spaConfig("openid", "read:transactions")
	ctx := o.ctx(t)
	br := servertest.NewBrowser(t)
	a := newAuthRequest(cfg, oauth2.SetAuthURLParam("acr_values", "mfa pwd"))
	p := br.SignIn(o.env.URL, br.Visit(o.env.URL, a.url), o.people.Bob.Username, o.people.Bob.Password)
	if !isMFAPage(p) || p.URL.Query().Get("step_up") != "1" {
		t.Fatalf("acr_values=mfa: %s, want the second-factor page as a step-up", p.URL)
	}
	p = br.Submit(o.env.URL, mfaForm(t, p, "skip"), nil)
	if p.Location == nil {
		p = br.Consent(o.env.URL, p, true)
	}
	tok := a.exchange(t, ctx, a.code(t, p, o.iss))
	if c := unverifiedClaims(t, tok.Extra("id_token").(string)); c["acr"] != "pwd" {
		t.Errorf("declined acr_values=mfa: acr %v, want pwd", c["acr"])
	}

	// Alice enrols; her recovery codes sign her in once each.
	ctxb := context.Background()
	actor := admin.Actor{Type: model.ActorUser, ID: o.people.Alice.ID}
	enr, err := o.env.Admin.EnrolTOTP(ctxb, actor, "banking", "Phone")
	must(t, err)
	code, err := totp.GenerateCode(enr.Secret, o.env.Clock.Now())
	must(t, err)
	conf, err := o.env.Admin.ConfirmTOTP(ctxb, actor, "banking", enr.FactorID, code)
	must(t, err)
	if len(conf.RecoveryCodes) != 10 {
		t.Fatalf("first factor: %d recovery codes, want 10", len(conf.RecoveryCodes))
	}
	rc := conf.RecoveryCodes[3]
	useRecovery := func() *servertest.Page {
		br := servertest.NewBrowser(t)
		a := newAuthRequest(cfg)
		p := br.SignIn(o.env.URL, br.Visit(o.env.URL, a.url), o.people.Alice.Username, o.people.Alice.Password)
		if !isMFAPage(p) {
			t.Fatalf("after the password: %s, want the second-factor page", p.URL)
		}
		return br.Submit(o.env.URL, mfaForm(t, p, "recovery"), func(v url.Values) { v.Set("code", strings.ToUpper(rc)) })
	}
	if p := useRecovery(); p.Status == http.StatusUnauthorized || isMFAPage(p) {
		t.Errorf("first use of a recovery code: %s (status %d), want past the second step", p.URL, p.Status)
	}
	if p := useRecovery(); p.Status != http.StatusUnauthorized {
		t.Errorf("second use of a recovery code: status %d, want 401", p.Status)
	}
}

// Tenant policy required (issue 11): a user without a factor must enrol
// at the next sign-in; during the grace period the enrolment can be put
// off, after it not.
func TestPolicyRequiredForcesEnrolment(t *testing.T) {
	o := startOIDC(t)
	setPolicy := func(grace time.Duration) {
		tn, err := o.env.Store.Tenants().Get(context.Background(), "banking")
		must(t, err)
		tn.MFAPolicy, tn.MFAGraceUntil = model.MFARequired, time.Time{}
		if grace > 0 {
			tn.MFAGraceUntil = o.env.Clock.Now().Add(grace)
		}
		_, err = o.env.Store.Tenants().Update(context.Background(), tn)
		must(t, err)
		o.env.Server.Catalog().Invalidate("banking")
	}
	cfg := o.spaConfig("openid", "read:transactions")
	signIn := func() (*servertest.Browser, *servertest.Page) {
		br := servertest.NewBrowser(t)
		a := newAuthRequest(cfg)
		p := br.SignIn(o.env.URL, br.Visit(o.env.URL, a.url), o.people.Bob.Username, o.people.Bob.Password)
		if !isMFAPage(p) {
			t.Fatalf("after the password under policy required: %s, want the second-factor page", p.URL)
		}
		mfaForm(t, p, "enrol")
		return br, p
	}
	hasSkip := func(p *servertest.Page) bool {
		for _, f := range p.Forms() {
			if f.Values.Get("action") == "skip" {
				return true
			}
		}
		return false
	}

	setPolicy(24 * time.Hour)
	br, p := signIn()
	if !hasSkip(p) {
		t.Errorf("in the grace period the enrolment can be put off:\n%s", p.Body)
	}
	if p := br.Submit(o.env.URL, mfaForm(t, p, "skip"), nil); isMFAPage(p) {
		t.Errorf("putting off the enrolment in the grace period: still on %s", p.URL)
	}

	setPolicy(0)
	br, p = signIn()
	if hasSkip(p) {
		t.Errorf("after the grace period the enrolment cannot be put off:\n%s", p.Body)
	}
	// A forged skip is refused.
	forged := mfaForm(t, p, "enrol")
	if p := br.Submit(o.env.URL, forged, func(v url.Values) { v.Set("action", "skip") }); p.Status != http.StatusBadRequest || !isMFAPage(p) {
		t.Errorf("forged skip: %s (status %d), want 400 on the second-factor page", p.URL, p.Status)
	}
}

// OIDC Core 1.0 §3.1.2.6: a session whose second factor is still due
// cannot be used silently — prompt=none answers interaction_required, it
// does not issue a code on the password alone.
func TestPromptNoneWithASecondFactorDue(t *testing.T) {
	o := startOIDC(t)
	o.enrolTOTP(t, o.people.Bob)
	cfg := o.spaConfig("openid", "read:transactions")
	br := servertest.NewBrowser(t)
	a := newAuthRequest(cfg)
	if p := br.SignIn(o.env.URL, br.Visit(o.env.URL, a.url), o.people.Bob.Username, o.people.Bob.Password); !isMFAPage(p) {
		t.Fatalf("after the password: %s, want the second-factor page", p.URL)
	}
	silent := newAuthRequest(cfg, oauth2.SetAuthURLParam("prompt", "none"))
	if got := silent.authError(t, br.Visit(o.env.URL, silent.url), o.iss); got != "interaction_required" {
		t.Errorf("prompt=none with the second factor due: error %q, want interaction_required", got)
	}
}
