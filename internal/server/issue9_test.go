package server_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// Issue 9, defect 5: renaming a scope must not take it out of the grants
// already made. RFC 6749 §6: a refresh without scope gets the scope
// originally granted (now under its new name), and one asking for the new
// name narrows or keeps the grant, which is allowed — it does not widen it.
func TestScopeRenameKeepsLiveGrants_RFC6749_6(t *testing.T) {
	o := startOIDC(t)
	ctx := o.ctx(t)
	alice := servertest.NewBrowser(t)
	spa := o.spaConfig("openid", "offline_access", "read:transactions")
	a := newAuthRequest(spa)
	tok := a.exchange(t, ctx, o.codeFor(t, alice, a, o.people.Alice))
	tok2 := a.exchange(t, ctx, o.codeFor(t, alice, a, o.people.Alice))
	// A code issued before the rename and redeemed after it.
	inFlight := newAuthRequest(spa)
	code := o.codeFor(t, alice, inFlight, o.people.Alice)

	if _, err := o.env.Admin.RenameScope(t.Context(), admin.CLI(), "banking", "read:transactions", "transactions:read", 0); err != nil {
		t.Fatal(err)
	}
	o.env.Server.Catalog().Invalidate("banking")

	status, body := refreshRaw(t, o, spa.ClientID, "", tok.RefreshToken)
	if status != 200 || body["scope"] != "offline_access openid transactions:read" {
		t.Errorf("RFC 6749 §6 refresh without scope after the rename: %d scope %q error %q, want the renamed scope kept", status, body["scope"], body["error_description"])
	}
	status, body = refreshRaw(t, o, spa.ClientID, "", tok2.RefreshToken, "scope", "openid transactions:read")
	if status != 200 || body["scope"] != "openid transactions:read" {
		t.Errorf("RFC 6749 §6 refresh asking for the new name: %d scope %q error %q, want it granted (not a widening)", status, body["scope"], body["error_description"])
	}
	if s, _ := inFlight.exchange(t, ctx, code).Extra("scope").(string); !strings.Contains(s, "transactions:read") {
		t.Errorf("code issued before the rename: scope %q, want transactions:read", s)
	}
}

// Issue 9, defect 10: every unfinished authorization request is a row kept
// for ten minutes, so they are bounded per client address and per
// application. Past a bound the client gets RFC 6749 §4.1.2.1
// temporarily_unavailable (with its state and iss); other addresses, a user
// finishing a request already started, and a signed-in user (whose request
// is not stored to wait) go on working, and the bound frees up as the
// requests expire.
func TestUnfinishedAuthorizationRequestsAreBounded_RFC6749_4_1_2_1(t *testing.T) {
	const perPeer, perClient = 3, 5
	env := servertest.Start(t, func(o *server.Options) {
		o.MaxPendingPerPeer, o.MaxPendingPerClient = perPeer, perClient
		o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	env.Seed(t, "banking")
	o := &oidcEnv{env: env, people: env.SeedUsers(t, "banking"), iss: env.Issuer("banking")}
	spa := o.spaConfig("openid", "read:transactions")
	// start begins an authorization request from addr in a new browser and
	// returns where it stopped.
	start := func(addr string) (*servertest.Browser, *authRequest, *servertest.Page) {
		t.Helper()
		br := servertest.NewBrowser(t)
		a := newAuthRequest(spa)
		req, err := http.NewRequest(http.MethodGet, a.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-For", addr)
		return br, a, br.Do(env.URL, req)
	}
	const attacker = "203.0.113.9"
	var first *servertest.Browser
	var firstReq *authRequest
	var firstPage *servertest.Page
	for i := range perPeer {
		br, a, p := start(attacker)
		if !hasPasswordField(p) {
			t.Fatalf("request %d under the bound: stopped at %s (%d), want the sign-in page", i, p.URL, p.Status)
		}
		if i == 0 {
			first, firstReq, firstPage = br, a, p
		}
	}
	_, a, p := start(attacker)
	if got := a.authError(t, p, o.iss); got != "temporarily_unavailable" {
		t.Fatalf("request over the per-peer bound: error %q, want temporarily_unavailable", got)
	}
	// Another address is not affected.
	if _, _, p := start("198.51.100.20"); !hasPasswordField(p) {
		t.Fatalf("another address: stopped at %s (%d), want the sign-in page", p.URL, p.Status)
	}
	// The user behind a request already stored can finish it, and once
	// signed in starts new ones without waiting rows.
	p = first.SignIn(env.URL, firstPage, o.people.Alice.Username, o.people.Alice.Password)
	if p.Location == nil && p.Status == http.StatusOK {
		p = first.Consent(env.URL, p, true)
	}
	firstReq.code(t, p, o.iss)
	for range 2 * perPeer {
		next := newAuthRequest(spa)
		req, _ := http.NewRequest(http.MethodGet, next.url, nil)
		req.Header.Set("X-Forwarded-For", attacker)
		next.code(t, first.Do(env.URL, req), o.iss)
	}
	// The per-application bound: perClient unfinished requests in all
	// (attacker 2 left + 1 other, then 2 more addresses).
	for _, addr := range []string{"198.51.100.21", "198.51.100.22"} {
		if _, _, p := start(addr); !hasPasswordField(p) {
			t.Fatalf("%s under the per-application bound: stopped at %s (%d)", addr, p.URL, p.Status)
		}
	}
	if _, a, p := start("198.51.100.22"); a.authError(t, p, o.iss) != "temporarily_unavailable" {
		t.Fatal("a second request over the per-application bound from an address holding one was not refused")
	}
	// A flood must not lock out a person starting their one sign-in: an
	// address holding no unfinished request is still admitted.
	if _, _, p := start("198.51.100.23"); !hasPasswordField(p) {
		t.Fatalf("a fresh address over the per-application bound: stopped at %s (%d), want the sign-in page", p.URL, p.Status)
	}
	// Unfinished requests expire, and with them the bound.
	env.Clock.Advance(11 * time.Minute)
	if _, _, p := start(attacker); !hasPasswordField(p) {
		t.Fatalf("after the requests expired: stopped at %s (%d), want the sign-in page", p.URL, p.Status)
	}
}
