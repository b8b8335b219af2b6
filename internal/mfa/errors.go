package mfa

import "errors"

// Sentinel errors, compared with errors.Is. Their texts are sentences a user
// may see; the wrapped cause after them is for the log only.
var (
	// ErrInvalidCode: a TOTP or recovery code is not the expected one (wrong,
	// malformed, or outside the accepted time window).
	ErrInvalidCode = errors.New("that code is not valid; check it and try again")
	// ErrReplay: a code that was valid has already been used. VerifyTOTP
	// reports it as a plain refusal; the caller returns ErrReplay when its
	// compare-and-swap (store.Factors.Use) loses to an earlier use.
	ErrReplay = errors.New("that code was already used; wait for the next one and try again")
	// ErrNoCredentials: the user has no WebAuthn credential to sign in with.
	ErrNoCredentials = errors.New("this account has no security key or passkey; use another way to sign in")
	// ErrUnknownCredential: the security key or passkey that answered is not
	// registered to the account (or to any account, for a passwordless
	// sign-in).
	ErrUnknownCredential = errors.New("this security key or passkey is not registered to the account; use another one or another way to sign in")
	// ErrCloned: the authenticator's signature counter did not increase,
	// which is the sign of a copied (cloned) key (WebAuthn §6.1.1).
	ErrCloned = errors.New("this security key may have been copied, so it was refused; use another factor and ask an administrator to check it")
	// ErrVerification: the browser's WebAuthn answer failed verification
	// (unreadable, another ceremony's challenge, another origin, a bad
	// signature, user presence or verification missing).
	ErrVerification = errors.New("the security key's answer could not be verified; try again")
)
