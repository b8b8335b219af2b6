package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
)

type throttles struct{ repos }

// failSQL counts one failure in a single upsert, so concurrent failures of
// one key serialise on its row (PostgreSQL's ON CONFLICT waits for a
// concurrent insert of the same key; SQLite has one writer) and none is
// lost. Parameters: $3 now, $4 window, $5 max, $6 now+lockFor, all unix
// microseconds but $5. A failure strictly after window_start+window opens a
// new window at now with one failure; otherwise the count grows. Once the
// count reaches max (when max > 0), locked_until becomes now+lockFor, and
// every further failure in the window extends it; otherwise it keeps its
// value. The CASTs give PostgreSQL each parameter's type once.
const failSQL = `INSERT INTO throttles (tenant_id, key, failures, window_start, locked_until)
	VALUES ($1, $2, 1, CAST($3 AS BIGINT),
		CASE WHEN CAST($5 AS BIGINT) > 0 AND 1 >= CAST($5 AS BIGINT) THEN CAST($6 AS BIGINT) ELSE NULL END)
	ON CONFLICT (tenant_id, key) DO UPDATE SET
		failures = CASE WHEN CAST($3 AS BIGINT) > throttles.window_start + CAST($4 AS BIGINT) THEN 1
			ELSE throttles.failures + 1 END,
		window_start = CASE WHEN CAST($3 AS BIGINT) > throttles.window_start + CAST($4 AS BIGINT) THEN CAST($3 AS BIGINT)
			ELSE throttles.window_start END,
		locked_until = CASE WHEN CAST($5 AS BIGINT) > 0 AND
			(CASE WHEN CAST($3 AS BIGINT) > throttles.window_start + CAST($4 AS BIGINT) THEN 1
				ELSE throttles.failures + 1 END) >= CAST($5 AS BIGINT)
			THEN CAST($6 AS BIGINT) ELSE throttles.locked_until END
	RETURNING tenant_id, key, failures, window_start, locked_until`

func scanThrottle(s scanner, extra ...any) (model.Throttle, error) {
	var (
		th     model.Throttle
		start  int64
		locked sql.NullInt64
	)
	if err := s.Scan(append([]any{&th.TenantID, &th.Key, &th.Failures, &start, &locked}, extra...)...); err != nil {
		return model.Throttle{}, err
	}
	th.WindowStart, th.LockedUntil = fromMicros(start), fromNullMicros(locked)
	return th, nil
}

// Fail records one failure of key at now and returns the new state, in one
// atomic statement (see failSQL); max <= 0 never locks. ErrNotFound if the
// tenant does not exist.
func (r throttles) Fail(ctx context.Context, tenantID, key string, now time.Time, window time.Duration, max int, lockFor time.Duration) (model.Throttle, error) {
	var out model.Throttle
	err := r.write(ctx, func(q querier) error {
		var err error
		out, err = scanThrottle(q.QueryRowContext(ctx, failSQL, tenantID, key, micros(now), window.Microseconds(), int64(max),
			micros(now.Add(lockFor))))
		return r.onInsert(err)
	})
	if err != nil {
		return model.Throttle{}, fmt.Errorf("sqlstore: record failure of %s/%s: %w", tenantID, key, err)
	}
	return out, nil
}

