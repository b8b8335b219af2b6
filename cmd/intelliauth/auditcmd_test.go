package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"
)

// issueTokens gets count client-credentials tokens for clientID from the
// node, as a service would: each is one oauth.token_issued event.
func issueTokens(t *testing.T, n apiNode, clientID, secret, audience, scope string, count int) {
	t.Helper()
	tokenURL, err := discoverTokenEndpoint(t.Context(), http.DefaultClient, n.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: secret, TokenURL: tokenURL,
		Scopes: strings.Fields(scope), EndpointParams: url.Values{"audience": {audience}}}
	for range count {
		if _, err := cc.Token(t.Context()); err != nil {
			t.Fatalf("token for %s: %v", clientID, err)
		}
	}
}

// auditEvent is the part of an audit event the tests look at.
type auditEvent struct {
	ID       string    `json:"id"`
	Type     string    `json:"type"`
	Time     time.Time `json:"time"`
	ClientID string    `json:"client_id"`
	Scopes   []string  `json:"scopes"`
}

// auditNode is a node with the bank API and an m2m application "job"
// allowed read:tx and write:tx that got three tokens for read:tx.
func auditNode(t *testing.T) apiNode {
	t.Helper()
	n := startAPINode(t)
	appBankScopes(t, n.API)
	var job appTestDoc
	mustJSON(t, &job, n.API, "app", "create", "job", "--type", "m2m", "--scopes", "read:tx write:tx", "--output", "json")
	issueTokens(t, n, "job", job.ClientSecret, "api.bank.example", "read:tx", 3)
	return n
}

