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

// The Users, Groups and Roles pages (users.go, groups.go, roles.go) share
// the helpers at the top of this file: input checked at the edge, labelled
// fields with their problems, the stale-edit comparison, and the answer to
// a refused form.

// usersPerPage is the length of a page of the user list.
const usersPerPage = 20

// field is one labelled text input of a form, with the user's value and
// the problem the use-case found in it.
type field struct {
	ID, Name, Label, Type, Value, Hint, Autocomplete string
	Message                                          string
	Required                                         bool
}

// DescribedBy is the aria-describedby of the input: its hint and problem.
func (f field) DescribedBy() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Message != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// option is one checkbox of a list.
type option struct {
	ID, Value, Label, Hint string
	Checked                bool
}

// checks is a list of checkboxes sharing a name, under a legend.
type checks struct {
	ID, Name, Legend, Hint, Message string
	Options                         []option
}

// checkList builds a checkbox list of values, those in chosen ticked.
func checkList(id, name, legend string, values, chosen []string) checks {
	c := checks{ID: id, Name: name, Legend: legend}
	for i, v := range values {
		c.Options = append(c.Options, option{ID: fmt.Sprintf("%s-%d", id, i), Value: v, Label: v, Checked: slices.Contains(chosen, v)})
	}
	return c
}

// versionRow compares the version the form was opened at with the current.
func versionRow(yours, current int64) conflictRow {
	return staleRow("Version", fmt.Sprintf("%d (when you opened it)", yours), fmt.Sprintf("%d", current))
}

// refusal sorts the error of a form's use-case: a problem the user can fix
// in the form (bad input, a taken name, an escalation the actor's token
// does not allow) comes back as its status and messages by field ("" for
// the form as a whole), to re-show the form with the input kept; ok is
// false for anything else, which the caller returns.
func refusal(err error) (status int, problems FieldErrors, ok bool) {
	var ise *admin.InsufficientScopeError
	switch {
	case errors.As(err, &ise):
		return http.StatusForbidden, FieldErrors{"": sentence(ise.Error())}, true
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, FieldErrors{"": describe(err).Message}, true
	}
	if fe := fieldErrors(err); fe != nil {
		return http.StatusBadRequest, fe, true
	}
	return 0, nil, false
}

