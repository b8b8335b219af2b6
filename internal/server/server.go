package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/api"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/console"
	"github.com/intelliauth/intelliauth/internal/logging"
	"github.com/intelliauth/intelliauth/internal/login"
	"github.com/intelliauth/intelliauth/internal/oauth"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
)

// Server is one stateless IntelliAuth node.
type Server struct {
	opts    Options
	log     *slog.Logger
	catalog *catalog.Catalog
	tenant  *http.ServeMux // endpoints relative to a tenant's issuer
	metrics *metrics
	// tracer is nil when tracing is off (Options.TracerProvider).
	tracer  trace.Tracer
	handler http.Handler
}

// New builds a server. It refuses to start when a tenant's issuer is plain
// http:// off loopback, unless Options.AllowInsecureIssuer is set.
func New(ctx context.Context, o Options) (*Server, error) {
	if o.Store == nil || o.Sealer == nil || o.Audit == nil {
		return nil, errors.New("server: Store, Sealer and Audit are required")
	}
	// Every component logs through the redacting, request-ID handler,
	// whatever logger the embedder passed.
	o.Logger = logging.Wrap(o.Logger)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CacheRefresh <= 0 {
		o.CacheRefresh = time.Second
	}
	if o.PruneInterval <= 0 {
		o.PruneInterval = 5 * time.Minute
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 15 * time.Second
	}
	if !o.AllowInsecureIssuer {
		tenants, err := o.Store.Tenants().List(ctx)
		if err != nil {
			return nil, fmt.Errorf("server: list tenants: %w", err)
		}
		var bad []string
		for _, t := range tenants {
			if err := CheckIssuer(t.Issuer, false); err != nil {
				bad = append(bad, t.ID+" ("+t.Issuer+")")
			}
		}
		if len(bad) > 0 {
			return nil, fmt.Errorf("server: refusing plain-http issuers off loopback: %s; serve them over https or pass --allow-insecure-issuer", strings.Join(bad, ", "))
		}
	}
	s := &Server{
		opts:    o,
		log:     o.Logger,
		catalog: catalog.New(o.Store, o.Sealer, o.Logger),
		tenant:  http.NewServeMux(),
		metrics: newMetrics(o.MetricsMaxClients),
	}
	if o.TracerProvider != nil {
		s.tracer = o.TracerProvider.Tracer("github.com/intelliauth/intelliauth/internal/server")
	}
	s.catalog.Metrics = s.metrics
	s.catalog.RecheckInterval = o.RecheckInterval
	o.Audit.SetMetrics(s.metrics)
	adm := &admin.Service{Store: o.Store, Sealer: o.Sealer, Now: o.Now, Logger: o.Logger, AllowInsecureIssuer: o.AllowInsecureIssuer}
	lh := &login.Handler{
		Catalog: s.catalog, Store: o.Store, Admin: adm, Audit: o.Audit, Logger: o.Logger, Now: o.Now,
		ClientIP: ClientIP, Secure: secureRequest,
		MaxFailures: o.LoginMaxFailures, Window: o.LoginWindow, LockFor: o.LoginLockFor, SessionTTL: o.SessionTTL,
		Metrics: s.metrics,
	}
	lh.Register(s.tenant)
	oh := &oauth.Handler{Catalog: s.catalog, Store: o.Store, Audit: o.Audit, Logger: o.Logger, Now: o.Now, Login: lh, ClientIP: ClientIP, Metrics: s.metrics, Tracer: s.tracer,
		MaxPendingPerClient: o.MaxPendingPerClient, MaxPendingPerPeer: o.MaxPendingPerPeer}
	oh.Register(s.tenant)
	ah := &api.Handler{
		Admin:   adm,
		Store:   o.Store,
		Catalog: s.catalog,
		Logger:  o.Logger,
		Now:     o.Now,
	}
	ah.Register(s.tenant)
	ch := &console.Handler{
		Admin: adm, Store: o.Store, Catalog: s.catalog, Sealer: o.Sealer, Logger: o.Logger, Now: o.Now,
		Secure: secureRequest, Transport: inProcess{s},
	}
	ch.Register(s.tenant)
	if o.Playground != nil {
		s.tenant.Handle("/playground", o.Playground)
		s.tenant.Handle("/playground/", o.Playground)
	}

	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusOK, "ok")
	})
	root.Handle("GET /readyz", newReadiness(o.Store, o.Sealer, o.Logger))
	root.Handle("GET /metrics", s.metrics.handler())
	root.HandleFunc("/", s.route)
	s.handler = s.middleware(root)
	return s, nil
}

// ClientIP returns the address of the client that sent r, as the server's
// middleware resolved it under the trusted-proxy rules; "" outside the
// middleware.
func ClientIP(r *http.Request) string {
	p := peerFrom(r.Context())
	if !p.IP.IsValid() {
		return ""
	}
	return p.IP.String()
}

// secureRequest reports whether the browser reached the server over TLS,
// directly or through a trusted proxy.
func secureRequest(r *http.Request) bool { return peerFrom(r.Context()).Secure }

