package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// rolePages mounts the roles pages: the list with each role's scopes, a
// new role, and a role's page (its scopes, chosen from the registry
// grouped by API, and who holds it). The form of a new role is at
// /roles/_new: a role name starts with a letter, so no role's page can be
// there.
func (h *Handler) rolePages(rt *router) {
	p := model.ConsolePath + "/roles"
	rt.page("GET", p, admin.OpListRoles, h.listRoles)
	rt.page("GET", p+"/_new", admin.OpCreateRole, h.newRole)
	rt.page("POST", p, admin.OpCreateRole, h.createRole)
	rt.page("GET", p+"/{role}", admin.OpGetRole, h.showRole)
	rt.page("POST", p+"/{role}", admin.OpUpdateRole, h.updateRole)
	rt.page("POST", p+"/{role}/users", admin.OpAssignRole, h.assignRoleTo)
	rt.page("POST", p+"/{role}/users/{user}/unassign", admin.OpUnassignRole, h.unassignRoleFrom)
	rt.page("GET", p+"/{role}/delete", admin.OpDeleteRole, h.confirmDeleteRole)
	rt.page("POST", p+"/{role}/delete", admin.OpDeleteRole, h.deleteRole)
}

// rolePath is the console page of a role.
func rolePath(r *Request, name string) string { return r.Base + "/roles/" + url.PathEscape(name) }

type rolesListBody struct {
	Roles     []model.Role
	CanCreate bool
	NewPath   string
}

func (h *Handler) listRoles(w http.ResponseWriter, r *Request) error {
	rs, err := h.Admin.ListRoles(r.Context(), r.Actor, r.TenantID())
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "roles_list", "Roles", rolesListBody{Roles: rs, CanCreate: r.May(admin.OpCreateRole), NewPath: r.Base + "/roles/_new"})
	return nil
}

// scopeChecks is the tenant's scope registry as checkbox lists, one per
// API (by name, the platform API last, then the OIDC scopes), the scopes in chosen
// ticked. A chosen name the registry does not know is listed too, ticked,
// so that the form loses nothing the user sent.
func (h *Handler) scopeChecks(r *Request, chosen []string, message string) ([]checks, error) {
	ctx := r.Context()
	apis, err := h.Admin.ListAPIs(ctx, r.Actor, r.TenantID())
	if err != nil {
		return nil, err
	}
	all, err := h.Admin.ListScopes(ctx, r.Actor, r.TenantID(), "", store.Page{Limit: 1000})
	if err != nil {
		return nil, err
	}
	byAPI := map[string][]model.Scope{}
	known := map[string]bool{}
	for _, sc := range all.Scopes {
		byAPI[sc.APIID] = append(byAPI[sc.APIID], sc)
		known[sc.Name] = true
	}
	slices.SortFunc(apis, func(a, b model.API) int {
		if a.Platform != b.Platform { // the platform API last
			if a.Platform {
				return 1
			}
			return -1
		}
		return strings.Compare(strings.ToLower(apiLabel(a)), strings.ToLower(apiLabel(b)))
	})
	var out []checks
	add := func(legend string, scopes []model.Scope) {
		if len(scopes) == 0 {
			return
		}
		id := fmt.Sprintf("role-scopes-%d", len(out))
		c := checks{ID: id, Name: "scopes", Legend: legend}
		for i, sc := range scopes {
			c.Options = append(c.Options, option{ID: fmt.Sprintf("%s-%d", id, i), Value: sc.Name, Label: sc.Name,
				Hint: sc.Description, Checked: slices.Contains(chosen, sc.Name)})
		}
		out = append(out, c)
	}
	for _, a := range apis {
		add(apiLabel(a), byAPI[a.ID])
	}
	add("OpenID Connect (need no role)", byAPI[""])
	var unknown []model.Scope
	for _, n := range sortedCopy(chosen) {
		if !known[n] {
			unknown = append(unknown, model.Scope{Name: n, Description: "Not in this tenant's scope registry."})
		}
	}
	add("Not in the registry", unknown)
	if len(out) > 0 {
		out[0].Message = message
	}
	return out, nil
}

