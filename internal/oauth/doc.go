// Package oauth owns the protocol endpoints of one tenant: token (a fixed
// pipeline — parse, authenticate the client, run the grant's hook, which runs
// the scope decision, audit, respond — so that no grant can skip a security
// step), introspection (RFC 7662), revocation (RFC 7009), discovery
// (OIDC Discovery 1.0, RFC 8414) and the JWKS.
//
// Handlers expect the tenant snapshot in the request context
// (catalog.NewContext), put there by internal/server's router. Protocol
// failures are *oautherr.Error values written in one place.
//
// It imports catalog, policy, audit, token, store, model, scope and
// oautherr; never server, admin or a database driver.
package oauth
