package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
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
func (c *Catalog) Tenant(ctx context.Context, id string) (*Snapshot, error) {
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
	if !ok {
		t, err := c.store.Tenants().GetByDomain(ctx, host)
		if err != nil {
			return nil, err
		}
		id = t.ID
	}
	return c.Tenant(ctx, id)
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
// current snapshot if nothing changed, else a reloaded one. Only Recheck
// calls it, so the rate limit holds.
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
	return c.reload(ctx, id)
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
	l.snap, l.err = c.loadTenant(context.WithoutCancel(ctx), id)

	c.mu.Lock()
	if c.loading[id] == l {
		delete(c.loading, id)
	}
	// A drop since the load began means its data may predate the change
	// behind the drop: its callers (who asked before) get it, later lookups
	// load again.
	if l.err == nil && c.gen[id] == gen {
		if old, ok := c.tenants[id]; !ok || old.Rev <= l.snap.Rev {
			c.tenants[id] = l.snap
		}
		if d := l.snap.Tenant.Domain; d != "" {
			c.byDomain[d] = id
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
	for _, a := range apps {
		app := &App{Application: a, Allowance: policy.NewAllowance(s.Registry, a)}
		if a.Type.Confidential() {
			secrets, err := st.Applications().Secrets(ctx, id, a.ClientID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, fmt.Errorf("load secrets of %q: %w", a.ClientID, err)
			}
			app.Secrets = secrets
		}
		s.apps[a.ClientID] = app
		for _, o := range a.Origins() {
			s.origins[strings.ToLower(o)] = true
		}
	}
	return s, nil
}
