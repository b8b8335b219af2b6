package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// TestMFASettingsFormsOverHTTP (issue 11): the second-factor forms over
// plain HTTP (on PostgreSQL too): the Tenant settings page needs users:read and
// its form users:write; a policy or a grace period the server refuses
// comes back beside its field and changes nothing; a stale form is a 409
// that shows the current policy; a save is audited as alice through the
// console; a scope form that carries no checkbox (an old page) leaves
// requires_mfa alone, and a stale scope edit lists it among the fields;
// the Access tab refuses an unknown mfa value beside its select; explain
// refuses the second-factor box without a user.
func TestMFASettingsFormsOverHTTP(t *testing.T) {
	e, demo := startConsole(t)
	ctx := t.Context()
	s := demoSignIn(t, e, demo, "alice")
	alice, err := e.Admin.GetUser(ctx, admin.CLI(), admin.DemoTenantID, "alice")
	if err != nil {
		t.Fatal(err)
	}

	// The Tenant settings page and its form.
	p := s.get("/settings")
	if p.Status != http.StatusOK || fieldOn(t, p, "mfa-policy").Value != "optional" || fieldOn(t, p, "mfa-grace").Value != "" {
		t.Fatalf("settings page: %d\n%s", p.Status, p.Body)
	}
	p = s.submit("/settings", "/settings/mfa", func(v url.Values) { v.Set("policy", "sometimes") })
	if f := fieldOn(t, p, "mfa-policy"); p.Status != http.StatusBadRequest || !f.Invalid || !strings.Contains(f.Error, "must be off, optional or required") {
		t.Errorf("policy sometimes: %d %+v", p.Status, f)
	}
	p = s.submit("/settings", "/settings/mfa", func(v url.Values) { v.Set("policy", "required"); v.Set("grace_period", "a while") })
	if f := fieldOn(t, p, "mfa-grace"); p.Status != http.StatusBadRequest || !f.Invalid || !strings.Contains(f.Error, `"a while" is not a duration`) || f.Value != "a while" {
		t.Errorf("grace a while: %d %+v", p.Status, f)
	}
	if f := fieldOn(t, p, "mfa-policy"); f.Value != "required" {
		t.Errorf("the refused form does not keep the policy chosen: %+v", f)
	}
	p = s.submit("/settings", "/settings/mfa", func(v url.Values) { v.Set("policy", "required"); v.Set("grace_period", "3000h") })
	if f := fieldOn(t, p, "mfa-grace"); p.Status != http.StatusBadRequest || !f.Invalid || !strings.Contains(f.Error, "at most 2160h") {
		t.Errorf("grace 3000h: %d %+v", p.Status, f)
	}
	if pol, _ := e.Admin.GetMFAPolicy(ctx, admin.CLI(), admin.DemoTenantID); pol.Policy != "optional" {
		t.Fatalf("refused forms changed the policy: %+v", pol)
	}
	stale := s.form(s.get("/settings"), "/settings/mfa")
	p = s.submit("/settings", "/settings/mfa", func(v url.Values) { v.Set("policy", "required"); v.Set("grace_period", "48h") })
	if !strings.Contains(p.Body, "Second-factor policy saved: required, with a grace period until") {
		t.Errorf("after saving required (%d):\n%s", p.Status, p.Body)
	}
	// The form now starts with what is left of the grace period.
	if g := fieldOn(t, s.get("/settings"), "mfa-grace").Value; g != "48h" {
		t.Errorf("the form after saving 48h holds grace %q", g)
	}
	p = s.b.Submit(s.e.URL, stale, func(v url.Values) { v.Set("policy", "off") })
	if p.Status != http.StatusConflict || !strings.Contains(p.Body, "changed by someone else") || fieldOn(t, p, "mfa-policy").Value != "off" {
		t.Errorf("a stale form: %d\n%s", p.Status, p.Body)
	}
	if pol, _ := e.Admin.GetMFAPolicy(ctx, admin.CLI(), admin.DemoTenantID); pol.Policy != "required" {
		t.Errorf("a stale form changed the policy: %+v", pol)
	}
	evs, err := e.Store.Audit().Search(ctx, store.AuditQuery{TenantID: admin.DemoTenantID, Type: admin.EventTenantMFAPolicyChanged})
	if err != nil || len(evs) != 1 {
		t.Fatalf("policy events: %d (%v), want 1", len(evs), err)
	}
	var d struct {
		ViaClient string             `json:"via_client"`
		Before    admin.MFAPolicyDoc `json:"before"`
		After     admin.MFAPolicyDoc `json:"after"`
	}
	_ = json.Unmarshal(evs[0].Details, &d)
	if evs[0].ActorID != alice.User.ID || d.ViaClient != model.ConsoleClientID || d.Before.Policy != "optional" || d.After.Policy != "required" {
		t.Errorf("policy event: actor %s details %s", evs[0].ActorID, evs[0].Details)
	}
	// Back to optional before anyone signs in again: the grace period the
	// form still holds goes with required.
	s.submit("/settings", "/settings/mfa", func(v url.Values) { v.Set("policy", "optional") })
	if pol, _ := e.Admin.GetMFAPolicy(ctx, admin.CLI(), admin.DemoTenantID); pol.Policy != "optional" || pol.GraceUntil != nil {
		t.Errorf("policy after optional: %+v", pol)
	}

	// A scope form without the checkbox's was_ field leaves requires_mfa.
	sc, _ := e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, "payments:approve")
	if !sc.RequiresMFA {
		t.Fatal("the demo's payments:approve does not require MFA")
	}
	p = s.post("/scopes/edit?name=payments%3Aapprove", url.Values{"csrf": {s.csrf()}, "version": {jsonInt(sc.Version)},
		"display_name": {sc.DisplayName}, "description": {"Approve payments."}, "implies": {""}})
	if sc, _ = e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, "payments:approve"); !sc.RequiresMFA || sc.Description != "Approve payments." {
		t.Errorf("a form without the checkbox: %d, scope %+v", p.Status, sc)
	}
	// A stale edit that unticks it: the conflict table names the field,
	// and the form keeps the user's choice.
	staleScope := s.form(s.get("/scopes/edit?name=payments%3Aapprove"), "/scopes/edit?name=payments%3Aapprove")
	desc := "Approve outgoing payments."
	if _, err := e.Admin.UpdateScope(ctx, admin.CLI(), admin.DemoTenantID, "payments:approve", admin.ScopeUpdate{Description: &desc}); err != nil {
		t.Fatal(err)
	}
	p = s.b.Submit(s.e.URL, staleScope, func(v url.Values) { v.Del("requires_mfa") })
	if c := node(p.Body, "conflict-title"); p.Status != http.StatusConflict || c == nil || !strings.Contains(text(c.Parent), "Requires a second factor") {
		t.Errorf("stale scope edit: %d\n%s", p.Status, p.Body)
	}
	if n := node(p.Body, "requires_mfa"); n == nil || hasAttr(n, "checked") {
		t.Error("after a stale edit the form does not keep the unticked checkbox")
	}
	if n := node(p.Body, "description"); textareaValue(n) != desc {
		t.Errorf("after a stale edit the description is %q, want the current %q", textareaValue(n), desc)
	}

	// The Access tab's select.
	p = s.submit("/applications/"+admin.DemoSPAClientID+"/access", "/applications/"+admin.DemoSPAClientID+"/access", func(v url.Values) { v.Set("mfa", "sometimes") })
	if f := fieldOn(t, p, "app-mfa"); p.Status != http.StatusBadRequest || !f.Invalid || !strings.Contains(f.Error, "inherit or required") {
		t.Errorf("mfa sometimes: %d %+v", p.Status, f)
	}
	if a, _ := e.Admin.GetApplication(ctx, admin.CLI(), admin.DemoTenantID, admin.DemoSPAClientID); admin.AppMFA(a) != model.AppMFAInherit {
		t.Errorf("a refused form changed mfa to %q", a.MFA)
	}

	// Explain: the second-factor box describes a user's sign-in.
	p = s.get("/explain?client_id=" + admin.DemoSPAClientID + "&scope=read%3Atransactions&mfa=1")
	if p.Status != http.StatusBadRequest || !strings.Contains(text(node(p.Body, "explain-mfa-error")), "name the user") {
		t.Errorf("explain mfa without a user: %d\n%s", p.Status, p.Body)
	}

	// bob has no platform scope: no Tenant settings page.
	bob := demoSignIn(t, e, demo, "bob")
	if p := bob.get("/settings"); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "users:read") {
		t.Errorf("bob's settings page: %d", p.Status)
	}
}

// hasAttr reports whether the element n has the attribute key.
func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}