// formMessage joins the problems of a form that belong to no field shown.
func formMessage(fe FieldErrors, shown ...string) string {
	var out []string
	for k, v := range fe {
		if !slices.Contains(shown, k) {
			if k != "" {
				v = k + ": " + v
			}
			out = append(out, sentence(v))
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// userPages mounts the users pages: the searchable list, a new user, and
// a user's page with their profile, status, password, roles, groups and
// consents. A user is addressed by ID in the console's paths.
func (h *Handler) userPages(rt *router) {
	p := model.ConsolePath + "/users"
	rt.page("GET", p, admin.OpListUsers, h.listUsers)
	rt.page("GET", p+"/new", admin.OpCreateUser, h.newUser)
	rt.page("POST", p, admin.OpCreateUser, h.createUser)
	rt.page("GET", p+"/{user}", admin.OpGetUser, h.showUser)
	rt.page("POST", p+"/{user}", admin.OpUpdateUser, h.updateUser)
	rt.page("POST", p+"/{user}/disable", admin.OpDisableUser, h.disableUser)
	rt.page("POST", p+"/{user}/enable", admin.OpEnableUser, h.enableUser)
	rt.page("POST", p+"/{user}/password", admin.OpSetPassword, h.setUserPassword)
	rt.page("POST", p+"/{user}/roles", admin.OpAssignRole, h.assignUserRole)
	rt.page("POST", p+"/{user}/roles/{role}/unassign", admin.OpUnassignRole, h.unassignUserRole)
	rt.page("POST", p+"/{user}/groups", admin.OpAddGroupMember, h.addUserToGroup)
	rt.page("POST", p+"/{user}/groups/{group}/remove", admin.OpRemoveGroupMember, h.removeUserFromGroup)
	rt.page("POST", p+"/{user}/consents/{client_id}/withdraw", admin.OpRevokeUserConsent, h.withdrawUserConsent)
	rt.page("GET", p+"/{user}/delete", admin.OpDeleteUser, h.confirmDeleteUser)
	rt.page("POST", p+"/{user}/delete", admin.OpDeleteUser, h.deleteUser)
}

// userPath is the console page of the user with that ID.
func userPath(r *Request, id string) string { return r.Base + "/users/" + url.PathEscape(id) }

type usersListBody struct {
	Query, Status string
	QueryField    field
	Users         []model.User
	Total         int
	Pager         Pager
	CanCreate     bool
	NewPath       string
	Path          string
}

// listUsers is the user list: a prefix search of username, email or name,
// a status filter, 20 a page by username.
func (h *Handler) listUsers(w http.ResponseWriter, r *Request) error {
	q := r.URL.Query()
	body := usersListBody{Query: q.Get("q"), Status: q.Get("status"), CanCreate: r.May(admin.OpCreateUser),
		NewPath: r.Base + "/users/new", Path: r.Base + "/users"}
	body.QueryField = field{ID: "users-q", Name: "q", Label: "Search users", Type: "search", Value: body.Query,
		Hint: "The start of a username, email address or name."}
	switch body.Status {
	case "", model.UserActive, model.UserDisabled:
	default:
		body.Status = ""
	}
	keep := url.Values{}
	if body.Query != "" {
		keep.Set("q", body.Query)
	}
	if body.Status != "" {
		keep.Set("status", body.Status)
	}
	page := PageParam(q)
	res, err := h.Admin.ListUsers(r.Context(), r.Actor, r.TenantID(), store.UserQuery{Search: body.Query, Status: body.Status,
		Page: store.Page{Offset: (page - 1) * usersPerPage, Limit: usersPerPage}})
	if err != nil {
		return err
	}
	pager, sp := NewPager(body.Path, withPage(keep, page), res.Total, usersPerPage)
	if pager.Page != page {
		// Past the last page (the list shrank): show the last one.
		if res, err = h.Admin.ListUsers(r.Context(), r.Actor, r.TenantID(), store.UserQuery{Search: body.Query, Status: body.Status, Page: sp}); err != nil {
			return err
		}
	}
	body.Users, body.Total, body.Pager = res.Users, res.Total, pager
	h.render(w, r, http.StatusOK, "users_list", "Users", body)
	return nil
}

// withPage returns q with page=n (for NewPager, which reads it).
func withPage(q url.Values, n int) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = v
	}
	out.Set("page", strconv.Itoa(n))
	return out
}

type userNewBody struct {
	Username, Email, Name, Password field
	Roles                           checks
	ShowRoles                       bool
	Error                           string
	Action, Cancel                  string
}

// newUserForm is the form of a new user with the input in r's form (empty
// on first show) and the problems in fe.
func (h *Handler) newUserForm(r *Request, fe FieldErrors) (userNewBody, error) {
	b := userNewBody{
		Username: field{ID: "user-username", Name: "username", Label: "Username", Type: "text", Value: r.PostFormValue("username"),
			Required: true, Autocomplete: "off", Hint: "Letters, digits or . _ @ + -, starting with a letter or digit; what the user signs in with.", Message: fe["username"]},
		Email: field{ID: "user-email", Name: "email", Label: "Email", Type: "text", Value: r.PostFormValue("email"),
			Autocomplete: "off", Hint: "Optional; the user may sign in with it too.", Message: fe["email"]},
		Name: field{ID: "user-name", Name: "name", Label: "Full name", Type: "text", Value: r.PostFormValue("name"),
			Autocomplete: "off", Message: fe["name"]},
		Password: field{ID: "user-password", Name: "password", Label: "Initial password", Type: "password",
			Required: true, Autocomplete: "new-password", Hint: "At least 8 characters. Give it to the user over a safe channel; they can change it on their account page.", Message: fe["password"]},
		Action: r.Base + "/users", Cancel: r.Base + "/users",
	}
	if r.May(admin.OpListRoles) {
		roles, err := h.Admin.ListRoles(r.Context(), r.Actor, r.TenantID())
		if err != nil {
			return b, err
		}
		b.ShowRoles = true
		b.Roles = checkList("user-roles", "roles", "Roles", roleNames(roles), r.PostForm["roles"])
		b.Roles.Hint = "Optional. Each role gives the user its scopes; you can change them later."
		b.Roles.Message = fe["roles"]
	}
	b.Error = formMessage(fe, "username", "email", "name", "password", "roles")
	return b, nil
}

func roleNames(rs []model.Role) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

func (h *Handler) newUser(w http.ResponseWriter, r *Request) error {
	b, err := h.newUserForm(r, nil)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "users_new", "New user", b)
	return nil
}

