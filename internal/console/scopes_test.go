package console_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// The scopes pages in headless Chromium: what a person does, found by
// role and accessible name.

// customNames are the names in the custom-scopes table of the page shown
// (DevTools' evaluation is not subject to the page's CSP).
func customNames(b *Browser) []string {
	b.t.Helper()
	names, err := chromedp.Run(b.Ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#custom-scopes ~ .table-wrap tbody th[scope=row]"), th => th.textContent.trim())`))
	if err != nil {
		b.t.Fatal(err)
	}
	return names
}

// described is what the control with role and name is described by
// (aria-describedby: hint, counter, error), and whether it is marked
// invalid.
func (b *Browser) described(role, name string) (string, bool) {
	b.t.Helper()
	attrs, err := chromedp.Run(b.Ctx, chromedp.Attributes("", Named(role, name)))
	if err != nil {
		b.t.Fatalf("attributes of %s %q: %v", role, name, err)
	}
	var parts []string
	for _, id := range strings.Fields(attrs["aria-describedby"]) {
		s, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.getElementById(%q) || {}).textContent || ""`, id)))
		if err != nil {
			b.t.Fatal(err)
		}
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " | "), attrs["aria-invalid"] == "true"
}

// replace types s into the control with role and name in place of its
// value, as a person selecting it all and typing would.
func replace(role, name, s string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := chromedp.Focus("", Named(role, name))(ctx, t); err != nil {
			return err
		}
		if _, err := chromedp.Evaluate[bool](`document.activeElement.select(), true`)(ctx, t); err != nil {
			return err
		}
		_, err := chromedp.SendKeys("", s, Named(role, name))(ctx, t)
		return err
	})
}

// waitFor polls cond for up to 5 seconds.
func waitFor(cond func() bool) bool {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return cond()
}

// TestScopesPageThroughCustomScopesFirstPreviousNextLast: 45 custom
// scopes (and the demo's 4) list alphabetically, 20 a page, and First /
// Previous / Next / Last walk them with "page N of M" (seed 003).
func TestScopesPageThroughCustomScopesFirstPreviousNextLast(t *testing.T) {
	e, demo := startConsole(t)
	ctx := t.Context()
	var names []string
	for i := range 45 {
		names = append(names, fmt.Sprintf("svc%02d:read", i))
	}
	shuffled := slices.Clone(names)
	rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, n := range shuffled {
		if _, err := e.Admin.CreateScope(ctx, admin.CLI(), admin.DemoTenantID, admin.ScopeInput{Name: n, API: admin.DemoAudience,
			DisplayName: "Read service " + n[3:5], Description: "Read the records of service " + n[3:5] + "."}); err != nil {
			t.Fatal(err)
		}
	}
	all := append(slices.Clone(names), "payments:approve", "read:records", "read:transactions", "write:settings")
	slices.Sort(all)
	pages := [][]string{all[:20], all[20:40], all[40:]}

	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	b.SubmitWith("Scopes", b.URL+"/scopes", chromedp.Click("", Named("link", "Scopes")))
	b.Shot("scopes")
	at := func(n int) {
		t.Helper()
		if got := customNames(b); !slices.Equal(got, pages[n-1]) {
			t.Fatalf("page %d lists %v, want %v", n, got, pages[n-1])
		}
		if txt := b.MainText(); !strings.Contains(txt, fmt.Sprintf("page %d of 3", n)) {
			t.Fatalf("page %d does not say where it is:\n%s", n, txt)
		}
		// Only the moves that lead somewhere are links.
		for _, c := range []struct {
			link string
			want bool
		}{{"First", n > 1}, {"Previous", n > 1}, {"Next", n < 3}, {"Last", n < 3}} {
			if got := b.Exists("link", c.link); got != c.want {
				t.Errorf("page %d: a link %s: %v, want %v", n, c.link, got, c.want)
			}
		}
	}
	move := func(link string, to int) {
		t.Helper()
		b.SubmitWith(link, b.URL+"/scopes?page=", chromedp.Click("", Named("link", link)))
		at(to)
	}
	at(1)
	if txt := b.MainText(); !strings.Contains(txt, "Custom scopes (49)") || !strings.Contains(txt, "OpenID Connect scopes") ||
		!strings.Contains(txt, "Platform scopes") || !strings.Contains(txt, "scopes:write") {
		t.Errorf("the scope reference lacks a section:\n%s", txt)
	}
	move("Next", 2)
	move("Next", 3)
	move("Previous", 2)
	move("Last", 3)
	move("First", 1)
	// The table says each scope's kind, display name, description, implies
	// and API.
	b.Open("/scopes?page=2")
	row, err := chromedp.Run(b.Ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("tbody tr")).find(tr => tr.querySelector("th").textContent.trim() === "svc20:read").innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"custom", "Read service 20", "Read the records of service 20.", "none", "Banking API"} {
		if !strings.Contains(row, want) {
			t.Errorf("the row of svc20:read lacks %q: %q", want, row)
		}
	}
	// A page past the end shows the last.
	b.Open("/scopes?page=99")
	at(3)

	phone := newBrowser(t, e, demo, Phone)
	phone.SignIn("alice")
	phone.Open("/scopes")
	phone.Shot("scopes")
	if got := customNames(phone); !slices.Equal(got, pages[0]) {
		t.Errorf("on a phone page 1 lists %v", got)
	}
	// Nothing is wider than the phone's screen.
	wide, err := chromedp.Run(phone.Ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil || wide {
		t.Errorf("the scope list scrolls sideways on a %d px phone (err %v)", Phone, err)
	}
}

// TestScopeCreateChecksTheNameLive: the name is checked as it is typed
// against the RFC 6749 §3.3 registry rule and the tenant's naming
// pattern, with the server's own sentences; sent anyway, the server says
// the same beside the field with the input kept; a good name creates the
// scope, audited as alice through the console.
func TestScopeCreateChecksTheNameLive(t *testing.T) {
	e, demo := startConsole(t)
	ctx := t.Context()
	pattern := `^[a-z]+:[a-z]+$`
	if _, err := e.Admin.UpdateTenant(ctx, admin.CLI(), admin.DemoTenantID, admin.TenantUpdate{ScopePattern: &pattern}); err != nil {
		t.Fatal(err)
	}
	e.Server.Catalog().Invalidate(admin.DemoTenantID)

	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	b.Open("/scopes")
	b.SubmitWith("Create scope", b.URL+"/scopes/new", chromedp.Click("", Named("link", "Create scope")))

	live := func(want string) {
		t.Helper()
		var got string
		var invalid bool
		ok := waitFor(func() bool {
			got, invalid = b.described("textbox", "Name")
			// The error is the last description, and exactly want.
			return (want == "" || strings.HasSuffix(got, " | "+want)) && invalid == (want != "")
		})
		if !ok || (want == "" && strings.Contains(got, "scope name")) {
			t.Fatalf("the Name field says %q (invalid %v), want %q", got, invalid, want)
		}
	}
	const badDigit = `scope name "1loans" must be 1–64 characters, start with a letter, then letters, digits or _ : . - /`
	b.Do(chromedp.SendKeys("", "1loans", Named("textbox", "Name")))
	live(badDigit)
	b.Do(
		chromedp.SetValue("", "banking", Named("combobox", "API")),
		chromedp.SendKeys("", "Read loans", Named("textbox", "Display name")),
		chromedp.SendKeys("", "View your loans.", Named("textbox", "Description")),
	)
	if d, _ := b.described("textbox", "Description"); !strings.Contains(d, "16 of 120 characters") {
		t.Errorf("the description's counter: %q", d)
	}
	// Sent anyway: the server refuses with the same sentence, input kept.
	b.Submit("Create scope", b.URL+"/scopes/new")
	b.Shot("scope-create-error")
	live(badDigit)
	if v := b.value("textbox", "Description"); v != "View your loans." {
		t.Errorf("the description after the refusal: %q", v)
	}
	if v := b.value("combobox", "API"); v != "banking" {
		t.Errorf("the API after the refusal: %q", v)
	}
	// Within the registry rule but not the tenant's pattern.
	b.Do(replace("textbox", "Name", "loans_read"))
	live(`scope name "loans_read" does not match this tenant's naming pattern ^[a-z]+:[a-z]+$`)
	b.Do(replace("textbox", "Name", "loans:read"))
	live("")
	b.Submit("Create scope", b.URL+"/scopes/edit?name=loans%3Aread")
	if txt := b.MainText(); !strings.Contains(txt, "Scope loans:read created") {
		t.Errorf("no notice after the create:\n%s", txt)
	}
	sc, err := e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, "loans:read")
	if err != nil || sc.APIID != "banking" || sc.DisplayName != "Read loans" || sc.Description != "View your loans." || sc.Kind != model.KindCustom {
		t.Fatalf("loans:read: %+v, %v", sc, err)
	}
	// On no allowlist.
	apps, err := e.Admin.Impact(ctx, admin.CLI(), admin.DemoTenantID, "loans:read")
	if err != nil || len(apps.Applications) != 0 {
		t.Errorf("a new scope is on allowlists: %+v, %v", apps, err)
	}
}

