// Package console is the admin console of a tenant, {issuer}/console/
// (PRODUCT.md §5): server-rendered pages over the internal/admin use-cases,
// the same ones /api/v1 calls, with the same checks, preconditions, audit
// events and cache invalidation.
//
// # Sign-in
//
// The console is a relying party of its own tenant: the first-party
// application model.ConsoleClientID (admin.EnsureConsole), signed in through
// the tenant's /oauth2/authorize with PKCE like any other client:
//
//	GET /console/...        no session → 302 /console/signin?next=...
//	GET /console/signin     flow cookie (sealed: state, nonce, verifier, next)
//	                        → 302 {issuer}/oauth2/authorize (code, S256, resource = the platform API)
//	GET /console/callback   state checked → code exchanged at {issuer}/oauth2/token (in-process,
//	                        client_secret_basic) → session row (tokens sealed) + session cookie → 302 next
//	POST /console/signout   session deleted, refresh token revoked → 302 {issuer}/oauth2/logout
//	GET /console/signed-out
//
// The tokens stay on the server (model.ConsoleSession, sealed with the
// master key); the browser holds only an HttpOnly, SameSite=Lax cookie
// scoped to the console's path. A request whose access token is about to
// expire refreshes it first (the refresh re-runs the scope decision, so a
// withdrawn role takes effect within the console's 5-minute token
// lifetime); every request checks the access token with the tenant's one
// access-token check (token.AccessCheck), as /api/v1 does.
//
// # Authority
//
// What the signed-in user may do is what the scope decision granted the
// console's access token: each page and action names its admin.Op, and the
// router requires op.Scope() in the token before running it — the table
// /api/v1's guard reads. The actor handed to internal/admin is the user,
// with the token's scopes (for admin's escalation rule) and Via = console.
//
// # Pages
//
// html/template + embed; no inline script or style (CSP: script-src and
// style-src 'self'); every action is a plain form that works without
// JavaScript, each with a CSRF token bound to the session.
//
// It may import admin, catalog, token, store, model, policy, scope,
// logging and oautherr; never api, oauth, login, server or a database
// driver.
package console
