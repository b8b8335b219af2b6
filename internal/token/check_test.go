package token_test

import (
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/token"
)

// TestAccessCheckReasons holds each rule of the one access-token check to
// its Reason, on a real store (SQLite, or PostgreSQL when
// INTELLIAUTH_TEST_POSTGRES is set) and real tenant keys.
func TestAccessCheckReasons(t *testing.T) {
	ctx := t.Context()
	env := servertest.Start(t)
	b := env.Seed(t, "banking")
	env.Seed(t, "other")
	people := env.SeedUsers(t, "banking")
	disabled := env.CreateUser(t, "banking", model.User{Username: "dee", Status: model.UserDisabled}, "dee's long password")
	snap, err := env.Server.Catalog().Recheck(ctx, "banking")
	if err != nil {
		t.Fatal(err)
	}
	other, err := env.Server.Catalog().Recheck(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	now := env.Clock.Now()
	check := &token.AccessCheck{Keys: snap.Keys, TenantID: "banking", Issuer: snap.Tenant.Issuer, Store: env.Store, Now: env.Clock.Now}
	bank := b.Bank.Identifier

	// userClaims is a token from alice's sign-in at the SPA; ccClaims the
	// reporting job's client-credentials token.
	userClaims := func() token.AccessClaims {
		return token.AccessClaims{Issuer: snap.Tenant.Issuer, Subject: people.Alice.ID, Audience: bank, ClientID: people.SPA.ID,
			Scope: "openid read:transactions", JTI: token.NewJTI(), IssuedAt: now, ExpiresAt: now.Add(time.Minute), AuthTime: now}
	}
	ccClaims := func() token.AccessClaims {
		return token.AccessClaims{Issuer: snap.Tenant.Issuer, Subject: b.Reporting.ID, Audience: bank, ClientID: b.Reporting.ID,
			Scope: "read:transactions", JTI: token.NewJTI(), IssuedAt: now, ExpiresAt: now.Add(time.Minute)}
	}
	sign := func(t *testing.T, k *token.Keyring, c token.AccessClaims) string {
		t.Helper()
		raw, err := k.SignAccessToken(model.AlgES256, c)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	revokedJTI := token.NewJTI()
	if err := env.Store.Revocations().Revoke(ctx, model.Revocation{TenantID: "banking", JTI: revokedJTI, ExpiresAt: now.Add(time.Hour), RevokedAt: now}); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name     string
		raw      func(t *testing.T) string
		audience string // "" → CheckAnyAudience
		want     token.Reason
		user     string // the user a valid token resolves to
	}{
		{name: "a user's token is valid and resolves the user",
			raw: func(t *testing.T) string { return sign(t, snap.Keys, userClaims()) }, want: token.Valid, user: people.Alice.ID},
		{name: "RFC 9068 §2.2 a client-credentials token (sub = client_id, no auth_time) is valid without a user",
			raw: func(t *testing.T) string { return sign(t, snap.Keys, ccClaims()) }, want: token.Valid},
		{name: "the audience the caller asks for is accepted",
			raw: func(t *testing.T) string { return sign(t, snap.Keys, ccClaims()) }, audience: bank, want: token.Valid},
		{name: "not a JWS → Malformed",
			raw: func(*testing.T) string { return "not.a.token" }, want: token.Malformed},
		{name: "RFC 9068 §4 signed by another tenant's keys → Malformed",
			raw: func(t *testing.T) string { return sign(t, other.Keys, ccClaims()) }, want: token.Malformed},
		{name: "RFC 9068 §4 iss of another issuer → WrongIssuer",
			raw: func(t *testing.T) string {
				c := ccClaims()
				c.Issuer = other.Tenant.Issuer
				return sign(t, snap.Keys, c)
			}, want: token.WrongIssuer},
		{name: "RFC 9068 §4 aud not the one asked for → WrongAudience",
			raw: func(t *testing.T) string { return sign(t, snap.Keys, ccClaims()) }, audience: b.Health.Identifier, want: token.WrongAudience},
		{name: "RFC 9068 §4 exp not after now → Expired",
			raw: func(t *testing.T) string {
				c := ccClaims()
				c.IssuedAt, c.ExpiresAt = now.Add(-time.Hour), now
				return sign(t, snap.Keys, c)
			}, want: token.Expired},
		{name: "RFC 7009 a revoked jti → Revoked",
			raw: func(t *testing.T) string {
				c := userClaims()
				c.JTI = revokedJTI
				return sign(t, snap.Keys, c)
			}, want: token.Revoked},
		{name: "an application that no longer exists → ClientGone",
			raw: func(t *testing.T) string {
				c := ccClaims()
				c.Subject, c.ClientID = "deleted-job", "deleted-job"
				return sign(t, snap.Keys, c)
			}, want: token.ClientGone},
		{name: "a user who no longer exists → UserGone",
			raw: func(t *testing.T) string {
				c := userClaims()
				c.Subject = "usr_gone"
				return sign(t, snap.Keys, c)
			}, want: token.UserGone},
		{name: "a disabled user → UserDisabled",
			raw: func(t *testing.T) string {
				c := userClaims()
				c.Subject = disabled.ID
				return sign(t, snap.Keys, c)
			}, want: token.UserDisabled},
		{name: "sub other than client_id without auth_time is still held to the user rule",
			raw: func(t *testing.T) string {
				c := userClaims()
				c.Subject, c.AuthTime = "usr_gone", time.Time{}
				return sign(t, snap.Keys, c)
			}, want: token.UserGone},
		{name: "sub = client_id with auth_time is a user's token, not a client's",
			raw: func(t *testing.T) string {
				c := ccClaims()
				c.AuthTime = now
				return sign(t, snap.Keys, c)
			}, want: token.UserGone},
	}
	// The same rules whether applications come from the store alone, from
	// the node's snapshot (catalog.Snapshot.AccessCheck, what the endpoints
	// use), or from a snapshot that knows no application yet (one created a
	// moment ago on another node: the store must still be asked).
	stale := snap.AccessCheck(env.Store, env.Clock.Now)
	stale.KnownClient = func(string) bool { return false }
	checks := []struct {
		name  string
		check *token.AccessCheck
	}{
		{"store", check},
		{"snapshot", snap.AccessCheck(env.Store, env.Clock.Now)},
		{"snapshot that knows no application", stale},
	}
	for _, variant := range checks {
		check := variant.check
		for _, tc := range cases {
			t.Run(variant.name+"/"+tc.name, func(t *testing.T) {
				raw := tc.raw(t)
				var (
					acc    token.Access
					reason token.Reason
					err    error
				)
				if tc.audience == "" {
					acc, reason, err = check.CheckAnyAudience(ctx, raw)
				} else {
					acc, reason, err = check.Check(ctx, raw, tc.audience)
				}
				if err != nil {
					t.Fatal(err)
				}
				if reason != tc.want {
					t.Fatalf("reason = %v, want %v", reason, tc.want)
				}
				switch {
				case tc.want != token.Valid && acc.User != nil:
					t.Errorf("an invalid token resolved user %s", acc.User.ID)
				case tc.user == "" && acc.User != nil:
					t.Errorf("a client's token resolved user %s", acc.User.ID)
				case tc.user != "" && (acc.User == nil || acc.User.ID != tc.user):
					t.Errorf("user = %+v, want %s", acc.User, tc.user)
				}
			})
		}
	}

	t.Run("Check with an empty audience accepts no token", func(t *testing.T) {
		if _, reason, err := check.Check(ctx, sign(t, snap.Keys, ccClaims()), ""); err != nil || reason != token.WrongAudience {
			t.Errorf("reason %v, err %v; want WrongAudience", reason, err)
		}
	})
}
