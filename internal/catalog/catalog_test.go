package catalog_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/server/servertest"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
)

func TestCatalog(t *testing.T) {
	env := servertest.Start(t)
	b := env.Seed(t, "banking")
	ctx := t.Context()
	c := catalog.New(env.Store, env.Sealer, slog.New(slog.DiscardHandler))

	s1, err := c.Tenant(ctx, "banking")
	if err != nil {
		t.Fatal(err)
	}
	if app, ok := s1.App(b.Reporting.ID); !ok || len(app.Secrets) != 1 {
		t.Fatalf("snapshot lacks reporting-job with its secret: %+v", app)
	}
	if _, ok := s1.Registry.API("api.banking.example.com"); !ok {
		t.Fatal("snapshot lacks the banking API")
	}
	t.Run("web origins of the tenant's applications", func(t *testing.T) {
		if _, err := env.Admin.UpdateApplication(ctx, admin.CLI(), "banking", "legacy-batch", admin.ApplicationUpdate{
			AllowedOrigins: &[]string{"https://App.Example.com"},
		}); err != nil {
			t.Fatal(err)
		}
		s, err := c.Recheck(ctx, "banking")
		if err != nil {
			t.Fatal(err)
		}
		if !s.AllowsOrigin("https://app.example.com") || !s.AllowsOrigin("HTTPS://APP.EXAMPLE.COM") {
			t.Error("an application's allowed origin is not allowed (origins compare case-insensitively)")
		}
		if s.AllowsOrigin("https://evil.example.com") || s.AllowsOrigin("") {
			t.Error("an origin of no application is allowed")
		}
		s1 = s
	})

	t.Run("unknown tenant is ErrNotFound", func(t *testing.T) {
		if _, err := c.Tenant(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("cached until the revision moves", func(t *testing.T) {
		s, err := c.Tenant(ctx, "banking")
		if err != nil || s != s1 {
			t.Fatalf("second lookup reloaded: %v", err)
		}
		f, err := c.Recheck(ctx, "banking")
		if err != nil || f != s1 {
			t.Fatalf("Recheck reloaded an unchanged tenant: %v", err)
		}
	})
	t.Run("a catalog not following the changes sees one made behind its back at once", func(t *testing.T) {
		if _, err := env.Admin.AddAllowedScopes(ctx, admin.CLI(), "banking", "legacy-batch", []string{"write:settings"}, 0); err != nil {
			t.Fatal(err)
		}
		// c does not Follow: its cache is trusted only after a revision
		// check (issue 12: no stale answer once a write has returned).
		s, err := c.Tenant(ctx, "banking")
		if err != nil || s == s1 || s.Rev <= s1.Rev {
			t.Fatalf("the lookup served the stale cache: %v", err)
		}
		app, _ := s.App("legacy-batch")
		if len(app.AllowedScopes) != 2 {
			t.Errorf("allowlist = %v", app.AllowedScopes)
		}
		f, err := c.Recheck(ctx, "banking")
		if err != nil || f != s {
			t.Fatalf("Recheck reloaded an unchanged tenant: %v", err)
		}
		s1 = s
	})
	t.Run("MFA settings reach the snapshot (issue 11)", func(t *testing.T) {
		before, _ := c.Tenant(ctx, "banking")
		if before.Tenant.MFAPolicy.Effective() != model.MFAOptional {
			t.Fatalf("seeded policy = %q, want optional", before.Tenant.MFAPolicy)
		}
		if _, err := env.Admin.SetMFAPolicy(ctx, admin.CLI(), "banking", admin.MFAPolicyInput{Policy: model.MFARequired, Grace: 72 * time.Hour}); err != nil {
			t.Fatal(err)
		}
		on, req := true, model.AppMFARequired
		if _, err := env.Admin.UpdateScope(ctx, admin.CLI(), "banking", "payments:approve", admin.ScopeUpdate{RequiresMFA: &on}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Admin.UpdateApplication(ctx, admin.CLI(), "banking", "legacy-batch", admin.ApplicationUpdate{MFA: &req}); err != nil {
			t.Fatal(err)
		}
		// Another node's catalog: it sees the change through the revision.
		s, err := c.Recheck(ctx, "banking")
		if err != nil || s == before {
			t.Fatalf("Recheck did not reload after the MFA changes: %v", err)
		}
		if s.Tenant.MFAPolicy != model.MFARequired || s.Tenant.MFAGraceUntil.IsZero() {
			t.Errorf("snapshot tenant policy %q grace %s, want required with a grace period", s.Tenant.MFAPolicy, s.Tenant.MFAGraceUntil)
		}
		if sc, ok := s.Registry.Scope("payments:approve"); !ok || !sc.RequiresMFA {
			t.Errorf("snapshot scope payments:approve = %+v, want requires_mfa", sc)
		}
		if app, ok := s.App("legacy-batch"); !ok || app.MFA != model.AppMFARequired {
			t.Errorf("snapshot app legacy-batch mfa = %q, want required", app.MFA)
		}
		s1 = s
	})
	t.Run("Refresh drops snapshots whose revision moved", func(t *testing.T) {
		before, _ := c.Tenant(ctx, "banking")
		if err := c.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if s, _ := c.Tenant(ctx, "banking"); s != before {
			t.Fatal("Refresh dropped an up-to-date snapshot")
		}
		if _, err := env.Admin.RotateKeys(ctx, admin.CLI(), "banking"); err != nil {
			t.Fatal(err)
		}
		if err := c.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		after, err := c.Tenant(ctx, "banking")
		if err != nil || after == before {
			t.Fatalf("stale snapshot kept after Refresh: %v", err)
		}
	})
	t.Run("concurrent first lookups agree and share one load", func(t *testing.T) {
		p := newProbe(env.Store)
		c2 := catalog.New(p, env.Sealer, slog.New(slog.DiscardHandler))
		// Hold the first load long enough for every lookup to arrive while
		// it is in flight: without single flight each would load on its own.
		release := p.hold()
		go func() { <-p.entered; time.Sleep(300 * time.Millisecond); release() }()
		start := make(chan struct{})
		var wg sync.WaitGroup
		snaps := make([]*catalog.Snapshot, 16)
		for i := range snaps {
			wg.Go(func() {
				<-start
				s, err := c2.Tenant(ctx, "banking")
				if err != nil {
					t.Error(err)
				}
				snaps[i] = s
			})
		}
		close(start)
		wg.Wait()
		for _, s := range snaps {
			if s == nil || s != snaps[0] {
				t.Fatal("concurrent first lookups got different snapshots")
			}
		}
		if n := p.loads.Load(); n != 1 {
			t.Errorf("%d concurrent first lookups loaded the tenant %d times, want 1 (single flight)", len(snaps), n)
		}
	})
	t.Run("custom domain routes to its tenant", func(t *testing.T) {
		if _, err := c.TenantByDomain(ctx, "login.example.com"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown domain: %v", err)
		}
		_, err := env.Admin.CreateTenant(ctx, admin.CLI(), admin.TenantInput{ID: "custom", Name: "Custom", Issuer: "https://login.example.com", Domain: "login.example.com"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.TenantByDomain(ctx, "login.example.com")
		if err != nil || s.Tenant.ID != "custom" {
			t.Fatalf("domain lookup: %v", err)
		}
	})
}

// probe is the real store with the catalog's reads counted: revReads counts
// tenant reads (each Recheck's revision check, and each load), loads counts
// tenant loads (their key listing). hold makes the next load wait, after it
// read the applications, until released.
type probe struct {
	store.Store
	revReads atomic.Int64
	loads    atomic.Int64
	gate     atomic.Pointer[chan struct{}]
	entered  chan struct{}
}

func newProbe(st store.Store) *probe {
	return &probe{Store: st, entered: make(chan struct{}, 16)}
}

// hold makes the next load block in its key listing until release is called;
// p.entered receives when it has blocked.
func (p *probe) hold() (release func()) {
	ch := make(chan struct{})
	p.gate.Store(&ch)
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

func (p *probe) Tenants() store.Tenants { return probeTenants{p.Store.Tenants(), p} }
func (p *probe) Keys() store.Keys       { return probeKeys{p.Store.Keys(), p} }

type probeTenants struct {
	store.Tenants
	p *probe
}

func (t probeTenants) Get(ctx context.Context, id string) (model.Tenant, error) {
	t.p.revReads.Add(1)
	return t.Tenants.Get(ctx, id)
}

type probeKeys struct {
	store.Keys
	p *probe
}

func (k probeKeys) List(ctx context.Context, tenantID string) ([]model.SigningKey, error) {
	k.p.loads.Add(1)
	if g := k.p.gate.Swap(nil); g != nil {
		k.p.entered <- struct{}{}
		<-*g
	}
	return k.Keys.List(ctx, tenantID)
}

func allowed(s *catalog.Snapshot, clientID, scope string) bool {
	app, ok := s.App(clientID)
	return ok && slices.Contains(app.AllowedScopes, scope)
}

// The seam "every failed client authentication reads the database": a flood
// of rechecks within the interval is one or two revision reads, not one per
// caller.
func TestRecheckFloodReadsTheDatabaseAtMostTwice(t *testing.T) {
	env := servertest.Start(t)
	env.Seed(t, "banking")
	ctx := t.Context()
	p := newProbe(env.Store)
	c := catalog.New(p, env.Sealer, slog.New(slog.DiscardHandler))
	c.RecheckInterval = 500 * time.Millisecond
	have, err := c.Tenant(ctx, "banking")
	if err != nil {
		t.Fatal(err)
	}
	p.revReads.Store(0)

	const n = 500
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			s, err := c.Recheck(ctx, "banking")
			if err != nil || s != have {
				t.Errorf("Recheck of an unchanged tenant = %p, %v; want the cached snapshot", s, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := p.revReads.Load(); got < 1 || got > 2 {
		t.Errorf("%d concurrent rechecks read the tenant revision %d times, want 1 or 2", n, got)
	}
	if got := p.loads.Load(); got != 1 {
		t.Errorf("an unchanged tenant was loaded %d times, want once", got)
	}
}

// The rate limit must not cost the promise of package catalog: a change
// committed before Recheck is called is in what it returns, even when
// another check ran a moment before.
func TestRecheckSeesAWriteMadeJustAfterAnotherCheck(t *testing.T) {
	env := servertest.Start(t)
	env.Seed(t, "banking")
	ctx := t.Context()
	c := catalog.New(env.Store, env.Sealer, slog.New(slog.DiscardHandler))
	c.RecheckInterval = 300 * time.Millisecond
	if _, err := c.Tenant(ctx, "banking"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Recheck(ctx, "banking"); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Admin.AddAllowedScopes(ctx, admin.CLI(), "banking", "legacy-batch", []string{"payments:approve"}, 0); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	s, err := c.Recheck(ctx, "banking")
	if err != nil {
		t.Fatal(err)
	}
	if !allowed(s, "legacy-batch", "payments:approve") {
		t.Error("Recheck within the interval returned a snapshot older than a committed write")
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("Recheck waited %v, want about one interval", d)
	}
}

// The seam "Invalidate must not be undone by a reload already in flight":
// a load that read the tenant before a write must neither be installed
// after the write's Invalidate nor be joined by lookups that come after it.
func TestInvalidateIsNotUndoneByALoadInFlight(t *testing.T) {
	env := servertest.Start(t)
	env.Seed(t, "banking")
	ctx := t.Context()
	p := newProbe(env.Store)
	c := catalog.New(p, env.Sealer, slog.New(slog.DiscardHandler))

	// stale starts a load, holds it after it read the applications, and
	// commits a change to legacy-batch's allowlist meanwhile, invalidating
	// the catalog as the API router does after a write.
	stale := func(t *testing.T, scope string) (release func(), done chan *catalog.Snapshot) {
		release = p.hold()
		t.Cleanup(release)
		done = make(chan *catalog.Snapshot, 1)
		go func() {
			s, err := c.Tenant(ctx, "banking")
			if err != nil {
				t.Error(err)
			}
			done <- s
		}()
		<-p.entered
		if _, err := env.Admin.AddAllowedScopes(ctx, admin.CLI(), "banking", "legacy-batch", []string{scope}, 0); err != nil {
			t.Fatal(err)
		}
		c.Invalidate("banking")
		return release, done
	}

	t.Run("the load in flight is not installed", func(t *testing.T) {
		release, done := stale(t, "write:settings")
		release()
		if s := <-done; s == nil || allowed(s, "legacy-batch", "write:settings") {
			t.Fatal("the held load was meant to miss the change (test set-up)")
		}
		s, err := c.Tenant(ctx, "banking")
		if err != nil {
			t.Fatal(err)
		}
		if !allowed(s, "legacy-batch", "write:settings") {
			t.Error("after Invalidate, the lookup got the snapshot of a load that started before it")
		}
	})
	t.Run("lookups after Invalidate do not join the load in flight", func(t *testing.T) {
		c.Invalidate("banking")
		release, done := stale(t, "payments:approve")
		tctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		s, err := c.Tenant(tctx, "banking")
		if err != nil {
			t.Fatalf("the lookup after Invalidate waited for the load in flight: %v", err)
		}
		if !allowed(s, "legacy-batch", "payments:approve") {
			t.Error("the lookup after Invalidate got data older than the write")
		}
		release()
		<-done
		if s2, _ := c.Tenant(ctx, "banking"); !allowed(s2, "legacy-batch", "payments:approve") {
			t.Error("the load in flight overwrote the newer snapshot")
		}
	})
}

// Issue 12: a catalog following the store's changes answers from its
// cache, without a query — the token path's steady state — and one that
// does not follow them checks the revision on every lookup.
func TestFollowingCatalogAnswersFromItsCache(t *testing.T) {
	st := servertest.OpenStore(t)
	key := make([]byte, 32)
	sealer, err := token.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	adm := &admin.Service{Store: st, Sealer: sealer, Now: time.Now}
	ctx := t.Context()
	if _, err := adm.CreateTenant(ctx, admin.CLI(), admin.TenantInput{ID: "banking", Name: "Banking", Issuer: "https://id.example.com/t/banking"}); err != nil {
		t.Fatal(err)
	}
	p := newProbe(st)
	c := catalog.New(p, sealer, slog.New(slog.DiscardHandler))
	reads := func() int64 {
		p.revReads.Store(0)
		for range 50 {
			if _, err := c.Tenant(ctx, "banking"); err != nil {
				t.Fatal(err)
			}
		}
		return p.revReads.Load()
	}
	if n := reads(); n < 50 {
		t.Fatalf("not following: %d revision reads for 50 lookups, want one each", n)
	}
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan struct{})
	go func() { defer close(done); c.Follow(fctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for reads() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a following catalog still reads the revision on every lookup after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	<-done
	if n := reads(); n < 50 {
		t.Fatalf("after Follow returned: %d revision reads for 50 lookups, want one each", n)
	}
}

// A custom domain taken from a tenant stops routing to it at once, also on a
// node that checks revisions per request (not following, or its feed lost):
// the reload that sees the new domain must not leave the old one mapped.
func TestDomainRemovedFromTenantNoLongerRoutesToIt(t *testing.T) {
	st := servertest.OpenStore(t)
	sealer, err := token.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	adm := &admin.Service{Store: st, Sealer: sealer, Now: time.Now}
	ctx := t.Context()
	if _, err := adm.CreateTenant(ctx, admin.CLI(), admin.TenantInput{ID: "banking", Name: "Banking",
		Issuer: "https://id.example.com/t/banking", Domain: "login.bank.example"}); err != nil {
		t.Fatal(err)
	}
	c := catalog.New(st, sealer, slog.New(slog.DiscardHandler))
	if s, err := c.TenantByDomain(ctx, "login.bank.example"); err != nil || s.Tenant.ID != "banking" {
		t.Fatalf("TenantByDomain before the change = %v, %v", s, err)
	}
	for _, next := range []string{"sso.bank.example", ""} {
		if _, err := adm.UpdateTenant(ctx, admin.CLI(), "banking", admin.TenantUpdate{Domain: &next}); err != nil {
			t.Fatal(err)
		}
		// The node reloads the tenant (a per-request revision check) ...
		if s, err := c.Tenant(ctx, "banking"); err != nil || s.Tenant.Domain != next {
			t.Fatalf("Tenant after setting domain %q = %+v, %v", next, s, err)
		}
		// ... and the old domain routes nowhere.
		if s, err := c.TenantByDomain(ctx, "login.bank.example"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("domain %q, taken from the tenant (now %q), still routes to %v (err %v)", "login.bank.example", next, s, err)
		}
	}
}

// Issue 12: a node that checks the tenant's revision per request (not
// following the change feed, or its feed lost) and sees it moved never
// answers with a load that began before the change — not even by joining
// a load already in flight, which may have read the applications before
// the write committed. Nothing invalidates the catalog here: the write
// was made on another node.
func TestRevisionCheckDoesNotJoinALoadOlderThanTheRevision(t *testing.T) {
	env := servertest.Start(t)
	env.Seed(t, "banking")
	ctx := t.Context()
	p := newProbe(env.Store)
	c := catalog.New(p, env.Sealer, slog.New(slog.DiscardHandler))

	release := p.hold()
	defer release()
	done := make(chan *catalog.Snapshot, 1)
	go func() {
		s, err := c.Tenant(ctx, "banking")
		if err != nil {
			t.Error(err)
		}
		done <- s
	}()
	<-p.entered // the load has read the applications, and holds
	if _, err := env.Admin.AddAllowedScopes(ctx, admin.CLI(), "banking", "legacy-batch", []string{"write:settings"}, 0); err != nil {
		t.Fatal(err)
	}
	got := make(chan *catalog.Snapshot, 1)
	go func() {
		s, err := c.Tenant(ctx, "banking")
		if err != nil {
			t.Error(err)
		}
		got <- s
	}()
	// Let the lookup after the write join the load in flight, if it
	// would, then let that load finish.
	time.Sleep(50 * time.Millisecond)
	release()
	if s := <-done; s == nil || allowed(s, "legacy-batch", "write:settings") {
		t.Fatal("the held load was meant to miss the change (test set-up)")
	}
	if s := <-got; s == nil || !allowed(s, "legacy-batch", "write:settings") {
		t.Fatal("a lookup made after the write, whose revision check saw it, got a snapshot loaded before it")
	}
}
