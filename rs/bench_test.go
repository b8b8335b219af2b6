package rs

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/intelliauth/intelliauth/rs/rstest"
)

// benchSetup is a fake issuer shaped like IntelliAuth's banking tenant and
// a verifier over its keys (static: no network in the loop).
func benchSetup(b *testing.B, cacheSize int) (*rstest.Issuer, *Verifier, []PublicKey) {
	b.Helper()
	iss := rstest.NewIssuer(rstest.WithAlgorithms(ES256, RS256), rstest.WithPath("/t/banking"), rstest.WithAudience("api.banking.example.com"))
	b.Cleanup(iss.Close)
	keys, err := ParseJWKS(iss.JWKS())
	if err != nil {
		b.Fatal(err)
	}
	ks, err := NewStaticKeySet(keys...)
	if err != nil {
		b.Fatal(err)
	}
	v, err := NewVerifier(context.Background(), Config{Issuer: iss.URL, Audience: "api.banking.example.com", KeySet: ks, CacheSize: cacheSize})
	if err != nil {
		b.Fatal(err)
	}
	return iss, v, keys
}

// benchToken is an access token like the server's for reporting-job.
func benchToken(iss *rstest.Issuer, alg string) string {
	return iss.Mint(rstest.Token{Alg: alg, Subject: "reporting-job", ClientID: "reporting-job", Scope: "read:transactions"})
}

// BenchmarkVerifyCold is a full verification every time (cache disabled):
// parse, alg/typ checks, key lookup, signature, claims.
func BenchmarkVerifyCold(b *testing.B) {
	for _, alg := range []string{ES256, RS256} {
		b.Run(alg, func(b *testing.B) {
			iss, v, _ := benchSetup(b, -1)
			raw := benchToken(iss, alg)
			ctx := context.Background()
			if _, err := v.Verify(ctx, raw); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := v.Verify(ctx, raw); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkVerifyColdGoJose does the same work with go-jose's JWS parser
// and verifier instead of the package's own, for comparison: parse with an
// alg allowlist, typ check, key lookup, jws.Verify, then the same claims
// checks.
func BenchmarkVerifyColdGoJose(b *testing.B) {
	for _, alg := range []string{ES256, RS256} {
		b.Run(alg, func(b *testing.B) {
			iss, v, _ := benchSetup(b, -1)
			raw := benchToken(iss, alg)
			ctx := context.Background()
			algs := []jose.SignatureAlgorithm{jose.ES256, jose.RS256}
			verify := func() error {
				jws, err := jose.ParseSignedCompact(raw, algs)
				if err != nil {
					return err
				}
				h := jws.Signatures[0].Protected
				if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !isAccessTokenType(typ) {
					return ErrType
				}
				key, err := v.keys.Key(ctx, h.KeyID, h.Algorithm)
				if err != nil {
					return err
				}
				payload, err := jws.Verify(key)
				if err != nil {
					return err
				}
				_, err = v.check(payload, v.now())
				return err
			}
			if err := verify(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := verify(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkVerifyWarm is a cache hit: SHA-256 of the token, a sharded
// lookup, the kid-still-published check, a copy of the token.
func BenchmarkVerifyWarm(b *testing.B) {
	for _, hot := range []int{1, 1000} {
		b.Run(fmt.Sprintf("tokens=%d", hot), func(b *testing.B) {
			iss, v, _ := benchSetup(b, 0)
			ctx := context.Background()
			toks := make([]string, hot)
			for i := range toks {
				toks[i] = benchToken(iss, ES256)
				if _, err := v.Verify(ctx, toks[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := v.Verify(ctx, toks[i%hot]); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}

// BenchmarkMiddleware is RequireScope end to end on an httptest recorder:
// bearer extraction, Verify, scope check, context, the handler.
func BenchmarkMiddleware(b *testing.B) {
	for _, tc := range []struct {
		name  string
		cache int
	}{{"warm", 0}, {"cold", -1}} {
		b.Run(tc.name, func(b *testing.B) {
			iss, v, _ := benchSetup(b, tc.cache)
			h := NewMiddleware(v, MiddlewareOptions{}).RequireScope("read:transactions")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			}))
			auth := "Bearer " + benchToken(iss, ES256)
			b.ReportAllocs()
			b.ResetTimer()
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				r := httptest.NewRequest(http.MethodGet, "/transactions", nil)
				r.Header.Set("Authorization", auth)
				for pb.Next() {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, r)
					if rec.Code != http.StatusNoContent {
						b.Errorf("status %d", rec.Code)
						return
					}
				}
			})
		})
	}
}

// BenchmarkParse is the compact-JWS parser alone.
func BenchmarkParse(b *testing.B) {
	iss := rstest.NewIssuer()
	defer iss.Close()
	raw := benchToken(iss, ES256)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := parse(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawES256Verify is the floor of a cold verification on this
// machine: ecdsa.Verify of a SHA-256 digest, nothing else.
func BenchmarkRawES256Verify(b *testing.B) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("signing input"))
	r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if !ecdsa.Verify(&k.PublicKey, digest[:], r, s) {
				b.Error("does not verify")
				return
			}
		}
	})
}

// BenchmarkTokenKey is the floor of a warm check: the SHA-256 of a token.
func BenchmarkTokenKey(b *testing.B) {
	iss := rstest.NewIssuer(rstest.WithPath("/t/banking"), rstest.WithAudience("api.banking.example.com"))
	defer iss.Close()
	raw := benchToken(iss, ES256)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_ = tokenKey(raw)
		}
	})
}
