package admin

import (
	"context"
	"fmt"
	"time"
)

// ScopeUsageDays is the scope-usage report per day: for every application
// and scope granted in the window, the grants of each UTC day (the chart of
// the console's scope-usage page).
type ScopeUsageDays struct {
	// Since and Until bound the window (Until is when it was read).
	Since time.Time
	Until time.Time
	// Days are the UTC days the window touches, oldest first: the day of
	// Since (partly in the window) to the day of Until (so far).
	Days []time.Time
	// Grants maps a client ID to its scopes, and each scope to its grants
	// per day, one count per entry of Days. Pairs not granted in the window
	// are absent.
	Grants map[string]map[string][]int
}

// Series returns the grants per day of clientID's scope, one per entry of
// Days (zeros when none).
func (d ScopeUsageDays) Series(clientID, scope string) []int {
	if s := d.Grants[clientID][scope]; s != nil {
		return s
	}
	return make([]int, len(d.Days))
}

// ScopeUsageByDay reads the grants of every (application, scope) pair per
// UTC day in the window ending now, from the same audit rows as
// ScopeUsageReport (store Audit.ScopeUsageByDay), with the same window
// rules: 0 means DefaultUsageWindow, at most MaxUsageWindow. It needs
// OpScopeUsage's scope, as the report does.
func (s *Service) ScopeUsageByDay(ctx context.Context, actor Actor, tenantID string, window time.Duration) (ScopeUsageDays, error) {
	if window == 0 {
		window = DefaultUsageWindow
	}
	if window < 0 || window > MaxUsageWindow {
		return ScopeUsageDays{}, invalid("window", "must be positive and at most %d days", int(MaxUsageWindow/(24*time.Hour)))
	}
	st, err := s.view(ctx, actor, tenantID)
	if err != nil {
		return ScopeUsageDays{}, err
	}
	now := s.now().UTC()
	since := now.Add(-window)
	rows, err := st.Audit().ScopeUsageByDay(ctx, tenantID, since)
	if err != nil {
		return ScopeUsageDays{}, fmt.Errorf("scope usage by day: %w", err)
	}
	out := ScopeUsageDays{Since: since, Until: now, Grants: map[string]map[string][]int{}}
	first := utcDay(since)
	for d := first; !d.After(now); d = d.AddDate(0, 0, 1) {
		out.Days = append(out.Days, d)
	}
	for _, r := range rows {
		i := int(r.Day.Sub(first) / (24 * time.Hour))
		if i < 0 || i >= len(out.Days) {
			continue // a grant stamped after now (clock skew between nodes)
		}
		byScope := out.Grants[r.ClientID]
		if byScope == nil {
			byScope = map[string][]int{}
			out.Grants[r.ClientID] = byScope
		}
		if byScope[r.Scope] == nil {
			byScope[r.Scope] = make([]int, len(out.Days))
		}
		byScope[r.Scope][i] += r.Grants
	}
	return out, nil
}

// utcDay is the UTC midnight that starts t's UTC day.
func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