// createUser creates the user, or shows the form again with the input
// kept (the password excepted) and each problem beside its field.
func (h *Handler) createUser(w http.ResponseWriter, r *Request) error {
	in := admin.UserInput{
		Username: strings.TrimSpace(r.PostFormValue("username")), Email: strings.TrimSpace(r.PostFormValue("email")),
		Name: strings.TrimSpace(r.PostFormValue("name")), Password: r.PostFormValue("password"), Roles: r.PostForm["roles"],
	}
	u, err := h.Admin.CreateUser(r.Context(), r.Actor, r.TenantID(), in)
	if err != nil {
		status, fe, ok := refusal(err)
		if !ok {
			return err
		}
		b, ferr := h.newUserForm(r, fe)
		if ferr != nil {
			return ferr
		}
		h.render(w, r, status, "users_new", "New user", b)
		return nil
	}
	return seeOther(w, r, fmt.Sprintf("User %s created.", u.Username), userPath(r, u.ID))
}

// heldRole is a role a user holds: directly, through groups, or both.
type heldRole struct {
	Name   string
	Direct bool
	// Groups are the user's groups that give the role (known only to a
	// user who may list groups).
	Groups []string
}

// memberGroup is a group the user is in, with the roles it gives.
type memberGroup struct {
	Name  string
	Roles []string
}

type userDetailBody struct {
	User     model.User
	Path     string
	Scopes   []string
	Roles    []heldRole
	Groups   []memberGroup
	Consents []consentRow
	// Assignable are the roles the user does not hold; Joinable the
	// groups they are not in (each listed only to who may change them).
	Assignable, Joinable []string
	Can                  userCan

	// The forms, with the input of one that was refused.
	Username, Email, Name field
	Version               int64
	ProfileError          string
	Conflict              *conflictView
	Password              field
	SignOut               bool
	StatusError           string
	RolesError            string
	GroupsError           string
	ConsentsError         string
}

// consentRow is a consent with the address of its Withdraw form (a
// client_id may hold characters a path must escape).
type consentRow struct {
	admin.UserConsent
	Withdraw string
}

// userCan is what the signed-in admin may do on a user's page.
type userCan struct {
	Update, Disable, Enable, SetPassword, Assign, Unassign, Join, Leave, Consents, Withdraw, Delete bool
	// SeeRoles, SeeGroups: the role and group pages open to the admin;
	// KnowHow: whether each role is held directly or through a group is
	// known (it takes reading the groups).
	SeeRoles, SeeGroups, KnowHow bool
}

