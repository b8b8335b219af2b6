package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

type scopes struct{ repos }

// scopeCols reads a scope with its implies in one statement, so the row and
// its child rows come from one snapshot without a transaction.
const scopeCols = `s.tenant_id, s.name, s.display_name, s.description, s.kind, s.api_id, s.claims,
	s.created_at, s.updated_at, s.version, s.requires_mfa,
	(SELECT string_agg(i.implied, ' ' ORDER BY i.pos) FROM scope_implies i
	 WHERE i.tenant_id = s.tenant_id AND i.scope = s.name)`

func scanScope(s scanner, extra ...any) (model.Scope, error) {
	var (
		sc      model.Scope
		apiID   sql.NullString
		claims  string
		implies sql.NullString
		c, u    int64
	)
	dest := append([]any{&sc.TenantID, &sc.Name, &sc.DisplayName, &sc.Description, &sc.Kind, &apiID, &claims,
		&c, &u, &sc.Version, &sc.RequiresMFA, &implies}, extra...)
	if err := s.Scan(dest...); err != nil {
		return model.Scope{}, err
	}
	var err error
	if sc.Claims, err = decodeList(claims); err != nil {
		return model.Scope{}, err
	}
	sc.APIID = apiID.String
	sc.Implies = splitAgg(implies)
	sc.CreatedAt, sc.UpdatedAt = fromMicros(c), fromMicros(u)
	return sc, nil
}

// Create stores a new scope with Version 1. The API it names must exist
// (else ErrNotFound); whether its implies name existing scopes is the
// caller's concern. Repeated implies are stored once.
func (r scopes) Create(ctx context.Context, s model.Scope) error {
	claims, err := encodeList(s.Claims)
	if err != nil {
		return err
	}
	c, u := stamps(s.CreatedAt, s.UpdatedAt, r.db.now())
	err = r.write(ctx, func(q querier) error {
		if err := r.bumpRev(ctx, q, s.TenantID); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO scopes
			(tenant_id, name, display_name, description, kind, api_id, claims, created_at, updated_at, version, requires_mfa)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10)`,
			s.TenantID, s.Name, s.DisplayName, s.Description, string(s.Kind), nullString(s.APIID), claims, c, u,
			s.RequiresMFA); err != nil {
			return r.onInsert(err)
		}
		return insertImplies(ctx, q, s.TenantID, s.Name, s.Implies)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: create scope %s/%s: %w", s.TenantID, s.Name, err)
	}
	return nil
}

func insertImplies(ctx context.Context, q querier, tenantID, name string, implies []string) error {
	for i, imp := range dedupe(implies) {
		if _, err := q.ExecContext(ctx, `INSERT INTO scope_implies (tenant_id, scope, implied, pos) VALUES ($1, $2, $3, $4)`,
			tenantID, name, imp, i); err != nil {
			return fmt.Errorf("implies %q: %w", imp, err)
		}
	}
	return nil
}

func (r scopes) Get(ctx context.Context, tenantID, name string) (model.Scope, error) {
	return r.get(ctx, r.read(), tenantID, name)
}

func (r scopes) get(ctx context.Context, q querier, tenantID, name string) (model.Scope, error) {
	s, err := scanScope(q.QueryRowContext(ctx, `SELECT `+scopeCols+` FROM scopes s WHERE s.tenant_id = $1 AND s.name = $2`,
		tenantID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return model.Scope{}, fmt.Errorf("sqlstore: scope %s/%s: %w", tenantID, name, store.ErrNotFound)
	}
	if err != nil {
		return model.Scope{}, fmt.Errorf("sqlstore: get scope %s/%s: %w", tenantID, name, err)
	}
	return s, nil
}

// List returns one page of scopes ordered by name (byte order) and the total
// matching count, read in one statement.
func (r scopes) List(ctx context.Context, tenantID string, kind model.ScopeKind, p store.Page) ([]model.Scope, int, error) {
	var c conds
	c.add("s.tenant_id = $%d", tenantID)
	if kind != "" {
		c.add("s.kind = $%d", string(kind))
	}
	limit, offset := window(p)
	where := c.where()
	query := `SELECT ` + scopeCols + `, COUNT(*) OVER () FROM scopes s` + where +
		` ORDER BY s.name LIMIT ` + c.next(limit) + ` OFFSET ` + c.next(offset)
	var total int
	rows, err := r.read().QueryContext(ctx, query, c.args...)
	out, err := collect(rows, err, func(s scanner) (model.Scope, error) { return scanScope(s, &total) })
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list scopes of %s: %w", tenantID, err)
	}
	if len(out) == 0 && offset > 0 {
		// Past the last page the window function has no row to ride on.
		if err := r.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM scopes s`+where, c.args[:len(c.parts)]...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("sqlstore: count scopes of %s: %w", tenantID, err)
		}
	}
	return out, total, nil
}

