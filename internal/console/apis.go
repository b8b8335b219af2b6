package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// The APIs pages: the resource servers a tenant's tokens are issued for,
// and the scopes each defines.
//
//	GET  /apis              the list, with each API's scopes
//	GET  /apis/new          the create form
//	POST /apis/new          create
//	GET  /apis/edit?id=     one API: edit (name, signing algorithm, token lifetime) and its scopes;
//	                        read-only for a user without scopes:write
//	POST /apis/edit?id=     update, If-Match semantics through the form's version
//
// As with scopes, the API is named in the query: an ID may be any text.
func (h *Handler) apiPages(rt *router) {
	p := model.ConsolePath + "/apis"
	rt.page("GET", p, admin.OpListAPIs, h.listAPIs)
	rt.page("GET", p+"/new", admin.OpCreateAPI, h.newAPI)
	rt.page("POST", p+"/new", admin.OpCreateAPI, h.createAPI)
	rt.page("GET", p+"/edit", admin.OpGetAPI, h.showAPI)
	rt.page("POST", p+"/edit", admin.OpUpdateAPI, h.updateAPI)
}

// apiRow is an API in the list, with the scopes it defines.
type apiRow struct {
	model.API
	URL    string
	TTL    string
	Scopes []scopeRow
}

type apisBody struct {
	APIs      []apiRow
	CanCreate bool
	NewURL    string
}

// listAPIs lists the tenant's APIs with their scopes.
func (h *Handler) listAPIs(w http.ResponseWriter, r *Request) error {
	refs, apis, err := h.apiRefs(r)
	if err != nil {
		return err
	}
	all, err := h.allScopes(r, "")
	if err != nil {
		return err
	}
	body := apisBody{CanCreate: r.May(admin.OpCreateAPI), NewURL: r.Base + "/apis/new"}
	for _, a := range apis {
		row := apiRow{API: a, URL: apiURL(r, a.ID), TTL: formatDuration(a.AccessTokenTTL)}
		for _, sc := range all {
			if sc.APIID == a.ID {
				row.Scopes = append(row.Scopes, rowOf(r, sc, refs))
			}
		}
		body.APIs = append(body.APIs, row)
	}
	h.render(w, r, http.StatusOK, "apis", "APIs", body)
	return nil
}

// formatDuration writes d as a person would type it: 1h, 15m, 1h30m.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// apiForm is the input of the create and edit forms, as the user typed it.
type apiForm struct {
	Identifier, Name, SigningAlg, TTL string
	// Budget is the token-size budget in bytes as typed ("" or "0": none).
	Budget string
}

func readAPIForm(r *Request) apiForm {
	return apiForm{Identifier: strings.TrimSpace(r.PostForm.Get("identifier")), Name: strings.TrimSpace(r.PostForm.Get("name")),
		SigningAlg: r.PostForm.Get("signing_alg"), TTL: strings.TrimSpace(r.PostForm.Get("access_token_ttl")),
		Budget: strings.TrimSpace(r.PostForm.Get("token_size_budget"))}
}

// budget parses the token-size budget field (empty: none); the use-case
// checks its range.
func (f apiForm) budget() (int, FieldErrors) {
	if f.Budget == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(f.Budget)
	if err != nil {
		return 0, FieldErrors{"token_size_budget": fmt.Sprintf("%q is not a whole number of bytes; leave it empty for no budget", f.Budget)}
	}
	return n, nil
}

// ttl parses the lifetime field with /api/v1's message for a bad one.
func (f apiForm) ttl() (time.Duration, FieldErrors) {
	d, err := time.ParseDuration(f.TTL)
	if err != nil || d < 0 {
		return 0, FieldErrors{"access_token_ttl": fmt.Sprintf(`%q is not a duration; write it like "90s", "15m" or "1h30m"`, f.TTL)}
	}
	return d, nil
}

// sameDuration normalizes a lifetime as typed ("60m" and "1h" are one).
func sameDuration(s string) string {
	if d, err := time.ParseDuration(strings.TrimSpace(s)); err == nil {
		return formatDuration(d)
	}
	return s
}

// merge adds the problems of b to a (a may be nil).
func merge(a, b FieldErrors) FieldErrors {
	if len(b) == 0 {
		return a
	}
	if a == nil {
		a = FieldErrors{}
	}
	for k, v := range b {
		if prev, ok := a[k]; ok {
			v = prev + "; " + v
		}
		a[k] = v
	}
	return a
}

// Algs are the signing algorithms an API may choose.
var algs = []string{model.AlgES256, model.AlgRS256}

type apiFormBody struct {
	Form   apiForm
	Errors FieldErrors
	Algs   []string
	Action string
	Back   string
}

