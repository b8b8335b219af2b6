package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/intelliauth/intelliauth/internal/oauth"
)

// metrics are the server's Prometheus series on a registry of its own (no
// global registry: two servers in one test process do not collide).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// overBudget counts access tokens issued over their API's token-size
	// budget (oauth.TokenMetrics).
	overBudget *prometheus.CounterVec
}

var _ oauth.TokenMetrics = (*metrics)(nil)

func newMetrics() *metrics {
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
	}
	m.reg.MustRegister(m.requests, m.duration, m.overBudget,
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

// TokenOverBudget implements oauth.TokenMetrics.
func (m *metrics) TokenOverBudget(tenantID, audience string) {
	m.overBudget.WithLabelValues(tenantID, audience).Inc()
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
