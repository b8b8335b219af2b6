package rs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/scope"
)

// Defaults and bounds of Config.
const (
	// DefaultLeeway is the clock skew tolerated on exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// MaxLeeway bounds Config.Leeway.
	MaxLeeway = 5 * time.Minute
	// DefaultCacheSize is the number of verified tokens kept.
	DefaultCacheSize = 10_000
	// MaxCacheSize bounds Config.CacheSize.
	MaxCacheSize = 10_000_000
)

// Config configures a Verifier. Issuer and Audience are required.
type Config struct {
	// Issuer is the issuer URL, e.g. "https://auth.example.com/t/banking".
	// Tokens must carry it exactly in "iss", and discovery happens at
	// Issuer + "/.well-known/openid-configuration".
	Issuer string
	// Audience is this API's identifier, e.g. "api.banking.example.com":
	// a token's "aud" must contain it. Required; there is no way to skip the
	// audience check (RFC 9068 §4, RFC 8725 §3.9).
	Audience string
	// Algorithms is the "alg" allowlist, checked before any key is looked up
	// (RFC 8725 §3.1). Nil means ES256 and RS256, what IntelliAuth signs
	// with. Allowed values are ES256/384/512, RS256/384/512, PS256/384/512;
	// "none" and HS256/384/512 are refused.
	Algorithms []string
	// Leeway is the clock skew tolerated on exp, nbf and iat. Zero means
	// DefaultLeeway; a negative value means none. At most MaxLeeway.
	Leeway time.Duration

	// KeySet supplies the verification keys. Nil means a RemoteKeySet of
	// JWKSURL, or, when that is empty too, of the discovered "jwks_uri".
	KeySet KeySet
	// JWKSURL skips discovery when KeySet is nil.
	JWKSURL string
	// HTTPClient makes discovery and JWKS requests; nil means a client with
	// a DefaultFetchTimeout timeout.
	HTTPClient *http.Client
	// RefreshInterval and MinRefetchInterval configure the RemoteKeySet the
	// verifier builds (see RemoteKeySetConfig); ignored when KeySet is set.
	RefreshInterval    time.Duration
	MinRefetchInterval time.Duration

	// CacheSize is how many verified tokens are remembered, keyed by the
	// SHA-256 of the token, each until its exp. Zero means
	// DefaultCacheSize; a negative value disables the cache.
	CacheSize int
	// Now is the clock for exp, nbf, iat, the cache and JWKS refresh; nil
	// means time.Now.
	Now func() time.Time
}

// Verifier verifies access tokens of one issuer for one audience. It is
// safe for concurrent use.
type Verifier struct {
	issuer   string
	audience string
	algs     []*algorithm
	leeway   time.Duration
	now      func() time.Time
	keys     KeySet
	cache    *cache[cachedToken]
	meta     Metadata
}

