package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/secret"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/scope"
)

// ApplicationInput describes a new application. Zero fields get defaults:
// grant types by type (m2m: client_credentials; spa, native and web:
// authorization_code and refresh_token), scope policy strict, consent
// required, and a generated client ID.
type ApplicationInput struct {
	ClientID      string
	Name          string
	Type          model.AppType
	RedirectURIs  []string
	GrantTypes    []string
	AllowedScopes []string
	ScopePolicy   string
	Consent       string
	// MFA is model.AppMFAInherit (the default: the tenant's policy
	// applies) or model.AppMFARequired (every sign-in to the application
	// passes a second factor).
	MFA string
	// PostLogoutRedirectURIs are where RP-initiated logout may return,
	// matched exactly.
	PostLogoutRedirectURIs []string
	// AllowedOrigins are the browser origins allowed to call the token,
	// revocation and userinfo endpoints; empty means the redirect URIs'.
	AllowedOrigins []string
	// Lifetimes; zero uses the audience's or the server's default.
	AccessTokenTTL     time.Duration
	RefreshIdleTTL     time.Duration
	RefreshAbsoluteTTL time.Duration
}

// CreatedApplication is the result of CreateApplication.
type CreatedApplication struct {
	Application model.Application
	// Secret is the client secret in plaintext for confidential types, empty
	// for public ones. It is returned this once and stored only hashed.
	Secret string
}

// DefaultGrantTypes returns the grant types an application of type t gets
// when none are given.
func DefaultGrantTypes(t model.AppType) []string {
	if t == model.AppM2M {
		return []string{model.GrantClientCredentials}
	}
	return []string{model.GrantAuthorizationCode, model.GrantRefreshToken}
}

// CreateApplication registers an application; confidential types (web,
// m2m) get a generated secret, returned once in the result.
func (s *Service) CreateApplication(ctx context.Context, actor Actor, tenantID string, in ApplicationInput) (CreatedApplication, error) {
	a := model.Application{
		TenantID: tenantID, ClientID: in.ClientID, Name: in.Name, Type: in.Type,
		RedirectURIs: dedupe(in.RedirectURIs), GrantTypes: dedupe(in.GrantTypes), AllowedScopes: sortedSet(in.AllowedScopes),
		ScopePolicy: in.ScopePolicy, Consent: in.Consent, MFA: in.MFA,
		PostLogoutRedirectURIs: dedupe(in.PostLogoutRedirectURIs), AllowedOrigins: dedupe(in.AllowedOrigins),
		AccessTokenTTL: in.AccessTokenTTL, RefreshIdleTTL: in.RefreshIdleTTL, RefreshAbsoluteTTL: in.RefreshAbsoluteTTL,
	}
	if len(a.GrantTypes) == 0 {
		a.GrantTypes = DefaultGrantTypes(a.Type)
	}
	if a.ScopePolicy == "" {
		a.ScopePolicy = model.PolicyStrict
	}
	if a.Consent == "" {
		a.Consent = model.ConsentRequired
	}
	if a.MFA == "" {
		a.MFA = model.AppMFAInherit
	}
	if a.Name == "" {
		a.Name = a.ClientID
	}
	if a.ClientID == "" {
		id, err := randomID("", 16)
		if err != nil {
			return CreatedApplication{}, err
		}
		a.ClientID = id
		if a.Name == "" {
			a.Name = id
		}
	}
	if err := a.Validate(); err != nil {
		return CreatedApplication{}, err
	}
	var out CreatedApplication
	err := s.write(ctx, actor, func(tx store.Repos, now time.Time) ([]event, error) {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return nil, err
		}
		if err := checkScopesExist(ctx, tx, tenantID, a.AllowedScopes); err != nil {
			return nil, err
		}
		if err := actor.mayGrant(ctx, tx, tenantID, "creating application "+a.ClientID+" with this allowlist", a.AllowedScopes); err != nil {
			return nil, err
		}
		a.CreatedAt, a.UpdatedAt = now, now
		if err := tx.Applications().Create(ctx, a); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil, refuse(err, "client ID %q is taken", a.ClientID)
			}
			return nil, fmt.Errorf("create application %q: %w", a.ClientID, err)
		}
		details := map[string]any{}
		if a.Type.Confidential() {
			plain, id, err := addSecret(ctx, tx, a, now)
			if err != nil {
				return nil, err
			}
			out.Secret = plain
			details["secret_id"] = id
		}
		stored, err := tx.Applications().Get(ctx, tenantID, a.ClientID)
		if err != nil {
			return nil, err
		}
		out.Application = stored
		details["after"] = NewApplicationDoc(stored)
		return []event{{Type: model.EventApplicationCreated, TenantID: tenantID, ClientID: a.ClientID,
			Scopes: stored.AllowedScopes, Details: details}}, nil
	})
	if err != nil {
		return CreatedApplication{}, err
	}
	return out, nil
}

