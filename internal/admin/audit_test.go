package admin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/audit"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// grant appends an oauth.token_issued event of client granting scopes at
// the given time, as the token endpoint records it.
func (f *fixture) grant(t *testing.T, at time.Time, clientID, subject string, scopes ...string) model.AuditEvent {
	t.Helper()
	e := model.AuditEvent{ID: audit.NewID(at), TenantID: "acme", Type: model.EventTokenIssued, Time: at,
		ActorType: model.ActorClient, ActorID: clientID, ClientID: clientID, Subject: subject, Audience: "api.bank.example",
		Scopes: scopes, Details: json.RawMessage(`{"grant_type":"client_credentials"}`)}
	if err := f.st.Audit().Append(t.Context(), []model.AuditEvent{e}); err != nil {
		t.Fatal(err)
	}
	return e
}

// m2m creates a client-credentials application with the allowlist.
func (f *fixture) m2m(t *testing.T, clientID string, allowed ...string) {
	t.Helper()
	if _, err := f.svc.CreateApplication(t.Context(), f.actor, "acme", ApplicationInput{ClientID: clientID, Name: "App " + clientID,
		Type: model.AppM2M, AllowedScopes: allowed}); err != nil {
		t.Fatal(err)
	}
}

func ids(docs []AuditEventDoc) []string {
	out := make([]string, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.ID)
	}
	return out
}

