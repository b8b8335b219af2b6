package storetest

import (
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/store"
)

// grantRenameTests check that a scope rename reaches the grants already
// made (issue 9, defect 5).
var grantRenameTests = []test{
	{"RFC 6749 §6 Rename rewrites the scopes of refresh tokens, codes and authorization requests", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		seedClient(t, s, "b")
		for _, n := range []string{"rn:old", "rn:oldish", "rn:new2"} {
			must(t, s.Scopes().Create(ctx, newScope("a", "bank", n)))
		}
		// Tenant a: a family with a rotated and a live token, a code in
		// flight, a pending request and one kept for a code. Tenant b has
		// the same name in its grants and must keep it.
		rt := newRefresh("a", "rt1", "fam", "web", "usr_1")
		rt.Scopes = []string{"openid", "offline_access", "rn:old", "rn:oldish"}
		must(t, s.RefreshTokens().Create(ctx, rt))
		next := newRefresh("a", "rt2", "fam", "web", "usr_1")
		next.Scopes = rt.Scopes
		_, err := s.RefreshTokens().Rotate(ctx, "a", "rt1", next, t0.Add(time.Minute))
		must(t, err)
		merged := newRefresh("a", "rt3", "fam3", "web", "usr_1")
		merged.Scopes = []string{"rn:new", "rn:old"} // a stale name already taken by the new one
		must(t, s.RefreshTokens().Create(ctx, merged))
		code := newCode("a", "c1", "web", "usr_1")
		code.Scopes = []string{"openid", "rn:old"}
		must(t, s.Codes().Create(ctx, code))
		ar := newAuthRequest("a", "req1", "web")
		ar.Scope, ar.AskScopes = "openid rn:old rn:oldish", []string{"rn:old"}
		must(t, s.AuthRequests().Create(ctx, ar))
		other := newRefresh("b", "rt1", "fam", "web", "usr_1")
		other.Scopes = []string{"rn:old"}
		must(t, s.RefreshTokens().Create(ctx, other))

		_, err = s.Scopes().Rename(ctx, "a", "rn:old", "rn:new", 0)
		must(t, err)

		for hash, want := range map[string][]string{
			"rt1": {"openid", "offline_access", "rn:new", "rn:oldish"},
			"rt2": {"openid", "offline_access", "rn:new", "rn:oldish"},
			"rt3": {"rn:new"},
		} {
			got, err := s.RefreshTokens().Get(ctx, "a", hash)
			must(t, err)
			equal(t, "refresh token "+hash+" scopes", got.Scopes, want)
		}
		got, err := s.RefreshTokens().Get(ctx, "b", "rt1")
		must(t, err)
		equal(t, "other tenant's refresh token", got.Scopes, []string{"rn:old"})
		c, err := s.Codes().Redeem(ctx, "a", "c1", t0)
		must(t, err)
		equal(t, "code scopes", c.Scopes, []string{"openid", "rn:new"})
		gotAR, err := s.AuthRequests().Get(ctx, "a", "req1")
		must(t, err)
		equal(t, "requested scope", gotAR.Scope, "openid rn:new rn:oldish")
		equal(t, "asked scopes", gotAR.AskScopes, []string{"rn:new"})
	}},
	{"RFC 6749 §6 a rotation that read its token before a rename stores the renamed scopes", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "rn:old")))
		rt := newRefresh("a", "rt1", "fam", "web", "usr_1")
		rt.Scopes = []string{"offline_access", "rn:old"}
		must(t, s.RefreshTokens().Create(ctx, rt))
		// The token endpoint reads the token, then the rename commits, then
		// the rotation runs with what was read.
		read, err := s.RefreshTokens().Get(ctx, "a", "rt1")
		must(t, err)
		_, err = s.Scopes().Rename(ctx, "a", "rn:old", "rn:new", 0)
		must(t, err)
		next := read
		next.Hash = "rt2"
		got, err := s.RefreshTokens().Rotate(ctx, "a", "rt1", next, t0.Add(time.Minute))
		must(t, err)
		equal(t, "rotated token's scopes", got.Scopes, []string{"offline_access", "rn:new"})
	}},
	{"Rename of a scope whose name holds LIKE wildcards rewrites only that name", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "a_b%")))
		rt := newRefresh("a", "rt1", "fam", "web", "usr_1")
		rt.Scopes = []string{"axb", "a_b%", "aXbY"}
		must(t, s.RefreshTokens().Create(ctx, rt))
		_, err := s.Scopes().Rename(ctx, "a", "a_b%", "ab", 0)
		must(t, err)
		got, err := s.RefreshTokens().Get(ctx, "a", "rt1")
		must(t, err)
		equal(t, "scopes", got.Scopes, []string{"axb", "ab", "aXbY"})
	}},
}
