package console_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
)

// signInAs signs in to the console through the tenant's login page as a
// user the test made (SignIn knows only the demo's).
func (b *Browser) signInAs(username, password string) {
	b.t.Helper()
	b.Do(
		chromedp.Navigate(b.URL+"/"),
		chromedp.SendKeys("", username, Named("textbox", "Username or email")),
		chromedp.SendKeys("", password, Named("textbox", "Password")),
		chromedp.Click("", Named("button", "Sign in")),
	)
	b.awaitConsole()
	if !b.WaitURL(b.URL + "/") {
		b.t.Fatalf("after signing in as %s the browser is at %s:\n%s", username, b.Location(), b.MainText())
	}
}

// attr is an attribute of the control with role and name ("" if absent).
func (b *Browser) attr(role, name, attr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.AttributeValue("", attr, Named(role, name)))
	if err != nil {
		b.t.Fatalf("%s of %s %q: %v\n%s", attr, role, name, err, b.MainText())
	}
	return v.Value
}

// wantText fails unless the page's main element holds every s.
func (b *Browser) wantText(s ...string) {
	b.t.Helper()
	txt := b.MainText()
	for _, w := range s {
		if !strings.Contains(txt, w) {
			b.t.Fatalf("%s lacks %q:\n%s", b.Location(), w, txt)
		}
	}
}

