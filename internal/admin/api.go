package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// APIInput describes a new API (resource server).
type APIInput struct {
	// ID is stable across identifier changes; generated ("api_…") if empty.
	ID string
	// Identifier is the audience, e.g. api.banking.example.com.
	Identifier string
	Name       string
	// SigningAlg is ES256 (default) or RS256.
	SigningAlg string
	// AccessTokenTTL defaults to one hour.
	AccessTokenTTL time.Duration
	// TokenSizeBudget is the access-token size budget in bytes; 0 is none.
	TokenSizeBudget int
}

// CreateAPI registers an API.
func (s *Service) CreateAPI(ctx context.Context, actor Actor, tenantID string, in APIInput) (model.API, error) {
	a := model.API{TenantID: tenantID, ID: in.ID, Identifier: in.Identifier, Name: in.Name,
		SigningAlg: in.SigningAlg, AccessTokenTTL: in.AccessTokenTTL, TokenSizeBudget: in.TokenSizeBudget}
	if a.SigningAlg == "" {
		a.SigningAlg = model.AlgES256
	}
	if a.AccessTokenTTL == 0 {
		a.AccessTokenTTL = model.DefaultAccessTokenTTL
	}
	if a.Name == "" {
		a.Name = a.Identifier
	}
	if a.ID == "" {
		id, err := randomID("api_", 8)
		if err != nil {
			return model.API{}, err
		}
		a.ID = id
	}
	p := problemsOf(a.Validate())
	if a.ID == model.PlatformAPIID {
		p.Add("id", fmt.Sprintf("%q is reserved for the platform API", a.ID))
	}
	if err := p.Err(); err != nil {
		return model.API{}, err
	}
	var out model.API
	err := s.write(ctx, actor, func(tx store.Repos, now time.Time) ([]event, error) {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return nil, err
		}
		a.CreatedAt, a.UpdatedAt = now, now
		if err := tx.APIs().Create(ctx, a); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil, refuse(err, "an API with ID %q or identifier %q already exists", a.ID, a.Identifier)
			}
			return nil, fmt.Errorf("create API %q: %w", a.Identifier, err)
		}
		var err error
		if out, err = tx.APIs().Get(ctx, tenantID, a.ID); err != nil {
			return nil, err
		}
		return []event{{Type: model.EventAPICreated, TenantID: tenantID, Audience: out.Identifier,
			Details: map[string]any{"after": NewAPIDoc(out)}}}, nil
	})
	return out, err
}

// APIUpdate changes an API; nil fields are left as they are.
type APIUpdate struct {
	Identifier     *string
	Name           *string
	SigningAlg     *string
	AccessTokenTTL *time.Duration
	// TokenSizeBudget sets the token-size budget in bytes; 0 removes it.
	TokenSizeBudget *int
	// Version, when non-zero, must equal the stored version.
	Version int64
}

// UpdateAPI changes an API, found by ID or identifier. The platform API's
// identifier follows the tenant's issuer and cannot be set here.
func (s *Service) UpdateAPI(ctx context.Context, actor Actor, tenantID, ref string, upd APIUpdate) (model.API, error) {
	var out model.API
	err := s.writeAt(ctx, actor, upd.Version, func(tx store.Repos, now time.Time) ([]event, error) {
		before, err := resolveAPI(ctx, tx, tenantID, ref)
		if err != nil {
			return nil, err
		}
		if err := checkVersion("API "+ref, upd.Version, before.Version); err != nil {
			return nil, err
		}
		after := before
		var p model.Problems
		if upd.Identifier != nil && *upd.Identifier != before.Identifier {
			if before.Platform {
				p.Add("identifier", "the platform API's identifier is <issuer>/api/v1 and changes only with the tenant's issuer")
			}
			after.Identifier = *upd.Identifier
		}
		if upd.Name != nil {
			after.Name = *upd.Name
		}
		if upd.SigningAlg != nil {
			after.SigningAlg = *upd.SigningAlg
		}
		if upd.AccessTokenTTL != nil {
			after.AccessTokenTTL = *upd.AccessTokenTTL
		}
		if upd.TokenSizeBudget != nil {
			after.TokenSizeBudget = *upd.TokenSizeBudget
		}
		p = append(p, problemsOf(after.Validate())...)
		if err := p.Err(); err != nil {
			return nil, err
		}
		after.UpdatedAt = now
		if out, err = tx.APIs().Update(ctx, after); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil, refuse(err, "identifier %q is taken by another API", after.Identifier)
			}
			return nil, writeErr(err, fmt.Sprintf("API %q", ref))
		}
		return []event{{Type: model.EventAPIUpdated, TenantID: tenantID, Audience: out.Identifier,
			Details: map[string]any{"before": NewAPIDoc(before), "after": NewAPIDoc(out)}}}, nil
	})
	return out, err
}

// DeleteAPI deletes an API, found by ID or identifier. It refuses the
// platform API, and an API that still defines scopes (delete those first, so
// that no allowlist loses scopes as a side effect nobody previewed).
// version, when non-zero, must equal the stored version (else
// store.ErrPrecondition and nothing changes).
func (s *Service) DeleteAPI(ctx context.Context, actor Actor, tenantID, ref string, version int64) error {
	return s.writeAt(ctx, actor, version, func(tx store.Repos, now time.Time) ([]event, error) {
		before, err := resolveAPI(ctx, tx, tenantID, ref)
		if err != nil {
			return nil, err
		}
		if err := checkVersion("API "+ref, version, before.Version); err != nil {
			return nil, err
		}
		if before.Platform {
			return nil, invalid("api", "the platform API cannot be deleted")
		}
		all, err := tx.Scopes().All(ctx, tenantID)
		if err != nil {
			return nil, err
		}
		var defined []string
		for _, sc := range all {
			if sc.APIID == before.ID {
				defined = append(defined, sc.Name)
			}
		}
		if len(defined) > 0 {
			return nil, refuse(store.ErrConflict, "API %q still defines scopes %s; delete them first", before.Identifier, strings.Join(defined, " "))
		}
		// Only the version read: a concurrent update fails the delete.
		if err := tx.APIs().Delete(ctx, tenantID, before.ID, before.Version); err != nil {
			return nil, writeErr(err, fmt.Sprintf("API %q", before.Identifier))
		}
		return []event{{Type: model.EventAPIDeleted, TenantID: tenantID, Audience: before.Identifier,
			Details: map[string]any{"before": NewAPIDoc(before)}}}, nil
	})
}

// GetAPI returns one API by ID or identifier.
func (s *Service) GetAPI(ctx context.Context, actor Actor, tenantID, ref string) (model.API, error) {
	var a model.API
	err := s.read(ctx, actor, func(tx store.Repos) (err error) {
		a, err = resolveAPI(ctx, tx, tenantID, ref)
		return err
	})
	return a, err
}

// ListAPIs returns the tenant's APIs ordered by identifier.
func (s *Service) ListAPIs(ctx context.Context, actor Actor, tenantID string) ([]model.API, error) {
	var out []model.API
	err := s.read(ctx, actor, func(tx store.Repos) error {
		if _, err := getTenant(ctx, tx, tenantID); err != nil {
			return err
		}
		var err error
		out, err = tx.APIs().List(ctx, tenantID)
		return err
	})
	return out, err
}
