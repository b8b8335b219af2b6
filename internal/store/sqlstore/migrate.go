package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"

	"github.com/intelliauth/intelliauth/internal/store"
)

// Migration is one versioned schema step of a dialect, read from a file
// named NNNN_name.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
	// Checksum is the SHA-256 of SQL, recorded when the step is applied so
	// that a file edited afterwards is caught instead of silently skipped.
	Checksum string
}

var migrationFile = regexp.MustCompile(`^([0-9]{4,})_([a-z0-9_]+)\.sql$`)

// LoadMigrations reads the migration files at the root of fsys, ordered by
// version. Other files are ignored; two files with one version are an error.
func LoadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		m := migrationFile.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			continue
		}
		v, err := strconv.Atoi(m[1])
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlstore: migration %s: version must be a positive number", e.Name())
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("sqlstore: read migration %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(b)
		out = append(out, Migration{Version: v, Name: m[2], SQL: string(b), Checksum: hex.EncodeToString(sum[:])})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("sqlstore: two migrations with version %d", out[i].Version)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("sqlstore: no migrations found")
	}
	return out, nil
}

// The bookkeeping table, in SQL both dialects accept.
const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    BIGINT NOT NULL PRIMARY KEY,
	name       TEXT   NOT NULL,
	checksum   TEXT   NOT NULL,
	applied_at BIGINT NOT NULL
)`

// Migrate applies every migration not yet applied, in version order, each in
// its own transaction with its schema_migrations row. It is idempotent and
// safe to run from several processes at once. A migration whose file changed
// after it was applied is an error; versions in the database that this
// binary does not know (a newer binary migrated it) are left alone.
func (db *DB) Migrate(ctx context.Context) error {
	return db.MigrateTo(ctx, -1)
}

// MigrateTo applies the migrations up to and including version target (all
// of them when target is negative). Tests use it to insert fixture rows
// between steps and check that later steps keep them.
func (db *DB) MigrateTo(ctx context.Context, target int) error {
	ms, err := LoadMigrations(db.dialect.Migrations)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if target >= 0 && m.Version > target {
			break
		}
		if err := db.inTx(ctx, func(tx *sql.Tx, _ *txState) error { return db.apply(ctx, tx, m) }); err != nil {
			return fmt.Errorf("sqlstore: %s migration %04d_%s: %w", db.dialect.Name, m.Version, m.Name, err)
		}
	}
	return nil
}

func (db *DB) apply(ctx context.Context, tx *sql.Tx, m Migration) error {
	if db.dialect.LockMigrations != nil {
		if err := db.dialect.LockMigrations(ctx, tx); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
	}
	// Created under the lock: two PostgreSQL sessions running CREATE TABLE IF
	// NOT EXISTS at once can still collide on the catalog.
	if _, err := tx.ExecContext(ctx, createMigrationsTable); err != nil {
		return err
	}
	var sum string
	err := tx.QueryRowContext(ctx, `SELECT checksum FROM schema_migrations WHERE version = $1`, m.Version).Scan(&sum)
	switch {
	case err == nil:
		if sum != m.Checksum {
			return fmt.Errorf("the file changed after it was applied (checksum %s, applied %s): add a new migration instead", m.Checksum, sum)
		}
		return nil
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	// No arguments: both drivers then run a multi-statement script.
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)`,
		m.Version, m.Name, m.Checksum, micros(db.now()))
	return err
}

// CheckSchema reports whether every migration this binary knows is
// applied, changing nothing (it reads from the read pool, takes no lock and
// creates no table), so a readiness probe may call it. A database migrated
// further by a newer binary passes: Migrate leaves those versions alone,
// and they only add to what this binary reads.
func (db *DB) CheckSchema(ctx context.Context) error {
	ms, err := LoadMigrations(db.dialect.Migrations)
	if err != nil {
		return err
	}
	want := ms[len(ms)-1].Version
	var v sql.NullInt64
	if err := db.r.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		if err := db.classify(err); errors.Is(err, store.ErrUnavailable) || ctx.Err() != nil {
			return fmt.Errorf("sqlstore: read the schema version: %w", err)
		}
		return fmt.Errorf("the database has no migrated schema (this binary needs version %d): run `intelliauth migrate`", want)
	}
	if have := int(v.Int64); have < want {
		return fmt.Errorf("the database schema is at version %d and this binary needs version %d: run `intelliauth migrate`", have, want)
	}
	return nil
}

// SchemaVersion returns the highest applied migration version, 0 for an
// empty database. It creates the empty bookkeeping table if it is missing.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := db.inTx(ctx, func(tx *sql.Tx, _ *txState) error {
		if db.dialect.LockMigrations != nil {
			if err := db.dialect.LockMigrations(ctx, tx); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, createMigrationsTable); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: schema version: %w", err)
	}
	return int(v.Int64), nil
}
