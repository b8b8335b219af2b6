package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/intelliauth/intelliauth/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// busyTimeoutMS is how long a statement waits for a lock held by another
// process (a CLI run beside the server, a checkpoint) before failing.
const busyTimeoutMS = 10000

// Dialect returns what sqlstore needs to know about SQLite.
//
// A note for future migrations: each runs inside a transaction with
// foreign_keys on, and SQLite ignores PRAGMA foreign_keys inside a
// transaction. A migration that rebuilds a table (the SQLite way to alter a
// constraint) must start with PRAGMA defer_foreign_keys = ON and leave the
// references valid by its end.
func Dialect() sqlstore.Dialect {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		// fs.Sub fails only on an invalid path; "migrations" is valid.
		panic(err)
	}
	return sqlstore.Dialect{
		Name:                  "sqlite",
		Migrations:            sub,
		IsUniqueViolation:     isUniqueViolation,
		IsForeignKeyViolation: isForeignKeyViolation,
		IsUnavailable:         isUnavailable,
		// BEGIN IMMEDIATE (see writeDSN) already excludes other writers,
		// other processes included, for the whole migration transaction.
		LockMigrations: nil,
	}
}

func errorCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isUniqueViolation(err error) bool {
	c := errorCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isForeignKeyViolation(err error) bool {
	return errorCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// isUnavailable reports the failures of the file rather than of the
// statement: a lock still held after busyTimeoutMS (BUSY, LOCKED), an I/O
// error, a full disk, a file that cannot be opened, no memory. They pass
// without a restart (the lock is released, space is freed). Corruption is
// not among them: it does not pass.
func isUnavailable(err error) bool {
	switch errorCode(err) & 0xff { // the primary result code
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR,
		sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOMEM:
		return true
	}
	return false
}

// Open opens (creating if needed) the SQLite database at path. It does not
// migrate: call Migrate on the result before first use.
//
// Durability: journal_mode=WAL with synchronous=FULL syncs the WAL on every
// commit, so a write that returned is on disk even after kill -9 or power
// loss. Concurrency: SQLite allows one writer, so every write and every InTx
// transaction goes through a single-connection write pool whose transactions
// begin IMMEDIATE (taking the write lock up front, so two transactions never
// deadlock upgrading read locks), while reads run concurrently on a separate
// read-only pool, which WAL allows alongside the writer.
//
// path ":memory:" opens a private in-memory database on one connection for
// both reads and writes (tests); there, reading through the outer Store from
// inside InTx blocks.
func Open(ctx context.Context, path string, opts ...sqlstore.Option) (*sqlstore.DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: invalid database path %q (empty, or holds '?' or '#')", path)
	}
	memory := path == ":memory:"
	w, err := openPool(path, true)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := checkWAL(ctx, w, memory); err != nil {
		_ = w.Close()
		return nil, err
	}
	r := w
	if !memory {
		if r, err = openPool(path, false); err != nil {
			_ = w.Close()
			return nil, err
		}
		n := max(4, runtime.GOMAXPROCS(0))
		r.SetMaxOpenConns(n)
		r.SetMaxIdleConns(n)
		if err := r.PingContext(ctx); err != nil {
			_ = r.Close()
			_ = w.Close()
			return nil, fmt.Errorf("sqlite: open %s for reading: %w", path, err)
		}
	}
	db, err := sqlstore.New(Dialect(), w, r, opts...)
	if err != nil {
		_ = r.Close()
		_ = w.Close()
		return nil, err
	}
	return db, nil
}

// openPool opens a pool on path. The write pool's transactions begin
// IMMEDIATE; the read pool's stay DEFERRED (they only read) and its
// connections are query_only, so a write routed to it by mistake fails
// loudly instead of competing with the writer.
func openPool(path string, write bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(FULL)")
	if write {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
		q.Set("_txlock", "deferred")
	}
	// sql.OpenDB over a connector: no reliance on the driver's global
	// registration under a name.
	c, err := sqlite.NewConnector(path + "?" + q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return sql.OpenDB(c), nil
}

// checkWAL makes sure the database really is in WAL mode: a file system that
// cannot hold the shared-memory index silently keeps the rollback journal,
// and the read pool would then block the writer.
func checkWAL(ctx context.Context, w *sql.DB, memory bool) error {
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("sqlite: open: %w", err)
	}
	want := "wal"
	if memory {
		want = "memory"
	}
	if !strings.EqualFold(mode, want) {
		return fmt.Errorf("sqlite: journal mode is %q, not %q: the file system may not support WAL", mode, want)
	}
	return nil
}
