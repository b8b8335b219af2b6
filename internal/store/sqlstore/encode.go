package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// scanner is what *sql.Row and *sql.Rows share.
type scanner interface {
	Scan(dest ...any) error
}

// micros stores a time as unix microseconds. Sub-microsecond precision is
// dropped (both databases keep microseconds at best); the zone is irrelevant
// since the value is an instant.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros reads a stored instant back, always in UTC.
func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// nullMicros stores an optional time: the zero time is NULL.
func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromNullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

// nullString stores an optional string: "" is NULL, so that unique indexes
// and foreign keys ignore it.
func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

// stamps picks CreatedAt and UpdatedAt for a new row, preferring the caller's
// values when set.
func stamps(created, updated, now time.Time) (int64, int64) {
	if created.IsZero() {
		created = now
	}
	if updated.IsZero() {
		updated = created
	}
	return micros(created), micros(updated)
}

// encodeList stores a string list that is never queried as a JSON array.
func encodeList(v []string) (string, error) {
	if len(v) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("sqlstore: encode list: %w", err)
	}
	return string(b), nil
}

// decodeList reads a JSON array back; an empty one is nil.
func decodeList(s string) ([]string, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("sqlstore: decode list %q: %w", s, err)
	}
	if len(v) == 0 {
		return nil, nil
	}
	return v, nil
}

// splitAgg reads a list aggregated with string_agg(x, ' '). Scope names never
// hold a space (RFC 6749 §3.3 scope-token), so the split is exact.
func splitAgg(v sql.NullString) []string {
	if !v.Valid || v.String == "" {
		return nil
	}
	return strings.Split(v.String, " ")
}

// dedupe drops repeated entries, keeping the first occurrence's position: the
// lists stored in child tables are sets with a display order.
func dedupe(in []string) []string {
	if len(in) < 2 {
		return in
	}
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Page limits.
const (
	defaultPageLimit = 20
	// maxPageLimit bounds one page so that a caller's mistake cannot load a
	// whole table into memory.
	maxPageLimit = 1000
)

// window turns a store.Page into LIMIT and OFFSET values: a limit of 0 or
// less is the default 20, above 1000 it is capped, a negative offset is 0.
func window(p store.Page) (limit, offset int) {
	limit = p.Limit
	if limit <= 0 {
		limit = defaultPageLimit
	}
	limit = min(limit, maxPageLimit)
	return limit, max(p.Offset, 0)
}

// conds builds a WHERE clause with numbered placeholders: add("x = $%d", v)
// appends the argument and numbers its placeholder, so optional filters need
// no hand-counted $N.
type conds struct {
	parts []string
	args  []any
}

func (c *conds) add(format string, arg any) {
	c.args = append(c.args, arg)
	c.parts = append(c.parts, fmt.Sprintf(format, len(c.args)))
}

// next reserves the next placeholder for arg and returns it ("$N").
func (c *conds) next(arg any) string {
	c.args = append(c.args, arg)
	return fmt.Sprintf("$%d", len(c.args))
}

func (c *conds) where() string { return " WHERE " + strings.Join(c.parts, " AND ") }

// rowsAffected returns the affected row count of a write.
func rowsAffected(res sql.Result) (int64, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: rows affected: %w", err)
	}
	return n, nil
}

// collect scans every row of a query with scan. It closes rows.
func collect[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func scanString(s scanner) (string, error) {
	var v string
	err := s.Scan(&v)
	return v, err
}

// stmt is one statement of a fixed sequence run by execAll.
type stmt struct {
	query string
	args  []any
}

// execAll runs statements in order and stops at the first error.
func execAll(ctx context.Context, q querier, stmts []stmt) error {
	for _, s := range stmts {
		if _, err := q.ExecContext(ctx, s.query, s.args...); err != nil {
			return err
		}
	}
	return nil
}

// encodeResources writes a grant's APIs and their scopes as a JSON array;
// a grant of one API (nil) is "[]".
func encodeResources(v []model.ResourceGrant) (string, error) {
	if len(v) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("sqlstore: encode resources: %w", err)
	}
	return string(b), nil
}

// decodeResources reads encodeResources back; "[]" is nil.
func decodeResources(s string) ([]model.ResourceGrant, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	var v []model.ResourceGrant
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, fmt.Errorf("sqlstore: decode resources: %w", err)
	}
	return v, nil
}
