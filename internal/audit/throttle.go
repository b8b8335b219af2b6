package audit

import (
	"sync"
	"time"
)

// Default Throttle bounds.
const (
	// DefaultThrottleWindow is how long a key stays quiet after its event.
	DefaultThrottleWindow = time.Minute
	// DefaultThrottlePerTenant is the most events a tenant is admitted per
	// window, over all its keys.
	DefaultThrottlePerTenant = 100
	// DefaultThrottleMaxKeys is the most keys remembered per tenant.
	DefaultThrottleMaxKeys = 4096
)

// Throttle decides which events of a flood are written, so that a flood
// (of bad client credentials, say) cannot grow the log without bound, while
// every occurrence is still counted in some written event.
//
// A key (such as client ID and peer) is admitted at most once per Window;
// the occurrences refused meanwhile are counted and handed to the key's
// next admitted event as Suppressed. A tenant is admitted at most PerTenant
// events per Window over all its keys; occurrences refused by that cap are
// counted on their key too. At most MaxKeys keys are remembered per tenant.
// The counts of keys refused by the cap, of keys quiet for two windows, and
// of keys that find the table full go to the tenant (when its next window
// begins, or when the table is full) and are handed to its next admitted
// event as SuppressedOther. So, summed over the admitted events,
// 1 + Suppressed + SuppressedOther adds up to every occurrence, except those
// still waiting for a next event.
//
// The state is in memory, per node: a restart drops the counts not yet
// handed on, and N nodes admit up to N times as many events. What is not
// checked: that keys are meaningful; the caller chooses them.
//
// The zero value is usable; set the fields before first use. A Throttle is
// safe for concurrent use and must not be copied after first use.
type Throttle struct {
	// Window is zero for DefaultThrottleWindow.
	Window time.Duration
	// PerTenant is zero for DefaultThrottlePerTenant.
	PerTenant int
	// MaxKeys is zero for DefaultThrottleMaxKeys.
	MaxKeys int

	mu      sync.Mutex
	tenants map[string]*throttleTenant
}

// Admission is a Throttle's answer for one occurrence.
type Admission struct {
	// Write says whether to write this occurrence's event.
	Write bool
	// Suppressed is how many occurrences of the same key were not written
	// since its previous written event.
	Suppressed int64
	// SuppressedOther is how many occurrences of other keys of the tenant
	// were not written and are counted by no key any more.
	SuppressedOther int64
}

type throttleTenant struct {
	start   time.Time // of the tenant's current window
	written int       // events admitted in the current window
	other   int64     // occurrences counted by no key, not yet handed on
	swept   time.Time // last sweep of keys
	keys    map[string]*throttleKey
}

type throttleKey struct {
	last       time.Time // of the key's latest admitted event; zero: none yet
	suppressed int64
}

// Admit counts one occurrence of key in the tenant at now and says whether
// its event is written, with the counts that event must carry.
func (t *Throttle) Admit(now time.Time, tenantID, key string) Admission {
	window, perTenant, maxKeys := t.Window, t.PerTenant, t.MaxKeys
	if window <= 0 {
		window = DefaultThrottleWindow
	}
	if perTenant <= 0 {
		perTenant = DefaultThrottlePerTenant
	}
	if maxKeys <= 0 {
		maxKeys = DefaultThrottleMaxKeys
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tenants == nil {
		t.tenants = map[string]*throttleTenant{}
	}
	ts := t.tenants[tenantID]
	if ts == nil {
		ts = &throttleTenant{start: now, keys: map[string]*throttleKey{}}
		t.tenants[tenantID] = ts
	}
	if now.Sub(ts.start) >= window || now.Before(ts.start) {
		ts.start, ts.written = now, 0
		// Hand on what keys that went quiet still hold, and forget them.
		ts.sweep(now, window, 2*window)
	}
	k := ts.keys[key]
	if k != nil && !k.last.IsZero() && now.Sub(k.last) < window && !now.Before(k.last) {
		k.suppressed++
		return Admission{}
	}
	if k == nil && len(ts.keys) >= maxKeys && (ts.swept.IsZero() || now.Sub(ts.swept) >= window || now.Before(ts.swept)) {
		// At most once per window, so a table full of live keys does not
		// cost a scan per occurrence.
		ts.sweep(now, window, window)
	}
	if ts.written >= perTenant {
		switch {
		case k != nil:
			k.suppressed++
		case len(ts.keys) < maxKeys:
			// Remembered without an event: its next admitted event carries it.
			ts.keys[key] = &throttleKey{suppressed: 1}
		default:
			ts.other++
		}
		return Admission{}
	}
	a := Admission{Write: true, SuppressedOther: ts.other}
	ts.other = 0
	ts.written++
	switch {
	case k != nil:
		a.Suppressed, k.suppressed, k.last = k.suppressed, 0, now
	case len(ts.keys) < maxKeys:
		ts.keys[key] = &throttleKey{last: now}
	}
	// A key that finds the table full is written (the tenant cap still
	// bounds it) but not remembered.
	return a
}

// sweep forgets the keys that cannot be admitted on their own any more or
// soon: those never admitted (refused by the tenant cap), those whose window
// has passed with nothing counted, and those whose last event is older than
// age. Their counts go to the tenant, for its next admitted event.
func (ts *throttleTenant) sweep(now time.Time, window, age time.Duration) {
	ts.swept = now
	for key, k := range ts.keys {
		idle := now.Sub(k.last)
		if k.last.IsZero() || idle >= age || (idle >= window && k.suppressed == 0) || now.Before(k.last) {
			ts.other += k.suppressed
			delete(ts.keys, key)
		}
	}
}
