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

type refreshTokens struct{ repos }

const refreshCols = `tenant_id, hash, family_id, client_id, user_id, session_id, scopes, audience, auth_time, created_at,
	expires_at, family_expires_at, rotated_at, revoked, access_jti, access_expires_at, amr, resources`

func scanRefresh(s scanner) (model.RefreshToken, error) {
	var (
		t                          model.RefreshToken
		scopes                     string
		auth, created, exp, famExp int64
		rotated, accessExp         sql.NullInt64
		accessJTI                  sql.NullString
		amr, resources             string
	)
	if err := s.Scan(&t.TenantID, &t.Hash, &t.FamilyID, &t.ClientID, &t.UserID, &t.SessionID, &scopes, &t.Audience,
		&auth, &created, &exp, &famExp, &rotated, &t.Revoked, &accessJTI, &accessExp, &amr, &resources); err != nil {
		return model.RefreshToken{}, err
	}
	var err error
	if t.Scopes, err = decodeList(scopes); err != nil {
		return model.RefreshToken{}, err
	}
	if t.AMR, err = decodeList(amr); err != nil {
		return model.RefreshToken{}, err
	}
	if t.Resources, err = decodeResources(resources); err != nil {
		return model.RefreshToken{}, err
	}
	t.AuthTime, t.CreatedAt, t.ExpiresAt, t.FamilyExpiresAt = fromMicros(auth), fromMicros(created), fromMicros(exp), fromMicros(famExp)
	t.RotatedAt = fromNullMicros(rotated)
	t.AccessJTI, t.AccessExpiresAt = accessJTI.String, fromNullMicros(accessExp)
	return t, nil
}

// Create stores the first token of a family; CreatedAt defaults to now.
// ErrConflict if the hash is taken, ErrNotFound if the application or the
// user does not exist. That FamilyID is new is the caller's concern.
func (r refreshTokens) Create(ctx context.Context, t model.RefreshToken) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = r.db.now()
	}
	query, args, err := insertRefresh(t)
	if err == nil {
		_, err = r.exec1(ctx, query, args...)
		err = r.onInsert(err)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create refresh token %s/%s: %w", t.TenantID, t.Hash, err)
	}
	return nil
}

// insertRefresh returns the INSERT that stores t.
func insertRefresh(t model.RefreshToken) (string, []any, error) {
	scopes, err := encodeList(t.Scopes)
	if err != nil {
		return "", nil, err
	}
	amr, err := encodeList(t.AMR)
	if err != nil {
		return "", nil, err
	}
	resources, err := encodeResources(t.Resources)
	if err != nil {
		return "", nil, err
	}
	return `INSERT INTO refresh_tokens (` + refreshCols + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		[]any{t.TenantID, t.Hash, t.FamilyID, t.ClientID, t.UserID, t.SessionID, scopes, t.Audience, micros(t.AuthTime),
			micros(t.CreatedAt), micros(t.ExpiresAt), micros(t.FamilyExpiresAt), nullMicros(t.RotatedAt), t.Revoked,
			nullString(t.AccessJTI), nullMicros(t.AccessExpiresAt), amr, resources}, nil
}

// Get returns a token by hash, whatever its state.
func (r refreshTokens) Get(ctx context.Context, tenantID, hash string) (model.RefreshToken, error) {
	t, err := getRefresh(ctx, r.read(), tenantID, hash)
	if err != nil {
		return model.RefreshToken{}, fmt.Errorf("sqlstore: get refresh token %s/%s: %w", tenantID, hash, err)
	}
	return t, nil
}

