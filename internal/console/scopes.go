package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// The scopes pages (PRODUCT.md §5, issue 10; the custom-scope screens of
// seed 003):
//
//	GET  /scopes                  the scope reference: custom scopes alphabetical, 20 a page
//	                              (First / Previous / Next / Last), then the OIDC and platform scopes
//	GET  /scopes/new              the create form (?api= preselects an API)
//	POST /scopes/new              create
//	GET  /scopes/edit?name=       one scope: edit (display name, description, implies) and rename;
//	                              read-only for a user without scopes:write
//	POST /scopes/edit?name=       update, If-Match semantics through the form's version
//	POST /scopes/rename?name=     rename (allowlists, roles and consents follow)
//	GET  /scopes/delete?name=     the impact of a delete, and a form asking for the name
//	POST /scopes/delete?name=     delete, only when the typed name is the scope's
//
// A scope is named in the query, not the path: a name may hold "/", and
// any word a path would reserve ("new") is a valid scope name.
func (h *Handler) scopePages(rt *router) {
	p := model.ConsolePath + "/scopes"
	rt.page("GET", p, admin.OpListScopes, h.listScopes)
	rt.page("GET", p+"/new", admin.OpCreateScope, h.newScope)
	rt.page("POST", p+"/new", admin.OpCreateScope, h.createScope)
	rt.page("GET", p+"/edit", admin.OpGetScope, h.showScope)
	rt.page("POST", p+"/edit", admin.OpUpdateScope, h.updateScope)
	rt.page("POST", p+"/rename", admin.OpRenameScope, h.renameScope)
	rt.page("GET", p+"/delete", admin.OpScopeImpact, h.confirmDeleteScope)
	rt.page("POST", p+"/delete", admin.OpDeleteScope, h.deleteScope)
}

// ScopesPerPage is the length of a page of custom scopes (seed 003: "each
// page displays a maximum of 20 custom scopes").
const ScopesPerPage = 20

// seeOther ends a successful form: the notice for the next page, then 303
// to it (POST-redirect-GET).
func seeOther(w http.ResponseWriter, r *Request, notice, to string) error {
	r.Notice(w, notice)
	http.Redirect(w, r.Request, to, http.StatusSeeOther)
	return nil
}

// scopeURL is the page of one scope; action is "edit", "delete" or "rename".
func scopeURL(r *Request, action, name string) string {
	return r.Base + "/scopes/" + action + "?" + url.Values{"name": {name}}.Encode()
}

// apiURL is the page of one API.
func apiURL(r *Request, id string) string {
	return r.Base + "/apis/edit?" + url.Values{"id": {id}}.Encode()
}

// apiRef is the API a scope belongs to, as the pages show it.
type apiRef struct {
	ID, Name, Identifier, URL string
}

// scopeRow is a scope in a table, with its links.
type scopeRow struct {
	model.Scope
	API            *apiRef
	URL, DeleteURL string
}

// apiRefs maps the tenant's API IDs to their references.
func (h *Handler) apiRefs(r *Request) (map[string]*apiRef, []model.API, error) {
	apis, err := h.Admin.ListAPIs(r.Context(), r.Actor, r.TenantID())
	if err != nil {
		return nil, nil, err
	}
	out := make(map[string]*apiRef, len(apis))
	for _, a := range apis {
		out[a.ID] = &apiRef{ID: a.ID, Name: a.Name, Identifier: a.Identifier, URL: apiURL(r, a.ID)}
	}
	return out, apis, nil
}

func rowOf(r *Request, sc model.Scope, apis map[string]*apiRef) scopeRow {
	return scopeRow{Scope: sc, API: apis[sc.APIID], URL: scopeURL(r, "edit", sc.Name), DeleteURL: scopeURL(r, "delete", sc.Name)}
}

