package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

type audit struct{ repos }

const auditCols = `tenant_id, id, type, time, actor_type, actor_id, client_id, subject, audience, scopes, details`

// How a batch of rows is inserted depends on Dialect.MultiRowInsert: SQLite
// runs one prepared single-row statement per row (modernc resolves $N
// parameter names by a linear scan, so a wide multi-row statement costs the
// square of its parameter count — ~1.6× slower in BenchmarkAuditAppend);
// PostgreSQL sends multi-row statements, one round trip per 32 events.
const (
	auditEventsPerInsert = 32 // × 11 parameters
	auditScopesPerInsert = 96 // × 6 parameters
)

// auditScopeCols are the columns of a scope row: the scope, and what the
// scope-usage report needs of its event (0003_audit_scope_usage).
const auditScopeCols = `tenant_id, scope, time, event_id, type, client_id`

// Append stores every event, and a row per (event, scope) for the Scope
// filter and the scope-usage report, in one transaction: all or nothing. An event without ID or tenant
// is refused (model.ErrInvalid) before anything is written; an ID taken in
// the tenant fails the batch with ErrConflict.
func (r audit) Append(ctx context.Context, events []model.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	eventArgs := make([]any, 0, len(events)*11)
	var scopeArgs []any
	for _, e := range events {
		if e.ID == "" || e.TenantID == "" {
			return fmt.Errorf("sqlstore: append audit event %q of tenant %q: %w: ID and tenant are required", e.ID, e.TenantID, model.ErrInvalid)
		}
		sc := dedupe(e.Scopes)
		list, err := encodeList(sc)
		if err != nil {
			return err
		}
		var details sql.NullString
		if len(e.Details) > 0 {
			details = sql.NullString{String: string(e.Details), Valid: true}
		}
		eventArgs = append(eventArgs, e.TenantID, e.ID, e.Type, micros(e.Time), e.ActorType, e.ActorID,
			e.ClientID, e.Subject, e.Audience, list, details)
		for _, s := range sc {
			scopeArgs = append(scopeArgs, e.TenantID, s, micros(e.Time), e.ID, e.Type, e.ClientID)
		}
	}
	err := r.write(ctx, func(q querier) error {
		if err := r.insert(ctx, q, `INSERT INTO audit_events (`+auditCols+`) VALUES `, 11, auditEventsPerInsert, eventArgs); err != nil {
			return r.onInsert(err)
		}
		if err := r.insert(ctx, q, `INSERT INTO audit_event_scopes (`+auditScopeCols+`) VALUES `, 6, auditScopesPerInsert, scopeArgs); err != nil {
			return r.onInsert(err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: append %d audit events: %w", len(events), err)
	}
	return nil
}

// insert writes rows of width columns each, the way the dialect does it best.
func (r audit) insert(ctx context.Context, q querier, prefix string, width, perStmt int, args []any) error {
	if r.db.dialect.MultiRowInsert {
		return insertRows(ctx, q, prefix, width, perStmt, args)
	}
	return execEach(ctx, q, prefix+tuple(0, width), width, args)
}

// tuple returns "($first+1, …, $first+width)".
func tuple(first, width int) string {
	var b strings.Builder
	b.WriteByte('(')
	for j := range width {
		if j > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(first + j + 1))
	}
	b.WriteByte(')')
	return b.String()
}

// insertRows runs prefix followed by as many "($1, …)" tuples of width
// columns as args holds, at most perStmt tuples per statement.
func insertRows(ctx context.Context, q querier, prefix string, width, perStmt int, args []any) error {
	for len(args) > 0 {
		n := min(len(args)/width, perStmt)
		var b strings.Builder
		b.WriteString(prefix)
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tuple(i*width, width))
		}
		if _, err := q.ExecContext(ctx, b.String(), args[:n*width]...); err != nil {
			return err
		}
		args = args[n*width:]
	}
	return nil
}

// execEach prepares query once and runs it for each group of width args.
func execEach(ctx context.Context, q querier, query string, width int, args []any) error {
	if len(args) == 0 {
		return nil
	}
	p, ok := q.(interface {
		PrepareContext(context.Context, string) (*sql.Stmt, error)
	})
	if !ok {
		return fmt.Errorf("sqlstore: %T cannot prepare statements", q)
	}
	stmt, err := p.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for ; len(args) > 0; args = args[width:] {
		if _, err := stmt.ExecContext(ctx, args[:width]...); err != nil {
			return err
		}
	}
	return nil
}

