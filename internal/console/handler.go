package console

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
)

// DefaultSessionTTL bounds a console session however active it is.
const DefaultSessionTTL = 12 * time.Hour

// Handler serves the console of every tenant of a node; the tenant comes
// from the request context (catalog.FromContext), set by the server's
// tenant routing. Its fields are set by the composition root.
type Handler struct {
	Admin   *admin.Service
	Store   store.Store
	Catalog *catalog.Catalog
	// Sealer seals the session's tokens at rest and derives the console's
	// client secret (admin.ConsoleSecret).
	Sealer *token.Sealer
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Transport carries the console's own OAuth requests (code exchange,
	// refresh, revocation) to this node's endpoints without leaving the
	// process, so that the console works behind any proxy or TLS set-up.
	Transport http.RoundTripper
	// Secure reports whether the browser reached the node over TLS (the
	// session cookie is then Secure); nil means r.TLS != nil.
	Secure func(*http.Request) bool
	// SessionTTL bounds a session; 0 means DefaultSessionTTL.
	SessionTTL time.Duration

	// ensured caches, per tenant and issuer, the console secret whose
	// application EnsureConsole has prepared on this node.
	ensured sync.Map
	// refreshLocks serialise the token refreshes of one session on this
	// node (striped by session ID), so that two tabs do not present one
	// refresh token twice, which the token endpoint takes for a replay.
	refreshLocks [64]sync.Mutex
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (h *Handler) secure(r *http.Request) bool {
	if h.Secure != nil {
		return h.Secure(r)
	}
	return r.TLS != nil
}

func (h *Handler) sessionTTL() time.Duration {
	if h.SessionTTL > 0 {
		return h.SessionTTL
	}
	return DefaultSessionTTL
}

// Route is one page or action of the console: a method, a path relative to
// the issuer (Go 1.22 ServeMux syntax) and the use-case whose platform
// scope it requires ("" for pages every signed-in user may see).
type Route struct {
	Method string
	Path   string
	Op     admin.Op
}

// pageFunc serves a page or an action for a signed-in user. It returns its
// error instead of writing it: fail (errors.go) renders it in one place.
type pageFunc func(w http.ResponseWriter, r *Request) error

// router mounts pages behind the session and scope guard, and records
// them for Routes.
type router struct {
	h    *Handler
	mux  *http.ServeMux // nil when only listing
	list []Route
}

// page mounts f at method + path, for a signed-in user whose token carries
// op's scope. A POST also needs the session's CSRF token.
func (rt *router) page(method, path string, op admin.Op, f pageFunc) {
	rt.list = append(rt.list, Route{Method: method, Path: path, Op: op})
	if rt.mux != nil {
		rt.mux.HandleFunc(method+" "+path, rt.h.guard(method, op, f))
	}
}

// Register mounts the console on mux, relative to the tenant's issuer.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+model.ConsolePath+"/static/{file}", h.static)
	mux.HandleFunc("GET "+model.ConsolePath+"/signin", h.withTenant(h.signin))
	mux.HandleFunc("GET "+model.ConsolePath+"/callback", h.withTenant(h.callback))
	mux.HandleFunc("POST "+model.ConsolePath+"/signout", h.withTenant(h.signout))
	mux.HandleFunc("GET "+model.ConsolePath+"/signed-out", h.withTenant(h.signedOut))
	mux.HandleFunc("GET "+model.ConsolePath, h.withTenant(func(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) {
		http.Redirect(w, r, base(snap)+"/", http.StatusFound)
	}))
	rt := &router{h: h, mux: mux}
	h.routes(rt)
	mux.HandleFunc(model.ConsolePath+"/", h.guard("", "", func(w http.ResponseWriter, r *Request) error {
		return notFound("There is no console page at %s.", r.URL.Path)
	}))
}

// Routes lists every page and action the console mounts, in registration
// order.
func (h *Handler) Routes() []Route {
	rt := &router{h: h}
	h.routes(rt)
	return rt.list
}

// withTenant runs f with the request's tenant, or answers 404.
func (h *Handler) withTenant(f func(http.ResponseWriter, *http.Request, *catalog.Snapshot)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		snap, ok := catalog.FromContext(r.Context())
		if !ok {
			http.NotFound(w, r)
			return
		}
		setSecurityHeaders(w)
		f(w, r, snap)
	}
}

// Request is a signed-in console request: the HTTP request, the tenant's
// snapshot, the session and the actor handed to internal/admin.
type Request struct {
	*http.Request
	Snap *catalog.Snapshot
	// Actor is the signed-in user, with the scopes of the console's access
	// token and Via = the console's client ID.
	Actor admin.Actor
	// User is the signed-in user, for the page header.
	User model.User
	// Base is the console's external path, e.g. /t/banking/console.
	Base string
	csrf string
}

// TenantID is the tenant the request is for.
func (r *Request) TenantID() string { return r.Snap.Tenant.ID }

// May reports whether the signed-in user's token carries the scope op
// requires; the empty op is every signed-in user's.
func (r *Request) May(op admin.Op) bool {
	return op == "" || slices.Contains(r.Actor.Scopes, op.Scope())
}

// guard loads the session (or sends the browser to sign in), checks the
// CSRF token of a POST and requires op's scope, then runs f.
func (h *Handler) guard(method string, op admin.Op, f pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		snap, ok := catalog.FromContext(r.Context())
		if !ok {
			http.NotFound(w, r)
			return
		}
		setSecurityHeaders(w)
		req, err := h.session(w, r, snap)
		if errors.Is(err, errNoSession) {
			h.toSignIn(w, r, snap)
			return
		}
		if err == nil {
			err = checkInput(w, r)
		}
		if err == nil && method == http.MethodPost && !checkCSRF(r, req.csrf) {
			err = &pageError{Status: http.StatusForbidden, Title: "Form expired",
				Message: "This form was not sent from this console page (or your session changed since it was shown). Go back, reload the page and send it again."}
		}
		if err == nil && !req.May(op) {
			err = missingScope(op)
		}
		if err == nil {
			err = f(w, req)
			if method == http.MethodPost && h.Catalog != nil {
				// Every action may have changed the tenant's configuration:
				// this node serves the change at once (PRODUCT.md §2: a scope
				// removed from an allowlist stops appearing at once); other
				// nodes follow through the catalog's polling. The router
				// does it, so no page can forget it.
				h.Catalog.Invalidate(req.TenantID())
			}
		}
		if err != nil {
			h.fail(w, r, req, err)
		}
	}
}

// toSignIn sends a browser without a session to sign in, and back here
// afterwards (GET only: a form sent without a session is not replayed).
func (h *Handler) toSignIn(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) {
	next := base(snap) + "/"
	if r.Method == http.MethodGet {
		next = base(snap) + strings.TrimPrefix(r.URL.RequestURI(), model.ConsolePath)
	}
	http.Redirect(w, r, base(snap)+"/signin?next="+url.QueryEscape(next), http.StatusFound)
}

// base is the console's external path under the tenant's issuer.
func base(snap *catalog.Snapshot) string {
	u, err := url.Parse(snap.Tenant.Issuer)
	if err != nil {
		return model.ConsolePath
	}
	return strings.TrimSuffix(u.Path, "/") + model.ConsolePath
}

// setSecurityHeaders sets what every console response carries: no caching
// (pages show secrets and personal data), no framing, no sniffing, no
// referrer, and the Content-Security-Policy of the console's pages.
func setSecurityHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
}

// contentSecurityPolicy allows the console's own stylesheet, script and
// images only: no inline script or style, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
