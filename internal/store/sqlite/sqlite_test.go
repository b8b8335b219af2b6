package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/store/sqlstore"
	"github.com/intelliauth/intelliauth/internal/store/storetest"
)

func openPath(t testing.TB, path string) *sqlstore.DB {
	t.Helper()
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func openTemp(t testing.TB) *sqlstore.DB {
	t.Helper()
	db := openPath(t, filepath.Join(t.TempDir(), "intelliauth.db"))
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestConformance(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestConformanceInMemory(t *testing.T) {
	storetest.RunTests(t, func(t *testing.T) store.Store {
		db := openPath(t, ":memory:")
		if err := db.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestMigrations(t *testing.T) {
	storetest.RunMigrationTests(t, func(t *testing.T) storetest.MigrationEnv {
		path := filepath.Join(t.TempDir(), "intelliauth.db")
		db := openPath(t, path)
		raw, err := openPool(path, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = raw.Close() })
		return storetest.MigrationEnv{
			Store:    db,
			Migrator: db,
			Exec: func(ctx context.Context, query string, args ...any) error {
				_, err := raw.ExecContext(ctx, query, args...)
				return err
			},
			Another: func(t *testing.T) storetest.Migrator { return openPath(t, path) },
		}
	})
}

// An applied migration edited afterwards must stop the server, not be
// skipped: the schema would silently differ from what the file says.
func TestMigrationEditedAfterApplyIsRefused(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "intelliauth.db")
	if err := openPath(t, path).Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	d := Dialect()
	orig, err := fs.ReadFile(d.Migrations, "0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	d.Migrations = fstest.MapFS{"0001_init.sql": {Data: append(orig, "\n-- edited\n"...)}}
	w, err := openPool(path, true)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlstore.New(d, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "changed after it was applied") {
		t.Fatalf("Migrate with an edited migration: %v", err)
	}
}

// The durability and concurrency settings Open promises are in force on
// both pools.
func TestOpenSettings(t *testing.T) {
	ctx := t.Context()
	db := openTemp(t)
	path := filepath.Join(t.TempDir(), "settings.db")
	for _, write := range []bool{true, false} {
		if write {
			_ = openPath(t, path) // creates the file in WAL mode
		}
		pool, err := openPool(path, write)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": fmt.Sprint(busyTimeoutMS)} {
			var got string
			if err := pool.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("write=%v: PRAGMA %s = %s, want %s", write, pragma, got, want)
			}
		}
		if !write {
			if _, err := pool.ExecContext(ctx, "CREATE TABLE x (y INTEGER)"); err == nil {
				t.Error("the read pool accepted a write")
			}
		}
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRejectsURIPaths(t *testing.T) {
	for _, p := range []string{"", "x.db?mode=ro", "x.db#frag"} {
		if _, err := Open(t.Context(), p); err == nil {
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

// BenchmarkAuditAppend measures one group commit of 64 events, each with
// three scopes, with synchronous=FULL (one WAL fsync per batch).
// BenchmarkAuditAppend measures one group commit of the audit log: a
// transaction of batch events, synced (synchronous=FULL). Under load at the
// token endpoint batches are small (~10 events), so the fixed cost of a
// transaction matters as much as the cost per event.
func BenchmarkAuditAppend(b *testing.B) {
	for _, batch := range []int{1, 10, 64} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			db := openTemp(b)
			ctx := b.Context()
			details := json.RawMessage(`{"requested":["openid","read:transactions","write:settings"],"granted":["openid","read:transactions"],"dropped":[{"scope":"write:settings","reason":"not on the allowlist"}]}`)
			events := make([]model.AuditEvent, batch)
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				for i := range events {
					n++
					events[i] = model.AuditEvent{ID: fmt.Sprintf("01J%020d", n), TenantID: "bench", Type: model.EventTokenIssued,
						Time: time.Now(), ActorType: model.ActorClient, ActorID: "web", ClientID: "web", Subject: "usr_1",
						Audience: "api.bank.example.com", Scopes: []string{"openid", "read:transactions", "profile"}, Details: details}
				}
				if err := db.Audit().Append(ctx, events); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkIsRevoked is introspection's revocation lookup under 64
// concurrent callers (issue 13's p99 tail): ns/op with p50 and p99 of one
// call. 1,000 revoked jtis in the table; half the lookups hit one.
func BenchmarkIsRevoked(b *testing.B) {
	db := openTemp(b)
	ctx := b.Context()
	if err := db.Tenants().Create(ctx, model.Tenant{ID: "bench", Name: "bench", Issuer: "https://bench.example/t/bench"}); err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		if err := db.Revocations().Revoke(ctx, model.Revocation{TenantID: "bench", JTI: fmt.Sprintf("jti-%d", i*2), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	var mu sync.Mutex
	var lat []time.Duration
	var seq atomic.Int64
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b.SetParallelism(32)
	b.ResetTimer()
	cpu0 := cpu()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			i := seq.Add(1) % 2000
			start := time.Now()
			ok, err := db.Revocations().IsRevoked(ctx, "bench", fmt.Sprintf("jti-%d", i))
			mine = append(mine, time.Since(start))
			if err != nil || ok != (i%2 == 0) {
				b.Errorf("IsRevoked(jti-%d) = %v, %v", i, ok, err)
				return
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	b.ReportMetric(float64((cpu()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	slices.Sort(lat)
	if n := len(lat); n > 0 {
		b.ReportMetric(float64(lat[n/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[min(n-1, n*99/100)].Microseconds()), "p99-µs")
	}
}

// TestAuditAtSize measures the audit log at $INTELLIAUTH_AUDIT_SIZE events
// (storetest.MeasureAudit): bytes on disk per event and query latencies.
//
//	INTELLIAUTH_AUDIT_SIZE=1000000 go test ./internal/store/sqlite -run TestAuditAtSize -v -timeout 60m
func TestAuditAtSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "intelliauth.db")
	db := openPath(t, path)
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	storetest.MeasureAudit(t, db, func() (int64, error) {
		raw, err := openPool(path, true)
		if err != nil {
			return 0, err
		}
		defer raw.Close()
		if _, err := raw.ExecContext(t.Context(), `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			return 0, err
		}
		// The audit tables' pages only (dbstat), so other tables do not count.
		var pages, pageSize int64
		if err := raw.QueryRowContext(t.Context(), `PRAGMA page_size`).Scan(&pageSize); err != nil {
			return 0, err
		}
		if err := raw.QueryRowContext(t.Context(), `SELECT count(*) FROM dbstat WHERE name LIKE 'audit%' OR name LIKE 'sqlite_autoindex_audit%'`).Scan(&pages); err != nil {
			return 0, err
		}
		return pages * pageSize, nil
	})
}
