package model

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/scope"
)

// AppType is an application's client type.
type AppType string

// Application types. spa and native are public clients (RFC 6749 §2.1);
// web and m2m are confidential and hold a secret.
const (
	AppSPA    AppType = "spa"
	AppWeb    AppType = "web"
	AppNative AppType = "native"
	AppM2M    AppType = "m2m"
)

// Confidential reports whether the type authenticates with a secret.
func (t AppType) Confidential() bool { return t == AppWeb || t == AppM2M }

// Scope policies: what happens to a requested scope outside the allowlist.
const (
	PolicyStrict     = "strict"     // refuse the whole request with invalid_scope
	PolicyPermissive = "permissive" // drop the scope and record why
)

// Consent modes.
const (
	ConsentRequired = "required"
	ConsentImplicit = "implicit" // first-party: no consent screen
)

// Grant types.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// Application is an OAuth client.
type Application struct {
	TenantID string
	ClientID string
	Name     string
	Type     AppType
	// RedirectURIs are matched exactly (RFC 9700 §4.1.3).
	RedirectURIs []string
	// PostLogoutRedirectURIs are where RP-initiated logout may return,
	// matched exactly.
	PostLogoutRedirectURIs []string
	// AllowedOrigins are the browser origins (scheme://host[:port]) allowed
	// to call the token, revocation and userinfo endpoints cross-origin; when
	// empty, the origins of the redirect URIs.
	AllowedOrigins []string
	GrantTypes     []string
	// AllowedScopes is the allowlist: the scopes this application may request.
	AllowedScopes []string
	ScopePolicy   string
	Consent       string
	// MFA is AppMFAInherit (the zero value too) or AppMFARequired.
	MFA string
	// AccessTokenTTL overrides the audience's lifetime when non-zero.
	AccessTokenTTL time.Duration
	// RefreshIdleTTL and RefreshAbsoluteTTL bound refresh-token families.
	RefreshIdleTTL     time.Duration
	RefreshAbsoluteTTL time.Duration
	CreatedAt          time.Time
	UpdatedAt          time.Time
	Version            int64
}

// Allows reports whether the grant type is enabled for the application.
func (a Application) Allows(grantType string) bool { return slices.Contains(a.GrantTypes, grantType) }

// Validate checks the application's own invariants. Whether allowlisted
// scopes exist in the registry is for the caller.
func (a Application) Validate() error {
	var errs Problems
	if a.ClientID == "" || len(a.ClientID) > 128 || !scope.ValidToken(a.ClientID) || strings.Contains(a.ClientID, ":") {
		errs.Add("client_id", "must be 1–128 printable ASCII characters without spaces, quotes, backslashes or ':'")
	}
	if a.Name == "" || len(a.Name) > 200 {
		errs.Add("name", "must be 1–200 characters")
	}
	switch a.Type {
	case AppSPA, AppWeb, AppNative, AppM2M:
	default:
		errs.Add("type", "must be spa, web, native or m2m")
	}
	if a.ScopePolicy != PolicyStrict && a.ScopePolicy != PolicyPermissive {
		errs.Add("scope_policy", "must be strict or permissive")
	}
	if a.Consent != ConsentRequired && a.Consent != ConsentImplicit {
		errs.Add("consent", "must be required or implicit")
	}
	if a.MFA != "" && a.MFA != AppMFAInherit && a.MFA != AppMFARequired {
		errs.Add("mfa", "must be inherit or required")
	}
	if len(a.GrantTypes) == 0 {
		errs.Add("grant_types", "must name at least one grant type")
	}
	for _, g := range a.GrantTypes {
		switch g {
		case GrantClientCredentials:
			if !a.Type.Confidential() {
				errs.Add("grant_types", "client_credentials needs a confidential application (web or m2m)")
			}
		case GrantAuthorizationCode, GrantRefreshToken:
			if a.Type == AppM2M {
				errs.Add("grant_types", fmt.Sprintf("%s is for user-facing applications, not m2m", g))
			}
		default:
			errs.Add("grant_types", fmt.Sprintf("%q is not supported (authorization_code, refresh_token, client_credentials)", g))
		}
	}
	if slices.Contains(a.GrantTypes, GrantAuthorizationCode) && len(a.RedirectURIs) == 0 {
		errs.Add("redirect_uris", "authorization_code needs at least one redirect URI")
	}
	for _, r := range a.RedirectURIs {
		if err := ValidRedirectURI(r); err != nil {
			errs.Add("redirect_uris", err.Error())
		}
	}
	for _, r := range a.PostLogoutRedirectURIs {
		if err := ValidRedirectURI(r); err != nil {
			errs.Add("post_logout_redirect_uris", err.Error())
		}
	}
	for _, o := range a.AllowedOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
			errs.Add("allowed_origins", fmt.Sprintf("%q must be an origin such as https://app.example.com", o))
		}
	}
	for _, s := range a.AllowedScopes {
		if !scope.ValidToken(s) {
			errs.Add("allowed_scopes", fmt.Sprintf("%q is not a valid scope name", s))
		}
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"access_token_ttl", a.AccessTokenTTL}, {"refresh_idle_ttl", a.RefreshIdleTTL}, {"refresh_absolute_ttl", a.RefreshAbsoluteTTL}} {
		if d.v < 0 {
			errs.Add(d.field, "must not be negative")
		}
	}
	return errs.Err()
}

