package servertest

import (
	"context"
	"errors"
	"testing"

	"github.com/intelliauth/intelliauth/internal/admin"
	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/password"
	"github.com/intelliauth/intelliauth/internal/store"
)

// Redirect URIs and origins of the seeded browser applications. Nothing
// listens on them: the test browser stops at the redirect and reads it.
const (
	SPAOrigin         = "http://localhost:5173"
	SPARedirectURI    = SPAOrigin + "/callback"
	SPAPostLogoutURI  = SPAOrigin + "/signed-out"
	AdminToolRedirect = "http://127.0.0.1:8400/admin/callback"
)

// User is a seeded end user with their plaintext password.
type User struct {
	ID       string
	Username string
	Password string
}

// People are the users and browser applications SeedUsers creates.
type People struct {
	// Alice holds admin and manager; Bob holds user and teller.
	Alice, Bob User
	// SPA is banking-spa: public (type spa, PKCE with auth method none),
	// strict, consent required, allowlist openid profile email
	// offline_access read:transactions write:settings.
	SPA Client
	// AdminTool is admin-tool: confidential (type web), consent implicit,
	// allowlist openid profile email offline_access users:read users:write
	// audit:read.
	AdminTool Client
}

// SeedUsers adds to a tenant made by Seed: the roles teller
// (read:transactions) and manager (read:transactions write:settings
// payments:approve), the built-in admin and user roles if the tenant lacks
// them, the users alice and bob, and the browser applications banking-spa
// and admin-tool.
func (e *Env) SeedUsers(t testing.TB, tenantID string) People {
	t.Helper()
	ctx := context.Background()
	st := e.Store
	now := e.Clock.Now()

	for _, r := range []model.Role{
		{Name: model.RoleAdmin, Description: "Every platform scope.", Scopes: model.PlatformScopeNames(), Builtin: true},
		{Name: model.RoleUser, Description: "The user's own profile and sessions.", Scopes: []string{"me:read", "me:write", "me:sessions"}, Builtin: true},
		{Name: "teller", Description: "Reads transactions.", Scopes: []string{"read:transactions"}},
		{Name: "manager", Description: "Reads transactions, changes settings, approves payments.", Scopes: []string{"read:transactions", "write:settings", "payments:approve"}},
	} {
		r.TenantID, r.CreatedAt, r.UpdatedAt = tenantID, now, now
		if _, err := st.Roles().Get(ctx, tenantID, r.Name); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		must(t, st.Roles().Create(ctx, r))
	}

	p := People{
		Alice: e.CreateUser(t, tenantID, model.User{
			ID: "usr_alice", Username: "alice", Email: "alice@example.com", EmailVerified: true,
			Name: "Alice Adams", GivenName: "Alice", FamilyName: "Adams", Locale: "en-GB",
			Picture: "https://example.com/alice.png", PhoneNumber: "+44 20 7946 0000",
			Address: model.Address{Locality: "London", Country: "GB"},
		}, "correct horse battery staple", model.RoleAdmin, "manager"),
		Bob: e.CreateUser(t, tenantID, model.User{
			ID: "usr_bob", Username: "bob", Email: "bob@example.com", Name: "Bob Brown", GivenName: "Bob", FamilyName: "Brown",
		}, "tr0ub4dor&3 is weak", model.RoleUser, "teller"),
	}

	a, actor := e.Admin, admin.CLI()
	spa, err := a.CreateApplication(ctx, actor, tenantID, admin.ApplicationInput{
		ClientID: "banking-spa", Name: "Banking", Type: model.AppSPA,
		RedirectURIs:  []string{SPARedirectURI},
		GrantTypes:    []string{model.GrantAuthorizationCode, model.GrantRefreshToken},
		AllowedScopes: []string{"openid", "profile", "email", "offline_access", "read:transactions", "write:settings"},
		ScopePolicy:   model.PolicyStrict, Consent: model.ConsentRequired,
	})
	must(t, err)
	e.SetPostLogoutURIs(t, tenantID, spa.Application.ClientID, SPAPostLogoutURI)
	tool, err := a.CreateApplication(ctx, actor, tenantID, admin.ApplicationInput{
		ClientID: "admin-tool", Name: "Admin tool", Type: model.AppWeb,
		RedirectURIs:  []string{AdminToolRedirect},
		GrantTypes:    []string{model.GrantAuthorizationCode, model.GrantRefreshToken},
		AllowedScopes: []string{"openid", "profile", "email", "offline_access", "users:read", "users:write", "audit:read"},
		ScopePolicy:   model.PolicyStrict, Consent: model.ConsentImplicit,
	})
	must(t, err)
	p.SPA = Client{ID: spa.Application.ClientID}
	p.AdminTool = Client{ID: tool.Application.ClientID, Secret: tool.Secret}
	e.Server.Catalog().Invalidate(tenantID)
	return p
}

// CreateUser stores an active user with an argon2id hash of pw and
// assigns the roles. Zero ID, timestamps and status are filled in; a set
// PasswordHash (of pw) is kept, so a test creating many users hashes once.
func (e *Env) CreateUser(t testing.TB, tenantID string, u model.User, pw string, roles ...string) User {
	t.Helper()
	ctx := context.Background()
	if u.PasswordHash == "" {
		hash, err := password.Hash(pw)
		must(t, err)
		u.PasswordHash = hash
	}
	now := e.Clock.Now()
	u.TenantID = tenantID
	if u.ID == "" {
		u.ID = "usr_" + u.Username
	}
	if u.Status == "" {
		u.Status = model.UserActive
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt, u.UpdatedAt = now, now
	}
	must(t, e.Store.Users().Create(ctx, u))
	for _, r := range roles {
		must(t, e.Store.Roles().Assign(ctx, tenantID, u.ID, r))
	}
	e.Server.Catalog().Invalidate(tenantID)
	return User{ID: u.ID, Username: u.Username, Password: pw}
}

// SetPostLogoutURIs replaces an application's post-logout redirect URIs
// (the admin use-cases do not set them yet).
func (e *Env) SetPostLogoutURIs(t testing.TB, tenantID, clientID string, uris ...string) {
	t.Helper()
	e.updateApp(t, tenantID, clientID, func(a *model.Application) { a.PostLogoutRedirectURIs = uris })
}

// SetAllowedOrigins replaces an application's CORS origins.
func (e *Env) SetAllowedOrigins(t testing.TB, tenantID, clientID string, origins ...string) {
	t.Helper()
	e.updateApp(t, tenantID, clientID, func(a *model.Application) { a.AllowedOrigins = origins })
}

func (e *Env) updateApp(t testing.TB, tenantID, clientID string, f func(*model.Application)) {
	t.Helper()
	ctx := context.Background()
	a, err := e.Store.Applications().Get(ctx, tenantID, clientID)
	must(t, err)
	f(&a)
	must(t, a.Validate())
	_, err = e.Store.Applications().Update(ctx, a)
	must(t, err)
	e.Server.Catalog().Invalidate(tenantID)
}
