package admin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/secret"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
)

// The admin console (PRODUCT.md §5) is a first-party application of every
// tenant, client_id model.ConsoleClientID: a confidential web client with
// implicit consent that signs in through the tenant's own /oauth2/authorize
// like any relying party, allowed the OIDC scopes it signs in with and every
// platform scope. Its policy is permissive: a user gets the platform scopes
// their roles entitle them to, and no error for the others.
//
// Its secret is not stored anywhere in clear and not generated at random:
// every node derives it from the master key (ConsoleSecret), so any node can
// finish a sign-in another node began, and the store holds only its hash.

// consoleSignInScopes are the OIDC scopes the console signs in with.
var consoleSignInScopes = []string{"openid", "profile", "offline_access"}

// ConsoleAccessTokenTTL is the console's access-token lifetime: short, so
// that a withdrawn role takes the console's powers away within minutes (each
// refresh re-runs the scope decision).
const ConsoleAccessTokenTTL = 5 * time.Minute

// ConsoleRedirectURI and ConsoleSignedOutURI are the console's redirect URI
// and post-logout redirect URI under issuer.
func ConsoleRedirectURI(issuer string) string  { return issuer + model.ConsolePath + "/callback" }
func ConsoleSignedOutURI(issuer string) string { return issuer + model.ConsolePath + "/signed-out" }

// ConsoleSecret is the console's client secret for tenantID, derived from
// the master key behind sealer. It is a secret: never log or show it.
func ConsoleSecret(sealer *token.Sealer, tenantID string) string {
	return base64.RawURLEncoding.EncodeToString(sealer.Derive("console client secret\x00" + tenantID))
}

// consoleApplication is the console application of t, allowed the scopes of
// registry among consoleSignInScopes and the platform scopes.
func consoleApplication(t model.Tenant, registry []model.Scope, now time.Time) model.Application {
	var allowed []string
	for _, sc := range registry {
		if sc.Kind == model.KindPlatform || slices.Contains(consoleSignInScopes, sc.Name) {
			allowed = append(allowed, sc.Name)
		}
	}
	return model.Application{
		TenantID: t.ID, ClientID: model.ConsoleClientID, Name: "IntelliAuth console", Type: model.AppWeb,
		RedirectURIs: []string{ConsoleRedirectURI(t.Issuer)}, PostLogoutRedirectURIs: []string{ConsoleSignedOutURI(t.Issuer)},
		GrantTypes:    []string{model.GrantAuthorizationCode, model.GrantRefreshToken},
		AllowedScopes: sortedSet(allowed), ScopePolicy: model.PolicyPermissive, Consent: model.ConsentImplicit,
		AccessTokenTTL: ConsoleAccessTokenTTL, CreatedAt: now, UpdatedAt: now,
	}
}

// isConsoleApplication reports whether a stored application with the
// console's client ID is the console (made by CreateTenant or migration
// 0006: named as consoleApplication names it, redirected to a console
// callback), not an application a tenant registered under the client ID
// "console" before the console existed, which 0006 kept as it was and which
// EnsureConsole must not take over: it would add a redirect URI and a
// secret derived from the master key to someone else's client.
func isConsoleApplication(app model.Application) bool {
	if app.Name == consoleApplication(model.Tenant{}, nil, time.Time{}).Name {
		return true
	}
	return slices.ContainsFunc(app.RedirectURIs, func(u string) bool { return strings.HasSuffix(u, model.ConsolePath+"/callback") })
}

// EnsureConsole makes the tenant's console application ready to sign in
// from the tenant's current issuer and returns its client secret: it creates
// the application if it is missing, adds the issuer's redirect and
// post-logout URIs if the issuer changed, and stores the hash of the
// derived secret if it is not there (a tenant migrated by 0006, or a new
// master key). It writes, and records an audit event, only when something
// was missing; what an admin changed otherwise (its allowlist, say) stays.
func (s *Service) EnsureConsole(ctx context.Context, tenantID string) (string, error) {
	if s.Sealer == nil {
		return "", errors.New("admin: the console needs the master key (Service.Sealer is nil)")
	}
	plain := ConsoleSecret(s.Sealer, tenantID)
	err := s.write(ctx, System("console"), func(tx store.Repos, now time.Time) ([]event, error) {
		return ensureConsole(ctx, tx, tenantID, plain, now)
	})
	if err != nil {
		return "", fmt.Errorf("prepare the console application of tenant %q: %w", tenantID, err)
	}
	return plain, nil
}