// TestScopeEditAndRenameInChromium: the display name and description of a
// custom scope are edited, then the scope is renamed, and every allowlist
// that held it holds the new name.
func TestScopeEditAndRenameInChromium(t *testing.T) {
	e, demo := startConsole(t)
	ctx := t.Context()
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	b.Open("/scopes")
	b.SubmitWith("Edit write:settings", b.URL+"/scopes/edit?name=write%3Asettings", chromedp.Click("", Named("link", "Edit write:settings")))
	b.Do(
		replace("textbox", "Display name", "Change your settings"),
		replace("textbox", "Description", "Change your account settings."),
		replace("textbox", "Implies", "read:transactions"),
	)
	b.Submit("Save changes", b.URL+"/scopes/edit?name=write%3Asettings")
	b.Shot("scope")
	if txt := b.MainText(); !strings.Contains(txt, "Scope write:settings saved") {
		t.Errorf("no notice after the save:\n%s", txt)
	}
	sc, err := e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, "write:settings")
	if err != nil || sc.DisplayName != "Change your settings" || sc.Description != "Change your account settings." || !slices.Equal(sc.Implies, []string{"read:transactions"}) {
		t.Fatalf("write:settings after the edit: %+v, %v", sc, err)
	}
	holders, err := e.Admin.Impact(ctx, admin.CLI(), admin.DemoTenantID, "write:settings")
	if err != nil {
		t.Fatal(err)
	}

	b.Do(replace("textbox", "New name", "settings:write"))
	b.Submit("Rename scope", b.URL+"/scopes/edit?name=settings%3Awrite")
	if _, err := e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, "write:settings"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("write:settings after the rename: %v", err)
	}
	after, err := e.Admin.Impact(ctx, admin.CLI(), admin.DemoTenantID, "settings:write")
	if err != nil || !slices.Equal(after.Applications, holders.Applications) || !slices.Equal(after.Roles, holders.Roles) {
		t.Errorf("settings:write is held by %+v (err %v), want what held write:settings: %+v", after, err, holders)
	}
}

