package api_test

import (
	"encoding/json"
	"net/url"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/api"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// TestRoutesReadTheOpTable: every route's scope is its admin.Op's scope
// (admin's one table of who may do what, which the console reads too), and
// every Op of the table is mounted by some route, so the table holds no
// use-case that no surface exposes.
func TestRoutesReadTheOpTable(t *testing.T) {
	mounted := map[admin.Op]bool{}
	for _, r := range (&api.Handler{}).Routes() {
		if r.Op == "" {
			if r.Scope != "" || r.Path != api.Prefix+"/openapi.json" {
				t.Errorf("%s %s has no Op (scope %q); only the OpenAPI document is public", r.Method, r.Path, r.Scope)
			}
			continue
		}
		mounted[r.Op] = true
		if r.Scope == "" || r.Scope != r.Op.Scope() {
			t.Errorf("%s %s requires %q, its Op %s requires %q", r.Method, r.Path, r.Scope, r.Op, r.Op.Scope())
		}
	}
	for _, op := range admin.Ops() {
		if !mounted[op] {
			t.Errorf("%s (%s) is mounted by no route", op, op.Scope())
		}
	}
}

// TestAuditRecordsViaClient: a change made with a user's token records the
// application the token was issued to as via_client in the event's details,
// beside the members the use-case wrote; a change made with client
// credentials records none (the client is the actor).
func TestAuditRecordsViaClient(t *testing.T) {
	e := newEnv(t)
	alice := e.People.Alice
	userTok := e.userToken(t, e.People.AdminTool, servertest.AdminToolRedirect, alice, e.PlatformAudience, "users:write")
	e.call(t, "POST", "/users", userTok, map[string]any{"username": "erin", "password": "erin's long passphrase"}).want(t, 201)
	e.call(t, "POST", "/users", e.token(t, "users:write"), map[string]any{"username": "frank", "password": "frank's long passphrase"}).want(t, 201)
	// A me use-case keeps its own "via" (the route) beside via_client.
	e.call(t, "PATCH", "/me/profile", e.aliceToken(t, "me:write"), map[string]any{"name": "Alice Via"}, "If-Match", "*").want(t, 200)

	type details struct {
		After struct {
			Username string `json:"username"`
		} `json:"after"`
		Via       *string `json:"via"`
		ViaClient *string `json:"via_client"`
	}
	str := func(p *string) string {
		if p == nil {
			return "(absent)"
		}
		return *p
	}
	events := func(typ string) map[string]details {
		var page auditPage
		e.call(t, "GET", "/audit?type="+url.QueryEscape(typ), e.token(t, "audit:read"), nil).want(t, 200).decode(t, &page)
		out := map[string]details{}
		for _, ev := range page.Items {
			var d details
			if err := json.Unmarshal(ev.Details, &d); err != nil {
				t.Fatalf("%s details: %v", typ, err)
			}
			out[ev.Actor.Type+" "+d.After.Username] = d
		}
		return out
	}
	created := events(model.EventUserCreated)
	if d, ok := created["user erin"]; !ok || str(d.ViaClient) != e.People.AdminTool.ID {
		t.Errorf("user.created by alice (found %v): via_client = %s, want %s", ok, str(d.ViaClient), e.People.AdminTool.ID)
	}
	if d, ok := created["client frank"]; !ok || d.ViaClient != nil {
		t.Errorf("user.created with client credentials (found %v): via_client = %s, want absent", ok, str(d.ViaClient))
	}
	updated := events(model.EventUserUpdated)
	var found bool
	for _, d := range updated {
		if str(d.Via) == "me/profile" {
			found = true
			if str(d.ViaClient) != "self-service" {
				t.Errorf("user.updated via me/profile: via_client = %s, want self-service", str(d.ViaClient))
			}
		}
	}
	if !found {
		t.Errorf("no user.updated event via me/profile among %d", len(updated))
	}
}