func getRefresh(ctx context.Context, q querier, tenantID, hash string) (model.RefreshToken, error) {
	t, err := scanRefresh(q.QueryRowContext(ctx, `SELECT `+refreshCols+` FROM refresh_tokens WHERE tenant_id = $1 AND hash = $2`,
		tenantID, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return model.RefreshToken{}, store.ErrNotFound
	}
	return t, err
}

// Rotate marks old rotated at now and stores next in its family, and
// returns next as stored. The family's identity and grant are the old
// token's as read inside the rotation: next gets old's FamilyID, ClientID,
// UserID, FamilyExpiresAt, Scopes, Audience, Resources, SessionID, AuthTime and AMR whatever
// it carries (so a scope rename that committed after the caller read old is
// not undone), and is neither rotated nor revoked; its other fields are the
// caller's (ExpiresAt moves on, AccessJTI and AccessExpiresAt name the
// access token issued with it). CreatedAt defaults to now.
//
// The single use is one conditional UPDATE of old (… AND rotated_at IS NULL
// AND NOT revoked): of concurrent callers exactly one matches; the others —
// and any caller once the family is revoked — store nothing and get old, as
// stored, with ErrReused. ErrNotFound if old does not exist. Expiry is the
// caller's check.
func (r refreshTokens) Rotate(ctx context.Context, tenantID, oldHash string, next model.RefreshToken, now time.Time) (model.RefreshToken, error) {
	if next.CreatedAt.IsZero() {
		next.CreatedAt = now
	}
	var out model.RefreshToken
	err := r.write(ctx, func(q querier) error {
		if err := r.lockGrantParents(ctx, q, tenantID, oldHash); err != nil {
			return err
		}
		old, err := useOnce(ctx, q, tenantID, oldHash, now)
		if err != nil {
			out = old
			return err
		}
		next.TenantID, next.FamilyID, next.ClientID, next.UserID = old.TenantID, old.FamilyID, old.ClientID, old.UserID
		// The grant is old's as it stands in this transaction: a scope
		// rename that committed after the caller read old has rewritten its
		// Scopes (RFC 6749 §6: the new token's scope is identical).
		next.Scopes, next.Audience, next.SessionID, next.AuthTime = old.Scopes, old.Audience, old.SessionID, old.AuthTime
		// A grant of several APIs keeps them all, whatever API this
		// rotation's access token is for: one family, whatever the audience.
		next.Resources = old.Resources
		// How the user authenticated is the grant's: a refresh does not
		// authenticate them again.
		next.AMR = old.AMR
		next.FamilyExpiresAt, next.RotatedAt, next.Revoked = old.FamilyExpiresAt, time.Time{}, false
		query, args, err := insertRefresh(next)
		if err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, query, args...); err != nil {
			return r.onInsert(err)
		}
		out, err = getRefresh(ctx, q, tenantID, next.Hash)
		return err
	})
	if err != nil {
		if errors.Is(err, store.ErrReused) {
			return out, fmt.Errorf("sqlstore: rotate refresh token %s/%s: %w", tenantID, oldHash, err)
		}
		return model.RefreshToken{}, fmt.Errorf("sqlstore: rotate refresh token %s/%s: %w", tenantID, oldHash, err)
	}
	return out, nil
}

