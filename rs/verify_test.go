package rs_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/rs"
	"github.com/intelliauth/intelliauth/rs/rstest"
)

func TestVerify(t *testing.T) {
	clk := newClock()
	iss, v := newIssuerVerifier(t, clk, rs.Config{Algorithms: []string{rs.ES256, rs.RS256, rs.PS256}},
		rstest.WithAlgorithms("ES256", "RS256", "PS256", "ES384"))
	now := clk.Now()
	good := iss.Mint(rstest.Token{Scope: "read:transactions"})

	pass := []struct {
		name string
		tok  rstest.Token
	}{
		{"RFC 9068 §4 ES256 token passes", rstest.Token{}},
		{"RFC 9068 §4 RS256 token passes", rstest.Token{Alg: "RS256"}},
		{"RFC 7518 §3.5 PS256 token passes when allowed", rstest.Token{Alg: "PS256"}},
		{"RFC 9068 §4 typ application/at+jwt passes", rstest.Token{Type: "application/at+jwt"}},
		{"RFC 8725 §3.11 typ compares case-insensitively", rstest.Token{Type: "AT+JWT"}},
		{"RFC 7519 §4.1.3 aud array containing the API passes", rstest.Token{Audience: []string{"api.other.example.com", "api.banking.example.com"}}},
		{"RFC 7519 §4.1.4 exp just past, within the leeway, passes", rstest.Token{IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-20 * time.Second)}},
		{"RFC 7519 §4.1.5 nbf just ahead, within the leeway, passes", rstest.Token{NotBefore: now.Add(20 * time.Second)}},
		{"RFC 7519 §4.1.6 iat just ahead (clock skew), within the leeway, passes", rstest.Token{IssuedAt: now.Add(20 * time.Second)}},
		{"RFC 7519 §2 fractional NumericDate passes", rstest.Token{Extra: map[string]any{"exp": float64(now.Unix()) + 600.5}}},
		{"RFC 9068 §2.2.3 no scope claim passes with empty scopes", rstest.Token{}},
	}
	for _, tc := range pass {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := v.Verify(t.Context(), iss.Mint(tc.tok))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tok.Issuer != iss.URL || tok.Subject != "user-1" || tok.ClientID != "rstest-client" || tok.JTI == "" {
				t.Errorf("token = %+v", tok)
			}
		})
	}

	t.Run("RFC 9068 §2.2 claims are returned typed", func(t *testing.T) {
		tok, err := v.Verify(t.Context(), good)
		if err != nil {
			t.Fatal(err)
		}
		if !tok.HasScope("read:transactions") || tok.Scopes.Len() != 1 || tok.HasScope("write:settings") {
			t.Errorf("scopes = %v", tok.Scopes)
		}
		if len(tok.Audience) != 1 || tok.Audience[0] != "api.banking.example.com" {
			t.Errorf("audience = %v", tok.Audience)
		}
		if !tok.IssuedAt.Equal(now) || !tok.ExpiresAt.Equal(now.Add(time.Hour)) || !tok.NotBefore.IsZero() {
			t.Errorf("iat %v exp %v nbf %v", tok.IssuedAt, tok.ExpiresAt, tok.NotBefore)
		}
		var c struct {
			Scope string `json:"scope"`
			Sub   string `json:"sub"`
		}
		if err := tok.Claims(&c); err != nil || c.Scope != "read:transactions" || c.Sub != "user-1" {
			t.Errorf("Claims = %+v, %v", c, err)
		}
	})

	hmacConfusion := iss.Mint(rstest.Token{Alg: "HS256", KeyID: iss.KeyID("RS256")})
	fail := []struct {
		name string
		raw  string
		want error
	}{
		{"RFC 8725 §3.1 alg none refused", iss.Mint(rstest.Token{Alg: "none"}), rs.ErrAlgorithm},
		{"RFC 8725 §3.1 alg none refused with a signature part too", withPart(iss.Mint(rstest.Token{Alg: "none"}), 2, part(good, 2)), rs.ErrAlgorithm},
		{"RFC 8725 §2.1 HS256 keyed with the RSA public key refused", hmacConfusion, rs.ErrAlgorithm},
		{"RFC 8725 §3.1 alg outside the allowlist refused (ES384)", iss.Mint(rstest.Token{Alg: "ES384"}), rs.ErrAlgorithm},
		{"RFC 8725 §3.1 alg spelled differently refused (es256)", withPart(good, 0, b64(`{"alg":"es256","kid":"`+iss.KeyID("ES256")+`","typ":"at+jwt"}`)), rs.ErrAlgorithm},
		{"RFC 9068 §4 typ JWT refused", iss.Mint(rstest.Token{Type: "JWT"}), rs.ErrType},
		{"RFC 9068 §4 typ missing refused", iss.Mint(rstest.Token{OmitType: true}), rs.ErrType},
		{"RFC 9068 §4 ID-token typ refused", iss.Mint(rstest.Token{Type: "id_token+jwt"}), rs.ErrType},
		{"RFC 7515 §4.1.4 unknown kid refused", iss.Mint(rstest.Token{KeyID: "no-such-key"}), rs.ErrUnknownKey},
		{"RFC 7515 §4.1.4 missing kid refused", iss.Mint(rstest.Token{OmitKeyID: true}), rs.ErrUnknownKey},
		{"RFC 7518 §3.1 ES256 header naming the RS256 key refused", iss.Mint(rstest.Token{KeyID: iss.KeyID("RS256")}), rs.ErrUnknownKey},
		{"RFC 7515 §5.2 tampered payload refused", withPart(good, 1, b64(strings.Replace(unb64(t, part(good, 1)), "read:transactions", "write:settings", 1))), rs.ErrSignature},
		{"RFC 7515 §5.2 signature of another token refused", withPart(good, 2, part(iss.Mint(rstest.Token{}), 2)), rs.ErrSignature},
		{"RFC 7518 §3.4 truncated ES256 signature refused", withPart(good, 2, part(good, 2)[:40]), rs.ErrSignature},
		{"RFC 7519 §4.1.1 another issuer refused", iss.Mint(rstest.Token{Issuer: "https://evil.example.com/t/banking"}), rs.ErrIssuer},
		{"RFC 7519 §4.1.1 issuer with a trailing slash refused", iss.Mint(rstest.Token{Issuer: iss.URL + "/"}), rs.ErrIssuer},
		{"RFC 9068 §4 another audience refused", iss.Mint(rstest.Token{Audience: []string{"api.health.example.com"}}), rs.ErrAudience},
		{"RFC 9068 §4 audience differing in case refused", iss.Mint(rstest.Token{Audience: []string{"API.banking.example.com"}}), rs.ErrAudience},
		{"RFC 7519 §4.1.4 expired beyond the leeway refused", iss.Mint(rstest.Token{IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-31 * time.Second)}), rs.ErrExpired},
		{"RFC 7519 §4.1.4 expired at exactly exp+leeway refused", iss.Mint(rstest.Token{IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-30 * time.Second)}), rs.ErrExpired},
		{"RFC 7519 §4.1.5 nbf beyond the leeway refused", iss.Mint(rstest.Token{NotBefore: now.Add(time.Minute)}), rs.ErrNotYetValid},
		{"RFC 7519 §4.1.6 iat in the future refused", iss.Mint(rstest.Token{IssuedAt: now.Add(time.Minute)}), rs.ErrNotYetValid},
		{"RFC 9068 §2.2 exp missing refused", iss.Mint(rstest.Token{Extra: map[string]any{"exp": nil}}), rs.ErrClaims},
		{"RFC 9068 §2.2 iat missing refused", iss.Mint(rstest.Token{Extra: map[string]any{"iat": nil}}), rs.ErrClaims},
		{"RFC 9068 §2.2 sub missing refused", iss.Mint(rstest.Token{Extra: map[string]any{"sub": nil}}), rs.ErrClaims},
		{"RFC 9068 §2.2 client_id missing refused", iss.Mint(rstest.Token{Extra: map[string]any{"client_id": nil}}), rs.ErrClaims},
		{"RFC 9068 §2.2 jti missing refused", iss.Mint(rstest.Token{Extra: map[string]any{"jti": nil}}), rs.ErrClaims},
		{"RFC 9068 §2.2 aud missing refused", iss.Mint(rstest.Token{Extra: map[string]any{"aud": nil}}), rs.ErrAudience},
		{"RFC 7519 §2 exp as a string refused", iss.Mint(rstest.Token{Extra: map[string]any{"exp": "9999999999"}}), rs.ErrClaims},
		{"RFC 7519 §2 negative exp refused", iss.Mint(rstest.Token{Extra: map[string]any{"exp": -1}}), rs.ErrClaims},
		{"RFC 7519 §4.1.3 aud as a number refused", iss.Mint(rstest.Token{Extra: map[string]any{"aud": 42}}), rs.ErrClaims},
		{"RFC 6749 §3.3 malformed scope claim refused", iss.Mint(rstest.Token{Scope: "read:transactions  write:settings"}), rs.ErrClaims},
		{"RFC 8693 §4.2 scope as an array refused", iss.Mint(rstest.Token{Extra: map[string]any{"scope": []string{"read:transactions"}}}), rs.ErrClaims},
		{"RFC 7515 §4.1.11 crit header refused", withPart(good, 0, b64(`{"alg":"ES256","kid":"`+iss.KeyID("ES256")+`","typ":"at+jwt","crit":["exp"],"exp":1}`)), rs.ErrMalformed},
		{"RFC 7515 §7.1 two parts refused", part(good, 0) + "." + part(good, 1), rs.ErrMalformed},
		{"RFC 7515 §7.1 four parts refused", good + ".x", rs.ErrMalformed},
		{"RFC 7515 §7.1 empty payload refused", withPart(good, 1, ""), rs.ErrMalformed},
		{"RFC 7515 §7.1 empty signature refused", withPart(good, 2, ""), rs.ErrMalformed},
		{"RFC 7515 §2 padded base64 refused", withPart(good, 2, part(good, 2)+"=="), rs.ErrMalformed},
		{"RFC 7515 §2 standard base64 alphabet refused", withPart(good, 0, part(good, 0)+"+/"), rs.ErrMalformed},
		{"RFC 7515 §5.2 header not JSON refused", withPart(good, 0, b64("not json")), rs.ErrMalformed},
		{"RFC 7515 §5.2 header a JSON array refused", withPart(good, 0, b64(`["ES256"]`)), rs.ErrMalformed},
		{"RFC 7519 §7.2 JWE (five parts) refused", "a.b.c.d.e", rs.ErrMalformed},
		{"empty token refused", "", rs.ErrMalformed},
		{"token longer than MaxTokenSize refused", iss.Mint(rstest.Token{Extra: map[string]any{"pad": strings.Repeat("x", rs.MaxTokenSize)}}), rs.ErrMalformed},
	}
	for _, tc := range fail {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := v.Verify(t.Context(), tc.raw)
			if tok != nil {
				t.Errorf("token returned with error: %+v", tok)
			}
			wantErr(t, err, tc.want, rs.ErrInvalidToken)
			if errors.Is(err, rs.ErrKeySetUnavailable) {
				t.Errorf("a token error must not look like an outage: %v", err)
			}
		})
	}
}

