package api

import (
	"net/http"
	"net/url"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
)

// scopeRoutes mounts the scope registry under scopes:read / scopes:write.
func (h *Handler) scopeRoutes(rt *router) {
	rt.handle("GET", Prefix+"/scopes", admin.OpListScopes, h.listScopes)
	rt.handle("POST", Prefix+"/scopes", admin.OpCreateScope, h.createScope)
	rt.handle("GET", Prefix+"/scopes/{name}", admin.OpGetScope, h.getScope)
	rt.handle("PATCH", Prefix+"/scopes/{name}", admin.OpUpdateScope, h.updateScope)
	rt.handle("DELETE", Prefix+"/scopes/{name}", admin.OpDeleteScope, h.deleteScope)
	rt.handle("POST", Prefix+"/scopes/{name}/rename", admin.OpRenameScope, h.renameScope)
	rt.handle("GET", Prefix+"/scopes/{name}/impact", admin.OpScopeImpact, h.scopeImpact)
}

// listScopes lists the registry alphabetically, optionally one kind.
func (h *Handler) listScopes(w http.ResponseWriter, r *Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	kind := model.ScopeKind(r.URL.Query().Get("kind"))
	switch kind {
	case "", model.KindOIDC, model.KindPlatform, model.KindCustom:
	default:
		return invalidField("kind", "must be oidc, platform or custom, not %q", kind)
	}
	res, err := h.Admin.ListScopes(r.Context(), r.Actor, r.TenantID(), kind, p.Store())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(mapSlice(res.Scopes, admin.NewScopeDoc), p, res.Total))
}

