package admin

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/password"
	"github.com/intelliauth/intelliauth/internal/store"
)

// people creates alice and bob and returns them with alice's actor.
// people makes alice and bob; as is alice acting with a sign-in that
// passed a second factor (the factor use-cases need one once she has a
// factor: TestFactorChangesNeedASecondFactorSignIn).
func (f *fixture) people(t *testing.T) (alice, bob model.User, as Actor) {
	t.Helper()
	alice, bob = f.user(t, "alice"), f.user(t, "bob")
	return alice, bob, Actor{Type: model.ActorUser, ID: alice.ID, AMR: []string{model.AMRPassword, model.AMROTP, model.AMRMulti}}
}

func TestMeRefusesWhoIsNotAnActiveUser(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	alice, _, as := f.people(t)
	client := Actor{Type: model.ActorClient, ID: "m2m"}
	ghost := Actor{Type: model.ActorUser, ID: "usr_ghost"}
	for name, call := range map[string]func(Actor) error{
		"MyProfile": func(a Actor) error { _, err := f.svc.MyProfile(ctx, a, "acme"); return err },
		"UpdateMyProfile": func(a Actor) error {
			n := "X"
			_, err := f.svc.UpdateMyProfile(ctx, a, "acme", ProfileUpdate{Name: &n})
			return err
		},
		"ChangeMyPassword": func(a Actor) error {
			return f.svc.ChangeMyPassword(ctx, a, "acme", PasswordChange{Current: testPassword, New: "a brand new passphrase"})
		},
		"MyConsents":          func(a Actor) error { _, err := f.svc.MyConsents(ctx, a, "acme"); return err },
		"RevokeMyConsent":     func(a Actor) error { return f.svc.RevokeMyConsent(ctx, a, "acme", "web") },
		"RevokeAllMyConsents": func(a Actor) error { _, err := f.svc.RevokeAllMyConsents(ctx, a, "acme"); return err },
		"MySessions":          func(a Actor) error { _, err := f.svc.MySessions(ctx, a, "acme"); return err },
		"EndMySession":        func(a Actor) error { return f.svc.EndMySession(ctx, a, "acme", "x") },
		"EndAllMySessions":    func(a Actor) error { _, err := f.svc.EndAllMySessions(ctx, a, "acme"); return err },
	} {
		t.Run(name, func(t *testing.T) {
			if err := call(client); !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "client") {
				t.Errorf("a client: %v, want ErrForbidden", err)
			}
			if err := call(ghost); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("a user that does not exist: %v, want ErrNotFound", err)
			}
			if err := call(Actor{Type: model.ActorUser}); !errors.Is(err, model.ErrInvalid) {
				t.Errorf("no actor ID: %v", err)
			}
		})
	}
	if _, err := f.svc.MyProfile(ctx, as, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown tenant: %v", err)
	}
	if _, err := f.svc.DisableUser(ctx, f.actor, "acme", alice.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.MyProfile(ctx, as, "acme"); !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("a disabled user: %v", err)
	}
}