func TestVerifyLeewayConfigurable(t *testing.T) {
	clk := newClock()
	now := clk.Now()
	for _, tc := range []struct {
		name   string
		leeway time.Duration
		ok     bool
	}{
		{"RFC 7519 §4.1.4 default leeway 30s accepts 20s past exp", 0, true},
		{"RFC 7519 §4.1.4 no leeway refuses 20s past exp", -1, false},
		{"RFC 7519 §4.1.4 leeway 10s refuses 20s past exp", 10 * time.Second, false},
		{"RFC 7519 §4.1.4 leeway 1m accepts 20s past exp", time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iss, v := newIssuerVerifier(t, clk, rs.Config{Leeway: tc.leeway})
			_, err := v.Verify(t.Context(), iss.Mint(rstest.Token{IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-20 * time.Second)}))
			if tc.ok && err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !tc.ok {
				wantErr(t, err, rs.ErrExpired)
			}
		})
	}
}

func TestNewVerifierConfig(t *testing.T) {
	iss := rstest.Start(t)
	base := rs.Config{Issuer: iss.URL, Audience: "api.example.com", HTTPClient: iss.Client()}
	for _, tc := range []struct {
		name    string
		mutate  func(*rs.Config)
		wantSub []string
	}{
		{"RFC 9068 §4 empty audience refused", func(c *rs.Config) { c.Audience = "" }, []string{"Audience is required"}},
		{"issuer required", func(c *rs.Config) { c.Issuer = "" }, []string{"Issuer is required"}},
		{"issuer must be an absolute URL", func(c *rs.Config) { c.Issuer = "auth.example.com" }, []string{"absolute http(s) URL"}},
		{"RFC 8725 §3.1 alg none never allowed", func(c *rs.Config) { c.Algorithms = []string{"ES256", "none"} }, []string{`"none" is never allowed`}},
		{"RFC 8725 §3.1 HS256 never allowed", func(c *rs.Config) { c.Algorithms = []string{"HS256"} }, []string{`"HS256" is never allowed`}},
		{"unknown algorithm refused", func(c *rs.Config) { c.Algorithms = []string{"EdDSA"} }, []string{`"EdDSA" is not supported`}},
		{"empty algorithm list refused", func(c *rs.Config) { c.Algorithms = []string{} }, []string{"Algorithms is empty"}},
		{"leeway above the bound refused", func(c *rs.Config) { c.Leeway = time.Hour }, []string{"Leeway"}},
		{"refetch interval below the bound refused", func(c *rs.Config) { c.MinRefetchInterval = time.Millisecond }, []string{"MinRefetchInterval"}},
		{"refresh interval above the bound refused", func(c *rs.Config) { c.RefreshInterval = 48 * time.Hour }, []string{"RefreshInterval"}},
		{"every problem reported at once", func(c *rs.Config) { c.Audience = ""; c.Algorithms = []string{"none"}; c.Leeway = time.Hour },
			[]string{"Audience is required", `"none"`, "Leeway"}},
		{"OIDC Discovery §4.3 issuer mismatch refused", func(c *rs.Config) { c.Issuer = iss.URL + "/" }, []string{"must be identical"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			tc.mutate(&cfg)
			_, err := rs.NewVerifier(t.Context(), cfg)
			if err == nil {
				t.Fatal("NewVerifier accepted the config")
			}
			for _, s := range tc.wantSub {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}

	t.Run("discovery unreachable is ErrKeySetUnavailable", func(t *testing.T) {
		down := rstest.Start(t)
		down.SetUnavailable(true)
		_, err := rs.NewVerifier(t.Context(), rs.Config{Issuer: down.URL, Audience: "x", HTTPClient: down.Client()})
		wantErr(t, err, rs.ErrKeySetUnavailable)
	})
	t.Run("JWKSURL skips discovery", func(t *testing.T) {
		v, err := rs.NewVerifier(t.Context(), rs.Config{Issuer: iss.URL, Audience: rstest.DefaultAudience, JWKSURL: iss.JWKSURL(), HTTPClient: iss.Client()})
		if err != nil {
			t.Fatal(err)
		}
		before := iss.DiscoveryRequests()
		if _, err := v.Verify(t.Context(), iss.Mint(rstest.Token{})); err != nil {
			t.Fatal(err)
		}
		if iss.DiscoveryRequests() != before || v.Metadata().JWKSURI != "" {
			t.Error("discovery was used")
		}
	})
	t.Run("discovery metadata is exposed", func(t *testing.T) {
		v, err := rs.NewVerifier(t.Context(), base)
		if err != nil {
			t.Fatal(err)
		}
		if m := v.Metadata(); m.Issuer != iss.URL || m.JWKSURI != iss.JWKSURL() || m.IntrospectionEndpoint != iss.IntrospectionEndpoint() {
			t.Errorf("metadata = %+v", m)
		}
	})
}

func TestStaticKeySet(t *testing.T) {
	iss := rstest.Start(t, rstest.WithAlgorithms("ES256", "RS256"))
	keys, err := rs.ParseJWKS(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("ParseJWKS = %d keys", len(keys))
	}
	ks, err := rs.NewStaticKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	v, err := rs.NewVerifier(t.Context(), rs.Config{Issuer: iss.URL, Audience: rstest.DefaultAudience, KeySet: ks})
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []string{"ES256", "RS256"} {
		if _, err := v.Verify(t.Context(), iss.Mint(rstest.Token{Alg: alg})); err != nil {
			t.Errorf("%s: %v", alg, err)
		}
	}
	iss.Rotate()
	_, err = v.Verify(t.Context(), iss.Mint(rstest.Token{}))
	wantErr(t, err, rs.ErrUnknownKey)

	t.Run("keys without kid or of unsupported type refused", func(t *testing.T) {
		if _, err := rs.NewStaticKeySet(rs.PublicKey{Key: keys[0].Key}); err == nil {
			t.Error("key without kid accepted")
		}
		if _, err := rs.NewStaticKeySet(rs.PublicKey{KeyID: "k", Key: []byte("secret")}); err == nil {
			t.Error("HMAC secret accepted as a key")
		}
		if _, err := rs.NewStaticKeySet(rs.PublicKey{KeyID: "k", Algorithm: "RS256", Key: keys[0].Key}); err == nil {
			t.Error("EC key accepted for RS256")
		}
	})
}

func TestParseJWKS(t *testing.T) {
	iss := rstest.Start(t)
	kid := iss.KeyID("ES256")
	good := string(iss.JWKS())
	for _, tc := range []struct {
		name string
		doc  string
		n    int
	}{
		{"RFC 7517 §5 a JWKS parses", good, 1},
		{"RFC 7517 §4.2 use enc skipped", strings.Replace(good, `"use":"sig"`, `"use":"enc"`, 1), 0},
		{"RFC 7517 §4.5 key without kid skipped", strings.Replace(good, `"kid":"`+kid+`",`, ``, 1), 0},
		{"RFC 7518 §6.3 symmetric key skipped", `{"keys":[{"kty":"oct","kid":"h","k":"c2VjcmV0"}]}`, 0},
		{"RFC 7517 §4.4 alg not fitting the key skipped", strings.Replace(good, `"alg":"ES256"`, `"alg":"RS256"`, 1), 0},
		{"RFC 7517 §5 unknown key types skipped, others kept", `{"keys":[{"kty":"XYZ","kid":"x"},` + good[len(`{"keys":[`):], 1},
		{"not a JWKS", `[1,2]`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := rs.ParseJWKS([]byte(tc.doc))
			if tc.n == 0 {
				if err == nil {
					t.Fatalf("keys = %v, want an error", keys)
				}
				return
			}
			if err != nil || len(keys) != tc.n {
				t.Fatalf("keys = %d, err = %v", len(keys), err)
			}
		})
	}
}
