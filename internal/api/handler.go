package api

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
)

// Prefix is where the API lives, relative to a tenant's issuer.
const Prefix = "/api/v1"

// Handler serves the platform API of every tenant of a node; the tenant
// comes from the request context (catalog.FromContext), set by the
// server's tenant routing. Its fields are set by the composition root.
type Handler struct {
	Admin *admin.Service
	// Store checks revocations and the users behind tokens.
	Store store.Store
	// Catalog gives each tenant's keys and registry; writes invalidate it
	// so this node serves a change at once (other nodes follow through the
	// catalog's revision polling).
	Catalog *catalog.Catalog
	Logger  *slog.Logger
	// Now is the clock for token expiry; nil means time.Now.
	Now func() time.Time
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

// Route is one operation of the API: a method, a path pattern relative to
// the issuer (Go 1.22 ServeMux syntax), the admin use-case it exposes and
// the platform scope guarding it, which is always Op.Scope() (both empty
// for the public OpenAPI document).
type Route struct {
	Method string
	Path   string
	Op     admin.Op
	Scope  string
}

// routes mounts every route group. Add a group here (see doc.go).
func (h *Handler) routes(rt *router) {
	rt.handlePublic("GET", Prefix+"/openapi.json", h.openAPI)
	h.scopeRoutes(rt)
	h.apiRoutes(rt)
	h.applicationRoutes(rt)
	h.userRoutes(rt)
	h.groupRoutes(rt)
	h.roleRoutes(rt)
	h.settingsRoutes(rt)
	h.auditRoutes(rt)
	h.meRoutes(rt)
	h.mfaRoutes(rt)
	h.webauthnRoutes(rt)
}

// Register mounts the API on mux, relative to the tenant's issuer. Every
// path under /api/v1/ answers with a problem document: unknown paths 404,
// known paths with another method 405 (with Allow).
func (h *Handler) Register(mux *http.ServeMux) {
	rt := &router{h: h, mux: mux, methods: map[string][]string{}}
	h.routes(rt)
	for path, methods := range rt.methods {
		allow := strings.Join(methods, ", ")
		notAllowed := func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeProblem(w, newProblem(http.StatusMethodNotAllowed, CodeMethodNotAllowed,
				r.Method+" is not supported here; this path accepts "+allow+"."))
		}
		// One pattern per other method, not one for the bare path: a
		// literal segment beside a wildcard (/me/mfa/totp beside
		// /me/mfa/{id}) would make a bare-path pattern and a route of
		// the wildcard path conflict in ServeMux.
		for _, m := range standardMethods {
			if slices.Contains(methods, m) {
				continue
			}
			mux.HandleFunc(m+" "+path, notAllowed)
		}
	}
	mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, notFound("There is no %s route; the routes are listed in %s/openapi.json.", r.URL.Path, Prefix))
	})
}

// standardMethods are the methods of RFC 9110 §9 and PATCH (RFC 5789):
// a known path answers any of them it does not accept with 405. HEAD is
// not listed: a GET pattern matches HEAD too.
var standardMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace}

// Routes lists every route the handler mounts, in registration order.
func (h *Handler) Routes() []Route {
	rt := &router{h: h, methods: map[string][]string{}}
	h.routes(rt)
	return rt.list
}

// handlerFunc is a route's handler: it returns its error instead of writing
// it, so that errors are mapped and logged in one place (writeError).
type handlerFunc func(w http.ResponseWriter, r *Request) error

// router mounts routes with their guard and records them.
type router struct {
	h       *Handler
	mux     *http.ServeMux // nil when only listing
	list    []Route
	methods map[string][]string // path → methods, for 405 answers
}

// handle mounts f at method + path (path relative to the issuer, starting
// with /api/v1/, wildcards as in net/http: {name}) behind the bearer-token
// guard requiring op's platform scope, from admin's one table of who may do
// what (admin.Op.Scope).
func (rt *router) handle(method, path string, op admin.Op, f handlerFunc) {
	scope := op.Scope()
	if scope == "" {
		panic("api: route " + method + " " + path + ": " + string(op) + " is not an admin.Op with a scope")
	}
	rt.add(Route{Method: method, Path: path, Op: op, Scope: scope}, rt.h.guard(op, checkedInput(path, f)))
}

// handlePublic mounts f without authentication (the OpenAPI document only).
func (rt *router) handlePublic(method, path string, f handlerFunc) {
	rt.add(Route{Method: method, Path: path}, rt.h.public(checkedInput(path, f)))
}

func (rt *router) add(r Route, hf http.HandlerFunc) {
	method, path := r.Method, r.Path
	rt.list = append(rt.list, r)
	if !slices.Contains(rt.methods[path], method) {
		rt.methods[path] = append(rt.methods[path], method)
	}
	if rt.mux != nil {
		rt.mux.HandleFunc(method+" "+path, hf)
	}
}

// Request is an authenticated API request: the HTTP request, the tenant's
// snapshot, the verified token and the actor recorded in audit events.
type Request struct {
	*http.Request
	Snap   *catalog.Snapshot
	Claims token.AccessClaims
	// Actor is the user when the token came from a user flow (it has
	// auth_time and its subject is a user of the tenant), else the client.
	Actor admin.Actor
}

// TenantID is the tenant the request is for.
func (r *Request) TenantID() string { return r.Snap.Tenant.ID }

// public serves a route that needs no token.
func (h *Handler) public(f handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		snap, ok := catalog.FromContext(r.Context())
		if !ok {
			http.NotFound(w, r)
			return
		}
		req := &Request{Request: r, Snap: snap}
		if err := f(w, req); err != nil {
			h.writeError(w, r, req, err)
		}
	}
}

// invalidate drops the tenant's cached snapshot after a write, so the next
// request on this node (a token request, say) sees the change.
func (h *Handler) invalidate(r *Request) {
	if h.Catalog != nil {
		h.Catalog.Invalidate(r.TenantID())
	}
}
