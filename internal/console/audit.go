package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/logging"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/internal/store"
)

// auditPages mounts the audit log: the search with each event's details,
// and the JSON Lines export of a search (the same read, admin.OpSearchAudit).
func (h *Handler) auditPages(rt *router) {
	rt.page("GET", model.ConsolePath+"/audit", admin.OpSearchAudit, h.auditList)
	rt.page("GET", model.ConsolePath+"/audit/export", admin.OpSearchAudit, h.auditExport)
}

// auditJSONLines is the media type of the export, as /api/v1 serves it.
const auditJSONLines = "application/x-ndjson"

// auditMaxTrail bounds the cursors a page keeps for its Newer link.
const auditMaxTrail = 100

// auditTypes are the event types the Type filter offers, sorted.
func auditTypes() []string {
	t := []string{
		model.EventTokenIssued, model.EventTokenRefused, model.EventTokenRevoked, model.EventRefreshTokenReused,
		model.EventClientAuthFailed, model.EventCodeReplayed,
		model.EventTenantCreated, admin.EventTenantUpdated, admin.EventTenantMFAPolicyChanged,
		model.EventScopeCreated, model.EventScopeUpdated, model.EventScopeRenamed, model.EventScopeDeleted,
		model.EventAPICreated, model.EventAPIUpdated, model.EventAPIDeleted,
		model.EventApplicationCreated, model.EventApplicationUpdated, model.EventApplicationDeleted,
		model.EventAppScopesChanged, model.EventAppSecretRotated, model.EventSigningKeyRotated,
		model.EventLoginSucceeded, model.EventLoginFailed, model.EventLoginLocked, model.EventLogout,
		model.EventLoginSecondFactor, model.EventLoginStepUp,
		model.EventMFAEnrolled, model.EventMFARenamed, model.EventMFARemoved, model.EventMFARecoveryCodes, model.EventMFAReset,
		model.EventConsentGranted, model.EventConsentRevoked,
		model.EventUserCreated, model.EventUserUpdated, model.EventUserDeleted, model.EventUserPasswordSet,
		model.EventUserDisabled, model.EventUserEnabled,
		model.EventRoleCreated, model.EventRoleUpdated, model.EventRoleDeleted, model.EventRoleAssigned, model.EventRoleUnassigned,
		model.EventGroupCreated, model.EventGroupUpdated, model.EventGroupDeleted, model.EventGroupMemberAdded, model.EventGroupMemberRemoved,
	}
	slices.Sort(t)
	return slices.Compact(t)
}

// formField is one input of a form as the template shows it: its value as
// the user typed it, and its problem, if any (the "fielderror" partial
// reads ID and Message).
type formField struct {
	ID, Name, Label, Value, Message string
	// Hint is the field's help text (shown as ID-hint).
	Hint string
	// List names a datalist of suggestions; Max is the input's maxlength
	// (0: 256).
	List string
	Max  int
}

// Describedby is the field's aria-describedby: its hint and its error.
func (f formField) Describedby() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Message != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// auditFilter is the filter form, as the user typed it.
type auditFilter struct {
	Type, ClientID, User, Scope, Since, Until string
}

func readAuditFilter(q url.Values) auditFilter {
	g := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	return auditFilter{Type: g("type"), ClientID: g("client_id"), User: g("user"), Scope: g("scope"), Since: g("since"), Until: g("until")}
}

