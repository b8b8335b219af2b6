package oauth

import (
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/intelliauth/intelliauth/internal/audit"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/logging"
	"github.com/intelliauth/intelliauth/internal/login"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/oautherr"
)

// Handler serves one node's protocol endpoints for every tenant; the tenant
// comes from the request context.
type Handler struct {
	Catalog *catalog.Catalog
	Store   store.Store
	Audit   *audit.Log
	Logger  *slog.Logger
	// Login is the end-user pages: the browser's session, and the login and
	// consent pages the authorization flow sends the user to. Without it
	// /oauth2/authorize, its resume and /oauth2/logout are not served (404)
	// and discovery does not list them; the other endpoints work as usual.
	Login *login.Handler
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxPendingPerClient and MaxPendingPerPeer bound the unfinished
	// authorization requests — stored for AuthRequestTTL while nobody has
	// signed in for them — of one application and of one client address
	// (an IPv6 client's /64); past either, /oauth2/authorize answers
	// temporarily_unavailable (RFC 6749 §4.1.2.1). Zero or less is no
	// bound; serve sets internal/config's defaults.
	MaxPendingPerClient, MaxPendingPerPeer int
	// ClientIP returns the client address after the server's proxy trust
	// rules, for audit events; nil or "" means the host of r.RemoteAddr.
	ClientIP func(*http.Request) string
	// Metrics counts what the token endpoint issues; nil counts nothing.
	// The server passes its Prometheus series (this package imports no
	// metrics library).
	Metrics TokenMetrics
	// Tracer, when set, traces the token pipeline: client authentication,
	// the grant's own checks, the scope decision, signing and the commit
	// with its audit event, as children of the request's span. nil traces
	// nothing (and costs nothing).
	Tracer trace.Tracer

	// authFailures rate-limits oauth.client_authentication_failed (in
	// memory, per node).
	authFailures audit.Throttle
}

// TokenMetrics is what the token endpoint reports to the server's metrics.
// Its methods must be safe for concurrent use and cheap: they run on the
// token endpoint's path. Every label value this package passes is bounded:
// clientID is a client of the tenant's snapshot (or UnknownClient), never
// an ID as presented; grantType is one of GrantLabels; reason is one of
// RefusalReasons or a policy.Reason. Bounding the number of clients per
// tenant is the implementation's.
type TokenMetrics interface {
	// TokenOverBudget counts one access token issued longer than the
	// token-size budget of its API (audience, the API's identifier).
	TokenOverBudget(tenantID, audience string)
	// TokenIssued counts one token response.
	TokenIssued(tenantID, clientID, grantType string)
	// TokenRefused counts one refused token request with its reason: the
	// scope decision's (policy.NotAllowed, …) when it refused, else the
	// RFC 6749 §5.2 error code.
	TokenRefused(tenantID, clientID, grantType, reason string)
	// ScopeDropped counts one requested scope left out of an issued token,
	// with the decision's reason (policy.NotEntitled, …).
	ScopeDropped(tenantID, clientID string, reason policy.Reason)
	// ClientAuthFailed counts one failed client authentication at the
	// token, introspection or revocation endpoint (reason: one of
	// ClientAuthReasons), before the audit event's throttle.
	ClientAuthFailed(tenantID, reason string)
}

// UnknownClient is the client label of a request whose client ID is not a
// client of the tenant: IDs as presented never become label values.
const UnknownClient = "unknown"

// OtherLabel is the label value of anything outside a fixed vocabulary.
const OtherLabel = "other"

// GrantLabels are the grant_type label values TokenMetrics receives:
// the grant types this server supports, "none" when the request named
// none, else OtherLabel.
var GrantLabels = []string{model.GrantClientCredentials, model.GrantAuthorizationCode, model.GrantRefreshToken, "none", OtherLabel}

