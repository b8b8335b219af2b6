package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// fakeAudit is an in-memory store.Audit for the batching mechanics only;
// the real backends are exercised by the integration tests.
type fakeAudit struct {
	// hook, when set, runs first in Append with the call's index; an error
	// fails the call and stores nothing.
	hook func(ctx context.Context, call int, events []model.AuditEvent) error

	mu     sync.Mutex
	calls  []int // events per Append call, failed calls included
	stored []model.AuditEvent
}

var _ store.Audit = (*fakeAudit)(nil)

func (f *fakeAudit) Append(ctx context.Context, events []model.AuditEvent) error {
	f.mu.Lock()
	call := len(f.calls)
	f.calls = append(f.calls, len(events))
	f.mu.Unlock()
	if f.hook != nil {
		if err := f.hook(ctx, call, events); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// Copy: the Log reuses the slice after Append returns.
	f.stored = append(f.stored, events...)
	return nil
}

func (f *fakeAudit) Search(context.Context, store.AuditQuery) ([]model.AuditEvent, error) {
	return nil, errors.New("fakeAudit: Search is not implemented")
}

func (f *fakeAudit) ScopeUsage(context.Context, string, time.Time) ([]store.ScopeUsage, error) {
	return nil, errors.New("fakeAudit: ScopeUsage is not implemented")
}

func (f *fakeAudit) CountGrants(context.Context, string, string, time.Time) (int, error) {
	return 0, errors.New("fakeAudit: CountGrants is not implemented")
}

func (f *fakeAudit) ScopeUsageByDay(context.Context, string, time.Time) ([]store.DailyScopeUsage, error) {
	return nil, errors.New("fakeAudit: ScopeUsageByDay is not implemented")
}

func (f *fakeAudit) Retention(context.Context, string) (store.AuditRetention, error) {
	return store.AuditRetention{}, errors.New("fakeAudit: Retention is not implemented")
}

func (f *fakeAudit) SetRetention(context.Context, string, store.AuditRetention) error {
	return errors.New("fakeAudit: SetRetention is not implemented")
}

func (f *fakeAudit) Prune(context.Context, store.AuditPrune) (int, error) {
	return 0, errors.New("fakeAudit: Prune is not implemented")
}

func (f *fakeAudit) callSizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeAudit) storedSubjects() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.stored {
		out = append(out, e.Subject)
	}
	slices.Sort(out)
	return out
}

func event(subject string) model.AuditEvent {
	return model.AuditEvent{
		TenantID:  "banking",
		Type:      model.EventTokenIssued,
		ActorType: model.ActorClient,
		ActorID:   "m2m",
		Subject:   subject,
		Details:   json.RawMessage(`{"granted":["accounts:read"]}`),
	}
}

// gateFirst blocks the first Append until the returned channel is closed,
// so that the test can queue events behind it.
func gateFirst() (chan struct{}, func(context.Context, int, []model.AuditEvent) error) {
	gate := make(chan struct{})
	return gate, func(_ context.Context, call int, _ []model.AuditEvent) error {
		if call == 0 {
			<-gate
		}
		return nil
	}
}

// recordAsync runs Record in a goroutine and delivers its result.
func recordAsync(ctx context.Context, l *Log, ev model.AuditEvent) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- l.Record(ctx, ev) }()
	return ch
}

