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

// groupPages mounts the groups pages: the list, a new group, and a
// group's page (its description and roles, its members). The form of a
// new group is at /groups/_new: a group name starts with a letter, so no
// group's page can be there.
func (h *Handler) groupPages(rt *router) {
	p := model.ConsolePath + "/groups"
	rt.page("GET", p, admin.OpListGroups, h.listGroups)
	rt.page("GET", p+"/_new", admin.OpCreateGroup, h.newGroup)
	rt.page("POST", p, admin.OpCreateGroup, h.createGroup)
	rt.page("GET", p+"/{group}", admin.OpGetGroup, h.showGroup)
	rt.page("POST", p+"/{group}", admin.OpUpdateGroup, h.updateGroup)
	rt.page("POST", p+"/{group}/members", admin.OpAddGroupMember, h.addGroupMember)
	rt.page("POST", p+"/{group}/members/{user}/remove", admin.OpRemoveGroupMember, h.removeGroupMember)
	rt.page("GET", p+"/{group}/delete", admin.OpDeleteGroup, h.confirmDeleteGroup)
	rt.page("POST", p+"/{group}/delete", admin.OpDeleteGroup, h.deleteGroup)
}

// groupPath is the console page of a group.
func groupPath(r *Request, name string) string { return r.Base + "/groups/" + url.PathEscape(name) }

type groupsListBody struct {
	Groups    []model.Group
	CanCreate bool
	NewPath   string
}

func (h *Handler) listGroups(w http.ResponseWriter, r *Request) error {
	gs, err := h.Admin.ListGroups(r.Context(), r.Actor, r.TenantID())
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "groups_list", "Groups", groupsListBody{Groups: gs, CanCreate: r.May(admin.OpCreateGroup), NewPath: r.Base + "/groups/_new"})
	return nil
}

// roleChecks is the checkbox list of the tenant's roles (each with its
// description), those in chosen ticked.
func (h *Handler) roleChecks(r *Request, id string, chosen []string) (checks, error) {
	roles, err := h.Admin.ListRoles(r.Context(), r.Actor, r.TenantID())
	if err != nil {
		return checks{}, err
	}
	c := checks{ID: id, Name: "roles", Legend: "Roles"}
	for i, role := range roles {
		c.Options = append(c.Options, option{ID: fmt.Sprintf("%s-%d", id, i), Value: role.Name, Label: role.Name,
			Hint: role.Description, Checked: slices.Contains(chosen, role.Name)})
	}
	return c, nil
}

type groupNewBody struct {
	Name, Description field
	Roles             checks
	ShowRoles         bool
	Error             string
	Action, Cancel    string
}

func (h *Handler) newGroupForm(r *Request, fe FieldErrors) (groupNewBody, error) {
	b := groupNewBody{
		Name: field{ID: "group-name", Name: "name", Label: "Name", Type: "text", Value: r.PostFormValue("name"), Required: true,
			Autocomplete: "off", Hint: "1–64 lower-case letters, digits, _ or -, starting with a letter.", Message: fe["name"]},
		Description: field{ID: "group-description", Name: "description", Label: "Description", Type: "text",
			Value: r.PostFormValue("description"), Autocomplete: "off", Hint: "Optional, at most 200 characters.", Message: fe["description"]},
		Action: r.Base + "/groups", Cancel: r.Base + "/groups",
	}
	if r.May(admin.OpListRoles) {
		c, err := h.roleChecks(r, "group-roles", r.PostForm["roles"])
		if err != nil {
			return b, err
		}
		c.Hint, c.Message = "Every member holds these roles, with their scopes.", fe["roles"]
		b.Roles, b.ShowRoles = c, true
	}
	b.Error = formMessage(fe, "name", "description", "roles")
	return b, nil
}

func (h *Handler) newGroup(w http.ResponseWriter, r *Request) error {
	b, err := h.newGroupForm(r, nil)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "groups_new", "New group", b)
	return nil
}

func (h *Handler) createGroup(w http.ResponseWriter, r *Request) error {
	g, err := h.Admin.CreateGroup(r.Context(), r.Actor, r.TenantID(), admin.GroupInput{
		Name: strings.TrimSpace(r.PostFormValue("name")), Description: strings.TrimSpace(r.PostFormValue("description")), Roles: r.PostForm["roles"]})
	if err != nil {
		status, fe, ok := refusal(err)
		if !ok {
			return err
		}
		b, ferr := h.newGroupForm(r, fe)
		if ferr != nil {
			return ferr
		}
		h.render(w, r, status, "groups_new", "New group", b)
		return nil
	}
	return seeOther(w, r, fmt.Sprintf("Group %s created.", g.Name), groupPath(r, g.Name))
}