func ids(es []auditEvent) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// TestAuditSearch: the events of the tokens issued, newest first, a page at
// a time.
func TestAuditSearch(t *testing.T) {
	n := auditNode(t)
	env := n.API
	filter := []string{"audit", "search", "--type", "oauth.token_issued", "--client", "job"}

	var all struct {
		Items      []auditEvent `json:"items"`
		NextCursor string       `json:"next_cursor"`
	}
	mustJSON(t, &all, env, append(filter, "--output", "json")...)
	if len(all.Items) != 3 || all.NextCursor != "" {
		t.Fatalf("three tokens, one page: %+v", all)
	}
	for i, e := range all.Items {
		if e.Type != "oauth.token_issued" || e.ClientID != "job" || !slices.Equal(e.Scopes, []string{"read:tx"}) {
			t.Errorf("event %d: %+v", i, e)
		}
		if i > 0 && (e.ID >= all.Items[i-1].ID || e.Time.After(all.Items[i-1].Time)) {
			t.Errorf("events must be newest first: %+v before %+v", all.Items[i-1], e)
		}
	}

	out := must(t, env, append(filter, "--limit", "2")...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "TIME") || !strings.Contains(lines[0], "SCOPES") ||
		!strings.Contains(lines[1], "oauth.token_issued") || !strings.Contains(lines[1], "client:job") || !strings.Contains(lines[1], "read:tx") {
		t.Fatalf("search table, page of 2:\n%s", out)
	}
	cursor, ok := strings.CutPrefix(lines[3], "more: --cursor ")
	if !ok {
		t.Fatalf("a page with more after it must say how to get them:\n%s", out)
	}
	cursor, _, _ = strings.Cut(cursor, " ")
	var next struct {
		Items      []auditEvent `json:"items"`
		NextCursor string       `json:"next_cursor"`
	}
	mustJSON(t, &next, env, append(filter, "--limit", "2", "--cursor", cursor, "--output", "json")...)
	if !slices.Equal(ids(next.Items), ids(all.Items[2:])) || next.NextCursor != "" {
		t.Fatalf("the page after %s: %+v, want %v", cursor, next, ids(all.Items[2:]))
	}
	if out := must(t, env, append(filter, "--limit", "2", "--cursor", cursor)...); strings.Contains(out, "more:") {
		t.Fatalf("the last page has no more: %s", out)
	}

	// Time filters: RFC 3339, or a duration meaning that long ago.
	mustJSON(t, &next, env, append(filter, "--since", "1h", "--output", "json")...)
	if len(next.Items) != 3 {
		t.Fatalf("--since 1h: %+v", next)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if out := must(t, env, append(filter, "--since", future)...); !strings.Contains(out, "no matching events") {
		t.Fatalf("--since %s: %s", future, out)
	}
	mustJSON(t, &next, env, append(filter, "--until", "1h", "--output", "json")...)
	if len(next.Items) != 0 {
		t.Fatalf("--until 1h (an hour ago): %+v", next)
	}
	mustJSON(t, &next, env, "audit", "search", "--scope", "write:tx", "--type", "oauth.token_issued", "--output", "json")
	if len(next.Items) != 0 {
		t.Fatalf("no token granted write:tx: %+v", next)
	}
}

// TestAuditExport: the export is JSON Lines, newest first, like the search.
func TestAuditExport(t *testing.T) {
	n := auditNode(t)
	env := n.API
	filter := []string{"--type", "oauth.token_issued", "--client", "job"}
	var page struct {
		Items []auditEvent `json:"items"`
	}
	mustJSON(t, &page, env, append([]string{"audit", "search", "--output", "json"}, filter...)...)

	out := must(t, env, append([]string{"audit", "export"}, filter...)...)
	var got []auditEvent
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var e auditEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", len(got)+1, err, sc.Text())
		}
		got = append(got, e)
	}
	if !strings.HasSuffix(out, "\n") || !slices.Equal(ids(got), ids(page.Items)) || len(got) != 3 {
		t.Fatalf("export: %v, want %v\n%s", ids(got), ids(page.Items), out)
	}
	if out := must(t, env, append([]string{"audit", "export", "--limit", "1"}, filter...)...); strings.Count(out, "\n") != 1 || !strings.Contains(out, page.Items[0].ID) {
		t.Fatalf("export --limit 1 is the newest event: %s", out)
	}
	// Beyond one search page: the export has no page limit.
	if out := must(t, env, "audit", "export", "--limit", "600"); strings.Count(out, "\n") < 3 {
		t.Fatalf("export of the whole log: %s", out)
	}
	if out := must(t, env, "audit", "export", "--client", "nobody"); out != "" {
		t.Fatalf("an empty export is empty: %q", out)
	}
}

