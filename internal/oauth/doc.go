// Package oauth owns the protocol endpoints of one tenant:
//
//   - authorization (RFC 6749 §4.1, RFC 7636, OIDC Core 1.0 §3.1.2, RFC
//     9207): the authorize endpoint and its resume step, one state machine
//     (flow) across the login and consent pages of internal/login;
//   - token: one fixed pipeline — parse, authenticate the client, the
//     grant's hook (authorization_code, refresh_token, client_credentials:
//     its own checks and the decision's inputs), the scope decision, the
//     hook's mint, then the grant's write and its audit event committed
//     together, respond — so that no grant can skip a security step, and a
//     request that fails spends nothing; ID tokens (OIDC Core 1.0 §2);
//   - introspection (RFC 7662), revocation (RFC 7009), userinfo (OIDC Core
//     1.0 §5.3), RP-initiated logout (OIDC RP-Initiated Logout 1.0),
//     discovery (OIDC Discovery 1.0, RFC 8414) and the JWKS, with CORS for
//     the tenant's browser applications.
//
// Handlers expect the tenant snapshot in the request context
// (catalog.NewContext), put there by internal/server's router. Protocol
// failures are values written in one place: *oautherr.Error as JSON at the
// back-channel endpoints; at the browser-facing ones either a page
// (pageError: the client or redirect URI is not trusted) or a redirect to
// the client (redirectError) — never confused.
//
// It imports login, catalog, policy, audit, token, store, model, scope and
// oautherr; never server, admin or a database driver.
package oauth
