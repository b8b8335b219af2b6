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

// factors stores second factors (mfa_factors), recovery codes
// (mfa_recovery_codes) and WebAuthn ceremonies in flight (mfa_challenges).
// Every query but the cross-tenant Prune filters on the tenant, and every
// one but the lookups by credential ID or challenge ID on the user too, so
// that no call reaches another user's factors.
type factors struct{ repos }

const factorCols = `tenant_id, id, user_id, type, name, secret, credential, credential_id, confirmed, counter,
	created_at, last_used_at`

func scanFactor(s scanner) (model.Factor, error) {
	var (
		f       model.Factor
		typ     string
		credID  sql.NullString
		created int64
		used    sql.NullInt64
	)
	if err := s.Scan(&f.TenantID, &f.ID, &f.UserID, &typ, &f.Name, &f.Secret, &f.Credential, &credID, &f.Confirmed,
		&f.Counter, &created, &used); err != nil {
		return model.Factor{}, err
	}
	f.Type, f.CredentialID = model.FactorType(typ), credID.String
	f.Secret, f.Credential = nilIfEmpty(f.Secret), nilIfEmpty(f.Credential)
	f.CreatedAt, f.LastUsedAt = fromMicros(created), fromNullMicros(used)
	return f, nil
}

// nilIfEmpty reads an empty BLOB back as nil, whichever the driver gave.
func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// blob stores a byte slice in a NOT NULL BLOB column: nil is the empty
// value, never NULL.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Create stores a new factor; CreatedAt defaults to now. The primary key and
// the partial unique index on credential_id make a taken ID or credential ID
// a conflict; the foreign key to users makes a missing user ErrNotFound.
func (r factors) Create(ctx context.Context, f model.Factor) error {
	created := f.CreatedAt
	if created.IsZero() {
		created = r.db.now()
	}
	_, err := r.exec1(ctx, `INSERT INTO mfa_factors (`+factorCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		f.TenantID, f.ID, f.UserID, string(f.Type), f.Name, blob(f.Secret), blob(f.Credential), nullString(f.CredentialID),
		f.Confirmed, f.Counter, micros(created), nullMicros(f.LastUsedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create factor %s/%s: %w", f.TenantID, f.ID, r.onInsert(err))
	}
	return nil
}

// Get returns one factor of the user; ErrNotFound if the user has none with
// that ID.
func (r factors) Get(ctx context.Context, tenantID, userID, id string) (model.Factor, error) {
	f, err := scanFactor(r.read().QueryRowContext(ctx, `SELECT `+factorCols+` FROM mfa_factors
		WHERE tenant_id = $1 AND user_id = $2 AND id = $3`, tenantID, userID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return model.Factor{}, fmt.Errorf("sqlstore: factor %s/%s/%s: %w", tenantID, userID, id, store.ErrNotFound)
	}
	if err != nil {
		return model.Factor{}, fmt.Errorf("sqlstore: get factor %s/%s/%s: %w", tenantID, userID, id, err)
	}
	return f, nil
}

// GetByCredentialID returns the factor holding that WebAuthn credential ID.
// An empty ID finds nothing (TOTP factors store NULL there).
func (r factors) GetByCredentialID(ctx context.Context, tenantID, credentialID string) (model.Factor, error) {
	if credentialID == "" {
		return model.Factor{}, fmt.Errorf("sqlstore: factor by empty credential ID in %s: %w", tenantID, store.ErrNotFound)
	}
	f, err := scanFactor(r.read().QueryRowContext(ctx, `SELECT `+factorCols+` FROM mfa_factors
		WHERE tenant_id = $1 AND credential_id = $2`, tenantID, credentialID))
	if errors.Is(err, sql.ErrNoRows) {
		return model.Factor{}, fmt.Errorf("sqlstore: factor with credential %s/%s: %w", tenantID, credentialID, store.ErrNotFound)
	}
	if err != nil {
		return model.Factor{}, fmt.Errorf("sqlstore: get factor with credential %s/%s: %w", tenantID, credentialID, err)
	}
	return f, nil
}

// List returns the user's factors, oldest first; none (not ErrNotFound) for
// an unknown user.
func (r factors) List(ctx context.Context, tenantID, userID string) ([]model.Factor, error) {
	rows, err := r.read().QueryContext(ctx, `SELECT `+factorCols+` FROM mfa_factors
		WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, id`, tenantID, userID)
	out, err := collect(rows, err, scanFactor)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: factors of user %s/%s: %w", tenantID, userID, err)
	}
	return out, nil
}

// Rename sets the factor's name; ErrNotFound if the user has no such factor.
func (r factors) Rename(ctx context.Context, tenantID, userID, id, name string) error {
	res, err := r.exec1(ctx, `UPDATE mfa_factors SET name = $4 WHERE tenant_id = $1 AND user_id = $2 AND id = $3`,
		tenantID, userID, id, name)
	if err == nil {
		err = affected1(res)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: rename factor %s/%s/%s: %w", tenantID, userID, id, err)
	}
	return nil
}

// Use is a compare-and-swap on the counter, in one conditional UPDATE: of
// two nodes accepting the same TOTP step at the same instant, the database
// lets exactly one match the row. When nothing matched, a second read in the
// same transaction tells a missing factor (ErrNotFound) from a counter that
// did not move forward (ErrPrecondition).
func (r factors) Use(ctx context.Context, tenantID, userID, id string, counter int64, credential []byte, at time.Time) error {
	// A nil credential keeps the stored one (COALESCE with NULL); an untyped
	// nil is NULL for both drivers, whereas a nil []byte is not for every one.
	var cred any
	if credential != nil {
		cred = credential
	}
	err := r.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE mfa_factors
			SET counter = $4, last_used_at = $5, confirmed = $6, credential = COALESCE($7, credential)
			WHERE tenant_id = $1 AND user_id = $2 AND id = $3 AND (counter < $4 OR (counter = 0 AND $4 = 0))`,
			tenantID, userID, id, counter, micros(at), true, cred)
		if err != nil {
			return err
		}
		if err := affected1(res); !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := exists(ctx, q, `SELECT 1 FROM mfa_factors WHERE tenant_id = $1 AND user_id = $2 AND id = $3`,
			tenantID, userID, id); err != nil {
			return err
		}
		return store.ErrPrecondition
	})
	if err != nil {
		return fmt.Errorf("sqlstore: use factor %s/%s/%s: %w", tenantID, userID, id, err)
	}
	return nil
}

// Delete removes one factor; ErrNotFound if the user has no such factor.
func (r factors) Delete(ctx context.Context, tenantID, userID, id string) error {
	res, err := r.exec1(ctx, `DELETE FROM mfa_factors WHERE tenant_id = $1 AND user_id = $2 AND id = $3`, tenantID, userID, id)
	if err == nil {
		err = affected1(res)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: delete factor %s/%s/%s: %w", tenantID, userID, id, err)
	}
	return nil
}

// DeleteByUser removes the user's factors and recovery codes in one
// transaction and returns how many factors.
func (r factors) DeleteByUser(ctx context.Context, tenantID, userID string) (int, error) {
	var n int64
	err := r.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM mfa_recovery_codes WHERE tenant_id = $1 AND user_id = $2`,
			tenantID, userID); err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, `DELETE FROM mfa_factors WHERE tenant_id = $1 AND user_id = $2`, tenantID, userID)
		if err != nil {
			return err
		}
		n, err = rowsAffected(res)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete factors of user %s/%s: %w", tenantID, userID, err)
	}
	return int(n), nil
}

