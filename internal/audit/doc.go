// Package audit owns the append-only audit log as the server writes it:
// Log, which stores events through store.Audit with group commit (many
// concurrent requests, one transaction and one fsync per batch, each request
// acknowledged only once its event is durable), and NewID, the time-sortable
// event ID that code writing audit rows in its own transaction uses too.
//
// Throttle decides which events of a flood are written (at most one per key
// per window, a cap per tenant) while counting every occurrence in the
// events that are.
//
// Searching the log is store.Audit.Search; this package does not wrap it.
//
// It imports internal/model, internal/store and the standard library only —
// never a database driver, token, protocol or HTTP package; internal/deptest
// holds that line.
package audit
