package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"

	"github.com/intelliauth/intelliauth/internal/store"
)

// Lease defaults. A node renews its lease every RenewEvery and may answer
// from its cache until LeaseFor after it sent the renewal; a writer waits
// at most about LeaseFor + RenewEvery for a node that does not acknowledge.
const (
	DefaultLeaseFor   = 2 * time.Second
	DefaultRenewEvery = 500 * time.Millisecond
)

// Cluster is the store.Cluster of nodes sharing one PostgreSQL database
// (migration 0009_catalog_nodes):
//
//   - every configuration change takes a commit-ordered number and sends
//     NOTIFY on the schema's channel in its own transaction;
//   - Follow LISTENs on a dedicated connection, applies each change, then
//     acknowledges its number in catalog_nodes, and renews the node's lease
//     there every RenewEvery — only while every change committed before the
//     previous renewal has arrived, so a node whose feed is silently lost
//     stops renewing;
//   - Current is true only until LeaseFor after the last renewal was sent,
//     measured on this node's monotonic clock from before the database
//     stamped the lease, so the node's own view ends first;
//   - Settle (run by the store after every commit that changed
//     configuration) waits until every node with an unexpired lease has
//     acknowledged the latest change number.
//
// A writer therefore returns only when every node either applied its change
// or can no longer answer from its cache.
type Cluster struct {
	cfg *pgx.ConnConfig
	db  *sql.DB
	id  string

	// LeaseFor and RenewEvery are the lease length and renewal period; set
	// them before Follow runs. Zero means the defaults.
	LeaseFor, RenewEvery time.Duration

	start time.Time    // monotonic origin of validUntil
	valid atomic.Int64 // ns since start until which the node may answer from cache
	conn  atomic.Pointer[pgconn.PgConn]
	// followed is true while Follow runs.
	followed atomic.Bool
}

var _ store.Cluster = (*Cluster)(nil)

func newCluster(cfg *pgx.ConnConfig, db *sql.DB) *Cluster {
	var b [8]byte
	_, _ = rand.Read(b[:])
	lc := cfg.Copy()
	// The listening connection waits with a deadline; a deadline must not
	// send the server a cancel request (a new connection each time) nor
	// close the connection.
	lc.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	return &Cluster{cfg: lc, db: db, id: hex.EncodeToString(b[:]), start: time.Now()}
}

// ID is the node's name in catalog_nodes, random per process.
func (c *Cluster) ID() string { return c.id }

func (c *Cluster) leaseFor() time.Duration {
	if c.LeaseFor > 0 {
		return c.LeaseFor
	}
	return DefaultLeaseFor
}

func (c *Cluster) renewEvery() time.Duration {
	if c.RenewEvery > 0 {
		return c.RenewEvery
	}
	return DefaultRenewEvery
}

// Current reports whether the node holds a valid lease with every change
// it was sent applied.
func (c *Cluster) Current() bool {
	return int64(time.Since(c.start)) < c.valid.Load()
}

// ListenerPID is the backend process ID of the node's listening connection
// (0 when none), so a test can cut it with pg_terminate_backend.
func (c *Cluster) ListenerPID() uint32 {
	if p := c.conn.Load(); p != nil {
		return p.PID()
	}
	return 0
}

