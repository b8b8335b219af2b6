package admin

import (
	"errors"
	"slices"
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/password"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/oautherr"
)

func TestRotateKeys(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	before, err := f.svc.ListKeys(ctx, f.actor, "acme")
	if err != nil {
		t.Fatal(err)
	}
	nextES := ""
	for _, k := range before {
		if k.Alg == model.AlgES256 && k.State == string(model.KeyNext) {
			nextES = k.KID
		}
	}
	after, err := f.svc.RotateKeys(ctx, f.actor, "acme")
	if err != nil {
		t.Fatal(err)
	}
	promoted := false
	for _, k := range after {
		if k.KID == nextES && k.State == string(model.KeyCurrent) {
			promoted = true
		}
	}
	if !promoted {
		t.Fatalf("the published next key must become current: before %v after %v", before, after)
	}
	ev := f.lastEvent(t, "acme")
	if d := details(t, ev); ev.Type != model.EventSigningKeyRotated || len(d["after"].([]any)) != len(after) {
		t.Fatalf("event = %s %s", ev.Type, ev.Details)
	}
	if _, err := f.svc.RotateKeys(ctx, f.actor, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown tenant: %v", err)
	}
}

func TestExplain(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	for _, in := range []ApplicationInput{
		{ClientID: "strict", Type: model.AppM2M, AllowedScopes: []string{"write:tx", "users:read"}},
		{ClientID: "loose", Type: model.AppM2M, ScopePolicy: model.PolicyPermissive, AllowedScopes: []string{"read:tx"}},
	} {
		if _, err := f.svc.CreateApplication(ctx, f.actor, "acme", in); err != nil {
			t.Fatal(err)
		}
	}
	n := len(f.events(t, "acme"))
	cases := []struct {
		name, client, audience, scope string
		wantGranted                   []string
		wantErr                       string
		wantReasons                   map[string]policy.Reason
	}{
		{"implication adds read:tx", "strict", "api.bank.example", "write:tx", []string{"read:tx", "write:tx"}, "",
			map[string]policy.Reason{"write:tx": policy.Granted, "read:tx": policy.Implied}},
		{"strict refuses beyond the allowlist", "strict", "", "write:tx read:records", nil, oautherr.InvalidTarget, nil},
		{"strict refuses a scope it may not have", "strict", "api.bank.example", "write:tx users:write", nil, oautherr.InvalidScope,
			map[string]policy.Reason{"users:write": policy.WrongAudience}},
		{"permissive drops", "loose", "api.bank.example", "read:tx write:tx", []string{"read:tx"}, "",
			map[string]policy.Reason{"write:tx": policy.NotAllowed}},
		{"unknown audience", "loose", "api.nope", "read:tx", nil, oautherr.InvalidTarget, nil},
		{"malformed scope", "loose", "", "read:tx  x", nil, oautherr.InvalidScope, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ex, err := f.svc.Explain(ctx, f.actor, "acme", tc.client, tc.audience, tc.scope)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" {
				if ex.Error == nil || ex.Error.Code != tc.wantErr || len(ex.Granted) != 0 {
					t.Fatalf("want %s, got %+v", tc.wantErr, ex)
				}
			} else if ex.Error != nil || !slices.Equal(ex.Granted, tc.wantGranted) {
				t.Fatalf("granted %v err %+v, want %v", ex.Granted, ex.Error, tc.wantGranted)
			}
			for s, r := range tc.wantReasons {
				found := false
				for _, res := range ex.Results {
					if res.Scope == s {
						found = true
						if res.Reason != r {
							t.Errorf("%s: reason %s, want %s", s, res.Reason, r)
						}
					}
				}
				if !found {
					t.Errorf("no result for %s in %+v", s, ex.Results)
				}
			}
		})
	}
	if _, err := f.svc.Explain(ctx, f.actor, "acme", "ghost", "", "read:tx"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown app: %v", err)
	}
	f.unchanged(t, "acme", n) // explain never writes
}

