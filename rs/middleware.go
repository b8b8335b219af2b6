package rs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/intelliauth/intelliauth/oautherr"
	"github.com/intelliauth/intelliauth/scope"
)

// MiddlewareOptions configures a Middleware. Every field is optional.
type MiddlewareOptions struct {
	// Realm is the WWW-Authenticate realm (RFC 6750 §3); empty means the
	// verifier's audience.
	Realm string
	// Introspector backs RequireActive; without one RequireActive panics.
	Introspector *Introspector
	// Logger receives why a request was refused (Debug for token errors,
	// Warn when the issuer could not be reached). Nil means no logging. The
	// token itself is never logged.
	Logger *slog.Logger
}

// Middleware is net/http middleware that authenticates requests with a
// Verifier and requires scopes (RFC 6750). Its methods wrap handlers; a
// handler reached through any of them finds the verified token with
// FromContext. Wrappers nest: an inner one reuses the token the outer one
// verified.
//
// Responses it writes itself:
//
//   - no Authorization header, or another scheme than Bearer → 401 with
//     "WWW-Authenticate: Bearer realm=…" and no error code (RFC 6750 §3.1),
//     empty body;
//   - several Authorization headers, an empty bearer token, or an
//     "access_token" query or (already parsed) form parameter → 400
//     invalid_request: only the Authorization header is accepted (RFC 6750
//     §2.1), and a token sent twice is refused (§3.1);
//   - a token Verify refuses → 401, error="invalid_token" with a fixed
//     error_description, and a JSON body {"error","error_description"};
//   - a missing scope → 403, error="insufficient_scope" and scope="…" naming
//     the required scopes, and the JSON body
//     {"error":"insufficient_scope","required":"…"};
//   - issuer keys or introspection unreachable → 503 temporarily_unavailable.
//
// Every error response has Cache-Control: no-store. The middleware does NOT
// read request bodies (a token in an unparsed form body is simply not
// seen), does not check the request's method or origin, and does not
// enforce TLS.
type Middleware struct {
	v      *Verifier
	intro  *Introspector
	realm  string
	logger *slog.Logger
}

// NewMiddleware returns middleware over v. It panics if v is nil.
func NewMiddleware(v *Verifier, opts MiddlewareOptions) *Middleware {
	if v == nil {
		panic("rs: NewMiddleware needs a Verifier")
	}
	realm := opts.Realm
	if realm == "" {
		realm = v.Audience()
	}
	return &Middleware{v: v, intro: opts.Introspector, realm: realm, logger: opts.Logger}
}

type ctxKey struct{}

// NewContext returns ctx carrying t; FromContext returns it. The
// middleware trusts a token found in the context without verifying it
// again, so only put verified tokens there (tests of handlers may use it to
// skip the middleware).
func NewContext(ctx context.Context, t *Token) context.Context {
	return context.WithValue(ctx, ctxKey{}, t)
}

// FromContext returns the verified token the middleware stored in a
// request's context.
func FromContext(ctx context.Context) (*Token, bool) {
	t, ok := ctx.Value(ctxKey{}).(*Token)
	return t, ok && t != nil
}

// Authenticate requires a valid bearer token and no particular scope.
func (m *Middleware) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, r, ok := m.authenticate(w, r); ok {
			next.ServeHTTP(w, r)
		}
	})
}

// RequireScope requires a valid bearer token granting name. It panics at
// wrap time if name is not an RFC 6749 §3.3 scope-token.
func (m *Middleware) RequireScope(name string) func(http.Handler) http.Handler {
	return m.RequireAll(name)
}

// RequireAll requires a valid bearer token granting every one of names.
// The 403 names them all, space-separated in the order given. It panics at
// wrap time if names is empty or holds an invalid scope-token.
func (m *Middleware) RequireAll(names ...string) func(http.Handler) http.Handler {
	required := mustScopes("RequireAll", names)
	return m.require(required, func(s scope.Set) bool {
		for _, n := range names {
			if !s.Has(n) {
				return false
			}
		}
		return true
	})
}

// RequireAny requires a valid bearer token granting at least one of names.
// The 403's scope attribute and "required" list all of them: any one
// would do. It panics at wrap time if names is empty or holds an invalid
// scope-token.
func (m *Middleware) RequireAny(names ...string) func(http.Handler) http.Handler {
	required := mustScopes("RequireAny", names)
	return m.require(required, func(s scope.Set) bool {
		for _, n := range names {
			if s.Has(n) {
				return true
			}
		}
		return false
	})
}

// mustScopes validates scope names at wrap time and returns them
// space-joined.
func mustScopes(fn string, names []string) string {
	if len(names) == 0 {
		panic("rs: " + fn + " needs at least one scope")
	}
	for _, n := range names {
		if !scope.ValidToken(n) {
			panic("rs: " + fn + ": " + n + " is not an RFC 6749 §3.3 scope-token")
		}
	}
	return strings.Join(names, " ")
}

