package console

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/scope"
)

// The Access tab and its Allowed scopes editor (PRODUCT.md §5, seed 001:
// "two columns … drag, select-and-arrow, or type the scope name; save").
//
// The editor is one form that works without JavaScript. Its state is the
// allowlist it was opened on (hidden "base" fields, at the hidden
// "version") and the pending changes (hidden "add" and "remove" fields).
// Every button posts the form to POST …/allowlist with do=…:
//
//	do=add      stage the typed scope name (refused with the reason when invalid or unknown)
//	do=filter   hide the available scopes that do not match the filter text
//	do=allow    stage the scopes selected in Available scopes
//	do=remove   stage the removal of the scopes selected in Allowed scopes
//	do=discard  forget the pending changes
//	do=save     admin.ChangeAllowedScopes(add, remove, version): ONE write, ONE
//	            application.scopes_changed event
//
// A staging answer re-renders the editor with the pending changes and moves
// nothing in the store. static/allowlist.js does the staging in the page
// instead (and adds drag and drop), keeping the same hidden fields, so Save
// posts the same thing either way.
//
// A save onto an allowlist that changed meanwhile (store.ErrPrecondition)
// loses nothing: the editor comes back on the current allowlist and
// version, with the pending changes re-applied onto it and both versions
// named, and Save applies them to the current one.

// accessForm is the scope policy, consent and second-factor form of the
// Access tab.
type accessForm struct {
	ScopePolicy, Consent string
	// MFA is inherit or required (model.AppMFAInherit, AppMFARequired).
	MFA     string
	Version int64
}

// scopeOption is one scope in one of the editor's lists.
type scopeOption struct {
	Name  string
	Title string
	// Display is the scope's display name, which the filter matches too.
	Display string
	// Hidden: filtered out of Available scopes.
	Hidden bool
	// Pending: in Allowed, to be added; in Available, to be removed.
	Pending  bool
	Selected bool
}

// scopeGroup is an <optgroup>: the scopes of one API, or the OIDC scopes.
type scopeGroup struct {
	Label   string
	Options []scopeOption
	// Hidden: it has no option to show.
	Hidden bool
}

// allowlistState is what the editor's hidden fields carry.
type allowlistState struct {
	Version int64
	// Base is the allowlist at Version, which Add and Remove apply to.
	Base, Add, Remove []string
	Filter, Name      string
}

func freshState(a model.Application) allowlistState {
	return allowlistState{Version: a.Version, Base: sortedNames(a.AllowedScopes)}
}

// Eff is the allowlist the pending changes would make.
func (s allowlistState) Eff() []string {
	return sortedNames(setMinus(append(slices.Clone(s.Base), s.Add...), s.Remove))
}

// setEff stages eff: the pending changes become its difference to Base.
func (s *allowlistState) setEff(eff []string) {
	eff = sortedNames(eff)
	s.Add, s.Remove = setMinus(eff, s.Base), setMinus(s.Base, eff)
}

// Summary is the pending changes as the editor shows them:
// "+ payments:approve, − audit:read".
func (s allowlistState) Summary() string { return pendingSummary(s.Add, s.Remove) }

func pendingSummary(add, remove []string) string {
	var parts []string
	for _, n := range add {
		parts = append(parts, "+ "+n)
	}
	for _, n := range remove {
		parts = append(parts, "− "+n)
	}
	return strings.Join(parts, ", ")
}

// allowlistConflict names both versions of a stale save: the allowlist the
// user opened and the one stored now, what the other change did, and the
// user's own changes as made (now re-applied onto the current version).
type allowlistConflict struct {
	Opened, Current           []string
	TheyAdded, TheyRemoved    []string
	YourAdded, YourRemoved    []string
	YourSummary, TheirSummary string
}

// rebaseAllowlist moves the pending changes of s onto a's current allowlist and
// version, and returns what changed underneath them.
func rebaseAllowlist(s *allowlistState, a model.Application) *allowlistConflict {
	cur := sortedNames(a.AllowedScopes)
	c := &allowlistConflict{Opened: s.Base, Current: cur, TheyAdded: setMinus(cur, s.Base), TheyRemoved: setMinus(s.Base, cur),
		YourAdded: s.Add, YourRemoved: s.Remove}
	c.YourSummary, c.TheirSummary = pendingSummary(c.YourAdded, c.YourRemoved), pendingSummary(c.TheyAdded, c.TheyRemoved)
	eff := setMinus(append(slices.Clone(cur), s.Add...), s.Remove)
	s.Base, s.Version = cur, a.Version
	s.setEff(eff)
	return c
}

