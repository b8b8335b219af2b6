// Package rstest is a fake IntelliAuth issuer for testing code that uses the
// rs SDK: it serves discovery, a JWKS and RFC 7662 introspection on an
// httptest server, mints access tokens with whatever header and claims a
// test needs (including the broken ones the 401 and 403 paths must refuse),
// rotates its keys and revokes tokens.
//
//	iss := rstest.Start(t, rstest.WithAudience("api.banking.example.com"))
//	v, _ := rs.NewVerifier(ctx, rs.Config{Issuer: iss.URL, Audience: "api.banking.example.com", HTTPClient: iss.Client()})
//	good := iss.Mint(rstest.Token{Scope: "read:transactions"})
//	expired := iss.Mint(rstest.Token{ExpiresAt: time.Now().Add(-time.Hour)})
//	unsigned := iss.Mint(rstest.Token{Alg: "none"})
//
// It is for tests only: keys are generated per issuer and never protected,
// and it does NOT implement a token endpoint or any grant. It imports the
// standard library and go-jose only (not package rs), so it can fake an
// issuer for any verifier.
package rstest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// DefaultAudience is the audience of minted tokens unless WithAudience or
// Token.Audience says otherwise.
const DefaultAudience = "api.example.com"

// Option configures an Issuer.
type Option func(*options)

type options struct {
	algs     []string
	audience string
	path     string
	now      func() time.Time
}

// WithAlgorithms chooses the algorithms the issuer has keys for (ES256,
// ES384, ES512, RS256, RS384, RS512, PS256, PS384, PS512); the first is the
// default of Mint. Default: ES256 only. RSA keys take a moment to generate.
func WithAlgorithms(algs ...string) Option {
	return func(o *options) { o.algs = algs }
}

// WithAudience sets the audience minted tokens carry by default.
func WithAudience(aud string) Option {
	return func(o *options) { o.audience = aud }
}

// WithPath puts the issuer under a path of the server, e.g. "/t/banking"
// for an IntelliAuth-like issuer URL.
func WithPath(path string) Option {
	return func(o *options) { o.path = "/" + strings.Trim(path, "/") }
}

// WithClock sets the clock for default iat/exp and for introspection.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// Issuer is a running fake issuer. Its methods are safe for concurrent use.
type Issuer struct {
	// URL is the issuer identifier: the "iss" of minted tokens and the base
	// of discovery.
	URL string
	// ClientID and ClientSecret are the credentials the introspection
	// endpoint accepts (client_secret_basic).
	ClientID     string
	ClientSecret string

	srv      *httptest.Server
	opts     options
	audience string

	mu       sync.Mutex
	current  map[string]*key // by alg
	previous []*key          // published until the next Rotate
	minted   map[[32]byte]mintedToken
	revoked  map[string]bool // by jti
	down     bool

	jwksHits, introspectHits, discoveryHits atomic.Int64
}

type key struct {
	kid    string
	alg    string
	signer crypto.Signer
}

type mintedToken struct {
	claims map[string]any
	jti    string
	exp    time.Time
}

