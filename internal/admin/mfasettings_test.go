package admin

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/internal/store"
)

// TestScopeRequiresMFA: a custom scope can be created requiring a second
// factor and changed back, each change audited before/after with the
// field; a platform scope may require one, an OIDC scope may not.
func TestScopeRequiresMFA(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	sc, err := f.svc.CreateScope(ctx, f.actor, "acme", ScopeInput{Name: "pay:approve", Description: "Approve payments.", API: "bank", RequiresMFA: true})
	if err != nil {
		t.Fatal(err)
	}
	if !sc.RequiresMFA {
		t.Fatal("created scope does not require MFA")
	}
	if after := details(t, f.lastEvent(t, "acme"))["after"].(map[string]any); after["requires_mfa"] != true {
		t.Errorf("scope.created after = %v, want requires_mfa true", after)
	}
	off := false
	sc, err = f.svc.UpdateScope(ctx, f.actor, "acme", "pay:approve", ScopeUpdate{RequiresMFA: &off, Version: sc.Version})
	if err != nil || sc.RequiresMFA {
		t.Fatalf("update to false: %+v %v", sc, err)
	}
	ev := f.lastEvent(t, "acme")
	d := details(t, ev)
	if ev.Type != model.EventScopeUpdated || d["before"].(map[string]any)["requires_mfa"] != true || d["after"].(map[string]any)["requires_mfa"] != false {
		t.Errorf("scope.updated = %s %v", ev.Type, d)
	}
	// Absent: unchanged.
	desc := "Approve outgoing payments."
	if sc, err = f.svc.UpdateScope(ctx, f.actor, "acme", "pay:approve", ScopeUpdate{Description: &desc}); err != nil || sc.RequiresMFA {
		t.Fatalf("update without requires_mfa: %+v %v", sc, err)
	}
	on := true
	if sc, err = f.svc.UpdateScope(ctx, f.actor, "acme", "users:write", ScopeUpdate{RequiresMFA: &on}); err != nil || !sc.RequiresMFA {
		t.Fatalf("platform scope: %+v %v", sc, err)
	}
	n := len(f.events(t, "acme"))
	_, err = f.svc.UpdateScope(ctx, f.actor, "acme", "openid", ScopeUpdate{RequiresMFA: &on})
	wantInvalid(t, err, "requires_mfa", "OpenID Connect", "application")
	f.unchanged(t, "acme", n)
	if sc, err = f.svc.UpdateScope(ctx, f.actor, "acme", "openid", ScopeUpdate{RequiresMFA: &off}); err != nil || sc.RequiresMFA {
		t.Fatalf("openid requires_mfa false: %+v %v", sc, err)
	}
}

// TestApplicationMFA: an application inherits the tenant's policy unless
// told otherwise; the setting is validated and audited.
func TestApplicationMFA(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	c, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "web", Type: model.AppWeb, RedirectURIs: []string{"https://web.example.com/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Application.MFA != model.AppMFAInherit {
		t.Errorf("default mfa = %q, want inherit", c.Application.MFA)
	}
	c, err = f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "bank", Type: model.AppSPA, MFA: model.AppMFARequired,
		RedirectURIs: []string{"https://bank.example.com/cb"}})
	if err != nil || c.Application.MFA != model.AppMFARequired {
		t.Fatalf("create required: %+v %v", c.Application, err)
	}
	if after := details(t, f.lastEvent(t, "acme"))["after"].(map[string]any); after["mfa"] != "required" {
		t.Errorf("application.created after = %v", after)
	}
	req := model.AppMFARequired
	a, err := f.svc.UpdateApplication(ctx, f.actor, "acme", "web", ApplicationUpdate{MFA: &req})
	if err != nil || a.MFA != model.AppMFARequired {
		t.Fatalf("update: %+v %v", a, err)
	}
	d := details(t, f.lastEvent(t, "acme"))
	if d["before"].(map[string]any)["mfa"] != "inherit" || d["after"].(map[string]any)["mfa"] != "required" {
		t.Errorf("application.updated = %v", d)
	}
	n := len(f.events(t, "acme"))
	bad := "sometimes"
	_, err = f.svc.UpdateApplication(ctx, f.actor, "acme", "web", ApplicationUpdate{MFA: &bad})
	wantInvalid(t, err, "mfa", "inherit or required")
	_, err = f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "x", Type: model.AppM2M, MFA: bad})
	wantInvalid(t, err, "mfa")
	f.unchanged(t, "acme", n)
}