// Reserve holds slot of key until now+lease when the key is not locked and
// its failures in the current window plus its live slots stay below max,
// in one transaction. Its first statement upserts the key's throttles row
// (a new one with no failures, its window starting now), which on
// PostgreSQL locks that row until the transaction ends: reservations of
// one key queue there, so the count and the insert below cannot interleave
// (SQLite has one writer). Expired slots of the key are deleted on the way.
func (r throttles) Reserve(ctx context.Context, tenantID, key, slot string, now time.Time, window time.Duration, max int, lease time.Duration) (bool, model.Throttle, error) {
	// A read first: attempts waiting for a slot poll, and a key whose
	// budget is plainly held is refused without a write (SQLite has one
	// writer for everything). The write below decides under the lock.
	if th, full, err := r.full(ctx, tenantID, key, now, window, max); err != nil {
		return false, model.Throttle{}, fmt.Errorf("sqlstore: reserve attempt of %s/%s: %w", tenantID, key, err)
	} else if full {
		return false, th, nil
	}
	var (
		th   model.Throttle
		held bool
	)
	err := r.write(ctx, func(q querier) error {
		var err error
		th, err = scanThrottle(q.QueryRowContext(ctx, `INSERT INTO throttles (tenant_id, key, failures, window_start, locked_until)
			VALUES ($1, $2, 0, $3, NULL)
			ON CONFLICT (tenant_id, key) DO UPDATE SET failures = throttles.failures
			RETURNING tenant_id, key, failures, window_start, locked_until`, tenantID, key, micros(now)))
		if err != nil {
			return r.onInsert(err)
		}
		if now.Before(th.LockedUntil) {
			return nil
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM throttle_slots WHERE tenant_id = $1 AND key = $2 AND expires_at <= $3`,
			tenantID, key, micros(now)); err != nil {
			return err
		}
		var slots int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM throttle_slots WHERE tenant_id = $1 AND key = $2`,
			tenantID, key).Scan(&slots); err != nil {
			return err
		}
		failures := th.Failures
		if now.After(th.WindowStart.Add(window)) {
			failures = 0 // the next failure opens a new window (failSQL)
		}
		if max > 0 && failures+slots >= max {
			return nil
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO throttle_slots (tenant_id, key, id, expires_at) VALUES ($1, $2, $3, $4)`,
			tenantID, key, slot, micros(now.Add(lease))); err != nil {
			return r.onInsert(err)
		}
		held = true
		return nil
	})
	if err != nil {
		return false, model.Throttle{}, fmt.Errorf("sqlstore: reserve attempt of %s/%s: %w", tenantID, key, err)
	}
	return held, th, nil
}

// full reports, from a read, whether key is locked at now or its budget is
// held by the window's failures and the live slots.
func (r throttles) full(ctx context.Context, tenantID, key string, now time.Time, window time.Duration, max int) (model.Throttle, bool, error) {
	var slots int
	th, err := scanThrottle(r.read().QueryRowContext(ctx, `SELECT tenant_id, key, failures, window_start, locked_until,
		(SELECT COUNT(*) FROM throttle_slots s WHERE s.tenant_id = t.tenant_id AND s.key = t.key AND s.expires_at > $3)
		FROM throttles t WHERE t.tenant_id = $1 AND t.key = $2`, tenantID, key, micros(now)), &slots)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return model.Throttle{}, false, nil
	case err != nil:
		return model.Throttle{}, false, err
	case now.Before(th.LockedUntil):
		return th, true, nil
	}
	failures := th.Failures
	if now.After(th.WindowStart.Add(window)) {
		failures = 0
	}
	return th, max > 0 && failures+slots >= max, nil
}

// Release deletes the slot.
func (r throttles) Release(ctx context.Context, tenantID, key, slot string) error {
	if _, err := r.exec1(ctx, `DELETE FROM throttle_slots WHERE tenant_id = $1 AND key = $2 AND id = $3`, tenantID, key, slot); err != nil {
		return fmt.Errorf("sqlstore: release attempt of %s/%s: %w", tenantID, key, err)
	}
	return nil
}

// Get returns the state of key, or the zero Throttle if it has none.
func (r throttles) Get(ctx context.Context, tenantID, key string) (model.Throttle, error) {
	th, err := scanThrottle(r.read().QueryRowContext(ctx, `SELECT tenant_id, key, failures, window_start, locked_until
		FROM throttles WHERE tenant_id = $1 AND key = $2`, tenantID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return model.Throttle{}, nil
	}
	if err != nil {
		return model.Throttle{}, fmt.Errorf("sqlstore: get throttle %s/%s: %w", tenantID, key, err)
	}
	return th, nil
}

// Reset deletes the state of key; resetting a key with none is not an
// error.
func (r throttles) Reset(ctx context.Context, tenantID, key string) error {
	if _, err := r.exec1(ctx, `DELETE FROM throttles WHERE tenant_id = $1 AND key = $2`, tenantID, key); err != nil {
		return fmt.Errorf("sqlstore: reset throttle %s/%s: %w", tenantID, key, err)
	}
	return nil
}

// Prune deletes idle keys: their window started before idleSince and any
// lock ended by now. Failed sign-ins of made-up usernames are throttled too,
// so without this the table grows with every guessing run.
func (r throttles) Prune(ctx context.Context, idleSince, now time.Time) (int, error) {
	n, err := prune(ctx, r.repos, "throttles",
		`DELETE FROM throttles WHERE window_start < $1 AND (locked_until IS NULL OR locked_until <= $2)`, idleSince, now)
	if err != nil {
		return n, err
	}
	m, err := prune(ctx, r.repos, "throttle slots", `DELETE FROM throttle_slots WHERE expires_at <= $1`, now)
	return n + m, err
}