// addSecret generates and stores a new secret; it returns the plaintext and
// the secret's ID.
func addSecret(ctx context.Context, tx store.Repos, a model.Application, now time.Time) (plain, id string, err error) {
	plain, hash, err := secret.Generate()
	if err != nil {
		return "", "", err
	}
	if id, err = randomID("sec_", 10); err != nil {
		return "", "", err
	}
	cs := model.ClientSecret{TenantID: a.TenantID, ClientID: a.ClientID, ID: id, Hash: hash, CreatedAt: now}
	if err := tx.Applications().AddSecret(ctx, cs); err != nil {
		return "", "", fmt.Errorf("store secret of %q: %w", a.ClientID, err)
	}
	return plain, id, nil
}

// checkScopesExist reports, in one error, every name the tenant's registry
// does not know.
func checkScopesExist(ctx context.Context, tx store.Repos, tenantID string, names []string) error {
	var unknown []string
	for _, n := range names {
		if _, err := tx.Scopes().Get(ctx, tenantID, n); errors.Is(err, store.ErrNotFound) {
			unknown = append(unknown, n)
		} else if err != nil {
			return lookupErr(err, fmt.Sprintf("scope %q", n))
		}
	}
	if len(unknown) > 0 {
		return invalid("allowed_scopes", "not in this tenant's scope registry: %s", strings.Join(unknown, " "))
	}
	return nil
}

// ApplicationUpdate changes an application; nil fields are left as they
// are. The type cannot change (it decides whether secrets exist), nor can
// the allowlist here: use the allowlist use-cases, which audit added and
// removed scopes.
type ApplicationUpdate struct {
	Name                   *string
	RedirectURIs           *[]string
	PostLogoutRedirectURIs *[]string
	AllowedOrigins         *[]string
	GrantTypes             *[]string
	ScopePolicy            *string
	Consent                *string
	// MFA is model.AppMFAInherit or model.AppMFARequired.
	MFA                *string
	AccessTokenTTL     *time.Duration
	RefreshIdleTTL     *time.Duration
	RefreshAbsoluteTTL *time.Duration
	// Version, when non-zero, must equal the stored version.
	Version int64
}

