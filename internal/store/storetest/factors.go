package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

func newTOTP(tenantID, id, userID string, created time.Time) model.Factor {
	return model.Factor{TenantID: tenantID, ID: id, UserID: userID, Type: model.FactorTOTP, Name: "Phone of " + userID,
		Secret: []byte{0x00, 0x01, 0xfe, 0xff, 's', 'e', 'a', 'l'}, CreatedAt: created}
}

func newKey2F(tenantID, id, userID, credentialID string, created time.Time) model.Factor {
	return model.Factor{TenantID: tenantID, ID: id, UserID: userID, Type: model.FactorWebAuthn, Name: "YubiKey",
		Credential:   []byte(`{"id":"` + credentialID + `","publicKey":"pQECAyYgASFYIA","flags":{"userPresent":true}}`),
		CredentialID: credentialID, Confirmed: true, Counter: 42, CreatedAt: created}
}

// usFactor is what a backend returns for f: times truncated, in UTC.
func usFactor(f model.Factor) model.Factor {
	f.CreatedAt, f.LastUsedAt = usZ(f.CreatedAt), usZ(f.LastUsedAt)
	return f
}

func newChallenge(tenantID, id, userID string, expires time.Time) model.MFAChallenge {
	purpose := "register"
	if userID == "" {
		purpose = "login"
	}
	return model.MFAChallenge{TenantID: tenantID, ID: id, UserID: userID, Purpose: purpose,
		Data: []byte(`{"challenge":"c-` + id + `","userVerification":"preferred"}`), ExpiresAt: expires}
}

func usChallenge(c model.MFAChallenge) model.MFAChallenge {
	c.ExpiresAt = usZ(c.ExpiresAt)
	return c
}

// hashOf stands for the hex hash of a recovery code (mfa.HashRecoveryCode).
func hashOf(code string) string { return fmt.Sprintf("%064x", []byte(code)) }

// oneWins fails unless exactly one racer got no error and every other one
// got loserErr; it returns the winner.
func oneWins[T any](t *testing.T, results []result[T], loserErr error) int {
	t.Helper()
	winner := -1
	for i, r := range results {
		switch {
		case r.err == nil:
			if winner >= 0 {
				t.Fatalf("racers %d and %d both won", winner, i)
			}
			winner = i
		case !errors.Is(r.err, loserErr):
			t.Fatalf("racer %d: %v, want %v", i, r.err, loserErr)
		}
	}
	if winner < 0 {
		t.Fatal("no racer won")
	}
	return winner
}

func factorIDs(fs []model.Factor) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

