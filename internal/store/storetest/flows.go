package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

func newSession(tenantID, id, userID string, created time.Time) model.Session {
	return model.Session{TenantID: tenantID, ID: id, UserID: userID, AuthTime: created, ExpiresAt: created.Add(8 * time.Hour),
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64)", IP: "192.0.2.1", CreatedAt: created}
}

func newAuthRequest(tenantID, id, clientID string) model.AuthRequest {
	return model.AuthRequest{TenantID: tenantID, ID: id, ClientID: clientID, RedirectURI: "https://" + clientID + ".example.com/callback",
		Scope: "openid profile read", State: "st-" + id, Nonce: "n-" + id, CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256", Audience: "api.bank.example.com", Prompt: "consent", MaxAge: -1, LoginHint: "alice",
		IncludeGranted: true, CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
}

func newCode(tenantID, hash, clientID, userID string) model.AuthCode {
	return model.AuthCode{TenantID: tenantID, Hash: hash, ClientID: clientID, UserID: userID, SessionID: "ses_1",
		RedirectURI: "https://" + clientID + ".example.com/callback", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256", Scopes: []string{"openid", "read"}, Audience: "api.bank.example.com", Nonce: "n",
		AuthTime: t0, ExpiresAt: t0.Add(time.Minute), CreatedAt: t0}
}

func newRefresh(tenantID, hash, familyID, clientID, userID string) model.RefreshToken {
	return model.RefreshToken{TenantID: tenantID, Hash: hash, FamilyID: familyID, ClientID: clientID, UserID: userID,
		SessionID: "ses_1", Scopes: []string{"openid", "offline_access", "read"}, Audience: "api.bank.example.com",
		AuthTime: t0, CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), FamilyExpiresAt: t0.Add(30 * 24 * time.Hour),
		AccessJTI: "at-" + hash, AccessExpiresAt: t0.Add(time.Hour)}
}

// withAccess is r carrying the access token jti, live until expires.
func withAccess(r model.RefreshToken, jti string, expires time.Time) model.RefreshToken {
	r.AccessJTI, r.AccessExpiresAt = jti, expires
	return r
}

// wantRevoked checks, for each jti of the tenant, whether it is revoked.
func wantRevoked(t *testing.T, s store.Store, tenantID string, want map[string]bool) {
	t.Helper()
	for jti, revoked := range want {
		got, err := s.Revocations().IsRevoked(t.Context(), tenantID, jti)
		must(t, err)
		if got != revoked {
			t.Errorf("%s/%s revoked = %v, want %v", tenantID, jti, got, revoked)
		}
	}
}

// usSession is what a backend returns for se: times truncated, in UTC.
func usSession(se model.Session) model.Session {
	se.AuthTime, se.ExpiresAt, se.LastSeen, se.CreatedAt = usZ(se.AuthTime), usZ(se.ExpiresAt), usZ(se.LastSeen), usZ(se.CreatedAt)
	return se
}

func usAuthRequest(ar model.AuthRequest) model.AuthRequest {
	ar.AuthTime, ar.CreatedAt, ar.ExpiresAt = usZ(ar.AuthTime), usZ(ar.CreatedAt), usZ(ar.ExpiresAt)
	return ar
}

func usCode(c model.AuthCode) model.AuthCode {
	c.AuthTime, c.ExpiresAt, c.CreatedAt, c.UsedAt, c.IssuedExpiresAt = usZ(c.AuthTime), usZ(c.ExpiresAt), usZ(c.CreatedAt), usZ(c.UsedAt), usZ(c.IssuedExpiresAt)
	return c
}

func usRefresh(r model.RefreshToken) model.RefreshToken {
	r.AuthTime, r.CreatedAt, r.ExpiresAt, r.FamilyExpiresAt, r.RotatedAt = usZ(r.AuthTime), usZ(r.CreatedAt), usZ(r.ExpiresAt), usZ(r.FamilyExpiresAt), usZ(r.RotatedAt)
	r.AccessExpiresAt = usZ(r.AccessExpiresAt)
	return r
}

// usZ is us, keeping the zero time zero.
func usZ(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return us(t)
}

