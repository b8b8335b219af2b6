package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
)

// checked reports whether the checkbox with id is ticked now (DevTools'
// evaluation is not subject to the page's CSP).
func (b *Browser) checked(id string) bool {
	b.t.Helper()
	v, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](`(document.getElementById("`+id+`") || {}).checked === true`))
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

// TestMFASettingsInChromium (issue 11): an admin sets the second-factor
// settings where they work, finding each control by its accessible name —
// a scope's "Requires a second factor (MFA)" checkbox (and its badge in
// the list), an application's "Second factor (MFA)" select, the tenant's
// policy on the Tenant settings page (a bad grace period is refused beside its
// field), and explain's "The user's sign-in passed a second factor (MFA)"
// checkbox, which turns step_up_required into granted.
func TestMFASettingsInChromium(t *testing.T) {
	e, demo := startConsole(t)
	ctx := t.Context()
	if _, err := e.Admin.CreateApplication(ctx, admin.CLI(), admin.DemoTenantID, admin.ApplicationInput{ClientID: "payments-desk",
		Name: "Payments desk", Type: model.AppWeb, Consent: model.ConsentImplicit, RedirectURIs: []string{"https://desk.example.com/cb"},
		AllowedScopes: []string{"openid", "read:transactions", "payments:approve"}}); err != nil {
		t.Fatal(err)
	}
	e.Server.Catalog().Invalidate(admin.DemoTenantID)
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")

	// A new scope that requires a second factor.
	b.Open("/scopes/new")
	b.Do(chromedp.SendKeys("", "loans:approve", Named("textbox", "Name")),
		chromedp.SetValue("", "banking", Named("combobox", "API")),
		chromedp.SendKeys("", "Approve loans on your behalf.", Named("textbox", "Description")),
		chromedp.Click("", Named("checkbox", "Requires a second factor (MFA)")))
	b.Submit("Create scope", b.URL+"/scopes/edit?")
	if sc, err := e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, "loans:approve"); err != nil || !sc.RequiresMFA {
		t.Fatalf("created scope: %+v %v, want requires_mfa\n%s", sc, err, b.MainText())
	}
	if !b.checked("requires_mfa") {
		t.Error("the edit form of a scope that requires MFA shows the checkbox unticked")
	}
	// The demo's payments:approve requires it: untick it on its page.
	b.Open("/scopes/edit?name=payments:approve")
	if !b.checked("requires_mfa") {
		t.Fatal("payments:approve (the demo's step-up scope) shows the checkbox unticked")
	}
	b.Do(chromedp.Click("", Named("checkbox", "Requires a second factor (MFA)")))
	b.Submit("Save changes", b.URL+"/scopes/edit?")
	if sc, _ := e.Admin.GetScope(ctx, admin.CLI(), admin.DemoTenantID, "payments:approve"); sc.RequiresMFA {
		t.Error("unticking the checkbox did not save requires_mfa false")
	}
	// OpenID Connect scopes have no such checkbox.
	b.Open("/scopes/edit?name=openid")
	if b.Exists("checkbox", "Requires a second factor (MFA)") {
		t.Error("an OpenID Connect scope's page offers the second-factor checkbox")
	}
	// The list shows which scopes require it.
	b.Open("/scopes")
	rows := auditText(b, Named("table", "Custom scopes, alphabetical"))
	if !strings.Contains(lineOf(rows, "loans:approve"), "MFA required") || strings.Contains(lineOf(rows, "payments:approve"), "MFA required") {
		t.Errorf("custom scopes table:\n%s", rows)
	}

	// An application that requires a second factor.
	b.Open("/applications/payments-desk/access")
	b.Do(chromedp.SetValue("", "required", Named("combobox", "Second factor (MFA)")))
	b.Submit("Save policy and consent", b.URL+"/applications/payments-desk/access")
	if a, _ := e.Admin.GetApplication(ctx, admin.CLI(), admin.DemoTenantID, "payments-desk"); a.MFA != model.AppMFARequired {
		t.Errorf("application mfa = %q after choosing Required\n%s", a.MFA, b.MainText())
	}
	if v := b.value("combobox", "Second factor (MFA)"); v != "required" {
		t.Errorf("the select shows %q after saving required", v)
	}

	// The tenant's policy.
	b.SubmitWith("Tenant settings", b.URL+"/settings", chromedp.Click("", Named("link", "Tenant settings")))
	if txt := b.MainText(); !strings.Contains(txt, "optional") {
		t.Fatalf("settings page:\n%s", txt)
	}
	b.Do(chromedp.SetValue("", "required", Named("combobox", "Second-factor policy")),
		chromedp.SendKeys("", "a while", Named("textbox", "Enrolment grace period")))
	b.Submit("Save second-factor policy", b.URL+"/settings")
	if d, invalid := b.described("textbox", "Enrolment grace period"); !invalid || !strings.Contains(d, `"a while" is not a duration`) {
		t.Errorf("a bad grace period: described by %q, invalid %t", d, invalid)
	}
	if p, _ := e.Admin.GetMFAPolicy(ctx, admin.CLI(), admin.DemoTenantID); p.Policy != "optional" {
		t.Errorf("a refused form changed the policy to %s", p.Policy)
	}
	// The form kept the choice; fix the grace period and save.
	b.Do(replace("textbox", "Enrolment grace period", "72h"))
	b.Submit("Save second-factor policy", b.URL+"/settings")
	if txt := b.MainText(); !strings.Contains(txt, "Second-factor policy saved: required, with a grace period until") {
		t.Errorf("after saving required:\n%s", txt)
	}
	if p, _ := e.Admin.GetMFAPolicy(ctx, admin.CLI(), admin.DemoTenantID); p.Policy != "required" || p.GraceUntil == nil {
		t.Errorf("stored policy = %+v, want required with a grace period", p)
	}
	b.Shot("settings-mfa")
	// Back to optional, so that the next sign-in is not asked to enrol.
	b.Do(chromedp.SetValue("", "optional", Named("combobox", "Second-factor policy")))
	b.Submit("Save second-factor policy", b.URL+"/settings")
	if p, _ := e.Admin.GetMFAPolicy(ctx, admin.CLI(), admin.DemoTenantID); p.Policy != "optional" || p.GraceUntil != nil {
		t.Errorf("stored policy = %+v, want optional", p)
	}

	// Explain: payments:approve needs a second factor again (alice, a
	// manager, is entitled to it); ticking the box says the sign-in passed
	// one.
	on := true
	if _, err := e.Admin.UpdateScope(ctx, admin.CLI(), admin.DemoTenantID, "payments:approve", admin.ScopeUpdate{RequiresMFA: &on}); err != nil {
		t.Fatal(err)
	}
	b.Open("/explain")
	b.Do(chromedp.SetValue("", "payments-desk", Named("combobox", "Application")),
		chromedp.SetValue("", admin.DemoAudience, Named("combobox", "Audience")),
		chromedp.SendKeys("", "read:transactions payments:approve", Named("textbox", "Requested scopes")),
		chromedp.SendKeys("", "alice", Named("textbox", "User (optional)")))
	b.Submit("Explain", b.URL+"/explain?")
	reasons := auditText(b, Named("table", "Scope by scope"))
	if !strings.Contains(reasons, "payments:approve\tdropped\tstep_up_required: the scope requires a second factor") ||
		!strings.Contains(reasons, "read:transactions\tgranted") {
		t.Errorf("without a second factor:\n%s", reasons)
	}
	if txt := b.MainText(); !strings.Contains(txt, "Sign-in\npassword only") {
		t.Errorf("the user's part does not say how they signed in:\n%s", txt)
	}
	b.Do(chromedp.Click("", Named("checkbox", "The user's sign-in passed a second factor (MFA)")))
	b.Submit("Explain", b.URL+"/explain?")
	reasons = auditText(b, Named("table", "Scope by scope"))
	if !strings.Contains(reasons, "payments:approve\tgranted") {
		t.Errorf("with a second factor:\n%s", reasons)
	}
	if !b.checked("explain-mfa") || !strings.Contains(b.MainText(), "Sign-in\nwith a second factor") {
		t.Errorf("the form does not keep the second-factor box:\n%s", b.MainText())
	}
}

// lineOf returns the first line of s that starts with prefix, or "".
func lineOf(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return l
		}
	}
	return ""
}
