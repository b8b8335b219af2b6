package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/oautherr"
	"github.com/intelliauth/intelliauth/scope"
)

// fixture is a tenant like the demo: a banking API, a health API, the
// platform API, the OIDC scopes, and a hierarchy admin:write → user:write →
// user:read on the banking API.
func fixture() *Registry {
	apis := []model.API{
		{ID: model.PlatformAPIID, Identifier: "https://example.test/t/banking/api/v1", Platform: true},
		{ID: "bank", Identifier: "api.banking.example.com"},
		{ID: "health", Identifier: "api.health.example.com"},
	}
	scopes := model.PredefinedOIDCScopes()
	scopes = append(scopes, model.PlatformScopes(model.PlatformAPIID)...)
	custom := func(name, api string, implies ...string) model.Scope {
		return model.Scope{Name: name, Kind: model.KindCustom, APIID: api, Description: name, Implies: implies}
	}
	scopes = append(scopes,
		custom("read:transactions", "bank"),
		custom("write:settings", "bank"),
		custom("payments:approve", "bank"),
		custom("admin:write", "bank", "user:write"),
		custom("user:write", "bank", "user:read"),
		custom("user:read", "bank"),
		custom("read:records", "health"),
		// A cross-API implication: exporting statements (banking) implies
		// reading records (health). A banking token must not carry it.
		custom("statements:export", "bank", "read:records"),
	)
	return NewRegistry(scopes, apis)
}

func app(policy string, allowed ...string) model.Application {
	return model.Application{ClientID: "c1", Type: model.AppM2M, ScopePolicy: policy, AllowedScopes: allowed}
}

func ptr(s scope.Set) *scope.Set { return &s }

