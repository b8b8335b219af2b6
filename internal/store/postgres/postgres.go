package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/intelliauth/intelliauth/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockKey is the pg_advisory_xact_lock key that serialises
// migrations across nodes ("intelliauth.migrate" as 8 bytes, so it is
// unlikely to collide with another application's key in a shared database).
const migrationLockKey int64 = 0x696e74656c6c6961

// SQLSTATE codes (PostgreSQL Appendix A).
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// Pool defaults. Stateless nodes share one database, so each keeps a modest
// pool; idle connections are dropped so a quiet node holds few.
const (
	maxOpenConns    = 16
	maxIdleConns    = 8
	connMaxIdleTime = 5 * time.Minute
	connMaxLifetime = 30 * time.Minute
)

// Dialect returns what sqlstore needs to know about PostgreSQL.
func Dialect() sqlstore.Dialect {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		// fs.Sub fails only on an invalid path; "migrations" is valid.
		panic(err)
	}
	return sqlstore.Dialect{
		MultiRowInsert:        true,
		ForUpdate:             " FOR UPDATE",
		ForKeyShare:           " FOR KEY SHARE",
		Name:                  "postgres",
		Migrations:            sub,
		IsUniqueViolation:     func(err error) bool { return sqlState(err) == uniqueViolation },
		IsForeignKeyViolation: func(err error) bool { return sqlState(err) == foreignKeyViolation },
		LockMigrations:        lockMigrations,
		IsUnavailable:         isUnavailable,
	}
}

// isUnavailable reports the failures that mean the server did not answer:
// a connection that could not be made (refused, DNS, TLS, authentication
// timed out), a connection lost mid-query (EOF, a network error), and the
// server's own connection-class errors — SQLSTATE class 08 (connection
// exception), 57P01–57P03 (admin or crash shutdown, cannot connect now) and
// 53300 (too many connections). Anything else (a constraint, a syntax
// error, a serialization failure) is not an outage.
func isUnavailable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57P01", "57P02", "57P03", "53300":
			return true
		}
		return strings.HasPrefix(pe.Code, "08")
	}
	var ne net.Error
	return pgconn.SafeToRetry(err) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func sqlState(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// lockMigrations takes a transaction-scoped advisory lock: a second node
// starting at the same moment waits here, then finds the migration applied.
// The lock is released by the transaction's commit or rollback, so a crashed
// node never leaves it held.
func lockMigrations(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey)
	return err
}

// Open connects to the PostgreSQL database named by dsn (a postgres:// URL
// or key=value string, as pgx accepts; runtime parameters such as
// search_path pass through). It checks the connection but does not migrate:
// call Migrate on the result before first use.
func Open(ctx context.Context, dsn string, opts ...sqlstore.Option) (*sqlstore.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors redact the password.
		return nil, fmt.Errorf("postgres: parse DSN: %w", err)
	}
	// sql.OpenDB over the parsed config: no reliance on the driver's global
	// registration under a name.
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(maxOpenConns)
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxIdleTime(connMaxIdleTime)
	db.SetConnMaxLifetime(connMaxLifetime)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: connect to %s/%s: %w", cfg.Host, cfg.Database, err)
	}
	// The cluster goes first: an option the caller passes may replace it.
	opts = append([]sqlstore.Option{sqlstore.WithCluster(newCluster(cfg, db))}, opts...)
	s, err := sqlstore.New(Dialect(), db, db, opts...)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}
