package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/intelliauth/intelliauth/internal/store"
)

// Dialect holds what really differs between the SQL databases behind DB.
// Queries are not part of it: they are shared verbatim.
type Dialect struct {
	// Name identifies the dialect in error messages ("sqlite", "postgres").
	Name string
	// Migrations holds the dialect's migration files, named NNNN_name.sql, at
	// its root.
	Migrations fs.FS
	// IsUniqueViolation reports whether err is a unique or primary-key
	// violation; DB maps it to store.ErrConflict.
	IsUniqueViolation func(err error) bool
	// IsForeignKeyViolation reports whether err is a foreign-key violation;
	// DB maps it to store.ErrNotFound on inserts (the parent is missing) and
	// store.ErrConflict on deletes (a child still refers to the row).
	IsForeignKeyViolation func(err error) bool
	// LockMigrations, when set, runs first in every migration transaction so
	// that several processes starting at once apply each migration only once
	// (PostgreSQL: pg_advisory_xact_lock). SQLite needs none: its write
	// transactions begin IMMEDIATE, which already excludes other writers.
	LockMigrations func(ctx context.Context, tx *sql.Tx) error
	// MultiRowInsert sends a batch of rows as multi-row INSERTs (one round
	// trip) rather than one prepared statement per row. Right for a database
	// across a network; wrong for SQLite in process, whose $N binding cost
	// grows with the square of a statement's parameters.
	MultiRowInsert bool
	// ForUpdate is appended to a SELECT that must lock the rows it reads
	// until the transaction ends (PostgreSQL: " FOR UPDATE"). SQLite needs
	// none: a write transaction already excludes every other writer.
	ForUpdate string
	// ForKeyShare, appended with " OF …", takes the lock a foreign-key
	// check takes on the parent rows it names (PostgreSQL: " FOR KEY
	// SHARE"), ahead of time so that locks are taken in one order. SQLite
	// needs none, and the statement that would take it is skipped.
	ForKeyShare string
	// IsUnavailable, when set, reports whether a driver error means the
	// database did not answer (connection refused or lost, server shutting
	// down, lock held beyond the busy timeout, disk full or failing); DB
	// then wraps it with store.ErrUnavailable. database/sql's own dead-pool
	// errors are recognised without it.
	IsUnavailable func(err error) bool
}

func (d Dialect) validate() error {
	if d.Name == "" || d.Migrations == nil || d.IsUniqueViolation == nil || d.IsForeignKeyViolation == nil {
		return errors.New("sqlstore: dialect needs Name, Migrations, IsUniqueViolation and IsForeignKeyViolation")
	}
	return nil
}

// Option configures a DB.
type Option func(*options)

type options struct {
	now     func() time.Time
	tracer  trace.Tracer
	cluster store.Cluster
}

// WithTracerProvider makes every query and transaction a span of tp
// (OpenTelemetry), a child of the span in the call's context. Without it
// the store starts no span at all.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) {
		if tp != nil {
			o.tracer = tp.Tracer("github.com/intelliauth/intelliauth/internal/store/sqlstore")
		}
	}
}

// WithCluster sets how the nodes sharing the database learn of each
// other's configuration writes; DB settles through it after every commit
// that bumped a tenant's revision. The default is store.SingleNode.
func WithCluster(c store.Cluster) Option {
	return func(o *options) {
		if c != nil {
			o.cluster = c
		}
	}
}

// WithClock sets the clock that stamps CreatedAt (when the caller left it
// zero) and UpdatedAt on writes. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// DB is a store.Store over database/sql. It may use two pools: write (every
// write and every InTx transaction) and read (auto-commit reads). SQLite
// gives the write pool a single connection, since the database allows one
// writer at a time, and lets reads run concurrently from the read pool in WAL
// mode; PostgreSQL passes the same pool twice.
//
// DB is safe for concurrent use.
type DB struct {
	dialect Dialect
	w       *sql.DB
	r       *sql.DB
	now     func() time.Time
	// tracer, when set, traces queries and transactions (tracing.go).
	tracer  trace.Tracer
	cluster store.Cluster
	// isRevoked is the revocation lookup prepared on the read pool
	// (introspection's hot path), prepared on first use.
	isRevokedMu   sync.Mutex
	isRevokedStmt *sql.Stmt
	// names and codec serve the audit log (auditnames.go).
	names *names
	codec *codec
}