// allScopes reads every scope of kind ("" every kind), page by page.
func (h *Handler) allScopes(r *Request, kind model.ScopeKind) ([]model.Scope, error) {
	var out []model.Scope
	for off := 0; ; off += 1000 {
		p, err := h.Admin.ListScopes(r.Context(), r.Actor, r.TenantID(), kind, store.Page{Offset: off, Limit: 1000})
		if err != nil {
			return nil, err
		}
		out = append(out, p.Scopes...)
		if len(p.Scopes) < 1000 || off+len(p.Scopes) >= p.Total {
			return out, nil
		}
	}
}

// scopeSection is one table of predefined scopes.
type scopeSection struct {
	ID, Title, Note string
	Kind            model.ScopeKind
	Rows            []scopeRow
}

type scopesBody struct {
	Custom []scopeRow
	Total  int
	Pager  Pager
	// Predefined are the OIDC and the platform scopes.
	Predefined []scopeSection
	CanCreate  bool
	CanEdit    bool
	CanDelete  bool
	NewURL     string
}

// listScopes is the scope reference.
func (h *Handler) listScopes(w http.ResponseWriter, r *Request) error {
	ctx := r.Context()
	apis, _, err := h.apiRefs(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	want := min(PageParam(q), 1<<20)
	res, err := h.Admin.ListScopes(ctx, r.Actor, r.TenantID(), model.KindCustom, store.Page{Offset: (want - 1) * ScopesPerPage, Limit: ScopesPerPage})
	if err != nil {
		return err
	}
	pager, pg := NewPager(r.Base+"/scopes", url.Values{"page": {strconv.Itoa(want)}}, res.Total, ScopesPerPage)
	pager.Query = url.Values{}
	if pg.Offset != res.Page.Offset {
		// Past the last page (scopes were deleted meanwhile): show the last.
		if res, err = h.Admin.ListScopes(ctx, r.Actor, r.TenantID(), model.KindCustom, pg); err != nil {
			return err
		}
	}
	body := scopesBody{Total: res.Total, Pager: pager, CanCreate: r.May(admin.OpCreateScope),
		CanEdit: r.May(admin.OpUpdateScope), CanDelete: r.May(admin.OpDeleteScope), NewURL: r.Base + "/scopes/new"}
	for _, sc := range res.Scopes {
		body.Custom = append(body.Custom, rowOf(r, sc, apis))
	}
	for _, sec := range []scopeSection{
		{ID: "oidc-scopes", Title: "OpenID Connect scopes", Kind: model.KindOIDC,
			Note: "Predefined: they release claims about the signed-in user and go with any audience. Only their display name and description can change."},
		{ID: "platform-scopes", Title: "Platform scopes", Kind: model.KindPlatform,
			Note: "Predefined: they guard this tenant's management API (/api/v1) and this console. Only their display name and description can change."},
	} {
		all, err := h.allScopes(r, sec.Kind)
		if err != nil {
			return err
		}
		for _, sc := range all {
			sec.Rows = append(sec.Rows, rowOf(r, sc, apis))
		}
		body.Predefined = append(body.Predefined, sec)
	}
	title := "Scopes"
	if pager.Pages > 1 {
		title = fmt.Sprintf("Scopes (page %d of %d)", pager.Page, pager.Pages)
	}
	h.render(w, r, http.StatusOK, "scopes", title, body)
	return nil
}

// scopeForm is the input of the create and edit forms, as the user typed it.
type scopeForm struct {
	Name, DisplayName, Description, API, Implies string
	// RequiresMFA is the "Requires a second factor" checkbox.
	RequiresMFA bool
}

func readScopeForm(r *Request) scopeForm {
	return scopeForm{Name: strings.TrimSpace(r.PostForm.Get("name")), DisplayName: r.PostForm.Get("display_name"),
		Description: r.PostForm.Get("description"), API: r.PostForm.Get("api"), Implies: r.PostForm.Get("implies"),
		RequiresMFA: r.PostForm.Get("requires_mfa") != ""}
}

// MFAText is the form's checkbox as its was_requires_mfa field carries it.
func (f scopeForm) MFAText() string { return boolText(f.RequiresMFA) }

// boolText is a checkbox's state as the was_ fields and the conflict table
// carry it.
func boolText(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// apiOption is one choice of the API select.
type apiOption struct {
	ID, Label string
	Selected  bool
}

type newScopeBody struct {
	Form    scopeForm
	Errors  FieldErrors
	APIs    []apiOption
	Pattern string
	Action  string
	Back    string
	Max     int
}

func (h *Handler) newScopeBody(r *Request, f scopeForm, errs FieldErrors) (newScopeBody, error) {
	_, apis, err := h.apiRefs(r)
	if err != nil {
		return newScopeBody{}, err
	}
	b := newScopeBody{Form: f, Errors: errs, Pattern: r.Snap.Tenant.ScopePattern, Action: r.Base + "/scopes/new",
		Back: r.Base + "/scopes", Max: model.MaxDescription}
	for _, a := range apis {
		if a.Platform {
			continue // the platform API's scopes are predefined
		}
		b.APIs = append(b.APIs, apiOption{ID: a.ID, Label: a.Name + " (" + a.Identifier + ")",
			Selected: f.API == a.ID || f.API == a.Identifier})
	}
	return b, nil
}

// newScope is the create form.
func (h *Handler) newScope(w http.ResponseWriter, r *Request) error {
	b, err := h.newScopeBody(r, scopeForm{API: r.URL.Query().Get("api")}, nil)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "scope-new", "Create scope", b)
	return nil
}

// createScope creates a custom scope; bad input shows the form again with
// the input kept and each problem beside its field.
func (h *Handler) createScope(w http.ResponseWriter, r *Request) error {
	f := readScopeForm(r)
	sc, err := h.Admin.CreateScope(r.Context(), r.Actor, r.TenantID(), admin.ScopeInput{
		Name: f.Name, DisplayName: f.DisplayName, Description: f.Description, API: f.API, Implies: strings.Fields(f.Implies),
		RequiresMFA: f.RequiresMFA})
	if err != nil {
		errs, status := fieldErrors(err), http.StatusBadRequest
		if errs == nil && errors.Is(err, store.ErrConflict) {
			errs, status = FieldErrors{"name": describe(err).Message}, http.StatusConflict
		}
		if errs == nil {
			return err
		}
		b, err := h.newScopeBody(r, f, errs)
		if err != nil {
			return err
		}
		h.render(w, r, status, "scope-new", "Create scope", b)
		return nil
	}
	return seeOther(w, r, fmt.Sprintf("Scope %s created. It is on no application's allowlist until you add it.", sc.Name), scopeURL(r, "edit", sc.Name))
}

// scopeConflict is a stale edit: the version the user changed, as they
// submitted it, beside the version stored now.
type scopeConflict struct {
	Yours, Current scopeForm
	// Was is what the form was opened with, nil when it did not say.
	Was map[string]string
}

// readWas reads the values the edit form was opened with (its was_
// fields), and whether the form carried them.
func readWas(r *Request, fields ...string) (map[string]string, bool) {
	was := map[string]string{}
	for _, f := range fields {
		v, ok := r.PostForm["was_"+f]
		if !ok || len(v) != 1 {
			return nil, false
		}
		was[f] = v[0]
	}
	return was, true
}

// rebase is a stale edit's form set to re-apply onto the current version:
// a field the user changed (their value differs from the one they opened,
// was) keeps their value; a field they left alone takes the current one,
// so that saving again loses neither their change nor the other one.
// Without was, every field keeps the user's value.
func rebase(yours, current string, was map[string]string, field string, normalize func(string) string) string {
	if was == nil {
		return yours
	}
	if normalize(yours) == normalize(was[field]) {
		return current
	}
	return yours
}

func same(s string) string   { return s }
func fields(s string) string { return strings.Join(strings.Fields(s), " ") }

type scopeBody struct {
	Scope scopeRow
	// Form is what the edit form shows: the stored scope, or the user's
	// input when it is shown again.
	Form scopeForm
	// Was is the version the edit form compares the input with when the
	// save finds the scope changed (rebase).
	Was       scopeForm
	Version   int64
	Errors    FieldErrors
	Conflict  *scopeConflict
	NewName   string
	RenameErr FieldErrors
	// RenameConflict: the rename was refused because the scope changed.
	RenameConflict bool
	CanEdit        bool
	CanRename      bool
	CanDelete      bool
	Pattern        string
	Max            int
	EditAction     string
	RenameAction   string
	Back           string
}

func formOf(sc model.Scope) scopeForm {
	return scopeForm{Name: sc.Name, DisplayName: sc.DisplayName, Description: sc.Description, API: sc.APIID, Implies: strings.Join(sc.Implies, " "),
		RequiresMFA: sc.RequiresMFA}
}

// scopeName is the scope a page is about (?name=), or a 404.
func scopeName(r *Request) (string, error) {
	name := r.URL.Query().Get("name")
	if name == "" {
		return "", notFound("Name the scope to show: %s/scopes/edit?name=<scope>.", r.Base)
	}
	return name, nil
}

// scopePage reads the scope and the APIs, and fills what every view of
// the scope page needs.
func (h *Handler) scopePage(r *Request, name string) (scopeBody, error) {
	sc, err := h.Admin.GetScope(r.Context(), r.Actor, r.TenantID(), name)
	if err != nil {
		return scopeBody{}, err
	}
	apis, _, err := h.apiRefs(r)
	if err != nil {
		return scopeBody{}, err
	}
	return scopeBody{Scope: rowOf(r, sc, apis), Form: formOf(sc), Was: formOf(sc), Version: sc.Version,
		CanEdit: r.May(admin.OpUpdateScope), CanRename: !sc.Predefined() && r.May(admin.OpRenameScope),
		CanDelete: !sc.Predefined() && r.May(admin.OpDeleteScope), Pattern: r.Snap.Tenant.ScopePattern,
		Max: model.MaxDescription, EditAction: scopeURL(r, "edit", sc.Name), RenameAction: scopeURL(r, "rename", sc.Name),
		Back: r.Base + "/scopes"}, nil
}

func scopeTitle(name string) string { return "Scope " + name }

// showScope is one scope's page.
func (h *Handler) showScope(w http.ResponseWriter, r *Request) error {
	name, err := scopeName(r)
	if err != nil {
		return err
	}
	b, err := h.scopePage(r, name)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "scope", scopeTitle(name), b)
	return nil
}

