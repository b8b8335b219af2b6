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

type codes struct{ repos }

const codeCols = `tenant_id, hash, client_id, user_id, session_id, redirect_uri, code_challenge, code_challenge_method,
	scopes, audience, nonce, auth_time, expires_at, created_at, used_at, issued_jti, issued_expires_at, family_id, amr, resources`

func scanCode(s scanner) (model.AuthCode, error) {
	var (
		c                  model.AuthCode
		scopes             string
		auth, exp, created int64
		used, issuedExp    sql.NullInt64
		amr, resources     string
	)
	if err := s.Scan(&c.TenantID, &c.Hash, &c.ClientID, &c.UserID, &c.SessionID, &c.RedirectURI, &c.CodeChallenge,
		&c.CodeChallengeMethod, &scopes, &c.Audience, &c.Nonce, &auth, &exp, &created, &used, &c.IssuedJTI, &issuedExp,
		&c.FamilyID, &amr, &resources); err != nil {
		return model.AuthCode{}, err
	}
	var err error
	if c.Scopes, err = decodeList(scopes); err != nil {
		return model.AuthCode{}, err
	}
	if c.AMR, err = decodeList(amr); err != nil {
		return model.AuthCode{}, err
	}
	if c.Resources, err = decodeResources(resources); err != nil {
		return model.AuthCode{}, err
	}
	c.AuthTime, c.ExpiresAt, c.CreatedAt = fromMicros(auth), fromMicros(exp), fromMicros(created)
	c.UsedAt, c.IssuedExpiresAt = fromNullMicros(used), fromNullMicros(issuedExp)
	return c, nil
}

// Create stores a code; CreatedAt defaults to now. ErrConflict if the hash
// is taken, ErrNotFound if the application or the user does not exist.
func (r codes) Create(ctx context.Context, c model.AuthCode) error {
	scopes, err := encodeList(c.Scopes)
	if err != nil {
		return err
	}
	amr, err := encodeList(c.AMR)
	if err != nil {
		return err
	}
	resources, err := encodeResources(c.Resources)
	if err != nil {
		return err
	}
	created := c.CreatedAt
	if created.IsZero() {
		created = r.db.now()
	}
	_, err = r.exec1(ctx, `INSERT INTO auth_codes (`+codeCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
		c.TenantID, c.Hash, c.ClientID, c.UserID, c.SessionID, c.RedirectURI, c.CodeChallenge, c.CodeChallengeMethod,
		scopes, c.Audience, c.Nonce, micros(c.AuthTime), micros(c.ExpiresAt), micros(created), nullMicros(c.UsedAt),
		c.IssuedJTI, nullMicros(c.IssuedExpiresAt), c.FamilyID, amr, resources)
	if err != nil {
		return fmt.Errorf("sqlstore: create code %s/%s: %w", c.TenantID, c.Hash, r.onInsert(err))
	}
	return nil
}

// Get returns a code by hash, used or not.
func (r codes) Get(ctx context.Context, tenantID, hash string) (model.AuthCode, error) {
	c, err := getCode(ctx, r.read(), tenantID, hash)
	if err != nil {
		return model.AuthCode{}, fmt.Errorf("sqlstore: get code %s/%s: %w", tenantID, hash, err)
	}
	return c, nil
}

func getCode(ctx context.Context, q querier, tenantID, hash string) (model.AuthCode, error) {
	c, err := scanCode(q.QueryRowContext(ctx, `SELECT `+codeCols+` FROM auth_codes WHERE tenant_id = $1 AND hash = $2`, tenantID, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return model.AuthCode{}, store.ErrNotFound
	}
	return c, err
}

// Redeem marks the code used at now and returns it. The single use is one
// conditional UPDATE (… AND used_at IS NULL): of concurrent callers, the
// database lets exactly one match the row; every other caller, then or
// later, matches nothing and gets the code (UsedAt from the first
// redemption) with ErrReused. Whether the code expired, and whether client,
// redirect URI and verifier match, are the caller's checks.
func (r codes) Redeem(ctx context.Context, tenantID, hash string, now time.Time) (model.AuthCode, error) {
	var out model.AuthCode
	err := r.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE auth_codes SET used_at = $3 WHERE tenant_id = $1 AND hash = $2 AND used_at IS NULL`,
			tenantID, hash, micros(now))
		if err != nil {
			return err
		}
		n, err := rowsAffected(res)
		if err != nil {
			return err
		}
		if out, err = getCode(ctx, q, tenantID, hash); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrReused
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, store.ErrReused) {
			return out, fmt.Errorf("sqlstore: redeem code %s/%s: %w", tenantID, hash, err)
		}
		return model.AuthCode{}, fmt.Errorf("sqlstore: redeem code %s/%s: %w", tenantID, hash, err)
	}
	return out, nil
}

// SetIssued records what the redemption issued; ErrNotFound if there is no
// such code.
func (r codes) SetIssued(ctx context.Context, tenantID, hash, jti string, jtiExpires time.Time, familyID string) error {
	res, err := r.exec1(ctx, `UPDATE auth_codes SET issued_jti = $3, issued_expires_at = $4, family_id = $5
		WHERE tenant_id = $1 AND hash = $2`, tenantID, hash, jti, nullMicros(jtiExpires), familyID)
	if err == nil {
		err = affected1(res)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: set issued of code %s/%s: %w", tenantID, hash, err)
	}
	return nil
}

// Prune deletes the codes of every tenant that expired before t. A replay
// of a pruned code is then ErrNotFound rather than ErrReused; prune with a
// margin past the codes' lifetime so that replays are still recognised.
func (r codes) Prune(ctx context.Context, t time.Time) (int, error) {
	return prune(ctx, r.repos, "codes", `DELETE FROM auth_codes WHERE expires_at < $1`, t)
}