var _ store.Store = (*DB)(nil)

// New returns a DB over the given pools; read may be the same pool as write.
// New takes ownership of both: Close closes them.
func New(d Dialect, write, read *sql.DB, opts ...Option) (*DB, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	if write == nil {
		return nil, errors.New("sqlstore: nil write pool")
	}
	if read == nil {
		read = write
	}
	o := options{now: time.Now, cluster: store.SingleNode{}}
	for _, opt := range opts {
		opt(&o)
	}
	c, err := newCodec()
	if err != nil {
		return nil, err
	}
	return &DB{dialect: d, w: write, r: read, now: o.now, tracer: o.tracer, cluster: o.cluster, names: newNames(), codec: c}, nil
}

// Cluster returns how the nodes sharing the database learn of each other's
// configuration writes.
func (db *DB) Cluster() store.Cluster { return db.cluster }

// Ping checks that both pools answer.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping %s: %w", db.dialect.Name, db.classify(err))
	}
	if db.r != db.w {
		if err := db.r.PingContext(ctx); err != nil {
			return fmt.Errorf("sqlstore: ping %s read pool: %w", db.dialect.Name, db.classify(err))
		}
	}
	return nil
}

// Close closes the pools. Transactions still open are rolled back by the
// database.
func (db *DB) Close() error {
	db.isRevokedMu.Lock()
	if db.isRevokedStmt != nil {
		_ = db.isRevokedStmt.Close()
		db.isRevokedStmt = nil
	}
	db.isRevokedMu.Unlock()
	var errR error
	if db.r != db.w {
		errR = db.r.Close()
	}
	db.codec.dec.Close()
	return errors.Join(db.w.Close(), errR)
}

// InTx runs fn in one transaction on the write pool: committed when fn
// returns nil, rolled back when it returns an error or panics. Each repository
// call inside fn runs under its own savepoint, so a call that fails leaves no
// partial effect and the transaction usable (PostgreSQL would otherwise
// refuse every later statement). fn's error is returned as is (wrapped
// with store.ErrUnavailable when it says the database went away).
func (db *DB) InTx(ctx context.Context, fn func(store.Repos) error) error {
	return db.inTx(ctx, func(tx *sql.Tx, st *txState) error {
		return fn(txRepos{repos{db: db, q: classified{q: tx, db: db, st: st}, tx: tx, st: st}})
	})
}

// txState is what one transaction learns as it runs.
type txState struct {
	// bumped: a tenant's revision moved, so the commit is settled
	// (store.Cluster.Settle) before the write returns.
	bumped bool
}

// inTx runs fn in a transaction on the write pool. Its error, fn's
// included, is classified: a transaction that failed because the database
// went away says store.ErrUnavailable.
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx, *txState) error) error {
	return db.classify(db.runTx(ctx, fn))
}

