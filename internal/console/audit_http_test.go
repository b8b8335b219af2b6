package console_test

import (
	"bufio"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/audit"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
)

// auditSignInHTTP signs in to the demo tenant's console over plain HTTP
// (no browser) as username with password, through the tenant's login
// page, and returns a client whose cookie jar holds the session.
func auditSignInHTTP(t *testing.T, e *servertest.Env, username, password string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	resp, err := c.Get(consoleURL(e) + "/")
	if err != nil {
		t.Fatal(err)
	}
	page := auditBody(t, resp)
	loginURL := resp.Request.URL
	form := url.Values{"login": {username}, "password": {password}}
	for _, name := range []string{"request", "csrf"} {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no %s field on the login page %s:\n%s", name, loginURL, page)
		}
		form.Set(name, html.UnescapeString(m[1]))
	}
	action, _ := loginURL.Parse("login")
	resp, err = c.PostForm(action.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	page = auditBody(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), consoleURL(e)+"/") {
		t.Fatalf("signing in as %s ended at %s (%d):\n%s", username, resp.Request.URL, resp.StatusCode, page)
	}
	return c
}

// auditDemoClient signs in as a demo user.
func auditDemoClient(t *testing.T, e *servertest.Env, demo admin.Demo, username string) *http.Client {
	t.Helper()
	u, ok := demo.User(username)
	if !ok {
		t.Fatalf("no demo user %s", username)
	}
	return auditSignInHTTP(t, e, u.Username, u.Password)
}

func auditBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// auditGet fetches a console page and returns its status and body.
func auditGet(t *testing.T, c *http.Client, e *servertest.Env, path string) (int, string) {
	t.Helper()
	resp, err := c.Get(consoleURL(e) + path)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, auditBody(t, resp)
}

// auditCSRF reads the session's CSRF token from a console page.
func auditCSRF(t *testing.T, c *http.Client, e *servertest.Env) string {
	t.Helper()
	_, page := auditGet(t, c, e, "/")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the console home:\n%s", page)
	}
	return html.UnescapeString(m[1])
}

// auditUserWithScopes creates a role with scopes and a user holding it,
// and returns the user's password.
func auditUserWithScopes(t *testing.T, e *servertest.Env, username string, scopes ...string) string {
	t.Helper()
	const password = "correct horse battery staple 42"
	if _, err := e.Admin.CreateRole(t.Context(), admin.CLI(), admin.DemoTenantID, admin.RoleInput{Name: username + "-role", Scopes: scopes}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Admin.CreateUser(t.Context(), admin.CLI(), admin.DemoTenantID, admin.UserInput{Username: username,
		Email: username + "@example.com", Password: password, Roles: []string{username + "-role"}}); err != nil {
		t.Fatal(err)
	}
	return password
}

// auditClientCredentials asks the tenant's token endpoint for a
// client-credentials token and returns the status.
func auditClientCredentials(t *testing.T, e *servertest.Env, demo admin.Demo, clientID, scope string) int {
	t.Helper()
	app, ok := demo.App(clientID)
	if !ok {
		t.Fatalf("no demo application %s", clientID)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}, "audience": {admin.DemoAudience}}
	req, err := http.NewRequestWithContext(t.Context(), "POST", e.Issuer(admin.DemoTenantID)+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(app.ClientSecret))
	resp, err := servertest.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = auditBody(t, resp)
	return resp.StatusCode
}

