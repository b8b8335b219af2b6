package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
)

// auditSummaryRole is the computed role of a <summary> (the disclosure of
// an event's details) in Chromium's accessibility tree.
const auditSummaryRole = "DisclosureTriangle"

// auditNames returns the accessible names of the page's nodes with role,
// in document order (as a screen reader lists them). It queries from
// chromedp's own document node: DOM.getDocument would renumber the nodes
// under chromedp's feet.
func auditNames(b *Browser, role string) []string {
	b.t.Helper()
	var names []string
	collect := chromedp.ByFunc(func(ctx context.Context, t *chromedp.Target, n *chromedp.Node) ([]cdp.NodeID, error) {
		res, err := cdp.Call(ctx, t, accessibility.QueryAXTree, accessibility.QueryAXTreeParams{NodeID: n.NodeID, Role: role})
		if err != nil {
			return nil, err
		}
		names = nil
		for _, ax := range res.Nodes {
			if ax.Ignored || ax.Name == nil {
				continue
			}
			var s string
			if json.Unmarshal(ax.Name.Value, &s) == nil {
				names = append(names, s)
			}
		}
		return []cdp.NodeID{n.NodeID}, nil
	})
	ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.QueryNodeIDs("", collect)); err != nil {
		b.t.Fatalf("accessibility tree: %v", err)
	}
	return names
}

// NamedLike finds the first element with role whose accessible name
// contains all of parts (a person looks for "the token_issued event of
// legacy-batch", not for its exact wording).
func NamedLike(role string, parts ...string) chromedp.QueryOption {
	return chromedp.ByFunc(func(ctx context.Context, t *chromedp.Target, n *chromedp.Node) ([]cdp.NodeID, error) {
		res, err := cdp.Call(ctx, t, accessibility.QueryAXTree, accessibility.QueryAXTreeParams{NodeID: n.NodeID, Role: role})
		if err != nil {
			return nil, err
		}
		for _, ax := range res.Nodes {
			if ax.Ignored || ax.Name == nil || ax.BackendDOMNodeID == 0 {
				continue
			}
			var name string
			if json.Unmarshal(ax.Name.Value, &name) != nil {
				continue
			}
			all := true
			for _, p := range parts {
				all = all && strings.Contains(name, p)
			}
			if !all {
				continue
			}
			pushed, err := cdp.Call(ctx, t, dom.PushNodesByBackendIDsToFrontend,
				dom.PushNodesByBackendIDsToFrontendParams{BackendNodeIDs: []cdp.BackendNodeID{ax.BackendDOMNodeID}})
			if err != nil {
				return nil, err
			}
			return pushed.NodeIDs, nil
		}
		return nil, nil
	})
}

// auditText is the text of the element found by sel.
func auditText(b *Browser, sel chromedp.QueryOption) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text("", sel, chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("text: %v\non %s:\n%s", err, b.Location(), b.MainText())
	}
	return s
}