func TestSeedDemoIdempotent(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	actor := System("demo")
	d1, err := f.svc.SeedDemo(ctx, actor, "http://localhost:8080/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d1.Issuer != "http://localhost:8080/t/banking" || len(d1.APIs) != 2 || len(d1.Applications) != 5 || len(d1.Users) != 2 ||
		d1.Playground != "http://localhost:8080/t/banking/playground" {
		t.Fatalf("demo = %+v", d1)
	}
	checkDemoPeople(t, f, d1)
	if !slices.Equal(d1.APIs[0].Scopes, []string{"read:transactions", "write:settings", "payments:approve"}) || d1.APIs[1].Identifier != "api.health.example.com" {
		t.Fatalf("apis = %+v", d1.APIs)
	}
	// Issue 11: approving payments asks for a second factor (step-up); the
	// tenant's policy stays optional, so nobody else is asked to enrol.
	if !slices.Equal(d1.APIs[0].RequiresMFA, []string{"payments:approve"}) || d1.APIs[1].RequiresMFA != nil {
		t.Errorf("requires_mfa = %v, %v; want payments:approve only", d1.APIs[0].RequiresMFA, d1.APIs[1].RequiresMFA)
	}
	for name, want := range map[string]bool{"payments:approve": true, "read:transactions": false, "write:settings": false, "read:records": false} {
		if sc, err := f.svc.GetScope(ctx, actor, DemoTenantID, name); err != nil || sc.RequiresMFA != want {
			t.Errorf("demo scope %s requires_mfa = %t (%v), want %t", name, sc.RequiresMFA, err, want)
		}
	}
	if p, err := f.svc.GetMFAPolicy(ctx, actor, DemoTenantID); err != nil || p.Policy != string(model.MFAOptional) || p.GraceUntil != nil {
		t.Errorf("demo MFA policy = %+v (%v), want optional", p, err)
	}
	rj, _ := d1.App("reporting-job")
	lb, _ := d1.App("legacy-batch")
	if rj.ScopePolicy != model.PolicyStrict || !slices.Equal(rj.AllowedScopes, []string{"audit:read", "read:transactions", "users:read"}) || rj.ClientSecret == "" {
		t.Fatalf("reporting-job = %+v", rj)
	}
	if lb.ScopePolicy != model.PolicyPermissive || !slices.Equal(lb.AllowedScopes, []string{"read:transactions"}) {
		t.Fatalf("legacy-batch = %+v", lb)
	}
	ex, err := f.svc.Explain(ctx, actor, DemoTenantID, "reporting-job", "api.banking.example.com", "read:transactions")
	if err != nil || ex.Error != nil || !slices.Equal(ex.Granted, []string{"read:transactions"}) {
		t.Fatalf("the demo's curl would fail: %+v %v", ex, err)
	}
	n := len(f.events(t, DemoTenantID))

	// Restart with demo.json: same secrets, nothing written.
	d2, err := f.svc.SeedDemo(ctx, actor, "http://localhost:8080", &d1)
	if err != nil {
		t.Fatal(err)
	}
	rj2, _ := d2.App("reporting-job")
	if rj2.ClientSecret != rj.ClientSecret {
		t.Fatal("a restart with demo.json must keep the secrets")
	}
	if a1, a2 := d1.Users[0], d2.Users[0]; a1.Password != a2.Password || a2.Username != "alice" {
		t.Fatalf("a restart with demo.json must keep the passwords: %+v / %+v", a1, a2)
	}
	f.unchanged(t, DemoTenantID, n)

	// Restart without demo.json: new working secrets, the old one rotated out.
	d3, err := f.svc.SeedDemo(ctx, actor, "http://localhost:8080", nil)
	if err != nil {
		t.Fatal(err)
	}
	rj3, _ := d3.App("reporting-job")
	if rj3.ClientSecret == "" || rj3.ClientSecret == rj.ClientSecret {
		t.Fatalf("demo = %+v", d3)
	}
	app, _ := f.svc.GetApplication(ctx, actor, DemoTenantID, "reporting-job")
	if live, err := f.svc.secretIsLive(ctx, app, rj3.ClientSecret); err != nil || !live {
		t.Fatal("the printed secret must work")
	}
	if live, _ := f.svc.secretIsLive(ctx, app, rj.ClientSecret); live {
		t.Fatal("the forgotten secret must be rotated out")
	}
	// Passwords too: new ones that work, the forgotten ones no longer.
	if d3.Users[1].Password == d1.Users[1].Password {
		t.Fatal("a restart without demo.json printed the old password it cannot know")
	}
	checkDemoPeople(t, f, d3)
	if bob, _ := f.svc.GetUser(ctx, actor, DemoTenantID, "bob"); func() bool { ok, _ := password.Verify(bob.User.PasswordHash, d1.Users[1].Password); return ok }() {
		t.Fatal("the forgotten password still works")
	}
	// A demo.json whose secret no longer works is not trusted either.
	stale := d1
	d4, err := f.svc.SeedDemo(ctx, actor, "http://localhost:8080", &stale)
	if err != nil {
		t.Fatal(err)
	}
	if rj4, _ := d4.App("reporting-job"); rj4.ClientSecret == rj.ClientSecret {
		t.Fatal("a stale demo.json secret was printed")
	}

	// Restart on another port: the issuer moves.
	d5, err := f.svc.SeedDemo(ctx, actor, "http://127.0.0.1:9090", nil)
	if err != nil {
		t.Fatal(err)
	}
	ten, _ := f.svc.GetTenant(ctx, actor, DemoTenantID)
	if d5.Issuer != "http://127.0.0.1:9090/t/banking" || ten.Issuer != d5.Issuer {
		t.Fatalf("issuer not moved: %s / %s", d5.Issuer, ten.Issuer)
	}
	// The playground's URIs on banking-spa move with it; others stay.
	spa, _ := d5.App(DemoSPAClientID)
	if !slices.Equal(spa.RedirectURIs, []string{"http://localhost:5173/callback", "http://127.0.0.1:9090/t/banking/playground/callback"}) ||
		!slices.Equal(spa.PostLogoutRedirectURIs, []string{"http://localhost:5173/", "http://127.0.0.1:9090/t/banking/playground"}) {
		t.Fatalf("banking-spa after the move = %+v", spa)
	}
	checkDemoPeople(t, f, d5)

	// A public URL that cannot carry a redirect URI: no playground, no failure.
	f.svc.AllowInsecureIssuer = true
	d6, err := f.svc.SeedDemo(ctx, actor, "http://auth.internal:8080", &d5)
	if err != nil {
		t.Fatal(err)
	}
	if d6.Playground != "" {
		t.Fatalf("playground on a plain-http non-loopback issuer: %s", d6.Playground)
	}
}

// checkDemoPeople checks the demo's roles, users and browser applications
// against issue 3: every printed password signs in, every role is there.
func checkDemoPeople(t *testing.T, f *fixture, d Demo) {
	t.Helper()
	ctx := t.Context()
	actor := System("test")
	for _, r := range []struct {
		name   string
		scopes []string
	}{
		{"teller", []string{"read:transactions"}},
		{"manager", []string{"payments:approve", "read:transactions", "write:settings"}},
		{model.RoleAdmin, model.PlatformScopeNames()},
		{model.RoleUser, []string{"me:read", "me:sessions", "me:write"}},
	} {
		got, err := f.svc.GetRole(ctx, actor, DemoTenantID, r.name)
		if err != nil || !slices.Equal(got.Role.Scopes, r.scopes) {
			t.Errorf("role %s = %v, %v", r.name, got.Role.Scopes, err)
		}
	}
	want := map[string][]string{"alice": {"admin", "manager"}, "bob": {"teller", "user"}}
	for _, du := range d.Users {
		u, err := f.svc.GetUser(ctx, actor, DemoTenantID, du.Username)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(du.Roles, want[du.Username]) || !slices.Equal(u.Roles, want[du.Username]) || du.Email != du.Username+"@example.com" {
			t.Errorf("demo user %+v holds %v", du, u.Roles)
		}
		if ok, err := password.Verify(u.User.PasswordHash, du.Password); !ok || err != nil || password.Check(du.Password) != nil {
			t.Errorf("the printed password of %s does not sign in (%v)", du.Username, err)
		}
	}
	spa, ok := d.App(DemoSPAClientID)
	if !ok || spa.Type != "spa" || spa.ClientSecret != "" || spa.Consent != model.ConsentRequired ||
		!slices.Equal(spa.AllowedScopes, []string{"email", "offline_access", "openid", "payments:approve", "profile", "read:transactions", "write:settings"}) ||
		!slices.Contains(spa.RedirectURIs, d.Issuer+"/playground/callback") || !slices.Contains(spa.PostLogoutRedirectURIs, d.Issuer+"/playground") {
		t.Errorf("banking-spa = %+v", spa)
	}
	tool, ok := d.App(DemoAdminToolClientID)
	if !ok || tool.Type != "web" || tool.ClientSecret == "" || tool.Consent != model.ConsentImplicit ||
		!slices.Contains(tool.AllowedScopes, "users:write") || !slices.Contains(tool.AllowedScopes, "openid") ||
		!slices.Equal(tool.RedirectURIs, []string{DemoAdminToolRedirect}) {
		t.Errorf("admin-tool = %+v", tool)
	}
	// The M2M side of the demo still works beside the new applications.
	ex, err := f.svc.Explain(ctx, actor, DemoTenantID, "reporting-job", DemoAudience, "read:transactions")
	if err != nil || ex.Error != nil {
		t.Errorf("explain: %+v %v", ex, err)
	}
}
