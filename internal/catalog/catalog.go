package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
)

// Snapshot is one tenant's configuration at one revision. It is immutable:
// readers share it without locks.
type Snapshot struct {
	Tenant   model.Tenant
	Registry *policy.Registry
	Keys     *token.Keyring
	apps     map[string]*App
	// origins are the web origins of every application (lower case), for
	// CORS on the endpoints any of the tenant's browser apps may call.
	origins map[string]bool
	// Rev is the tenant revision read before the data was loaded, so the data
	// is at least as new as Rev.
	Rev int64
}

// App is an application with its secret hashes.
type App struct {
	model.Application
	Secrets []model.ClientSecret
	// Allowance is the application's allowlist closed under implication
	// and split per audience, computed once with the snapshot's Registry so
	// that a scope decision costs the same whatever the allowlist's size
	// (policy.Input.Allowance).
	Allowance *policy.Allowance
}

// AllowsOrigin reports whether origin (scheme://host[:port]) is a web
// origin of one of the tenant's applications (model.Application.Origins).
func (s *Snapshot) AllowsOrigin(origin string) bool {
	return s.origins[strings.ToLower(origin)]
}

// AccessCheck is the tenant's one access-token check (token.AccessCheck)
// as of this snapshot: its keys and issuer, the revocations and users in st,
// and the applications this snapshot knows (st is asked only for one it
// does not). Introspection, userinfo and the platform API all build it here.
func (s *Snapshot) AccessCheck(st token.AccessStore, now func() time.Time) *token.AccessCheck {
	return &token.AccessCheck{
		Keys: s.Keys, TenantID: s.Tenant.ID, Issuer: s.Tenant.Issuer, Store: st, Now: now,
		KnownClient: func(clientID string) bool { _, ok := s.App(clientID); return ok },
	}
}

// App returns the application with that client ID.
func (s *Snapshot) App(clientID string) (*App, bool) {
	a, ok := s.apps[clientID]
	return a, ok
}

// Catalog caches one Snapshot per tenant. It is safe for concurrent use.
type Catalog struct {
	store  store.Store
	sealer *token.Sealer
	logger *slog.Logger

	// RecheckInterval is the shortest time between two revision checks of
	// one tenant by Recheck; zero means DefaultRecheckInterval. Set it before
	// the catalog is used.
	RecheckInterval time.Duration
	// Metrics, when set, is told of every snapshot load. Set it before the
	// catalog is used.
	Metrics Metrics

	mu       sync.RWMutex
	tenants  map[string]*Snapshot
	loading  map[string]*load // single flight per tenant
	byDomain map[string]string
	// gen counts, per tenant, the drops of its snapshot (Invalidate,
	// Refresh). A load started under an older generation may hold data
	// older than the write that caused the drop, so it must not be
	// installed.
	gen map[string]uint64

	rmu    sync.Mutex
	checks map[string]*checks

	// following is true while Follow runs: only then is the cluster's
	// Current about this catalog's cache (another catalog over the same
	// store may be the one following).
	following atomic.Bool
}

// Metrics is what the catalog reports to the server's metrics. Its method
// must be safe for concurrent use.
type Metrics interface {
	// CatalogReloaded reports one load of a tenant's snapshot from the
	// store: how long it took and its error (nil on success).
	CatalogReloaded(tenantID string, took time.Duration, err error)
}

type load struct {
	done chan struct{}
	snap *Snapshot
	err  error
}

// DefaultRecheckInterval bounds how often Recheck reads one tenant's
// revision: short enough that a caller waits little, long enough that a
// flood of bad credentials costs the database a few queries a second.
const DefaultRecheckInterval = 100 * time.Millisecond

// checks is one tenant's Recheck state: at most one check running and one
// waiting to start, which every caller arriving meanwhile joins.
type checks struct {
	last    time.Time // when the latest check started
	running *check
	next    *check
}

// check is one revision check shared by the callers that joined it.
type check struct {
	done chan struct{}
	snap *Snapshot
	err  error
}

