package server

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/intelliauth/intelliauth/internal/audit"
	"github.com/intelliauth/intelliauth/internal/catalog"
	"github.com/intelliauth/intelliauth/internal/login"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/oauth"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/internal/store"
)

// DefaultMetricsMaxClients is the number of distinct client_id label
// values per tenant when Options.MetricsMaxClients is not set; the same
// value as internal/config's default.
const DefaultMetricsMaxClients = 100

// metrics are the server's Prometheus series on a registry of its own (no
// global registry: two servers in one test process do not collide). They
// implement the metrics interfaces of the packages that emit: oauth, login,
// audit and catalog.
//
// Label values are bounded: tenants are the store's; client_id is a client
// of the tenant's snapshot, at most maxClients distinct values per tenant
// and "other" beyond (first come, first named); grant types, reasons and
// outcomes come from the emitting packages' fixed vocabularies.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// overBudget counts access tokens issued over their API's token-size
	// budget (oauth.TokenMetrics).
	overBudget *prometheus.CounterVec

	issued       *prometheus.CounterVec
	refused      *prometheus.CounterVec
	dropped      *prometheus.CounterVec
	authFailures *prometheus.CounterVec
	logins       *prometheus.CounterVec
	auditBatch   prometheus.Histogram
	auditLatency prometheus.Histogram
	auditFailed  prometheus.Counter
	reloads      *prometheus.CounterVec
	reloadTime   prometheus.Histogram

	maxClients int
	mu         sync.RWMutex
	tenants    map[string]*tenantSeries
	// loaded are the tenants a catalog load found: the only tenant IDs a
	// failed load may name in a label.
	loaded map[string]bool
}

// tenantSeries is one tenant's client labels: at most maxClients named,
// the rest folded into other. The issued counters are resolved once per
// client and grant type, so counting a token is a map lookup under a read
// lock and an atomic add.
type tenantSeries struct {
	clients map[string]*clientSeries
	other   *clientSeries
}

type clientSeries struct {
	label  string
	issued [len(grantIndex)]prometheus.Counter
}

// grantIndex orders oauth.GrantLabels for clientSeries.issued.
var grantIndex = [...]string{model.GrantClientCredentials, model.GrantAuthorizationCode, model.GrantRefreshToken, "none", oauth.OtherLabel}

var (
	_ oauth.TokenMetrics = (*metrics)(nil)
	_ login.Metrics      = (*metrics)(nil)
	_ audit.Metrics      = (*metrics)(nil)
	_ catalog.Metrics    = (*metrics)(nil)
)

