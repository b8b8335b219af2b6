package rs

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/intelliauth/intelliauth/rs/rstest"
)

// fuzzSeeds are compact-JWS-shaped inputs, valid and broken.
func fuzzSeeds(iss *rstest.Issuer) []string {
	good := iss.Mint(rstest.Token{Scope: "read:transactions"})
	enc := base64.RawURLEncoding.EncodeToString
	return []string{
		good,
		iss.Mint(rstest.Token{Alg: "RS256", Audience: []string{"a", "b"}, Scope: "x y"}),
		iss.Mint(rstest.Token{Alg: "none"}),
		iss.Mint(rstest.Token{Alg: "HS256"}),
		iss.Mint(rstest.Token{Type: "JWT"}),
		iss.Mint(rstest.Token{Extra: map[string]any{"exp": 1.5e9, "aud": []any{1}}}),
		"", ".", "..", "...", "a.b.c", "a.b.c.d.e",
		enc([]byte(`{"alg":"ES256","crit":["b64"],"b64":false}`)) + ".e30.",
		enc([]byte(`{"alg":"ES256","kid":"x","typ":"at+jwt"}`)) + "." + enc([]byte(`{"exp":"soon"}`)) + ".AAAA",
		enc([]byte(`{"alg":"ES256","alg":"none"}`)) + ".e30.AA",
		enc([]byte(`{"ALG":"none"}`)) + ".e30.",
		strings.Repeat("A", 100) + "==." + strings.Repeat("_", 10) + ".-",
		good + "=",
		" " + good,
	}
}

// FuzzParse: the compact-JWS parser never panics, and what it accepts has
// exactly three parts with the signing input a prefix of the raw token.
func FuzzParse(f *testing.F) {
	iss := rstest.NewIssuer(rstest.WithAlgorithms("ES256", "RS256"))
	defer iss.Close()
	for _, s := range fuzzSeeds(iss) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		j, err := parse(raw)
		if err != nil {
			return
		}
		if strings.Count(raw, ".") != 2 || !strings.HasPrefix(raw, j.signingInput+".") ||
			raw != j.signingInput+"."+j.signature || j.header.Crit != nil {
			t.Fatalf("parse accepted %q as %+v", raw, j)
		}
	})
}

// FuzzVerify: Verify never panics, never accepts what go-jose would not
// verify with the same key, and what it accepts meets the RFC 9068 checks.
func FuzzVerify(f *testing.F) {
	iss := rstest.NewIssuer(rstest.WithAlgorithms("ES256", "RS256"))
	defer iss.Close()
	keys, err := ParseJWKS(iss.JWKS())
	if err != nil {
		f.Fatal(err)
	}
	ks, err := NewStaticKeySet(keys...)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	v, err := NewVerifier(context.Background(), Config{
		Issuer: iss.URL, Audience: rstest.DefaultAudience, KeySet: ks, CacheSize: -1,
		Now: func() time.Time { return now },
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range fuzzSeeds(iss) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := v.Verify(context.Background(), raw)
		if err != nil {
			if tok != nil {
				t.Fatal("token returned with an error")
			}
			return
		}
		if tok.Issuer != iss.URL || tok.Subject == "" || tok.ClientID == "" || tok.JTI == "" ||
			!now.Before(tok.ExpiresAt.Add(DefaultLeeway)) {
			t.Fatalf("accepted token fails the checks: %+v", tok)
		}
		// Differential: go-jose must agree the signature is good.
		jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256})
		if err != nil {
			t.Fatalf("rs accepted what go-jose cannot parse: %v", err)
		}
		kid := jws.Signatures[0].Header.KeyID
		var payload []byte
		for _, k := range keys {
			if k.KeyID == kid {
				payload, err = jws.Verify(k.Key)
			}
		}
		if err != nil || payload == nil {
			t.Fatalf("rs accepted a signature go-jose refuses: %v", err)
		}
		var got map[string]any
		if tok.Claims(&got) != nil || !bytes.Equal(payload, tok.claims) {
			t.Fatal("rs and go-jose disagree on the payload")
		}
	})
}
