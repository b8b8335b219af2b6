package server_test

import (
	"context"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
)

// afterRead is the real store whose RefreshTokens().Get, once armed, runs
// a hook right after reading a token — what another request does between
// the token endpoint's read and its commit — before the endpoint goes on.
type afterRead struct {
	store.Store
	hook *atomic.Pointer[func(model.RefreshToken)]
}

func (s afterRead) RefreshTokens() store.RefreshTokens {
	return hookedRefreshTokens{s.Store.RefreshTokens(), s.hook}
}

type hookedRefreshTokens struct {
	store.RefreshTokens
	hook *atomic.Pointer[func(model.RefreshToken)]
}

func (r hookedRefreshTokens) Get(ctx context.Context, tenantID, hash string) (model.RefreshToken, error) {
	t, err := r.RefreshTokens.Get(ctx, tenantID, hash)
	if hook := r.hook.Swap(nil); err == nil && hook != nil {
		(*hook)(t)
	}
	return t, err
}

// startAfterRead starts a node over afterRead and returns a refresh token
// of a new family of alice's at the SPA, and the arm function.
func startAfterRead(t *testing.T) (o *oidcEnv, rt string, refresh func(rt string) (int, map[string]any), arm func(func(model.RefreshToken))) {
	t.Helper()
	hook := &atomic.Pointer[func(model.RefreshToken)]{}
	env := servertest.Start(t, func(o *server.Options) { o.Store = afterRead{o.Store, hook} })
	o = &oidcEnv{env: env, b: env.Seed(t, "banking"), people: env.SeedUsers(t, "banking"), iss: env.Issuer("banking")}
	spa := o.spaConfig("openid", "offline_access", "read:transactions")
	endpoint := o.iss + "/oauth2/token"
	a := newAuthRequest(spa)
	code := o.codeFor(t, servertest.NewBrowser(t), a, o.people.Alice)
	status, body := postForm(t, endpoint, url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"code_verifier": {a.verifier}, "client_id": {spa.ClientID}, "redirect_uri": {spa.RedirectURL}})
	rt, _ = body["refresh_token"].(string)
	if status != 200 || rt == "" {
		t.Fatalf("code exchange: %d %v", status, body)
	}
	refresh = func(rt string) (int, map[string]any) {
		return postForm(t, endpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {spa.ClientID}})
	}
	arm = func(f func(model.RefreshToken)) { hook.Store(&f) }
	return o, rt, refresh, arm
}

// A family revoked for a legitimate reason between the token endpoint's
// read of a refresh token and its rotation is refused as revoked — not
// taken for a reuse (RFC 9700 §4.14.2), which would raise a false alarm in
// the audit log.
func TestRefreshOfAFamilyRevokedMidRequestIsNotAReuse(t *testing.T) {
	o, rt, refresh, arm := startAfterRead(t)
	ran := false
	arm(func(tok model.RefreshToken) {
		ran = true
		if err := o.env.Store.RefreshTokens().RevokeFamily(t.Context(), "banking", tok.FamilyID); err != nil {
			t.Error(err)
		}
	})
	status, body := refresh(rt)
	if !ran {
		t.Fatal("the refresh never read its token: the race was not staged")
	}
	if status != 400 || body["error"] != "invalid_grant" || body["error_description"] != "the refresh token was revoked" {
		t.Errorf("refresh of a family revoked mid-request: %d %v %v, want 400 invalid_grant \"the refresh token was revoked\"", status, body["error"], body["error_description"])
	}
	if n := countEvents(t, o, model.EventRefreshTokenReused, ""); n != 0 {
		t.Errorf("%d oauth.refresh_token_reused events for a family revoked, not reused", n)
	}
}

// RFC 9700 §4.14.2: the last refresh of a family that ends (the
// application lost offline_access) is a single use like every other: of two
// requests with the same token, the one that read it before the other
// committed is refused, not served a second access token.
func TestLastRefreshOfAnEndingFamilyIsSingleUse(t *testing.T) {
	o, rt, refresh, arm := startAfterRead(t)
	if _, err := o.env.Admin.RemoveAllowedScopes(t.Context(), admin.CLI(), "banking", o.people.SPA.ID, []string{"offline_access"}, 0); err != nil {
		t.Fatal(err)
	}
	o.env.Server.Catalog().Invalidate("banking")
	var first int
	arm(func(model.RefreshToken) {
		// The other request runs whole between this one's read and commit.
		first, _ = refresh(rt)
	})
	second, body := refresh(rt)
	if first != 200 {
		t.Fatalf("the first last refresh: %d, want 200", first)
	}
	if second != 400 || body["error"] != "invalid_grant" {
		t.Errorf("the same last refresh token again: %d %v, want 400 invalid_grant", second, body["error"])
	}
}