var sessionTests = []test{
	{"create and get round-trip every field, expired or not", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		touched := newSession("a", "ses_1", "usr_1", t0)
		touched.LastSeen = t0.Add(time.Minute)
		expired := newSession("a", "ses_2", "usr_1", t0.Add(-24*time.Hour))
		for _, in := range []model.Session{touched, expired} {
			must(t, s.Sessions().Create(ctx, in))
			got, err := s.Sessions().Get(ctx, "a", in.ID)
			must(t, err)
			equal(t, "session "+in.ID, got, usSession(in))
			utc(t, "session times", got.AuthTime, got.ExpiresAt, got.CreatedAt)
		}
		wantErr(t, s.Sessions().Create(ctx, newSession("a", "ses_1", "usr_1", t0)), store.ErrConflict)
		wantErr(t, s.Sessions().Create(ctx, newSession("a", "ses_3", "usr_9", t0)), store.ErrNotFound)
		_, err := s.Sessions().Get(ctx, "a", "ses_9")
		wantErr(t, err, store.ErrNotFound)
	}},
	{"Touch sets LastSeen; Delete removes; ListByUser is newest first", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1", "usr_2", "usr_3")
		for i, id := range []string{"ses_b", "ses_c", "ses_a"} {
			must(t, s.Sessions().Create(ctx, newSession("a", id, "usr_1", t0.Add(time.Duration(i)*time.Hour))))
		}
		must(t, s.Sessions().Create(ctx, newSession("a", "ses_x", "usr_2", t0)))
		must(t, s.Sessions().Touch(ctx, "a", "ses_b", t0.Add(90*time.Minute)))
		got, err := s.Sessions().Get(ctx, "a", "ses_b")
		must(t, err)
		equal(t, "last seen", got.LastSeen, us(t0.Add(90*time.Minute)))
		wantErr(t, s.Sessions().Touch(ctx, "a", "ses_9", t0), store.ErrNotFound)

		list, err := s.Sessions().ListByUser(ctx, "a", "usr_1")
		must(t, err)
		var ids []string
		for _, se := range list {
			ids = append(ids, se.ID)
		}
		equal(t, "newest first", ids, []string{"ses_a", "ses_c", "ses_b"})
		list, err = s.Sessions().ListByUser(ctx, "a", "usr_3")
		must(t, err)
		equal(t, "none", len(list), 0)
		_, err = s.Sessions().ListByUser(ctx, "a", "usr_9")
		wantErr(t, err, store.ErrNotFound)

		must(t, s.Sessions().Delete(ctx, "a", "ses_c"))
		wantErr(t, s.Sessions().Delete(ctx, "a", "ses_c"), store.ErrNotFound)
		_, err = s.Sessions().Get(ctx, "a", "ses_c")
		wantErr(t, err, store.ErrNotFound)
		list, err = s.Sessions().ListByUser(ctx, "a", "usr_1")
		must(t, err)
		equal(t, "after delete", len(list), 2)
	}},
	{"Prune deletes the sessions of every tenant that expired before t", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		seedUsers(t, s, "b", "usr_1")
		must(t, s.Sessions().Create(ctx, newSession("a", "old", "usr_1", t0.Add(-9*time.Hour))))  // expired at t0-1h
		must(t, s.Sessions().Create(ctx, newSession("b", "old", "usr_1", t0.Add(-10*time.Hour)))) // expired at t0-2h
		must(t, s.Sessions().Create(ctx, newSession("a", "edge", "usr_1", t0.Add(-8*time.Hour)))) // expires at t0
		must(t, s.Sessions().Create(ctx, newSession("a", "live", "usr_1", t0)))
		n, err := s.Sessions().Prune(ctx, t0)
		must(t, err)
		equal(t, "pruned", n, 2)
		for _, id := range []string{"edge", "live"} {
			_, err := s.Sessions().Get(ctx, "a", id)
			must(t, err)
		}
		_, err = s.Sessions().Get(ctx, "b", "old")
		wantErr(t, err, store.ErrNotFound)
	}},
}

var authRequestTests = []test{
	{"create and get round-trip every field; MaxAge -1 and 0 survive", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		must(t, s.Applications().Create(ctx, newApp("a", "web")))
		fresh := newAuthRequest("a", "req_1", "web")
		signedIn := newAuthRequest("a", "req_2", "web")
		signedIn.MaxAge, signedIn.IncludeGranted, signedIn.Prompt = 0, false, ""
		signedIn.UserID, signedIn.SessionID, signedIn.AuthTime = "usr_1", "ses_1", t0.Add(time.Second)
		signedIn.AskScopes, signedIn.ConsentDone, signedIn.Denied = []string{"read", "openid"}, true, true
		for _, in := range []model.AuthRequest{fresh, signedIn} {
			must(t, s.AuthRequests().Create(ctx, in))
			got, err := s.AuthRequests().Get(ctx, "a", in.ID)
			must(t, err)
			equal(t, "request "+in.ID, got, usAuthRequest(in))
		}
		wantErr(t, s.AuthRequests().Create(ctx, newAuthRequest("a", "req_1", "web")), store.ErrConflict)
		wantErr(t, s.AuthRequests().Create(ctx, newAuthRequest("a", "req_3", "nope")), store.ErrNotFound)
		_, err := s.AuthRequests().Get(ctx, "a", "req_9")
		wantErr(t, err, store.ErrNotFound)
	}},
	{"Update changes the flow's fields and nothing else", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedUsers(t, s, "a", "usr_1")
		must(t, s.Applications().Create(ctx, newApp("a", "web")))
		must(t, s.Applications().Create(ctx, newApp("a", "other")))
		orig := newAuthRequest("a", "req_1", "web")
		must(t, s.AuthRequests().Create(ctx, orig))

		in := newAuthRequest("a", "req_1", "other") // every fixed field differs…
		in.RedirectURI, in.Scope, in.State, in.Nonce, in.CodeChallenge = "https://evil.example/cb", "admin", "x", "y", "z"
		in.CodeChallengeMethod, in.Audience, in.Prompt, in.MaxAge, in.LoginHint = "plain", "other", "none", 5, "mallory"
		in.IncludeGranted, in.CreatedAt, in.ExpiresAt = false, t0.Add(time.Hour), t0.Add(time.Hour)
		in.UserID, in.SessionID, in.AuthTime = "usr_1", "ses_1", t0.Add(time.Second) // …and the flow's fields are set
		in.AskScopes, in.ConsentDone = []string{"read"}, true
		must(t, s.AuthRequests().Update(ctx, in))
		got, err := s.AuthRequests().Get(ctx, "a", "req_1")
		must(t, err)
		want := orig
		want.UserID, want.SessionID, want.AuthTime, want.AskScopes, want.ConsentDone = "usr_1", "ses_1", t0.Add(time.Second), []string{"read"}, true
		equal(t, "updated", got, usAuthRequest(want))

		got.Denied, got.AskScopes = true, nil
		must(t, s.AuthRequests().Update(ctx, got))
		got2, err := s.AuthRequests().Get(ctx, "a", "req_1")
		must(t, err)
		equal(t, "denied", got2, got)

		// Back to anonymous (prompt=login starts over).
		got2.UserID, got2.SessionID, got2.AuthTime, got2.ConsentDone, got2.Denied = "", "", time.Time{}, false, false
		must(t, s.AuthRequests().Update(ctx, got2))
		got3, err := s.AuthRequests().Get(ctx, "a", "req_1")
		must(t, err)
		equal(t, "cleared", got3, usAuthRequest(orig))

		bad := got3
		bad.UserID = "usr_9"
		wantErr(t, s.AuthRequests().Update(ctx, bad), store.ErrNotFound)
		missing := newAuthRequest("a", "req_9", "web")
		wantErr(t, s.AuthRequests().Update(ctx, missing), store.ErrNotFound)
	}},
	{"Delete and Prune", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		seed(t, s, "b")
		must(t, s.Applications().Create(ctx, newApp("a", "web")))
		must(t, s.Applications().Create(ctx, newApp("b", "web")))
		for i, id := range []string{"old", "edge", "live"} {
			r := newAuthRequest("a", id, "web")
			r.ExpiresAt = t0.Add(time.Duration(i-1) * time.Minute)
			must(t, s.AuthRequests().Create(ctx, r))
		}
		old := newAuthRequest("b", "old", "web")
		old.ExpiresAt = t0.Add(-time.Hour)
		must(t, s.AuthRequests().Create(ctx, old))
		n, err := s.AuthRequests().Prune(ctx, t0)
		must(t, err)
		equal(t, "pruned", n, 2)
		_, err = s.AuthRequests().Get(ctx, "a", "old")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.AuthRequests().Get(ctx, "a", "edge")
		must(t, err)
		must(t, s.AuthRequests().Delete(ctx, "a", "edge"))
		wantErr(t, s.AuthRequests().Delete(ctx, "a", "edge"), store.ErrNotFound)
		_, err = s.AuthRequests().Get(ctx, "a", "live")
		must(t, err)
	}},
}

