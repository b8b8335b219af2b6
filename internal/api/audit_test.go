package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
)

type auditEvent struct {
	ID    string `json:"id"`
	Type  string `json:"type"`
	Time  string `json:"time"`
	Actor struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"actor"`
	ClientID string          `json:"client_id"`
	Subject  string          `json:"subject"`
	Audience string          `json:"audience"`
	Scopes   []string        `json:"scopes"`
	Details  json.RawMessage `json:"details"`
}

type auditPage struct {
	Items      []auditEvent `json:"items"`
	NextCursor string       `json:"next_cursor"`
}

type scopeUsage struct {
	Scope       string `json:"scope"`
	Grants      int    `json:"grants"`
	LastGranted string `json:"last_granted"`
	Candidate   bool   `json:"candidate_for_removal"`
}

type usageReport struct {
	Since         string `json:"since"`
	Until         string `json:"until"`
	WindowSeconds int64  `json:"window_seconds"`
	Applications  []struct {
		ClientID   string       `json:"client_id"`
		Scopes     []scopeUsage `json:"scopes"`
		Candidates []string     `json:"candidates_for_removal"`
	} `json:"applications"`
}

func (r usageReport) app(t *testing.T, clientID string) map[string]scopeUsage {
	t.Helper()
	for _, a := range r.Applications {
		if a.ClientID == clientID {
			out := map[string]scopeUsage{}
			for _, s := range a.Scopes {
				out[s.Scope] = s
			}
			return out
		}
	}
	t.Fatalf("no application %s in the report", clientID)
	return nil
}

// PRODUCT.md §4 / issue 4: after a run of client-credentials token
// requests, the scope-usage report flags the scopes that were allowed but
// never granted, and not the ones that were.
func TestScopeUsageReportFlagsAllowedScopesNeverGranted(t *testing.T) {
	e := newEnv(t)
	rep := e.Bank.Reporting // allowlist read:transactions users:read audit:read
	for range 5 {
		e.clientToken(t, e.Issuer, rep, "api.banking.example.com", "read:transactions")
	}
	e.clientToken(t, e.Issuer, e.Bank.Legacy, "api.banking.example.com", "read:transactions write:settings") // permissive: drops write:settings

	var r usageReport
	e.call(t, "GET", "/reports/scope-usage?window=1d", e.token(t, "audit:read"), nil).want(t, 200).decode(t, &r)
	if r.WindowSeconds != 86400 {
		t.Errorf("window_seconds = %d", r.WindowSeconds)
	}
	var order []string
	for _, a := range r.Applications {
		order = append(order, a.ClientID)
	}
	if !slices.IsSorted(order) || !slices.Contains(order, "reporting-job") {
		t.Fatalf("applications %v: want every application sorted by client_id", order)
	}
	got := r.app(t, "reporting-job")
	if s := got["read:transactions"]; s.Grants != 5 || s.Candidate || s.LastGranted == "" {
		t.Errorf("read:transactions = %+v, want 5 grants, not a candidate", s)
	}
	for _, name := range []string{"users:read", "audit:read"} {
		if s := got[name]; s.Grants != 0 || !s.Candidate || s.LastGranted != "" {
			t.Errorf("%s = %+v, want flagged candidate_for_removal", name, s)
		}
	}
	if s := r.app(t, "legacy-batch")["read:transactions"]; s.Grants != 1 || s.Candidate {
		t.Errorf("legacy-batch read:transactions = %+v", s)
	}
	// platform-admin's own token (for this report) granted audit:read.
	if s := r.app(t, "platform-admin")["audit:read"]; s.Grants == 0 || s.Candidate {
		t.Errorf("platform-admin audit:read = %+v", s)
	}

	// Once granted, a scope is no longer a candidate.
	e.clientToken(t, e.Issuer, rep, e.PlatformAudience, "users:read")
	e.call(t, "GET", "/reports/scope-usage", e.token(t, "audit:read"), nil).want(t, 200).decode(t, &r)
	if s := r.app(t, "reporting-job")["users:read"]; s.Grants != 1 || s.Candidate {
		t.Errorf("users:read after a grant = %+v", s)
	}
	if r.WindowSeconds != 30*86400 {
		t.Errorf("default window = %ds, want 30 days", r.WindowSeconds)
	}
	for _, w := range []string{"0d", "400d", "soon", "-1h", "30s"} {
		p := e.callInvalid(t, "GET", "/reports/scope-usage?window="+url.QueryEscape(w), e.token(t, "audit:read"), nil).want(t, 400).problem(t)
		if p.field("window") == "" {
			t.Errorf("window=%s: %+v", w, p)
		}
	}
}

// auditFixture makes a log with several clients, subjects and scopes: token
// requests of two m2m clients and a user's sign-in through admin-tool.
// The test clock moves a second between requests, so events have distinct
// times (and time-ordered IDs).
func auditFixture(t *testing.T, e *env) {
	t.Helper()
	for range 3 {
		e.clientToken(t, e.Issuer, e.Bank.Reporting, "api.banking.example.com", "read:transactions")
		e.Clock.Advance(time.Second)
	}
	e.clientToken(t, e.Issuer, e.Bank.Legacy, "api.banking.example.com", "read:transactions")
	e.Clock.Advance(time.Second)
	e.userToken(t, e.People.AdminTool, servertest.AdminToolRedirect, e.People.Alice, e.PlatformAudience, "openid users:read")
	e.Clock.Advance(time.Second)
}

func TestAuditSearchFiltersNewestFirst(t *testing.T) {
	e := newEnv(t)
	auditFixture(t, e)
	tok := e.token(t, "audit:read")
	all := func(query string) []auditEvent {
		t.Helper()
		var p auditPage
		e.call(t, "GET", "/audit?limit=500&"+query, tok, nil).want(t, 200).decode(t, &p)
		if p.NextCursor != "" {
			t.Fatalf("%s: more than one page", query)
		}
		if !slices.IsSortedFunc(p.Items, func(a, b auditEvent) int { return strings.Compare(b.ID, a.ID) }) {
			t.Fatalf("%s: not newest first", query)
		}
		return p.Items
	}
	everything := all("")
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		query string
		match func(auditEvent) bool
	}{
		{"type=oauth.token_issued", func(ev auditEvent) bool { return ev.Type == "oauth.token_issued" }},
		{"client_id=legacy-batch", func(ev auditEvent) bool { return ev.ClientID == "legacy-batch" }},
		{"subject=" + e.People.Alice.ID, func(ev auditEvent) bool { return ev.Subject == e.People.Alice.ID }},
		{"scope=read:transactions", func(ev auditEvent) bool { return slices.Contains(ev.Scopes, "read:transactions") }},
		{"type=oauth.token_issued&client_id=reporting-job&scope=read:transactions",
			func(ev auditEvent) bool { return ev.Type == "oauth.token_issued" && ev.ClientID == "reporting-job" }},
	} {
		got := all(tc.query)
		var want []string
		for _, ev := range everything {
			if tc.match(ev) {
				want = append(want, ev.ID)
			}
		}
		var ids []string
		for _, ev := range got {
			ids = append(ids, ev.ID)
		}
		if len(ids) == 0 || !slices.Equal(ids, want) {
			t.Errorf("%s: %d events %v, want %v", tc.query, len(ids), ids, want)
		}
	}
	// The grants record what was issued.
	for _, ev := range all("type=oauth.token_issued&client_id=reporting-job") {
		var d struct {
			GrantType string   `json:"grant_type"`
			Granted   []string `json:"granted"`
		}
		if err := json.Unmarshal(ev.Details, &d); err != nil || d.GrantType != "client_credentials" || !slices.Equal(d.Granted, []string{"read:transactions"}) ||
			ev.Actor.Type != "client" || ev.Audience != "api.banking.example.com" {
			t.Errorf("token_issued %+v details %s", ev, ev.Details)
		}
	}
	// A time window: since inclusive, until exclusive (RFC 3339): the
	// legacy-batch grant's second.
	var since string
	for _, ev := range everything {
		if ev.ClientID == "legacy-batch" && ev.Type == "oauth.token_issued" {
			since = ev.Time
		}
	}
	until := at(since).Add(time.Second).Format(time.RFC3339Nano)
	got := all("since=" + url.QueryEscape(since) + "&until=" + url.QueryEscape(until))
	for _, ev := range got {
		if at(ev.Time).Before(at(since)) || !at(ev.Time).Before(at(until)) {
			t.Errorf("event at %s outside [%s, %s)", ev.Time, since, until)
		}
	}
	if len(got) != 1 || got[0].ClientID != "legacy-batch" || got[0].Type != "oauth.token_issued" {
		t.Errorf("the window [%s, %s) holds %d events, want the legacy-batch grant alone", since, until, len(got))
	}
	if _, err := time.Parse(time.RFC3339, since); err != nil || !strings.HasSuffix(since, "Z") {
		t.Errorf("time %q is not RFC 3339 UTC", since)
	}
}

func TestAuditCursorPaginationAndJSONLines(t *testing.T) {
	e := newEnv(t)
	auditFixture(t, e)
	tok := e.token(t, "audit:read")
	var full auditPage
	e.call(t, "GET", "/audit?limit=500", tok, nil).want(t, 200).decode(t, &full)

	// Walk by next_cursor, 3 at a time: every event once, in order, and the
	// last page has no cursor.
	var walked []string
	path := "/audit?limit=3"
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("the walk does not end")
		}
		var p auditPage
		res := e.call(t, "GET", path, tok, nil).want(t, 200).decode(t, &p)
		if len(p.Items) == 0 {
			t.Fatalf("empty page at %s", path)
		}
		for _, ev := range p.Items {
			walked = append(walked, ev.ID)
		}
		if p.NextCursor == "" {
			if res.Header.Get("Link") != "" {
				t.Errorf("last page has a Link: %s", res.Header.Get("Link"))
			}
			break
		}
		// RFC 8288: the next page is linked, absolute, with the cursor.
		link := res.Header.Get("Link")
		if !strings.HasPrefix(link, "<"+e.Issuer+"/api/v1/audit?") || !strings.Contains(link, "before="+p.NextCursor) || !strings.HasSuffix(link, `>; rel="next"`) {
			t.Errorf("Link = %q", link)
		}
		path = "/audit?limit=3&before=" + url.QueryEscape(p.NextCursor)
	}
	var want []string
	for _, ev := range full.Items {
		want = append(want, ev.ID)
	}
	if !slices.Equal(walked, want) {
		t.Fatalf("walk = %d events, want the %d of one page in the same order", len(walked), len(want))
	}

	// JSON Lines, by ?format=jsonl or by Accept.
	lines := func(res *response) []auditEvent {
		t.Helper()
		if ct := res.Header.Get("Content-Type"); ct != "application/x-ndjson" {
			t.Fatalf("Content-Type = %q", ct)
		}
		var out []auditEvent
		sc := bufio.NewScanner(bytes.NewReader(res.Body))
		for sc.Scan() {
			var ev auditEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("line %d is not a JSON document: %v: %s", len(out)+1, err, sc.Bytes())
			}
			out = append(out, ev)
		}
		return out
	}
	export := lines(e.call(t, "GET", "/audit?format=jsonl", tok, nil).want(t, 200))
	var exported []string
	for _, ev := range export {
		exported = append(exported, ev.ID)
	}
	if !slices.Equal(exported, want) {
		t.Fatalf("export = %d lines, want the %d events of the page, in order", len(exported), len(want))
	}
	byAccept := lines(e.call(t, "GET", "/audit?type=oauth.token_issued&client_id=legacy-batch", tok, nil,
		"Accept", "application/json;q=0.5, application/x-ndjson").want(t, 200))
	if len(byAccept) != 1 || byAccept[0].ClientID != "legacy-batch" {
		t.Fatalf("Accept: application/x-ndjson export = %+v", byAccept)
	}
	capped := lines(e.call(t, "GET", "/audit?format=jsonl&limit=2&before="+url.QueryEscape(want[0]), tok, nil).want(t, 200))
	if len(capped) != 2 || capped[0].ID != want[1] {
		t.Fatalf("capped export = %+v", capped)
	}
	// An empty export is an empty body.
	if res := e.call(t, "GET", "/audit?format=jsonl&client_id=nobody", tok, nil).want(t, 200); len(res.Body) != 0 || len(lines(res)) != 0 {
		t.Fatalf("empty export: %q", res.Body)
	}
	// ?format=json wins over Accept.
	var p auditPage
	e.call(t, "GET", "/audit?format=json&limit=1", tok, nil, "Accept", "application/x-ndjson").want(t, 200).decode(t, &p)
	if len(p.Items) != 1 {
		t.Fatalf("format=json: %+v", p)
	}
}

func TestAuditBadInput(t *testing.T) {
	e := newEnv(t)
	tok := e.token(t, "audit:read")
	for _, tc := range []struct{ query, field string }{
		{"since=yesterday", "since"},
		{"until=2026-13-01T00:00:00Z", "until"},
		{"since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z", "until"},
		{"limit=0", "limit"},
		{"limit=501", "limit"},
		{"limit=many", "limit"},
		{"before=not-a-cursor", "before"},
		{"format=xml", "format"},
		{"type=" + url.QueryEscape("a\nb"), "type"},
	} {
		p := e.callInvalid(t, "GET", "/audit?"+tc.query, tok, nil).want(t, 400).problem(t)
		if p.Error != "validation_failed" || p.field(tc.field) == "" {
			t.Errorf("%s: %+v, want a validation error on %s", tc.query, p, tc.field)
		}
	}
}

// exclude_tokens_of leaves out one client's oauth.token_issued and
// oauth.token_refused events — the admin tool's own token requests — and
// keeps its other events; it filters in the query, so a walk by cursor
// with one event a page finds every remaining event and no empty page.
func TestAuditExcludeTokensOfLeavesOutOneClientsTokenEvents(t *testing.T) {
	e := newEnv(t)
	auditFixture(t, e)
	tok := e.token(t, "audit:read")
	e.token(t, "applications:write")
	// A refusal of the admin client: invalid_scope (not on its allowlist).
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"read:transactions"}, "audience": {e.PlatformAudience}}
	req, err := http.NewRequestWithContext(t.Context(), "POST", e.Issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(e.Admin.ID, e.Admin.Secret)
	resp, err := servertest.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("token request for a scope off the allowlist: %d, want 400", resp.StatusCode)
	}
	// A change to the admin client itself: an event about it that is no
	// token event.
	e.call(t, "PATCH", "/applications/"+e.Admin.ID, e.token(t, model.PlatformScopeNames()...), map[string]any{"name": "Platform admin"},
		"If-Match", "*").want(t, 200)

	var all auditPage
	e.call(t, "GET", "/audit?limit=500", tok, nil).want(t, 200).decode(t, &all)
	var want []string
	kinds := map[string]int{}
	for _, ev := range all.Items {
		token := ev.Type == "oauth.token_issued" || ev.Type == "oauth.token_refused"
		if ev.ClientID == e.Admin.ID {
			kinds[ev.Type]++
		}
		if !(token && ev.ClientID == e.Admin.ID) {
			want = append(want, ev.ID)
		}
	}
	if kinds["oauth.token_issued"] < 2 || kinds["oauth.token_refused"] != 1 || kinds["application.updated"] != 1 {
		t.Fatalf("the fixture holds %v of %s, want its token events, a refusal and an update", kinds, e.Admin.ID)
	}
	var walked []string
	path := "/audit?limit=1&exclude_tokens_of=" + url.QueryEscape(e.Admin.ID)
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("the walk does not end")
		}
		var p auditPage
		e.call(t, "GET", path, tok, nil).want(t, 200).decode(t, &p)
		if len(p.Items) != 1 {
			t.Fatalf("page %d holds %d events, want 1 (a filter after the query would leave pages short)", pages, len(p.Items))
		}
		walked = append(walked, p.Items[0].ID)
		if p.NextCursor == "" {
			break
		}
		path = "/audit?limit=1&exclude_tokens_of=" + url.QueryEscape(e.Admin.ID) + "&before=" + url.QueryEscape(p.NextCursor)
	}
	if !slices.Equal(walked, want) {
		t.Fatalf("walk without %s's token events = %v, want %v", e.Admin.ID, walked, want)
	}
	// Another client's token events stay; the export applies it too.
	var other auditPage
	e.call(t, "GET", "/audit?limit=500&type=oauth.token_issued&exclude_tokens_of="+e.Admin.ID, tok, nil).want(t, 200).decode(t, &other)
	if len(other.Items) != 5 {
		t.Errorf("token_issued without %s's: %d events, want the fixture's 5 (4 client credentials, 1 user sign-in)", e.Admin.ID, len(other.Items))
	}
	exp := e.call(t, "GET", "/audit?format=jsonl&exclude_tokens_of="+e.Admin.ID, tok, nil).want(t, 200)
	if n := bytes.Count(exp.Body, []byte("\n")); n != len(want) {
		t.Errorf("export without %s's token events: %d lines, want %d", e.Admin.ID, n, len(want))
	}
}
