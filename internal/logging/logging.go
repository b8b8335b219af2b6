package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Redacted replaces every value the handler hides.
const Redacted = "[REDACTED]"

// sensitive are attribute keys (compared in lower case) whose values never
// reach a log, whatever code logs them (ARCHITECTURE.md habit 4). The same
// names are redacted as form fields, query parameters and headers.
var sensitive = map[string]bool{
	"client_secret": true, "client_assertion": true, "code": true, "code_verifier": true,
	"refresh_token": true, "access_token": true, "id_token": true, "id_token_hint": true,
	"token": true, "password": true, "new_password": true, "authorization": true,
	"secret": true, "master_key": true, "cookie": true, "set-cookie": true,
}

// Value patterns redacted inside any string or error text, for credentials
// that reach a log under an innocent key (an error quoting a request, a
// URL with its query): a JWT (JWS or JWE compact form, whose header always
// starts with eyJ, base64url of `{"`), an HTTP Basic or Bearer credential,
// and a sensitive parameter written as name=value.
var (
	jwtPattern   = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_.-]*`)
	credPattern  = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]+`)
	paramPattern = regexp.MustCompile(`(?i)\b(client_secret|client_assertion|code|code_verifier|refresh_token|access_token|id_token|id_token_hint|token|password)=[^&\s"',;]+`)
)

// Options configure New.
type Options struct {
	// Level is the minimum level written (default Info).
	Level slog.Leveler
	// Text writes logfmt-style text instead of JSON lines.
	Text bool
}

// New returns the process logger: JSON lines (or text) to w through
// Handler, so every line is redacted and carries its request ID.
func New(w io.Writer, o Options) *slog.Logger {
	if o.Level == nil {
		o.Level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: o.Level}
	var h slog.Handler
	if o.Text {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(&Handler{inner: h})
}

// Wrap returns l with its handler behind Handler, unless it already is; nil
// gives a logger that discards. A component that is handed a logger by an
// embedder (server.New) wraps it, so no code path logs around the redaction.
func Wrap(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	if _, ok := l.Handler().(*Handler); ok {
		return l
	}
	return slog.New(&Handler{inner: l.Handler()})
}

// ParseLevel parses debug, info, warn or error (any case).
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return slog.LevelInfo, fmt.Errorf("log level %q must be debug, info, warn or error", s)
	}
	return l, nil
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request's ID, which Handler adds to
// every line logged with that context.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request ID WithRequestID put in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Handler is the one slog.Handler: it redacts every attribute (see the
// package doc) and adds request_id from the context, then hands the record
// to the inner handler that formats it. Redaction happens here rather than
// in HandlerOptions.ReplaceAttr so that it also covers a handler an
// embedder supplies (Wrap).
type Handler struct {
	inner slog.Handler
}

// Enabled reports whether the inner handler writes level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle redacts r's message and attributes and adds the request ID.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redact(a))
		return true
	})
	if id := RequestID(ctx); id != "" {
		out.AddAttrs(slog.String("request_id", id))
	}
	return h.inner.Handle(ctx, out)
}

// WithAttrs redacts as before the inner handler keeps them.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = redact(a)
	}
	return &Handler{inner: h.inner.WithAttrs(red)}
}

// WithGroup opens a group on the inner handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name)}
}

// redact returns a with a sensitive key's value replaced, and credentials
// cut out of strings, errors, forms and headers, groups included.
func redact(a slog.Attr) slog.Attr {
	a.Value = a.Value.Resolve()
	if sensitive[strings.ToLower(a.Key)] {
		return slog.String(a.Key, Redacted)
	}
	switch a.Value.Kind() {
	case slog.KindString:
		return slog.String(a.Key, scrub(a.Value.String()))
	case slog.KindGroup:
		gs := a.Value.Group()
		red := make([]any, len(gs))
		for i, g := range gs {
			red[i] = redact(g)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case error:
			return slog.String(a.Key, scrub(v.Error()))
		case url.Values:
			return slog.Any(a.Key, redactValues(v))
		case http.Header:
			return slog.Any(a.Key, http.Header(redactValues(url.Values(v))))
		case fmt.Stringer:
			return slog.String(a.Key, scrub(v.String()))
		case []byte:
			return slog.String(a.Key, scrub(string(v)))
		}
	}
	return a
}

func redactValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		if sensitive[strings.ToLower(k)] {
			out[k] = []string{Redacted}
			continue
		}
		c := make([]string, len(vs))
		for i, s := range vs {
			c[i] = scrub(s)
		}
		out[k] = c
	}
	return out
}

// scrub cuts credentials out of free text (see the patterns above). The
// cheap checks first keep the regexps off the common path.
func scrub(s string) string {
	if strings.Contains(s, "eyJ") {
		s = jwtPattern.ReplaceAllString(s, Redacted)
	}
	if strings.Contains(s, "=") {
		s = paramPattern.ReplaceAllString(s, "${1}="+Redacted)
	}
	if strings.ContainsAny(s, "bB") && credPattern.MatchString(s) {
		s = credPattern.ReplaceAllString(s, "${1}${2}"+Redacted)
	}
	return s
}