// seedClient seeds tenant with users usr_1 and usr_2 and an application
// "web" (and "other").
func seedClient(t *testing.T, s store.Store, tenantID string) {
	t.Helper()
	seedUsers(t, s, tenantID, "usr_1", "usr_2")
	must(t, s.Applications().Create(t.Context(), newApp(tenantID, "web")))
	must(t, s.Applications().Create(t.Context(), newApp(tenantID, "other")))
}

var codeTests = []test{
	{"RFC 6749 §4.1.2 a code redeems once; a replay gets the code and ErrReused", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		in := newCode("a", "h1", "web", "usr_1")
		must(t, s.Codes().Create(ctx, in))
		wantErr(t, s.Codes().Create(ctx, in), store.ErrConflict)

		at := t0.Add(10 * time.Second)
		got, err := s.Codes().Redeem(ctx, "a", "h1", at)
		must(t, err)
		want := in
		want.UsedAt = at
		equal(t, "redeemed", got, usCode(want))
		utc(t, "code times", got.AuthTime, got.ExpiresAt, got.CreatedAt, got.UsedAt)

		must(t, s.Codes().SetIssued(ctx, "a", "h1", "jti-1", t0.Add(time.Hour), "fam_1"))
		replay, err := s.Codes().Redeem(ctx, "a", "h1", t0.Add(20*time.Second))
		wantErr(t, err, store.ErrReused)
		want.IssuedJTI, want.IssuedExpiresAt, want.FamilyID = "jti-1", t0.Add(time.Hour), "fam_1"
		equal(t, "replay returns the code, first UsedAt and what it issued", replay, usCode(want))

		_, err = s.Codes().Redeem(ctx, "a", "h9", at)
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Codes().Redeem(ctx, "b", "h1", at)
		wantErr(t, err, store.ErrNotFound)
		wantErr(t, s.Codes().SetIssued(ctx, "a", "h9", "j", t0, ""), store.ErrNotFound)
		wantErr(t, s.Codes().Create(ctx, newCode("a", "h2", "nope", "usr_1")), store.ErrNotFound)
		wantErr(t, s.Codes().Create(ctx, newCode("a", "h2", "web", "usr_9")), store.ErrNotFound)
	}},
	{"RFC 9700 §4.5 concurrent redemptions of one code: exactly one wins", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		must(t, s.Codes().Create(ctx, newCode("a", "h1", "web", "usr_1")))
		results := race(func(i int) (model.AuthCode, error) {
			return s.Codes().Redeem(ctx, "a", "h1", t0.Add(time.Duration(i+1)*time.Second))
		})
		winner := exactlyOne(t, results)
		for i, r := range results {
			equal(t, fmt.Sprintf("racer %d's code", i), r.v.Hash, "h1")
			equal(t, fmt.Sprintf("racer %d's UsedAt", i), r.v.UsedAt, us(t0.Add(time.Duration(winner+1)*time.Second)))
		}
	}},
	{"a redemption rolled back with its transaction leaves the code unused", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		must(t, s.Codes().Create(ctx, newCode("a", "h1", "web", "usr_1")))
		err := s.InTx(ctx, func(r store.Repos) error {
			if _, err := r.Codes().Redeem(ctx, "a", "h1", t0); err != nil {
				return err
			}
			_, err := r.Codes().Redeem(ctx, "a", "h1", t0)
			wantErr(t, err, store.ErrReused)
			return errAbort
		})
		wantErr(t, err, errAbort)
		_, err = s.Codes().Redeem(ctx, "a", "h1", t0)
		must(t, err)
	}},
	{"Get reads a code without redeeming it, before and after its redemption", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		in := newCode("a", "h1", "web", "usr_1")
		must(t, s.Codes().Create(ctx, in))
		got, err := s.Codes().Get(ctx, "a", "h1")
		must(t, err)
		equal(t, "unused code", got, usCode(in))
		got, err = s.Codes().Get(ctx, "a", "h1")
		must(t, err)
		equal(t, "still unused after a second read", got.UsedAt, time.Time{})
		_, err = s.Codes().Redeem(ctx, "a", "h1", t0)
		must(t, err)
		got, err = s.Codes().Get(ctx, "a", "h1")
		must(t, err)
		equal(t, "UsedAt after the redemption", got.UsedAt, us(t0))
		_, err = s.Codes().Get(ctx, "a", "h9")
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Codes().Get(ctx, "b", "h1")
		wantErr(t, err, store.ErrNotFound)
	}},
	{"Prune deletes the codes of every tenant that expired before t", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		seedClient(t, s, "b")
		for i, h := range []string{"old", "edge", "live"} {
			c := newCode("a", h, "web", "usr_1")
			c.ExpiresAt = t0.Add(time.Duration(i-1) * time.Minute)
			must(t, s.Codes().Create(ctx, c))
		}
		old := newCode("b", "old", "web", "usr_1")
		old.ExpiresAt = t0.Add(-time.Hour)
		must(t, s.Codes().Create(ctx, old))
		n, err := s.Codes().Prune(ctx, t0)
		must(t, err)
		equal(t, "pruned", n, 2)
		_, err = s.Codes().Redeem(ctx, "a", "old", t0)
		wantErr(t, err, store.ErrNotFound)
		_, err = s.Codes().Redeem(ctx, "a", "edge", t0)
		must(t, err)
	}},
}

