package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

type apis struct{ repos }

const apiCols = `tenant_id, id, identifier, name, signing_alg, access_token_ttl, token_size_budget, platform, created_at, updated_at, version`

func scanAPI(s scanner) (model.API, error) {
	var (
		a       model.API
		ttl     int64
		c, u    int64
		platfrm bool
	)
	if err := s.Scan(&a.TenantID, &a.ID, &a.Identifier, &a.Name, &a.SigningAlg, &ttl, &a.TokenSizeBudget, &platfrm, &c, &u, &a.Version); err != nil {
		return model.API{}, err
	}
	a.AccessTokenTTL = time.Duration(ttl)
	a.Platform = platfrm
	a.CreatedAt, a.UpdatedAt = fromMicros(c), fromMicros(u)
	return a, nil
}

// Create stores a new API with Version 1; ErrConflict if the ID or the
// Identifier is taken in the tenant.
func (r apis) Create(ctx context.Context, a model.API) error {
	c, u := stamps(a.CreatedAt, a.UpdatedAt, r.db.now())
	err := r.write(ctx, func(q querier) error {
		if err := r.bumpRev(ctx, q, a.TenantID); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `INSERT INTO apis (`+apiCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1)`,
			a.TenantID, a.ID, a.Identifier, a.Name, a.SigningAlg, int64(a.AccessTokenTTL), a.TokenSizeBudget, a.Platform, c, u)
		return r.onInsert(err)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: create API %s/%s: %w", a.TenantID, a.ID, err)
	}
	return nil
}

func (r apis) Get(ctx context.Context, tenantID, id string) (model.API, error) {
	return r.get(ctx, r.read(), tenantID, id)
}

func (r apis) get(ctx context.Context, q querier, tenantID, id string) (model.API, error) {
	a, err := scanAPI(q.QueryRowContext(ctx, `SELECT `+apiCols+` FROM apis WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return model.API{}, fmt.Errorf("sqlstore: API %s/%s: %w", tenantID, id, store.ErrNotFound)
	}
	if err != nil {
		return model.API{}, fmt.Errorf("sqlstore: get API %s/%s: %w", tenantID, id, err)
	}
	return a, nil
}

// GetByIdentifier finds an API by its audience string, matched exactly.
func (r apis) GetByIdentifier(ctx context.Context, tenantID, identifier string) (model.API, error) {
	a, err := scanAPI(r.read().QueryRowContext(ctx, `SELECT `+apiCols+` FROM apis WHERE tenant_id = $1 AND identifier = $2`,
		tenantID, identifier))
	if errors.Is(err, sql.ErrNoRows) {
		return model.API{}, fmt.Errorf("sqlstore: API %s with identifier %q: %w", tenantID, identifier, store.ErrNotFound)
	}
	if err != nil {
		return model.API{}, fmt.Errorf("sqlstore: get API %s by identifier %q: %w", tenantID, identifier, err)
	}
	return a, nil
}

func (r apis) List(ctx context.Context, tenantID string) ([]model.API, error) {
	rows, err := r.read().QueryContext(ctx, `SELECT `+apiCols+` FROM apis WHERE tenant_id = $1 ORDER BY identifier`, tenantID)
	out, err := collect(rows, err, scanAPI)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list APIs of %s: %w", tenantID, err)
	}
	return out, nil
}

// Update replaces Identifier, Name, SigningAlg, AccessTokenTTL and
// TokenSizeBudget (not Platform) when a.Version matches, bumps Version and sets UpdatedAt to now.
func (r apis) Update(ctx context.Context, a model.API) (model.API, error) {
	var out model.API
	err := r.write(ctx, func(q querier) error {
		if err := r.bumpRev(ctx, q, a.TenantID); err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, `UPDATE apis
			SET identifier = $4, name = $5, signing_alg = $6, access_token_ttl = $7, token_size_budget = $8,
			    updated_at = $9, version = version + 1
			WHERE tenant_id = $1 AND id = $2 AND version = $3`,
			a.TenantID, a.ID, a.Version, a.Identifier, a.Name, a.SigningAlg, int64(a.AccessTokenTTL), a.TokenSizeBudget, micros(r.db.now()))
		if err != nil {
			return r.onInsert(err)
		}
		if n, err := rowsAffected(res); err != nil {
			return err
		} else if n == 0 {
			return missReason(ctx, q, "apis", "id", a.TenantID, a.ID, a.Version)
		}
		out, err = r.get(ctx, q, a.TenantID, a.ID)
		return err
	})
	if err != nil {
		return model.API{}, fmt.Errorf("sqlstore: update API %s/%s: %w", a.TenantID, a.ID, err)
	}
	return out, nil
}

// Delete removes an API; ErrConflict while scopes still name it. Whether it
// is the platform API (never deleted) is the caller's check.
func (r apis) Delete(ctx context.Context, tenantID, id string, version int64) error {
	err := r.write(ctx, func(q querier) error {
		if err := r.bumpRev(ctx, q, tenantID); err != nil {
			return err
		}
		// Checked first for a message that says what to do; the foreign key
		// from scopes is the backstop.
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM scopes WHERE tenant_id = $1 AND api_id = $2`, tenantID, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %d scopes still belong to the API", store.ErrConflict, n)
		}
		return r.deleteRow(ctx, q, "apis", "id", tenantID, id, version)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete API %s/%s: %w", tenantID, id, err)
	}
	return nil
}
