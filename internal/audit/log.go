package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// ErrClosed is returned by Record once Close has been called.
var ErrClosed = errors.New("audit: log closed")

// Default option values.
const (
	DefaultMaxBatch = 256
	// DefaultQueueSize allows a few batches to wait behind the one being
	// committed before Record applies backpressure.
	DefaultQueueSize = 16 * DefaultMaxBatch
)

// Options tune a Log. The zero value is usable.
type Options struct {
	// MaxBatch caps the events of one Append (one transaction). 0 means
	// DefaultMaxBatch.
	MaxBatch int
	// QueueSize caps the events recorded but not yet committed; beyond it
	// Record waits for room (or for its ctx). 0 means 16 × MaxBatch.
	QueueSize int
	// Now is the clock that stamps events recorded without a Time. nil
	// means time.Now.
	Now func() time.Time
}

// Log is the append-only audit log with group commit.
//
// Record blocks its caller until the event is durably committed, but the
// callers do not each pay for a commit: one writer goroutine takes every
// event queued while the previous Append ran (up to MaxBatch) and stores them
// with one Append — one transaction, one fsync — then wakes all their callers
// at once. Under load a batch fills while the previous one commits, so the
// commit cost is shared by up to MaxBatch requests; idle, a lone event is
// written at once, with no timer adding latency.
//
//	Record ─▶ open batch ─(writer takes it)─▶ repo.Append ─▶ close(done) ─▶ every Record of the batch returns
//
// A Log is safe for concurrent use. Close must be called to stop its writer
// goroutine.
type Log struct {
	repo     store.Audit
	logger   *slog.Logger
	maxBatch int
	now      func() time.Time

	// slots holds one token per event recorded and not yet committed,
	// bounding memory when the database falls behind.
	slots chan struct{}
	// wake (capacity 1) tells the writer there is work or that Close was
	// called; a pending token is never lost, so no signal is missed.
	wake chan struct{}
	// ctx is passed to Append. It is not any caller's ctx, because a batch
	// serves many callers; Close cancels it only when it gives up waiting.
	ctx    context.Context
	cancel context.CancelFunc
	exited chan struct{}

	mu     sync.Mutex
	open   *batch   // accepting events; nil when there is none
	full   []*batch // reached MaxBatch, waiting for the writer in order
	closed bool
	ids    monotonic
	// spare holds event slices of committed batches for reuse, so the
	// steady state allocates no event storage.
	spare [][]model.AuditEvent

	// metrics, when set (SetMetrics), is told of every group commit.
	metrics atomic.Pointer[Metrics]
}

// Metrics is what the group commit reports to the server's metrics. Its
// method runs on the writer goroutine after every Append, so it must be
// cheap and safe for concurrent use.
type Metrics interface {
	// AuditCommitted reports one group commit: how many events its one
	// Append stored (or failed to), how long the Append took, and its
	// error (nil on success).
	AuditCommitted(events int, took time.Duration, err error)
}

// SetMetrics makes the Log report its group commits to m (nil stops it).
// It may be called while the Log is in use: the composition root creates
// the Log before the server whose metrics it reports to.
func (l *Log) SetMetrics(m Metrics) {
	if m == nil {
		l.metrics.Store(nil)
		return
	}
	l.metrics.Store(&m)
}

// batch is one Append's worth of events. done is closed after Append
// returned, with err set before; every Record of the batch waits on done, so
// one close wakes them all.
type batch struct {
	events []model.AuditEvent
	done   chan struct{}
	err    error
}

// New returns a Log writing to repo and starts its writer goroutine. logger
// receives Append failures (nil discards them).
//
// repo.Append must not keep the slice it is given after returning: the Log
// reuses it for later batches.
func New(repo store.Audit, logger *slog.Logger, opts Options) *Log {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 16 * opts.MaxBatch
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Log{
		repo:     repo,
		logger:   logger,
		maxBatch: opts.MaxBatch,
		now:      opts.Now,
		slots:    make(chan struct{}, opts.QueueSize),
		wake:     make(chan struct{}, 1),
		ctx:      ctx,
		cancel:   cancel,
		exited:   make(chan struct{}),
	}
	go l.run()
	return l
}