// TestSetMFAPolicy: a tenant starts optional; required with a grace period
// ends the grace at now + grace; each change is one
// tenant.mfa_policy_changed event with before and after and moves the
// tenant's revision (so every node reloads it); bad input names its field
// and changes nothing; a stale version fails; setting what is set writes
// nothing.
func TestSetMFAPolicy(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	got, err := f.svc.GetMFAPolicy(ctx, f.actor, "acme")
	if err != nil || got.Policy != "optional" || got.GraceUntil != nil {
		t.Fatalf("default policy = %+v %v", got, err)
	}
	before, err := f.svc.GetTenant(ctx, f.actor, "acme")
	if err != nil {
		t.Fatal(err)
	}
	n := len(f.events(t, "acme"))
	for _, c := range []struct {
		name  string
		in    MFAPolicyInput
		field string
	}{
		{"unknown policy", MFAPolicyInput{Policy: "sometimes"}, "policy"},
		{"empty policy", MFAPolicyInput{}, "policy"},
		{"grace without required", MFAPolicyInput{Policy: model.MFAOptional, Grace: time.Hour}, "grace_period"},
		{"negative grace", MFAPolicyInput{Policy: model.MFARequired, Grace: -time.Hour}, "grace_period"},
		{"grace over the bound", MFAPolicyInput{Policy: model.MFARequired, Grace: MaxMFAGrace + time.Hour}, "grace_period"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.svc.SetMFAPolicy(ctx, f.actor, "acme", c.in)
			wantInvalid(t, err, c.field)
		})
	}
	f.unchanged(t, "acme", n)

	out, err := f.svc.SetMFAPolicy(ctx, f.actor, "acme", MFAPolicyInput{Policy: model.MFARequired, Grace: 72 * time.Hour, Version: before.Version})
	if err != nil {
		t.Fatal(err)
	}
	ev := f.lastEvent(t, "acme")
	if ev.Type != EventTenantMFAPolicyChanged || ev.Time.IsZero() {
		t.Fatalf("event = %+v", ev)
	}
	if out.Policy != "required" || out.GraceUntil == nil || !out.GraceUntil.Equal(ev.Time.Add(72*time.Hour)) {
		t.Errorf("set = %+v, want required until %s", out, ev.Time.Add(72*time.Hour))
	}
	d := details(t, ev)
	if b, a := d["before"].(map[string]any), d["after"].(map[string]any); b["policy"] != "optional" || a["policy"] != "required" || a["grace_until"] == nil {
		t.Errorf("details = %v", d)
	}
	stored, err := f.svc.GetTenant(ctx, f.actor, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if stored.MFAPolicy != model.MFARequired || !stored.MFAGraceUntil.Equal(*out.GraceUntil) || stored.Rev <= before.Rev || stored.Version != out.Version {
		t.Errorf("stored tenant = policy %q until %s rev %d (was %d) version %d (doc %d)", stored.MFAPolicy, stored.MFAGraceUntil, stored.Rev, before.Rev, stored.Version, out.Version)
	}
	if doc := NewTenantDoc(stored); doc.MFAPolicy != "required" || doc.MFAGraceUntil == nil {
		t.Errorf("tenant doc = %+v", doc)
	}

	// The version read before the change is stale now.
	n = len(f.events(t, "acme"))
	if _, err := f.svc.SetMFAPolicy(ctx, f.actor, "acme", MFAPolicyInput{Policy: model.MFAOff, Version: before.Version}); !errors.Is(err, store.ErrPrecondition) {
		t.Fatalf("stale version: %v, want ErrPrecondition", err)
	}
	f.unchanged(t, "acme", n)

	// Required without grace: the grace ends.
	out, err = f.svc.SetMFAPolicy(ctx, f.actor, "acme", MFAPolicyInput{Policy: model.MFARequired})
	if err != nil || out.GraceUntil != nil {
		t.Fatalf("required without grace: %+v %v", out, err)
	}
	// The same again: nothing written.
	n = len(f.events(t, "acme"))
	again, err := f.svc.SetMFAPolicy(ctx, f.actor, "acme", MFAPolicyInput{Policy: model.MFARequired})
	if err != nil || again.Version != out.Version {
		t.Fatalf("no-op: %+v %v (version was %d)", again, err, out.Version)
	}
	f.unchanged(t, "acme", n)
	if _, err := f.svc.SetMFAPolicy(ctx, f.actor, "nope", MFAPolicyInput{Policy: model.MFAOff}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown tenant: %v", err)
	}
}

