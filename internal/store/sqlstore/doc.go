// Package sqlstore owns the one implementation of store.Store over
// database/sql that both SQL backends share: every query, the transaction and
// savepoint discipline, the tenant revision bumps, the error mapping to the
// store sentinels, and the versioned migration runner.
//
// Queries are written once with PostgreSQL-style $N placeholders, which
// modernc.org/sqlite binds the same way, so no SQL is rewritten per dialect.
// What really differs between dialects — how a driver reports a unique or
// foreign-key violation, how concurrent migrations are excluded, and the
// migration files themselves — is handed in as a Dialect by the backend
// packages (internal/store/sqlite, internal/store/postgres).
//
// Storage conventions, shared by both schemas:
//   - timestamps are BIGINT unix microseconds in UTC, so round-trips are exact
//     to the microsecond and come back in time.UTC whatever the driver;
//     optional instants filled in later (a secret's expiry, a code's use, a
//     token's rotation, a lockout) are NULL for the zero time;
//   - durations are BIGINT nanoseconds (time.Duration);
//   - string lists that are never queried (claims, redirect URIs, grant types,
//     audit scopes as listed) are JSON arrays in TEXT;
//   - lists that are queried or rewritten (scope implies, application
//     allowlists, role scopes, group roles, consent scopes, audit scopes for
//     search) live in child tables;
//   - a user's and an application's flow state (assignments, memberships,
//     consents, sessions, requests, codes, refresh tokens) refers to its
//     owner with ON DELETE CASCADE, so deleting the owner takes it along;
//   - single-use credentials are spent by one conditional UPDATE
//     (… AND used_at IS NULL) whose affected-row count says who won, so
//     concurrent redemptions need no lock beyond the row's own.
//
// This package imports internal/store, internal/model and the standard
// library only: never a database driver (drivers belong to the backends), and
// nothing above the store layer.
package sqlstore
