package token

import (
	"cmp"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// algs returns the signing algorithms every tenant holds keys for, in the
// order EnsureKeys, Rotate and the JWKS list them.
func algs() [2]string { return [2]string{model.AlgES256, model.AlgRS256} }

// rsaBits is the RSA modulus size. 2048 is the floor of RFC 7518 §3.3 and of
// RFC 9068 verifiers; larger keys slow every RS256 signature ~3× per
// doubling for no practical gain over the key's rotation lifetime.
const rsaBits = 2048

// GenerateKey creates a signing key for tenantID in the given state.
//
// The kid is the RFC 7638 JWK thumbprint (SHA-256, base64url) of the public
// key: unique without coordination and recomputable by anyone holding the
// JWK. PublicJWK is the public key as a JWK with "use":"sig", "alg" and
// "kid". PrivateSealed is the PKCS#8 DER private key sealed by s with
// additional data tenantID+"/"+kid, which binds the ciphertext to its row.
func GenerateKey(tenantID, alg string, state model.KeyState, s *Sealer, now time.Time) (model.SigningKey, error) {
	if tenantID == "" {
		return model.SigningKey{}, fmt.Errorf("token: generate key: empty tenant ID")
	}
	switch state {
	case model.KeyNext, model.KeyCurrent, model.KeyPrevious:
	default:
		return model.SigningKey{}, fmt.Errorf("token: generate key: unknown state %q", state)
	}
	var priv crypto.Signer
	var err error
	switch alg {
	case model.AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case model.AlgRS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	default:
		return model.SigningKey{}, fmt.Errorf("token: generate key: unsupported algorithm %q (want ES256 or RS256)", alg)
	}
	if err != nil {
		return model.SigningKey{}, fmt.Errorf("token: generate %s key: %w", alg, err)
	}

	jwk := jose.JSONWebKey{Key: priv.Public(), Algorithm: alg, Use: "sig"}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return model.SigningKey{}, fmt.Errorf("token: thumbprint: %w", err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	pub, err := json.Marshal(jwk)
	if err != nil {
		return model.SigningKey{}, fmt.Errorf("token: marshal public JWK: %w", err)
	}

	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return model.SigningKey{}, fmt.Errorf("token: marshal private key: %w", err)
	}
	sealed, err := s.Seal(der, keyAD(tenantID, jwk.KeyID))
	clear(der)
	if err != nil {
		return model.SigningKey{}, fmt.Errorf("token: seal private key: %w", err)
	}

	now = now.UTC()
	return model.SigningKey{
		TenantID:      tenantID,
		KID:           jwk.KeyID,
		Alg:           alg,
		State:         state,
		PublicJWK:     pub,
		PrivateSealed: sealed,
		CreatedAt:     now,
		UpdatedAt:     now,
	}, nil
}

// keyAD is the additional data a private key is sealed with.
func keyAD(tenantID, kid string) []byte { return []byte(tenantID + "/" + kid) }

// EnsureKeys makes sure tenantID has exactly one current and one next key
// for each of ES256 and RS256, creating what is missing. It is idempotent,
// so the server may call it for every tenant at start-up; pass the Repos of
// a transaction to make it atomic.
//
// It also repairs what two nodes running it at once may leave behind (the
// storage contract has no uniqueness rule per state): of several current
// keys the newest stays current and the others become previous — they may
// have signed tokens, so they stay published; of several next keys the newest
// stays and the others are deleted, since a next key has signed nothing. With
// no current key but a next one, the next key is promoted: it is already
// published, so verifiers know it.
func EnsureKeys(ctx context.Context, repos store.Repos, s *Sealer, tenantID string, now time.Time) error {
	keys, err := repos.Keys().List(ctx, tenantID)
	if err != nil {
		return fmt.Errorf("token: list keys of tenant %s: %w", tenantID, err)
	}
	kr := repos.Keys()
	for _, alg := range algs() {
		current := byState(keys, alg, model.KeyCurrent)
		next := byState(keys, alg, model.KeyNext)
		for _, k := range current[min(1, len(current)):] {
			if err := kr.SetState(ctx, tenantID, k.KID, model.KeyPrevious); err != nil {
				return fmt.Errorf("token: demote extra current key %s: %w", k.KID, err)
			}
		}
		for _, k := range next[min(1, len(next)):] {
			if err := kr.Delete(ctx, tenantID, k.KID); err != nil {
				return fmt.Errorf("token: delete extra next key %s: %w", k.KID, err)
			}
		}
		next = next[:min(1, len(next))]
		if len(current) == 0 {
			if len(next) == 1 {
				if err := kr.SetState(ctx, tenantID, next[0].KID, model.KeyCurrent); err != nil {
					return fmt.Errorf("token: promote next key %s: %w", next[0].KID, err)
				}
				next = nil
			} else if err := createKey(ctx, kr, s, tenantID, alg, model.KeyCurrent, now); err != nil {
				return err
			}
		}
		if len(next) == 0 {
			if err := createKey(ctx, kr, s, tenantID, alg, model.KeyNext, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// Rotate rotates tenantID's signing keys in one transaction of st. Per
// algorithm: previous keys are deleted, the current key becomes previous,
// the next key becomes current, and a new next key is generated.
//
// There is no downtime: the key that starts signing was published in the
// JWKS as next since the last rotation, so verifiers that cache the JWKS
// already hold it, and the key that stops signing stays published as
// previous, so tokens it signed keep verifying until the next rotation.
// Hence rotate at most once per longest access-token lifetime (24 h): a
// second rotation deletes the key that signed tokens still in use.
//
// Rotate does not write an audit event; a caller that needs the event in the
// same transaction uses RotateTx inside its own InTx.
func Rotate(ctx context.Context, st store.Store, s *Sealer, tenantID string, now time.Time) error {
	return st.InTx(ctx, func(r store.Repos) error {
		return RotateTx(ctx, r, s, tenantID, now)
	})
}

// RotateTx is Rotate with the Repos of a transaction the caller runs. If a
// tenant has no next key (EnsureKeys never ran), a new current key is
// generated instead, which signs at once without having been published in
// advance: verifiers with a cached JWKS must refetch it on the unknown kid.
func RotateTx(ctx context.Context, repos store.Repos, s *Sealer, tenantID string, now time.Time) error {
	kr := repos.Keys()
	keys, err := kr.List(ctx, tenantID)
	if err != nil {
		return fmt.Errorf("token: list keys of tenant %s: %w", tenantID, err)
	}
	for _, alg := range algs() {
		// Order matters for backends that enforce one current and one next
		// key per algorithm: free each state before filling it.
		for _, k := range byState(keys, alg, model.KeyPrevious) {
			if err := kr.Delete(ctx, tenantID, k.KID); err != nil {
				return fmt.Errorf("token: delete previous key %s: %w", k.KID, err)
			}
		}
		for _, k := range byState(keys, alg, model.KeyCurrent) {
			if err := kr.SetState(ctx, tenantID, k.KID, model.KeyPrevious); err != nil {
				return fmt.Errorf("token: retire current key %s: %w", k.KID, err)
			}
		}
		next := byState(keys, alg, model.KeyNext)
		for _, k := range next[min(1, len(next)):] {
			if err := kr.Delete(ctx, tenantID, k.KID); err != nil {
				return fmt.Errorf("token: delete extra next key %s: %w", k.KID, err)
			}
		}
		if len(next) > 0 {
			if err := kr.SetState(ctx, tenantID, next[0].KID, model.KeyCurrent); err != nil {
				return fmt.Errorf("token: promote next key %s: %w", next[0].KID, err)
			}
		} else if err := createKey(ctx, kr, s, tenantID, alg, model.KeyCurrent, now); err != nil {
			return err
		}
		if err := createKey(ctx, kr, s, tenantID, alg, model.KeyNext, now); err != nil {
			return err
		}
	}
	return nil
}

func createKey(ctx context.Context, kr store.Keys, s *Sealer, tenantID, alg string, state model.KeyState, now time.Time) error {
	k, err := GenerateKey(tenantID, alg, state, s, now)
	if err != nil {
		return err
	}
	if err := kr.Create(ctx, k); err != nil {
		return fmt.Errorf("token: store %s %s key of tenant %s: %w", state, alg, tenantID, err)
	}
	return nil
}

// byState returns the keys of one algorithm and state, newest first (ties
// broken by kid so that every node picks the same key).
func byState(keys []model.SigningKey, alg string, state model.KeyState) []model.SigningKey {
	var out []model.SigningKey
	for _, k := range keys {
		if k.Alg == alg && k.State == state {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, newestFirst)
	return out
}

func newestFirst(a, b model.SigningKey) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(b.KID, a.KID)
}