var factorTests = []test{
	{"create and get round-trip every field; List is oldest first; conflicts; unknown user", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1", "usr_2")
		seedUsers(t, s, "b", "usr_1")
		totp := newTOTP("a", "mfa_totp", "usr_1", t0)
		key := newKey2F("a", "mfa_key", "usr_1", "Y3JlZC0x", t0.Add(-time.Hour))
		key.LastUsedAt = t0.Add(time.Minute)
		twin := newTOTP("a", "mfa_a", "usr_1", t0) // same CreatedAt as totp: ordered by ID
		twin.Confirmed, twin.Counter = true, 57_000_000
		for _, in := range []model.Factor{totp, key, twin} {
			must(t, s.Factors().Create(ctx, in))
			got, err := s.Factors().Get(ctx, "a", "usr_1", in.ID)
			must(t, err)
			equal(t, "factor "+in.ID, got, usFactor(in))
			utc(t, "factor times", got.CreatedAt)
		}
		got, err := s.Factors().Get(ctx, "a", "usr_1", "mfa_key")
		must(t, err)
		utc(t, "last used", got.LastUsedAt)

		list, err := s.Factors().List(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "oldest first, then by ID", factorIDs(list), []string{"mfa_key", "mfa_a", "mfa_totp"})
		equal(t, "listed key", list[0], usFactor(key))
		byCred, err := s.Factors().GetByCredentialID(ctx, "a", "Y3JlZC0x")
		must(t, err)
		equal(t, "by credential ID", byCred, usFactor(key))
		_, err = s.Factors().GetByCredentialID(ctx, "a", "")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Factors().GetByCredentialID(ctx, "a", "bm9uZQ")
		wantErr(t, err, store.ErrNotFound)

		wantErr(t, s.Factors().Create(ctx, newTOTP("a", "mfa_totp", "usr_2", t0)), store.ErrConflict)
		// A credential ID is unique in the tenant, whoever holds it…
		wantErr(t, s.Factors().Create(ctx, newKey2F("a", "mfa_key2", "usr_2", "Y3JlZC0x", t0)), store.ErrConflict)
		_, err = s.Factors().Get(ctx, "a", "usr_2", "mfa_key2")
		wantErr(t, err, store.ErrNotFound)
		// …and only there.
		must(t, s.Factors().Create(ctx, newKey2F("b", "mfa_key", "usr_1", "Y3JlZC0x", t0)))
		wantErr(t, s.Factors().Create(ctx, newTOTP("a", "mfa_x", "usr_9", t0)), store.ErrNotFound)
		wantErr(t, s.Factors().Create(ctx, newTOTP("c", "mfa_x", "usr_1", t0)), store.ErrNotFound)
		_, err = s.Factors().Get(ctx, "a", "usr_1", "mfa_9")
		wantErr(t, err, store.ErrNotFound)
		none, err := s.Factors().List(ctx, "a", "usr_9")
		must(t, err)
		equal(t, "factors of an unknown user", len(none), 0)
	}},
	{"another tenant or another user reaches none of the user's factors, codes or challenges", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1", "usr_2")
		seedUsers(t, s, "b", "usr_1")
		in := newKey2F("a", "mfa_1", "usr_1", "Y3JlZC0x", t0)
		in.Counter = 0
		must(t, s.Factors().Create(ctx, in))
		must(t, s.Factors().ReplaceRecoveryCodes(ctx, "a", "usr_1", []string{hashOf("code-1")}, t0))
		must(t, s.Factors().PutChallenge(ctx, newChallenge("a", "ch_1", "usr_1", t0.Add(time.Hour))))
		for _, o := range []struct{ tenant, user string }{{"b", "usr_1"}, {"a", "usr_2"}} {
			who := o.tenant + "/" + o.user
			_, err := s.Factors().Get(ctx, o.tenant, o.user, "mfa_1")
			wantErr(t, err, store.ErrNotFound)
			wantErr(t, s.Factors().Rename(ctx, o.tenant, o.user, "mfa_1", "Mine now"), store.ErrNotFound)
			wantErr(t, s.Factors().Use(ctx, o.tenant, o.user, "mfa_1", 0, []byte(`{}`), t0), store.ErrNotFound)
			wantErr(t, s.Factors().Delete(ctx, o.tenant, o.user, "mfa_1"), store.ErrNotFound)
			wantErr(t, s.Factors().UseRecoveryCode(ctx, o.tenant, o.user, hashOf("code-1"), t0), store.ErrNotFound)
			list, err := s.Factors().List(ctx, o.tenant, o.user)
			must(t, err)
			equal(t, "factors of "+who, len(list), 0)
			codes, err := s.Factors().RecoveryCodes(ctx, o.tenant, o.user)
			must(t, err)
			equal(t, "recovery codes of "+who, len(codes), 0)
			n, err := s.Factors().DeleteByUser(ctx, o.tenant, o.user)
			must(t, err)
			equal(t, "deleted for "+who, n, 0)
		}
		_, err := s.Factors().GetByCredentialID(ctx, "b", "Y3JlZC0x")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Factors().TakeChallenge(ctx, "b", "ch_1", t0)
		wantErr(t, err, store.ErrNotFound)

		got, err := s.Factors().Get(ctx, "a", "usr_1", "mfa_1")
		must(t, err)
		equal(t, "untouched", got, usFactor(in))
		codes, err := s.Factors().RecoveryCodes(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "code unused", codes, []model.RecoveryCode{{TenantID: "a", UserID: "usr_1", Hash: hashOf("code-1"), CreatedAt: us(t0)}})
		_, err = s.Factors().TakeChallenge(ctx, "a", "ch_1", t0)
		must(t, err)
	}},
	{"Rename sets the name; Delete removes one factor", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		must(t, s.Factors().Create(ctx, newTOTP("a", "mfa_1", "usr_1", t0)))
		must(t, s.Factors().Create(ctx, newTOTP("a", "mfa_2", "usr_1", t0)))
		must(t, s.Factors().Rename(ctx, "a", "usr_1", "mfa_1", "Work phone"))
		got, err := s.Factors().Get(ctx, "a", "usr_1", "mfa_1")
		must(t, err)
		want := newTOTP("a", "mfa_1", "usr_1", t0)
		want.Name = "Work phone"
		equal(t, "renamed", got, usFactor(want))
		wantErr(t, s.Factors().Rename(ctx, "a", "usr_1", "mfa_9", "x"), store.ErrNotFound)
		must(t, s.Factors().Delete(ctx, "a", "usr_1", "mfa_1"))
		wantErr(t, s.Factors().Delete(ctx, "a", "usr_1", "mfa_1"), store.ErrNotFound)
		list, err := s.Factors().List(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "left", factorIDs(list), []string{"mfa_2"})
	}},
	{"RFC 6238 §5.2 Use accepts a TOTP step once: the same step again or an earlier one is ErrPrecondition", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		in := newTOTP("a", "mfa_1", "usr_1", t0)
		must(t, s.Factors().Create(ctx, in))
		at := t0.Add(time.Minute)
		must(t, s.Factors().Use(ctx, "a", "usr_1", "mfa_1", 57_000_000, nil, at))
		want := in
		want.Confirmed, want.Counter, want.LastUsedAt = true, 57_000_000, at
		got, err := s.Factors().Get(ctx, "a", "usr_1", "mfa_1")
		must(t, err)
		equal(t, "after first use (confirmed, secret kept)", got, usFactor(want))
		for _, step := range []int64{57_000_000, 56_999_999, 0} {
			wantErr(t, s.Factors().Use(ctx, "a", "usr_1", "mfa_1", step, nil, at.Add(time.Second)), store.ErrPrecondition)
		}
		got, err = s.Factors().Get(ctx, "a", "usr_1", "mfa_1")
		must(t, err)
		equal(t, "unchanged by refused uses", got, usFactor(want))
		must(t, s.Factors().Use(ctx, "a", "usr_1", "mfa_1", 57_000_001, nil, at.Add(30*time.Second)))
		got, err = s.Factors().Get(ctx, "a", "usr_1", "mfa_1")
		must(t, err)
		equal(t, "next step", got.Counter, int64(57_000_001))
		wantErr(t, s.Factors().Use(ctx, "a", "usr_1", "mfa_9", 1, nil, at), store.ErrNotFound)
	}},
	{"WebAuthn §6.1.1 signature counters: 0 and 0 is accepted, a lower counter refused; the credential is replaced only when given", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		in := newKey2F("a", "mfa_1", "usr_1", "Y3JlZC0x", t0)
		in.Counter, in.Confirmed = 0, false
		must(t, s.Factors().Create(ctx, in))
		cred := []byte(`{"id":"Y3JlZC0x","publicKey":"pQECAyYgASFYIA","flags":{"backupState":true}}`)
		at1, at2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
		must(t, s.Factors().Use(ctx, "a", "usr_1", "mfa_1", 0, cred, at1))
		must(t, s.Factors().Use(ctx, "a", "usr_1", "mfa_1", 0, nil, at2))
		got, err := s.Factors().Get(ctx, "a", "usr_1", "mfa_1")
		must(t, err)
		want := in
		want.Credential, want.Confirmed, want.LastUsedAt = cred, true, at2
		equal(t, "an authenticator without a counter", got, usFactor(want))
		must(t, s.Factors().Use(ctx, "a", "usr_1", "mfa_1", 5, nil, at2))
		for _, c := range []int64{0, 4, 5} {
			wantErr(t, s.Factors().Use(ctx, "a", "usr_1", "mfa_1", c, []byte(`{"cloned":true}`), at2), store.ErrPrecondition)
		}
		got, err = s.Factors().Get(ctx, "a", "usr_1", "mfa_1")
		must(t, err)
		want.Counter = 5
		equal(t, "a cloned authenticator's counter refused, its credential not stored", got, usFactor(want))
	}},
	{"concurrent Use of one TOTP step: exactly one of the racers succeeds", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		must(t, s.Factors().Create(ctx, newTOTP("a", "mfa_1", "usr_1", t0)))
		must(t, s.Factors().Use(ctx, "a", "usr_1", "mfa_1", 100, nil, t0))
		results := race(func(i int) (struct{}, error) {
			return struct{}{}, s.Factors().Use(ctx, "a", "usr_1", "mfa_1", 101, nil, t0.Add(time.Duration(i+1)*time.Second))
		})
		winner := oneWins(t, results, store.ErrPrecondition)
		got, err := s.Factors().Get(ctx, "a", "usr_1", "mfa_1")
		must(t, err)
		equal(t, "counter", got.Counter, int64(101))
		equal(t, "the winner's use", got.LastUsedAt, us(t0.Add(time.Duration(winner+1)*time.Second)))
	}},
	{"recovery codes: stored once each, spent once, and a new set replaces the old", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		h1, h2, h3 := hashOf("aaaa-1111"), hashOf("bbbb-2222"), hashOf("cccc-3333")
		must(t, s.Factors().ReplaceRecoveryCodes(ctx, "a", "usr_1", []string{h2, h1, h3, h1}, t0))
		rc := func(h string, used time.Time) model.RecoveryCode {
			return model.RecoveryCode{TenantID: "a", UserID: "usr_1", Hash: h, CreatedAt: us(t0), UsedAt: usZ(used)}
		}
		codes, err := s.Factors().RecoveryCodes(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "by hash", codes, []model.RecoveryCode{rc(h1, time.Time{}), rc(h2, time.Time{}), rc(h3, time.Time{})})
		at := t0.Add(time.Hour)
		must(t, s.Factors().UseRecoveryCode(ctx, "a", "usr_1", h2, at))
		wantErr(t, s.Factors().UseRecoveryCode(ctx, "a", "usr_1", h2, at), store.ErrNotFound)
		wantErr(t, s.Factors().UseRecoveryCode(ctx, "a", "usr_1", hashOf("nope"), at), store.ErrNotFound)
		codes, err = s.Factors().RecoveryCodes(ctx, "a", "usr_1")
		must(t, err)
		utc(t, "used at", codes[1].UsedAt, codes[1].CreatedAt)
		equal(t, "one spent", codes, []model.RecoveryCode{rc(h1, time.Time{}), rc(h2, at), rc(h3, time.Time{})})

		h4 := hashOf("dddd-4444")
		must(t, s.Factors().ReplaceRecoveryCodes(ctx, "a", "usr_1", []string{h4}, t0))
		wantErr(t, s.Factors().UseRecoveryCode(ctx, "a", "usr_1", h1, at), store.ErrNotFound)
		codes, err = s.Factors().RecoveryCodes(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "the new set only", codes, []model.RecoveryCode{rc(h4, time.Time{})})
		must(t, s.Factors().ReplaceRecoveryCodes(ctx, "a", "usr_1", nil, t0))
		codes, err = s.Factors().RecoveryCodes(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "an empty set", len(codes), 0)
		wantErr(t, s.Factors().ReplaceRecoveryCodes(ctx, "a", "usr_9", []string{h1}, t0), store.ErrNotFound)
		wantErr(t, s.Factors().ReplaceRecoveryCodes(ctx, "a", "usr_9", nil, t0), store.ErrNotFound)
	}},
	{"concurrent use of one recovery code: exactly one of the racers spends it", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		h := hashOf("aaaa-1111")
		must(t, s.Factors().ReplaceRecoveryCodes(ctx, "a", "usr_1", []string{h, hashOf("other")}, t0))
		results := race(func(i int) (struct{}, error) {
			return struct{}{}, s.Factors().UseRecoveryCode(ctx, "a", "usr_1", h, t0.Add(time.Duration(i+1)*time.Second))
		})
		winner := oneWins(t, results, store.ErrNotFound)
		codes, err := s.Factors().RecoveryCodes(ctx, "a", "usr_1")
		must(t, err)
		for _, c := range codes {
			if c.Hash == h {
				equal(t, "spent by the winner", c.UsedAt, us(t0.Add(time.Duration(winner+1)*time.Second)))
			} else {
				equal(t, "the other code unused", c.UsedAt, time.Time{})
			}
		}
	}},
	{"TakeChallenge returns a challenge once; an expired one is not found, and gone", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		reg := newChallenge("a", "ch_reg", "usr_1", t0.Add(5*time.Minute))
		login := newChallenge("a", "ch_login", "", t0.Add(5*time.Minute))
		edge := newChallenge("a", "ch_edge", "usr_1", t0)
		old := newChallenge("a", "ch_old", "usr_1", t0.Add(-time.Second))
		for _, c := range []model.MFAChallenge{reg, login, edge, old} {
			must(t, s.Factors().PutChallenge(ctx, c))
		}
		wantErr(t, s.Factors().PutChallenge(ctx, newChallenge("a", "ch_reg", "", t0)), store.ErrConflict)
		wantErr(t, s.Factors().PutChallenge(ctx, newChallenge("a", "ch_x", "usr_9", t0)), store.ErrNotFound)
		for _, c := range []model.MFAChallenge{reg, login, edge} {
			got, err := s.Factors().TakeChallenge(ctx, "a", c.ID, t0)
			must(t, err)
			equal(t, "challenge "+c.ID, got, usChallenge(c))
			utc(t, "expiry", got.ExpiresAt)
			_, err = s.Factors().TakeChallenge(ctx, "a", c.ID, t0)
			wantErr(t, err, store.ErrNotFound)
		}
		_, err := s.Factors().TakeChallenge(ctx, "a", "ch_old", t0)
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Factors().TakeChallenge(ctx, "a", "ch_old", t0.Add(-time.Hour))
		wantErr(t, err, store.ErrNotFound) // deleted by the first take
		_, err = s.Factors().TakeChallenge(ctx, "a", "ch_9", t0)
		wantErr(t, err, store.ErrNotFound)
	}},
	{"concurrent TakeChallenge: exactly one of the racers gets the ceremony", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		in := newChallenge("a", "ch_1", "usr_1", t0.Add(time.Minute))
		must(t, s.Factors().PutChallenge(ctx, in))
		results := race(func(int) (model.MFAChallenge, error) { return s.Factors().TakeChallenge(ctx, "a", "ch_1", t0) })
		winner := oneWins(t, results, store.ErrNotFound)
		equal(t, "the winner's challenge", results[winner].v, usChallenge(in))
	}},
	{"deleting the user deletes their factors, recovery codes and challenges", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1", "usr_2")
		must(t, s.Factors().Create(ctx, newKey2F("a", "mfa_1", "usr_1", "Y3JlZC0x", t0)))
		must(t, s.Factors().Create(ctx, newTOTP("a", "mfa_2", "usr_2", t0)))
		must(t, s.Factors().ReplaceRecoveryCodes(ctx, "a", "usr_1", []string{hashOf("x")}, t0))
		must(t, s.Factors().PutChallenge(ctx, newChallenge("a", "ch_1", "usr_1", t0.Add(time.Hour))))
		must(t, s.Factors().PutChallenge(ctx, newChallenge("a", "ch_anon", "", t0.Add(time.Hour))))
		must(t, s.Users().Delete(ctx, "a", "usr_1", 0))
		_, err := s.Factors().Get(ctx, "a", "usr_1", "mfa_1")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Factors().GetByCredentialID(ctx, "a", "Y3JlZC0x")
		wantErr(t, err, store.ErrNotFound)
		codes, err := s.Factors().RecoveryCodes(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "codes of the deleted user", len(codes), 0)
		_, err = s.Factors().TakeChallenge(ctx, "a", "ch_1", t0)
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Factors().TakeChallenge(ctx, "a", "ch_anon", t0)
		must(t, err)
		_, err = s.Factors().Get(ctx, "a", "usr_2", "mfa_2")
		must(t, err)
		// The user ID may be given to someone new: they inherit nothing.
		must(t, s.Users().Create(ctx, newUser("a", "usr_1", "usr_1", "usr_1@example.com")))
		list, err := s.Factors().List(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "factors of the new usr_1", len(list), 0)
	}},
	{"DeleteByUser removes the user's factors and recovery codes, and no one else's", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1", "usr_2")
		must(t, s.Factors().Create(ctx, newTOTP("a", "mfa_1", "usr_1", t0)))
		must(t, s.Factors().Create(ctx, newKey2F("a", "mfa_2", "usr_1", "Y3JlZC0x", t0)))
		must(t, s.Factors().Create(ctx, newTOTP("a", "mfa_3", "usr_2", t0)))
		must(t, s.Factors().ReplaceRecoveryCodes(ctx, "a", "usr_1", []string{hashOf("x"), hashOf("y")}, t0))
		must(t, s.Factors().ReplaceRecoveryCodes(ctx, "a", "usr_2", []string{hashOf("x")}, t0))
		n, err := s.Factors().DeleteByUser(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "factors deleted", n, 2)
		list, err := s.Factors().List(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "usr_1's factors", len(list), 0)
		codes, err := s.Factors().RecoveryCodes(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "usr_1's codes", len(codes), 0)
		list, err = s.Factors().List(ctx, "a", "usr_2")
		must(t, err)
		equal(t, "usr_2's factors", factorIDs(list), []string{"mfa_3"})
		codes, err = s.Factors().RecoveryCodes(ctx, "a", "usr_2")
		must(t, err)
		equal(t, "usr_2's codes", len(codes), 1)
		n, err = s.Factors().DeleteByUser(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "nothing left", n, 0)
	}},
	{"Prune deletes, in every tenant, expired challenges and unconfirmed factors created before the cutoff", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		seedUsers(t, s, "b", "usr_1")
		for _, c := range []model.MFAChallenge{
			newChallenge("a", "old", "usr_1", t0.Add(-time.Minute)),
			newChallenge("b", "old", "", t0.Add(-2*time.Minute)),
			newChallenge("a", "edge", "usr_1", t0),
			newChallenge("a", "live", "", t0.Add(5*time.Minute)),
		} {
			must(t, s.Factors().PutChallenge(ctx, c))
		}
		abandoned := newTOTP("a", "abandoned", "usr_1", t0.Add(-2*time.Hour))
		abandonedB := newTOTP("b", "abandoned", "usr_1", t0.Add(-2*time.Hour))
		enrolling := newTOTP("a", "enrolling", "usr_1", t0.Add(-30*time.Minute))
		confirmed := newTOTP("a", "confirmed", "usr_1", t0.Add(-2*time.Hour))
		confirmed.Confirmed = true
		for _, f := range []model.Factor{abandoned, abandonedB, enrolling, confirmed} {
			must(t, s.Factors().Create(ctx, f))
		}
		n, err := s.Factors().Prune(ctx, t0, t0.Add(-time.Hour))
		must(t, err)
		equal(t, "pruned", n, 4)
		list, err := s.Factors().List(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "kept", factorIDs(list), []string{"confirmed", "enrolling"})
		list, err = s.Factors().List(ctx, "b", "usr_1")
		must(t, err)
		equal(t, "kept in b", len(list), 0)
		for _, id := range []string{"edge", "live"} {
			_, err := s.Factors().TakeChallenge(ctx, "a", id, t0)
			must(t, err)
		}
		_, err = s.Factors().TakeChallenge(ctx, "b", "old", time.Time{})
		wantErr(t, err, store.ErrNotFound)
	}},
	{"Factors joins InTx: a rolled-back transaction leaves no factor and no spent code", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		h := hashOf("x")
		must(t, s.Factors().ReplaceRecoveryCodes(ctx, "a", "usr_1", []string{h}, t0))
		boom := errors.New("boom")
		err := s.InTx(ctx, func(tx store.Repos) error {
			must(t, tx.Factors().Create(ctx, newTOTP("a", "mfa_1", "usr_1", t0)))
			must(t, tx.Factors().UseRecoveryCode(ctx, "a", "usr_1", h, t0))
			return boom
		})
		wantErr(t, err, boom)
		_, err = s.Factors().Get(ctx, "a", "usr_1", "mfa_1")
		wantErr(t, err, store.ErrNotFound)
		must(t, s.Factors().UseRecoveryCode(ctx, "a", "usr_1", h, t0))
	}},
}

