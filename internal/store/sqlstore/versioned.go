package sqlstore

import (
	"context"
	"strconv"

	"github.com/intelliauth/intelliauth/internal/store"
)

// whereVersion extends a statement keyed on (tenant_id, key) with the
// caller's optimistic-concurrency condition as parameter $n: none for
// version 0 ("whatever is stored"), else version = $n. The condition is part
// of the write itself rather than a read before it, so that on PostgreSQL
// (READ COMMITTED) a concurrent update committed between the caller's read
// and this write makes the write match nothing instead of being overwritten.
func whereVersion(query string, args []any, n int, version int64) (string, []any) {
	if version == 0 {
		return query, args
	}
	return query + ` AND version = $` + strconv.Itoa(n), append(args, version)
}

// deleteRow deletes one row of table by tenant and key when version is 0 or
// the stored version. It tells why nothing was deleted: ErrNotFound for a
// missing row, ErrPrecondition for another version, ErrConflict while a
// foreign key still refers to it. table and keyCol are constants of the
// callers, never input.
func (x repos) deleteRow(ctx context.Context, q querier, table, keyCol, tenantID, key string, version int64) error {
	query, args := whereVersion(`DELETE FROM `+table+` WHERE tenant_id = $1 AND `+keyCol+` = $2`,
		[]any{tenantID, key}, 3, version)
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return x.onDelete(err)
	}
	if n, err := rowsAffected(res); err != nil || n > 0 {
		return err
	}
	return missReason(ctx, q, table, keyCol, tenantID, key, version)
}

// missReason explains a versioned write to table that matched no row:
// ErrNotFound when the row is missing, ErrPrecondition when it has another
// version than the one asked for.
func missReason(ctx context.Context, q querier, table, keyCol, tenantID, key string, version int64) error {
	if version == 0 {
		return store.ErrNotFound
	}
	var v int64
	err := q.QueryRowContext(ctx, `SELECT version FROM `+table+` WHERE tenant_id = $1 AND `+keyCol+` = $2`,
		tenantID, key).Scan(&v)
	return versionMiss(err, version, v)
}
