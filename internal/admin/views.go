package admin

import (
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
)

// The *Doc types are the JSON shapes of entities in audit details (the
// before/after of a change) and in the CLI's --output json. They carry no
// secrets: client secrets appear only as the one-time plaintext of
// CreatedApplication and RotatedSecret.

// TenantDoc is a tenant as JSON.
type TenantDoc struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Issuer       string `json:"issuer"`
	Domain       string `json:"domain,omitempty"`
	ScopePattern string `json:"scope_pattern,omitempty"`
	// MFAPolicy is the effective second-factor policy (off, optional or
	// required); MFAGraceUntil, when set, ends the enrolment grace period
	// of a required policy.
	MFAPolicy     string     `json:"mfa_policy"`
	MFAGraceUntil *time.Time `json:"mfa_grace_until,omitempty"`
	Version       int64      `json:"version"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// NewTenantDoc converts a tenant.
func NewTenantDoc(t model.Tenant) TenantDoc {
	return TenantDoc{ID: t.ID, Name: t.Name, Issuer: t.Issuer, Domain: t.Domain, ScopePattern: t.ScopePattern,
		MFAPolicy: string(t.MFAPolicy.Effective()), MFAGraceUntil: timeOrNil(t.MFAGraceUntil),
		Version: t.Version, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

// timeOrNil is t in UTC, or nil for the zero time (left out of the JSON).
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// ScopeDoc is a scope as JSON.
type ScopeDoc struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"display_name,omitempty"`
	Description string   `json:"description"`
	Kind        string   `json:"kind"`
	API         string   `json:"api,omitempty"`
	Implies     []string `json:"implies,omitempty"`
	Claims      []string `json:"claims,omitempty"`
	// RequiresMFA: in a user flow the scope is granted only to a sign-in
	// that passed a second factor (always present, so that a client sees
	// the field it may set).
	RequiresMFA bool  `json:"requires_mfa"`
	Version     int64 `json:"version"`
}

// NewScopeDoc converts a scope; API is the defining API's ID.
func NewScopeDoc(s model.Scope) ScopeDoc {
	return ScopeDoc{Name: s.Name, DisplayName: s.DisplayName, Description: s.Description, Kind: string(s.Kind),
		API: s.APIID, Implies: s.Implies, Claims: s.Claims, RequiresMFA: s.RequiresMFA, Version: s.Version}
}

// APIDoc is an API as JSON.
type APIDoc struct {
	ID             string `json:"id"`
	Identifier     string `json:"identifier"`
	Name           string `json:"name"`
	SigningAlg     string `json:"signing_alg"`
	AccessTokenTTL string `json:"access_token_ttl"`
	// TokenSizeBudget is the access-token size budget in bytes; 0 is none
	// (always present, so that a client sees the field it may set).
	TokenSizeBudget int   `json:"token_size_budget"`
	Platform        bool  `json:"platform,omitempty"`
	Version         int64 `json:"version"`
}

// NewAPIDoc converts an API.
func NewAPIDoc(a model.API) APIDoc {
	return APIDoc{ID: a.ID, Identifier: a.Identifier, Name: a.Name, SigningAlg: a.SigningAlg,
		AccessTokenTTL: a.AccessTokenTTL.String(), TokenSizeBudget: a.TokenSizeBudget, Platform: a.Platform, Version: a.Version}
}

// ApplicationDoc is an application as JSON (never its secrets).
type ApplicationDoc struct {
	ClientID       string   `json:"client_id"`
	Name           string   `json:"name"`
	Type           string   `json:"type"`
	RedirectURIs   []string `json:"redirect_uris"`
	PostLogoutURIs []string `json:"post_logout_redirect_uris,omitempty"`
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
	GrantTypes     []string `json:"grant_types"`
	AllowedScopes  []string `json:"allowed_scopes"`
	ScopePolicy    string   `json:"scope_policy"`
	Consent        string   `json:"consent"`
	// MFA is inherit (the tenant's policy applies) or required (every
	// sign-in to the application passes a second factor).
	MFA                string `json:"mfa"`
	AccessTokenTTL     string `json:"access_token_ttl,omitempty"`
	RefreshIdleTTL     string `json:"refresh_idle_ttl,omitempty"`
	RefreshAbsoluteTTL string `json:"refresh_absolute_ttl,omitempty"`
	Version            int64  `json:"version"`
}

// NewApplicationDoc converts an application.
func NewApplicationDoc(a model.Application) ApplicationDoc {
	d := func(v time.Duration) string {
		if v == 0 {
			return ""
		}
		return v.String()
	}
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return ApplicationDoc{ClientID: a.ClientID, Name: a.Name, Type: string(a.Type), RedirectURIs: nonNil(a.RedirectURIs),
		PostLogoutURIs: a.PostLogoutRedirectURIs, AllowedOrigins: a.AllowedOrigins,
		GrantTypes: nonNil(a.GrantTypes), AllowedScopes: nonNil(a.AllowedScopes), ScopePolicy: a.ScopePolicy, Consent: a.Consent,
		MFA: AppMFA(a), AccessTokenTTL: d(a.AccessTokenTTL), RefreshIdleTTL: d(a.RefreshIdleTTL), RefreshAbsoluteTTL: d(a.RefreshAbsoluteTTL), Version: a.Version}
}

// AppMFA is an application's MFA setting as shown: the zero value is
// model.AppMFAInherit.
func AppMFA(a model.Application) string {
	if a.MFA == "" {
		return model.AppMFAInherit
	}
	return a.MFA
}

// KeyDoc is a signing key's public description (never private material).
type KeyDoc struct {
	KID   string `json:"kid"`
	Alg   string `json:"alg"`
	State string `json:"state"`
}

func keyDocs(keys []model.SigningKey) []KeyDoc {
	out := make([]KeyDoc, 0, len(keys))
	for _, k := range keys {
		out = append(out, KeyDoc{KID: k.KID, Alg: k.Alg, State: string(k.State)})
	}
	return out
}
