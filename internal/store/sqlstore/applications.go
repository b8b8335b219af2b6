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

type applications struct{ repos }

// appCols reads an application with its allowlist in one statement, so the
// row and its child rows come from one snapshot without a transaction.
const appCols = `a.tenant_id, a.client_id, a.name, a.type, a.redirect_uris, a.post_logout_redirect_uris, a.allowed_origins,
	a.grant_types, a.scope_policy, a.consent, a.access_token_ttl, a.refresh_idle_ttl, a.refresh_absolute_ttl, a.created_at, a.updated_at, a.version, a.mfa,
	(SELECT string_agg(s.scope, ' ' ORDER BY s.pos) FROM application_scopes s
	 WHERE s.tenant_id = a.tenant_id AND s.client_id = a.client_id)`

func scanApp(s scanner, extra ...any) (model.Application, error) {
	var (
		a                           model.Application
		redirects, logouts, origins string
		grants                      string
		accessTTL, idleTTL, absTTL  int64
		c, u                        int64
		allowed                     sql.NullString
	)
	dest := append([]any{&a.TenantID, &a.ClientID, &a.Name, &a.Type, &redirects, &logouts, &origins, &grants, &a.ScopePolicy, &a.Consent,
		&accessTTL, &idleTTL, &absTTL, &c, &u, &a.Version, &a.MFA, &allowed}, extra...)
	if err := s.Scan(dest...); err != nil {
		return model.Application{}, err
	}
	var err error
	if a.RedirectURIs, err = decodeList(redirects); err != nil {
		return model.Application{}, err
	}
	if a.PostLogoutRedirectURIs, err = decodeList(logouts); err != nil {
		return model.Application{}, err
	}
	if a.AllowedOrigins, err = decodeList(origins); err != nil {
		return model.Application{}, err
	}
	if a.GrantTypes, err = decodeList(grants); err != nil {
		return model.Application{}, err
	}
	a.AllowedScopes = splitAgg(allowed)
	a.AccessTokenTTL, a.RefreshIdleTTL, a.RefreshAbsoluteTTL = time.Duration(accessTTL), time.Duration(idleTTL), time.Duration(absTTL)
	a.CreatedAt, a.UpdatedAt = fromMicros(c), fromMicros(u)
	return a, nil
}

// Create stores a new application with Version 1; ErrConflict if the client
// ID is taken in the tenant. Whether allowlisted scopes exist is the caller's
// check; a repeated allowlist entry is stored once.
func (r applications) Create(ctx context.Context, a model.Application) error {
	l, err := encodeAppLists(a)
	if err != nil {
		return err
	}
	c, u := stamps(a.CreatedAt, a.UpdatedAt, r.db.now())
	err = r.write(ctx, func(q querier) error {
		if err := r.bumpRev(ctx, q, a.TenantID); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO applications
			(tenant_id, client_id, name, type, redirect_uris, post_logout_redirect_uris, allowed_origins, grant_types,
			 scope_policy, consent, access_token_ttl, refresh_idle_ttl, refresh_absolute_ttl, created_at, updated_at, version, mfa)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 1, $16)`,
			a.TenantID, a.ClientID, a.Name, string(a.Type), l.redirects, l.logouts, l.origins, l.grants, a.ScopePolicy, a.Consent,
			int64(a.AccessTokenTTL), int64(a.RefreshIdleTTL), int64(a.RefreshAbsoluteTTL), c, u, a.MFA); err != nil {
			return r.onInsert(err)
		}
		return insertAllowlist(ctx, q, a.TenantID, a.ClientID, a.AllowedScopes)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: create application %s/%s: %w", a.TenantID, a.ClientID, err)
	}
	return nil
}

// appLists are an application's JSON-encoded list columns.
type appLists struct{ redirects, logouts, origins, grants string }

func encodeAppLists(a model.Application) (l appLists, err error) {
	for _, f := range []struct {
		dst *string
		v   []string
	}{{&l.redirects, a.RedirectURIs}, {&l.logouts, a.PostLogoutRedirectURIs}, {&l.origins, a.AllowedOrigins}, {&l.grants, a.GrantTypes}} {
		if *f.dst, err = encodeList(f.v); err != nil {
			return appLists{}, err
		}
	}
	return l, nil
}

func insertAllowlist(ctx context.Context, q querier, tenantID, clientID string, allowed []string) error {
	for i, s := range dedupe(allowed) {
		if _, err := q.ExecContext(ctx, `INSERT INTO application_scopes (tenant_id, client_id, scope, pos) VALUES ($1, $2, $3, $4)`,
			tenantID, clientID, s, i); err != nil {
			return fmt.Errorf("allowed scope %q: %w", s, err)
		}
	}
	return nil
}

func (r applications) Get(ctx context.Context, tenantID, clientID string) (model.Application, error) {
	return r.get(ctx, r.read(), tenantID, clientID)
}

func (r applications) get(ctx context.Context, q querier, tenantID, clientID string) (model.Application, error) {
	a, err := scanApp(q.QueryRowContext(ctx, `SELECT `+appCols+` FROM applications a WHERE a.tenant_id = $1 AND a.client_id = $2`,
		tenantID, clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return model.Application{}, fmt.Errorf("sqlstore: application %s/%s: %w", tenantID, clientID, store.ErrNotFound)
	}
	if err != nil {
		return model.Application{}, fmt.Errorf("sqlstore: get application %s/%s: %w", tenantID, clientID, err)
	}
	return a, nil
}

// List returns one page of applications ordered by client ID (byte order)
// and the total count, read in one statement.
func (r applications) List(ctx context.Context, tenantID string, p store.Page) ([]model.Application, int, error) {
	limit, offset := window(p)
	var total int
	rows, err := r.read().QueryContext(ctx, `SELECT `+appCols+`, COUNT(*) OVER () FROM applications a
		WHERE a.tenant_id = $1 ORDER BY a.client_id LIMIT $2 OFFSET $3`, tenantID, limit, offset)
	out, err := collect(rows, err, func(s scanner) (model.Application, error) { return scanApp(s, &total) })
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list applications of %s: %w", tenantID, err)
	}
	if len(out) == 0 && offset > 0 {
		// Past the last page the window function has no row to ride on.
		if err := r.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM applications WHERE tenant_id = $1`, tenantID).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("sqlstore: count applications of %s: %w", tenantID, err)
		}
	}
	return out, total, nil
}

