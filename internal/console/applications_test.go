package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/secret"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

// shownSecret is the secret a page shows (its element "app-secret").
func shownSecret(b *Browser) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 3*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("app-secret")))
	if err != nil {
		b.t.Fatalf("no secret on the page: %v\n%s", err, b.MainText())
	}
	return strings.TrimSpace(s)
}

// pageHTML is the tab's current document.
func pageHTML(b *Browser) string {
	b.t.Helper()
	s, err := chromedp.Run(b.Ctx, chromedp.OuterHTML("html"))
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

// clientCredentials asks the demo tenant's token endpoint for a token with
// client_secret_basic and returns the status.
func clientCredentials(t *testing.T, e *servertest.Env, clientID, clientSecret, scope string) int {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	req, _ := http.NewRequest(http.MethodPost, e.Issuer(admin.DemoTenantID)+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestCreateApplicationShowsTheSecretOnceInChromium: the list shows type
// and policy; New application creates a confidential app, and the answer
// to the POST itself (no redirect: the secret is in no URL or cookie)
// shows its secret once, with a copy button; the secret is the stored one;
// no other page shows it again.
func TestCreateApplicationShowsTheSecretOnceInChromium(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	b.Open("/applications")
	if txt := b.MainText(); !strings.Contains(txt, "reporting-job") || !strings.Contains(txt, "m2m") || !strings.Contains(txt, "permissive") || !strings.Contains(txt, "console") {
		t.Fatalf("the list lacks the demo's applications with type and policy:\n%s", txt)
	}
	b.Shot("applications")
	b.Do(chromedp.Click("", Named("link", "New application")))
	if !b.WaitURL(b.URL + "/applications/new") {
		t.Fatalf("New application led to %s", b.Location())
	}
	b.Do(
		chromedp.SendKeys("", "Payments worker", Named("textbox", "Name")),
		chromedp.SendKeys("", "payments-worker", Named("textbox", "Client ID (optional)")),
		chromedp.SetValue("", "m2m", Named("combobox", "Type")),
	)
	b.Submit("Create application", b.URL+"/applications")
	txt := b.MainText()
	if !strings.Contains(txt, "Application Payments worker created") || !strings.Contains(txt, "only time it is shown") {
		t.Fatalf("after Create application:\n%s", txt)
	}
	if loc := b.Location(); loc != b.URL+"/applications" {
		t.Errorf("the secret's page is at %s, want the POST's own answer at %s", loc, b.URL+"/applications")
	}
	if !b.Exists("button", "Copy secret") {
		t.Error("no Copy secret button (console.js shows it)")
	}
	plain := shownSecret(b)
	b.Shot("application-created")
	secrets, err := e.Store.Applications().Secrets(t.Context(), admin.DemoTenantID, "payments-worker")
	if err != nil || len(secrets) != 1 || !secret.Equal(secrets[0].Hash, plain) {
		t.Fatalf("the shown secret is not the stored one (%d secrets, %v)", len(secrets), err)
	}
	a := appsApp(t, e, "payments-worker")
	if a.Type != model.AppM2M || len(a.AllowedScopes) != 0 || a.GrantTypes[0] != model.GrantClientCredentials {
		t.Errorf("created %+v", a)
	}
	// Nothing shows it again.
	for _, p := range []string{"/applications/payments-worker/settings", "/applications/payments-worker/credentials", "/applications"} {
		b.Open(p)
		if strings.Contains(pageHTML(b), plain) {
			t.Errorf("%s shows the secret again", p)
		}
	}
	if strings.Contains(b.Location(), plain) {
		t.Error("the secret is in a URL")
	}
}

// TestRotateSecretInChromium: the Credentials tab rotates reporting-job's
// secret with a grace period; the new secret is shown once and works, and
// the old one keeps working during the grace period.
func TestRotateSecretInChromium(t *testing.T) {
	e, demo := startConsole(t)
	rj, _ := demo.App("reporting-job")
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	b.Open("/applications/reporting-job/credentials")
	b.Do(chromedp.SetValue("", "1h", Named("combobox", "Grace period for the current secret")))
	b.Submit("Rotate secret", b.URL+"/applications/reporting-job/credentials")
	if txt := b.MainText(); !strings.Contains(txt, "The secret of Reporting job was rotated") || !strings.Contains(txt, "keeps working until") {
		t.Fatalf("after Rotate secret:\n%s", txt)
	}
	plain := shownSecret(b)
	if plain == rj.ClientSecret || plain == "" {
		t.Fatal("no new secret shown")
	}
	b.Shot("application-secret-rotated")
	if st := clientCredentials(t, e, "reporting-job", plain, "read:transactions"); st != http.StatusOK {
		t.Errorf("the new secret: %d", st)
	}
	if st := clientCredentials(t, e, "reporting-job", rj.ClientSecret, "read:transactions"); st != http.StatusOK {
		t.Errorf("the old secret within its grace period: %d", st)
	}
	evs := appsEvents(t, e, model.EventAppSecretRotated, "reporting-job")
	if len(evs) != 1 || evs[0].ActorID != appsUserID(t, e, "alice") || strings.Contains(string(evs[0].Details), plain) {
		t.Fatalf("rotation events: %+v", evs)
	}
	// After an hour, the old one is refused.
	e.Clock.Advance(61 * time.Minute)
	if st := clientCredentials(t, e, "reporting-job", rj.ClientSecret, "read:transactions"); st != http.StatusUnauthorized {
		t.Errorf("the old secret after its grace period: %d, want 401", st)
	}
	b.Open("/applications/reporting-job/credentials")
	if strings.Contains(pageHTML(b), plain) {
		t.Error("the Credentials tab shows the new secret again")
	}
}

// TestApplicationTabsInChromium walks the tabs of an application (links
// with aria-current) and saves a setting.
func TestApplicationTabsInChromium(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Phone)
	b.SignIn("alice")
	b.Open("/applications")
	b.Shot("applications")
	b.Do(chromedp.Click("", Named("link", "Demo Bank")))
	if !b.WaitURL(b.URL + "/applications/banking-spa/settings") {
		t.Fatalf("the list's link led to %s", b.Location())
	}
	for _, tab := range []string{"Access", "Credentials", "Usage", "Settings"} {
		b.Do(chromedp.Click("", Named("link", tab)))
		if !b.WaitURL(b.URL + "/applications/banking-spa/" + strings.ToLower(tab)) {
			t.Fatalf("tab %s led to %s", tab, b.Location())
		}
		cur, err := chromedp.Run(b.Ctx, chromedp.AttributeValue("", "aria-current", Named("link", tab)))
		if err != nil || cur.Value != "page" {
			t.Errorf("tab %s is not marked aria-current=page (%v)", tab, err)
		}
		b.Shot("application-tab-" + strings.ToLower(tab))
	}
	b.Do(chromedp.Clear("", Named("textbox", "Access token")), chromedp.SendKeys("", "10m", Named("textbox", "Access token")))
	b.Submit("Save settings", b.URL+"/applications/banking-spa/settings")
	if txt := b.MainText(); !strings.Contains(txt, "Settings of Demo Bank saved.") {
		t.Fatalf("after Save settings:\n%s", txt)
	}
	if a := appsApp(t, e, "banking-spa"); a.AccessTokenTTL != 10*time.Minute {
		t.Fatalf("access-token lifetime %s, want 10m", a.AccessTokenTTL)
	}
}
