package rs_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/rs"
	"github.com/intelliauth/intelliauth/rs/rstest"
)

// staticVerifier is a verifier over the issuer's keys with a counting key
// set, on clk.
func staticVerifier(t *testing.T, iss *rstest.Issuer, clk *fakeClock, cfg rs.Config) (*rs.Verifier, *countingKeySet) {
	t.Helper()
	keys, err := rs.ParseJWKS(iss.JWKS())
	if err != nil {
		t.Fatal(err)
	}
	static, err := rs.NewStaticKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	ks := &countingKeySet{KeySet: static}
	cfg.Issuer, cfg.KeySet, cfg.Now = iss.URL, ks, clk.Now
	if cfg.Audience == "" {
		cfg.Audience = rstest.DefaultAudience
	}
	v, err := rs.NewVerifier(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v, ks
}

func TestVerifierCache(t *testing.T) {
	clk := newClock()
	iss := rstest.Start(t, rstest.WithClock(clk.Now))

	t.Run("a hot token skips the signature", func(t *testing.T) {
		v, ks := staticVerifier(t, iss, clk, rs.Config{})
		raw := iss.Mint(rstest.Token{Scope: "a"})
		if _, err := v.Verify(t.Context(), raw); err != nil {
			t.Fatal(err)
		}
		// From now on the key set hands out a key that cannot verify the
		// token: only a cache hit still passes.
		ks.swap(otherKey(t))
		for range 10 {
			if _, err := v.Verify(t.Context(), raw); err != nil {
				t.Fatalf("cached token re-verified: %v", err)
			}
		}
		_, err := v.Verify(t.Context(), iss.Mint(rstest.Token{Scope: "a"}))
		wantErr(t, err, rs.ErrSignature)
	})

	t.Run("RFC 7517 a cached token stops passing once its key is withdrawn", func(t *testing.T) {
		v, ks := staticVerifier(t, iss, clk, rs.Config{})
		raw := iss.Mint(rstest.Token{})
		if _, err := v.Verify(t.Context(), raw); err != nil {
			t.Fatal(err)
		}
		ks.withdraw(kidOf(t, raw))
		_, err := v.Verify(t.Context(), raw)
		wantErr(t, err, rs.ErrUnknownKey)
	})

	t.Run("a disabled cache verifies every time", func(t *testing.T) {
		v, ks := staticVerifier(t, iss, clk, rs.Config{CacheSize: -1})
		raw := iss.Mint(rstest.Token{})
		for range 3 {
			if _, err := v.Verify(t.Context(), raw); err != nil {
				t.Fatal(err)
			}
		}
		if n := ks.calls.Load(); n != 3 {
			t.Errorf("key looked up %d times, want 3", n)
		}
	})

	t.Run("RFC 7519 §4.1.4 the cache never serves a token at or after exp", func(t *testing.T) {
		clk := newClock()
		v, ks := staticVerifier(t, iss, clk, rs.Config{Leeway: -1})
		raw := iss.Mint(rstest.Token{IssuedAt: clk.Now(), ExpiresAt: clk.Now().Add(time.Minute)})
		if _, err := v.Verify(t.Context(), raw); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
		_, err := v.Verify(t.Context(), raw)
		wantErr(t, err, rs.ErrExpired)
		if n := ks.calls.Load(); n != 2 {
			t.Errorf("key looked up %d times: the expired entry must not be served", n)
		}
	})

	t.Run("RFC 7519 §4.1.4 within the leeway after exp the token is re-verified, not served from cache", func(t *testing.T) {
		clk := newClock()
		v, ks := staticVerifier(t, iss, clk, rs.Config{})
		raw := iss.Mint(rstest.Token{IssuedAt: clk.Now(), ExpiresAt: clk.Now().Add(time.Minute)})
		if _, err := v.Verify(t.Context(), raw); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute + 10*time.Second)
		if _, err := v.Verify(t.Context(), raw); err != nil {
			t.Fatalf("within leeway: %v", err)
		}
		clk.Advance(time.Second)
		if _, err := v.Verify(t.Context(), raw); err != nil {
			t.Fatalf("within leeway: %v", err)
		}
		if n := ks.calls.Load(); n != 3 {
			t.Errorf("key looked up %d times, want 3 (nothing cached past exp)", n)
		}
		clk.Advance(30 * time.Second)
		_, err := v.Verify(t.Context(), raw)
		wantErr(t, err, rs.ErrExpired)
	})

	t.Run("failures are not cached", func(t *testing.T) {
		v, ks := staticVerifier(t, iss, clk, rs.Config{})
		raw := iss.Mint(rstest.Token{Audience: []string{"other"}})
		for range 2 {
			_, err := v.Verify(t.Context(), raw)
			wantErr(t, err, rs.ErrAudience)
		}
		if n := ks.calls.Load(); n != 2 {
			t.Errorf("key looked up %d times, want 2", n)
		}
	})

	t.Run("the caller's token is its own copy", func(t *testing.T) {
		v, _ := staticVerifier(t, iss, clk, rs.Config{})
		raw := iss.Mint(rstest.Token{})
		a, _ := v.Verify(t.Context(), raw)
		a.Audience[0] = "tampered"
		a.Subject = "tampered"
		b, err := v.Verify(t.Context(), raw)
		if err != nil {
			t.Fatal(err)
		}
		if b.Audience[0] != rstest.DefaultAudience || b.Subject != "user-1" {
			t.Errorf("cached token was modified through a returned copy: %+v", b)
		}
	})

	t.Run("cache keyed per token: two tokens, two entries", func(t *testing.T) {
		v, _ := staticVerifier(t, iss, clk, rs.Config{})
		a, _ := v.Verify(t.Context(), iss.Mint(rstest.Token{Scope: "a"}))
		b, _ := v.Verify(t.Context(), iss.Mint(rstest.Token{Scope: "b"}))
		if !a.HasScope("a") || !b.HasScope("b") {
			t.Error("tokens mixed up")
		}
	})
}

