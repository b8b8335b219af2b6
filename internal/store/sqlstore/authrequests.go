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

type authRequests struct{ repos }

const authRequestCols = `tenant_id, id, client_id, redirect_uri, scope, state, nonce, code_challenge, code_challenge_method,
	audience, prompt, max_age, login_hint, include_granted, user_id, session_id, auth_time, ask_scopes, consent_done, denied,
	created_at, expires_at, peer, acr_values, mfa_skipped, resources`

func scanAuthRequest(s scanner) (model.AuthRequest, error) {
	var (
		ar       model.AuthRequest
		userID   sql.NullString
		authTime sql.NullInt64
		ask, res string
		c, e     int64
	)
	if err := s.Scan(&ar.TenantID, &ar.ID, &ar.ClientID, &ar.RedirectURI, &ar.Scope, &ar.State, &ar.Nonce, &ar.CodeChallenge,
		&ar.CodeChallengeMethod, &ar.Audience, &ar.Prompt, &ar.MaxAge, &ar.LoginHint, &ar.IncludeGranted, &userID, &ar.SessionID,
		&authTime, &ask, &ar.ConsentDone, &ar.Denied, &c, &e, &ar.Peer, &ar.ACRValues, &ar.MFASkipped, &res); err != nil {
		return model.AuthRequest{}, err
	}
	var err error
	if ar.AskScopes, err = decodeList(ask); err != nil {
		return model.AuthRequest{}, err
	}
	if ar.Resources, err = decodeList(res); err != nil {
		return model.AuthRequest{}, err
	}
	ar.UserID = userID.String
	ar.AuthTime, ar.CreatedAt, ar.ExpiresAt = fromNullMicros(authTime), fromMicros(c), fromMicros(e)
	return ar, nil
}

// Create stores a request; CreatedAt defaults to now. ErrConflict if the ID
// is taken, ErrNotFound if the application (or a UserID given already)
// does not exist.
func (r authRequests) Create(ctx context.Context, ar model.AuthRequest) error {
	query, args, err := r.insertStmt(ar)
	if err == nil {
		_, err = r.exec1(ctx, query, args...)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create authorization request %s/%s: %w", ar.TenantID, ar.ID, r.onInsert(err))
	}
	return nil
}

// insertStmt is the INSERT that stores ar.
func (r authRequests) insertStmt(ar model.AuthRequest) (string, []any, error) {
	ask, err := encodeList(ar.AskScopes)
	if err != nil {
		return "", nil, err
	}
	res, err := encodeList(ar.Resources)
	if err != nil {
		return "", nil, err
	}
	created := ar.CreatedAt
	if created.IsZero() {
		created = r.db.now()
	}
	return `INSERT INTO auth_requests (` + authRequestCols + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)`,
		[]any{ar.TenantID, ar.ID, ar.ClientID, ar.RedirectURI, ar.Scope, ar.State, ar.Nonce, ar.CodeChallenge, ar.CodeChallengeMethod,
			ar.Audience, ar.Prompt, ar.MaxAge, ar.LoginHint, ar.IncludeGranted, nullString(ar.UserID), ar.SessionID,
			nullMicros(ar.AuthTime), ask, ar.ConsentDone, ar.Denied, micros(created), micros(ar.ExpiresAt), ar.Peer,
			ar.ACRValues, ar.MFASkipped, res}, nil
}

// CreateBounded counts the unfinished requests of the peer and of the
// client (each count stops at its cap: the partial indexes on user_id IS
// NULL hold only those rows), then inserts, in one transaction. A client at
// its cap still admits a peer that holds no unfinished request.
func (r authRequests) CreateBounded(ctx context.Context, ar model.AuthRequest, perClient, perPeer int) error {
	if ar.CreatedAt.IsZero() {
		ar.CreatedAt = r.db.now()
	}
	query, args, err := r.insertStmt(ar)
	if err == nil {
		err = r.write(ctx, func(q querier) error {
			count := func(col, val string, limit int) (int, error) {
				if limit <= 0 || val == "" || ar.UserID != "" {
					return 0, nil
				}
				var n int
				err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM auth_requests
					WHERE tenant_id = $1 AND `+col+` = $2 AND user_id IS NULL AND expires_at > $3 LIMIT $4) AS unfinished`,
					ar.TenantID, val, micros(ar.CreatedAt), limit).Scan(&n)
				return n, err
			}
			// The peer's count also stops at 1 when only the client's cap
			// applies: what matters then is whether it holds any.
			peerN, err := count("peer", ar.Peer, max(perPeer, 1))
			if err != nil {
				return err
			}
			if perPeer > 0 && peerN >= perPeer {
				return fmt.Errorf("%d unfinished requests from %s: %w", perPeer, ar.Peer, store.ErrLimit)
			}
			clientN, err := count("client_id", ar.ClientID, perClient)
			if err != nil {
				return err
			}
			// A full client refuses only peers that already hold an
			// unfinished request of the tenant: a flood from many addresses
			// must not lock out a person starting their one sign-in.
			if perClient > 0 && clientN >= perClient && (ar.Peer == "" || peerN > 0) {
				return fmt.Errorf("%d unfinished requests of client %q: %w", perClient, ar.ClientID, store.ErrLimit)
			}
			_, err = q.ExecContext(ctx, query, args...)
			return r.onInsert(err)
		})
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create authorization request %s/%s: %w", ar.TenantID, ar.ID, err)
	}
	return nil
}