// ReplaceRecoveryCodes deletes the user's codes and stores the new hashes
// (duplicates once) in one transaction, so that the old set stops working
// exactly when the new one starts.
func (r factors) ReplaceRecoveryCodes(ctx context.Context, tenantID, userID string, hashes []string, at time.Time) error {
	err := r.write(ctx, func(q querier) error {
		if err := userExists(ctx, q, tenantID, userID); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM mfa_recovery_codes WHERE tenant_id = $1 AND user_id = $2`,
			tenantID, userID); err != nil {
			return err
		}
		for _, h := range dedupe(hashes) {
			if _, err := q.ExecContext(ctx, `INSERT INTO mfa_recovery_codes (tenant_id, user_id, hash, created_at, used_at)
				VALUES ($1, $2, $3, $4, NULL)`, tenantID, userID, h, micros(at)); err != nil {
				// The user may have been deleted since the check (PostgreSQL).
				return r.onInsert(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: replace recovery codes of user %s/%s: %w", tenantID, userID, err)
	}
	return nil
}

// UseRecoveryCode spends a code in one conditional UPDATE (… AND used_at IS
// NULL): of concurrent callers with the same code, exactly one matches the
// row.
func (r factors) UseRecoveryCode(ctx context.Context, tenantID, userID, hash string, at time.Time) error {
	res, err := r.exec1(ctx, `UPDATE mfa_recovery_codes SET used_at = $4
		WHERE tenant_id = $1 AND user_id = $2 AND hash = $3 AND used_at IS NULL`, tenantID, userID, hash, micros(at))
	if err == nil {
		err = affected1(res)
	}
	if err != nil {
		// The hash is not named: it is one guess of a secret away from the code.
		return fmt.Errorf("sqlstore: use recovery code of user %s/%s: %w", tenantID, userID, err)
	}
	return nil
}

// RecoveryCodes returns the user's codes, used ones included, by hash.
func (r factors) RecoveryCodes(ctx context.Context, tenantID, userID string) ([]model.RecoveryCode, error) {
	rows, err := r.read().QueryContext(ctx, `SELECT tenant_id, user_id, hash, created_at, used_at FROM mfa_recovery_codes
		WHERE tenant_id = $1 AND user_id = $2 ORDER BY hash`, tenantID, userID)
	out, err := collect(rows, err, func(s scanner) (model.RecoveryCode, error) {
		var (
			c       model.RecoveryCode
			created int64
			used    sql.NullInt64
		)
		if err := s.Scan(&c.TenantID, &c.UserID, &c.Hash, &created, &used); err != nil {
			return model.RecoveryCode{}, err
		}
		c.CreatedAt, c.UsedAt = fromMicros(created), fromNullMicros(used)
		return c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: recovery codes of user %s/%s: %w", tenantID, userID, err)
	}
	return out, nil
}

const challengeCols = `tenant_id, id, user_id, purpose, data, expires_at`

// PutChallenge stores a ceremony in flight; ErrConflict if its ID is taken,
// ErrNotFound if it names a user that does not exist.
func (r factors) PutChallenge(ctx context.Context, c model.MFAChallenge) error {
	_, err := r.exec1(ctx, `INSERT INTO mfa_challenges (`+challengeCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.TenantID, c.ID, nullString(c.UserID), c.Purpose, blob(c.Data), micros(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlstore: put challenge %s/%s: %w", c.TenantID, c.ID, r.onInsert(err))
	}
	return nil
}

// TakeChallenge deletes the challenge and returns it, in one DELETE …
// RETURNING: of two requests finishing the same ceremony, exactly one gets
// it. An expired challenge is deleted all the same and reported as
// ErrNotFound.
func (r factors) TakeChallenge(ctx context.Context, tenantID, id string, now time.Time) (model.MFAChallenge, error) {
	var (
		c       model.MFAChallenge
		userID  sql.NullString
		expires int64
	)
	err := r.write(ctx, func(q querier) error {
		return q.QueryRowContext(ctx, `DELETE FROM mfa_challenges WHERE tenant_id = $1 AND id = $2 RETURNING `+challengeCols,
			tenantID, id).Scan(&c.TenantID, &c.ID, &userID, &c.Purpose, &c.Data, &expires)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return model.MFAChallenge{}, fmt.Errorf("sqlstore: challenge %s/%s: %w", tenantID, id, store.ErrNotFound)
	}
	if err != nil {
		return model.MFAChallenge{}, fmt.Errorf("sqlstore: take challenge %s/%s: %w", tenantID, id, err)
	}
	c.UserID, c.ExpiresAt, c.Data = userID.String, fromMicros(expires), nilIfEmpty(c.Data)
	// Compared as stored (microseconds), as Prune compares.
	if expires < micros(now) {
		return model.MFAChallenge{}, fmt.Errorf("sqlstore: challenge %s/%s expired: %w", tenantID, id, store.ErrNotFound)
	}
	return c, nil
}

// Prune deletes, in every tenant, the challenges that expired before t and
// the factors still unconfirmed that were created before unconfirmedBefore
// (enrolments abandoned half-way).
func (r factors) Prune(ctx context.Context, t, unconfirmedBefore time.Time) (int, error) {
	n, err := prune(ctx, r.repos, "mfa challenges", `DELETE FROM mfa_challenges WHERE expires_at < $1`, t)
	if err != nil {
		return n, err
	}
	m, err := prune(ctx, r.repos, "unconfirmed factors",
		`DELETE FROM mfa_factors WHERE created_at < $1 AND NOT confirmed`, unconfirmedBefore)
	return n + m, err
}
