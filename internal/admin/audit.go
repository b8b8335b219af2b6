package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// Audit search bounds.
const (
	// DefaultAuditPageSize is the page length of SearchAudit when the
	// caller asks for none.
	DefaultAuditPageSize = 50
	// MaxAuditPageSize is the longest page SearchAudit returns.
	MaxAuditPageSize = 500
	// exportPageSize is how many events ExportAudit reads per query.
	exportPageSize = 500
	// maxFilterLen bounds each string filter of an audit query.
	maxFilterLen = 256
)

// AuditQuery filters an audit search (PRODUCT.md §4: "searchable by type,
// application, subject, scope and time"); zero fields do not filter.
type AuditQuery struct {
	// Type is an event type, such as oauth.token_issued.
	Type string
	// ClientID is the application the event is about.
	ClientID string
	// Subject is the end user the event is about (a user ID).
	Subject string
	// Scope matches one scope name exactly (granted, changed or deleted).
	Scope string
	// Since is inclusive, Until exclusive.
	Since, Until time.Time
	// Before is the cursor of a previous page (its Next): only older events.
	Before string
	// ExcludeTokensOf leaves out the oauth.token_issued and
	// oauth.token_refused events of this client ID — an admin tool's own
	// token requests, which would otherwise fill the log it reads — and
	// keeps that client's other events (the changes it made).
	ExcludeTokensOf string
	// Limit is the page length: 0 means DefaultAuditPageSize; at most
	// MaxAuditPageSize. ExportAudit reads it as a cap on the whole export
	// (0: no cap).
	Limit int
}

// validate reports every problem of q at once. maxLimit 0 means no upper
// bound.
func (q AuditQuery) validate(maxLimit int) error {
	var p model.Problems
	for _, f := range []struct{ name, v string }{
		{"type", q.Type}, {"client_id", q.ClientID}, {"subject", q.Subject}, {"scope", q.Scope}, {"before", q.Before},
		{"exclude_tokens_of", q.ExcludeTokensOf},
	} {
		if len(f.v) > maxFilterLen || strings.ContainsFunc(f.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			p.Add(f.name, fmt.Sprintf("must be at most %d bytes without control characters", maxFilterLen))
		}
	}
	if q.Before != "" && strings.ContainsFunc(q.Before, func(r rune) bool { return !('0' <= r && r <= '9' || 'A' <= r && r <= 'Z') }) {
		p.Add("before", "must be the next cursor of a previous page (an event ID)")
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		p.Add("until", "must be later than since")
	}
	switch {
	case q.Limit < 0:
		p.Add("limit", "must not be negative")
	case maxLimit > 0 && q.Limit > maxLimit:
		p.Add("limit", fmt.Sprintf("must be at most %d", maxLimit))
	}
	return p.Err()
}

func (q AuditQuery) store(tenantID string, limit int) store.AuditQuery {
	return store.AuditQuery{TenantID: tenantID, Type: q.Type, ClientID: q.ClientID, Subject: q.Subject, Scope: q.Scope,
		Since: q.Since, Until: q.Until, Before: q.Before, ExcludeTokensOf: q.ExcludeTokensOf, Limit: limit}
}

// AuditActor is who caused an audited event.
type AuditActor struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// AuditEventDoc is an audit event as JSON. Details is the event's own
// document (for oauth.token_issued: grant type, requested and granted
// scopes, a reason per scope); it never holds secrets or token values.
type AuditEventDoc struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Time     time.Time       `json:"time"`
	Actor    AuditActor      `json:"actor"`
	ClientID string          `json:"client_id,omitempty"`
	Subject  string          `json:"subject,omitempty"`
	Audience string          `json:"audience,omitempty"`
	Scopes   []string        `json:"scopes"`
	Details  json.RawMessage `json:"details,omitempty"`
}

// NewAuditEventDoc converts an event.
func NewAuditEventDoc(e model.AuditEvent) AuditEventDoc {
	d := AuditEventDoc{ID: e.ID, Type: e.Type, Time: e.Time.UTC(), Actor: AuditActor{Type: e.ActorType, ID: e.ActorID},
		ClientID: e.ClientID, Subject: e.Subject, Audience: e.Audience, Scopes: nonNil(e.Scopes)}
	if json.Valid(e.Details) {
		d.Details = e.Details
	}
	return d
}

