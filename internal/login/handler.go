package login

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"sync"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/audit"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/logging"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/password"
	"github.com/intelliauth/intelliauth/internal/store"
)

// ResumePath is where the pages send the browser back to, relative to the
// tenant's issuer, with ?request=ID. internal/oauth serves it.
const ResumePath = "/oauth2/authorize/resume"

// Defaults of the Handler's zero fields.
const (
	DefaultMaxFailures = 5
	DefaultWindow      = 15 * time.Minute
	DefaultLockFor     = 15 * time.Minute
	DefaultSessionTTL  = 12 * time.Hour
)

// ActorIP is the audit actor type of a sign-in attempt nobody is signed in
// for yet: the actor is the client address.
const ActorIP = "ip"

// Handler serves the sign-in and consent pages of every tenant; the tenant
// comes from the request context (catalog.FromContext). Set the fields,
// then call Register; the Handler is safe for concurrent use and must not
// be copied after first use.
type Handler struct {
	// Catalog is used to re-check a tenant whose snapshot does not know the
	// request's application yet (it was created on another node a moment
	// ago). Optional.
	Catalog *catalog.Catalog
	Store   store.Store
	// Admin runs the second-factor use-cases (checking and enrolling
	// factors) for the second-factor page; required.
	Admin *admin.Service
	// Audit is required: every sign-in, failure, lockout and consent is
	// recorded before the response is sent.
	Audit *audit.Log
	// Logger receives what the user is not shown; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ClientIP returns the client address after the server's proxy trust
	// rules; nil means the host of r.RemoteAddr.
	ClientIP func(*http.Request) string
	// Secure reports whether the browser reached the server over TLS
	// through a trusted proxy (X-Forwarded-Proto); optional. Cookies are
	// Secure when r.TLS is set, when Secure says so, or when the tenant's
	// issuer is https.
	Secure func(*http.Request) bool

	// MaxFailures failed sign-ins within Window, per account and per client
	// address, lock that account or address for LockFor (defaults 5, 15m,
	// 15m).
	MaxFailures     int
	Window, LockFor time.Duration
	// SessionTTL is the lifetime of a session from sign-in (default 12h).
	SessionTTL time.Duration
	// Metrics counts sign-in outcomes; nil counts nothing. The server
	// passes its Prometheus series (this package imports no metrics
	// library).
	Metrics Metrics
	// MaxHashing bounds the password checks running at once; each holds
	// 64 MiB. 0 means GOMAXPROCS: more would only queue on the CPUs while
	// holding memory.
	MaxHashing int

	once  sync.Once
	sem   chan struct{}
	dummy string // an argon2id hash of a random password, checked when no user matches
}

// Register mounts the pages on mux, relative to the tenant's issuer:
// GET and POST /login, /consent and /mfa, and the passkey ceremonies with
// their script (registerWebAuthn).
func (h *Handler) Register(mux *http.ServeMux) {
	h.registerAccount(mux)
	mux.HandleFunc("GET /login", h.withTenant(h.loginPage))
	mux.HandleFunc("POST /login", h.withTenant(h.loginSubmit))
	mux.HandleFunc("GET /consent", h.withTenant(h.consentPage))
	mux.HandleFunc("POST /consent", h.withTenant(h.consentSubmit))
	mux.HandleFunc("GET /mfa", h.withTenant(h.mfaPage))
	mux.HandleFunc("POST /mfa", h.withTenant(h.mfaSubmit))
	h.registerWebAuthn(mux)
}

