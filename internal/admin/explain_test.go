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
