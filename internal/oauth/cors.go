package oauth

import (
	"net/http"
	"strings"

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
				r.Header.Get("Access-Control-Request-Method") != "" && tenantOrigin(snap, origin) {
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
				if snap, ok := catalog.FromContext(r.Context()); ok && tenantOrigin(snap, origin) {
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

// tenantOrigin reports whether origin is a web origin of one of the
// tenant's applications ("null" never is).
func tenantOrigin(snap *catalog.Snapshot, origin string) bool {
	return origin != "null" && snap.AllowsOrigin(origin)
}
