package console_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
)

// TestAPICreateAndEditInChromium: alice creates an API (a bad lifetime
// first, refused beside its field with her input kept), then edits its
// name and lifetime; the API page lists the scopes an API defines and
// leads to creating one for it.
func TestAPICreateAndEditInChromium(t *testing.T) {
	e, demo := startConsole(t)
	ctx := t.Context()
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	b.SubmitWith("APIs", b.URL+"/apis", chromedp.Click("", Named("link", "APIs")))
	b.Shot("apis")
	if txt := b.MainText(); !strings.Contains(txt, admin.DemoAudience) || !strings.Contains(txt, "payments:approve") {
		t.Errorf("the API list lacks the banking API and its scopes:\n%s", txt)
	}

	b.SubmitWith("Create API", b.URL+"/apis/new", chromedp.Click("", Named("link", "Create API")))
	b.Do(
		chromedp.SendKeys("", "api.loans.example.com", Named("textbox", "Identifier")),
		chromedp.SendKeys("", "Loans API", Named("textbox", "Name")),
		chromedp.SetValue("", model.AlgRS256, Named("combobox", "Signing algorithm")),
		replace("textbox", "Access token lifetime", "90 minutes"),
	)
	b.Submit("Create API", b.URL+"/apis/new")
	if d, invalid := b.described("textbox", "Access token lifetime"); !invalid || !strings.Contains(d, `"90 minutes" is not a duration`) {
		t.Errorf("the lifetime field says %q (invalid %v)", d, invalid)
	}
	if v := b.value("textbox", "Name"); v != "Loans API" {
		t.Errorf("the name after the refusal: %q", v)
	}
	if v := b.value("combobox", "Signing algorithm"); v != model.AlgRS256 {
		t.Errorf("the algorithm after the refusal: %q", v)
	}
	b.Do(replace("textbox", "Access token lifetime", "90m"))
	b.Submit("Create API", b.URL+"/apis/edit?id=")
	a, err := e.Admin.GetAPI(ctx, admin.CLI(), admin.DemoTenantID, "api.loans.example.com")
	if err != nil || a.Name != "Loans API" || a.SigningAlg != model.AlgRS256 || a.AccessTokenTTL != 90*time.Minute {
		t.Fatalf("the new API: %+v, %v", a, err)
	}
	if txt := b.MainText(); !strings.Contains(txt, "API Loans API created") || !strings.Contains(txt, "defines no scopes yet") {
		t.Errorf("the new API's page:\n%s", txt)
	}

	b.Do(
		replace("textbox", "Name", "Loans and mortgages API"),
		replace("textbox", "Access token lifetime", "30m"),
	)
	b.Submit("Save changes", b.URL+"/apis/edit?id=")
	a, err = e.Admin.GetAPI(ctx, admin.CLI(), admin.DemoTenantID, a.ID)
	if err != nil || a.Name != "Loans and mortgages API" || a.AccessTokenTTL != 30*time.Minute || a.SigningAlg != model.AlgRS256 {
		t.Fatalf("the API after the edit: %+v, %v", a, err)
	}
	if v := b.value("textbox", "Access token lifetime"); v != "30m" {
		t.Errorf("the lifetime field shows %q after the save, want 30m", v)
	}

	// A scope for this API, from its page: the API is chosen already.
	b.SubmitWith("Create a scope for this API", b.URL+"/scopes/new", chromedp.Click("", Named("link", "Create a scope for this API")))
	if v := b.value("combobox", "API"); v != a.ID {
		t.Errorf("the create form opened from the API page has API %q, want %s", v, a.ID)
	}

	b.Open("/apis/edit?id=banking")
	b.Shot("api")
	for _, s := range []string{"read:transactions", "write:settings", "payments:approve"} {
		if !b.Exists("link", s) {
			t.Errorf("the banking API's page lacks its scope %s", s)
		}
	}
}

// TestAPIStaleEditShowsBothVersions: the API changes between opening its
// page and saving it; the save stores nothing, shows both versions, and
// the second save applies alice's change onto the current version.
func TestAPIStaleEditShowsBothVersions(t *testing.T) {
	e, demo := startConsole(t)
	ctx := t.Context()
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	b.Open("/apis/edit?id=banking")
	b.Do(replace("textbox", "Access token lifetime", "10m"))
	other := "Banking API (renamed)"
	if _, err := e.Admin.UpdateAPI(ctx, admin.CLI(), admin.DemoTenantID, "banking", admin.APIUpdate{Name: &other}); err != nil {
		t.Fatal(err)
	}
	b.Submit("Save changes", b.URL+"/apis/edit?id=banking")
	txt := b.MainText()
	for _, want := range []string{"changed by someone else since you opened it", "Your version", "Current version", other, "10m"} {
		if !strings.Contains(txt, want) {
			t.Errorf("the conflict lacks %q:\n%s", want, txt)
		}
	}
	if v := b.value("textbox", "Access token lifetime"); v != "10m" {
		t.Errorf("the lifetime after the conflict: %q, want alice's 10m kept", v)
	}
	if a, _ := e.Admin.GetAPI(ctx, admin.CLI(), admin.DemoTenantID, "banking"); a.AccessTokenTTL == 10*time.Minute {
		t.Fatal("a stale save changed the lifetime")
	}
	b.Submit("Save changes", b.URL+"/apis/edit?id=banking")
	if a, _ := e.Admin.GetAPI(ctx, admin.CLI(), admin.DemoTenantID, "banking"); a.AccessTokenTTL != 10*time.Minute || a.Name != other {
		t.Errorf("after saving again: %q %s, want %q 10m", a.Name, a.AccessTokenTTL, other)
	}
}
