package admin

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
	"github.com/intelliauth/intelliauth/internal/token"
)

// TenantInput describes a new tenant.
type TenantInput struct {
	ID     string
	Name   string
	Issuer string
	// Domain is an optional custom host that also routes to the tenant.
	Domain string
	// ScopePattern optionally tightens custom scope names (e.g. ^[a-z]+:[a-z]+$).
	ScopePattern string
}

// PlatformAPIPath is appended to a tenant's issuer to form the platform
// API's audience identifier.
const PlatformAPIPath = "/api/v1"

// CreateTenant creates a tenant with everything it needs to issue tokens:
// the platform API (audience <issuer>/api/v1, ES256, 1h), the predefined
// OIDC and platform scopes, the built-in roles admin (every platform scope)
// and user (me:read me:write me:sessions), and a current and next signing
// key per algorithm, and the console application (console.go) — all in one
// transaction with its tenant.created event.
func (s *Service) CreateTenant(ctx context.Context, actor Actor, in TenantInput) (model.Tenant, error) {
	if s.Sealer == nil {
		return model.Tenant{}, errors.New("admin: creating a tenant needs the master key (Service.Sealer is nil)")
	}
	t := model.Tenant{ID: in.ID, Name: in.Name, Issuer: in.Issuer, Domain: strings.ToLower(in.Domain), ScopePattern: in.ScopePattern}
	if err := s.validateTenant(t); err != nil {
		return model.Tenant{}, err
	}
	err := s.write(ctx, actor, func(tx store.Repos, now time.Time) ([]event, error) {
		t.CreatedAt, t.UpdatedAt = now, now
		if err := tx.Tenants().Create(ctx, t); err != nil {
			if errors.Is(err, store.ErrConflict) {
				if t.Domain != "" {
					return nil, refuse(err, "a tenant with ID %q or domain %q already exists", t.ID, t.Domain)
				}
				return nil, refuse(err, "a tenant with ID %q already exists", t.ID)
			}
			return nil, fmt.Errorf("create tenant %q: %w", t.ID, err)
		}
		api := platformAPI(t, now)
		if err := tx.APIs().Create(ctx, api); err != nil {
			return nil, fmt.Errorf("create platform API: %w", err)
		}
		for _, sc := range append(model.PredefinedOIDCScopes(), model.PlatformScopes(model.PlatformAPIID)...) {
			sc.TenantID, sc.CreatedAt, sc.UpdatedAt = t.ID, now, now
			if err := tx.Scopes().Create(ctx, sc); err != nil {
				return nil, fmt.Errorf("create predefined scope %q: %w", sc.Name, err)
			}
		}
		roles, err := createBuiltinRoles(ctx, tx, actor, t.ID, now)
		if err != nil {
			return nil, err
		}
		if err := token.EnsureKeys(ctx, tx, s.Sealer, t.ID, now); err != nil {
			return nil, fmt.Errorf("create signing keys: %w", err)
		}
		// One application.created for a new tenant's console: recorded
		// in the tenant.created event.
		consoleEvents, err := ensureConsole(ctx, tx, t.ID, ConsoleSecret(s.Sealer, t.ID), now)
		if err != nil {
			return nil, err
		}
		stored, err := tx.Tenants().Get(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		t = stored
		return []event{{Type: model.EventTenantCreated, TenantID: t.ID, Audience: api.Identifier,
			Details: map[string]any{"after": NewTenantDoc(t), "platform_api": NewAPIDoc(api), "builtin_roles": roles,
				"console_application": consoleEvents[0].Details}}}, nil
	})
	if err != nil {
		return model.Tenant{}, err
	}
	return t, nil
}

func platformAPI(t model.Tenant, now time.Time) model.API {
	return model.API{
		TenantID: t.ID, ID: model.PlatformAPIID, Identifier: t.Issuer + PlatformAPIPath,
		Name: "IntelliAuth platform API", SigningAlg: model.AlgES256, AccessTokenTTL: model.DefaultAccessTokenTTL,
		Platform: true, CreatedAt: now, UpdatedAt: now,
	}
}

// validateTenant runs the model's checks plus the deployment rule that an
// http:// issuer is only for loopback unless explicitly allowed.
func (s *Service) validateTenant(t model.Tenant) error {
	p := problemsOf(t.Validate())
	if u, err := url.Parse(t.Issuer); err == nil && u.Scheme == "http" && !s.AllowInsecureIssuer && !isLoopbackHost(u.Hostname()) {
		p.Add("issuer", fmt.Sprintf("%q uses http:// off loopback; use https (RFC 8414 §2), or start the server with --allow-insecure-issuer for a private network", t.Issuer))
	}
	return p.Err()
}

// isLoopbackHost reports whether host is localhost or a loopback IP. (It
// mirrors config.IsLoopbackHost, which admin must not import.)
func isLoopbackHost(host string) bool {
	h := strings.ToLower(strings.Trim(host, "[]"))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.Unmap().IsLoopback()
}

// TenantUpdate changes a tenant; nil fields are left as they are.
type TenantUpdate struct {
	Name         *string
	Issuer       *string
	Domain       *string
	ScopePattern *string
	// Version, when non-zero, must equal the stored version.
	Version int64
}

// UpdateTenant changes a tenant. An issuer change also moves the platform
// API's audience to <new issuer>/api/v1. A tightened ScopePattern applies to
// scopes created from now on; existing scopes keep their names.
func (s *Service) UpdateTenant(ctx context.Context, actor Actor, id string, upd TenantUpdate) (model.Tenant, error) {
	var out model.Tenant
	err := s.write(ctx, actor, func(tx store.Repos, now time.Time) ([]event, error) {
		before, err := getTenant(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if err := checkVersion("tenant "+id, upd.Version, before.Version); err != nil {
			return nil, err
		}
		after := before
		if upd.Name != nil {
			after.Name = *upd.Name
		}
		if upd.Issuer != nil {
			after.Issuer = *upd.Issuer
		}
		if upd.Domain != nil {
			after.Domain = strings.ToLower(*upd.Domain)
		}
		if upd.ScopePattern != nil {
			after.ScopePattern = *upd.ScopePattern
		}
		if err := s.validateTenant(after); err != nil {
			return nil, err
		}
		after.UpdatedAt = now
		stored, err := tx.Tenants().Update(ctx, after)
		if err != nil {
			return nil, writeErr(err, fmt.Sprintf("tenant %q", id))
		}
		out = stored
		if before.Issuer != after.Issuer {
			api, err := tx.APIs().Get(ctx, id, model.PlatformAPIID)
			if err != nil {
				return nil, fmt.Errorf("platform API of tenant %q: %w", id, err)
			}
			api.Identifier, api.UpdatedAt = after.Issuer+PlatformAPIPath, now
			if _, err := tx.APIs().Update(ctx, api); err != nil {
				return nil, fmt.Errorf("move platform API to the new issuer: %w", err)
			}
		}
		return []event{{Type: EventTenantUpdated, TenantID: id,
			Details: map[string]any{"before": NewTenantDoc(before), "after": NewTenantDoc(stored)}}}, nil
	})
	return out, err
}

// GetTenant returns one tenant.
func (s *Service) GetTenant(ctx context.Context, actor Actor, id string) (model.Tenant, error) {
	var t model.Tenant
	err := s.read(ctx, actor, func(tx store.Repos) (err error) {
		t, err = getTenant(ctx, tx, id)
		return err
	})
	return t, err
}

// ListTenants returns every tenant ordered by ID.
func (s *Service) ListTenants(ctx context.Context, actor Actor) ([]model.Tenant, error) {
	var ts []model.Tenant
	err := s.read(ctx, actor, func(tx store.Repos) (err error) {
		ts, err = tx.Tenants().List(ctx)
		return err
	})
	return ts, err
}

// EventTenantUpdated records a tenant change. (model lists the other event
// types; this one is admin's until model grows it.)
const EventTenantUpdated = "tenant.updated"
