// Package storetest owns the conformance suite every store.Store backend
// runs: RunTests for the contract of internal/store (CRUD of every entity,
// error identity, UTC and microsecond round-trips, tenant isolation,
// optimistic concurrency, revision bumps, scope rename and delete, secrets,
// keys, revocations, audit search, transactions, pagination), and
// RunMigrationTests for the versioned schema of the SQL backends.
//
// It is imported only by tests. It imports internal/store, internal/model
// and the standard library (testing included) — never a backend or a
// driver, so the suite cannot lean on one backend's internals.
package storetest