func TestUpdateMyProfile(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	alice, bob, as := f.people(t)
	// Verified by an admin first, so the reset shows.
	yes := true
	if _, err := f.svc.UpdateUser(ctx, f.actor, "acme", alice.ID, UserUpdate{EmailVerified: &yes, PhoneNumber: ptr("+44 20 7946 0000"), PhoneNumberVerified: &yes}); err != nil {
		t.Fatal(err)
	}
	me, err := f.svc.MyProfile(ctx, as, "acme")
	if err != nil || me.ID != alice.ID || !me.EmailVerified {
		t.Fatalf("profile = %+v, %v", me, err)
	}
	got, err := f.svc.UpdateMyProfile(ctx, as, "acme", ProfileUpdate{Name: ptr("Alice Liddell"), Locale: ptr("en-GB"),
		Address: &model.Address{Locality: "Oxford", Country: "GB"}, Version: me.Version})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Alice Liddell" || got.Locale != "en-GB" || got.Address.Locality != "Oxford" || !got.EmailVerified || !got.PhoneNumberVerified || got.Username != "alice" {
		t.Fatalf("after = %+v", got)
	}
	ev := f.lastEvent(t, "acme")
	if ev.Type != model.EventUserUpdated || ev.ActorType != model.ActorUser || ev.ActorID != alice.ID || ev.Subject != alice.ID || details(t, ev)["via"] != "me/profile" {
		t.Fatalf("event = %+v %s", ev, ev.Details)
	}
	// A new email or phone number is no longer verified.
	got, err = f.svc.UpdateMyProfile(ctx, as, "acme", ProfileUpdate{Email: ptr("alice@liddell.example"), PhoneNumber: ptr("+44 1865 000000")})
	if err != nil || got.EmailVerified || got.PhoneNumberVerified || got.Email != "alice@liddell.example" {
		t.Fatalf("email change = %+v, %v", got, err)
	}
	n := len(f.events(t, "acme"))
	// Nothing changes, nothing is written.
	if _, err := f.svc.UpdateMyProfile(ctx, as, "acme", ProfileUpdate{Name: ptr("Alice Liddell")}); err != nil {
		t.Fatal(err)
	}
	// Bad input, a taken email, a stale version: refused, nothing written.
	_, err = f.svc.UpdateMyProfile(ctx, as, "acme", ProfileUpdate{Email: ptr("not an address"), Name: ptr(strings.Repeat("x", 600))})
	wantInvalid(t, err, "email", "name")
	if _, err := f.svc.UpdateMyProfile(ctx, as, "acme", ProfileUpdate{Email: ptr(strings.ToUpper(bob.Email))}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("bob's email: %v", err)
	}
	if _, err := f.svc.UpdateMyProfile(ctx, as, "acme", ProfileUpdate{Name: ptr("A"), Version: 1}); !errors.Is(err, store.ErrPrecondition) {
		t.Fatalf("stale version: %v", err)
	}
	f.unchanged(t, "acme", n)
	if b, _ := f.st.Users().Get(ctx, "acme", bob.ID); b.Email != bob.Email || b.Name != bob.Name {
		t.Fatalf("bob changed: %+v", b)
	}
}

func ptr[T any](v T) *T { return &v }

func TestChangeMyPassword(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	alice, bob, as := f.people(t)
	const next = "a brand new passphrase"
	n := len(f.events(t, "acme"))

	// Bad input is refused before anything is counted.
	err := f.svc.ChangeMyPassword(ctx, as, "acme", PasswordChange{New: "short"})
	wantInvalid(t, err, "current_password", "new_password", "at least")
	err = f.svc.ChangeMyPassword(ctx, as, "acme", PasswordChange{Current: testPassword, New: testPassword})
	wantInvalid(t, err, "new_password", "differ")
	f.unchanged(t, "acme", n)
	if th, _ := f.st.Throttles().Get(ctx, "acme", "user:"+alice.ID); th.Failures != 0 {
		t.Fatalf("bad input was counted: %+v", th)
	}

	// A wrong current password: a field error and a login.failed event.
	err = f.svc.ChangeMyPassword(ctx, as, "acme", PasswordChange{Current: "not my password", New: next})
	wantInvalid(t, err, "current_password", "not your current password")
	ev := f.lastEvent(t, "acme")
	if ev.Type != model.EventLoginFailed || ev.Subject != alice.ID || details(t, ev)["via"] != "me/password" {
		t.Fatalf("event = %+v %s", ev, ev.Details)
	}

	// The right one, with sign-out of every session.
	f.webApps(t, "web")
	f.session(t, alice.ID, time.Hour)
	f.refresh(t, alice.ID, "web")
	if err := f.svc.ChangeMyPassword(ctx, as, "acme", PasswordChange{Current: testPassword, New: next, SignOut: true}); err != nil {
		t.Fatal(err)
	}
	u, _ := f.st.Users().Get(ctx, "acme", alice.ID)
	if ok, _ := password.Verify(u.PasswordHash, next); !ok {
		t.Fatal("the new password does not verify")
	}
	ev = f.lastEvent(t, "acme")
	d := details(t, ev)
	if ev.Type != model.EventUserPasswordSet || ev.ActorID != alice.ID || d["sessions_ended"] != 1.0 || d["refresh_families_revoked"] != 1.0 ||
		strings.Contains(string(ev.Details), next) || strings.Contains(string(ev.Details), testPassword) {
		t.Fatalf("event = %+v %s", ev, ev.Details)
	}
	if ss, _ := f.st.Sessions().ListByUser(ctx, "acme", alice.ID); len(ss) != 0 {
		t.Fatalf("sessions left: %d", len(ss))
	}
	if th, _ := f.st.Throttles().Get(ctx, "acme", "user:"+alice.ID); th.Failures != 0 {
		t.Fatalf("success must clear the throttle: %+v", th)
	}
	// Bob's password is untouched.
	if b, _ := f.st.Users().Get(ctx, "acme", bob.ID); b.PasswordHash != bob.PasswordHash {
		t.Fatal("bob's password changed")
	}
}

