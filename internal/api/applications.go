package api

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// applicationRoutes mounts applications, their allowlists and secret
// rotation under applications:read / applications:write, and explain.
func (h *Handler) applicationRoutes(rt *router) {
	rt.handle("GET", Prefix+"/applications", admin.OpListApplications, h.listApplications)
	rt.handle("POST", Prefix+"/applications", admin.OpCreateApplication, h.createApplication)
	rt.handle("GET", Prefix+"/applications/{client_id}", admin.OpGetApplication, h.getApplication)
	rt.handle("PATCH", Prefix+"/applications/{client_id}", admin.OpUpdateApplication, h.updateApplication)
	rt.handle("DELETE", Prefix+"/applications/{client_id}", admin.OpDeleteApplication, h.deleteApplication)
	rt.handle("GET", Prefix+"/applications/{client_id}/allowed-scopes", admin.OpGetApplication, h.getAllowlist)
	rt.handle("PUT", Prefix+"/applications/{client_id}/allowed-scopes", admin.OpChangeAllowedScopes, h.putAllowlist)
	rt.handle("PATCH", Prefix+"/applications/{client_id}/allowed-scopes", admin.OpChangeAllowedScopes, h.patchAllowlist)
	rt.handle("POST", Prefix+"/applications/{client_id}/secret", admin.OpRotateSecret, h.rotateSecret)
	rt.handle("POST", Prefix+"/explain", admin.OpExplain, h.explain)
}

func (h *Handler) listApplications(w http.ResponseWriter, r *Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	res, err := h.Admin.ListApplications(r.Context(), r.Actor, r.TenantID(), p.Store())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(mapSlice(res.Applications, admin.NewApplicationDoc), p, res.Total))
}

func (h *Handler) getApplication(w http.ResponseWriter, r *Request) error {
	a, err := h.Admin.GetApplication(r.Context(), r.Actor, r.TenantID(), r.PathValue("client_id"))
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, admin.NewApplicationDoc(a), a.Version)
}

