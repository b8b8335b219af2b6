package model

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// FactorType is the kind of a second factor.
type FactorType string

// Second-factor types.
const (
	// FactorTOTP is a time-based one-time password (RFC 6238).
	FactorTOTP FactorType = "totp"
	// FactorWebAuthn is a WebAuthn credential (a security key or a passkey).
	FactorWebAuthn FactorType = "webauthn"
)

// Factor is one second factor of a user.
type Factor struct {
	TenantID string
	// ID is "mfa_" + random.
	ID     string
	UserID string
	Type   FactorType
	// Name is the user's own label ("Phone", "YubiKey"), 1–64 characters.
	Name string
	// Secret is the TOTP shared secret sealed with the master key (the
	// store never holds it in clear); empty for WebAuthn.
	Secret []byte
	// Credential is the WebAuthn credential (public key, flags, transports)
	// as JSON; empty for TOTP. A public key is not a secret.
	Credential []byte
	// CredentialID is the base64url WebAuthn credential ID, unique in the
	// tenant; empty for TOTP.
	CredentialID string
	// Confirmed is false for a TOTP enrolment until a valid code proves the
	// user's authenticator holds the secret; an unconfirmed factor is never
	// asked for and never counts as enrolled.
	Confirmed bool
	// Counter is the TOTP time step last accepted (a code is accepted once:
	// only a later step is accepted after it) or the WebAuthn signature
	// counter last seen.
	Counter    int64
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// ValidFactorName checks a factor's label.
func ValidFactorName(name string) error {
	if strings.TrimSpace(name) == "" || utf8.RuneCountInString(name) > 64 || !ValidText(name) {
		return fmt.Errorf("must be 1–64 characters of text")
	}
	return nil
}

// RecoveryCode is one single-use recovery code of a user; only its hash is
// stored.
type RecoveryCode struct {
	TenantID string
	UserID   string
	// Hash is the hex HMAC-SHA-256 of the normalised code under a key derived
	// from the master key for its tenant and user (mfa.HashRecoveryCode).
	Hash      string
	CreatedAt time.Time
	// UsedAt is set when the code was spent.
	UsedAt time.Time
}

// MFAChallenge is the server side of a WebAuthn ceremony between its two
// requests: the challenge and what the ceremony expects, kept so that any
// node can finish it, and taken (deleted) by the finish, so that an
// answer cannot be replayed.
type MFAChallenge struct {
	TenantID string
	// ID is random; the browser holds it between the two requests.
	ID string
	// UserID is empty for a passwordless sign-in (the user is found by the
	// credential).
	UserID string
	// Purpose is "register" or "login".
	Purpose string
	// Data is the ceremony's session data as JSON.
	Data      []byte
	ExpiresAt time.Time
}

// MFAPolicy is a tenant's rule for second factors at sign-in.
type MFAPolicy string

// Tenant MFA policies.
const (
	// MFAOff: no second factor is asked at sign-in, and users cannot enrol
	// one during sign-in; a scope or an application that requires one still
	// asks users who enrolled on their account page.
	MFAOff MFAPolicy = "off"
	// MFAOptional: users who enrolled a factor are asked for one at every
	// sign-in; others sign in with their password.
	MFAOptional MFAPolicy = "optional"
	// MFARequired: every user needs a second factor; a user without one
	// enrols at the next sign-in (skippable until the tenant's grace period
	// ends).
	MFARequired MFAPolicy = "required"
)

// Effective is the policy p stands for: the zero value is MFAOptional.
func (p MFAPolicy) Effective() MFAPolicy {
	if p == "" {
		return MFAOptional
	}
	return p
}

// Valid reports whether p is one of the policies.
func (p MFAPolicy) Valid() bool { return p == MFAOff || p == MFAOptional || p == MFARequired }

// Application MFA settings.
const (
	// AppMFAInherit: the tenant's policy applies.
	AppMFAInherit = "inherit"
	// AppMFARequired: every sign-in to the application passes a second
	// factor, whatever the tenant's policy.
	AppMFARequired = "required"
)

// Authentication method references (RFC 8176 §2) and the acr values this
// server issues.
const (
	AMRPassword = "pwd"
	AMROTP      = "otp"
	AMRHardware = "hwk"
	AMRSoftware = "swk"
	AMRUser     = "user"
	AMRMulti    = "mfa"

	// ACRPassword: one factor. ACRMFA: two factors (amr holds "mfa").
	ACRPassword = "pwd"
	ACRMFA      = "mfa"
)

// ACRValuesSupported is what discovery lists, weakest first.
func ACRValuesSupported() []string { return []string{ACRPassword, ACRMFA} }

// HasMFA reports whether amr records a multi-factor authentication.
func HasMFA(amr []string) bool { return slices.Contains(amr, AMRMulti) }

// ACR is the acr value of an authentication described by amr.
func ACR(amr []string) string {
	if HasMFA(amr) {
		return ACRMFA
	}
	return ACRPassword
}