// updateScope saves the edit form. A stale version shows the user's input
// again beside the current version, with the form set to re-apply it onto
// the current one.
func (h *Handler) updateScope(w http.ResponseWriter, r *Request) error {
	name, err := scopeName(r)
	if err != nil {
		return err
	}
	version, err := formVersion(r)
	if err != nil {
		return err
	}
	f := readScopeForm(r)
	f.Name = name
	upd := admin.ScopeUpdate{DisplayName: &f.DisplayName, Description: &f.Description, Version: version}
	if _, custom := r.PostForm["implies"]; custom {
		implies := strings.Fields(f.Implies)
		upd.Implies = &implies
	}
	// An unticked checkbox sends nothing: the form says it showed one
	// by its was_requires_mfa field (an OpenID Connect scope's has none).
	_, hasMFA := r.PostForm["was_requires_mfa"]
	if hasMFA {
		upd.RequiresMFA = &f.RequiresMFA
	}
	sc, err := h.Admin.UpdateScope(r.Context(), r.Actor, r.TenantID(), name, upd)
	if err == nil {
		return seeOther(w, r, fmt.Sprintf("Scope %s saved.", sc.Name), scopeURL(r, "edit", sc.Name))
	}
	errs := fieldErrors(err)
	stale := errors.Is(err, store.ErrPrecondition)
	if errs == nil && !stale {
		return err
	}
	b, err := h.scopePage(r, name)
	if err != nil {
		return err
	}
	f.API = b.Form.API
	was, ok := readWas(r, "display_name", "description", "implies")
	if !ok {
		was, ok = readWas(r, "display_name", "description")
	}
	if wasMFA, carried := readWas(r, "requires_mfa"); ok && carried {
		was["requires_mfa"] = wasMFA["requires_mfa"]
	}
	status := http.StatusBadRequest
	if stale {
		status = http.StatusConflict
		cur := b.Form
		b.Conflict = &scopeConflict{Yours: f, Current: cur, Was: was}
		b.Form = scopeForm{Name: f.Name, API: f.API,
			DisplayName: rebase(f.DisplayName, cur.DisplayName, was, "display_name", same),
			Description: rebase(f.Description, cur.Description, was, "description", same),
			Implies:     rebase(f.Implies, cur.Implies, was, "implies", fields),
			RequiresMFA: cur.RequiresMFA}
		if hasMFA {
			b.Form.RequiresMFA = rebase(boolText(f.RequiresMFA), boolText(cur.RequiresMFA), was, "requires_mfa", same) == "yes"
		}
		// b.Was and b.Version are the current version's: the next save
		// applies onto it.
	} else {
		// Bad input at the version shown: keep that version (and what the
		// form was opened with), so that a change made meanwhile is still
		// caught on the next save.
		b.Form, b.Version = f, version
		if ok {
			b.Was = scopeForm{Name: f.Name, API: f.API, DisplayName: was["display_name"], Description: was["description"], Implies: was["implies"],
				RequiresMFA: was["requires_mfa"] == "yes"}
		}
	}
	b.Errors = errs
	h.render(w, r, status, "scope", scopeTitle(name), b)
	return nil
}