// UpdateApplication changes an application's settings.
func (s *Service) UpdateApplication(ctx context.Context, actor Actor, tenantID, clientID string, upd ApplicationUpdate) (model.Application, error) {
	var out model.Application
	err := s.writeAt(ctx, actor, upd.Version, func(tx store.Repos, now time.Time) ([]event, error) {
		before, err := getApp(ctx, tx, tenantID, clientID)
		if err != nil {
			return nil, err
		}
		if err := checkVersion("application "+clientID, upd.Version, before.Version); err != nil {
			return nil, err
		}
		// Its redirect URIs, grant types and consent decide where its codes
		// and tokens go: changing them is taking it over.
		if err := actor.mayTakeOver(ctx, tx, tenantID, "changing application "+clientID, "application "+clientID, before.AllowedScopes); err != nil {
			return nil, err
		}
		after := before
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		setD := func(dst *time.Duration, v *time.Duration) {
			if v != nil {
				*dst = *v
			}
		}
		set(&after.Name, upd.Name)
		set(&after.ScopePolicy, upd.ScopePolicy)
		set(&after.Consent, upd.Consent)
		set(&after.MFA, upd.MFA)
		if upd.RedirectURIs != nil {
			after.RedirectURIs = dedupe(*upd.RedirectURIs)
		}
		if upd.GrantTypes != nil {
			after.GrantTypes = dedupe(*upd.GrantTypes)
		}
		if upd.PostLogoutRedirectURIs != nil {
			after.PostLogoutRedirectURIs = dedupe(*upd.PostLogoutRedirectURIs)
		}
		if upd.AllowedOrigins != nil {
			after.AllowedOrigins = dedupe(*upd.AllowedOrigins)
		}
		setD(&after.AccessTokenTTL, upd.AccessTokenTTL)
		setD(&after.RefreshIdleTTL, upd.RefreshIdleTTL)
		setD(&after.RefreshAbsoluteTTL, upd.RefreshAbsoluteTTL)
		if err := after.Validate(); err != nil {
			return nil, err
		}
		after.UpdatedAt = now
		if out, err = tx.Applications().Update(ctx, after); err != nil {
			return nil, writeErr(err, fmt.Sprintf("application %q", clientID))
		}
		return []event{{Type: model.EventApplicationUpdated, TenantID: tenantID, ClientID: clientID,
			Details: map[string]any{"before": NewApplicationDoc(before), "after": NewApplicationDoc(out)}}}, nil
	})
	return out, err
}

// DeleteApplication deletes an application and its secrets, and revokes its
// grants first: every user's refresh-token families and the access tokens
// issued with them. Access tokens recorded nowhere (client credentials, a
// code flow without a refresh token) end with the application: the server's
// access-token check (token.AccessCheck) refuses a token whose client_id no
// longer exists; only a resource server that verifies JWTs locally without
// introspecting accepts them until they expire.
// version, when non-zero, must equal the stored version (else
// store.ErrPrecondition and nothing changes).
func (s *Service) DeleteApplication(ctx context.Context, actor Actor, tenantID, clientID string, version int64) error {
	return s.writeAt(ctx, actor, version, func(tx store.Repos, now time.Time) ([]event, error) {
		before, err := getApp(ctx, tx, tenantID, clientID)
		if err != nil {
			return nil, err
		}
		if err := checkVersion("application "+clientID, version, before.Version); err != nil {
			return nil, err
		}
		if clientID == model.ConsoleClientID {
			return nil, invalid("client_id", "console is the tenant's admin console; it cannot be deleted (to keep someone out of it, withdraw their roles' platform scopes)")
		}
		// A deleted client_id can be registered again with the caller's
		// redirect URIs and secret: deleting it is taking it over.
		if err := actor.mayTakeOver(ctx, tx, tenantID, "deleting application "+clientID, "application "+clientID, before.AllowedScopes); err != nil {
			return nil, err
		}
		// The refresh-token rows know the jtis of the access tokens of the
		// app's grants; revoke those before the rows go with the app.
		grants, err := tx.RefreshTokens().RevokeByClient(ctx, tenantID, clientID)
		if err != nil {
			return nil, fmt.Errorf("revoke the grants of application %q: %w", clientID, err)
		}
		// Only the version read: a concurrent update fails the delete.
		if err := tx.Applications().Delete(ctx, tenantID, clientID, before.Version); err != nil {
			return nil, writeErr(err, fmt.Sprintf("application %q", clientID))
		}
		return []event{{Type: model.EventApplicationDeleted, TenantID: tenantID, ClientID: clientID,
			Details: map[string]any{"before": NewApplicationDoc(before), "revoked_grants": grants}}}, nil
	})
}

