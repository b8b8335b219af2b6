// Package admin owns the administrative use-cases of a tenant: creating
// tenants (with their platform API, predefined scopes and signing keys),
// managing the scope registry, APIs, applications and their allowlists and
// secrets, end users, roles and groups, rotating signing keys, explaining
// the scope decision (for a client, or for a user with their entitlements
// and consent), searching and exporting the audit log, the scope-usage
// report, the signed-in user's own account (the me use-cases: profile,
// password, consents, sessions, second factors — always the actor's own),
// the sign-in checks of second factors (mfa.go: TOTP codes and recovery
// codes, replay-proof and throttled per user), and seeding the demo tenant.
//
// Every use-case that changes something validates with the model's own
// invariants plus the cross-entity rules only a registry-wide view can check
// (an allowlisted scope exists, an implied scope belongs to the same API),
// then runs in ONE store transaction together with its audit event, so an
// admin change and its record are committed or rolled back together. Bad
// input returns an error wrapping model.ErrInvalid (a *model.ValidationError
// listing every problem); lookups of missing entities wrap store.ErrNotFound;
// stale versions wrap store.ErrPrecondition; duplicates wrap
// store.ErrConflict; a me use-case called by a client or a disabled user
// wraps ErrForbidden, and a password change (or a second-factor code) while
// the account is locked is a *ThrottledError (ErrThrottled); a refused code
// is ErrInvalidCode (ErrCodeReplayed for a replay). A PageActor (the
// account page, the sign-in pages: a user with their browser session, no
// token) runs the me use-cases only; every other use-case refuses it with
// ErrForbidden. A change that would grant platform
// scopes the actor's token lacks, or hand it an application or user holding
// them, is an *InsufficientScopeError (ErrInsufficientScope; the one rule
// is in escalation.go, and only the operator's System actor holds every
// platform scope). A refusal carries the sentence a caller may read in an
// *Error (errors.go: refuse, lookupErr, writeErr), written where the
// use-case refuses; Describe is the one mapping of an error to its kind
// (hence its HTTP status) and that sentence, which /api/v1, the console and
// the account pages share — none of them reads err.Error().
//
// Who may do what is one table, in ops.go: each use-case a surface exposes
// is an Op, and Op.Scope is the platform scope a caller's token must carry
// for it. /api/v1's guard and the console both read it; the use-cases do
// not check it themselves (the CLI's System actor holds every scope).
//
// Reads of the audit log and the reports run outside any transaction (on
// SQLite from the read pool), so a long search never holds the single
// writer the token endpoint's audit log needs.
//
// It may import model, policy, scope, store, token, audit, secret,
// password (argon2id for end-user passwords) and mfa (TOTP and recovery
// codes); never
// oauth, server, api, console, config or a database driver.
package admin