// lockGrantParents takes, before the token's own row, the key-share locks
// on its user and application rows that the successor's foreign keys would
// take after it. Disabling or deleting the user (RevokeByUser, a cascade)
// and deleting the application (RevokeByClient) lock those parents first
// and the tokens second; a rotation locking the token first and a parent
// second would deadlock with them on PostgreSQL (SQLSTATE 40P01, a 500 to
// the client). Taken first, the lock makes the revocation wait for the
// rotation, which then revokes its successor too (revokeUntilDone).
func (r refreshTokens) lockGrantParents(ctx context.Context, q querier, tenantID, hash string) error {
	if r.db.dialect.ForKeyShare == "" {
		return nil
	}
	rows, err := q.QueryContext(ctx, `SELECT 1 FROM refresh_tokens t
		JOIN users u ON u.tenant_id = t.tenant_id AND u.id = t.user_id
		JOIN applications a ON a.tenant_id = t.tenant_id AND a.client_id = t.client_id
		WHERE t.tenant_id = $1 AND t.hash = $2`+r.db.dialect.ForKeyShare+` OF u, a`, tenantID, hash)
	if err != nil {
		return fmt.Errorf("lock the grant's user and application: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// useOnce is the single use of a refresh token: one conditional UPDATE
// (… AND rotated_at IS NULL AND NOT revoked) marks it rotated at now, so of
// concurrent callers exactly one matches. It returns the token as stored
// after the UPDATE, with ErrReused when it did not match (already rotated,
// or its family revoked), ErrNotFound when there is no such token.
func useOnce(ctx context.Context, q querier, tenantID, hash string, now time.Time) (model.RefreshToken, error) {
	res, err := q.ExecContext(ctx, `UPDATE refresh_tokens SET rotated_at = $3
		WHERE tenant_id = $1 AND hash = $2 AND rotated_at IS NULL AND NOT revoked`, tenantID, hash, micros(now))
	if err != nil {
		return model.RefreshToken{}, err
	}
	n, err := rowsAffected(res)
	if err != nil {
		return model.RefreshToken{}, err
	}
	old, err := getRefresh(ctx, q, tenantID, hash)
	if err != nil {
		return model.RefreshToken{}, err
	}
	if n == 0 {
		return old, store.ErrReused
	}
	return old, nil
}

// Retire is Rotate's single use without a successor (see
// store.RefreshTokens.Retire).
func (r refreshTokens) Retire(ctx context.Context, tenantID, hash string, now time.Time) (model.RefreshToken, error) {
	var old model.RefreshToken
	err := r.write(ctx, func(q querier) error {
		if err := r.lockGrantParents(ctx, q, tenantID, hash); err != nil {
			return err
		}
		var err error
		old, err = useOnce(ctx, q, tenantID, hash, now)
		return err
	})
	switch {
	case errors.Is(err, store.ErrReused):
		return old, fmt.Errorf("sqlstore: retire refresh token %s/%s: %w", tenantID, hash, err)
	case err != nil:
		return model.RefreshToken{}, fmt.Errorf("sqlstore: retire refresh token %s/%s: %w", tenantID, hash, err)
	}
	return old, nil
}

// RevokeFamily marks every token of the family revoked and, in the same
// transaction, revokes the access tokens issued with them that have not
// expired (RFC 7009 §2.1). Revoking a revoked or unknown family is not an
// error.
//
// The UPDATE repeats until it matches no row: on PostgreSQL a Rotate that
// committed while the UPDATE waited for its row lock may have inserted a
// token the UPDATE's snapshot did not see. Each round locks every token it
// revoked, so a Rotate starting after it fails with ErrReused, and the loop
// ends; the access tokens are copied after it, so the last rotation's is
// among them.
func (r refreshTokens) RevokeFamily(ctx context.Context, tenantID, familyID string) error {
	err := r.write(ctx, func(q querier) error {
		if _, err := revokeUntilDone(ctx, q, `UPDATE refresh_tokens SET revoked = TRUE
			WHERE tenant_id = $1 AND family_id = $2 AND NOT revoked RETURNING family_id`, tenantID, familyID); err != nil {
			return err
		}
		return revokeAccessTokens(ctx, q, r.db.now(), `tenant_id = $1 AND family_id = $2`, tenantID, familyID)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: revoke refresh-token family %s/%s: %w", tenantID, familyID, err)
	}
	return nil
}

// RevokeByUser revokes every family of the user (of one client when
// clientID is not empty), with their unexpired access tokens as
// RevokeFamily does, and returns how many families this call revoked:
// families already revoked are not counted. An unknown user has none.
func (r refreshTokens) RevokeByUser(ctx context.Context, tenantID, userID, clientID string) (int, error) {
	where, args := `tenant_id = $1 AND user_id = $2`, []any{tenantID, userID}
	if clientID != "" {
		where, args = where+` AND client_id = $3`, append(args, clientID)
	}
	// User writes lock only the user's row (they leave the tenant's
	// revision alone), so this lock alone keeps their order.
	n, err := r.revokeWhere(ctx, []stmt{{`SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2`, []any{tenantID, userID}}}, where, args...)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: revoke refresh tokens of user %s/%s: %w", tenantID, userID, err)
	}
	return n, nil
}

// RevokeByClient revokes every family of the application.
func (r refreshTokens) RevokeByClient(ctx context.Context, tenantID, clientID string) (int, error) {
	// Locks in the order every configuration write takes them (the
	// tenant's row for its revision first, then the application's), or a
	// delete and an update of the application would deadlock.
	n, err := r.revokeWhere(ctx, []stmt{
		{`SELECT 1 FROM tenants WHERE id = $1`, []any{tenantID}},
		{`SELECT 1 FROM applications WHERE tenant_id = $1 AND client_id = $2`, []any{tenantID, clientID}},
	}, `tenant_id = $1 AND client_id = $2`, tenantID, clientID)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: revoke refresh tokens of application %s/%s: %w", tenantID, clientID, err)
	}
	return n, nil
}

// revokeWhere revokes the families of the rows matching where (with args as
// $1…) and the unexpired access tokens issued with them, in one write, and
// counts the families it revoked.
//
// It first locks the parent rows that locks select (the user, or the
// tenant and the application), until the transaction ends. A grant being added meanwhile
// holds a key-share lock on that row for its foreign key, so the lock waits
// for it to commit and the revocation then sees it; a grant added later
// waits for this transaction. Without it, on PostgreSQL a grant committed
// between the revocation and a delete of the user or application in the
// same transaction would be deleted by the cascade with its access token
// never revoked.
func (r refreshTokens) revokeWhere(ctx context.Context, locks []stmt, where string, args ...any) (int, error) {
	var n int
	err := r.write(ctx, func(q querier) error {
		for _, lock := range locks {
			var one int
			if err := q.QueryRowContext(ctx, lock.query+r.db.dialect.ForUpdate, lock.args...).Scan(&one); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("lock: %w", err)
			}
		}
		fams, err := revokeUntilDone(ctx, q, `UPDATE refresh_tokens SET revoked = TRUE
			WHERE `+where+` AND NOT revoked RETURNING family_id`, args...)
		if err != nil {
			return err
		}
		n = len(fams)
		return revokeAccessTokens(ctx, q, r.db.now(), where, args...)
	})
	return n, err
}

// revokeUntilDone runs update (an UPDATE … RETURNING family_id) until it
// matches no row and returns the families it touched.
func revokeUntilDone(ctx context.Context, q querier, update string, args ...any) (map[string]bool, error) {
	fams := make(map[string]bool)
	for {
		rows, err := q.QueryContext(ctx, update, args...)
		got, err := collect(rows, err, scanString)
		if err != nil {
			return nil, err
		}
		if len(got) == 0 {
			return fams, nil
		}
		for _, f := range got {
			fams[f] = true
		}
	}
}

// revokeAccessTokens records as revoked, at now, the access tokens issued
// with the refresh tokens that where (a condition on refresh_tokens whose
// placeholders are args) matches, unless they expired by now: such a token
// fails verification on its exp anyway, and Prune would drop its record.
// One INSERT … SELECT, so the jtis never leave the database; a jti already
// revoked keeps its first record. Every row of a family is read, rotated
// ones too: the access token of an earlier rotation may still be live.
func revokeAccessTokens(ctx context.Context, q querier, now time.Time, where string, args ...any) error {
	p := fmt.Sprintf("$%d", len(args)+1)
	_, err := q.ExecContext(ctx, `INSERT INTO revocations (tenant_id, jti, expires_at, revoked_at)
		SELECT tenant_id, access_jti, access_expires_at, `+p+` FROM refresh_tokens
		WHERE `+where+` AND access_jti IS NOT NULL AND access_expires_at > `+p+`
		ON CONFLICT (tenant_id, jti) DO NOTHING`, append(args, micros(now))...)
	if err != nil {
		return fmt.Errorf("revoke access tokens: %w", err)
	}
	return nil
}

// Prune deletes the tokens of every tenant whose family expired before t.
func (r refreshTokens) Prune(ctx context.Context, t time.Time) (int, error) {
	return prune(ctx, r.repos, "refresh tokens", `DELETE FROM refresh_tokens WHERE family_expires_at < $1`, t)
}
