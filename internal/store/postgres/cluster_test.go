package postgres

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store/sqlstore"
)

// A writer whose database stops answering after its commit (Settle's own
// queries fail) has still saved its change, and no node can answer from a
// cache older than it once every lease taken before the commit has
// lapsed: Settle waits that out and succeeds, rather than making the saved
// change look failed. It neither returns before the leases have lapsed,
// nor outlives a caller that gave up.
func TestSettleOutlastsTheLeasesWhenTheDatabaseStopsAnswering(t *testing.T) {
	db := openFresh(t)
	c, ok := db.Cluster().(*Cluster)
	if !ok {
		t.Fatalf("cluster is %T, want *Cluster", db.Cluster())
	}
	c.LeaseFor, c.RenewEvery = 200*time.Millisecond, 50*time.Millisecond
	if err := c.Settle(t.Context()); err != nil {
		t.Fatalf("Settle with the database answering: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	if err := c.Settle(t.Context()); err != nil {
		t.Fatalf("Settle after the database stopped answering = %v, want nil once the leases have lapsed", err)
	}
	if took := time.Since(began); took < c.LeaseFor {
		t.Fatalf("Settle returned after %s, before a lease taken before the commit (%s) could have lapsed", took, c.LeaseFor)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := c.Settle(ctx); err == nil {
		t.Fatal("Settle returned nil for a caller that gave up before the leases lapsed")
	}
}

// docs/operations.md, "Several nodes": a node that stops gives up its lease
// on the way out, so a write made after it stopped does not wait for it to
// lapse; while it follows, the write waits for its acknowledgement.
func TestNodeStoppingGivesUpItsLease(t *testing.T) {
	dsn := freshSchema(t)
	ctx := t.Context()
	open := func() *sqlstore.DB {
		db, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	writer := open()
	if err := writer.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := writer.Tenants().Create(ctx, model.Tenant{ID: "a", Name: "A", Issuer: "http://localhost/t/a"}); err != nil {
		t.Fatal(err)
	}
	node := open()
	feed := node.Cluster().(*Cluster)
	var applied atomic.Int64
	fctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- feed.Follow(fctx, func(string) { applied.Add(1) }, nil) }()
	for deadline := time.Now().Add(10 * time.Second); !feed.Current(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the node did not become Current within 10s")
		}
	}
	change := func() time.Duration {
		t.Helper()
		tn, err := writer.Tenants().Get(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		tn.Name += "!"
		began := time.Now()
		if _, err := writer.Tenants().Update(ctx, tn); err != nil {
			t.Fatal(err)
		}
		return time.Since(began)
	}
	before := applied.Load()
	change()
	if applied.Load() == before {
		t.Fatal("the write returned before the following node applied it")
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Follow returned %v, want context.Canceled", err)
	}
	if feed.Current() {
		t.Fatal("the node is still Current after it stopped following")
	}
	if took := change(); took > DefaultLeaseFor/2 {
		t.Fatalf("a write after the node stopped took %s: it waited for the lease the node should have given up", took)
	}
}
