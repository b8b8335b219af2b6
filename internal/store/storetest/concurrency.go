package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

const racers = 8

var concurrencyTests = []test{
	{"updates from one starting version: exactly one wins", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		must(t, s.Applications().Create(ctx, newApp("a", "x")))
		start, err := s.Applications().Get(ctx, "a", "x")
		must(t, err)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				a := start
				a.Name = fmt.Sprintf("writer %d", i)
				_, errs[i] = s.Applications().Update(ctx, a)
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("writers %d and %d both won", winner, i)
				}
				winner = i
			case !errors.Is(err, store.ErrPrecondition):
				t.Fatalf("writer %d: %v, want ErrPrecondition", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no writer won")
		}
		got, err := s.Applications().Get(ctx, "a", "x")
		must(t, err)
		equal(t, "name", got.Name, fmt.Sprintf("writer %d", winner))
		equal(t, "version", got.Version, int64(2))
	}},
	{"concurrent creates each bump Rev once", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		before := rev(t, s, "a")
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				errs[i] = s.Scopes().Create(ctx, newScope("a", "bank", fmt.Sprintf("s%d", i)))
			})
		}
		wg.Wait()
		must(t, errors.Join(errs...))
		equal(t, "rev", rev(t, s, "a"), before+racers)
	}},
	{"concurrent creates of one name: exactly one wins", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seed(t, s, "a")
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() { errs[i] = s.Applications().Create(ctx, newApp("a", "same")) })
		}
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("writer %d: %v, want ErrConflict", i, err)
			}
		}
		equal(t, "winners", wins, 1)
	}},
	{"concurrent revokes and reads", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				for j := range 20 {
					r := model.Revocation{TenantID: "a", JTI: fmt.Sprintf("j%d", j), ExpiresAt: t0, RevokedAt: t0}
					if err := s.Revocations().Revoke(ctx, r); err != nil {
						errs[i] = err
						return
					}
					if ok, err := s.Revocations().IsRevoked(ctx, "a", r.JTI); err != nil || !ok {
						errs[i] = fmt.Errorf("IsRevoked(%s) = %v, %v after Revoke", r.JTI, ok, err)
						return
					}
				}
			})
		}
		wg.Wait()
		must(t, errors.Join(errs...))
	}},
}

// result is what one racer got.
type result[T any] struct {
	v   T
	err error
}

// race runs fn in racers goroutines released at once and returns what each
// got, by racer.
func race[T any](fn func(i int) (T, error)) []result[T] {
	out := make([]result[T], racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			<-start
			out[i].v, out[i].err = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}

// exactlyOne fails unless exactly one racer got no error and every other
// one got store.ErrReused; it returns the winner.
func exactlyOne[T any](t *testing.T, results []result[T]) int {
	t.Helper()
	winner := -1
	for i, r := range results {
		switch {
		case r.err == nil:
			if winner >= 0 {
				t.Fatalf("racers %d and %d both won", winner, i)
			}
			winner = i
		case !errors.Is(r.err, store.ErrReused):
			t.Fatalf("racer %d: %v, want ErrReused", i, r.err)
		}
	}
	if winner < 0 {
		t.Fatal("no racer won")
	}
	return winner
}
