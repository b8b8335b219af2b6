package token

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// Reason says why an access token is not valid now. The zero value, Valid,
// means it is. Endpoints map a Reason to their own answer: introspection to
// {"active":false} (RFC 7662 §2.2), userinfo and /api/v1 to a 401 with an
// RFC 6750 §3 invalid_token challenge.
type Reason int

const (
	// Valid: every check passed.
	Valid Reason = iota
	// Malformed: not a compact JWS with typ at+jwt signed by a published key
	// of the tenant's keyring, or its claims cannot be read, or it lacks
	// sub, client_id or jti (without a jti it could never be revoked).
	Malformed
	// WrongIssuer: iss is not the tenant's issuer.
	WrongIssuer
	// WrongAudience: aud is not the audience the caller accepts.
	WrongAudience
	// Expired: exp is not after now.
	Expired
	// Revoked: the jti is on the tenant's revocation list.
	Revoked
	// ClientGone: the application the token was issued to (client_id) no
	// longer exists.
	ClientGone
	// UserGone: the user the token was issued to (sub) no longer exists.
	UserGone
	// UserDisabled: the user the token was issued to is not active.
	UserDisabled
)

var reasons = [...]string{
	Valid:         "valid",
	Malformed:     "not an access token of this tenant",
	WrongIssuer:   "issued by another issuer",
	WrongAudience: "issued for another audience",
	Expired:       "expired",
	Revoked:       "revoked",
	ClientGone:    "its application no longer exists",
	UserGone:      "its user no longer exists",
	UserDisabled:  "its user is disabled",
}

// String is a short phrase for logs: "expired", "revoked", ….
func (r Reason) String() string {
	if r < 0 || int(r) >= len(reasons) {
		return fmt.Sprintf("Reason(%d)", int(r))
	}
	return reasons[r]
}

// AccessStore is what AccessCheck reads: the revocation list, the users and
// the applications. store.Store and store.Repos satisfy it.
type AccessStore interface {
	Revocations() store.Revocations
	Users() store.Users
	Applications() store.Applications
}

// AccessCheck is the one server-side answer to "is this access token valid
// right now" for one tenant. Introspection (RFC 7662), userinfo (OIDC Core
// 1.0 §5.3) and the platform API (/api/v1) all call it, so that they cannot
// drift apart: earlier, separate copies let introspection call a deleted
// user's token active while /api/v1 refused it.
//
// A token is valid when it verifies against Keys (signature, published kid,
// alg, typ at+jwt — see Keyring.VerifyAccessToken), iss is Issuer, aud is
// accepted, exp is after Now, its jti is not revoked, its application still
// exists, and — for a token from a user's sign-in — its user still exists
// and is active. A user disabled or deleted after the token was issued ends
// the token at once, whether or not its grant had a refresh token (whose
// revocation also revokes the jtis issued with it).
//
// Not checked: nbf and iat (this server never issues a token valid from a
// later time), and the token's scope — that is each endpoint's business.
// A resource server that verifies tokens locally (the rs SDK) sees none of
// the revocation, application or user rules; it must introspect for them.
type AccessCheck struct {
	// Keys is the tenant's keyring.
	Keys *Keyring
	// TenantID and Issuer are the tenant's ID and issuer URL.
	TenantID string
	Issuer   string
	// Store holds the revocations, users and applications.
	Store AccessStore
	// KnownClient, when set, answers from the node's snapshot whether the
	// tenant has the application; only an application it does not know
	// (created a moment ago on another node) is looked up in Store. nil
	// means always ask Store.
	KnownClient func(clientID string) bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Access is what Check learned of a token: its claims (zero when the token
// is Malformed) and, for a valid token from a user's sign-in, the user as
// stored now.
type Access struct {
	Claims AccessClaims
	// User is the token's user; nil for a client-credentials token, whose
	// subject is the client (RFC 9068 §2.2), and for an invalid token.
	User *model.User
}

// Check checks raw as an access token of the tenant for audience, which
// must be exactly aud; an empty audience accepts no token (so a missing
// configuration cannot widen what a caller accepts). The error is only a
// storage failure (the Reason then means nothing: answer 500, or 503); an
// invalid token is a Reason other than Valid with a nil error.
func (a *AccessCheck) Check(ctx context.Context, raw, audience string) (Access, Reason, error) {
	return a.check(ctx, raw, func(aud string) bool { return audience != "" && aud == audience })
}

// CheckAnyAudience is Check for a token of any audience. Introspection uses
// it (RFC 7662 §2.2: the protected resource compares aud itself, and any of
// the tenant's APIs may introspect), and so does userinfo (a token for any
// API that carries openid was granted the user's identity).
func (a *AccessCheck) CheckAnyAudience(ctx context.Context, raw string) (Access, Reason, error) {
	return a.check(ctx, raw, func(string) bool { return true })
}

func (a *AccessCheck) check(ctx context.Context, raw string, audienceOK func(string) bool) (Access, Reason, error) {
	c, err := a.Keys.VerifyAccessToken(raw)
	if err != nil {
		return Access{}, Malformed, nil
	}
	out := Access{Claims: c}
	now := time.Now()
	if a.Now != nil {
		now = a.Now()
	}
	switch {
	case c.JTI == "" || c.Subject == "" || c.ClientID == "":
		return out, Malformed, nil
	case c.Issuer != a.Issuer:
		return out, WrongIssuer, nil
	case !audienceOK(c.Audience):
		return out, WrongAudience, nil
	case !now.Before(c.ExpiresAt):
		return out, Expired, nil
	}
	revoked, err := a.Store.Revocations().IsRevoked(ctx, a.TenantID, c.JTI)
	if err != nil {
		return out, Revoked, fmt.Errorf("check revocation: %w", err)
	}
	if revoked {
		return out, Revoked, nil
	}
	// Deleting an application revokes the jtis its refresh-token grants
	// knew, but neither a client-credentials token nor one from a grant
	// without a refresh token is recorded anywhere: the application's
	// existence is what ends them.
	if a.KnownClient == nil || !a.KnownClient(c.ClientID) {
		if _, err := a.Store.Applications().Get(ctx, a.TenantID, c.ClientID); errors.Is(err, store.ErrNotFound) {
			return out, ClientGone, nil
		} else if err != nil {
			return out, ClientGone, fmt.Errorf("load the token's application: %w", err)
		}
	}
	// A token from a user's sign-in carries auth_time (RFC 9068 §2.2.1)
	// and the user's ID as sub; a client-credentials token has sub =
	// client_id and no auth_time. Anything else is treated as a user's, so
	// a token that is neither cannot skip the user rule.
	if c.AuthTime.IsZero() && c.Subject == c.ClientID {
		return out, Valid, nil
	}
	u, reason, err := ActiveUser(ctx, a.Store.Users(), a.TenantID, c.Subject)
	if err != nil || reason != Valid {
		return out, reason, err
	}
	out.User = &u
	return out, Valid, nil
}

// ActiveUser loads a user that tokens and grants may still act for: one
// that exists (else UserGone) and is active (else UserDisabled). It is the
// "subject still active" rule of AccessCheck, shared with the grants and
// the introspection of refresh tokens. The error is only a storage
// failure.
func ActiveUser(ctx context.Context, users store.Users, tenantID, userID string) (model.User, Reason, error) {
	u, err := users.Get(ctx, tenantID, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return u, UserGone, nil
	case err != nil:
		return u, UserGone, fmt.Errorf("load user: %w", err)
	case u.Status != model.UserActive:
		return u, UserDisabled, nil
	}
	return u, Valid, nil
}
