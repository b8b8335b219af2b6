package console

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// The Applications pages (PRODUCT.md §5, issue 10):
//
//	GET  /applications                       the list, 20 a page, with type and scope policy
//	GET  /applications/new                   the create form
//	POST /applications                       create; the answer IS the page that shows the secret once
//	GET  /applications/{id}                  → its Settings tab
//	GET  /applications/{id}/settings         Settings tab: URIs, grant types, lifetimes (versioned)
//	POST /applications/{id}/settings
//	GET  /applications/{id}/access           Access tab: policy, consent and the Allowed scopes editor (allowlist.go)
//	POST /applications/{id}/access           policy and consent (versioned)
//	POST /applications/{id}/allowlist        the editor: stage a move, or save (allowlist.go)
//	GET  /applications/{id}/credentials      Credentials tab
//	POST /applications/{id}/credentials      rotate the secret; the answer shows the new one once
//	GET  /applications/{id}/usage            Usage tab: the scope-usage report of this application
//	GET  /applications/{id}/delete           what deleting it does, and a confirmation
//	POST /applications/{id}/delete
//
// The tabs have their own paths (never the bare {id}), so that an
// application whose client ID is "new" is reachable like any other.

const appsPerPage = 20

// maxFormText bounds a text field of these forms (a list of URIs, say),
// before anything reaches a use-case.
const maxFormText = 8000

// applicationPages mounts the Applications pages.
func (h *Handler) applicationPages(rt *router) {
	p := model.ConsolePath + "/applications"
	rt.page("GET", p, admin.OpListApplications, h.listApplications)
	rt.page("GET", p+"/new", admin.OpCreateApplication, h.newApplication)
	rt.page("POST", p, admin.OpCreateApplication, h.createApplication)
	rt.page("GET", p+"/{client_id}", admin.OpGetApplication, h.applicationHome)
	rt.page("GET", p+"/{client_id}/settings", admin.OpGetApplication, h.applicationSettings)
	rt.page("POST", p+"/{client_id}/settings", admin.OpUpdateApplication, h.updateApplicationSettings)
	rt.page("GET", p+"/{client_id}/access", admin.OpGetApplication, h.applicationAccess)
	rt.page("POST", p+"/{client_id}/access", admin.OpUpdateApplication, h.updateApplicationAccess)
	rt.page("POST", p+"/{client_id}/allowlist", admin.OpChangeAllowedScopes, h.postAllowlist)
	rt.page("GET", p+"/{client_id}/credentials", admin.OpGetApplication, h.applicationCredentials)
	rt.page("POST", p+"/{client_id}/credentials", admin.OpRotateSecret, h.rotateApplicationSecret)
	rt.page("GET", p+"/{client_id}/usage", admin.OpScopeUsage, h.applicationUsage)
	rt.page("GET", p+"/{client_id}/delete", admin.OpDeleteApplication, h.confirmDeleteApplication)
	rt.page("POST", p+"/{client_id}/delete", admin.OpDeleteApplication, h.deleteApplication)
}

// appPath is the console path of an application's tab ("" for the
// application itself); the client ID is escaped as one path segment.
func appPath(r *Request, clientID, tab string) string {
	p := r.Base + "/applications/" + url.PathEscape(clientID)
	if tab != "" {
		p += "/" + tab
	}
	return p
}

// appFieldError is a field's message for the "fielderror" partial: ID is
// the input's id, Message "" when the field is fine.
type appFieldError struct{ ID, Message string }

// appErrors are a form's problems by field ("" for the form as a whole).
type appErrors map[string]string

// Field is the problem of field, for the input whose id is "app-<field>".
func (e appErrors) Field(field string) appFieldError {
	return appFieldError{ID: "app-" + field, Message: e[field]}
}

// Invalid reports whether field has a problem (aria-invalid).
func (e appErrors) Invalid(field string) bool { return e[field] != "" }

// Described is the aria-describedby of field's input: its hint
// ("app-<field>-hint") and, when it has a problem, its message.
func (e appErrors) Described(field string) string {
	s := "app-" + field + "-hint"
	if e.Invalid(field) {
		s += " app-" + field + "-error"
	}
	return s
}