// Audit search limits.
const (
	defaultAuditLimit = 50
	maxAuditLimit     = 1000
)

// Search returns the tenant's matching events newest first (by ID, which is
// time-sortable). TenantID is required: there is no search across tenants.
// Scope matches one scope name exactly. Limit 0 is 50; above 1000 it is
// capped.
func (r audit) Search(ctx context.Context, aq store.AuditQuery) ([]model.AuditEvent, error) {
	if aq.TenantID == "" {
		return nil, fmt.Errorf("sqlstore: audit search: %w: a tenant ID is required", model.ErrInvalid)
	}
	var c conds
	c.add("e.tenant_id = $%d", aq.TenantID)
	if aq.Type != "" {
		c.add("e.type = $%d", aq.Type)
	}
	if aq.ClientID != "" {
		c.add("e.client_id = $%d", aq.ClientID)
	}
	if aq.Subject != "" {
		c.add("e.subject = $%d", aq.Subject)
	}
	if aq.Scope != "" {
		// The whole primary key of the scope row: one lookup per event.
		c.add(`EXISTS (SELECT 1 FROM audit_event_scopes s
			WHERE s.tenant_id = e.tenant_id AND s.scope = $%d AND s.time = e.time AND s.event_id = e.id)`, aq.Scope)
	}
	if !aq.Since.IsZero() {
		c.add("e.time >= $%d", micros(aq.Since))
	}
	if !aq.Until.IsZero() {
		c.add("e.time < $%d", micros(aq.Until))
	}
	if aq.Before != "" {
		c.add("e.id < $%d", aq.Before)
	}
	if aq.ExcludeTokensOf != "" {
		// In the query, not after it: a page still holds Limit events and
		// its cursor stays right.
		c.add("NOT (e.client_id = $%d AND e.type IN ('"+model.EventTokenIssued+"', '"+model.EventTokenRefused+"'))", aq.ExcludeTokensOf)
	}
	limit := aq.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	limit = min(limit, maxAuditLimit)
	query := `SELECT e.tenant_id, e.id, e.type, e.time, e.actor_type, e.actor_id, e.client_id, e.subject, e.audience, e.scopes, e.details
		FROM audit_events e` + c.where() + ` ORDER BY e.id DESC LIMIT ` + c.next(limit)
	rows, err := r.read().QueryContext(ctx, query, c.args...)
	out, err := collect(rows, err, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: audit search of %s: %w", aq.TenantID, err)
	}
	return out, nil
}

func scanEvent(s scanner) (model.AuditEvent, error) {
	var (
		e       model.AuditEvent
		t       int64
		scopes  string
		details sql.NullString
	)
	if err := s.Scan(&e.TenantID, &e.ID, &e.Type, &t, &e.ActorType, &e.ActorID, &e.ClientID, &e.Subject, &e.Audience,
		&scopes, &details); err != nil {
		return model.AuditEvent{}, err
	}
	var err error
	if e.Scopes, err = decodeList(scopes); err != nil {
		return model.AuditEvent{}, err
	}
	e.Time = fromMicros(t)
	if details.Valid && details.String != "" {
		e.Details = json.RawMessage(details.String)
	}
	return e, nil
}

// ScopeUsage counts, per (client, scope), the token_issued events since
// since that granted the scope, reading only audit_event_scopes down its
// primary key (tenant, scope, time, event_id): first the tenant's distinct
// scope names, one seek each (a recursive "loose index scan", which neither
// database does on its own), then each name's window, a range of the key.
// The cost is the number of distinct names plus the rows in the window,
// however long the log before it.
//
// One query joining the names to their ranges would read the same rows, but
// PostgreSQL's planner cannot see how few names the recursive part yields
// and chooses a sequential scan of the whole table: 640 ms for 6M scope
// rows with a 1% window, against ~3 ms per name for the ranges below.
func (r audit) ScopeUsage(ctx context.Context, tenantID string, since time.Time) ([]store.ScopeUsage, error) {
	if tenantID == "" {
		return nil, fmt.Errorf("sqlstore: scope usage: %w: a tenant ID is required", model.ErrInvalid)
	}
	q := r.read()
	names, err := scopeNames(ctx, q, tenantID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: scope usage of %s: scope names: %w", tenantID, err)
	}
	var out []store.ScopeUsage
	for _, name := range names {
		rows, err := q.QueryContext(ctx, `SELECT client_id, COUNT(*), MAX(time) FROM audit_event_scopes
			WHERE tenant_id = $1 AND scope = $2 AND time >= $3 AND type = $4
			GROUP BY client_id`, tenantID, name, micros(since), model.EventTokenIssued)
		got, err := collect(rows, err, func(s scanner) (store.ScopeUsage, error) {
			u := store.ScopeUsage{Scope: name}
			var last int64
			if err := s.Scan(&u.ClientID, &u.Grants, &last); err != nil {
				return u, err
			}
			u.Last = fromMicros(last)
			return u, nil
		})
		if err != nil {
			return nil, fmt.Errorf("sqlstore: scope usage of %s/%s: %w", tenantID, name, err)
		}
		out = append(out, got...)
	}
	// Byte-wise, as both databases order these columns (COLLATE "C").
	slices.SortFunc(out, func(a, b store.ScopeUsage) int {
		return cmp.Or(strings.Compare(a.ClientID, b.ClientID), strings.Compare(a.Scope, b.Scope))
	})
	return out, nil
}

