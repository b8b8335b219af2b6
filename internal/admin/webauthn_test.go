package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/mfa"
	"github.com/intelliauth/intelliauth/internal/mfa/mfatest"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// The fixture's tenant "acme" is served at http://localhost:8080/t/acme.
const (
	passkeyOrigin = "http://localhost:8080"
	passkeyRPID   = "localhost"
)

// registerPasskey runs a whole registration of a for the actor and returns
// the answer.
func (f *fixture) registerPasskey(t *testing.T, as Actor, a *mfatest.Authenticator, name string) PasskeyRegistration {
	t.Helper()
	opts, id, err := f.svc.BeginPasskeyRegistration(t.Context(), as, "acme")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Register(opts)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := f.svc.FinishPasskeyRegistration(t.Context(), as, "acme", id, name, resp)
	if err != nil {
		t.Fatalf("FinishPasskeyRegistration: %v", err)
	}
	return reg
}

// refusedFor asserts err is a PasskeyError with that reason and returns it.
func refusedFor(t *testing.T, err error, reason string) *PasskeyError {
	t.Helper()
	var pe *PasskeyError
	if !errors.As(err, &pe) || pe.Reason != reason {
		t.Fatalf("want a passkey refusal %s, got %v", reason, err)
	}
	var ve *model.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Message == "" {
		t.Fatalf("a refusal carries no sentence for the user: %v", err)
	}
	return pe
}

