// Package login owns the end-user pages of a tenant — sign-in, the second
// factor (and step-up), consent and the account page — and the browser
// session they create.
//
// The authorization endpoint (internal/oauth) stores a model.AuthRequest and
// sends the browser here; these pages fill the request in and send the
// browser back to ResumePath, where oauth carries on:
//
//	/oauth2/authorize ──(no session, prompt=login, max_age)──▶ GET /login?request=ID
//	        │                                                    │ POST /login (CSRF, throttle, argon2id)
//	        │                                                    ▼ new session cookie; AuthRequest.UserID, SessionID, AuthTime
//	        │◀────────────────── 303 {issuer}/oauth2/authorize/resume?request=ID
//	        │
//	        └──(AskScopes set)──▶ GET /consent?request=ID ── POST /consent (CSRF, same session)
//	                                         ▼ Allow: Consents.Grant, ConsentDone │ Deny: ConsentDone, Denied
//	                              303 {issuer}/oauth2/authorize/resume?request=ID ──▶ code or access_denied
//
// The second factor (docs/mfa.md): the authorization endpoint sends a
// signed-in browser to GET /mfa?request=ID (step_up=1 when a requested
// scope or acr_values asks for it) when SecondFactorNeed says one is due
// and the session's AMR has none; POST /mfa checks an authenticator code
// or a recovery code, and POST /mfa/webauthn/{begin,finish} (webauthn.go)
// a passkey, through internal/admin's factor use-cases; each adds the
// method(s) and "mfa" to the session's AMR, and resumes; a skippable step
// declined sets AuthRequest.MFASkipped. A sign-in without an authorization
// request (target.go: return=/account/…) serves the account page, which
// asks for the second factor the same way. A passkey can also replace the
// password: POST /login/webauthn/{begin,finish} signs in the user whose
// discoverable credential answers, opening the session as a password
// sign-in does (openSession).
//
// Sessions (OWASP Session Management Cheat Sheet): the cookie holds 32
// random bytes (base64url); the database holds only the hex SHA-256 of the
// cookie value as Session.ID, so a database read does not yield live
// cookies. The cookie is HttpOnly, SameSite=Lax (the authorization request
// arrives as a cross-site top-level GET, which Lax allows and Strict would
// not), Secure over TLS, and scoped to the tenant's issuer path. Every
// sign-in creates a new session and deletes the one the browser held, so a
// cookie planted before sign-in is never promoted (session fixation).
//
// Throttling (OWASP Authentication Cheat Sheet, "Account Lockout"): failed
// sign-ins are counted per account and per client address (an IPv6 client
// per /64) in store.Throttles, so a lockout holds across nodes and restarts.
// Each attempt holds a slot of the budget, atomically in the store, while
// its password is checked: the failures of the window and the checks in
// flight together never exceed MaxFailures, so concurrent guesses share one
// budget instead of each passing a check made before any was counted, and
// an attempt that finds the budget held by checks in flight waits for
// them. Only a failure spends the budget (it takes its slot's place, in
// one transaction); a success gives its slot back and resets the count, so
// concurrent correct sign-ins all go through.
// A login naming no user is counted under a key derived from the name, so
// the lockout does not tell which accounts exist, and the password check
// runs against a dummy argon2id hash, so neither does the response time.
//
// CSRF (OWASP CSRF Prevention Cheat Sheet): double-submit cookie bound to
// the page. A random HttpOnly, SameSite=Strict cookie scoped to the issuer
// path, and a form field holding HMAC-SHA256(cookie, form name ‖ request
// ID); the POST must carry both and they must agree (constant-time). A
// request the browser marks Sec-Fetch-Site: cross-site or same-site is
// refused as well. No server-side key is needed, so any node can check a
// form another node rendered. The passkey script's JSON requests carry
// the same token in the X-CSRF-Token header instead of a form field.
//
// Pages are html/template with embedded templates and CSS, no external
// URL, and no JavaScript but the tenant's own WebAuthn script
// (AssetsPath + "webauthn.js", embedded; see webauthn.go), loaded only by
// the pages that offer a passkey, whose CSP then adds script-src 'self'
// and connect-src 'self' — never an inline script. Each page carries
// Content-Security-Policy with default-src 'none', the inline stylesheet
// allowed by its SHA-256 hash, frame-ancestors 'none', and form-action
// 'self' plus the origin of the request's redirect URI: browsers apply
// form-action to the redirects that follow a form submission, and the
// consent answer ends in a redirect to the client.
//
// It imports admin (the me and factor use-cases of the account page and
// the second factor), mfa, password, catalog, audit, store and model;
// never oauth or server (oauth imports it).
package login
