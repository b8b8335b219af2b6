package token

import (
	"cmp"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/intelliauth/intelliauth/internal/model"
)

// Token types ("typ" header values).
const (
	// TypeAccessToken is the typ of an RFC 9068 access token (§2.1).
	TypeAccessToken = "at+jwt"
	// TypeJWT is the typ of ID tokens and other plain JWTs (RFC 7519 §5.1).
	TypeJWT = "JWT"
)

// MaxTokenSize bounds the compact JWS VerifyAccessToken will parse. An
// IntelliAuth access token is usually under 2 KiB, but one may carry up to
// scope.MaxTokens scopes in a scope claim of up to scope.MaxLength (64
// KiB) bytes, ~88 KiB once base64url-encoded; the bound covers that and
// still keeps hostile input cheap.
const MaxTokenSize = 128 << 10

// ErrInvalidToken is wrapped by every VerifyAccessToken failure that is the
// token's fault (malformed, wrong type or algorithm, unknown key, bad
// signature). Introspection maps it to {"active":false}.
var ErrInvalidToken = errors.New("token: invalid token")

// Keyring holds one tenant's signing keys in memory: the decrypted current
// key per algorithm, which signs, and the public keys of every published key
// (next, current and previous), which verify and make up the JWKS.
//
// A Keyring is immutable once built and safe for concurrent use; rotation
// builds a new one (atomic.Pointer swap in the caller), so signing never
// takes a lock.
type Keyring struct {
	es256, rs256 *signingKey
	// published maps kid to every published key; few enough (≤ 6) that a
	// map is only for clarity.
	published map[string]*publicKey
	jwks      []byte
}

// signingKey is one decrypted current key, with the protected headers it
// signs with encoded once: the header of a given alg, kid and typ never
// changes, so per-token work is only the payload and the signature.
type signingKey struct {
	kid, alg string
	ec       *ecdsa.PrivateKey
	rsa      *rsa.PrivateKey
	// atPrefix and jwtPrefix are base64url(header) + "." for typ at+jwt and
	// typ JWT.
	atPrefix, jwtPrefix string
}

type publicKey struct {
	kid, alg string
	state    model.KeyState
	// key is *ecdsa.PublicKey or *rsa.PublicKey.
	key any
	jwk jose.JSONWebKey
}

// NewKeyring builds a Keyring from all of one tenant's keys (as
// store.Keys.List returns them) and the master-key Sealer.
//
// It fails if there is no current key for ES256 or RS256, if a current
// private key does not open (wrong master key, or a row tampered with or
// moved to another tenant or kid), if a private key does not match its
// published public key, or if any public JWK is malformed or holds private
// material. If there are several current keys for one algorithm (see
// EnsureKeys) the newest signs, the others are only published, so every node
// makes the same choice.
func NewKeyring(keys []model.SigningKey, s *Sealer) (*Keyring, error) {
	kr := &Keyring{published: make(map[string]*publicKey, len(keys))}
	tenantID := ""
	for _, k := range keys {
		if tenantID == "" {
			tenantID = k.TenantID
		} else if k.TenantID != tenantID {
			return nil, fmt.Errorf("token: keyring: keys of tenants %q and %q mixed", tenantID, k.TenantID)
		}
		pk, err := parsePublic(k)
		if err != nil {
			return nil, err
		}
		if kr.published[k.KID] != nil {
			return nil, fmt.Errorf("token: keyring: duplicate kid %s", k.KID)
		}
		kr.published[k.KID] = pk
	}

	for _, alg := range algs() {
		current := byState(keys, alg, model.KeyCurrent)
		if len(current) == 0 {
			return nil, fmt.Errorf("token: keyring: tenant %q has no current %s key (run EnsureKeys)", tenantID, alg)
		}
		sk, err := openSigningKey(current[0], kr.published[current[0].KID], s)
		if err != nil {
			return nil, err
		}
		switch alg {
		case model.AlgES256:
			kr.es256 = sk
		case model.AlgRS256:
			kr.rs256 = sk
		}
	}

	// Stable order: current keys first (naive clients take the first key
	// of the right type), then next, then previous; by alg and kid within.
	pubs := make([]*publicKey, 0, len(kr.published))
	for _, pk := range kr.published {
		pubs = append(pubs, pk)
	}
	slices.SortFunc(pubs, func(a, b *publicKey) int {
		return cmp.Or(cmp.Compare(stateRank(a.state), stateRank(b.state)), cmp.Compare(a.alg, b.alg), cmp.Compare(a.kid, b.kid))
	})
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, len(pubs))}
	for i, pk := range pubs {
		set.Keys[i] = pk.jwk
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("token: keyring: marshal JWKS: %w", err)
	}
	kr.jwks = jwks
	return kr, nil
}

