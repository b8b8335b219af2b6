package storetest

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/store"
)

// AuditSizeEnv names the variable that runs MeasureAudit: the number of
// events to load (e.g. 1000000). Unset, the measurement is skipped — it is
// minutes of work, for BENCHMARKS.md, not for every test run.
const AuditSizeEnv = "INTELLIAUTH_AUDIT_SIZE"

// MeasureAudit loads $INTELLIAUTH_AUDIT_SIZE synthetic events (LoadAudit)
// into s over 60 days ending now, then reports the bytes on disk per event
// (size, called after the load, returns the bytes the audit log takes) and
// the median latency of the queries issue 12 sets targets for: the Scope
// filter (a common and a rare scope), client + scope + time range, the
// scope-usage report over 30 days, and the JSON Lines export rate (pages of
// 1,000 through Search, each event marshalled).
func MeasureAudit(t *testing.T, s store.Store, size func() (int64, error)) {
	n, _ := strconv.Atoi(os.Getenv(AuditSizeEnv))
	if n <= 0 {
		t.Skipf("%s is not set; skipping the audit log measurement", AuditSizeEnv)
	}
	ctx := t.Context()
	now := time.Now().UTC()
	load := AuditLoad{TenantID: "size", Events: n, From: now.Add(-60 * 24 * time.Hour), Span: 60 * 24 * time.Hour, Seed: 1}
	began := time.Now()
	if err := LoadAudit(ctx, s, load); err != nil {
		t.Fatal(err)
	}
	loadTime := time.Since(began)
	b, err := size()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events loaded in %v (%.0f events/s); %d bytes on disk, %.0f B/event", n, loadTime.Round(time.Millisecond),
		float64(n)/loadTime.Seconds(), b, float64(b)/float64(n))

	median := func(name string, f func() (int, error)) {
		var ds []time.Duration
		var got int
		for range 7 {
			began := time.Now()
			var err error
			if got, err = f(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			ds = append(ds, time.Since(began))
		}
		slices.Sort(ds)
		t.Logf("%-48s median %8.2f ms (%d rows)", name, float64(ds[len(ds)/2].Microseconds())/1000, got)
	}
	search := func(q store.AuditQuery) func() (int, error) {
		return func() (int, error) {
			q.TenantID = load.TenantID
			evs, err := s.Audit().Search(ctx, q)
			return len(evs), err
		}
	}
	median("scope filter, common scope (read:transactions)", search(store.AuditQuery{Scope: "read:transactions"}))
	median("scope filter, rare scope (1 event in 10,000)", search(store.AuditQuery{Scope: LoadRareScope}))
	median("client + scope + last 7 days", search(store.AuditQuery{ClientID: "app-7", Scope: "read:transactions", Since: now.Add(-7 * 24 * time.Hour)}))
	median("client + scope + a day 45 days ago", search(store.AuditQuery{ClientID: "app-7", Scope: "read:transactions",
		Since: now.Add(-45 * 24 * time.Hour), Until: now.Add(-44 * 24 * time.Hour)}))
	median("client + rare scope + 30 days", search(store.AuditQuery{ClientID: "app-7", Scope: LoadRareScope, Since: now.Add(-30 * 24 * time.Hour)}))
	median("client filter", search(store.AuditQuery{ClientID: "app-7"}))
	median("subject filter", search(store.AuditQuery{Subject: "usr_000042"}))
	median("type filter (application.scopes_changed)", search(store.AuditQuery{Type: "application.scopes_changed"}))
	median("scope-usage report, 30 days", func() (int, error) {
		u, err := s.Audit().ScopeUsage(ctx, load.TenantID, now.Add(-30*24*time.Hour))
		return len(u), err
	})
	median("scope-usage by day, 30 days", func() (int, error) {
		u, err := s.Audit().ScopeUsageByDay(ctx, load.TenantID, now.Add(-30*24*time.Hour))
		return len(u), err
	})
	median("grants of one scope, 30 days (impact preview)", func() (int, error) {
		return s.Audit().CountGrants(ctx, load.TenantID, "read:transactions", now.Add(-30*24*time.Hour))
	})

	// Export: the newest min(n, 200k) events, as admin.ExportAudit pages.
	want := min(n, 200_000)
	began = time.Now()
	exported, cursor, bytes := 0, "", 0
	for exported < want {
		evs, err := s.Audit().Search(ctx, store.AuditQuery{TenantID: load.TenantID, Before: cursor, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			break
		}
		for _, e := range evs {
			line, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			bytes += len(line) + 1
		}
		exported += len(evs)
		cursor = evs[len(evs)-1].ID
	}
	el := time.Since(began)
	t.Logf("%-48s %8.0f events/s (%d events, %s)", "export (JSON Lines, pages of 1,000)", float64(exported)/el.Seconds(), exported,
		fmt.Sprintf("%.1f MB", float64(bytes)/1e6))
}
