package login_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/mfa/mfatest"
	"github.com/intelliauth/intelliauth/internal/model"
)

// SecondFactorNeed is the one rule behind the second step of a sign-in, a
// step-up and the account page (PRODUCT.md §2 step 6b, the tenant and
// application policies of issue 11). Each case sets the tenant's policy,
// the application's setting and whether the user has a confirmed factor.
func TestSecondFactorNeed(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	withFactor := e.user("fiona", "correct horse battery", model.UserActive)
	without := e.user("nick", "correct horse battery", model.UserActive)
	now := e.clock.Now()
	must(t, e.st.Factors().Create(ctx, model.Factor{TenantID: tenantID, ID: "mfa_f1", UserID: withFactor.ID, Type: model.FactorTOTP,
		Name: "Phone", Secret: []byte("sealed"), Confirmed: true, CreatedAt: now}))
	// An enrolment never confirmed is not a factor.
	must(t, e.st.Factors().Create(ctx, model.Factor{TenantID: tenantID, ID: "mfa_n1", UserID: without.ID, Type: model.FactorTOTP,
		Name: "Half done", Secret: []byte("sealed"), CreatedAt: now}))

	type want struct{ due, enrol, skippable bool }
	cases := []struct {
		name     string
		policy   model.MFAPolicy
		grace    time.Duration // from now; 0: none
		appMFA   string
		user     model.User
		stepUp   bool
		want     want
		factorsN int
	}{
		{name: "optional, no factor, nothing asked → not due", policy: model.MFAOptional, user: without, want: want{false, true, true}},
		{name: "optional, a factor → due at every sign-in, not skippable", policy: model.MFAOptional, user: withFactor, want: want{true, false, false}, factorsN: 1},
		{name: "zero policy is optional", policy: "", user: withFactor, want: want{true, false, false}, factorsN: 1},
		{name: "off, a factor → not asked at sign-in", policy: model.MFAOff, user: withFactor, want: want{false, false, true}, factorsN: 1},
		{name: "off, a factor, step-up → asked, may decline", policy: model.MFAOff, user: withFactor, stepUp: true, want: want{true, false, true}, factorsN: 1},
		{name: "off, no factor, step-up → asked, cannot enrol here, may decline", policy: model.MFAOff, user: without, stepUp: true, want: want{true, false, true}},
		{name: "optional, no factor, step-up → may enrol or decline", policy: model.MFAOptional, user: without, stepUp: true, want: want{true, true, true}},
		{name: "required, no factor, no grace → must enrol", policy: model.MFARequired, user: without, want: want{true, true, false}},
		{name: "required, no factor, in grace → may enrol or skip", policy: model.MFARequired, grace: time.Hour, user: without, want: want{true, true, true}},
		{name: "required, no factor, grace over → must enrol", policy: model.MFARequired, grace: -time.Minute, user: without, want: want{true, true, false}},
		{name: "app requires, policy off, no factor → must enrol", policy: model.MFAOff, appMFA: model.AppMFARequired, user: without, want: want{true, true, false}},
		{name: "app requires, a factor → due, not skippable", policy: model.MFAOptional, appMFA: model.AppMFARequired, user: withFactor, want: want{true, false, false}, factorsN: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			snap := *e.snap()
			snap.Tenant.MFAPolicy = tc.policy
			snap.Tenant.MFAGraceUntil = time.Time{}
			if tc.grace != 0 {
				snap.Tenant.MFAGraceUntil = now.Add(tc.grace)
			}
			app, _ := snap.App(clientID)
			a := *app
			a.MFA = tc.appMFA
			n, err := e.h.SecondFactorNeed(context.Background(), &snap, &a, tc.user, tc.stepUp)
			must(t, err)
			got := want{n.Due, n.Enrol, n.Skippable}
			if got != tc.want || len(n.Factors) != tc.factorsN {
				t.Errorf("Need = %+v (%d factors), want %+v (%d factors)", got, len(n.Factors), tc.want, tc.factorsN)
			}
		})
	}
	// The account page asks with no application.
	n, err := e.h.SecondFactorNeed(ctx, e.snap(), nil, withFactor, false)
	must(t, err)
	if !n.Due || n.Skippable {
		t.Errorf("account page, a user with a factor: %+v, want due and not skippable", n)
	}
	// Whatever the policy: the page manages the factors themselves.
	off := *e.snap()
	off.Tenant.MFAPolicy = model.MFAOff
	n, err = e.h.SecondFactorNeed(ctx, &off, nil, withFactor, false)
	must(t, err)
	if !n.Due || n.Skippable {
		t.Errorf("account page, policy off, a user with a factor: %+v, want due and not skippable", n)
	}
}

