package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/secret"
	"github.com/intelliauth/intelliauth/internal/store"
)

// DemoTenantID is the demo tenant's ID; its issuer is <public URL>/t/banking.
const DemoTenantID = "banking"

// Demo is what serve --demo prints and writes to <data-dir>/demo.json
// (mode 0600: it holds client secrets), so scripts can use the demo.
type Demo struct {
	Issuer       string            `json:"issuer"`
	APIs         []DemoAPI         `json:"apis"`
	Applications []DemoApplication `json:"applications"`
	// Users are the demo's end users; later issues add them.
	Users []DemoUser `json:"users"`
}

// DemoAPI is one demo API and its scopes.
type DemoAPI struct {
	Identifier string   `json:"identifier"`
	Scopes     []string `json:"scopes"`
}

// DemoApplication is one demo application with a working secret.
type DemoApplication struct {
	ClientID      string   `json:"client_id"`
	ClientSecret  string   `json:"client_secret,omitempty"`
	Type          string   `json:"type"`
	RedirectURIs  []string `json:"redirect_uris"`
	AllowedScopes []string `json:"allowed_scopes"`
	ScopePolicy   string   `json:"scope_policy"`
}

// DemoUser is one demo end user's login.
type DemoUser struct {
	Username string `json:"username"`
	Password string `json:"password"`
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

type demoScope struct{ name, display, description string }

type demoAPI struct {
	id, identifier, name string
	scopes               []demoScope
}

// demoAPIs is the demo's catalogue; the descriptions are consent texts.
func demoAPIs() []demoAPI {
	return []demoAPI{
		{id: "banking", identifier: "api.banking.example.com", name: "Banking API", scopes: []demoScope{
			{"read:transactions", "Read transactions", "View your account transactions and balances."},
			{"write:settings", "Change settings", "Change your account settings and notification preferences."},
			{"payments:approve", "Approve payments", "Approve outgoing payments on your behalf."},
		}},
		{id: "health", identifier: "api.health.example.com", name: "Health records API", scopes: []demoScope{
			{"read:records", "Read health records", "View your medical records and test results."},
		}},
	}
}

func demoApps() []ApplicationInput {
	return []ApplicationInput{
		{ClientID: "reporting-job", Name: "Reporting job", Type: model.AppM2M, ScopePolicy: model.PolicyStrict,
			AllowedScopes: []string{"read:transactions", "users:read", "audit:read"}},
		{ClientID: "legacy-batch", Name: "Legacy batch", Type: model.AppM2M, ScopePolicy: model.PolicyPermissive,
			AllowedScopes: []string{"read:transactions"}},
	}
}

// SeedDemo makes sure the demo tenant exists at issuer <publicURL>/t/banking
// with its APIs, scopes and applications, and returns the Demo to print.
//
// It is idempotent across restarts: what exists is kept (an admin's changes
// survive), only what is missing is created, and a changed public URL moves
// the tenant's issuer. Secrets are only stored hashed, so to print working
// ones it reuses the secret in previous (the last demo.json) when it still
// matches a live secret, and otherwise rotates the application's secret with
// no grace period.
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

	demo := Demo{Issuer: issuer, APIs: []DemoAPI{}, Applications: []DemoApplication{}, Users: []DemoUser{}}
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
			_, err := s.GetScope(ctx, actor, DemoTenantID, sc.name)
			if errors.Is(err, store.ErrNotFound) {
				_, err = s.CreateScope(ctx, actor, DemoTenantID, ScopeInput{Name: sc.name, DisplayName: sc.display, Description: sc.description, API: api.ID})
			}
			if err != nil {
				return Demo{}, fmt.Errorf("demo: scope %s: %w", sc.name, err)
			}
			out.Scopes = append(out.Scopes, sc.name)
		}
		demo.APIs = append(demo.APIs, out)
	}

	for _, in := range demoApps() {
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
			if plain, err = s.demoSecret(ctx, actor, app, previous); err != nil {
				return Demo{}, err
			}
		}
		demo.Applications = append(demo.Applications, DemoApplication{
			ClientID: app.ClientID, ClientSecret: plain, Type: string(app.Type), RedirectURIs: nonNil(app.RedirectURIs),
			AllowedScopes: nonNil(app.AllowedScopes), ScopePolicy: app.ScopePolicy,
		})
	}
	return demo, nil
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
