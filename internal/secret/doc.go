// Package secret owns client secrets as values: generating them (256 bits
// from crypto/rand, base64url without padding), hashing them for storage
// (SHA-256) and comparing a presented secret with a stored hash in constant
// time.
//
// Both sides use it: internal/admin when it creates or rotates a secret, and
// the token endpoint when a client authenticates. It imports only the
// standard library and holds no state.
package secret