// Follow listens for changes until ctx ends, reconnecting after a loss.
// While it is not connected, Current is false. On return the node's lease
// is given up, so writers stop waiting for it.
//
// One caller follows a Cluster at a time: acknowledgements are the node's,
// so a second follower's could vouch for a cache the first has not yet
// cleared. A second call returns an error at once.
func (c *Cluster) Follow(ctx context.Context, apply func(tenantID string), warn func(error)) error {
	if !c.followed.CompareAndSwap(false, true) {
		return errors.New("postgres: this store handle's change feed is already followed (one catalog per store handle)")
	}
	defer c.followed.Store(false)
	defer func() {
		c.valid.Store(0)
		c.leave(ctx)
	}()
	backoff := 50 * time.Millisecond
	for {
		began := time.Now()
		err := c.follow(ctx, apply)
		c.valid.Store(0)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// No longer Current, the node gives up its lease, so writers stop
		// waiting for it at once (if the database answers) rather than when
		// the lease lapses; it checks revisions per request meanwhile.
		c.leave(ctx)
		if warn != nil {
			warn(err)
		}
		if time.Since(began) > 10*time.Second {
			backoff = 50 * time.Millisecond
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// leave deletes the node's lease; Current must already be false.
func (c *Cluster) leave(ctx context.Context) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_, _ = c.db.ExecContext(lctx, `DELETE FROM catalog_nodes WHERE id = $1`, c.id)
}

// follow is one connection's life: listen, catch up, then apply
// notifications and renew the lease until something fails.
func (c *Cluster) follow(ctx context.Context, apply func(string)) error {
	conn, err := pgx.ConnectConfig(ctx, c.cfg)
	if err != nil {
		return fmt.Errorf("connect the change feed: %w", err)
	}
	defer func() {
		c.conn.Store(nil)
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	var channel string
	if err := conn.QueryRow(ctx, `SELECT 'intelliauth_catalog_' || md5(current_schema())`).Scan(&channel); err != nil {
		return fmt.Errorf("name the change channel: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen for changes: %w", err)
	}
	c.conn.Store(conn.PgConn())
	// Changes committed before LISTEN took effect were not sent to us:
	// everything cached may be stale.
	var applied int64
	if err := c.db.QueryRowContext(ctx, `SELECT n FROM catalog_clock WHERE id = 1`).Scan(&applied); err != nil {
		return fmt.Errorf("read the change clock: %w", err)
	}
	apply("")
	seen, err := c.renew(ctx, applied)
	if err != nil {
		return err
	}
	next := time.Now().Add(c.renewEvery())
	for {
		wctx, cancel := context.WithDeadline(ctx, next)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err) {
			return fmt.Errorf("the change feed was lost: %w", err)
		}
		if err != nil || time.Now().After(next) {
			// Every change committed before the last renewal read the
			// clock has had a renewal period to arrive; if one has not,
			// the feed is presumed lost and the lease is not renewed.
			if applied < seen {
				return fmt.Errorf("change %d was committed but not received within %s: the change feed is presumed lost", seen, c.renewEvery())
			}
			if seen, err = c.renew(ctx, applied); err != nil {
				return err
			}
			next = time.Now().Add(c.renewEvery())
			if n == nil {
				continue
			}
		}
		tenant, num, ok := parseChange(n.Payload)
		if !ok {
			return fmt.Errorf("unreadable change notification %q", n.Payload)
		}
		if num <= applied {
			continue
		}
		apply(tenant)
		applied = num
		if _, err := c.db.ExecContext(ctx, `UPDATE catalog_nodes SET acked = GREATEST(acked, $2) WHERE id = $1`, c.id, applied); err != nil {
			return fmt.Errorf("acknowledge change %d: %w", applied, err)
		}
	}
}

// renew records the node's acknowledged change and, when it has applied
// every change committed so far, extends its lease: Current then becomes
// true until LeaseFor after the renewal was sent (the database stamps the
// expiry later than that, so the node's own view of its lease ends first).
// It returns the change clock as of the renewal.
//
// The clock row is read FOR SHARE, which waits for a configuration change
// being committed and keeps the next one from committing until the lease is
// written: a change committed before the read is one the node has applied
// (or the lease is not extended), and a change committed after it finds the
// lease in place and waits for this node. A node joining, or one whose
// lease had lapsed, thus never becomes Current with a change in flight.
func (c *Cluster) renew(ctx context.Context, applied int64) (int64, error) {
	sent := time.Since(c.start)
	lease := c.leaseFor()
	var clock int64
	err := runTx(ctx, c.db, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT n FROM catalog_clock WHERE id = 1 FOR SHARE`).Scan(&clock); err != nil {
			return err
		}
		secs := lease.Seconds()
		if applied < clock {
			secs = 0 // acknowledge, but do not extend a lease the node may not use
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO catalog_nodes (id, acked, expires_at)
			VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3))
			ON CONFLICT (id) DO UPDATE SET acked = GREATEST(catalog_nodes.acked, EXCLUDED.acked),
				expires_at = CASE WHEN $3 > 0 THEN EXCLUDED.expires_at ELSE catalog_nodes.expires_at END`,
			c.id, applied, secs)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("renew the node's lease: %w", err)
	}
	if applied >= clock {
		c.valid.Store(int64(sent + lease))
	}
	return clock, nil
}

// runTx runs fn in a transaction on db and commits it.
func runTx(ctx context.Context, db *sql.DB, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Settle waits until every node with an unexpired lease has acknowledged
// the change clock as read after the caller's commit. A node that does not
// acknowledge stops renewing within one renewal period, so the wait ends
// within LeaseFor + RenewEvery; it is cut off at twice that.
//
// When the database stops answering Settle's own queries, the change is
// committed all the same, and no node can have renewed a lease past it
// without having applied it (renewals read the clock FOR SHARE, which
// waits for the commit): every lease taken before the commit ends within
// LeaseFor of it, and each node's own view of its lease ends first. Settle
// then waits that out and returns nil — the write did what it says — rather
// than making a saved change look failed (a created client's secret would
// be lost with the response). Only ctx ending, or nodes still holding a
// lease without acknowledging after the cut-off, is an error.
func (c *Cluster) Settle(ctx context.Context) error {
	began := time.Now()
	var target int64
	if err := c.db.QueryRowContext(ctx, `SELECT n FROM catalog_clock WHERE id = 1`).Scan(&target); err != nil {
		return c.outlastLeases(ctx, began, fmt.Errorf("read the change clock: %w", err))
	}
	limit := 2 * (c.leaseFor() + c.renewEvery())
	deadline := began.Add(limit)
	pause := 500 * time.Microsecond
	for {
		var waiting int
		if err := c.db.QueryRowContext(ctx, `SELECT count(*) FROM catalog_nodes
			WHERE acked < $1 AND expires_at > clock_timestamp()`, target).Scan(&waiting); err != nil {
			return c.outlastLeases(ctx, began, fmt.Errorf("read the nodes' acknowledgements: %w", err))
		}
		if waiting == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d node(s) neither acknowledged change %d nor let their lease lapse within %s; check the nodes' database connections", waiting, target, limit)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, 20*time.Millisecond)
	}
}

// outlastLeases is Settle when the database no longer answers it: it waits
// until every lease taken before the commit (which ended before began) has
// lapsed — LeaseFor, plus a renewal period of margin — and returns nil, or
// err when ctx ends first (or was the failure).
func (c *Cluster) outlastLeases(ctx context.Context, began time.Time, err error) error {
	if ctx.Err() != nil {
		return err
	}
	t := time.NewTimer(time.Until(began.Add(c.leaseFor() + c.renewEvery())))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return err
	case <-t.C:
		return nil
	}
}

// parseChange reads a notification payload, "<tenant id> <change number>".
func parseChange(payload string) (string, int64, bool) {
	i := strings.LastIndexByte(payload, ' ')
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.ParseInt(payload[i+1:], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return payload[:i], n, true
}
