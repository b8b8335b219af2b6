// Package rs is the resource-server SDK of IntelliAuth: it verifies RFC 9068
// JWT access tokens and enforces scopes in net/http handlers, so that an API
// checks the two things every request needs — the audience (the token is
// for this API) and the scope (the token allows this action) — in a few
// lines:
//
//	v, err := rs.NewVerifier(ctx, rs.Config{
//		Issuer:   "https://auth.example.com/t/banking",
//		Audience: "api.banking.example.com",
//	})
//	if err != nil { … }
//	m := rs.NewMiddleware(v, rs.MiddlewareOptions{})
//	mux.Handle("GET /transactions", m.RequireScope("read:transactions")(listTransactions))
//	mux.Handle("POST /settings", m.RequireScope("write:settings")(changeSettings))
//
// and in a handler:
//
//	tok, _ := rs.FromContext(r.Context())
//	log.Print(tok.Subject, tok.ClientID, tok.Scopes)
//
// What it owns:
//
//   - Verifier: discovery (OpenID Connect Discovery / RFC 8414), the issuer's
//     JWKS through a KeySet (RemoteKeySet caches it, refetches on an unknown
//     kid at most once per MinRefetchInterval, refreshes in the background;
//     StaticKeySet for configured keys), and Verify: a strict compact-JWS
//     parser, an "alg" allowlist checked before any key is looked up
//     (RFC 8725 §3.1: never "none", never HMAC), typ "at+jwt" (RFC 9068 §4),
//     the signature (ECDSA and RSA from the standard library), "iss" exactly,
//     "aud" containing the API, exp/nbf/iat with a small leeway, and the
//     claims RFC 9068 §2.2 requires. Verified tokens are cached by their
//     SHA-256 until their exp, so a hot token costs well under a microsecond.
//   - Middleware: RFC 6750 bearer extraction (Authorization header only),
//     Authenticate, RequireScope, RequireAll, RequireAny, and the RFC 6750 §3
//     401/403 responses with WWW-Authenticate; the token in the request
//     context (FromContext).
//   - Introspector and Middleware.RequireActive: an RFC 7662 check, with a
//     short cache, for routes that must refuse a revoked token at once.
//
// What it does NOT do: it does not issue, refresh or revoke tokens, does not
// check revocation unless RequireActive is used, does not read tokens from
// query strings or form bodies, does not enforce TLS, and does not interpret
// ID tokens (their typ is refused).
//
// Errors of the token match ErrInvalidToken and one specific sentinel
// (ErrExpired, ErrAudience, …); errors reaching the issuer match
// ErrKeySetUnavailable or ErrIntrospection.
//
// Package rs imports the standard library, go-jose (for JWK parsing) and
// the public scope and oautherr packages of this module — never anything
// under internal/ and no database driver; internal/deptest holds that line.
// Package rs/rstest is a fake issuer for testing code that uses rs.
package rs