// Form is the problem of no single field, "" when none.
func (e appErrors) Form() string { return e[""] }

// Any reports whether there is any problem.
func (e appErrors) Any() bool { return len(e) > 0 }

func (e appErrors) add(field, msg string) {
	if prev, ok := e[field]; ok {
		e[field] = prev + "; " + msg
		return
	}
	e[field] = msg
}

// merge adds the problems of err (a validation error of a use-case) to e
// and reports whether err was one; fields maps a use-case's field name to
// the form's where they differ (unknown fields go to the form as a whole).
func (e appErrors) merge(err error, known []string) bool {
	fe := fieldErrors(err)
	if fe == nil {
		return false
	}
	for f, msg := range fe {
		if !slices.Contains(known, f) {
			if f != "" {
				msg = f + ": " + msg
			}
			f = ""
		}
		e.add(f, msg)
	}
	return true
}

// checkFormText refuses, before anything reaches a use-case, a form
// whose values are longer than maxFormText, with the problem on its field
// (the router has already refused what is not text every store keeps).
func checkFormText(r *Request, known []string) appErrors {
	errs := appErrors{}
	if err := r.ParseForm(); err != nil {
		errs.add("", "The form could not be read; reload the page and send it again.")
		return errs
	}
	for _, f := range known {
		for _, v := range r.PostForm[f] {
			if len(v) > maxFormText {
				errs.add(f, fmt.Sprintf("is too long (at most %d characters)", maxFormText))
				break
			}
		}
	}
	return errs
}

// postedVersion reads the hidden version field: the version of the
// application the form was shown with.
func postedVersion(r *Request, errs appErrors) int64 {
	v, err := formVersion(r)
	if err != nil {
		errs.add("", "The form lacks the version of the application it was opened with; reload the page and make your change again.")
	}
	return v
}

// lines splits a textarea of URIs into its entries (one a line; any
// white space separates, as URIs hold none).
func lines(s string) []string { return strings.Fields(s) }

// parseTTL reads a lifetime field: empty is 0 (the default), otherwise a
// duration as /api/v1 takes it.
func parseTTL(errs appErrors, field, s string) time.Duration {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		errs.add(field, fmt.Sprintf(`%q is not a duration; write it like "90s", "15m" or "1h30m"`, s))
		return 0
	}
	return v
}

// shortDuration writes d as parseTTL reads it, without zero units ("1h",
// not "1h0m0s"); 0 is "".
func shortDuration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// allGrantTypes are the grant types a form offers, in order.
var allGrantTypes = []grantChoice{
	{model.GrantAuthorizationCode, "Authorization code (with PKCE)"},
	{model.GrantRefreshToken, "Refresh token"},
	{model.GrantClientCredentials, "Client credentials (machine to machine)"},
}

type grantChoice struct{ Value, Label string }

// appTypes are the application types a form offers.
var appTypes = []grantChoice{
	{string(model.AppSPA), "Single-page app (spa, public)"},
	{string(model.AppWeb), "Web app with a back end (web, confidential)"},
	{string(model.AppNative), "Native or mobile app (native, public)"},
	{string(model.AppM2M), "Machine to machine (m2m, confidential)"},
}

// ---- list ----

type appRow struct {
	model.Application
	URL string
}

type appListBody struct {
	Rows      []appRow
	Total     int
	Pager     Pager
	CanCreate bool
	NewURL    string
}

func (h *Handler) listApplications(w http.ResponseWriter, r *Request) error {
	ctx := r.Context()
	q := url.Values{}
	if p := r.URL.Query().Get("page"); p != "" {
		q.Set("page", p)
	}
	want := PageParam(q)
	res, err := h.Admin.ListApplications(ctx, r.Actor, r.TenantID(), store.Page{Offset: (want - 1) * appsPerPage, Limit: appsPerPage})
	if err != nil {
		return err
	}
	pager, pg := NewPager(r.Base+"/applications", q, res.Total, appsPerPage)
	if pg.Offset != (want-1)*appsPerPage {
		// Asked past the end: show the last page.
		if res, err = h.Admin.ListApplications(ctx, r.Actor, r.TenantID(), pg); err != nil {
			return err
		}
	}
	body := appListBody{Total: res.Total, Pager: pager, CanCreate: r.May(admin.OpCreateApplication), NewURL: r.Base + "/applications/new"}
	for _, a := range res.Applications {
		body.Rows = append(body.Rows, appRow{Application: a, URL: appPath(r, a.ClientID, "settings")})
	}
	h.render(w, r, http.StatusOK, "applications", "Applications", body)
	return nil
}