func TestGroupCommit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		gate, hook := gateFirst()
		repo := &fakeAudit{hook: hook}
		l := New(repo, nil, Options{MaxBatch: 10})

		first := recordAsync(ctx, l, event("s00"))
		synctest.Wait() // the writer is inside Append with one event
		const n = 45
		var results []<-chan error
		for i := 1; i < n; i++ {
			results = append(results, recordAsync(ctx, l, event(fmt.Sprintf("s%02d", i))))
		}
		synctest.Wait() // all 44 are queued behind it
		close(gate)

		if err := <-first; err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			if err := <-r; err != nil {
				t.Fatal(err)
			}
		}
		// 1, then the 44 queued events in batches of at most MaxBatch.
		if got, want := repo.callSizes(), []int{1, 10, 10, 10, 10, 4}; !slices.Equal(got, want) {
			t.Errorf("Append sizes = %v, want %v", got, want)
		}
		var want []string
		for i := range n {
			want = append(want, fmt.Sprintf("s%02d", i))
		}
		if got := repo.storedSubjects(); !slices.Equal(got, want) {
			t.Errorf("stored %v, want each event exactly once: %v", got, want)
		}
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestGroupCommitUnderLoad is the same property with real scheduling and
// -race: many concurrent Records share few Appends, and nothing is lost or
// doubled.
func TestGroupCommitUnderLoad(t *testing.T) {
	repo := &fakeAudit{hook: func(context.Context, int, []model.AuditEvent) error {
		time.Sleep(time.Millisecond) // a commit's fsync
		return nil
	}}
	l := New(repo, nil, Options{})
	const workers, each = 50, 20
	var wg sync.WaitGroup
	var failures atomic.Int32
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := l.Record(t.Context(), event(fmt.Sprintf("w%02d-%02d", w, i))); err != nil {
					failures.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if failures.Load() != 0 {
		t.Fatalf("%d Records failed", failures.Load())
	}
	got := repo.storedSubjects()
	if len(got) != workers*each || len(slices.Compact(slices.Clone(got))) != workers*each {
		t.Fatalf("stored %d events (%d distinct), want %d exactly once", len(got), len(slices.Compact(got)), workers*each)
	}
	calls := repo.callSizes()
	if len(calls) >= workers*each/2 {
		t.Errorf("%d Appends for %d events: no group commit", len(calls), workers*each)
	}
	t.Logf("%d events in %d Appends", workers*each, len(calls))
}

func TestRecordReturnsOnlyAfterAppendReturned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var returned atomic.Bool
		gate := make(chan struct{})
		repo := &fakeAudit{hook: func(context.Context, int, []model.AuditEvent) error {
			<-gate
			returned.Store(true) // the last thing Append does
			return nil
		}}
		l := New(repo, nil, Options{})
		done := make(chan bool, 1)
		go func() {
			err := l.Record(t.Context(), event("s"))
			done <- err == nil && returned.Load()
		}()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("Record returned while Append was still running")
		default:
		}
		close(gate)
		if !<-done {
			t.Fatal("Record returned before Append returned, or failed")
		}
		if err := l.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAppendErrorFailsItsBatchOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		gate := make(chan struct{})
		errDisk := errors.New("disk full")
		repo := &fakeAudit{hook: func(_ context.Context, call int, _ []model.AuditEvent) error {
			switch call {
			case 0:
				<-gate
			case 1:
				return errDisk
			}
			return nil
		}}
		l := New(repo, nil, Options{})

		a := recordAsync(ctx, l, event("a"))
		synctest.Wait()
		var failing []<-chan error
		for i := range 5 {
			failing = append(failing, recordAsync(ctx, l, event(fmt.Sprintf("b%d", i))))
		}
		synctest.Wait()
		close(gate)

		if err := <-a; err != nil {
			t.Errorf("batch before the failure: %v", err)
		}
		for _, r := range failing {
			if err := <-r; !errors.Is(err, errDisk) {
				t.Errorf("waiter of the failed batch got %v, want %v", err, errDisk)
			}
		}
		if err := l.Record(ctx, event("c")); err != nil {
			t.Errorf("batch after the failure: %v", err)
		}
		if got := repo.storedSubjects(); !slices.Equal(got, []string{"a", "c"}) {
			t.Errorf("stored %v, want [a c]", got)
		}
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCloseFlushesAndIsIdempotent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		gate, hook := gateFirst()
		repo := &fakeAudit{hook: hook}
		l := New(repo, nil, Options{MaxBatch: 8})

		var results []<-chan error
		results = append(results, recordAsync(ctx, l, event("s00")))
		synctest.Wait()
		for i := 1; i < 20; i++ {
			results = append(results, recordAsync(ctx, l, event(fmt.Sprintf("s%02d", i))))
		}
		synctest.Wait()

		closed := make(chan error, 1)
		go func() { closed <- l.Close(ctx) }()
		synctest.Wait()
		select {
		case err := <-closed:
			t.Fatalf("Close returned (%v) before the queued events were written", err)
		default:
		}
		if err := l.Record(ctx, event("late")); !errors.Is(err, ErrClosed) {
			t.Errorf("Record after Close = %v, want ErrClosed", err)
		}

		close(gate)
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		for _, r := range results {
			if err := <-r; err != nil {
				t.Errorf("queued Record: %v", err)
			}
		}
		if n := len(repo.storedSubjects()); n != 20 {
			t.Errorf("stored %d events, want 20", n)
		}
		if err := l.Close(ctx); err != nil {
			t.Errorf("second Close = %v", err)
		}
		if err := l.Record(ctx, event("later")); !errors.Is(err, ErrClosed) {
			t.Errorf("Record after the writer exited = %v, want ErrClosed", err)
		}
		<-l.exited // the writer goroutine is gone
	})
}

func TestCloseGivesUpWithItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A database that hangs until the context is canceled.
		repo := &fakeAudit{hook: func(ctx context.Context, call int, _ []model.AuditEvent) error {
			<-ctx.Done()
			return ctx.Err()
		}}
		l := New(repo, nil, Options{})
		a := recordAsync(t.Context(), l, event("a"))
		synctest.Wait()
		b := recordAsync(t.Context(), l, event("b"))
		synctest.Wait()

		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if err := l.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close = %v, want DeadlineExceeded", err)
		}
		for name, r := range map[string]<-chan error{"in Append": a, "queued": b} {
			if err := <-r; err == nil {
				t.Errorf("%s: Record = nil after Close gave up; nothing was written", name)
			}
		}
		<-l.exited
		if got := repo.storedSubjects(); len(got) != 0 {
			t.Errorf("stored %v", got)
		}
	})
}

func TestRecordContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate, hook := gateFirst()
		repo := &fakeAudit{hook: hook}
		l := New(repo, nil, Options{})

		ctx, cancel := context.WithCancel(t.Context())
		r := recordAsync(ctx, l, event("canceled-while-waiting"))
		synctest.Wait()
		cancel()
		if err := <-r; !errors.Is(err, context.Canceled) {
			t.Fatalf("Record = %v, want context.Canceled", err)
		}

		// Already canceled: refused before queueing, never written.
		if err := l.Record(ctx, event("canceled-before")); !errors.Is(err, context.Canceled) {
			t.Fatalf("Record = %v, want context.Canceled", err)
		}

		close(gate)
		if err := l.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		// As documented, an event queued before its ctx ended is still
		// written: its outcome was unknown to the caller, not undone.
		if got := repo.storedSubjects(); !slices.Equal(got, []string{"canceled-while-waiting"}) {
			t.Errorf("stored %v", got)
		}
	})
}

func TestQueueSizeBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate, hook := gateFirst()
		repo := &fakeAudit{hook: hook}
		l := New(repo, nil, Options{MaxBatch: 4, QueueSize: 2})
		a := recordAsync(t.Context(), l, event("a"))
		synctest.Wait()
		b := recordAsync(t.Context(), l, event("b"))
		synctest.Wait()

		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := l.Record(ctx, event("c")); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Record beyond QueueSize = %v, want it to wait until its deadline", err)
		}
		close(gate)
		for _, r := range []<-chan error{a, b} {
			if err := <-r; err != nil {
				t.Fatal(err)
			}
		}
		// Room again once the batch committed.
		if err := l.Record(t.Context(), event("d")); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := repo.storedSubjects(); !slices.Equal(got, []string{"a", "b", "d"}) {
			t.Errorf("stored %v", got)
		}
	})
}