func TestDecide(t *testing.T) {
	reg := fixture()
	bankApp := []string{"read:transactions", "write:settings", "admin:write", "users:read"}
	cases := []struct {
		name        string
		in          Input
		wantErr     string // OAuth error code, "" for success
		wantAud     string
		wantGranted string
		wantReasons map[string]Reason
	}{
		{name: "RFC 6749 §3.3 malformed scope → invalid_scope",
			in: Input{Scope: "read:transactions  write:settings", App: app(model.PolicyStrict, bankApp...)}, wantErr: oautherr.InvalidScope},
		{name: "RFC 6749 §3.3 forbidden character → invalid_scope",
			in: Input{Scope: `read:"x"`, App: app(model.PolicyStrict, bankApp...)}, wantErr: oautherr.InvalidScope},
		{name: "allowed scopes granted, audience inferred from the scopes",
			in:      Input{Scope: "read:transactions write:settings", App: app(model.PolicyStrict, bankApp...)},
			wantAud: "api.banking.example.com", wantGranted: "read:transactions write:settings",
			wantReasons: map[string]Reason{"read:transactions": Granted, "write:settings": Granted}},
		{name: "duplicates collapse",
			in:      Input{Scope: "read:transactions read:transactions", App: app(model.PolicyStrict, bankApp...)},
			wantAud: "api.banking.example.com", wantGranted: "read:transactions"},
		{name: "strict: unknown scope → invalid_scope",
			in: Input{Scope: "read:transactions nope:nope", App: app(model.PolicyStrict, bankApp...)}, wantErr: oautherr.InvalidScope,
			wantReasons: map[string]Reason{"nope:nope": NotRegistered}},
		{name: "permissive: unknown scope dropped with reason",
			in:      Input{Scope: "read:transactions nope:nope", App: app(model.PolicyPermissive, bankApp...)},
			wantAud: "api.banking.example.com", wantGranted: "read:transactions",
			wantReasons: map[string]Reason{"read:transactions": Granted, "nope:nope": NotRegistered}},
		{name: "strict: registered but not allowlisted → invalid_scope",
			in: Input{Scope: "read:transactions payments:approve", App: app(model.PolicyStrict, bankApp...)}, wantErr: oautherr.InvalidScope,
			wantReasons: map[string]Reason{"payments:approve": NotAllowed}},
		{name: "permissive: not allowlisted dropped",
			in:      Input{Scope: "read:transactions payments:approve", App: app(model.PolicyPermissive, bankApp...)},
			wantAud: "api.banking.example.com", wantGranted: "read:transactions",
			wantReasons: map[string]Reason{"payments:approve": NotAllowed}},
		{name: "allowed because implied by an allowlisted scope",
			in:      Input{Scope: "user:read", App: app(model.PolicyStrict, "admin:write")},
			wantAud: "api.banking.example.com", wantGranted: "user:read",
			wantReasons: map[string]Reason{"user:read": Granted}},
		{name: "implication expands granted scopes transitively",
			in:      Input{Scope: "admin:write", App: app(model.PolicyStrict, "admin:write")},
			wantAud: "api.banking.example.com", wantGranted: "admin:write user:read user:write",
			wantReasons: map[string]Reason{"admin:write": Granted, "user:write": Implied, "user:read": Implied}},
		{name: "RFC 8707 §2 unknown audience → invalid_target",
			in: Input{Scope: "read:transactions", Audience: "api.unknown.example.com", App: app(model.PolicyStrict, bankApp...)}, wantErr: oautherr.InvalidTarget},
		{name: "RFC 8707 §2 scopes of two APIs without audience → invalid_target",
			in: Input{Scope: "read:transactions users:read", App: app(model.PolicyStrict, bankApp...)}, wantErr: oautherr.InvalidTarget},
		{name: "strict: scope of another API than the audience → invalid_scope",
			in: Input{Scope: "read:transactions users:read", Audience: "api.banking.example.com", App: app(model.PolicyStrict, bankApp...)}, wantErr: oautherr.InvalidScope,
			wantReasons: map[string]Reason{"users:read": WrongAudience}},
		{name: "permissive: scope of another API dropped as wrong_audience",
			in:      Input{Scope: "read:transactions users:read", Audience: "api.banking.example.com", App: app(model.PolicyPermissive, bankApp...)},
			wantAud: "api.banking.example.com", wantGranted: "read:transactions",
			wantReasons: map[string]Reason{"users:read": WrongAudience}},
		{name: "platform scopes infer the platform API",
			in:      Input{Scope: "users:read", App: app(model.PolicyStrict, bankApp...)},
			wantAud: "https://example.test/t/banking/api/v1", wantGranted: "users:read"},
		{name: "RFC 6749 §3.3 no scope: allowlist default for the audience",
			in:      Input{Audience: "api.banking.example.com", App: app(model.PolicyStrict, bankApp...)},
			wantAud: "api.banking.example.com", wantGranted: "admin:write read:transactions user:read user:write write:settings",
			wantReasons: map[string]Reason{"read:transactions": Default, "admin:write": Default, "user:read": Implied}},
		{name: "RFC 6749 §3.3 no scope and no audience: the single API of the allowlist",
			in:      Input{App: app(model.PolicyStrict, "read:records", "openid")},
			wantAud: "api.health.example.com", wantGranted: "read:records"},
		{name: "RFC 6749 §3.3 no scope, allowlist spans two APIs → invalid_target",
			in: Input{App: app(model.PolicyStrict, bankApp...)}, wantErr: oautherr.InvalidTarget},
		{name: "RFC 6749 §3.3 no scope, nothing allowlisted for the audience → invalid_scope",
			in: Input{Audience: "api.health.example.com", App: app(model.PolicyStrict, bankApp...)}, wantErr: oautherr.InvalidScope},
		{name: "OIDC scope in a flow without a user is dropped",
			in:      Input{Scope: "openid read:transactions", App: app(model.PolicyStrict, "openid", "read:transactions")},
			wantAud: "api.banking.example.com", wantGranted: "read:transactions",
			wantReasons: map[string]Reason{"openid": NoUser}},
		{name: "user flow: not entitled is dropped, never an error (strict)",
			in: Input{Scope: "openid read:transactions write:settings", App: app(model.PolicyStrict, "openid", "read:transactions", "write:settings"),
				User: &User{Entitled: scope.New("read:transactions")}},
			wantAud: "api.banking.example.com", wantGranted: "openid read:transactions",
			wantReasons: map[string]Reason{"openid": Granted, "write:settings": NotEntitled}},
		{name: "user flow: OIDC and me:* scopes need no role",
			in: Input{Scope: "openid profile me:read", App: app(model.PolicyStrict, "openid", "profile", "me:read"),
				User: &User{}},
			wantAud: "https://example.test/t/banking/api/v1", wantGranted: "me:read openid profile"},
		{name: "user flow: unconsented scope dropped",
			in: Input{Scope: "openid read:transactions", App: app(model.PolicyStrict, "openid", "read:transactions"),
				User: &User{Entitled: scope.New("read:transactions")}, Consented: ptr(scope.New("openid"))},
			wantAud: "api.banking.example.com", wantGranted: "openid",
			wantReasons: map[string]Reason{"read:transactions": NotConsented}},
		{name: "RFC 6749 §6 refresh may narrow",
			in:      Input{Scope: "read:transactions", App: app(model.PolicyStrict, bankApp...), Ceiling: ptr(scope.New("read:transactions", "write:settings"))},
			wantAud: "api.banking.example.com", wantGranted: "read:transactions"},
		{name: "RFC 6749 §6 refresh may not widen, even when permissive",
			in: Input{Scope: "read:transactions write:settings", App: app(model.PolicyPermissive, bankApp...), Ceiling: ptr(scope.New("read:transactions"))}, wantErr: oautherr.InvalidScope,
			wantReasons: map[string]Reason{"write:settings": NotInGrant}},
		{name: "implied scope of another API is not added",
			in:      Input{Scope: "statements:export", App: app(model.PolicyStrict, "statements:export", "read:records")},
			wantAud: "api.banking.example.com", wantGranted: "statements:export",
			wantReasons: map[string]Reason{"statements:export": Granted, "read:records": ""}},
	}
	for _, c := range cases {
		// Each case twice: computing the allowance in Decide, and with it
		// precomputed as the catalog snapshot does (issue 12).
		for _, pre := range []bool{false, true} {
			name := c.name
			if pre {
				name += " (precomputed allowance)"
			}
			runDecideCase(t, name, reg, c.in, pre, c.wantErr, c.wantAud, c.wantGranted, c.wantReasons)
		}
	}
}

