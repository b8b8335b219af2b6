package console_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// TestRolesInChromium: the roles list shows each role's scopes; alice
// creates a role with scopes ticked from the registry grouped by API,
// changes its scopes on its page, assigns it to bob by username and takes
// it back, and deletes it after confirming. The built-in roles cannot be
// deleted. Every change is stored and audited as alice through the
// console.
func TestRolesInChromium(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	bob := peopleUser(t, e, "bob").User
	b.Open("/")
	b.Do(chromedp.Click("", Named("link", "Roles")))
	b.WaitURL(b.URL + "/roles")
	rows := b.rows()
	if len(rows) != 4 || !strings.Contains(rows[1], "manager") || !strings.Contains(rows[1], "payments:approve read:transactions write:settings") {
		t.Fatalf("roles: %q", rows)
	}
	b.Shot("roles")

	b.Do(chromedp.Click("", Named("link", "New role")))
	b.WaitURL(b.URL + "/roles/_new")
	b.Do(
		chromedp.SendKeys("", "auditor", Named("textbox", "Name")),
		chromedp.SendKeys("", "Reads transactions and the audit log.", Named("textbox", "Description")),
		chromedp.Click("", Named("checkbox", "read:transactions")),
		chromedp.Click("", Named("checkbox", "audit:read")),
	)
	b.Submit("Create role", b.URL+"/roles/auditor")
	b.wantText("Role auditor created.")
	r := role(t, e, "auditor")
	if !slices.Equal(r.Scopes, []string{"audit:read", "read:transactions"}) {
		t.Fatalf("auditor = %+v", r)
	}
	wantConsoleEvent(t, e, model.EventRoleCreated, "")

	// The scopes are grouped by the API defining them.
	for _, g := range []string{"Banking API (api.banking.example.com)", "Health records API (api.health.example.com)", "Platform API (this tenant's /api/v1)", "OpenID Connect (need no role)"} {
		if !b.Exists("group", g) {
			t.Errorf("no scope group %q", g)
		}
	}
	b.Do(chromedp.Click("", Named("checkbox", "read:records")), chromedp.Click("", Named("checkbox", "read:transactions")))
	b.Shot("role")
	b.Submit("Save role", b.URL+"/roles/auditor")
	b.wantText("Role auditor saved.")
	if r := role(t, e, "auditor"); !slices.Equal(r.Scopes, []string{"audit:read", "read:records"}) {
		t.Fatalf("auditor after the edit = %+v", r)
	}
	d := wantConsoleEvent(t, e, model.EventRoleUpdated, "")
	if fmt.Sprint(d["added"]) != "[read:records]" || fmt.Sprint(d["removed"]) != "[read:transactions]" {
		t.Errorf("role.updated details: %v", d)
	}

	b.Do(chromedp.SendKeys("", "bob", Named("textbox", "Username or email")))
	b.Submit("Assign role", b.URL+"/roles/auditor")
	b.wantText("Role auditor assigned to bob.")
	if !slices.Contains(peopleUser(t, e, "bob").Roles, "auditor") {
		t.Fatal("bob does not hold auditor")
	}
	wantConsoleEvent(t, e, model.EventRoleAssigned, bob.ID)
	b.Submit("Unassign from bob", b.URL+"/roles/auditor")
	b.wantText("Role auditor unassigned from bob.", "Nobody.")
	wantConsoleEvent(t, e, model.EventRoleUnassigned, bob.ID)

	b.Do(chromedp.Click("", Named("link", "Delete role")))
	b.WaitURL(b.URL + "/roles/auditor/delete")
	b.wantText("Delete role auditor?", "nobody holds it")
	b.Submit("Delete role auditor", b.URL+"/roles")
	b.wantText("Role auditor deleted.")
	if _, err := e.Admin.GetRole(t.Context(), admin.CLI(), admin.DemoTenantID, "auditor"); err == nil {
		t.Fatal("the role is still there")
	}
	wantConsoleEvent(t, e, model.EventRoleDeleted, "")

	b.Open("/roles/admin")
	if b.Exists("link", "Delete role") {
		t.Error("the built-in admin role offers Delete")
	}
	b.Open("/roles/admin/delete")
	b.wantText("admin is a built-in role and cannot be deleted")
}

func role(t *testing.T, e *servertest.Env, name string) model.Role {
	t.Helper()
	r, err := e.Admin.GetRole(t.Context(), admin.CLI(), admin.DemoTenantID, name)
	if err != nil {
		t.Fatal(err)
	}
	return r.Role
}
