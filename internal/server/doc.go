// Package server is the composition of the HTTP surface: it routes requests to
// a tenant (by the /t/{tenant} issuer path or by a custom domain), mounts the
// protocol endpoints, health and metrics, adds the request middleware
// (request IDs, redacting access logs, proxy trust, panics → 500), and runs
// the listener with graceful shutdown.
//
// It imports the feature packages (oauth, catalog, audit, token, store); no
// feature package imports it.
package server
