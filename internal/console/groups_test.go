package console_test

import (
	"slices"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
)

// TestGroupsInChromium: alice creates a group (a bad name first: refused by
// its field, input kept), gives it a role, adds bob as a member by typing
// his email (bob then holds the role through it), removes him, and deletes
// the group after confirming; each change is stored and audited as alice
// through the console.
func TestGroupsInChromium(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	bob := peopleUser(t, e, "bob").User
	b.Open("/")
	b.Do(chromedp.Click("", Named("link", "Groups")))
	b.WaitURL(b.URL + "/groups")
	b.wantText("No group yet.")
	b.Do(chromedp.Click("", Named("link", "New group")))
	b.WaitURL(b.URL + "/groups/_new")
	b.Do(
		chromedp.SendKeys("", "Approvers", Named("textbox", "Name")),
		chromedp.SendKeys("", "Approve payments.", Named("textbox", "Description")),
		chromedp.Click("", Named("checkbox", "teller")),
	)
	b.Submit("Create group", b.URL+"/groups")
	b.wantText("must be 1–64 lower-case letters")
	if b.attr("textbox", "Name", "aria-invalid") != "true" || b.value("textbox", "Name") != "Approvers" || b.value("textbox", "Description") != "Approve payments." {
		t.Fatal("the refused group's form lost its input or its mark")
	}
	b.Do(chromedp.Clear("", Named("textbox", "Name")), chromedp.SendKeys("", "approvers", Named("textbox", "Name")))
	b.Submit("Create group", b.URL+"/groups/approvers")
	b.wantText("Group approvers created.", "No member.")
	wantConsoleEvent(t, e, model.EventGroupCreated, "")

	// Edit: the manager role instead of teller.
	b.Do(chromedp.Click("", Named("checkbox", "teller")), chromedp.Click("", Named("checkbox", "manager")))
	b.Submit("Save group", b.URL+"/groups/approvers")
	b.wantText("Group approvers saved.")
	g, err := e.Admin.GetGroup(t.Context(), admin.CLI(), admin.DemoTenantID, "approvers")
	if err != nil || !slices.Equal(g.Group.Roles, []string{"manager"}) || g.Group.Description != "Approve payments." {
		t.Fatalf("approvers = %+v %v", g.Group, err)
	}
	wantConsoleEvent(t, e, model.EventGroupUpdated, "")

	// Members: an unknown user is said in place; bob by his email.
	b.Do(chromedp.SendKeys("", "nobody@example.com", Named("textbox", "Username or email")))
	b.Submit("Add member", b.URL+"/groups/approvers")
	b.wantText(`no user of this tenant has the username or email "nobody@example.com"`)
	b.Do(chromedp.Clear("", Named("textbox", "Username or email")), chromedp.SendKeys("", "bob@example.com", Named("textbox", "Username or email")))
	b.Submit("Add member", b.URL+"/groups/approvers")
	b.wantText("bob added to group approvers.")
	b.Shot("group")
	if d := peopleUser(t, e, "bob"); !slices.Equal(d.Groups, []string{"approvers"}) || !slices.Contains(d.Roles, "manager") {
		t.Fatalf("bob = %+v", d)
	}
	wantConsoleEvent(t, e, model.EventGroupMemberAdded, bob.ID)
	b.Submit("Remove bob from the group", b.URL+"/groups/approvers")
	b.wantText("bob removed from group approvers.", "No member.")
	wantConsoleEvent(t, e, model.EventGroupMemberRemoved, bob.ID)

	b.Do(chromedp.Click("", Named("link", "Delete group")))
	b.WaitURL(b.URL + "/groups/approvers/delete")
	b.wantText("Delete group approvers?", "it has no members")
	b.Submit("Delete group approvers", b.URL+"/groups")
	b.wantText("Group approvers deleted.", "No group yet.")
	if _, err := e.Admin.GetGroup(t.Context(), admin.CLI(), admin.DemoTenantID, "approvers"); err == nil {
		t.Fatal("the group is still there")
	}
	wantConsoleEvent(t, e, model.EventGroupDeleted, "")
}