// GetApplication returns one application.
func (s *Service) GetApplication(ctx context.Context, actor Actor, tenantID, clientID string) (model.Application, error) {
	var a model.Application
	err := s.read(ctx, actor, func(tx store.Repos) (err error) {
		a, err = getApp(ctx, tx, tenantID, clientID)
		return err
	})
	return a, err
}

// ApplicationPage is one page of an application listing.
type ApplicationPage struct {
	Applications []model.Application
	Total        int
	Page         store.Page
}

// ListApplications lists applications by client ID, one page at a time.
func (s *Service) ListApplications(ctx context.Context, actor Actor, tenantID string, page store.Page) (ApplicationPage, error) {
	page = normPage(page)
	var out ApplicationPage
	err := s.read(ctx, actor, func(tx store.Repos) error {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		apps, total, err := tx.Applications().List(ctx, tenantID, page)
		out = ApplicationPage{Applications: apps, Total: total, Page: page}
		return err
	})
	return out, err
}

func getApp(ctx context.Context, tx store.Repos, tenantID, clientID string) (model.Application, error) {
	a, err := tx.Applications().Get(ctx, tenantID, clientID)
	if err != nil {
		return a, lookupErr(err, fmt.Sprintf("application %q", clientID))
	}
	return a, nil
}

// SetAllowedScopes replaces an application's allowlist. Every scope must
// exist in the tenant's registry. version, when non-zero, must equal the
// application's stored version (so two admins editing the allowlist at once
// do not silently overwrite each other).
func (s *Service) SetAllowedScopes(ctx context.Context, actor Actor, tenantID, clientID string, scopes []string, version int64) (model.Application, error) {
	return s.changeAllowlist(ctx, actor, tenantID, clientID, version, scopes, func([]string) []string { return sortedSet(scopes) })
}

// AddAllowedScopes adds scopes to an application's allowlist; scopes
// already on it are left alone.
func (s *Service) AddAllowedScopes(ctx context.Context, actor Actor, tenantID, clientID string, scopes []string, version int64) (model.Application, error) {
	return s.ChangeAllowedScopes(ctx, actor, tenantID, clientID, scopes, nil, version)
}

// RemoveAllowedScopes removes scopes from an application's allowlist;
// removing a scope that is not on it is not an error. Removed scopes stop
// appearing in tokens issued from now on.
func (s *Service) RemoveAllowedScopes(ctx context.Context, actor Actor, tenantID, clientID string, scopes []string, version int64) (model.Application, error) {
	return s.ChangeAllowedScopes(ctx, actor, tenantID, clientID, nil, scopes, version)
}

// ChangeAllowedScopes adds and removes scopes in one write, computed from
// the allowlist stored when it runs: both land together or neither does.
// The added scopes must be registered; removing a name that is not on the
// list (or no longer exists) is not an error.
func (s *Service) ChangeAllowedScopes(ctx context.Context, actor Actor, tenantID, clientID string, add, remove []string, version int64) (model.Application, error) {
	return s.changeAllowlist(ctx, actor, tenantID, clientID, version, add, func(cur []string) []string {
		next := append(slices.Clone(cur), add...)
		next = slices.DeleteFunc(next, func(s string) bool { return slices.Contains(remove, s) })
		return sortedSet(next)
	})
}

