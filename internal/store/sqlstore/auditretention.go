package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// Retention classes as audit_retention stores them.
const (
	classIssuance = "issuance"
	classSecurity = "security"
	classAdmin    = "admin"
)

// Retention returns the tenant's rows of audit_retention; a class without a
// row is 0.
func (r audit) Retention(ctx context.Context, tenantID string) (store.AuditRetention, error) {
	var out store.AuditRetention
	rows, err := r.read().QueryContext(ctx, `SELECT class, days FROM audit_retention WHERE tenant_id = $1`, tenantID)
	_, err = collect(rows, err, func(s scanner) (struct{}, error) {
		var class string
		var days int
		if err := s.Scan(&class, &days); err != nil {
			return struct{}{}, err
		}
		switch class {
		case classIssuance:
			out.IssuanceDays = days
		case classSecurity:
			out.SecurityDays = days
		case classAdmin:
			out.AdminDays = days
		}
		return struct{}{}, nil
	})
	if err != nil {
		return store.AuditRetention{}, fmt.Errorf("sqlstore: audit retention of %s: %w", tenantID, err)
	}
	return out, nil
}

// SetRetention replaces the tenant's rows of audit_retention (a 0 class has
// no row). Negative days are refused (model.ErrInvalid).
func (r audit) SetRetention(ctx context.Context, tenantID string, ret store.AuditRetention) error {
	if tenantID == "" || ret.IssuanceDays < 0 || ret.SecurityDays < 0 || ret.AdminDays < 0 {
		return fmt.Errorf("sqlstore: set audit retention of %q: %w: a tenant and days ≥ 0 are required", tenantID, model.ErrInvalid)
	}
	err := r.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM audit_retention WHERE tenant_id = $1`, tenantID); err != nil {
			return err
		}
		for class, days := range map[string]int{classIssuance: ret.IssuanceDays, classSecurity: ret.SecurityDays, classAdmin: ret.AdminDays} {
			if days == 0 {
				continue
			}
			if _, err := q.ExecContext(ctx, `INSERT INTO audit_retention (tenant_id, class, days) VALUES ($1, $2, $3)`, tenantID, class, days); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: set audit retention of %s: %w", tenantID, err)
	}
	return nil
}

// defaultPruneLimit is Prune's batch when the caller gives none: small
// enough that the transaction holds SQLite's single writer for a few
// milliseconds, so the token endpoint's group commits barely wait.
const defaultPruneLimit = 1000

// Prune deletes one batch of old raw events and their scope rows, oldest
// first by ID (time-sortable: the oldest events come first down the primary
// key, with no index by time to keep up); audit_scope_days is left alone.
func (r audit) Prune(ctx context.Context, p store.AuditPrune) (int, error) {
	if p.TenantID == "" || p.Before.IsZero() {
		return 0, fmt.Errorf("sqlstore: prune audit events: %w: a tenant and a time are required", model.ErrInvalid)
	}
	limit := p.Limit
	if limit <= 0 {
		limit = defaultPruneLimit
	}
	ids, ok, err := r.nameIDs(ctx, p.TenantID)
	if err != nil || !ok {
		return 0, err
	}
	tenant := ids[0]
	// Types never logged have no ID and select nothing.
	typeIDs, err := lookupNames(ctx, r.read(), p.Types)
	if err != nil {
		return 0, err
	}
	if len(typeIDs) == 0 && !p.ExceptTypes {
		return 0, nil
	}
	var c conds
	c.add("tenant = $%d", tenant)
	c.add("time < $%d", micros(p.Before))
	if len(typeIDs) > 0 {
		var ph []string
		for _, id := range typeIDs {
			ph = append(ph, c.next(id))
		}
		op := "IN"
		if p.ExceptTypes {
			op = "NOT IN"
		}
		c.parts = append(c.parts, "type "+op+" ("+strings.Join(ph, ", ")+")")
	}
	var n int
	err = r.write(ctx, func(q querier) error {
		rows, err := q.QueryContext(ctx, `SELECT id, time, scopes FROM audit_log`+c.where()+` ORDER BY id LIMIT `+c.next(limit), c.args...)
		type victim struct {
			id     []byte
			time   int64
			scopes string
		}
		vs, err := collect(rows, err, func(s scanner) (v victim, err error) { return v, s.Scan(&v.id, &v.time, &v.scopes) })
		if err != nil {
			return err
		}
		n = len(vs)
		var eventArgs, scopeArgs []any
		for _, v := range vs {
			eventArgs = append(eventArgs, v.id)
			if v.scopes == "" {
				continue
			}
			for _, f := range strings.Split(v.scopes, ",") {
				sc, err := strconv.ParseInt(f, 10, 64)
				if err != nil {
					return fmt.Errorf("event %s: scope list %q: %w", eventID(v.id), v.scopes, err)
				}
				scopeArgs = append(scopeArgs, sc, v.time, v.id)
			}
		}
		for len(eventArgs) > 0 {
			k := min(len(eventArgs), 200)
			ph := make([]string, k)
			for i := range k {
				ph[i] = fmt.Sprintf("$%d", i+2)
			}
			if _, err := q.ExecContext(ctx, `DELETE FROM audit_log WHERE tenant = $1 AND id IN (`+strings.Join(ph, ", ")+`)`,
				append([]any{tenant}, eventArgs[:k]...)...); err != nil {
				return err
			}
			eventArgs = eventArgs[k:]
		}
		for len(scopeArgs) > 0 {
			k := min(len(scopeArgs)/3, 100)
			ors := make([]string, k)
			for i := range k {
				ors[i] = fmt.Sprintf("(scope = $%d AND time = $%d AND id = $%d)", 3*i+2, 3*i+3, 3*i+4)
			}
			if _, err := q.ExecContext(ctx, `DELETE FROM audit_log_scopes WHERE tenant = $1 AND (`+strings.Join(ors, " OR ")+`)`,
				append([]any{tenant}, scopeArgs[:3*k]...)...); err != nil {
				return err
			}
			scopeArgs = scopeArgs[3*k:]
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: prune audit events of %s: %w", p.TenantID, err)
	}
	return n, nil
}
