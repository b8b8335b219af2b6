package server

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/intelliauth/intelliauth/internal/audit"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
)

// Options are the server's dependencies and settings, set by the
// composition root (cmd/intelliauth).
type Options struct {
	Store  store.Store
	Sealer *token.Sealer
	// Audit is the group-committing audit log; the server flushes it on
	// shutdown but does not create it.
	Audit  *audit.Log
	Logger *slog.Logger
	// Addr is the listen address, e.g. 127.0.0.1:8080.
	Addr string
	// TLSCert and TLSKey, when both set, serve HTTPS.
	TLSCert, TLSKey string
	// TrustedProxies are the peers whose X-Forwarded-For/-Host/-Proto are
	// believed; empty means none.
	TrustedProxies []netip.Prefix
	// AllowInsecureIssuer permits http:// issuers off loopback.
	AllowInsecureIssuer bool
	// CacheRefresh is how often a node polls tenant revisions to drop stale
	// caches written by other nodes (default 1s).
	CacheRefresh time.Duration
	// RecheckInterval bounds how often a failed lookup (unknown client,
	// wrong secret) re-reads a tenant's revision (catalog.Catalog's
	// RecheckInterval); zero is the catalog's default.
	RecheckInterval time.Duration
	// PruneInterval is how often the node deletes expired requests, codes,
	// sessions, refresh tokens and revocations (default 5m).
	PruneInterval time.Duration
	// ShutdownTimeout bounds graceful shutdown (default 15s).
	ShutdownTimeout time.Duration
	// AccessLog logs one line per request at Info level.
	AccessLog bool
	// LoginMaxFailures failed sign-ins within LoginWindow, per account and
	// per client address, lock it for LoginLockFor; SessionTTL is the
	// lifetime of a browser session. Zero values take internal/login's
	// defaults.
	LoginMaxFailures          int
	LoginWindow, LoginLockFor time.Duration
	SessionTTL                time.Duration
	// MaxPendingPerClient and MaxPendingPerPeer bound the unfinished
	// authorization requests of one application and of one client address
	// (oauth.Handler); zero or less is no bound. serve passes
	// internal/config's values.
	MaxPendingPerClient, MaxPendingPerPeer int
	// Playground, when set, serves {issuer}/playground and everything
	// under it for every tenant (it answers 404 itself for tenants it does
	// not serve); nil leaves those paths 404. Only serve --demo sets it
	// (internal/playground).
	Playground http.Handler
	// DemoConsole, on a demo node, is the demo tenant's console URL, which
	// the node's root page links to. Empty elsewhere: the root page lists
	// no tenants.
	DemoConsole string
	// MetricsMaxClients bounds the distinct client_id label values of the
	// token metrics per tenant; the clients past it are counted as
	// "other". Zero or less means DefaultMetricsMaxClients; serve passes
	// internal/config's value.
	MetricsMaxClients int
	// TracerProvider, when set, traces every request (a server span, a
	// child of the caller's W3C traceparent when the header is present)
	// and the token pipeline within it (internal/oauth). nil traces
	// nothing. The store's spans are the store's (sqlstore
	// WithTracerProvider); serve passes the same provider to both.
	TracerProvider trace.TracerProvider
	// Now is the clock (default time.Now).
	Now func() time.Time
}