func (m *Middleware) require(required string, ok func(scope.Set) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t, r, authed := m.authenticate(w, r)
			if !authed {
				return
			}
			if !ok(t.Scopes) {
				m.log(r, slog.LevelDebug, "insufficient scope", "required", required, "client_id", t.ClientID)
				writeInsufficientScope(w, m.realm, required)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// RequireActive asks the Introspector whether the token is still active
// (not revoked) before calling next, for routes that must see a revocation
// at once rather than at the token's exp. It authenticates first if no
// outer wrapper did. An inactive token gets 401 invalid_token; an
// unreachable introspection endpoint gets 503 (the route fails closed).
// Put it inside the scope check, so that tokens without the scope never
// cost an introspection:
//
//	m.RequireScope("payments:approve")(m.RequireActive(h))
//
// It panics at wrap time if the middleware has no Introspector.
func (m *Middleware) RequireActive(next http.Handler) http.Handler {
	if m.intro == nil {
		panic("rs: RequireActive needs MiddlewareOptions.Introspector")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, r, ok := m.authenticate(w, r)
		if !ok {
			return
		}
		raw, err := bearer(r)
		if err != nil || raw == "" {
			// A token placed in the context by NewContext, with no header:
			// there is nothing to introspect.
			m.fail(w, r, fmt.Errorf("%w: no bearer token to introspect", ErrInactive))
			return
		}
		active, err := m.intro.Active(r.Context(), raw)
		if err == nil && !active {
			err = ErrInactive
		}
		if err != nil {
			m.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// errInvalidRequest marks a request the middleware refuses with 400.
type errInvalidRequest string

func (e errInvalidRequest) Error() string { return string(e) }

// bearer extracts the token per RFC 6750 §2.1:
//
//	credentials = "Bearer" 1*SP b64token
//
// The scheme is case-insensitive (RFC 9110 §11.1). It returns "" and no
// error when there is no bearer credential at all (no header or another
// scheme), and an errInvalidRequest when the request is malformed.
func bearer(r *http.Request) (string, error) {
	if r.URL.RawQuery != "" && r.URL.Query().Has("access_token") ||
		r.Form != nil && r.Form.Has("access_token") {
		return "", errInvalidRequest("send the access token in the Authorization header only")
	}
	vals := r.Header.Values("Authorization")
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", errInvalidRequest("more than one Authorization header")
	}
	scheme, rest, _ := strings.Cut(vals[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", nil
	}
	tok := strings.TrimLeft(rest, " ")
	if tok == "" {
		return "", errInvalidRequest("the Bearer credential is empty")
	}
	if !isB64Token(tok) {
		return "", fmt.Errorf("%w: the Bearer credential is not an RFC 6750 b64token", ErrMalformed)
	}
	return tok, nil
}

// isB64Token is RFC 6750 §2.1:
//
//	b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// authenticate returns the request's verified token and a request whose
// context carries it, or writes the error response and returns false.
func (m *Middleware) authenticate(w http.ResponseWriter, r *http.Request) (*Token, *http.Request, bool) {
	if t, ok := FromContext(r.Context()); ok {
		return t, r, true
	}
	raw, err := bearer(r)
	if err != nil {
		m.fail(w, r, err)
		return nil, r, false
	}
	if raw == "" {
		h := w.Header()
		h.Set("WWW-Authenticate", oautherr.BearerChallenge(m.realm, "", "", ""))
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusUnauthorized)
		return nil, r, false
	}
	t, err := m.v.Verify(r.Context(), raw)
	if err != nil {
		m.fail(w, r, err)
		return nil, r, false
	}
	return t, r.WithContext(NewContext(r.Context(), t)), true
}

// fail writes the response for a refused request.
func (m *Middleware) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ir errInvalidRequest
	switch {
	case errors.As(err, &ir):
		m.log(r, slog.LevelDebug, "invalid request", "err", err)
		w.Header().Set("WWW-Authenticate", oautherr.BearerChallenge(m.realm, oautherr.InvalidRequest, string(ir), ""))
		oautherr.Write(w, oautherr.New(oautherr.InvalidRequest, string(ir)))
	case errors.Is(err, ErrInvalidToken):
		m.log(r, slog.LevelDebug, "invalid token", "err", err)
		desc := description(err)
		w.Header().Set("WWW-Authenticate", oautherr.BearerChallenge(m.realm, oautherr.InvalidToken, desc, ""))
		oautherr.Write(w, oautherr.New(oautherr.InvalidToken, desc))
	default:
		// The issuer's keys or introspection could not be reached, or the
		// client went away: fail closed without blaming the token.
		m.log(r, slog.LevelWarn, "cannot verify token", "err", err)
		w.Header().Set("Retry-After", "5")
		oautherr.Write(w, oautherr.New(oautherr.TemporarilyUnavailable, "the access token cannot be checked right now"))
	}
}

// insufficientScope is the seed's 403 body: {"error":"insufficient_scope","required":"…"}.
type insufficientScope struct {
	Error    string `json:"error"`
	Required string `json:"required"`
}

// writeInsufficientScope is RFC 6750 §3.1 insufficient_scope: 403, with
// the scope attribute naming the scopes the request needs.
func writeInsufficientScope(w http.ResponseWriter, realm, required string) {
	body, _ := json.Marshal(insufficientScope{Error: oautherr.InsufficientScope, Required: required})
	h := w.Header()
	h.Set("WWW-Authenticate", oautherr.BearerChallenge(realm, oautherr.InsufficientScope, "", required))
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write(body)
}

func (m *Middleware) log(r *http.Request, level slog.Level, msg string, args ...any) {
	if m.logger == nil {
		return
	}
	m.logger.Log(r.Context(), level, "rs: "+msg, append(args, "method", r.Method, "path", r.URL.Path)...)
}
