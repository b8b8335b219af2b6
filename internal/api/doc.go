// Package api is the platform API of a tenant, /api/v1 under the tenant's
// issuer (PRODUCT.md §4): JSON over HTTP on top of internal/admin, each
// route exposing one admin use-case (an admin.Op) and guarded by the
// platform scope admin's table requires for it, described by the
// OpenAPI 3 document openapi.json served at GET /api/v1/openapi.json.
//
// # Adding a route
//
// Write a method on *Handler that takes the router and mounts its routes,
// then call it from Handler.routes (handler.go). A route names the admin.Op
// it exposes, never a scope: the guard requires op.Scope(), from the one
// table in internal/admin that the console reads too. A new use-case gets
// its Op and its row in that table first.
//
//	func (h *Handler) auditRoutes(rt *router) {
//		rt.handle("GET", Prefix+"/audit", admin.OpSearchAudit, h.searchAudit)
//	}
//
//	func (h *Handler) searchAudit(w http.ResponseWriter, r *Request) error {
//		page, err := pageParams(r)           // ?page=&per_page= (400 on bad values)
//		if err != nil {
//			return err
//		}
//		... call h.Admin with r.Actor and r.TenantID() ...
//		if err != nil {
//			return err                      // mapped by writeError: never write errors yourself
//		}
//		return writeJSON(w, http.StatusOK, newList(items, page, total))
//	}
//
// A handler returns an error instead of writing one: writeError (problem.go)
// turns admin's errors into RFC 7807 problem details in one place, through
// admin.Describe — the mapping the console shares — which gives the status
// (model.ErrInvalid → 400 with errors[], admin.ErrForbidden → 403,
// store.ErrNotFound → 404, store.ErrConflict → 409, store.ErrPrecondition →
// 412, anything else → 500 with the cause logged, never shown) and the
// sentence the use-case wrote into its *admin.Error; no text is ever cut
// out of err.Error(). Return a *Problem for an error of the handler's own
// (badRequest, invalidField, forbidden, …).
//
// The router has already checked the bearer token (RFC 6750 §2.1 header
// only; signature, typ, iss, aud = the platform API, exp, revocation) and
// the route's scope before the handler runs; r.Actor is the user (a token
// from a user flow) or the client (client credentials) for audit records.
// Routes that only a signed-in user may call (me:*) use r.UserID(), which
// answers 403 for a client's token.
//
// Bodies are read with decodeJSON (1 MiB at most, unknown fields refused,
// type errors named by field); single resources are written with
// writeResource, which sets ETag: "v<version>"; writes that change a
// versioned resource read If-Match with ifMatch (428 when required and
// absent, `*` meaning "whatever is stored") and pass the version to admin,
// which answers store.ErrPrecondition (412) when it is stale. After a write,
// call h.invalidate(r) so this node serves the change at once.
//
// Every route must also be described in openapi.json: the tests validate
// every request and response of the API test suite against it and fail when
// a route is registered but not documented, documented but not registered,
// documented with another scope, or never exercised.
//
// It may import admin, catalog, token, store, model, policy, scope and
// oautherr; never oauth, login, server, console or a database driver.
package api
