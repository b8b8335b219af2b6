package api_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server"
	"github.com/intelliauth/intelliauth/internal/store"
)

// Issue 11, the settings side of MFA: requires_mfa on scopes, mfa on
// applications, the tenant's policy at /settings/mfa, and explain's mfa.

type mfaScopeDoc struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	RequiresMFA *bool  `json:"requires_mfa"`
	Version     int64  `json:"version"`
}

// TestScopesRequiresMFA: requires_mfa is set at creation, changed by
// PATCH, and present (true or false) in every representation of a scope;
// an OIDC scope cannot require one, and a non-boolean is a 400 naming the
// field.
func TestScopesRequiresMFA(t *testing.T) {
	e := newEnv(t)
	w := e.token(t, "scopes:write")
	var sc mfaScopeDoc
	e.call(t, "POST", "/scopes", w, map[string]any{"name": "loans:approve", "api": e.Bank.Bank.Identifier,
		"description": "Approve loans.", "requires_mfa": true}).want(t, 201).decode(t, &sc)
	if sc.RequiresMFA == nil || !*sc.RequiresMFA {
		t.Fatalf("created %+v, want requires_mfa true", sc)
	}
	var plain mfaScopeDoc
	e.call(t, "POST", "/scopes", w, map[string]any{"name": "loans:read", "api": e.Bank.Bank.Identifier,
		"description": "Read loans."}).want(t, 201).decode(t, &plain)
	if plain.RequiresMFA == nil || *plain.RequiresMFA {
		t.Errorf("created without requires_mfa: %+v, want it present and false", plain)
	}
	r := e.call(t, "GET", "/scopes/loans:approve", w, nil).want(t, 200)
	r.decode(t, &sc)
	if sc.RequiresMFA == nil || !*sc.RequiresMFA {
		t.Errorf("GET %+v", sc)
	}
	var list listDoc[mfaScopeDoc]
	e.call(t, "GET", "/scopes?per_page=100", w, nil).want(t, 200).decode(t, &list)
	for _, s := range list.Items {
		if s.RequiresMFA == nil {
			t.Errorf("listed scope %s has no requires_mfa", s.Name)
		}
		if s.Name == "loans:approve" && !*s.RequiresMFA {
			t.Errorf("listed loans:approve does not require MFA")
		}
	}
	e.call(t, "PATCH", "/scopes/loans:approve", w, map[string]any{"requires_mfa": false}, "If-Match", r.Header.Get("ETag")).want(t, 200).decode(t, &sc)
	if *sc.RequiresMFA {
		t.Errorf("after PATCH false: %+v", sc)
	}
	// A platform scope may require it (an admin's users:write, say).
	e.call(t, "PATCH", "/scopes/users:write", w, map[string]any{"requires_mfa": true}, "If-Match", "*").want(t, 200).decode(t, &sc)
	if !*sc.RequiresMFA {
		t.Errorf("platform scope after PATCH true: %+v", sc)
	}
	p := e.call(t, "PATCH", "/scopes/openid", w, map[string]any{"requires_mfa": true}, "If-Match", "*").want(t, 400).problem(t)
	if !strings.Contains(p.field("requires_mfa"), "OpenID Connect") {
		t.Errorf("openid requires_mfa: %+v", p)
	}
	p = e.callInvalid(t, "POST", "/scopes", w, map[string]any{"name": "x:y", "api": e.Bank.Bank.Identifier, "description": "X.", "requires_mfa": "yes"}).want(t, 400).problem(t)
	if p.field("requires_mfa") == "" {
		t.Errorf("requires_mfa \"yes\": %+v", p)
	}
	// The change is audited with before and after.
	evs, err := e.Store.Audit().Search(t.Context(), store.AuditQuery{TenantID: e.Tenant, Type: model.EventScopeUpdated, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range evs {
		var d struct {
			Before, After map[string]any
		}
		if json.Unmarshal(ev.Details, &d) == nil && d.After["name"] == "loans:approve" {
			found = d.Before["requires_mfa"] == true && d.After["requires_mfa"] == false
		}
	}
	if !found {
		t.Error("no scope.updated event of loans:approve with requires_mfa true → false")
	}
}

// TestApplicationsMFA: mfa defaults to inherit, is set at creation and by
// PATCH, and a value that is neither inherit nor required is a 400 naming
// it.
func TestApplicationsMFA(t *testing.T) {
	e := newEnv(t)
	w := e.token(t, "applications:write")
	var a struct {
		ClientID string `json:"client_id"`
		MFA      string `json:"mfa"`
	}
	e.call(t, "GET", "/applications/"+e.Bank.Reporting.ID, w, nil).want(t, 200).decode(t, &a)
	if a.MFA != "inherit" {
		t.Errorf("seeded application mfa = %q, want inherit", a.MFA)
	}
	e.call(t, "POST", "/applications", w, map[string]any{"client_id": "vault", "type": "spa", "mfa": "required",
		"redirect_uris": []string{"https://vault.example.com/cb"}}).want(t, 201).decode(t, &a)
	if a.MFA != "required" {
		t.Errorf("created mfa = %q", a.MFA)
	}
	e.call(t, "PATCH", "/applications/vault", w, map[string]any{"mfa": "inherit"}, "If-Match", "*").want(t, 200).decode(t, &a)
	if a.MFA != "inherit" {
		t.Errorf("patched mfa = %q", a.MFA)
	}
	p := e.call(t, "PATCH", "/applications/vault", w, map[string]any{"mfa": "sometimes"}, "If-Match", "*").want(t, 400).problem(t)
	if !strings.Contains(p.field("mfa"), "inherit or required") {
		t.Errorf("mfa sometimes: %+v", p)
	}
	var list listDoc[struct {
		MFA string `json:"mfa"`
	}]
	e.call(t, "GET", "/applications", w, nil).want(t, 200).decode(t, &list)
	for _, x := range list.Items {
		if x.MFA == "" {
			t.Errorf("a listed application has no mfa: %+v", list.Items)
		}
	}
}

type mfaPolicyDoc struct {
	Policy     string     `json:"policy"`
	GraceUntil *time.Time `json:"grace_until"`
	Version    int64      `json:"version"`
}

// TestSettingsMFA: GET /settings/mfa needs users:read, PUT users:write and
// If-Match (the tenant's version); bad input is a 400 naming the field
// and changes nothing; a grace period ends at now + grace; the change is
// audited and the node serves it at once (its snapshot is dropped).
func TestSettingsMFA(t *testing.T) {
	// No revision polling: only the write's own invalidation can show the
	// change to this node at once.
	e := newEnv(t, func(o *server.Options) { o.CacheRefresh = time.Hour })
	read, write := e.token(t, "users:read"), e.token(t, "users:write")
	var got mfaPolicyDoc
	r := e.call(t, "GET", "/settings/mfa", read, nil).want(t, 200)
	r.decode(t, &got)
	if got.Policy != "optional" || got.GraceUntil != nil || r.Header.Get("ETag") != `"v`+itoa(got.Version)+`"` {
		t.Fatalf("GET = %+v etag %s", got, r.Header.Get("ETag"))
	}
	tag := r.Header.Get("ETag")
	// Warm this node's snapshot, so that only an invalidation shows the change.
	snap, err := e.Server.Catalog().Tenant(t.Context(), e.Tenant)
	if err != nil || snap.Tenant.MFAPolicy.Effective() != model.MFAOptional {
		t.Fatalf("snapshot before: %v", err)
	}

	e.call(t, "PUT", "/settings/mfa", read, map[string]any{"policy": "required"}, "If-Match", tag).want(t, 403)
	e.call(t, "GET", "/settings/mfa", e.token(t, "scopes:write"), nil).want(t, 403)
	p := e.callInvalid(t, "PUT", "/settings/mfa", write, map[string]any{"policy": "required"}).want(t, 428).problem(t)
	if p.Error != "precondition_required" {
		t.Errorf("no If-Match: %+v", p)
	}
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
		says  string
	}{
		{"unknown policy", map[string]any{"policy": "sometimes"}, "policy", "must be off, optional or required"},
		{"bad duration", map[string]any{"policy": "required", "grace_period": "a while"}, "grace_period", "is not a duration"},
		{"grace of a policy that is not required", map[string]any{"policy": "optional", "grace_period": "72h"}, "grace_period", "only to the policy required"},
		{"grace over 90 days", map[string]any{"policy": "required", "grace_period": "2200h"}, "grace_period", "at most"},
		{"negative grace", map[string]any{"policy": "required", "grace_period": "-1h"}, "grace_period", "is not a duration"},
		{"no policy", map[string]any{"grace_period": "1h"}, "policy", "is required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := e.callInvalid(t, "PUT", "/settings/mfa", write, c.body, "If-Match", tag).want(t, 400).problem(t)
			if !strings.Contains(p.field(c.field), c.says) {
				t.Errorf("%v: problem %+v, want %s to say %q", c.body, p, c.field, c.says)
			}
		})
	}
	p = e.callInvalid(t, "PUT", "/settings/mfa", write, map[string]any{"policy": 3}, "If-Match", tag).want(t, 400).problem(t)
	if p.field("policy") == "" {
		t.Errorf("policy 3: %+v", p)
	}

	now := e.Clock.Now()
	var set mfaPolicyDoc
	r = e.call(t, "PUT", "/settings/mfa", write, map[string]any{"policy": "required", "grace_period": "72h"}, "If-Match", tag).want(t, 200)
	r.decode(t, &set)
	if set.Policy != "required" || set.GraceUntil == nil || !set.GraceUntil.Equal(now.Add(72*time.Hour)) || set.Version == got.Version {
		t.Errorf("PUT = %+v, want required until %s", set, now.Add(72*time.Hour))
	}
	if r.Header.Get("ETag") == tag {
		t.Error("the ETag did not move")
	}
	got = mfaPolicyDoc{}
	e.call(t, "GET", "/settings/mfa", read, nil).want(t, 200).decode(t, &got)
	if got.Policy != "required" || got.GraceUntil == nil || !got.GraceUntil.Equal(*set.GraceUntil) {
		t.Errorf("GET after PUT = %+v", got)
	}
	snap, err = e.Server.Catalog().Tenant(t.Context(), e.Tenant)
	if err != nil || snap.Tenant.MFAPolicy != model.MFARequired || !snap.Tenant.MFAGraceUntil.Equal(*set.GraceUntil) {
		t.Errorf("this node's snapshot after PUT: policy %q grace %s (%v), want the new policy at once", snap.Tenant.MFAPolicy, snap.Tenant.MFAGraceUntil, err)
	}
	// The old version is stale: 412, nothing changes.
	p = e.call(t, "PUT", "/settings/mfa", write, map[string]any{"policy": "off"}, "If-Match", tag).want(t, 412).problem(t)
	if p.Error != "precondition_failed" {
		t.Errorf("stale If-Match: %+v", p)
	}
	evs, err := e.Store.Audit().Search(t.Context(), store.AuditQuery{TenantID: e.Tenant, Type: admin.EventTenantMFAPolicyChanged})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].ActorID != e.Admin.ID {
		t.Fatalf("mfa_policy_changed events = %+v, want one by %s", evs, e.Admin.ID)
	}
	var d struct{ Before, After mfaPolicyDoc }
	if err := json.Unmarshal(evs[0].Details, &d); err != nil || d.Before.Policy != "optional" || d.After.Policy != "required" || d.After.GraceUntil == nil {
		t.Errorf("details %s (%v)", evs[0].Details, err)
	}
	// Back to off with If-Match: *; the grace period goes with required.
	var off mfaPolicyDoc
	e.call(t, "PUT", "/settings/mfa", write, map[string]any{"policy": "off"}, "If-Match", "*").want(t, 200).decode(t, &off)
	if off.Policy != "off" || off.GraceUntil != nil {
		t.Errorf("PUT off = %+v", off)
	}
}

