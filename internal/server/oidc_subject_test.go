package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// accessAnswers is what each server-side consumer of an access token says
// of it: introspection's active, userinfo's status and challenge, the
// platform API's status and challenge.
type accessAnswers struct {
	active                    any
	userinfo, api             int
	userinfoChall, apiChallen string
}

// answers asks introspection (as the reporting job), userinfo and the
// platform API (GET /users) about tok.
func (o *oidcEnv) answers(t *testing.T, tok string) accessAnswers {
	t.Helper()
	bearer := func(u string) (int, string) {
		req, err := http.NewRequestWithContext(t.Context(), "GET", u, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := servertest.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
	}
	var a accessAnswers
	a.active = introspect(t, o.env, "banking", o.b.Reporting, tok)["active"]
	a.userinfo, a.userinfoChall = bearer(o.iss + "/oauth2/userinfo")
	a.api, a.apiChallen = bearer(o.iss + "/api/v1/users")
	return a
}

// wantValid checks that every consumer accepts tok (userinfo only when
// the token is a user's).
func (o *oidcEnv) wantValid(t *testing.T, what, tok string, user bool) {
	t.Helper()
	a := o.answers(t, tok)
	if a.active != true {
		t.Errorf("%s: introspection active = %v, want true", what, a.active)
	}
	if user && a.userinfo != 200 {
		t.Errorf("%s: userinfo %d %q, want 200", what, a.userinfo, a.userinfoChall)
	}
	if a.api != 200 {
		t.Errorf("%s: GET /api/v1/users %d %q, want 200", what, a.api, a.apiChallen)
	}
}

// wantRefused checks that every consumer refuses tok: introspection says
// {"active":false} (RFC 7662 §2.2), userinfo and the platform API answer
// 401 with an RFC 6750 §3.1 invalid_token challenge.
func (o *oidcEnv) wantRefused(t *testing.T, what, tok string, user bool) {
	t.Helper()
	a := o.answers(t, tok)
	if a.active != false {
		t.Errorf("RFC 7662 §2.2 %s: introspection active = %v, want false", what, a.active)
	}
	if user && (a.userinfo != 401 || !strings.Contains(a.userinfoChall, `error="invalid_token"`)) {
		t.Errorf("RFC 6750 §3.1 %s: userinfo %d %q, want 401 invalid_token", what, a.userinfo, a.userinfoChall)
	}
	if a.api != 401 || !strings.Contains(a.apiChallen, `error="invalid_token"`) {
		t.Errorf("RFC 6750 §3.1 %s: GET /api/v1/users %d %q, want 401 invalid_token", what, a.api, a.apiChallen)
	}
}

// codeOnlyToken signs user in at the admin tool and returns the access
// token of a code flow WITHOUT offline_access: no refresh-token family
// records its jti, so disabling or deleting the user revokes nothing, and
// only the server's access-token check can end it. Its audience is the
// platform API and it carries openid, so introspection, userinfo and
// /api/v1 all accept it while the user is active.
func (o *oidcEnv) codeOnlyToken(t *testing.T, user servertest.User) string {
	t.Helper()
	a := newAuthRequest(o.toolConfig("openid", "users:read"))
	tok := a.exchange(t, o.ctx(t), o.codeFor(t, servertest.NewBrowser(t), a, user))
	if tok.RefreshToken != "" {
		t.Fatal("a refresh token without offline_access")
	}
	return tok.AccessToken
}

// TestAccessTokenOfAGoneSubject: an access token is valid only while its
// user exists and is active and its application exists — the same answer
// at introspection, userinfo and the platform API, because all three call
// the one access-token check.
func TestAccessTokenOfAGoneSubject(t *testing.T) {
	o := startOIDC(t)
	ctx := t.Context()

	t.Run("RFC 7662 §2.2 introspection of a disabled user's access token → active false", func(t *testing.T) {
		gus := o.env.CreateUser(t, "banking", model.User{Username: "gus"}, "gus's long password", model.RoleAdmin)
		kept := o.env.CreateUser(t, "banking", model.User{Username: "hal"}, "hal's long password", model.RoleAdmin)
		tok, other := o.codeOnlyToken(t, gus), o.codeOnlyToken(t, kept)
		o.wantValid(t, "the token before the user is disabled", tok, true)
		if _, err := o.env.Admin.DisableUser(ctx, admin.CLI(), "banking", gus.ID); err != nil {
			t.Fatal(err)
		}
		o.wantRefused(t, "a disabled user's access token", tok, true)
		o.wantValid(t, "another user's token", other, true)
	})

	t.Run("RFC 7662 §2.2 introspection of a deleted user's access token → active false", func(t *testing.T) {
		ida := o.env.CreateUser(t, "banking", model.User{Username: "ida"}, "ida's long password", model.RoleAdmin)
		tok := o.codeOnlyToken(t, ida)
		o.wantValid(t, "the token before the user is deleted", tok, true)
		if err := o.env.Admin.DeleteUser(ctx, admin.CLI(), "banking", ida.ID, 0); err != nil {
			t.Fatal(err)
		}
		o.wantRefused(t, "a deleted user's access token", tok, true)
	})

	t.Run("RFC 7009 §2.1 an access token revoked while its user was disabled stays revoked after the user is enabled", func(t *testing.T) {
		jan := o.env.CreateUser(t, "banking", model.User{Username: "jan"}, "jan's long password", model.RoleAdmin)
		tok := o.codeOnlyToken(t, jan)
		if _, err := o.env.Admin.DisableUser(ctx, admin.CLI(), "banking", jan.ID); err != nil {
			t.Fatal(err)
		}
		tool := o.people.AdminTool
		if resp, body := (tokenCall{basic: &tool, body: "token=" + url.QueryEscape(tok)}).do(t, o.iss+"/oauth2/revoke"); resp.StatusCode != 200 {
			t.Fatalf("revoke: %d %v", resp.StatusCode, body)
		}
		if _, err := o.env.Admin.EnableUser(ctx, admin.CLI(), "banking", jan.ID); err != nil {
			t.Fatal(err)
		}
		o.wantRefused(t, "a revoked token of a re-enabled user", tok, true)
		o.wantValid(t, "a new token of the re-enabled user", o.codeOnlyToken(t, jan), true)
	})

	t.Run("RFC 7662 §2.2 introspection of a deleted application's client-credentials token → active false", func(t *testing.T) {
		job, err := o.env.Admin.CreateApplication(ctx, admin.CLI(), "banking", admin.ApplicationInput{
			ClientID: "doomed-job", Name: "Doomed job", Type: model.AppM2M,
			AllowedScopes: []string{"users:read"}, ScopePolicy: model.PolicyStrict,
		})
		if err != nil {
			t.Fatal(err)
		}
		o.env.Server.Catalog().Invalidate("banking")
		c := servertest.Client{ID: job.Application.ClientID, Secret: job.Secret}
		tok := clientToken(t, o.env, "banking", c, "users:read", o.iss+admin.PlatformAPIPath)
		kept := clientToken(t, o.env, "banking", o.b.Reporting, "users:read", o.iss+admin.PlatformAPIPath)
		o.wantValid(t, "the client-credentials token before its application is deleted", tok, false)
		if err := o.env.Admin.DeleteApplication(ctx, admin.CLI(), "banking", c.ID, 0); err != nil {
			t.Fatal(err)
		}
		// The check reads applications from the node's snapshot; /api/v1
		// invalidates it after every write, the direct call here does not.
		o.env.Server.Catalog().Invalidate("banking")
		o.wantRefused(t, "a deleted application's client-credentials token", tok, false)
		o.wantValid(t, "another application's client-credentials token", kept, false)
	})

	t.Run("RFC 7662 §2.2 introspection of a deleted application's user token without a refresh token → active false", func(t *testing.T) {
		web, err := o.env.Admin.CreateApplication(ctx, admin.CLI(), "banking", admin.ApplicationInput{
			ClientID: "doomed-tool", Name: "Doomed tool", Type: model.AppWeb,
			RedirectURIs:  []string{servertest.AdminToolRedirect},
			GrantTypes:    []string{model.GrantAuthorizationCode},
			AllowedScopes: []string{"openid", "users:read"}, ScopePolicy: model.PolicyStrict, Consent: model.ConsentImplicit,
		})
		if err != nil {
			t.Fatal(err)
		}
		o.env.Server.Catalog().Invalidate("banking")
		cfg := o.toolConfig("openid", "users:read")
		cfg.ClientID, cfg.ClientSecret = web.Application.ClientID, web.Secret
		a := newAuthRequest(cfg)
		tok := a.exchange(t, o.ctx(t), o.codeFor(t, servertest.NewBrowser(t), a, o.people.Alice)).AccessToken
		o.wantValid(t, "the user token before its application is deleted", tok, true)
		if err := o.env.Admin.DeleteApplication(ctx, admin.CLI(), "banking", web.Application.ClientID, 0); err != nil {
			t.Fatal(err)
		}
		// The check reads applications from the node's snapshot; /api/v1
		// invalidates it after every write, the direct call here does not.
		o.env.Server.Catalog().Invalidate("banking")
		o.wantRefused(t, "a deleted application's user token", tok, true)
	})
}
