package oauth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// newOpaque returns a fresh opaque credential or identifier: 256 random
// bits, base64url without padding (43 characters). RFC 6749 §10.10 asks
// that a guess succeed with probability ≤ 2^-128; 256 bits leave margin.
func newOpaque() string {
	var b [32]byte
	// crypto/rand.Read never fails since Go 1.24.
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// hashOpaque is the storage form of an authorization code or refresh
// token: hex SHA-256. The values carry 256 random bits, so a fast hash is
// as strong as a slow one, and a database leak does not reveal usable
// credentials.
func hashOpaque(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}
