package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/intelliauth/intelliauth/rs"
)

// newHandler wires the routes: each one states the scope it needs, and the
// SDK answers 401/403 before the handler runs.
func newHandler(v *rs.Verifier, logger *slog.Logger) http.Handler {
	m := rs.NewMiddleware(v, rs.MiddlewareOptions{Logger: logger})
	mux := http.NewServeMux()
	mux.Handle("GET /transactions", m.RequireScope("read:transactions")(http.HandlerFunc(listTransactions)))
	mux.Handle("POST /settings", m.RequireScope("write:settings")(http.HandlerFunc(updateSettings)))
	return accessLog(logger, mux)
}

// transaction is one (made-up) account movement.
type transaction struct {
	ID          string `json:"id"`
	Date        string `json:"date"`
	Description string `json:"description"`
	AmountCents int64  `json:"amount_cents"`
	Currency    string `json:"currency"`
}

// listTransactions is GET /transactions. The token is in the context: the
// handler may use who is calling, without re-checking anything.
func listTransactions(w http.ResponseWriter, r *http.Request) {
	tok, _ := rs.FromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{
		"subject":   tok.Subject,
		"client_id": tok.ClientID,
		"transactions": []transaction{
			{ID: "txn_001", Date: "2026-11-20", Description: "Coffee", AmountCents: -450, Currency: "EUR"},
			{ID: "txn_002", Date: "2026-11-21", Description: "Salary", AmountCents: 310000, Currency: "EUR"},
		},
	})
}

// settings is the body POST /settings accepts.
type settings struct {
	Notifications *bool   `json:"notifications,omitempty"`
	Language      *string `json:"language,omitempty"`
}

// updateSettings is POST /settings: it validates the body and echoes what
// would be stored.
func updateSettings(w http.ResponseWriter, r *http.Request) {
	tok, _ := rs.FromContext(r.Context())
	var s settings
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "the body must be a JSON object with notifications (bool) and/or language (string)"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"subject": tok.Subject, "updated": s})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// accessLog logs one line per request: method, path, status, duration.
// It never logs the Authorization header or the token.
func accessLog(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Duration("duration", time.Since(start)))
	})
}