// CheckIssuer reports whether an issuer URL may be served: https anywhere,
// http only on loopback unless allowInsecure.
func CheckIssuer(issuer string, allowInsecure bool) error {
	u, err := url.Parse(issuer)
	if err != nil {
		return fmt.Errorf("issuer %q: %w", issuer, err)
	}
	if u.Scheme == "https" || allowInsecure {
		return nil
	}
	if u.Scheme == "http" && isLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("issuer %q must use https off loopback", issuer)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Handler returns the node's root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Catalog returns the node's tenant cache, for in-process admin changes that
// must be visible at once.
func (s *Server) Catalog() *catalog.Catalog { return s.catalog }

var tenantIDPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// route sends a request to its tenant: by the /t/{tenant} issuer path, or by
// a custom domain serving one tenant at its root.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if rest, ok := strings.CutPrefix(r.URL.Path, "/t/"); ok {
		id, sub, _ := strings.Cut(rest, "/")
		if !tenantIDPattern.MatchString(id) {
			s.noTenant(w, r, "/"+sub, noSuchTenant(id))
			return
		}
		snap, err := s.catalog.Tenant(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			s.noTenant(w, r, "/"+sub, noSuchTenant(id))
			return
		}
		if err != nil {
			s.tenantError(w, r, err)
			return
		}
		noteTenant(ctx, snap.Tenant.ID)
		r2 := r.WithContext(catalog.NewContext(ctx, snap))
		u := *r.URL
		u.Path, u.RawPath = "/"+sub, ""
		// Keep the escaping of the rest of the path (a scope name with a
		// "/" is sent as %2F in /api/v1/scopes/{name}).
		if raw, ok := strings.CutPrefix(r.URL.RawPath, "/t/"+id); ok && strings.HasPrefix(raw, "/") {
			u.RawPath = raw
		}
		r2.URL = &u
		s.tenant.ServeHTTP(w, r2)
		return
	}
	host := peerFrom(ctx).Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" || len(host) > 253 {
		s.noTenant(w, r, r.URL.Path, "No tenant is served at this address; tenants are served under /t/{tenant}/.")
		return
	}
	snap, err := s.catalog.TenantByDomain(ctx, strings.ToLower(host))
	if errors.Is(err, store.ErrNotFound) && r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		// The node's own root page, on a host that is no tenant's domain.
		s.home(w, r)
		return
	}
	if errors.Is(err, store.ErrNotFound) {
		s.noTenant(w, r, r.URL.Path, "No tenant is served at this host name; tenants are served under /t/{tenant}/, or at the custom domain set for them.")
		return
	}
	if err != nil {
		s.tenantError(w, r, err)
		return
	}
	noteTenant(ctx, snap.Tenant.ID)
	s.tenant.ServeHTTP(w, r.WithContext(catalog.NewContext(ctx, snap)))
}

// noSuchTenant says that the tenant id is not served here, and where
// tenants are.
func noSuchTenant(id string) string {
	if len(id) > 64 {
		id = id[:64] + "…"
	}
	return "There is no tenant " + id + " on this server; check the issuer URL (tenants are served under /t/{tenant}/)."
}

func (s *Server) tenantError(w http.ResponseWriter, r *http.Request, err error) {
	k := logging.Classify(r.Context(), err)
	s.log.Log(r.Context(), logging.Level(k, http.StatusServiceUnavailable), "load tenant", "err", err)
	switch k {
	case logging.ClientGone:
		w.WriteHeader(logging.StatusClientClosedRequest)
		return
	case logging.Unavailable:
		w.Header().Set("Retry-After", logging.RetryAfterSeconds)
	}
	writeStatus(w, http.StatusServiceUnavailable, "the tenant could not be loaded")
}

func writeStatus(w http.ResponseWriter, code int, status string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": status})
}

// Run listens on Options.Addr and serves until ctx is done, then shuts down
// gracefully.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.opts.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx is done. Then it stops accepting, lets
// in-flight requests finish (bounded by ShutdownTimeout), and flushes the
// audit log, so that every token handed out has its event on disk.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		// An access token may be up to token.MaxTokenSize (128 KiB: a
		// thousand scopes) and travels in the Authorization header of
		// userinfo and /api/v1; the rest of a request's headers fit in
		// the remainder.
		MaxHeaderBytes: token.MaxTokenSize + 64<<10,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:    func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	refreshCtx, stopRefresh := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRefresh()
	go s.catalog.Run(refreshCtx, s.opts.CacheRefresh)
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		s.catalog.Follow(refreshCtx)
	}()
	go s.runJanitor(refreshCtx, s.opts.PruneInterval)

	errc := make(chan error, 1)
	go func() {
		tls := s.opts.TLSCert != "" && s.opts.TLSKey != ""
		var err error
		if tls {
			err = hs.ServeTLS(ln, s.opts.TLSCert, s.opts.TLSKey)
		} else {
			err = hs.Serve(ln)
		}
		errc <- err
	}()
	s.log.Info("serving", "addr", ln.Addr().String(), "tls", s.opts.TLSCert != "")

	var serveErr error
	select {
	case err := <-errc:
		serveErr = err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("shutdown: %w", err))
	}
	stopRefresh()
	// The node gives up its lease before it stops, so writers stop waiting
	// for it at once rather than when the lease lapses.
	<-followed
	if err := s.opts.Audit.Close(sctx); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("flush audit log: %w", err))
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	s.log.Info("stopped")
	return serveErr
}
