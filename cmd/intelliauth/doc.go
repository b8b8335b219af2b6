// Command intelliauth is the IntelliAuth binary: the authorization server
// (serve), database migrations, the operator's admin CLI (tenants, scopes,
// APIs, applications, keys, explain), a token benchmark (bench), the build
// stamp (version, set by scripts/build.sh through -ldflags -X) and a
// readiness probe for shell-less container images (healthcheck).
//
// It is the composition root: it reads configuration (through
// internal/config, the only other place that reads the environment), opens
// the store, builds the audit log and the server, and wires signals to
// graceful shutdown. Admin subcommands act on the database directly through
// internal/admin, so every change is validated and audited exactly as the
// HTTP API will do it.
package main
