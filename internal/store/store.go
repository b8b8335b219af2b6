package store

import (
	"context"
	"errors"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
)

// Sentinel errors. Backends wrap them with %w; callers test with errors.Is.
var (
	// ErrNotFound: the entity does not exist in this tenant.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a uniqueness rule would be broken (same name, same id).
	ErrConflict = errors.New("conflict")
	// ErrPrecondition: the caller's expected Version is not the stored one.
	ErrPrecondition = errors.New("precondition failed")
	// ErrLimit: a bound on how many rows of a kind may be stored is
	// reached; nothing was stored.
	ErrLimit = errors.New("limit reached")
	// ErrUnavailable: the database did not answer — a connection refused or
	// lost, a closed pool, a lock held beyond the busy timeout, a full or
	// failing disk. The backends wrap such connection-level failures with
	// it (and nothing else), so the HTTP layer answers 503 with Retry-After
	// instead of 500; the condition is expected to pass without a restart.
	ErrUnavailable = errors.New("storage unavailable")
)

// Store is a storage backend. Its repositories run each call in its own
// transaction; InTx runs several calls atomically.
//
// Every read and write is scoped to one tenant ID; no method returns another
// tenant's data (tenant isolation is checked on every read).
type Store interface {
	Repos
	// InTx runs fn in one transaction: committed when fn returns nil, rolled
	// back otherwise. fn must use only the Repos it is given; calling the
	// outer Store from inside fn may deadlock on SQLite.
	InTx(ctx context.Context, fn func(Repos) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// CheckSchema reports whether every migration the binary knows is
	// applied; it changes nothing, so a readiness probe may call it.
	CheckSchema(ctx context.Context) error
	// Close releases the database.
	Close() error
	// Cluster is how the nodes sharing this database learn of each other's
	// configuration writes (see Cluster).
	Cluster() Cluster
}

// Cluster is the contract that makes a configuration write effective at
// once on every node sharing the database: after a write that bumped a
// tenant's Rev has committed, Settle returns only when every node that may
// answer from its cache has applied the change (or has lost the right to
// answer from its cache), and a node answers from its cache only while
// Current. The store calls Settle itself after every such commit, so every
// writer — an API handler, the console, the CLI — settles.
//
// A backend for one node (SQLite) satisfies it trivially: Settle returns at
// once, Current is always true, Follow only waits.
type Cluster interface {
	// Follow delivers, in commit order, the tenant ID of every configuration
	// change committed by any node, calling apply before the change is
	// acknowledged to writers; apply("") means "everything may have
	// changed" (after a reconnection). It runs until ctx ends, reconnecting
	// when the feed is lost (each loss is passed to warn), and returns ctx's
	// error.
	Follow(ctx context.Context, apply func(tenantID string), warn func(error)) error
	// Current reports whether this node may answer from cached
	// configuration: it holds a valid lease and has applied every change it
	// was sent. When false, a node checks the tenant's revision in the
	// database before answering.
	Current() bool
	// Settle waits until every node holding a lease has acknowledged every
	// change committed so far, or its lease has expired. It is bounded by
	// the lease length.
	Settle(ctx context.Context) error
}

// SingleNode is the Cluster of a database only one process serves (SQLite):
// every write is made through the node's own store, so there is nothing to
// wait for.
type SingleNode struct{}

// Follow waits for ctx to end: no other node writes.
func (SingleNode) Follow(ctx context.Context, _ func(string), _ func(error)) error {
	<-ctx.Done()
	return ctx.Err()
}

// Current is always true.
func (SingleNode) Current() bool { return true }

// Settle returns at once.
func (SingleNode) Settle(context.Context) error { return nil }

// Repos is the set of repositories, either auto-commit or inside a tx.
type Repos interface {
	Tenants() Tenants
	Scopes() Scopes
	APIs() APIs
	Applications() Applications
	Keys() Keys
	Revocations() Revocations
	Audit() Audit
	UserRepos
}

// Tenants stores tenants.
type Tenants interface {
	// Create stores a new tenant; ErrConflict if the ID or domain is taken.
	Create(ctx context.Context, t model.Tenant) error
	Get(ctx context.Context, id string) (model.Tenant, error)
	// GetByDomain finds the tenant whose custom Domain is host.
	GetByDomain(ctx context.Context, host string) (model.Tenant, error)
	// List returns every tenant ordered by ID.
	List(ctx context.Context) ([]model.Tenant, error)
	// Update replaces name, issuer, domain, scope pattern, MFA policy and
	// MFA grace period when t.Version matches the stored version (else ErrPrecondition); it bumps Version and
	// Rev, so every node reloads the tenant (tokens then carry the new iss).
	Update(ctx context.Context, t model.Tenant) (model.Tenant, error)
	// Revs returns every tenant's configuration revision, so a node can see
	// which of its caches are stale with one cheap query.
	Revs(ctx context.Context) (map[string]int64, error)
}

// Page selects a window of an ordered list. Limit 0 means the backend default (20).
type Page struct {
	Offset int
	Limit  int
}

// Scopes stores a tenant's scope registry. Every write bumps the tenant's Rev.
type Scopes interface {
	// Create stores a new scope; ErrConflict if the name is taken.
	Create(ctx context.Context, s model.Scope) error
	Get(ctx context.Context, tenantID, name string) (model.Scope, error)
	// List returns scopes ordered by name, and the total count. kind "" lists
	// every kind.
	List(ctx context.Context, tenantID string, kind model.ScopeKind, p Page) ([]model.Scope, int, error)
	// All returns every scope of the tenant, ordered by name.
	All(ctx context.Context, tenantID string) ([]model.Scope, error)
	// Update replaces display name, description, implies, claims and
	// RequiresMFA when s.Version matches (else ErrPrecondition); returns the stored scope.
	Update(ctx context.Context, s model.Scope) (model.Scope, error)
	// Rename renames a scope and rewrites every application allowlist, every
	// other scope's implies, every role and every consent that hold it, and
	// every grant already made — the scopes of refresh tokens and codes, and
	// the requested and asked-for scopes of authorization requests — in one
	// transaction, so that a live grant keeps the scope under its new name. ErrConflict if newName is taken. A non-zero version
	// must be the stored one (else ErrPrecondition, and nothing changes), so
	// that a caller that checked the scope cannot rename a newer edit of it.
	Rename(ctx context.Context, tenantID, oldName, newName string, version int64) (model.Scope, error)
	// Delete removes the scope and removes it from every application
	// allowlist, every other scope's implies, every role and every consent,
	// in one transaction, and returns the client IDs of the applications it
	// was removed from, sorted (Impact, read first, tells the rest). A
	// non-zero version must be the stored one (else ErrPrecondition, and
	// nothing changes).
	Delete(ctx context.Context, tenantID, name string, version int64) (removedFrom []string, err error)
	// Holders returns the client IDs of applications whose allowlist holds
	// name, sorted (the impact of a delete).
	Holders(ctx context.Context, tenantID, name string) ([]string, error)
	// Impact returns everything that holds name — allowlists, roles and
	// consents — which a Rename rewrites and a Delete removes it from. A
	// scope nothing holds, or one that does not exist, has a zero impact.
	Impact(ctx context.Context, tenantID, name string) (ScopeImpact, error)
}

// ScopeImpact is what holds a scope (PRODUCT.md §4: the impact shown before
// a delete). It does not count grants already issued (codes, refresh
// tokens); those are for the audit log to report.
type ScopeImpact struct {
	// Applications are the client IDs whose allowlist holds the scope, sorted.
	Applications []string
	// Roles are the names of the roles that give the scope, sorted.
	Roles []string
	// Consents is how many (user, application) consents include the scope.
	Consents int
}

// APIs stores a tenant's resource servers. Every write bumps the tenant's Rev.
type APIs interface {
	// Create stores a new API; ErrConflict if the ID or Identifier is taken.
	Create(ctx context.Context, a model.API) error
	Get(ctx context.Context, tenantID, id string) (model.API, error)
	GetByIdentifier(ctx context.Context, tenantID, identifier string) (model.API, error)
	// List returns every API of the tenant ordered by identifier.
	List(ctx context.Context, tenantID string) ([]model.API, error)
	// Update replaces identifier, name, alg, TTL and token-size budget when
	// a.Version matches.
	Update(ctx context.Context, a model.API) (model.API, error)
	// Delete removes an API; ErrConflict while scopes still name it. A
	// non-zero version must be the stored one (else ErrPrecondition).
	Delete(ctx context.Context, tenantID, id string, version int64) error
}

// Applications stores OAuth clients and their secrets. Every write bumps the
// tenant's Rev.
type Applications interface {
	// Create stores a new application; ErrConflict if the client ID is taken.
	Create(ctx context.Context, a model.Application) error
	Get(ctx context.Context, tenantID, clientID string) (model.Application, error)
	// List returns applications ordered by client ID, and the total count.
	List(ctx context.Context, tenantID string, p Page) ([]model.Application, int, error)
	// All returns every application of the tenant, ordered by client ID.
	All(ctx context.Context, tenantID string) ([]model.Application, error)
	// Update replaces every field but TenantID, ClientID and CreatedAt when
	// a.Version matches (else ErrPrecondition); returns the stored one.
	Update(ctx context.Context, a model.Application) (model.Application, error)
	// Delete removes an application and its secrets. A non-zero version
	// must be the stored one (else ErrPrecondition, and nothing changes).
	Delete(ctx context.Context, tenantID, clientID string, version int64) error

	// AddSecret stores a secret hash for an existing application.
	AddSecret(ctx context.Context, s model.ClientSecret) error
	// Secrets returns the application's secrets, newest first, including
	// expired ones not yet pruned.
	Secrets(ctx context.Context, tenantID, clientID string) ([]model.ClientSecret, error)
	// AllSecrets returns the secrets of every application of the tenant by
	// client ID, each newest first as Secrets orders them, in one query
	// (a node loading a tenant of 10,000 applications asks once, not
	// 10,000 times). An application without secrets has no entry.
	AllSecrets(ctx context.Context, tenantID string) (map[string][]model.ClientSecret, error)
	// ExpireSecrets makes every secret of the application except keepID
	// stop working at expiresAt at the latest (rotation with a grace period):
	// open-ended secrets get that expiry, and secrets still in an earlier,
	// longer grace period have it cut short — a rotation with no grace ends
	// every other secret. It also deletes secrets that expired before now.
	ExpireSecrets(ctx context.Context, tenantID, clientID, keepID string, expiresAt, now time.Time) error
}

// Keys stores signing keys. Every write bumps the tenant's Rev.
type Keys interface {
	Create(ctx context.Context, k model.SigningKey) error
	// List returns the tenant's keys, newest first.
	List(ctx context.Context, tenantID string) ([]model.SigningKey, error)
	// SetState moves a key to a new state.
	SetState(ctx context.Context, tenantID, kid string, state model.KeyState) error
	Delete(ctx context.Context, tenantID, kid string) error
}

// Revocations records revoked access tokens by jti. Besides Revoke,
// RefreshTokens.RevokeFamily and RevokeByUser write here: the access tokens
// of a revoked refresh-token family.
type Revocations interface {
	// Revoke records the jti; revoking twice is not an error.
	Revoke(ctx context.Context, r model.Revocation) error
	// IsRevoked reports whether the jti was revoked.
	IsRevoked(ctx context.Context, tenantID, jti string) (bool, error)
	// Prune deletes revocations whose token expired before t.
	Prune(ctx context.Context, t time.Time) (int, error)
}

// AuditQuery filters an audit search; zero fields do not filter.
type AuditQuery struct {
	TenantID string
	Type     string
	ClientID string
	Subject  string
	Scope    string
	Since    time.Time // inclusive
	Until    time.Time // exclusive
	// Before is a cursor: only events with an ID smaller than Before.
	Before string
	// ExcludeTokensOf leaves out the oauth.token_issued and
	// oauth.token_refused events of this client ID (an admin tool's own
	// token requests); its other events stay.
	ExcludeTokensOf string
	Limit           int // 0 → 50
}

// Audit is the append-only audit log.
type Audit interface {
	// Append durably stores the events in one transaction (group commit).
	// Nothing is stored unless everything is.
	Append(ctx context.Context, events []model.AuditEvent) error
	// Search returns matching events, newest first.
	Search(ctx context.Context, q AuditQuery) ([]model.AuditEvent, error)
	// ScopeUsage returns, for every (client ID, scope) pair, how many
	// oauth.token_issued events at or after since granted the scope to the
	// client (the event's Scopes: granted, implications included) and the
	// time of the last one, ordered by client ID, then scope. Pairs never
	// granted in the window are absent. Scopes are counted by the name the
	// event recorded: grants made before a rename stay under the old name.
	ScopeUsage(ctx context.Context, tenantID string, since time.Time) ([]ScopeUsage, error)
	// CountGrants returns how many oauth.token_issued events at or after
	// since granted scope, to any client (the impact preview's "grants in
	// the last 30 days").
	CountGrants(ctx context.Context, tenantID, scope string, since time.Time) (int, error)
	// ScopeUsageByDay is ScopeUsage split by UTC day: for every (client
	// ID, scope, day) the number of oauth.token_issued events at or after
	// since that granted the scope to the client, ordered by client ID,
	// scope, then day. Days without a grant are absent.
	ScopeUsageByDay(ctx context.Context, tenantID string, since time.Time) ([]DailyScopeUsage, error)
	// Retention returns the tenant's retention settings (zero fields: the
	// class's default, which the caller applies).
	Retention(ctx context.Context, tenantID string) (AuditRetention, error)
	// SetRetention replaces the tenant's retention settings.
	SetRetention(ctx context.Context, tenantID string, r AuditRetention) error
	// Prune deletes at most p.Limit of the tenant's raw events older than
	// p.Before whose type is (or, with ExceptTypes, is not) in p.Types, in
	// one short transaction, oldest first, and returns how many it deleted:
	// the caller repeats while it gets p.Limit. The daily scope counters
	// are not touched, so ScopeUsage stays right.
	Prune(ctx context.Context, p AuditPrune) (int, error)
}

// AuditRetention is how many days a tenant keeps raw audit events, per
// class of event (internal/audit names the classes); 0 is the class's
// default.
type AuditRetention struct {
	IssuanceDays int
	SecurityDays int
	AdminDays    int
}

// AuditPrune selects raw audit events to delete.
type AuditPrune struct {
	TenantID string
	// Before is exclusive: events at Before are kept.
	Before time.Time
	// Types selects the events by type; ExceptTypes selects every other
	// type instead.
	Types       []string
	ExceptTypes bool
	// Limit is the most events one call deletes (0: 1,000).
	Limit int
}

// DailyScopeUsage is how often one application was granted one scope on
// one UTC day.
type DailyScopeUsage struct {
	ClientID string
	Scope    string
	// Day is the UTC midnight that starts the day.
	Day    time.Time
	Grants int
}

// ScopeUsage is how often one application was granted one scope in a
// window of the audit log, and when last.
type ScopeUsage struct {
	ClientID string
	Scope    string
	// Grants counts the token_issued events that granted the scope.
	Grants int
	// Last is the time of the latest of them (UTC).
	Last time.Time
}