// NewVerifier checks cfg, and unless cfg.KeySet or cfg.JWKSURL is given
// fetches the issuer's discovery document (see Discover). The JWKS itself
// is fetched on the first Verify. Every problem with cfg is reported at
// once.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	var errs []error
	if cfg.Issuer == "" {
		errs = append(errs, errors.New("rs: Config.Issuer is required"))
	} else if err := checkURL("issuer", cfg.Issuer); err != nil {
		errs = append(errs, err)
	}
	if cfg.Audience == "" {
		errs = append(errs, errors.New("rs: Config.Audience is required: a token for another API must not pass"))
	}
	names := cfg.Algorithms
	if names == nil {
		names = []string{ES256, RS256}
	}
	if len(names) == 0 {
		errs = append(errs, errors.New("rs: Config.Algorithms is empty"))
	}
	var algs []*algorithm
	for _, n := range names {
		switch a, ok := lookupAlgorithm(n); {
		case strings.EqualFold(n, "none") || strings.HasPrefix(strings.ToUpper(n), "HS"):
			errs = append(errs, fmt.Errorf("rs: algorithm %q is never allowed: a resource server verifies asymmetric signatures only (RFC 8725 §3.1)", n))
		case !ok:
			errs = append(errs, fmt.Errorf("rs: algorithm %q is not supported", n))
		case !slices.ContainsFunc(algs, func(b *algorithm) bool { return b.name == a.name }):
			algs = append(algs, &a)
		}
	}
	leeway := cfg.Leeway
	switch {
	case leeway == 0:
		leeway = DefaultLeeway
	case leeway < 0:
		leeway = 0
	case leeway > MaxLeeway:
		errs = append(errs, fmt.Errorf("rs: Config.Leeway %s is more than %s", leeway, MaxLeeway))
	}
	if cfg.CacheSize > MaxCacheSize {
		errs = append(errs, fmt.Errorf("rs: Config.CacheSize %d is more than %d", cfg.CacheSize, MaxCacheSize))
	}
	if cfg.KeySet == nil {
		if _, _, err := refreshBounds(cfg.RefreshInterval, cfg.MinRefetchInterval); err != nil {
			errs = append(errs, err)
		}
		if cfg.JWKSURL != "" {
			if err := checkURL("JWKS URL", cfg.JWKSURL); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	v := &Verifier{
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		algs:     algs,
		leeway:   leeway,
		now:      clock(cfg.Now),
		keys:     cfg.KeySet,
	}
	if v.keys == nil {
		jwksURL := cfg.JWKSURL
		if jwksURL == "" {
			m, err := Discover(ctx, cfg.HTTPClient, cfg.Issuer)
			if err != nil {
				return nil, err
			}
			v.meta, jwksURL = m, m.JWKSURI
		}
		rks, err := NewRemoteKeySet(RemoteKeySetConfig{
			URL: jwksURL, HTTPClient: cfg.HTTPClient, Now: v.now,
			RefreshInterval: cfg.RefreshInterval, MinRefetchInterval: cfg.MinRefetchInterval,
		})
		if err != nil {
			return nil, err
		}
		v.keys = rks
	}
	size := cfg.CacheSize
	if size == 0 {
		size = DefaultCacheSize
	}
	v.cache = newCache[cachedToken](size)
	return v, nil
}

// Issuer returns the issuer tokens must name.
func (v *Verifier) Issuer() string { return v.issuer }

// Audience returns the audience tokens must contain.
func (v *Verifier) Audience() string { return v.audience }

// Metadata returns the discovery document NewVerifier read, or the zero
// Metadata when it did not discover (KeySet or JWKSURL given).
func (v *Verifier) Metadata() Metadata { return v.meta }

// KeySet returns the key set the verifier uses.
func (v *Verifier) KeySet() KeySet { return v.keys }

// Verify checks raw, a compact-serialized RFC 9068 access token, and
// returns its claims. In order, it requires:
//
//   - exactly three base64url parts, at most MaxTokenSize bytes, a JSON
//     header without "crit" (ErrMalformed);
//   - "alg" in Config.Algorithms, before any key is looked up (ErrAlgorithm);
//   - "typ" "at+jwt" or "application/at+jwt", case-insensitively
//     (RFC 9068 §4; ErrType);
//   - a "kid" the KeySet knows for that alg (ErrUnknownKey) and a signature
//     that verifies with it (ErrSignature);
//   - "iss" exactly Config.Issuer (ErrIssuer), "aud" — a string or an
//     array — containing Config.Audience (ErrAudience);
//   - now before exp + leeway (ErrExpired), nbf and iat not after now +
//     leeway (ErrNotYetValid);
//   - sub, client_id and jti present, and "scope" absent or a valid
//     RFC 6749 §3.3 list (ErrClaims).
//
// Every failure of the token matches ErrInvalidToken. A token already
// verified is answered from the cache until its exp (never beyond, even
// within the leeway) as long as the KeySet still has the key that signed
// it; the signature and claims are not re-checked.
//
// Verify does NOT check revocation (use an Introspector), scopes (use the
// middleware or Token.Scopes), the "client_id" or "sub" values, "auth_time",
// or "acr"; and it ignores the header's "jku", "jwk", "x5u" and "x5c".
// The returned Token is the caller's to keep.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Token, error) {
	now := v.now()
	if v.cache == nil {
		t, _, err := v.verify(ctx, raw, now)
		return t, err
	}
	key := tokenKey(raw)
	if e, ok := v.cache.get(&key, now.UnixNano()); ok {
		// The key that signed it must still be published: a key the issuer
		// withdrew stops vouching for cached tokens too.
		if _, err := v.keys.Key(ctx, e.kid, e.alg); err == nil {
			return e.tok.clone(), nil
		}
	}
	t, h, err := v.verify(ctx, raw, now)
	if err != nil {
		return nil, err
	}
	if now.Before(t.ExpiresAt) {
		v.cache.put(&key, cachedToken{tok: t, kid: h.Kid, alg: h.Alg}, t.ExpiresAt.UnixNano(), now.UnixNano())
	}
	return t.clone(), nil
}

