package rs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// MaxTokenSize bounds the compact JWS Verify will look at, in bytes. An
// IntelliAuth access token is usually under 2 KiB, but one may carry up to
// scope.MaxTokens scopes in a scope claim of up to scope.MaxLength (64
// KiB) bytes, ~88 KiB once base64url-encoded; the bound covers that and
// still keeps hostile input cheap.
const MaxTokenSize = 128 << 10

// b64 is base64url without padding (RFC 7515 §2), strict: non-zero
// trailing bits are refused, so one token has exactly one spelling.
var b64 = base64.RawURLEncoding.Strict()

// header is the JOSE header of a compact JWS, decoded into a fixed struct:
// only these members are read. (encoding/json matches member names
// case-insensitively and keeps the last duplicate; that is harmless here,
// since every value read is checked and the header is covered by the
// signature.) "jku", "jwk", "x5u" and "x5c" are ignored —
// keys come from the issuer's JWKS only, never from the token (RFC 8725
// §3.10) — and any "crit" makes the token malformed, since no extension is
// understood (RFC 7515 §4.1.11).
type header struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ"`
	Crit json.RawMessage `json:"crit"`
}

// jws is a parsed compact JWS whose signature is not yet verified.
type jws struct {
	header header
	// signingInput is ASCII(BASE64URL(header) || '.' || BASE64URL(payload)),
	// a substring of the raw token (RFC 7515 §5.2).
	signingInput string
	// payload and signature are still base64url: they are decoded only
	// after the header passed its checks.
	payload, signature string
}

// parse splits a compact JWS (RFC 7515 §7.1) into exactly three
// base64url parts and decodes its header. It does not decode the payload or
// the signature, and checks nothing but form: the caller checks alg before
// looking a key up. Every error wraps ErrMalformed.
func parse(raw string) (jws, error) {
	if len(raw) > MaxTokenSize {
		return jws{}, fmt.Errorf("%w: %d bytes is longer than %d", ErrMalformed, len(raw), MaxTokenSize)
	}
	h, rest, ok := strings.Cut(raw, ".")
	if !ok {
		return jws{}, fmt.Errorf("%w: not a compact JWS", ErrMalformed)
	}
	p, s, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(s, '.') >= 0 {
		return jws{}, fmt.Errorf("%w: a compact JWS has exactly three parts", ErrMalformed)
	}
	if h == "" || p == "" {
		return jws{}, fmt.Errorf("%w: empty header or payload", ErrMalformed)
	}
	hb, err := b64.DecodeString(h)
	if err != nil {
		return jws{}, fmt.Errorf("%w: header is not base64url", ErrMalformed)
	}
	var hdr header
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return jws{}, fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	if hdr.Crit != nil {
		return jws{}, fmt.Errorf("%w: crit header extensions are not supported", ErrMalformed)
	}
	return jws{header: hdr, signingInput: raw[:len(h)+1+len(p)], payload: p, signature: s}, nil
}

// Algorithm names (RFC 7518 §3.1) Config.Algorithms accepts. "none" and
// HS256/HS384/HS512 are refused: a resource server holds only public keys,
// and a symmetric or absent signature would let anyone mint tokens
// (RFC 8725 §3.1, §2.1).
const (
	ES256 = "ES256"
	ES384 = "ES384"
	ES512 = "ES512"
	RS256 = "RS256"
	RS384 = "RS384"
	RS512 = "RS512"
	PS256 = "PS256"
	PS384 = "PS384"
	PS512 = "PS512"
)

type keyKind int

const (
	kindEC keyKind = iota + 1
	kindRSA
	kindRSAPSS
)

// algorithm verifies one JWS algorithm with the standard library.
type algorithm struct {
	name  string
	hash  crypto.Hash
	kind  keyKind
	curve elliptic.Curve // kindEC only
}

// lookupAlgorithm returns the supported algorithm of that name.
func lookupAlgorithm(name string) (algorithm, bool) {
	switch name {
	case ES256:
		return algorithm{name, crypto.SHA256, kindEC, elliptic.P256()}, true
	case ES384:
		return algorithm{name, crypto.SHA384, kindEC, elliptic.P384()}, true
	case ES512:
		return algorithm{name, crypto.SHA512, kindEC, elliptic.P521()}, true
	case RS256:
		return algorithm{name, crypto.SHA256, kindRSA, nil}, true
	case RS384:
		return algorithm{name, crypto.SHA384, kindRSA, nil}, true
	case RS512:
		return algorithm{name, crypto.SHA512, kindRSA, nil}, true
	case PS256:
		return algorithm{name, crypto.SHA256, kindRSAPSS, nil}, true
	case PS384:
		return algorithm{name, crypto.SHA384, kindRSAPSS, nil}, true
	case PS512:
		return algorithm{name, crypto.SHA512, kindRSAPSS, nil}, true
	}
	return algorithm{}, false
}

// minRSABits is RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be
// used with these algorithms."
const minRSABits = 2048

// fits reports whether key is of the type and size alg verifies with.
func (a *algorithm) fits(key crypto.PublicKey) bool {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		return a.kind == kindEC && k.Curve == a.curve
	case *rsa.PublicKey:
		return (a.kind == kindRSA || a.kind == kindRSAPSS) && k.N != nil && k.N.BitLen() >= minRSABits
	}
	return false
}

// digest hashes the signing input without copying it to a []byte first.
func (a *algorithm) digest(signingInput string) []byte {
	switch a.hash {
	case crypto.SHA256:
		h := sha256.New()
		_, _ = h.Write([]byte(signingInput))
		return h.Sum(make([]byte, 0, sha256.Size))
	case crypto.SHA384:
		h := sha512.New384()
		_, _ = h.Write([]byte(signingInput))
		return h.Sum(nil)
	default:
		h := sha512.New()
		_, _ = h.Write([]byte(signingInput))
		return h.Sum(nil)
	}
}

// verify checks sig over signingInput with key, which must fit a. For
// ECDSA the signature is the fixed-width R || S of RFC 7518 §3.4, not DER.
func (a *algorithm) verify(key crypto.PublicKey, signingInput string, sig []byte) bool {
	if !a.fits(key) {
		return false
	}
	d := a.digest(signingInput)
	switch a.kind {
	case kindEC:
		pub := key.(*ecdsa.PublicKey)
		n := (pub.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*n {
			return false
		}
		r := new(big.Int).SetBytes(sig[:n])
		s := new(big.Int).SetBytes(sig[n:])
		return ecdsa.Verify(pub, d, r, s)
	case kindRSA:
		return rsa.VerifyPKCS1v15(key.(*rsa.PublicKey), a.hash, d, sig) == nil
	case kindRSAPSS:
		// RFC 7518 §3.5: the salt is as long as the hash.
		return rsa.VerifyPSS(key.(*rsa.PublicKey), a.hash, d, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: a.hash}) == nil
	}
	return false
}
