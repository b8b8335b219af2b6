package console_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
)

// allowlistSummary is the editor's pending-changes line.
func allowlistSummary(b *Browser) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 3*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("allowlist-summary")))
	if err != nil {
		b.t.Fatalf("no pending-changes summary: %v\n%s", err, b.MainText())
	}
	return strings.TrimSpace(s)
}

// focused is the node that has the keyboard focus, 0 for none.
func focused(b *Browser) cdp.NodeID {
	ctx, cancel := context.WithTimeout(b.Ctx, 500*time.Millisecond)
	defer cancel()
	ids, err := chromedp.Run(ctx, chromedp.QueryNodeIDs(chromedp.CSS(":focus")))
	if err != nil || len(ids) == 0 {
		return 0
	}
	return ids[0]
}

// named is the node of the control with role and name.
func named(b *Browser, role, name string) cdp.NodeID {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 3*time.Second)
	defer cancel()
	ids, err := chromedp.Run(ctx, chromedp.QueryNodeIDs("", Named(role, name)))
	if err != nil || len(ids) == 0 {
		b.t.Fatalf("no %s named %q: %v\n%s", role, name, err, b.MainText())
	}
	return ids[0]
}

// tabTo presses Tab (Shift+Tab when back) until the control with role and
// name has the focus, as a keyboard user does; it fails after 80 presses.
func tabTo(b *Browser, role, name string, back bool) {
	b.t.Helper()
	want := named(b, role, name)
	var opts []chromedp.KeyOption
	if back {
		opts = append(opts, chromedp.KeyModifiers(kb.ModifierShift))
	}
	for range 80 {
		if focused(b) == want {
			return
		}
		b.Do(chromedp.KeyEvent(kb.Tab, opts...))
	}
	b.t.Fatalf("Tab never reached the %s %q", role, name)
}

// waitSummary waits until the pending-changes line is want.
func waitSummary(b *Browser, want string) {
	b.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	got := ""
	for time.Now().Before(deadline) {
		if got = allowlistSummary(b); got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("pending changes %q, want %q", got, want)
}

// TestAllowlistSelectArrowTypeAndSaveInChromium is seed 001's journey:
// Access tab → Allowed scopes; select a scope in Available scopes and press
// Allow selected; type another scope's name and press Add scope; the
// pending changes read "+ payments:approve, + write:settings"; Save writes
// both with ONE application.scopes_changed event by alice via the console.
func TestAllowlistSelectArrowTypeAndSaveInChromium(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	events := len(appsEvents(t, e, model.EventAppScopesChanged, "reporting-job"))

	b.Open("/applications/reporting-job/access")
	if !b.Exists("listbox", "Available scopes") || !b.Exists("listbox", "Allowed scopes") {
		t.Fatalf("the editor's two lists are not there:\n%s", b.MainText())
	}
	if got := allowlistSummary(b); got != "No pending changes." {
		t.Fatalf("summary on opening: %q", got)
	}
	b.Do(chromedp.Click("", Named("option", "payments:approve")))
	b.Do(chromedp.Click("", Named("button", "Allow selected")))
	waitSummary(b, "+ payments:approve")
	// The script moved it: no round trip, nothing written.
	if a := appsApp(t, e, "reporting-job"); slices.Contains(a.AllowedScopes, "payments:approve") {
		t.Fatal("Allow selected wrote the allowlist before Save")
	}
	b.Do(chromedp.SendKeys("", "write:settings", Named("combobox", "Add a scope by name")))
	b.Do(chromedp.Click("", Named("button", "Add scope")))
	waitSummary(b, "+ payments:approve, + write:settings")
	// The filter hides what does not match, live.
	b.Do(chromedp.SendKeys("", "record", Named("searchbox", "Filter available scopes")))
	if b.Exists("option", "openid") || b.Exists("option", "users:write") || !b.Exists("option", "read:records") {
		t.Error("the filter 'record' did not leave only read:records in Available scopes")
	}
	b.Do(chromedp.KeyEvent(strings.Repeat(kb.Backspace, len("record"))))
	if !b.Exists("option", "openid") {
		t.Error("emptying the filter did not show every available scope again")
	}
	b.Shot("application-access")
	b.Submit("Save", b.URL+"/applications/reporting-job/access")
	if txt := b.MainText(); !strings.Contains(txt, "Allowed scopes of Reporting job saved: + payments:approve, + write:settings.") {
		t.Fatalf("after Save:\n%s", txt)
	}
	want := []string{"audit:read", "payments:approve", "read:transactions", "users:read", "write:settings"}
	if a := appsApp(t, e, "reporting-job"); !slices.Equal(a.AllowedScopes, want) {
		t.Fatalf("allowlist %v, want %v", a.AllowedScopes, want)
	}
	checkScopesChangedByAlice(t, e, "reporting-job", events, []string{"payments:approve", "write:settings"}, []string{})
}

// TestAllowlistKeyboardOnlyInChromium edits the allowlist with the
// keyboard alone: Tab to Available scopes, type ahead to select a scope,
// Tab to Allow selected and press Enter (the focus stays on the button);
// Tab to Allowed scopes, select another, Shift+Tab to Remove selected and
// press Space; Tab to Save and press Enter. No mouse event is sent.
func TestAllowlistKeyboardOnlyInChromium(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	events := len(appsEvents(t, e, model.EventAppScopesChanged, "reporting-job"))
	b.Open("/applications/reporting-job/access")

	tabTo(b, "listbox", "Available scopes", false)
	b.Do(chromedp.KeyEvent("payments"))
	b.Do(chromedp.KeyEvent(kb.Tab))
	allow := named(b, "button", "Allow selected")
	if focused(b) != allow {
		t.Fatal("Tab from Available scopes does not reach Allow selected")
	}
	b.Do(chromedp.KeyEvent(kb.Enter))
	waitSummary(b, "+ payments:approve")
	if focused(b) != allow {
		t.Error("after Allow selected the focus left the button")
	}
	tabTo(b, "listbox", "Allowed scopes", false)
	b.Do(chromedp.KeyEvent("audit"))
	b.Do(chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(kb.ModifierShift)))
	if focused(b) != named(b, "button", "Remove selected") {
		t.Fatal("Shift+Tab from Allowed scopes does not reach Remove selected")
	}
	b.Do(chromedp.KeyEvent(" "))
	waitSummary(b, "+ payments:approve, − audit:read")
	tabTo(b, "button", "Save", false)
	b.SubmitWith("Enter on Save", b.URL+"/applications/reporting-job/access", chromedp.KeyEvent(kb.Enter))
	want := []string{"payments:approve", "read:transactions", "users:read"}
	if a := appsApp(t, e, "reporting-job"); !slices.Equal(a.AllowedScopes, want) {
		t.Fatalf("allowlist %v, want %v\n%s", a.AllowedScopes, want, b.MainText())
	}
	checkScopesChangedByAlice(t, e, "reporting-job", events, []string{"payments:approve"}, []string{"audit:read"})
}