// renameScope renames a custom scope.
func (h *Handler) renameScope(w http.ResponseWriter, r *Request) error {
	name, err := scopeName(r)
	if err != nil {
		return err
	}
	version, err := formVersion(r)
	if err != nil {
		return err
	}
	newName := strings.TrimSpace(r.PostForm.Get("new_name"))
	sc, err := h.Admin.RenameScope(r.Context(), r.Actor, r.TenantID(), name, newName, version)
	if err == nil {
		return seeOther(w, r, fmt.Sprintf("Scope %s renamed to %s; the allowlists, roles and consents that held it now hold the new name.", name, sc.Name),
			scopeURL(r, "edit", sc.Name))
	}
	errs, status := fieldErrors(err), http.StatusBadRequest
	stale := errors.Is(err, store.ErrPrecondition)
	switch {
	case errs == nil && errors.Is(err, store.ErrConflict):
		errs, status = FieldErrors{"new_name": describe(err).Message}, http.StatusConflict
	case stale:
		status = http.StatusConflict
	case errs == nil:
		return err
	}
	b, err := h.scopePage(r, name)
	if err != nil {
		return err
	}
	if msg, ok := errs["name"]; ok {
		// A predefined scope: the problem is the scope, not the new name.
		errs["new_name"] = msg
	}
	if !stale {
		b.Version = version
	}
	b.NewName, b.RenameErr, b.RenameConflict = newName, errs, stale
	h.render(w, r, status, "scope", scopeTitle(name), b)
	return nil
}

