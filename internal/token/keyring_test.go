package token

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/intelliauth/intelliauth/internal/model"
)

// rotatedStore returns a store whose tenant "banking" holds next, current
// and previous keys for both algorithms (EnsureKeys, then one Rotate).
func rotatedStore(t testing.TB, s *Sealer) *memStore {
	t.Helper()
	st := &memStore{}
	if err := EnsureKeys(t.Context(), st, s, "banking", testNow); err != nil {
		t.Fatal(err)
	}
	if err := Rotate(t.Context(), st, s, "banking", testNow.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return st
}

func newTestKeyring(t testing.TB) (*Keyring, []model.SigningKey, *Sealer) {
	t.Helper()
	s := newTestSealer(t, 1)
	keys := rotatedStore(t, s).snapshot()
	kr, err := NewKeyring(keys, s)
	if err != nil {
		t.Fatal(err)
	}
	return kr, keys, s
}

func testClaims() AccessClaims {
	return AccessClaims{
		Issuer:    "http://localhost:8080/t/banking",
		Subject:   "user-42",
		Audience:  "api.banking.example.com",
		ClientID:  "spa",
		Scope:     "openid accounts:read",
		JTI:       NewJTI(),
		IssuedAt:  testNow,
		ExpiresAt: testNow.Add(time.Hour),
		AuthTime:  testNow.Add(-time.Minute),
	}
}

// segments decodes a compact JWS's header and payload as JSON objects.
func segments(t *testing.T, raw string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("%d segments", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, payload
}

func TestSignAndVerifyAccessToken(t *testing.T) {
	kr, _, _ := newTestKeyring(t)
	for _, alg := range []string{model.AlgES256, model.AlgRS256} {
		t.Run(alg, func(t *testing.T) {
			c := testClaims()
			c.IssuedAt = c.IssuedAt.Add(300 * time.Millisecond) // dropped: NumericDate is whole seconds
			raw, err := kr.SignAccessToken(alg, c)
			if err != nil {
				t.Fatal(err)
			}
			header, payload := segments(t, raw)
			wantHeader := map[string]any{"alg": alg, "kid": kr.KeyID(alg), "typ": "at+jwt"}
			if !maps.Equal(header, wantHeader) {
				t.Errorf("RFC 9068 §2.1 header = %v, want %v", header, wantHeader)
			}
			wantPayload := map[string]any{
				"iss": c.Issuer, "sub": c.Subject, "aud": c.Audience, "client_id": c.ClientID,
				"scope": c.Scope, "jti": c.JTI, "iat": float64(testNow.Unix()),
				"exp": float64(c.ExpiresAt.Unix()), "auth_time": float64(c.AuthTime.Unix()),
			}
			if !maps.Equal(payload, wantPayload) {
				t.Errorf("RFC 9068 §2.2 claims = %v, want %v", payload, wantPayload)
			}

			got, err := kr.VerifyAccessToken(raw)
			if err != nil {
				t.Fatal(err)
			}
			want := c
			want.IssuedAt = testNow
			if !reflect.DeepEqual(got, want) {
				t.Errorf("VerifyAccessToken = %+v, want %+v", got, want)
			}
		})
	}
}

func TestAccessTokenOmitsEmptyOptionalClaims(t *testing.T) {
	kr, _, _ := newTestKeyring(t)
	c := testClaims()
	c.AuthTime, c.Scope = time.Time{}, "" // client credentials without scope
	raw, err := kr.SignAccessToken(model.AlgES256, c)
	if err != nil {
		t.Fatal(err)
	}
	_, payload := segments(t, raw)
	for _, m := range []string{"auth_time", "scope", "nbf"} {
		if _, ok := payload[m]; ok {
			t.Errorf("claim %q present: %v", m, payload)
		}
	}
	got, err := kr.VerifyAccessToken(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !got.AuthTime.IsZero() {
		t.Errorf("AuthTime = %v, want zero", got.AuthTime)
	}
}

func TestSignAccessTokenRefusesIncompleteClaims(t *testing.T) {
	kr, _, _ := newTestKeyring(t)
	cases := []struct {
		name string
		edit func(*AccessClaims)
	}{
		{"RFC 9068 §2.2 no iss", func(c *AccessClaims) { c.Issuer = "" }},
		{"RFC 9068 §2.2 no sub", func(c *AccessClaims) { c.Subject = "" }},
		{"RFC 9068 §2.2 no aud", func(c *AccessClaims) { c.Audience = "" }},
		{"RFC 9068 §2.2 no client_id", func(c *AccessClaims) { c.ClientID = "" }},
		{"RFC 9068 §2.2 no jti", func(c *AccessClaims) { c.JTI = "" }},
		{"RFC 9068 §2.2 no iat", func(c *AccessClaims) { c.IssuedAt = time.Time{} }},
		{"exp not after iat", func(c *AccessClaims) { c.ExpiresAt = c.IssuedAt }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := testClaims()
			tc.edit(&c)
			if raw, err := kr.SignAccessToken(model.AlgES256, c); err == nil {
				t.Fatalf("signed %s", raw)
			}
		})
	}
	if _, err := kr.SignAccessToken("HS256", testClaims()); err == nil {
		t.Error("signed with HS256")
	}
}

// TestAccessTokenVerifiesWithGoJose is the independent check: the token is
// assembled by hand, so verify it with plain go-jose and its jwt package
// against nothing but the published JWKS.
func TestAccessTokenVerifiesWithGoJose(t *testing.T) {
	kr, _, _ := newTestKeyring(t)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(kr.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	for _, alg := range []string{model.AlgES256, model.AlgRS256} {
		t.Run(alg, func(t *testing.T) {
			c := testClaims()
			raw, err := kr.SignAccessToken(alg, c)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			if typ := tok.Headers[0].ExtraHeaders[jose.HeaderType]; typ != "at+jwt" {
				t.Errorf("typ = %v", typ)
			}
			var std jwt.Claims
			var extra struct {
				ClientID string `json:"client_id"`
				Scope    string `json:"scope"`
				AuthTime int64  `json:"auth_time"`
			}
			if err := tok.Claims(&set, &std, &extra); err != nil {
				t.Fatalf("go-jose does not verify our token against our JWKS: %v", err)
			}
			err = std.ValidateWithLeeway(jwt.Expected{
				Issuer:      c.Issuer,
				Subject:     c.Subject,
				AnyAudience: jwt.Audience{c.Audience},
				ID:          c.JTI,
				Time:        testNow.Add(time.Minute),
			}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if extra.ClientID != c.ClientID || extra.Scope != c.Scope || extra.AuthTime != c.AuthTime.Unix() {
				t.Errorf("extra claims = %+v", extra)
			}
		})
	}
}

func TestSignJWT(t *testing.T) {
	kr, _, _ := newTestKeyring(t)
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(kr.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"iss": "i", "sub": "s", "nonce": "n-0S6_WzA2Mj"}
	for _, tc := range []struct {
		alg, typ string
	}{{model.AlgRS256, TypeJWT}, {model.AlgES256, TypeJWT}, {model.AlgRS256, "logout+jwt"}, {model.AlgES256, ""}, {model.AlgES256, TypeAccessToken}} {
		t.Run(tc.alg+"/"+tc.typ, func(t *testing.T) {
			raw, err := kr.SignJWT(tc.alg, tc.typ, claims)
			if err != nil {
				t.Fatal(err)
			}
			header, _ := segments(t, raw)
			want := map[string]any{"alg": tc.alg, "kid": kr.KeyID(tc.alg)}
			if tc.typ != "" {
				want["typ"] = tc.typ
			}
			if !maps.Equal(header, want) {
				t.Errorf("header = %v, want %v", header, want)
			}
			jws, err := jose.ParseSignedCompact(raw, allowedAlgs())
			if err != nil {
				t.Fatal(err)
			}
			payload, err := jws.Verify(&set)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(payload, &got); err != nil || !maps.Equal(got, claims) {
				t.Errorf("payload = %s (%v)", payload, err)
			}
		})
	}
	if _, err := kr.SignJWT(model.AlgES256, TypeJWT, func() {}); err == nil {
		t.Error("unmarshalable claims signed")
	}
}

func TestJWKS(t *testing.T) {
	kr, keys, s := newTestKeyring(t)
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(kr.JWKS(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Keys) != 6 {
		t.Fatalf("RFC 7517 §5: %d keys published, want 6 (next, current, previous × ES256, RS256)", len(doc.Keys))
	}
	published := map[string]bool{}
	for _, k := range doc.Keys {
		published[k["kid"].(string)] = true
		if k["use"] != "sig" {
			t.Errorf("key %v: use = %v", k["kid"], k["use"])
		}
		allowed := map[string]bool{"kty": true, "kid": true, "alg": true, "use": true}
		switch k["kty"] {
		case "EC":
			allowed["crv"], allowed["x"], allowed["y"] = true, true, true
			if k["crv"] != "P-256" || k["alg"] != "ES256" {
				t.Errorf("EC key %v", k)
			}
		case "RSA":
			allowed["n"], allowed["e"] = true, true
			if k["alg"] != "RS256" {
				t.Errorf("RSA key %v", k)
			}
		default:
			t.Errorf("kty = %v", k["kty"])
		}
		for m := range k {
			if !allowed[m] {
				t.Errorf("key %v publishes member %q (no private material, nothing unplanned)", k["kid"], m)
			}
		}
		if _, ok := k["d"]; ok {
			t.Errorf("key %v publishes private member d", k["kid"])
		}
	}
	for _, k := range keys {
		if !published[k.KID] {
			t.Errorf("%s %s key %s not published", k.State, k.Alg, k.KID)
		}
	}
	// Current keys come first: clients that take the first key of a type
	// pick the one that signs.
	if doc.Keys[0]["kid"] != kr.KeyID(model.AlgES256) || doc.Keys[1]["kid"] != kr.KeyID(model.AlgRS256) {
		t.Errorf("JWKS does not start with the current keys")
	}

	// Stable: the same keys in another order give the same bytes.
	shuffled := slices.Clone(keys)
	slices.Reverse(shuffled)
	kr2, err := NewKeyring(shuffled, s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(kr.JWKS(), kr2.JWKS()) {
		t.Errorf("JWKS order depends on input order:\n%s\n%s", kr.JWKS(), kr2.JWKS())
	}
}

func TestTokenSignedBeforeRotationStillVerifies(t *testing.T) {
	ctx := t.Context()
	s := newTestSealer(t, 1)
	st := &memStore{}
	if err := EnsureKeys(ctx, st, s, "banking", testNow); err != nil {
		t.Fatal(err)
	}
	before, err := NewKeyring(st.snapshot(), s)
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for _, alg := range []string{model.AlgES256, model.AlgRS256} {
		if tokens[alg], err = before.SignAccessToken(alg, testClaims()); err != nil {
			t.Fatal(err)
		}
	}

	if err := Rotate(ctx, st, s, "banking", testNow.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	after, err := NewKeyring(st.snapshot(), s)
	if err != nil {
		t.Fatal(err)
	}
	for alg, raw := range tokens {
		if after.KeyID(alg) == before.KeyID(alg) {
			t.Fatalf("%s: rotation did not change the signing key", alg)
		}
		if _, err := after.VerifyAccessToken(raw); err != nil {
			t.Errorf("%s: token signed by the now-previous key: %v", alg, err)
		}
		// And the key that signs after rotation was already published
		// before it: verifiers holding the old JWKS accept new tokens.
		fresh, err := after.SignAccessToken(alg, testClaims())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := before.VerifyAccessToken(fresh); err != nil {
			t.Errorf("%s: token of the new current key against the pre-rotation keyring: %v", alg, err)
		}
	}

	// A second rotation deletes the key: its tokens stop verifying.
	if err := Rotate(ctx, st, s, "banking", testNow.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	later, err := NewKeyring(st.snapshot(), s)
	if err != nil {
		t.Fatal(err)
	}
	for alg, raw := range tokens {
		if _, err := later.VerifyAccessToken(raw); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: token of a deleted key: err = %v, want ErrInvalidToken", alg, err)
		}
	}
}

// forge builds a compact JWS from raw header and payload JSON, signed by
// sign over the signing input (nil sign: empty signature).
func forge(header, payload string, sign func([]byte) []byte) string {
	enc := base64.RawURLEncoding
	in := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	var sig []byte
	if sign != nil {
		sig = sign([]byte(in))
	}
	return in + "." + enc.EncodeToString(sig)
}

func TestVerifyAccessTokenRejects(t *testing.T) {
	kr, keys, _ := newTestKeyring(t)
	esKID := kr.KeyID(model.AlgES256)
	good, err := kr.SignAccessToken(model.AlgES256, testClaims())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	payloadJSON, _ := base64.RawURLEncoding.DecodeString(parts[1])

	// signWith signs a signing input with the keyring's current ES256 key,
	// to forge tokens that differ from ours only in what is tested.
	signWith := func(in []byte) []byte {
		sig, err := kr.es256.rawSign(in)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}

	// The public key bytes an attacker can read from the JWKS or a PEM, used
	// as an HMAC secret: the classic RS/ES → HS confusion (RFC 8725 §2.1).
	var esPub *ecdsa.PublicKey
	for _, k := range keys {
		if k.KID == esKID {
			var jwk jose.JSONWebKey
			_ = json.Unmarshal(k.PublicJWK, &jwk)
			esPub = jwk.Key.(*ecdsa.PublicKey)
		}
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(esPub)
	hs256, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: pubDER},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader(jose.HeaderKey("kid"), esKID))
	if err != nil {
		t.Fatal(err)
	}
	hsObj, err := hs256.Sign(payloadJSON)
	if err != nil {
		t.Fatal(err)
	}
	hsToken, _ := hsObj.CompactSerialize()

	// A key that is not in the keyring, presenting a published kid.
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	strangerSigned := forge(fmt.Sprintf(`{"alg":"ES256","kid":%q,"typ":"at+jwt"}`, esKID), string(payloadJSON), func(in []byte) []byte {
		sk := &signingKey{ec: stranger}
		sig, _ := sk.rawSign(in)
		return sig
	})

	tampered := []byte(parts[1])
	tampered[10] ^= 0x01

	cases := []struct {
		name string
		raw  string
	}{
		{"empty", ""},
		{"garbage", "not a token"},
		{"two segments", parts[0] + "." + parts[1]},
		{"RFC 7515 §7.2 JSON serialization", `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`},
		{"tampered payload", parts[0] + "." + string(tampered) + "." + parts[2]},
		{"payload of another token", parts[0] + "." + strings.Split(mustSign(t, kr), ".")[1] + "." + parts[2]},
		{"truncated signature", parts[0] + "." + parts[1] + "." + parts[2][:20]},
		{"no signature", parts[0] + "." + parts[1] + "."},
		{"RFC 8725 §3.1 alg none", forge(fmt.Sprintf(`{"alg":"none","kid":%q,"typ":"at+jwt"}`, esKID), string(payloadJSON), nil)},
		{"RFC 8725 §2.1 HS256 keyed with the public key", hsToken},
		{"RFC 9068 §4 typ JWT", forge(fmt.Sprintf(`{"alg":"ES256","kid":%q,"typ":"JWT"}`, esKID), string(payloadJSON), signWith)},
		{"RFC 9068 §4 no typ", forge(fmt.Sprintf(`{"alg":"ES256","kid":%q}`, esKID), string(payloadJSON), signWith)},
		{"RFC 9068 §4 typ not a string", forge(fmt.Sprintf(`{"alg":"ES256","kid":%q,"typ":1}`, esKID), string(payloadJSON), signWith)},
		{"unknown kid", forge(`{"alg":"ES256","kid":"nope","typ":"at+jwt"}`, string(payloadJSON), signWith)},
		{"no kid", forge(`{"alg":"ES256","typ":"at+jwt"}`, string(payloadJSON), signWith)},
		{"alg RS256 with an ES256 kid", forge(fmt.Sprintf(`{"alg":"RS256","kid":%q,"typ":"at+jwt"}`, esKID), string(payloadJSON), signWith)},
		{"ES384", forge(fmt.Sprintf(`{"alg":"ES384","kid":%q,"typ":"at+jwt"}`, esKID), string(payloadJSON), signWith)},
		{"signed by a key outside the keyring", strangerSigned},
		{"RFC 7515 §4.1.11 unknown crit", forge(fmt.Sprintf(`{"alg":"ES256","kid":%q,"typ":"at+jwt","crit":["exp"],"exp":1}`, esKID), string(payloadJSON), signWith)},
		{"payload not JSON", forge(fmt.Sprintf(`{"alg":"ES256","kid":%q,"typ":"at+jwt"}`, esKID), "not json", signWith)},
		{"aud with two values", forge(fmt.Sprintf(`{"alg":"ES256","kid":%q,"typ":"at+jwt"}`, esKID), `{"aud":["a","b"]}`, signWith)},
		{"longer than MaxTokenSize", parts[0] + "." + strings.Repeat("A", MaxTokenSize) + "." + parts[2]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := kr.VerifyAccessToken(c.raw)
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("VerifyAccessToken = %+v, %v; want ErrInvalidToken", got, err)
			}
			t.Log(err)
		})
	}

	// Control: the same forging path with a correct header is accepted, so
	// the cases above fail for the reason their names give.
	for _, typ := range []string{"at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"} {
		ok := forge(fmt.Sprintf(`{"alg":"ES256","kid":%q,"typ":%q}`, esKID, typ), string(payloadJSON), signWith)
		if _, err := kr.VerifyAccessToken(ok); err != nil {
			t.Errorf("RFC 9068 §4 typ %q: %v", typ, err)
		}
	}
}

func mustSign(t *testing.T, kr *Keyring) string {
	t.Helper()
	c := testClaims()
	c.Subject = "someone-else"
	raw, err := kr.SignAccessToken(model.AlgES256, c)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestVerifyAcceptsOtherRFC7519Encodings(t *testing.T) {
	kr, _, _ := newTestKeyring(t)
	kid := kr.KeyID(model.AlgES256)
	raw := forge(fmt.Sprintf(`{"alg":"ES256","kid":%q,"typ":"at+jwt"}`, kid),
		`{"iss":"i","sub":"s","aud":["api"],"exp":1772370000.5,"iat":1772366400,"jti":"j","client_id":"c"}`,
		func(in []byte) []byte { sig, _ := kr.es256.rawSign(in); return sig })
	got, err := kr.VerifyAccessToken(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got.Audience != "api" || got.ExpiresAt.Unix() != 1772370000 || got.IssuedAt.Unix() != 1772366400 {
		t.Errorf("claims = %+v", got)
	}
}

func TestNewKeyringRejects(t *testing.T) {
	s := newTestSealer(t, 1)
	keys := rotatedStore(t, s).snapshot()
	edit := func(f func([]model.SigningKey) []model.SigningKey) []model.SigningKey {
		c := slices.Clone(keys)
		return f(c)
	}
	index := func(ks []model.SigningKey, alg string, state model.KeyState) int {
		return slices.IndexFunc(ks, func(k model.SigningKey) bool { return k.Alg == alg && k.State == state })
	}
	cases := []struct {
		name   string
		keys   []model.SigningKey
		sealer *Sealer
		want   string
	}{
		{"wrong master key", keys, newTestSealer(t, 9), "wrong master key"},
		{"no keys", nil, s, "no current ES256 key"},
		{"no current RS256 key", edit(func(ks []model.SigningKey) []model.SigningKey {
			return slices.DeleteFunc(ks, func(k model.SigningKey) bool { return k.Alg == model.AlgRS256 && k.State == model.KeyCurrent })
		}), s, "no current RS256 key"},
		{"keys of two tenants", edit(func(ks []model.SigningKey) []model.SigningKey {
			ks[0].TenantID = "retail"
			return ks
		}), s, "mixed"},
		{"sealed key moved to another row", edit(func(ks []model.SigningKey) []model.SigningKey {
			cur, prev := index(ks, model.AlgES256, model.KeyCurrent), index(ks, model.AlgES256, model.KeyPrevious)
			ks[cur].PrivateSealed = ks[prev].PrivateSealed
			return ks
		}), s, "wrong master key"},
		{"private key does not match public JWK", edit(func(ks []model.SigningKey) []model.SigningKey {
			cur, prev := index(ks, model.AlgES256, model.KeyCurrent), index(ks, model.AlgES256, model.KeyPrevious)
			der, err := s.Open(ks[prev].PrivateSealed, keyAD("banking", ks[prev].KID))
			if err != nil {
				t.Fatal(err)
			}
			ks[cur].PrivateSealed, _ = s.Seal(der, keyAD("banking", ks[cur].KID))
			return ks
		}), s, "does not match"},
		{"public JWK with private material", edit(func(ks []model.SigningKey) []model.SigningKey {
			cur := index(ks, model.AlgES256, model.KeyNext)
			priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			ks[cur].PublicJWK, _ = json.Marshal(jose.JSONWebKey{Key: priv, KeyID: ks[cur].KID, Algorithm: "ES256"})
			return ks
		}), s, "private material"},
		{"public JWK kid differs from row", edit(func(ks []model.SigningKey) []model.SigningKey {
			ks[0].KID = "other"
			return ks
		}), s, "says kid"},
		{"ES256 row with an RSA JWK", edit(func(ks []model.SigningKey) []model.SigningKey {
			es, rs := index(ks, model.AlgES256, model.KeyNext), index(ks, model.AlgRS256, model.KeyNext)
			var jwk jose.JSONWebKey
			if err := json.Unmarshal(ks[rs].PublicJWK, &jwk); err != nil {
				t.Fatal(err)
			}
			jwk.KeyID, jwk.Algorithm = ks[es].KID, model.AlgES256
			ks[es].PublicJWK, _ = json.Marshal(jwk)
			return ks
		}), s, "ES256 needs a P-256 key"},
		{"JWK alg differs from row", edit(func(ks []model.SigningKey) []model.SigningKey {
			es := index(ks, model.AlgES256, model.KeyNext)
			ks[es].Alg = model.AlgRS256
			return ks
		}), s, `alg "ES256"; the row says`},
		{"duplicate kid", edit(func(ks []model.SigningKey) []model.SigningKey {
			return append(ks, ks[0])
		}), s, "duplicate kid"},
		{"unknown state", edit(func(ks []model.SigningKey) []model.SigningKey {
			ks[0].State = "retired"
			return ks
		}), s, "unknown state"},
		{"malformed JWK", edit(func(ks []model.SigningKey) []model.SigningKey {
			ks[0].PublicJWK = []byte(`{"kty":"EC"}`)
			return ks
		}), s, "public JWK"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewKeyring(c.keys, c.sealer)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
			t.Log(err)
		})
	}
}

func TestKeyringPicksNewestOfSeveralCurrentKeys(t *testing.T) {
	s := newTestSealer(t, 1)
	keys := rotatedStore(t, s).snapshot()
	extra, err := GenerateKey("banking", model.AlgES256, model.KeyCurrent, s, testNow.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := NewKeyring(append(keys, extra), s)
	if err != nil {
		t.Fatal(err)
	}
	if kr.KeyID(model.AlgES256) == extra.KID {
		t.Error("the older of two current keys signs")
	}
	if !bytes.Contains(kr.JWKS(), []byte(extra.KID)) {
		t.Error("the older current key is not published")
	}
}

// TestKeyringConcurrentUse signs and verifies from many goroutines with one
// Keyring; run with -race, it checks that sharing the keys needs no lock.
func TestKeyringConcurrentUse(t *testing.T) {
	kr, _, _ := newTestKeyring(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			alg := []string{model.AlgES256, model.AlgRS256}[i%2]
			for range 20 {
				c := testClaims()
				raw, err := kr.SignAccessToken(alg, c)
				if err != nil {
					errs <- err
					return
				}
				got, err := kr.VerifyAccessToken(raw)
				if err != nil {
					errs <- err
					return
				}
				if got.JTI != c.JTI {
					errs <- fmt.Errorf("jti %s, want %s", got.JTI, c.JTI)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNewJTI(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		j := NewJTI()
		if len(j) != 22 {
			t.Fatalf("jti %q is %d characters, want 22 (128 bits base64url)", j, len(j))
		}
		if b, err := base64.RawURLEncoding.DecodeString(j); err != nil || len(b) != 16 {
			t.Fatalf("jti %q: %v", j, err)
		}
		if seen[j] {
			t.Fatalf("duplicate jti %q", j)
		}
		seen[j] = true
	}
}
