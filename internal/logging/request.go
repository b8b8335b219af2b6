package logging

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/intelliauth/intelliauth/internal/store"
)

// StatusClientClosedRequest is the status recorded (in the access log and
// the metrics) for a request whose client went away before the answer:
// nginx's 499. It is never seen by a client, which is gone.
const StatusClientClosedRequest = 499

// RetryAfterSeconds is the Retry-After (RFC 9110 §10.2.3) sent with a 503
// for a storage outage: the node notices the database is back within about
// half a second (the pool redials on the next query), so a client that
// waits one second has a fair chance.
const RetryAfterSeconds = "1"

// Kind is what a failed request's error means for its status and its log
// level. Every error writer asks Classify, so that the three kinds are told
// apart in one place.
type Kind int

const (
	// Failed is any other error: the writer's own mapping stands (a 5xx is
	// a server fault, logged at Error).
	Failed Kind = iota
	// ClientGone: the client closed the connection (the request's context
	// was cancelled) before the answer. Not a server error: the writer
	// records StatusClientClosedRequest and logs at Debug.
	ClientGone
	// Unavailable: the storage did not answer (store.ErrUnavailable). The
	// writer answers 503 with Retry-After whatever it would have said, since
	// an answer computed from a failed read is not the client's fault.
	Unavailable
)

// Classify tells what err, returned while serving a request with context
// ctx, means. A request context is cancelled only when the client went away
// (the server's base context never is), so a cancelled ctx makes any error
// ClientGone — whatever the error is (context.Canceled itself, a driver's
// "interrupted", an audit wait cut short), nobody is left to read it.
func Classify(ctx context.Context, err error) Kind {
	switch {
	case err == nil:
		return Failed
	case errors.Is(ctx.Err(), context.Canceled):
		return ClientGone
	case errors.Is(err, store.ErrUnavailable):
		return Unavailable
	}
	return Failed
}

// Level is the log level of a refusal of kind k answered with status.
func Level(k Kind, status int) slog.Level {
	switch {
	case k == ClientGone:
		return slog.LevelDebug
	case k == Unavailable:
		// Logged once per request at Warn; the outage itself shows in
		// /readyz and in the audit log's Error lines.
		return slog.LevelWarn
	case status >= 500:
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Access is one request as the access log records it. It never holds the
// query string (authorization requests and a few misbehaving clients put
// credentials there) or any header.
type Access struct {
	Method   string
	Path     string // URL path only, cut at maxPath bytes
	Status   int
	Duration time.Duration
	Bytes    int64 // response body bytes written
	Tenant   string
	Peer     string // client address after the trusted-proxy rules
}

// maxPath bounds the path logged, so a long URL cannot inflate the log.
const maxPath = 256

// LogAccess writes a's line at Info through l (so it is redacted and
// carries request_id like every other line).
func LogAccess(ctx context.Context, l *slog.Logger, a Access) {
	path := a.Path
	if len(path) > maxPath {
		path = path[:maxPath] + "…"
	}
	l.LogAttrs(ctx, slog.LevelInfo, "request",
		slog.String("method", a.Method),
		slog.String("path", path),
		slog.Int("status", a.Status),
		slog.Float64("duration_ms", float64(a.Duration.Microseconds())/1000),
		slog.Int64("bytes", a.Bytes),
		slog.String("tenant", a.Tenant),
		slog.String("peer", a.Peer))
}