// userDetail reads what the user's page shows. Each section needs only
// the scope of the actions it offers: roles to assign are listed to who
// may assign them, groups to who may read them.
func (h *Handler) userDetail(r *Request, ref string) (userDetailBody, error) {
	ctx, actor, tenant := r.Context(), r.Actor, r.TenantID()
	d, err := h.Admin.GetUser(ctx, actor, tenant, ref)
	if err != nil {
		return userDetailBody{}, err
	}
	u := d.User
	b := userDetailBody{User: u, Path: userPath(r, u.ID), Scopes: d.Scopes, Version: u.Version, Can: userCan{
		Update: r.May(admin.OpUpdateUser), Disable: r.May(admin.OpDisableUser), Enable: r.May(admin.OpEnableUser),
		SetPassword: r.May(admin.OpSetPassword), Assign: r.May(admin.OpAssignRole), Unassign: r.May(admin.OpUnassignRole),
		Join: r.May(admin.OpAddGroupMember), Leave: r.May(admin.OpRemoveGroupMember), Consents: r.May(admin.OpUserConsents),
		Withdraw: r.May(admin.OpRevokeUserConsent), Delete: r.May(admin.OpDeleteUser),
		SeeRoles: r.May(admin.OpGetRole), SeeGroups: r.May(admin.OpGetGroup), KnowHow: r.May(admin.OpListGroups),
	}}
	b.setProfile(u.Username, u.Email, u.Name, nil)
	b.Password = field{ID: "user-new-password", Name: "password", Label: "New password", Type: "password", Autocomplete: "new-password",
		Hint: "At least 8 characters."}

	// Which of the user's groups give which role.
	given := map[string][]string{}
	if r.May(admin.OpListGroups) {
		gs, err := h.Admin.ListGroups(ctx, actor, tenant)
		if err != nil {
			return b, err
		}
		for _, g := range gs {
			if slices.Contains(d.Groups, g.Name) {
				b.Groups = append(b.Groups, memberGroup{Name: g.Name, Roles: g.Roles})
				for _, role := range g.Roles {
					given[role] = append(given[role], g.Name)
				}
			} else if b.Can.Join {
				b.Joinable = append(b.Joinable, g.Name)
			}
		}
	} else {
		for _, g := range d.Groups {
			b.Groups = append(b.Groups, memberGroup{Name: g})
		}
	}
	for _, name := range d.Roles {
		hr := heldRole{Name: name, Groups: given[name], Direct: len(given[name]) == 0}
		if !hr.Direct && r.May(admin.OpGetRole) {
			// Given by a group: held directly as well?
			rd, err := h.Admin.GetRole(ctx, actor, tenant, name)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return b, err
			}
			hr.Direct = slices.ContainsFunc(rd.Users, func(x admin.UserRef) bool { return x.ID == u.ID })
		}
		b.Roles = append(b.Roles, hr)
	}
	if b.Can.Assign {
		roles, err := h.Admin.ListRoles(ctx, actor, tenant)
		if err != nil {
			return b, err
		}
		for _, role := range roles {
			if !slices.ContainsFunc(b.Roles, func(x heldRole) bool { return x.Name == role.Name && x.Direct }) {
				b.Assignable = append(b.Assignable, role.Name)
			}
		}
	}
	if b.Can.Consents {
		cs, err := h.Admin.UserConsents(ctx, actor, tenant, u.ID)
		if err != nil {
			return b, err
		}
		for _, c := range cs {
			b.Consents = append(b.Consents, consentRow{UserConsent: c, Withdraw: b.Path + "/consents/" + url.PathEscape(c.ClientID) + "/withdraw"})
		}
	}
	return b, nil
}

// setProfile fills the profile form with values and their problems.
func (b *userDetailBody) setProfile(username, email, name string, fe FieldErrors) {
	b.Username = field{ID: "profile-username", Name: "username", Label: "Username", Type: "text", Value: username, Required: true,
		Autocomplete: "off", Message: fe["username"]}
	b.Email = field{ID: "profile-email", Name: "email", Label: "Email", Type: "text", Value: email, Autocomplete: "off",
		Hint: "A new address is unverified until the user confirms it.", Message: fe["email"]}
	b.Name = field{ID: "profile-name", Name: "name", Label: "Full name", Type: "text", Value: name, Autocomplete: "off", Message: fe["name"]}
	b.ProfileError = formMessage(fe, "username", "email", "name")
}

func (h *Handler) renderUser(w http.ResponseWriter, r *Request, status int, b userDetailBody) {
	h.render(w, r, status, "users_detail", b.User.Username, b)
}

func (h *Handler) showUser(w http.ResponseWriter, r *Request) error {
	b, err := h.userDetail(r, r.PathValue("user"))
	if err != nil {
		return err
	}
	h.renderUser(w, r, http.StatusOK, b)
	return nil
}

