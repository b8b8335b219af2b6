package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

type groups struct{ repos }

// groupCols reads a group with its roles in one statement.
const groupCols = `g.tenant_id, g.name, g.description, g.created_at, g.updated_at, g.version,
	(SELECT string_agg(gr.role, ' ' ORDER BY gr.pos) FROM group_roles gr
	 WHERE gr.tenant_id = g.tenant_id AND gr.group_name = g.name)`

func scanGroup(s scanner) (model.Group, error) {
	var (
		g     model.Group
		c, u  int64
		roles sql.NullString
	)
	if err := s.Scan(&g.TenantID, &g.Name, &g.Description, &c, &u, &g.Version, &roles); err != nil {
		return model.Group{}, err
	}
	// Role names match ^[a-z][a-z0-9_-]*$: no space, so the split is exact.
	g.Roles = splitAgg(roles)
	g.CreatedAt, g.UpdatedAt = fromMicros(c), fromMicros(u)
	return g, nil
}

// Create stores a new group with Version 1; ErrConflict if the name is
// taken, ErrNotFound if the tenant or one of its roles does not exist. A
// repeated role is stored once. Groups are not configuration: the tenant's
// Rev does not move.
func (r groups) Create(ctx context.Context, g model.Group) error {
	c, u := stamps(g.CreatedAt, g.UpdatedAt, r.db.now())
	err := r.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO groups (tenant_id, name, description, created_at, updated_at, version)
			VALUES ($1, $2, $3, $4, $5, 1)`, g.TenantID, g.Name, g.Description, c, u); err != nil {
			return r.onInsert(err)
		}
		return r.insertRoles(ctx, q, g.TenantID, g.Name, g.Roles)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: create group %s/%s: %w", g.TenantID, g.Name, err)
	}
	return nil
}

func (r groups) insertRoles(ctx context.Context, q querier, tenantID, group string, roles []string) error {
	for i, role := range dedupe(roles) {
		if _, err := q.ExecContext(ctx, `INSERT INTO group_roles (tenant_id, group_name, role, pos) VALUES ($1, $2, $3, $4)`,
			tenantID, group, role, i); err != nil {
			return fmt.Errorf("group role %q: %w", role, r.onInsert(err))
		}
	}
	return nil
}

func (r groups) Get(ctx context.Context, tenantID, name string) (model.Group, error) {
	return r.get(ctx, r.read(), tenantID, name)
}

func (r groups) get(ctx context.Context, q querier, tenantID, name string) (model.Group, error) {
	g, err := scanGroup(q.QueryRowContext(ctx, `SELECT `+groupCols+` FROM groups g WHERE g.tenant_id = $1 AND g.name = $2`, tenantID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return model.Group{}, fmt.Errorf("sqlstore: group %s/%s: %w", tenantID, name, store.ErrNotFound)
	}
	if err != nil {
		return model.Group{}, fmt.Errorf("sqlstore: get group %s/%s: %w", tenantID, name, err)
	}
	return g, nil
}

// List returns every group of the tenant ordered by name.
func (r groups) List(ctx context.Context, tenantID string) ([]model.Group, error) {
	rows, err := r.read().QueryContext(ctx, `SELECT `+groupCols+` FROM groups g WHERE g.tenant_id = $1 ORDER BY g.name`, tenantID)
	out, err := collect(rows, err, scanGroup)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list groups of %s: %w", tenantID, err)
	}
	return out, nil
}

// Update replaces Description and Roles when g.Version matches, bumps
// Version and sets UpdatedAt to now; ErrNotFound if one of the roles does
// not exist (and nothing changes).
func (r groups) Update(ctx context.Context, g model.Group) (model.Group, error) {
	var out model.Group
	err := r.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE groups SET description = $4, updated_at = $5, version = version + 1
			WHERE tenant_id = $1 AND name = $2 AND version = $3`,
			g.TenantID, g.Name, g.Version, g.Description, micros(r.db.now()))
		if err != nil {
			return err
		}
		if n, err := rowsAffected(res); err != nil {
			return err
		} else if n == 0 {
			return missReason(ctx, q, "groups", "name", g.TenantID, g.Name, g.Version)
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM group_roles WHERE tenant_id = $1 AND group_name = $2`, g.TenantID, g.Name); err != nil {
			return err
		}
		if err := r.insertRoles(ctx, q, g.TenantID, g.Name, g.Roles); err != nil {
			return err
		}
		out, err = r.get(ctx, q, g.TenantID, g.Name)
		return err
	})
	if err != nil {
		return model.Group{}, fmt.Errorf("sqlstore: update group %s/%s: %w", g.TenantID, g.Name, err)
	}
	return out, nil
}

// Delete removes the group; ON DELETE CASCADE removes its roles and
// memberships.
func (r groups) Delete(ctx context.Context, tenantID, name string, version int64) error {
	err := r.write(ctx, func(q querier) error {
		return r.deleteRow(ctx, q, "groups", "name", tenantID, name, version)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete group %s/%s: %w", tenantID, name, err)
	}
	return nil
}

// AddMember adds the user to the group; adding twice is not an error.
// ErrNotFound if the group or the user does not exist.
func (r groups) AddMember(ctx context.Context, tenantID, group, userID string) error {
	_, err := r.exec1(ctx, `INSERT INTO group_members (tenant_id, group_name, user_id) VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id, group_name, user_id) DO NOTHING`, tenantID, group, userID)
	if err != nil {
		return fmt.Errorf("sqlstore: add user %s to group %s/%s: %w", userID, tenantID, group, r.onInsert(err))
	}
	return nil
}

// RemoveMember removes the user from the group; removing a non-member is
// not an error, but ErrNotFound if the group or the user does not exist.
func (r groups) RemoveMember(ctx context.Context, tenantID, group, userID string) error {
	err := r.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM group_members WHERE tenant_id = $1 AND group_name = $2 AND user_id = $3`,
			tenantID, group, userID)
		if err != nil {
			return err
		}
		if n, err := rowsAffected(res); err != nil || n > 0 {
			return err
		}
		if err := groupExists(ctx, q, tenantID, group); err != nil {
			return err
		}
		return userExists(ctx, q, tenantID, userID)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: remove user %s from group %s/%s: %w", userID, tenantID, group, err)
	}
	return nil
}

