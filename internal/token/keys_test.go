package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/intelliauth/intelliauth/internal/model"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestGenerateKey(t *testing.T) {
	s := newTestSealer(t, 1)
	for _, alg := range []string{model.AlgES256, model.AlgRS256} {
		t.Run(alg, func(t *testing.T) {
			k, err := GenerateKey("banking", alg, model.KeyNext, s, testNow.In(time.FixedZone("X", 3600)))
			if err != nil {
				t.Fatal(err)
			}
			if k.TenantID != "banking" || k.Alg != alg || k.State != model.KeyNext {
				t.Errorf("key = %+v", k)
			}
			if !k.CreatedAt.Equal(testNow) || k.CreatedAt.Location() != time.UTC || !k.UpdatedAt.Equal(testNow) {
				t.Errorf("CreatedAt = %v, UpdatedAt = %v; want %v in UTC", k.CreatedAt, k.UpdatedAt, testNow)
			}

			var members map[string]any
			if err := json.Unmarshal(k.PublicJWK, &members); err != nil {
				t.Fatal(err)
			}
			if members["use"] != "sig" || members["alg"] != alg || members["kid"] != k.KID {
				t.Errorf("public JWK = %s", k.PublicJWK)
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := members[private]; ok {
					t.Errorf("public JWK holds private member %q", private)
				}
			}

			// RFC 7638: the kid is the SHA-256 thumbprint of the public key.
			var jwk jose.JSONWebKey
			if err := json.Unmarshal(k.PublicJWK, &jwk); err != nil {
				t.Fatal(err)
			}
			tp, err := jwk.Thumbprint(crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if want := base64.RawURLEncoding.EncodeToString(tp); k.KID != want {
				t.Errorf("kid = %s, want thumbprint %s", k.KID, want)
			}

			// The private key opens only with its own tenant and kid.
			der, err := s.Open(k.PrivateSealed, []byte("banking/"+k.KID))
			if err != nil {
				t.Fatal(err)
			}
			priv, err := x509.ParsePKCS8PrivateKey(der)
			if err != nil {
				t.Fatal(err)
			}
			type publicKeyer interface{ Public() crypto.PublicKey }
			if !priv.(publicKeyer).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(jwk.Key) {
				t.Error("private key does not match the public JWK")
			}
			switch alg {
			case model.AlgES256:
				if p := priv.(*ecdsa.PrivateKey); p.Curve.Params().Name != "P-256" {
					t.Errorf("curve = %s", p.Curve.Params().Name)
				}
			case model.AlgRS256:
				if p := priv.(*rsa.PrivateKey); p.N.BitLen() != 2048 {
					t.Errorf("RSA modulus = %d bits", p.N.BitLen())
				}
			}
			if _, err := s.Open(k.PrivateSealed, []byte("retail/"+k.KID)); err == nil {
				t.Error("private key opened with another tenant's additional data")
			}
		})
	}
}

