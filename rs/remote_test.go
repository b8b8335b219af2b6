package rs_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/rs"
	"github.com/intelliauth/intelliauth/rs/rstest"
)

func TestRemoteKeySetRotation(t *testing.T) {
	clk := newClock()
	iss, v := newIssuerVerifier(t, clk, rs.Config{})
	old := iss.Mint(rstest.Token{})
	if _, err := v.Verify(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	if n := iss.JWKSRequests(); n != 1 {
		t.Fatalf("JWKS fetched %d times for the first token, want 1", n)
	}

	iss.Rotate()
	fresh := iss.Mint(rstest.Token{})
	t.Run("OIDC Core §10.1.1 unknown kid within MinRefetchInterval is refused without a fetch", func(t *testing.T) {
		_, err := v.Verify(t.Context(), fresh)
		wantErr(t, err, rs.ErrUnknownKey)
		if n := iss.JWKSRequests(); n != 1 {
			t.Errorf("JWKS fetched %d times, want still 1", n)
		}
	})
	t.Run("OIDC Core §10.1.1 new kid picked up by one refetch after the interval", func(t *testing.T) {
		clk.Advance(rs.DefaultMinRefetchInterval)
		if _, err := v.Verify(t.Context(), fresh); err != nil {
			t.Fatalf("token of the rotated key: %v", err)
		}
		if n := iss.JWKSRequests(); n != 2 {
			t.Errorf("JWKS fetched %d times, want 2", n)
		}
	})
	t.Run("token of the previous key still verifies", func(t *testing.T) {
		if _, err := v.Verify(t.Context(), iss.Mint(rstest.Token{KeyID: kidOf(t, old)})); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a withdrawn key stops verifying after the background refresh", func(t *testing.T) {
		iss.Rotate() // the key of old is withdrawn now
		// CacheSize is the default: the first token is cached until its exp,
		// so use one that was never verified.
		oldKeyTok := iss.Mint(rstest.Token{KeyID: kidOf(t, old)}) // header names the withdrawn kid, signed by the new key
		clk.Advance(rs.DefaultRefreshInterval)
		n := iss.JWKSRequests()
		// A kid still held (the key of fresh, now previous) and a token not
		// cached: the stale set starts a background refresh.
		if _, err := v.Verify(t.Context(), iss.Mint(rstest.Token{KeyID: kidOf(t, fresh)})); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return iss.JWKSRequests() == n+1 })
		waitFor(t, func() bool {
			_, err := v.KeySet().Key(t.Context(), kidOf(t, old), rs.ES256)
			return errors.Is(err, rs.ErrUnknownKey)
		})
		_, err := v.Verify(t.Context(), oldKeyTok)
		wantErr(t, err, rs.ErrUnknownKey)
	})
}

func TestRemoteKeySetFloodOfUnknownKids(t *testing.T) {
	clk := newClock()
	iss, v := newIssuerVerifier(t, clk, rs.Config{})
	if _, err := v.Verify(t.Context(), iss.Mint(rstest.Token{})); err != nil {
		t.Fatal(err)
	}
	bad := make([]string, 200)
	for i := range bad {
		bad[i] = iss.Mint(rstest.Token{KeyID: fmt.Sprintf("attacker-%d", i)})
	}
	flood := func() {
		var wg sync.WaitGroup
		for _, raw := range bad {
			wg.Go(func() {
				_, err := v.Verify(context.Background(), raw)
				if !errors.Is(err, rs.ErrUnknownKey) {
					t.Errorf("err = %v", err)
				}
			})
		}
		wg.Wait()
	}
	flood()
	if n := iss.JWKSRequests(); n != 1 {
		t.Errorf("200 unknown kids within the interval cost %d JWKS fetches, want only the first one", n)
	}
	clk.Advance(rs.DefaultMinRefetchInterval)
	flood()
	if n := iss.JWKSRequests(); n != 2 {
		t.Errorf("200 concurrent unknown kids after the interval cost %d JWKS fetches in all, want 2 (one shared refetch)", n)
	}
}

func TestRemoteKeySetConcurrentFirstFetchIsShared(t *testing.T) {
	clk := newClock()
	iss, v := newIssuerVerifier(t, clk, rs.Config{CacheSize: -1})
	raw := iss.Mint(rstest.Token{})
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			if _, err := v.Verify(context.Background(), raw); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := iss.JWKSRequests(); n != 1 {
		t.Errorf("64 concurrent first verifications fetched the JWKS %d times, want 1", n)
	}
}

func TestRemoteKeySetIssuerDown(t *testing.T) {
	clk := newClock()
	iss, v := newIssuerVerifier(t, clk, rs.Config{})
	raw := iss.Mint(rstest.Token{})

	iss.SetUnavailable(true)
	_, err := v.Verify(t.Context(), raw)
	wantErr(t, err, rs.ErrKeySetUnavailable)
	if errors.Is(err, rs.ErrInvalidToken) {
		t.Error("an unreachable issuer must not make the token invalid")
	}
	_, err = v.Verify(t.Context(), raw)
	wantErr(t, err, rs.ErrKeySetUnavailable)
	if n := iss.JWKSRequests(); n != 1 {
		t.Errorf("a down issuer was asked %d times within the interval, want 1", n)
	}

	iss.SetUnavailable(false)
	clk.Advance(rs.DefaultMinRefetchInterval)
	if _, err := v.Verify(t.Context(), raw); err != nil {
		t.Fatalf("after recovery: %v", err)
	}

	t.Run("keys held survive a failed refresh", func(t *testing.T) {
		iss.SetUnavailable(true)
		clk.Advance(rs.DefaultRefreshInterval)
		other := iss.Mint(rstest.Token{})
		n := iss.JWKSRequests()
		if _, err := v.Verify(t.Context(), other); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return iss.JWKSRequests() == n+1 })
		for range 10 {
			if _, err := v.Verify(t.Context(), iss.Mint(rstest.Token{})); err != nil {
				t.Fatalf("after a failed refresh: %v", err)
			}
		}
		if got := iss.JWKSRequests(); got != n+1 {
			t.Errorf("a stale set under a down issuer fetched %d times within the interval, want 1", got-n)
		}
	})
}

func TestRemoteKeySetRefresh(t *testing.T) {
	iss := rstest.Start(t)
	ks, err := rs.NewRemoteKeySet(rs.RemoteKeySetConfig{URL: iss.JWKSURL(), HTTPClient: iss.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Key(t.Context(), iss.KeyID("ES256"), rs.ES256); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Key(t.Context(), iss.KeyID("ES256"), rs.RS256); !errors.Is(err, rs.ErrUnknownKey) {
		t.Errorf("RFC 7517 §4.4 key for ES256 returned for RS256: %v", err)
	}
	if _, err := rs.NewRemoteKeySet(rs.RemoteKeySetConfig{}); err == nil {
		t.Error("empty URL accepted")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	down := rstest.Start(t)
	down.SetUnavailable(true)
	ks2, _ := rs.NewRemoteKeySet(rs.RemoteKeySetConfig{URL: down.JWKSURL(), HTTPClient: down.Client()})
	if err := ks2.Refresh(ctx); err == nil {
		t.Error("Refresh with a cancelled context succeeded")
	}
}

// kidOf returns the kid of a compact JWS.
func kidOf(t *testing.T, raw string) string {
	t.Helper()
	var h struct {
		Kid string `json:"kid"`
	}
	if err := jsonUnmarshal(unb64(t, part(raw, 0)), &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
