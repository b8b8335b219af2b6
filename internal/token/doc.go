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
// AccessCheck is the one server-side check that an access token is valid
// right now (signature, typ, iss, aud, exp, revocation, its application and
// user still there and the user active); introspection, userinfo and the
// platform API all call it and only map its Reason to their own answer.
//
// It may import internal/model, internal/store, the public scope package,
// go-jose and the standard library — never internal/audit, a protocol or
// HTTP package, or a database driver; internal/deptest holds that line.
package token
