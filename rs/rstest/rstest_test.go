package rstest_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/intelliauth/intelliauth/rs/rstest"
)

func decode(t *testing.T, part string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func getJSON(t *testing.T, c *http.Client, u string, v any) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func jwks(t *testing.T, iss *rstest.Issuer) jose.JSONWebKeySet {
	t.Helper()
	var set jose.JSONWebKeySet
	getJSON(t, iss.Client(), iss.JWKSURL(), &set)
	return set
}

func TestDiscoveryAndJWKS(t *testing.T) {
	iss := rstest.Start(t, rstest.WithPath("t/banking"), rstest.WithAlgorithms("ES256", "RS256"))
	if !strings.HasSuffix(iss.URL, "/t/banking") {
		t.Errorf("URL = %s", iss.URL)
	}
	var meta map[string]any
	getJSON(t, iss.Client(), iss.URL+"/.well-known/openid-configuration", &meta)
	if meta["issuer"] != iss.URL || meta["jwks_uri"] != iss.JWKSURL() || meta["introspection_endpoint"] != iss.IntrospectionEndpoint() {
		t.Errorf("discovery = %v", meta)
	}
	set := jwks(t, iss)
	if len(set.Keys) != 2 || set.Keys[0].KeyID != iss.KeyID("ES256") || set.Keys[1].KeyID != iss.KeyID("RS256") {
		t.Fatalf("JWKS = %+v", set.Keys)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() || k.Use != "sig" {
			t.Errorf("key %s: public %v use %q", k.KeyID, k.IsPublic(), k.Use)
		}
	}

	first := iss.KeyID("ES256")
	iss.Rotate()
	if iss.KeyID("ES256") == first {
		t.Fatal("Rotate kept the kid")
	}
	if set := jwks(t, iss); len(set.Keys) != 4 || len(set.Key(first)) != 1 {
		t.Errorf("after one rotation: %d keys, previous held %v", len(set.Keys), len(set.Key(first)) == 1)
	}
	iss.Rotate()
	if set := jwks(t, iss); len(set.Keys) != 4 || len(set.Key(first)) != 0 {
		t.Errorf("after two rotations: %d keys, first still held %v", len(set.Keys), len(set.Key(first)) == 1)
	}
	if iss.JWKSRequests() != 3 || iss.DiscoveryRequests() != 1 {
		t.Errorf("counters: %d JWKS, %d discovery", iss.JWKSRequests(), iss.DiscoveryRequests())
	}

	iss.SetUnavailable(true)
	resp, err := iss.Client().Get(iss.JWKSURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("unavailable JWKS: %s", resp.Status)
	}
}

func TestMintSignsVerifiably(t *testing.T) {
	algs := []string{"ES256", "ES384", "ES512", "RS256", "PS256"}
	iss := rstest.Start(t, rstest.WithAlgorithms(algs...))
	set := jwks(t, iss)
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			raw := iss.Mint(rstest.Token{Alg: alg})
			jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			kid := jws.Signatures[0].Header.KeyID
			if kid != iss.KeyID(alg) || jws.Signatures[0].Header.ExtraHeaders["typ"] != "at+jwt" {
				t.Errorf("header = %+v", jws.Signatures[0].Header)
			}
			if _, err := jws.Verify(set.Key(kid)[0].Key); err != nil {
				t.Errorf("go-jose does not verify the minted token: %v", err)
			}
		})
	}
}