// ---- create ----

// createForm is the create form as the user filled it in.
type createForm struct {
	ClientID, Name, Type        string
	RedirectURIs, PostLogoutURI string
	GrantTypes                  []string
	ScopePolicy, Consent        string
	// Generated is the client ID used when ClientID is left empty, made
	// when the form was first shown: sending the form twice (a reload of
	// the answer) then meets "client ID is taken" instead of creating a
	// second application.
	Generated string
}

// HasGrant reports whether the form ticks grant type g.
func (f createForm) HasGrant(g string) bool { return slices.Contains(f.GrantTypes, g) }

type createBody struct {
	Form    createForm
	Errors  appErrors
	Action  string
	Types   []grantChoice
	Grants  []grantChoice
	ListURL string
}

var createFields = []string{"client_id", "name", "type", "redirect_uris", "post_logout_redirect_uris", "grant_types", "scope_policy", "consent"}

func (h *Handler) renderCreate(w http.ResponseWriter, r *Request, status int, f createForm, errs appErrors) {
	h.render(w, r, status, "application_new", "New application", createBody{Form: f, Errors: errs,
		Action: r.Base + "/applications", Types: appTypes, Grants: allGrantTypes, ListURL: r.Base + "/applications"})
}

// generatedClientID is a client ID as admin generates one (16 random
// bytes, base32, lower case).
func generatedClientID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("console: random: %w", err)
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), nil
}

func (h *Handler) newApplication(w http.ResponseWriter, r *Request) error {
	id, err := generatedClientID()
	if err != nil {
		return err
	}
	h.renderCreate(w, r, http.StatusOK, createForm{ScopePolicy: model.PolicyStrict, Consent: model.ConsentRequired, Generated: id}, appErrors{})
	return nil
}

type createdBody struct {
	App       model.Application
	Secret    string
	AccessURL string
	AppURL    string
}

// createApplication creates the application and answers with the page
// that shows its secret, once: no redirect, so the secret is in no URL,
// cookie or session (every console page is Cache-Control: no-store).
func (h *Handler) createApplication(w http.ResponseWriter, r *Request) error {
	errs := checkFormText(r, slices.Concat(createFields, []string{"generated"}))
	f := createForm{
		ClientID: strings.TrimSpace(r.PostFormValue("client_id")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Type: r.PostFormValue("type"), RedirectURIs: r.PostFormValue("redirect_uris"), PostLogoutURI: r.PostFormValue("post_logout_redirect_uris"),
		GrantTypes: r.PostForm["grant_types"], ScopePolicy: r.PostFormValue("scope_policy"), Consent: r.PostFormValue("consent"),
		Generated: r.PostFormValue("generated"),
	}
	if errs.Any() {
		h.renderCreate(w, r, http.StatusBadRequest, f, errs)
		return nil
	}
	if f.Type == "" {
		errs.add("type", "is required: spa, web, native or m2m")
	}
	id := f.ClientID
	if id == "" {
		id = f.Generated
	}
	if id == "" {
		errs.add("client_id", "is required (the form lost its generated ID: reload the page)")
	}
	if errs.Any() {
		h.renderCreate(w, r, http.StatusBadRequest, f, errs)
		return nil
	}
	name := f.Name
	if name == "" {
		name = id
	}
	res, err := h.Admin.CreateApplication(r.Context(), r.Actor, r.TenantID(), admin.ApplicationInput{
		ClientID: id, Name: name, Type: model.AppType(f.Type), RedirectURIs: lines(f.RedirectURIs),
		PostLogoutRedirectURIs: lines(f.PostLogoutURI), GrantTypes: f.GrantTypes, ScopePolicy: f.ScopePolicy, Consent: f.Consent,
	})
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			errs.add("client_id", fmt.Sprintf("%q is taken: another application of this tenant has it; choose another", id))
			h.renderCreate(w, r, http.StatusConflict, f, errs)
			return nil
		}
		if errs.merge(err, createFields) {
			h.renderCreate(w, r, http.StatusBadRequest, f, errs)
			return nil
		}
		return err
	}
	a := res.Application
	h.render(w, r, http.StatusCreated, "application_created", "Application "+a.Name+" created", createdBody{App: a, Secret: res.Secret,
		AccessURL: appPath(r, a.ClientID, "access"), AppURL: appPath(r, a.ClientID, "settings")})
	return nil
}

