package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/store/sqlite"
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

// BenchmarkRecordSQLite is the audit append path with a real store: a Log
// over SQLite on disk (WAL, synchronous=FULL: one fsync per group commit),
// 64 goroutines per CPU recording token events shaped like the token
// endpoint's (client credentials, one scope, its details document). It
// reports the process's CPU time per event (getrusage: user + system, all
// goroutines, the writer's included), the figure that survives a noisy
// machine, beside events/s and the mean batch size. Run:
//
//	go test ./internal/audit -run '^$' -bench RecordSQLite -benchtime 20000x -count 5
func BenchmarkRecordSQLite(b *testing.B) {
	db, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "audit.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	var appends atomic.Int64
	repo := countingAudit{Audit: db.Audit(), n: &appends}
	l := New(repo, nil, Options{})
	var seq atomic.Int64
	b.SetParallelism(64)
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			client := fmt.Sprintf("app-%d", n%50)
			ev := model.AuditEvent{TenantID: "bench", Type: model.EventTokenIssued, ActorType: model.ActorClient, ActorID: client,
				ClientID: client, Audience: "https://api.bank.example.com", Scopes: []string{"read:transactions"},
				Details: json.RawMessage(fmt.Sprintf(`{"grant_type":"client_credentials","requested":["read:transactions"],"granted":["read:transactions"],`+
					`"results":[{"scope":"read:transactions","granted":true,"reason":"granted"}],"jti":"q3Z8mN2xK7vB1cD4e%05d","expires_at":"2026-12-03T20:06:06Z","token_size":462}`, n%100000))}
			if err := l.Record(b.Context(), ev); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	if err := l.Close(b.Context()); err != nil {
		b.Fatal(err)
	}
	cpu := time.Duration(after.Utime.Nano()-before.Utime.Nano()) + time.Duration(after.Stime.Nano()-before.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/event")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.N)/float64(appends.Load()), "events/append")
}

// countingAudit counts the Appends (group commits) of a real store.
type countingAudit struct {
	store.Audit
	n *atomic.Int64
}

func (c countingAudit) Append(ctx context.Context, evs []model.AuditEvent) error {
	c.n.Add(1)
	return c.Audit.Append(ctx, evs)
}
