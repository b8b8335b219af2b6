package rs

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// KeySet gives the verifier the issuer's public keys. Static and remote
// (JWKS over HTTP) implementations are provided; both are safe for
// concurrent use, and so must any other be.
type KeySet interface {
	// Key returns the public key whose key ID is kid and that may verify
	// signatures of algorithm alg (an RFC 7518 name such as "ES256"). It
	// returns an error wrapping ErrUnknownKey when there is none, and one
	// wrapping ErrKeySetUnavailable when the keys could not be obtained.
	// The verifier checks again that the key's type and size fit alg.
	Key(ctx context.Context, kid, alg string) (crypto.PublicKey, error)
}

// PublicKey is one verification key of an issuer.
type PublicKey struct {
	// KeyID is the JWK "kid" that tokens name in their header.
	KeyID string
	// Algorithm is the JWK "alg" the key is for; empty means any supported
	// algorithm its type fits (ES256 for a P-256 key, RS*/PS* for RSA).
	Algorithm string
	// Key is an *ecdsa.PublicKey or an *rsa.PublicKey (2048 bits or more).
	Key crypto.PublicKey
}

// usableFor reports whether k may verify alg.
func (k PublicKey) usableFor(alg string) bool {
	if k.Algorithm != "" && k.Algorithm != alg {
		return false
	}
	a, ok := lookupAlgorithm(alg)
	return ok && a.fits(k.Key)
}

// maxJWKSKeys bounds how many keys one JWKS may hold; an issuer publishes a
// handful (IntelliAuth: next, current and previous per algorithm).
const maxJWKSKeys = 100

// ParseJWKS reads a JSON Web Key Set (RFC 7517 §5) and returns its usable
// signature-verification keys. A key is skipped — not an error — when its
// "use" is other than "sig", it has no "kid", it holds private material,
// its type is not EC (P-256/384/521) or RSA of at least 2048 bits, or its
// "alg" is not a supported asymmetric JWS algorithm that fits its type. A
// document that is not a JWKS, or has no usable key at all, is an error.
//
// It does NOT fetch or check "x5u"/"x5c" certificate chains.
func ParseJWKS(data []byte) ([]PublicKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("rs: JWKS is not a JSON object with keys: %w", err)
	}
	if len(doc.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("rs: JWKS holds %d keys, more than %d", len(doc.Keys), maxJWKSKeys)
	}
	var out []PublicKey
	for _, raw := range doc.Keys {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(raw); err != nil {
			continue // an unsupported or broken key is not ours to use
		}
		if jwk.KeyID == "" || (jwk.Use != "" && jwk.Use != "sig") || !jwk.IsPublic() {
			continue
		}
		k := PublicKey{KeyID: jwk.KeyID, Algorithm: jwk.Algorithm, Key: jwk.Key}
		if !k.usable() {
			continue
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, errors.New("rs: JWKS has no usable signature key")
	}
	return out, nil
}

// usable reports whether k can verify at least one supported algorithm.
func (k PublicKey) usable() bool {
	if k.Algorithm != "" {
		return k.usableFor(k.Algorithm)
	}
	switch key := k.Key.(type) {
	case *ecdsa.PublicKey:
		return k.usableFor(ES256) || k.usableFor(ES384) || k.usableFor(ES512)
	case *rsa.PublicKey:
		return key.N != nil && k.usableFor(RS256)
	}
	return false
}

// keyIndex is an immutable lookup of keys by kid.
type keyIndex map[string][]PublicKey

func newKeyIndex(keys []PublicKey) keyIndex {
	idx := make(keyIndex, len(keys))
	for _, k := range keys {
		idx[k.KeyID] = append(idx[k.KeyID], k)
	}
	return idx
}

// find returns the first key named kid that may verify alg.
func (idx keyIndex) find(kid, alg string) (crypto.PublicKey, bool) {
	for _, k := range idx[kid] {
		if k.usableFor(alg) {
			return k.Key, true
		}
	}
	return nil, false
}

// StaticKeySet is a fixed set of keys, for issuers whose keys are
// configured rather than fetched, and for tests. It never refreshes.
type StaticKeySet struct {
	idx keyIndex
}

var _ KeySet = (*StaticKeySet)(nil)

// NewStaticKeySet returns a key set of the given keys. Every key must have
// a KeyID and be usable (see ParseJWKS for what that means); the same kid
// may appear more than once for different algorithms.
func NewStaticKeySet(keys ...PublicKey) (*StaticKeySet, error) {
	if len(keys) == 0 {
		return nil, errors.New("rs: a static key set needs at least one key")
	}
	for i, k := range keys {
		if k.KeyID == "" {
			return nil, fmt.Errorf("rs: static key %d has no key ID", i)
		}
		if !k.usable() {
			return nil, fmt.Errorf("rs: static key %q (%T, alg %q) is not a supported verification key", k.KeyID, k.Key, k.Algorithm)
		}
	}
	return &StaticKeySet{idx: newKeyIndex(keys)}, nil
}

// Key implements KeySet.
func (s *StaticKeySet) Key(_ context.Context, kid, alg string) (crypto.PublicKey, error) {
	if k, ok := s.idx.find(kid, alg); ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: no key %q for %s", ErrUnknownKey, kid, alg)
}
