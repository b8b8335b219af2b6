package api_test

import (
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/store"
)

// TestAuditRetentionSettings: GET shows the defaults, PUT replaces the days
// per class (audited, with before and after), out-of-range days are a 400
// naming each field, and the setting needs audit:read.
func TestAuditRetentionSettings(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, "audit:read")
	var doc admin.AuditRetentionDoc
	e.call(t, "GET", "/settings/audit-retention", tok, nil).want(t, 200).decode(t, &doc)
	if doc.IssuanceDays != 0 || doc.Effective.IssuanceDays != 90 || doc.Effective.SecurityDays != 365 || doc.Effective.AdminDays != 365 {
		t.Fatalf("defaults: %+v", doc)
	}
	e.call(t, "PUT", "/settings/audit-retention", tok, map[string]any{"issuance_days": 30, "admin_days": 730}).want(t, 200).decode(t, &doc)
	if doc.IssuanceDays != 30 || doc.Effective.IssuanceDays != 30 || doc.Effective.SecurityDays != 365 || doc.Effective.AdminDays != 730 {
		t.Fatalf("after PUT: %+v", doc)
	}
	e.call(t, "GET", "/settings/audit-retention", tok, nil).want(t, 200).decode(t, &doc)
	if doc.IssuanceDays != 30 || doc.AdminDays != 730 {
		t.Fatalf("GET after PUT: %+v", doc)
	}
	evs, err := e.Store.Audit().Search(t.Context(), store.AuditQuery{TenantID: e.Tenant, Type: admin.EventAuditRetentionChanged})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("%d %s events, want 1", len(evs), admin.EventAuditRetentionChanged)
	}
	r := e.call(t, "PUT", "/settings/audit-retention", tok, map[string]any{"issuance_days": -1, "security_days": 4000})
	r.want(t, 400)
	for _, field := range []string{"issuance_days", "security_days"} {
		if !strings.Contains(string(r.Body), field) {
			t.Errorf("400 does not name %s: %s", field, r.Body)
		}
	}
	e.call(t, "GET", "/settings/audit-retention", e.token(t, "users:read"), nil).want(t, 403)
}
