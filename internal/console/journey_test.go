package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// TestScopeJourneyInChromium is issue 10's journey, end to end in a real
// browser: alice signs in → creates a custom scope → it is on no allowlist →
// adds it to reporting-job in the two-column editor (by select-and-arrow)
// and another scope by typing its name → saves → the audit page shows
// application.scopes_changed by alice → a client-credentials token now
// carries the scope → she deletes the scope from its page after typing its
// name → it is gone from the application.
func TestScopeJourneyInChromium(t *testing.T) {
	e, demo := startConsole(t)
	ctx := t.Context()
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	alice, err := e.Admin.GetUser(ctx, admin.CLI(), admin.DemoTenantID, "alice")
	if err != nil {
		t.Fatal(err)
	}

	// Create loans:read on the banking API.
	b.Open("/scopes")
	b.SubmitWith("Create scope", b.URL+"/scopes/new", chromedp.Click("", Named("link", "Create scope")))
	b.Do(
		chromedp.SendKeys("", "loans:read", Named("textbox", "Name")),
		chromedp.SetValue("", "banking", Named("combobox", "API")),
		chromedp.SendKeys("", "Read loans", Named("textbox", "Display name")),
		chromedp.SendKeys("", "View your loans.", Named("textbox", "Description")),
	)
	b.Submit("Create scope", b.URL+"/scopes/edit?name=loans%3Aread")
	holders, err := e.Store.Scopes().Holders(ctx, admin.DemoTenantID, "loans:read")
	if err != nil || len(holders) != 0 {
		t.Fatalf("a new scope is on allowlists %v (%v)", holders, err)
	}

	// The editor: select-and-arrow, then type a name; one save.
	b.Open("/applications/reporting-job/access")
	b.Do(chromedp.Click("", Named("option", "loans:read")), chromedp.Click("", Named("button", "Allow selected")))
	b.Do(chromedp.SendKeys("", "payments:approve", Named("combobox", "Add a scope by name")),
		chromedp.Click("", Named("button", "Add scope")))
	waitSummary(b, "+ loans:read, + payments:approve")
	b.Submit("Save", b.URL+"/applications/reporting-job/access")
	app, err := e.Store.Applications().Get(ctx, admin.DemoTenantID, "reporting-job")
	if err != nil || !slices.Contains(app.AllowedScopes, "loans:read") || !slices.Contains(app.AllowedScopes, "payments:approve") {
		t.Fatalf("reporting-job after Save: %v (%v)", app.AllowedScopes, err)
	}

	// The audit page shows the change, by alice, through the console.
	b.Open("/audit?type=" + url.QueryEscape(model.EventAppScopesChanged))
	if txt := b.MainText(); !strings.Contains(txt, model.EventAppScopesChanged) || !strings.Contains(txt, "reporting-job") {
		t.Fatalf("the audit page after the save:\n%s", txt)
	}
	b.Shot("journey-audit")
	evs, err := e.Store.Audit().Search(ctx, store.AuditQuery{TenantID: admin.DemoTenantID, Type: model.EventAppScopesChanged, ClientID: "reporting-job"})
	if err != nil || len(evs) != 1 || evs[0].ActorType != model.ActorUser || evs[0].ActorID != alice.User.ID {
		t.Fatalf("scopes_changed events: %+v (%v)", evs, err)
	}
	var details map[string]any
	if err := json.Unmarshal(evs[0].Details, &details); err != nil || details["via_client"] != model.ConsoleClientID {
		t.Fatalf("the event's details %s: via_client should be the console", evs[0].Details)
	}

	// A client-credentials token now carries it.
	if got := ccScope(t, e.Issuer(admin.DemoTenantID), demo, "reporting-job", "loans:read"); got != "loans:read" {
		t.Fatalf("a client-credentials token for loans:read carries %q", got)
	}

	// Delete it from its page, typing its name; it is gone from the app.
	b.Open("/scopes")
	b.SubmitWith("Delete loans:read", b.URL+"/scopes/delete", chromedp.Click("", Named("link", "Delete loans:read")))
	b.Do(chromedp.SendKeys("", "loans:read", Named("textbox", "Scope name")))
	b.Submit("Delete scope", b.URL+"/scopes")
	app, err = e.Store.Applications().Get(ctx, admin.DemoTenantID, "reporting-job")
	if err != nil || slices.Contains(app.AllowedScopes, "loans:read") || !slices.Contains(app.AllowedScopes, "payments:approve") {
		t.Fatalf("reporting-job after the delete: %v (%v)", app.AllowedScopes, err)
	}
}

// ccScope asks the token endpoint for a client-credentials token of
// clientID with scope and returns the scope it carries.
func ccScope(t *testing.T, issuer string, demo admin.Demo, clientID, scope string) string {
	t.Helper()
	a, ok := demo.App(clientID)
	if !ok {
		t.Fatalf("no demo application %s", clientID)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "audience": {admin.DemoAudience}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, a.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		Scope string `json:"scope"`
		Error string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %s (%v)", resp.StatusCode, tok.Error, err)
	}
	return tok.Scope
}