// mfaColumnTests check the MFA fields 0008 added to existing entities.
var mfaColumnTests = []test{
	{"Tenant MFAPolicy and MFAGraceUntil round-trip through Create, Get, List and Update", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		in := newTenant("a")
		in.MFAPolicy, in.MFAGraceUntil = model.MFARequired, t0.Add(14*24*time.Hour)
		must(t, s.Tenants().Create(ctx, in))
		must(t, s.Tenants().Create(ctx, newTenant("b")))
		got, err := s.Tenants().Get(ctx, "a")
		must(t, err)
		equal(t, "policy", got.MFAPolicy, model.MFARequired)
		equal(t, "grace", got.MFAGraceUntil, us(in.MFAGraceUntil))
		utc(t, "grace", got.MFAGraceUntil)
		list, err := s.Tenants().List(ctx)
		must(t, err)
		equal(t, "listed", list[0], got)
		equal(t, "zero policy stored as given", list[1].MFAPolicy, model.MFAPolicy(""))
		equal(t, "no grace", list[1].MFAGraceUntil, time.Time{})

		got.MFAPolicy, got.MFAGraceUntil = model.MFAOff, time.Time{}
		up, err := s.Tenants().Update(ctx, got)
		must(t, err)
		equal(t, "updated policy", up.MFAPolicy, model.MFAOff)
		equal(t, "grace cleared", up.MFAGraceUntil, time.Time{})
		up.MFAPolicy, up.MFAGraceUntil = model.MFAOptional, t0.Add(time.Hour)
		up2, err := s.Tenants().Update(ctx, up)
		must(t, err)
		again, err := s.Tenants().Get(ctx, "a")
		must(t, err)
		equal(t, "read back", again, up2)
		equal(t, "grace set by Update", again.MFAGraceUntil, us(t0.Add(time.Hour)))
	}},
	{"Application MFA round-trips through Create, Get, List, All and Update", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		req := newApp("a", "req")
		req.MFA = model.AppMFARequired
		must(t, s.Applications().Create(ctx, req))
		inh := newApp("a", "inh")
		inh.MFA = model.AppMFAInherit
		must(t, s.Applications().Create(ctx, inh))
		got, err := s.Applications().Get(ctx, "a", "req")
		must(t, err)
		equal(t, "required", got.MFA, model.AppMFARequired)
		all, err := s.Applications().All(ctx, "a")
		must(t, err)
		equal(t, "All", []string{all[0].MFA, all[1].MFA}, []string{model.AppMFAInherit, model.AppMFARequired})
		page, _, err := s.Applications().List(ctx, "a", store.Page{})
		must(t, err)
		equal(t, "List", page, all)
		got.MFA = model.AppMFAInherit
		up, err := s.Applications().Update(ctx, got)
		must(t, err)
		equal(t, "updated", up.MFA, model.AppMFAInherit)
		again, err := s.Applications().Get(ctx, "a", "req")
		must(t, err)
		equal(t, "read back", again, up)
	}},
	{"Scope RequiresMFA round-trips through Create, Get, List, All and Update; Rename keeps it", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		pay := newScope("a", "bank", "payments:write")
		pay.RequiresMFA = true
		must(t, s.Scopes().Create(ctx, pay))
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "read")))
		got, err := s.Scopes().Get(ctx, "a", "payments:write")
		must(t, err)
		equal(t, "requires MFA", got.RequiresMFA, true)
		all, err := s.Scopes().All(ctx, "a")
		must(t, err)
		equal(t, "All", []bool{all[0].RequiresMFA, all[1].RequiresMFA}, []bool{true, false})
		page, _, err := s.Scopes().List(ctx, "a", "", store.Page{})
		must(t, err)
		equal(t, "List", page, all)
		renamed, err := s.Scopes().Rename(ctx, "a", "payments:write", "payments:send", 0)
		must(t, err)
		equal(t, "kept by Rename", renamed.RequiresMFA, true)
		renamed.RequiresMFA = false
		up, err := s.Scopes().Update(ctx, renamed)
		must(t, err)
		equal(t, "cleared by Update", up.RequiresMFA, false)
		up.RequiresMFA = true
		up, err = s.Scopes().Update(ctx, up)
		must(t, err)
		again, err := s.Scopes().Get(ctx, "a", "payments:send")
		must(t, err)
		equal(t, "set by Update", again, up)
		equal(t, "read back", again.RequiresMFA, true)
	}},
	{"RFC 8176 Session AMR round-trips; SetAMR replaces it (step-up); nil is nil", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		in := newSession("a", "ses_1", "usr_1", t0)
		in.AMR = []string{model.AMRPassword}
		must(t, s.Sessions().Create(ctx, in))
		bare := newSession("a", "ses_2", "usr_1", t0.Add(-time.Minute))
		must(t, s.Sessions().Create(ctx, bare))
		got, err := s.Sessions().Get(ctx, "a", "ses_1")
		must(t, err)
		equal(t, "session", got, usSession(in))
		list, err := s.Sessions().ListByUser(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "listed", list, []model.Session{usSession(in), usSession(bare)})
		stepped := []string{model.AMRPassword, model.AMROTP, model.AMRMulti}
		must(t, s.Sessions().SetAMR(ctx, "a", "ses_1", stepped))
		got, err = s.Sessions().Get(ctx, "a", "ses_1")
		must(t, err)
		want := in
		want.AMR = stepped
		equal(t, "after step-up", got, usSession(want))
		must(t, s.Sessions().SetAMR(ctx, "a", "ses_1", nil))
		got, err = s.Sessions().Get(ctx, "a", "ses_1")
		must(t, err)
		equal(t, "nil AMR", got.AMR, []string(nil))
		wantErr(t, s.Sessions().SetAMR(ctx, "a", "ses_9", stepped), store.ErrNotFound)
		wantErr(t, s.Sessions().SetAMR(ctx, "b", "ses_1", stepped), store.ErrNotFound)
	}},
	{"OIDC Core §3.1.2.1 AuthRequest ACRValues is set by Create and kept by Update; MFASkipped is set by Update", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		must(t, s.Applications().Create(ctx, newApp("a", "web")))
		in := newAuthRequest("a", "req_1", "web")
		in.ACRValues = "mfa pwd"
		must(t, s.AuthRequests().Create(ctx, in))
		bounded := newAuthRequest("a", "req_2", "web")
		bounded.ACRValues, bounded.MFASkipped = "mfa", true
		must(t, s.AuthRequests().CreateBounded(ctx, bounded, 10, 10))
		for _, want := range []model.AuthRequest{in, bounded} {
			got, err := s.AuthRequests().Get(ctx, "a", want.ID)
			must(t, err)
			equal(t, "request "+want.ID, got, usAuthRequest(want))
		}
		up := in
		up.ACRValues, up.MFASkipped = "", true
		up.UserID, up.SessionID, up.AuthTime = "usr_1", "ses_1", t0
		must(t, s.AuthRequests().Update(ctx, up))
		got, err := s.AuthRequests().Get(ctx, "a", "req_1")
		must(t, err)
		equal(t, "acr_values as requested", got.ACRValues, "mfa pwd")
		equal(t, "skipped", got.MFASkipped, true)
		got.MFASkipped = false
		must(t, s.AuthRequests().Update(ctx, got))
		got, err = s.AuthRequests().Get(ctx, "a", "req_1")
		must(t, err)
		equal(t, "skip cleared", got.MFASkipped, false)
	}},
	{"AuthCode AMR round-trips through Create, Get and Redeem", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		in := newCode("a", "c1", "web", "usr_1")
		in.AMR = []string{model.AMRPassword, model.AMRHardware, model.AMRMulti}
		must(t, s.Codes().Create(ctx, in))
		bare := newCode("a", "c2", "web", "usr_1")
		must(t, s.Codes().Create(ctx, bare))
		got, err := s.Codes().Get(ctx, "a", "c1")
		must(t, err)
		equal(t, "code", got, usCode(in))
		red, err := s.Codes().Redeem(ctx, "a", "c1", t0)
		must(t, err)
		equal(t, "redeemed AMR", red.AMR, in.AMR)
		got, err = s.Codes().Get(ctx, "a", "c2")
		must(t, err)
		equal(t, "nil AMR", got.AMR, []string(nil))
	}},
	{"RefreshToken AMR round-trips; Rotate copies the family's AMR whatever the successor carries", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		in := newRefresh("a", "rt1", "fam_1", "web", "usr_1")
		in.AMR = []string{model.AMRPassword, model.AMROTP, model.AMRMulti}
		must(t, s.RefreshTokens().Create(ctx, in))
		got, err := s.RefreshTokens().Get(ctx, "a", "rt1")
		must(t, err)
		equal(t, "token", got, usRefresh(in))
		next := newRefresh("a", "rt2", "", "", "")
		next.AMR = []string{model.AMRPassword} // a successor cannot change how the user authenticated
		out, err := s.RefreshTokens().Rotate(ctx, "a", "rt1", next, t0.Add(time.Minute))
		must(t, err)
		equal(t, "rotated AMR", out.AMR, in.AMR)
		stored, err := s.RefreshTokens().Get(ctx, "a", "rt2")
		must(t, err)
		equal(t, "stored AMR", stored.AMR, in.AMR)
		last, err := s.RefreshTokens().Retire(ctx, "a", "rt2", t0.Add(2*time.Minute))
		must(t, err)
		equal(t, "retired AMR", last.AMR, in.AMR)

		bare := newRefresh("a", "rt3", "fam_3", "web", "usr_1")
		must(t, s.RefreshTokens().Create(ctx, bare))
		forged := newRefresh("a", "rt4", "", "", "")
		forged.AMR = in.AMR
		out, err = s.RefreshTokens().Rotate(ctx, "a", "rt3", forged, t0)
		must(t, err)
		equal(t, "a family without AMR gains none by rotation", out.AMR, []string(nil))
	}},
}