func groupExists(ctx context.Context, q querier, tenantID, name string) error {
	if err := exists(ctx, q, `SELECT 1 FROM groups WHERE tenant_id = $1 AND name = $2`, tenantID, name); err != nil {
		return fmt.Errorf("group %s/%s: %w", tenantID, name, err)
	}
	return nil
}

// Members returns the member user IDs, sorted; ErrNotFound if the group
// does not exist.
func (r groups) Members(ctx context.Context, tenantID, group string) ([]string, error) {
	q := r.read()
	rows, err := q.QueryContext(ctx, `SELECT user_id FROM group_members WHERE tenant_id = $1 AND group_name = $2 ORDER BY user_id`,
		tenantID, group)
	out, err := collect(rows, err, scanString)
	if err == nil && len(out) == 0 {
		err = groupExists(ctx, q, tenantID, group)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: members of group %s/%s: %w", tenantID, group, err)
	}
	return out, nil
}

// OfUser returns the names of the user's groups, sorted; ErrNotFound if the
// user does not exist.
func (r groups) OfUser(ctx context.Context, tenantID, userID string) ([]string, error) {
	q := r.read()
	rows, err := q.QueryContext(ctx, `SELECT group_name FROM group_members WHERE tenant_id = $1 AND user_id = $2 ORDER BY group_name`,
		tenantID, userID)
	out, err := collect(rows, err, scanString)
	if err == nil && len(out) == 0 {
		err = userExists(ctx, q, tenantID, userID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: groups of user %s/%s: %w", tenantID, userID, err)
	}
	return out, nil
}