// ---- detail: header and tabs ----

type appTab struct {
	Label, URL string
	Current    bool
}

// appHead is the top of every tab of an application: its name, client ID,
// type, and the tabs.
type appHead struct {
	App     model.Application
	Tabs    []appTab
	ListURL string
}

func appHeader(r *Request, a model.Application, current string) appHead {
	hd := appHead{App: a, ListURL: r.Base + "/applications"}
	for _, t := range []struct {
		label, tab string
		op         admin.Op
	}{
		{"Settings", "settings", admin.OpGetApplication},
		{"Access", "access", admin.OpGetApplication},
		{"Credentials", "credentials", admin.OpGetApplication},
		{"Usage", "usage", admin.OpScopeUsage},
	} {
		if r.May(t.op) {
			hd.Tabs = append(hd.Tabs, appTab{Label: t.label, URL: appPath(r, a.ClientID, t.tab), Current: t.tab == current})
		}
	}
	return hd
}

func (h *Handler) loadApp(r *Request) (model.Application, error) {
	return h.Admin.GetApplication(r.Context(), r.Actor, r.TenantID(), r.PathValue("client_id"))
}

func (h *Handler) applicationHome(w http.ResponseWriter, r *Request) error {
	a, err := h.loadApp(r)
	if err != nil {
		return err
	}
	http.Redirect(w, r.Request, appPath(r, a.ClientID, "settings"), http.StatusSeeOther)
	return nil
}

// ---- Settings tab ----

// settingsForm is the Settings tab's form.
type settingsForm struct {
	Name                                       string
	RedirectURIs, PostLogoutURIs, Origins      string
	GrantTypes                                 []string
	AccessTTL, RefreshIdleTTL, RefreshAbsolute string
	Version                                    int64
}

// HasGrant reports whether the form ticks grant type g.
func (f settingsForm) HasGrant(g string) bool { return slices.Contains(f.GrantTypes, g) }

func settingsOf(a model.Application) settingsForm {
	return settingsForm{Name: a.Name, RedirectURIs: strings.Join(a.RedirectURIs, "\n"),
		PostLogoutURIs: strings.Join(a.PostLogoutRedirectURIs, "\n"), Origins: strings.Join(a.AllowedOrigins, "\n"),
		GrantTypes: slices.Clone(a.GrantTypes), AccessTTL: shortDuration(a.AccessTokenTTL),
		RefreshIdleTTL: shortDuration(a.RefreshIdleTTL), RefreshAbsolute: shortDuration(a.RefreshAbsoluteTTL), Version: a.Version}
}

// staleEdit is shown when the application changed since the form was
// opened: both versions, side by side; the form keeps the user's input
// and now carries the current version, so sending it again applies it
// onto that one.
type staleEdit struct {
	Rows []conflictRow
}

type settingsBody struct {
	Head      appHead
	Form      settingsForm
	Errors    appErrors
	Stale     *staleEdit
	Action    string
	Grants    []grantChoice
	CanEdit   bool
	DeleteURL string
	CanDelete bool
}

var settingsFields = []string{"name", "redirect_uris", "post_logout_redirect_uris", "allowed_origins", "grant_types",
	"access_token_ttl", "refresh_idle_ttl", "refresh_absolute_ttl"}