// auditEvents reads the demo tenant's events of a type (newest first),
// waiting up to 5 s for at least min of them (the audit log commits
// token events in groups).
func auditEvents(t *testing.T, e *servertest.Env, typ string, min int) []model.AuditEvent {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		evs, err := e.Store.Audit().Search(t.Context(), store.AuditQuery{TenantID: admin.DemoTenantID, Type: typ, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) >= min || time.Now().After(deadline) {
			return evs
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAuditBadTimeIsAFieldErrorWithInputKept: a time the filter cannot
// read is reported next to its field, with everything the user typed
// kept and no events shown (run it with INTELLIAUTH_TEST_POSTGRES set for
// PostgreSQL). The export refuses it the same way.
func TestAuditBadTimeIsAFieldErrorWithInputKept(t *testing.T) {
	e, demo := startConsole(t)
	c := auditDemoClient(t, e, demo, "alice")
	q := url.Values{"type": {model.EventTokenIssued}, "client_id": {"reporting-job"}, "scope": {"read:transactions"},
		"since": {"yesterday-ish"}, "until": {"2026-13-45"}}
	for _, path := range []string{"/audit?", "/audit/export?"} {
		status, page := auditGet(t, c, e, path+q.Encode())
		if status != http.StatusBadRequest {
			t.Fatalf("%s with bad times: %d, want 400", path, status)
		}
		for _, want := range []string{
			`id="audit-since" name="since" value="yesterday-ish"`,
			`id="audit-until" name="until" value="2026-13-45"`,
			`value="reporting-job"`, `value="read:transactions"`,
			`<option value="oauth.token_issued" selected>`,
			`aria-describedby="audit-since-hint audit-since-error" aria-invalid="true"`,
			`id="audit-since-error">must be a UTC date and time such as 2026-03-01 12:00`,
			`id="audit-until-error">must be a UTC date and time`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("%s: the page lacks %s", path, want)
			}
		}
		if strings.Contains(page, `class="audit-events"`) {
			t.Errorf("%s: events shown for a bad filter", path)
		}
	}
	// Until before since: the use-case's own check, on the Until field.
	status, page := auditGet(t, c, e, "/audit?since=2026-03-02&until=2026-03-01")
	if status != http.StatusBadRequest || !strings.Contains(page, `id="audit-until-error">must be later than since`) {
		t.Fatalf("until before since: %d\n%s", status, page)
	}
	// An unknown username, with users:read, is a field error too.
	status, page = auditGet(t, c, e, "/audit?user=nobody-here")
	if status != http.StatusBadRequest || !strings.Contains(page, `id="audit-user-error">there is no user &#34;nobody-here&#34; in this tenant`) {
		t.Fatalf("unknown user: %d\n%s", status, page)
	}
}

// TestAuditPagesNeedTheirScopes: a user whose roles give only users:read
// is refused the audit, export, usage and explain pages (403), and a
// forged removal (with a valid CSRF token) changes nothing.
func TestAuditPagesNeedTheirScopes(t *testing.T) {
	e, _ := startConsole(t)
	pw := auditUserWithScopes(t, e, "carol", "users:read")
	c := auditSignInHTTP(t, e, "carol", pw)
	for _, path := range []string{"/audit", "/audit/export", "/usage", "/usage/remove?client_id=reporting-job&scope=audit:read", "/explain"} {
		status, page := auditGet(t, c, e, path)
		if status != http.StatusForbidden || !strings.Contains(page, "This needs the platform scope") {
			t.Errorf("GET %s as carol (users:read): %d, want 403 naming the scope", path, status)
		}
	}
	before, err := e.Admin.GetApplication(t.Context(), admin.CLI(), admin.DemoTenantID, "reporting-job")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.PostForm(consoleURL(e)+"/usage/remove", url.Values{"csrf": {auditCSRF(t, c, e)}, "client_id": {"reporting-job"},
		"scope": {"audit:read"}, "version": {strconv.FormatInt(before.Version, 10)}})
	if err != nil {
		t.Fatal(err)
	}
	_ = auditBody(t, resp)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST /usage/remove as carol: %d, want 403", resp.StatusCode)
	}
	auditUnchanged(t, e, before)
}

// TestUsageRemoveWithoutCSRFIsRefused: alice may edit allowlists, but a
// removal posted without the session's CSRF token (or with another one)
// is refused and changes nothing.
func TestUsageRemoveWithoutCSRFIsRefused(t *testing.T) {
	e, demo := startConsole(t)
	c := auditDemoClient(t, e, demo, "alice")
	before, err := e.Admin.GetApplication(t.Context(), admin.CLI(), admin.DemoTenantID, "reporting-job")
	if err != nil {
		t.Fatal(err)
	}
	for name, csrf := range map[string][]string{"no token": nil, "a wrong token": {"forged"}} {
		form := url.Values{"client_id": {"reporting-job"}, "scope": {"audit:read"}, "version": {strconv.FormatInt(before.Version, 10)}}
		if csrf != nil {
			form["csrf"] = csrf
		}
		resp, err := c.PostForm(consoleURL(e)+"/usage/remove", form)
		if err != nil {
			t.Fatal(err)
		}
		page := auditBody(t, resp)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "Form expired") {
			t.Errorf("%s: %d, want 403 Form expired", name, resp.StatusCode)
		}
	}
	auditUnchanged(t, e, before)
}