// runTx runs fn in a transaction and commits it. A commit that bumped a
// tenant's revision is settled before runTx returns: every node that may
// answer from its cache has then applied it — the one place every
// configuration write passes, so no caller can forget it.
func (db *DB) runTx(ctx context.Context, fn func(*sql.Tx, *txState) error) (err error) {
	if db.tracer != nil {
		var sp trace.Span
		ctx, sp = db.startSpan(ctx, "db.transaction", "")
		defer func() { endSpan(sp, err) }()
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	done := false
	defer func() {
		// Also runs while a panic unwinds, so the write connection is never
		// left inside an open transaction.
		if !done {
			_ = tx.Rollback()
		}
	}()
	st := &txState{}
	if err := fn(tx, st); err != nil {
		return err
	}
	done = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	if st.bumped {
		if err := db.cluster.Settle(ctx); err != nil {
			return fmt.Errorf("sqlstore: the change is saved, but not every node confirmed it: %w", err)
		}
	}
	return nil
}

// Tenants returns the auto-commit tenant repository.
func (db *DB) Tenants() store.Tenants { return tenants{db.repos()} }

// Scopes returns the auto-commit scope repository.
func (db *DB) Scopes() store.Scopes { return scopes{db.repos()} }

// APIs returns the auto-commit API repository.
func (db *DB) APIs() store.APIs { return apis{db.repos()} }

// Applications returns the auto-commit application repository.
func (db *DB) Applications() store.Applications { return applications{db.repos()} }

// Keys returns the auto-commit signing-key repository.
func (db *DB) Keys() store.Keys { return keys{db.repos()} }

// Revocations returns the auto-commit revocation repository.
func (db *DB) Revocations() store.Revocations { return revocations{db.repos()} }

// Audit returns the auto-commit audit repository.
func (db *DB) Audit() store.Audit { return audit{db.repos()} }

// Users returns the auto-commit user repository.
func (db *DB) Users() store.Users { return users{db.repos()} }

// Roles returns the auto-commit role repository.
func (db *DB) Roles() store.Roles { return roles{db.repos()} }

// Groups returns the auto-commit group repository.
func (db *DB) Groups() store.Groups { return groups{db.repos()} }

// Consents returns the auto-commit consent repository.
func (db *DB) Consents() store.Consents { return consents{db.repos()} }

// Sessions returns the auto-commit session repository.
func (db *DB) Sessions() store.Sessions { return sessions{db.repos()} }

// AuthRequests returns the auto-commit authorization-request repository.
func (db *DB) AuthRequests() store.AuthRequests { return authRequests{db.repos()} }

// Codes returns the auto-commit authorization-code repository.
func (db *DB) Codes() store.Codes { return codes{db.repos()} }

// RefreshTokens returns the auto-commit refresh-token repository.
func (db *DB) RefreshTokens() store.RefreshTokens { return refreshTokens{db.repos()} }

// Throttles returns the auto-commit sign-in throttle repository.
func (db *DB) Throttles() store.Throttles { return throttles{db.repos()} }

// ConsoleSessions returns the admin console's session repository.
func (db *DB) ConsoleSessions() store.ConsoleSessions { return consoleSessions{db.repos()} }

// Factors returns the auto-commit second-factor repository.
func (db *DB) Factors() store.Factors { return factors{db.repos()} }

func (db *DB) repos() repos { return repos{db: db, q: classified{q: db.r, db: db}} }

// querier is what a repository queries through, the same auto-commit or
// inside a transaction: a pool or a transaction behind classified, so a
// query that fails because the database is gone says store.ErrUnavailable.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) scanner
}

// repos is the state every repository shares: where reads go (q) and, inside
// InTx, the transaction every call joins.
type repos struct {
	db *DB
	q  querier  // reads: the read pool, or the transaction inside InTx
	tx *sql.Tx  // nil for auto-commit repositories
	st *txState // the state of tx; nil with it
}

func (x repos) read() querier { return x.q }

// savepoint names the savepoint a repository call takes inside InTx. Calls
// never nest, so one name is enough.
const savepoint = "sqlstore_call"

// write runs fn atomically: in a new transaction on the write pool for an
// auto-commit repository, or under a savepoint of the caller's transaction
// inside InTx, rolled back to when fn fails.
func (x repos) write(ctx context.Context, fn func(q querier) error) error {
	if x.tx == nil {
		return x.db.inTx(ctx, func(tx *sql.Tx, st *txState) error { return fn(classified{q: tx, db: x.db, st: st}) })
	}
	if _, err := x.tx.ExecContext(ctx, "SAVEPOINT "+savepoint); err != nil {
		return fmt.Errorf("sqlstore: savepoint: %w", x.db.classify(err))
	}
	if err := fn(classified{q: x.tx, db: x.db, st: x.st}); err != nil {
		if _, rbErr := x.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+savepoint); rbErr != nil {
			return errors.Join(err, fmt.Errorf("sqlstore: rollback to savepoint: %w", rbErr))
		}
		return err
	}
	if _, err := x.tx.ExecContext(ctx, "RELEASE SAVEPOINT "+savepoint); err != nil {
		return fmt.Errorf("sqlstore: release savepoint: %w", x.db.classify(err))
	}
	return nil
}

