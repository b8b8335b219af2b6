package model

import "time"

// KeyState is where a signing key is in its rotation life.
type KeyState string

// Rotation: a key is published as next before it signs anything, becomes
// current, and stays published as previous until tokens it signed expire.
const (
	KeyNext     KeyState = "next"
	KeyCurrent  KeyState = "current"
	KeyPrevious KeyState = "previous"
)

// SigningKey is one tenant signing key. The private key is stored only
// encrypted (PrivateSealed); the public key as a JWK.
type SigningKey struct {
	TenantID string
	KID      string
	Alg      string // ES256 or RS256
	State    KeyState
	// PublicJWK is the public key as a JSON Web Key.
	PublicJWK []byte
	// PrivateSealed is the PKCS#8 private key sealed with the master key
	// (AES-256-GCM); the tenant and kid are its additional data.
	PrivateSealed []byte
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Revocation marks one access token (by jti) as revoked until it would have
// expired anyway.
type Revocation struct {
	TenantID  string
	JTI       string
	ExpiresAt time.Time
	RevokedAt time.Time
}
