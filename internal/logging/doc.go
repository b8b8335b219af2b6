// Package logging owns the process's one slog handler and what it says about
// requests: every line goes through Handler, which redacts credentials
// (client_secret, code, refresh_token, password, Authorization, token values
// — by attribute key, and JWTs or Basic/Bearer credentials wherever they
// appear in a string or error) and adds the request ID that the server's
// middleware put in the context; Access writes the one access-log line per
// request; Classify tells a failure the server caused from a client that went
// away (status 499, logged at Debug) and from a storage outage (503 with
// Retry-After), so that every error writer — the OAuth endpoints, the
// end-user pages, the platform API — decides the same way.
//
// It imports internal/store (for store.ErrUnavailable) and the standard
// library only; it never imports an HTTP feature package, and config never
// imports it: the composition root (cmd/intelliauth) builds the logger from
// the configuration's values. internal/deptest holds that line.
package logging