// updateUser changes the profile at the version the form showed; a stale
// one shows both versions and keeps the input, with the current version in
// the form, so that sending it again applies the user's changes.
func (h *Handler) updateUser(w http.ResponseWriter, r *Request) error {
	version, err := formVersion(r)
	if err != nil {
		return err
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	email := strings.TrimSpace(r.PostFormValue("email"))
	name := strings.TrimSpace(r.PostFormValue("name"))
	u, err := h.Admin.UpdateUser(r.Context(), r.Actor, r.TenantID(), r.PathValue("user"), admin.UserUpdate{
		Username: &username, Email: &email, Name: &name, Version: version})
	if err == nil {
		return seeOther(w, r, fmt.Sprintf("Profile of %s saved.", u.Username), userPath(r, u.ID))
	}
	if errors.Is(err, store.ErrPrecondition) {
		b, derr := h.userDetail(r, r.PathValue("user"))
		if derr != nil {
			return derr
		}
		cur := b.User
		b.Conflict = &conflictView{What: "user", Rows: []conflictRow{
			versionRow(version, cur.Version),
			staleRow("Username", username, cur.Username), staleRow("Email", email, cur.Email), staleRow("Full name", name, cur.Name),
		}}
		b.setProfile(username, email, name, nil)
		h.renderUser(w, r, http.StatusConflict, b)
		return nil
	}
	status, fe, ok := refusal(err)
	if !ok {
		return err
	}
	b, derr := h.userDetail(r, r.PathValue("user"))
	if derr != nil {
		return derr
	}
	b.setProfile(username, email, name, fe)
	b.Version = version
	h.renderUser(w, r, status, b)
	return nil
}

// userAction runs a user page's action; a refusal the user can act on is
// shown in its section (set) on the page, anything else fails.
func (h *Handler) userAction(w http.ResponseWriter, r *Request, act func() (string, error), set func(*userDetailBody, FieldErrors)) error {
	notice, err := act()
	if err == nil {
		return seeOther(w, r, notice, userPath(r, r.PathValue("user")))
	}
	status, fe, ok := refusal(err)
	if !ok {
		return err
	}
	b, derr := h.userDetail(r, r.PathValue("user"))
	if derr != nil {
		return derr
	}
	set(&b, fe)
	h.renderUser(w, r, status, b)
	return nil
}

func (h *Handler) disableUser(w http.ResponseWriter, r *Request) error {
	return h.userAction(w, r, func() (string, error) {
		u, err := h.Admin.DisableUser(r.Context(), r.Actor, r.TenantID(), r.PathValue("user"))
		return fmt.Sprintf("%s is disabled: they cannot sign in, and their sessions and refresh tokens have ended.", u.Username), err
	}, func(b *userDetailBody, fe FieldErrors) { b.StatusError = formMessage(fe) })
}

func (h *Handler) enableUser(w http.ResponseWriter, r *Request) error {
	return h.userAction(w, r, func() (string, error) {
		u, err := h.Admin.EnableUser(r.Context(), r.Actor, r.TenantID(), r.PathValue("user"))
		return fmt.Sprintf("%s is enabled: they can sign in again.", u.Username), err
	}, func(b *userDetailBody, fe FieldErrors) { b.StatusError = formMessage(fe) })
}

// setUserPassword sets the password (never shown again, nor kept in the
// form after a refusal), optionally signing the user out everywhere.
func (h *Handler) setUserPassword(w http.ResponseWriter, r *Request) error {
	signOut := r.PostFormValue("sign_out") != ""
	return h.userAction(w, r, func() (string, error) {
		err := h.Admin.SetPassword(r.Context(), r.Actor, r.TenantID(), r.PathValue("user"), r.PostFormValue("password"), signOut)
		if signOut {
			return "Password set; the user is signed out everywhere.", err
		}
		return "Password set.", err
	}, func(b *userDetailBody, fe FieldErrors) {
		b.Password.Message = fe["password"]
		if m := formMessage(fe, "password"); m != "" {
			b.Password.Message = strings.TrimSpace(b.Password.Message + " " + m)
		}
		b.SignOut = signOut
	})
}

func (h *Handler) assignUserRole(w http.ResponseWriter, r *Request) error {
	role := r.PostFormValue("role")
	return h.userAction(w, r, func() (string, error) {
		if role == "" {
			return "", invalidInput("role", "choose a role to assign")
		}
		u, err := h.Admin.AssignRole(r.Context(), r.Actor, r.TenantID(), role, r.PathValue("user"))
		return fmt.Sprintf("Role %s assigned to %s.", role, u.Username), err
	}, func(b *userDetailBody, fe FieldErrors) { b.RolesError = formMessage(fe) })
}

func (h *Handler) unassignUserRole(w http.ResponseWriter, r *Request) error {
	role := r.PathValue("role")
	return h.userAction(w, r, func() (string, error) {
		u, err := h.Admin.UnassignRole(r.Context(), r.Actor, r.TenantID(), role, r.PathValue("user"))
		return fmt.Sprintf("Role %s unassigned from %s.", role, u.Username), err
	}, func(b *userDetailBody, fe FieldErrors) { b.RolesError = formMessage(fe) })
}

func (h *Handler) addUserToGroup(w http.ResponseWriter, r *Request) error {
	group := r.PostFormValue("group")
	return h.userAction(w, r, func() (string, error) {
		if group == "" {
			return "", invalidInput("group", "choose a group")
		}
		u, err := h.Admin.AddMember(r.Context(), r.Actor, r.TenantID(), group, r.PathValue("user"))
		return fmt.Sprintf("%s added to group %s.", u.Username, group), err
	}, func(b *userDetailBody, fe FieldErrors) { b.GroupsError = formMessage(fe) })
}

func (h *Handler) removeUserFromGroup(w http.ResponseWriter, r *Request) error {
	group := r.PathValue("group")
	return h.userAction(w, r, func() (string, error) {
		u, err := h.Admin.RemoveMember(r.Context(), r.Actor, r.TenantID(), group, r.PathValue("user"))
		return fmt.Sprintf("%s removed from group %s.", u.Username, group), err
	}, func(b *userDetailBody, fe FieldErrors) { b.GroupsError = formMessage(fe) })
}

func (h *Handler) withdrawUserConsent(w http.ResponseWriter, r *Request) error {
	client := r.PathValue("client_id")
	return h.userAction(w, r, func() (string, error) {
		err := h.Admin.RevokeUserConsent(r.Context(), r.Actor, r.TenantID(), r.PathValue("user"), client)
		return fmt.Sprintf("Consent for %s withdrawn; the application must ask the user again.", client), err
	}, func(b *userDetailBody, fe FieldErrors) { b.ConsentsError = formMessage(fe) })
}

// invalidInput is a validation error of one field, as admin's use-cases
// return them, for a choice the form requires.
func invalidInput(field, msg string) error {
	var p model.Problems
	p.Add(field, msg)
	return p.Err()
}

// deleteBody is the confirmation page of a delete (users, groups, roles).
type deleteBody struct {
	// What is "user", "group" or "role"; Name is its name.
	What, Name string
	// Impact lists what the delete takes with it.
	Impact  []string
	Action  string
	Cancel  string
	Version int64
	// Stale: the thing changed since the page that led here was shown;
	// the page now shows the current state.
	Stale bool
	// Refused holds a sentence why it cannot be deleted.
	Refused string
}

func (h *Handler) userDeleteBody(r *Request) (deleteBody, error) {
	d, err := h.Admin.GetUser(r.Context(), r.Actor, r.TenantID(), r.PathValue("user"))
	if err != nil {
		return deleteBody{}, err
	}
	u := d.User
	b := deleteBody{What: "user", Name: u.Username, Version: u.Version, Action: userPath(r, u.ID) + "/delete", Cancel: userPath(r, u.ID)}
	b.Impact = append(b.Impact, "their sign-in sessions end and every refresh token they hold is revoked, with the access tokens issued alongside")
	if len(d.Roles) > 0 {
		b.Impact = append(b.Impact, "their roles go with them: "+strings.Join(d.Roles, ", "))
	}
	if len(d.Groups) > 0 {
		b.Impact = append(b.Impact, "they leave their groups: "+strings.Join(d.Groups, ", "))
	}
	b.Impact = append(b.Impact, "their consents go; the user.deleted audit event keeps a record of them as they were")
	return b, nil
}

func (h *Handler) confirmDeleteUser(w http.ResponseWriter, r *Request) error {
	b, err := h.userDeleteBody(r)
	if err != nil {
		return err
	}
	h.render(w, r, http.StatusOK, "people_delete", "Delete user "+b.Name, b)
	return nil
}

// deleteUser deletes the user at the version the confirmation showed; a
// stale one shows the confirmation again with the current state.
func (h *Handler) deleteUser(w http.ResponseWriter, r *Request) error {
	version, err := formVersion(r)
	if err != nil {
		return err
	}
	d, err := h.Admin.GetUser(r.Context(), r.Actor, r.TenantID(), r.PathValue("user"))
	if err != nil {
		return err
	}
	err = h.Admin.DeleteUser(r.Context(), r.Actor, r.TenantID(), d.User.ID, version)
	if errors.Is(err, store.ErrPrecondition) {
		b, derr := h.userDeleteBody(r)
		if derr != nil {
			return derr
		}
		b.Stale = true
		h.render(w, r, http.StatusConflict, "people_delete", "Delete user "+b.Name, b)
		return nil
	}
	if err != nil {
		return err
	}
	return seeOther(w, r, fmt.Sprintf("User %s deleted.", d.User.Username), r.Base+"/users")
}
