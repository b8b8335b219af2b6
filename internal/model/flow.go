package model

import "time"

// Session is a signed-in browser session at one tenant. The cookie holds a
// random value; only its SHA-256 (ID) is stored.
type Session struct {
	TenantID string
	// ID is the hex SHA-256 of the cookie value.
	ID        string
	UserID    string
	AuthTime  time.Time
	ExpiresAt time.Time
	LastSeen  time.Time
	UserAgent string
	IP        string
	CreatedAt time.Time
	// AMR is how the user authenticated (RFC 8176 values, e.g. ["pwd"] or
	// ["pwd", "otp", "mfa"]); a second factor passed later in the session
	// (step-up) adds to it.
	AMR []string
}

// AuthRequest is an authorization request (RFC 6749 §4.1.1) waiting for the
// user to sign in and consent. It is stored so that any node can resume it.
type AuthRequest struct {
	TenantID string
	// ID is random and opaque; it travels in the login and consent forms.
	ID                  string
	ClientID            string
	RedirectURI         string
	Scope               string // as requested
	State               string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	Audience            string
	// Resources are the APIs the request names when it names more than
	// one (RFC 8707 §2.1: several resource parameters), in the order
	// given, Audience being the first; nil for a request of one API.
	Resources      []string
	Prompt         string
	MaxAge         int64 // seconds; -1 when absent
	LoginHint      string
	IncludeGranted bool
	// ACRValues is the acr_values parameter (OIDC Core 1.0 §3.1.2.1), as
	// sent.
	ACRValues string
	// MFASkipped is set when the user declined a second factor that was
	// only asked for a step-up (a scope that requires one, acr_values) or
	// during the enrolment grace period: the flow does not ask again, and
	// the scopes that need it are dropped with step_up_required.
	MFASkipped bool
	// Peer is the client address that started the request, in the form
	// the sign-in throttle keys it ("ip:<addr>", an IPv6 client's /64);
	// the unfinished requests of one peer are bounded
	// (store.AuthRequests.CreateBounded). Empty when unknown.
	Peer string
	// Set once the user has signed in.
	UserID    string
	SessionID string
	AuthTime  time.Time
	// AskScopes are the scopes the consent screen must show (set by the
	// authorize endpoint); ConsentDone is set when the user answered it, and
	// Denied when the answer was Deny.
	AskScopes   []string
	ConsentDone bool
	Denied      bool
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// AuthCode is an issued authorization code. Only its hash is stored.
type AuthCode struct {
	TenantID string
	// Hash is the hex SHA-256 of the code.
	Hash                string
	ClientID            string
	UserID              string
	SessionID           string
	RedirectURI         string
	CodeChallenge       string
	CodeChallengeMethod string
	Scopes              []string // granted, implications included
	Audience            string
	// Resources, for a grant of several APIs (RFC 8707), are the APIs and
	// the scopes granted for each, the first being Audience with Scopes;
	// nil for a grant of one API.
	Resources []ResourceGrant
	Nonce     string
	AuthTime  time.Time
	// AMR is how the user authenticated for this grant (the session's
	// AMR when the code was issued).
	AMR       []string
	ExpiresAt time.Time
	CreatedAt time.Time
	// UsedAt is set by the first redemption; a second one is a replay.
	UsedAt time.Time
	// IssuedJTI and FamilyID record what the redemption issued, so that a
	// replay can revoke it (RFC 6749 §4.1.2, RFC 9700 §4.5).
	IssuedJTI       string
	IssuedExpiresAt time.Time
	FamilyID        string
}

// RefreshToken is one member of a refresh-token family. Only its hash is
// stored; every use rotates it (RFC 9700 §4.14.2).
type RefreshToken struct {
	TenantID string
	// Hash is the hex SHA-256 of the token.
	Hash string
	// FamilyID groups every token rotated from one grant.
	FamilyID  string
	ClientID  string
	UserID    string
	SessionID string
	Scopes    []string
	Audience  string
	// Resources, for a family granted for several APIs (RFC 8707), are the
	// APIs and the scopes granted for each, in the order of the
	// authorization request; Audience and Scopes are the first's. A
	// refresh with resource=X returns a token for X within X's scopes.
	// nil for a grant of one API.
	Resources []ResourceGrant
	AuthTime  time.Time
	// AMR is how the user authenticated for the grant; a refresh never
	// grants a scope that requires a second factor to a family whose AMR
	// lacks one.
	AMR       []string
	CreatedAt time.Time
	// ExpiresAt is the idle deadline of this token; FamilyExpiresAt the
	// absolute deadline of the whole family.
	ExpiresAt       time.Time
	FamilyExpiresAt time.Time
	// RotatedAt is set when the token was used and replaced.
	RotatedAt time.Time
	// Revoked marks the whole family revoked (reuse, logout, admin).
	Revoked bool
	// AccessJTI and AccessExpiresAt record the access token issued together
	// with this token (by the code exchange or the rotation that created
	// it), so that revoking the family revokes it too (RFC 7009 §2.1).
	// Empty for tokens stored before they were recorded.
	AccessJTI       string
	AccessExpiresAt time.Time
}

// Throttle counts failed sign-ins for one key (an account or a client IP).
type Throttle struct {
	TenantID    string
	Key         string // "user:<id>" or "ip:<addr>"
	Failures    int
	WindowStart time.Time
	LockedUntil time.Time
}

// ResourceGrant is one API of a grant made for several (RFC 8707): its
// identifier (the audience of its tokens) and the scopes granted for it,
// implications included.
type ResourceGrant struct {
	Audience string   `json:"aud"`
	Scopes   []string `json:"scopes"`
}

// MaxResources bounds the APIs one authorization request may name: real
// applications call a handful, and each costs a decision and a stored row.
const MaxResources = 10

// GrantFor returns the grant's entry for the API aud, and whether the grant
// covers it. A grant of one API (resources nil) covers audience with
// scopes.
func GrantFor(resources []ResourceGrant, audience string, scopes []string, aud string) (ResourceGrant, bool) {
	if len(resources) == 0 {
		return ResourceGrant{Audience: audience, Scopes: scopes}, aud == audience
	}
	for _, r := range resources {
		if r.Audience == aud {
			return r, true
		}
	}
	return ResourceGrant{}, false
}
