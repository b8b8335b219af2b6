package console_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
)

// usageFixture issues client-credentials tokens over five days (the node's
// clock moved a day at a time): reporting-job gets read:transactions six
// times, never users:read nor audit:read, which are on its allowlist;
// legacy-batch gets read:transactions once.
func usageFixture(t *testing.T, b *Browser) {
	t.Helper()
	for _, day := range []struct {
		reporting, legacy int
	}{{1, 1}, {0, 0}, {2, 0}, {0, 0}, {3, 0}} {
		for range day.reporting {
			if s := auditClientCredentials(t, b.Env, b.Demo, "reporting-job", "read:transactions"); s != http.StatusOK {
				t.Fatalf("token: %d", s)
			}
		}
		for range day.legacy {
			if s := auditClientCredentials(t, b.Env, b.Demo, "legacy-batch", "read:transactions"); s != http.StatusOK {
				t.Fatalf("token: %d", s)
			}
		}
		b.Env.Clock.Advance(24 * time.Hour)
	}
	auditEvents(t, b.Env, model.EventTokenIssued, 7)
}

// TestUsageFlagsAndRemovesANeverGrantedScopeInChromium: the report flags
// reporting-job's never-granted audit:read, charts its read:transactions
// per day, and its remove action (a confirmation, then the allowlist
// save) takes audit:read off the allowlist with one
// application.scopes_changed event whose actor is alice via the console.
func TestUsageFlagsAndRemovesANeverGrantedScopeInChromium(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Desktop)
	usageFixture(t, b)
	b.SignIn("alice")
	b.Open("/usage")

	table := auditText(b, Named("table", "Allowed scopes of Reporting job"))
	for _, want := range []string{"audit:read\t0\tnever in the window", "users:read\t0\tnever in the window", "Never granted"} {
		if !strings.Contains(table, want) {
			t.Errorf("reporting-job's usage lacks %q:\n%s", want, table)
		}
	}
	if !strings.Contains(table, "read:transactions\t6\t") || strings.Contains(table, "read:transactions\t6\t"+"never") {
		t.Errorf("read:transactions is not counted 6 times:\n%s", table)
	}
	// The chart: one image per granted scope, named with what it shows.
	if !b.Exists("image", "Grants per day of read:transactions from "+e.Clock.Now().Add(-30*24*time.Hour).UTC().Format("2 Jan")+
		" to "+e.Clock.Now().UTC().Format("2 Jan 2006")+": 6 in all, at most 3 on "+e.Clock.Now().Add(-24*time.Hour).UTC().Format("2 Jan")+".") {
		t.Errorf("no chart of read:transactions per day; images: %q", auditNames(b, "image"))
	}

	// The window: 7 days still shows the six grants.
	b.Do(chromedp.SetValue("", "7", Named("combobox", "Window")),
		chromedp.SetValue("", "reporting-job", Named("combobox", "Application")))
	b.Submit("Show", b.URL+"/usage?")
	if got := auditNames(b, "table"); !slices.Contains(got, "Allowed scopes of Reporting job") || slices.Contains(got, "Allowed scopes of Legacy batch") {
		t.Fatalf("filtered to reporting-job, the tables are %q", got)
	}
	if table := auditText(b, Named("table", "Allowed scopes of Reporting job")); !strings.Contains(table, "read:transactions\t6\t") {
		t.Errorf("7 days: read:transactions is not counted 6 times:\n%s", table)
	}
	b.Do(chromedp.Click("", Named("DisclosureTriangle", "Grants per day of Reporting job as a table")))
	if days := auditText(b, Named("table", "Grants per day of Reporting job")); !strings.Contains(days, "\t3") {
		t.Errorf("the chart's table lacks the day of 3 grants:\n%s", days)
	}
	b.Shot("usage")

	if !b.Exists("link", "Remove from allowlist: audit:read of Reporting job") {
		t.Fatalf("no remove link for audit:read; links: %q", auditNames(b, "link"))
	}
	b.Do(chromedp.Click("", Named("link", "Remove from allowlist: audit:read of Reporting job")))
	if !b.WaitURL(b.URL + "/usage/remove?") {
		t.Fatalf("no confirmation page: %s", b.Location())
	}
	if txt := b.MainText(); !strings.Contains(txt, "Pending change: − audit:read") {
		t.Errorf("the confirmation does not show the pending change:\n%s", txt)
	}
	b.Submit("Remove from allowlist", b.URL+"/usage?")
	if txt := b.MainText(); !strings.Contains(txt, "Removed audit:read from the allowlist of Reporting job.") {
		t.Errorf("no notice after the removal:\n%s", txt)
	}
	if table := auditText(b, Named("table", "Allowed scopes of Reporting job")); strings.Contains(table, "audit:read") {
		t.Errorf("audit:read is still listed:\n%s", table)
	}

	app, err := e.Admin.GetApplication(t.Context(), admin.CLI(), admin.DemoTenantID, "reporting-job")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(app.AllowedScopes, []string{"read:transactions", "users:read"}) {
		t.Errorf("allowlist after the removal: %v", app.AllowedScopes)
	}
	usageOneChange(t, b, "reporting-job", []string{"audit:read"})

	// The audit log shows the change, by alice through the console.
	b.Open("/audit?type=" + model.EventAppScopesChanged)
	b.Do(chromedp.Click("", NamedLike(auditSummaryRole, model.EventAppScopesChanged, "by user alice (", "via console", "application reporting-job")))
	diff := auditText(b, Named("table", "What changed"))
	if !strings.Contains(diff, "allowed_scopes\taudit:read") || !strings.Contains(diff, "(removed)") ||
		!strings.HasSuffix(diff, "read:transactions users:read\tread:transactions users:read") {
		t.Errorf("the change's diff:\n%q", diff)
	}
}

