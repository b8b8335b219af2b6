package server_test

import (
	"context"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
)

// revokeAfterRead is the real store whose RefreshTokens().Get, once armed,
// revokes the family of the token it just read (as a logout or a disabled
// user would on another request) before the token endpoint goes on.
type revokeAfterRead struct {
	store.Store
	armed *atomic.Bool
}

func (s revokeAfterRead) RefreshTokens() store.RefreshTokens {
	return revokingRefreshTokens{s.Store.RefreshTokens(), s.armed}
}

type revokingRefreshTokens struct {
	store.RefreshTokens
	armed *atomic.Bool
}

func (r revokingRefreshTokens) Get(ctx context.Context, tenantID, hash string) (model.RefreshToken, error) {
	t, err := r.RefreshTokens.Get(ctx, tenantID, hash)
	if err == nil && r.armed.CompareAndSwap(true, false) {
		if rerr := r.RefreshTokens.RevokeFamily(ctx, tenantID, t.FamilyID); rerr != nil {
			return t, rerr
		}
	}
	return t, err
}

// A family revoked for a legitimate reason between the token endpoint's
// read of a refresh token and its rotation is refused as revoked — not
// taken for a reuse (RFC 9700 §4.14.2), which would raise a false alarm in
// the audit log.
func TestRefreshOfAFamilyRevokedMidRequestIsNotAReuse(t *testing.T) {
	armed := &atomic.Bool{}
	env := servertest.Start(t, func(o *server.Options) { o.Store = revokeAfterRead{o.Store, armed} })
	o := &oidcEnv{env: env, b: env.Seed(t, "banking"), people: env.SeedUsers(t, "banking"), iss: env.Issuer("banking")}
	spa := o.spaConfig("openid", "offline_access", "read:transactions")
	endpoint := o.iss + "/oauth2/token"
	a := newAuthRequest(spa)
	code := o.codeFor(t, servertest.NewBrowser(t), a, o.people.Alice)
	status, body := postForm(t, endpoint, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"code_verifier": {a.verifier}, "client_id": {spa.ClientID}, "redirect_uri": {spa.RedirectURL}})
	rt, _ := body["refresh_token"].(string)
	if status != 200 || rt == "" {
		t.Fatalf("code exchange: %d %v", status, body)
	}

	armed.Store(true)
	status, body = postForm(t, endpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {spa.ClientID}})
	if status != 400 || body["error"] != "invalid_grant" || body["error_description"] != "the refresh token was revoked" {
		t.Errorf("refresh of a family revoked mid-request: %d %v, want 400 invalid_grant \"the refresh token was revoked\"", status, body)
	}
	if armed.Load() {
		t.Fatal("the refresh never read its token: the race was not staged")
	}
	if n := countEvents(t, o, model.EventRefreshTokenReused, ""); n != 0 {
		t.Errorf("%d oauth.refresh_token_reused events for a family revoked, not reused", n)
	}
}