func runDecideCase(t *testing.T, name string, reg *Registry, in Input, pre bool, wantErr, wantAud, wantGranted string, wantReasons map[string]Reason) {
	t.Helper()
	c := struct {
		wantErr, wantAud, wantGranted string
		wantReasons                   map[string]Reason
	}{wantErr, wantAud, wantGranted, wantReasons}
	t.Run(name, func(t *testing.T) {
		in.Registry = reg
		if pre {
			in.Allowance = NewAllowance(reg, in.App)
		}
		d, err := Decide(in)
		if c.wantErr != "" {
			var oe *oautherr.Error
			if !errors.As(err, &oe) || oe.Code != c.wantErr {
				t.Fatalf("err = %v, want %s", err, c.wantErr)
			}
			if !d.Granted.Empty() {
				t.Fatalf("refused decision granted %q", d.Granted)
			}
		} else if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		if c.wantAud != "" && d.Audience.Identifier != c.wantAud {
			t.Errorf("audience = %q, want %q", d.Audience.Identifier, c.wantAud)
		}
		if c.wantErr == "" && d.Granted.String() != c.wantGranted {
			t.Errorf("granted = %q, want %q", d.Granted, c.wantGranted)
		}
		got := map[string]Reason{}
		for _, r := range d.Results {
			got[r.Scope] = r.Reason
			if r.Granted != (r.Reason == Granted || r.Reason == Implied || r.Reason == Default) {
				t.Errorf("%s: Granted=%v inconsistent with reason %s", r.Scope, r.Granted, r.Reason)
			}
		}
		for s, want := range c.wantReasons {
			if got[s] != want {
				t.Errorf("reason[%s] = %q, want %q (all: %v)", s, got[s], want, d.Results)
			}
		}
	})
}