// apiLabel names an API in the scope lists: its name and audience.
func apiLabel(a model.API) string {
	switch {
	case a.Platform:
		return "Platform API (this tenant's /api/v1)"
	case a.Name != "":
		return a.Name + " (" + a.Identifier + ")"
	}
	return a.Identifier
}

type roleNewBody struct {
	Name, Description field
	Scopes            []checks
	ScopesError       string
	Error             string
	Action, Cancel    string
}

func (h *Handler) newRoleForm(r *Request, fe FieldErrors) (roleNewBody, error) {
	b := roleNewBody{
		Name: field{ID: "role-name", Name: "name", Label: "Name", Type: "text", Value: r.PostFormValue("name"), Required: true,
			Autocomplete: "off", Hint: "1–64 lower-case letters, digits, _ or -, starting with a letter.", Message: fe["name"]},
		Description: field{ID: "role-description", Name: "description", Label: "Description", Type: "text",
			Value: r.PostFormValue("description"), Autocomplete: "off", Hint: "Optional, at most 200 characters.", Message: fe["description"]},
		ScopesError: fe["scopes"],
		Action:      r.Base + "/roles", Cancel: r.Base + "/roles",
	}
	var err error
	if b.Scopes, err = h.scopeChecks(r, r.PostForm["scopes"], ""); err != nil {
		return b, err
	}
	b.Error = formMessage(fe, "name", "description", "scopes")
	return b, nil
}

func (h *Handler) newRole(w http.ResponseWriter, r *Request) error {
	b, err := h.newRoleForm(r, nil)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "roles_new", "New role", b)
	return nil
}

func (h *Handler) createRole(w http.ResponseWriter, r *Request) error {
	role, err := h.Admin.CreateRole(r.Context(), r.Actor, r.TenantID(), admin.RoleInput{
		Name: strings.TrimSpace(r.PostFormValue("name")), Description: strings.TrimSpace(r.PostFormValue("description")), Scopes: r.PostForm["scopes"]})
	if err != nil {
		status, fe, ok := refusal(err)
		if !ok {
			return err
		}
		b, ferr := h.newRoleForm(r, fe)
		if ferr != nil {
			return ferr
		}
		h.render(w, r, status, "roles_new", "New role", b)
		return nil
	}
	return seeOther(w, r, fmt.Sprintf("Role %s created.", role.Name), rolePath(r, role.Name))
}

// holderRow is a direct holder of a role with the address of their page
// and of the form that unassigns them.
type holderRow struct {
	admin.UserRef
	Page, Unassign string
}

type roleDetailBody struct {
	Role    model.Role
	Path    string
	Holders []holderRow
	Groups  []string
	Can     struct{ Update, Assign, Unassign, Delete, SeeUsers, SeeGroups bool }

	Description field
	Scopes      []checks
	ScopesError string
	Version     int64
	Error       string
	Conflict    *conflictView
	Holder      field
	HolderError string
}

func (h *Handler) roleDetail(r *Request, name string) (roleDetailBody, error) {
	d, err := h.Admin.GetRole(r.Context(), r.Actor, r.TenantID(), name)
	if err != nil {
		return roleDetailBody{}, err
	}
	role := d.Role
	b := roleDetailBody{Role: role, Path: rolePath(r, role.Name), Groups: d.Groups, Version: role.Version}
	b.Can.Update, b.Can.Assign, b.Can.Unassign = r.May(admin.OpUpdateRole), r.May(admin.OpAssignRole), r.May(admin.OpUnassignRole)
	b.Can.Delete = r.May(admin.OpDeleteRole) && !role.Builtin
	b.Can.SeeUsers, b.Can.SeeGroups = r.May(admin.OpGetUser), r.May(admin.OpGetGroup)
	for _, u := range d.Users {
		b.Holders = append(b.Holders, holderRow{UserRef: u, Page: userPath(r, u.ID), Unassign: b.Path + "/users/" + url.PathEscape(u.ID) + "/unassign"})
	}
	b.Holder = field{ID: "role-holder", Name: "user", Label: "Username or email", Type: "text", Autocomplete: "off"}
	if err := h.setRoleForm(r, &b, role.Description, role.Scopes, nil); err != nil {
		return b, err
	}
	return b, nil
}