// cachedToken is a verified token and the key that signed it.
type cachedToken struct {
	tok      *Token
	kid, alg string
}

// verify is Verify without the cache. It also returns the header.
func (v *Verifier) verify(ctx context.Context, raw string, now time.Time) (*Token, *header, error) {
	j, err := parse(raw)
	if err != nil {
		return nil, nil, err
	}
	h := &j.header
	var alg *algorithm
	for _, a := range v.algs {
		if a.name == h.Alg {
			alg = a
			break
		}
	}
	if alg == nil {
		return nil, nil, fmt.Errorf("%w: %q", ErrAlgorithm, truncate(h.Alg))
	}
	if !isAccessTokenType(h.Typ) {
		return nil, nil, fmt.Errorf("%w: typ %q", ErrType, truncate(h.Typ))
	}
	if h.Kid == "" {
		return nil, nil, fmt.Errorf("%w: the header has no kid", ErrUnknownKey)
	}
	sig, err := b64.DecodeString(j.signature)
	if err != nil || len(sig) == 0 {
		return nil, nil, fmt.Errorf("%w: signature is not base64url", ErrMalformed)
	}
	key, err := v.keys.Key(ctx, h.Kid, alg.name)
	if err != nil {
		return nil, nil, err
	}
	if !alg.fits(key) {
		return nil, nil, fmt.Errorf("%w: key %q (%T) does not fit %s", ErrSignature, truncate(h.Kid), key, alg.name)
	}
	if !alg.verify(key, j.signingInput, sig) {
		return nil, nil, fmt.Errorf("%w: %s with key %q", ErrSignature, alg.name, truncate(h.Kid))
	}
	payload, err := b64.DecodeString(j.payload)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	t, err := v.check(payload, now)
	return t, h, err
}

// isAccessTokenType is RFC 9068 §4: "Resource servers receiving a JWT
// access token MUST validate that the typ header value is "at+jwt" or
// "application/at+jwt"". Media types compare case-insensitively.
func isAccessTokenType(typ string) bool {
	return strings.EqualFold(typ, "at+jwt") || strings.EqualFold(typ, "application/at+jwt")
}

// wireClaims is the payload as decoded; custom types accept the encodings
// RFC 7519 allows and refuse the rest.
type wireClaims struct {
	Issuer   string       `json:"iss"`
	Subject  string       `json:"sub"`
	Audience audience     `json:"aud"`
	Expires  *numericDate `json:"exp"`
	IssuedAt *numericDate `json:"iat"`
	NotBef   *numericDate `json:"nbf"`
	JTI      string       `json:"jti"`
	ClientID string       `json:"client_id"`
	Scope    string       `json:"scope"`
}

// check validates the signed payload's claims at now.
func (v *Verifier) check(payload []byte, now time.Time) (*Token, error) {
	var c wireClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrClaims, err)
	}
	if c.Issuer != v.issuer {
		return nil, fmt.Errorf("%w: %q", ErrIssuer, truncate(c.Issuer))
	}
	if !slices.Contains(c.Audience, v.audience) {
		return nil, fmt.Errorf("%w: %q", ErrAudience, truncate(strings.Join(c.Audience, " ")))
	}
	if c.Expires == nil {
		return nil, fmt.Errorf("%w: exp is missing", ErrClaims)
	}
	exp := c.Expires.time()
	if !now.Before(exp.Add(v.leeway)) {
		return nil, fmt.Errorf("%w: at %s (exp %s, leeway %s)", ErrExpired, now.UTC().Format(time.RFC3339), exp.UTC().Format(time.RFC3339), v.leeway)
	}
	var nbf time.Time
	if c.NotBef != nil {
		nbf = c.NotBef.time()
		if now.Add(v.leeway).Before(nbf) {
			return nil, fmt.Errorf("%w: nbf %s is after %s", ErrNotYetValid, nbf.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	if c.IssuedAt == nil {
		return nil, fmt.Errorf("%w: iat is missing", ErrClaims)
	}
	iat := c.IssuedAt.time()
	if now.Add(v.leeway).Before(iat) {
		return nil, fmt.Errorf("%w: iat %s is after %s", ErrNotYetValid, iat.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	switch {
	case c.Subject == "":
		return nil, fmt.Errorf("%w: sub is missing", ErrClaims)
	case c.ClientID == "":
		return nil, fmt.Errorf("%w: client_id is missing", ErrClaims)
	case c.JTI == "":
		return nil, fmt.Errorf("%w: jti is missing", ErrClaims)
	}
	scopes, err := scope.Parse(c.Scope)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrClaims, err)
	}
	return &Token{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		Audience:  []string(c.Audience),
		ClientID:  c.ClientID,
		Scopes:    scopes,
		ExpiresAt: exp,
		IssuedAt:  iat,
		NotBefore: nbf,
		JTI:       c.JTI,
		claims:    payload,
	}, nil
}

// truncate keeps token-supplied strings short in error details.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// audience is the "aud" claim: RFC 7519 §4.1.3 allows one string or an
// array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*a = nil
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("aud is neither a string nor an array of strings")
	}
	*a = list
	return nil
}