// auditUnchanged checks that reporting-job's allowlist is still as before
// and no application.scopes_changed event was written.
func auditUnchanged(t *testing.T, e *servertest.Env, before model.Application) {
	t.Helper()
	after, err := e.Admin.GetApplication(t.Context(), admin.CLI(), admin.DemoTenantID, before.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != before.Version || !slices.Equal(after.AllowedScopes, before.AllowedScopes) {
		t.Errorf("the allowlist changed: %v (v%d) → %v (v%d)", before.AllowedScopes, before.Version, after.AllowedScopes, after.Version)
	}
	if evs := auditEvents(t, e, model.EventAppScopesChanged, 0); len(evs) != 0 {
		t.Errorf("%d application.scopes_changed events written", len(evs))
	}
}

// TestAuditExportStreamsJSONLinesOfTheFilter: the export is a JSON Lines
// attachment of every event matching the filter, newest first, whatever
// page the list is on.
func TestAuditExportStreamsJSONLinesOfTheFilter(t *testing.T) {
	e, demo := startConsole(t)
	for range 3 {
		if s := auditClientCredentials(t, e, demo, "reporting-job", "read:transactions"); s != http.StatusOK {
			t.Fatalf("token: %d", s)
		}
	}
	if s := auditClientCredentials(t, e, demo, "legacy-batch", "read:transactions"); s != http.StatusOK {
		t.Fatalf("token: %d", s)
	}
	auditEvents(t, e, model.EventTokenIssued, 4)
	c := auditDemoClient(t, e, demo, "alice")
	resp, err := c.Get(consoleURL(e) + "/audit/export?type=oauth.token_issued&client_id=reporting-job")
	if err != nil {
		t.Fatal(err)
	}
	lines := auditJSONLines(t, resp)
	if len(lines) != 3 {
		t.Fatalf("%d lines, want the 3 token_issued events of reporting-job", len(lines))
	}
	for i, l := range lines {
		if l.Type != model.EventTokenIssued || l.ClientID != "reporting-job" || l.Actor.Type != model.ActorClient {
			t.Errorf("line %d: %+v", i, l)
		}
		if i > 0 && l.ID >= lines[i-1].ID {
			t.Errorf("line %d is not older than the line before it", i)
		}
	}
	// Nothing matches: an empty file, still an attachment.
	resp, err = c.Get(consoleURL(e) + "/audit/export?type=oauth.token_issued&client_id=nobody")
	if err != nil {
		t.Fatal(err)
	}
	if lines := auditJSONLines(t, resp); len(lines) != 0 {
		t.Fatalf("%d lines for a filter nothing matches", len(lines))
	}
}

// auditLine is one exported event.
type auditLine struct {
	ID       string           `json:"id"`
	Type     string           `json:"type"`
	ClientID string           `json:"client_id"`
	Subject  string           `json:"subject"`
	Scopes   []string         `json:"scopes"`
	Actor    admin.AuditActor `json:"actor"`
	Details  json.RawMessage  `json:"details"`
}

// auditJSONLines checks the export's headers and reads its lines.
func auditJSONLines(t *testing.T, resp *http.Response) []auditLine {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("export: %d\n%s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); !regexp.MustCompile(`^attachment; filename=audit-banking-\d{8}-\d{6}\.jsonl$`).MatchString(cd) {
		t.Errorf("Content-Disposition %q", cd)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	var out []auditLine
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l auditLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", len(out)+1, err, sc.Bytes())
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAuditPagesByCursorOlderNewerNewest: 120 matching events are shown
// 50 at a time, newest first; Older follows the search's cursor, Newer
// goes back the way it came and Newest to the first page, every event
// shown once.
func TestAuditPagesByCursorOlderNewerNewest(t *testing.T) {
	e, demo := startConsole(t)
	start := e.Clock.Now().Add(-time.Hour)
	var evs []model.AuditEvent
	for i := range 120 {
		at := start.Add(time.Duration(i) * time.Second)
		evs = append(evs, model.AuditEvent{ID: audit.NewID(at), TenantID: admin.DemoTenantID, Type: model.EventTokenIssued, Time: at,
			ActorType: model.ActorClient, ActorID: "reporting-job", ClientID: "reporting-job", Scopes: []string{"read:transactions"},
			Details: json.RawMessage(`{"grant_type":"client_credentials"}`)})
	}
	if err := e.Store.Audit().Append(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	c := auditDemoClient(t, e, demo, "alice")
	ids := regexp.MustCompile(`<dt>Event ID</dt><dd><code>([0-9A-Z]+)</code>`)
	link := func(page, name string) string {
		m := regexp.MustCompile(`<a href="([^"]+)"(?: rel="[a-z]+")?>` + name + `</a>`).FindStringSubmatch(page)
		if m == nil {
			return ""
		}
		return strings.TrimPrefix(html.UnescapeString(m[1]), "/t/banking/console")
	}
	open := func(path string) (string, []string) {
		t.Helper()
		status, page := auditGet(t, c, e, path)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, status)
		}
		var got []string
		for _, m := range ids.FindAllStringSubmatch(page, -1) {
			got = append(got, m[1])
		}
		return page, got
	}
	first, p1 := open("/audit?type=oauth.token_issued&client_id=reporting-job")
	if len(p1) != admin.DefaultAuditPageSize || p1[0] != evs[119].ID || link(first, "Newer") != "" || link(first, "Newest") != "" {
		t.Fatalf("page 1: %d events from %s; Newer %q", len(p1), p1[0], link(first, "Newer"))
	}
	second, p2 := open(link(first, "Older"))
	if len(p2) != 50 || p2[0] != evs[69].ID || !strings.Contains(second, "Events, page 2") {
		t.Fatalf("page 2: %d events from %v", len(p2), p2[:1])
	}
	third, p3 := open(link(second, "Older"))
	if len(p3) != 20 || p3[19] != evs[0].ID || link(third, "Older") != "" {
		t.Fatalf("page 3: %d events, Older %q", len(p3), link(third, "Older"))
	}
	seen := map[string]bool{}
	for _, id := range append(append(slices.Clone(p1), p2...), p3...) {
		if seen[id] {
			t.Fatalf("%s shown twice", id)
		}
		seen[id] = true
	}
	if _, back := open(link(third, "Newer")); !slices.Equal(back, p2) {
		t.Fatal("Newer from page 3 is not page 2")
	}
	if _, back := open(link(second, "Newer")); !slices.Equal(back, p1) {
		t.Fatal("Newer from page 2 is not page 1")
	}
	if _, back := open(link(third, "Newest")); !slices.Equal(back, p1) {
		t.Fatal("Newest is not page 1")
	}
	for _, l := range []string{link(second, "Older"), link(third, "Newer")} {
		if !strings.Contains(l, "type=oauth.token_issued") || !strings.Contains(l, "client_id=reporting-job") {
			t.Errorf("a page link drops the filter: %s", l)
		}
	}
}

// TestUsageAndExplainBadInputAreFieldErrors: a window the report does not
// offer, an unknown application and an unknown user are reported next to
// their fields (400), with what was typed kept.
func TestUsageAndExplainBadInputAreFieldErrors(t *testing.T) {
	e, demo := startConsole(t)
	c := auditDemoClient(t, e, demo, "alice")
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/usage?window=5", []string{`id="usage-window-error">must be one of 7, 30 or 90 days, not &#34;5&#34;`, `aria-invalid="true"`}},
		{"/usage?client_id=nope", []string{`id="usage-app-error">there is no application &#34;nope&#34; in this tenant`, `<option value="nope" selected>`}},
		{"/explain?client_id=nope&scope=read%3Atransactions", []string{`id="explain-client-id-error">there is no application &#34;nope&#34;`, `<option value="nope" selected>nope (unknown)</option>`,
			`name="scope" value="read:transactions"`}},
		{"/explain?client_id=reporting-job&scope=read%3Atransactions&user=nobody-here", []string{
			`id="explain-user-error">there is no user &#34;nobody-here&#34; in this tenant`, `name="user" value="nobody-here"`,
			`<option value="reporting-job" selected>`}},
		{"/explain?client_id=reporting-job&user=%00", []string{`The value of user is not UTF-8 text or holds a NUL character`}},
	} {
		status, page := auditGet(t, c, e, tc.path)
		if status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", tc.path, status)
		}
		for _, w := range tc.want {
			if !strings.Contains(page, w) {
				t.Errorf("%s: the page lacks %s", tc.path, w)
			}
		}
		if strings.Contains(page, `class="usage-app"`) || strings.Contains(page, `id="explain-decision"`) {
			t.Errorf("%s: a result is shown for bad input", tc.path)
		}
	}
}