// usageOneChange checks that exactly one application.scopes_changed event
// was written, for clientID, removing removed, by alice via the console.
func usageOneChange(t *testing.T, b *Browser, clientID string, removed []string) {
	t.Helper()
	evs := auditEvents(t, b.Env, model.EventAppScopesChanged, 1)
	var mine []model.AuditEvent
	for _, ev := range evs {
		if ev.ActorType == model.ActorUser {
			mine = append(mine, ev)
		}
	}
	if len(mine) != 1 {
		t.Fatalf("%d application.scopes_changed events by a user, want 1", len(mine))
	}
	ev := mine[0]
	alice, err := b.Env.Admin.GetUser(t.Context(), admin.CLI(), admin.DemoTenantID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Removed   []string `json:"removed"`
		Added     []string `json:"added"`
		ViaClient string   `json:"via_client"`
	}
	if err := json.Unmarshal(ev.Details, &d); err != nil {
		t.Fatal(err)
	}
	if ev.ActorID != alice.User.ID || ev.ClientID != clientID || d.ViaClient != model.ConsoleClientID ||
		!slices.Equal(d.Removed, removed) || len(d.Added) != 0 {
		t.Errorf("event: actor %s/%s client %s details %s; want alice (%s) via console removing %v",
			ev.ActorType, ev.ActorID, ev.ClientID, ev.Details, alice.User.ID, removed)
	}
}

// TestUsageRemoveAfterAChangeShowsTheConflictInChromium: the allowlist
// changes (through admin) while alice's confirmation is open; her removal
// is refused as "changed by someone else since you opened it", both
// versions shown, and she removes the scope from the current version.
func TestUsageRemoveAfterAChangeShowsTheConflictInChromium(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Desktop)
	b.SignIn("alice")
	b.Open("/usage/remove?client_id=reporting-job&scope=audit:read")
	app, err := e.Admin.GetApplication(t.Context(), admin.CLI(), admin.DemoTenantID, "reporting-job")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Admin.ChangeAllowedScopes(t.Context(), admin.CLI(), admin.DemoTenantID, "reporting-job", nil, []string{"users:read"}, app.Version); err != nil {
		t.Fatal(err)
	}
	b.Submit("Remove from allowlist", b.URL+"/usage/remove")
	txt := b.MainText()
	for _, want := range []string{"Changed by someone else since you opened it.", "Nothing was saved.",
		"Yours (version", "with your removal)\nread:transactions\nusers:read", "Current (version", ")\naudit:read\nread:transactions"} {
		if !strings.Contains(txt, want) {
			t.Errorf("the conflict lacks %q:\n%s", want, txt)
		}
	}
	b.Submit("Remove from the current allowlist", b.URL+"/usage")
	app, err = e.Admin.GetApplication(t.Context(), admin.CLI(), admin.DemoTenantID, "reporting-job")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(app.AllowedScopes, []string{"read:transactions"}) {
		t.Fatalf("allowlist: %v", app.AllowedScopes)
	}
	usageOneChange(t, b, "reporting-job", []string{"audit:read"})
}