// memberRow is a member of a group with the address of their page and of
// the form that removes them.
type memberRow struct {
	admin.UserRef
	Page, Remove string
}

type groupDetailBody struct {
	Group   model.Group
	Path    string
	Members []memberRow
	Can     struct{ Update, Add, Remove, Delete, SeeUsers bool }

	Description field
	Roles       checks
	ShowRoles   bool
	Version     int64
	Error       string
	Conflict    *conflictView
	Member      field
	MemberError string
}

func (h *Handler) groupDetail(r *Request, name string) (groupDetailBody, error) {
	d, err := h.Admin.GetGroup(r.Context(), r.Actor, r.TenantID(), name)
	if err != nil {
		return groupDetailBody{}, err
	}
	g := d.Group
	b := groupDetailBody{Group: g, Path: groupPath(r, g.Name), Version: g.Version}
	b.Can.Update, b.Can.Add, b.Can.Remove, b.Can.Delete = r.May(admin.OpUpdateGroup), r.May(admin.OpAddGroupMember), r.May(admin.OpRemoveGroupMember), r.May(admin.OpDeleteGroup)
	b.Can.SeeUsers = r.May(admin.OpGetUser)
	for _, m := range d.Members {
		b.Members = append(b.Members, memberRow{UserRef: m, Page: userPath(r, m.ID), Remove: b.Path + "/members/" + url.PathEscape(m.ID) + "/remove"})
	}
	b.Member = field{ID: "group-member", Name: "user", Label: "Username or email", Type: "text", Autocomplete: "off"}
	if err := h.setGroupForm(r, &b, g.Description, g.Roles, nil); err != nil {
		return b, err
	}
	return b, nil
}

// setGroupForm fills the edit form with values and their problems.
func (h *Handler) setGroupForm(r *Request, b *groupDetailBody, description string, roles []string, fe FieldErrors) error {
	b.Description = field{ID: "group-description", Name: "description", Label: "Description", Type: "text", Value: description,
		Autocomplete: "off", Hint: "At most 200 characters.", Message: fe["description"]}
	b.ShowRoles = false
	if b.Can.Update && r.May(admin.OpListRoles) {
		c, err := h.roleChecks(r, "group-roles", roles)
		if err != nil {
			return err
		}
		c.Hint, c.Message = "Every member holds these roles, with their scopes.", fe["roles"]
		b.Roles, b.ShowRoles = c, true
	}
	b.Error = formMessage(fe, "description", "roles")
	return nil
}

func (h *Handler) showGroup(w http.ResponseWriter, r *Request) error {
	b, err := h.groupDetail(r, r.PathValue("group"))
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "groups_detail", "Group "+b.Group.Name, b)
	return nil
}