func TestRecordFillsIDAndTime(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	repo := &fakeAudit{}
	l := New(repo, nil, Options{Now: func() time.Time { return now }})
	defer l.Close(t.Context())

	for range 3 {
		if err := l.Record(t.Context(), event("filled")); err != nil {
			t.Fatal(err)
		}
	}
	given := event("given")
	given.ID = "01J000000000000000000GIVEN"
	given.Time = now.Add(-time.Hour)
	if err := l.Record(t.Context(), given); err != nil {
		t.Fatal(err)
	}

	repo.mu.Lock()
	stored := slices.Clone(repo.stored)
	repo.mu.Unlock()
	for i, e := range stored[:3] {
		if !e.Time.Equal(now) || e.Time.Location() != time.UTC {
			t.Errorf("event %d: Time = %v, want %v in UTC", i, e.Time, now)
		}
		if len(e.ID) != IDLen {
			t.Errorf("event %d: ID %q", i, e.ID)
		}
		if i > 0 && e.ID <= stored[i-1].ID {
			t.Errorf("IDs in one millisecond do not increase: %s then %s", stored[i-1].ID, e.ID)
		}
	}
	if g := stored[3]; g.ID != given.ID || !g.Time.Equal(given.Time) {
		t.Errorf("given ID/Time overwritten: %+v", g)
	}
}

func TestRecordRefusesInvalidEvents(t *testing.T) {
	repo := &fakeAudit{}
	l := New(repo, nil, Options{})
	defer l.Close(t.Context())
	cases := []struct {
		name string
		edit func(*model.AuditEvent)
	}{
		{"no tenant", func(e *model.AuditEvent) { e.TenantID = "" }},
		{"no type", func(e *model.AuditEvent) { e.Type = "" }},
		{"details not JSON", func(e *model.AuditEvent) { e.Details = json.RawMessage(`{"granted":`) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := event("bad")
			c.edit(&ev)
			if err := l.Record(t.Context(), ev); !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("Record = %v, want model.ErrInvalid", err)
			}
		})
	}
	if len(repo.callSizes()) != 0 {
		t.Error("an invalid event reached Append")
	}
	ev := event("no details")
	ev.Details = nil
	if err := l.Record(t.Context(), ev); err != nil {
		t.Errorf("event without details: %v", err)
	}
}

func TestNewDefaults(t *testing.T) {
	l := New(&fakeAudit{}, nil, Options{})
	defer l.Close(t.Context())
	if l.maxBatch != DefaultMaxBatch || cap(l.slots) != DefaultQueueSize || l.now == nil || l.logger == nil {
		t.Errorf("defaults: maxBatch %d, queue %d", l.maxBatch, cap(l.slots))
	}
}

// TestStampSharesRecordsSequence: an event stamped for the caller's own
// transaction (a grant committed with its token_issued) gets its ID from the
// sequence Record uses, so the two kinds of writes sort together in the
// order they were made, whatever the millisecond's random start.
func TestStampSharesRecordsSequence(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	repo := &fakeAudit{}
	l := New(repo, nil, Options{Now: func() time.Time { return now }})
	defer l.Close(t.Context())

	var ids []string
	for i := range 6 {
		ev := event("e")
		if i%2 == 0 {
			if err := l.Stamp(&ev); err != nil {
				t.Fatal(err)
			}
			if !ev.Time.Equal(now) || ev.Time.Location() != time.UTC {
				t.Errorf("stamped Time = %v, want %v in UTC", ev.Time, now)
			}
		} else if err := l.Record(t.Context(), ev); err != nil {
			t.Fatal(err)
		} else {
			repo.mu.Lock()
			ev = repo.stored[len(repo.stored)-1]
			repo.mu.Unlock()
		}
		ids = append(ids, ev.ID)
	}
	if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Errorf("IDs of Stamp and Record in one millisecond do not strictly increase: %v", ids)
	}
	if len(repo.callSizes()) != 3 {
		t.Errorf("Stamp wrote: %d Appends, want the 3 of Record", len(repo.callSizes()))
	}
	bad := event("bad")
	bad.TenantID = ""
	if err := l.Stamp(&bad); !errors.Is(err, model.ErrInvalid) {
		t.Errorf("Stamp of an event without tenant = %v, want model.ErrInvalid", err)
	}
}
