package sqlstore

import (
	"context"
	"fmt"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

type keys struct{ repos }

// Create stores a signing key; ErrConflict if the kid is taken in the
// tenant. Nothing here limits how many keys are current: rotation is the
// token package's protocol, run inside InTx.
func (r keys) Create(ctx context.Context, k model.SigningKey) error {
	c, u := stamps(k.CreatedAt, k.UpdatedAt, r.db.now())
	err := r.write(ctx, func(q querier) error {
		if err := r.bumpRev(ctx, q, k.TenantID); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `INSERT INTO signing_keys
			(tenant_id, kid, alg, state, public_jwk, private_sealed, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			k.TenantID, k.KID, k.Alg, string(k.State), k.PublicJWK, k.PrivateSealed, c, u)
		return r.onInsert(err)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: create signing key %s/%s: %w", k.TenantID, k.KID, err)
	}
	return nil
}

// List returns the tenant's keys newest first (by CreatedAt, then kid).
func (r keys) List(ctx context.Context, tenantID string) ([]model.SigningKey, error) {
	rows, err := r.read().QueryContext(ctx, `SELECT tenant_id, kid, alg, state, public_jwk, private_sealed, created_at, updated_at
		FROM signing_keys WHERE tenant_id = $1 ORDER BY created_at DESC, kid DESC`, tenantID)
	out, err := collect(rows, err, func(s scanner) (model.SigningKey, error) {
		var (
			k    model.SigningKey
			c, u int64
		)
		if err := s.Scan(&k.TenantID, &k.KID, &k.Alg, &k.State, &k.PublicJWK, &k.PrivateSealed, &c, &u); err != nil {
			return model.SigningKey{}, err
		}
		k.CreatedAt, k.UpdatedAt = fromMicros(c), fromMicros(u)
		return k, nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list signing keys of %s: %w", tenantID, err)
	}
	return out, nil
}

// SetState moves a key to state and sets its UpdatedAt to now. Which
// transitions are legal is the caller's rule.
func (r keys) SetState(ctx context.Context, tenantID, kid string, state model.KeyState) error {
	err := r.write(ctx, func(q querier) error {
		if err := r.bumpRev(ctx, q, tenantID); err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, `UPDATE signing_keys SET state = $3, updated_at = $4 WHERE tenant_id = $1 AND kid = $2`,
			tenantID, kid, string(state), micros(r.db.now()))
		if err != nil {
			return err
		}
		if n, err := rowsAffected(res); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: set state of signing key %s/%s to %s: %w", tenantID, kid, state, err)
	}
	return nil
}

func (r keys) Delete(ctx context.Context, tenantID, kid string) error {
	err := r.write(ctx, func(q querier) error {
		if err := r.bumpRev(ctx, q, tenantID); err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, `DELETE FROM signing_keys WHERE tenant_id = $1 AND kid = $2`, tenantID, kid)
		if err != nil {
			return r.onDelete(err)
		}
		if n, err := rowsAffected(res); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete signing key %s/%s: %w", tenantID, kid, err)
	}
	return nil
}