// applicationCreate is the body of POST /applications.
type applicationCreate struct {
	ClientID               string   `json:"client_id"`
	Name                   string   `json:"name"`
	Type                   string   `json:"type"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	AllowedOrigins         []string `json:"allowed_origins"`
	GrantTypes             []string `json:"grant_types"`
	AllowedScopes          []string `json:"allowed_scopes"`
	ScopePolicy            string   `json:"scope_policy"`
	Consent                string   `json:"consent"`
	MFA                    string   `json:"mfa"`
	AccessTokenTTL         *string  `json:"access_token_ttl"`
	RefreshIdleTTL         *string  `json:"refresh_idle_ttl"`
	RefreshAbsoluteTTL     *string  `json:"refresh_absolute_ttl"`
}

// createdApplication is an application with its one-time secret.
type createdApplication struct {
	admin.ApplicationDoc
	// ClientSecret is the plaintext secret of a confidential application,
	// shown this once.
	ClientSecret string `json:"client_secret,omitempty"`
}

func (h *Handler) createApplication(w http.ResponseWriter, r *Request) error {
	var in applicationCreate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Type == "" {
		return invalidField("type", "is required: spa, web, native or m2m")
	}
	var d durations
	at := d.value("access_token_ttl", in.AccessTokenTTL)
	idle := d.value("refresh_idle_ttl", in.RefreshIdleTTL)
	abs := d.value("refresh_absolute_ttl", in.RefreshAbsoluteTTL)
	if err := d.err(); err != nil {
		return err
	}
	res, err := h.Admin.CreateApplication(r.Context(), r.Actor, r.TenantID(), admin.ApplicationInput{
		ClientID: in.ClientID, Name: in.Name, Type: model.AppType(in.Type), RedirectURIs: in.RedirectURIs,
		PostLogoutRedirectURIs: in.PostLogoutRedirectURIs, AllowedOrigins: in.AllowedOrigins, GrantTypes: in.GrantTypes,
		AllowedScopes: in.AllowedScopes, ScopePolicy: in.ScopePolicy, Consent: in.Consent, MFA: in.MFA,
		AccessTokenTTL: at, RefreshIdleTTL: idle, RefreshAbsoluteTTL: abs,
	})
	if err != nil {
		return err
	}
	h.invalidate(r)
	a := res.Application
	w.Header().Set("Location", r.Snap.Tenant.Issuer+Prefix+"/applications/"+url.PathEscape(a.ClientID))
	return writeResource(w, http.StatusCreated, createdApplication{ApplicationDoc: admin.NewApplicationDoc(a), ClientSecret: res.Secret}, a.Version)
}

// applicationPatch is the body of PATCH /applications/{client_id}: absent
// members stay. The type cannot change, nor the allowlist (its own route).
type applicationPatch struct {
	Name                   *string   `json:"name"`
	RedirectURIs           *[]string `json:"redirect_uris"`
	PostLogoutRedirectURIs *[]string `json:"post_logout_redirect_uris"`
	AllowedOrigins         *[]string `json:"allowed_origins"`
	GrantTypes             *[]string `json:"grant_types"`
	ScopePolicy            *string   `json:"scope_policy"`
	Consent                *string   `json:"consent"`
	MFA                    *string   `json:"mfa"`
	AccessTokenTTL         *string   `json:"access_token_ttl"`
	RefreshIdleTTL         *string   `json:"refresh_idle_ttl"`
	RefreshAbsoluteTTL     *string   `json:"refresh_absolute_ttl"`
}

func (h *Handler) updateApplication(w http.ResponseWriter, r *Request) error {
	version, err := requireIfMatch(r)
	if err != nil {
		return err
	}
	var in applicationPatch
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var d durations
	upd := admin.ApplicationUpdate{
		Name: in.Name, RedirectURIs: in.RedirectURIs, PostLogoutRedirectURIs: in.PostLogoutRedirectURIs,
		AllowedOrigins: in.AllowedOrigins, GrantTypes: in.GrantTypes, ScopePolicy: in.ScopePolicy, Consent: in.Consent, MFA: in.MFA,
		AccessTokenTTL:     d.parse("access_token_ttl", in.AccessTokenTTL),
		RefreshIdleTTL:     d.parse("refresh_idle_ttl", in.RefreshIdleTTL),
		RefreshAbsoluteTTL: d.parse("refresh_absolute_ttl", in.RefreshAbsoluteTTL),
		Version:            version,
	}
	if err := d.err(); err != nil {
		return err
	}
	a, err := h.Admin.UpdateApplication(r.Context(), r.Actor, r.TenantID(), r.PathValue("client_id"), upd)
	if err != nil {
		return err
	}
	h.invalidate(r)
	return writeResource(w, http.StatusOK, admin.NewApplicationDoc(a), a.Version)
}

func (h *Handler) deleteApplication(w http.ResponseWriter, r *Request) error {
	version, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	if err := h.Admin.DeleteApplication(r.Context(), r.Actor, r.TenantID(), r.PathValue("client_id"), version); err != nil {
		return err
	}
	h.invalidate(r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// allowlistDoc is an application's allowlist; its ETag is the
// application's version.
type allowlistDoc struct {
	ClientID      string   `json:"client_id"`
	AllowedScopes []string `json:"allowed_scopes"`
	Version       int64    `json:"version"`
}

func writeAllowlist(w http.ResponseWriter, a model.Application) error {
	scopes := a.AllowedScopes
	if scopes == nil {
		scopes = []string{}
	}
	return writeResource(w, http.StatusOK, allowlistDoc{ClientID: a.ClientID, AllowedScopes: scopes, Version: a.Version}, a.Version)
}

func (h *Handler) getAllowlist(w http.ResponseWriter, r *Request) error {
	a, err := h.Admin.GetApplication(r.Context(), r.Actor, r.TenantID(), r.PathValue("client_id"))
	if err != nil {
		return err
	}
	return writeAllowlist(w, a)
}

// allowlistPut is the body of PUT …/allowed-scopes.
type allowlistPut struct {
	AllowedScopes *[]string `json:"allowed_scopes"`
}

// putAllowlist replaces the allowlist (If-Match required).
func (h *Handler) putAllowlist(w http.ResponseWriter, r *Request) error {
	version, err := requireIfMatch(r)
	if err != nil {
		return err
	}
	var in allowlistPut
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.AllowedScopes == nil {
		return invalidField("allowed_scopes", "is required: the complete list of scopes the application may request ([] for none)")
	}
	a, err := h.Admin.SetAllowedScopes(r.Context(), r.Actor, r.TenantID(), r.PathValue("client_id"), *in.AllowedScopes, version)
	if err != nil {
		return err
	}
	h.invalidate(r)
	return writeAllowlist(w, a)
}

// allowlistPatch is the body of PATCH …/allowed-scopes.
type allowlistPatch struct {
	Add    []string `json:"add"`
	Remove []string `json:"remove"`
}

// patchAllowlist adds and removes scopes in ONE write (admin's
// ChangeAllowedScopes): the new list is computed from the stored one inside
// the write's transaction, which checks If-Match's version there, so a
// concurrent edit makes it 412 instead of being overwritten, and add and
// remove land together or not at all. With If-Match: * it applies to the
// current list (admin retries when another write slips in).
func (h *Handler) patchAllowlist(w http.ResponseWriter, r *Request) error {
	version, err := requireIfMatch(r)
	if err != nil {
		return err
	}
	var in allowlistPatch
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var p model.Problems
	if len(in.Add) == 0 && len(in.Remove) == 0 {
		p.Add("add", "add or remove must name at least one scope")
	}
	for _, s := range in.Add {
		if slices.Contains(in.Remove, s) {
			p.Add("remove", "names "+s+", which add names too; a scope is either added or removed")
		}
	}
	if err := p.Err(); err != nil {
		return err
	}
	a, err := h.Admin.ChangeAllowedScopes(r.Context(), r.Actor, r.TenantID(), r.PathValue("client_id"), in.Add, in.Remove, version)
	if err != nil {
		return renameField(err, "allowed_scopes", "add")
	}
	h.invalidate(r)
	return writeAllowlist(w, a)
}

// renameField reports admin's problems on field from as field to, the
// member of this request that holds the values.
func renameField(err error, from, to string) error {
	var ve *model.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	ps := slices.Clone(ve.Problems)
	for i := range ps {
		if ps[i].Field == from {
			ps[i].Field = to
		}
	}
	return ps.Err()
}

// secretRotate is the optional body of POST …/secret.
type secretRotate struct {
	// Grace is how long the previous secrets keep working (default 0:
	// they stop now; at most 720h).
	Grace *string `json:"grace_period"`
}

// rotatedSecret is the answer of a rotation; the secret is shown once.
type rotatedSecret struct {
	ClientID           string    `json:"client_id"`
	ClientSecret       string    `json:"client_secret"`
	SecretID           string    `json:"secret_id"`
	PreviousValidUntil time.Time `json:"previous_valid_until"`
}

func (h *Handler) rotateSecret(w http.ResponseWriter, r *Request) error {
	var in secretRotate
	if err := decodeOptionalJSON(r, &in); err != nil {
		return err
	}
	var d durations
	grace := d.value("grace_period", in.Grace)
	if err := d.err(); err != nil {
		return err
	}
	if grace > admin.MaxSecretGrace {
		return invalidField("grace_period", "must be at most %s, not %s", admin.MaxSecretGrace, grace)
	}
	clientID := r.PathValue("client_id")
	res, err := h.Admin.RotateSecret(r.Context(), r.Actor, r.TenantID(), clientID, grace)
	if err != nil {
		return err
	}
	h.invalidate(r)
	return writeJSON(w, http.StatusOK, rotatedSecret{ClientID: clientID, ClientSecret: res.Secret, SecretID: res.SecretID,
		PreviousValidUntil: res.PreviousValidUntil.UTC()})
}

// explainRequest is the body of POST /explain.
type explainRequest struct {
	ClientID string `json:"client_id"`
	Audience string `json:"audience"`
	Scope    string `json:"scope"`
	// User, when set (ID, username or email), explains that user's
	// authorization-code request: entitlements and consent count.
	User string `json:"user"`
	// MFA, with User, says the user's sign-in passed a second factor: a
	// scope that requires one is then not dropped with step_up_required.
	MFA bool `json:"mfa"`
}

// explain runs the scope decision without issuing anything.
func (h *Handler) explain(w http.ResponseWriter, r *Request) error {
	var in explainRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.ClientID == "" {
		return invalidField("client_id", "is required: the application whose request to explain")
	}
	// The application first, so that a missing one and a missing user are
	// told apart.
	if _, err := h.Admin.GetApplication(r.Context(), r.Actor, r.TenantID(), in.ClientID); errors.Is(err, store.ErrNotFound) {
		return invalidField("client_id", "no application %q in this tenant", in.ClientID)
	} else if err != nil {
		return err
	}
	out, err := h.Admin.ExplainFor(r.Context(), r.Actor, r.TenantID(), admin.ExplainInput{
		ClientID: in.ClientID, Audience: in.Audience, Scope: in.Scope, User: in.User, MFA: in.MFA})
	if errors.Is(err, store.ErrNotFound) && in.User != "" {
		return invalidField("user", "no user %q in this tenant (give a user ID, username or email)", in.User)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}
