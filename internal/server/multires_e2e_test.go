package server_test

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

const (
	bankAPI   = "api.banking.example.com"
	healthAPI = "api.health.example.com"
)

// startMultiResource is the banking tenant with the SPA also allowed
// read:records (the Health API's scope) and Alice entitled to it, so one
// sign-in can grant scopes of both APIs.
func startMultiResource(t *testing.T) *oidcEnv {
	t.Helper()
	o := startOIDC(t)
	ctx := t.Context()
	now := o.env.Clock.Now()
	must(t, o.env.Store.Roles().Create(ctx, model.Role{TenantID: "banking", Name: "patient", Description: "Reads health records.",
		Scopes: []string{"read:records"}, CreatedAt: now, UpdatedAt: now}))
	must(t, o.env.Store.Roles().Assign(ctx, "banking", o.people.Alice.ID, "patient"))
	if _, err := o.env.Admin.AddAllowedScopes(ctx, admin.CLI(), "banking", o.people.SPA.ID, []string{"read:records"}, 0); err != nil {
		t.Fatal(err)
	}
	o.env.Server.Catalog().Invalidate("banking")
	return o
}

// multiAuth is an authorization request of the SPA naming resources.
func (o *oidcEnv) multiAuth(scopes []string, resources ...string) *authRequest {
	a := newAuthRequest(o.spaConfig(scopes...))
	for _, r := range resources {
		a.url += "&resource=" + url.QueryEscape(r)
	}
	return a
}

// refresh posts a refresh_token grant of the public SPA.
func (o *oidcEnv) refresh(t *testing.T, rt string, extra string) (int, map[string]any) {
	t.Helper()
	resp, body := tokenCall{body: "grant_type=refresh_token&client_id=" + o.people.SPA.ID + "&refresh_token=" + url.QueryEscape(rt) + extra}.do(t, o.iss+"/oauth2/token")
	return resp.StatusCode, body
}