// grantLabel bounds a grant_type parameter to GrantLabels.
func grantLabel(gt string) string {
	switch gt {
	case model.GrantClientCredentials, model.GrantAuthorizationCode, model.GrantRefreshToken:
		return gt
	case "":
		return "none"
	}
	return OtherLabel
}

// ClientAuthReasons are the reasons of a failed client authentication, as
// oauth.client_authentication_failed and TokenMetrics.ClientAuthFailed
// name them.
var ClientAuthReasons = []string{reasonMalformed, reasonMissingID, reasonUnknownClient, reasonWrongSecret, reasonMissingSecret, reasonPublicSecret}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Register mounts the endpoints on mux, relative to the tenant's issuer.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("/oauth2/token", h.cors(corsClient, "POST", h.withTenant(h.token)))
	mux.HandleFunc("/oauth2/introspect", h.withTenant(h.introspect))
	mux.HandleFunc("/oauth2/revoke", h.cors(corsClient, "POST", h.withTenant(h.revoke)))
	mux.HandleFunc("/oauth2/userinfo", h.cors(corsTenant, "GET, POST", h.withTenant(h.userinfo)))
	mux.HandleFunc("/.well-known/openid-configuration", h.cors(corsTenant, "GET", h.withTenant(h.discovery)))
	mux.HandleFunc("/.well-known/oauth-authorization-server", h.cors(corsTenant, "GET", h.withTenant(h.discovery)))
	mux.HandleFunc("/.well-known/jwks.json", h.cors(corsTenant, "GET", h.withTenant(h.jwks)))
	if h.Login != nil {
		mux.HandleFunc("/oauth2/authorize", h.withPage(h.authorize))
		mux.HandleFunc(ResumePath, h.withPage(h.resume))
		mux.HandleFunc("/oauth2/logout", h.withPage(h.logout))
	}
}

// tenantHandler is an endpoint that returns its protocol error instead of
// writing it, so errors are written — and logged — in one place.
type tenantHandler func(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot) error

func (h *Handler) withTenant(f tenantHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		snap, ok := catalog.FromContext(r.Context())
		if !ok {
			http.NotFound(w, r)
			return
		}
		if err := f(w, r, snap); err != nil {
			h.writeError(w, r, snap, err)
		}
	}
}

// writeError is where every JSON endpoint's error is logged and written.
// The cause goes to the log, never to the client.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, snap *catalog.Snapshot, err error) {
	e := oautherr.As(err)
	k := logging.Classify(r.Context(), err)
	clientID, reason := refusalOf(err, e.Code)
	switch k {
	case logging.ClientGone:
		h.Logger.DebugContext(r.Context(), "client went away",
			"tenant", snap.Tenant.ID, "client_id", clientID, "path", r.URL.Path, "cause", errText(err))
		w.WriteHeader(logging.StatusClientClosedRequest)
		return
	case logging.Unavailable:
		// RFC 6749 names temporarily_unavailable only for the authorization
		// endpoint's redirect (§4.1.2.1); §5.2's token endpoint list has no
		// code for an outage and leaves 5xx answers to HTTP. The same code
		// in the JSON body is what a client already understands from the
		// authorization endpoint, and the 503 with Retry-After (RFC 9110
		// §15.6.4, §10.2.3) is what a generic HTTP client retries on —
		// better than a server_error, which tells it nothing.
		e = oautherr.Wrap(oautherr.TemporarilyUnavailable,
			"the authorization server's storage is unavailable; retry after the Retry-After delay", err)
		w.Header().Set("Retry-After", logging.RetryAfterSeconds)
	}
	if reason == oautherr.ServerError && e.Code == oautherr.TemporarilyUnavailable {
		reason = e.Code
	}
	h.Logger.Log(r.Context(), logging.Level(k, e.Status), "oauth request refused",
		"tenant", snap.Tenant.ID, "client_id", clientID, "path", r.URL.Path, "error", e.Code, "reason", reason, "cause", errText(e.Cause))
	oautherr.Write(w, e)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
