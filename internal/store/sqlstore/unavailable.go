package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/intelliauth/intelliauth/internal/store"
)

// errDBClosedText is database/sql's text for a query on a closed pool; the
// error value itself is unexported, so it is recognised by its text.
const errDBClosedText = "sql: database is closed"

// classify wraps err with store.ErrUnavailable when it says the database
// did not answer (see unavailable), and returns it unchanged otherwise. It
// is the one place where a storage outage gets its name: every query of a
// repository (through classified) and every transaction (inTx) passes its
// error here. Wrapping twice is harmless but skipped.
func (db *DB) classify(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) || !db.unavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// unavailable reports a connection-level failure: what database/sql itself
// says about a dead or closed pool, and what the dialect knows of its
// driver (a refused connection, a server shutting down, a lock held beyond
// the busy timeout). A cancelled context is the caller's doing, never an
// outage.
func (db *DB) unavailable(err error) bool {
	switch {
	case errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		strings.HasSuffix(err.Error(), errDBClosedText):
		return true
	}
	return db.dialect.IsUnavailable != nil && db.dialect.IsUnavailable(err)
}

// rawQuerier is what *sql.DB and *sql.Tx offer the repositories.
type rawQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// classified is the querier every repository call gets: a pool or a
// transaction whose errors pass through DB.classify.
type classified struct {
	q  rawQuerier
	db *DB
	st *txState // the transaction's state when q is one
}

func (c classified) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx, sp := c.db.startSpan(ctx, "db.exec", query)
	res, err := c.q.ExecContext(ctx, query, args...)
	err = c.db.classify(err)
	endSpan(sp, err)
	return res, err
}

func (c classified) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx, sp := c.db.startSpan(ctx, "db.query", query)
	rows, err := c.q.QueryContext(ctx, query, args...)
	err = c.db.classify(err)
	endSpan(sp, err)
	return rows, err
}

// QueryRowContext's span covers running the query; its error, if any,
// surfaces at Scan.
func (c classified) QueryRowContext(ctx context.Context, query string, args ...any) scanner {
	ctx, sp := c.db.startSpan(ctx, "db.query", query)
	row := c.q.QueryRowContext(ctx, query, args...)
	endSpan(sp, nil)
	return classifiedRow{row: row, db: c.db}
}

// PrepareContext is for execEach (SQLite's audit inserts).
func (c classified) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	st, err := c.q.PrepareContext(ctx, query)
	return st, c.db.classify(err)
}

// classifiedRow is a *sql.Row whose Scan error (where a failed query's
// error surfaces) is classified.
type classifiedRow struct {
	row *sql.Row
	db  *DB
}

func (r classifiedRow) Scan(dest ...any) error { return r.db.classify(r.row.Scan(dest...)) }
