package rs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Metadata is the part of the issuer's discovery document (OpenID Connect
// Discovery 1.0 §3, RFC 8414 §2) the SDK uses.
type Metadata struct {
	// Issuer is "issuer", identical to the issuer URL asked for.
	Issuer string `json:"issuer"`
	// JWKSURI is "jwks_uri", where the signing keys are published.
	JWKSURI string `json:"jwks_uri"`
	// IntrospectionEndpoint is "introspection_endpoint" (RFC 8414 §2,
	// RFC 7662); empty when the issuer does not advertise one.
	IntrospectionEndpoint string `json:"introspection_endpoint"`
}

// Discover fetches {issuer}/.well-known/openid-configuration and checks
// that its "issuer" is exactly issuer (OpenID Connect Discovery 1.0 §4.3:
// "The issuer value returned MUST be identical to the Issuer URL that was
// used as the prefix to /.well-known/openid-configuration") and that
// "jwks_uri" is an absolute http(s) URL. client nil means a client with a
// DefaultFetchTimeout timeout.
//
// It does NOT require https, and does not check that jwks_uri or
// introspection_endpoint share the issuer's host.
func Discover(ctx context.Context, client *http.Client, issuer string) (Metadata, error) {
	if err := checkURL("issuer", issuer); err != nil {
		return Metadata{}, err
	}
	u := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	body, err := getDocument(ctx, httpClient(client), u, "application/json")
	if err != nil {
		return Metadata{}, fmt.Errorf("%w: discovery: %w", ErrKeySetUnavailable, err)
	}
	var m Metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return Metadata{}, fmt.Errorf("%w: discovery document of %s: %w", ErrKeySetUnavailable, issuer, err)
	}
	if m.Issuer != issuer {
		return Metadata{}, fmt.Errorf("rs: discovery document of %s names issuer %q: they must be identical", issuer, m.Issuer)
	}
	if err := checkURL("jwks_uri", m.JWKSURI); err != nil {
		return Metadata{}, fmt.Errorf("rs: discovery document of %s: %w", issuer, err)
	}
	if m.IntrospectionEndpoint != "" {
		if err := checkURL("introspection_endpoint", m.IntrospectionEndpoint); err != nil {
			return Metadata{}, fmt.Errorf("rs: discovery document of %s: %w", issuer, err)
		}
	}
	return m, nil
}

// checkURL requires an absolute http or https URL with a host and no
// fragment.
func checkURL(what, s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("rs: %s %q: %w", what, s, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("rs: %s %q must be an absolute http(s) URL without user info or fragment", what, s)
	}
	return nil
}
