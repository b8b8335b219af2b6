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

func scanThrottle(s scanner) (model.Throttle, error) {
	var (
		th     model.Throttle
		start  int64
		locked sql.NullInt64
	)
	if err := s.Scan(&th.TenantID, &th.Key, &th.Failures, &start, &locked); err != nil {
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
	return prune(ctx, r.repos, "throttles",
		`DELETE FROM throttles WHERE window_start < $1 AND (locked_until IS NULL OR locked_until <= $2)`, idleSince, now)
}