// scopeNames returns the distinct scope names of the tenant's
// audit_event_scopes, one seek each (see ScopeUsage).
func scopeNames(ctx context.Context, q querier, tenantID string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `WITH RECURSIVE names (scope) AS (
			SELECT MIN(scope) FROM audit_event_scopes WHERE tenant_id = $1
			UNION ALL
			SELECT (SELECT MIN(s.scope) FROM audit_event_scopes s WHERE s.tenant_id = $1 AND s.scope > names.scope)
			FROM names WHERE names.scope IS NOT NULL
		)
		SELECT scope FROM names WHERE scope IS NOT NULL`, tenantID)
	return collect(rows, err, func(s scanner) (n string, err error) { return n, s.Scan(&n) })
}

// microsPerDay is one UTC day in the unit of the time columns, as SQL.
const microsPerDay = "86400000000"

// dayMicros is microsPerDay as a number.
const dayMicros = int64(24 * time.Hour / time.Microsecond)

// ScopeUsageByDay reads what ScopeUsage reads (each scope name's window, a
// range of audit_event_scopes' key), grouped by client and UTC day: the
// integer division of the stored microseconds since the Unix epoch by a
// day's, which both dialects compute exactly on 64-bit integers.
func (r audit) ScopeUsageByDay(ctx context.Context, tenantID string, since time.Time) ([]store.DailyScopeUsage, error) {
	if tenantID == "" {
		return nil, fmt.Errorf("sqlstore: scope usage by day: %w: a tenant ID is required", model.ErrInvalid)
	}
	q := r.read()
	names, err := scopeNames(ctx, q, tenantID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: scope usage by day of %s: scope names: %w", tenantID, err)
	}
	var out []store.DailyScopeUsage
	for _, name := range names {
		rows, err := q.QueryContext(ctx, `SELECT client_id, time / `+microsPerDay+`, COUNT(*) FROM audit_event_scopes
			WHERE tenant_id = $1 AND scope = $2 AND time >= $3 AND type = $4
			GROUP BY client_id, time / `+microsPerDay, tenantID, name, micros(since), model.EventTokenIssued)
		got, err := collect(rows, err, func(s scanner) (store.DailyScopeUsage, error) {
			u := store.DailyScopeUsage{Scope: name}
			var day int64
			if err := s.Scan(&u.ClientID, &day, &u.Grants); err != nil {
				return u, err
			}
			u.Day = time.UnixMicro(day * dayMicros).UTC()
			return u, nil
		})
		if err != nil {
			return nil, fmt.Errorf("sqlstore: scope usage by day of %s/%s: %w", tenantID, name, err)
		}
		out = append(out, got...)
	}
	slices.SortFunc(out, func(a, b store.DailyScopeUsage) int {
		return cmp.Or(strings.Compare(a.ClientID, b.ClientID), strings.Compare(a.Scope, b.Scope), a.Day.Compare(b.Day))
	})
	return out, nil
}

// CountGrants counts the token_issued events since since that granted
// scope: one range of audit_event_scopes' primary key.
func (r audit) CountGrants(ctx context.Context, tenantID, scope string, since time.Time) (int, error) {
	if tenantID == "" {
		return 0, fmt.Errorf("sqlstore: count grants: %w: a tenant ID is required", model.ErrInvalid)
	}
	var n int
	err := r.read().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_event_scopes
		WHERE tenant_id = $1 AND scope = $2 AND time >= $3 AND type = $4`,
		tenantID, scope, micros(since), model.EventTokenIssued).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: count grants of %s/%s: %w", tenantID, scope, err)
	}
	return n, nil
}