var refreshTests = []test{
	{"create and get round-trip every field", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		in := newRefresh("a", "rt1", "fam_1", "web", "usr_1")
		must(t, s.RefreshTokens().Create(ctx, in))
		got, err := s.RefreshTokens().Get(ctx, "a", "rt1")
		must(t, err)
		equal(t, "token", got, usRefresh(in))
		utc(t, "token times", got.AuthTime, got.CreatedAt, got.ExpiresAt, got.FamilyExpiresAt, got.AccessExpiresAt)
		// A token stored without its access token (as before they were
		// recorded) comes back without one.
		bare := withAccess(newRefresh("a", "rt0", "fam_0", "web", "usr_1"), "", time.Time{})
		must(t, s.RefreshTokens().Create(ctx, bare))
		got, err = s.RefreshTokens().Get(ctx, "a", "rt0")
		must(t, err)
		equal(t, "token without access token", got, usRefresh(bare))
		wantErr(t, s.RefreshTokens().Create(ctx, in), store.ErrConflict)
		wantErr(t, s.RefreshTokens().Create(ctx, newRefresh("a", "rt2", "fam_2", "nope", "usr_1")), store.ErrNotFound)
		wantErr(t, s.RefreshTokens().Create(ctx, newRefresh("a", "rt2", "fam_2", "web", "usr_9")), store.ErrNotFound)
		_, err = s.RefreshTokens().Get(ctx, "a", "rt9")
		wantErr(t, err, store.ErrNotFound)
	}},
	{"RFC 9700 §4.14.2 Rotate replaces the token in its family; reuse is ErrReused with the old token", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		first := newRefresh("a", "rt1", "fam_1", "web", "usr_1")
		must(t, s.RefreshTokens().Create(ctx, first))

		next := newRefresh("a", "rt2", "forged", "other", "usr_2") // family identity and grant come from rt1
		next.Scopes, next.SessionID, next.FamilyExpiresAt = []string{"openid", "offline_access"}, "ses_2", t0.Add(1000*time.Hour)
		next.Audience, next.AuthTime = "api.elsewhere.example.com", t0.Add(5*time.Hour)
		next.CreatedAt, next.ExpiresAt, next.RotatedAt, next.Revoked = time.Time{}, t0.Add(48*time.Hour), t0, true
		at := t0.Add(time.Hour)
		got, err := s.RefreshTokens().Rotate(ctx, "a", "rt1", next, at)
		must(t, err)
		want := next
		want.FamilyID, want.ClientID, want.UserID, want.FamilyExpiresAt = "fam_1", "web", "usr_1", first.FamilyExpiresAt
		// RFC 6749 §6: the new token's scope is identical to the old one's.
		want.Scopes, want.SessionID, want.Audience, want.AuthTime = first.Scopes, first.SessionID, first.Audience, first.AuthTime
		want.CreatedAt, want.RotatedAt, want.Revoked = at, time.Time{}, false
		equal(t, "next", got, usRefresh(want))
		stored, err := s.RefreshTokens().Get(ctx, "a", "rt2")
		must(t, err)
		equal(t, "stored next", stored, got)
		old, err := s.RefreshTokens().Get(ctx, "a", "rt1")
		must(t, err)
		equal(t, "old rotated at", old.RotatedAt, us(at))

		// Reuse of rt1: nothing stored, rt1 returned.
		reused, err := s.RefreshTokens().Rotate(ctx, "a", "rt1", newRefresh("a", "rt3", "fam_1", "web", "usr_1"), at.Add(time.Minute))
		wantErr(t, err, store.ErrReused)
		equal(t, "reused token", reused, old)
		_, err = s.RefreshTokens().Get(ctx, "a", "rt3")
		wantErr(t, err, store.ErrNotFound)

		// The chain goes on from rt2.
		_, err = s.RefreshTokens().Rotate(ctx, "a", "rt2", newRefresh("a", "rt3", "", "", ""), at.Add(time.Minute))
		must(t, err)
		rt3, err := s.RefreshTokens().Get(ctx, "a", "rt3")
		must(t, err)
		equal(t, "rt3 family", rt3.FamilyID, "fam_1")

		// A taken hash fails with ErrConflict and leaves the old token usable.
		_, err = s.RefreshTokens().Rotate(ctx, "a", "rt3", newRefresh("a", "rt1", "", "", ""), at)
		wantErr(t, err, store.ErrConflict)
		rt3, err = s.RefreshTokens().Get(ctx, "a", "rt3")
		must(t, err)
		equal(t, "rt3 not rotated", rt3.RotatedAt, time.Time{})

		_, err = s.RefreshTokens().Rotate(ctx, "a", "rt9", newRefresh("a", "rt4", "", "", ""), at)
		wantErr(t, err, store.ErrNotFound)
	}},
	{"RevokeFamily revokes every token of the family; rotating a revoked family is ErrReused", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		must(t, s.RefreshTokens().Create(ctx, newRefresh("a", "rt1", "fam_1", "web", "usr_1")))
		_, err := s.RefreshTokens().Rotate(ctx, "a", "rt1", newRefresh("a", "rt2", "", "", ""), t0)
		must(t, err)
		must(t, s.RefreshTokens().Create(ctx, newRefresh("a", "other", "fam_2", "web", "usr_1")))
		must(t, s.RefreshTokens().RevokeFamily(ctx, "a", "fam_1"))
		must(t, s.RefreshTokens().RevokeFamily(ctx, "a", "fam_1"))
		must(t, s.RefreshTokens().RevokeFamily(ctx, "a", "fam_9"))
		for h, want := range map[string]bool{"rt1": true, "rt2": true, "other": false} {
			tok, err := s.RefreshTokens().Get(ctx, "a", h)
			must(t, err)
			equal(t, h+" revoked", tok.Revoked, want)
		}
		old, err := s.RefreshTokens().Rotate(ctx, "a", "rt2", newRefresh("a", "rt3", "", "", ""), t0)
		wantErr(t, err, store.ErrReused)
		equal(t, "old returned", old.Hash, "rt2")
		equal(t, "old revoked", old.Revoked, true)
		equal(t, "old not rotated", old.RotatedAt, time.Time{})
		_, err = s.RefreshTokens().Get(ctx, "a", "rt3")
		wantErr(t, err, store.ErrNotFound)
	}},
	{"RevokeByUser revokes the user's families, optionally of one client, and counts them", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		must(t, s.RefreshTokens().Create(ctx, newRefresh("a", "w1", "fw1", "web", "usr_1")))
		_, err := s.RefreshTokens().Rotate(ctx, "a", "w1", newRefresh("a", "w1b", "", "", ""), t0)
		must(t, err)
		must(t, s.RefreshTokens().Create(ctx, newRefresh("a", "w2", "fw2", "web", "usr_1")))
		must(t, s.RefreshTokens().Create(ctx, newRefresh("a", "o1", "fo1", "other", "usr_1")))
		must(t, s.RefreshTokens().Create(ctx, newRefresh("a", "x1", "fx1", "web", "usr_2")))

		n, err := s.RefreshTokens().RevokeByUser(ctx, "a", "usr_1", "web")
		must(t, err)
		equal(t, "families of usr_1 at web", n, 2)
		n, err = s.RefreshTokens().RevokeByUser(ctx, "a", "usr_1", "web")
		must(t, err)
		equal(t, "again", n, 0)
		for h, want := range map[string]bool{"w1": true, "w1b": true, "w2": true, "o1": false, "x1": false} {
			tok, err := s.RefreshTokens().Get(ctx, "a", h)
			must(t, err)
			equal(t, h+" revoked", tok.Revoked, want)
		}
		n, err = s.RefreshTokens().RevokeByUser(ctx, "a", "usr_1", "")
		must(t, err)
		equal(t, "every other family of usr_1", n, 1)
		tok, err := s.RefreshTokens().Get(ctx, "a", "x1")
		must(t, err)
		equal(t, "another user's token", tok.Revoked, false)
		n, err = s.RefreshTokens().RevokeByUser(ctx, "a", "usr_9", "")
		must(t, err)
		equal(t, "unknown user", n, 0)
	}},
	{"no grant escapes a delete: one added while the application is revoked and deleted is revoked too, or refused", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		live := time.Now().Add(time.Hour)
		for round := range 10 {
			client := fmt.Sprintf("gone-%d", round)
			must(t, s.Applications().Create(ctx, newApp("a", client)))
			var mu sync.Mutex
			var stored []string
			var wg sync.WaitGroup
			start := make(chan struct{})
			for w := range 4 {
				wg.Go(func() {
					<-start
					for i := 0; ; i++ {
						jti := fmt.Sprintf("at-%s-%d-%d", client, w, i)
						rt := withAccess(newRefresh("a", jti, "f-"+jti, client, "usr_1"), jti, live)
						if err := s.RefreshTokens().Create(ctx, rt); err != nil {
							return // the application is gone
						}
						mu.Lock()
						stored = append(stored, jti)
						mu.Unlock()
					}
				})
			}
			close(start)
			// Delete only once grants are being stored, so that every round
			// checks some: a round with nothing stored would pass vacuously.
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Microsecond) {
				mu.Lock()
				n := len(stored)
				mu.Unlock()
				if n > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("round %d: no grant of %s was stored in 10s", round, client)
				}
			}
			must(t, s.InTx(ctx, func(tx store.Repos) error {
				if _, err := tx.RefreshTokens().RevokeByClient(ctx, "a", client); err != nil {
					return err
				}
				return tx.Applications().Delete(ctx, "a", client, 0)
			}))
			wg.Wait()
			for _, jti := range stored {
				revoked, err := s.Revocations().IsRevoked(ctx, "a", jti)
				must(t, err)
				if !revoked {
					t.Fatalf("round %d: the access token of a grant stored before the delete (%s) is not revoked", round, jti)
				}
			}
		}
	}},
	{"RevokeByClient revokes every user's families of the application, with their access tokens, and counts them", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		seedClient(t, s, "b")
		live := time.Now().Add(time.Hour)
		rts := s.RefreshTokens()
		must(t, rts.Create(ctx, withAccess(newRefresh("a", "w1", "fw1", "web", "usr_1"), "at-w1", live)))
		must(t, rts.Create(ctx, withAccess(newRefresh("a", "w2", "fw2", "web", "usr_2"), "at-w2", live)))
		must(t, rts.Create(ctx, withAccess(newRefresh("a", "o1", "fo1", "other", "usr_1"), "at-o1", live)))
		must(t, rts.Create(ctx, withAccess(newRefresh("b", "bw", "fbw", "web", "usr_1"), "at-bw", live)))
		n, err := rts.RevokeByClient(ctx, "a", "web")
		must(t, err)
		equal(t, "families of web in a", n, 2)
		n, err = rts.RevokeByClient(ctx, "a", "web")
		must(t, err)
		equal(t, "again", n, 0)
		for tenant, want := range map[string]map[string]bool{
			"a": {"at-w1": true, "at-w2": true, "at-o1": false},
			"b": {"at-bw": false},
		} {
			wantRevoked(t, s, tenant, want)
		}
	}},
	{"RFC 7009 §2.1 RevokeFamily revokes the unexpired access tokens of every token of the family, and no other", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		seedClient(t, s, "b")
		// The store decides what has expired by its own clock: real time.
		now := time.Now()
		live, soon, gone := now.Add(time.Hour), now.Add(10*time.Minute), now.Add(-time.Minute)
		rts := s.RefreshTokens()
		// fam_1: the code exchange's token, two rotations (the first
		// issued an access token that has expired since) and a token stored
		// without its access token.
		must(t, rts.Create(ctx, withAccess(newRefresh("a", "rt1", "fam_1", "web", "usr_1"), "at1", live)))
		_, err := rts.Rotate(ctx, "a", "rt1", withAccess(newRefresh("a", "rt2", "", "", ""), "at2", gone), t0)
		must(t, err)
		_, err = rts.Rotate(ctx, "a", "rt2", withAccess(newRefresh("a", "rt3", "", "", ""), "at3", soon), t0)
		must(t, err)
		_, err = rts.Rotate(ctx, "a", "rt3", withAccess(newRefresh("a", "rt4", "", "", ""), "", time.Time{}), t0)
		must(t, err)
		// Another family of the same user and client, and a family with the
		// same ID and jti in another tenant.
		must(t, rts.Create(ctx, withAccess(newRefresh("a", "rt9", "fam_2", "web", "usr_1"), "at9", live)))
		must(t, rts.Create(ctx, withAccess(newRefresh("b", "rt1", "fam_1", "web", "usr_1"), "at1", live)))

		must(t, rts.RevokeFamily(ctx, "a", "fam_1"))
		wantRevoked(t, s, "a", map[string]bool{"at1": true, "at2": false, "at3": true, "at9": false})
		wantRevoked(t, s, "b", map[string]bool{"at1": false})
		// The revocations last as long as the access tokens: they were
		// recorded with their expiry.
		n, err := s.Revocations().Prune(ctx, soon.Add(time.Minute))
		must(t, err)
		equal(t, "revocations pruned after at3 expired", n, 1)
		wantRevoked(t, s, "a", map[string]bool{"at1": true, "at3": false})

		// Idempotent, for a revoked family and for an unknown one.
		must(t, rts.RevokeFamily(ctx, "a", "fam_1"))
		must(t, rts.RevokeFamily(ctx, "a", "fam_9"))
		wantRevoked(t, s, "a", map[string]bool{"at1": true, "at9": false})
		// A jti already revoked (at /oauth2/revoke) is not an error.
		must(t, s.Revocations().Revoke(ctx, model.Revocation{TenantID: "a", JTI: "at9", ExpiresAt: live}))
		must(t, rts.RevokeFamily(ctx, "a", "fam_2"))
		wantRevoked(t, s, "a", map[string]bool{"at9": true})
		wantRevoked(t, s, "b", map[string]bool{"at1": false})
	}},
	{"RFC 7009 §2.1 RevokeByUser revokes the unexpired access tokens of the families it revokes", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		seedClient(t, s, "b")
		live, gone := time.Now().Add(time.Hour), time.Now().Add(-time.Minute)
		rts := s.RefreshTokens()
		must(t, rts.Create(ctx, withAccess(newRefresh("a", "w1", "fw1", "web", "usr_1"), "at-w1", live)))
		_, err := rts.Rotate(ctx, "a", "w1", withAccess(newRefresh("a", "w1b", "", "", ""), "at-w1b", live), t0)
		must(t, err)
		must(t, rts.Create(ctx, withAccess(newRefresh("a", "w2", "fw2", "web", "usr_1"), "at-w2", gone)))
		must(t, rts.Create(ctx, withAccess(newRefresh("a", "o1", "fo1", "other", "usr_1"), "at-o1", live)))
		must(t, rts.Create(ctx, withAccess(newRefresh("a", "x1", "fx1", "web", "usr_2"), "at-x1", live)))
		must(t, rts.Create(ctx, withAccess(newRefresh("b", "w1", "fw1", "web", "usr_1"), "at-w1", live)))

		n, err := rts.RevokeByUser(ctx, "a", "usr_1", "web")
		must(t, err)
		equal(t, "families of usr_1 at web", n, 2)
		wantRevoked(t, s, "a", map[string]bool{"at-w1": true, "at-w1b": true, "at-w2": false, "at-o1": false, "at-x1": false})
		n, err = rts.RevokeByUser(ctx, "a", "usr_1", "web")
		must(t, err)
		equal(t, "again", n, 0)
		n, err = rts.RevokeByUser(ctx, "a", "usr_1", "")
		must(t, err)
		equal(t, "every other family of usr_1", n, 1)
		wantRevoked(t, s, "a", map[string]bool{"at-w1": true, "at-w1b": true, "at-w2": false, "at-o1": true, "at-x1": false})
		wantRevoked(t, s, "b", map[string]bool{"at-w1": false})
	}},
	{"Prune deletes tokens whose family expired before t", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		seedClient(t, s, "b")
		for i, f := range []string{"old", "edge", "live"} {
			r := newRefresh("a", f+"1", f, "web", "usr_1")
			r.FamilyExpiresAt = t0.Add(time.Duration(i-1) * time.Hour)
			r.ExpiresAt = t0.Add(-time.Hour) // idle-expired: not what Prune looks at
			must(t, s.RefreshTokens().Create(ctx, r))
		}
		_, err := s.RefreshTokens().Rotate(ctx, "a", "old1", newRefresh("a", "old2", "", "", ""), t0.Add(-2*time.Hour))
		must(t, err)
		old := newRefresh("b", "old1", "old", "web", "usr_1")
		old.FamilyExpiresAt = t0.Add(-time.Hour)
		must(t, s.RefreshTokens().Create(ctx, old))
		n, err := s.RefreshTokens().Prune(ctx, t0)
		must(t, err)
		equal(t, "pruned", n, 3)
		for h, gone := range map[string]bool{"old1": true, "old2": true, "edge1": false, "live1": false} {
			_, err := s.RefreshTokens().Get(ctx, "a", h)
			if gone {
				wantErr(t, err, store.ErrNotFound)
			} else {
				must(t, err)
			}
		}
	}},
	{"RFC 9700 §4.14.2 concurrent rotations of one token: exactly one wins", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		must(t, s.RefreshTokens().Create(ctx, newRefresh("a", "rt0", "fam", "web", "usr_1")))
		results := race(func(i int) (model.RefreshToken, error) {
			return s.RefreshTokens().Rotate(ctx, "a", "rt0", newRefresh("a", fmt.Sprintf("next%d", i), "", "", ""), t0)
		})
		winner := exactlyOne(t, results)
		for i, r := range results {
			if i == winner {
				equal(t, "winner's token", r.v.Hash, fmt.Sprintf("next%d", i))
				continue
			}
			equal(t, fmt.Sprintf("racer %d gets the old token", i), r.v.Hash, "rt0")
			_, err := s.RefreshTokens().Get(ctx, "a", fmt.Sprintf("next%d", i))
			wantErr(t, err, store.ErrNotFound)
		}
	}},
	{"RFC 9700 §4.14.2 Retire is a single use without a successor: concurrent callers, one wins; a revoked family is ErrReused unrotated", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		must(t, s.RefreshTokens().Create(ctx, newRefresh("a", "last", "fam", "web", "usr_1")))
		results := race(func(i int) (model.RefreshToken, error) {
			return s.RefreshTokens().Retire(ctx, "a", "last", t0.Add(time.Duration(i+1)*time.Second))
		})
		winner := exactlyOne(t, results)
		for i, r := range results {
			equal(t, fmt.Sprintf("racer %d's token", i), r.v.Hash, "last")
			equal(t, fmt.Sprintf("racer %d's RotatedAt", i), r.v.RotatedAt, us(t0.Add(time.Duration(winner+1)*time.Second)))
		}
		must(t, s.RefreshTokens().Create(ctx, newRefresh("a", "gone", "fam2", "web", "usr_1")))
		must(t, s.RefreshTokens().RevokeFamily(ctx, "a", "fam2"))
		got, err := s.RefreshTokens().Retire(ctx, "a", "gone", t0)
		wantErr(t, err, store.ErrReused)
		equal(t, "revoked, not rotated", got.RotatedAt.IsZero() && got.Revoked, true)
		_, err = s.RefreshTokens().Retire(ctx, "a", "nope", t0)
		wantErr(t, err, store.ErrNotFound)
	}},
	{"a family revoked while it rotates ends with every token and its access token revoked", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		for round := range 5 {
			fam := fmt.Sprintf("fam%d", round)
			h := func(i int) string { return fmt.Sprintf("%s-%d", fam, i) }
			live := time.Now().Add(time.Hour)
			must(t, s.RefreshTokens().Create(ctx, withAccess(newRefresh("a", h(0), fam, "web", "usr_1"), "at-"+h(0), live)))
			made := make(chan int, 1)
			// rotating is closed after the first rotation, so the revocation
			// always meets a family in the middle of rotating.
			rotating := make(chan struct{})
			go func() {
				i := 0
				for ; i < 200; i++ {
					next := withAccess(newRefresh("a", h(i+1), "", "", ""), "at-"+h(i+1), live)
					if _, err := s.RefreshTokens().Rotate(ctx, "a", h(i), next, t0); err != nil {
						break
					}
					if i == 0 {
						close(rotating)
					}
				}
				if i == 0 {
					close(rotating)
				}
				made <- i
			}()
			<-rotating
			must(t, s.RefreshTokens().RevokeFamily(ctx, "a", fam))
			last := <-made
			if last == 0 {
				t.Fatalf("round %d: the first rotation failed; nothing raced the revocation", round)
			}
			for i := 0; i <= last; i++ {
				tok, err := s.RefreshTokens().Get(ctx, "a", h(i))
				must(t, err)
				if !tok.Revoked {
					t.Fatalf("round %d: token %d of %d survived the family's revocation", round, i, last)
				}
				// Its access token too (RFC 7009 §2.1), the last
				// rotation's included.
				revoked, err := s.Revocations().IsRevoked(ctx, "a", tok.AccessJTI)
				must(t, err)
				if !revoked {
					t.Fatalf("round %d: the access token of token %d of %d survived the family's revocation", round, i, last)
				}
			}
		}
	}},
}