// A user setting up an authenticator app during a sign-in who types a
// wrong code is told so and can type another for the same set-up: the
// answer keeps the confirming form (the app already holds the secret),
// and offers to start again. A set-up that is gone meanwhile (pruned
// after an hour) is a 400 that says to start again, not a 500.
func TestSignInEnrolmentWrongCodeKeepsTheForm(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "correct horse battery", model.UserActive)
	id := e.request(func(ar *model.AuthRequest) { ar.Scope = "openid payments:approve" })
	b := e.browser()
	b.signIn(id, "alice", "correct horse battery")
	_, page := b.get("/mfa?request=" + id + "&step_up=1")
	resp, enrol := b.post("/mfa", url.Values{"request": {id}, "step_up": {"1"}, "csrf": {csrf(t, page)}, "action": {"enrol"}})
	m := codeSecret.FindStringSubmatch(enrol)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("enrol: %d\n%s", resp.StatusCode, enrol)
	}
	secret, factor := m[1], hiddenOf("factor").FindStringSubmatch(enrol)[1]
	confirm := func(page, factor, code string) (*http.Response, string) {
		return b.post("/mfa", url.Values{"request": {id}, "step_up": {"1"}, "csrf": {csrf(t, page)}, "action": {"confirm"},
			"factor": {factor}, "code": {code}})
	}

	resp, again := confirm(enrol, factor, mfatest.TOTPCode(secret, e.clock.Now().Add(-time.Hour)))
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(again, "That code is not right") {
		t.Fatalf("a wrong code: %d\n%s", resp.StatusCode, again)
	}
	if f := hiddenOf("factor").FindStringSubmatch(again); f == nil || f[1] != factor || !strings.Contains(again, `value="confirm"`) {
		t.Fatalf("a wrong code: the answer has no form to type another code for the same set-up:\n%s", again)
	}
	if strings.Contains(again, secret) {
		t.Fatal("the secret is shown again")
	}
	if !strings.Contains(again, `value="enrol"`) {
		t.Errorf("a wrong code: no way to start the set-up again:\n%s", again)
	}
	resp, codes := confirm(again, factor, mfatest.TOTPCode(secret, e.clock.Now()))
	if resp.StatusCode != http.StatusOK || len(codeItem.FindAllString(codes, -1)) != 10 {
		t.Fatalf("the right code on the same set-up: %d\n%s", resp.StatusCode, codes)
	}

	// A set-up that is gone.
	id = e.request(func(ar *model.AuthRequest) { ar.Scope = "openid payments:approve" })
	b = e.browser()
	e.user("bob", "tr0ub4dor and three", model.UserActive)
	b.signIn(id, "bob", "tr0ub4dor and three")
	_, page = b.get("/mfa?request=" + id + "&step_up=1")
	resp, gone := confirm(page, "mfa_doesnotexist", "123456")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(gone, "start again") {
		t.Fatalf("a set-up that is gone: %d\n%s", resp.StatusCode, gone)
	}
}

// Set-ups started and never finished count against the most factors an
// account may hold until they are pruned (an hour). Past that bound the
// sign-in's "set up" answers 409 with the reason and the way out, not a
// 500.
func TestSignInEnrolmentPastTheMostFactors(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", "correct horse battery", model.UserActive)
	for range admin.MaxFactors {
		_, err := e.admin.EnrolTOTP(t.Context(), admin.Actor{Type: model.ActorUser, ID: alice.ID}, tenantID, "Half done")
		must(t, err)
	}
	id := e.request(func(ar *model.AuthRequest) { ar.Scope = "openid payments:approve" })
	b := e.browser()
	b.signIn(id, "alice", "correct horse battery")
	_, page := b.get("/mfa?request=" + id + "&step_up=1")
	resp, body := b.post("/mfa", url.Values{"request": {id}, "step_up": {"1"}, "csrf": {csrf(t, page)}, "action": {"enrol"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "try again in an hour") {
		t.Fatalf("set-up past the most factors: %d\n%s", resp.StatusCode, body)
	}
}