type deleteScopeBody struct {
	Scope      scopeRow
	Impact     admin.ScopeImpact
	Version    int64
	Confirm    string
	Error      string
	Stale      bool
	Action     string
	Back       string
	Grants     string
	ConsentsOf string
}

func (h *Handler) deletePage(r *Request, name string) (deleteScopeBody, error) {
	imp, err := h.Admin.Impact(r.Context(), r.Actor, r.TenantID(), name)
	if err != nil {
		return deleteScopeBody{}, err
	}
	d := imp.Scope
	sc := model.Scope{Name: d.Name, DisplayName: d.DisplayName, Description: d.Description, Kind: model.ScopeKind(d.Kind),
		APIID: d.API, Implies: d.Implies, Claims: d.Claims, RequiresMFA: d.RequiresMFA, Version: d.Version}
	apis, _, err := h.apiRefs(r)
	if err != nil {
		return deleteScopeBody{}, err
	}
	return deleteScopeBody{Scope: rowOf(r, sc, apis), Impact: imp, Version: imp.Scope.Version,
		Action: scopeURL(r, "delete", name), Back: scopeURL(r, "edit", name),
		Grants: plural(imp.GrantsLast30Days, "token", "tokens"), ConsentsOf: plural(imp.Consents, "consent", "consents")}, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// confirmDeleteScope shows what a delete would touch and asks for the
// scope's name.
func (h *Handler) confirmDeleteScope(w http.ResponseWriter, r *Request) error {
	name, err := scopeName(r)
	if err != nil {
		return err
	}
	b, err := h.deletePage(r, name)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "scope-delete", "Delete scope "+name, b)
	return nil
}

