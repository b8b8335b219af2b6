package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/store"
)

// attemptSlotTests check Throttles.Reserve and Release: the budget held by
// sign-in attempts in flight (issue 9, defect 6).
var attemptSlotTests = []test{
	{"Reserve holds at most max slots with the window's failures; Release frees one; a lock refuses", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		const window, max, lease = time.Minute, 3, time.Minute
		th := s.Throttles()
		reserve := func(slot string, at time.Time) bool {
			t.Helper()
			held, _, err := th.Reserve(ctx, "a", "user:usr_1", slot, at, window, max, lease)
			must(t, err)
			return held
		}
		for _, slot := range []string{"s1", "s2", "s3"} {
			if !reserve(slot, t0) {
				t.Fatalf("slot %s refused below max", slot)
			}
		}
		if reserve("s4", t0) {
			t.Fatal("a 4th slot was held with max 3")
		}
		must(t, th.Release(ctx, "a", "user:usr_1", "s1"))
		must(t, th.Release(ctx, "a", "user:usr_1", "s1")) // not held: no error
		if !reserve("s4", t0) {
			t.Fatal("a released slot was not free again")
		}
		// A failure takes the place of its slot: failures + slots <= max.
		must(t, s.InTx(ctx, func(tx store.Repos) error {
			if _, err := tx.Throttles().Fail(ctx, "a", "user:usr_1", t0, window, max, time.Hour); err != nil {
				return err
			}
			return tx.Throttles().Release(ctx, "a", "user:usr_1", "s2")
		}))
		if reserve("s5", t0) {
			t.Fatal("1 failure + 2 slots held, and a 3rd slot was given")
		}
		must(t, th.Release(ctx, "a", "user:usr_1", "s3"))
		if !reserve("s5", t0) {
			t.Fatal("1 failure + 1 slot: a slot was refused")
		}
		// After the window the failure no longer counts.
		must(t, th.Release(ctx, "a", "user:usr_1", "s5"))
		must(t, th.Release(ctx, "a", "user:usr_1", "s4"))
		later := t0.Add(window + time.Second)
		for _, slot := range []string{"l1", "l2", "l3"} {
			if !reserve(slot, later) {
				t.Fatalf("slot %s refused in a new window", slot)
			}
		}
		// A locked key holds no slot at all.
		_, err := th.Fail(ctx, "a", "ip:192.0.2.9", t0, window, 1, time.Hour)
		must(t, err)
		held, state, err := th.Reserve(ctx, "a", "ip:192.0.2.9", "x", t0.Add(time.Second), window, 0, lease)
		must(t, err)
		if held || state.LockedUntil.IsZero() {
			t.Fatalf("locked key: held %v, state %+v", held, state)
		}
		// Other tenants' keys are independent; an unknown tenant is ErrNotFound.
		seed(t, s, "b")
		held, _, err = s.Throttles().Reserve(ctx, "b", "user:usr_1", "s1", t0, window, max, lease)
		must(t, err)
		if !held {
			t.Fatal("another tenant's key was charged")
		}
		_, _, err = s.Throttles().Reserve(ctx, "nope", "user:usr_1", "s1", t0, window, max, lease)
		wantErr(t, err, store.ErrNotFound)
	}},
	{"a slot whose lease ran out is free again, and pruned", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		th := s.Throttles()
		held, _, err := th.Reserve(ctx, "a", "ip:198.51.100.1", "dead", t0, time.Minute, 1, time.Second)
		must(t, err)
		if !held {
			t.Fatal("first slot refused")
		}
		held, _, err = th.Reserve(ctx, "a", "ip:198.51.100.1", "next", t0.Add(500*time.Millisecond), time.Minute, 1, time.Second)
		must(t, err)
		if held {
			t.Fatal("a second slot within the lease")
		}
		held, _, err = th.Reserve(ctx, "a", "ip:198.51.100.1", "next", t0.Add(time.Second), time.Minute, 1, time.Second)
		must(t, err)
		if !held {
			t.Fatal("the slot of an attempt that never ended stayed held after its lease")
		}
		_, _, err = th.Reserve(ctx, "a", "ip:198.51.100.2", "gone", t0, time.Minute, 1, time.Second)
		must(t, err)
		n, err := th.Prune(ctx, t0.Add(-time.Hour), t0.Add(2*time.Second))
		must(t, err)
		equal(t, "pruned slots", n, 2)
	}},
	{"concurrent reservations of one key hold at most max slots", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		const max = 3
		results := race(func(i int) (bool, error) {
			held, _, err := s.Throttles().Reserve(ctx, "a", "user:usr_1", fmt.Sprint("slot", i), t0, time.Minute, max, time.Minute)
			return held, err
		})
		n := 0
		for _, r := range results {
			must(t, r.err)
			if r.v {
				n++
			}
		}
		equal(t, "slots held", n, max)
	}},
}
