package token

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/intelliauth/intelliauth/internal/model"
)

// The benchmarks run in parallel (b.RunParallel) so that -cpu 1,2 shows how
// signing scales with cores, which is what the token endpoint sees. Run:
//
//	go test ./internal/token -run '^$' -bench . -cpu 1,2 -benchmem

func benchSign(b *testing.B, alg string) {
	kr, _, _ := newTestKeyring(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := testClaims()
		for pb.Next() {
			// A fresh jti per token, as the token endpoint does.
			c.JTI = NewJTI()
			if _, err := kr.SignAccessToken(alg, c); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkSignAccessTokenES256(b *testing.B) { benchSign(b, model.AlgES256) }
func BenchmarkSignAccessTokenRS256(b *testing.B) { benchSign(b, model.AlgRS256) }

func BenchmarkVerifyAccessTokenES256(b *testing.B) {
	kr, _, _ := newTestKeyring(b)
	raw, err := kr.SignAccessToken(model.AlgES256, testClaims())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := kr.VerifyAccessToken(raw); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRawES256Sign is the floor: one ecdsa.Sign of a SHA-256 digest,
// nothing else.
func BenchmarkRawES256Sign(b *testing.B) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0"))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := ecdsa.Sign(rand.Reader, priv, digest[:]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkGoJoseSignAccessTokenES256 is the alternative SignAccessToken
// does not take — go-jose's generic Signer, created once and shared — kept
// so the choice can be re-measured when go-jose changes.
func BenchmarkGoJoseSignAccessTokenES256(b *testing.B) {
	kr, _, _ := newTestKeyring(b)
	sk := kr.es256
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: sk.ec, KeyID: sk.kid}},
		(&jose.SignerOptions{}).WithType(TypeAccessToken))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := testClaims()
		for pb.Next() {
			c.JTI = NewJTI()
			p, err := c.payload()
			if err != nil {
				b.Error(err)
				return
			}
			payload, err := json.Marshal(&p)
			if err != nil {
				b.Error(err)
				return
			}
			obj, err := signer.Sign(payload)
			if err != nil {
				b.Error(err)
				return
			}
			if _, err := obj.CompactSerialize(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