// New returns an empty catalog over st.
func New(st store.Store, sealer *token.Sealer, logger *slog.Logger) *Catalog {
	return &Catalog{
		store:    st,
		sealer:   sealer,
		logger:   logger,
		tenants:  map[string]*Snapshot{},
		loading:  map[string]*load{},
		byDomain: map[string]string{},
		gen:      map[string]uint64{},
		checks:   map[string]*checks{},
	}
}

// Tenant returns the tenant's snapshot, loading it on first use.
// store.ErrNotFound if the tenant does not exist.
//
// The cached snapshot is used only while this catalog follows the store's
// changes (Follow runs) and the store's cluster says the node is Current
// (it has applied every configuration change committed); otherwise — the change feed lost, the lease lapsed — the
// tenant's revision is read from the database for this request, one
// primary-key query, and a moved revision reloads the tenant. If the
// database does not answer that check, the cached snapshot is returned: the
// request fails at its first write (every grant writes its audit event), as
// its surface answers an outage.
func (c *Catalog) Tenant(ctx context.Context, id string) (*Snapshot, error) {
	if !c.following.Load() || !c.store.Cluster().Current() {
		s, err := c.fresh(ctx, id)
		if errors.Is(err, store.ErrUnavailable) {
			// The database does not answer: the request cannot grant
			// anything either (every grant writes to it), so let it fail
			// where it would, with its own surface's 503, rather than here.
			c.mu.RLock()
			cached, ok := c.tenants[id]
			c.mu.RUnlock()
			if ok {
				return cached, nil
			}
		}
		return s, err
	}
	c.mu.RLock()
	s, ok := c.tenants[id]
	c.mu.RUnlock()
	if ok {
		return s, nil
	}
	return c.reload(ctx, id)
}

// TenantByDomain returns the snapshot of the tenant whose custom domain is
// host. store.ErrNotFound if none.
func (c *Catalog) TenantByDomain(ctx context.Context, host string) (*Snapshot, error) {
	c.mu.RLock()
	id, ok := c.byDomain[host]
	c.mu.RUnlock()
	if ok {
		s, err := c.Tenant(ctx, id)
		if err != nil || s.Tenant.Domain == host {
			return s, err
		}
		// The snapshot, as fresh as Tenant makes it, no longer has this
		// domain (it was moved or removed): the mapping is stale.
		c.mu.Lock()
		if c.byDomain[host] == id {
			delete(c.byDomain, host)
		}
		c.mu.Unlock()
	}
	t, err := c.store.Tenants().GetByDomain(ctx, host)
	if err != nil {
		return nil, err
	}
	return c.Tenant(ctx, t.ID)
}