// TestScopeStaleEditShowsBothVersionsAndLosesNothing: the scope changes
// (through the admin use-case, as the API would) between opening the edit
// form and saving it. The save says so, shows both versions, keeps what
// the user typed and stores nothing of it; saving again applies the
// user's change onto the current version, keeping the other change too.
func TestScopeStaleEditShowsBothVersionsAndLosesNothing(t *testing.T) {
	e, demo := startConsole(t)
	ctx := t.Context()
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	page := b.URL + "/scopes/edit?name=read%3Atransactions"
	b.Open("/scopes/edit?name=read%3Atransactions")
	b.Do(replace("textbox", "Description", "Alice's description."))

	other := "Bob's description."
	otherName := "Read every transaction"
	if _, err := e.Admin.UpdateScope(ctx, admin.CLI(), admin.DemoTenantID, "read:transactions", admin.ScopeUpdate{
		DisplayName: &otherName, Description: &other}); err != nil {
		t.Fatal(err)
	}
	b.Submit("Save changes", page)
	b.Shot("scope-conflict")
	txt := b.MainText()
	for _, want := range []string{"changed by someone else since you opened it", "Your version", "Current version", "Alice's description.", other, otherName} {
		if !strings.Contains(txt, want) {
			t.Errorf("the conflict page lacks %q:\n%s", want, txt)
		}
	}
	if v := b.value("textbox", "Description"); v != "Alice's description." {
		t.Errorf("the description after the conflict: %q, want alice's input kept", v)
	}
	if v := b.value("textbox", "Display name"); v != otherName {
		t.Errorf("the display name after the conflict: %q, want the current %q (alice did not change it)", v, otherName)
	}
	sc, _ := e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, "read:transactions")
	if sc.Description != other {
		t.Fatalf("after a stale save the description is %q, want the other change %q", sc.Description, other)
	}

	b.Submit("Save changes", page)
	sc, _ = e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, "read:transactions")
	if sc.Description != "Alice's description." || sc.DisplayName != otherName {
		t.Errorf("after saving again: %q / %q, want alice's description and the other display name", sc.DisplayName, sc.Description)
	}
}

