package oauth

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/policy"
	"github.com/intelliauth/intelliauth/internal/token"
	"github.com/intelliauth/intelliauth/oautherr"
	"github.com/intelliauth/intelliauth/scope"
)

// IDTokenAlg signs ID tokens. OIDC Core 1.0 §15.1: "OPs MUST support
// signing ID Tokens with the RSA SHA-256 algorithm", and clients may
// assume it when they registered nothing else.
const IDTokenAlg = model.AlgRS256

// idToken signs the OIDC Core 1.0 §2 ID token of a user grant: iss, sub,
// aud (the client), azp, exp, iat, auth_time, acr and amr, nonce (when the request had
// one), at_hash (§3.1.3.6), sid (OIDC Front-Channel Logout §3), and the
// claims of the granted OIDC scopes (§5.4). It lives as long as the access
// token it accompanies.
func (h *Handler) idToken(req *tokenRequest, granted scope.Set, g userGrant, accessToken string, exp time.Time) (string, error) {
	now := h.now()
	claims := userClaims(req.snap.Registry, granted, g.user)
	claims["iss"] = req.snap.Tenant.Issuer
	claims["sub"] = g.user.ID
	claims["aud"] = req.app.ClientID
	claims["azp"] = req.app.ClientID
	claims["iat"] = now.Unix()
	claims["exp"] = exp.Unix()
	if !g.authTime.IsZero() {
		claims["auth_time"] = g.authTime.Unix()
	}
	if len(g.amr) > 0 {
		// OIDC Core 1.0 §2: amr (RFC 8176 values) and acr.
		claims["amr"] = g.amr
		claims["acr"] = model.ACR(g.amr)
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	if g.sessionID != "" {
		claims["sid"] = sessionSID(g.sessionID)
	}
	claims["at_hash"] = atHash(accessToken)
	raw, err := req.snap.Keys.SignJWT(IDTokenAlg, token.TypeJWT, claims)
	if err != nil {
		return "", oautherr.Wrap(oautherr.ServerError, "the server could not complete the request", fmt.Errorf("sign ID token: %w", err))
	}
	return raw, nil
}

// atHash is OIDC Core 1.0 §3.1.3.6 at_hash for an RS256 or ES256 ID token:
// "the base64url encoding of the left-most half of the hash of the octets
// of the ASCII representation of the access_token value", with SHA-256.
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// sessionSID is the sid claim of a session: a one-way function of the
// session's storage ID (itself the hash of the cookie), so that the claim
// identifies the session to relying parties without being a handle on it.
func sessionSID(sessionID string) string {
	sum := sha256.Sum256([]byte("sid:" + sessionID))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// userClaims returns the user's claims that the granted OIDC scopes
// release (OIDC Core 1.0 §5.4), per the scope registry's Claims lists.
// Empty values are left out (§5.3.2: "If a Claim is not returned, that
// Claim Name SHOULD be omitted"). sub is not included: callers set it.
func userClaims(reg *policy.Registry, granted scope.Set, u model.User) map[string]any {
	out := map[string]any{}
	str := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	for name := range granted.All() {
		s, ok := reg.Scope(name)
		if !ok || s.Kind != model.KindOIDC {
			continue
		}
		for _, c := range s.Claims {
			switch c {
			case "name":
				str(c, u.Name)
			case "given_name":
				str(c, u.GivenName)
			case "family_name":
				str(c, u.FamilyName)
			case "preferred_username":
				str(c, u.Username)
			case "picture":
				str(c, u.Picture)
			case "locale":
				str(c, u.Locale)
			case "updated_at":
				if !u.UpdatedAt.IsZero() {
					out[c] = u.UpdatedAt.Unix()
				}
			case "email":
				str(c, u.Email)
			case "email_verified":
				if u.Email != "" {
					out[c] = u.EmailVerified
				}
			case "address":
				if !u.Address.Empty() {
					out[c] = u.Address
				}
			case "phone_number":
				str(c, u.PhoneNumber)
			case "phone_number_verified":
				if u.PhoneNumber != "" {
					out[c] = u.PhoneNumberVerified
				}
			}
		}
	}
	return out
}
