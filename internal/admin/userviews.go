package admin

import (
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
)

// UserDoc is a user as JSON: the profile claims, status and whether a
// password is set — never the password hash.
type UserDoc struct {
	ID                  string         `json:"id"`
	Username            string         `json:"username"`
	Email               string         `json:"email,omitempty"`
	EmailVerified       bool           `json:"email_verified"`
	Name                string         `json:"name,omitempty"`
	GivenName           string         `json:"given_name,omitempty"`
	FamilyName          string         `json:"family_name,omitempty"`
	Picture             string         `json:"picture,omitempty"`
	Locale              string         `json:"locale,omitempty"`
	Address             *model.Address `json:"address,omitempty"`
	PhoneNumber         string         `json:"phone_number,omitempty"`
	PhoneNumberVerified bool           `json:"phone_number_verified,omitempty"`
	Status              string         `json:"status"`
	HasPassword         bool           `json:"has_password"`
	Version             int64          `json:"version"`
	CreatedAt           time.Time      `json:"created_at"`
	UpdatedAt           time.Time      `json:"updated_at"`
}

// NewUserDoc converts a user, leaving out the password hash.
func NewUserDoc(u model.User) UserDoc {
	d := UserDoc{ID: u.ID, Username: u.Username, Email: u.Email, EmailVerified: u.EmailVerified, Name: u.Name,
		GivenName: u.GivenName, FamilyName: u.FamilyName, Picture: u.Picture, Locale: u.Locale,
		PhoneNumber: u.PhoneNumber, PhoneNumberVerified: u.PhoneNumberVerified, Status: u.Status,
		HasPassword: u.PasswordHash != "", Version: u.Version, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	if !u.Address.Empty() {
		a := u.Address
		d.Address = &a
	}
	return d
}

// UserDetailDoc is a user with what they hold: roles (direct or through a
// group), groups, and the scopes those roles give (before implication).
type UserDetailDoc struct {
	UserDoc
	Roles  []string `json:"roles"`
	Groups []string `json:"groups"`
	Scopes []string `json:"entitled_scopes"`
}

// NewUserDetailDoc converts a user detail.
func NewUserDetailDoc(d UserDetail) UserDetailDoc {
	return UserDetailDoc{UserDoc: NewUserDoc(d.User), Roles: nonNil(d.Roles), Groups: nonNil(d.Groups), Scopes: nonNil(d.Scopes)}
}

// RoleDoc is a role as JSON.
type RoleDoc struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Scopes      []string `json:"scopes"`
	Builtin     bool     `json:"builtin"`
	Version     int64    `json:"version"`
}

// NewRoleDoc converts a role.
func NewRoleDoc(r model.Role) RoleDoc {
	return RoleDoc{Name: r.Name, Description: r.Description, Scopes: nonNil(r.Scopes), Builtin: r.Builtin, Version: r.Version}
}

// UserRef names a user in listings of holders and members.
type UserRef struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

// RoleDetailDoc is a role with its direct holders and the groups that give it.
type RoleDetailDoc struct {
	RoleDoc
	Users  []UserRef `json:"users"`
	Groups []string  `json:"groups"`
}

// NewRoleDetailDoc converts a role detail.
func NewRoleDetailDoc(d RoleDetail) RoleDetailDoc {
	users := d.Users
	if users == nil {
		users = []UserRef{}
	}
	return RoleDetailDoc{RoleDoc: NewRoleDoc(d.Role), Users: users, Groups: nonNil(d.Groups)}
}

// GroupDoc is a group as JSON.
type GroupDoc struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Roles       []string `json:"roles"`
	Version     int64    `json:"version"`
}

// NewGroupDoc converts a group.
func NewGroupDoc(g model.Group) GroupDoc {
	return GroupDoc{Name: g.Name, Description: g.Description, Roles: nonNil(g.Roles), Version: g.Version}
}

// GroupDetailDoc is a group with its members.
type GroupDetailDoc struct {
	GroupDoc
	Members []UserRef `json:"members"`
}

// NewGroupDetailDoc converts a group detail.
func NewGroupDetailDoc(d GroupDetail) GroupDetailDoc {
	m := d.Members
	if m == nil {
		m = []UserRef{}
	}
	return GroupDetailDoc{GroupDoc: NewGroupDoc(d.Group), Members: m}
}
