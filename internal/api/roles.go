package api

import (
	"net/http"
	"net/url"

	"github.com/intelliauth/intelliauth/internal/admin"
)

// roleRoutes mounts roles, their scopes and assignments under roles:read /
// roles:write. {user} is a user ID, username or email address.
func (h *Handler) roleRoutes(rt *router) {
	rt.handle("GET", Prefix+"/roles", admin.OpListRoles, h.listRoles)
	rt.handle("POST", Prefix+"/roles", admin.OpCreateRole, h.createRole)
	rt.handle("GET", Prefix+"/roles/{role}", admin.OpGetRole, h.getRole)
	rt.handle("PATCH", Prefix+"/roles/{role}", admin.OpUpdateRole, h.updateRole)
	rt.handle("DELETE", Prefix+"/roles/{role}", admin.OpDeleteRole, h.deleteRole)
	rt.handle("PUT", Prefix+"/roles/{role}/users/{user}", admin.OpAssignRole, h.assignRole)
	rt.handle("DELETE", Prefix+"/roles/{role}/users/{user}", admin.OpUnassignRole, h.unassignRole)
}

func (h *Handler) listRoles(w http.ResponseWriter, r *Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	roles, err := h.Admin.ListRoles(r.Context(), r.Actor, r.TenantID())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, paginate(mapSlice(roles, admin.NewRoleDoc), p))
}

func (h *Handler) getRole(w http.ResponseWriter, r *Request) error {
	d, err := h.Admin.GetRole(r.Context(), r.Actor, r.TenantID(), r.PathValue("role"))
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, admin.NewRoleDetailDoc(d), d.Role.Version)
}

// writeRole answers a role's current detail after a write.
func (h *Handler) writeRole(w http.ResponseWriter, r *Request, status int, name string) error {
	h.invalidate(r)
	d, err := h.Admin.GetRole(r.Context(), r.Actor, r.TenantID(), name)
	if err != nil {
		return err
	}
	return writeResource(w, status, admin.NewRoleDetailDoc(d), d.Role.Version)
}

// roleCreate is the body of POST /roles.
type roleCreate struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Scopes      []string `json:"scopes"`
}

func (h *Handler) createRole(w http.ResponseWriter, r *Request) error {
	var in roleCreate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	ro, err := h.Admin.CreateRole(r.Context(), r.Actor, r.TenantID(), admin.RoleInput{Name: in.Name, Description: in.Description, Scopes: in.Scopes})
	if err != nil {
		return err
	}
	w.Header().Set("Location", r.Snap.Tenant.Issuer+Prefix+"/roles/"+url.PathEscape(ro.Name))
	return h.writeRole(w, r, http.StatusCreated, ro.Name)
}

// rolePatch is the body of PATCH /roles/{role}: absent members stay;
// scopes replaces the role's scopes.
type rolePatch struct {
	Description *string   `json:"description"`
	Scopes      *[]string `json:"scopes"`
}

func (h *Handler) updateRole(w http.ResponseWriter, r *Request) error {
	version, err := requireIfMatch(r)
	if err != nil {
		return err
	}
	var in rolePatch
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	ro, err := h.Admin.UpdateRole(r.Context(), r.Actor, r.TenantID(), r.PathValue("role"), admin.RoleUpdate{
		Description: in.Description, Scopes: in.Scopes, Version: version})
	if err != nil {
		return err
	}
	return h.writeRole(w, r, http.StatusOK, ro.Name)
}

func (h *Handler) deleteRole(w http.ResponseWriter, r *Request) error {
	version, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	if err := h.Admin.DeleteRole(r.Context(), r.Actor, r.TenantID(), r.PathValue("role"), version); err != nil {
		return err
	}
	h.invalidate(r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// assignRole gives a user the role directly (idempotent).
func (h *Handler) assignRole(w http.ResponseWriter, r *Request) error {
	role := r.PathValue("role")
	if _, err := h.Admin.AssignRole(r.Context(), r.Actor, r.TenantID(), role, r.PathValue("user")); err != nil {
		return err
	}
	return h.writeRole(w, r, http.StatusOK, role)
}

// unassignRole takes a directly assigned role away (idempotent); a user
// holding it only through a group is a 400 naming the group.
func (h *Handler) unassignRole(w http.ResponseWriter, r *Request) error {
	role := r.PathValue("role")
	if _, err := h.Admin.UnassignRole(r.Context(), r.Actor, r.TenantID(), role, r.PathValue("user")); err != nil {
		return err
	}
	return h.writeRole(w, r, http.StatusOK, role)
}
