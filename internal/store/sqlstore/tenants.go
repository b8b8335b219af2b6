package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

type tenants struct{ repos }

const tenantCols = `id, name, issuer, domain, scope_pattern, rev, created_at, updated_at, version, mfa_policy, mfa_grace_until`

func scanTenant(s scanner) (model.Tenant, error) {
	var (
		t      model.Tenant
		domain sql.NullString
		c, u   int64
		policy string
		grace  sql.NullInt64
	)
	if err := s.Scan(&t.ID, &t.Name, &t.Issuer, &domain, &t.ScopePattern, &t.Rev, &c, &u, &t.Version,
		&policy, &grace); err != nil {
		return model.Tenant{}, err
	}
	t.Domain, t.MFAPolicy = domain.String, model.MFAPolicy(policy)
	t.CreatedAt, t.UpdatedAt, t.MFAGraceUntil = fromMicros(c), fromMicros(u), fromNullMicros(grace)
	return t, nil
}

// Create stores a new tenant with Version 1 and Rev 1. Domains are unique
// without regard to ASCII case, as host names are. MFAPolicy is stored as
// given: "" reads back "" (MFAPolicy.Effective says what it means).
func (r tenants) Create(ctx context.Context, t model.Tenant) error {
	c, u := stamps(t.CreatedAt, t.UpdatedAt, r.db.now())
	_, err := r.exec1(ctx, `INSERT INTO tenants (`+tenantCols+`) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, 1, $8, $9)`,
		t.ID, t.Name, t.Issuer, nullString(t.Domain), t.ScopePattern, c, u, string(t.MFAPolicy), nullMicros(t.MFAGraceUntil))
	if err != nil {
		return fmt.Errorf("sqlstore: create tenant %q: %w", t.ID, r.onInsert(err))
	}
	return nil
}

func (r tenants) Get(ctx context.Context, id string) (model.Tenant, error) {
	return r.get(ctx, r.read(), id)
}

func (r tenants) get(ctx context.Context, q querier, id string) (model.Tenant, error) {
	t, err := scanTenant(q.QueryRowContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return model.Tenant{}, fmt.Errorf("sqlstore: tenant %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return model.Tenant{}, fmt.Errorf("sqlstore: get tenant %q: %w", id, err)
	}
	return t, nil
}

// GetByDomain matches host against custom domains without regard to ASCII
// case. The caller strips any port.
func (r tenants) GetByDomain(ctx context.Context, host string) (model.Tenant, error) {
	if host == "" {
		return model.Tenant{}, fmt.Errorf("sqlstore: tenant for empty domain: %w", store.ErrNotFound)
	}
	t, err := scanTenant(r.read().QueryRowContext(ctx,
		`SELECT `+tenantCols+` FROM tenants WHERE lower(domain) = lower($1)`, host))
	if errors.Is(err, sql.ErrNoRows) {
		return model.Tenant{}, fmt.Errorf("sqlstore: tenant with domain %q: %w", host, store.ErrNotFound)
	}
	if err != nil {
		return model.Tenant{}, fmt.Errorf("sqlstore: get tenant by domain %q: %w", host, err)
	}
	return t, nil
}

func (r tenants) List(ctx context.Context) ([]model.Tenant, error) {
	rows, err := r.read().QueryContext(ctx, `SELECT `+tenantCols+` FROM tenants ORDER BY id`)
	out, err := collect(rows, err, scanTenant)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list tenants: %w", err)
	}
	return out, nil
}

// Update replaces Name, Issuer, Domain, ScopePattern, MFAPolicy and
// MFAGraceUntil when t.Version matches, and bumps Version and Rev.
func (r tenants) Update(ctx context.Context, t model.Tenant) (model.Tenant, error) {
	var out model.Tenant
	err := r.write(ctx, func(q querier) error {
		markBumped(q)
		res, err := q.ExecContext(ctx, `UPDATE tenants
			SET name = $3, domain = $4, scope_pattern = $5, updated_at = $6, issuer = $7,
				mfa_policy = $8, mfa_grace_until = $9, version = version + 1, rev = rev + 1
			WHERE id = $1 AND version = $2`,
			t.ID, t.Version, t.Name, nullString(t.Domain), t.ScopePattern, micros(r.db.now()), t.Issuer,
			string(t.MFAPolicy), nullMicros(t.MFAGraceUntil))
		if err != nil {
			return r.onInsert(err)
		}
		if n, err := rowsAffected(res); err != nil {
			return err
		} else if n == 0 {
			return r.missOrStale(ctx, q, t.ID, t.Version)
		}
		out, err = r.get(ctx, q, t.ID)
		return err
	})
	if err != nil {
		return model.Tenant{}, fmt.Errorf("sqlstore: update tenant %q: %w", t.ID, err)
	}
	return out, nil
}

// missOrStale explains an UPDATE … WHERE version = $n that matched nothing.
func (r tenants) missOrStale(ctx context.Context, q querier, id string, version int64) error {
	var v int64
	err := q.QueryRowContext(ctx, `SELECT version FROM tenants WHERE id = $1`, id).Scan(&v)
	return versionMiss(err, version, v)
}

// versionMiss turns the lookup that follows a failed versioned UPDATE into
// store.ErrNotFound (no row) or store.ErrPrecondition (another version).
func versionMiss(lookupErr error, want, have int64) error {
	switch {
	case errors.Is(lookupErr, sql.ErrNoRows):
		return store.ErrNotFound
	case lookupErr != nil:
		return lookupErr
	}
	return fmt.Errorf("%w: expected version %d, stored version is %d", store.ErrPrecondition, want, have)
}

func (r tenants) Revs(ctx context.Context) (map[string]int64, error) {
	rows, err := r.read().QueryContext(ctx, `SELECT id, rev FROM tenants`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: tenant revisions: %w", err)
	}
	defer rows.Close()
	out := make(map[string]int64)
	for rows.Next() {
		var (
			id  string
			rev int64
		)
		if err := rows.Scan(&id, &rev); err != nil {
			return nil, fmt.Errorf("sqlstore: tenant revisions: %w", err)
		}
		out[id] = rev
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: tenant revisions: %w", err)
	}
	return out, nil
}