// Recheck returns the tenant's snapshot as of a revision check that
// started after Recheck was called: the current snapshot if nothing changed,
// else a reloaded one. Callers use it when a cached lookup fails (unknown
// client, wrong secret, a scope or redirect URI not allowed), so a change
// made on another node a moment ago never causes a wrong refusal — and it is
// the only way they read the revision, so a flood of failing lookups is not
// a flood of queries.
//
// Checks of one tenant are single-flighted and start at most once per
// RecheckInterval: callers arriving while a check waits to start share it,
// and callers arriving while one runs share the next, which starts when the
// interval since the previous start has passed and that one has finished. A
// lone miss is checked at once; under a flood each caller waits at most
// about one interval plus one check. If ctx ends first, Recheck returns its
// error; the shared check goes on for the others.
func (c *Catalog) Recheck(ctx context.Context, id string) (*Snapshot, error) {
	c.rmu.Lock()
	tc := c.checks[id]
	if tc == nil {
		tc = &checks{}
		c.checks[id] = tc
	}
	k := tc.next
	if k == nil {
		k = &check{done: make(chan struct{})}
		tc.next = k
		// The check must not die with this caller's request: others share it.
		go c.runCheck(context.WithoutCancel(ctx), id, tc, k, tc.running)
	}
	c.rmu.Unlock()
	select {
	case <-k.done:
		return k.snap, k.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// runCheck runs k after prev (the check running when k was created) has
// finished and the interval since the previous start has passed.
func (c *Catalog) runCheck(ctx context.Context, id string, tc *checks, k, prev *check) {
	if prev != nil {
		<-prev.done
	}
	interval := c.RecheckInterval
	if interval <= 0 {
		interval = DefaultRecheckInterval
	}
	c.rmu.Lock()
	wait := time.Until(tc.last.Add(interval))
	c.rmu.Unlock()
	if wait > 0 {
		t := time.NewTimer(wait)
		<-t.C
	}
	c.rmu.Lock()
	tc.next, tc.running, tc.last = nil, k, time.Now()
	c.rmu.Unlock()

	k.snap, k.err = c.fresh(ctx, id)

	c.rmu.Lock()
	if tc.running == k {
		tc.running = nil
	}
	c.rmu.Unlock()
	close(k.done)
}

// fresh checks the tenant's revision in the database and returns the
// current snapshot if nothing changed, else a reloaded one. Recheck calls
// it under its rate limit; Tenant calls it per request only while the node
// is not Current, when the cache cannot be trusted without it.
func (c *Catalog) fresh(ctx context.Context, id string) (*Snapshot, error) {
	t, err := c.store.Tenants().Get(ctx, id)
	if err != nil {
		return nil, err
	}
	c.mu.RLock()
	s, ok := c.tenants[id]
	c.mu.RUnlock()
	if ok && s.Rev >= t.Rev {
		return s, nil
	}
	// A load in flight may have begun before the change behind t.Rev (on
	// another node: nothing dropped it here), so joining it is not enough:
	// a snapshot older than t.Rev is loaded again, by a load that began
	// after this check.
	for {
		s, err := c.reload(ctx, id)
		if err != nil || s.Rev >= t.Rev {
			return s, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

// Invalidate drops a tenant's snapshot; the next lookup reloads it. A load
// already in flight is not installed (it may have read the data before the
// write that caused the Invalidate) and is not joined by later lookups.
func (c *Catalog) Invalidate(id string) {
	c.mu.Lock()
	c.dropLocked(id)
	c.mu.Unlock()
}

// dropLocked drops the tenant's snapshot and detaches a load in flight, so
// that neither survives the change that caused the drop. c.mu must be held.
func (c *Catalog) dropLocked(id string) {
	if s, ok := c.tenants[id]; ok && s.Tenant.Domain != "" {
		delete(c.byDomain, s.Tenant.Domain)
	}
	delete(c.tenants, id)
	delete(c.loading, id)
	c.gen[id]++
}

// Follow applies the configuration changes of every node sharing the
// store, as the store's cluster delivers them, until ctx ends: each drops
// the changed tenant's snapshot before the change is acknowledged to the
// writer (store.Cluster). The revision poll (Run) stays as a fallback.
//
// One catalog per store handle follows: the cluster's lease is the
// handle's.
func (c *Catalog) Follow(ctx context.Context) {
	c.following.Store(true)
	defer c.following.Store(false)
	err := c.store.Cluster().Follow(ctx, func(id string) {
		if id == "" {
			c.InvalidateAll()
			return
		}
		c.Invalidate(id)
	}, func(err error) {
		c.logger.WarnContext(ctx, "configuration change feed lost; checking tenant revisions per request until it is back", "err", err)
	})
	if err != nil && ctx.Err() == nil {
		c.logger.ErrorContext(ctx, "cannot follow configuration changes; checking tenant revisions per request", "err", err)
	}
}

// InvalidateAll drops every snapshot, as Invalidate does one.
func (c *Catalog) InvalidateAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.tenants {
		c.dropLocked(id)
	}
	for id := range c.loading {
		c.dropLocked(id)
	}
}

// Refresh polls every tenant's revision and drops stale snapshots.
func (c *Catalog) Refresh(ctx context.Context) error {
	revs, err := c.store.Tenants().Revs(ctx)
	if err != nil {
		return fmt.Errorf("poll tenant revisions: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, s := range c.tenants {
		if rev, ok := revs[id]; !ok || rev > s.Rev {
			c.logger.DebugContext(ctx, "catalog dropped a stale snapshot", "tenant", id, "rev", s.Rev, "current_rev", rev)
			c.dropLocked(id)
		}
	}
	return nil
}

// Run polls revisions every interval until ctx is done.
func (c *Catalog) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.Refresh(ctx); err != nil && ctx.Err() == nil {
				c.logger.WarnContext(ctx, "catalog refresh failed", "err", err)
			}
		}
	}
}

// reload loads a tenant, sharing one load among concurrent callers.
func (c *Catalog) reload(ctx context.Context, id string) (*Snapshot, error) {
	c.mu.Lock()
	if l, ok := c.loading[id]; ok {
		c.mu.Unlock()
		select {
		case <-l.done:
			return l.snap, l.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	l := &load{done: make(chan struct{})}
	c.loading[id] = l
	gen := c.gen[id]
	c.mu.Unlock()

	// The load must not die with one caller's request: others share it.
	start := time.Now()
	l.snap, l.err = c.loadTenant(context.WithoutCancel(ctx), id)
	took := time.Since(start)
	if c.Metrics != nil {
		c.Metrics.CatalogReloaded(id, took, l.err)
	}
	if l.err == nil {
		c.logger.DebugContext(ctx, "catalog loaded tenant", "tenant", id, "rev", l.snap.Rev,
			"applications", len(l.snap.apps), "took", took)
	}

	c.mu.Lock()
	if c.loading[id] == l {
		delete(c.loading, id)
	}
	// A drop since the load began means its data may predate the change
	// behind the drop: its callers (who asked before) get it, later lookups
	// load again.
	if l.err == nil && c.gen[id] == gen {
		if old, ok := c.tenants[id]; !ok || old.Rev <= l.snap.Rev {
			if ok && old.Tenant.Domain != l.snap.Tenant.Domain && c.byDomain[old.Tenant.Domain] == id {
				delete(c.byDomain, old.Tenant.Domain)
			}
			c.tenants[id] = l.snap
			if d := l.snap.Tenant.Domain; d != "" {
				c.byDomain[d] = id
			}
		}
	}
	c.mu.Unlock()
	close(l.done)
	return l.snap, l.err
}

func (c *Catalog) loadTenant(ctx context.Context, id string) (*Snapshot, error) {
	st := c.store
	// Read the revision first: the data read after it is at least as new.
	t, err := st.Tenants().Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load tenant %q: %w", id, err)
	}
	scopes, err := st.Scopes().All(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load scopes of %q: %w", id, err)
	}
	apis, err := st.APIs().List(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load APIs of %q: %w", id, err)
	}
	apps, err := st.Applications().All(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load applications of %q: %w", id, err)
	}
	keys, err := st.Keys().List(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load keys of %q: %w", id, err)
	}
	ring, err := token.NewKeyring(keys, c.sealer)
	if err != nil {
		return nil, fmt.Errorf("keys of %q: %w", id, err)
	}
	s := &Snapshot{
		Tenant:   t,
		Registry: policy.NewRegistry(scopes, apis),
		Keys:     ring,
		apps:     make(map[string]*App, len(apps)),
		origins:  map[string]bool{},
		Rev:      t.Rev,
	}
	// One query for every application's secrets, not one per application.
	secrets, err := st.Applications().AllSecrets(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load client secrets of %q: %w", id, err)
	}
	for _, a := range apps {
		app := &App{Application: a, Allowance: policy.NewAllowance(s.Registry, a)}
		if a.Type.Confidential() {
			app.Secrets = secrets[a.ClientID]
		}
		s.apps[a.ClientID] = app
		for _, o := range a.Origins() {
			s.origins[strings.ToLower(o)] = true
		}
	}
	return s, nil
}