func newMetrics(maxClients int) *metrics {
	if maxClients <= 0 {
		maxClients = DefaultMetricsMaxClients
	}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intelliauth_http_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "intelliauth_http_request_duration_seconds",
			Help:    "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		overBudget: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intelliauth_tokens_over_budget_total",
			Help: "Access tokens issued longer than the token-size budget of their API, by tenant and audience.",
		}, []string{"tenant", "audience"}),
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intelliauth_tokens_issued_total",
			Help: "Token responses by tenant, client (at most the configured number per tenant, then \"other\") and grant type.",
		}, []string{"tenant", "client_id", "grant_type"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intelliauth_tokens_refused_total",
			Help: "Refused token requests by tenant, client (\"unknown\" when not a client of the tenant), grant type and reason (the scope decision's, else the OAuth error code).",
		}, []string{"tenant", "client_id", "grant_type", "reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intelliauth_scopes_dropped_total",
			Help: "Requested scopes left out of issued tokens, by tenant, client and the scope decision's reason.",
		}, []string{"tenant", "client_id", "reason"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intelliauth_client_auth_failures_total",
			Help: "Failed client authentications at the token, introspection and revocation endpoints, by tenant and reason.",
		}, []string{"tenant", "reason"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intelliauth_login_outcomes_total",
			Help: "End-user sign-in outcomes by tenant: success, bad_password, unknown_user, no_password, disabled, locked, passkey_failed, mfa_passed, mfa_failed.",
		}, []string{"tenant", "outcome"}),
		auditBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "intelliauth_audit_commit_batch_size",
			Help:    "Events stored by one group commit of the audit log (one transaction).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512},
		}),
		auditLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "intelliauth_audit_commit_duration_seconds",
			Help:    "Duration of one group commit of the audit log.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}),
		auditFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "intelliauth_audit_commit_failures_total",
			Help: "Group commits of the audit log that failed (every request of the batch failed with it).",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "intelliauth_catalog_reloads_total",
			Help: "Loads of a tenant's configuration snapshot from the store, by tenant (\"unknown\" for a tenant never loaded) and result (ok, not_found, error).",
		}, []string{"tenant", "result"}),
		reloadTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "intelliauth_catalog_reload_duration_seconds",
			Help:    "Duration of one load of a tenant's configuration snapshot.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		maxClients: maxClients,
		tenants:    map[string]*tenantSeries{},
		loaded:     map[string]bool{},
	}
	m.reg.MustRegister(m.requests, m.duration, m.overBudget,
		m.issued, m.refused, m.dropped, m.authFailures, m.logins,
		m.auditBatch, m.auditLatency, m.auditFailed, m.reloads, m.reloadTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// client returns the series of a client of a tenant: its own while the
// tenant has fewer than maxClients named clients, else the tenant's other.
// Past the cap nothing is added to any map, so a tenant with many clients
// costs a bounded number of series and bytes.
func (m *metrics) client(tenantID, clientID string) *clientSeries {
	m.mu.RLock()
	t := m.tenants[tenantID]
	if t != nil {
		if c, ok := t.clients[clientID]; ok {
			m.mu.RUnlock()
			return c
		}
		if len(t.clients) >= m.maxClients {
			m.mu.RUnlock()
			return t.other
		}
	}
	m.mu.RUnlock()

	m.mu.Lock()
	defer m.mu.Unlock()
	if t = m.tenants[tenantID]; t == nil {
		t = &tenantSeries{clients: map[string]*clientSeries{}}
		t.other = m.newClientSeries(tenantID, oauth.OtherLabel)
		m.tenants[tenantID] = t
	}
	if c, ok := t.clients[clientID]; ok {
		return c
	}
	if len(t.clients) >= m.maxClients || clientID == oauth.OtherLabel {
		return t.other
	}
	c := m.newClientSeries(tenantID, clientID)
	t.clients[clientID] = c
	return c
}

func (m *metrics) newClientSeries(tenantID, label string) *clientSeries {
	c := &clientSeries{label: label}
	for i, g := range grantIndex {
		c.issued[i] = m.issued.WithLabelValues(tenantID, label, g)
	}
	return c
}

// TokenIssued implements oauth.TokenMetrics.
func (m *metrics) TokenIssued(tenantID, clientID, grantType string) {
	c := m.client(tenantID, clientID)
	for i, g := range grantIndex {
		if g == grantType {
			c.issued[i].Inc()
			return
		}
	}
	c.issued[len(grantIndex)-1].Inc()
}

// TokenRefused implements oauth.TokenMetrics. An unknown client is not
// one of the tenant's named clients: it has its own label and takes no
// place under the cap.
func (m *metrics) TokenRefused(tenantID, clientID, grantType, reason string) {
	label := clientID
	if clientID != oauth.UnknownClient {
		label = m.client(tenantID, clientID).label
	}
	m.refused.WithLabelValues(tenantID, label, grantType, reason).Inc()
}

// ScopeDropped implements oauth.TokenMetrics.
func (m *metrics) ScopeDropped(tenantID, clientID string, reason policy.Reason) {
	m.dropped.WithLabelValues(tenantID, m.client(tenantID, clientID).label, string(reason)).Inc()
}

// ClientAuthFailed implements oauth.TokenMetrics.
func (m *metrics) ClientAuthFailed(tenantID, reason string) {
	m.authFailures.WithLabelValues(tenantID, reason).Inc()
}

// TokenOverBudget implements oauth.TokenMetrics.
func (m *metrics) TokenOverBudget(tenantID, audience string) {
	m.overBudget.WithLabelValues(tenantID, audience).Inc()
}

// LoginOutcome implements login.Metrics.
func (m *metrics) LoginOutcome(tenantID, outcome string) {
	m.logins.WithLabelValues(tenantID, outcome).Inc()
}

// AuditCommitted implements audit.Metrics.
func (m *metrics) AuditCommitted(events int, took time.Duration, err error) {
	m.auditBatch.Observe(float64(events))
	m.auditLatency.Observe(took.Seconds())
	if err != nil {
		m.auditFailed.Inc()
	}
}

// CatalogReloaded implements catalog.Metrics. A tenant ID is a label only
// once a load of it succeeded: a failed load may be of an ID as presented
// in a URL (result not_found), which must not become a label value.
func (m *metrics) CatalogReloaded(tenantID string, took time.Duration, err error) {
	m.reloadTime.Observe(took.Seconds())
	label, result := tenantID, "ok"
	if err != nil {
		result = "error"
		if errors.Is(err, store.ErrNotFound) {
			result = "not_found"
		}
		m.mu.RLock()
		known := m.loaded[tenantID]
		m.mu.RUnlock()
		if !known {
			label = oauth.UnknownClient
		}
	} else {
		m.mu.RLock()
		known := m.loaded[tenantID]
		m.mu.RUnlock()
		if !known {
			m.mu.Lock()
			m.loaded[tenantID] = true
			m.mu.Unlock()
		}
	}
	m.reloads.WithLabelValues(label, result).Inc()
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
