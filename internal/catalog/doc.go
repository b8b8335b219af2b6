// Package catalog owns each node's cached, read-only view of a tenant's
// configuration — tenant, scope registry, APIs, applications with their
// secret hashes, and decrypted signing keys — so that the token endpoint
// touches the database only to write.
//
// Consistency across nodes: every configuration write bumps the tenant's
// revision in the same transaction (a store invariant). A node polls the
// revisions (one cheap query) and reloads a tenant whose revision moved; a
// lookup that misses (unknown client, wrong secret) re-checks the revision
// through Catalog.Recheck, so a change made on another node is seen within one
// poll interval and never causes a false refusal. Recheck is the only such
// path: it reads a tenant's revision at most once per RecheckInterval, shared
// by every caller, so a flood of bad credentials is not a flood of queries.
// Invalidate and Refresh bump a per-tenant generation, so a load that began
// before them is neither installed nor joined.
//
// It imports model, policy, store and token; never oauth or server.
package catalog