// updateGroup saves the description and roles at the version the form
// showed; a stale version shows both and keeps the input.
func (h *Handler) updateGroup(w http.ResponseWriter, r *Request) error {
	version, err := formVersion(r)
	if err != nil {
		return err
	}
	description := strings.TrimSpace(r.PostFormValue("description"))
	roles := r.PostForm["roles"]
	upd := admin.GroupUpdate{Description: &description, Version: version}
	if r.May(admin.OpListRoles) {
		// The form showed the roles: what is not ticked goes.
		upd.Roles = &roles
	}
	g, err := h.Admin.UpdateGroup(r.Context(), r.Actor, r.TenantID(), r.PathValue("group"), upd)
	if err == nil {
		return seeOther(w, r, fmt.Sprintf("Group %s saved.", g.Name), groupPath(r, g.Name))
	}
	status, fe, ok := refusal(err)
	stale := errors.Is(err, store.ErrPrecondition)
	if !ok && !stale {
		return err
	}
	b, derr := h.groupDetail(r, r.PathValue("group"))
	if derr != nil {
		return derr
	}
	if stale {
		cur := b.Group
		yours := roles
		if upd.Roles == nil {
			yours = cur.Roles
		}
		b.Conflict = &conflictView{What: "group", Rows: []conflictRow{
			versionRow(version, cur.Version),
			staleRow("Description", description, cur.Description),
			staleRow("Roles", strings.Join(sortedCopy(yours), ", "), strings.Join(cur.Roles, ", ")),
		}}
		status, fe = http.StatusConflict, nil
	} else {
		b.Version = version
	}
	if err := h.setGroupForm(r, &b, description, roles, fe); err != nil {
		return err
	}
	h.render(w, r, status, "groups_detail", "Group "+b.Group.Name, b)
	return nil
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// groupAction runs a membership change of the group's page; a refusal the
// user can act on is shown beside the members.
func (h *Handler) groupAction(w http.ResponseWriter, r *Request, act func() (string, error), keep string) error {
	notice, err := act()
	if err == nil {
		return seeOther(w, r, notice, groupPath(r, r.PathValue("group")))
	}
	status, fe, ok := refusal(err)
	if !ok {
		if !errors.Is(err, store.ErrNotFound) || keep == "" {
			return err
		}
		// The user typed a name that is no user's: say so in place.
		status, fe = http.StatusNotFound, FieldErrors{"user": fmt.Sprintf("no user of this tenant has the username or email %q", keep)}
	}
	b, derr := h.groupDetail(r, r.PathValue("group"))
	if derr != nil {
		return derr
	}
	b.Member.Value, b.Member.Message = keep, fe["user"]
	b.MemberError = formMessage(fe, "user")
	h.render(w, r, status, "groups_detail", "Group "+b.Group.Name, b)
	return nil
}

// addGroupMember adds the user named in the form (username, email or ID).
func (h *Handler) addGroupMember(w http.ResponseWriter, r *Request) error {
	ref := strings.TrimSpace(r.PostFormValue("user"))
	group := r.PathValue("group")
	if _, err := h.Admin.GetGroup(r.Context(), r.Actor, r.TenantID(), group); err != nil {
		return err
	}
	return h.groupAction(w, r, func() (string, error) {
		if ref == "" {
			return "", invalidInput("user", "is required: the username or email address of the user to add")
		}
		u, err := h.Admin.AddMember(r.Context(), r.Actor, r.TenantID(), group, ref)
		return fmt.Sprintf("%s added to group %s.", u.Username, group), err
	}, ref)
}

func (h *Handler) removeGroupMember(w http.ResponseWriter, r *Request) error {
	group := r.PathValue("group")
	return h.groupAction(w, r, func() (string, error) {
		u, err := h.Admin.RemoveMember(r.Context(), r.Actor, r.TenantID(), group, r.PathValue("user"))
		return fmt.Sprintf("%s removed from group %s.", u.Username, group), err
	}, "")
}

func (h *Handler) groupDeleteBody(r *Request) (deleteBody, error) {
	d, err := h.Admin.GetGroup(r.Context(), r.Actor, r.TenantID(), r.PathValue("group"))
	if err != nil {
		return deleteBody{}, err
	}
	g := d.Group
	b := deleteBody{What: "group", Name: g.Name, Version: g.Version, Action: groupPath(r, g.Name) + "/delete", Cancel: groupPath(r, g.Name)}
	switch n := len(d.Members); {
	case n == 0:
		b.Impact = append(b.Impact, "it has no members")
	case len(g.Roles) == 0:
		b.Impact = append(b.Impact, fmt.Sprintf("its %d member(s) leave it", n))
	default:
		b.Impact = append(b.Impact, fmt.Sprintf("its %d member(s) lose the roles it gives (%s), unless they hold them another way", n, strings.Join(g.Roles, ", ")))
	}
	return b, nil
}

func (h *Handler) confirmDeleteGroup(w http.ResponseWriter, r *Request) error {
	b, err := h.groupDeleteBody(r)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "people_delete", "Delete group "+b.Name, b)
	return nil
}

func (h *Handler) deleteGroup(w http.ResponseWriter, r *Request) error {
	version, err := formVersion(r)
	if err != nil {
		return err
	}
	name := r.PathValue("group")
	err = h.Admin.DeleteGroup(r.Context(), r.Actor, r.TenantID(), name, version)
	if errors.Is(err, store.ErrPrecondition) {
		b, derr := h.groupDeleteBody(r)
		if derr != nil {
			return derr
		}
		b.Stale = true
		h.render(w, r, http.StatusConflict, "people_delete", "Delete group "+b.Name, b)
		return nil
	}
	if err != nil {
		return err
	}
	return seeOther(w, r, fmt.Sprintf("Group %s deleted.", name), r.Base+"/groups")
}