// ValidRedirectURI checks one registered redirect URI: absolute, no
// fragment (RFC 6749 §3.1.2), and https unless it is a loopback or a
// private-use scheme of a native app (RFC 8252 §7).
func ValidRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("%q is not an absolute URI", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("%q must not contain a fragment (RFC 6749 §3.1.2)", raw)
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return fmt.Errorf("%q has no host", raw)
		}
	case "http":
		h := u.Hostname()
		if h != "localhost" && h != "127.0.0.1" && h != "::1" {
			return fmt.Errorf("%q: http is allowed only for loopback redirect URIs", raw)
		}
	case "javascript", "data", "file", "vbscript":
		return fmt.Errorf("%q uses a forbidden scheme", raw)
	default:
		if !strings.Contains(u.Scheme, ".") {
			return fmt.Errorf("%q: private-use schemes must be reverse domain names (RFC 8252 §7.1)", raw)
		}
	}
	return nil
}

// Origins returns the browser origins allowed to call the tenant's
// endpoints cross-origin for this application: AllowedOrigins, or else the
// origins of its http(s) redirect URIs.
func (a Application) Origins() []string {
	if len(a.AllowedOrigins) > 0 {
		return a.AllowedOrigins
	}
	var out []string
	for _, r := range a.RedirectURIs {
		u, err := url.Parse(r)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			continue
		}
		o := u.Scheme + "://" + u.Host
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// MatchRedirectURI reports whether got is a registered redirect URI: equal
// as strings (RFC 9700 §4.1.3: exact string matching), with one exception
// for native apps. A native app listening on a loopback IP gets an
// ephemeral port from the operating system at run time, so for a
// registered http://127.0.0.1/… or http://[::1]/… redirect URI any port is
// accepted and everything else must still be exactly equal (RFC 8252 §7.3,
// RFC 9700 §2.1). "localhost" gets no such leeway: RFC 8252 §8.3 advises
// against it, as the name may not resolve to the loopback interface.
func (a Application) MatchRedirectURI(got string) bool {
	if slices.Contains(a.RedirectURIs, got) {
		return true
	}
	if a.Type != AppNative {
		return false
	}
	for _, reg := range a.RedirectURIs {
		if loopbackPortVariant(reg, got) {
			return true
		}
	}
	return false
}

// loopbackPortVariant reports whether got equals the loopback-IP redirect
// URI reg but for its port (RFC 8252 §7.3).
func loopbackPortVariant(reg, got string) bool {
	r, err := url.Parse(reg)
	if err != nil || r.Scheme != "http" || (r.Hostname() != "127.0.0.1" && r.Hostname() != "::1") {
		return false
	}
	g, err := url.Parse(got)
	if err != nil || g.Scheme != "http" || g.Hostname() != r.Hostname() || g.User != nil || strings.Contains(got, "#") {
		return false
	}
	if p := g.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return false
		}
	}
	// Compare the URIs as strings with the ports taken out, so that no
	// other difference (path, query, escaping) slips through.
	return withoutPort(reg, r) == withoutPort(got, g)
}

// withoutPort returns raw with its authority's ":port" removed.
func withoutPort(raw string, u *url.URL) string {
	if u.Port() == "" {
		return raw
	}
	return strings.Replace(raw, u.Host, strings.TrimSuffix(u.Host, ":"+u.Port()), 1)
}

// ClientSecret is one secret of a confidential application. Only its hash is
// stored; the plaintext is shown once at creation.
type ClientSecret struct {
	TenantID string
	ClientID string
	ID       string
	// Hash is SHA-256 of the secret. Secrets are ≥256-bit random values, so a
	// fast hash is as strong as a slow one and keeps client auth cheap.
	Hash      []byte
	CreatedAt time.Time
	// ExpiresAt is zero for the current secret; a rotated-out secret gets the
	// end of its grace period.
	ExpiresAt time.Time
}

// ActiveAt reports whether the secret may be used at t.
func (s ClientSecret) ActiveAt(t time.Time) bool {
	return s.ExpiresAt.IsZero() || t.Before(s.ExpiresAt)
}