// NewIssuer starts a fake issuer; Close stops it. It panics if a key cannot
// be generated or an algorithm is unknown, as httptest.NewServer panics when
// it cannot listen.
func NewIssuer(opts ...Option) *Issuer {
	o := options{algs: []string{"ES256"}, audience: DefaultAudience, now: time.Now}
	for _, f := range opts {
		f(&o)
	}
	if len(o.algs) == 0 {
		panic("rstest: WithAlgorithms needs at least one algorithm")
	}
	var algs []string
	for _, a := range o.algs {
		if !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	o.algs = algs
	i := &Issuer{
		opts: o, audience: o.audience,
		current: map[string]*key{}, minted: map[[32]byte]mintedToken{}, revoked: map[string]bool{},
		ClientID: "rstest-resource-server", ClientSecret: randomID(16),
	}
	for _, alg := range o.algs {
		i.current[alg] = newKey(alg)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+o.path+"/.well-known/openid-configuration", i.discovery)
	mux.HandleFunc("GET "+o.path+"/.well-known/jwks.json", i.jwks)
	mux.HandleFunc("POST "+o.path+"/oauth2/introspect", i.introspect)
	i.srv = httptest.NewServer(mux)
	i.URL = i.srv.URL + o.path
	return i
}

// Start is NewIssuer that closes the issuer when the test ends.
func Start(tb testing.TB, opts ...Option) *Issuer {
	tb.Helper()
	i := NewIssuer(opts...)
	tb.Cleanup(i.Close)
	return i
}

// Close stops the server.
func (i *Issuer) Close() { i.srv.Close() }

// Client returns an HTTP client for the issuer's server.
func (i *Issuer) Client() *http.Client { return i.srv.Client() }

// JWKSURL returns the URL of the JWKS.
func (i *Issuer) JWKSURL() string { return i.URL + "/.well-known/jwks.json" }

// IntrospectionEndpoint returns the URL of the introspection endpoint.
func (i *Issuer) IntrospectionEndpoint() string { return i.URL + "/oauth2/introspect" }

// JWKSRequests counts the JWKS requests served so far.
func (i *Issuer) JWKSRequests() int64 { return i.jwksHits.Load() }

// DiscoveryRequests counts the discovery requests served so far.
func (i *Issuer) DiscoveryRequests() int64 { return i.discoveryHits.Load() }

// IntrospectionRequests counts the introspection requests served so far.
func (i *Issuer) IntrospectionRequests() int64 { return i.introspectHits.Load() }

// SetUnavailable makes discovery, the JWKS and introspection answer 503
// (true) or work again (false), to test what a verifier does when the
// issuer is down.
func (i *Issuer) SetUnavailable(down bool) {
	i.mu.Lock()
	i.down = down
	i.mu.Unlock()
}

// KeyID returns the kid of the current key for alg, or "" if the issuer
// has no key for alg.
func (i *Issuer) KeyID(alg string) string {
	i.mu.Lock()
	defer i.mu.Unlock()
	if k := i.current[alg]; k != nil {
		return k.kid
	}
	return ""
}

// Rotate gives every algorithm a new current key. The keys it replaces stay
// in the JWKS until the next Rotate, so tokens they signed keep verifying;
// older ones are withdrawn.
func (i *Issuer) Rotate() {
	next := map[string]*key{}
	for _, alg := range i.opts.algs {
		next[alg] = newKey(alg)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.previous = nil
	for _, alg := range i.opts.algs {
		i.previous = append(i.previous, i.current[alg])
		i.current[alg] = next[alg]
	}
}

// Revoke makes introspection report raw inactive (as /oauth2/revoke does
// at IntelliAuth). Verification of the JWT itself is unaffected.
func (i *Issuer) Revoke(raw string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if m, ok := i.minted[sha256.Sum256([]byte(raw))]; ok {
		i.revoked[m.jti] = true
	}
}

// Token describes a token to mint. Zero fields take the defaults noted;
// set them to produce the broken tokens a verifier must refuse.
type Token struct {
	// Alg is the header's "alg"; default the issuer's first algorithm. An
	// algorithm the issuer has a key for is signed properly; "none" gets an
	// empty signature; HS256/HS384/HS512 are signed with HMAC keyed by the
	// PEM of the issuer's current public key — the algorithm-confusion
	// attack RFC 8725 §2.1 describes. Any other value panics.
	Alg string
	// KeyID is the header's "kid"; default the current key of Alg. A kid
	// the issuer still publishes (current or previous) for Alg signs the
	// token; any other kid is written as given and the token is signed with
	// the current key of Alg. OmitKeyID leaves "kid" out.
	KeyID     string
	OmitKeyID bool
	// Type is the header's "typ"; default "at+jwt". OmitType leaves "typ"
	// out.
	Type     string
	OmitType bool

	// Issuer is "iss"; default the issuer's URL.
	Issuer string
	// Subject is "sub"; default "user-1".
	Subject string
	// Audience is "aud", written as a string when it has one element;
	// default the issuer's audience.
	Audience []string
	// ClientID is "client_id"; default "rstest-client".
	ClientID string
	// Scope is "scope", space-separated; omitted when empty.
	Scope string
	// IssuedAt is "iat"; default now. ExpiresAt is "exp"; default
	// IssuedAt + 1 hour. NotBefore is "nbf"; omitted when zero.
	IssuedAt  time.Time
	ExpiresAt time.Time
	NotBefore time.Time
	// JTI is "jti"; default a random ID.
	JTI string
	// Extra claims are added last and override the ones above; a nil value
	// removes a claim (e.g. Extra: map[string]any{"sub": nil}).
	Extra map[string]any
}

// Mint returns a compact-serialized token as described by t. It panics if
// t.Alg is neither one the issuer has a key for, "none", nor HS256/384/512.
func (i *Issuer) Mint(t Token) string {
	i.mu.Lock()
	defer i.mu.Unlock()
	now := i.opts.now()
	alg := t.Alg
	if alg == "" {
		alg = i.opts.algs[0]
	}
	k := i.current[alg]
	if t.KeyID != "" {
		if held := i.held(t.KeyID); held != nil && held.alg == alg {
			k = held
		}
	}

	hdr := map[string]any{"alg": alg}
	if !t.OmitType {
		hdr["typ"] = cmpOr(t.Type, "at+jwt")
	}
	if !t.OmitKeyID {
		switch {
		case t.KeyID != "":
			hdr["kid"] = t.KeyID
		case k != nil:
			hdr["kid"] = k.kid
		default:
			hdr["kid"] = i.anyKey().kid
		}
	}

	iat := t.IssuedAt
	if iat.IsZero() {
		iat = now
	}
	exp := t.ExpiresAt
	if exp.IsZero() {
		exp = iat.Add(time.Hour)
	}
	jti := cmpOr(t.JTI, randomID(12))
	claims := map[string]any{
		"iss":       cmpOr(t.Issuer, i.URL),
		"sub":       cmpOr(t.Subject, "user-1"),
		"client_id": cmpOr(t.ClientID, "rstest-client"),
		"iat":       iat.Unix(),
		"exp":       exp.Unix(),
		"jti":       jti,
	}
	switch aud := t.Audience; len(aud) {
	case 0:
		claims["aud"] = i.audience
	case 1:
		claims["aud"] = aud[0]
	default:
		claims["aud"] = aud
	}
	if t.Scope != "" {
		claims["scope"] = t.Scope
	}
	if !t.NotBefore.IsZero() {
		claims["nbf"] = t.NotBefore.Unix()
	}
	for name, v := range t.Extra {
		if v == nil {
			delete(claims, name)
		} else {
			claims[name] = v
		}
	}

	hb, err := json.Marshal(hdr)
	if err != nil {
		panic(fmt.Sprintf("rstest: header: %v", err))
	}
	pb, err := json.Marshal(claims)
	if err != nil {
		panic(fmt.Sprintf("rstest: claims: %v", err))
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(hb) + "." + enc.EncodeToString(pb)
	sig := i.sign(alg, k, input)
	raw := input + "." + enc.EncodeToString(sig)
	i.minted[sha256.Sum256([]byte(raw))] = mintedToken{claims: claims, jti: jti, exp: exp}
	return raw
}

// held returns the published key named kid, or nil.
func (i *Issuer) held(kid string) *key {
	for _, k := range i.current {
		if k.kid == kid {
			return k
		}
	}
	for _, k := range i.previous {
		if k.kid == kid {
			return k
		}
	}
	return nil
}

// anyKey returns a current key (the first algorithm's).
func (i *Issuer) anyKey() *key { return i.current[i.opts.algs[0]] }

// sign signs input as alg with k (nil when the issuer has no key for alg).
func (i *Issuer) sign(alg string, k *key, input string) []byte {
	switch {
	case alg == "none":
		return nil
	case strings.HasPrefix(alg, "HS"):
		// The confusion attack: the verifier's "public key" as HMAC secret.
		secretKey := i.anyKey()
		for _, alg := range i.opts.algs {
			if _, ok := i.current[alg].signer.Public().(*rsa.PublicKey); ok {
				secretKey = i.current[alg]
				break
			}
		}
		der, err := x509.MarshalPKIXPublicKey(secretKey.signer.Public())
		if err != nil {
			panic(fmt.Sprintf("rstest: %v", err))
		}
		secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
		var h func() hash.Hash
		switch alg {
		case "HS256":
			h = sha256.New
		case "HS384":
			h = sha512.New384
		case "HS512":
			h = sha512.New
		default:
			panic("rstest: unknown HMAC algorithm " + alg)
		}
		mac := hmac.New(h, secret)
		mac.Write([]byte(input))
		return mac.Sum(nil)
	case k == nil:
		panic("rstest: the issuer has no key for " + alg + "; add it WithAlgorithms")
	}
	return signWith(k, input)
}

func signWith(k *key, input string) []byte {
	spec, _ := specFor(k.alg)
	h := spec.hash.New()
	h.Write([]byte(input))
	digest := h.Sum(nil)
	switch priv := k.signer.(type) {
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, priv, digest)
		if err != nil {
			panic(fmt.Sprintf("rstest: sign: %v", err))
		}
		n := (priv.Curve.Params().BitSize + 7) / 8
		sig := make([]byte, 2*n)
		r.FillBytes(sig[:n])
		s.FillBytes(sig[n:])
		return sig
	case *rsa.PrivateKey:
		var sig []byte
		var err error
		if spec.pss {
			sig, err = rsa.SignPSS(rand.Reader, priv, spec.hash, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, priv, spec.hash, digest)
		}
		if err != nil {
			panic(fmt.Sprintf("rstest: sign: %v", err))
		}
		return sig
	}
	panic("rstest: unexpected key type")
}

type algSpec struct {
	hash  crypto.Hash
	curve elliptic.Curve // nil for RSA
	pss   bool
}

// specFor returns how alg signs.
func specFor(alg string) (algSpec, bool) {
	switch alg {
	case "ES256":
		return algSpec{crypto.SHA256, elliptic.P256(), false}, true
	case "ES384":
		return algSpec{crypto.SHA384, elliptic.P384(), false}, true
	case "ES512":
		return algSpec{crypto.SHA512, elliptic.P521(), false}, true
	case "RS256":
		return algSpec{crypto.SHA256, nil, false}, true
	case "RS384":
		return algSpec{crypto.SHA384, nil, false}, true
	case "RS512":
		return algSpec{crypto.SHA512, nil, false}, true
	case "PS256":
		return algSpec{crypto.SHA256, nil, true}, true
	case "PS384":
		return algSpec{crypto.SHA384, nil, true}, true
	case "PS512":
		return algSpec{crypto.SHA512, nil, true}, true
	}
	return algSpec{}, false
}

func newKey(alg string) *key {
	spec, ok := specFor(alg)
	if !ok {
		panic("rstest: unsupported algorithm " + alg)
	}
	var signer crypto.Signer
	var err error
	if spec.curve != nil {
		signer, err = ecdsa.GenerateKey(spec.curve, rand.Reader)
	} else {
		signer, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		panic(fmt.Sprintf("rstest: generate %s key: %v", alg, err))
	}
	return &key{kid: strings.ToLower(alg) + "-" + randomID(8), alg: alg, signer: signer}
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func cmpOr(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// JWKS returns the JWKS document the issuer serves: every current key and
// the keys the last Rotate replaced.
func (i *Issuer) JWKS() []byte {
	i.mu.Lock()
	defer i.mu.Unlock()
	var set jose.JSONWebKeySet
	add := func(k *key) {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.signer.Public(), KeyID: k.kid, Algorithm: k.alg, Use: "sig"})
	}
	for _, alg := range i.opts.algs {
		add(i.current[alg])
	}
	for _, k := range i.previous {
		add(k)
	}
	b, err := json.Marshal(set)
	if err != nil {
		panic(fmt.Sprintf("rstest: JWKS: %v", err))
	}
	return b
}

func (i *Issuer) unavailable(w http.ResponseWriter) bool {
	i.mu.Lock()
	down := i.down
	i.mu.Unlock()
	if down {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}
	return down
}

func (i *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	i.discoveryHits.Add(1)
	if i.unavailable(w) {
		return
	}
	writeJSON(w, map[string]any{
		"issuer":                 i.URL,
		"jwks_uri":               i.JWKSURL(),
		"introspection_endpoint": i.IntrospectionEndpoint(),
		"introspection_endpoint_auth_methods_supported": []string{"client_secret_basic"},
		"access_token_signing_alg_values_supported":     i.opts.algs,
	})
}

func (i *Issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	i.jwksHits.Add(1)
	if i.unavailable(w) {
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	_, _ = w.Write(i.JWKS())
}

// introspect is RFC 7662 for the tokens this issuer minted: active while
// unexpired and not revoked.
func (i *Issuer) introspect(w http.ResponseWriter, r *http.Request) {
	i.introspectHits.Add(1)
	if i.unavailable(w) {
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	}
	if !ok || id != i.ClientID || !hmac.Equal([]byte(secret), []byte(i.ClientSecret)) {
		w.Header().Set("WWW-Authenticate", `Basic realm="rstest"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
		return
	}
	raw := r.PostFormValue("token")
	if raw == "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_request"}`))
		return
	}
	i.mu.Lock()
	m, known := i.minted[sha256.Sum256([]byte(raw))]
	active := known && !i.revoked[m.jti] && i.opts.now().Before(m.exp)
	i.mu.Unlock()
	if !active {
		writeJSON(w, map[string]any{"active": false})
		return
	}
	out := map[string]any{"active": true, "token_type": "Bearer"}
	for _, c := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"} {
		if v, ok := m.claims[c]; ok {
			out[c] = v
		}
	}
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}
