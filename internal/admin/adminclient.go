package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// DefaultAdminClientID is the client_id of the machine client that
// `tenant create` makes for the CLI's management commands.
const DefaultAdminClientID = "admin-cli"

// AdminClientScopes are the platform scopes an admin client is allowed: every
// platform scope except me:*, which only mean something for a signed-in
// user (a client-credentials token has none).
func AdminClientScopes() []string {
	var out []string
	for _, s := range model.PlatformScopeNames() {
		if !strings.HasPrefix(s, "me:") {
			out = append(out, s)
		}
	}
	return out
}

// isAdminScope reports whether name is one of AdminClientScopes.
func isAdminScope(name string) bool { return slices.Contains(AdminClientScopes(), name) }

// AdminClient is a tenant's admin client and its secret, shown this once.
type AdminClient struct {
	Issuer       string `json:"issuer"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// Created is false when an existing client got a new secret.
	Created bool `json:"created"`
}

// BootstrapAdminClient gives an operator credentials for the platform API of
// a tenant: it creates clientID as a strict m2m application allowed every
// admin platform scope, or — when the application exists — rotates its
// secret with no grace period (the way back in when the secret is lost;
// the old one stops working at once). An existing application is re-keyed
// only when it is an m2m client allowed some admin platform scope, so that
// a mistyped client ID never cuts off a workload. The allowlist of an
// existing client is left as its admins set it.
//
// It is the operator's way in (it needs the database, not a token), the
// one step the CLI cannot do over /api/v1 itself.
func (s *Service) BootstrapAdminClient(ctx context.Context, actor Actor, tenantID, clientID string) (AdminClient, error) {
	if clientID == "" {
		clientID = DefaultAdminClientID
	}
	t, err := s.GetTenant(ctx, actor, tenantID)
	if err != nil {
		return AdminClient{}, err
	}
	out := AdminClient{Issuer: t.Issuer, ClientID: clientID}
	app, err := s.GetApplication(ctx, actor, tenantID, clientID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		created, err := s.CreateApplication(ctx, actor, tenantID, ApplicationInput{
			ClientID: clientID, Name: "IntelliAuth CLI (platform API admin)", Type: model.AppM2M,
			ScopePolicy: model.PolicyStrict, AllowedScopes: AdminClientScopes(),
		})
		if err != nil {
			return AdminClient{}, fmt.Errorf("create admin client %q: %w", clientID, err)
		}
		out.ClientSecret, out.Created = created.Secret, true
		return out, nil
	case err != nil:
		return AdminClient{}, err
	}
	if app.Type != model.AppM2M {
		return AdminClient{}, invalid("client_id", "%q is a %s application; an admin client must be m2m (client credentials) — pick another client ID", clientID, app.Type)
	}
	// Re-keying ends the old secret at once: never do that to a workload's
	// client that was named here by mistake, only to an admin client.
	if !slices.ContainsFunc(app.AllowedScopes, isAdminScope) {
		return AdminClient{}, invalid("client_id", "%q is allowed no platform scope, so it is not an admin client; re-keying it would stop its secret now — pick another client ID, or rotate its secret with app rotate-secret", clientID)
	}
	r, err := s.RotateSecret(ctx, actor, tenantID, clientID, 0)
	if err != nil {
		return AdminClient{}, fmt.Errorf("rotate the secret of admin client %q: %w", clientID, err)
	}
	out.ClientSecret = r.Secret
	return out, nil
}
