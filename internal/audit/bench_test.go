package audit

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
)

// BenchmarkRecord shows group commit: every Append costs ~200µs, like a
// transaction's fsync, and many requests record at once (b.SetParallelism:
// 64 goroutines per CPU, as concurrent token requests would be). With
// MaxBatch=1 each event pays the whole commit; with the default, the commit
// is shared by everything that queued meanwhile. Run:
//
//	go test ./internal/audit -run '^$' -bench Record -cpu 1,2 -benchmem
func BenchmarkRecord(b *testing.B) {
	for _, bc := range []struct {
		name     string
		maxBatch int
		commit   time.Duration
	}{
		{"one-event-per-commit", 1, 200 * time.Microsecond},
		{"group-commit", DefaultMaxBatch, 200 * time.Microsecond},
		// The Log's own cost per event, with a commit that costs nothing.
		{"group-commit-free-append", DefaultMaxBatch, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var appends, busy atomic.Int64
			repo := &fakeAudit{hook: func(context.Context, int, []model.AuditEvent) error {
				t0 := time.Now()
				if bc.commit > 0 {
					time.Sleep(bc.commit)
				}
				appends.Add(1)
				busy.Add(int64(time.Since(t0)))
				return nil
			}}
			// Count calls only: don't let the fake's own bookkeeping grow.
			repo.hook = wrapDiscard(repo, repo.hook)
			l := New(repo, nil, Options{MaxBatch: bc.maxBatch})
			ev := event("bench")
			b.SetParallelism(64)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := l.Record(b.Context(), ev); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			if err := l.Close(b.Context()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/float64(appends.Load()), "events/append")
			// The sleep's real length: timer resolution stretches it on
			// some machines, which changes the absolute figures only.
			b.ReportMetric(float64(busy.Load())/float64(appends.Load())/1e3, "µs/append")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// wrapDiscard makes the fake forget what it stored after each call, so a
// long benchmark measures the Log, not the fake's growing slices.
func wrapDiscard(f *fakeAudit, next func(context.Context, int, []model.AuditEvent) error) func(context.Context, int, []model.AuditEvent) error {
	return func(ctx context.Context, call int, evs []model.AuditEvent) error {
		err := next(ctx, call, evs)
		f.mu.Lock()
		f.stored = f.stored[:0]
		f.calls = f.calls[:0]
		f.mu.Unlock()
		return err
	}
}
