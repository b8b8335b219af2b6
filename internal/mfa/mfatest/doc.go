// Package mfatest holds test helpers for second factors: a software WebAuthn
// authenticator that answers the options internal/mfa (or any relying party)
// sends, and TOTP code generation from a secret and a time.
//
// It is for tests only: its keys live in memory, unprotected, and it
// produces only "none" attestations and ES256 (P-256) credentials. It builds
// its messages by hand (CBOR with fxamacker/cbor, signatures with
// crypto/ecdsa) rather than with go-webauthn's types, so that a test through
// it checks go-webauthn's parsing as well as internal/mfa's use of it. It
// imports no package of this module, so any package's tests may use it.
//
//	a := mfatest.NewAuthenticator("https://auth.example.com", "auth.example.com")
//	resp, _ := a.Register(optionsJSON)   // answer to navigator.credentials.create
//	resp, _ = a.Assert(optionsJSON)      // answer to navigator.credentials.get
package mfatest
