package postgres

import (
	"context"
	"testing"
	"time"
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