// TestReportScopeUsage: an allowed scope no token carried is flagged, a
// granted one is not.
func TestReportScopeUsage(t *testing.T) {
	n := auditNode(t)
	env := n.API
	out := must(t, env, "report", "scope-usage", "--client", "job")
	var readRow, writeRow string
	for l := range strings.Lines(out) {
		switch f := strings.Fields(l); {
		case len(f) > 1 && f[0] == "job" && f[1] == "read:tx":
			readRow = l
		case len(f) > 1 && f[0] == "job" && f[1] == "write:tx":
			writeRow = l
		}
	}
	if !strings.Contains(readRow, " 3 ") || strings.Contains(readRow, "UNUSED") || !strings.Contains(readRow, time.Now().UTC().Format("2006-01-02")) {
		t.Errorf("read:tx was granted three times:\n%s", out)
	}
	if !strings.Contains(writeRow, " 0 ") || !strings.Contains(writeRow, "never") || !strings.Contains(writeRow, "UNUSED: candidate for removal") {
		t.Errorf("write:tx was never granted:\n%s", out)
	}
	if !strings.Contains(out, "intelliauth app disallow job write:tx") || strings.Contains(out, "admin-cli") || !strings.Contains(out, "(30d)") {
		t.Errorf("report table:\n%s", out)
	}

	// Unused platform scopes are flagged but not suggested for removal:
	// the CLI asks for each only when a command needs it.
	out = must(t, env, "report", "scope-usage")
	if !strings.Contains(out, "users:write") || !strings.Contains(out, "app disallow job write:tx") || strings.Contains(out, "app disallow admin-cli") {
		t.Errorf("report of every application:\n%s", out)
	}

	var rep struct {
		WindowSeconds int64 `json:"window_seconds"`
		Applications  []struct {
			ClientID   string   `json:"client_id"`
			Candidates []string `json:"candidates_for_removal"`
			Scopes     []struct {
				Scope       string     `json:"scope"`
				Grants      int        `json:"grants"`
				LastGranted *time.Time `json:"last_granted"`
			} `json:"scopes"`
		} `json:"applications"`
	}
	mustJSON(t, &rep, env, "report", "scope-usage", "--window", "12h", "--output", "json")
	var clients []string
	for _, a := range rep.Applications {
		clients = append(clients, a.ClientID)
		if a.ClientID == "console" && len(a.Candidates) != 0 {
			t.Errorf("the console's platform scopes are never candidates for removal: %+v", a)
		}
		if a.ClientID == "job" && (!slices.Equal(a.Candidates, []string{"write:tx"}) || a.Scopes[0].Grants != 3 || a.Scopes[0].LastGranted == nil) {
			t.Errorf("job in the report: %+v", a)
		}
	}
	if rep.WindowSeconds != 12*3600 || !slices.Equal(clients, []string{"admin-cli", "console", "job"}) {
		t.Fatalf("report json: %+v", rep)
	}
	mustJSON(t, &rep, env, "report", "scope-usage", "--client", "job", "--output", "json")
	if len(rep.Applications) != 1 || rep.Applications[0].ClientID != "job" || rep.WindowSeconds != 30*24*3600 {
		t.Fatalf("report --client job: %+v", rep)
	}
}

// TestAuditBadInput: usage mistakes exit 2 before any call, with what is
// wrong.
func TestAuditBadInput(t *testing.T) {
	n := startAPINode(t)
	cases := []failCase{
		{"bad --since", []string{"audit", "search", "--since", "yesterday"}, 2, []string{`--since "yesterday"`, "RFC 3339"}},
		{"bad --until", []string{"audit", "export", "--until", "2026-13-01"}, 2, []string{"--until"}},
		{"until before since", []string{"audit", "search", "--since", "1h", "--until", "2h"}, 2, []string{"--until", "later than --since"}},
		{"zero --limit", []string{"audit", "search", "--limit", "0"}, 2, []string{"--limit must be from 1 to 500"}},
		{"page too long", []string{"audit", "search", "--limit", "501"}, 2, []string{"at most 500", "audit export"}},
		{"negative export --limit", []string{"audit", "export", "--limit", "-1"}, 2, []string{"--limit must be at least 1"}},
		{"--limit not a number", []string{"audit", "search", "--limit", "many"}, 2, []string{"-limit"}},
		{"bad --window", []string{"report", "scope-usage", "--window", "a month"}, 2, []string{"--window"}},
		{"window too long", []string{"report", "scope-usage", "--window", "400d"}, 1, []string{"window:", "366d"}},
		{"bad cursor", []string{"audit", "search", "--cursor", "not-a-cursor"}, 1, []string{"--cursor:"}},
		{"unknown client in the report", []string{"report", "scope-usage", "--client", "ghost"}, 1, []string{"ghost", "no such application"}},
		{"unknown subcommand", []string{"audit", "tail"}, 2, []string{"search, export"}},
		{"export has no --output", []string{"audit", "export", "--output", "json"}, 2, []string{"-output"}},
	}
	runFailCases(t, n.API, cases)
}