// PRODUCT.md §2 step 6b: a scope that requires a second factor is
// dropped with step_up_required from a user flow whose sign-in passed
// none — also when it would come into the token by implication from a
// scope that does not require one (a resource server's plain includes()
// check would accept it there just the same). Client credentials have no
// user and are not affected.
func TestDecideStepUpRequired(t *testing.T) {
	apis := []model.API{{ID: model.PlatformAPIID, Identifier: "https://example.test/t/banking/api/v1", Platform: true},
		{ID: "bank", Identifier: "api.banking.example.com"}}
	scopes := append(model.PredefinedOIDCScopes(),
		model.Scope{Name: "read:transactions", Kind: model.KindCustom, APIID: "bank", Description: "read"},
		model.Scope{Name: "payments:approve", Kind: model.KindCustom, APIID: "bank", Description: "approve", RequiresMFA: true},
		model.Scope{Name: "payments:manage", Kind: model.KindCustom, APIID: "bank", Description: "manage", Implies: []string{"payments:approve"}},
	)
	reg := NewRegistry(scopes, apis)
	a := app(model.PolicyStrict, "openid", "read:transactions", "payments:approve", "payments:manage")
	all := scope.New("read:transactions", "payments:approve", "payments:manage")
	cases := []struct {
		name, scope string
		user        *User
		granted     string
		reasons     map[string]Reason
	}{
		{name: "password only: the scope is dropped", scope: "openid read:transactions payments:approve",
			user: &User{Entitled: all}, granted: "openid read:transactions",
			reasons: map[string]Reason{"payments:approve": StepUpRequired}},
		{name: "second factor passed: granted", scope: "openid read:transactions payments:approve",
			user: &User{Entitled: all, MFA: true}, granted: "openid payments:approve read:transactions",
			reasons: map[string]Reason{"payments:approve": Granted}},
		{name: "password only: not granted by implication either", scope: "openid payments:manage",
			user: &User{Entitled: all}, granted: "openid payments:manage",
			reasons: map[string]Reason{"payments:manage": Granted, "payments:approve": StepUpRequired}},
		{name: "second factor passed: implied", scope: "openid payments:manage",
			user: &User{Entitled: all, MFA: true}, granted: "openid payments:approve payments:manage",
			reasons: map[string]Reason{"payments:manage": Granted, "payments:approve": Implied}},
		{name: "client credentials: no user, not affected", scope: "payments:approve payments:manage",
			granted: "payments:approve payments:manage",
			reasons: map[string]Reason{"payments:approve": Granted, "payments:manage": Granted}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Decide(Input{Scope: c.scope, App: a, Registry: reg, User: c.user})
			if err != nil {
				t.Fatal(err)
			}
			if d.Granted.String() != c.granted {
				t.Errorf("granted = %q, want %q", d.Granted, c.granted)
			}
			got := map[string]Reason{}
			for _, r := range d.Results {
				got[r.Scope] = r.Reason
				if r.Granted != (r.Reason == Granted || r.Reason == Implied || r.Reason == Default) {
					t.Errorf("%s: Granted=%v inconsistent with reason %s", r.Scope, r.Granted, r.Reason)
				}
			}
			for s, want := range c.reasons {
				if got[s] != want {
					t.Errorf("reason[%s] = %q, want %q (all: %v)", s, got[s], want, d.Results)
				}
			}
		})
	}
}

func TestDecideRefusalNamesOffendingScopes(t *testing.T) {
	_, err := Decide(Input{Scope: "read:transactions payments:approve nope", Registry: fixture(), App: app(model.PolicyStrict, "read:transactions")})
	var oe *oautherr.Error
	if !errors.As(err, &oe) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(oe.Description, "payments:approve") || !strings.Contains(oe.Description, "nope") || strings.Contains(oe.Description, "read:transactions") {
		t.Errorf("description %q should name exactly the offending scopes", oe.Description)
	}
}

func TestDroppedAndEveryRequestedScopeHasAReason(t *testing.T) {
	d, err := Decide(Input{Scope: "read:transactions payments:approve nope admin:write", Registry: fixture(),
		App: app(model.PolicyPermissive, "read:transactions", "admin:write")})
	if err != nil {
		t.Fatal(err)
	}
	for n := range d.Requested.All() {
		found := false
		for _, r := range d.Results {
			found = found || r.Scope == n
		}
		if !found {
			t.Errorf("requested %s has no reason", n)
		}
	}
	if got := len(d.Dropped()); got != 2 {
		t.Errorf("dropped = %v, want 2", d.Dropped())
	}
}

// BenchmarkDecide is the token path's decision: the allowance precomputed,
// as the catalog snapshot holds it.
func BenchmarkDecide(b *testing.B) {
	reg := fixture()
	in := Input{Scope: "read:transactions write:settings", Registry: reg, App: app(model.PolicyStrict, "read:transactions", "write:settings", "users:read")}
	in.Allowance = NewAllowance(reg, in.App)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decide(in); err != nil {
			b.Fatal(err)
		}
	}
}
