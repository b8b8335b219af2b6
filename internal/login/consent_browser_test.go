package login_test

import (
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// RFC 8707 §2.1: a request naming two APIs shows one consent page whose
// scopes are grouped by API, each group named by the API's display name
// (a fieldset and its legend: a "group" to assistive technology), the
// OIDC scopes once, under "Your account".
func TestConsentGroupsScopesByAPIInChromium_RFC8707_2_1(t *testing.T) {
	c := newChrome(t, phoneWidth)
	e := servertest.Start(t)
	const tenant = "acme"
	e.Seed(t, tenant)
	people := e.SeedUsers(t, tenant)
	ctx := t.Context()
	now := e.Clock.Now()
	must(t, e.Store.Roles().Create(ctx, model.Role{TenantID: tenant, Name: "patient", Description: "Reads health records.",
		Scopes: []string{"read:records"}, CreatedAt: now, UpdatedAt: now}))
	must(t, e.Store.Roles().Assign(ctx, tenant, people.Alice.ID, "patient"))
	issuer := e.Issuer(tenant)
	app := newJourneyApp(t, e, tenant)
	if _, err := e.Admin.AddAllowedScopes(ctx, admin.CLI(), tenant, app.ClientID, []string{"read:records"}, 0); err != nil {
		t.Fatal(err)
	}
	e.Server.Catalog().Invalidate(tenant)

	// authorize names the Banking API (audience); a resource adds Health.
	verifier, au := authorize(issuer, app.ClientID, app.Callback, "openid offline_access read:transactions read:records")
	au += "&resource=" + url.QueryEscape("api.health.example.com")
	c.open(au)
	c.do(chromedp.SendKeys("", people.Alice.Username, named("textbox", "Username or email")),
		chromedp.SendKeys("", people.Alice.Password, named("textbox", "Password")))
	c.submit(issuer+"/consent", chromedp.Click("", named("button", "Sign in")))
	for _, g := range []string{"Your account", "Banking API", "Health API"} {
		if !c.has("group", g) {
			t.Errorf("the consent page has no group named %q:\n%s", g, c.text())
		}
	}
	// Each API's scope sits in its API's group; openid once, in the account's.
	where, err := chromedp.Run(c.ctx, chromedp.Evaluate[map[string]string](`Object.fromEntries([...document.querySelectorAll('fieldset input[type=checkbox]')].map(i => [i.name === 'scope' ? i.value : i.nextElementSibling.value, i.closest('fieldset').querySelector('legend').textContent]))`))
	if err != nil {
		t.Fatal(err)
	}
	for scope, group := range map[string]string{"read:transactions": "Banking API", "read:records": "Health API", "openid": "Your account", "offline_access": "Your account"} {
		if where[scope] != group {
			t.Errorf("%s is in group %q, want %q (all: %v)", scope, where[scope], group, where)
		}
	}
	c.fitsWidth()
	c.shot("consent-multi-resource-phone")
	c.submit(app.Callback, chromedp.Click("", named("button", "Allow")))
	cb, err := url.Parse(c.location())
	if err != nil || cb.Query().Get("code") == "" {
		t.Fatalf("no code at the callback: %s", c.location())
	}
	tok := tokenGrant(t, issuer, app.ClientID, url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
		"redirect_uri": {app.Callback}, "code_verifier": {verifier}, "resource": {"api.health.example.com"}})
	if tok.status != 200 || tok.RefreshToken == "" {
		t.Fatalf("RFC 8707 §2.2 code exchange for the second API: %d %s", tok.status, tok.Error)
	}
}
