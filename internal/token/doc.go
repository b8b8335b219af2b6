// Package token owns signing keys and the tokens they sign: the master-key
// Sealer that encrypts private keys at rest, key generation, EnsureKeys and
// zero-downtime Rotate (next → current → previous), the immutable Keyring
// that signs RFC 9068 access tokens and other JWTs, verifies access tokens
// and serves the JWKS.
//
// Rotation states: a key is created as next and published in the JWKS
// before it signs anything; Rotate makes it current (it signs) and makes the
// old current previous (published, so tokens it signed keep verifying), and
// deletes the old previous key.
//
//	(generate) → next ──Rotate──▶ current ──Rotate──▶ previous ──Rotate──▶ (deleted)
//
// It may import internal/model, internal/store, the public scope package,
// go-jose and the standard library — never internal/audit, a protocol or
// HTTP package, or a database driver; internal/deptest holds that line.
// Validation of exp, iss, aud and revocation belongs to the callers
// (introspection, userinfo), not to this package.
package token