func (h *Handler) renderSettings(w http.ResponseWriter, r *Request, status int, a model.Application, f settingsForm, errs appErrors, stale *staleEdit) {
	h.render(w, r, status, "application_settings", a.Name+" · Settings", settingsBody{
		Head: appHeader(r, a, "settings"), Form: f, Errors: errs, Stale: stale, Action: appPath(r, a.ClientID, "settings"),
		Grants: allGrantTypes, CanEdit: r.May(admin.OpUpdateApplication),
		DeleteURL: appPath(r, a.ClientID, "delete"), CanDelete: r.May(admin.OpDeleteApplication),
	})
}

func (h *Handler) applicationSettings(w http.ResponseWriter, r *Request) error {
	a, err := h.loadApp(r)
	if err != nil {
		return err
	}
	h.renderSettings(w, r, http.StatusOK, a, settingsOf(a), appErrors{}, nil)
	return nil
}

func (h *Handler) updateApplicationSettings(w http.ResponseWriter, r *Request) error {
	a, err := h.loadApp(r)
	if err != nil {
		return err
	}
	errs := checkFormText(r, settingsFields)
	f := settingsForm{Name: strings.TrimSpace(r.PostFormValue("name")), RedirectURIs: r.PostFormValue("redirect_uris"),
		PostLogoutURIs: r.PostFormValue("post_logout_redirect_uris"), Origins: r.PostFormValue("allowed_origins"),
		GrantTypes: r.PostForm["grant_types"], AccessTTL: r.PostFormValue("access_token_ttl"),
		RefreshIdleTTL: r.PostFormValue("refresh_idle_ttl"), RefreshAbsolute: r.PostFormValue("refresh_absolute_ttl")}
	if errs.Any() {
		f.Version = a.Version
		h.renderSettings(w, r, http.StatusBadRequest, a, f, errs, nil)
		return nil
	}
	f.Version = postedVersion(r, errs)
	at := parseTTL(errs, "access_token_ttl", f.AccessTTL)
	idle := parseTTL(errs, "refresh_idle_ttl", f.RefreshIdleTTL)
	abs := parseTTL(errs, "refresh_absolute_ttl", f.RefreshAbsolute)
	if errs.Any() {
		if f.Version == 0 {
			f.Version = a.Version
		}
		h.renderSettings(w, r, http.StatusBadRequest, a, f, errs, nil)
		return nil
	}
	redirects, logouts, origins, grants := lines(f.RedirectURIs), lines(f.PostLogoutURIs), lines(f.Origins), slices.Clone(f.GrantTypes)
	if grants == nil {
		grants = []string{}
	}
	out, err := h.Admin.UpdateApplication(r.Context(), r.Actor, r.TenantID(), a.ClientID, admin.ApplicationUpdate{
		Name: &f.Name, RedirectURIs: &redirects, PostLogoutRedirectURIs: &logouts, AllowedOrigins: &origins, GrantTypes: &grants,
		AccessTokenTTL: &at, RefreshIdleTTL: &idle, RefreshAbsoluteTTL: &abs, Version: f.Version,
	})
	if errors.Is(err, store.ErrPrecondition) {
		cur, err := h.loadApp(r)
		if err != nil {
			return err
		}
		mine := f
		f.Version = cur.Version
		h.renderSettings(w, r, http.StatusConflict, cur, f, appErrors{}, &staleEdit{Rows: settingsDiff(mine, settingsOf(cur))})
		return nil
	}
	if err != nil {
		if errs.merge(err, settingsFields) {
			h.renderSettings(w, r, http.StatusBadRequest, a, f, errs, nil)
			return nil
		}
		return err
	}
	r.Notice(w, "Settings of "+out.Name+" saved.")
	http.Redirect(w, r.Request, appPath(r, out.ClientID, "settings"), http.StatusSeeOther)
	return nil
}

