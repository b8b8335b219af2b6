package api

import (
	"net/http"
	"net/url"

	"github.com/intelliauth/intelliauth/internal/admin"
)

// groupRoutes mounts groups and their members under groups:read /
// groups:write. {user} is a user ID, username or email address.
func (h *Handler) groupRoutes(rt *router) {
	rt.handle("GET", Prefix+"/groups", admin.OpListGroups, h.listGroups)
	rt.handle("POST", Prefix+"/groups", admin.OpCreateGroup, h.createGroup)
	rt.handle("GET", Prefix+"/groups/{group}", admin.OpGetGroup, h.getGroup)
	rt.handle("PATCH", Prefix+"/groups/{group}", admin.OpUpdateGroup, h.updateGroup)
	rt.handle("DELETE", Prefix+"/groups/{group}", admin.OpDeleteGroup, h.deleteGroup)
	rt.handle("PUT", Prefix+"/groups/{group}/members/{user}", admin.OpAddGroupMember, h.addMember)
	rt.handle("DELETE", Prefix+"/groups/{group}/members/{user}", admin.OpRemoveGroupMember, h.removeMember)
}

func (h *Handler) listGroups(w http.ResponseWriter, r *Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	groups, err := h.Admin.ListGroups(r.Context(), r.Actor, r.TenantID())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, paginate(mapSlice(groups, admin.NewGroupDoc), p))
}

func (h *Handler) getGroup(w http.ResponseWriter, r *Request) error {
	d, err := h.Admin.GetGroup(r.Context(), r.Actor, r.TenantID(), r.PathValue("group"))
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, admin.NewGroupDetailDoc(d), d.Group.Version)
}

// writeGroup answers a group's current detail after a write.
func (h *Handler) writeGroup(w http.ResponseWriter, r *Request, status int, name string) error {
	h.invalidate(r)
	d, err := h.Admin.GetGroup(r.Context(), r.Actor, r.TenantID(), name)
	if err != nil {
		return err
	}
	return writeResource(w, status, admin.NewGroupDetailDoc(d), d.Group.Version)
}

// groupCreate is the body of POST /groups.
type groupCreate struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Roles       []string `json:"roles"`
}

func (h *Handler) createGroup(w http.ResponseWriter, r *Request) error {
	var in groupCreate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	g, err := h.Admin.CreateGroup(r.Context(), r.Actor, r.TenantID(), admin.GroupInput{Name: in.Name, Description: in.Description, Roles: in.Roles})
	if err != nil {
		return err
	}
	w.Header().Set("Location", r.Snap.Tenant.Issuer+Prefix+"/groups/"+url.PathEscape(g.Name))
	return h.writeGroup(w, r, http.StatusCreated, g.Name)
}

// groupPatch is the body of PATCH /groups/{group}: absent members stay;
// roles replaces the group's roles.
type groupPatch struct {
	Description *string   `json:"description"`
	Roles       *[]string `json:"roles"`
}

func (h *Handler) updateGroup(w http.ResponseWriter, r *Request) error {
	version, err := requireIfMatch(r)
	if err != nil {
		return err
	}
	var in groupPatch
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	g, err := h.Admin.UpdateGroup(r.Context(), r.Actor, r.TenantID(), r.PathValue("group"), admin.GroupUpdate{
		Description: in.Description, Roles: in.Roles, Version: version})
	if err != nil {
		return err
	}
	return h.writeGroup(w, r, http.StatusOK, g.Name)
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *Request) error {
	version, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	if err := h.Admin.DeleteGroup(r.Context(), r.Actor, r.TenantID(), r.PathValue("group"), version); err != nil {
		return err
	}
	h.invalidate(r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// addMember adds a user to the group (idempotent).
func (h *Handler) addMember(w http.ResponseWriter, r *Request) error {
	group := r.PathValue("group")
	if _, err := h.Admin.AddMember(r.Context(), r.Actor, r.TenantID(), group, r.PathValue("user")); err != nil {
		return err
	}
	return h.writeGroup(w, r, http.StatusOK, group)
}

// removeMember removes a user from the group (idempotent).
func (h *Handler) removeMember(w http.ResponseWriter, r *Request) error {
	group := r.PathValue("group")
	if _, err := h.Admin.RemoveMember(r.Context(), r.Actor, r.TenantID(), group, r.PathValue("user")); err != nil {
		return err
	}
	return h.writeGroup(w, r, http.StatusOK, group)
}
