package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/intelliauth/intelliauth/internal/logging"
	"github.com/intelliauth/intelliauth/oautherr"
)

type peerKey struct{}
type tenantKey struct{}

// tenantNote is where route writes the tenant a request was routed to, for
// the access log written by the middleware that wraps route.
type tenantNote struct{ id string }

// noteTenant records the tenant of the request for the access log.
func noteTenant(ctx context.Context, id string) {
	if n, ok := ctx.Value(tenantKey{}).(*tenantNote); ok {
		n.id = id
	}
}

// peer is who sent a request, after applying the proxy trust rules.
type peer struct {
	IP     netip.Addr
	Host   string
	Secure bool
}

// peerFrom returns the request's peer as the middleware resolved it.
func peerFrom(ctx context.Context) peer {
	p, _ := ctx.Value(peerKey{}).(peer)
	return p
}

// resolvePeer applies X-Forwarded-* only when the direct peer is a trusted
// proxy; otherwise a client could claim any address or host.
func (s *Server) resolvePeer(r *http.Request) peer {
	p := peer{Host: r.Host, Secure: r.TLS != nil}
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		p.IP, _ = netip.ParseAddr(h)
	}
	p.IP = p.IP.Unmap()
	if !s.trusted(p.IP) {
		return p
	}
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		hops := strings.Split(strings.Join(xff, ","), ",")
		// Walk from the nearest hop; the first untrusted address is the client.
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			p.IP = a.Unmap()
			if !s.trusted(p.IP) {
				break
			}
		}
	}
	if h := r.Header.Get("X-Forwarded-Host"); h != "" {
		p.Host = h
	}
	if proto := r.Header.Get("X-Forwarded-Proto"); proto != "" {
		p.Secure = strings.EqualFold(proto, "https")
	}
	return p
}

func (s *Server) trusted(ip netip.Addr) bool {
	for _, pre := range s.opts.TrustedProxies {
		if pre.Contains(ip) {
			return true
		}
	}
	return false
}

// statusWriter records the status code and body size for the access log
// and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware wraps every request: request ID, peer resolution, security
// headers, panic recovery, metrics and the access log.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		p := s.resolvePeer(r)
		id := r.Header.Get("X-Request-ID")
		if !s.trusted(peerIP(r)) || !validRequestID(id) {
			id = newRequestID()
		}
		ctx := logging.WithRequestID(r.Context(), id)
		ctx = context.WithValue(ctx, peerKey{}, p)
		tenant := &tenantNote{}
		ctx = context.WithValue(ctx, tenantKey{}, tenant)
		var span trace.Span
		if s.tracer != nil {
			// W3C Trace Context: continue the caller's trace when it sent
			// a traceparent.
			ctx = propagation.TraceContext{}.Extract(ctx, propagation.HeaderCarrier(r.Header))
			method, name := methodLabel(r.Method)
			ctx, span = s.tracer.Start(ctx, name+" "+routeLabel(r.URL.Path), trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", method), attribute.String("http.route", routeLabel(r.URL.Path)),
					attribute.String("request_id", id)))
		}
		r = r.WithContext(ctx)

		h := w.Header()
		h.Set("X-Request-ID", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		h.Set("X-Frame-Options", "DENY")
		if p.Secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(ctx, "panic serving request", "panic", v, "stack", string(debug.Stack()))
				if sw.status == 0 {
					oautherr.Write(sw, oautherr.New(oautherr.ServerError, "the server could not complete the request"))
				}
			}
			status := sw.status
			if status == 0 && logging.Classify(ctx, ctx.Err()) == logging.ClientGone {
				// Nothing was written and the client is gone: nginx's 499,
				// not the 200 an empty response would otherwise count as.
				status = logging.StatusClientClosedRequest
			}
			d := time.Since(start)
			s.metrics.observe(routeLabel(r.URL.Path), status, d)
			if span != nil {
				st := status
				if st == 0 {
					st = http.StatusOK
				}
				span.SetAttributes(attribute.Int("http.response.status_code", st), attribute.String("tenant", tenant.id))
				if st >= 500 {
					span.SetStatus(otelcodes.Error, http.StatusText(status))
				}
				span.End()
			}
			if s.opts.AccessLog {
				if status == 0 {
					status = http.StatusOK
				}
				logging.LogAccess(ctx, s.log, logging.Access{
					Method: r.Method, Path: r.URL.Path, Status: status, Duration: d,
					Bytes: sw.bytes, Tenant: tenant.id, Peer: p.IP.String(),
				})
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

func peerIP(r *http.Request) netip.Addr {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	a, _ := netip.ParseAddr(h)
	return a.Unmap()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// methodLabel bounds a request method, as the client sent it, for a span:
// a method of RFC 9110 or PATCH is itself, anything else (net/http accepts
// any token) is "_OTHER" as the method attribute and "HTTP" in the span
// name (the OpenTelemetry HTTP conventions).
func methodLabel(m string) (attr, name string) {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m, m
	}
	return "_OTHER", "HTTP"
}

// routeLabel maps a path to a bounded metric label: tenant IDs and unknown
// paths never become label values.
func routeLabel(path string) string {
	if rest, ok := strings.CutPrefix(path, "/t/"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			path = rest[i:]
		} else {
			path = "/"
		}
	}
	switch path {
	case "/oauth2/token", "/oauth2/introspect", "/oauth2/revoke",
		"/oauth2/authorize", "/oauth2/authorize/resume", "/oauth2/userinfo", "/oauth2/logout",
		"/login", "/consent", "/playground", "/playground/callback",
		"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server",
		"/.well-known/jwks.json", "/healthz", "/readyz", "/metrics":
		return path
	}
	return "other"
}