// setRoleForm fills the edit form with values and their problems.
func (h *Handler) setRoleForm(r *Request, b *roleDetailBody, description string, scopes []string, fe FieldErrors) error {
	b.Description = field{ID: "role-description", Name: "description", Label: "Description", Type: "text", Value: description,
		Autocomplete: "off", Hint: "At most 200 characters.", Message: fe["description"]}
	b.ScopesError = fe["scopes"]
	b.Scopes = nil
	if b.Can.Update {
		var err error
		if b.Scopes, err = h.scopeChecks(r, scopes, ""); err != nil {
			return err
		}
	}
	b.Error = formMessage(fe, "description", "scopes")
	return nil
}

func (h *Handler) showRole(w http.ResponseWriter, r *Request) error {
	b, err := h.roleDetail(r, r.PathValue("role"))
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "roles_detail", "Role "+b.Role.Name, b)
	return nil
}

// updateRole saves the description and scopes at the version the form
// showed. A scope the actor's own token does not carry is refused with the
// sentence of admin's escalation rule, the input kept; a stale version
// shows both and keeps the input.
func (h *Handler) updateRole(w http.ResponseWriter, r *Request) error {
	version, err := formVersion(r)
	if err != nil {
		return err
	}
	description := strings.TrimSpace(r.PostFormValue("description"))
	scopes := r.PostForm["scopes"]
	if scopes == nil {
		scopes = []string{}
	}
	_, err = h.Admin.UpdateRole(r.Context(), r.Actor, r.TenantID(), r.PathValue("role"), admin.RoleUpdate{
		Description: &description, Scopes: &scopes, Version: version})
	if err == nil {
		return seeOther(w, r, fmt.Sprintf("Role %s saved.", r.PathValue("role")), rolePath(r, r.PathValue("role")))
	}
	status, fe, ok := refusal(err)
	stale := errors.Is(err, store.ErrPrecondition)
	if !ok && !stale {
		return err
	}
	b, derr := h.roleDetail(r, r.PathValue("role"))
	if derr != nil {
		return derr
	}
	if stale {
		cur := b.Role
		b.Conflict = &conflictView{What: "role", Rows: []conflictRow{
			versionRow(version, cur.Version),
			staleRow("Description", description, cur.Description),
			staleRow("Scopes", strings.Join(sortedCopy(scopes), " "), strings.Join(sortedCopy(cur.Scopes), " ")),
		}}
		status, fe = http.StatusConflict, nil
	} else {
		b.Version = version
	}
	if err := h.setRoleForm(r, &b, description, scopes, fe); err != nil {
		return err
	}
	h.render(w, r, status, "roles_detail", "Role "+b.Role.Name, b)
	return nil
}

// roleAction runs an assignment change of the role's page; a refusal the
// user can act on is shown beside the holders.
func (h *Handler) roleAction(w http.ResponseWriter, r *Request, act func() (string, error), keep string) error {
	notice, err := act()
	if err == nil {
		return seeOther(w, r, notice, rolePath(r, r.PathValue("role")))
	}
	status, fe, ok := refusal(err)
	if !ok {
		if !errors.Is(err, store.ErrNotFound) || keep == "" {
			return err
		}
		status, fe = http.StatusNotFound, FieldErrors{"user": fmt.Sprintf("no user of this tenant has the username or email %q", keep)}
	}
	b, derr := h.roleDetail(r, r.PathValue("role"))
	if derr != nil {
		return derr
	}
	b.Holder.Value, b.Holder.Message = keep, fe["user"]
	b.HolderError = formMessage(fe, "user")
	h.render(w, r, status, "roles_detail", "Role "+b.Role.Name, b)
	return nil
}