func TestRegisterPasskeyStoresTheCredentialAndAuditsWithoutKeyMaterial(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	alice, _, as := f.people(t)
	key := mfatest.NewAuthenticator(passkeyOrigin, passkeyRPID)

	opts, id, err := f.svc.BeginPasskeyRegistration(ctx, as, "acme")
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		PublicKey struct {
			RP   struct{ ID, Name string }
			User struct{ Name string }
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(opts, &o); err != nil || o.PublicKey.RP.ID != "localhost" || o.PublicKey.RP.Name != "Acme" || o.PublicKey.User.Name != "alice" {
		t.Fatalf("WebAuthn §5.4 creation options: RP %+v user %+v (%v), want the issuer's host, the tenant's name, alice", o.PublicKey.RP, o.PublicKey.User, err)
	}
	now := f.clock.Now() // (the fixture's clock ticks a millisecond a reading)
	c, err := f.st.Factors().TakeChallenge(ctx, "acme", id, now)
	if ttl := c.ExpiresAt.Sub(now); err != nil || c.UserID != alice.ID || c.Purpose != PurposeRegister || ttl <= 4*time.Minute || ttl > 5*time.Minute {
		t.Fatalf("stored challenge %s %s for %v (%v), want alice's, register, 5 minutes", c.UserID, c.Purpose, ttl, err)
	}
	// (Taken above: start again.)
	opts, id, err = f.svc.BeginPasskeyRegistration(ctx, as, "acme")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := key.Register(opts)
	if err != nil {
		t.Fatal(err)
	}
	before := len(f.events(t, "acme"))
	// A bad name is refused before the ceremony is spent.
	if _, err := f.svc.FinishPasskeyRegistration(ctx, as, "acme", id, "   ", resp); !errors.Is(err, model.ErrInvalid) {
		t.Fatalf("empty name: %v", err)
	}
	reg, err := f.svc.FinishPasskeyRegistration(ctx, as, "acme", id, "  YubiKey  ", resp)
	if err != nil {
		t.Fatal(err)
	}
	if reg.Factor.Type != model.FactorWebAuthn || reg.Factor.Name != "YubiKey" || !reg.Factor.Confirmed || !strings.HasPrefix(reg.Factor.ID, "mfa_") {
		t.Fatalf("factor %+v", reg.Factor)
	}
	if len(reg.RecoveryCodes) != 10 {
		t.Fatalf("a first factor comes with 10 recovery codes, got %d", len(reg.RecoveryCodes))
	}
	stored, err := f.st.Factors().Get(ctx, "acme", alice.ID, reg.Factor.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.CredentialID == "" || len(stored.Credential) == 0 || stored.Counter != 1 || len(stored.Secret) != 0 {
		t.Fatalf("stored factor %+v", stored)
	}
	evs := f.events(t, "acme")[before:]
	if len(evs) != 1 || evs[0].Type != model.EventMFAEnrolled || evs[0].Subject != alice.ID || evs[0].ActorID != alice.ID {
		t.Fatalf("events %+v, want one mfa.enrolled by and about alice", evs)
	}
	d := details(t, evs[0])
	if d["type"] != "webauthn" || d["name"] != "YubiKey" || d["factor_id"] != reg.Factor.ID {
		t.Errorf("mfa.enrolled details %v", d)
	}
	if bytes.Contains(evs[0].Details, []byte(stored.CredentialID)) || bytes.Contains(evs[0].Details, []byte("publicKey")) || bytes.Contains(evs[0].Details, []byte("public_key")) {
		t.Errorf("mfa.enrolled holds key material: %s", evs[0].Details)
	}

	// The same answer again: the ceremony was taken once.
	_, err = f.svc.FinishPasskeyRegistration(ctx, as, "acme", id, "Again", resp)
	refusedFor(t, err, ReasonExpiredChallenge)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a replayed ceremony is not store.ErrNotFound: %v", err)
	}
	// The same authenticator is excluded from a new registration (WebAuthn
	// §5.4 excludeCredentials); another one is a second factor, without a
	// new set of recovery codes.
	opts, _, err = f.svc.BeginPasskeyRegistration(ctx, as, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := key.Register(opts); err == nil || !strings.Contains(err.Error(), "excluded") {
		t.Fatalf("the registered key was not excluded: %v", err)
	}
	second := f.registerPasskey(t, as, mfatest.NewAuthenticator(passkeyOrigin, passkeyRPID), "Phone")
	if len(second.RecoveryCodes) != 0 {
		t.Errorf("a second factor replaced the recovery codes")
	}
}

func TestRegisterPasskeyRefusesAForeignOrStaleCeremony(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	_, bob, as := f.people(t)
	asBob := Actor{Type: model.ActorUser, ID: bob.ID}

	cases := map[string]struct {
		key   *mfatest.Authenticator
		setup func(id string)
		as    Actor
		want  string
	}{
		"another user's ceremony": {
			key: mfatest.NewAuthenticator(passkeyOrigin, passkeyRPID), as: asBob, want: ReasonExpiredChallenge,
		},
		"expired (5 minutes)": {
			key: mfatest.NewAuthenticator(passkeyOrigin, passkeyRPID), as: as, want: ReasonExpiredChallenge,
			setup: func(string) { f.clock.Advance(5*time.Minute + time.Second) },
		},
		"WebAuthn §7.1 step 9: another origin": {
			key: mfatest.NewAuthenticator("http://localhost:9999", passkeyRPID), as: as, want: ReasonInvalid,
		},
		"WebAuthn §7.1 step 9: a look-alike site": {
			key: mfatest.NewAuthenticator("https://evil.example", passkeyRPID), as: as, want: ReasonInvalid,
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			opts, id, err := f.svc.BeginPasskeyRegistration(ctx, as, "acme")
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.key.Register(opts)
			if err != nil {
				t.Fatal(err)
			}
			if c.setup != nil {
				c.setup(id)
			}
			_, err = f.svc.FinishPasskeyRegistration(ctx, c.as, "acme", id, "Key", resp)
			refusedFor(t, err, c.want)
			if l, _ := f.svc.MyFactors(ctx, as, "acme"); len(l.Items) != 0 {
				t.Errorf("a refused registration stored %+v", l.Items)
			}
		})
	}
	// A tenant served on an IP address cannot have passkeys.
	if _, err := f.svc.CreateTenant(ctx, f.actor, TenantInput{ID: "ip", Name: "IP", Issuer: "http://127.0.0.1:8080/t/ip"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.BeginPasskeySignIn(ctx, "ip"); !errors.Is(err, ErrPasskeysUnavailable) || !errors.Is(err, store.ErrConflict) {
		t.Errorf("IP issuer: %v, want ErrPasskeysUnavailable", err)
	}
}

// secondFactor runs a second-factor ceremony of alice's whose answer is
// made by answer.
func (f *fixture) passkeySecondFactor(t *testing.T, userID string, answer func([]byte) ([]byte, error)) (mfa.Assertion, error) {
	t.Helper()
	opts, id, err := f.svc.BeginPasskeySecondFactor(t.Context(), "acme", userID)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := answer(opts)
	if err != nil {
		t.Fatal(err)
	}
	return f.svc.FinishPasskeySecondFactor(t.Context(), "acme", userID, id, resp)
}

func TestPasskeySecondFactorRecordsTheCounterAndRefusesAClone(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	alice, bob, as := f.people(t)
	key := mfatest.NewAuthenticator(passkeyOrigin, passkeyRPID)
	reg := f.registerPasskey(t, as, key, "YubiKey")

	if _, _, err := f.svc.BeginPasskeySecondFactor(ctx, "acme", bob.ID); refusedFor(t, err, ReasonNoCredentials) == nil {
		t.Fatal("bob has no passkey")
	}
	f.clock.Advance(time.Minute)
	a, err := f.passkeySecondFactor(t, alice.ID, key.Assert)
	if err != nil {
		t.Fatal(err)
	}
	if a.User.ID != alice.ID || a.FactorID != reg.Factor.ID || !slices.Equal(a.AMR, []string{"hwk", "user"}) || a.Counter != 2 {
		t.Fatalf("assertion %+v, want alice's key, amr [hwk user] (RFC 8176), counter 2", a)
	}
	stored, _ := f.st.Factors().Get(ctx, "acme", alice.ID, reg.Factor.ID)
	if stored.Counter != 2 || f.clock.Now().Sub(stored.LastUsedAt) > time.Second {
		t.Fatalf("stored %d at %v, want counter 2 used now", stored.Counter, stored.LastUsedAt)
	}

	// WebAuthn §6.1.1: a signature counter that does not go up is the
	// sign of a cloned authenticator.
	_, err = f.passkeySecondFactor(t, alice.ID, func(o []byte) ([]byte, error) { return key.AssertWithCounter(o, 2) })
	refusedFor(t, err, ReasonCloned)
	if !errors.Is(err, mfa.ErrCloned) {
		t.Errorf("a clone is not mfa.ErrCloned: %v", err)
	}
	if s, _ := f.st.Factors().Get(ctx, "acme", alice.ID, reg.Factor.ID); s.Counter != 2 {
		t.Errorf("a refused clone moved the counter to %d", s.Counter)
	}

	// A replayed answer: the ceremony is taken once.
	opts, id, err := f.svc.BeginPasskeySecondFactor(ctx, "acme", alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := key.Assert(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishPasskeySecondFactor(ctx, "acme", alice.ID, id, resp); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.FinishPasskeySecondFactor(ctx, "acme", alice.ID, id, resp)
	refusedFor(t, err, ReasonExpiredChallenge)
	// Nor can bob finish alice's ceremony.
	opts, id, _ = f.svc.BeginPasskeySecondFactor(ctx, "acme", alice.ID)
	resp, _ = key.Assert(opts)
	_, err = f.svc.FinishPasskeySecondFactor(ctx, "acme", bob.ID, id, resp)
	refusedFor(t, err, ReasonExpiredChallenge)
}

// A passkey's failures draw on the user's one budget of second-factor
// attempts, as wrong TOTP codes do.
func TestPasskeySecondFactorSharesTheCodeThrottle(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	alice, _, as := f.people(t)
	key := mfatest.NewAuthenticator(passkeyOrigin, passkeyRPID)
	f.registerPasskey(t, as, key, "YubiKey")
	evil := mfatest.NewAuthenticator("https://evil.example", passkeyRPID)
	evil.Register([]byte(`{"publicKey":{"rp":{"id":"localhost"},"user":{"id":"dXNyX2FsaWNl"},"challenge":"AA","pubKeyCredParams":[{"alg":-7}]}}`))

	// Four failures of different kinds, and a wrong code.
	for _, answer := range []func([]byte) ([]byte, error){
		func(o []byte) ([]byte, error) { return key.AssertWithCounter(o, 0) },
		func(o []byte) ([]byte, error) { return key.AssertWithCounter(o, 1) },
		func(o []byte) ([]byte, error) { return evil.Assert(withoutAllowList(t, o)) }, // not alice's key
		func([]byte) ([]byte, error) { return []byte(`{"id":"x"}`), nil },
	} {
		if _, err := f.passkeySecondFactor(t, alice.ID, answer); err == nil {
			t.Fatal("a bad answer passed")
		}
	}
	if err := f.svc.CheckTOTP(t.Context(), "acme", alice.ID, "000000"); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("a wrong code: %v", err)
	}
	_, err := f.passkeySecondFactor(t, alice.ID, key.Assert)
	var te *ThrottledError
	if !errors.As(err, &te) || !te.Codes {
		t.Fatalf("the sixth attempt, with the right key: %v, want a *ThrottledError", err)
	}
	f.clock.Advance(16 * time.Minute)
	if _, err := f.passkeySecondFactor(t, alice.ID, key.Assert); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	if th, _ := f.st.Throttles().Get(t.Context(), "acme", codeKey(alice.ID)); th.Failures != 0 {
		t.Errorf("a success left the count at %d", th.Failures)
	}
}

func TestPasskeySignInFindsTheUserByCredential(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	alice, bob, as := f.people(t)
	key := mfatest.NewAuthenticator(passkeyOrigin, passkeyRPID)
	key.BackupEligible = true // a synced passkey
	reg := f.registerPasskey(t, as, key, "Phone")

	signIn := func(a *mfatest.Authenticator) (mfa.Assertion, error) {
		t.Helper()
		opts, id, err := f.svc.BeginPasskeySignIn(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		var o struct {
			PublicKey struct {
				AllowCredentials []any  `json:"allowCredentials"`
				UserVerification string `json:"userVerification"`
			} `json:"publicKey"`
		}
		if err := json.Unmarshal(opts, &o); err != nil || len(o.PublicKey.AllowCredentials) != 0 || o.PublicKey.UserVerification != "required" {
			t.Fatalf("discoverable options %s", opts)
		}
		resp, err := a.Assert(opts)
		if err != nil {
			t.Fatal(err)
		}
		return f.svc.FinishPasskeySignIn(ctx, "acme", id, resp)
	}
	a, err := signIn(key)
	if err != nil {
		t.Fatal(err)
	}
	if a.User.ID != alice.ID || a.FactorID != reg.Factor.ID || !a.MultiFactor || !slices.Equal(a.AMR, []string{"swk", "user"}) {
		t.Fatalf("assertion %+v, want alice, user verified, amr [swk user]", a)
	}
	// A key registered nowhere (its registration never finished).
	stray := mfatest.NewAuthenticator(passkeyOrigin, passkeyRPID)
	opts, _, _ := f.svc.BeginPasskeyRegistration(ctx, Actor{Type: model.ActorUser, ID: bob.ID}, "acme")
	if _, err := stray.Register(opts); err != nil {
		t.Fatal(err)
	}
	_, err = signIn(stray)
	if pe := refusedFor(t, err, ReasonUnknownCredential); pe.UserID != "" {
		t.Errorf("an unknown credential named user %q", pe.UserID)
	}
	// A disabled user's passkey signs nobody in.
	if _, err := f.svc.DisableUser(ctx, f.actor, "acme", alice.ID); err != nil {
		t.Fatal(err)
	}
	_, err = signIn(key)
	if pe := refusedFor(t, err, ReasonDisabled); pe.UserID != alice.ID {
		t.Errorf("disabled: user %q, want alice", pe.UserID)
	}
}

// withoutAllowList drops allowCredentials from request options, so that
// any credential of an authenticator answers (as a hostile client would).
func withoutAllowList(t *testing.T, opts []byte) []byte {
	t.Helper()
	var o map[string]map[string]any
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	delete(o["publicKey"], "allowCredentials")
	out, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