// allowlistEditor is what the editor template sees.
type allowlistEditor struct {
	Action    string
	State     allowlistState
	Available []scopeGroup
	Allowed   []scopeGroup
	// Suggestions are every registered scope name, for the <datalist>.
	Suggestions []string
	Errors      appErrors
	// Status is a one-line answer to the last staging ("openid is already
	// allowed.").
	Status   string
	Conflict *allowlistConflict
	// Focus names the control that gets autofocus after a staging answer,
	// so that a keyboard user goes on where they were.
	Focus   string
	CanEdit bool
	// Return and Window send a save from the Usage tab back there.
	Return string
}

// Summary is the pending changes, or "" when there are none.
func (e allowlistEditor) Summary() string { return e.State.Summary() }

// registry is the tenant's scopes with the label of the group each shows in.
type registry struct {
	scopes map[string]model.Scope
	// order is every scope, by group (OIDC first, then APIs by name), then
	// name; labels are the group labels in that order.
	order  []model.Scope
	label  map[string]string
	labels []string
}

// loadRegistry reads the tenant's scope registry and APIs through admin.
func (h *Handler) loadRegistry(r *Request) (registry, error) {
	ctx := r.Context()
	reg := registry{scopes: map[string]model.Scope{}, label: map[string]string{}}
	for off := 0; ; {
		p, err := h.Admin.ListScopes(ctx, r.Actor, r.TenantID(), "", store.Page{Offset: off, Limit: 1000})
		if err != nil {
			return reg, err
		}
		for _, sc := range p.Scopes {
			reg.scopes[sc.Name] = sc
		}
		off += len(p.Scopes)
		if len(p.Scopes) == 0 || off >= p.Total {
			break
		}
	}
	apis, err := h.Admin.ListAPIs(ctx, r.Actor, r.TenantID())
	if err != nil {
		return reg, err
	}
	// A group is labelled with its API's name, and with its identifier too
	// when two APIs share a name.
	names := map[string]int{}
	for _, a := range apis {
		names[a.Name]++
	}
	apiLabel := map[string]string{}
	for _, a := range apis {
		apiLabel[a.ID] = a.Name
		if names[a.Name] > 1 || a.Name == "" {
			apiLabel[a.ID] = strings.TrimSpace(a.Name + " (" + a.Identifier + ")")
		}
	}
	const oidc, other = "OpenID Connect", "Other"
	for name, sc := range reg.scopes {
		l := other
		switch {
		case sc.Kind == model.KindOIDC:
			l = oidc
		case apiLabel[sc.APIID] != "":
			l = apiLabel[sc.APIID]
		}
		reg.label[name] = l
		reg.order = append(reg.order, sc)
		if !slices.Contains(reg.labels, l) {
			reg.labels = append(reg.labels, l)
		}
	}
	rank := func(l string) int {
		switch l {
		case oidc:
			return 0
		case other:
			return 2
		}
		return 1
	}
	slices.SortFunc(reg.labels, func(a, b string) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a, b)) })
	slices.SortFunc(reg.order, func(a, b model.Scope) int {
		la, lb := reg.label[a.Name], reg.label[b.Name]
		return cmp.Or(cmp.Compare(slices.Index(reg.labels, la), slices.Index(reg.labels, lb)), strings.Compare(a.Name, b.Name))
	})
	return reg, nil
}

// title is the hover text of a scope: its display name and consent text.
func (reg registry) title(name string) string {
	sc, ok := reg.scopes[name]
	if !ok {
		return "not in this tenant's scope registry"
	}
	t := sc.DisplayName
	if sc.Description != "" {
		if t != "" {
			t += " — "
		}
		t += sc.Description
	}
	return t
}

// matches reports whether a scope matches the filter text (its name or
// display name contains it, ignoring case).
func matches(sc model.Scope, filter string) bool {
	f := strings.ToLower(strings.TrimSpace(filter))
	return f == "" || strings.Contains(strings.ToLower(sc.Name), f) || strings.Contains(strings.ToLower(sc.DisplayName), f)
}