// TestAuditSearchReasonsAndOwnTokens: the REASON column says which scopes a
// token issued dropped and why, and why a token was refused; the CLI's own
// token requests are hidden unless --include-cli (or --client names the
// admin client), and the table says so.
func TestAuditSearchReasonsAndOwnTokens(t *testing.T) {
	n := auditNode(t)
	env := n.API
	var lenient appTestDoc
	mustJSON(t, &lenient, env, "app", "create", "lenient", "--type", "m2m", "--scopes", "read:tx", "--scope-policy", "permissive", "--output", "json")
	issueTokens(t, n, "lenient", lenient.ClientSecret, "api.bank.example", "read:tx write:tx", 1)
	var strict appTestDoc
	mustJSON(t, &strict, env, "app", "create", "strict", "--type", "m2m", "--scopes", "read:tx", "--output", "json")
	tokenURL, err := discoverTokenEndpoint(t.Context(), http.DefaultClient, n.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	cc := clientcredentials.Config{ClientID: "strict", ClientSecret: strict.ClientSecret, TokenURL: tokenURL,
		Scopes: []string{"write:tx"}, EndpointParams: url.Values{"audience": {"api.bank.example"}}}
	if _, err := cc.Token(t.Context()); err == nil {
		t.Fatal("strict got write:tx, which is not on its allowlist")
	}

	row := func(out, client, typ string) string {
		t.Helper()
		for l := range strings.Lines(out) {
			if strings.Contains(l, typ) && strings.Contains(l, "client:"+client) {
				return l
			}
		}
		t.Fatalf("no %s row of %s in:\n%s", typ, client, out)
		return ""
	}
	out := must(t, env, "audit", "search")
	if head, _, _ := strings.Cut(out, "\n"); !strings.HasSuffix(strings.TrimSpace(head), "REASON") {
		t.Fatalf("the table's last column is REASON:\n%s", out)
	}
	if r := row(out, "lenient", "oauth.token_issued"); !strings.Contains(r, "dropped write:tx (not_allowed)") {
		t.Errorf("the permissive grant's row names the dropped scope and its reason: %s", r)
	}
	if r := row(out, "strict", "oauth.token_refused"); !strings.Contains(r, "invalid_scope: ") || !strings.Contains(r, "write:tx") {
		t.Errorf("the refusal's row carries the error and its description: %s", r)
	}
	if f := strings.Fields(row(out, "job", "oauth.token_issued")); f[len(f)-2] != "read:tx" || f[len(f)-1] != "-" {
		t.Errorf("a grant that dropped nothing has no reason: %q", f)
	}
	// Every command above got a token as admin-cli; none shows, but its
	// changes do.
	if strings.Contains(out, "oauth.token_issued  client:admin-cli") || !strings.Contains(out, "application.created") ||
		!strings.Contains(out, "(token requests of admin-cli, this CLI, are hidden: --include-cli shows them)") {
		t.Fatalf("admin-cli's token events are hidden by default, and the table says so:\n%s", out)
	}
	countCLI := func(args ...string) int {
		t.Helper()
		var p struct {
			Items []auditEvent `json:"items"`
		}
		mustJSON(t, &p, env, append([]string{"audit", "search", "--type", "oauth.token_issued", "--limit", "500", "--output", "json"}, args...)...)
		k := 0
		for _, e := range p.Items {
			if e.ClientID == "admin-cli" {
				k++
			}
		}
		return k
	}
	if k := countCLI(); k != 0 {
		t.Errorf("audit search --output json: %d admin-cli token events, want none", k)
	}
	if k := countCLI("--include-cli"); k < 5 {
		t.Errorf("--include-cli: %d admin-cli token events, want one per command run", k)
	}
	if k := countCLI("--client", "admin-cli"); k < 5 {
		t.Errorf("--client admin-cli: %d admin-cli token events, want them (asked for by name)", k)
	}
	if out := must(t, env, "audit", "search", "--include-cli"); !strings.Contains(out, "client:admin-cli") || strings.Contains(out, "are hidden") {
		t.Errorf("--include-cli shows the CLI's token events and no hint:\n%s", out)
	}
}
