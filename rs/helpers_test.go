package rs_test

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/rs"
	"github.com/intelliauth/intelliauth/rs/rstest"
)

// fakeClock is a settable clock for the SDK under test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Now().Truncate(time.Second)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingTransport counts requests by URL path.
type countingTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	n    map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[r.URL.Path]++
	c.mu.Unlock()
	return c.base.RoundTrip(r)
}

// count returns how many requests went to a path ending in suffix.
func (c *countingTransport) count(suffix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := 0
	for p, n := range c.n {
		if strings.HasSuffix(p, suffix) {
			total += n
		}
	}
	return total
}

// countingKeySet counts Key calls, and can withdraw kids or hand out a
// substitute key, to see what the cache does.
type countingKeySet struct {
	rs.KeySet
	calls atomic.Int64

	mu        sync.Mutex
	withdrawn map[string]bool
	sub       crypto.PublicKey
}

func (c *countingKeySet) Key(ctx context.Context, kid, alg string) (crypto.PublicKey, error) {
	c.calls.Add(1)
	c.mu.Lock()
	gone, sub := c.withdrawn[kid], c.sub
	c.mu.Unlock()
	if gone {
		return nil, fmt.Errorf("%w: %s withdrawn", rs.ErrUnknownKey, kid)
	}
	if sub != nil {
		return sub, nil
	}
	return c.KeySet.Key(ctx, kid, alg)
}

func (c *countingKeySet) withdraw(kid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.withdrawn == nil {
		c.withdrawn = map[string]bool{}
	}
	c.withdrawn[kid] = true
}

func (c *countingKeySet) swap(k crypto.PublicKey) {
	c.mu.Lock()
	c.sub = k
	c.mu.Unlock()
}

// wantErr fails unless err matches every target (and ErrInvalidToken when
// the first target is a token error).
func wantErr(t *testing.T, err error, targets ...error) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %v", targets)
	}
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Fatalf("err = %v, want it to match %v", err, target)
		}
	}
}

// newIssuerVerifier starts a fake issuer and a verifier for it on clk.
func newIssuerVerifier(t *testing.T, clk *fakeClock, cfg rs.Config, opts ...rstest.Option) (*rstest.Issuer, *rs.Verifier) {
	t.Helper()
	opts = append([]rstest.Option{rstest.WithAudience("api.banking.example.com"), rstest.WithPath("/t/banking"), rstest.WithClock(clk.Now)}, opts...)
	iss := rstest.Start(t, opts...)
	cfg.Issuer = iss.URL
	if cfg.Audience == "" {
		cfg.Audience = "api.banking.example.com"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = iss.Client()
	}
	cfg.Now = clk.Now
	v, err := rs.NewVerifier(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return iss, v
}

// part returns the i-th dot-separated part of a compact JWS.
func part(raw string, i int) string { return strings.Split(raw, ".")[i] }

// withPart replaces the i-th part.
func withPart(raw string, i int, s string) string {
	p := strings.Split(raw, ".")
	p[i] = s
	return strings.Join(p, ".")
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func unb64(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