// rows is the text of the rows of the page's first table body.
func (b *Browser) rows() []string {
	b.t.Helper()
	rs, err := chromedp.Run(b.Ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("main table tbody tr")).map(r => r.innerText.replace(/\s+/g, " ").trim())`))
	if err != nil {
		b.t.Fatal(err)
	}
	return rs
}

// TestUsersSearchAndPagingInChromium: 45 more users page 20 at a time
// with First / Previous / Next / Last and "page N of M"; the search finds a
// prefix of username, email or name; the status filter keeps only the
// disabled ones; the search and filter survive paging.
func TestUsersSearchAndPagingInChromium(t *testing.T) {
	e, demo := startConsole(t)
	ctx, cli := t.Context(), admin.CLI()
	for i := 1; i <= 45; i++ {
		u := model.User{ID: fmt.Sprintf("usr_cust%02d", i), TenantID: admin.DemoTenantID, Username: fmt.Sprintf("cust-%02d", i),
			Email: fmt.Sprintf("c%02d@shop.example.com", i), Name: fmt.Sprintf("Customer %02d", i), Status: model.UserActive,
			CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
		if i%20 == 0 {
			u.Status = model.UserDisabled
		}
		if err := e.Store.Users().Create(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	_ = cli
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	b.Open("/")
	b.Do(chromedp.Click("", Named("link", "Users")))
	b.WaitURL(b.URL + "/users")
	b.wantText("47 users", "page 1 of 3")
	b.Shot("users")
	if r := b.rows(); len(r) != 20 || !strings.HasPrefix(r[0], "alice") || !strings.HasPrefix(r[2], "cust-01") {
		t.Fatalf("page 1: %q", r)
	}
	if b.Exists("link", "First") || b.Exists("link", "Previous") {
		t.Error("page 1 links to First or Previous")
	}
	b.SubmitWith("Next", b.URL+"/users?", chromedp.Click("", Named("link", "Next")))
	b.wantText("page 2 of 3")
	if r := b.rows(); len(r) != 20 || !strings.HasPrefix(r[0], "cust-19") {
		t.Fatalf("page 2: %q", r)
	}
	b.SubmitWith("Last", b.URL+"/users?", chromedp.Click("", Named("link", "Last")))
	b.wantText("page 3 of 3")
	if r := b.rows(); len(r) != 7 || !strings.HasPrefix(r[6], "cust-45") {
		t.Fatalf("page 3: %q", r)
	}
	if b.Exists("link", "Next") || b.Exists("link", "Last") {
		t.Error("the last page links to Next or Last")
	}
	b.SubmitWith("Previous", b.URL+"/users?", chromedp.Click("", Named("link", "Previous")))
	b.wantText("page 2 of 3")
	b.SubmitWith("First", b.URL+"/users?", chromedp.Click("", Named("link", "First")))
	b.wantText("page 1 of 3")

	// A prefix of the username, the email, the name; case-insensitive.
	for q, want := range map[string]int{"cust-1": 10, "C4": 6, "customer 0": 9, "ALI": 1} {
		b.Open("/users")
		b.Do(chromedp.SendKeys("", q, Named("searchbox", "Search users")))
		b.Submit("Search", b.URL+"/users?")
		if r := b.rows(); len(r) != want {
			t.Errorf("search %q: %d rows, want %d: %q", q, len(r), want, r)
		}
		if got := b.value("searchbox", "Search users"); got != q {
			t.Errorf("the search box holds %q after searching %q", got, q)
		}
	}
	// Only the disabled ones.
	b.Open("/users")
	b.Do(chromedp.SetValue("", "disabled", Named("combobox", "Status")))
	b.Submit("Search", b.URL+"/users?")
	if r := b.rows(); len(r) != 2 || !strings.HasPrefix(r[0], "cust-20") || !strings.HasPrefix(r[1], "cust-40") {
		t.Fatalf("disabled: %q", r)
	}
	// A search spanning pages keeps its query while paging.
	b.Open("/users?q=cust")
	b.wantText("45 users matching", "page 1 of 3")
	b.SubmitWith("Last", b.URL+"/users?", chromedp.Click("", Named("link", "Last")))
	if r := b.rows(); len(r) != 5 || b.value("searchbox", "Search users") != "cust" {
		t.Fatalf("last page of the search: %q", r)
	}
	// A page past the end shows the last one.
	b.Open("/users?page=99")
	b.wantText("page 3 of 3")

	ph := newBrowser(t, e, demo, Phone)
	ph.SignIn("alice")
	ph.Open("/users")
	ph.Shot("users")
}

// TestUsersCreateInChromium: a new user sent with bad input comes back with
// each problem by its field and the input kept; corrected, it is created
// with the ticked role, and the audit log records alice through the
// console.
func TestUsersCreateInChromium(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	b.Open("/users")
	b.Do(chromedp.Click("", Named("link", "New user")))
	b.WaitURL(b.URL + "/users/new")
	b.Do(
		chromedp.SendKeys("", "-carol", Named("textbox", "Username")),
		chromedp.SendKeys("", "carol@", Named("textbox", "Email")),
		chromedp.SendKeys("", "Carol Clark", Named("textbox", "Full name")),
		chromedp.SendKeys("", "short", Named("textbox", "Initial password")),
		chromedp.Click("", Named("checkbox", "teller")),
	)
	n := countUsers(t, e)
	b.Submit("Create user", b.URL+"/users")
	b.wantText("must be 1–64 letters, digits or . _ @ + -", "must be a plain address such as alice@example.com", "at least 8 characters")
	for _, f := range []string{"Username", "Email", "Initial password"} {
		if b.attr("textbox", f, "aria-invalid") != "true" {
			t.Errorf("%s is not marked invalid", f)
		}
	}
	if b.attr("textbox", "Full name", "aria-invalid") != "" {
		t.Error("Full name is marked invalid")
	}
	if b.value("textbox", "Username") != "-carol" || b.value("textbox", "Email") != "carol@" || b.value("textbox", "Full name") != "Carol Clark" {
		t.Error("the input was not kept")
	}
	if ok, _ := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](`document.querySelector("input[value=teller]").checked`)); !ok {
		t.Error("the ticked role was not kept")
	}
	if countUsers(t, e) != n {
		t.Fatal("a user was created from bad input")
	}
	b.Shot("user-new-errors")

	b.Do(
		chromedp.Clear("", Named("textbox", "Username")), chromedp.SendKeys("", "carol", Named("textbox", "Username")),
		chromedp.Clear("", Named("textbox", "Email")), chromedp.SendKeys("", "carol@example.com", Named("textbox", "Email")),
		chromedp.SendKeys("", "carol's long passphrase", Named("textbox", "Initial password")),
	)
	b.Submit("Create user", b.URL+"/users/usr_")
	b.wantText("User carol created.")
	if got := b.value("textbox", "Full name"); got != "Carol Clark" {
		t.Errorf("carol's page shows the name %q", got)
	}
	carol := peopleUser(t, e, "carol")
	if carol.User.Email != "carol@example.com" || !slices.Equal(carol.Roles, []string{"teller"}) || carol.User.Status != model.UserActive {
		t.Fatalf("carol = %+v", carol)
	}
	d := wantConsoleEvent(t, e, model.EventUserCreated, carol.User.ID)
	if fmt.Sprint(d["roles"]) != "[teller]" {
		t.Errorf("user.created details: %v", d)
	}
}

// TestUsersDisableEnableInChromium: disabling bob from his page says so,
// stores it and audits it as alice; enabling him undoes it.
func TestUsersDisableEnableInChromium(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	bob := peopleUser(t, e, "bob").User
	b.Open("/users")
	b.Do(chromedp.Click("", Named("link", "bob")))
	b.WaitURL(b.URL + "/users/" + bob.ID)
	b.Submit("Disable user", b.URL+"/users/"+bob.ID)
	b.wantText("bob is disabled", "Disabled: bob cannot sign in.")
	if got := peopleUser(t, e, "bob").User.Status; got != model.UserDisabled {
		t.Fatalf("bob is %s", got)
	}
	wantConsoleEvent(t, e, model.EventUserDisabled, bob.ID)
	if b.Exists("button", "Disable user") {
		t.Error("a disabled user's page offers Disable")
	}
	b.Submit("Enable user", b.URL+"/users/"+bob.ID)
	b.wantText("bob is enabled", "Active: bob can sign in.")
	if got := peopleUser(t, e, "bob").User.Status; got != model.UserActive {
		t.Fatalf("bob is %s", got)
	}
	wantConsoleEvent(t, e, model.EventUserEnabled, bob.ID)
}

// TestUsersRolesAndGroupsInChromium: from bob's page alice assigns him a
// role and unassigns another, puts him in a group (whose roles he then
// holds through it) and takes him out again; each change is stored and
// audited as alice through the console.
func TestUsersRolesAndGroupsInChromium(t *testing.T) {
	e, demo := startConsole(t)
	if _, err := e.Admin.CreateGroup(t.Context(), admin.CLI(), admin.DemoTenantID, admin.GroupInput{Name: "approvers", Roles: []string{"manager"}}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	bob := peopleUser(t, e, "bob").User
	b.Open("/users/" + bob.ID)

	b.Do(chromedp.SetValue("", "manager", Named("combobox", "Role to assign")))
	b.Submit("Assign role", b.URL+"/users/"+bob.ID)
	b.wantText("Role manager assigned to bob.")
	if got := peopleUser(t, e, "bob").Roles; !slices.Contains(got, "manager") {
		t.Fatalf("bob's roles: %v", got)
	}
	wantConsoleEvent(t, e, model.EventRoleAssigned, bob.ID)

	b.Submit("Unassign teller", b.URL+"/users/"+bob.ID)
	b.wantText("Role teller unassigned from bob.")
	if got := peopleUser(t, e, "bob").Roles; slices.Contains(got, "teller") {
		t.Fatalf("bob's roles: %v", got)
	}
	wantConsoleEvent(t, e, model.EventRoleUnassigned, bob.ID)

	b.Do(chromedp.SetValue("", "approvers", Named("combobox", "Group to join")))
	b.Submit("Add to group", b.URL+"/users/"+bob.ID)
	b.wantText("bob added to group approvers.", "directly; through approvers")
	if got := peopleUser(t, e, "bob").Groups; !slices.Equal(got, []string{"approvers"}) {
		t.Fatalf("bob's groups: %v", got)
	}
	wantConsoleEvent(t, e, model.EventGroupMemberAdded, bob.ID)

	// manager is now held both ways: unassigning the direct one leaves
	// the group's.
	b.Submit("Unassign manager", b.URL+"/users/"+bob.ID)
	b.wantText("through approvers")
	if b.Exists("button", "Unassign manager") {
		t.Error("a role held only through a group offers Unassign")
	}

	b.Submit("Remove from group approvers", b.URL+"/users/"+bob.ID)
	b.wantText("bob removed from group approvers.", "In no group.")
	if got := peopleUser(t, e, "bob"); len(got.Groups) != 0 || slices.Contains(got.Roles, "manager") {
		t.Fatalf("bob after leaving: %+v", got)
	}
	wantConsoleEvent(t, e, model.EventGroupMemberRemoved, bob.ID)
}

// TestUsersReadOnlyInChromium: a user whose only platform scope is
// users:read sees the Users pages without a control that changes anything,
// and no Applications or Scopes link; the pages of other sections refuse
// them.
func TestUsersReadOnlyInChromium(t *testing.T) {
	e, demo := startConsole(t)
	pw := readOnlyUser(t, e, "rita")
	bob := peopleUser(t, e, "bob").User
	if _, err := e.Store.Consents().Grant(t.Context(), admin.DemoTenantID, bob.ID, admin.DemoSPAClientID, []string{"openid", "read:transactions"}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, e, demo, Desktop)
	b.signInAs("rita", pw)
	for _, l := range []string{"Applications", "Scopes", "APIs", "Roles", "Groups", "Audit"} {
		if b.Exists("link", l) {
			t.Errorf("rita's console links to %s", l)
		}
	}
	if !b.Exists("link", "Users") {
		t.Fatal("rita's console has no Users link")
	}
	b.Open("/users")
	if b.Exists("link", "New user") {
		t.Error("the read-only list offers New user")
	}
	b.Do(chromedp.Click("", Named("link", "bob")))
	b.WaitURL(b.URL + "/users/" + bob.ID)
	b.wantText("Bob Brown", "teller", "Demo Bank", "read:transactions")
	b.Shot("user-read-only")
	for _, c := range [][2]string{
		{"button", "Save profile"}, {"textbox", "Username"}, {"button", "Disable user"}, {"button", "Set password"},
		{"button", "Assign role"}, {"button", "Unassign teller"}, {"button", "Add to group"}, {"link", "Delete user"},
		{"button", "Withdraw consent for Demo Bank"},
	} {
		if b.Exists(c[0], c[1]) {
			t.Errorf("rita's view of bob offers %s %q", c[0], c[1])
		}
	}
	for _, p := range []string{"/users/new", "/roles/teller", "/groups"} {
		b.Open(p)
		b.wantText("This needs the platform scope")
	}
}

// TestUsersWithdrawConsentInChromium: bob approved the demo SPA; alice
// sees it on his page and withdraws it: it is gone from the store and from
// the page, with a consent.revoked event whose actor is alice and whose
// subject is bob.
func TestUsersWithdrawConsentInChromium(t *testing.T) {
	e, demo := startConsole(t)
	bob := peopleUser(t, e, "bob").User
	if _, err := e.Store.Consents().Grant(t.Context(), admin.DemoTenantID, bob.ID, admin.DemoSPAClientID, []string{"openid", "read:transactions"}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	b.Open("/users/" + bob.ID)
	b.wantText("Demo Bank", "openid read:transactions")
	b.Shot("user")
	b.Submit("Withdraw consent for Demo Bank", b.URL+"/users/"+bob.ID)
	b.wantText("Consent for "+admin.DemoSPAClientID+" withdrawn", "No consent: bob has approved no application")
	if cs, err := e.Admin.UserConsents(t.Context(), admin.CLI(), admin.DemoTenantID, "bob"); err != nil || len(cs) != 0 {
		t.Fatalf("bob's consents: %+v %v", cs, err)
	}
	d := wantConsoleEvent(t, e, model.EventConsentRevoked, bob.ID)
	if fmt.Sprint(d["scopes"]) != "[openid read:transactions]" {
		t.Errorf("consent.revoked details: %v", d)
	}
}

// TestUsersDeleteInChromium: deleting a user asks first, naming what goes
// with them; confirmed, the user is gone.
func TestUsersDeleteInChromium(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	bob := peopleUser(t, e, "bob").User
	b.Open("/users/" + bob.ID)
	b.Do(chromedp.Click("", Named("link", "Delete user")))
	b.WaitURL(b.URL + "/users/" + bob.ID + "/delete")
	b.wantText("Delete user bob?", "their roles go with them: teller, user")
	b.Submit("Delete user bob", b.URL+"/users")
	b.wantText("User bob deleted.")
	if _, err := e.Admin.GetUser(t.Context(), admin.CLI(), admin.DemoTenantID, "bob"); err == nil {
		t.Fatal("bob is still there")
	}
	wantConsoleEvent(t, e, model.EventUserDeleted, bob.ID)
}
