package server

import (
	"context"
	"io"
	"log/slog"
	"strings"
)

// sensitive are attribute keys whose values never reach a log, whatever
// code logs them (ARCHITECTURE.md habit 4).
var sensitive = map[string]bool{
	"client_secret": true, "code": true, "refresh_token": true, "access_token": true,
	"id_token": true, "token": true, "password": true, "authorization": true,
	"secret": true, "master_key": true, "cookie": true, "set-cookie": true,
}

// NewLogger returns a JSON (or text) logger that adds the request ID from
// the context and redacts sensitive attributes.
func NewLogger(w io.Writer, level slog.Leveler, jsonFormat bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redact}
	var h slog.Handler
	if jsonFormat {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(requestIDHandler{h})
}

func redact(_ []string, a slog.Attr) slog.Attr {
	if sensitive[strings.ToLower(a.Key)] {
		return slog.String(a.Key, "[REDACTED]")
	}
	return a
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
