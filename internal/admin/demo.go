package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/password"
	"github.com/intelliauth/intelliauth/internal/secret"
	"github.com/intelliauth/intelliauth/internal/store"
)

// DemoTenantID is the demo tenant's ID; its issuer is <public URL>/t/banking.
const DemoTenantID = "banking"

// Names the demo's browser applications and playground use.
const (
	// DemoSPAClientID is the demo's public single-page app, the one the
	// playground signs in with.
	DemoSPAClientID = "banking-spa"
	// DemoAdminToolClientID is the demo's confidential first-party web app.
	DemoAdminToolClientID = "admin-tool"
	// DemoAudience is the banking API's identifier (the tokens' aud).
	DemoAudience = "api.banking.example.com"
	// DemoSPAOrigin is where a developer's own copy of the SPA would run.
	DemoSPAOrigin = "http://localhost:5173"
	// DemoAdminToolRedirect is the admin tool's redirect URI.
	DemoAdminToolRedirect = "http://localhost:3000/callback"
	// PlaygroundPath is the playground's path under the issuer; its
	// callback is PlaygroundPath + "/callback" (internal/playground serves
	// both).
	PlaygroundPath = "/playground"
)

// Demo is what serve --demo prints and writes to <data-dir>/demo.json
// (mode 0600: it holds client secrets and passwords), so scripts can use
// the demo.
type Demo struct {
	Issuer string `json:"issuer"`
	// Playground is the URL of the built-in sign-in playground, empty when
	// the issuer cannot carry its redirect URI (plain http off loopback).
	Playground string `json:"playground,omitempty"`
	// Console is the URL of the tenant's admin console (alice, who has
	// the admin role, can sign in to it).
	Console      string            `json:"console"`
	APIs         []DemoAPI         `json:"apis"`
	Applications []DemoApplication `json:"applications"`
	// Users are the demo's end users with working passwords.
	Users []DemoUser `json:"users"`
}

// DemoAPI is one demo API and its scopes.
type DemoAPI struct {
	Identifier string   `json:"identifier"`
	Scopes     []string `json:"scopes"`
	// RequiresMFA are those of Scopes granted only to a sign-in that passed
	// a second factor (step-up, PRODUCT.md §2 step 6b).
	RequiresMFA []string `json:"requires_mfa,omitempty"`
}