// deleteScope deletes the scope when the user typed its name; a wrong name
// deletes nothing.
func (h *Handler) deleteScope(w http.ResponseWriter, r *Request) error {
	name, err := scopeName(r)
	if err != nil {
		return err
	}
	version, err := formVersion(r)
	if err != nil {
		return err
	}
	confirm := strings.TrimSpace(r.PostForm.Get("confirm"))
	if confirm != name {
		b, err := h.deletePage(r, name)
		if err != nil {
			return err
		}
		b.Version, b.Confirm = version, confirm
		b.Error = fmt.Sprintf("Type the scope's name, %s, exactly as shown to delete it; nothing was deleted.", name)
		if confirm == "" {
			b.Error = fmt.Sprintf("Type the scope's name, %s, to confirm; nothing was deleted.", name)
		}
		h.render(w, r, http.StatusBadRequest, "scope-delete", "Delete scope "+name, b)
		return nil
	}
	imp, err := h.Admin.DeleteScope(r.Context(), r.Actor, r.TenantID(), name, version)
	if errors.Is(err, store.ErrPrecondition) {
		b, err := h.deletePage(r, name)
		if err != nil {
			return err
		}
		b.Stale, b.Confirm = true, confirm
		h.render(w, r, http.StatusConflict, "scope-delete", "Delete scope "+name, b)
		return nil
	}
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Scope %s deleted.", name)
	if n := len(imp.Applications); n > 0 {
		apps := slices.Clone(imp.Applications)
		if n > 5 {
			apps = append(apps[:5], fmt.Sprintf("and %d more", n-5))
		}
		msg = fmt.Sprintf("Scope %s deleted and removed from %s: %s.", name, plural(n, "application", "applications"), strings.Join(apps, ", "))
	}
	return seeOther(w, r, msg, r.Base+"/scopes")
}

// scField is one labelled text field of the scopes and APIs forms (the
// "sc-field" template). ID is also the form field's name.
type scField struct {
	ID, Label, Hint, Value, Error string
	// Counter, when set, shows a live "n of max characters" counter.
	Counter   int
	Multiline bool
	// ScopeName fields are checked as they are typed (scopes.js) against
	// the registry rule and the tenant's naming Pattern.
	ScopeName bool
	Pattern   string
}

// DescribedBy lists the IDs of the field's hint, counter and error.
func (f scField) DescribedBy() string {
	ids := []string{}
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Counter > 0 {
		ids = append(ids, f.ID+"-counter")
	}
	return strings.Join(append(ids, f.ID+"-error"), " ")
}

// conflictView is the table of a stale edit (the "sc-conflict" template).
type conflictView struct {
	What string
	Rows []conflictRow
}

type conflictRow struct {
	Field, Yours, Current string
	Differs               bool
	// Untouched: the user left this field as they found it.
	Untouched bool
}

// staleRow is the row of field: the user's value beside the current one.
func staleRow(field, yours, current string) conflictRow {
	return conflictRow{Field: field, Yours: yours, Current: current, Differs: yours != current}
}

// add adds the row of field (was's key id): the user's value and the
// current one.
func (c conflictView) add(field, id, yours, current string, was map[string]string, normalize func(string) string) conflictView {
	w, ok := was[id]
	c.Rows = append(c.Rows, conflictRow{Field: field, Yours: yours, Current: current, Differs: normalize(yours) != normalize(current),
		Untouched: ok && normalize(w) == normalize(yours)})
	return c
}