// AuditPage is one page of an audit search, newest first.
type AuditPage struct {
	Items []AuditEventDoc `json:"items"`
	// Next is the cursor of the next (older) page: pass it as Before. Empty
	// on the last page.
	Next string `json:"next_cursor,omitempty"`
}

// SearchAudit returns one page of the tenant's audit events matching q,
// newest first, and the cursor of the next page. Paging by cursor (the ID
// of the last event shown) is stable while new events arrive: they are all
// newer than any page already read.
//
// It reads outside any transaction, so that a long search never holds the
// database's writer (on SQLite, the token endpoint's audit log waits for
// it).
func (s *Service) SearchAudit(ctx context.Context, actor Actor, tenantID string, q AuditQuery) (AuditPage, error) {
	if err := q.validate(MaxAuditPageSize); err != nil {
		return AuditPage{}, err
	}
	st, err := s.view(ctx, actor, tenantID)
	if err != nil {
		return AuditPage{}, err
	}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultAuditPageSize
	}
	// One more than the page tells whether there is a next page, so the
	// last page has no cursor leading to an empty one.
	evs, err := st.Audit().Search(ctx, q.store(tenantID, limit+1))
	if err != nil {
		return AuditPage{}, fmt.Errorf("search audit log: %w", err)
	}
	out := AuditPage{Items: make([]AuditEventDoc, 0, min(len(evs), limit))}
	for i, e := range evs {
		if i == limit {
			out.Next = evs[limit-1].ID
			break
		}
		out.Items = append(out.Items, NewAuditEventDoc(e))
	}
	return out, nil
}

// ExportAudit writes every event matching q to w as JSON Lines (one
// AuditEventDoc per line, newest first), reading the log a page at a time
// so that neither memory nor a transaction grows with the export. A
// non-zero q.Limit caps the number of events. Events appended while the
// export runs are not included (they are newer than its first page); an
// error after the first line leaves w with whole lines only.
func (s *Service) ExportAudit(ctx context.Context, actor Actor, tenantID string, q AuditQuery, w io.Writer) (int, error) {
	if err := q.validate(0); err != nil {
		return 0, err
	}
	st, err := s.view(ctx, actor, tenantID)
	if err != nil {
		return 0, err
	}
	n := 0
	cursor := q.Before
	for {
		size := exportPageSize
		if q.Limit > 0 {
			size = min(size, q.Limit-n)
		}
		if size <= 0 {
			return n, nil
		}
		sq := q.store(tenantID, size)
		sq.Before = cursor
		evs, err := st.Audit().Search(ctx, sq)
		if err != nil {
			return n, fmt.Errorf("export audit log: %w", err)
		}
		var line []byte
		for _, e := range evs {
			b, err := json.Marshal(NewAuditEventDoc(e))
			if err != nil {
				return n, fmt.Errorf("export audit event %s: %w", e.ID, err)
			}
			line = append(append(line[:0], b...), '\n')
			if _, err := w.Write(line); err != nil {
				return n, fmt.Errorf("export audit log: write: %w", err)
			}
			n++
		}
		if len(evs) < size {
			return n, nil
		}
		cursor = evs[len(evs)-1].ID
	}
}

// view checks the actor and the tenant and returns the store for reads
// outside a transaction (auto-commit, on SQLite from the read pool, so that
// the reads never wait for nor hold up the single writer).
func (s *Service) view(ctx context.Context, actor Actor, tenantID string) (store.Store, error) {
	if err := actor.validate(); err != nil {
		return nil, err
	}
	if s.Store == nil {
		return nil, errors.New("admin: Service.Store is nil")
	}
	if _, err := getTenant(ctx, s.Store, tenantID); err != nil {
		return nil, err
	}
	return s.Store, nil
}

// Scope-usage report windows.
const (
	// DefaultUsageWindow is the report's window when the caller gives none.
	DefaultUsageWindow = 30 * 24 * time.Hour
	// MaxUsageWindow is the longest window the report accepts.
	MaxUsageWindow = 366 * 24 * time.Hour
)

// ScopeUsageReport is the scope-usage report of PRODUCT.md §4: per
// application, each allowed scope with how often it was granted in a window
// and when last; the scopes never granted in the window are candidates for
// tightening the allowlist.
type ScopeUsageReport struct {
	// Since and Until bound the window (Until is when the report ran).
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// WindowSeconds is Until − Since.
	WindowSeconds int64 `json:"window_seconds"`
	// Applications are every application of the tenant, by client ID.
	Applications []AppScopeUsage `json:"applications"`
}