// settingsDiff lists the fields of a settings form that differ from the
// current ones (every field when none differs, so both versions show).
func settingsDiff(mine, cur settingsForm) []conflictRow {
	norm := func(s string) string { return strings.Join(lines(s), " ") }
	all := []conflictRow{
		staleRow("Name", mine.Name, cur.Name),
		staleRow("Redirect URIs", norm(mine.RedirectURIs), norm(cur.RedirectURIs)),
		staleRow("Post-logout redirect URIs", norm(mine.PostLogoutURIs), norm(cur.PostLogoutURIs)),
		staleRow("Allowed origins", norm(mine.Origins), norm(cur.Origins)),
		staleRow("Grant types", strings.Join(mine.GrantTypes, " "), strings.Join(cur.GrantTypes, " ")),
		staleRow("Access-token lifetime", strings.TrimSpace(mine.AccessTTL), cur.AccessTTL),
		staleRow("Refresh idle lifetime", strings.TrimSpace(mine.RefreshIdleTTL), cur.RefreshIdleTTL),
		staleRow("Refresh absolute lifetime", strings.TrimSpace(mine.RefreshAbsolute), cur.RefreshAbsolute),
	}
	var out []conflictRow
	for _, d := range all {
		if d.Yours != d.Current {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return all
	}
	return out
}

// ---- Credentials tab ----

type graceChoice struct {
	Value, Label string
}

var graceChoices = []graceChoice{
	{"0s", "None: the old secret stops working now"},
	{"1h", "1 hour"},
	{"24h", "1 day"},
	{"168h", "7 days"},
	{"720h", "30 days"},
}

type credentialsBody struct {
	Head    appHead
	Errors  appErrors
	Grace   string
	Choices []graceChoice
	Action  string
	// Confidential: the application has secrets; Console: it is the
	// console, whose secret is derived from the master key.
	Confidential, Console bool
	CanRotate             bool
}

func (h *Handler) renderCredentials(w http.ResponseWriter, r *Request, status int, a model.Application, grace string, errs appErrors) {
	h.render(w, r, status, "application_credentials", a.Name+" · Credentials", credentialsBody{
		Head: appHeader(r, a, "credentials"), Errors: errs, Grace: grace, Choices: graceChoices,
		Action: appPath(r, a.ClientID, "credentials"), Confidential: a.Type.Confidential(),
		Console: a.ClientID == model.ConsoleClientID, CanRotate: r.May(admin.OpRotateSecret),
	})
}

func (h *Handler) applicationCredentials(w http.ResponseWriter, r *Request) error {
	a, err := h.loadApp(r)
	if err != nil {
		return err
	}
	h.renderCredentials(w, r, http.StatusOK, a, "24h", appErrors{})
	return nil
}

type rotatedBody struct {
	Head          appHead
	Secret        string
	PreviousUntil string
	// Immediate: the previous secrets stopped working at once.
	Immediate bool
}

// rotateApplicationSecret issues a new secret and answers with the page
// that shows it, once (no redirect: the secret is in no URL or cookie).
func (h *Handler) rotateApplicationSecret(w http.ResponseWriter, r *Request) error {
	a, err := h.loadApp(r)
	if err != nil {
		return err
	}
	errs := checkFormText(r, []string{"grace"})
	grace := r.PostFormValue("grace")
	if errs.Any() {
		h.renderCredentials(w, r, http.StatusBadRequest, a, "24h", errs)
		return nil
	}
	if a.ClientID == model.ConsoleClientID {
		errs.add("", "The console's secret is derived from this server's master key on every node; a secret rotated here would be used by nobody. Rotate the master key instead.")
		h.renderCredentials(w, r, http.StatusBadRequest, a, grace, errs)
		return nil
	}
	d := parseTTL(errs, "grace", grace)
	if errs.Any() {
		h.renderCredentials(w, r, http.StatusBadRequest, a, grace, errs)
		return nil
	}
	res, err := h.Admin.RotateSecret(r.Context(), r.Actor, r.TenantID(), a.ClientID, d)
	if err != nil {
		if errs.merge(err, []string{"grace"}) {
			h.renderCredentials(w, r, http.StatusBadRequest, a, grace, errs)
			return nil
		}
		return err
	}
	h.render(w, r, http.StatusOK, "application_secret", a.Name+" · New secret", rotatedBody{
		Head: appHeader(r, a, "credentials"), Secret: res.Secret, PreviousUntil: formatTime(res.PreviousValidUntil), Immediate: d == 0,
	})
	return nil
}

// ---- Usage tab ----

type usageRow struct {
	admin.ScopeUsage
	Last string
}

type appUsageWindow struct {
	Days    int
	URL     string
	Current bool
}

type appUsageBody struct {
	Head       appHead
	Rows       []usageRow
	Candidates []string
	Windows    []appUsageWindow
	Days       int
	Since      string
	Until      string
	Console    bool
	// RemoveURL is the editor's save, which the "Remove from allowlist"
	// buttons post to (one application.scopes_changed event each).
	RemoveURL string
	Version   int64
	CanRemove bool
}

// usageDays are the windows the Usage tab offers.
var usageDays = []int{7, 30, 90}

func (h *Handler) applicationUsage(w http.ResponseWriter, r *Request) error {
	// The tab shows the application too (its header: type, policy,
	// allowlist), which is applications:read's to see, besides the
	// report's audit:read the route requires.
	if !r.May(admin.OpGetApplication) {
		return missingScope(admin.OpGetApplication)
	}
	a, err := h.loadApp(r)
	if err != nil {
		return err
	}
	days, _ := strconv.Atoi(r.URL.Query().Get("window"))
	if !slices.Contains(usageDays, days) {
		days = 30
	}
	rep, err := h.Admin.ScopeUsageReport(r.Context(), r.Actor, r.TenantID(), time.Duration(days)*24*time.Hour)
	if err != nil {
		return err
	}
	body := appUsageBody{Head: appHeader(r, a, "usage"), Days: days, Since: formatTime(rep.Since), Until: formatTime(rep.Until),
		Console: a.ClientID == model.ConsoleClientID, RemoveURL: appPath(r, a.ClientID, "allowlist"), Version: a.Version,
		CanRemove: r.May(admin.OpChangeAllowedScopes)}
	for _, d := range usageDays {
		body.Windows = append(body.Windows, appUsageWindow{Days: d, URL: appPath(r, a.ClientID, "usage") + "?window=" + strconv.Itoa(d), Current: d == days})
	}
	for _, app := range rep.Applications {
		if app.ClientID != a.ClientID {
			continue
		}
		for _, s := range app.Scopes {
			body.Rows = append(body.Rows, usageRow{ScopeUsage: s, Last: formatTime(s.LastGranted)})
		}
		body.Candidates = app.Candidates
	}
	h.render(w, r, http.StatusOK, "application_usage", a.Name+" · Usage", body)
	return nil
}

// ---- delete ----

type appDeleteBody struct {
	Head      appHead
	Action    string
	CancelURL string
	Version   int64
	Errors    appErrors
}

func (h *Handler) confirmDeleteApplication(w http.ResponseWriter, r *Request) error {
	a, err := h.loadApp(r)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "application_delete", "Delete "+a.Name, appDeleteBody{Head: appHeader(r, a, ""),
		Action: appPath(r, a.ClientID, "delete"), CancelURL: appPath(r, a.ClientID, "settings"), Version: a.Version, Errors: appErrors{}})
	return nil
}