// Get returns the request whether or not it expired.
func (r authRequests) Get(ctx context.Context, tenantID, id string) (model.AuthRequest, error) {
	ar, err := scanAuthRequest(r.read().QueryRowContext(ctx, `SELECT `+authRequestCols+` FROM auth_requests
		WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return model.AuthRequest{}, fmt.Errorf("sqlstore: authorization request %s/%s: %w", tenantID, id, store.ErrNotFound)
	}
	if err != nil {
		return model.AuthRequest{}, fmt.Errorf("sqlstore: get authorization request %s/%s: %w", tenantID, id, err)
	}
	return ar, nil
}

// Update replaces UserID, SessionID, AuthTime, AskScopes, ConsentDone,
// Denied and MFASkipped, and nothing else (ACRValues is the request's, set
// by Create); ErrNotFound if there is no such request or the
// user does not exist. It is a plain overwrite: the flow is one browser
// moving through its steps, not concurrent editors.
func (r authRequests) Update(ctx context.Context, ar model.AuthRequest) error {
	ask, err := encodeList(ar.AskScopes)
	if err != nil {
		return err
	}
	res, err := r.exec1(ctx, `UPDATE auth_requests
		SET user_id = $3, session_id = $4, auth_time = $5, ask_scopes = $6, consent_done = $7, denied = $8, mfa_skipped = $9
		WHERE tenant_id = $1 AND id = $2`,
		ar.TenantID, ar.ID, nullString(ar.UserID), ar.SessionID, nullMicros(ar.AuthTime), ask, ar.ConsentDone, ar.Denied,
		ar.MFASkipped)
	if err == nil {
		err = affected1(res)
	} else {
		err = r.onInsert(err)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: update authorization request %s/%s: %w", ar.TenantID, ar.ID, err)
	}
	return nil
}

// Delete removes the request; ErrNotFound if there is none.
func (r authRequests) Delete(ctx context.Context, tenantID, id string) error {
	res, err := r.exec1(ctx, `DELETE FROM auth_requests WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err == nil {
		err = affected1(res)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: delete authorization request %s/%s: %w", tenantID, id, err)
	}
	return nil
}

// Prune deletes the requests of every tenant that expired before t.
func (r authRequests) Prune(ctx context.Context, t time.Time) (int, error) {
	return prune(ctx, r.repos, "authorization requests", `DELETE FROM auth_requests WHERE expires_at < $1`, t)
}