// PRODUCT.md §2 step 6b: explain with a user drops a scope that requires
// a second factor with step_up_required, and grants it with mfa true;
// mfa without a user is a 400 naming mfa.
func TestExplainStepUpRequired(t *testing.T) {
	e := newEnv(t)
	e.call(t, "PATCH", "/scopes/payments:approve", e.token(t, "scopes:write"), map[string]any{"requires_mfa": true}, "If-Match", "*").want(t, 200)
	e.call(t, "POST", "/applications", e.token(t, "applications:write"), map[string]any{"client_id": "teller-app", "type": "web",
		"consent": "implicit", "redirect_uris": []string{"https://teller.example.com/cb"},
		"allowed_scopes": []string{"openid", "read:transactions", "payments:approve"}}).want(t, 201)
	tok := e.token(t, "applications:read")
	var ex struct {
		Granted []string `json:"granted"`
		Results []struct {
			Scope  string `json:"scope"`
			Reason string `json:"reason"`
		} `json:"results"`
		User struct {
			MFA bool `json:"mfa"`
		} `json:"user"`
	}
	reasons := func() map[string]string {
		out := map[string]string{}
		for _, r := range ex.Results {
			out[r.Scope] = r.Reason
		}
		return out
	}
	body := map[string]any{"client_id": "teller-app", "audience": e.Bank.Bank.Identifier, "scope": "openid read:transactions payments:approve", "user": "alice"}
	e.call(t, "POST", "/explain", tok, body).want(t, 200).decode(t, &ex)
	if r := reasons(); r["payments:approve"] != "step_up_required" || r["read:transactions"] != "granted" || ex.User.MFA || slices.Contains(ex.Granted, "payments:approve") {
		t.Errorf("without mfa: reasons %v granted %v mfa %t", r, ex.Granted, ex.User.MFA)
	}
	body["mfa"] = true
	e.call(t, "POST", "/explain", tok, body).want(t, 200).decode(t, &ex)
	if r := reasons(); r["payments:approve"] != "granted" || !ex.User.MFA || !slices.Contains(ex.Granted, "payments:approve") {
		t.Errorf("with mfa: reasons %v granted %v mfa %t", r, ex.Granted, ex.User.MFA)
	}
	// bob (teller) is not entitled: entitlement is decided first.
	body["user"] = "bob"
	e.call(t, "POST", "/explain", tok, body).want(t, 200).decode(t, &ex)
	if r := reasons(); r["payments:approve"] != "not_entitled" {
		t.Errorf("bob with mfa: reasons %v", r)
	}
	delete(body, "user")
	p := e.call(t, "POST", "/explain", tok, body).want(t, 400).problem(t)
	if !strings.Contains(p.field("mfa"), "user") {
		t.Errorf("mfa without user: %+v", p)
	}
}
