package admin

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/internal/store"
)

func reasons(ex Explanation) map[string]policy.Reason {
	out := map[string]policy.Reason{}
	for _, r := range ex.Results {
		out[r.Scope] = r.Reason
	}
	return out
}

// PRODUCT.md §2 steps 5 and 6: with a user, the explanation drops what the
// user is not entitled to and what they have not consented to, with those
// reasons, as the token endpoint would.
func TestExplainForUserEntitlementAndConsent(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	if _, err := f.svc.CreateRole(ctx, f.actor, "acme", RoleInput{Name: "teller", Scopes: []string{"read:tx"}}); err != nil {
		t.Fatal(err)
	}
	alice := f.user(t, "alice", "teller")
	for _, in := range []ApplicationInput{
		{ClientID: "web", Type: model.AppWeb, RedirectURIs: []string{"https://web.example.com/cb"},
			AllowedScopes: []string{"openid", "profile", "read:tx", "write:tx"}, Consent: model.ConsentRequired},
		{ClientID: "first-party", Type: model.AppWeb, RedirectURIs: []string{"https://fp.example.com/cb"},
			AllowedScopes: []string{"openid", "profile", "read:tx", "write:tx"}, Consent: model.ConsentImplicit},
	} {
		if _, err := f.svc.CreateApplication(ctx, f.actor, "acme", in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.st.Consents().Grant(ctx, "acme", alice.ID, "web", []string{"openid", "read:tx", "write:tx"}); err != nil {
		t.Fatal(err)
	}
	n := len(f.events(t, "acme"))
	const req = "openid profile read:tx write:tx"

	ex, err := f.svc.ExplainFor(ctx, f.actor, "acme", ExplainInput{ClientID: "web", Audience: "api.bank.example", Scope: req, User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]policy.Reason{"openid": policy.Granted, "profile": policy.NotConsented, "read:tx": policy.Granted, "write:tx": policy.NotEntitled}
	if got := reasons(ex); !maps.Equal(got, want) || !slices.Equal(ex.Granted, []string{"openid", "read:tx"}) || ex.Error != nil {
		t.Fatalf("reasons %v granted %v, want %v", got, ex.Granted, want)
	}
	if u := ex.User; u == nil || u.ID != alice.ID || u.Username != "alice" || u.Status != model.UserActive || u.Consent != model.ConsentRequired ||
		!slices.Equal(u.Entitled, []string{"read:tx"}) || !slices.Equal(u.Consented, []string{"openid", "read:tx", "write:tx"}) {
		t.Fatalf("user = %+v", ex.User)
	}

	// Implicit consent: only entitlement drops; the user is found by email.
	ex, err = f.svc.ExplainFor(ctx, f.actor, "acme", ExplainInput{ClientID: "first-party", Audience: "api.bank.example", Scope: req, User: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]policy.Reason{"openid": policy.Granted, "profile": policy.Granted, "read:tx": policy.Granted, "write:tx": policy.NotEntitled}
	if got := reasons(ex); !maps.Equal(got, want) || ex.User.Consented != nil || ex.User.Consent != model.ConsentImplicit {
		t.Fatalf("implicit consent: reasons %v user %+v", got, ex.User)
	}

	// Without a user it is the client-credentials decision, as before.
	ex, err = f.svc.Explain(ctx, f.actor, "acme", "web", "api.bank.example", "openid read:tx")
	if err != nil {
		t.Fatal(err)
	}
	if got := reasons(ex); got["openid"] != policy.NoUser || got["read:tx"] != policy.Granted || ex.User != nil {
		t.Fatalf("no user: %v %+v", got, ex.User)
	}

	if _, err := f.svc.ExplainFor(ctx, f.actor, "acme", ExplainInput{ClientID: "web", Scope: "openid", User: "nobody"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	f.unchanged(t, "acme", n)
}

// TestExplainTokenSize: an explanation that would issue a token carries the
// size of that token, minted with the tenant's keys (a signature of the
// API's algorithm: an RS256 token is longer than an ES256 one), smaller for
// fewer scopes, and weighed against the API's budget when it has one. A
// refused request, a user's request that keeps no scope, and a service
// without the master key have no size. Explaining writes nothing.
func TestExplainTokenSize(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	if _, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "job", Type: model.AppM2M,
		AllowedScopes: []string{"read:tx", "write:tx", "read:records"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateApplication(ctx, f.actor, "acme", ApplicationInput{ClientID: "web", Type: model.AppWeb,
		RedirectURIs: []string{"https://web.example.com/cb"}, AllowedScopes: []string{"openid", "read:tx"}, Consent: model.ConsentImplicit}); err != nil {
		t.Fatal(err)
	}
	f.user(t, "bob")
	n := len(f.events(t, "acme"))
	explain := func(svc *Service, in ExplainInput) Explanation {
		t.Helper()
		ex, err := svc.ExplainFor(ctx, f.actor, "acme", in)
		if err != nil {
			t.Fatal(err)
		}
		return ex
	}

	read := explain(f.svc, ExplainInput{ClientID: "job", Audience: "api.bank.example", Scope: "read:tx"})
	write := explain(f.svc, ExplainInput{ClientID: "job", Audience: "api.bank.example", Scope: "write:tx"}) // implies read:tx
	records := explain(f.svc, ExplainInput{ClientID: "job", Audience: "api.health.example", Scope: "read:records"})
	if read.TokenSize <= 0 || write.TokenSize <= read.TokenSize {
		t.Errorf("token_size read:tx %d, write:tx (+ read:tx) %d: want 0 < read < write", read.TokenSize, write.TokenSize)
	}
	// RFC 7518 §3.3, §3.4: an RS256 signature (2048-bit key, 256 bytes) is
	// longer than an ES256 one (64 bytes).
	if records.TokenSize < read.TokenSize+150 {
		t.Errorf("RS256 token %d bytes, ES256 token %d bytes: the RS256 signature is not in it", records.TokenSize, read.TokenSize)
	}
	if read.TokenSizeBudget != 0 || read.OverBudget != nil {
		t.Errorf("no budget: %d %v", read.TokenSizeBudget, read.OverBudget)
	}

	budget := read.TokenSize
	if _, err := f.svc.UpdateAPI(ctx, f.actor, "acme", "bank", APIUpdate{TokenSizeBudget: &budget}); err != nil {
		t.Fatal(err)
	}
	n++
	if ex := explain(f.svc, ExplainInput{ClientID: "job", Audience: "api.bank.example", Scope: "read:tx"}); ex.TokenSizeBudget != budget || ex.OverBudget == nil || *ex.OverBudget {
		t.Errorf("at the budget: %+v", ex)
	}
	if ex := explain(f.svc, ExplainInput{ClientID: "job", Audience: "api.bank.example", Scope: "write:tx"}); ex.OverBudget == nil || !*ex.OverBudget {
		t.Errorf("over the budget: %+v", ex)
	}

	if ex := explain(f.svc, ExplainInput{ClientID: "job", Audience: "api.bank.example", Scope: "read:records"}); ex.Error == nil || ex.TokenSize != 0 || ex.OverBudget != nil {
		t.Errorf("refused: %+v", ex)
	}
	// bob holds no role: read:tx is not_entitled, openid alone stays —
	// granted; with only read:tx asked, nothing stays and the code grant
	// would issue nothing.
	if ex := explain(f.svc, ExplainInput{ClientID: "web", Scope: "read:tx", Audience: "api.bank.example", User: "bob"}); len(ex.Granted) != 0 || ex.TokenSize != 0 {
		t.Errorf("a user's request that keeps no scope: %+v", ex)
	}
	if ex := explain(f.svc, ExplainInput{ClientID: "web", Scope: "openid read:tx", Audience: "api.bank.example", User: "bob"}); ex.TokenSize <= 0 {
		t.Errorf("a user's request that keeps openid: %+v", ex)
	}
	noKey := &Service{Store: f.st, Now: f.clock.Now}
	if ex := explain(noKey, ExplainInput{ClientID: "job", Audience: "api.bank.example", Scope: "read:tx"}); ex.TokenSize != 0 || len(ex.Granted) != 1 {
		t.Errorf("without the master key: %+v", ex)
	}
	f.unchanged(t, "acme", n)
}
