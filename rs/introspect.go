package rs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Introspection cache bounds.
const (
	// DefaultIntrospectionCacheTTL is how long an answer is reused.
	DefaultIntrospectionCacheTTL = 5 * time.Second
	// MaxIntrospectionCacheTTL bounds IntrospectorConfig.CacheTTL: a
	// revocation must be seen soon.
	MaxIntrospectionCacheTTL = time.Minute
	// maxIntrospectionResponse bounds the response body.
	maxIntrospectionResponse = 64 << 10
)

// IntrospectorConfig configures an Introspector. ClientID and
// ClientSecret are required, and Endpoint or Issuer.
type IntrospectorConfig struct {
	// Endpoint is the RFC 7662 introspection endpoint. Empty means the
	// discovered "introspection_endpoint" of Issuer.
	Endpoint string
	// Issuer is used for discovery when Endpoint is empty.
	Issuer string
	// ClientID and ClientSecret authenticate the resource server to the
	// endpoint with client_secret_basic (RFC 7662 §2.1 requires the caller
	// to authenticate; IntelliAuth wants a confidential client of the
	// tenant).
	ClientID     string
	ClientSecret string
	// HTTPClient makes the requests; nil means a client with a
	// DefaultFetchTimeout timeout.
	HTTPClient *http.Client
	// CacheTTL is how long an answer (active or not) is reused for the same
	// token. Zero means DefaultIntrospectionCacheTTL, a negative value
	// disables the cache; at most MaxIntrospectionCacheTTL.
	CacheTTL time.Duration
	// CacheSize bounds the cached answers. Zero means DefaultCacheSize, a
	// negative value disables the cache.
	CacheSize int
	// Now is the cache's clock; nil means time.Now.
	Now func() time.Time
}

// Introspector asks the issuer whether a token is active (RFC 7662), for
// revocation-sensitive routes: a verified JWT stays valid until its exp,
// while introspection also sees revocation (RFC 7009). Answers are cached
// for CacheTTL, keyed by the token's SHA-256, so a revocation is seen within
// CacheTTL. Safe for concurrent use.
//
// It does NOT verify the token (use it after a Verifier: the middleware's
// RequireActive does), and reads only "active" from the response.
type Introspector struct {
	endpoint string
	clientID string
	secret   string
	client   *http.Client
	ttl      time.Duration
	now      func() time.Time
	cache    *cache[bool]
}

// NewIntrospector checks cfg and, when cfg.Endpoint is empty, discovers
// the endpoint from cfg.Issuer.
func NewIntrospector(ctx context.Context, cfg IntrospectorConfig) (*Introspector, error) {
	var errs []error
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		errs = append(errs, errors.New("rs: IntrospectorConfig.ClientID and ClientSecret are required"))
	}
	if cfg.Endpoint == "" && cfg.Issuer == "" {
		errs = append(errs, errors.New("rs: IntrospectorConfig needs Endpoint or Issuer"))
	}
	if cfg.Endpoint != "" {
		if err := checkURL("introspection endpoint", cfg.Endpoint); err != nil {
			errs = append(errs, err)
		}
	}
	ttl := cfg.CacheTTL
	switch {
	case ttl == 0:
		ttl = DefaultIntrospectionCacheTTL
	case ttl > MaxIntrospectionCacheTTL:
		errs = append(errs, fmt.Errorf("rs: IntrospectorConfig.CacheTTL %s is more than %s", ttl, MaxIntrospectionCacheTTL))
	}
	if cfg.CacheSize > MaxCacheSize {
		errs = append(errs, fmt.Errorf("rs: IntrospectorConfig.CacheSize %d is more than %d", cfg.CacheSize, MaxCacheSize))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	endpoint := cfg.Endpoint
	if endpoint == "" {
		m, err := Discover(ctx, cfg.HTTPClient, cfg.Issuer)
		if err != nil {
			return nil, err
		}
		if m.IntrospectionEndpoint == "" {
			return nil, fmt.Errorf("rs: the discovery document of %s has no introspection_endpoint", cfg.Issuer)
		}
		endpoint = m.IntrospectionEndpoint
	}
	in := &Introspector{
		endpoint: endpoint, clientID: cfg.ClientID, secret: cfg.ClientSecret,
		client: httpClient(cfg.HTTPClient), ttl: ttl, now: clock(cfg.Now),
	}
	if ttl > 0 {
		size := cfg.CacheSize
		if size == 0 {
			size = DefaultCacheSize
		}
		in.cache = newCache[bool](size)
	}
	return in, nil
}

// Endpoint returns the introspection endpoint in use.
func (in *Introspector) Endpoint() string { return in.endpoint }

// Active reports whether the issuer says raw is active. An error (wrapping
// ErrIntrospection) means there is no answer: the endpoint could not be
// reached, refused the client's credentials, or answered something that is
// not an RFC 7662 response.
func (in *Introspector) Active(ctx context.Context, raw string) (bool, error) {
	var key cacheKey
	now := in.now()
	if in.cache != nil {
		key = tokenKey(raw)
		if active, ok := in.cache.get(&key, now.UnixNano()); ok {
			return active, nil
		}
	}
	active, err := in.introspect(ctx, raw)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrIntrospection, err)
	}
	if in.cache != nil {
		in.cache.put(&key, active, now.Add(in.ttl).UnixNano(), now.UnixNano())
	}
	return active, nil
}

// introspect is one RFC 7662 §2.1 request.
func (in *Introspector) introspect(ctx context.Context, raw string) (bool, error) {
	form := url.Values{"token": {raw}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: the client ID and secret are form-encoded before
	// Basic encoding.
	req.SetBasicAuth(url.QueryEscape(in.clientID), url.QueryEscape(in.secret))
	resp, err := in.client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIntrospectionResponse+1))
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("%s answered %s", in.endpoint, resp.Status)
	}
	if len(body) > maxIntrospectionResponse {
		return false, fmt.Errorf("%s: response larger than %d bytes", in.endpoint, maxIntrospectionResponse)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return false, fmt.Errorf("%s: content type %q is not JSON", in.endpoint, ct)
		}
	}
	var r struct {
		Active *bool `json:"active"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return false, fmt.Errorf("%s: %w", in.endpoint, err)
	}
	if r.Active == nil {
		return false, fmt.Errorf("%s: the response has no boolean \"active\" (RFC 7662 §2.2)", in.endpoint)
	}
	return *r.Active, nil
}