func TestVerifyConcurrent(t *testing.T) {
	clk := newClock()
	iss, v := newIssuerVerifier(t, clk, rs.Config{CacheSize: 16}, rstest.WithAlgorithms("ES256", "RS256"))
	var toks []string
	for i := range 40 {
		alg := "ES256"
		if i%4 == 0 {
			alg = "RS256"
		}
		toks = append(toks, iss.Mint(rstest.Token{Alg: alg, Scope: "read:transactions"}))
	}
	bad := iss.Mint(rstest.Token{Audience: []string{"x"}})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				tok, err := v.Verify(context.Background(), toks[(g+i)%len(toks)])
				if err != nil || !tok.HasScope("read:transactions") {
					t.Errorf("Verify: %v", err)
					return
				}
				if _, err := v.Verify(context.Background(), bad); !errors.Is(err, rs.ErrAudience) {
					t.Errorf("bad token: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestIntrospector(t *testing.T) {
	clk := newClock()
	iss, v := newIssuerVerifier(t, clk, rs.Config{})
	in, err := rs.NewIntrospector(t.Context(), rs.IntrospectorConfig{
		Issuer: iss.URL, ClientID: iss.ClientID, ClientSecret: iss.ClientSecret, HTTPClient: iss.Client(), Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if in.Endpoint() != iss.IntrospectionEndpoint() {
		t.Errorf("discovered endpoint %q", in.Endpoint())
	}
	m := rs.NewMiddleware(v, rs.MiddlewareOptions{Introspector: in})
	h := m.RequireScope("payments:approve")(m.RequireActive(okHandler(t)))
	raw := iss.Mint(rstest.Token{Scope: "payments:approve"})

	t.Run("RFC 7662 §2.2 active token passes", func(t *testing.T) {
		if rec := serve(h, get("Bearer "+raw)); rec.Code != 200 {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
	t.Run("RFC 7662 §2.2 answer cached for CacheTTL", func(t *testing.T) {
		n := iss.IntrospectionRequests()
		for range 5 {
			serve(h, get("Bearer "+raw))
		}
		if got := iss.IntrospectionRequests() - n; got != 0 {
			t.Errorf("%d introspections within the TTL, want 0", got)
		}
	})
	t.Run("RFC 7009 revoked token refused by RequireActive once the TTL passes", func(t *testing.T) {
		iss.Revoke(raw)
		clk.Advance(rs.DefaultIntrospectionCacheTTL)
		rec := serve(h, get("Bearer "+raw))
		if rec.Code != 401 {
			t.Fatalf("status %d", rec.Code)
		}
		want := `Bearer realm="api.banking.example.com", error="invalid_token", error_description="the access token is not active"`
		if got := rec.Header().Get("WWW-Authenticate"); got != want {
			t.Errorf("WWW-Authenticate = %q", got)
		}
		// Plain verification still accepts it: a JWT is valid until exp.
		if _, err := v.Verify(t.Context(), raw); err != nil {
			t.Errorf("Verify of a revoked token: %v (a JWT stays valid until exp)", err)
		}
	})
	t.Run("a token without the scope costs no introspection", func(t *testing.T) {
		n := iss.IntrospectionRequests()
		rec := serve(h, get("Bearer "+iss.Mint(rstest.Token{Scope: "read:transactions"})))
		if rec.Code != 403 || iss.IntrospectionRequests() != n {
			t.Errorf("status %d, %d introspections", rec.Code, iss.IntrospectionRequests()-n)
		}
	})
	t.Run("RFC 7662 §2.1 wrong client credentials → 503, fail closed", func(t *testing.T) {
		bad, err := rs.NewIntrospector(t.Context(), rs.IntrospectorConfig{
			Endpoint: iss.IntrospectionEndpoint(), ClientID: iss.ClientID, ClientSecret: "wrong", HTTPClient: iss.Client(),
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = bad.Active(t.Context(), raw)
		wantErr(t, err, rs.ErrIntrospection)
		mb := rs.NewMiddleware(v, rs.MiddlewareOptions{Introspector: bad})
		rec := serve(mb.RequireActive(okHandler(t)), get("Bearer "+iss.Mint(rstest.Token{})))
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("status %d", rec.Code)
		}
	})
	t.Run("issuer down → 503", func(t *testing.T) {
		iss.SetUnavailable(true)
		defer iss.SetUnavailable(false)
		in2, _ := rs.NewIntrospector(t.Context(), rs.IntrospectorConfig{
			Endpoint: iss.IntrospectionEndpoint(), ClientID: iss.ClientID, ClientSecret: iss.ClientSecret, HTTPClient: iss.Client(),
		})
		_, err := in2.Active(t.Context(), raw)
		wantErr(t, err, rs.ErrIntrospection)
	})
	t.Run("config checked", func(t *testing.T) {
		for name, cfg := range map[string]rs.IntrospectorConfig{
			"no credentials":  {Endpoint: iss.IntrospectionEndpoint()},
			"no endpoint":     {ClientID: "a", ClientSecret: "b"},
			"TTL above bound": {Endpoint: iss.IntrospectionEndpoint(), ClientID: "a", ClientSecret: "b", CacheTTL: time.Hour},
			"bad endpoint":    {Endpoint: "introspect", ClientID: "a", ClientSecret: "b"},
		} {
			if _, err := rs.NewIntrospector(t.Context(), cfg); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
	})
	t.Run("cache disabled asks every time", func(t *testing.T) {
		in3, _ := rs.NewIntrospector(t.Context(), rs.IntrospectorConfig{
			Endpoint: iss.IntrospectionEndpoint(), ClientID: iss.ClientID, ClientSecret: iss.ClientSecret, HTTPClient: iss.Client(), CacheTTL: -1,
		})
		tok := iss.Mint(rstest.Token{})
		n := iss.IntrospectionRequests()
		for range 3 {
			if ok, err := in3.Active(t.Context(), tok); !ok || err != nil {
				t.Fatal(ok, err)
			}
		}
		if got := iss.IntrospectionRequests() - n; got != 3 {
			t.Errorf("%d introspections, want 3", got)
		}
	})
}

// otherKey is a P-256 public key that signed nothing.
func otherKey(t *testing.T) crypto.PublicKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &k.PublicKey
}
