package admin

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/store"
)

func TestScopeUsageByDayCountsEachUTCDayOfTheWindow(t *testing.T) {
	f := newFixture(t)
	f.withTenant(t)
	ctx := t.Context()
	now := f.clock.Now() // 2026-03-01 12:00 UTC
	week := 7 * 24 * time.Hour
	f.grant(t, now.Add(-week-time.Hour), "reports", "", "read:tx") // before the window
	f.grant(t, now.Add(-week+time.Hour), "reports", "", "read:tx") // its first, partial day
	f.grant(t, now.Add(-3*24*time.Hour), "reports", "", "read:tx", "write:tx")
	f.grant(t, now.Add(-time.Hour), "reports", "", "read:tx")
	f.grant(t, now.Add(-time.Minute), "reports", "", "read:tx")
	f.grant(t, now.Add(-time.Minute), "batch", "", "write:tx")

	d, err := f.svc.ScopeUsageByDay(ctx, f.actor, "acme", week)
	if err != nil {
		t.Fatal(err)
	}
	day := func(m time.Month, n int) time.Time { return time.Date(2026, m, n, 0, 0, 0, 0, time.UTC) }
	if len(d.Days) != 8 || !d.Days[0].Equal(day(2, 22)) || !d.Days[7].Equal(day(3, 1)) {
		t.Fatalf("days %v, want 22 February to 1 March", d.Days)
	}
	for _, tc := range []struct {
		client, scope string
		want          []int
	}{
		{"reports", "read:tx", []int{1, 0, 0, 0, 1, 0, 0, 2}},
		{"reports", "write:tx", []int{0, 0, 0, 0, 1, 0, 0, 0}},
		{"batch", "write:tx", []int{0, 0, 0, 0, 0, 0, 0, 1}},
		{"batch", "read:tx", []int{0, 0, 0, 0, 0, 0, 0, 0}}, // never granted: zeros
	} {
		if got := d.Series(tc.client, tc.scope); !slices.Equal(got, tc.want) {
			t.Errorf("%s %s = %v, want %v", tc.client, tc.scope, got, tc.want)
		}
	}
	if _, ok := d.Grants["batch"]["read:tx"]; ok {
		t.Error("a pair never granted has a series")
	}
	for _, w := range []time.Duration{-time.Hour, MaxUsageWindow + time.Hour} {
		_, err := f.svc.ScopeUsageByDay(ctx, f.actor, "acme", w)
		wantInvalid(t, err, "window")
	}
	if _, err := f.svc.ScopeUsageByDay(ctx, f.actor, "nope", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown tenant: %v", err)
	}
}