// editor builds the two lists of the editor for state s; selected names
// the options to show selected (the ones just moved).
func (reg registry) editor(s allowlistState, selected []string) (available, allowed []scopeGroup, suggestions []string) {
	eff := s.Eff()
	groups := func() []scopeGroup {
		out := make([]scopeGroup, len(reg.labels), len(reg.labels)+1)
		for i, l := range reg.labels {
			out[i] = scopeGroup{Label: l, Hidden: true}
		}
		return out
	}
	available, allowed = groups(), groups()
	for _, sc := range reg.order {
		i := slices.Index(reg.labels, reg.label[sc.Name])
		suggestions = append(suggestions, sc.Name)
		o := scopeOption{Name: sc.Name, Title: reg.title(sc.Name), Display: sc.DisplayName, Selected: slices.Contains(selected, sc.Name)}
		if slices.Contains(eff, sc.Name) {
			o.Pending = !slices.Contains(s.Base, sc.Name)
			allowed[i].Options = append(allowed[i].Options, o)
			allowed[i].Hidden = false
			continue
		}
		o.Pending = slices.Contains(s.Base, sc.Name)
		o.Hidden = !matches(sc, s.Filter)
		available[i].Options = append(available[i].Options, o)
		if !o.Hidden {
			available[i].Hidden = false
		}
	}
	// Names on the list that the registry does not know (a pending add of
	// a scope deleted meanwhile): shown, so that nothing is hidden.
	var unknown []scopeOption
	for _, n := range eff {
		if _, ok := reg.scopes[n]; !ok {
			unknown = append(unknown, scopeOption{Name: n, Title: reg.title(n), Pending: !slices.Contains(s.Base, n)})
		}
	}
	if len(unknown) > 0 {
		allowed = append(allowed, scopeGroup{Label: "Not in the registry", Options: unknown})
	}
	slices.Sort(suggestions)
	return available, allowed, suggestions
}

type accessBody struct {
	Head         appHead
	Policy       accessForm
	PolicyErrors appErrors
	PolicyStale  *staleEdit
	PolicyAction string
	CanEditApp   bool
	Editor       allowlistEditor
	// TenantMFA is the tenant's second-factor policy, which "inherit"
	// stands for.
	TenantMFA string
}

// renderAccess writes the Access tab of a with the policy form pf and the
// editor ed (its lists are filled in here from the registry).
func (h *Handler) renderAccess(w http.ResponseWriter, r *Request, status int, a model.Application, body accessBody, selected []string) error {
	reg, err := h.loadRegistry(r)
	if err != nil {
		return err
	}
	body.Head = appHeader(r, a, "access")
	body.PolicyAction = appPath(r, a.ClientID, "access")
	body.CanEditApp = r.May(admin.OpUpdateApplication)
	if body.PolicyErrors == nil {
		body.PolicyErrors = appErrors{}
	}
	if body.Policy.Version == 0 {
		body.Policy = accessForm{ScopePolicy: a.ScopePolicy, Consent: a.Consent, MFA: admin.AppMFA(a), Version: a.Version}
	}
	body.TenantMFA = string(r.Snap.Tenant.MFAPolicy.Effective())
	ed := &body.Editor
	if ed.Errors == nil {
		ed.Errors = appErrors{}
	}
	ed.Action = appPath(r, a.ClientID, "allowlist")
	ed.CanEdit = r.May(admin.OpChangeAllowedScopes)
	ed.Available, ed.Allowed, ed.Suggestions = reg.editor(ed.State, selected)
	h.render(w, r, status, "application_access", a.Name+" · Access", body)
	return nil
}

func (h *Handler) applicationAccess(w http.ResponseWriter, r *Request) error {
	a, err := h.loadApp(r)
	if err != nil {
		return err
	}
	return h.renderAccess(w, r, http.StatusOK, a, accessBody{Editor: allowlistEditor{State: freshState(a)}}, nil)
}