func TestGenerateKeyRejects(t *testing.T) {
	s := newTestSealer(t, 1)
	cases := []struct {
		name, tenant, alg string
		state             model.KeyState
	}{
		{"HS256", "t", "HS256", model.KeyNext},
		{"none", "t", "none", model.KeyNext},
		{"empty tenant", "", model.AlgES256, model.KeyNext},
		{"unknown state", "t", model.AlgES256, "retired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := GenerateKey(c.tenant, c.alg, c.state, s, testNow); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// states summarizes a tenant's keys as alg → state → kids.
func states(keys []model.SigningKey) map[string]map[model.KeyState][]string {
	out := map[string]map[model.KeyState][]string{}
	for _, k := range keys {
		if out[k.Alg] == nil {
			out[k.Alg] = map[model.KeyState][]string{}
		}
		out[k.Alg][k.State] = append(out[k.Alg][k.State], k.KID)
	}
	for _, m := range out {
		for _, kids := range m {
			slices.Sort(kids)
		}
	}
	return out
}

func requireOneEach(t *testing.T, keys []model.SigningKey, prevCount int) map[string]map[model.KeyState][]string {
	t.Helper()
	st := states(keys)
	for _, alg := range []string{model.AlgES256, model.AlgRS256} {
		if n := len(st[alg][model.KeyCurrent]); n != 1 {
			t.Errorf("%s: %d current keys, want 1", alg, n)
		}
		if n := len(st[alg][model.KeyNext]); n != 1 {
			t.Errorf("%s: %d next keys, want 1", alg, n)
		}
		if n := len(st[alg][model.KeyPrevious]); n != prevCount {
			t.Errorf("%s: %d previous keys, want %d", alg, n, prevCount)
		}
	}
	return st
}

func TestEnsureKeys(t *testing.T) {
	ctx := t.Context()
	s := newTestSealer(t, 1)
	st := &memStore{}
	if err := EnsureKeys(ctx, st, s, "banking", testNow); err != nil {
		t.Fatal(err)
	}
	before := requireOneEach(t, st.snapshot(), 0)

	// Idempotent: a second run (another node starting) changes nothing.
	if err := EnsureKeys(ctx, st, s, "banking", testNow.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	after := requireOneEach(t, st.snapshot(), 0)
	if !jsonEqual(before, after) {
		t.Fatalf("second EnsureKeys changed keys: %v → %v", before, after)
	}

	// Tenants are independent.
	if err := EnsureKeys(ctx, st, s, "retail", testNow); err != nil {
		t.Fatal(err)
	}
	if n := len(st.snapshot()); n != 8 {
		t.Fatalf("%d keys for two tenants, want 8", n)
	}
}

func TestEnsureKeysRepairs(t *testing.T) {
	ctx := t.Context()
	s := newTestSealer(t, 1)
	gen := func(alg string, state model.KeyState, at time.Time) model.SigningKey {
		k, err := GenerateKey("banking", alg, state, s, at)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	t0, t1 := testNow, testNow.Add(time.Minute)

	t.Run("two nodes created two current and two next keys", func(t *testing.T) {
		oldCur, newCur := gen(model.AlgES256, model.KeyCurrent, t0), gen(model.AlgES256, model.KeyCurrent, t1)
		oldNext, newNext := gen(model.AlgES256, model.KeyNext, t0), gen(model.AlgES256, model.KeyNext, t1)
		st := &memStore{keys: memKeys{keys: []model.SigningKey{oldCur, newCur, oldNext, newNext}}}
		if err := EnsureKeys(ctx, st, s, "banking", t1); err != nil {
			t.Fatal(err)
		}
		got := states(st.snapshot())[model.AlgES256]
		if !slices.Equal(got[model.KeyCurrent], []string{newCur.KID}) {
			t.Errorf("current = %v, want the newest %s", got[model.KeyCurrent], newCur.KID)
		}
		if !slices.Equal(got[model.KeyPrevious], []string{oldCur.KID}) {
			t.Errorf("previous = %v, want the demoted %s (it may have signed tokens)", got[model.KeyPrevious], oldCur.KID)
		}
		if !slices.Equal(got[model.KeyNext], []string{newNext.KID}) {
			t.Errorf("next = %v, want %s", got[model.KeyNext], newNext.KID)
		}
	})

	t.Run("next without current is promoted", func(t *testing.T) {
		next := gen(model.AlgRS256, model.KeyNext, t0)
		st := &memStore{keys: memKeys{keys: []model.SigningKey{next}}}
		if err := EnsureKeys(ctx, st, s, "banking", t1); err != nil {
			t.Fatal(err)
		}
		got := requireOneEach(t, st.snapshot(), 0)
		if !slices.Equal(got[model.AlgRS256][model.KeyCurrent], []string{next.KID}) {
			t.Errorf("current = %v, want the promoted next key %s", got[model.AlgRS256][model.KeyCurrent], next.KID)
		}
	})
}

func TestRotate(t *testing.T) {
	ctx := t.Context()
	s := newTestSealer(t, 1)
	st := &memStore{}
	if err := EnsureKeys(ctx, st, s, "banking", testNow); err != nil {
		t.Fatal(err)
	}
	if err := EnsureKeys(ctx, st, s, "retail", testNow); err != nil {
		t.Fatal(err)
	}
	retailBefore := states(keysOf(st.snapshot(), "retail"))

	s0 := requireOneEach(t, keysOf(st.snapshot(), "banking"), 0)
	if err := Rotate(ctx, st, s, "banking", testNow.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	s1 := requireOneEach(t, keysOf(st.snapshot(), "banking"), 1)
	if err := Rotate(ctx, st, s, "banking", testNow.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	s2 := requireOneEach(t, keysOf(st.snapshot(), "banking"), 1)

	for _, alg := range []string{model.AlgES256, model.AlgRS256} {
		// next → current, current → previous, previous → deleted.
		if s1[alg][model.KeyCurrent][0] != s0[alg][model.KeyNext][0] {
			t.Errorf("%s: the next key did not become current", alg)
		}
		if s1[alg][model.KeyPrevious][0] != s0[alg][model.KeyCurrent][0] {
			t.Errorf("%s: the current key did not become previous", alg)
		}
		if s1[alg][model.KeyNext][0] == s0[alg][model.KeyNext][0] {
			t.Errorf("%s: no new next key", alg)
		}
		if s2[alg][model.KeyPrevious][0] != s1[alg][model.KeyCurrent][0] || s2[alg][model.KeyCurrent][0] != s1[alg][model.KeyNext][0] {
			t.Errorf("%s: second rotation did not move states", alg)
		}
		for _, k := range st.snapshot() {
			if k.KID == s0[alg][model.KeyCurrent][0] {
				t.Errorf("%s: the old previous key %s was not deleted", alg, k.KID)
			}
		}
	}
	if got := states(keysOf(st.snapshot(), "retail")); !jsonEqual(got, retailBefore) {
		t.Error("rotating one tenant changed another tenant's keys")
	}
}

func TestRotateIsAtomic(t *testing.T) {
	ctx := t.Context()
	s := newTestSealer(t, 1)
	st := &memStore{}
	if err := EnsureKeys(ctx, st, s, "banking", testNow); err != nil {
		t.Fatal(err)
	}
	before := states(st.snapshot())
	one := 1 // ES256's new next key is created, RS256's fails
	st.keys.failCreate = &one
	if err := Rotate(ctx, st, s, "banking", testNow); err == nil {
		t.Fatal("Rotate succeeded despite a failing Create")
	}
	if after := states(st.snapshot()); !jsonEqual(before, after) {
		t.Fatalf("a failed rotation left changes behind: %v → %v", before, after)
	}
}

func TestRotateWithoutNextKey(t *testing.T) {
	ctx := t.Context()
	s := newTestSealer(t, 1)
	cur, err := GenerateKey("banking", model.AlgES256, model.KeyCurrent, s, testNow)
	if err != nil {
		t.Fatal(err)
	}
	st := &memStore{keys: memKeys{keys: []model.SigningKey{cur}}}
	if err := Rotate(ctx, st, s, "banking", testNow); err != nil {
		t.Fatal(err)
	}
	got := states(st.snapshot())
	if !slices.Equal(got[model.AlgES256][model.KeyPrevious], []string{cur.KID}) {
		t.Errorf("previous = %v, want %s", got[model.AlgES256][model.KeyPrevious], cur.KID)
	}
	for _, alg := range []string{model.AlgES256, model.AlgRS256} {
		if len(got[alg][model.KeyCurrent]) != 1 || len(got[alg][model.KeyNext]) != 1 {
			t.Errorf("%s: states %v, want one current and one next", alg, got[alg])
		}
	}
	if len(got[model.AlgRS256][model.KeyPrevious]) != 0 {
		t.Errorf("RS256 has previous keys %v out of nowhere", got[model.AlgRS256][model.KeyPrevious])
	}
}

func keysOf(keys []model.SigningKey, tenantID string) []model.SigningKey {
	var out []model.SigningKey
	for _, k := range keys {
		if k.TenantID == tenantID {
			out = append(out, k)
		}
	}
	return out
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