// OWASP Authentication Cheat Sheet: guesses at the current password are
// throttled with the login page's per-account budget; once locked, even the
// right password is refused until the lock ends.
func TestChangeMyPasswordThrottled(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	f.svc.PasswordThrottle = PasswordThrottle{MaxFailures: 3, Window: time.Hour, LockFor: 10 * time.Minute}
	alice, _, as := f.people(t)
	const next = "a brand new passphrase"
	for i := range 3 {
		err := f.svc.ChangeMyPassword(ctx, as, "acme", PasswordChange{Current: "guess", New: next})
		wantInvalid(t, err, "current_password")
		if i == 2 {
			if th, _ := f.st.Throttles().Get(ctx, "acme", "user:"+alice.ID); !th.LockedUntil.After(f.clock.Now()) {
				t.Fatalf("the third failure must lock: %+v", th)
			}
		}
	}
	err := f.svc.ChangeMyPassword(ctx, as, "acme", PasswordChange{Current: testPassword, New: next})
	var te *ThrottledError
	if !errors.As(err, &te) || !errors.Is(err, ErrThrottled) || !te.Until.After(f.clock.Now()) {
		t.Fatalf("locked: %v", err)
	}
	f.clock.Advance(11 * time.Minute)
	if err := f.svc.ChangeMyPassword(ctx, as, "acme", PasswordChange{Current: testPassword, New: next}); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
}

