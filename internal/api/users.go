package api

import (
	"net/http"
	"net/url"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// userRoutes mounts end users under users:read / users:write. {user} is a
// user ID (usr_…), a username or an email address.
func (h *Handler) userRoutes(rt *router) {
	rt.handle("GET", Prefix+"/users", admin.OpListUsers, h.listUsers)
	rt.handle("POST", Prefix+"/users", admin.OpCreateUser, h.createUser)
	rt.handle("GET", Prefix+"/users/{user}", admin.OpGetUser, h.getUser)
	rt.handle("PATCH", Prefix+"/users/{user}", admin.OpUpdateUser, h.updateUser)
	rt.handle("DELETE", Prefix+"/users/{user}", admin.OpDeleteUser, h.deleteUser)
	rt.handle("POST", Prefix+"/users/{user}/disable", admin.OpDisableUser, h.disableUser)
	rt.handle("POST", Prefix+"/users/{user}/enable", admin.OpEnableUser, h.enableUser)
	rt.handle("POST", Prefix+"/users/{user}/password", admin.OpSetPassword, h.setUserPassword)
	rt.handle("GET", Prefix+"/users/{user}/consents", admin.OpUserConsents, h.userConsents)
	rt.handle("DELETE", Prefix+"/users/{user}/consents/{client_id}", admin.OpRevokeUserConsent, h.revokeUserConsent)
}

// listUsers searches users (?q= a prefix of username, email or name;
// ?status=active|disabled), by username.
func (h *Handler) listUsers(w http.ResponseWriter, r *Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	status := q.Get("status")
	switch status {
	case "", model.UserActive, model.UserDisabled:
	default:
		return invalidField("status", "must be active or disabled, not %q", status)
	}
	res, err := h.Admin.ListUsers(r.Context(), r.Actor, r.TenantID(), store.UserQuery{Search: q.Get("q"), Status: status, Page: p.Store()})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(mapSlice(res.Users, admin.NewUserDoc), p, res.Total))
}

func (h *Handler) getUser(w http.ResponseWriter, r *Request) error {
	d, err := h.Admin.GetUser(r.Context(), r.Actor, r.TenantID(), r.PathValue("user"))
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, admin.NewUserDetailDoc(d), d.User.Version)
}

// userCreate is the body of POST /users.
type userCreate struct {
	Username            string         `json:"username"`
	Email               string         `json:"email"`
	EmailVerified       bool           `json:"email_verified"`
	Name                string         `json:"name"`
	GivenName           string         `json:"given_name"`
	FamilyName          string         `json:"family_name"`
	Picture             string         `json:"picture"`
	Locale              string         `json:"locale"`
	Address             *model.Address `json:"address"`
	PhoneNumber         string         `json:"phone_number"`
	PhoneNumberVerified bool           `json:"phone_number_verified"`
	Password            string         `json:"password"`
	Roles               []string       `json:"roles"`
}

func (h *Handler) createUser(w http.ResponseWriter, r *Request) error {
	var in userCreate
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	ui := admin.UserInput{Username: in.Username, Email: in.Email, EmailVerified: in.EmailVerified, Name: in.Name,
		GivenName: in.GivenName, FamilyName: in.FamilyName, Picture: in.Picture, Locale: in.Locale,
		PhoneNumber: in.PhoneNumber, PhoneNumberVerified: in.PhoneNumberVerified, Password: in.Password, Roles: in.Roles}
	if in.Address != nil {
		ui.Address = *in.Address
	}
	u, err := h.Admin.CreateUser(r.Context(), r.Actor, r.TenantID(), ui)
	if err != nil {
		return err
	}
	d, err := h.Admin.GetUser(r.Context(), r.Actor, r.TenantID(), u.ID)
	if err != nil {
		return err
	}
	h.invalidate(r)
	w.Header().Set("Location", r.Snap.Tenant.Issuer+Prefix+"/users/"+url.PathEscape(u.ID))
	return writeResource(w, http.StatusCreated, admin.NewUserDetailDoc(d), u.Version)
}