// auditLog appends six events an hour apart, the newest an hour ago, and
// returns them oldest first.
func (f *fixture) auditLog(t *testing.T) []model.AuditEvent {
	t.Helper()
	now := f.clock.Now()
	h := func(n int) time.Time { return now.Add(-time.Duration(n) * time.Hour) }
	evs := []model.AuditEvent{
		f.grant(t, h(6), "web", "usr_a", "openid", "read:tx"),
		f.grant(t, h(5), "m2m", "", "read:tx", "write:tx"),
		f.grant(t, h(4), "web", "usr_b", "read:tx"),
	}
	other := []model.AuditEvent{
		{ID: audit.NewID(h(3)), TenantID: "acme", Type: model.EventTokenRefused, Time: h(3), ActorType: model.ActorClient, ActorID: "web", ClientID: "web", Subject: "usr_a"},
		{ID: audit.NewID(h(2)), TenantID: "acme", Type: model.EventLoginFailed, Time: h(2), ActorType: "ip", ActorID: "192.0.2.1", ClientID: "web", Subject: "usr_b"},
	}
	if err := f.st.Audit().Append(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	evs = append(evs, other...)
	evs = append(evs, f.grant(t, h(1), "m2m", "", "write:tx"))
	return evs
}

func TestSearchAuditFilters(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	evs := f.auditLog(t)
	id := func(i ...int) []string {
		var out []string
		for _, n := range i {
			out = append(out, evs[n].ID)
		}
		return out
	}
	// withTenant's own admin events came later (at the clock's now): every
	// case ends before them.
	cutoff := evs[5].Time.Add(time.Minute)
	for _, tc := range []struct {
		name string
		q    AuditQuery
		want []string
	}{
		{"everything", AuditQuery{}, id(5, 4, 3, 2, 1, 0)},
		{"type", AuditQuery{Type: model.EventTokenIssued}, id(5, 2, 1, 0)},
		{"client", AuditQuery{ClientID: "web"}, id(4, 3, 2, 0)},
		{"subject", AuditQuery{Subject: "usr_b"}, id(4, 2)},
		{"scope, exactly", AuditQuery{Scope: "write:tx"}, id(5, 1)},
		{"since inclusive, until exclusive", AuditQuery{Since: evs[1].Time, Until: evs[4].Time}, id(3, 2, 1)},
		{"combined", AuditQuery{Type: model.EventTokenIssued, ClientID: "web", Scope: "read:tx"}, id(2, 0)},
		{"nothing", AuditQuery{Scope: "read"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			if q.Until.IsZero() {
				q.Until = cutoff
			}
			page, err := f.svc.SearchAudit(ctx, f.actor, "acme", q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(page.Items); !slices.Equal(got, tc.want) {
				t.Fatalf("ids = %v, want %v", got, tc.want)
			}
			if page.Next != "" {
				t.Errorf("a complete page has a next cursor %q", page.Next)
			}
		})
	}
	// The filters are echoed in the docs.
	page, err := f.svc.SearchAudit(ctx, f.actor, "acme", AuditQuery{Scope: "write:tx", Until: cutoff, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	d := page.Items[0]
	if d.Type != model.EventTokenIssued || d.ClientID != "m2m" || d.Actor != (AuditActor{Type: model.ActorClient, ID: "m2m"}) ||
		!slices.Equal(d.Scopes, []string{"write:tx"}) || string(d.Details) != `{"grant_type":"client_credentials"}` || d.Time.Location() != time.UTC {
		t.Fatalf("doc = %+v", d)
	}
}

func TestSearchAuditCursorWalksNewestFirst(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	all, err := f.svc.SearchAudit(ctx, f.actor, "acme", AuditQuery{Limit: MaxAuditPageSize})
	if err != nil {
		t.Fatal(err)
	}
	evs := f.auditLog(t)
	full, err := f.svc.SearchAudit(ctx, f.actor, "acme", AuditQuery{Limit: MaxAuditPageSize})
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Items) != len(all.Items)+len(evs) || full.Next != "" {
		t.Fatalf("%d events, want %d", len(full.Items), len(all.Items)+len(evs))
	}
	if !slices.IsSortedFunc(full.Items, func(a, b AuditEventDoc) int { return strings.Compare(b.ID, a.ID) }) {
		t.Fatal("not newest first")
	}
	var walked []string
	q := AuditQuery{Limit: 4}
	pages := 0
	for {
		p, err := f.svc.SearchAudit(ctx, f.actor, "acme", q)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(p.Items) == 0 {
			t.Fatalf("page %d is empty: the previous page's cursor led nowhere", pages)
		}
		walked = append(walked, ids(p.Items)...)
		if p.Next == "" {
			break
		}
		if p.Next != p.Items[len(p.Items)-1].ID {
			t.Fatalf("next cursor %q is not the page's last ID", p.Next)
		}
		q.Before = p.Next
	}
	if !slices.Equal(walked, ids(full.Items)) {
		t.Fatalf("walk of %d pages = %d events, want every event once in order", pages, len(walked))
	}
}

func TestSearchAuditRefusesBadInput(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	now := f.clock.Now()
	n := len(f.events(t, "acme"))
	for _, tc := range []struct {
		q      AuditQuery
		fields []string
	}{
		{AuditQuery{Limit: -1}, []string{"limit"}},
		{AuditQuery{Limit: MaxAuditPageSize + 1}, []string{"limit", "500"}},
		{AuditQuery{Since: now, Until: now}, []string{"until", "later than since"}},
		{AuditQuery{Before: "01j-lower"}, []string{"before", "cursor"}},
		{AuditQuery{Type: "x\ny"}, []string{"type", "control"}},
		{AuditQuery{Scope: strings.Repeat("s", 300), Subject: strings.Repeat("u", 300)}, []string{"scope", "subject"}},
	} {
		_, err := f.svc.SearchAudit(ctx, f.actor, "acme", tc.q)
		wantInvalid(t, err, tc.fields...)
	}
	if _, err := f.svc.SearchAudit(ctx, f.actor, "nope", AuditQuery{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown tenant: %v", err)
	}
	if _, err := f.svc.SearchAudit(ctx, Actor{}, "acme", AuditQuery{}); !errors.Is(err, model.ErrInvalid) {
		t.Fatalf("no actor: %v", err)
	}
	f.unchanged(t, "acme", n)
}

// failingWriter fails after n writes.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n == 0 {
		return 0, errors.New("client went away")
	}
	w.n--
	return len(p), nil
}

func TestExportAuditJSONLines(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	// More than two export pages of grants, a millisecond apart.
	start := f.clock.Now().Add(-time.Hour)
	var batch []model.AuditEvent
	const grants = 2*exportPageSize + 17
	for i := range grants {
		at := start.Add(time.Duration(i) * time.Millisecond)
		batch = append(batch, model.AuditEvent{ID: audit.NewID(at), TenantID: "acme", Type: model.EventTokenIssued, Time: at,
			ActorType: model.ActorClient, ActorID: "m2m", ClientID: "m2m", Scopes: []string{"read:tx"}})
	}
	if err := f.st.Audit().Append(ctx, batch); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := f.svc.ExportAudit(ctx, f.actor, "acme", AuditQuery{Type: model.EventTokenIssued, Scope: "read:tx"}, &buf)
	if err != nil || n != grants {
		t.Fatalf("export = %d, %v; want %d", n, err, grants)
	}
	sc := bufio.NewScanner(&buf)
	var lines []AuditEventDoc
	for sc.Scan() {
		var d AuditEventDoc
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("line %d is not one JSON document: %v: %s", len(lines)+1, err, sc.Bytes())
		}
		lines = append(lines, d)
	}
	if len(lines) != grants || lines[0].ID != batch[grants-1].ID || lines[grants-1].ID != batch[0].ID {
		t.Fatalf("%d lines, first %s last %s", len(lines), lines[0].ID, lines[len(lines)-1].ID)
	}
	// A cap, a cursor, and every filter of a search.
	buf.Reset()
	n, err = f.svc.ExportAudit(ctx, f.actor, "acme", AuditQuery{Scope: "read:tx", Before: batch[10].ID, Limit: 7}, &buf)
	if err != nil || n != 7 || strings.Count(buf.String(), "\n") != 7 || !strings.Contains(buf.String(), batch[9].ID) {
		t.Fatalf("capped export = %d, %v:\n%s", n, err, buf.String())
	}
	// No limit bound for an export, but still a valid query.
	_, err = f.svc.ExportAudit(ctx, f.actor, "acme", AuditQuery{Limit: -1}, &buf)
	wantInvalid(t, err, "limit")
	// A writer that fails stops the export with its error.
	if _, err := f.svc.ExportAudit(ctx, f.actor, "acme", AuditQuery{}, &failingWriter{n: 3}); err == nil || !strings.Contains(err.Error(), "client went away") {
		t.Fatalf("failing writer: %v", err)
	}
}

func TestScopeUsageReportFlagsScopesNeverGranted(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	f.m2m(t, "reports", "read:tx", "write:tx", "read:records")
	f.m2m(t, "batch", "write:tx")
	f.m2m(t, "idle")
	now := f.clock.Now()
	f.grant(t, now.Add(-40*24*time.Hour), "reports", "", "read:records") // before the window
	f.grant(t, now.Add(-3*24*time.Hour), "reports", "", "read:tx")
	last := f.grant(t, now.Add(-time.Hour), "reports", "", "read:tx", "write:tx")
	f.grant(t, now.Add(-2*time.Hour), "batch", "", "read:tx") // implied, not on batch's allowlist

	rep, err := f.svc.ScopeUsageReport(ctx, f.actor, "acme", 0)
	if err != nil {
		t.Fatal(err)
	}
	if rep.WindowSeconds != int64(DefaultUsageWindow/time.Second) || rep.Until.Sub(rep.Since) != DefaultUsageWindow {
		t.Fatalf("window %v–%v (%ds)", rep.Since, rep.Until, rep.WindowSeconds)
	}
	got := map[string]AppScopeUsage{}
	var order []string
	for _, a := range rep.Applications {
		if a.ClientID == model.ConsoleClientID { // every tenant has it
			continue
		}
		got[a.ClientID] = a
		order = append(order, a.ClientID)
	}
	if !slices.IsSorted(order) || len(order) != 3 {
		t.Fatalf("applications %v, want batch idle reports", order)
	}
	want := []ScopeUsage{
		{Scope: "read:records", Grants: 0, CandidateForRemoval: true},
		{Scope: "read:tx", Grants: 2, LastGranted: last.Time.Truncate(time.Microsecond)},
		{Scope: "write:tx", Grants: 1, LastGranted: last.Time.Truncate(time.Microsecond)},
	}
	if r := got["reports"]; !slices.Equal(r.Scopes, want) || !slices.Equal(r.Candidates, []string{"read:records"}) || r.Name != "App reports" {
		t.Fatalf("reports = %+v\nwant %+v", r, want)
	}
	if b := got["batch"]; len(b.Scopes) != 1 || !b.Scopes[0].CandidateForRemoval || b.Scopes[0].Scope != "write:tx" {
		t.Fatalf("batch = %+v (its grant of read:tx is not of its allowlist's write:tx)", b)
	}
	if i := got["idle"]; len(i.Scopes) != 0 || i.Candidates == nil {
		t.Fatalf("idle = %+v", i)
	}
	// JSON: last_granted only when granted.
	b, _ := json.Marshal(got["reports"].Scopes)
	if !strings.Contains(string(b), `{"scope":"read:records","grants":0,"candidate_for_removal":true}`) ||
		!strings.Contains(string(b), `"last_granted":"`) {
		t.Fatalf("JSON %s", b)
	}

	// A window that reaches back to the old grant sees it.
	rep, err = f.svc.ScopeUsageReport(ctx, f.actor, "acme", 60*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range rep.Applications {
		if a.ClientID == "reports" && len(a.Candidates) != 0 {
			t.Fatalf("60-day window: %+v", a)
		}
	}
	for _, w := range []time.Duration{-time.Hour, MaxUsageWindow + time.Hour} {
		_, err := f.svc.ScopeUsageReport(ctx, f.actor, "acme", w)
		wantInvalid(t, err, "window")
	}
	if _, err := f.svc.ScopeUsageReport(ctx, f.actor, "nope", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown tenant: %v", err)
	}
}

func TestImpactCountsGrantsOfTheLast30Days(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	now := f.clock.Now()
	f.grant(t, now.Add(-31*24*time.Hour), "m2m", "", "read:tx")
	f.grant(t, now.Add(-29*24*time.Hour), "m2m", "", "read:tx", "write:tx")
	f.grant(t, now.Add(-time.Minute), "web", "usr_a", "read:tx")
	imp, err := f.svc.Impact(ctx, f.actor, "acme", "read:tx")
	if err != nil {
		t.Fatal(err)
	}
	if imp.GrantsLast30Days != 2 {
		t.Fatalf("grants = %d, want 2", imp.GrantsLast30Days)
	}
	if b, _ := json.Marshal(imp); !strings.Contains(string(b), `"grants_last_30_days":2`) {
		t.Fatalf("JSON %s", b)
	}
	imp, err = f.svc.DeleteScope(ctx, f.actor, "acme", "write:tx", 0)
	if err != nil || imp.GrantsLast30Days != 1 {
		t.Fatalf("delete = %+v, %v", imp, err)
	}
}
