package audit

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// total sums what the admitted events stand for.
type tally struct{ events, counted int64 }

func (c *tally) add(a Admission) {
	if a.Write {
		c.events++
		c.counted += 1 + a.Suppressed + a.SuppressedOther
	}
}

func TestThrottle(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t.Run("one key: one event per window carrying the count", func(t *testing.T) {
		var th Throttle
		var c tally
		for i := range 1000 {
			c.add(th.Admit(t0.Add(time.Duration(i)*time.Millisecond), "t", "k"))
		}
		if c.events != 1 {
			t.Errorf("events = %d, want 1", c.events)
		}
		a := th.Admit(t0.Add(DefaultThrottleWindow), "t", "k")
		if !a.Write || a.Suppressed != 999 {
			t.Errorf("next window's event = %+v, want Write with Suppressed 999", a)
		}
	})
	t.Run("many keys: the tenant cap bounds the events and the counts add up", func(t *testing.T) {
		th := Throttle{PerTenant: 10, MaxKeys: 50}
		if a := th.Admit(t0, "other", "k"); !a.Write {
			t.Fatal("first occurrence not admitted")
		}
		var c tally
		const n = 1000
		for i := range n {
			c.add(th.Admit(t0, "t", fmt.Sprint("k", i)))
		}
		if c.events != 10 {
			t.Errorf("events = %d, want the tenant cap 10", c.events)
		}
		if !th.Admit(t0, "other", "k2").Write {
			t.Error("one tenant's flood used another tenant's budget")
		}
		// The next window: one failure hands on what the first window did
		// not write.
		c.add(th.Admit(t0.Add(DefaultThrottleWindow), "t", "late"))
		if c.counted != n+1 {
			t.Errorf("events stand for %d occurrences, want %d", c.counted, n+1)
		}
		if len(th.tenants["t"].keys) > 50 {
			t.Errorf("%d keys remembered, want at most MaxKeys 50", len(th.tenants["t"].keys))
		}
	})
	t.Run("mixed flood over many windows: every occurrence is counted once", func(t *testing.T) {
		th := Throttle{Window: 10 * time.Second, PerTenant: 7, MaxKeys: 20}
		var c tally
		var total int64
		perWindow := map[int64]int{}
		rng := rand.New(rand.NewPCG(1, 2))
		now := t0
		for range 20000 {
			now = now.Add(time.Duration(rng.IntN(20)) * time.Millisecond)
			a := th.Admit(now, "t", fmt.Sprint("k", rng.IntN(60)))
			total++
			c.add(a)
			if a.Write {
				perWindow[now.Sub(t0).Milliseconds()/10000]++
			}
		}
		c.add(th.Admit(now.Add(30*time.Second), "t", "flush"))
		total++
		if c.counted != total {
			t.Errorf("events stand for %d occurrences, want %d", c.counted, total)
		}
		for w, n := range perWindow {
			// Windows start at the first occurrence after the previous one
			// ended, so a fixed 10 s slot overlaps at most two of them.
			if n > 2*7 {
				t.Errorf("slot %d: %d events, want at most twice the cap", w, n)
			}
		}
		if len(th.tenants["t"].keys) > 20 {
			t.Errorf("%d keys remembered, want at most MaxKeys 20", len(th.tenants["t"].keys))
		}
	})
}
