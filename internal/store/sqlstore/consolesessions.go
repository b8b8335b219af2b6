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

type consoleSessions struct{ repos }

const consoleSessionCols = `tenant_id, id, user_id, tokens, access_expires_at, created_at, expires_at, version`

func scanConsoleSession(s scanner) (model.ConsoleSession, error) {
	var (
		cs               model.ConsoleSession
		acc, creat, exps int64
	)
	if err := s.Scan(&cs.TenantID, &cs.ID, &cs.UserID, &cs.Tokens, &acc, &creat, &exps, &cs.Version); err != nil {
		return model.ConsoleSession{}, err
	}
	cs.AccessExpiresAt, cs.CreatedAt, cs.ExpiresAt = fromMicros(acc), fromMicros(creat), fromMicros(exps)
	return cs, nil
}

// Create stores a new console session at version 1.
func (r consoleSessions) Create(ctx context.Context, cs model.ConsoleSession) error {
	created := cs.CreatedAt
	if created.IsZero() {
		created = r.db.now()
	}
	_, err := r.exec1(ctx, `INSERT INTO console_sessions (`+consoleSessionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, 1)`,
		cs.TenantID, cs.ID, cs.UserID, cs.Tokens, micros(cs.AccessExpiresAt), micros(created), micros(cs.ExpiresAt))
	if err != nil {
		return fmt.Errorf("sqlstore: create console session %s/%s: %w", cs.TenantID, cs.ID, r.onInsert(err))
	}
	return nil
}

// Get returns the session whether or not it expired.
func (r consoleSessions) Get(ctx context.Context, tenantID, id string) (model.ConsoleSession, error) {
	cs, err := scanConsoleSession(r.read().QueryRowContext(ctx,
		`SELECT `+consoleSessionCols+` FROM console_sessions WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return model.ConsoleSession{}, fmt.Errorf("sqlstore: console session %s/%s: %w", tenantID, id, store.ErrNotFound)
	}
	if err != nil {
		return model.ConsoleSession{}, fmt.Errorf("sqlstore: get console session %s/%s: %w", tenantID, id, err)
	}
	return cs, nil
}

// UpdateTokens is a compare-and-swap on the version: of two nodes that
// refreshed the same session's tokens at once, one wins and the other reads
// the winner's tokens.
func (r consoleSessions) UpdateTokens(ctx context.Context, cs model.ConsoleSession) (model.ConsoleSession, error) {
	res, err := r.exec1(ctx, `UPDATE console_sessions SET tokens = $4, access_expires_at = $5, version = version + 1
		WHERE tenant_id = $1 AND id = $2 AND version = $3`,
		cs.TenantID, cs.ID, cs.Version, cs.Tokens, micros(cs.AccessExpiresAt))
	if err == nil {
		err = affected1(res)
	}
	if errors.Is(err, store.ErrNotFound) {
		// Either gone or moved on: tell them apart.
		if _, gerr := r.Get(ctx, cs.TenantID, cs.ID); gerr == nil {
			err = store.ErrPrecondition
		}
	}
	if err != nil {
		return model.ConsoleSession{}, fmt.Errorf("sqlstore: update console session %s/%s: %w", cs.TenantID, cs.ID, err)
	}
	return r.Get(ctx, cs.TenantID, cs.ID)
}

// Delete removes the session; ErrNotFound if there is none.
func (r consoleSessions) Delete(ctx context.Context, tenantID, id string) error {
	res, err := r.exec1(ctx, `DELETE FROM console_sessions WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err == nil {
		err = affected1(res)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: delete console session %s/%s: %w", tenantID, id, err)
	}
	return nil
}

// Prune deletes the console sessions of every tenant that expired before t.
func (r consoleSessions) Prune(ctx context.Context, t time.Time) (int, error) {
	return prune(ctx, r.repos, "console sessions", `DELETE FROM console_sessions WHERE expires_at < $1`, t)
}