func TestMultiResourceGrant(t *testing.T) {
	o := startMultiResource(t)
	ctx := o.ctx(t)
	scopes := []string{"openid", "offline_access", "read:transactions", "read:records"}

	// signIn runs one multi-resource sign-in to its code and checks the
	// consent page asked for every scope, grouped by API.
	consented := false
	signIn := func(t *testing.T) (*authRequest, string) {
		t.Helper()
		a := o.multiAuth(scopes, bankAPI, healthAPI)
		br := servertest.NewBrowser(t)
		if consented {
			// Alice consented in an earlier subtest: no consent page.
			p, _ := o.signInAndConsent(t, br, a, o.people.Alice)
			return a, a.code(t, p, o.iss)
		}
		consented = true
		p := br.Visit(o.env.URL, a.url)
		p = br.SignIn(o.env.URL, p, o.people.Alice.Username, o.people.Alice.Password)
		asked := p.AskedScopes(t)
		slices.Sort(asked)
		if want := []string{"offline_access", "openid", "read:records", "read:transactions"}; !slices.Equal(asked, want) {
			t.Fatalf("consent asks %v, want %v (each scope once)", asked, want)
		}
		body := string(p.Body)
		for _, legend := range []string{"<legend>Your account</legend>", "<legend>Banking API</legend>", "<legend>Health API</legend>"} {
			if strings.Count(body, legend) != 1 {
				t.Errorf("consent page has %d %s, want one group per API:\n%s", strings.Count(body, legend), legend, body)
			}
		}
		if i, j := strings.Index(body, "Banking API"), strings.Index(body, "Read your transactions."); j < i {
			t.Errorf("read:transactions is not under the Banking API group")
		}
		if i, j := strings.Index(body, "Health API"), strings.Index(body, "Read your health records."); j < i {
			t.Errorf("read:records is not under the Health API group")
		}
		p = br.Consent(o.env.URL, p, true)
		return a, a.code(t, p, o.iss)
	}

	t.Run("RFC 8707 §2.1 several resources → consent grouped by API → code → token for the first API", func(t *testing.T) {
		a, code := signIn(t)
		tok := a.exchange(t, ctx, code)
		if got := tok.Extra("scope"); got != "offline_access openid read:transactions" {
			t.Errorf("scope = %v, want the Banking API's scopes only", got)
		}
		at := verifyWithJWKS(t, o.iss, tok.AccessToken, "ES256")
		if at["aud"] != bankAPI {
			t.Errorf("aud = %v, want %s", at["aud"], bankAPI)
		}
		if tok.RefreshToken == "" || tok.Extra("id_token") == nil {
			t.Errorf("want a refresh token and an ID token: %+v", tok)
		}
	})

	t.Run("RFC 8707 §2.2 code exchange with resource=B → token for B; resource outside the grant → invalid_target, code still usable", func(t *testing.T) {
		a, code := signIn(t)
		_, err := a.cfg.Exchange(ctx, code, oauth2.VerifierOption(a.verifier), oauth2.SetAuthURLParam("resource", "https://"+o.iss+"/api/v1"))
		if e, ok := err.(*oauth2.RetrieveError); !ok || e.ErrorCode != "invalid_target" {
			t.Fatalf("exchange for an API outside the grant: %v, want invalid_target", err)
		}
		tok, err := a.cfg.Exchange(ctx, code, oauth2.VerifierOption(a.verifier), oauth2.SetAuthURLParam("resource", healthAPI))
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Extra("scope"); got != "offline_access openid read:records" {
			t.Errorf("scope = %v, want the Health API's scopes only", got)
		}
		if at := verifyWithJWKS(t, o.iss, tok.AccessToken, "RS256"); at["aud"] != healthAPI {
			t.Errorf("aud = %v, want %s", at["aud"], healthAPI)
		}
	})

	t.Run("RFC 8707 §2.2 refresh with resource=B → token for B with B's scopes; resource=C → invalid_target; no resource → the first API", func(t *testing.T) {
		a, code := signIn(t)
		tok := a.exchange(t, ctx, code)
		rt := tok.RefreshToken

		status, body := o.refresh(t, rt, "&resource="+url.QueryEscape(healthAPI))
		if status != 200 || body["scope"] != "offline_access openid read:records" {
			t.Fatalf("refresh for B: %d %v", status, body)
		}
		at := verifyWithJWKS(t, o.iss, body["access_token"].(string), "RS256")
		if at["aud"] != healthAPI || at["scope"] != "offline_access openid read:records" {
			t.Errorf("token for B: aud %v scope %v", at["aud"], at["scope"])
		}
		rt = body["refresh_token"].(string)

		status, body = o.refresh(t, rt, "&resource="+url.QueryEscape(o.iss+"/api/v1"))
		if status != 400 || body["error"] != "invalid_target" {
			t.Fatalf("refresh for an API outside the grant: %d %v, want invalid_target", status, body)
		}
		// A narrower scope for B stays within B's scopes.
		status, body = o.refresh(t, rt, "&resource="+url.QueryEscape(healthAPI)+"&scope=read:transactions")
		if status != 400 || body["error"] != "invalid_scope" {
			t.Fatalf("refresh for B asking A's scope: %d %v, want invalid_scope", status, body)
		}
		// The refused requests left the token usable; no resource: the
		// grant's first API.
		status, body = o.refresh(t, rt, "")
		if status != 200 || body["scope"] != "offline_access openid read:transactions" {
			t.Fatalf("refresh without resource: %d %v", status, body)
		}
		if at := verifyWithJWKS(t, o.iss, body["access_token"].(string), "ES256"); at["aud"] != bankAPI {
			t.Errorf("aud = %v, want the first API %s", at["aud"], bankAPI)
		}

		// Each token_issued event records its token's audience.
		var auds []string
		for _, ev := range events(t, o, model.EventTokenIssued, o.people.SPA.ID) {
			auds = append(auds, ev.Audience)
		}
		if !slices.Contains(auds, healthAPI) || !slices.Contains(auds, bankAPI) {
			t.Errorf("token_issued audiences = %v, want both APIs", auds)
		}
	})

	t.Run("RFC 8707 §2.2 reuse of a rotated refresh token after tokens for both APIs revokes the family", func(t *testing.T) {
		a, code := signIn(t)
		rt0 := a.exchange(t, ctx, code).RefreshToken
		status, body := o.refresh(t, rt0, "&resource="+url.QueryEscape(healthAPI))
		if status != 200 {
			t.Fatalf("refresh for B: %d %v", status, body)
		}
		rt1 := body["refresh_token"].(string)
		status, body = o.refresh(t, rt1, "&resource="+url.QueryEscape(bankAPI))
		if status != 200 {
			t.Fatalf("refresh for A: %d %v", status, body)
		}
		rt2 := body["refresh_token"].(string)
		if status, body = o.refresh(t, rt1, "&resource="+url.QueryEscape(healthAPI)); status != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("reuse of rt1: %d %v, want invalid_grant", status, body)
		}
		if status, body = o.refresh(t, rt2, ""); status != 400 || body["error"] != "invalid_grant" {
			t.Fatalf("RFC 9700 §4.14.2 the family's live token after a reuse: %d %v, want invalid_grant", status, body)
		}
	})

	t.Run("RFC 8707 §2.2 an API whose scopes the user unticked is not in the grant: a token for it → invalid_target", func(t *testing.T) {
		o := startMultiResource(t) // its own tenant: a fresh consent
		a := o.multiAuth(scopes, bankAPI, healthAPI)
		br := servertest.NewBrowser(t)
		p, _ := o.signInAndConsent(t, br, a, o.people.Alice, "read:records")
		code := a.code(t, p, o.iss)
		_, err := a.cfg.Exchange(o.ctx(t), code, oauth2.VerifierOption(a.verifier), oauth2.SetAuthURLParam("resource", healthAPI))
		if e, ok := err.(*oauth2.RetrieveError); !ok || e.ErrorCode != "invalid_target" {
			t.Fatalf("exchange for the unticked API: %v, want invalid_target", err)
		}
		if tok := a.exchange(t, o.ctx(t), code); tok.Extra("scope") != "offline_access openid read:transactions" {
			t.Errorf("scope = %v", tok.Extra("scope"))
		}
	})

	t.Run("RFC 8707 §2.2 an allowlist narrowed for B after the grant drops the scope on refresh for B", func(t *testing.T) {
		o := startMultiResource(t) // its own tenant: the allowlist changes
		a := o.multiAuth(scopes, bankAPI, healthAPI)
		br := servertest.NewBrowser(t)
		p, _ := o.signInAndConsent(t, br, a, o.people.Alice)
		rt := a.exchange(t, o.ctx(t), a.code(t, p, o.iss)).RefreshToken
		if _, err := o.env.Admin.RemoveAllowedScopes(t.Context(), admin.CLI(), "banking", o.people.SPA.ID, []string{"read:records"}, 0); err != nil {
			t.Fatal(err)
		}
		o.env.Server.Catalog().Invalidate("banking")
		status, body := o.refresh(t, rt, "&resource="+url.QueryEscape(healthAPI))
		if status != 200 || body["scope"] != "offline_access openid" {
			t.Fatalf("PRODUCT.md §2 refresh re-runs the decision: %d %v, want read:records dropped", status, body)
		}
		rt = body["refresh_token"].(string)
		if status, body := o.refresh(t, rt, "&resource="+url.QueryEscape(bankAPI)); status != 200 || body["scope"] != "offline_access openid read:transactions" {
			t.Fatalf("A's scopes are untouched: %d %v", status, body)
		}
	})
}