// AppScopeUsage is one application's part of the report.
type AppScopeUsage struct {
	ClientID string `json:"client_id"`
	Name     string `json:"name"`
	// Scopes are the application's allowlist, by name.
	Scopes []ScopeUsage `json:"scopes"`
	// Candidates names the scopes flagged candidate_for_removal, by name.
	Candidates []string `json:"candidates_for_removal"`
}

// ScopeUsage is one allowed scope of one application in the report.
type ScopeUsage struct {
	Scope string `json:"scope"`
	// Grants counts the tokens issued in the window that carried the scope
	// (the oauth.token_issued events granting it, implications included).
	Grants int `json:"grants"`
	// LastGranted is the time of the latest of them; zero (left out of the
	// JSON) when the scope was not granted in the window.
	LastGranted time.Time `json:"-"`
	// CandidateForRemoval is true when the scope was never granted in the
	// window: the allowlist could lose it.
	CandidateForRemoval bool `json:"candidate_for_removal"`
}

// MarshalJSON writes last_granted only when the scope was granted.
func (u ScopeUsage) MarshalJSON() ([]byte, error) {
	type plain ScopeUsage
	var last *time.Time
	if !u.LastGranted.IsZero() {
		t := u.LastGranted.UTC()
		last = &t
	}
	return json.Marshal(struct {
		plain
		LastGranted *time.Time `json:"last_granted,omitempty"`
	}{plain(u), last})
}

// ScopeUsageReport reports, for every application of the tenant sorted by
// client ID, each scope on its allowlist (sorted) with the tokens that
// granted it in the window ending now and the time of the last one, and
// flags those never granted as candidates for removal. window 0 means
// DefaultUsageWindow; it must be positive and at most MaxUsageWindow.
//
// Grants are counted from the audit log by scope name (store
// Audit.ScopeUsage): grants made before a scope was renamed are not counted
// under its new name, so a scope renamed within the window may be flagged.
// Scopes an application received only by implication, not on its
// allowlist, are not listed.
func (s *Service) ScopeUsageReport(ctx context.Context, actor Actor, tenantID string, window time.Duration) (ScopeUsageReport, error) {
	if window == 0 {
		window = DefaultUsageWindow
	}
	if window < 0 || window > MaxUsageWindow {
		return ScopeUsageReport{}, invalid("window", "must be positive and at most %d days", int(MaxUsageWindow/(24*time.Hour)))
	}
	st, err := s.view(ctx, actor, tenantID)
	if err != nil {
		return ScopeUsageReport{}, err
	}
	now := s.now()
	since := now.Add(-window)
	apps, err := st.Applications().All(ctx, tenantID)
	if err != nil {
		return ScopeUsageReport{}, fmt.Errorf("load applications: %w", err)
	}
	usage, err := st.Audit().ScopeUsage(ctx, tenantID, since)
	if err != nil {
		return ScopeUsageReport{}, fmt.Errorf("scope usage: %w", err)
	}
	type key struct{ client, scope string }
	used := make(map[key]store.ScopeUsage, len(usage))
	for _, u := range usage {
		used[key{u.ClientID, u.Scope}] = u
	}
	out := ScopeUsageReport{Since: since, Until: now, WindowSeconds: int64(window / time.Second),
		Applications: make([]AppScopeUsage, 0, len(apps))}
	slices.SortFunc(apps, func(a, b model.Application) int { return strings.Compare(a.ClientID, b.ClientID) })
	for _, a := range apps {
		names := sortedSet(a.AllowedScopes)
		row := AppScopeUsage{ClientID: a.ClientID, Name: a.Name, Scopes: make([]ScopeUsage, 0, len(names)), Candidates: []string{}}
		for _, n := range names {
			u := used[key{a.ClientID, n}]
			// The console's allowlist is the ceiling of what roles can give
			// a user in the console: a platform scope nobody used lately is
			// no reason to take it away from every future admin.
			su := ScopeUsage{Scope: n, Grants: u.Grants, LastGranted: u.Last, CandidateForRemoval: u.Grants == 0 && a.ClientID != model.ConsoleClientID}
			if su.CandidateForRemoval {
				row.Candidates = append(row.Candidates, n)
			}
			row.Scopes = append(row.Scopes, su)
		}
		out.Applications = append(out.Applications, row)
	}
	return out, nil
}
