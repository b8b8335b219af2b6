package api

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/logging"
)

// auditRoutes mounts the audit search and the scope-usage report under
// audit:read (PRODUCT.md §4).
func (h *Handler) auditRoutes(rt *router) {
	rt.handle("GET", Prefix+"/audit", admin.OpSearchAudit, h.searchAudit)
	rt.handle("GET", Prefix+"/reports/scope-usage", admin.OpScopeUsage, h.scopeUsageReport)
}

// JSONLinesType is the media type of the audit log's JSON Lines export: one
// JSON document per line (https://github.com/ndjson/ndjson-spec).
const JSONLinesType = "application/x-ndjson"

// auditQuery reads the audit filters of the query string: type, client_id,
// subject, scope, since and until (RFC 3339 instants), before (the
// next_cursor of a previous page), exclude_tokens_of (a client whose token
// events to leave out) and limit. Every bad parameter is
// reported at once.
func auditQuery(r *Request, export bool) (admin.AuditQuery, error) {
	q := r.URL.Query()
	aq := admin.AuditQuery{Type: q.Get("type"), ClientID: q.Get("client_id"), Subject: q.Get("subject"),
		Scope: q.Get("scope"), Before: q.Get("before"), ExcludeTokensOf: q.Get("exclude_tokens_of")}
	var p []FieldError
	instant := func(name string) time.Time {
		v := q.Get(name)
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			p = append(p, FieldError{Field: name, Message: fmt.Sprintf("must be an RFC 3339 instant such as 2026-03-01T12:00:00Z, not %q", v)})
		}
		return t
	}
	aq.Since, aq.Until = instant("since"), instant("until")
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil || n < 1:
			p = append(p, FieldError{Field: "limit", Message: fmt.Sprintf("must be a whole number from 1, not %q", v)})
		case !export && n > admin.MaxAuditPageSize:
			p = append(p, FieldError{Field: "limit", Message: fmt.Sprintf("must be at most %d per page; follow next_cursor for more, or export with format=jsonl", admin.MaxAuditPageSize)})
		default:
			aq.Limit = n
		}
	}
	if len(p) > 0 {
		pr := newProblem(http.StatusBadRequest, CodeValidationFailed, summarize(p))
		pr.Errors = p
		return aq, pr
	}
	return aq, nil
}

// wantsJSONLines reports whether the caller asked for the JSON Lines
// export: ?format=jsonl, or an Accept header preferring application/x-ndjson
// (RFC 9110 §12.5.1) over JSON; ?format=json forces a page of JSON.
func wantsJSONLines(r *Request) (bool, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "jsonl":
		return true, nil
	case "json":
		return false, nil
	case "":
	default:
		return false, invalidField("format", "must be json (a page) or jsonl (JSON Lines, every matching event), not %q", f)
	}
	best, bestQ := "", -1.0
	for _, part := range strings.Split(strings.Join(r.Header.Values("Accept"), ","), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		qv := 1.0
		if s, ok := params["q"]; ok {
			if qv, err = strconv.ParseFloat(s, 64); err != nil {
				continue
			}
		}
		if (mt == JSONLinesType || mt == "application/json") && qv > bestQ {
			best, bestQ = mt, qv
		}
	}
	return best == JSONLinesType && bestQ > 0, nil
}

// auditPage is the JSON answer of GET /audit.
type auditPage struct {
	Items []admin.AuditEventDoc `json:"items"`
	// NextCursor, when present, fetches the next (older) page as ?before=.
	NextCursor string `json:"next_cursor,omitempty"`
}

// searchAudit answers GET /audit: one page of matching events, newest
// first, with next_cursor (and an RFC 8288 Link rel="next") while more
// remain; or, as JSON Lines, every matching event (limit caps them).
func (h *Handler) searchAudit(w http.ResponseWriter, r *Request) error {
	jsonl, err := wantsJSONLines(r)
	if err != nil {
		return err
	}
	q, err := auditQuery(r, jsonl)
	if err != nil {
		return err
	}
	if jsonl {
		return h.exportAudit(w, r, q)
	}
	page, err := h.Admin.SearchAudit(r.Context(), r.Actor, r.TenantID(), q)
	if err != nil {
		return err
	}
	if page.Next != "" {
		v := r.URL.Query()
		v.Set("before", page.Next)
		w.Header().Set("Link", "<"+r.Snap.Tenant.Issuer+Prefix+"/audit?"+v.Encode()+`>; rel="next"`)
	}
	return writeJSON(w, http.StatusOK, auditPage{Items: page.Items, NextCursor: page.Next})
}

// exportAudit streams the JSON Lines export. Until the first line is
// written a failure is an ordinary problem response; after it, the
// connection is cut (http.ErrAbortHandler) so that a client never mistakes
// a truncated export for a complete one.
func (h *Handler) exportAudit(w http.ResponseWriter, r *Request, q admin.AuditQuery) error {
	sw := &startedWriter{w: w}
	n, err := h.Admin.ExportAudit(r.Context(), r.Actor, r.TenantID(), q, sw)
	if err == nil && !sw.started {
		sw.start() // an empty export is an empty body, still JSON Lines
	}
	if err == nil {
		return nil
	}
	if !sw.started {
		return err
	}
	// A client that hung up mid-export is no server error (logging.Classify).
	h.logger().Log(r.Context(), logging.Level(logging.Classify(r.Context(), err), http.StatusInternalServerError),
		"audit export cut short", "tenant", r.TenantID(), "lines", n, "err", err)
	panic(http.ErrAbortHandler)
}

// startedWriter writes the export's headers before its first line.
type startedWriter struct {
	w       http.ResponseWriter
	started bool
}

func (s *startedWriter) start() {
	h := s.w.Header()
	h.Set("Content-Type", JSONLinesType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	s.w.WriteHeader(http.StatusOK)
	s.started = true
}

func (s *startedWriter) Write(p []byte) (int, error) {
	if !s.started {
		s.start()
	}
	return s.w.Write(p)
}

// scopeUsageReport answers GET /reports/scope-usage?window=30d.
func (h *Handler) scopeUsageReport(w http.ResponseWriter, r *Request) error {
	window, err := reportWindow(r.URL.Query())
	if err != nil {
		return err
	}
	rep, err := h.Admin.ScopeUsageReport(r.Context(), r.Actor, r.TenantID(), window)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}

// reportWindow reads ?window=: whole days ("30d") or a Go duration
// ("12h", "90m"); absent means admin.DefaultUsageWindow.
func reportWindow(q url.Values) (time.Duration, error) {
	v := q.Get("window")
	if v == "" {
		return admin.DefaultUsageWindow, nil
	}
	bad := invalidField("window", `must be a number of days like "30d" or a duration like "12h", from 1m to %dd; not %q`,
		int(admin.MaxUsageWindow/(24*time.Hour)), v)
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > int(admin.MaxUsageWindow/(24*time.Hour)) {
			return 0, bad
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, bad
		}
	}
	if d < time.Minute || d > admin.MaxUsageWindow {
		return 0, bad
	}
	return d, nil
}
