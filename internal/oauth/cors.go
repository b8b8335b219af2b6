package oauth

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"github.com/intelliauth/intelliauth/internal/catalog"
)

// corsMode says which origins an endpoint answers cross-origin requests
// for.
type corsMode int

const (
	// corsTenant: the web origins of any application of the tenant
	// (discovery, JWKS, userinfo).
	corsTenant corsMode = iota
	// corsClient: on the actual request, the authenticated client's own
	// origins (token, revocation); a preflight, which carries no
	// credentials, is answered for any application's origin.
	corsClient
)

// corsMaxAge is how long a browser may cache a preflight answer, seconds.
const corsMaxAge = "600"

// cors answers CORS (the Fetch standard) for browser applications: a
// preflight (OPTIONS with Access-Control-Request-Method) gets
// Access-Control-Allow-Origin, -Methods and -Headers when the Origin is
// one of the tenant's applications' web origins; an actual request gets
// Access-Control-Allow-Origin under the mode's rule. Any other origin gets
// no CORS header at all, so the browser withholds the response. Credentials
// (cookies) are never allowed: these endpoints authenticate with the
// request's parameters and headers only.
func (h *Handler) cors(mode corsMode, methods string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if r.Method == http.MethodOptions {
			hdr := w.Header()
			hdr.Add("Vary", "Origin")
			hdr.Add("Vary", "Access-Control-Request-Method")
			hdr.Add("Vary", "Access-Control-Request-Headers")
			hdr.Set("Allow", methods+", OPTIONS")
			if snap, ok := catalog.FromContext(r.Context()); ok && origin != "" &&
				r.Header.Get("Access-Control-Request-Method") != "" && h.tenantOrigin(r.Context(), snap, origin) {
				hdr.Set("Access-Control-Allow-Origin", origin)
				hdr.Set("Access-Control-Allow-Methods", methods)
				hdr.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
				hdr.Set("Access-Control-Max-Age", corsMaxAge)
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		// Vary on every answer, with or without Origin: discovery and the
		// JWKS are cacheable, and a shared cache must not hand one origin's
		// answer to another.
		w.Header().Add("Vary", "Origin")
		if origin != "" {
			if mode == corsTenant {
				if snap, ok := catalog.FromContext(r.Context()); ok && h.tenantOrigin(r.Context(), snap, origin) {
					allowOrigin(w, origin)
				}
			}
		}
		next(w, r)
	}
}

// allowOrigin lets the browser hand the response to a script of origin.
func allowOrigin(w http.ResponseWriter, origin string) {
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Origin", origin)
	hdr.Set("Access-Control-Expose-Headers", "WWW-Authenticate")
}

// allowClientOrigin allows the request's Origin when it is one of the
// authenticated client's own web origins (token and revocation endpoints).
func allowClientOrigin(w http.ResponseWriter, r *http.Request, app *catalog.App) {
	origin := r.Header.Get("Origin")
	if origin == "" || app == nil {
		return
	}
	for _, o := range app.Origins() {
		if strings.EqualFold(o, origin) {
			allowOrigin(w, origin)
			return
		}
	}
}

// originCache holds, per tenant, the set of every application's web
// origins for one configuration snapshot.
type originCache struct {
	mu sync.Mutex
	m  map[string]*originSet
}

type originSet struct {
	snap    *catalog.Snapshot
	origins map[string]bool
}

// tenantOrigin reports whether origin is a web origin of one of the
// tenant's applications. The set is built once per snapshot; a failure to
// build it denies (no CORS headers) and is retried on the next request.
func (h *Handler) tenantOrigin(ctx context.Context, snap *catalog.Snapshot, origin string) bool {
	if origin == "null" {
		return false
	}
	c := &h.origins
	c.mu.Lock()
	set := c.m[snap.Tenant.ID]
	c.mu.Unlock()
	if set == nil || set.snap != snap {
		apps, err := h.Store.Applications().All(ctx, snap.Tenant.ID)
		if err != nil {
			h.Logger.WarnContext(ctx, "CORS: list applications", "tenant", snap.Tenant.ID, "err", err)
			return false
		}
		set = &originSet{snap: snap, origins: map[string]bool{}}
		for _, a := range apps {
			for _, o := range a.Origins() {
				set.origins[strings.ToLower(o)] = true
			}
		}
		c.mu.Lock()
		if c.m == nil {
			c.m = map[string]*originSet{}
		}
		c.m[snap.Tenant.ID] = set
		c.mu.Unlock()
	}
	return set.origins[strings.ToLower(origin)]
}
