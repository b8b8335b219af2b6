package model

import (
	"fmt"
	"net/mail"
	"regexp"
	"time"
)

// User statuses.
const (
	UserActive   = "active"
	UserDisabled = "disabled" // cannot sign in; refresh tokens stop working
)

// Address is the OIDC Core 1.0 §5.1.1 address claim.
type Address struct {
	Formatted     string `json:"formatted,omitempty"`
	StreetAddress string `json:"street_address,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postal_code,omitempty"`
	Country       string `json:"country,omitempty"`
}

// Empty reports whether no part of the address is set.
func (a Address) Empty() bool { return a == Address{} }

// User is an end user of a tenant.
type User struct {
	TenantID string
	// ID is "usr_" + random, stable for the user's life; it is the sub claim.
	ID string
	// Username is the login name and preferred_username; unique in the
	// tenant, compared case-insensitively.
	Username string
	// Email is unique in the tenant when set, compared case-insensitively.
	Email               string
	EmailVerified       bool
	Name                string
	GivenName           string
	FamilyName          string
	Picture             string
	Locale              string
	Address             Address
	PhoneNumber         string
	PhoneNumberVerified bool
	// PasswordHash is an argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash);
	// empty means the user cannot sign in with a password.
	PasswordHash string
	Status       string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Version      int64
}

var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)

// Validate checks the user's own invariants (not uniqueness).
func (u User) Validate() error {
	var errs Problems
	if !usernamePattern.MatchString(u.Username) {
		errs.Add("username", "must be 1–64 letters, digits or . _ @ + -, starting with a letter or digit")
	}
	if u.Email != "" {
		if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email || len(u.Email) > 254 {
			errs.Add("email", "must be a plain address such as alice@example.com")
		}
	}
	for _, f := range []struct{ name, v string }{
		{"name", u.Name}, {"given_name", u.GivenName}, {"family_name", u.FamilyName},
		{"picture", u.Picture}, {"locale", u.Locale}, {"phone_number", u.PhoneNumber},
	} {
		if !ValidText(f.v) || len(f.v) > 512 {
			errs.Add(f.name, "must be UTF-8 text without NUL bytes, at most 512 bytes")
		}
	}
	switch u.Status {
	case UserActive, UserDisabled:
	default:
		errs.Add("status", fmt.Sprintf("must be %s or %s", UserActive, UserDisabled))
	}
	return errs.Err()
}

// Built-in role names.
const (
	RoleAdmin = "admin" // every platform scope
	RoleUser  = "user"  // me:*
)

// Role maps to a set of scopes. Users hold roles directly or through groups.
type Role struct {
	TenantID    string
	Name        string
	Description string
	Scopes      []string
	// Builtin roles (admin, user) cannot be deleted or renamed.
	Builtin   bool
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int64
}

var roleNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

// Validate checks the role's own invariants; whether its scopes exist is
// for the caller, which sees the registry.
func (r Role) Validate() error {
	var errs Problems
	if !roleNamePattern.MatchString(r.Name) {
		errs.Add("name", "must be 1–64 lower-case letters, digits, _ or -, starting with a letter")
	}
	if len(r.Description) > 200 {
		errs.Add("description", "must be at most 200 characters")
	}
	return errs.Err()
}

// Group is a set of users that holds roles.
type Group struct {
	TenantID    string
	Name        string
	Description string
	// Roles are the role names every member holds.
	Roles     []string
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int64
}

// Validate checks the group's own invariants.
func (g Group) Validate() error {
	var errs Problems
	if !roleNamePattern.MatchString(g.Name) {
		errs.Add("name", "must be 1–64 lower-case letters, digits, _ or -, starting with a letter")
	}
	if len(g.Description) > 200 {
		errs.Add("description", "must be at most 200 characters")
	}
	return errs.Err()
}

// Consent is what one user has approved for one application.
type Consent struct {
	TenantID  string
	UserID    string
	ClientID  string
	Scopes    []string
	CreatedAt time.Time
	UpdatedAt time.Time
}