func (h *Handler) getScope(w http.ResponseWriter, r *Request) error {
	sc, err := h.Admin.GetScope(r.Context(), r.Actor, r.TenantID(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, admin.NewScopeDoc(sc), sc.Version)
}

// scopeCreate is the body of POST /scopes.
type scopeCreate struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"display_name"`
	Description string   `json:"description"`
	API         string   `json:"api"`
	Implies     []string `json:"implies"`
	// RequiresMFA: granted in user flows only to a sign-in that passed a
	// second factor (absent: false).
	RequiresMFA bool `json:"requires_mfa"`
}

func (h *Handler) createScope(w http.ResponseWriter, r *Request) error {
	var in scopeCreate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	sc, err := h.Admin.CreateScope(r.Context(), r.Actor, r.TenantID(), admin.ScopeInput{
		Name: in.Name, DisplayName: in.DisplayName, Description: in.Description, API: in.API, Implies: in.Implies,
		RequiresMFA: in.RequiresMFA})
	if err != nil {
		return err
	}
	h.invalidate(r)
	w.Header().Set("Location", r.Snap.Tenant.Issuer+Prefix+"/scopes/"+url.PathEscape(sc.Name))
	return writeResource(w, http.StatusCreated, admin.NewScopeDoc(sc), sc.Version)
}

// scopePatch is the body of PATCH /scopes/{name}: absent members stay.
type scopePatch struct {
	DisplayName *string   `json:"display_name"`
	Description *string   `json:"description"`
	Implies     *[]string `json:"implies"`
	RequiresMFA *bool     `json:"requires_mfa"`
}

func (h *Handler) updateScope(w http.ResponseWriter, r *Request) error {
	version, err := requireIfMatch(r)
	if err != nil {
		return err
	}
	var in scopePatch
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	sc, err := h.Admin.UpdateScope(r.Context(), r.Actor, r.TenantID(), r.PathValue("name"), admin.ScopeUpdate{
		DisplayName: in.DisplayName, Description: in.Description, Implies: in.Implies, RequiresMFA: in.RequiresMFA, Version: version})
	if err != nil {
		return err
	}
	h.invalidate(r)
	return writeResource(w, http.StatusOK, admin.NewScopeDoc(sc), sc.Version)
}

// scopeRename is the body of POST /scopes/{name}/rename.
type scopeRename struct {
	NewName string `json:"new_name"`
}

// renameScope renames a custom scope; allowlists, roles and consents follow.
func (h *Handler) renameScope(w http.ResponseWriter, r *Request) error {
	var in scopeRename
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	version, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	sc, err := h.Admin.RenameScope(r.Context(), r.Actor, r.TenantID(), r.PathValue("name"), in.NewName, version)
	if err != nil {
		return err
	}
	h.invalidate(r)
	w.Header().Set("Location", r.Snap.Tenant.Issuer+Prefix+"/scopes/"+url.PathEscape(sc.Name))
	return writeResource(w, http.StatusOK, admin.NewScopeDoc(sc), sc.Version)
}

// deleteScope deletes a custom scope and answers what held it.
func (h *Handler) deleteScope(w http.ResponseWriter, r *Request) error {
	version, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	imp, err := h.Admin.DeleteScope(r.Context(), r.Actor, r.TenantID(), r.PathValue("name"), version)
	if err != nil {
		return err
	}
	h.invalidate(r)
	return writeJSON(w, http.StatusOK, imp)
}

// scopeImpact previews what deleting or renaming a scope touches.
func (h *Handler) scopeImpact(w http.ResponseWriter, r *Request) error {
	imp, err := h.Admin.Impact(r.Context(), r.Actor, r.TenantID(), r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, imp)
}

// apiRoutes mounts the APIs (resource servers) under scopes:read /
// scopes:write: an API is the audience its scopes belong to.
func (h *Handler) apiRoutes(rt *router) {
	rt.handle("GET", Prefix+"/apis", admin.OpListAPIs, h.listAPIs)
	rt.handle("POST", Prefix+"/apis", admin.OpCreateAPI, h.createAPI)
	rt.handle("GET", Prefix+"/apis/{id}", admin.OpGetAPI, h.getAPI)
	rt.handle("PATCH", Prefix+"/apis/{id}", admin.OpUpdateAPI, h.updateAPI)
	rt.handle("DELETE", Prefix+"/apis/{id}", admin.OpDeleteAPI, h.deleteAPI)
}

func (h *Handler) listAPIs(w http.ResponseWriter, r *Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	apis, err := h.Admin.ListAPIs(r.Context(), r.Actor, r.TenantID())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, paginate(mapSlice(apis, admin.NewAPIDoc), p))
}

func (h *Handler) getAPI(w http.ResponseWriter, r *Request) error {
	a, err := h.Admin.GetAPI(r.Context(), r.Actor, r.TenantID(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, admin.NewAPIDoc(a), a.Version)
}

// apiCreate is the body of POST /apis.
type apiCreate struct {
	ID             string  `json:"id"`
	Identifier     string  `json:"identifier"`
	Name           string  `json:"name"`
	SigningAlg     string  `json:"signing_alg"`
	AccessTokenTTL *string `json:"access_token_ttl"`
	// TokenSizeBudget is the access-token size budget in bytes; absent or
	// 0 is none.
	TokenSizeBudget int `json:"token_size_budget"`
}

func (h *Handler) createAPI(w http.ResponseWriter, r *Request) error {
	var in apiCreate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var d durations
	ttl := d.value("access_token_ttl", in.AccessTokenTTL)
	if err := d.err(); err != nil {
		return err
	}
	a, err := h.Admin.CreateAPI(r.Context(), r.Actor, r.TenantID(), admin.APIInput{
		ID: in.ID, Identifier: in.Identifier, Name: in.Name, SigningAlg: in.SigningAlg, AccessTokenTTL: ttl,
		TokenSizeBudget: in.TokenSizeBudget})
	if err != nil {
		return err
	}
	h.invalidate(r)
	w.Header().Set("Location", r.Snap.Tenant.Issuer+Prefix+"/apis/"+url.PathEscape(a.ID))
	return writeResource(w, http.StatusCreated, admin.NewAPIDoc(a), a.Version)
}

// apiPatch is the body of PATCH /apis/{id}: absent members stay.
type apiPatch struct {
	Identifier     *string `json:"identifier"`
	Name           *string `json:"name"`
	SigningAlg     *string `json:"signing_alg"`
	AccessTokenTTL *string `json:"access_token_ttl"`
	// TokenSizeBudget sets the budget in bytes; 0 removes it.
	TokenSizeBudget *int `json:"token_size_budget"`
}

func (h *Handler) updateAPI(w http.ResponseWriter, r *Request) error {
	version, err := requireIfMatch(r)
	if err != nil {
		return err
	}
	var in apiPatch
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var d durations
	ttl := d.parse("access_token_ttl", in.AccessTokenTTL)
	if err := d.err(); err != nil {
		return err
	}
	a, err := h.Admin.UpdateAPI(r.Context(), r.Actor, r.TenantID(), r.PathValue("id"), admin.APIUpdate{
		Identifier: in.Identifier, Name: in.Name, SigningAlg: in.SigningAlg, AccessTokenTTL: ttl,
		TokenSizeBudget: in.TokenSizeBudget, Version: version})
	if err != nil {
		return err
	}
	h.invalidate(r)
	return writeResource(w, http.StatusOK, admin.NewAPIDoc(a), a.Version)
}

func (h *Handler) deleteAPI(w http.ResponseWriter, r *Request) error {
	version, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	if err := h.Admin.DeleteAPI(r.Context(), r.Actor, r.TenantID(), r.PathValue("id"), version); err != nil {
		return err
	}
	h.invalidate(r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
