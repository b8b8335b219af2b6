package rs

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Bounds and defaults of the remote key set's timing.
const (
	// DefaultRefreshInterval is how old the cached JWKS may get before a
	// background refresh, so that keys the issuer withdrew stop verifying.
	DefaultRefreshInterval = 5 * time.Minute
	// MaxRefreshInterval bounds RefreshInterval.
	MaxRefreshInterval = 24 * time.Hour
	// DefaultMinRefetchInterval is the least time between two fetches of
	// the JWKS. An unknown kid triggers a fetch only when the last one is
	// at least this old, so a flood of bad kids costs the issuer at most
	// one request per interval.
	DefaultMinRefetchInterval = 10 * time.Second
	// MinMinRefetchInterval is the lower bound of MinRefetchInterval.
	MinMinRefetchInterval = time.Second
	// DefaultFetchTimeout bounds one discovery, JWKS or introspection
	// request when the HTTP client has no timeout of its own.
	DefaultFetchTimeout = 10 * time.Second
	// maxDocumentSize bounds a discovery or JWKS document.
	maxDocumentSize = 1 << 20
)

// RemoteKeySetConfig configures a RemoteKeySet.
type RemoteKeySetConfig struct {
	// URL is the JWKS URL (the discovery document's "jwks_uri"). Required.
	URL string
	// HTTPClient makes the requests; nil means a client with a
	// DefaultFetchTimeout timeout (never http.DefaultClient).
	HTTPClient *http.Client
	// Now is the clock for refresh timing; nil means time.Now.
	Now func() time.Time
	// RefreshInterval: zero means DefaultRefreshInterval; it must be
	// between MinRefetchInterval and MaxRefreshInterval.
	RefreshInterval time.Duration
	// MinRefetchInterval: zero means DefaultMinRefetchInterval; it must be
	// at least MinMinRefetchInterval and at most RefreshInterval.
	MinRefetchInterval time.Duration
}

// RemoteKeySet is the issuer's JWKS fetched over HTTP and cached.
//
// A kid it holds is answered from memory. When the cached set is older than
// RefreshInterval, one background fetch replaces it (the request that
// noticed is not delayed). An unknown kid triggers one fetch, shared by all
// concurrent callers, unless the last fetch started less than
// MinRefetchInterval ago — then it is unknown. A failed fetch keeps the keys
// already held. Only when no keys were ever fetched is the error
// ErrKeySetUnavailable.
//
// It does NOT honour the response's Cache-Control, and does not require
// https: give it an https URL in production.
type RemoteKeySet struct {
	url        string
	client     *http.Client
	now        func() time.Time
	refresh    time.Duration
	minRefetch time.Duration

	cur atomic.Pointer[keySnapshot]
	// nextFetch is when (Unix nanoseconds) the next fetch may start, so
	// that a stale set under an unreachable issuer costs lookups no lock.
	nextFetch atomic.Int64

	mu          sync.Mutex
	inflight    *fetchCall // the fetch in progress, nil when none
	lastAttempt time.Time  // when the last fetch started
	lastErr     error      // the last fetch's error, nil after a success
}

var _ KeySet = (*RemoteKeySet)(nil)

// keySnapshot is one fetched JWKS.
type keySnapshot struct {
	idx     keyIndex
	fetched time.Time
}

// fetchCall is one fetch that callers may wait for.
type fetchCall struct {
	done chan struct{}
	err  error
}

// NewRemoteKeySet returns a key set that fetches cfg.URL lazily, on the
// first Key call. It does no I/O.
func NewRemoteKeySet(cfg RemoteKeySetConfig) (*RemoteKeySet, error) {
	if cfg.URL == "" {
		return nil, errors.New("rs: remote key set: URL is required")
	}
	if err := checkURL("JWKS URL", cfg.URL); err != nil {
		return nil, err
	}
	refresh, minRefetch, err := refreshBounds(cfg.RefreshInterval, cfg.MinRefetchInterval)
	if err != nil {
		return nil, err
	}
	return &RemoteKeySet{
		url:        cfg.URL,
		client:     httpClient(cfg.HTTPClient),
		now:        clock(cfg.Now),
		refresh:    refresh,
		minRefetch: minRefetch,
	}, nil
}

// refreshBounds applies the defaults and checks the bounds.
func refreshBounds(refresh, minRefetch time.Duration) (time.Duration, time.Duration, error) {
	if refresh == 0 {
		refresh = DefaultRefreshInterval
	}
	if minRefetch == 0 {
		minRefetch = min(DefaultMinRefetchInterval, refresh)
	}
	var errs []error
	if minRefetch < MinMinRefetchInterval {
		errs = append(errs, fmt.Errorf("rs: MinRefetchInterval %s is below %s", minRefetch, MinMinRefetchInterval))
	}
	if refresh < minRefetch || refresh > MaxRefreshInterval {
		errs = append(errs, fmt.Errorf("rs: RefreshInterval %s must be between MinRefetchInterval (%s) and %s", refresh, minRefetch, MaxRefreshInterval))
	}
	return refresh, minRefetch, errors.Join(errs...)
}

func httpClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: DefaultFetchTimeout}
}

func clock(now func() time.Time) func() time.Time {
	if now != nil {
		return now
	}
	return time.Now
}

// Key implements KeySet.
func (r *RemoteKeySet) Key(ctx context.Context, kid, alg string) (crypto.PublicKey, error) {
	if snap := r.cur.Load(); snap != nil {
		if k, ok := snap.idx.find(kid, alg); ok {
			if now := r.now(); now.Sub(snap.fetched) >= r.refresh && now.UnixNano() >= r.nextFetch.Load() {
				r.start(ctx) // background: nobody waits for it
			}
			return k, nil
		}
	}
	if err := r.wait(ctx, r.start(ctx)); err != nil && !errors.Is(err, ErrKeySetUnavailable) {
		return nil, err // the caller's context ended
	}
	snap := r.cur.Load()
	if snap == nil {
		r.mu.Lock()
		err := r.lastErr
		r.mu.Unlock()
		return nil, fmt.Errorf("%w: %w", ErrKeySetUnavailable, err)
	}
	if k, ok := snap.idx.find(kid, alg); ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: kid %q (%s) is not in the issuer's JWKS", ErrUnknownKey, kid, alg)
}

// Refresh fetches the JWKS now, unless a fetch started less than
// MinRefetchInterval ago, and waits for the fetch in progress if any. It
// returns the error of that fetch. NewVerifier does not call it; call it at
// start-up to fail fast when the issuer is unreachable.
func (r *RemoteKeySet) Refresh(ctx context.Context) error {
	err := r.wait(ctx, r.start(ctx))
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastErr != nil {
		return fmt.Errorf("%w: %w", ErrKeySetUnavailable, r.lastErr)
	}
	return nil
}

// start begins a fetch unless one is in flight (it returns that one) or
// the last started less than minRefetch ago (it returns nil). The fetch runs
// in its own goroutine on a context detached from ctx's cancellation, so
// that one caller going away does not fail the fetch others wait for.
func (r *RemoteKeySet) start(ctx context.Context) *fetchCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inflight != nil {
		return r.inflight
	}
	now := r.now()
	if !r.lastAttempt.IsZero() && now.Sub(r.lastAttempt) < r.minRefetch {
		return nil
	}
	r.lastAttempt = now
	r.nextFetch.Store(now.Add(r.minRefetch).UnixNano())
	c := &fetchCall{done: make(chan struct{})}
	r.inflight = c
	go func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultFetchTimeout)
		defer cancel()
		idx, err := r.fetch(fctx)
		r.mu.Lock()
		if err == nil {
			r.cur.Store(&keySnapshot{idx: idx, fetched: r.now()})
		}
		r.lastErr = err
		r.inflight = nil
		c.err = err
		r.mu.Unlock()
		close(c.done)
	}()
	return c
}

// wait waits for c (nil: nothing to wait for) or the end of ctx. A failed
// fetch is reported wrapping ErrKeySetUnavailable.
func (r *RemoteKeySet) wait(ctx context.Context, c *fetchCall) error {
	if c == nil {
		return nil
	}
	select {
	case <-c.done:
		if c.err != nil {
			return fmt.Errorf("%w: %w", ErrKeySetUnavailable, c.err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rs: waiting for the issuer's JWKS: %w", ctx.Err())
	}
}

// fetch gets and parses the JWKS.
func (r *RemoteKeySet) fetch(ctx context.Context) (keyIndex, error) {
	body, err := getDocument(ctx, r.client, r.url, "application/jwk-set+json, application/json")
	if err != nil {
		return nil, err
	}
	keys, err := ParseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.url, err)
	}
	return newKeyIndex(keys), nil
}

// getDocument GETs a JSON document of at most maxDocumentSize bytes and
// status 200.
func getDocument(ctx context.Context, client *http.Client, url, accept string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("rs: GET %s: %w", url, err)
	}
	req.Header.Set("Accept", accept)
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("rs: GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("rs: GET %s: status %s", url, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "application/jwk-set+json") {
			return nil, fmt.Errorf("rs: GET %s: content type %q is not JSON", url, ct)
		}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("rs: GET %s: %w", url, err)
	}
	if len(body) > maxDocumentSize {
		return nil, fmt.Errorf("rs: GET %s: document larger than %d bytes", url, maxDocumentSize)
	}
	return body, nil
}