// numericDate is RFC 7519 §2 NumericDate: seconds since the epoch,
// possibly fractional. Negative, non-finite and absurd values (after year
// 9999) are refused.
type numericDate float64

const maxNumericDate = 253402300799 // 9999-12-31T23:59:59Z

func (d *numericDate) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return errors.New("a NumericDate must be a JSON number")
	}
	if math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return fmt.Errorf("NumericDate %v is out of range", f)
	}
	*d = numericDate(f)
	return nil
}

func (d numericDate) time() time.Time {
	sec, frac := math.Modf(float64(d))
	return time.Unix(int64(sec), int64(frac*1e9))
}

// Token is a verified access token's claims (RFC 9068 §2.2).
type Token struct {
	// Issuer is "iss", exactly the verifier's issuer.
	Issuer string
	// Subject is "sub": the user, or the client ID for client credentials.
	Subject string
	// Audience is "aud", which contains the verifier's audience.
	Audience []string
	// ClientID is "client_id", the OAuth client the token was issued to.
	ClientID string
	// Scopes is the parsed "scope" claim (empty when absent).
	Scopes scope.Set
	// ExpiresAt is "exp"; IssuedAt is "iat".
	ExpiresAt time.Time
	IssuedAt  time.Time
	// NotBefore is "nbf", zero when the token has none.
	NotBefore time.Time
	// JTI is "jti", the token's unique ID.
	JTI string

	claims []byte // the JSON payload, shared read-only between copies
}

// Claims decodes the token's whole JSON payload into v (typically a
// struct with json tags), for claims Token has no field for, such as
// "auth_time" or custom ones. The payload was signed by the issuer, but
// custom claims are not otherwise checked.
func (t *Token) Claims(v any) error {
	if t.claims == nil {
		return errors.New("rs: token has no claims")
	}
	return json.Unmarshal(t.claims, v)
}

// HasScope reports whether the token grants the scope name. Scopes are
// compared exactly (RFC 6749 §3.3: case-sensitive); implication is not
// expanded — the issuer already put implied scopes in the token.
func (t *Token) HasScope(name string) bool { return t.Scopes.Has(name) }

// tokenBox holds a Token and, inline, the one audience most tokens have,
// so that clone costs a single allocation.
type tokenBox struct {
	t   Token
	aud [1]string
}

// clone returns a copy that does not share Audience with t.
func (t *Token) clone() *Token {
	b := &tokenBox{t: *t}
	if len(t.Audience) == 1 {
		b.aud[0] = t.Audience[0]
		b.t.Audience = b.aud[:]
	} else {
		b.t.Audience = slices.Clone(t.Audience)
	}
	return &b.t
}

// tokenKey is the cache key of a raw token: its SHA-256. A token of the
// usual size is hashed from a stack copy, which unlike []byte(raw) does not
// allocate.
func tokenKey(raw string) cacheKey {
	if len(raw) <= 2048 {
		var buf [2048]byte
		n := copy(buf[:], raw)
		return sha256.Sum256(buf[:n])
	}
	return sha256.Sum256([]byte(raw))
}
