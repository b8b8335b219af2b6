package storetest

import (
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// multiResourceTests check that a grant of several APIs (RFC 8707 §2.1)
// keeps its APIs and the scopes of each through a request, its code and
// its refresh-token family.
var multiResourceTests = []test{
	{"RFC 8707 §2.1 a request, its code and its family keep their APIs and each API's scopes", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		apis := []string{"api.bank.example.com", "https://settings.example.com/"}
		grants := []model.ResourceGrant{
			{Audience: apis[0], Scopes: []string{"openid", "offline_access", "read"}},
			{Audience: apis[1], Scopes: []string{"openid", "offline_access", "settings:read"}},
		}
		ar := newAuthRequest("a", "req1", "web")
		ar.Resources = apis
		must(t, s.AuthRequests().Create(ctx, ar))
		gotAR, err := s.AuthRequests().Get(ctx, "a", "req1")
		must(t, err)
		equal(t, "request resources", gotAR.Resources, apis)

		code := newCode("a", "c1", "web", "usr_1")
		code.Resources = grants
		must(t, s.Codes().Create(ctx, code))
		c, err := s.Codes().Redeem(ctx, "a", "c1", t0)
		must(t, err)
		equal(t, "code resources", c.Resources, grants)

		rt := newRefresh("a", "rt1", "fam", "web", "usr_1")
		rt.Resources = grants
		must(t, s.RefreshTokens().Create(ctx, rt))
		// The rotation's caller may carry anything: the family keeps what
		// it was granted.
		next := newRefresh("a", "rt2", "fam", "web", "usr_1")
		next.Resources = nil
		_, err = s.RefreshTokens().Rotate(ctx, "a", "rt1", next, t0.Add(time.Minute))
		must(t, err)
		got, err := s.RefreshTokens().Get(ctx, "a", "rt2")
		must(t, err)
		equal(t, "rotated family resources", got.Resources, grants)

		// A grant of one API stores none, and reads back nil.
		single := newRefresh("a", "rt3", "fam3", "web", "usr_1")
		must(t, s.RefreshTokens().Create(ctx, single))
		got, err = s.RefreshTokens().Get(ctx, "a", "rt3")
		must(t, err)
		equal(t, "single-API resources", got.Resources, []model.ResourceGrant(nil))
	}},
	{"RFC 8707 §2.1 Rename rewrites the scopes of each API of a grant", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		must(t, s.Scopes().Create(ctx, newScope("a", "bank", "rn:old")))
		rt := newRefresh("a", "rt1", "fam", "web", "usr_1")
		rt.Resources = []model.ResourceGrant{
			{Audience: "api.bank.example.com", Scopes: []string{"read"}},
			{Audience: "api.other.example.com", Scopes: []string{"openid", "rn:old"}},
		}
		must(t, s.RefreshTokens().Create(ctx, rt))
		code := newCode("a", "c1", "web", "usr_1")
		code.Resources = rt.Resources
		must(t, s.Codes().Create(ctx, code))
		_, err := s.Scopes().Rename(ctx, "a", "rn:old", "rn:new", 0)
		must(t, err)
		want := []model.ResourceGrant{
			{Audience: "api.bank.example.com", Scopes: []string{"read"}},
			{Audience: "api.other.example.com", Scopes: []string{"openid", "rn:new"}},
		}
		got, err := s.RefreshTokens().Get(ctx, "a", "rt1")
		must(t, err)
		equal(t, "refresh resources", got.Resources, want)
		c, err := s.Codes().Get(ctx, "a", "c1")
		must(t, err)
		equal(t, "code resources", c.Resources, want)
	}},
}
