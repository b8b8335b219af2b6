package server_test

import (
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
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