// The hints of the scope fields.
const (
	hintScopeName = "Exactly the scope string your applications request, e.g. loans:read: a letter first, then letters, digits and _ : . - / (at most 64 characters; RFC 6749 §3.3 scope-token)."
	hintDisplay   = "A short title for people, e.g. on the consent screen (optional, at most 120 characters)."
	hintDesc      = "Required: the consent text users read, saying what the application may do with this scope."
	hintImplies   = "Scopes a grant of this one carries with it, separated by spaces: scopes of the same API, or OpenID Connect scopes (optional)."
)

// Fields are the create form's text fields.
func (b newScopeBody) NameField() scField {
	return scField{ID: "name", Label: "Name", Hint: hintScopeName, Value: b.Form.Name, Error: b.Errors["name"], ScopeName: true, Pattern: b.Pattern}
}

// DetailFields are the fields the create and edit forms share.
func (b newScopeBody) DetailFields() []scField {
	return detailFields(b.Form, b.Errors, true, b.Max)
}

func detailFields(f scopeForm, errs FieldErrors, custom bool, maxDesc int) []scField {
	out := []scField{
		{ID: "display_name", Label: "Display name", Hint: hintDisplay, Value: f.DisplayName, Error: errs["display_name"]},
		{ID: "description", Label: "Description", Hint: hintDesc, Value: f.Description, Error: errs["description"], Counter: maxDesc, Multiline: true},
	}
	if custom {
		out = append(out, scField{ID: "implies", Label: "Implies", Hint: hintImplies, Value: f.Implies, Error: errs["implies"]})
	}
	return out
}

// DetailFields are the edit form's fields (no implications for a
// predefined scope: they are part of the platform's contract).
func (b scopeBody) DetailFields() []scField {
	return detailFields(b.Form, b.Errors, !b.Scope.Predefined(), b.Max)
}

// RenameField is the rename form's new-name field.
func (b scopeBody) RenameField() scField {
	v := b.NewName
	if v == "" {
		v = b.Scope.Name
	}
	return scField{ID: "new_name", Label: "New name", Hint: hintScopeName, Value: v, Error: b.RenameErr["new_name"], ScopeName: true, Pattern: b.Pattern}
}

// ConflictView is the stale edit's table.
func (b scopeBody) ConflictView() conflictView {
	c := conflictView{What: "scope"}
	if b.Conflict == nil {
		return c
	}
	y, cur, was := b.Conflict.Yours, b.Conflict.Current, b.Conflict.Was
	c = c.add("Display name", "display_name", y.DisplayName, cur.DisplayName, was, same).
		add("Description", "description", y.Description, cur.Description, was, same)
	if !b.Scope.Predefined() {
		c = c.add("Implies", "implies", y.Implies, cur.Implies, was, fields)
	}
	if b.Scope.Kind != model.KindOIDC {
		c = c.add("Requires a second factor", "requires_mfa", boolText(y.RequiresMFA), boolText(cur.RequiresMFA), was, same)
	}
	return c
}

// hintMFA is the hint of the "Requires a second factor" checkbox.
const hintMFA = "Users get this scope only after signing in with a second factor (an authenticator app or a passkey); at sign-in they are asked to step up, and the scope is dropped with step_up_required when they do not. Client-credentials tokens are not affected."

// mfaBox is the "Requires a second factor (MFA)" checkbox of a scope form
// (the "sc-mfa" template).
type mfaBox struct {
	Checked bool
	Error   string
	Hint    string
}

// MFABox is the create form's checkbox.
func (b newScopeBody) MFABox() mfaBox {
	return mfaBox{Checked: b.Form.RequiresMFA, Error: b.Errors["requires_mfa"], Hint: hintMFA}
}

// MFABox is the edit form's checkbox (none for an OpenID Connect scope).
func (b scopeBody) MFABox() mfaBox {
	return mfaBox{Checked: b.Form.RequiresMFA, Error: b.Errors["requires_mfa"], Hint: hintMFA}
}

// HasMFABox reports whether the edit form shows the checkbox: an OpenID
// Connect scope cannot require a second factor.
func (b scopeBody) HasMFABox() bool { return b.Scope.Kind != model.KindOIDC }
