package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// pendingBoundTests check AuthRequests.CreateBounded: unfinished
// authorization requests are bounded per client and per peer (issue 9,
// defect 10).
var pendingBoundTests = []test{
	{"CreateBounded stores up to the per-client and per-peer caps, counting only unfinished live requests", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		seedClient(t, s, "a")
		seedClient(t, s, "b")
		ars := s.AuthRequests()
		req := func(tenant, id, client, peer string) model.AuthRequest {
			ar := newAuthRequest(tenant, id, client)
			ar.Peer = peer
			return ar
		}
		const perClient, perPeer = 4, 2
		// The peer's cap: two from 192.0.2.1, the third refused.
		must(t, ars.CreateBounded(ctx, req("a", "p1", "web", "ip:192.0.2.1"), perClient, perPeer))
		must(t, ars.CreateBounded(ctx, req("a", "p2", "web", "ip:192.0.2.1"), perClient, perPeer))
		wantErr(t, ars.CreateBounded(ctx, req("a", "p3", "web", "ip:192.0.2.1"), perClient, perPeer), store.ErrLimit)
		if _, err := ars.Get(ctx, "a", "p3"); err == nil {
			t.Fatal("a refused request was stored")
		}
		got, err := ars.Get(ctx, "a", "p1")
		must(t, err)
		equal(t, "peer round-trips", got.Peer, "ip:192.0.2.1")
		// The same peer for another client is charged to the peer too.
		wantErr(t, ars.CreateBounded(ctx, req("a", "p3", "other", "ip:192.0.2.1"), perClient, perPeer), store.ErrLimit)
		// Another tenant has its own counts.
		must(t, ars.CreateBounded(ctx, req("b", "p1", "web", "ip:192.0.2.1"), perClient, perPeer))
		// The client's cap: two more peers fill it.
		must(t, ars.CreateBounded(ctx, req("a", "q1", "web", "ip:192.0.2.2"), perClient, perPeer))
		must(t, ars.CreateBounded(ctx, req("a", "q2", "web", "ip:192.0.2.3"), perClient, perPeer))
		wantErr(t, ars.CreateBounded(ctx, req("a", "q3", "web", "ip:192.0.2.2"), perClient, perPeer), store.ErrLimit)
		must(t, ars.CreateBounded(ctx, req("a", "q3", "other", "ip:192.0.2.4"), perClient, perPeer))

		// A request someone signed in for is finished: it no longer counts.
		p1, err := ars.Get(ctx, "a", "p1")
		must(t, err)
		p1.UserID, p1.SessionID, p1.AuthTime = "usr_1", "ses_1", t0
		must(t, ars.Update(ctx, p1))
		must(t, ars.CreateBounded(ctx, req("a", "p4", "web", "ip:192.0.2.1"), perClient, perPeer))
		wantErr(t, ars.CreateBounded(ctx, req("a", "p5", "web", "ip:192.0.2.3"), perClient, perPeer), store.ErrLimit)
		// A full client still admits an address that holds no unfinished
		// request (a person starting their one sign-in), once.
		must(t, ars.CreateBounded(ctx, req("a", "fresh1", "web", "ip:192.0.2.50"), perClient, perPeer))
		wantErr(t, ars.CreateBounded(ctx, req("a", "fresh2", "web", "ip:192.0.2.50"), perClient, perPeer), store.ErrLimit)
		// Neither does one that has expired.
		late := req("a", "late", "web", "ip:192.0.2.1")
		late.CreatedAt = t0.Add(10 * time.Minute)
		must(t, ars.CreateBounded(ctx, late, perClient, perPeer))
		// A request a signed-in user starts is not unfinished: not bounded.
		signed := req("a", "signed", "web", "ip:192.0.2.9")
		signed.UserID, signed.SessionID, signed.AuthTime = "usr_2", "ses_2", t0
		must(t, ars.CreateBounded(ctx, signed, perClient, perPeer))
		// Caps of 0 and an empty peer do not bound.
		for i := range 3 {
			must(t, ars.CreateBounded(ctx, req("a", fmt.Sprint("free", i), "web", ""), 0, perPeer))
		}
		must(t, ars.CreateBounded(ctx, req("a", "nopeer", "other", ""), perClient, perPeer))
	}},
}