func TestMintClaims(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	iss := rstest.Start(t, rstest.WithClock(func() time.Time { return now }), rstest.WithAudience("api.bank"))
	raw := iss.Mint(rstest.Token{Scope: "a b"})
	c := decode(t, strings.Split(raw, ".")[1])
	want := map[string]any{"iss": iss.URL, "sub": "user-1", "aud": "api.bank", "client_id": "rstest-client",
		"scope": "a b", "iat": float64(now.Unix()), "exp": float64(now.Add(time.Hour).Unix())}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("%s = %v, want %v", k, c[k], v)
		}
	}
	if c["jti"] == "" || c["nbf"] != nil {
		t.Errorf("jti %v nbf %v", c["jti"], c["nbf"])
	}

	raw = iss.Mint(rstest.Token{Audience: []string{"a", "b"}, NotBefore: now, Extra: map[string]any{"sub": nil, "custom": 7}})
	c = decode(t, strings.Split(raw, ".")[1])
	if _, ok := c["sub"]; ok || c["custom"] != float64(7) || c["nbf"] != float64(now.Unix()) {
		t.Errorf("claims = %v", c)
	}
	if aud, ok := c["aud"].([]any); !ok || len(aud) != 2 {
		t.Errorf("aud = %v", c["aud"])
	}

	h := decode(t, strings.Split(iss.Mint(rstest.Token{OmitType: true, OmitKeyID: true}), ".")[0])
	if _, ok := h["typ"]; ok {
		t.Errorf("header = %v", h)
	}
	if _, ok := h["kid"]; ok {
		t.Errorf("header = %v", h)
	}
	h = decode(t, strings.Split(iss.Mint(rstest.Token{Type: "JWT", KeyID: "nope"}), ".")[0])
	if h["typ"] != "JWT" || h["kid"] != "nope" {
		t.Errorf("header = %v", h)
	}
}

func TestMintAttacks(t *testing.T) {
	iss := rstest.Start(t, rstest.WithAlgorithms("ES256", "RS256"))
	none := iss.Mint(rstest.Token{Alg: "none"})
	if !strings.HasSuffix(none, ".") || decode(t, strings.Split(none, ".")[0])["alg"] != "none" {
		t.Errorf("alg none token = %s", none)
	}

	// HS256 is keyed with the PEM of the RSA public key, as the attack does.
	hs := iss.Mint(rstest.Token{Alg: "HS256"})
	parts := strings.Split(hs, ".")
	var rsaKey any
	for _, k := range jwks(t, iss).Keys {
		if k.Algorithm == "RS256" {
			rsaKey = k.Key
		}
	}
	der, err := x509.MarshalPKIXPublicKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) != parts[2] {
		t.Error("HS256 token is not keyed with the public key PEM")
	}

	defer func() {
		if recover() == nil {
			t.Error("Mint with an algorithm the issuer has no key for did not panic")
		}
	}()
	iss.Mint(rstest.Token{Alg: "PS256"})
}

func TestIntrospection(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	iss := rstest.Start(t, rstest.WithClock(clock))
	introspect := func(id, secret, tok string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, iss.IntrospectionEndpoint(), strings.NewReader(url.Values{"token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
		resp, err := iss.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		return resp.StatusCode, m
	}
	tok := iss.Mint(rstest.Token{Scope: "read"})
	if code, m := introspect(iss.ClientID, iss.ClientSecret, tok); code != 200 || m["active"] != true || m["scope"] != "read" {
		t.Errorf("active token: %d %v", code, m)
	}
	if code, _ := introspect(iss.ClientID, "wrong", tok); code != 401 {
		t.Errorf("RFC 7662 §2.1 wrong secret: %d", code)
	}
	if code, m := introspect(iss.ClientID, iss.ClientSecret, "not-minted-here"); code != 200 || len(m) != 1 || m["active"] != false {
		t.Errorf("RFC 7662 §2.2 unknown token: %d %v", code, m)
	}
	expired := iss.Mint(rstest.Token{IssuedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)})
	if _, m := introspect(iss.ClientID, iss.ClientSecret, expired); m["active"] != false {
		t.Errorf("expired token active: %v", m)
	}
	iss.Revoke(tok)
	if _, m := introspect(iss.ClientID, iss.ClientSecret, tok); m["active"] != false {
		t.Errorf("RFC 7009 revoked token active: %v", m)
	}
	if iss.IntrospectionRequests() != 5 {
		t.Errorf("IntrospectionRequests = %d", iss.IntrospectionRequests())
	}
}