func stateRank(s model.KeyState) int {
	switch s {
	case model.KeyCurrent:
		return 0
	case model.KeyNext:
		return 1
	default:
		return 2
	}
}

// parsePublic checks a stored public JWK against its row and returns it in
// the form the JWKS publishes.
func parsePublic(k model.SigningKey) (*publicKey, error) {
	switch k.State {
	case model.KeyNext, model.KeyCurrent, model.KeyPrevious:
	default:
		return nil, fmt.Errorf("token: keyring: key %s has unknown state %q", k.KID, k.State)
	}
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(k.PublicJWK, &jwk); err != nil {
		return nil, fmt.Errorf("token: keyring: public JWK of key %s: %w", k.KID, err)
	}
	if jwk.KeyID != k.KID || jwk.Algorithm != k.Alg {
		return nil, fmt.Errorf("token: keyring: public JWK of key %s says kid %q alg %q; the row says kid %q alg %q", k.KID, jwk.KeyID, jwk.Algorithm, k.KID, k.Alg)
	}
	ok := false
	switch pub := jwk.Key.(type) {
	case *ecdsa.PublicKey:
		ok = k.Alg == model.AlgES256 && pub.Curve == elliptic.P256()
	case *rsa.PublicKey:
		ok = k.Alg == model.AlgRS256 && pub.Size()*8 >= rsaBits
	case *ecdsa.PrivateKey, *rsa.PrivateKey:
		// Never publish a private key, whatever the row holds.
		return nil, fmt.Errorf("token: keyring: public JWK of key %s holds private material", k.KID)
	default:
		return nil, fmt.Errorf("token: keyring: key %s has unsupported key type %T", k.KID, jwk.Key)
	}
	if !ok {
		// RFC 7518 §3.3, §3.4: ES256 is P-256 only; RS256 keys are 2048 bits
		// or more.
		return nil, fmt.Errorf("token: keyring: key %s: %s needs a P-256 key (ES256) or an RSA key of at least %d bits (RS256); got %T", k.KID, k.Alg, rsaBits, jwk.Key)
	}
	// Publish exactly the members we mean to: kty/crv/x/y or kty/n/e, plus
	// kid, alg and use.
	jwk = jose.JSONWebKey{Key: jwk.Key, KeyID: k.KID, Algorithm: k.Alg, Use: "sig"}
	return &publicKey{kid: k.KID, alg: k.Alg, state: k.State, key: jwk.Key, jwk: jwk}, nil
}

