package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

type consents struct{ repos }

// consentCols reads a consent with its scopes, sorted, in one statement.
const consentCols = `c.tenant_id, c.user_id, c.client_id, c.created_at, c.updated_at,
	(SELECT string_agg(s.scope, ' ' ORDER BY s.scope) FROM consent_scopes s
	 WHERE s.tenant_id = c.tenant_id AND s.user_id = c.user_id AND s.client_id = c.client_id)`

func scanConsent(s scanner) (model.Consent, error) {
	var (
		co     model.Consent
		c, u   int64
		scopes sql.NullString
	)
	if err := s.Scan(&co.TenantID, &co.UserID, &co.ClientID, &c, &u, &scopes); err != nil {
		return model.Consent{}, err
	}
	co.Scopes = splitAgg(scopes)
	co.CreatedAt, co.UpdatedAt = fromMicros(c), fromMicros(u)
	return co, nil
}

// Get returns the consent with its scopes sorted (byte order); ErrNotFound
// if the user has none for the client.
func (r consents) Get(ctx context.Context, tenantID, userID, clientID string) (model.Consent, error) {
	return r.get(ctx, r.read(), tenantID, userID, clientID)
}

func (r consents) get(ctx context.Context, q querier, tenantID, userID, clientID string) (model.Consent, error) {
	co, err := scanConsent(q.QueryRowContext(ctx, `SELECT `+consentCols+` FROM consents c
		WHERE c.tenant_id = $1 AND c.user_id = $2 AND c.client_id = $3`, tenantID, userID, clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return model.Consent{}, fmt.Errorf("sqlstore: consent of user %s/%s for %s: %w", tenantID, userID, clientID, store.ErrNotFound)
	}
	if err != nil {
		return model.Consent{}, fmt.Errorf("sqlstore: get consent of user %s/%s for %s: %w", tenantID, userID, clientID, err)
	}
	return co, nil
}

// Grant adds scopes to the consent (a set union), creating it if needed,
// and returns the result with its scopes sorted. UpdatedAt moves to now only
// when a scope was added, so granting what is already granted changes
// nothing. ErrNotFound if the user or the application does not exist.
func (r consents) Grant(ctx context.Context, tenantID, userID, clientID string, scopes []string) (model.Consent, error) {
	var out model.Consent
	now := micros(r.db.now())
	err := r.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO consents (tenant_id, user_id, client_id, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $4) ON CONFLICT (tenant_id, user_id, client_id) DO NOTHING`,
			tenantID, userID, clientID, now); err != nil {
			return r.onInsert(err)
		}
		// Inserted in sorted order, so that concurrent grants of overlapping
		// sets take their row locks in one order and cannot deadlock.
		added := int64(0)
		for _, s := range sortedSet(scopes) {
			res, err := q.ExecContext(ctx, `INSERT INTO consent_scopes (tenant_id, user_id, client_id, scope) VALUES ($1, $2, $3, $4)
				ON CONFLICT (tenant_id, user_id, client_id, scope) DO NOTHING`, tenantID, userID, clientID, s)
			if err != nil {
				return fmt.Errorf("consent scope %q: %w", s, err)
			}
			n, err := rowsAffected(res)
			if err != nil {
				return err
			}
			added += n
		}
		if added > 0 {
			if _, err := q.ExecContext(ctx, `UPDATE consents SET updated_at = $4
				WHERE tenant_id = $1 AND user_id = $2 AND client_id = $3`, tenantID, userID, clientID, now); err != nil {
				return err
			}
		}
		var err error
		out, err = r.get(ctx, q, tenantID, userID, clientID)
		return err
	})
	if err != nil {
		return model.Consent{}, fmt.Errorf("sqlstore: grant consent of user %s/%s for %s: %w", tenantID, userID, clientID, err)
	}
	return out, nil
}

// ListByUser returns the user's consents ordered by client ID; ErrNotFound
// if the user does not exist.
func (r consents) ListByUser(ctx context.Context, tenantID, userID string) ([]model.Consent, error) {
	q := r.read()
	rows, err := q.QueryContext(ctx, `SELECT `+consentCols+` FROM consents c
		WHERE c.tenant_id = $1 AND c.user_id = $2 ORDER BY c.client_id`, tenantID, userID)
	out, err := collect(rows, err, scanConsent)
	if err == nil && len(out) == 0 {
		err = userExists(ctx, q, tenantID, userID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: consents of user %s/%s: %w", tenantID, userID, err)
	}
	return out, nil
}

// Revoke deletes the consent with its scopes; ErrNotFound if there is none.
// Tokens already issued under it are the caller's to revoke.
func (r consents) Revoke(ctx context.Context, tenantID, userID, clientID string) error {
	res, err := r.exec1(ctx, `DELETE FROM consents WHERE tenant_id = $1 AND user_id = $2 AND client_id = $3`, tenantID, userID, clientID)
	if err == nil {
		err = affected1(res)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: revoke consent of user %s/%s for %s: %w", tenantID, userID, clientID, err)
	}
	return nil
}

// sortedSet returns the distinct entries of v in byte order.
func sortedSet(v []string) []string {
	out := slices.Clone(v)
	slices.Sort(out)
	return slices.Compact(out)
}
