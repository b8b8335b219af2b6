package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// event returns the i-th event of a tenant: IDs sort by i like the
// time-sortable IDs the audit package makes, and the time grows with i.
func event(tenantID string, i int, typ, clientID, subject string, scopes ...string) model.AuditEvent {
	return model.AuditEvent{ID: fmt.Sprintf("01J%08d", i), TenantID: tenantID, Type: typ, Time: t0.Add(time.Duration(i) * time.Second),
		ActorType: model.ActorClient, ActorID: clientID, ClientID: clientID, Subject: subject, Audience: "api.bank.example.com",
		Scopes: scopes, Details: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
}

// auditFixture appends nine events of tenant "a" and one of "b".
func auditFixture(t *testing.T, s store.Store) {
	t.Helper()
	events := []model.AuditEvent{
		event("a", 1, model.EventTokenIssued, "web", "usr_1", "openid", "read:x"),
		event("a", 2, model.EventTokenIssued, "web", "usr_2", "read:xy"),
		event("a", 3, model.EventTokenRefused, "web", "usr_1", "read_x"),
		event("a", 4, model.EventTokenIssued, "m2m", "", "readXx", "write:x"),
		event("a", 5, model.EventAppScopesChanged, "web", "", "read:x", "write:x"),
		event("a", 6, model.EventTokenIssued, "m2m", "", "100%"),
		event("a", 7, model.EventTokenIssued, "m2m", "", "1000"),
		event("a", 8, model.EventTokenRevoked, "web", "usr_1"),
		event("a", 9, model.EventTokenIssued, "web", "usr_1", "read:x"),
		event("b", 10, model.EventTokenIssued, "web", "usr_1", "read:x"),
	}
	// Out of order on purpose: newest first is by ID, not insertion.
	must(t, s.Audit().Append(t.Context(), events[5:]))
	must(t, s.Audit().Append(t.Context(), events[:5]))
}

var auditTests = []test{
	{"Append and Search round-trip every field", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		in := event("a", 1, model.EventTokenIssued, "web", "usr_1", "openid", "read:x", "openid")
		in.ActorType, in.ActorID = model.ActorUser, "usr_1"
		in.Details = json.RawMessage(`{"requested":["openid","read:x"],"dropped":[{"scope":"admin","reason":"not on the allowlist"}]}`)
		bare := model.AuditEvent{ID: "01J00000002", TenantID: "a", Type: model.EventTenantCreated, Time: t0, ActorType: model.ActorSystem}
		must(t, s.Audit().Append(ctx, []model.AuditEvent{in, bare}))
		got, err := s.Audit().Search(ctx, store.AuditQuery{TenantID: "a"})
		must(t, err)
		want := in
		want.Time = us(in.Time)
		want.Scopes = []string{"openid", "read:x"} // repeats stored once
		bare.Time = us(bare.Time)
		equal(t, "events", got, []model.AuditEvent{bare, want})
	}},
	{"Search is newest first and filters by each field", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		auditFixture(t, s)
		for _, tc := range []struct {
			name string
			q    store.AuditQuery
			want []int
		}{
			{"no filter", store.AuditQuery{}, []int{9, 8, 7, 6, 5, 4, 3, 2, 1}},
			{"type", store.AuditQuery{Type: model.EventTokenIssued}, []int{9, 7, 6, 4, 2, 1}},
			{"client", store.AuditQuery{ClientID: "m2m"}, []int{7, 6, 4}},
			{"subject", store.AuditQuery{Subject: "usr_1"}, []int{9, 8, 3, 1}},
			{"scope matches one name exactly", store.AuditQuery{Scope: "read:x"}, []int{9, 5, 1}},
			{"scope with LIKE wildcard _", store.AuditQuery{Scope: "read_x"}, []int{3}},
			{"scope with LIKE wildcard %", store.AuditQuery{Scope: "100%"}, []int{6}},
			{"scope is case-sensitive", store.AuditQuery{Scope: "READ:X"}, nil},
			{"scope never granted", store.AuditQuery{Scope: "read"}, nil},
			{"since is inclusive", store.AuditQuery{Since: t0.Add(7 * time.Second)}, []int{9, 8, 7}},
			{"until is exclusive", store.AuditQuery{Until: t0.Add(3 * time.Second)}, []int{2, 1}},
			{"window", store.AuditQuery{Since: t0.Add(3 * time.Second), Until: t0.Add(6 * time.Second)}, []int{5, 4, 3}},
			{"combined", store.AuditQuery{Type: model.EventTokenIssued, ClientID: "web", Subject: "usr_1", Scope: "read:x"}, []int{9, 1}},
			{"limit", store.AuditQuery{Limit: 2}, []int{9, 8}},
			{"cursor", store.AuditQuery{Before: event("a", 5, "", "", "").ID, Limit: 2}, []int{4, 3}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q := tc.q
				q.TenantID = "a"
				got, err := s.Audit().Search(ctx, q)
				must(t, err)
				var want []string
				for _, i := range tc.want {
					want = append(want, event("a", i, "", "", "").ID)
				}
				equal(t, "IDs", eventIDs(got), want)
			})
		}
	}},
	{"cursor pagination walks every event once", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		auditFixture(t, s)
		var seen []string
		q := store.AuditQuery{TenantID: "a", Limit: 4}
		for range 10 {
			page, err := s.Audit().Search(ctx, q)
			must(t, err)
			if len(page) == 0 {
				break
			}
			seen = append(seen, eventIDs(page)...)
			q.Before = page[len(page)-1].ID
		}
		var want []string
		for i := 9; i >= 1; i-- {
			want = append(want, event("a", i, "", "", "").ID)
		}
		equal(t, "walk", seen, want)
	}},
	{"default limit is 50", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		var events []model.AuditEvent
		for i := range 70 {
			events = append(events, event("a", i, model.EventTokenIssued, "web", "usr_1", "read:x"))
		}
		must(t, s.Audit().Append(ctx, events))
		got, err := s.Audit().Search(ctx, store.AuditQuery{TenantID: "a"})
		must(t, err)
		equal(t, "count", len(got), 50)
		equal(t, "newest", got[0].ID, events[69].ID)
	}},
	{"Append is all or nothing", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		must(t, s.Audit().Append(ctx, []model.AuditEvent{event("a", 1, "t", "web", "")}))
		batch := []model.AuditEvent{
			event("a", 2, "t", "web", "", "read:x"),
			event("a", 3, "t", "web", "", "read:x"),
			event("a", 1, "t", "web", "", "read:x"), // taken ID
		}
		wantErr(t, s.Audit().Append(ctx, batch), store.ErrConflict)
		got, err := s.Audit().Search(ctx, store.AuditQuery{TenantID: "a"})
		must(t, err)
		equal(t, "stored", eventIDs(got), []string{event("a", 1, "", "", "").ID})
		got, err = s.Audit().Search(ctx, store.AuditQuery{TenantID: "a", Scope: "read:x"})
		must(t, err)
		equal(t, "no scope rows left behind", len(got), 0)

		invalid := []model.AuditEvent{event("a", 4, "t", "web", ""), {TenantID: "a", Type: "no id"}}
		wantErr(t, s.Audit().Append(ctx, invalid), model.ErrInvalid)
		got, err = s.Audit().Search(ctx, store.AuditQuery{TenantID: "a"})
		must(t, err)
		equal(t, "after invalid batch", len(got), 1)
		must(t, s.Audit().Append(ctx, nil))
	}},
	{"a large batch is stored whole", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		var events []model.AuditEvent
		for i := range 700 { // more rows than one multi-row INSERT carries
			events = append(events, event("a", i, "t", "web", "", "openid", "read:x"))
		}
		must(t, s.Audit().Append(ctx, events))
		got, err := s.Audit().Search(ctx, store.AuditQuery{TenantID: "a", Scope: "read:x", Limit: 1000})
		must(t, err)
		equal(t, "count", len(got), 700)
	}},
	{"ScopeUsage counts the token_issued events granting each scope, per client, since a time", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		auditFixture(t, s)
		at := func(i int) time.Time { return us(t0.Add(time.Duration(i) * time.Second)) }
		got, err := s.Audit().ScopeUsage(ctx, "a", t0)
		must(t, err)
		// Ordered by client, then scope, byte-wise ("100%" < "1000");
		// refusals (3) and admin changes (5) are not grants; tenant b's
		// grant of read:x is not a's.
		equal(t, "all", got, []store.ScopeUsage{
			{ClientID: "m2m", Scope: "100%", Grants: 1, Last: at(6)},
			{ClientID: "m2m", Scope: "1000", Grants: 1, Last: at(7)},
			{ClientID: "m2m", Scope: "readXx", Grants: 1, Last: at(4)},
			{ClientID: "m2m", Scope: "write:x", Grants: 1, Last: at(4)},
			{ClientID: "web", Scope: "openid", Grants: 1, Last: at(1)},
			{ClientID: "web", Scope: "read:x", Grants: 2, Last: at(9)},
			{ClientID: "web", Scope: "read:xy", Grants: 1, Last: at(2)},
		})
		for _, u := range got {
			utc(t, "last", u.Last)
		}
		got, err = s.Audit().ScopeUsage(ctx, "a", t0.Add(2*time.Second).Truncate(time.Microsecond))
		must(t, err)
		equal(t, "since is inclusive", got, []store.ScopeUsage{
			{ClientID: "m2m", Scope: "100%", Grants: 1, Last: at(6)},
			{ClientID: "m2m", Scope: "1000", Grants: 1, Last: at(7)},
			{ClientID: "m2m", Scope: "readXx", Grants: 1, Last: at(4)},
			{ClientID: "m2m", Scope: "write:x", Grants: 1, Last: at(4)},
			{ClientID: "web", Scope: "read:x", Grants: 1, Last: at(9)},
			{ClientID: "web", Scope: "read:xy", Grants: 1, Last: at(2)},
		})
		got, err = s.Audit().ScopeUsage(ctx, "a", t0.Add(10*time.Second))
		must(t, err)
		equal(t, "nothing since", len(got), 0)
		got, err = s.Audit().ScopeUsage(ctx, "c", time.Time{})
		must(t, err)
		equal(t, "empty tenant", len(got), 0)
		_, err = s.Audit().ScopeUsage(ctx, "", t0)
		wantErr(t, err, model.ErrInvalid)
	}},
	{"ScopeUsage reads every scope of a long log", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		var events []model.AuditEvent
		for i := range 300 {
			events = append(events, event("a", i, model.EventTokenIssued, fmt.Sprintf("c%d", i%3), "",
				fmt.Sprintf("s%02d", i%40), fmt.Sprintf("s%02d", (i+1)%40)))
		}
		must(t, s.Audit().Append(ctx, events))
		got, err := s.Audit().ScopeUsage(ctx, "a", t0.Add(150*time.Second))
		must(t, err)
		total := 0
		for i, u := range got {
			total += u.Grants
			if i > 0 && (got[i-1].ClientID > u.ClientID || got[i-1].ClientID == u.ClientID && got[i-1].Scope >= u.Scope) {
				t.Fatalf("out of order: %+v before %+v", got[i-1], u)
			}
		}
		equal(t, "grants in the window", total, 2*150)
		equal(t, "pairs", len(got), 3*40)
	}},
	{"CountGrants counts the token_issued events granting a scope since a time", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		auditFixture(t, s)
		for _, tc := range []struct {
			tenant, scope string
			since         time.Time
			want          int
		}{
			{"a", "read:x", t0, 2}, // 1 and 9; 5 is an admin change
			{"a", "read:x", t0.Add(2 * time.Second), 1},
			{"a", "read:x", t0.Add(9 * time.Second).Truncate(time.Microsecond), 1},
			{"a", "read:x", t0.Add(10 * time.Second), 0},
			{"a", "read_x", t0, 0}, // refused, not granted
			{"a", "read", t0, 0},
			{"a", "100%", time.Time{}, 1},
			{"b", "read:x", t0, 1},
		} {
			got, err := s.Audit().CountGrants(ctx, tc.tenant, tc.scope, tc.since)
			must(t, err)
			equal(t, fmt.Sprintf("%s/%s since %v", tc.tenant, tc.scope, tc.since), got, tc.want)
		}
		_, err := s.Audit().CountGrants(ctx, "", "read:x", t0)
		wantErr(t, err, model.ErrInvalid)
	}},
	{"ScopeUsageByDay counts the grants of each client and scope per UTC day", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		day := func(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }
		at := func(i int, tm time.Time, typ, client string, scopes ...string) model.AuditEvent {
			e := event("a", i, typ, client, "", scopes...)
			e.Time = tm
			return e
		}
		must(t, s.Audit().Append(ctx, []model.AuditEvent{
			at(1, day(2024, 3, 1).Add(-time.Microsecond), model.EventTokenIssued, "web", "read:x"), // the last µs of 29 Feb
			at(2, day(2024, 3, 1), model.EventTokenIssued, "web", "read:x", "openid"),              // the first µs of 1 March
			at(3, day(2024, 3, 1).Add(23*time.Hour), model.EventTokenIssued, "web", "read:x"),
			at(4, day(2024, 3, 1).Add(12*time.Hour), model.EventTokenRefused, "web", "read:x"), // not a grant
			at(5, day(2024, 3, 1).Add(13*time.Hour), model.EventAppScopesChanged, "web", "read:x"),
			at(6, day(2024, 3, 3).Add(time.Hour), model.EventTokenIssued, "m2m", "read:x"),
			at(7, day(2024, 3, 3).Add(2*time.Hour), model.EventTokenIssued, "m2m", "read:x"),
		}))
		must(t, s.Audit().Append(ctx, []model.AuditEvent{func() model.AuditEvent {
			e := at(8, day(2024, 3, 1), model.EventTokenIssued, "web", "read:x")
			e.TenantID = "b"
			return e
		}()}))
		got, err := s.Audit().ScopeUsageByDay(ctx, "a", day(2024, 2, 1))
		must(t, err)
		equal(t, "by day", got, []store.DailyScopeUsage{
			{ClientID: "m2m", Scope: "read:x", Day: day(2024, 3, 3), Grants: 2},
			{ClientID: "web", Scope: "openid", Day: day(2024, 3, 1), Grants: 1},
			{ClientID: "web", Scope: "read:x", Day: day(2024, 2, 29), Grants: 1},
			{ClientID: "web", Scope: "read:x", Day: day(2024, 3, 1), Grants: 2},
		})
		for _, u := range got {
			utc(t, "day", u.Day)
		}
		got, err = s.Audit().ScopeUsageByDay(ctx, "a", day(2024, 3, 1).Add(time.Hour))
		must(t, err)
		equal(t, "since is inclusive and cuts a day", got, []store.DailyScopeUsage{
			{ClientID: "m2m", Scope: "read:x", Day: day(2024, 3, 3), Grants: 2},
			{ClientID: "web", Scope: "read:x", Day: day(2024, 3, 1), Grants: 1},
		})
		got, err = s.Audit().ScopeUsageByDay(ctx, "c", time.Time{})
		must(t, err)
		equal(t, "empty tenant", len(got), 0)
		_, err = s.Audit().ScopeUsageByDay(ctx, "", t0)
		wantErr(t, err, model.ErrInvalid)
	}},
	{"Search needs a tenant", func(t *testing.T, s store.Store) {
		_, err := s.Audit().Search(t.Context(), store.AuditQuery{Type: model.EventTokenIssued})
		if err == nil {
			t.Fatal("search without tenant succeeded")
		}
	}},
}
