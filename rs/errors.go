package rs

import "errors"

// ErrInvalidToken is matched (errors.Is) by every error that is the token's
// fault: malformed, wrong algorithm or type, unknown key, bad signature,
// wrong issuer or audience, expired, not yet valid, missing claims, or
// reported inactive by introspection. The middleware answers it with 401 and
// error="invalid_token" (RFC 6750 §3.1). Errors that are not the token's
// fault — the issuer's keys or introspection endpoint cannot be reached —
// do not match it.
var ErrInvalidToken = errors.New("rs: invalid token")

// tokenError is a sentinel for one way a token can be invalid. It matches
// ErrInvalidToken too, and carries the fixed description the middleware
// shows the client (never any part of the token or of the detail).
type tokenError struct {
	msg  string
	desc string
}

func (e *tokenError) Error() string { return e.msg }

// Is makes every tokenError match ErrInvalidToken.
func (e *tokenError) Is(target error) bool { return target == ErrInvalidToken }

// The ways a token is invalid. Each matches ErrInvalidToken as well as
// itself; errors returned by Verify wrap one of them with a detail for logs.
var (
	// ErrMalformed: not a compact JWS of three base64url parts with JSON
	// header and claims, longer than MaxTokenSize, or a header with "crit".
	ErrMalformed error = &tokenError{"rs: malformed token", "the access token is malformed"}
	// ErrAlgorithm: the header's "alg" is not in Config.Algorithms ("none"
	// and the HMAC family never are, RFC 8725 §3.1).
	ErrAlgorithm error = &tokenError{"rs: algorithm not allowed", "the access token's signing algorithm is not accepted"}
	// ErrType: the header's "typ" is not "at+jwt" or "application/at+jwt"
	// (RFC 9068 §4), e.g. an ID token presented as an access token.
	ErrType error = &tokenError{"rs: token type is not at+jwt", "the token is not an access token"}
	// ErrUnknownKey: no key of the issuer has the header's "kid" (after at
	// most one rate-limited refetch of the JWKS), or the token has no kid.
	ErrUnknownKey error = &tokenError{"rs: unknown signing key", "the access token is signed with an unknown key"}
	// ErrSignature: the signature does not verify with the key named by kid.
	ErrSignature error = &tokenError{"rs: signature does not verify", "the access token's signature is invalid"}
	// ErrIssuer: "iss" is not exactly Config.Issuer.
	ErrIssuer error = &tokenError{"rs: wrong issuer", "the access token is from another issuer"}
	// ErrAudience: "aud" does not contain Config.Audience.
	ErrAudience error = &tokenError{"rs: wrong audience", "the access token is not for this API"}
	// ErrExpired: "exp" plus the leeway is not after now.
	ErrExpired error = &tokenError{"rs: token expired", "the access token expired"}
	// ErrNotYetValid: "nbf" or "iat" is later than now plus the leeway.
	ErrNotYetValid error = &tokenError{"rs: token not yet valid", "the access token is not valid yet"}
	// ErrClaims: a claim RFC 9068 §2.2 requires (iss exp aud sub client_id
	// iat jti) is missing or has the wrong JSON type, or "scope" is not an
	// RFC 6749 §3.3 scope list.
	ErrClaims error = &tokenError{"rs: missing or malformed claim", "the access token lacks a required claim"}
	// ErrInactive: the issuer's introspection endpoint says the token is not
	// active (revoked, for instance); only RequireActive and
	// Introspector.Active produce it.
	ErrInactive error = &tokenError{"rs: token is not active", "the access token is not active"}
)

// ErrKeySetUnavailable is returned when the issuer's keys are needed and
// none could ever be fetched (discovery or JWKS unreachable or invalid). It
// is not the token's fault: the middleware answers 503, not 401.
var ErrKeySetUnavailable = errors.New("rs: issuer keys unavailable")

// ErrIntrospection is returned when the introspection endpoint could not
// give an answer (network, status, body). The middleware answers 503: a
// revocation-sensitive route fails closed.
var ErrIntrospection = errors.New("rs: introspection failed")

// description returns the fixed, client-safe description of a token error,
// or "" when err is not one.
func description(err error) string {
	var te *tokenError
	if errors.As(err, &te) {
		return te.desc
	}
	return ""
}
