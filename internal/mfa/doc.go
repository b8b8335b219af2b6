// Package mfa owns the verification of second factors: TOTP codes
// (RFC 6238), single-use recovery codes, and WebAuthn ceremonies for
// security keys and passkeys (as a second factor, and as a passwordless
// first factor for discoverable credentials).
//
// It only computes and verifies. It keeps no state and stores nothing: the
// caller persists what it returns — a TOTP step, a WebAuthn sign counter and
// credential, a recovery code's hash, a ceremony's session data — through
// store.Factors, whose compare-and-swap (Factors.Use) is what makes a code
// or an assertion count once even across nodes. It renders no page and
// reads no request: the HTTP layer (internal/login, internal/api) turns its
// sentinel errors into the sentences users see and throttles attempts.
//
// It imports internal/model, the standard library, github.com/pquerna/otp
// and github.com/go-webauthn/webauthn only, and never internal/store,
// internal/login, internal/oauth, internal/api or internal/server (held by
// internal/deptest). The software authenticator its tests use lives in
// internal/mfa/mfatest.
package mfa