// exec1 runs a single write statement. Auto-commit it needs no explicit
// transaction (the statement is atomic on its own), which saves two round
// trips on hot paths such as Revoke; inside InTx it gets a savepoint like any
// other call.
func (x repos) exec1(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if x.tx == nil {
		ctx, sp := x.db.startSpan(ctx, "db.exec", query)
		res, err := x.db.w.ExecContext(ctx, query, args...)
		err = x.db.classify(err)
		endSpan(sp, err)
		return res, err
	}
	var res sql.Result
	err := x.write(ctx, func(q querier) error {
		var err error
		res, err = q.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

// bumpRev increments the tenant's configuration revision. Every write to a
// tenant's scopes, APIs, applications, secrets or keys calls it first in its
// transaction: first, so that on PostgreSQL the tenant row lock is always the
// first lock taken and concurrent configuration writes of one tenant queue
// there instead of deadlocking on each other's rows.
//
// It marks the transaction for settling (store.Cluster.Settle) after commit.
func (x repos) bumpRev(ctx context.Context, q querier, tenantID string) error {
	markBumped(q)
	res, err := q.ExecContext(ctx, `UPDATE tenants SET rev = rev + 1 WHERE id = $1`, tenantID)
	if err != nil {
		return fmt.Errorf("sqlstore: bump revision of tenant %q: %w", tenantID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: bump revision of tenant %q: %w", tenantID, err)
	} else if n == 0 {
		return fmt.Errorf("sqlstore: tenant %q: %w", tenantID, store.ErrNotFound)
	}
	return nil
}

// onInsert maps a driver error from an INSERT or UPDATE: a unique violation
// is a conflict, a foreign-key violation means the parent row is missing.
func (x repos) onInsert(err error) error {
	switch {
	case err == nil:
		return nil
	case x.db.dialect.IsUniqueViolation(err):
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	case x.db.dialect.IsForeignKeyViolation(err):
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	return err
}

// onDelete maps a driver error from a DELETE: a foreign-key violation means
// rows still refer to the one being deleted.
func (x repos) onDelete(err error) error {
	if err != nil && x.db.dialect.IsForeignKeyViolation(err) {
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	}
	return err
}

// txRepos is the Repos handed to InTx's fn. It is a distinct type so that it
// does not carry InTx, Ping or Close.
type txRepos struct{ r repos }

func (t txRepos) Tenants() store.Tenants           { return tenants{t.r} }
func (t txRepos) Scopes() store.Scopes             { return scopes{t.r} }
func (t txRepos) APIs() store.APIs                 { return apis{t.r} }
func (t txRepos) Applications() store.Applications { return applications{t.r} }
func (t txRepos) Keys() store.Keys                 { return keys{t.r} }
func (t txRepos) Revocations() store.Revocations   { return revocations{t.r} }
func (t txRepos) Audit() store.Audit               { return audit{t.r} }
func (t txRepos) Users() store.Users               { return users{t.r} }
func (t txRepos) Roles() store.Roles               { return roles{t.r} }
func (t txRepos) Groups() store.Groups             { return groups{t.r} }
func (t txRepos) Consents() store.Consents         { return consents{t.r} }
func (t txRepos) Sessions() store.Sessions         { return sessions{t.r} }
func (t txRepos) AuthRequests() store.AuthRequests { return authRequests{t.r} }
func (t txRepos) Codes() store.Codes               { return codes{t.r} }
func (t txRepos) RefreshTokens() store.RefreshTokens {
	return refreshTokens{t.r}
}
func (t txRepos) Throttles() store.Throttles             { return throttles{t.r} }
func (t txRepos) ConsoleSessions() store.ConsoleSessions { return consoleSessions{t.r} }
func (t txRepos) Factors() store.Factors                 { return factors{t.r} }

var _ store.Repos = txRepos{}

// markBumped records, on the transaction q runs in, that a tenant's
// revision moved. Every write runs through classified (write, InTx), so
// the mark is never lost.
func markBumped(q querier) {
	if c, ok := q.(classified); ok && c.st != nil {
		c.st.bumped = true
	}
}