func TestMultiResourceAuthorizeErrors(t *testing.T) {
	o := startMultiResource(t)
	scopes := []string{"openid", "read:transactions", "read:records"}
	many := []string{bankAPI, healthAPI}
	for i := range model.MaxResources {
		many = append(many, "https://api"+strconv.Itoa(i)+".example.com/")
	}
	cases := []struct {
		name      string
		scopes    []string
		resources []string
		want      string
	}{
		{"RFC 8707 §2 an empty resource → invalid_target", scopes, []string{bankAPI, ""}, "invalid_target"},
		{"RFC 8707 §2.1 more than ten resources → invalid_target", scopes, many, "invalid_target"},
		{"RFC 8707 §2 an unknown resource among several → invalid_target", scopes, []string{bankAPI, healthAPI, "https://api.nowhere.example.com/"}, "invalid_target"},
		{"RFC 8707 §2.1 a resource none of the requested scopes belongs to → invalid_target", []string{"openid", "read:transactions"}, []string{bankAPI, healthAPI}, "invalid_target"},
		{"RFC 6749 §4.1.2.1 strict: a scope of neither API → invalid_scope", []string{"openid", "read:transactions", "read:records", "users:read"}, []string{bankAPI, healthAPI}, "invalid_scope"},
		{"RFC 8707 §2.1 duplicates collapse: the same API twice is one API", []string{"openid", "read:transactions"}, []string{bankAPI, bankAPI}, ""},
	}
	br := servertest.NewBrowser(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := o.multiAuth(c.scopes, c.resources...)
			p := br.Visit(o.env.URL, a.url)
			if c.want == "" {
				if p.Location != nil && p.Location.Query().Get("error") != "" {
					t.Fatalf("got error %s", p.Location.Query().Get("error_description"))
				}
				return
			}
			if got := a.authError(t, p, o.iss); got != c.want {
				t.Fatalf("error = %q (%s), want %q", got, p.Location.Query().Get("error_description"), c.want)
			}
		})
	}
}
