// Package store owns the storage contract: interfaces split by aggregate, the
// transaction boundary, and the sentinel errors every backend returns.
//
// Backends (internal/store/sqlite, internal/store/postgres) implement Store;
// internal/store/storetest is the conformance suite both run. This package
// imports only internal/model and the standard library — never a driver.
package store