// updateApplicationAccess saves the scope policy and consent mode.
func (h *Handler) updateApplicationAccess(w http.ResponseWriter, r *Request) error {
	a, err := h.loadApp(r)
	if err != nil {
		return err
	}
	fields := []string{"scope_policy", "consent", "mfa"}
	errs := checkFormText(r, fields)
	f := accessForm{ScopePolicy: r.PostFormValue("scope_policy"), Consent: r.PostFormValue("consent"), MFA: r.PostFormValue("mfa")}
	_, hasMFA := r.PostForm["mfa"]
	if !errs.Any() {
		f.Version = postedVersion(r, errs)
	}
	body := accessBody{Editor: allowlistEditor{State: freshState(a)}, PolicyErrors: errs}
	if errs.Any() {
		f.Version = a.Version
		body.Policy = f
		return h.renderAccess(w, r, http.StatusBadRequest, a, body, nil)
	}
	upd := admin.ApplicationUpdate{ScopePolicy: &f.ScopePolicy, Consent: &f.Consent, Version: f.Version}
	if hasMFA {
		upd.MFA = &f.MFA
	} else {
		f.MFA = admin.AppMFA(a)
	}
	out, err := h.Admin.UpdateApplication(r.Context(), r.Actor, r.TenantID(), a.ClientID, upd)
	if errors.Is(err, store.ErrPrecondition) {
		cur, err := h.loadApp(r)
		if err != nil {
			return err
		}
		body.PolicyStale = &staleEdit{Rows: []conflictRow{
			staleRow("Scope policy", f.ScopePolicy, cur.ScopePolicy),
			staleRow("Consent", f.Consent, cur.Consent),
			staleRow("Second factor", f.MFA, admin.AppMFA(cur)),
		}}
		f.Version = cur.Version
		body.Policy = f
		body.Editor.State = freshState(cur)
		return h.renderAccess(w, r, http.StatusConflict, cur, body, nil)
	}
	if err != nil {
		if errs.merge(err, fields) {
			f.Version = a.Version
			body.Policy = f
			return h.renderAccess(w, r, http.StatusBadRequest, a, body, nil)
		}
		return err
	}
	r.Notice(w, "Access settings of "+out.Name+" saved: scope policy "+out.ScopePolicy+", consent "+out.Consent+", second factor "+admin.AppMFA(out)+".")
	http.Redirect(w, r.Request, appPath(r, out.ClientID, "access"), http.StatusSeeOther)
	return nil
}

var allowlistFields = []string{"name", "filter", "add", "remove", "base", "available", "allowed", "do", "return", "window"}

// postAllowlist is the editor's one action: stage a change (re-render with
// it pending) or save the pending changes.
func (h *Handler) postAllowlist(w http.ResponseWriter, r *Request) error {
	a, err := h.loadApp(r)
	if err != nil {
		return err
	}
	errs := checkFormText(r, allowlistFields)
	ed := allowlistEditor{Errors: errs}
	if errs.Any() {
		ed.State = freshState(a)
		return h.renderAccess(w, r, http.StatusBadRequest, a, accessBody{Editor: ed}, nil)
	}
	st := allowlistState{
		Base: sortedNames(r.PostForm["base"]), Add: sortedNames(r.PostForm["add"]), Remove: sortedNames(r.PostForm["remove"]),
		Filter: r.PostFormValue("filter"), Name: strings.TrimSpace(r.PostFormValue("name")),
	}
	st.Version = postedVersion(r, errs)
	if errs.Any() {
		ed.State = freshState(a)
		return h.renderAccess(w, r, http.StatusBadRequest, a, accessBody{Editor: ed}, nil)
	}
	do := r.PostFormValue("do")
	if do == "save" {
		return h.saveAllowlist(w, r, a, st)
	}
	reg, err := h.loadRegistry(r)
	if err != nil {
		return err
	}
	// The allowlist changed since the editor was opened: carry on from the
	// current one, and say so.
	if st.Version != a.Version {
		ed.Conflict = rebaseAllowlist(&st, a)
	}
	var selected []string
	status := http.StatusOK
	switch do {
	case "allow":
		selected = r.PostForm["available"]
		if len(selected) == 0 {
			ed.Status = "Select one or more scopes in Available scopes first."
		}
		st.setEff(append(st.Eff(), selected...))
		ed.Focus = "allow"
	case "remove":
		selected = r.PostForm["allowed"]
		if len(selected) == 0 {
			ed.Status = "Select one or more scopes in Allowed scopes first."
		}
		st.setEff(setMinus(st.Eff(), selected))
		ed.Focus = "remove"
	case "discard":
		st, ed.Conflict = freshState(a), nil
		ed.Status = "Pending changes discarded."
		ed.Focus = "allow"
	default:
		// "add", "filter", and a form sent with Enter from either text
		// box (which presses the first button, Add scope): apply both
		// boxes.
		ed.Focus = "filter"
		if st.Name == "" {
			if do == "add" && strings.TrimSpace(st.Filter) == "" {
				errs.add("name", "type the name of a scope to add it")
				ed.Focus, status = "name", http.StatusBadRequest
			}
			break
		}
		ed.Focus = "name"
		if n, ok := stageTyped(&st, reg, errs); ok {
			selected = []string{n}
		} else if !errs.Any() {
			ed.Status = n + " is already allowed."
		}
		if errs.Any() {
			status = http.StatusBadRequest
		}
	}
	ed.State = st
	return h.renderAccess(w, r, status, a, accessBody{Editor: ed}, selected)
}