// TestAllowlistStaleSaveLosesNothingInChromium: while alice has a change
// pending, the allowlist changes through another admin path; her Save says
// it was changed by someone else since she opened it, shows both versions
// and keeps her change pending on the current list; Save again applies it
// onto the current version, and the other change stays.
func TestAllowlistStaleSaveLosesNothingInChromium(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	b.Open("/applications/reporting-job/access")
	b.Do(chromedp.Click("", Named("option", "payments:approve")))
	b.Do(chromedp.Click("", Named("button", "Allow selected")))
	waitSummary(b, "+ payments:approve")

	// Meanwhile, through the API's use-case: + write:settings, − users:read.
	if _, err := e.Admin.ChangeAllowedScopes(t.Context(), admin.CLI(), admin.DemoTenantID, "reporting-job",
		[]string{"write:settings"}, []string{"users:read"}, 0); err != nil {
		t.Fatal(err)
	}
	b.Submit("Save", b.URL+"/applications/reporting-job/allowlist")
	txt := b.MainText()
	for _, want := range []string{"changed by someone else since you opened it", "Their change\n+ write:settings, − users:read",
		"Your changes\n+ payments:approve"} {
		if !strings.Contains(txt, want) {
			t.Errorf("the stale save's page lacks %q:\n%s", want, txt)
		}
	}
	if got := allowlistSummary(b); got != "+ payments:approve" {
		t.Errorf("pending after the conflict: %q", got)
	}
	if a := appsApp(t, e, "reporting-job"); slices.Contains(a.AllowedScopes, "payments:approve") {
		t.Fatal("the stale save was written")
	}
	b.Shot("application-access-conflict")
	b.Submit("Save", b.URL+"/applications/reporting-job/access")
	want := []string{"audit:read", "payments:approve", "read:transactions", "write:settings"}
	if a := appsApp(t, e, "reporting-job"); !slices.Equal(a.AllowedScopes, want) {
		t.Fatalf("allowlist %v, want %v\n%s", a.AllowedScopes, want, b.MainText())
	}
}

// TestAllowlistDragAndDropInChromium: dragging the selection of Available
// scopes onto Allowed scopes stages it, as Allow selected does.
func TestAllowlistDragAndDropInChromium(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	b.Open("/applications/reporting-job/access")
	b.Do(chromedp.Click("", Named("option", "payments:approve")))
	from := chromedp.NodeIDs{named(b, "option", "payments:approve")}
	to := chromedp.NodeIDs{named(b, "listbox", "Allowed scopes")}
	b.Do(chromedp.DragAndDrop(from, to))
	waitSummary(b, "+ payments:approve")
}

// TestAllowlistPhoneScreens: the Access tab at 390 px, for the
// screenshots (and the CSP check of the harness).
func TestAllowlistPhoneScreens(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Phone)
	b.SignIn("alice")
	b.Open("/applications/reporting-job/access")
	b.Do(chromedp.Click("", Named("option", "payments:approve")))
	b.Do(chromedp.Click("", Named("button", "Allow selected")))
	waitSummary(b, "+ payments:approve")
	b.Shot("application-access")
}