func (r applications) All(ctx context.Context, tenantID string) ([]model.Application, error) {
	rows, err := r.read().QueryContext(ctx, `SELECT `+appCols+` FROM applications a WHERE a.tenant_id = $1 ORDER BY a.client_id`, tenantID)
	out, err := collect(rows, err, func(s scanner) (model.Application, error) { return scanApp(s) })
	if err != nil {
		return nil, fmt.Errorf("sqlstore: all applications of %s: %w", tenantID, err)
	}
	return out, nil
}

// Update replaces every field but TenantID, ClientID and CreatedAt when
// a.Version matches, bumps Version and sets UpdatedAt to now.
func (r applications) Update(ctx context.Context, a model.Application) (model.Application, error) {
	l, err := encodeAppLists(a)
	if err != nil {
		return model.Application{}, err
	}
	var out model.Application
	err = r.write(ctx, func(q querier) error {
		if err := r.bumpRev(ctx, q, a.TenantID); err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, `UPDATE applications
			SET name = $4, type = $5, redirect_uris = $6, post_logout_redirect_uris = $7, allowed_origins = $8,
			    grant_types = $9, scope_policy = $10, consent = $11,
			    access_token_ttl = $12, refresh_idle_ttl = $13, refresh_absolute_ttl = $14,
			    updated_at = $15, mfa = $16, version = version + 1
			WHERE tenant_id = $1 AND client_id = $2 AND version = $3`,
			a.TenantID, a.ClientID, a.Version, a.Name, string(a.Type), l.redirects, l.logouts, l.origins, l.grants, a.ScopePolicy, a.Consent,
			int64(a.AccessTokenTTL), int64(a.RefreshIdleTTL), int64(a.RefreshAbsoluteTTL), micros(r.db.now()), a.MFA)
		if err != nil {
			return r.onInsert(err)
		}
		if n, err := rowsAffected(res); err != nil {
			return err
		} else if n == 0 {
			return missReason(ctx, q, "applications", "client_id", a.TenantID, a.ClientID, a.Version)
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM application_scopes WHERE tenant_id = $1 AND client_id = $2`,
			a.TenantID, a.ClientID); err != nil {
			return err
		}
		if err := insertAllowlist(ctx, q, a.TenantID, a.ClientID, a.AllowedScopes); err != nil {
			return err
		}
		out, err = r.get(ctx, q, a.TenantID, a.ClientID)
		return err
	})
	if err != nil {
		return model.Application{}, fmt.Errorf("sqlstore: update application %s/%s: %w", a.TenantID, a.ClientID, err)
	}
	return out, nil
}

// Delete removes the application with its allowlist and secrets, and (by
// ON DELETE CASCADE) every consent, pending authorization request,
// authorization code and refresh token of it.
func (r applications) Delete(ctx context.Context, tenantID, clientID string, version int64) error {
	err := r.write(ctx, func(q querier) error {
		if err := r.bumpRev(ctx, q, tenantID); err != nil {
			return err
		}
		return r.deleteRow(ctx, q, "applications", "client_id", tenantID, clientID, version)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: delete application %s/%s: %w", tenantID, clientID, err)
	}
	return nil
}

// AddSecret stores a secret hash; ErrNotFound if the application does not
// exist, ErrConflict if it already has a secret with this ID.
func (r applications) AddSecret(ctx context.Context, s model.ClientSecret) error {
	created := s.CreatedAt
	if created.IsZero() {
		created = r.db.now()
	}
	err := r.write(ctx, func(q querier) error {
		if err := r.bumpRev(ctx, q, s.TenantID); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `INSERT INTO client_secrets (tenant_id, client_id, id, hash, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			s.TenantID, s.ClientID, s.ID, s.Hash, micros(created), nullMicros(s.ExpiresAt))
		return r.onInsert(err)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: add secret %s to application %s/%s: %w", s.ID, s.TenantID, s.ClientID, err)
	}
	return nil
}

// Secrets returns the application's secrets newest first (by CreatedAt, then
// ID); ErrNotFound if the application does not exist.
func (r applications) Secrets(ctx context.Context, tenantID, clientID string) ([]model.ClientSecret, error) {
	q := r.read()
	rows, err := q.QueryContext(ctx, `SELECT tenant_id, client_id, id, hash, created_at, expires_at FROM client_secrets
		WHERE tenant_id = $1 AND client_id = $2 ORDER BY created_at DESC, id DESC`, tenantID, clientID)
	out, err := collect(rows, err, scanSecret)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: secrets of application %s/%s: %w", tenantID, clientID, err)
	}
	if len(out) == 0 {
		if err := appExists(ctx, q, tenantID, clientID); err != nil {
			return nil, fmt.Errorf("sqlstore: secrets of application %s/%s: %w", tenantID, clientID, err)
		}
	}
	return out, nil
}