// auditFixture makes the log the audit tests read: three client-credentials
// tokens (two of reporting-job, one of legacy-batch), one refusal of a
// strict application asking beyond its allowlist, and an admin change of
// legacy-batch's name.
func auditFixture(t *testing.T, b *Browser) {
	t.Helper()
	e, demo := b.Env, b.Demo
	for _, c := range []struct {
		client, scope string
		status        int
	}{
		{"reporting-job", "read:transactions", http.StatusOK},
		{"reporting-job", "read:transactions", http.StatusOK},
		{"legacy-batch", "read:transactions", http.StatusOK},
		{"reporting-job", "read:transactions payments:approve", http.StatusBadRequest},
	} {
		e.Clock.Advance(time.Second) // each event a second after the last: newest first is plain
		if s := auditClientCredentials(t, e, demo, c.client, c.scope); s != c.status {
			t.Fatalf("token of %s for %q: %d, want %d", c.client, c.scope, s, c.status)
		}
	}
	e.Clock.Advance(time.Second)
	name := "Legacy nightly batch"
	if _, err := e.Admin.UpdateApplication(t.Context(), admin.CLI(), admin.DemoTenantID, "legacy-batch", admin.ApplicationUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	auditEvents(t, e, model.EventTokenIssued, 3)
	auditEvents(t, e, model.EventTokenRefused, 1)
	e.Clock.Advance(time.Second)
}

// TestAuditFiltersDetailsAndExportInChromium: alice filters the audit log
// by type and by application and sees only those events; a token_issued
// event opens to its scope decision with the reason per scope, a refusal
// to the dropped scope and its reason, an admin change to a before/after
// table of the changed field; the export link downloads the filter's
// events as JSON Lines.
func TestAuditFiltersDetailsAndExportInChromium(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Desktop)
	auditFixture(t, b)
	b.SignIn("alice")
	b.Open("/audit")

	// By type.
	b.Do(chromedp.SetValue("", model.EventTokenIssued, Named("combobox", "Type")))
	b.Submit("Search", b.URL+"/audit?")
	got := auditNames(b, auditSummaryRole)
	if len(got) < 3 {
		t.Fatalf("type filter: %d events, want the 3 token_issued ones (and the console's own):\n%s", len(got), strings.Join(got, "\n"))
	}
	for _, n := range got {
		if !strings.HasPrefix(n, model.EventTokenIssued+",") {
			t.Errorf("type filter oauth.token_issued lists %q", n)
		}
	}

	// By application (type cleared).
	b.Do(chromedp.SetValue("", "", Named("combobox", "Type")),
		chromedp.SendKeys("", "legacy-batch", Named("combobox", "Application")))
	b.Submit("Search", b.URL+"/audit?")
	got = auditNames(b, auditSummaryRole)
	if len(got) != 3 || !strings.HasPrefix(got[0], model.EventApplicationUpdated+", ") || !strings.Contains(got[0], "by system cli, application legacy-batch") ||
		!strings.HasPrefix(got[1], model.EventTokenIssued+", ") || !strings.HasSuffix(got[1], "by client legacy-batch") ||
		!strings.HasPrefix(got[2], model.EventApplicationCreated+", ") {
		t.Fatalf("application filter: want legacy-batch's update, token and creation, newest first:\n%s", strings.Join(got, "\n"))
	}

	// The admin change: its before/after diff.
	b.Do(chromedp.Click("", NamedLike(auditSummaryRole, model.EventApplicationUpdated)))
	diff := auditText(b, Named("table", "What changed"))
	for _, want := range []string{"name", "Legacy batch", "Legacy nightly batch"} {
		if !strings.Contains(diff, want) {
			t.Errorf("the diff of application.updated lacks %q:\n%s", want, diff)
		}
	}
	if strings.Contains(diff, "client_id") || strings.Contains(diff, "scope_policy") {
		t.Errorf("the diff lists fields that did not change:\n%s", diff)
	}
	b.Shot("audit-change")

	// A token_issued event: the decision, scope by scope.
	b.Open("/audit?type=" + url.QueryEscape(model.EventTokenIssued) + "&client_id=reporting-job")
	b.Do(chromedp.Click("", NamedLike(auditSummaryRole, model.EventTokenIssued, "reporting-job")))
	reasons := auditText(b, Named("table", "The scope decision, scope by scope"))
	if !strings.Contains(reasons, "read:transactions\tgranted\tgranted: requested and allowed.") {
		t.Errorf("token_issued reasons:\n%q", reasons)
	}
	b.Shot("audit")

	// A refusal: the scope it dropped, and why.
	b.Open("/audit?type=" + url.QueryEscape(model.EventTokenRefused))
	b.Do(chromedp.Click("", NamedLike(auditSummaryRole, model.EventTokenRefused, "reporting-job")))
	reasons = auditText(b, Named("table", "The scope decision, scope by scope"))
	if !strings.Contains(reasons, "payments:approve\tdropped\tnot_allowed: not on the application's allowlist") ||
		!strings.Contains(reasons, "read:transactions\tgranted") {
		t.Errorf("token_refused reasons:\n%q", reasons)
	}
	if txt := b.MainText(); !strings.Contains(txt, "invalid_scope") {
		t.Errorf("the refusal does not say invalid_scope:\n%s", txt)
	}

	// Export: the link carries the filter; fetched with the browser's
	// session cookie it is the filter's events as JSON Lines.
	b.Open("/audit?client_id=reporting-job&type=" + url.QueryEscape(model.EventTokenIssued))
	href, err := chromedp.Run(b.Ctx, chromedp.AttributeValue("", "href", Named("link", "Export as JSON Lines")))
	if err != nil || !href.Exists {
		t.Fatalf("export link: %v", err)
	}
	lines := auditJSONLines(t, auditBrowserGet(t, b, href.Value))
	if len(lines) != 2 {
		t.Fatalf("export of %s: %d lines, want reporting-job's 2 tokens", href.Value, len(lines))
	}
	for _, l := range lines {
		if l.Type != model.EventTokenIssued || l.ClientID != "reporting-job" {
			t.Errorf("exported %+v", l)
		}
	}
}

// auditBrowserGet fetches href (a console path) over plain HTTP with the
// browser's cookies: what a download would get.
func auditBrowserGet(t *testing.T, b *Browser, href string) *http.Response {
	t.Helper()
	u, err := url.Parse(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	target, err := u.Parse(href)
	if err != nil {
		t.Fatal(err)
	}
	cookies, err := chromedp.Call(b.Ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{target.String()}})
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	var hc []*http.Cookie
	for _, c := range cookies.Cookies {
		hc = append(hc, &http.Cookie{Name: c.Name, Value: c.Value, Path: c.Path})
	}
	jar.SetCookies(target, hc)
	resp, err := (&http.Client{Jar: jar, Timeout: 20 * time.Second}).Get(target.String())
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestAuditOnAPhoneInChromium: the audit list at 390 px, an event open.
func TestAuditOnAPhoneInChromium(t *testing.T) {
	e, demo := startConsole(t)
	b := newBrowser(t, e, demo, Phone)
	auditFixture(t, b)
	b.SignIn("alice")
	b.Open("/audit")
	b.Do(chromedp.Click("", NamedLike(auditSummaryRole, model.EventTokenRefused)))
	if txt := auditText(b, Named("table", "The scope decision, scope by scope")); !strings.Contains(txt, "not_allowed") {
		t.Fatalf("refusal on a phone:\n%s", txt)
	}
	overflow, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool]("document.documentElement.scrollWidth > window.innerWidth"))
	if err != nil {
		t.Fatal(err)
	}
	if overflow {
		t.Error("the audit page scrolls sideways at 390 px")
	}
	b.Shot("audit")
}