func (r scopes) All(ctx context.Context, tenantID string) ([]model.Scope, error) {
	rows, err := r.read().QueryContext(ctx, `SELECT `+scopeCols+` FROM scopes s WHERE s.tenant_id = $1 ORDER BY s.name`, tenantID)
	out, err := collect(rows, err, func(s scanner) (model.Scope, error) { return scanScope(s) })
	if err != nil {
		return nil, fmt.Errorf("sqlstore: all scopes of %s: %w", tenantID, err)
	}
	return out, nil
}

// Update replaces DisplayName, Description, Implies, Claims and RequiresMFA
// (not Kind or APIID) when s.Version matches, bumps Version and sets UpdatedAt to now.
func (r scopes) Update(ctx context.Context, s model.Scope) (model.Scope, error) {
	claims, err := encodeList(s.Claims)
	if err != nil {
		return model.Scope{}, err
	}
	var out model.Scope
	err = r.write(ctx, func(q querier) error {
		if err := r.bumpRev(ctx, q, s.TenantID); err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, `UPDATE scopes
			SET display_name = $4, description = $5, claims = $6, updated_at = $7, requires_mfa = $8, version = version + 1
			WHERE tenant_id = $1 AND name = $2 AND version = $3`,
			s.TenantID, s.Name, s.Version, s.DisplayName, s.Description, claims, micros(r.db.now()), s.RequiresMFA)
		if err != nil {
			return r.onInsert(err)
		}
		if n, err := rowsAffected(res); err != nil {
			return err
		} else if n == 0 {
			return missReason(ctx, q, "scopes", "name", s.TenantID, s.Name, s.Version)
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM scope_implies WHERE tenant_id = $1 AND scope = $2`, s.TenantID, s.Name); err != nil {
			return err
		}
		if err := insertImplies(ctx, q, s.TenantID, s.Name, s.Implies); err != nil {
			return err
		}
		out, err = r.get(ctx, q, s.TenantID, s.Name)
		return err
	})
	if err != nil {
		return model.Scope{}, fmt.Errorf("sqlstore: update scope %s/%s: %w", s.TenantID, s.Name, err)
	}
	return out, nil
}

// Rename renames the scope, when version is 0 or the stored version, and
// rewrites every reference to it — allowlists, implies, role scopes,
// consent scopes, and the grants already made (refresh tokens, codes and
// authorization requests, see rewriteGrants) — in one transaction.
// Applications, scopes and roles whose lists change get a new Version too,
// so an editor holding the old list fails with ErrPrecondition instead of
// writing the old name back. Consents have no Version and keep their
// UpdatedAt: the user did not change them.
func (r scopes) Rename(ctx context.Context, tenantID, oldName, newName string, version int64) (model.Scope, error) {
	var out model.Scope
	err := r.write(ctx, func(q querier) error {
		if err := r.bumpRev(ctx, q, tenantID); err != nil {
			return err
		}
		now := micros(r.db.now())
		// The scope's own implies follow through ON UPDATE CASCADE.
		query, args := whereVersion(`UPDATE scopes SET name = $3, updated_at = $4, version = version + 1
			WHERE tenant_id = $1 AND name = $2`, []any{tenantID, oldName, newName, now}, 5, version)
		res, err := q.ExecContext(ctx, query, args...)
		if err != nil {
			return r.onInsert(err)
		}
		if n, err := rowsAffected(res); err != nil {
			return err
		} else if n == 0 {
			return missReason(ctx, q, "scopes", "name", tenantID, oldName, version)
		}
		if oldName != newName {
			if err := rewriteReferences(ctx, q, tenantID, oldName, newName, now); err != nil {
				return err
			}
			if err := rewriteGrants(ctx, q, tenantID, oldName, newName); err != nil {
				return err
			}
		}
		out, err = r.get(ctx, q, tenantID, newName)
		return err
	})
	if err != nil {
		return model.Scope{}, fmt.Errorf("sqlstore: rename scope %s/%s to %q: %w", tenantID, oldName, newName, err)
	}
	return out, nil
}

// rewriteReferences replaces oldName by newName in every allowlist, implies
// list, role and consent of the tenant. A list that already holds newName
// keeps that entry and loses the old one, so no list ends up holding a name
// twice.
func rewriteReferences(ctx context.Context, q querier, tenantID, oldName, newName string, now int64) error {
	return execAll(ctx, q, []stmt{
		{`UPDATE applications SET version = version + 1, updated_at = $3
			WHERE tenant_id = $1 AND client_id IN
			(SELECT client_id FROM application_scopes WHERE tenant_id = $1 AND scope = $2)`,
			[]any{tenantID, oldName, now}},
		{`DELETE FROM application_scopes WHERE tenant_id = $1 AND scope = $2 AND client_id IN
			(SELECT client_id FROM application_scopes WHERE tenant_id = $1 AND scope = $3)`,
			[]any{tenantID, oldName, newName}},
		{`UPDATE application_scopes SET scope = $3 WHERE tenant_id = $1 AND scope = $2`,
			[]any{tenantID, oldName, newName}},
		{`UPDATE scopes SET version = version + 1, updated_at = $3
			WHERE tenant_id = $1 AND name IN
			(SELECT scope FROM scope_implies WHERE tenant_id = $1 AND implied = $2)`,
			[]any{tenantID, oldName, now}},
		{`DELETE FROM scope_implies WHERE tenant_id = $1 AND implied = $2 AND scope IN
			(SELECT scope FROM scope_implies WHERE tenant_id = $1 AND implied = $3)`,
			[]any{tenantID, oldName, newName}},
		{`UPDATE scope_implies SET implied = $3 WHERE tenant_id = $1 AND implied = $2`,
			[]any{tenantID, oldName, newName}},
		// A scope may not imply itself; the renamed scope would if it listed
		// the (unregistered) new name.
		{`DELETE FROM scope_implies WHERE tenant_id = $1 AND scope = $2 AND implied = $2`,
			[]any{tenantID, newName}},
		{`UPDATE roles SET version = version + 1, updated_at = $3
			WHERE tenant_id = $1 AND name IN
			(SELECT role FROM role_scopes WHERE tenant_id = $1 AND scope = $2)`,
			[]any{tenantID, oldName, now}},
		{`DELETE FROM role_scopes WHERE tenant_id = $1 AND scope = $2 AND role IN
			(SELECT role FROM role_scopes WHERE tenant_id = $1 AND scope = $3)`,
			[]any{tenantID, oldName, newName}},
		{`UPDATE role_scopes SET scope = $3 WHERE tenant_id = $1 AND scope = $2`,
			[]any{tenantID, oldName, newName}},
		{`DELETE FROM consent_scopes WHERE tenant_id = $1 AND scope = $2 AND EXISTS
			(SELECT 1 FROM consent_scopes d WHERE d.tenant_id = $1 AND d.user_id = consent_scopes.user_id
			 AND d.client_id = consent_scopes.client_id AND d.scope = $3)`,
			[]any{tenantID, oldName, newName}},
		{`UPDATE consent_scopes SET scope = $3 WHERE tenant_id = $1 AND scope = $2`,
			[]any{tenantID, oldName, newName}},
	})
}

// Delete removes the scope and every reference to it — allowlists, implies,
// role scopes and consent scopes — in one transaction and returns the client
// IDs whose allowlist held it, sorted. Applications, scopes and roles that
// lose it get a new Version. A consent left with no scope stays (it still
// records that the user saw the application). A non-zero version must be
// the stored one. Whether the scope is predefined (and so must not be
// deleted) is the caller's check.
func (r scopes) Delete(ctx context.Context, tenantID, name string, version int64) ([]string, error) {
	var removed []string
	err := r.write(ctx, func(q querier) error {
		if err := r.bumpRev(ctx, q, tenantID); err != nil {
			return err
		}
		// The scope's own implies go with it (ON DELETE CASCADE).
		if err := r.deleteRow(ctx, q, "scopes", "name", tenantID, name, version); err != nil {
			return err
		}
		var err error
		if removed, err = holders(ctx, q, tenantID, name); err != nil {
			return err
		}
		now := micros(r.db.now())
		return execAll(ctx, q, []stmt{
			{`UPDATE applications SET version = version + 1, updated_at = $3
				WHERE tenant_id = $1 AND client_id IN
				(SELECT client_id FROM application_scopes WHERE tenant_id = $1 AND scope = $2)`,
				[]any{tenantID, name, now}},
			{`DELETE FROM application_scopes WHERE tenant_id = $1 AND scope = $2`,
				[]any{tenantID, name}},
			{`UPDATE scopes SET version = version + 1, updated_at = $3
				WHERE tenant_id = $1 AND name IN
				(SELECT scope FROM scope_implies WHERE tenant_id = $1 AND implied = $2)`,
				[]any{tenantID, name, now}},
			{`DELETE FROM scope_implies WHERE tenant_id = $1 AND implied = $2`,
				[]any{tenantID, name}},
			{`UPDATE roles SET version = version + 1, updated_at = $3
				WHERE tenant_id = $1 AND name IN
				(SELECT role FROM role_scopes WHERE tenant_id = $1 AND scope = $2)`,
				[]any{tenantID, name, now}},
			{`DELETE FROM role_scopes WHERE tenant_id = $1 AND scope = $2`,
				[]any{tenantID, name}},
			{`DELETE FROM consent_scopes WHERE tenant_id = $1 AND scope = $2`,
				[]any{tenantID, name}},
		})
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: delete scope %s/%s: %w", tenantID, name, err)
	}
	return removed, nil
}

// Holders returns the client IDs whose allowlist holds name, sorted.
func (r scopes) Holders(ctx context.Context, tenantID, name string) ([]string, error) {
	out, err := holders(ctx, r.read(), tenantID, name)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: holders of scope %s/%s: %w", tenantID, name, err)
	}
	return out, nil
}

func holders(ctx context.Context, q querier, tenantID, name string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT client_id FROM application_scopes
		WHERE tenant_id = $1 AND scope = $2 ORDER BY client_id`, tenantID, name)
	return collect(rows, err, scanString)
}

// Impact returns the applications, roles and consents that hold name. The
// three lookups are separate statements: inside InTx they share the
// transaction's snapshot; auto-commit, a concurrent write may fall between
// them, which a preview can bear.
func (r scopes) Impact(ctx context.Context, tenantID, name string) (store.ScopeImpact, error) {
	q := r.read()
	var (
		out store.ScopeImpact
		err error
	)
	if out.Applications, err = holders(ctx, q, tenantID, name); err != nil {
		return store.ScopeImpact{}, fmt.Errorf("sqlstore: impact of scope %s/%s: %w", tenantID, name, err)
	}
	rows, err := q.QueryContext(ctx, `SELECT role FROM role_scopes WHERE tenant_id = $1 AND scope = $2 ORDER BY role`, tenantID, name)
	if out.Roles, err = collect(rows, err, scanString); err != nil {
		return store.ScopeImpact{}, fmt.Errorf("sqlstore: impact of scope %s/%s on roles: %w", tenantID, name, err)
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM consent_scopes WHERE tenant_id = $1 AND scope = $2`,
		tenantID, name).Scan(&out.Consents); err != nil {
		return store.ScopeImpact{}, fmt.Errorf("sqlstore: impact of scope %s/%s on consents: %w", tenantID, name, err)
	}
	return out, nil
}
