package admin

import (
	"errors"
	"slices"
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// TestUserConsentsByAnAdmin: an admin lists any user's consents (by ID,
// username or email) and withdraws one on the user's behalf: the consent
// goes, with that application's refresh-token families of that user and
// nothing else, in one consent.revoked event whose actor is the admin and
// whose subject is the user (no "via": that marks the user's own).
func TestUserConsentsByAnAdmin(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	alice, bob, _ := f.people(t)
	f.webApps(t, "web", "shop")
	for _, c := range []struct{ user, client string }{{alice.ID, "web"}, {alice.ID, "shop"}, {bob.ID, "web"}} {
		if _, err := f.st.Consents().Grant(ctx, "acme", c.user, c.client, []string{"openid", "read:tx"}); err != nil {
			t.Fatal(err)
		}
	}
	aliceWeb, aliceShop, bobWeb := f.refresh(t, alice.ID, "web"), f.refresh(t, alice.ID, "shop"), f.refresh(t, bob.ID, "web")
	admin := Actor{Type: model.ActorUser, ID: "usr_admin", Via: "console", Scopes: []string{"users:read", "users:write"}}

	for _, ref := range []string{alice.ID, "alice", "ALICE"} {
		cs, err := f.svc.UserConsents(ctx, admin, "acme", ref)
		if err != nil || len(cs) != 2 || cs[0].ClientID != "shop" || cs[1].ClientID != "web" || cs[1].Application != "App web" ||
			!slices.Equal(cs[1].Scopes, []string{"openid", "read:tx"}) {
			t.Fatalf("consents of %s = %+v, %v", ref, cs, err)
		}
	}
	if _, err := f.svc.UserConsents(ctx, admin, "acme", "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("consents of an unknown user: %v", err)
	}

	if err := f.svc.RevokeUserConsent(ctx, admin, "acme", "alice", "web"); err != nil {
		t.Fatal(err)
	}
	ev := f.lastEvent(t, "acme")
	d := details(t, ev)
	if ev.Type != model.EventConsentRevoked || ev.ClientID != "web" || ev.Subject != alice.ID || ev.ActorID != "usr_admin" ||
		ev.ActorType != model.ActorUser || d["refresh_families_revoked"] != 1.0 || d["via_client"] != "console" || d["via"] != nil ||
		!slices.Equal(ev.Scopes, []string{"openid", "read:tx"}) {
		t.Fatalf("event = %+v %s", ev, ev.Details)
	}
	revoked := func(rt model.RefreshToken) bool {
		got, err := f.st.RefreshTokens().Get(ctx, "acme", rt.Hash)
		if err != nil {
			t.Fatal(err)
		}
		return got.Revoked
	}
	if !revoked(aliceWeb) || revoked(aliceShop) || revoked(bobWeb) {
		t.Fatalf("revoked: alice/web %v alice/shop %v bob/web %v; want only alice's web family", revoked(aliceWeb), revoked(aliceShop), revoked(bobWeb))
	}
	if _, err := f.st.Consents().Get(ctx, "acme", bob.ID, "web"); err != nil {
		t.Fatalf("bob's consent: %v", err)
	}
	if cs, err := f.svc.UserConsents(ctx, admin, "acme", "alice"); err != nil || len(cs) != 1 || cs[0].ClientID != "shop" {
		t.Fatalf("left: %+v, %v", cs, err)
	}

	// Nothing to withdraw, or nobody to withdraw it from: not found, and
	// nothing written.
	n := len(f.events(t, "acme"))
	if err := f.svc.RevokeUserConsent(ctx, admin, "acme", "alice", "web"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoked twice: %v", err)
	}
	if err := f.svc.RevokeUserConsent(ctx, admin, "acme", "ghost", "shop"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an unknown user's consent: %v", err)
	}
	f.unchanged(t, "acme", n)

	// The user's own withdrawal still says so.
	if err := f.svc.RevokeMyConsent(ctx, Actor{Type: model.ActorUser, ID: alice.ID}, "acme", "shop"); err != nil {
		t.Fatal(err)
	}
	if d := details(t, f.lastEvent(t, "acme")); d["via"] != "me/consents" {
		t.Fatalf("the user's own withdrawal: %v", d)
	}
}
