package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/store"
)

// TestApplicationUsageTabNeedsApplicationsRead: the Usage tab of an
// application shows the application (name, type, policy, allowlist) as
// well as the report, so a user with audit:read alone may see the
// tenant-wide report but not the application's page, as through /api/v1,
// where GET /applications/{id} needs applications:read.
func TestApplicationUsageTabNeedsApplicationsRead(t *testing.T) {
	e, _ := startConsole(t)
	apps, err := e.Admin.ListApplications(t.Context(), admin.CLI(), admin.DemoTenantID, store.Page{Limit: 100})
	if err != nil || len(apps.Applications) == 0 {
		t.Fatalf("demo applications: %v", err)
	}
	app := apps.Applications[0]
	pw := userWithScopes(t, e, "auditor", "audit:read")
	c := peopleSignIn(t, e, "auditor", pw)
	if p := c.get(t, "/usage"); p.Status != http.StatusOK {
		t.Fatalf("the scope-usage report for audit:read: %d", p.Status)
	}
	p := c.get(t, "/applications/"+app.ClientID+"/usage")
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "applications:read") {
		t.Errorf("the Usage tab of %s for audit:read alone: %d, want 403 naming applications:read:\n%s", app.ClientID, p.Status, p.Body)
	}
	if strings.Contains(p.Body, string(app.ScopePolicy)+"</span>") {
		t.Errorf("the refused page shows the application's policy:\n%s", p.Body)
	}
}