// AllSecrets returns every application's secrets in one query.
func (r applications) AllSecrets(ctx context.Context, tenantID string) (map[string][]model.ClientSecret, error) {
	rows, err := r.read().QueryContext(ctx, `SELECT tenant_id, client_id, id, hash, created_at, expires_at FROM client_secrets
		WHERE tenant_id = $1 ORDER BY client_id, created_at DESC, id DESC`, tenantID)
	all, err := collect(rows, err, scanSecret)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: secrets of the applications of %s: %w", tenantID, err)
	}
	out := make(map[string][]model.ClientSecret)
	for _, s := range all {
		out[s.ClientID] = append(out[s.ClientID], s)
	}
	return out, nil
}

func scanSecret(s scanner) (model.ClientSecret, error) {
	var (
		cs      model.ClientSecret
		created int64
		expires sql.NullInt64
	)
	if err := s.Scan(&cs.TenantID, &cs.ClientID, &cs.ID, &cs.Hash, &created, &expires); err != nil {
		return model.ClientSecret{}, err
	}
	cs.CreatedAt, cs.ExpiresAt = fromMicros(created), fromNullMicros(expires)
	return cs, nil
}

func appExists(ctx context.Context, q querier, tenantID, clientID string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM applications WHERE tenant_id = $1 AND client_id = $2`, tenantID, clientID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// ExpireSecrets ends every secret but keepID at expiresAt at the latest (an
// earlier expiry stays), and deletes the secrets that expired before now.
func (r applications) ExpireSecrets(ctx context.Context, tenantID, clientID, keepID string, expiresAt, now time.Time) error {
	err := r.write(ctx, func(q querier) error {
		if err := r.bumpRev(ctx, q, tenantID); err != nil {
			return err
		}
		if err := appExists(ctx, q, tenantID, clientID); err != nil {
			return err
		}
		return execAll(ctx, q, []stmt{
			{`UPDATE client_secrets SET expires_at = $4
				WHERE tenant_id = $1 AND client_id = $2 AND id <> $3 AND (expires_at IS NULL OR expires_at > $4)`,
				[]any{tenantID, clientID, keepID, micros(expiresAt)}},
			{`DELETE FROM client_secrets WHERE tenant_id = $1 AND client_id = $2 AND expires_at < $3`,
				[]any{tenantID, clientID, micros(now)}},
		})
	})
	if err != nil {
		return fmt.Errorf("sqlstore: expire secrets of application %s/%s: %w", tenantID, clientID, err)
	}
	return nil
}