// openSigningKey decrypts a current key and checks it against the published
// public key, so a row whose halves do not belong together cannot sign
// tokens nobody can verify.
func openSigningKey(k model.SigningKey, pub *publicKey, s *Sealer) (*signingKey, error) {
	der, err := s.Open(k.PrivateSealed, keyAD(k.TenantID, k.KID))
	if err != nil {
		return nil, fmt.Errorf("token: keyring: private key %s of tenant %q: %w", k.KID, k.TenantID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	clear(der)
	if err != nil {
		return nil, fmt.Errorf("token: keyring: private key %s: %w", k.KID, err)
	}
	sk := &signingKey{kid: k.KID, alg: k.Alg}
	switch priv := parsed.(type) {
	case *ecdsa.PrivateKey:
		if k.Alg != model.AlgES256 || !priv.PublicKey.Equal(pub.key) {
			return nil, fmt.Errorf("token: keyring: private key %s does not match its public JWK", k.KID)
		}
		sk.ec = priv
	case *rsa.PrivateKey:
		if k.Alg != model.AlgRS256 || !priv.PublicKey.Equal(pub.key) {
			return nil, fmt.Errorf("token: keyring: private key %s does not match its public JWK", k.KID)
		}
		// Precompute now: doing it lazily on first use would race.
		priv.Precompute()
		sk.rsa = priv
	default:
		return nil, fmt.Errorf("token: keyring: private key %s has unsupported type %T", k.KID, parsed)
	}
	if sk.atPrefix, err = headerPrefix(k.Alg, k.KID, TypeAccessToken); err != nil {
		return nil, err
	}
	if sk.jwtPrefix, err = headerPrefix(k.Alg, k.KID, TypeJWT); err != nil {
		return nil, err
	}
	return sk, nil
}

// joseHeader is the protected header we sign with (RFC 7515 §4.1).
type joseHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ,omitempty"`
}

func headerPrefix(alg, kid, typ string) (string, error) {
	h, err := json.Marshal(joseHeader{Alg: alg, Kid: kid, Typ: typ})
	if err != nil {
		return "", fmt.Errorf("token: marshal JOSE header: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(h) + ".", nil
}

// JWKS returns the JSON Web Key Set (RFC 7517 §5) of every published key —
// next, current and previous — with public members only, in a stable order.
// The slice is shared: callers must not modify it.
func (k *Keyring) JWKS() []byte { return k.jwks }

// KeyID returns the kid of the current key that signs for alg, or "" if alg
// is not supported.
func (k *Keyring) KeyID(alg string) string {
	if sk := k.signer(alg); sk != nil {
		return sk.kid
	}
	return ""
}

func (k *Keyring) signer(alg string) *signingKey {
	switch alg {
	case model.AlgES256:
		return k.es256
	case model.AlgRS256:
		return k.rs256
	}
	return nil
}

// SignAccessToken returns an RFC 9068 access token: a compact JWS signed by
// the current key for alg (ES256 or RS256), with header typ "at+jwt", alg
// and kid, and the claims iss sub aud exp iat (auth_time) jti client_id
// (scope). It refuses claims that lack a member RFC 9068 §2.2 requires.
//
// This is the token endpoint's hot path. The JWS is assembled here rather
// than by go-jose's Signer, whose generic path builds the header as a map
// and marshals it twice per token; go-jose still verifies (VerifyAccessToken
// and the tests), so the two implementations check each other.
func (k *Keyring) SignAccessToken(alg string, c AccessClaims) (string, error) {
	sk := k.signer(alg)
	if sk == nil {
		return "", fmt.Errorf("token: unsupported signing algorithm %q", alg)
	}
	p, err := c.payload()
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(&p)
	if err != nil {
		return "", fmt.Errorf("token: marshal claims: %w", err)
	}
	return sk.sign(sk.atPrefix, payload)
}

// SignJWT signs claims (marshaled with encoding/json) as a compact JWS with
// the current key for alg, header typ typ (omitted when empty), alg and kid.
// It checks nothing in claims: the caller (ID tokens, logout tokens) owns
// their content.
func (k *Keyring) SignJWT(alg, typ string, claims any) (string, error) {
	sk := k.signer(alg)
	if sk == nil {
		return "", fmt.Errorf("token: unsupported signing algorithm %q", alg)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("token: marshal claims: %w", err)
	}
	var prefix string
	switch typ {
	case TypeAccessToken:
		prefix = sk.atPrefix
	case TypeJWT:
		prefix = sk.jwtPrefix
	default:
		if prefix, err = headerPrefix(sk.alg, sk.kid, typ); err != nil {
			return "", err
		}
	}
	return sk.sign(prefix, payload)
}

// sign assembles prefix || base64url(payload) "." base64url(signature)
// (RFC 7515 §7.1) in one buffer sized up front.
func (sk *signingKey) sign(prefix string, payload []byte) (string, error) {
	enc := base64.RawURLEncoding
	sigLen := 64 // ES256: R || S, 32 bytes each (RFC 7518 §3.4)
	if sk.rsa != nil {
		sigLen = sk.rsa.Size()
	}
	buf := make([]byte, 0, len(prefix)+enc.EncodedLen(len(payload))+1+enc.EncodedLen(sigLen))
	buf = append(buf, prefix...)
	buf = enc.AppendEncode(buf, payload)
	sig, err := sk.rawSign(buf)
	if err != nil {
		return "", err
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

// rawSign returns the JWS signature of a signing input (RFC 7518 §3.3,
// §3.4).
func (sk *signingKey) rawSign(signingInput []byte) ([]byte, error) {
	digest := sha256.Sum256(signingInput)
	if sk.ec != nil {
		// ecdsa.Sign (not SignASN1): JWS wants fixed-width R || S, not DER.
		// The reader is ignored since Go 1.26 (the FIPS DRBG is used).
		r, s, err := ecdsa.Sign(rand.Reader, sk.ec, digest[:])
		if err != nil {
			return nil, fmt.Errorf("token: sign ES256: %w", err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig, nil
	}
	sig, err := rsa.SignPKCS1v15(nil, sk.rsa, crypto.SHA256, digest[:])
	if err != nil {
		return nil, fmt.Errorf("token: sign RS256: %w", err)
	}
	return sig, nil
}

// allowedAlgs are the only "alg" values VerifyAccessToken accepts; "none" and
// the HMAC family are refused before any key is looked at (RFC 8725 §3.1).
func allowedAlgs() []jose.SignatureAlgorithm {
	return []jose.SignatureAlgorithm{jose.ES256, jose.RS256}
}

// VerifyAccessToken checks an access token's form and signature and
// returns its claims. It accepts only a compact JWS with alg ES256 or RS256,
// header typ "at+jwt" or "application/at+jwt" (compared case-insensitively,
// RFC 9068 §4 and RFC 8725 §3.11), and a kid naming a published key of this
// keyring — previous keys included, so tokens signed before a rotation keep
// verifying — whose alg matches the header's.
//
// It does NOT check exp, nbf, iss, aud or revocation: AccessCheck does,
// against its clock and tenant, and servers call that, not this. Every
// failure wraps ErrInvalidToken.
func (k *Keyring) VerifyAccessToken(raw string) (AccessClaims, error) {
	if len(raw) > MaxTokenSize {
		return AccessClaims{}, fmt.Errorf("%w: %d bytes is longer than %d", ErrInvalidToken, len(raw), MaxTokenSize)
	}
	jws, err := jose.ParseSignedCompact(raw, allowedAlgs())
	if err != nil {
		return AccessClaims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if len(jws.Signatures) != 1 {
		return AccessClaims{}, fmt.Errorf("%w: %d signatures", ErrInvalidToken, len(jws.Signatures))
	}
	h := jws.Signatures[0].Protected
	typ, _ := h.ExtraHeaders[jose.HeaderType].(string)
	if !strings.EqualFold(typ, TypeAccessToken) && !strings.EqualFold(typ, "application/"+TypeAccessToken) {
		return AccessClaims{}, fmt.Errorf("%w: typ %q is not at+jwt", ErrInvalidToken, typ)
	}
	pk := k.published[h.KeyID]
	if pk == nil {
		return AccessClaims{}, fmt.Errorf("%w: unknown kid %q", ErrInvalidToken, h.KeyID)
	}
	if h.Algorithm != pk.alg {
		return AccessClaims{}, fmt.Errorf("%w: alg %s does not match key %s (%s)", ErrInvalidToken, h.Algorithm, pk.kid, pk.alg)
	}
	payload, err := jws.Verify(pk.key)
	if err != nil {
		return AccessClaims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	var p accessPayloadIn
	if err := json.Unmarshal(payload, &p); err != nil {
		return AccessClaims{}, fmt.Errorf("%w: claims: %w", ErrInvalidToken, err)
	}
	return p.claims(), nil
}
