package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

type roles struct{ repos }

// roleCols reads a role with its scopes in one statement, so the row and its
// child rows come from one snapshot without a transaction.
const roleCols = `r.tenant_id, r.name, r.description, r.builtin, r.created_at, r.updated_at, r.version,
	(SELECT string_agg(s.scope, ' ' ORDER BY s.pos) FROM role_scopes s
	 WHERE s.tenant_id = r.tenant_id AND s.role = r.name)`

func scanRole(s scanner) (model.Role, error) {
	var (
		ro     model.Role
		c, u   int64
		scopes sql.NullString
	)
	if err := s.Scan(&ro.TenantID, &ro.Name, &ro.Description, &ro.Builtin, &c, &u, &ro.Version, &scopes); err != nil {
		return model.Role{}, err
	}
	ro.Scopes = splitAgg(scopes)
	ro.CreatedAt, ro.UpdatedAt = fromMicros(c), fromMicros(u)
	return ro, nil
}

// heldRoles selects the names of the roles user $2 of tenant $1 holds,
// directly or through a group; UNION drops repeats.
const heldRoles = `SELECT role FROM user_roles WHERE tenant_id = $1 AND user_id = $2
	UNION
	SELECT gr.role FROM group_members m
	JOIN group_roles gr ON gr.tenant_id = m.tenant_id AND gr.group_name = m.group_name
	WHERE m.tenant_id = $1 AND m.user_id = $2`

// Create stores a new role with Version 1 and bumps the tenant's Rev;
// ErrConflict if the name is taken, ErrNotFound if the tenant does not
// exist. Whether its scopes exist is the caller's check; a repeated scope is
// stored once.
func (r roles) Create(ctx context.Context, ro model.Role) error {
	c, u := stamps(ro.CreatedAt, ro.UpdatedAt, r.db.now())
	err := r.write(ctx, func(q querier) error {
		if err := r.bumpRev(ctx, q, ro.TenantID); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO roles (tenant_id, name, description, builtin, created_at, updated_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, 1)`, ro.TenantID, ro.Name, ro.Description, ro.Builtin, c, u); err != nil {
			return r.onInsert(err)
		}
		return insertRoleScopes(ctx, q, ro.TenantID, ro.Name, ro.Scopes)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: create role %s/%s: %w", ro.TenantID, ro.Name, err)
	}
	return nil
}

func insertRoleScopes(ctx context.Context, q querier, tenantID, role string, scopes []string) error {
	for i, s := range dedupe(scopes) {
		if _, err := q.ExecContext(ctx, `INSERT INTO role_scopes (tenant_id, role, scope, pos) VALUES ($1, $2, $3, $4)`,
			tenantID, role, s, i); err != nil {
			return fmt.Errorf("role scope %q: %w", s, err)
		}
	}
	return nil
}

func (r roles) Get(ctx context.Context, tenantID, name string) (model.Role, error) {
	return r.get(ctx, r.read(), tenantID, name)
}

func (r roles) get(ctx context.Context, q querier, tenantID, name string) (model.Role, error) {
	ro, err := scanRole(q.QueryRowContext(ctx, `SELECT `+roleCols+` FROM roles r WHERE r.tenant_id = $1 AND r.name = $2`, tenantID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return model.Role{}, fmt.Errorf("sqlstore: role %s/%s: %w", tenantID, name, store.ErrNotFound)
	}
	if err != nil {
		return model.Role{}, fmt.Errorf("sqlstore: get role %s/%s: %w", tenantID, name, err)
	}
	return ro, nil
}

func (r roles) List(ctx context.Context, tenantID string) ([]model.Role, error) {
	rows, err := r.read().QueryContext(ctx, `SELECT `+roleCols+` FROM roles r WHERE r.tenant_id = $1 ORDER BY r.name`, tenantID)
	out, err := collect(rows, err, scanRole)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list roles of %s: %w", tenantID, err)
	}
	return out, nil
}

// Update replaces Description and Scopes (not Builtin) when ro.Version
// matches, bumps Version and the tenant's Rev, and sets UpdatedAt to now.
func (r roles) Update(ctx context.Context, ro model.Role) (model.Role, error) {
	var out model.Role
	err := r.write(ctx, func(q querier) error {
		if err := r.bumpRev(ctx, q, ro.TenantID); err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, `UPDATE roles SET description = $4, updated_at = $5, version = version + 1
			WHERE tenant_id = $1 AND name = $2 AND version = $3`,
			ro.TenantID, ro.Name, ro.Version, ro.Description, micros(r.db.now()))
		if err != nil {
			return err
		}
		if n, err := rowsAffected(res); err != nil {
			return err
		} else if n == 0 {
			return missReason(ctx, q, "roles", "name", ro.TenantID, ro.Name, ro.Version)
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM role_scopes WHERE tenant_id = $1 AND role = $2`, ro.TenantID, ro.Name); err != nil {
			return err
		}
		if err := insertRoleScopes(ctx, q, ro.TenantID, ro.Name, ro.Scopes); err != nil {
			return err
		}
		out, err = r.get(ctx, q, ro.TenantID, ro.Name)
		return err
	})
	if err != nil {
		return model.Role{}, fmt.Errorf("sqlstore: update role %s/%s: %w", ro.TenantID, ro.Name, err)
	}
	return out, nil
}

