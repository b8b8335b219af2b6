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
}

// AllowsOrigin reports whether origin (scheme://host[:port]) is a web
// origin of one of the tenant's applications (model.Application.Origins).
func (s *Snapshot) AllowsOrigin(origin string) bool {
	return s.origins[strings.ToLower(origin)]
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

	mu       sync.RWMutex
	tenants  map[string]*Snapshot
	loading  map[string]*load // single flight per tenant
	byDomain map[string]string
}

type load struct {
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

// Fresh returns the tenant's snapshot after checking its revision in the
// database: the current snapshot if nothing changed, else a reloaded one.
// Callers use it when a cached lookup fails, so a change made on another
// node a moment ago never causes a wrong refusal.
func (c *Catalog) Fresh(ctx context.Context, id string) (*Snapshot, error) {
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

// Invalidate drops a tenant's snapshot; the next lookup reloads it.
func (c *Catalog) Invalidate(id string) {
	c.mu.Lock()
	delete(c.tenants, id)
	c.mu.Unlock()
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
			delete(c.tenants, id)
			if s.Tenant.Domain != "" {
				delete(c.byDomain, s.Tenant.Domain)
			}
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
	c.mu.Unlock()

	// The load must not die with one caller's request: others share it.
	l.snap, l.err = c.loadTenant(context.WithoutCancel(ctx), id)

	c.mu.Lock()
	delete(c.loading, id)
	if l.err == nil {
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
		app := &App{Application: a}
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