func (h *Handler) deleteApplication(w http.ResponseWriter, r *Request) error {
	a, err := h.loadApp(r)
	if err != nil {
		return err
	}
	errs := checkFormText(r, nil)
	version := postedVersion(r, errs)
	status := http.StatusBadRequest
	if !errs.Any() {
		err = h.Admin.DeleteApplication(r.Context(), r.Actor, r.TenantID(), a.ClientID, version)
		switch {
		case err == nil:
			r.Notice(w, "Application "+a.Name+" ("+a.ClientID+") deleted; its grants were revoked.")
			http.Redirect(w, r.Request, r.Base+"/applications", http.StatusSeeOther)
			return nil
		case errors.Is(err, store.ErrPrecondition):
			status = http.StatusConflict
			errs.add("", "This application was changed by someone else since you opened it (its settings are on the Settings tab). If you still want to delete it, confirm again.")
		case !errs.merge(err, nil):
			return err
		}
	}
	cur, err := h.loadApp(r)
	if err != nil {
		return err
	}
	h.render(w, r, status, "application_delete", "Delete "+cur.Name, appDeleteBody{Head: appHeader(r, cur, ""),
		Action: appPath(r, cur.ClientID, "delete"), CancelURL: appPath(r, cur.ClientID, "settings"), Version: cur.Version, Errors: errs})
	return nil
}