func (h *Handler) init() {
	h.once.Do(func() {
		n := h.MaxHashing
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		h.sem = make(chan struct{}, n)
		var b [32]byte
		_, _ = rand.Read(b[:])
		d, err := password.Hash(base64.RawURLEncoding.EncodeToString(b[:]))
		if err != nil {
			// Hash fails only if the random source does; Verify then
			// refuses the empty string as malformed, after no work.
			h.logger().Error("login: dummy password hash", "err", err)
		}
		h.dummy = d
	})
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (h *Handler) maxFailures() int {
	if h.MaxFailures > 0 {
		return h.MaxFailures
	}
	return DefaultMaxFailures
}

func (h *Handler) window() time.Duration {
	if h.Window > 0 {
		return h.Window
	}
	return DefaultWindow
}

func (h *Handler) lockFor() time.Duration {
	if h.LockFor > 0 {
		return h.LockFor
	}
	return DefaultLockFor
}

func (h *Handler) sessionTTL() time.Duration {
	if h.SessionTTL > 0 {
		return h.SessionTTL
	}
	return DefaultSessionTTL
}

func (h *Handler) clientIP(r *http.Request) string {
	if h.ClientIP != nil {
		return h.ClientIP(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// secure reports whether cookies must be Secure.
func (h *Handler) secure(r *http.Request, snap *catalog.Snapshot) bool {
	if u, err := url.Parse(snap.Tenant.Issuer); err == nil && u.Scheme == "https" {
		return true
	}
	return r.TLS != nil || (h.Secure != nil && h.Secure(r))
}

// verifyPassword checks plain against phc, or against the dummy hash when
// phc is empty, holding one of the MaxHashing slots.
func (h *Handler) verifyPassword(ctx context.Context, phc, plain string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	if phc == "" {
		_, _ = password.Verify(h.dummy, plain)
		return false, nil
	}
	return password.Verify(phc, plain)
}

func (h *Handler) hashPassword(ctx context.Context, plain string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return password.Hash(plain)
}

func (h *Handler) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for a password check slot: %w", ctx.Err())
	}
}

func (h *Handler) release() { <-h.sem }

// pageError is a failure shown to the user as an error page; the cause
// goes to the log only.
type pageError struct {
	status        int
	title, detail string
	cause         error
}

func (e *pageError) Error() string {
	s := e.title
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

func (e *pageError) Unwrap() error { return e.cause }

func internalError(cause error) *pageError {
	return &pageError{status: http.StatusInternalServerError, title: "Something went wrong",
		detail: "The server could not complete the request. Please try again in a moment.", cause: cause}
}

var errCSRF = &pageError{status: http.StatusForbidden, title: "This form has expired",
	detail: "The form was not sent from this page, or it is too old. Go back to the application and start signing in again."}

// tenantHandler is a page; it writes its response, or returns the error to
// show.
type tenantHandler func(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error

func (h *Handler) withTenant(f tenantHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		snap, ok := catalog.FromContext(r.Context())
		if !ok {
			http.NotFound(w, r)
			return
		}
		h.init()
		err := readParams(w, r)
		if err == nil {
			err = f(w, r, snap)
		}
		if err == nil {
			return
		}
		if pe := h.refusal(w, r, snap, err); pe != nil {
			RenderError(w, pe.status, pe.title, pe.detail)
		}
	}
}

// refusal logs a page's error and returns what to show, or nil when the
// client went away (its status is written). A storage outage becomes a
// 503 with Retry-After, and any error that is not a *pageError a 500.
func (h *Handler) refusal(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, err error) *pageError {
	var pe *pageError
	if !errors.As(err, &pe) {
		pe = internalError(err)
	}
	k := logging.Classify(r.Context(), err)
	switch k {
	case logging.ClientGone:
		h.logger().DebugContext(r.Context(), "client went away",
			"tenant", snap.Tenant.ID, "path", r.URL.Path, "cause", errText(err))
		w.WriteHeader(logging.StatusClientClosedRequest)
		return nil
	case logging.Unavailable:
		pe = &pageError{status: http.StatusServiceUnavailable, title: UnavailableTitle, detail: UnavailableDetail, cause: err}
		w.Header().Set("Retry-After", logging.RetryAfterSeconds)
	}
	h.logger().Log(r.Context(), logging.Level(k, pe.status), "end-user page refused",
		"tenant", snap.Tenant.ID, "path", r.URL.Path, "status", pe.status, "error", pe.title, "cause", errText(pe.cause))
	return pe
}

// readParams reads every page's parameters into r.Form — the query, and
// the form body of a POST, at most maxForm bytes — and refuses a parameter
// that is not text (model.ValidText: invalid UTF-8 or a NUL byte, which
// PostgreSQL refuses) before a page looks at any of them. The pages read
// r.Form / r.PostForm only after this, so no page can skip the check.
func readParams(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	}
	if err := r.ParseForm(); err != nil {
		return &pageError{status: http.StatusBadRequest, title: "The form could not be read", detail: "Go back and try again.", cause: err}
	}
	if name, bad := model.InvalidParam(r.Form); bad {
		return &pageError{status: http.StatusBadRequest, title: "The form could not be read",
			detail: "It holds characters that are not text (a NUL byte or invalid UTF-8). Go back and try again.",
			cause:  fmt.Errorf("parameter %.40q is not UTF-8 text without NUL bytes", name)}
	}
	return nil
}

// The 503 page of a storage outage, shown by every end-user page (and by
// internal/oauth's authorization pages).
const (
	UnavailableTitle  = "Temporarily unavailable"
	UnavailableDetail = "The sign-in service cannot reach its database right now. Please try again in a moment."
)

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// loadRequest returns the pending authorization request named by id and
// its application; a missing, expired or foreign request is a 400 page.
func (h *Handler) loadRequest(ctx context.Context, snap *catalog.Snapshot, id string) (model.AuthRequest, *catalog.App, error) {
	expired := &pageError{status: http.StatusBadRequest, title: "This sign-in link is not valid",
		detail: "It has expired or was already used. Go back to the application and start signing in again."}
	if !validRequestID(id) {
		return model.AuthRequest{}, nil, expired
	}
	ar, err := h.Store.AuthRequests().Get(ctx, snap.Tenant.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return ar, nil, expired
	}
	if err != nil {
		return ar, nil, internalError(fmt.Errorf("load authorization request: %w", err))
	}
	if !h.now().Before(ar.ExpiresAt) {
		return ar, nil, expired
	}
	app, ok := snap.App(ar.ClientID)
	if !ok && h.Catalog != nil {
		if fresh, err := h.Catalog.Recheck(ctx, snap.Tenant.ID); err == nil {
			app, ok = fresh.App(ar.ClientID)
		}
	}
	if !ok {
		return ar, nil, &pageError{status: http.StatusBadRequest, title: "This application is not available",
			detail: "The application that sent you here is no longer registered."}
	}
	return ar, app, nil
}

// validRequestID bounds what reaches the database: 1–128 characters of
// base64url or hex.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// resume sends the browser back to the authorization endpoint. 303 turns
// the POST into a GET (RFC 9700 §4.12).
func resume(w http.ResponseWriter, snap *catalog.Snapshot, requestID string) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", snap.Tenant.Issuer+ResumePath+"?"+url.Values{"request": {requestID}}.Encode())
	w.WriteHeader(http.StatusSeeOther)
}

// record writes one audit event of the tenant, durably.
// Metrics is what the sign-in pages report to the server's metrics. Its
// methods must be safe for concurrent use.
type Metrics interface {
	// LoginOutcome counts one sign-in step's outcome, one of Outcomes.
	LoginOutcome(tenantID, outcome string)
}

// Sign-in outcomes, the fixed vocabulary of Metrics.LoginOutcome.
const (
	OutcomeSuccess       = "success"        // a session was opened (password or passkey)
	OutcomeBadPassword   = "bad_password"   // a known user, a wrong password
	OutcomeUnknownUser   = "unknown_user"   // no such user
	OutcomeNoPassword    = "no_password"    // the user has no password (passkey only, or not set yet)
	OutcomeDisabled      = "disabled"       // the right password of a disabled user
	OutcomeLocked        = "locked"         // refused, or just locked, by the failure throttle
	OutcomePasskeyFailed = "passkey_failed" // a passkey sign-in refused
	OutcomeMFAPassed     = "mfa_passed"     // a second factor passed
	OutcomeMFAFailed     = "mfa_failed"     // a second factor refused
)

// Outcomes lists every outcome Metrics.LoginOutcome receives.
var Outcomes = []string{OutcomeSuccess, OutcomeBadPassword, OutcomeUnknownUser, OutcomeNoPassword, OutcomeDisabled,
	OutcomeLocked, OutcomePasskeyFailed, OutcomeMFAPassed, OutcomeMFAFailed}

// count reports a sign-in outcome to Metrics, if set.
func (h *Handler) count(tenantID, outcome string) {
	if h.Metrics != nil {
		h.Metrics.LoginOutcome(tenantID, outcome)
	}
}

func (h *Handler) record(ctx context.Context, ev model.AuditEvent) error {
	if h.Audit == nil {
		return errors.New("login: no audit log configured")
	}
	ev.Time = h.now()
	if err := h.Audit.Record(ctx, ev); err != nil {
		return fmt.Errorf("audit %s: %w", ev.Type, err)
	}
	return nil
}