// userPatch is the body of PATCH /users/{user}: absent members stay. A new
// email (phone number) is unverified unless email_verified
// (phone_number_verified) is sent too.
type userPatch struct {
	Username            *string        `json:"username"`
	Email               *string        `json:"email"`
	EmailVerified       *bool          `json:"email_verified"`
	Name                *string        `json:"name"`
	GivenName           *string        `json:"given_name"`
	FamilyName          *string        `json:"family_name"`
	Picture             *string        `json:"picture"`
	Locale              *string        `json:"locale"`
	Address             *model.Address `json:"address"`
	PhoneNumber         *string        `json:"phone_number"`
	PhoneNumberVerified *bool          `json:"phone_number_verified"`
}

func (h *Handler) updateUser(w http.ResponseWriter, r *Request) error {
	version, err := requireIfMatch(r)
	if err != nil {
		return err
	}
	var in userPatch
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := h.Admin.UpdateUser(r.Context(), r.Actor, r.TenantID(), r.PathValue("user"), admin.UserUpdate{
		Username: in.Username, Email: in.Email, EmailVerified: in.EmailVerified, Name: in.Name, GivenName: in.GivenName,
		FamilyName: in.FamilyName, Picture: in.Picture, Locale: in.Locale, Address: in.Address, PhoneNumber: in.PhoneNumber,
		PhoneNumberVerified: in.PhoneNumberVerified, Version: version})
	if err != nil {
		return err
	}
	return h.writeUser(w, r, u.ID)
}

// writeUser answers the user's current detail after a write.
func (h *Handler) writeUser(w http.ResponseWriter, r *Request, id string) error {
	h.invalidate(r)
	d, err := h.Admin.GetUser(r.Context(), r.Actor, r.TenantID(), id)
	if err != nil {
		return err
	}
	return writeResource(w, http.StatusOK, admin.NewUserDetailDoc(d), d.User.Version)
}

func (h *Handler) deleteUser(w http.ResponseWriter, r *Request) error {
	version, _, err := ifMatch(r)
	if err != nil {
		return err
	}
	if err := h.Admin.DeleteUser(r.Context(), r.Actor, r.TenantID(), r.PathValue("user"), version); err != nil {
		return err
	}
	h.invalidate(r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// disableUser stops the user signing in, ends their sessions and revokes
// their refresh tokens; disabling a disabled user changes nothing.
func (h *Handler) disableUser(w http.ResponseWriter, r *Request) error {
	u, err := h.Admin.DisableUser(r.Context(), r.Actor, r.TenantID(), r.PathValue("user"))
	if err != nil {
		return err
	}
	return h.writeUser(w, r, u.ID)
}

func (h *Handler) enableUser(w http.ResponseWriter, r *Request) error {
	u, err := h.Admin.EnableUser(r.Context(), r.Actor, r.TenantID(), r.PathValue("user"))
	if err != nil {
		return err
	}
	return h.writeUser(w, r, u.ID)
}

// passwordSet is the body of POST /users/{user}/password.
type passwordSet struct {
	Password *string `json:"password"`
	// SignOut also ends the user's sessions and refresh tokens.
	SignOut bool `json:"sign_out"`
}

func (h *Handler) setUserPassword(w http.ResponseWriter, r *Request) error {
	var in passwordSet
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Password == nil {
		return invalidField("password", "is required: the new password in plaintext (sent over TLS, stored only as an argon2id hash)")
	}
	if err := h.Admin.SetPassword(r.Context(), r.Actor, r.TenantID(), r.PathValue("user"), *in.Password, in.SignOut); err != nil {
		return err
	}
	h.invalidate(r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// userConsents answers GET /users/{user}/consents: the applications the
// user approved and the scopes of each, by client ID.
func (h *Handler) userConsents(w http.ResponseWriter, r *Request) error {
	p, err := pageParams(r)
	if err != nil {
		return err
	}
	cs, err := h.Admin.UserConsents(r.Context(), r.Actor, r.TenantID(), r.PathValue("user"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, paginate(cs, p))
}

// revokeUserConsent answers DELETE /users/{user}/consents/{client_id}: 204,
// or 404 when the user has no consent for the application.
func (h *Handler) revokeUserConsent(w http.ResponseWriter, r *Request) error {
	if err := h.Admin.RevokeUserConsent(r.Context(), r.Actor, r.TenantID(), r.PathValue("user"), r.PathValue("client_id")); err != nil {
		return err
	}
	h.invalidate(r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