// TestScopeDeleteAsksForItsName: the delete page shows what the scope
// touches and says it will be removed from its applications; a wrong name
// deletes nothing; the right one deletes it and takes it off the
// allowlist.
func TestScopeDeleteAsksForItsName(t *testing.T) {
	e, demo := startConsole(t)
	ctx := t.Context()
	if _, err := e.Admin.CreateScope(ctx, admin.CLI(), admin.DemoTenantID, admin.ScopeInput{Name: "loans:read", API: admin.DemoAudience,
		Description: "View your loans."}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Admin.AddAllowedScopes(ctx, admin.CLI(), admin.DemoTenantID, admin.DemoSPAClientID, []string{"loans:read"}, 0); err != nil {
		t.Fatal(err)
	}
	scopes := []string{"read:transactions", "loans:read"}
	if _, err := e.Admin.UpdateRole(ctx, admin.CLI(), admin.DemoTenantID, "teller", admin.RoleUpdate{Scopes: &scopes}); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	b.Open("/scopes")
	del := b.URL + "/scopes/delete?name=loans%3Aread"
	b.SubmitWith("Delete loans:read", del, chromedp.Click("", Named("link", "Delete loans:read")))
	b.Shot("scope-delete")
	txt := b.MainText()
	for _, want := range []string{"the scope will be removed from all the applications it is assigned to", admin.DemoSPAClientID, "teller",
		"Grants in the last 30 days", "Consents"} {
		if !strings.Contains(txt, want) {
			t.Errorf("the delete page lacks %q:\n%s", want, txt)
		}
	}

	b.Do(chromedp.SendKeys("", "loans:reed", Named("textbox", "Scope name")))
	b.Submit("Delete scope", del)
	if d, invalid := b.described("textbox", "Scope name"); !invalid || !strings.Contains(d, "nothing was deleted") {
		t.Errorf("after a wrong name the field says %q (invalid %v)", d, invalid)
	}
	if _, err := e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, "loans:read"); err != nil {
		t.Fatalf("a wrong name deleted the scope: %v", err)
	}

	b.Do(replace("textbox", "Scope name", "loans:read"))
	b.Submit("Delete scope", b.URL+"/scopes")
	if txt := b.MainText(); !strings.Contains(txt, "Scope loans:read deleted and removed from 1 application: "+admin.DemoSPAClientID) {
		t.Errorf("no notice after the delete:\n%s", txt)
	}
	if _, err := e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, "loans:read"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("loans:read after the delete: %v", err)
	}
	app, err := e.Store.Applications().Get(ctx, admin.DemoTenantID, admin.DemoSPAClientID)
	if err != nil || slices.Contains(app.AllowedScopes, "loans:read") {
		t.Errorf("the SPA's allowlist after the delete: %v, %v", app.AllowedScopes, err)
	}
}