// Record appends ev to the log and returns once the batch holding it is
// durably committed, with nil, or with the error of that batch's Append —
// then nothing of the batch was stored, and the caller must not acknowledge
// what the event records (the token endpoint refuses to issue the token).
//
// Record fills ev.ID (NewID-style, increasing within the Log) when empty and
// ev.Time (from Options.Now) when zero; Time is stored in UTC. An event
// without TenantID or Type, or whose Details is not valid JSON, is refused
// with an error wrapping model.ErrInvalid before it can spoil the batch it
// would share with other requests.
//
// If ctx ends first, Record returns ctx's error without waiting, but an
// event already queued is still written: the outcome is then unknown to the
// caller, who must treat it as a failure. If ctx has ended before Record is
// called, the event is not queued. The caller must not modify ev.Scopes or
// ev.Details until Record returns nil or an Append error.
//
// After Close has been called Record returns ErrClosed.
func (l *Log) Record(ctx context.Context, ev model.AuditEvent) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validate(&ev); err != nil {
		return err
	}
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-l.exited:
		return ErrClosed
	}

	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.slots
		return ErrClosed
	}
	if ev.Time.IsZero() {
		ev.Time = l.now()
	}
	ev.Time = ev.Time.UTC()
	if ev.ID == "" {
		// Under the lock, so IDs increase in batch order.
		ev.ID = l.ids.next(ev.Time)
	}
	b := l.open
	if b == nil {
		b = l.newBatchLocked()
		l.open = b
	}
	b.events = append(b.events, ev)
	if len(b.events) >= l.maxBatch {
		l.full = append(l.full, b)
		l.open = nil
	}
	l.mu.Unlock()
	l.signal()

	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		// Prefer the batch's result if both are ready.
		select {
		case <-b.done:
			return b.err
		default:
			return ctx.Err()
		}
	}
}

// Stamp prepares ev for an Append the caller runs inside its own
// transaction, to commit the event together with what it records (a grant
// redemption and its oauth.token_issued): it refuses ev as Record would
// (model.ErrInvalid), fills Time (from Options.Now) when zero, stores it in
// UTC, and fills ID when empty from the same increasing sequence Record
// uses, so events written either way sort together in the order they were
// made. Stamp writes nothing; the caller's transaction does, and a rolled
// back event only leaves a gap in the sequence.
func (l *Log) Stamp(ev *model.AuditEvent) error {
	if err := validate(ev); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if ev.Time.IsZero() {
		ev.Time = l.now()
	}
	ev.Time = ev.Time.UTC()
	if ev.ID == "" {
		ev.ID = l.ids.next(ev.Time)
	}
	return nil
}

func validate(ev *model.AuditEvent) error {
	switch {
	case ev.TenantID == "":
		return fmt.Errorf("audit: %w: event %q without tenant ID", model.ErrInvalid, ev.Type)
	case ev.Type == "":
		return fmt.Errorf("audit: %w: event without type", model.ErrInvalid)
	case len(ev.Details) > 0 && !json.Valid(ev.Details):
		return fmt.Errorf("audit: %w: event %q: details are not valid JSON", model.ErrInvalid, ev.Type)
	}
	return nil
}

func (l *Log) newBatchLocked() *batch {
	b := &batch{done: make(chan struct{})}
	if n := len(l.spare); n > 0 {
		b.events = l.spare[n-1]
		l.spare[n-1] = nil
		l.spare = l.spare[:n-1]
	}
	return b
}

func (l *Log) signal() {
	select {
	case l.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// Close stops accepting events (Record then returns ErrClosed), commits
// everything already recorded, and waits for the writer to finish. It is
// idempotent.
//
// If ctx ends first, Close cancels the Append in progress and fails every
// batch not yet committed (their Records return an error), returns ctx's
// error, and lets the writer exit as soon as Append returns.
func (l *Log) Close(ctx context.Context) error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.signal()
	select {
	case <-l.exited:
		return nil
	case <-ctx.Done():
		l.cancel()
		return ctx.Err()
	}
}

// run is the writer goroutine.
func (l *Log) run() {
	defer close(l.exited)
	defer l.cancel()
	for {
		b, closed := l.take()
		if b != nil {
			l.commit(b)
			continue
		}
		if closed {
			return
		}
		<-l.wake
	}
}

// take returns the oldest batch waiting — a full one, else the open one,
// whatever it holds by now — and whether the Log is closed.
func (l *Log) take() (*batch, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.full) > 0 {
		b := l.full[0]
		l.full[0] = nil
		l.full = l.full[1:]
		return b, l.closed
	}
	if b := l.open; b != nil {
		l.open = nil
		return b, l.closed
	}
	return nil, l.closed
}

func (l *Log) commit(b *batch) {
	n := len(b.events)
	var err error
	if cerr := l.ctx.Err(); cerr != nil {
		// Close gave up: fail fast rather than start a transaction.
		err = fmt.Errorf("log closed before the batch was written: %w", cerr)
	} else {
		start := time.Now()
		err = l.repo.Append(l.ctx, b.events)
		if m := l.metrics.Load(); m != nil {
			(*m).AuditCommitted(n, time.Since(start), err)
		}
	}
	if err != nil {
		l.logger.LogAttrs(l.ctx, slog.LevelError, "audit append failed; the requests of this batch fail",
			slog.Int("events", n), slog.Any("err", err))
		b.err = fmt.Errorf("audit: append %d events: %w", n, err)
	}
	close(b.done)
	for range n {
		<-l.slots
	}

	// Nobody reads b.events any more: waiters read only err. Clear the
	// events so the spare slice does not keep their details alive.
	events := b.events
	b.events = nil
	clear(events)
	l.mu.Lock()
	if len(l.spare) < 4 {
		l.spare = append(l.spare, events[:0])
	}
	l.mu.Unlock()
}