// newAPI is the create form.
func (h *Handler) newAPI(w http.ResponseWriter, r *Request) error {
	h.render(w, r, http.StatusOK, "api-new", "Create API", apiFormBody{
		Form: apiForm{SigningAlg: model.AlgES256, TTL: formatDuration(model.DefaultAccessTokenTTL)},
		Algs: algs, Action: r.Base + "/apis/new", Back: r.Base + "/apis"})
	return nil
}

// createAPI registers an API; bad input shows the form again.
func (h *Handler) createAPI(w http.ResponseWriter, r *Request) error {
	f := readAPIForm(r)
	ttl, errs := f.ttl()
	budget, berrs := f.budget()
	errs = merge(errs, berrs)
	var a model.API
	var err error
	if errs == nil {
		a, err = h.Admin.CreateAPI(r.Context(), r.Actor, r.TenantID(), admin.APIInput{
			Identifier: f.Identifier, Name: f.Name, SigningAlg: f.SigningAlg, AccessTokenTTL: ttl, TokenSizeBudget: budget})
		if err == nil {
			return seeOther(w, r, fmt.Sprintf("API %s created; add its scopes below.", a.Name), apiURL(r, a.ID))
		}
	}
	status := http.StatusBadRequest
	if err != nil {
		fe := fieldErrors(err)
		if fe == nil && errors.Is(err, store.ErrConflict) {
			fe, status = FieldErrors{"identifier": describe(err).Message}, http.StatusConflict
		}
		if fe == nil {
			return err
		}
		errs = merge(errs, fe)
	}
	h.render(w, r, status, "api-new", "Create API", apiFormBody{Form: f, Errors: errs, Algs: algs,
		Action: r.Base + "/apis/new", Back: r.Base + "/apis"})
	return nil
}

// apiConflict is a stale edit: the user's input beside the stored API.
type apiConflict struct {
	Yours, Current apiForm
	Was            map[string]string
}

type apiBody struct {
	API      model.API
	TTL      string
	Form     apiForm
	Was      apiForm
	Version  int64
	Errors   FieldErrors
	Conflict *apiConflict
	Algs     []string
	Scopes   []scopeRow
	CanEdit  bool
	// NewScopeURL creates a scope of this API ("" for the platform API or a
	// user who may not).
	NewScopeURL string
	Action      string
	Back        string
}

func apiFormOf(a model.API) apiForm {
	return apiForm{Identifier: a.Identifier, Name: a.Name, SigningAlg: a.SigningAlg, TTL: formatDuration(a.AccessTokenTTL), Budget: budgetText(a.TokenSizeBudget)}
}

// apiID is the API a page is about (?id=), or a 404.
func apiID(r *Request) (string, error) {
	id := r.URL.Query().Get("id")
	if id == "" {
		return "", notFound("Name the API to show: %s/apis/edit?id=<API ID>.", r.Base)
	}
	return id, nil
}

func (h *Handler) apiPage(r *Request, id string) (apiBody, error) {
	a, err := h.Admin.GetAPI(r.Context(), r.Actor, r.TenantID(), id)
	if err != nil {
		return apiBody{}, err
	}
	refs, _, err := h.apiRefs(r)
	if err != nil {
		return apiBody{}, err
	}
	all, err := h.allScopes(r, "")
	if err != nil {
		return apiBody{}, err
	}
	b := apiBody{API: a, TTL: formatDuration(a.AccessTokenTTL), Form: apiFormOf(a), Was: apiFormOf(a), Version: a.Version, Algs: algs,
		CanEdit: r.May(admin.OpUpdateAPI), Action: apiURL(r, a.ID), Back: r.Base + "/apis"}
	for _, sc := range all {
		if sc.APIID == a.ID {
			b.Scopes = append(b.Scopes, rowOf(r, sc, refs))
		}
	}
	if !a.Platform && r.May(admin.OpCreateScope) {
		b.NewScopeURL = r.Base + "/scopes/new?" + url.Values{"api": {a.ID}}.Encode()
	}
	return b, nil
}

// showAPI is one API's page.
func (h *Handler) showAPI(w http.ResponseWriter, r *Request) error {
	id, err := apiID(r)
	if err != nil {
		return err
	}
	b, err := h.apiPage(r, id)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "api", "API "+b.API.Name, b)
	return nil
}

