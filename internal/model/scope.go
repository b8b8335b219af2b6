package model

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/intelliauth/intelliauth/scope"
)

// ScopeKind says where a scope comes from.
type ScopeKind string

const (
	// KindOIDC scopes (openid, profile, …) release identity claims and go
	// with any audience.
	KindOIDC ScopeKind = "oidc"
	// KindPlatform scopes guard the tenant's own /api/v1; predefined, never deleted.
	KindPlatform ScopeKind = "platform"
	// KindCustom scopes are defined by admins for their own APIs.
	KindCustom ScopeKind = "custom"
)

// MaxDescription is the longest consent text a scope may carry.
const MaxDescription = 120

// Scope is one entry of a tenant's scope registry.
type Scope struct {
	TenantID    string
	Name        string
	DisplayName string
	// Description is the consent text shown to users, at most 120 characters.
	Description string
	Kind        ScopeKind
	// APIID is the API that defines the scope; empty for OIDC scopes, the
	// platform API for platform scopes.
	APIID string
	// Implies names other scopes a grant of this one carries with it.
	Implies []string
	// Claims are the ID-token/userinfo claims an OIDC scope releases.
	Claims []string
	// RequiresMFA: in a user flow the scope is granted only to a sign-in
	// that passed a second factor (PRODUCT.md §2 step 6b); the user is
	// asked to step up, and the scope is dropped with step_up_required
	// when they do not.
	RequiresMFA bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int64
}

// scopeNamePattern is the registry's default naming rule: 1–64 characters,
// a letter first, then letters, digits and _ : . - /.
var scopeNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_:./-]{0,63}$`)

// ValidScopeName checks name against the registry rule and, when the tenant
// sets one, its own pattern (which must match the whole name).
func ValidScopeName(name, tenantPattern string) error {
	if !scopeNamePattern.MatchString(name) {
		return invalidf("scope name %q must be 1–64 characters, start with a letter, then letters, digits or _ : . - /", name)
	}
	if tenantPattern != "" {
		re, err := regexp.Compile(tenantPattern)
		if err != nil {
			return invalidf("tenant scope pattern: %v", err)
		}
		if loc := re.FindStringIndex(name); loc == nil || loc[0] != 0 || loc[1] != len(name) {
			return invalidf("scope name %q does not match this tenant's naming pattern %s", name, tenantPattern)
		}
	}
	return nil
}

// Validate checks the scope's own invariants; tenantPattern is the tenant's
// ScopePattern (it applies to custom scopes only). Whether APIID and Implies
// name existing entities is for the caller, which sees the registry.
func (s Scope) Validate(tenantPattern string) error {
	var errs Problems
	pattern := ""
	if s.Kind == KindCustom {
		pattern = tenantPattern
	}
	if err := ValidScopeName(s.Name, pattern); err != nil {
		errs.Add("name", err.Error())
	}
	switch s.Kind {
	case KindOIDC, KindPlatform:
	case KindCustom:
		if s.Description == "" {
			errs.Add("description", "is required for a custom scope: it is the consent text users read")
		}
		if s.APIID == "" {
			errs.Add("api", "is required: every custom scope belongs to exactly one API")
		}
	default:
		errs.Add("kind", "must be oidc, platform or custom")
	}
	if n := len([]rune(s.Description)); n > MaxDescription {
		errs.Add("description", fmt.Sprintf("is %d characters; the limit is %d", n, MaxDescription))
	}
	if len([]rune(s.DisplayName)) > 120 {
		errs.Add("display_name", "must be at most 120 characters")
	}
	for _, i := range s.Implies {
		if !scope.ValidToken(i) {
			errs.Add("implies", fmt.Sprintf("%q is not a valid scope name", i))
		} else if i == s.Name {
			errs.Add("implies", "a scope cannot imply itself")
		}
	}
	if s.Kind != KindOIDC && len(s.Claims) > 0 {
		errs.Add("claims", "only OIDC scopes release claims")
	}
	return errs.Err()
}

// Predefined reports whether the scope ships with every tenant and so cannot
// be deleted or renamed.
func (s Scope) Predefined() bool { return s.Kind != KindCustom }

// OIDC scope names.
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeAddress       = "address"
	ScopePhone         = "phone"
	ScopeOfflineAccess = "offline_access"
)

// PredefinedOIDCScopes are registered in every tenant (OIDC Core 1.0 §5.4).
func PredefinedOIDCScopes() []Scope {
	return []Scope{
		{Name: ScopeOpenID, DisplayName: "Sign you in", Description: "Confirm your identity to this application.", Kind: KindOIDC, Claims: []string{"sub"}},
		{Name: ScopeProfile, DisplayName: "Your profile", Description: "Your name, username, picture and locale.", Kind: KindOIDC,
			Claims: []string{"name", "given_name", "family_name", "preferred_username", "picture", "locale", "updated_at"}},
		{Name: ScopeEmail, DisplayName: "Your email address", Description: "Your email address and whether it is verified.", Kind: KindOIDC, Claims: []string{"email", "email_verified"}},
		{Name: ScopeAddress, DisplayName: "Your postal address", Description: "Your postal address.", Kind: KindOIDC, Claims: []string{"address"}},
		{Name: ScopePhone, DisplayName: "Your phone number", Description: "Your phone number and whether it is verified.", Kind: KindOIDC, Claims: []string{"phone_number", "phone_number_verified"}},
		{Name: ScopeOfflineAccess, DisplayName: "Stay signed in", Description: "Keep access when you are not using the application (a refresh token).", Kind: KindOIDC},
	}
}

// PlatformScopes are the predefined scopes of the tenant's own /api/v1,
// defined by the platform API. Write scopes imply their read scope.
func PlatformScopes(platformAPIID string) []Scope {
	def := func(name, display, desc string, implies ...string) Scope {
		return Scope{Name: name, DisplayName: display, Description: desc, Kind: KindPlatform, APIID: platformAPIID, Implies: implies}
	}
	return []Scope{
		def("me:read", "Read your profile", "Read your own profile."),
		def("me:write", "Update your profile", "Update your profile and change your password.", "me:read"),
		def("me:sessions", "Manage your sessions", "List and end your own sessions."),
		def("users:read", "Read users", "Read user records in this tenant."),
		def("users:write", "Manage users", "Create, update and delete user records in this tenant.", "users:read"),
		def("groups:read", "Read groups", "Read groups and group memberships."),
		def("groups:write", "Manage groups", "Manage groups and memberships.", "groups:read"),
		def("roles:read", "Read roles", "Read roles, their scopes and assignments."),
		def("roles:write", "Manage roles", "Manage roles, their scopes and assignments.", "roles:read"),
		def("scopes:read", "Read scopes", "Read the scope registry and APIs."),
		def("scopes:write", "Manage scopes", "Create, change and delete scopes and APIs.", "scopes:read"),
		def("applications:read", "Read applications", "Read application configurations."),
		def("applications:write", "Manage applications", "Manage applications, including credential rotation.", "applications:read"),
		def("audit:read", "Read the audit log", "Read the audit feed and scope-usage reports."),
		def("resources:read", "Read resources", "Read resources and their relationships."),
		def("resources:write", "Manage resources", "Create, update and delete resources and relationships.", "resources:read"),
	}
}

// PlatformScopeNames lists the platform scope names, sorted.
func PlatformScopeNames() []string {
	var out []string
	for _, s := range PlatformScopes("") {
		out = append(out, s.Name)
	}
	slices.Sort(out)
	return out
}
