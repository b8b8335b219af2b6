package storetest

import (
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// retentionFixture appends, for tenants "a" and "b", token events 100, 50
// and 1 days before now (the oldest two at 12:00 of their UTC day), an admin
// change and a failed sign-in 100 days before, and returns now.
func retentionFixture(t *testing.T, s store.Store) time.Time {
	t.Helper()
	now := time.Date(2025, 6, 1, 18, 0, 0, 0, time.UTC)
	ago := func(days int) time.Time {
		return now.Add(-time.Duration(days) * 24 * time.Hour).Truncate(24 * time.Hour).Add(12 * time.Hour)
	}
	for _, tenant := range []string{"a", "b"} {
		mk := func(id string, at time.Time, typ, client string, scopes ...string) model.AuditEvent {
			return model.AuditEvent{ID: id, TenantID: tenant, Type: typ, Time: at, ActorType: model.ActorClient, ActorID: client,
				ClientID: client, Scopes: scopes, Details: []byte(`{"grant_type":"client_credentials"}`)}
		}
		must(t, s.Audit().Append(t.Context(), []model.AuditEvent{
			mk("01R0001", ago(100), model.EventTokenIssued, "web", "read:x", "openid"),
			mk("01R0002", ago(100).Add(time.Hour), model.EventAppScopesChanged, "web", "read:x"),
			mk("01R0003", ago(100).Add(2*time.Hour), model.EventLoginFailed, "web"),
			mk("01R0004", ago(50), model.EventTokenIssued, "web", "read:x"),
			mk("01R0005", ago(50).Add(time.Minute), model.EventTokenIssued, "m2m", "read:x"),
			mk("01R0006", now.Add(-24*time.Hour), model.EventTokenIssued, "web", "read:x"),
		}))
	}
	return now
}

var auditRetentionTests = []test{
	{"Prune deletes the events of the given types past the time, keeps every grant counter", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		now := retentionFixture(t, s)
		since := now.Add(-400 * 24 * time.Hour)
		usage, err := s.Audit().ScopeUsage(ctx, "a", since)
		must(t, err)
		byDay, err := s.Audit().ScopeUsageByDay(ctx, "a", since)
		must(t, err)
		grants, err := s.Audit().CountGrants(ctx, "a", "read:x", since)
		must(t, err)
		if grants != 4 {
			t.Fatalf("grants of read:x before pruning = %d, want 4", grants)
		}

		n, err := s.Audit().Prune(ctx, store.AuditPrune{TenantID: "a", Before: now.Add(-90 * 24 * time.Hour),
			Types: []string{model.EventTokenIssued, model.EventTokenRefused}})
		must(t, err)
		if n != 1 {
			t.Fatalf("Prune deleted %d events, want 1 (the token issued 100 days ago)", n)
		}
		got, err := s.Audit().Search(ctx, store.AuditQuery{TenantID: "a"})
		must(t, err)
		equal(t, "events left", eventIDs(got), []string{"01R0006", "01R0005", "01R0004", "01R0003", "01R0002"})
		got, err = s.Audit().Search(ctx, store.AuditQuery{TenantID: "a", Scope: "openid"})
		must(t, err)
		equal(t, "the pruned event's scope rows", eventIDs(got), []string(nil))

		// The report reads the counters: unchanged after the raw events are gone.
		after, err := s.Audit().ScopeUsage(ctx, "a", since)
		must(t, err)
		equal(t, "scope usage after pruning", after, usage)
		afterByDay, err := s.Audit().ScopeUsageByDay(ctx, "a", since)
		must(t, err)
		equal(t, "scope usage by day after pruning", afterByDay, byDay)
		n2, err := s.Audit().CountGrants(ctx, "a", "read:x", since)
		must(t, err)
		if n2 != grants {
			t.Fatalf("grants after pruning = %d, want %d", n2, grants)
		}
		// A window starting inside the pruned day counts that whole day
		// from its counter (its raw events are gone).
		mid, err := s.Audit().CountGrants(ctx, "a", "openid", now.Add(-100*24*time.Hour).Truncate(24*time.Hour).Add(6*time.Hour))
		must(t, err)
		if mid != 1 {
			t.Fatalf("grants of openid from inside the pruned day = %d, want 1", mid)
		}
		// Inside the pruned event's hour, after it: the whole hour's counter.
		mid, err = s.Audit().CountGrants(ctx, "a", "openid", now.Add(-100*24*time.Hour).Truncate(24*time.Hour).Add(12*time.Hour+30*time.Second))
		must(t, err)
		if mid != 1 {
			t.Fatalf("grants of openid from inside the pruned hour = %d, want 1 (the hour's counter)", mid)
		}

		// Every other type: the admin change goes, the sign-in failure is not older than its time.
		n, err = s.Audit().Prune(ctx, store.AuditPrune{TenantID: "a", Before: now.Add(-90 * 24 * time.Hour),
			Types: []string{model.EventTokenIssued, model.EventLoginFailed}, ExceptTypes: true})
		must(t, err)
		if n != 1 {
			t.Fatalf("Prune of every other type deleted %d events, want 1", n)
		}
		got, err = s.Audit().Search(ctx, store.AuditQuery{TenantID: "a"})
		must(t, err)
		equal(t, "events left", eventIDs(got), []string{"01R0006", "01R0005", "01R0004", "01R0003"})

		// Tenant b is untouched.
		got, err = s.Audit().Search(ctx, store.AuditQuery{TenantID: "b"})
		must(t, err)
		if len(got) != 6 {
			t.Fatalf("tenant b has %d events after pruning a, want 6", len(got))
		}
	}},
	{"Prune deletes at most Limit events, oldest first", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		now := retentionFixture(t, s)
		p := store.AuditPrune{TenantID: "a", Before: now.Add(-2 * 24 * time.Hour), Types: []string{model.EventTokenIssued}, Limit: 2}
		n, err := s.Audit().Prune(ctx, p)
		must(t, err)
		if n != 2 {
			t.Fatalf("first batch deleted %d, want 2", n)
		}
		n, err = s.Audit().Prune(ctx, p)
		must(t, err)
		if n != 1 {
			t.Fatalf("second batch deleted %d, want 1", n)
		}
		got, err := s.Audit().Search(ctx, store.AuditQuery{TenantID: "a", Type: model.EventTokenIssued})
		must(t, err)
		equal(t, "token events left", eventIDs(got), []string{"01R0006"})
		// Types never logged, and unknown tenants, select nothing.
		n, err = s.Audit().Prune(ctx, store.AuditPrune{TenantID: "a", Before: now, Types: []string{"no.such_type"}})
		must(t, err)
		n2, err := s.Audit().Prune(ctx, store.AuditPrune{TenantID: "zz", Before: now, Types: []string{model.EventTokenIssued}})
		must(t, err)
		if n+n2 != 0 {
			t.Fatalf("Prune of nothing deleted %d", n+n2)
		}
		_, err = s.Audit().Prune(ctx, store.AuditPrune{Before: now})
		wantErr(t, err, model.ErrInvalid)
	}},
	{"Retention settings round-trip per tenant; negative days are refused", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		got, err := s.Audit().Retention(ctx, "a")
		must(t, err)
		equal(t, "unset", got, store.AuditRetention{})
		want := store.AuditRetention{IssuanceDays: 30, AdminDays: 730}
		must(t, s.Audit().SetRetention(ctx, "a", want))
		got, err = s.Audit().Retention(ctx, "a")
		must(t, err)
		equal(t, "set", got, want)
		got, err = s.Audit().Retention(ctx, "b")
		must(t, err)
		equal(t, "other tenant", got, store.AuditRetention{})
		must(t, s.Audit().SetRetention(ctx, "a", store.AuditRetention{SecurityDays: 400}))
		got, err = s.Audit().Retention(ctx, "a")
		must(t, err)
		equal(t, "replaced", got, store.AuditRetention{SecurityDays: 400})
		wantErr(t, s.Audit().SetRetention(ctx, "a", store.AuditRetention{IssuanceDays: -1}), model.ErrInvalid)
	}},
}