func ensureConsole(ctx context.Context, tx store.Repos, tenantID, plain string, now time.Time) ([]event, error) {
	t, err := getTenant(ctx, tx, tenantID)
	if err != nil {
		return nil, err
	}
	app, err := tx.Applications().Get(ctx, tenantID, model.ConsoleClientID)
	var evs []event
	switch {
	case errors.Is(err, store.ErrNotFound):
		registry, err := tx.Scopes().All(ctx, tenantID)
		if err != nil {
			return nil, fmt.Errorf("load the scope registry: %w", err)
		}
		app = consoleApplication(t, registry, now)
		if err := tx.Applications().Create(ctx, app); err != nil {
			return nil, fmt.Errorf("create the console application: %w", err)
		}
		evs = append(evs, event{Type: model.EventApplicationCreated, TenantID: tenantID, ClientID: app.ClientID,
			Scopes: app.AllowedScopes, Details: map[string]any{"after": NewApplicationDoc(app)}})
	case err != nil:
		return nil, err
	default:
		if !isConsoleApplication(app) {
			return nil, refuse(store.ErrConflict, "tenant %q has an application of its own with client ID %q (%s), registered before the admin console existed, "+
				"which the console will not take over (by adding its redirect URIs and a secret to it); register that application under another "+
				"client ID, delete this one, and open the console again", tenantID, app.ClientID, app.Name)
		}
		want := consoleApplication(t, nil, now)
		before := app
		changed := false
		for _, u := range want.RedirectURIs {
			if !slices.Contains(app.RedirectURIs, u) {
				app.RedirectURIs, changed = append(app.RedirectURIs, u), true
			}
		}
		for _, u := range want.PostLogoutRedirectURIs {
			if !slices.Contains(app.PostLogoutRedirectURIs, u) {
				app.PostLogoutRedirectURIs, changed = append(app.PostLogoutRedirectURIs, u), true
			}
		}
		if changed {
			stored, err := tx.Applications().Update(ctx, app)
			if err != nil {
				return nil, fmt.Errorf("add the issuer's console URIs: %w", err)
			}
			evs = append(evs, event{Type: model.EventApplicationUpdated, TenantID: tenantID, ClientID: app.ClientID,
				Details: map[string]any{"before": NewApplicationDoc(before), "after": NewApplicationDoc(stored)}})
		}
	}
	secrets, err := tx.Applications().Secrets(ctx, tenantID, model.ConsoleClientID)
	if err != nil {
		return nil, err
	}
	for _, cs := range secrets {
		if (cs.ExpiresAt.IsZero() || cs.ExpiresAt.After(now)) && secret.Equal(cs.Hash, plain) {
			return evs, nil
		}
	}
	id, err := randomID("sec_", 10)
	if err != nil {
		return nil, err
	}
	if err := tx.Applications().AddSecret(ctx, model.ClientSecret{TenantID: tenantID, ClientID: model.ConsoleClientID,
		ID: id, Hash: secret.Hash(plain), CreatedAt: now}); err != nil {
		return nil, fmt.Errorf("store the console secret: %w", err)
	}
	// A new application's secret goes in its application.created event.
	if len(evs) > 0 && evs[0].Type == model.EventApplicationCreated {
		evs[0].Details.(map[string]any)["secret_id"] = id
		return evs, nil
	}
	return append(evs, event{Type: model.EventApplicationUpdated, TenantID: tenantID, ClientID: model.ConsoleClientID,
		Details: map[string]any{"secret_id": id, "reason": "the console's secret, derived from the master key, was added"}}), nil
}