// updateAPI saves the edit form; a stale version shows both versions and
// keeps the user's input, set to re-apply onto the current version.
func (h *Handler) updateAPI(w http.ResponseWriter, r *Request) error {
	id, err := apiID(r)
	if err != nil {
		return err
	}
	version, err := formVersion(r)
	if err != nil {
		return err
	}
	f := readAPIForm(r)
	ttl, errs := f.ttl()
	budget, berrs := f.budget()
	errs = merge(errs, berrs)
	if errs == nil {
		a, err := h.Admin.UpdateAPI(r.Context(), r.Actor, r.TenantID(), id, admin.APIUpdate{
			Name: &f.Name, SigningAlg: &f.SigningAlg, AccessTokenTTL: &ttl, TokenSizeBudget: &budget, Version: version})
		if err == nil {
			return seeOther(w, r, fmt.Sprintf("API %s saved.", a.Name), apiURL(r, a.ID))
		}
		if fe := fieldErrors(err); fe != nil {
			errs = fe
		} else if !errors.Is(err, store.ErrPrecondition) {
			return err
		}
	}
	b, err := h.apiPage(r, id)
	if err != nil {
		return err
	}
	f.Identifier = b.API.Identifier
	was, ok := readWas(r, "name", "signing_alg", "access_token_ttl", "token_size_budget")
	status := http.StatusBadRequest
	if errs == nil {
		status = http.StatusConflict
		cur := b.Form
		b.Conflict = &apiConflict{Yours: f, Current: cur, Was: was}
		b.Form = apiForm{Identifier: cur.Identifier,
			Name:       rebase(f.Name, cur.Name, was, "name", same),
			SigningAlg: rebase(f.SigningAlg, cur.SigningAlg, was, "signing_alg", same),
			TTL:        rebase(f.TTL, cur.TTL, was, "access_token_ttl", sameDuration),
			Budget:     rebase(f.Budget, cur.Budget, was, "token_size_budget", same)}
	} else {
		b.Form, b.Version = f, version
		if ok {
			b.Was = apiForm{Identifier: f.Identifier, Name: was["name"], SigningAlg: was["signing_alg"], TTL: was["access_token_ttl"], Budget: was["token_size_budget"]}
		}
	}
	b.Errors = errs
	h.render(w, r, status, "api", "API "+b.API.Name, b)
	return nil
}

const (
	hintIdentifier = "The audience your resource server checks in the tokens' aud claim, e.g. api.example.com or https://api.example.com/. Without spaces, quotes or backslashes."
	hintAPIName    = "A name for people, at most 200 characters."
	hintBudget     = "Explain and the audit log flag an access token of this API larger than this, between 256 and 65536 bytes; leave empty for no budget."
	hintTTL        = `How long this API's access tokens live, between 1m and 24h, e.g. "15m" or "1h".`
)

// IdentifierField is the create form's identifier.
func (b apiFormBody) IdentifierField() scField {
	return scField{ID: "identifier", Label: "Identifier", Hint: hintIdentifier, Value: b.Form.Identifier, Error: b.Errors["identifier"]}
}

// NameField is the API's name.
func (b apiFormBody) NameField() scField {
	f := apiNameField(b.Form, b.Errors)
	f.Hint += " The identifier when left empty."
	return f
}

// TTLField is the API's token lifetime.
func (b apiFormBody) TTLField() scField { return apiTTLField(b.Form, b.Errors) }

// NameField is the API's name.
func (b apiBody) NameField() scField { return apiNameField(b.Form, b.Errors) }

// TTLField is the API's token lifetime.
func (b apiBody) TTLField() scField { return apiTTLField(b.Form, b.Errors) }

func apiNameField(f apiForm, errs FieldErrors) scField {
	return scField{ID: "name", Label: "Name", Hint: hintAPIName, Value: f.Name, Error: errs["name"]}
}

// budgetText is a budget as the form shows it: empty for none.
func budgetText(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// BudgetField is the API's token-size budget.
func (b apiFormBody) BudgetField() scField { return apiBudgetField(b.Form, b.Errors) }

// BudgetField is the API's token-size budget.
func (b apiBody) BudgetField() scField { return apiBudgetField(b.Form, b.Errors) }

func apiBudgetField(f apiForm, errs FieldErrors) scField {
	return scField{ID: "token_size_budget", Label: "Token size budget (bytes, optional)", Hint: hintBudget, Value: f.Budget, Error: errs["token_size_budget"]}
}

func apiTTLField(f apiForm, errs FieldErrors) scField {
	return scField{ID: "access_token_ttl", Label: "Access token lifetime", Hint: hintTTL, Value: f.TTL, Error: errs["access_token_ttl"]}
}

// ConflictView is the stale edit's table.
func (b apiBody) ConflictView() conflictView {
	c := conflictView{What: "API"}
	if b.Conflict == nil {
		return c
	}
	y, cur, was := b.Conflict.Yours, b.Conflict.Current, b.Conflict.Was
	return c.add("Name", "name", y.Name, cur.Name, was, same).
		add("Signing algorithm", "signing_alg", y.SigningAlg, cur.SigningAlg, was, same).
		add("Access token lifetime", "access_token_ttl", y.TTL, cur.TTL, was, sameDuration).
		add("Token size budget", "token_size_budget", y.Budget, cur.Budget, was, same)
}