// session stores a browser session of the user expiring after ttl and
// returns it.
func (f *fixture) session(t *testing.T, userID string, ttl time.Duration) model.Session {
	t.Helper()
	now := f.clock.Now()
	id, _ := randomID("ses", 16)
	s := model.Session{TenantID: "acme", ID: id, UserID: userID, AuthTime: now, ExpiresAt: now.Add(ttl), CreatedAt: now,
		UserAgent: "curl/8", IP: "192.0.2.7"}
	if err := f.st.Sessions().Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// refresh stores a live refresh-token family of the user for the client.
func (f *fixture) refresh(t *testing.T, userID, clientID string) model.RefreshToken {
	t.Helper()
	now := f.clock.Now()
	h, _ := randomID("rt", 16)
	fam, _ := randomID("fam", 8)
	rt := model.RefreshToken{TenantID: "acme", Hash: h, FamilyID: fam, ClientID: clientID, UserID: userID, Scopes: []string{"openid", "offline_access"},
		Audience: "api.bank.example", AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(24 * time.Hour)}
	if err := f.st.RefreshTokens().Create(t.Context(), rt); err != nil {
		t.Fatal(err)
	}
	return rt
}

func (f *fixture) webApps(t *testing.T, clientIDs ...string) {
	t.Helper()
	for _, id := range clientIDs {
		if _, err := f.svc.CreateApplication(t.Context(), f.actor, "acme", ApplicationInput{ClientID: id, Name: "App " + id, Type: model.AppWeb,
			RedirectURIs: []string{"https://" + id + ".example.com/cb"}, AllowedScopes: []string{"openid", "read:tx"}}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMyConsents(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	alice, bob, as := f.people(t)
	f.webApps(t, "web", "shop")
	for _, c := range []struct {
		user   string
		client string
	}{{alice.ID, "web"}, {alice.ID, "shop"}, {bob.ID, "web"}} {
		if _, err := f.st.Consents().Grant(ctx, "acme", c.user, c.client, []string{"openid", "read:tx"}); err != nil {
			t.Fatal(err)
		}
	}
	aliceWeb, aliceShop, bobWeb := f.refresh(t, alice.ID, "web"), f.refresh(t, alice.ID, "shop"), f.refresh(t, bob.ID, "web")

	cs, err := f.svc.MyConsents(ctx, as, "acme")
	if err != nil || len(cs) != 2 || cs[0].ClientID != "shop" || cs[1].ClientID != "web" || cs[1].Application != "App web" ||
		!slices.Equal(cs[1].Scopes, []string{"openid", "read:tx"}) {
		t.Fatalf("consents = %+v, %v", cs, err)
	}

	if err := f.svc.RevokeMyConsent(ctx, as, "acme", "web"); err != nil {
		t.Fatal(err)
	}
	ev := f.lastEvent(t, "acme")
	if ev.Type != model.EventConsentRevoked || ev.ClientID != "web" || ev.Subject != alice.ID || ev.ActorID != alice.ID ||
		details(t, ev)["refresh_families_revoked"] != 1.0 {
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
	n := len(f.events(t, "acme"))
	if err := f.svc.RevokeMyConsent(ctx, as, "acme", "web"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoked twice: %v", err)
	}
	f.unchanged(t, "acme", n)

	k, err := f.svc.RevokeAllMyConsents(ctx, as, "acme")
	if err != nil || k != 1 || !revoked(aliceShop) || revoked(bobWeb) {
		t.Fatalf("revoke all = %d, %v", k, err)
	}
	if cs, _ := f.svc.MyConsents(ctx, as, "acme"); len(cs) != 0 {
		t.Fatalf("left: %+v", cs)
	}
	if k, err := f.svc.RevokeAllMyConsents(ctx, as, "acme"); err != nil || k != 0 {
		t.Fatalf("nothing left to revoke = %d, %v", k, err)
	}
}

func TestMySessions(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	alice, bob, as := f.people(t)
	old := f.session(t, alice.ID, time.Hour)
	f.clock.Advance(time.Minute)
	cur := f.session(t, alice.ID, time.Hour)
	expired := f.session(t, alice.ID, time.Millisecond)
	bobs := f.session(t, bob.ID, time.Hour)
	f.clock.Advance(time.Second)

	ss, err := f.svc.MySessions(ctx, as, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 2 || ss[0].ID != SessionSID(cur.ID) || ss[1].ID != SessionSID(old.ID) || ss[0].UserAgent != "curl/8" || ss[0].LastSeen.IsZero() {
		t.Fatalf("sessions = %+v", ss)
	}
	for _, s := range ss {
		if s.ID == old.ID || s.ID == cur.ID {
			t.Fatal("a session's stored ID (the cookie's hash) must not be shown")
		}
	}
	n := len(f.events(t, "acme"))
	// Bob's session, an expired one, a stored ID, garbage: all not found.
	for _, id := range []string{SessionSID(bobs.ID), SessionSID(expired.ID), cur.ID, "nope"} {
		if err := f.svc.EndMySession(ctx, as, "acme", id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("EndMySession(%q) = %v, want ErrNotFound", id, err)
		}
	}
	f.unchanged(t, "acme", n)
	if _, err := f.st.Sessions().Get(ctx, "acme", bobs.ID); err != nil {
		t.Fatalf("bob's session: %v", err)
	}

	if err := f.svc.EndMySession(ctx, as, "acme", SessionSID(old.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Sessions().Get(ctx, "acme", old.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ended session: %v", err)
	}
	ev := f.lastEvent(t, "acme")
	if ev.Type != model.EventLogout || ev.Subject != alice.ID || details(t, ev)["sid"] != SessionSID(old.ID) {
		t.Fatalf("event = %+v %s", ev, ev.Details)
	}

	k, err := f.svc.EndAllMySessions(ctx, as, "acme")
	if err != nil || k != 1 {
		t.Fatalf("end all = %d, %v", k, err)
	}
	if left, _ := f.st.Sessions().ListByUser(ctx, "acme", alice.ID); len(left) != 0 {
		t.Fatalf("left: %+v (the expired one goes too)", left)
	}
	if _, err := f.st.Sessions().Get(ctx, "acme", bobs.ID); err != nil {
		t.Fatalf("bob's session: %v", err)
	}
	n = len(f.events(t, "acme"))
	if k, err := f.svc.EndAllMySessions(ctx, as, "acme"); err != nil || k != 0 {
		t.Fatalf("none left = %d, %v", k, err)
	}
	f.unchanged(t, "acme", n)
}
