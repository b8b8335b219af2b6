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

type sessions struct{ repos }

const sessionCols = `tenant_id, id, user_id, auth_time, expires_at, last_seen, user_agent, ip, created_at, amr`

func scanSession(s scanner) (model.Session, error) {
	var (
		se               model.Session
		auth, exp, creat int64
		seen             sql.NullInt64
		amr              string
	)
	if err := s.Scan(&se.TenantID, &se.ID, &se.UserID, &auth, &exp, &seen, &se.UserAgent, &se.IP, &creat, &amr); err != nil {
		return model.Session{}, err
	}
	var err error
	if se.AMR, err = decodeList(amr); err != nil {
		return model.Session{}, err
	}
	se.AuthTime, se.ExpiresAt, se.LastSeen, se.CreatedAt = fromMicros(auth), fromMicros(exp), fromNullMicros(seen), fromMicros(creat)
	return se, nil
}

// Create stores a session; CreatedAt defaults to now. ErrConflict if the ID
// is taken, ErrNotFound if the user does not exist.
func (r sessions) Create(ctx context.Context, se model.Session) error {
	amr, err := encodeList(se.AMR)
	if err != nil {
		return err
	}
	created := se.CreatedAt
	if created.IsZero() {
		created = r.db.now()
	}
	_, err = r.exec1(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		se.TenantID, se.ID, se.UserID, micros(se.AuthTime), micros(se.ExpiresAt), nullMicros(se.LastSeen),
		se.UserAgent, se.IP, micros(created), amr)
	if err != nil {
		return fmt.Errorf("sqlstore: create session %s/%s: %w", se.TenantID, se.ID, r.onInsert(err))
	}
	return nil
}

// Get returns the session whether or not it expired.
func (r sessions) Get(ctx context.Context, tenantID, id string) (model.Session, error) {
	se, err := scanSession(r.read().QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return model.Session{}, fmt.Errorf("sqlstore: session %s/%s: %w", tenantID, id, store.ErrNotFound)
	}
	if err != nil {
		return model.Session{}, fmt.Errorf("sqlstore: get session %s/%s: %w", tenantID, id, err)
	}
	return se, nil
}

// Touch sets LastSeen; ErrNotFound if there is no such session.
func (r sessions) Touch(ctx context.Context, tenantID, id string, at time.Time) error {
	res, err := r.exec1(ctx, `UPDATE sessions SET last_seen = $3 WHERE tenant_id = $1 AND id = $2`, tenantID, id, nullMicros(at))
	if err == nil {
		err = affected1(res)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: touch session %s/%s: %w", tenantID, id, err)
	}
	return nil
}

// SetAMR replaces the session's AMR (a step-up adds a factor to a live
// session); ErrNotFound if there is no such session. It is a plain
// overwrite: the caller computes the new list from the one it read.
func (r sessions) SetAMR(ctx context.Context, tenantID, id string, amr []string) error {
	enc, err := encodeList(amr)
	if err != nil {
		return err
	}
	res, err := r.exec1(ctx, `UPDATE sessions SET amr = $3 WHERE tenant_id = $1 AND id = $2`, tenantID, id, enc)
	if err == nil {
		err = affected1(res)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: set amr of session %s/%s: %w", tenantID, id, err)
	}
	return nil
}

// Delete removes the session; ErrNotFound if there is none. Codes and
// refresh tokens issued in it stay: they are revoked by their own calls.
func (r sessions) Delete(ctx context.Context, tenantID, id string) error {
	res, err := r.exec1(ctx, `DELETE FROM sessions WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err == nil {
		err = affected1(res)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: delete session %s/%s: %w", tenantID, id, err)
	}
	return nil
}

// ListByUser returns the user's sessions, expired ones included, newest
// first (by CreatedAt, then ID); ErrNotFound if the user does not exist.
func (r sessions) ListByUser(ctx context.Context, tenantID, userID string) ([]model.Session, error) {
	q := r.read()
	rows, err := q.QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC`, tenantID, userID)
	out, err := collect(rows, err, scanSession)
	if err == nil && len(out) == 0 {
		err = userExists(ctx, q, tenantID, userID)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: sessions of user %s/%s: %w", tenantID, userID, err)
	}
	return out, nil
}

// Prune deletes the sessions of every tenant that expired before t.
func (r sessions) Prune(ctx context.Context, t time.Time) (int, error) {
	return prune(ctx, r.repos, "sessions", `DELETE FROM sessions WHERE expires_at < $1`, t)
}

// prune runs one cross-tenant DELETE of expired rows, with the times as
// its parameters $1, $2…, and counts them.
func prune(ctx context.Context, r repos, what, query string, ts ...time.Time) (int, error) {
	args := make([]any, len(ts))
	for i, t := range ts {
		args[i] = micros(t)
	}
	res, err := r.exec1(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: prune %s: %w", what, err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: prune %s: %w", what, err)
	}
	return int(n), nil
}
