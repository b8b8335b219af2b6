package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/intelliauth/intelliauth/internal/admin"
)

// TestExplainShowsTheDecisionPerScopeInChromium: a strict application
// asking beyond its allowlist is refused invalid_scope, with the reason
// per scope (RFC 6749 §5.2); for a user, the decision shows the user's
// entitlement and the reasons it gives (not_entitled, not_consented).
func TestExplainShowsTheDecisionPerScopeInChromium(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	b.Open("/explain")

	b.Do(chromedp.SetValue("", "reporting-job", Named("combobox", "Application")),
		chromedp.SetValue("", admin.DemoAudience, Named("combobox", "Audience")),
		chromedp.SendKeys("", "read:transactions payments:approve", Named("textbox", "Requested scopes")))
	b.Submit("Explain", b.URL+"/explain?")
	txt := b.MainText()
	if !strings.Contains(txt, "Refused with invalid_scope: ") {
		t.Errorf("RFC 6749 §5.2: a strict application asking beyond its allowlist is not shown refused invalid_scope:\n%s", txt)
	}
	reasons := auditText(b, Named("table", "Scope by scope"))
	for _, want := range []string{
		"payments:approve\tdropped\tnot_allowed: not on the application's allowlist",
		"read:transactions\tgranted\tgranted: requested and allowed.",
	} {
		if !strings.Contains(reasons, want) {
			t.Errorf("reasons lack %q:\n%s", want, reasons)
		}
	}
	// The form keeps what was asked.
	if v, _ := chromedp.Run(b.Ctx, chromedp.Value("", Named("textbox", "Requested scopes"))); v != "read:transactions payments:approve" {
		t.Errorf("requested scopes after explaining: %q", v)
	}
	b.Shot("explain")

	// For a user: bob (teller) asking banking-spa for what tellers may not.
	b.Do(chromedp.SetValue("", admin.DemoSPAClientID, Named("combobox", "Application")),
		chromedp.Clear("", Named("textbox", "Requested scopes")),
		chromedp.SendKeys("", "read:transactions write:settings", Named("textbox", "Requested scopes")),
		chromedp.SendKeys("", "bob", Named("textbox", "User (optional)")))
	b.Submit("Explain", b.URL+"/explain?")
	txt = b.MainText()
	for _, want := range []string{"User\nbob usr_", "Entitled by their roles\nme:read me:sessions me:write read:transactions\n",
		"Consent\nrequired", "Approved by the user\nnothing yet"} {
		if !strings.Contains(txt, want) {
			t.Errorf("the user's part lacks %q:\n%s", want, txt)
		}
	}
	reasons = auditText(b, Named("table", "Scope by scope"))
	for _, want := range []string{"write:settings\tdropped\tnot_entitled: ", "read:transactions\tdropped\tnot_consented: "} {
		if !strings.Contains(reasons, want) {
			t.Errorf("reasons for bob lack %q:\n%s", want, reasons)
		}
	}
}
