// Package playground is the demo's built-in OpenID Connect relying party:
// a page under a tenant's issuer ({issuer}/playground) that signs a person
// in to the demo's public SPA (banking-spa) exactly the way a browser app
// does, and shows what came back.
//
// The flow, all server-rendered (no JavaScript, no external assets):
//
//	GET /playground            a start page: what will be asked for, and a sign-in link
//	GET /playground/start      new PKCE S256 verifier, state and nonce in a short-lived
//	                           HttpOnly cookie scoped to the playground's path; 302 to
//	                           /oauth2/authorize (code flow, scope, audience, nonce)
//	   … /login, /consent (internal/login), back through /oauth2/authorize …
//	GET /playground/callback   checks iss (RFC 9207) and state, exchanges the code at
//	                           the tenant's token endpoint over real HTTP as the public
//	                           client (no secret, code_verifier), verifies the ID token
//	                           (signature against the JWKS, iss, aud, nonce) and shows
//	                           both tokens decoded, the granted scope, and links to
//	                           start again or sign out (RP-initiated logout with
//	                           id_token_hint, back to /playground).
//
// It is for the demo only: the composition root mounts it when serving
// --demo, and it answers 404 for every tenant but the one it is given.
// It keeps no server-side state; the cookie is what a browser app keeps in
// its own storage. It never logs a code or a token.
//
// It may import catalog (for the request's tenant) and what catalog
// imports, and go-jose for signatures; never oauth, login, admin, server or
// a database driver — it talks to the authorization server over HTTP only.
package playground