// Delete removes a role and bumps the tenant's Rev; ON DELETE CASCADE
// removes its scopes, its direct assignments and its place in every group.
// ErrConflict for a built-in role.
func (r roles) Delete(ctx context.Context, tenantID, name string, version int64) error {
	err := r.write(ctx, func(q querier) error {
		if err := r.bumpRev(ctx, q, tenantID); err != nil {
			return err
		}
		var builtin bool
		err := q.QueryRowContext(ctx, `SELECT builtin FROM roles WHERE tenant_id = $1 AND name = $2`, tenantID, name).Scan(&builtin)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return store.ErrNotFound
		case err != nil:
			return err
		case builtin:
			return fmt.Errorf("%w: %q is a built-in role", store.ErrConflict, name)
		}
		return r.deleteRow(ctx, q, "roles", "name", tenantID, name, version)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete role %s/%s: %w", tenantID, name, err)
	}
	return nil
}

// Assign gives the user the role directly; assigning twice is not an error.
// ErrNotFound if the user or the role does not exist (the foreign keys).
// Assignments are not configuration: the tenant's Rev does not move.
func (r roles) Assign(ctx context.Context, tenantID, userID, role string) error {
	_, err := r.exec1(ctx, `INSERT INTO user_roles (tenant_id, user_id, role) VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id, user_id, role) DO NOTHING`, tenantID, userID, role)
	if err != nil {
		return fmt.Errorf("sqlstore: assign role %s/%s to user %s: %w", tenantID, role, userID, r.onInsert(err))
	}
	return nil
}

// Unassign takes the direct assignment away; unassigning a role the user
// does not hold directly is not an error, but ErrNotFound if the user or
// the role does not exist. Holding the role through a group is unaffected.
func (r roles) Unassign(ctx context.Context, tenantID, userID, role string) error {
	err := r.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM user_roles WHERE tenant_id = $1 AND user_id = $2 AND role = $3`, tenantID, userID, role)
		if err != nil {
			return err
		}
		if n, err := rowsAffected(res); err != nil || n > 0 {
			return err
		}
		if err := userExists(ctx, q, tenantID, userID); err != nil {
			return err
		}
		return roleExists(ctx, q, tenantID, role)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: unassign role %s/%s from user %s: %w", tenantID, role, userID, err)
	}
	return nil
}

func roleExists(ctx context.Context, q querier, tenantID, name string) error {
	if err := exists(ctx, q, `SELECT 1 FROM roles WHERE tenant_id = $1 AND name = $2`, tenantID, name); err != nil {
		return fmt.Errorf("role %s/%s: %w", tenantID, name, err)
	}
	return nil
}

// OfUser returns the names of the roles the user holds, directly or through
// a group, sorted (byte order) and without repeats; ErrNotFound if the user
// does not exist.
func (r roles) OfUser(ctx context.Context, tenantID, userID string) ([]string, error) {
	q := r.read()
	rows, err := q.QueryContext(ctx, heldRoles+` ORDER BY 1`, tenantID, userID)
	out, err := collect(rows, err, scanString)
	if err == nil && len(out) == 0 {
		err = userExists(ctx, q, tenantID, userID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: roles of user %s/%s: %w", tenantID, userID, err)
	}
	return out, nil
}

// ScopesOfUser returns the union of the scopes of every role the user
// holds, directly or through a group, sorted (byte order), implications not
// expanded; ErrNotFound if the user does not exist.
func (r roles) ScopesOfUser(ctx context.Context, tenantID, userID string) ([]string, error) {
	q := r.read()
	rows, err := q.QueryContext(ctx, `SELECT DISTINCT s.scope FROM role_scopes s
		WHERE s.tenant_id = $1 AND s.role IN (`+heldRoles+`) ORDER BY s.scope`, tenantID, userID)
	out, err := collect(rows, err, scanString)
	if err == nil && len(out) == 0 {
		err = userExists(ctx, q, tenantID, userID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: scopes of user %s/%s: %w", tenantID, userID, err)
	}
	return out, nil
}

// Holders returns the IDs of the users holding the role directly, sorted;
// ErrNotFound if the role does not exist.
func (r roles) Holders(ctx context.Context, tenantID, role string) ([]string, error) {
	q := r.read()
	rows, err := q.QueryContext(ctx, `SELECT user_id FROM user_roles WHERE tenant_id = $1 AND role = $2 ORDER BY user_id`, tenantID, role)
	out, err := collect(rows, err, scanString)
	if err == nil && len(out) == 0 {
		err = roleExists(ctx, q, tenantID, role)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: holders of role %s/%s: %w", tenantID, role, err)
	}
	return out, nil
}