// DemoApplication is one demo application with a working secret.
type DemoApplication struct {
	ClientID               string   `json:"client_id"`
	ClientSecret           string   `json:"client_secret,omitempty"`
	Type                   string   `json:"type"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	AllowedScopes          []string `json:"allowed_scopes"`
	ScopePolicy            string   `json:"scope_policy"`
	Consent                string   `json:"consent"`
}

// DemoUser is one demo end user's login and roles.
type DemoUser struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// PasswordHash is the stored hash Password was set with; a restart
	// that finds the same hash in the database knows Password still works
	// without spending an argon2id verification (64 MiB) on it.
	PasswordHash string   `json:"password_hash,omitempty"`
	Email        string   `json:"email"`
	Roles        []string `json:"roles"`
}

// App returns the demo application with that client ID.
func (d Demo) App(clientID string) (DemoApplication, bool) {
	for _, a := range d.Applications {
		if a.ClientID == clientID {
			return a, true
		}
	}
	return DemoApplication{}, false
}

// User returns the demo user with that username.
func (d Demo) User(username string) (DemoUser, bool) {
	for _, u := range d.Users {
		if u.Username == username {
			return u, true
		}
	}
	return DemoUser{}, false
}

type demoScope struct {
	name, display, description string
	// mfa: the scope requires a second factor (Scope.RequiresMFA).
	mfa bool
}

type demoAPI struct {
	id, identifier, name string
	scopes               []demoScope
}

// demoAPIs is the demo's catalogue; the descriptions are consent texts.
func demoAPIs() []demoAPI {
	return []demoAPI{
		{id: "banking", identifier: DemoAudience, name: "Banking API", scopes: []demoScope{
			{"read:transactions", "Read transactions", "View your account transactions and balances.", false},
			{"write:settings", "Change settings", "Change your account settings and notification preferences.", false},
			// Moving money asks for a second factor, whatever the tenant's
			// policy (which stays optional in the demo): the step-up example.
			{"payments:approve", "Approve payments", "Approve outgoing payments on your behalf.", true},
		}},
		{id: "health", identifier: "api.health.example.com", name: "Health records API", scopes: []demoScope{
			{"read:records", "Read health records", "View your medical records and test results.", false},
		}},
	}
}

func demoRoles() []RoleInput {
	return []RoleInput{
		{Name: "teller", Description: "Branch staff: reads transactions.", Scopes: []string{"read:transactions"}},
		{Name: "manager", Description: "Reads transactions, changes settings, approves payments.",
			Scopes: []string{"read:transactions", "write:settings", "payments:approve"}},
	}
}

// demoUsers are the demo's people; passwords are generated.
func demoUsers() []UserInput {
	return []UserInput{
		{Username: "alice", Email: "alice@example.com", EmailVerified: true, Name: "Alice Adams", GivenName: "Alice", FamilyName: "Adams",
			Locale: "en-GB", Roles: []string{model.RoleAdmin, "manager"}},
		{Username: "bob", Email: "bob@example.com", EmailVerified: true, Name: "Bob Brown", GivenName: "Bob", FamilyName: "Brown",
			Locale: "en-US", Roles: []string{model.RoleUser, "teller"}},
	}
}

// playgroundURIs returns the playground's redirect and post-logout URIs for
// issuer, or ok=false when the issuer cannot carry them (a redirect URI
// must be https or loopback http).
func playgroundURIs(issuer string) (callback, signedOut string, ok bool) {
	callback, signedOut = issuer+PlaygroundPath+"/callback", issuer+PlaygroundPath
	return callback, signedOut, model.ValidRedirectURI(callback) == nil
}

func demoApps(issuer string) []ApplicationInput {
	spaRedirects := []string{DemoSPAOrigin + "/callback"}
	spaLogout := []string{DemoSPAOrigin + "/"}
	if cb, out, ok := playgroundURIs(issuer); ok {
		spaRedirects = append(spaRedirects, cb)
		spaLogout = append(spaLogout, out)
	}
	return []ApplicationInput{
		{ClientID: "reporting-job", Name: "Reporting job", Type: model.AppM2M, ScopePolicy: model.PolicyStrict,
			AllowedScopes: []string{"read:transactions", "users:read", "audit:read"}},
		{ClientID: "legacy-batch", Name: "Legacy batch", Type: model.AppM2M, ScopePolicy: model.PolicyPermissive,
			AllowedScopes: []string{"read:transactions"}},
		{ClientID: DefaultAdminClientID, Name: "IntelliAuth CLI (platform API admin)", Type: model.AppM2M, ScopePolicy: model.PolicyStrict,
			AllowedScopes: AdminClientScopes()},
		{ClientID: DemoSPAClientID, Name: "Demo Bank", Type: model.AppSPA, ScopePolicy: model.PolicyStrict, Consent: model.ConsentRequired,
			GrantTypes:   []string{model.GrantAuthorizationCode, model.GrantRefreshToken},
			RedirectURIs: spaRedirects, PostLogoutRedirectURIs: spaLogout,
			AllowedScopes: []string{"openid", "profile", "email", "offline_access", "read:transactions", "write:settings", "payments:approve"}},
		{ClientID: DemoAdminToolClientID, Name: "Demo Bank admin tool", Type: model.AppWeb, ScopePolicy: model.PolicyStrict, Consent: model.ConsentImplicit,
			GrantTypes:   []string{model.GrantAuthorizationCode, model.GrantRefreshToken},
			RedirectURIs: []string{DemoAdminToolRedirect}, PostLogoutRedirectURIs: []string{"http://localhost:3000/"},
			AllowedScopes: append([]string{"openid", "profile", "email", "offline_access"}, model.PlatformScopeNames()...)},
	}
}

// SeedDemo makes sure the demo tenant exists at issuer <publicURL>/t/banking
// with its APIs, scopes, roles, users and applications, and returns the Demo
// to print.
//
// It is idempotent across restarts: what exists is kept (an admin's changes
// survive), only what is missing is created, and a changed public URL moves
// the tenant's issuer and the playground's URIs on banking-spa. Secrets and
// passwords are only stored hashed, so to print working ones it reuses those
// in previous (the last demo.json) when they still match, and otherwise
// rotates the application's secret with no grace period or sets a new
// generated password.
func (s *Service) SeedDemo(ctx context.Context, actor Actor, publicURL string, previous *Demo) (Demo, error) {
	issuer := strings.TrimRight(publicURL, "/") + "/t/" + DemoTenantID
	t, err := s.GetTenant(ctx, actor, DemoTenantID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if _, err := s.CreateTenant(ctx, actor, TenantInput{ID: DemoTenantID, Name: "Demo Bank", Issuer: issuer}); err != nil {
			return Demo{}, fmt.Errorf("demo: %w", err)
		}
	case err != nil:
		return Demo{}, fmt.Errorf("demo: %w", err)
	case t.Issuer != issuer:
		if _, err := s.UpdateTenant(ctx, actor, DemoTenantID, TenantUpdate{Issuer: &issuer}); err != nil {
			return Demo{}, fmt.Errorf("demo: move issuer to %s: %w", issuer, err)
		}
	}
	// A demo tenant made before roles existed gets the built-in ones.
	if err := s.EnsureBuiltinRoles(ctx, actor, DemoTenantID); err != nil {
		return Demo{}, fmt.Errorf("demo: %w", err)
	}

	demo := Demo{Issuer: issuer, Console: issuer + model.ConsolePath + "/", APIs: []DemoAPI{}, Applications: []DemoApplication{}, Users: []DemoUser{}}
	if _, _, ok := playgroundURIs(issuer); ok {
		demo.Playground = issuer + PlaygroundPath
	}
	for _, da := range demoAPIs() {
		api, err := s.GetAPI(ctx, actor, DemoTenantID, da.identifier)
		if errors.Is(err, store.ErrNotFound) {
			api, err = s.CreateAPI(ctx, actor, DemoTenantID, APIInput{ID: da.id, Identifier: da.identifier, Name: da.name})
		}
		if err != nil {
			return Demo{}, fmt.Errorf("demo: API %s: %w", da.identifier, err)
		}
		out := DemoAPI{Identifier: api.Identifier}
		for _, sc := range da.scopes {
			// An existing scope is kept as it is, requires_mfa included: an
			// admin may have changed it.
			stored, err := s.GetScope(ctx, actor, DemoTenantID, sc.name)
			if errors.Is(err, store.ErrNotFound) {
				stored, err = s.CreateScope(ctx, actor, DemoTenantID, ScopeInput{Name: sc.name, DisplayName: sc.display,
					Description: sc.description, API: api.ID, RequiresMFA: sc.mfa})
			}
			if err != nil {
				return Demo{}, fmt.Errorf("demo: scope %s: %w", sc.name, err)
			}
			out.Scopes = append(out.Scopes, sc.name)
			if stored.RequiresMFA {
				out.RequiresMFA = append(out.RequiresMFA, sc.name)
			}
		}
		demo.APIs = append(demo.APIs, out)
	}

	for _, in := range demoRoles() {
		_, err := s.GetRole(ctx, actor, DemoTenantID, in.Name)
		if errors.Is(err, store.ErrNotFound) {
			_, err = s.CreateRole(ctx, actor, DemoTenantID, in)
		}
		if err != nil {
			return Demo{}, fmt.Errorf("demo: role %s: %w", in.Name, err)
		}
	}
	for _, in := range demoUsers() {
		du, err := s.demoUser(ctx, actor, in, previous)
		if err != nil {
			return Demo{}, err
		}
		demo.Users = append(demo.Users, du)
	}

	for _, in := range demoApps(issuer) {
		app, err := s.GetApplication(ctx, actor, DemoTenantID, in.ClientID)
		var plain string
		switch {
		case errors.Is(err, store.ErrNotFound):
			created, err := s.CreateApplication(ctx, actor, DemoTenantID, in)
			if err != nil {
				return Demo{}, fmt.Errorf("demo: application %s: %w", in.ClientID, err)
			}
			app, plain = created.Application, created.Secret
		case err != nil:
			return Demo{}, fmt.Errorf("demo: application %s: %w", in.ClientID, err)
		default:
			if app.ClientID == DemoSPAClientID {
				if app, err = s.followIssuer(ctx, actor, app, issuer); err != nil {
					return Demo{}, err
				}
			}
			if plain, err = s.demoSecret(ctx, actor, app, previous); err != nil {
				return Demo{}, err
			}
		}
		demo.Applications = append(demo.Applications, DemoApplication{
			ClientID: app.ClientID, ClientSecret: plain, Type: string(app.Type), RedirectURIs: nonNil(app.RedirectURIs),
			PostLogoutRedirectURIs: app.PostLogoutRedirectURIs, AllowedScopes: nonNil(app.AllowedScopes),
			ScopePolicy: app.ScopePolicy, Consent: app.Consent,
		})
	}
	return demo, nil
}

// followIssuer moves banking-spa's playground redirect and post-logout
// URIs to the current issuer (the demo moved to another port or public
// URL), keeping every other URI an admin registered. Nothing is written
// when they are already there.
func (s *Service) followIssuer(ctx context.Context, actor Actor, app model.Application, issuer string) (model.Application, error) {
	cb, out, ok := playgroundURIs(issuer)
	if !ok {
		return app, nil
	}
	stale := func(u, suffix string) bool {
		return strings.HasSuffix(u, "/t/"+DemoTenantID+suffix)
	}
	follow := func(uris []string, want, suffix string) ([]string, bool) {
		if slices.Contains(uris, want) {
			return uris, false
		}
		kept := slices.DeleteFunc(slices.Clone(uris), func(u string) bool { return stale(u, suffix) })
		return append(kept, want), true
	}
	redirects, c1 := follow(app.RedirectURIs, cb, PlaygroundPath+"/callback")
	logouts, c2 := follow(app.PostLogoutRedirectURIs, out, PlaygroundPath)
	if !c1 && !c2 {
		return app, nil
	}
	updated, err := s.UpdateApplication(ctx, actor, DemoTenantID, app.ClientID, ApplicationUpdate{RedirectURIs: &redirects, PostLogoutRedirectURIs: &logouts})
	if err != nil {
		return app, fmt.Errorf("demo: move the playground URIs of %s to %s: %w", app.ClientID, issuer, err)
	}
	return updated, nil
}

// demoUser makes sure a demo user exists and returns a working login: the
// password in previous when it still works, else a new generated one.
//
// Memory: serve --demo's peak RSS is set here (argon2id holds its whole
// memory cost while it runs). The generated passwords carry 80 random bits,
// so they are hashed with password.Generated (19 MiB) rather than Default
// (64 MiB), one user at a time; and a restart skips the verification when
// the stored hash is the one previous recorded, which proves its password
// without running argon2id at all.
func (s *Service) demoUser(ctx context.Context, actor Actor, in UserInput, previous *Demo) (DemoUser, error) {
	d, err := s.GetUser(ctx, actor, DemoTenantID, in.Username)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if in.Password, err = demoPassword(); err != nil {
			return DemoUser{}, err
		}
		u, err := s.createUser(ctx, actor, DemoTenantID, in, password.Generated())
		if err != nil {
			return DemoUser{}, fmt.Errorf("demo: user %s: %w", in.Username, err)
		}
		return DemoUser{Username: u.Username, Password: in.Password, PasswordHash: u.PasswordHash, Email: u.Email, Roles: sortedSet(in.Roles)}, nil
	case err != nil:
		return DemoUser{}, fmt.Errorf("demo: user %s: %w", in.Username, err)
	}
	out := DemoUser{Username: d.User.Username, Email: d.User.Email, Roles: nonNil(d.Roles)}
	if previous != nil {
		if pu, ok := previous.User(in.Username); ok && pu.Password != "" && d.User.PasswordHash != "" {
			if pu.PasswordHash == d.User.PasswordHash {
				out.Password, out.PasswordHash = pu.Password, pu.PasswordHash
				return out, nil
			}
			if ok, _ := password.Verify(d.User.PasswordHash, pu.Password); ok {
				out.Password, out.PasswordHash = pu.Password, d.User.PasswordHash
				return out, nil
			}
		}
	}
	if out.Password, err = demoPassword(); err != nil {
		return DemoUser{}, err
	}
	if out.PasswordHash, err = password.HashWith(out.Password, password.Generated()); err != nil {
		return DemoUser{}, fmt.Errorf("demo: hash password for %s: %w", in.Username, err)
	}
	if err := s.setPasswordHash(ctx, actor, DemoTenantID, d.User.ID, out.PasswordHash, false); err != nil {
		return DemoUser{}, fmt.Errorf("demo: new password for %s: %w", in.Username, err)
	}
	return out, nil
}

// demoPassword returns a generated password that is easy to type: four
// groups of four lower-case base32 characters (80 random bits).
func demoPassword() (string, error) {
	raw, err := randomID("", 10)
	if err != nil {
		return "", err
	}
	return raw[0:4] + "-" + raw[4:8] + "-" + raw[8:12] + "-" + raw[12:16], nil
}

// demoSecret returns a working secret for an existing confidential demo
// application: the previous demo.json's if it is still live, else a new one.
func (s *Service) demoSecret(ctx context.Context, actor Actor, app model.Application, previous *Demo) (string, error) {
	if !app.Type.Confidential() {
		return "", nil
	}
	if previous != nil {
		if pa, ok := previous.App(app.ClientID); ok && pa.ClientSecret != "" {
			live, err := s.secretIsLive(ctx, app, pa.ClientSecret)
			if err != nil {
				return "", err
			}
			if live {
				return pa.ClientSecret, nil
			}
		}
	}
	r, err := s.RotateSecret(ctx, actor, app.TenantID, app.ClientID, 0)
	if err != nil {
		return "", fmt.Errorf("demo: new secret for %s: %w", app.ClientID, err)
	}
	return r.Secret, nil
}

func (s *Service) secretIsLive(ctx context.Context, app model.Application, plain string) (bool, error) {
	secrets, err := s.Store.Applications().Secrets(ctx, app.TenantID, app.ClientID)
	if err != nil {
		return false, fmt.Errorf("demo: secrets of %s: %w", app.ClientID, err)
	}
	now := s.now()
	for _, cs := range secrets {
		if cs.ExpiresAt.IsZero() && cs.ActiveAt(now) && secret.Equal(cs.Hash, plain) {
			return true, nil
		}
	}
	return false, nil
}

// AdminUser is the username of the first demo user with the admin role
// (the one to sign in to the console with), or "".
func (d Demo) AdminUser() string {
	for _, u := range d.Users {
		if slices.Contains(u.Roles, model.RoleAdmin) {
			return u.Username
		}
	}
	return ""
}