// values is the filter as a query string (empty members left out).
func (f auditFilter) values() url.Values {
	v := url.Values{}
	for _, kv := range [][2]string{{"type", f.Type}, {"client_id", f.ClientID}, {"user", f.User}, {"scope", f.Scope}, {"since", f.Since}, {"until", f.Until}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	return v
}

// parseInstant reads a time of the filter: RFC 3339, or a date and time
// (or only a date) read as UTC.
func parseInstant(v string) (time.Time, bool) {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// auditFilterFields maps admin.AuditQuery's problem fields to the form's.
func auditFilterFields() map[string]string {
	return map[string]string{"type": "type", "client_id": "client_id", "subject": "user", "scope": "scope", "since": "since", "until": "until"}
}

// auditQuery turns the filter into the use-case's query, resolving a
// username to the user's ID (with users:read); its problems are per field.
func (h *Handler) auditQuery(r *Request, f auditFilter) (admin.AuditQuery, FieldErrors, error) {
	q := admin.AuditQuery{Type: f.Type, ClientID: f.ClientID, Scope: f.Scope}
	fe := FieldErrors{}
	for _, t := range []struct {
		name, v string
		dst     *time.Time
	}{{"since", f.Since, &q.Since}, {"until", f.Until, &q.Until}} {
		if t.v == "" {
			continue
		}
		v, ok := parseInstant(t.v)
		if !ok {
			fe[t.name] = fmt.Sprintf("must be a UTC date and time such as 2026-03-01 12:00, or a date such as 2026-03-01; not %q", t.v)
			continue
		}
		*t.dst = v
	}
	if f.User != "" {
		q.Subject = f.User
		if r.May(admin.OpGetUser) && !strings.ContainsFunc(f.User, func(c rune) bool { return c < 0x20 || c == 0x7f }) && len(f.User) <= 256 {
			u, err := h.Admin.GetUser(r.Context(), r.Actor, r.TenantID(), f.User)
			switch {
			case err == nil:
				q.Subject = u.User.ID
			case errors.Is(err, store.ErrNotFound) && !strings.HasPrefix(f.User, admin.UserIDPrefix):
				fe["user"] = fmt.Sprintf("there is no user %q in this tenant; give a username, an email address or a user ID", f.User)
			case errors.Is(err, store.ErrNotFound):
				// A deleted user's ID still finds their events.
			default:
				return q, nil, err
			}
		}
	}
	if len(fe) > 0 {
		return q, fe, nil
	}
	return q, nil, nil
}

// adminFieldErrors maps a validation error of admin.AuditQuery onto the
// form's fields; nil when err is not one.
func adminFieldErrors(err error, fields map[string]string) FieldErrors {
	fe := fieldErrors(err)
	if fe == nil {
		return nil
	}
	out := FieldErrors{}
	for k, v := range fe {
		name, ok := fields[k]
		if !ok {
			name = ""
			if k != "" {
				v = k + " " + v
			}
		}
		if prev, ok := out[name]; ok {
			v = prev + "; " + v
		}
		out[name] = v
	}
	return out
}

// auditBody is what audit.html shows.
type auditBody struct {
	Type                                      string
	Types                                     []string
	App, User, Scope, Since, Until            formField
	Apps                                      []model.Application
	Errors                                    FieldErrors
	Events                                    []auditEvent
	Shown                                     bool
	Page                                      int
	Newest, Newer, Older, ExportURL, ClearURL string
}

// Error is the message of the form's problem not tied to one field.
func (b auditBody) Error() string { return b.Errors[""] }

// TypeError is the Type filter's problem.
func (b auditBody) TypeError() formField {
	return formField{ID: "audit-type", Message: b.Errors["type"]}
}

func (h *Handler) auditForm(r *Request, f auditFilter, fe FieldErrors) (auditBody, error) {
	b := auditBody{Type: f.Type, Types: auditTypes(), Errors: fe}
	if f.Type != "" && !slices.Contains(b.Types, f.Type) {
		b.Types = append([]string{f.Type}, b.Types...)
	}
	userHint := "A user ID (usr_…): the end user the event is about."
	if r.May(admin.OpGetUser) {
		userHint = "A username, email address or user ID: the end user the event is about."
	}
	field := func(name, label, value, hint string) formField {
		return formField{ID: "audit-" + strings.ReplaceAll(name, "_", "-"), Name: name, Label: label, Value: value, Message: fe[name], Hint: hint}
	}
	b.App = field("client_id", "Application", f.ClientID, "The client ID of the application the event is about.")
	b.User = field("user", "User", f.User, userHint)
	b.Scope = field("scope", "Scope", f.Scope, "One scope name, exactly: events that granted, changed or deleted it.")
	b.Since = field("since", "From", f.Since, "In UTC: 2026-03-01 12:00, or a date.")
	b.Until = field("until", "Until", f.Until, "In UTC, not included.")
	b.ClearURL = r.Base + "/audit"
	if r.May(admin.OpListApplications) {
		p, err := h.Admin.ListApplications(r.Context(), r.Actor, r.TenantID(), store.Page{Limit: 1000})
		if err != nil {
			return b, err
		}
		b.Apps = p.Applications
		b.App.List = "audit-apps"
	}
	return b, nil
}

// auditList is the audit log: the filter form and one page of matching
// events, newest first, each with its details.
func (h *Handler) auditList(w http.ResponseWriter, r *Request) error {
	qv := r.URL.Query()
	f := readAuditFilter(qv)
	q, fe, err := h.auditQuery(r, f)
	if err != nil {
		return err
	}
	if fe != nil {
		return h.renderAudit(w, r, http.StatusBadRequest, f, fe, nil)
	}
	q.Before = qv.Get("before")
	trail := qv["trail"]
	if len(trail) > auditMaxTrail || slices.ContainsFunc(trail, func(s string) bool { return len(s) > 64 }) {
		trail = nil
	}
	page, err := h.Admin.SearchAudit(r.Context(), r.Actor, r.TenantID(), q)
	if fe := adminFieldErrors(err, auditFilterFields()); fe != nil {
		return h.renderAudit(w, r, http.StatusBadRequest, f, fe, nil)
	}
	if err != nil {
		return err
	}
	return h.renderAudit(w, r, http.StatusOK, f, nil, &auditResult{page: page, before: q.Before, trail: trail})
}

type auditResult struct {
	page   admin.AuditPage
	before string
	trail  []string
}

func (h *Handler) renderAudit(w http.ResponseWriter, r *Request, status int, f auditFilter, fe FieldErrors, res *auditResult) error {
	b, err := h.auditForm(r, f, fe)
	if err != nil {
		return err
	}
	filter := f.values()
	b.ExportURL = r.Base + "/audit/export"
	if len(filter) > 0 {
		b.ExportURL += "?" + filter.Encode()
	}
	if res != nil {
		b.Shown = true
		b.Page = len(res.trail) + 1
		link := func(before string, trail []string) string {
			v := f.values()
			if before != "" {
				v.Set("before", before)
			}
			for _, t := range trail {
				v.Add("trail", t)
			}
			if len(v) == 0 {
				return r.Base + "/audit"
			}
			return r.Base + "/audit?" + v.Encode()
		}
		if res.before != "" {
			b.Newest = link("", nil)
		}
		if n := len(res.trail); n > 0 {
			b.Newer = link(res.trail[n-1], res.trail[:n-1])
		}
		if res.page.Next != "" {
			trail := res.trail
			if len(trail) >= auditMaxTrail {
				trail = trail[1:]
			}
			b.Older = link(res.page.Next, append(slices.Clone(trail), res.before))
		}
		if b.Events, err = h.auditEvents(r, res.page.Items); err != nil {
			return err
		}
	}
	h.render(w, r, status, "audit", "Audit", b)
	return nil
}

// auditExport streams every event matching the filter as JSON Lines, a
// file to save. Until the first line is written a failure is a page; after
// it, the connection is cut so that a truncated file is not taken for a
// whole one.
func (h *Handler) auditExport(w http.ResponseWriter, r *Request) error {
	f := readAuditFilter(r.URL.Query())
	q, fe, err := h.auditQuery(r, f)
	if err != nil {
		return err
	}
	if fe != nil {
		return h.renderAudit(w, r, http.StatusBadRequest, f, fe, nil)
	}
	name := fmt.Sprintf("audit-%s-%s.jsonl", r.TenantID(), h.now().UTC().Format("20060102-150405"))
	sw := &exportWriter{w: w, filename: name}
	n, err := h.Admin.ExportAudit(r.Context(), r.Actor, r.TenantID(), q, sw)
	if err == nil {
		if !sw.started {
			sw.start() // no event matches: an empty file, still JSON Lines
		}
		return nil
	}
	if !sw.started {
		if fe := adminFieldErrors(err, auditFilterFields()); fe != nil {
			return h.renderAudit(w, r, http.StatusBadRequest, f, fe, nil)
		}
		return err
	}
	h.logger().Log(r.Context(), logging.Level(logging.Classify(r.Context(), err), http.StatusInternalServerError),
		"console: audit export cut short", "tenant", r.TenantID(), "lines", n, "err", err)
	panic(http.ErrAbortHandler)
}

// exportWriter writes the export's headers before its first line.
type exportWriter struct {
	w        http.ResponseWriter
	filename string
	started  bool
}

func (e *exportWriter) start() {
	hd := e.w.Header()
	hd.Set("Content-Type", auditJSONLines)
	hd.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": e.filename}))
	e.w.WriteHeader(http.StatusOK)
	e.started = true
}

func (e *exportWriter) Write(p []byte) (int, error) {
	if !e.started {
		e.start()
	}
	return e.w.Write(p)
}

// auditEvent is one event as the list shows it.
type auditEvent struct {
	ID, Type string
	// Time is for reading (UTC), ISO for the time element.
	Time, ISO string
	// Actor is "user alice (usr_…)", "client reporting-job", "system cli".
	Actor string
	// Via is the application a user acted through (details.via_client).
	Via                string
	ClientID, Audience string
	Subject            string
	Scopes             []string
	// Token is the scope decision of oauth.token_issued / token_refused.
	Token *tokenView
	// Diff is the before/after of an admin change; DiffNote says what it
	// compares when one side is absent (a creation, a deletion).
	Diff     []diffRow
	DiffNote string
	// Rest is the details' other members (pretty JSON), Raw all of them.
	Rest, Raw string

	actorID, subjectID string
}

// AboutApp is the event's application when its actor is not that client.
func (e auditEvent) AboutApp() string {
	if e.ClientID == e.actorID {
		return ""
	}
	return e.ClientID
}

// AboutUser is the event's end user when they are not its actor (nor the
// client itself, the subject of a client-credentials token).
func (e auditEvent) AboutUser() string {
	if e.subjectID == e.actorID || e.subjectID == e.ClientID {
		return ""
	}
	return e.Subject
}

// tokenView is the scope decision recorded by a token event.
type tokenView struct {
	GrantType          string
	Requested, Granted []string
	Dropped            []string
	Results            []reasonRow
	Error, Description string
	JTI, Expires       string
}

// reasonRow is one scope of a decision with its reason.
type reasonRow struct {
	Scope   string
	Granted bool
	Reason  string
	Meaning string
}

func reasonRows(rs []policy.Result) []reasonRow {
	out := make([]reasonRow, 0, len(rs))
	for _, r := range rs {
		out = append(out, reasonRow{Scope: r.Scope, Granted: r.Granted, Reason: string(r.Reason), Meaning: reasonText(r.Reason)})
	}
	return out
}

// tokenDetails mirrors the details document of token_issued and
// token_refused (internal/oauth).
type tokenDetails struct {
	GrantType string          `json:"grant_type"`
	Requested []string        `json:"requested"`
	Granted   []string        `json:"granted"`
	Results   []policy.Result `json:"results"`
	JTI       string          `json:"jti"`
	ExpiresAt *time.Time      `json:"expires_at"`
	Error     string          `json:"error"`
	Reason    string          `json:"error_description"`
}

// auditEvents prepares a page of events, naming the users it mentions
// when the user may read users.
func (h *Handler) auditEvents(r *Request, docs []admin.AuditEventDoc) ([]auditEvent, error) {
	names := map[string]string{}
	if r.May(admin.OpGetUser) {
		for _, d := range docs {
			ids := []string{d.Subject}
			if d.Actor.Type == model.ActorUser {
				ids = append(ids, d.Actor.ID)
			}
			for _, id := range ids {
				if !strings.HasPrefix(id, admin.UserIDPrefix) {
					continue
				}
				if _, done := names[id]; done {
					continue
				}
				u, err := h.Admin.GetUser(r.Context(), r.Actor, r.TenantID(), id)
				switch {
				case err == nil:
					names[id] = u.User.Username
				case errors.Is(err, store.ErrNotFound):
					names[id] = "" // deleted since
				default:
					return nil, err
				}
			}
		}
	}
	who := func(id string) string {
		if n := names[id]; n != "" {
			return n + " (" + id + ")"
		}
		return id
	}
	out := make([]auditEvent, 0, len(docs))
	for _, d := range docs {
		e := auditEvent{ID: d.ID, Type: d.Type, Time: d.Time.UTC().Format("2006-01-02 15:04:05 UTC"), ISO: d.Time.UTC().Format(time.RFC3339),
			Actor: d.Actor.Type + " " + who(d.Actor.ID), ClientID: d.ClientID, Audience: d.Audience, Scopes: d.Scopes,
			actorID: d.Actor.ID, subjectID: d.Subject}
		if d.Subject != "" {
			e.Subject = who(d.Subject)
		}
		var members map[string]json.RawMessage
		if len(d.Details) > 0 && json.Unmarshal(d.Details, &members) == nil {
			var via string
			if json.Unmarshal(members["via_client"], &via) == nil {
				e.Via = via
			}
		}
		e.Raw = prettyJSON(d.Details)
		switch {
		case d.Type == model.EventTokenIssued || d.Type == model.EventTokenRefused:
			var td tokenDetails
			if json.Unmarshal(d.Details, &td) == nil {
				tv := &tokenView{GrantType: td.GrantType, Requested: td.Requested, Granted: td.Granted, Results: reasonRows(td.Results),
					Error: td.Error, Description: td.Reason, JTI: td.JTI}
				for _, res := range td.Results {
					if !res.Granted {
						tv.Dropped = append(tv.Dropped, res.Scope)
					}
				}
				if td.ExpiresAt != nil {
					tv.Expires = td.ExpiresAt.UTC().Format("2006-01-02 15:04:05 UTC")
				}
				e.Token = tv
			}
		case members != nil && (members["before"] != nil || members["after"] != nil):
			label := "value"
			if d.Type == model.EventAppScopesChanged {
				label = "allowed_scopes"
			}
			e.Diff = diffValues(label, members["before"], members["after"])
			switch {
			case members["before"] == nil:
				e.DiffNote = "Created: every field is new."
			case members["after"] == nil:
				e.DiffNote = "Deleted: the fields it had."
			}
			rest := map[string]json.RawMessage{}
			for k, v := range members {
				if k != "before" && k != "after" && k != "via_client" {
					rest[k] = v
				}
			}
			if len(rest) > 0 {
				b, _ := json.Marshal(rest)
				e.Rest = prettyJSON(b)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// prettyJSON indents a JSON document ("" for none).
func prettyJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}

// diffRow is one changed field of an admin change.
type diffRow struct {
	Field         string
	Before, After diffCell
}

// diffCell is one side of a changed field: absent, a list (its items, the
// ones not on the other side marked), or a value.
type diffCell struct {
	Missing bool
	List    bool
	Items   []diffItem
	Text    string
}

// diffItem is an item of a list; Mark is "added" (in After, not in
// Before), "removed" (the reverse) or "".
type diffItem struct {
	Text string
	Mark string
}

// diffValues compares the before and after documents of an admin change,
// field by field (nested objects by dotted path), and returns the fields
// that differ, by name. Documents that are not objects (an allowlist) are
// one field named label.
func diffValues(label string, before, after json.RawMessage) []diffRow {
	b, a := map[string]json.RawMessage{}, map[string]json.RawMessage{}
	if isObject(before) || isObject(after) {
		flatten("", before, b)
		flatten("", after, a)
	} else {
		if before != nil {
			b[label] = before
		}
		if after != nil {
			a[label] = after
		}
	}
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range a {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var out []diffRow
	for _, k := range sorted {
		bv, bok := b[k]
		av, aok := a[k]
		if bok && aok && sameJSON(bv, av) {
			continue
		}
		out = append(out, diffRow{Field: k, Before: cell(bv, bok, av, aok, "removed"), After: cell(av, aok, bv, bok, "added")})
	}
	return out
}

func isObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
}

// flatten adds raw's leaves to out by dotted path; raw that is not an
// object (or an empty one) is a leaf itself.
func flatten(prefix string, raw json.RawMessage, out map[string]json.RawMessage) {
	if raw == nil {
		return
	}
	var m map[string]json.RawMessage
	if !isObject(raw) || json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		if prefix != "" {
			out[prefix] = raw
		}
		return
	}
	for k, v := range m {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		flatten(p, v, out)
	}
}

func sameJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

// cell shows v (present when ok); a list's items that the other side lacks
// are marked with mark.
func cell(v json.RawMessage, ok bool, other json.RawMessage, otherOK bool, mark string) diffCell {
	if !ok {
		return diffCell{Missing: true}
	}
	var list []string
	if json.Unmarshal(v, &list) == nil && list != nil {
		var otherList []string
		compare := otherOK && json.Unmarshal(other, &otherList) == nil
		c := diffCell{List: true, Items: []diffItem{}}
		for _, s := range list {
			it := diffItem{Text: s}
			if compare && !slices.Contains(otherList, s) {
				it.Mark = mark
			}
			c.Items = append(c.Items, it)
		}
		return c
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return diffCell{Text: s}
	}
	if string(bytes.TrimSpace(v)) == "null" {
		return diffCell{Text: "(none)"}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, v) == nil {
		return diffCell{Text: buf.String()}
	}
	return diffCell{Text: string(v)}
}