// PRODUCT.md §2 step 6b: explain with a user drops a scope that requires
// a second factor with step_up_required unless the input says the sign-in
// passed one; mfa without a user is refused.
func TestExplainStepUp(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	on := true
	if _, err := f.svc.UpdateScope(ctx, f.actor, "acme", "write:tx", ScopeUpdate{RequiresMFA: &on}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateRole(ctx, f.actor, "acme", RoleInput{Name: "clerk", Scopes: []string{"read:tx", "write:tx"}}); err != nil {
		t.Fatal(err)
	}
	f.user(t, "alice", "clerk")
	if _, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "web", Type: model.AppWeb, Consent: model.ConsentImplicit,
		RedirectURIs: []string{"https://web.example.com/cb"}, AllowedScopes: []string{"openid", "read:tx", "write:tx"}}); err != nil {
		t.Fatal(err)
	}
	in := ExplainInput{ClientID: "web", Audience: "api.bank.example", Scope: "openid write:tx", User: "alice"}
	ex, err := f.svc.ExplainFor(ctx, f.actor, "acme", in)
	if err != nil {
		t.Fatal(err)
	}
	// read:tx is implied by write:tx, which is dropped: it is not there.
	want := map[string]policy.Reason{"openid": policy.Granted, "write:tx": policy.StepUpRequired}
	if got := reasons(ex); !maps.Equal(got, want) || !slices.Equal(ex.Granted, []string{"openid"}) || ex.User.MFA {
		t.Fatalf("without mfa: reasons %v granted %v user %+v, want %v", got, ex.Granted, ex.User, want)
	}
	pwdSize := ex.TokenSize
	in.MFA = true
	if ex, err = f.svc.ExplainFor(ctx, f.actor, "acme", in); err != nil {
		t.Fatal(err)
	}
	want = map[string]policy.Reason{"openid": policy.Granted, "write:tx": policy.Granted, "read:tx": policy.Implied}
	if got := reasons(ex); !maps.Equal(got, want) || !slices.Equal(ex.Granted, []string{"openid", "read:tx", "write:tx"}) || !ex.User.MFA {
		t.Fatalf("with mfa: reasons %v granted %v user %+v, want %v", got, ex.Granted, ex.User, want)
	}
	if ex.TokenSize <= pwdSize {
		t.Errorf("token with more scopes and amr mfa is %d bytes, the password one %d", ex.TokenSize, pwdSize)
	}
	// Client credentials: no sign-in, so mfa makes no sense.
	_, err = f.svc.ExplainFor(ctx, f.actor, "acme", ExplainInput{ClientID: "web", Scope: "read:tx", MFA: true})
	wantInvalid(t, err, "mfa", "user")
}