var throttleTests = []test{
	{"Prune deletes idle keys of every tenant and keeps recent or locked ones", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		seed(t, s, "b")
		fail := func(tenant, key string, at time.Time, max int) {
			t.Helper()
			_, err := s.Throttles().Fail(ctx, tenant, key, at, time.Minute, max, time.Hour)
			must(t, err)
		}
		old := t0.Add(-48 * time.Hour)
		fail("a", "user:idle", old, 0)                       // idle, never locked
		fail("b", "ip:idle", old, 0)                         // idle, other tenant
		fail("a", "user:locked", t0.Add(-90*time.Minute), 1) // old window, lock ended 30 min ago
		fail("a", "user:recent", t0.Add(-time.Minute), 0)    // window still recent
		fail("a", "user:still-locked", t0.Add(-30*time.Minute), 1)
		// An old window whose lock still runs (each failure extends it): the
		// lockout must hold, however old the window.
		_, err := s.Throttles().Fail(ctx, "a", "user:old-but-locked", t0.Add(-2*time.Hour), time.Minute, 1, 3*time.Hour)
		must(t, err)
		n, err := s.Throttles().Prune(ctx, t0.Add(-time.Hour), t0)
		must(t, err)
		equal(t, "pruned", n, 3)
		for _, k := range []struct{ tenant, key string }{{"a", "user:idle"}, {"b", "ip:idle"}, {"a", "user:locked"}} {
			th, err := s.Throttles().Get(ctx, k.tenant, k.key)
			must(t, err)
			equal(t, k.key+" gone", th, model.Throttle{})
		}
		for _, key := range []string{"user:recent", "user:still-locked", "user:old-but-locked"} {
			th, err := s.Throttles().Get(ctx, "a", key)
			must(t, err)
			if th.Failures != 1 {
				t.Fatalf("%s pruned: %+v", key, th)
			}
		}
	}},
	{"Fail counts within the window, locks at max, extends the lock, and restarts after the window", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		got, err := s.Throttles().Get(ctx, "a", "user:usr_1")
		must(t, err)
		equal(t, "none", got, model.Throttle{})

		const window, max, lockFor = time.Minute, 3, 5 * time.Minute
		fail := func(at time.Time) model.Throttle {
			t.Helper()
			th, err := s.Throttles().Fail(ctx, "a", "user:usr_1", at, window, max, lockFor)
			must(t, err)
			utc(t, "throttle times", th.WindowStart)
			return th
		}
		th := func(n int, start, locked time.Time) model.Throttle {
			return model.Throttle{TenantID: "a", Key: "user:usr_1", Failures: n, WindowStart: us(start), LockedUntil: usZ(locked)}
		}
		equal(t, "1st", fail(t0), th(1, t0, time.Time{}))
		equal(t, "2nd", fail(t0.Add(10*time.Second)), th(2, t0, time.Time{}))
		equal(t, "3rd locks", fail(t0.Add(20*time.Second)), th(3, t0, t0.Add(20*time.Second+lockFor)))
		equal(t, "4th extends", fail(t0.Add(30*time.Second)), th(4, t0, t0.Add(30*time.Second+lockFor)))
		equal(t, "at the window's end: same window", fail(t0.Add(window)), th(5, t0, t0.Add(window+lockFor)))
		stored, err := s.Throttles().Get(ctx, "a", "user:usr_1")
		must(t, err)
		equal(t, "stored", stored, th(5, t0, t0.Add(window+lockFor)))
		after := t0.Add(window + time.Microsecond)
		equal(t, "after the window: a new one, the lock kept", fail(after), th(1, after, t0.Add(window+lockFor)))

		must(t, s.Throttles().Reset(ctx, "a", "user:usr_1"))
		must(t, s.Throttles().Reset(ctx, "a", "user:usr_1"))
		got, err = s.Throttles().Get(ctx, "a", "user:usr_1")
		must(t, err)
		equal(t, "after reset", got, model.Throttle{})
		equal(t, "fresh after reset", fail(t0), th(1, t0, time.Time{}))
	}},
	{"max 1 locks at once; max 0 never locks; keys and tenants are independent", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		seed(t, s, "b")
		th, err := s.Throttles().Fail(ctx, "a", "ip:192.0.2.1", t0, time.Minute, 1, time.Hour)
		must(t, err)
		equal(t, "max 1", th.LockedUntil, us(t0.Add(time.Hour)))
		for range 5 {
			th, err = s.Throttles().Fail(ctx, "a", "ip:192.0.2.2", t0, time.Minute, 0, time.Hour)
			must(t, err)
		}
		equal(t, "max 0 counts", th.Failures, 5)
		equal(t, "max 0 never locks", th.LockedUntil, time.Time{})
		other, err := s.Throttles().Get(ctx, "b", "ip:192.0.2.1")
		must(t, err)
		equal(t, "other tenant", other, model.Throttle{})
		_, err = s.Throttles().Fail(ctx, "nope", "ip:192.0.2.1", t0, time.Minute, 1, time.Hour)
		wantErr(t, err, store.ErrNotFound)
	}},
	{"concurrent failures are all counted", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		results := race(func(int) (model.Throttle, error) {
			return s.Throttles().Fail(ctx, "a", "ip:198.51.100.7", t0, time.Minute, racers, time.Hour)
		})
		seen := make(map[int]bool)
		for i, r := range results {
			must(t, r.err)
			if seen[r.v.Failures] {
				t.Fatalf("racer %d: count %d returned twice", i, r.v.Failures)
			}
			seen[r.v.Failures] = true
		}
		got, err := s.Throttles().Get(ctx, "a", "ip:198.51.100.7")
		must(t, err)
		equal(t, "failures", got.Failures, racers)
		equal(t, "locked at max", got.LockedUntil, us(t0.Add(time.Hour)))
	}},
}
