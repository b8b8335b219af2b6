package model

import (
	"fmt"
	"strings"
	"time"
)

// Signing algorithms an API may choose for its access tokens.
const (
	AlgES256 = "ES256"
	AlgRS256 = "RS256"
)

// PlatformAPIID is the ID of the tenant's own /api/v1 API in every tenant.
const PlatformAPIID = "platform"

// DefaultAccessTokenTTL applies when an API sets none.
const DefaultAccessTokenTTL = time.Hour

// Bounds of an API's access-token size budget (API.TokenSizeBudget), in
// bytes. No signed access token is shorter than the minimum (the header and
// an ES256 signature alone take about 200 bytes), and none may reach the
// maximum: headers that large are refused by most HTTP servers.
const (
	MinTokenSizeBudget = 256
	MaxTokenSizeBudget = 65536
)

// API is a resource server: the audience of access tokens.
type API struct {
	TenantID string
	// ID is stable across renames of Identifier; "platform" for the platform API.
	ID string
	// Identifier is the audience string, e.g. api.banking.example.com.
	Identifier string
	Name       string
	// SigningAlg is ES256 (default) or RS256 for this API's access tokens.
	SigningAlg string
	// AccessTokenTTL is the access-token lifetime for this audience.
	AccessTokenTTL time.Duration
	// TokenSizeBudget is the size in bytes an access token for this API
	// should stay within (the compact JWS as sent in an Authorization
	// header); 0 is no budget. A token over it is still issued: the budget
	// is a signal (explain, the oauth.token_issued event, a metric), not a
	// limit.
	TokenSizeBudget int
	// Platform marks the pre-registered API of the tenant's own /api/v1.
	Platform  bool
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int64
}

// Validate checks the API's own invariants.
func (a API) Validate() error {
	var errs Problems
	if a.ID == "" || len(a.ID) > 64 {
		errs.Add("id", "must be 1–64 characters")
	}
	if a.Identifier == "" || len(a.Identifier) > 255 || !ValidText(a.Identifier) || strings.ContainsAny(a.Identifier, " \t\r\n\"\\") {
		errs.Add("identifier", "must be 1–255 characters without spaces, quotes or backslashes (e.g. api.example.com or https://api.example.com/)")
	}
	if a.Name == "" || len(a.Name) > 200 {
		errs.Add("name", "must be 1–200 characters")
	}
	if a.SigningAlg != AlgES256 && a.SigningAlg != AlgRS256 {
		errs.Add("signing_alg", "must be ES256 or RS256")
	}
	if a.AccessTokenTTL < time.Minute || a.AccessTokenTTL > 24*time.Hour {
		errs.Add("access_token_ttl", fmt.Sprintf("must be between 1m and 24h, not %s", a.AccessTokenTTL))
	}
	if b := a.TokenSizeBudget; b != 0 && (b < MinTokenSizeBudget || b > MaxTokenSizeBudget) {
		errs.Add("token_size_budget", fmt.Sprintf("must be 0 (no budget) or between %d and %d bytes, not %d", MinTokenSizeBudget, MaxTokenSizeBudget, b))
	}
	return errs.Err()
}