// stageTyped stages the scope name the user typed, or records why not on
// the "name" field with the words admin.ChangeAllowedScopes uses. It
// returns the name and whether it was staged (false and no problem: it
// is already allowed).
func stageTyped(st *allowlistState, reg registry, errs appErrors) (string, bool) {
	n := st.Name
	switch {
	case n == "":
		errs.add("name", "type the name of a scope to add it")
		return n, false
	case !scope.ValidToken(n):
		errs.add("name", fmt.Sprintf("%q is not a valid scope name (RFC 6749 §3.3)", n))
		return n, false
	}
	if _, ok := reg.scopes[n]; !ok {
		errs.add("name", "not in this tenant's scope registry: "+n)
		return n, false
	}
	st.Name = ""
	if slices.Contains(st.Eff(), n) {
		return n, false
	}
	st.setEff(append(st.Eff(), n))
	return n, true
}

// saveAllowlist writes the pending changes with ONE admin.ChangeAllowedScopes
// call (one application.scopes_changed event).
func (h *Handler) saveAllowlist(w http.ResponseWriter, r *Request, a model.Application, st allowlistState) error {
	ed := allowlistEditor{Errors: appErrors{}, Focus: "save", Return: r.PostFormValue("return")}
	if st.Name != "" {
		// Typed and saved without pressing Add: the user means it.
		reg, err := h.loadRegistry(r)
		if err != nil {
			return err
		}
		if _, ok := stageTyped(&st, reg, ed.Errors); !ok && ed.Errors.Any() {
			if st.Version != a.Version {
				ed.Conflict = rebaseAllowlist(&st, a)
			}
			ed.State, ed.Focus = st, "name"
			return h.renderAccess(w, r, http.StatusBadRequest, a, accessBody{Editor: ed}, nil)
		}
	}
	add, remove := setMinus(st.Add, st.Remove), st.Remove
	back := appPath(r, a.ClientID, "access")
	if ed.Return == "usage" {
		days, _ := strconv.Atoi(r.PostFormValue("window"))
		if !slices.Contains(usageDays, days) {
			days = 30
		}
		back = appPath(r, a.ClientID, "usage") + "?window=" + strconv.Itoa(days)
	}
	if len(add) == 0 && len(remove) == 0 {
		r.Notice(w, "There were no changes to save.")
		http.Redirect(w, r.Request, back, http.StatusSeeOther)
		return nil
	}
	out, err := h.Admin.ChangeAllowedScopes(r.Context(), r.Actor, r.TenantID(), a.ClientID, add, remove, st.Version)
	if err == nil {
		r.Notice(w, "Allowed scopes of "+out.Name+" saved: "+pendingSummary(setMinus(out.AllowedScopes, a.AllowedScopes), setMinus(a.AllowedScopes, out.AllowedScopes))+".")
		http.Redirect(w, r.Request, back, http.StatusSeeOther)
		return nil
	}
	status := http.StatusBadRequest
	var ise *admin.InsufficientScopeError
	switch {
	case errors.Is(err, store.ErrPrecondition):
		cur, err := h.loadApp(r)
		if err != nil {
			return err
		}
		a = cur
		ed.Conflict = rebaseAllowlist(&st, cur)
		status = http.StatusConflict
	case errors.As(err, &ise):
		ed.Errors.add("", "Not saved: "+sentence(ise.Error()))
		status = http.StatusForbidden
	default:
		fe := fieldErrors(err)
		if fe == nil {
			return err
		}
		for _, msg := range fe {
			ed.Errors.add("", "Not saved: "+msg)
		}
	}
	ed.State = st
	return h.renderAccess(w, r, status, a, accessBody{Editor: ed}, nil)
}

// sortedNames returns the distinct non-empty names, sorted.
func sortedNames(in []string) []string {
	out := make([]string, 0, len(in))
	for _, n := range in {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// setMinus returns the names of a that are not in b, in a's order.
func setMinus(a, b []string) []string {
	out := []string{}
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