// changeAllowlist applies next to the stored allowlist; mustExist are the
// names the caller asked to add, which must be registered. Nothing is written
// (and nothing audited) when the allowlist does not change.
func (s *Service) changeAllowlist(ctx context.Context, actor Actor, tenantID, clientID string, version int64, mustExist []string, next func(cur []string) []string) (model.Application, error) {
	var p model.Problems
	for _, n := range mustExist {
		if !scope.ValidToken(n) {
			p.Add("scopes", fmt.Sprintf("%q is not a valid scope name (RFC 6749 §3.3)", n))
		}
	}
	if err := p.Err(); err != nil {
		return model.Application{}, err
	}
	var out model.Application
	err := s.writeAt(ctx, actor, version, func(tx store.Repos, now time.Time) ([]event, error) {
		before, err := getApp(ctx, tx, tenantID, clientID)
		if err != nil {
			return nil, err
		}
		if err := checkVersion("application "+clientID, version, before.Version); err != nil {
			return nil, err
		}
		if err := checkScopesExist(ctx, tx, tenantID, sortedSet(mustExist)); err != nil {
			return nil, err
		}
		after := before
		after.AllowedScopes = next(before.AllowedScopes)
		added := setMinus(after.AllowedScopes, before.AllowedScopes)
		removed := setMinus(before.AllowedScopes, after.AllowedScopes)
		if len(added) == 0 && len(removed) == 0 {
			out = before
			return nil, nil
		}
		// Removing is always allowed; what is added must be the caller's.
		if err := actor.mayGrant(ctx, tx, tenantID, "adding "+strings.Join(added, " ")+" to the allowlist of "+clientID, added); err != nil {
			return nil, err
		}
		if err := after.Validate(); err != nil {
			return nil, err
		}
		after.UpdatedAt = now
		if out, err = tx.Applications().Update(ctx, after); err != nil {
			return nil, writeErr(err, fmt.Sprintf("the allowlist of %q", clientID))
		}
		return []event{{Type: model.EventAppScopesChanged, TenantID: tenantID, ClientID: clientID,
			Scopes: sortedSet(append(slices.Clone(added), removed...)),
			Details: map[string]any{"added": nonNil(added), "removed": nonNil(removed),
				"before": nonNil(before.AllowedScopes), "after": nonNil(out.AllowedScopes)}}}, nil
	})
	return out, err
}

// MaxSecretGrace bounds how long a rotated-out secret keeps working.
const MaxSecretGrace = 30 * 24 * time.Hour

// RotatedSecret is the result of RotateSecret.
type RotatedSecret struct {
	// Secret is the new secret in plaintext, returned this once.
	Secret   string
	SecretID string
	// PreviousValidUntil is when the secrets it replaces stop working.
	PreviousValidUntil time.Time
}

// RotateSecret issues a new secret for a confidential application. Its
// previous secrets keep working for grace (0 ends them now), so clients can
// be redeployed without downtime. The audit event never holds a secret.
func (s *Service) RotateSecret(ctx context.Context, actor Actor, tenantID, clientID string, grace time.Duration) (RotatedSecret, error) {
	if grace < 0 || grace > MaxSecretGrace {
		return RotatedSecret{}, invalid("grace", "must be between 0 and %s, not %s", MaxSecretGrace, grace)
	}
	var out RotatedSecret
	err := s.write(ctx, actor, func(tx store.Repos, now time.Time) ([]event, error) {
		a, err := getApp(ctx, tx, tenantID, clientID)
		if err != nil {
			return nil, err
		}
		if !a.Type.Confidential() {
			return nil, invalid("type", "%q is a public %s application: it has no secret to rotate", clientID, a.Type)
		}
		if err := actor.mayTakeOver(ctx, tx, tenantID, "rotating the secret of "+clientID, "application "+clientID, a.AllowedScopes); err != nil {
			return nil, err
		}
		plain, id, err := addSecret(ctx, tx, a, now)
		if err != nil {
			return nil, err
		}
		until := now.Add(grace)
		if err := tx.Applications().ExpireSecrets(ctx, tenantID, clientID, id, until, now); err != nil {
			return nil, fmt.Errorf("expire old secrets of %q: %w", clientID, err)
		}
		out = RotatedSecret{Secret: plain, SecretID: id, PreviousValidUntil: until}
		return []event{{Type: model.EventAppSecretRotated, TenantID: tenantID, ClientID: clientID,
			Details: map[string]any{"secret_id": id, "grace": grace.String(), "previous_valid_until": until}}}, nil
	})
	return out, err
}

// sortedSet returns the distinct names, sorted.
func sortedSet(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// setMinus returns the names of a not in b; both sorted.
func setMinus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
