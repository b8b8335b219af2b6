package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
)

// Bytes is the entropy of a generated secret: 32 bytes, 256 bits, which
// PRODUCT.md §3 ("≥256 bits") and RFC 9700 §2.5 call for.
const Bytes = 32

// Generate returns a fresh secret and its storage hash. The plaintext is
// shown to the caller once and must never be stored or logged.
func Generate() (plain string, hash []byte, err error) {
	b := make([]byte, Bytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("secret: read random bytes: %w", err)
	}
	plain = base64.RawURLEncoding.EncodeToString(b)
	return plain, Hash(plain), nil
}

// Hash returns the SHA-256 of a secret, the form in which secrets are
// stored. A fast hash is sound here only because generated secrets carry 256
// bits of entropy: there is nothing to brute-force. It must not be used for
// user passwords.
func Hash(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}

// Equal reports whether presented hashes to hash. The comparison of the two
// digests is constant-time (crypto/subtle), so response timing does not leak
// how much of a guess was right. An empty hash never matches.
func Equal(hash []byte, presented string) bool {
	if len(hash) != sha256.Size {
		return false
	}
	got := Hash(presented)
	return subtle.ConstantTimeCompare(hash, got) == 1
}
