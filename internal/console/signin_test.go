package console_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestSignInAndOutInChromium: alice (the admin role) signs in through the
// tenant's own login page and sees every section; sign-out ends the
// session through RP-initiated logout and the console asks for a sign-in
// again.
func TestSignInAndOutInChromium(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	b.Shot("home")
	for _, section := range []string{"Scopes", "APIs", "Applications", "Users", "Groups", "Roles", "Audit", "Scope usage", "Explain"} {
		if !b.Exists("link", section) {
			t.Errorf("alice's console lacks a link to %s:\n%s", section, b.MainText())
		}
	}
	b.Submit("Sign out", b.URL+"/signed-out")
	if !strings.Contains(b.MainText(), "You are signed out") {
		t.Fatalf("after sign-out: %s\n%s", b.Location(), b.MainText())
	}
	b.Open("/")
	if loc := b.Location(); !strings.Contains(loc, "/login") {
		t.Fatalf("after sign-out the console is at %s, not the login page", loc)
	}
}

// TestNoPlatformScopeSaysSo: bob has no role with a platform scope; the
// console says so instead of showing empty pages.
func TestNoPlatformScopeSaysSo(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Phone)
	b.SignIn("bob")
	b.Shot("no-access")
	if txt := b.MainText(); !strings.Contains(txt, "No console access") {
		t.Fatalf("bob's console:\n%s", txt)
	}
	if b.Exists("link", "Applications") {
		t.Fatal("bob's console links to Applications")
	}
}

// TestHarnessCatchesCSPViolations checks the check: a style attribute
// set on a console page breaks its CSP (no 'unsafe-inline'), and the
// harness must see the browser's report.
func TestHarnessCatchesCSPViolations(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	if _, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](`document.body.insertAdjacentHTML("beforeend", "<p style='color:red'>x</p>"), true`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(b.Problems()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if len(b.Problems()) == 0 {
		t.Fatal("an inline style on a console page raised no CSP report: the harness would miss violations")
	}
	b.forgetProblems()
}
