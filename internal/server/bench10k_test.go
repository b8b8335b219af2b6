package server_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
)

// BenchmarkTenThousandApplications (issue 12) is one node serving a tenant
// of 10,000 confidential applications: the latency of an admin write
// (command, commit and settling), of the first token after it (the
// node reloads the tenant), of a token in the steady state, and the memory
// the tenant's snapshot takes. Run it once:
//
//	go test -run '^$' -bench TenThousand -benchtime 1x ./internal/server/
//
// with INTELLIAUTH_TEST_POSTGRES set for PostgreSQL.
func BenchmarkTenThousandApplications(b *testing.B) {
	const apps, rounds = 10000, 20
	env := servertest.Start(b)
	seed := env.Seed(b, "banking")
	ctx := context.Background()
	proto, err := env.Store.Applications().Get(ctx, "banking", seed.Legacy.ID)
	if err != nil {
		b.Fatal(err)
	}
	// Batches of 500 per transaction: one commit (and one settle) each.
	for start := 0; start < apps; start += 500 {
		err := env.Store.InTx(ctx, func(r store.Repos) error {
			for i := start; i < start+500; i++ {
				a := proto
				a.ClientID, a.Name = fmt.Sprintf("app-%05d", i), fmt.Sprintf("App %d", i)
				if err := r.Applications().Create(ctx, a); err != nil {
					return err
				}
				h := make([]byte, 32)
				_, _ = rand.Read(h)
				if err := r.Applications().AddSecret(ctx, model.ClientSecret{TenantID: "banking", ClientID: a.ClientID,
					ID: "sec-" + a.ClientID, Hash: h, CreatedAt: time.Now()}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	iss := env.Issuer("banking")
	token := func() time.Duration {
		t0 := time.Now()
		g := ccGrant(ctx, iss, seed.Reporting, "read:transactions")
		if g.err != nil || g.status != 200 {
			b.Fatalf("token: %d %v", g.status, g.err)
		}
		return time.Since(t0)
	}
	env.Server.Catalog().InvalidateAll()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	coldLoad := token()
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)

	b.ResetTimer()
	var writes, firsts, steady []time.Duration
	for i := range rounds {
		t0 := time.Now()
		scopes := []string{"read:transactions"}
		if i%2 == 0 {
			_, err = env.Admin.RemoveAllowedScopes(ctx, admin.CLI(), "banking", "app-00042", scopes, 0)
		} else {
			_, err = env.Admin.AddAllowedScopes(ctx, admin.CLI(), "banking", "app-00042", scopes, 0)
		}
		if err != nil {
			b.Fatal(err)
		}
		writes = append(writes, time.Since(t0))
		// The write's own node drops the tenant when the change reaches
		// it; the first token then reloads it.
		env.Server.Catalog().Invalidate("banking")
		firsts = append(firsts, token())
		steady = append(steady, token())
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(median(writes)), "write-p50-ms")
	b.ReportMetric(ms(median(firsts)), "first-token-p50-ms")
	b.ReportMetric(ms(median(steady)), "steady-token-p50-ms")
	b.ReportMetric(ms(coldLoad), "cold-load-ms")
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/apps, "heap-B/app")
	b.ReportMetric(float64(rssKiB())/1024, "rss-MiB")
}

// rssKiB is the process's resident set (Linux /proc; 0 elsewhere).
func rssKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