// assignRoleTo gives the role to the user named in the form.
func (h *Handler) assignRoleTo(w http.ResponseWriter, r *Request) error {
	ref := strings.TrimSpace(r.PostFormValue("user"))
	role := r.PathValue("role")
	if _, err := h.Admin.GetRole(r.Context(), r.Actor, r.TenantID(), role); err != nil {
		return err
	}
	return h.roleAction(w, r, func() (string, error) {
		if ref == "" {
			return "", invalidInput("user", "is required: the username or email address of the user to give the role")
		}
		u, err := h.Admin.AssignRole(r.Context(), r.Actor, r.TenantID(), role, ref)
		return fmt.Sprintf("Role %s assigned to %s.", role, u.Username), err
	}, ref)
}

func (h *Handler) unassignRoleFrom(w http.ResponseWriter, r *Request) error {
	role := r.PathValue("role")
	return h.roleAction(w, r, func() (string, error) {
		u, err := h.Admin.UnassignRole(r.Context(), r.Actor, r.TenantID(), role, r.PathValue("user"))
		return fmt.Sprintf("Role %s unassigned from %s.", role, u.Username), err
	}, "")
}

func (h *Handler) roleDeleteBody(r *Request) (deleteBody, error) {
	d, err := h.Admin.GetRole(r.Context(), r.Actor, r.TenantID(), r.PathValue("role"))
	if err != nil {
		return deleteBody{}, err
	}
	role := d.Role
	b := deleteBody{What: "role", Name: role.Name, Version: role.Version, Action: rolePath(r, role.Name) + "/delete", Cancel: rolePath(r, role.Name)}
	if role.Builtin {
		b.Refused = fmt.Sprintf("%s is a built-in role and cannot be deleted. You can change its scopes instead.", role.Name)
		return b, nil
	}
	if len(role.Scopes) > 0 {
		b.Impact = append(b.Impact, "its scopes stop being given through it: "+strings.Join(role.Scopes, " "))
	}
	holders := make([]string, 0, len(d.Users))
	for _, u := range d.Users {
		holders = append(holders, u.Username)
	}
	if len(holders) > 0 {
		b.Impact = append(b.Impact, "it is taken from the users holding it directly: "+strings.Join(holders, ", "))
	}
	if len(d.Groups) > 0 {
		b.Impact = append(b.Impact, "the groups giving it stop giving it: "+strings.Join(d.Groups, ", "))
	}
	if len(holders) == 0 && len(d.Groups) == 0 {
		b.Impact = append(b.Impact, "nobody holds it")
	}
	return b, nil
}

func (h *Handler) confirmDeleteRole(w http.ResponseWriter, r *Request) error {
	b, err := h.roleDeleteBody(r)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "people_delete", "Delete role "+b.Name, b)
	return nil
}

func (h *Handler) deleteRole(w http.ResponseWriter, r *Request) error {
	version, err := formVersion(r)
	if err != nil {
		return err
	}
	name := r.PathValue("role")
	err = h.Admin.DeleteRole(r.Context(), r.Actor, r.TenantID(), name, version)
	if errors.Is(err, store.ErrPrecondition) {
		b, derr := h.roleDeleteBody(r)
		if derr != nil {
			return derr
		}
		b.Stale = true
		h.render(w, r, http.StatusConflict, "people_delete", "Delete role "+b.Name, b)
		return nil
	}
	if err != nil {
		return err
	}
	return seeOther(w, r, fmt.Sprintf("Role %s deleted.", name), r.Base+"/roles")
}
