package model

import (
	"fmt"
	"net/url"
	"regexp"
	"time"
)

// Tenant is an isolated realm: its own issuer, keys, scopes, APIs,
// applications and audit log. Nothing crosses tenants.
type Tenant struct {
	// ID is the tenant's slug, used in the issuer path /t/{ID}.
	ID   string
	Name string
	// Issuer is the exact issuer URL (no trailing slash), e.g.
	// http://localhost:8080/t/banking.
	Issuer string
	// Domain is an optional custom host name that also routes to this tenant.
	Domain string
	// ScopePattern optionally tightens custom scope names with a regular
	// expression (RE2, anchored by the caller's ^…$), e.g. ^[a-z]+:[a-z]+$.
	ScopePattern string
	// MFAPolicy is the tenant's rule for second factors at sign-in; the
	// zero value is MFAOptional (MFAPolicy.Effective).
	MFAPolicy MFAPolicy
	// MFAGraceUntil, under MFARequired, is until when a user without a
	// second factor may skip enrolling at sign-in; zero means no grace.
	MFAGraceUntil time.Time
	// Rev increases on every change to the tenant's configuration (scopes,
	// APIs, applications, keys), so caches on every node can see staleness.
	Rev       int64
	CreatedAt time.Time
	UpdatedAt time.Time
	// Version is the optimistic-concurrency precondition for updates.
	Version int64
}

var tenantIDPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

// Validate reports every problem with the tenant at once.
func (t Tenant) Validate() error {
	var errs Problems
	if !tenantIDPattern.MatchString(t.ID) {
		errs.Add("id", "must be 1–63 lower-case letters, digits or '-', starting and ending with a letter or digit")
	}
	if t.Name == "" || len(t.Name) > 200 {
		errs.Add("name", "must be 1–200 characters")
	}
	if u, err := url.Parse(t.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || (len(u.Path) > 0 && u.Path[len(u.Path)-1] == '/') {
		errs.Add("issuer", "must be an absolute http(s) URL without query, fragment or trailing slash")
	}
	if t.ScopePattern != "" {
		if _, err := regexp.Compile(t.ScopePattern); err != nil {
			errs.Add("scope_pattern", fmt.Sprintf("is not a valid regular expression: %v", err))
		}
	}
	if t.MFAPolicy != "" && !t.MFAPolicy.Valid() {
		errs.Add("mfa_policy", "must be off, optional or required")
	}
	return errs.Err()
}
