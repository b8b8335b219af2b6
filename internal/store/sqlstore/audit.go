package sqlstore

import (
	"bytes"
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

// The compact audit log of migration 0010 (docs/audit.md): every string an
// event repeats is interned in audit_names, details are compressed, one
// integer row per (event, scope) serves the Scope filter, and
// audit_scope_days counts the grants per tenant, scope, UTC day and client.
const (
	auditCols      = `tenant, id, time, type, actor_type, actor, client, subject, audience, scopes, details`
	auditScopeCols = `tenant, scope, time, id, type, client`
)

// How a batch of rows is inserted depends on Dialect.MultiRowInsert: SQLite
// runs one prepared single-row statement per row (modernc resolves $N
// parameter names by a linear scan, so a wide multi-row statement costs the
// square of its parameter count — ~1.6× slower in BenchmarkAuditAppend);
// PostgreSQL sends multi-row statements, one round trip per 32 events.
const (
	auditEventsPerInsert = 32 // × 11 parameters
	auditScopesPerInsert = 96 // × 6 parameters
)

// dayKey is one counter of audit_scope_days or audit_scope_hours.
type dayKey struct{ tenant, scope, day, client int64 }

// Append stores every event, a row per (event, scope) for the Scope filter,
// and adds the oauth.token_issued events to their daily scope counters, in
// one transaction: all or nothing. An event without ID or tenant is refused
// (model.ErrInvalid) before anything is written; an ID taken in the tenant
// fails the batch with ErrConflict.
func (r audit) Append(ctx context.Context, events []model.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	want := map[string]int64{}
	scopeLists := make([][]string, len(events))
	for i, e := range events {
		if e.ID == "" || e.TenantID == "" {
			return fmt.Errorf("sqlstore: append audit event %q of tenant %q: %w: ID and tenant are required", e.ID, e.TenantID, model.ErrInvalid)
		}
		for _, s := range []string{e.TenantID, e.Type, e.ActorType, e.ActorID, e.ClientID, e.Subject, e.Audience} {
			want[s] = 0
		}
		scopeLists[i] = dedupe(e.Scopes)
		for _, s := range scopeLists[i] {
			want[s] = 0
		}
	}
	var created map[string]int64
	err := r.write(ctx, func(q querier) error {
		var err error
		if created, err = r.intern(ctx, q, want); err != nil {
			return err
		}
		eventArgs := make([]any, 0, len(events)*11)
		var scopeArgs []any
		days, hours := map[dayKey][2]int64{}, map[dayKey][2]int64{}
		var list []byte
		for i, e := range events {
			tenant, typ, client, t := want[e.TenantID], want[e.Type], want[e.ClientID], micros(e.Time)
			key := eventKey(e.ID)
			list = list[:0]
			for j, s := range scopeLists[i] {
				if j > 0 {
					list = append(list, ',')
				}
				list = strconv.AppendInt(list, want[s], 10)
				scopeArgs = append(scopeArgs, tenant, want[s], t, key, typ, client)
				if typ == nameTokenIssued {
					count(days, dayKey{tenant, want[s], t - mod(t, dayMicros), client}, t)
					count(hours, dayKey{tenant, want[s], t - mod(t, hourMicros), client}, t)
				}
			}
			var details []byte
			if len(e.Details) > 0 {
				details = r.db.codec.compress(e.Details)
			}
			eventArgs = append(eventArgs, tenant, key, t, typ, want[e.ActorType], want[e.ActorID],
				client, want[e.Subject], want[e.Audience], string(list), details)
		}
		if err := r.insert(ctx, q, `INSERT INTO audit_log (`+auditCols+`) VALUES `, 11, auditEventsPerInsert, eventArgs); err != nil {
			return r.onInsert(err)
		}
		if err := r.insert(ctx, q, `INSERT INTO audit_log_scopes (`+auditScopeCols+`) VALUES `, 6, auditScopesPerInsert, scopeArgs); err != nil {
			return r.onInsert(err)
		}
		if err := r.addCounts(ctx, q, "audit_scope_days", "day", days); err != nil {
			return err
		}
		return r.addCounts(ctx, q, "audit_scope_hours", "hour", hours)
	})
	if err != nil {
		return fmt.Errorf("sqlstore: append %d audit events: %w", len(events), err)
	}
	if r.tx == nil && created != nil {
		r.db.names.add(created)
	}
	return nil
}

// count adds one grant at t to the counter k of m.
func count(m map[dayKey][2]int64, k dayKey, t int64) {
	d := m[k]
	if d[0] == 0 || t > d[1] {
		d[1] = t
	}
	d[0]++
	m[k] = d
}

// addCounts adds counts to audit_scope_days or audit_scope_hours (unit is
// its time column). The keys are distinct, as one PostgreSQL upsert
// statement requires.
func (r audit) addCounts(ctx context.Context, q querier, table, unit string, days map[dayKey][2]int64) error {
	if len(days) == 0 {
		return nil
	}
	keys := make([]dayKey, 0, len(days))
	for k := range days {
		keys = append(keys, k)
	}
	// A fixed order, so concurrent batches on PostgreSQL lock the counters
	// they share in the same order and never deadlock.
	slices.SortFunc(keys, func(a, b dayKey) int {
		return cmp.Or(cmp.Compare(a.tenant, b.tenant), cmp.Compare(a.scope, b.scope), cmp.Compare(a.day, b.day), cmp.Compare(a.client, b.client))
	})
	upsert := ` ON CONFLICT (tenant, scope, ` + unit + `, client) DO UPDATE SET grants = ` + table + `.grants + excluded.grants,
		last = CASE WHEN excluded.last > ` + table + `.last THEN excluded.last ELSE ` + table + `.last END`
	for len(keys) > 0 {
		n := min(len(keys), 64)
		var b strings.Builder
		b.WriteString(`INSERT INTO ` + table + ` (tenant, scope, ` + unit + `, client, grants, last) VALUES `)
		args := make([]any, 0, n*6)
		for i, k := range keys[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(tuple(i*6, 6))
			d := days[k]
			args = append(args, k.tenant, k.scope, k.day, k.client, d[0], d[1])
		}
		b.WriteString(upsert)
		if _, err := q.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("count scope grants: %w", err)
		}
		keys = keys[n:]
	}
	return nil
}

// mod is the remainder of a by m that is never negative.
func mod(a, m int64) int64 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
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

// auditSelect reads an audit_log row (as e) for scanRow.
const auditSelect = `SELECT e.id, e.time, e.type, e.actor_type, e.actor, e.client, e.subject, e.audience, e.scopes, e.details`

// Search returns the tenant's matching events newest first (by ID, which is
// time-sortable). TenantID is required: there is no search across tenants.
// Scope matches one scope name exactly. Limit 0 is 50; above 1000 it is
// capped.
//
// With a Scope, the events are found through audit_log_scopes, in the order
// of its key (scope, time, ID): a page holds the newest events by time, then
// ID. That is the ID order for every ID the audit package makes (a ULID of
// the event's own time); events whose caller-supplied IDs disagree with their
// times may fall on a neighbouring page.
func (r audit) Search(ctx context.Context, aq store.AuditQuery) ([]model.AuditEvent, error) {
	if aq.TenantID == "" {
		return nil, fmt.Errorf("sqlstore: audit search: %w: a tenant ID is required", model.ErrInvalid)
	}
	// Every filter that names something must name a string the log holds.
	filters := []string{aq.TenantID}
	for _, f := range []string{aq.Type, aq.ClientID, aq.Subject, aq.Scope} {
		if f != "" {
			filters = append(filters, f)
		}
	}
	ids, ok, err := r.nameIDs(ctx, filters...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: audit search of %s: %w", aq.TenantID, err)
	}
	if !ok {
		return nil, nil
	}
	ref := map[string]int64{}
	for i, f := range filters {
		ref[f] = ids[i]
	}
	// ExcludeTokensOf leaves one client's token events out in the query, not
	// after it: a page still holds Limit events and its cursor stays right.
	// A client or type never interned has no event to leave out.
	var exClient int64
	exTypes := []int64{nameTokenIssued}
	if aq.ExcludeTokensOf != "" {
		cid, ok, err := r.nameIDs(ctx, aq.ExcludeTokensOf)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: audit search of %s: %w", aq.TenantID, err)
		}
		if ok {
			exClient = cid[0]
			rid, ok, err := r.nameIDs(ctx, model.EventTokenRefused)
			if err != nil {
				return nil, fmt.Errorf("sqlstore: audit search of %s: %w", aq.TenantID, err)
			}
			if ok {
				exTypes = append(exTypes, rid[0])
			}
		}
	}
	limit := aq.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	limit = min(limit, maxAuditLimit)

	var c conds
	var query string
	exclude := func(alias string) {
		if exClient == 0 {
			return
		}
		client := c.next(exClient)
		in := make([]string, len(exTypes))
		for i, t := range exTypes {
			in[i] = c.next(t)
		}
		c.parts = append(c.parts, fmt.Sprintf("NOT (%s.client = %s AND %s.type IN (%s))", alias, client, alias, strings.Join(in, ", ")))
	}
	if aq.Scope != "" {
		c.add("s.tenant = $%d", ref[aq.TenantID])
		c.add("s.scope = $%d", ref[aq.Scope])
		if aq.Type != "" {
			c.add("s.type = $%d", ref[aq.Type])
		}
		if aq.ClientID != "" {
			c.add("s.client = $%d", ref[aq.ClientID])
		}
		if aq.Subject != "" {
			c.add("e.subject = $%d", ref[aq.Subject])
		}
		if !aq.Since.IsZero() {
			c.add("s.time >= $%d", micros(aq.Since))
		}
		if !aq.Until.IsZero() {
			c.add("s.time < $%d", micros(aq.Until))
		}
		if aq.Before != "" {
			c.add("s.id < $%d", eventKey(aq.Before))
		}
		exclude("s")
		query = auditSelect + ` FROM audit_log_scopes s JOIN audit_log e ON e.tenant = s.tenant AND e.id = s.id` +
			c.where() + ` ORDER BY s.time DESC, s.id DESC LIMIT ` + c.next(limit)
	} else {
		c.add("i.tenant = $%d", ref[aq.TenantID])
		if aq.Type != "" {
			if ref[aq.Type] == nameTokenIssued {
				c.add("i.type = $%d", ref[aq.Type])
			} else {
				// The literal lets SQLite use the partial index (type <> 1).
				c.add("i.type = $%d AND i.type <> 1", ref[aq.Type])
			}
		}
		if aq.ClientID != "" {
			c.add("i.client = $%d", ref[aq.ClientID])
		}
		if aq.Subject != "" {
			// The literal lets SQLite use the partial index (subject <> 2).
			c.add("i.subject = $%d AND i.subject <> 2", ref[aq.Subject])
		}
		if !aq.Since.IsZero() {
			c.add("i.time >= $%d", micros(aq.Since))
		}
		if !aq.Until.IsZero() {
			c.add("i.time < $%d", micros(aq.Until))
		}
		if aq.Before != "" {
			c.add("i.id < $%d", eventKey(aq.Before))
		}
		exclude("i")
		// The page's keys first, then their rows: an index of the filters
		// (client, subject, type) answers the inner query alone, which
		// SQLite's planner, seeing a WITHOUT ROWID table with no
		// statistics, does not choose when the query reads every column.
		if aq.Type == "" && aq.ClientID == "" && aq.Subject == "" {
			// No index to prefer: one scan down the primary key (the export).
			query = strings.ReplaceAll(auditSelect, "e.", "i.") + ` FROM audit_log i` + c.where() + ` ORDER BY i.id DESC LIMIT ` + c.next(limit)
		} else {
			query = auditSelect + ` FROM audit_log e WHERE e.tenant = $1 AND e.id IN (SELECT i.id FROM audit_log i` + c.where() +
				` ORDER BY i.id DESC LIMIT ` + c.next(limit) + `)`
		}
	}
	rows, err := r.read().QueryContext(ctx, query, c.args...)
	raw, err := collect(rows, err, scanRow)
	if err == nil {
		// Newest first by key (the Scope filter reads in time order).
		slices.SortFunc(raw, func(a, b row) int { return bytes.Compare(b.id, a.id) })
		var out []model.AuditEvent
		if out, err = r.events(ctx, aq.TenantID, raw); err == nil {
			return out, nil
		}
	}
	return nil, fmt.Errorf("sqlstore: audit search of %s: %w", aq.TenantID, err)
}

// row is an audit_log row before its names are looked up.
type row struct {
	id                                               []byte
	time                                             int64
	typ, actorType, actor, client, subject, audience int64
	scopes                                           string
	details                                          []byte
	eid                                              string // the event ID of id
}

func scanRow(s scanner) (row, error) {
	var w row
	err := s.Scan(&w.id, &w.time, &w.typ, &w.actorType, &w.actor, &w.client, &w.subject, &w.audience, &w.scopes, &w.details)
	return w, err
}

// events turns rows into events: one look-up of the names not cached, and
// the details decompressed.
func (r audit) events(ctx context.Context, tenantID string, rows []row) ([]model.AuditEvent, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	refs := map[int64]string{}
	lists := make([][]int64, len(rows))
	for i, w := range rows {
		rows[i].eid = eventID(w.id)
		for _, id := range []int64{w.typ, w.actorType, w.actor, w.client, w.subject, w.audience} {
			refs[id] = ""
		}
		if w.scopes == "" {
			continue
		}
		for _, f := range strings.Split(w.scopes, ",") {
			id, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("event %s: scope list %q: %w", rows[i].eid, w.scopes, err)
			}
			lists[i] = append(lists[i], id)
			refs[id] = ""
		}
	}
	if err := r.namesOf(ctx, refs); err != nil {
		return nil, err
	}
	out := make([]model.AuditEvent, len(rows))
	for i, w := range rows {
		e := model.AuditEvent{TenantID: tenantID, ID: w.eid, Time: fromMicros(w.time), Type: refs[w.typ],
			ActorType: refs[w.actorType], ActorID: refs[w.actor], ClientID: refs[w.client], Subject: refs[w.subject],
			Audience: refs[w.audience]}
		for _, id := range lists[i] {
			e.Scopes = append(e.Scopes, refs[id])
		}
		if len(w.details) > 0 {
			d, err := r.db.codec.decompress(w.details)
			if err != nil {
				return nil, fmt.Errorf("event %s: %w", w.eid, err)
			}
			e.Details = json.RawMessage(d)
		}
		out[i] = e
	}
	return out, nil
}

// dayMicros is one UTC day in the unit of the time columns.
const dayMicros = int64(24 * time.Hour / time.Microsecond)

// grantCount is a (scope, client, day) count of oauth.token_issued events
// and the time of the last one; day is 0 when the count spans days.
type grantCount struct {
	scope, client, day int64
	grants, last       int64
}

// grants counts the tenant's grants at or after since, per scope (only
// scope when not 0), client and, with byDay, UTC day.
//
// Whole days are read from audit_scope_days, the whole hours of since's day
// after since from audit_scope_hours — both outlive the raw events — and
// only the part of since's hour at or after since from audit_log_scopes (a
// range of its key per scope: at most an hour of rows, however long the
// log). If that hour's raw events were pruned, its whole counter is counted
// (partialHour).
func (r audit) grants(ctx context.Context, tenantID, scopeName string, since time.Time, byDay bool) ([]grantCount, error) {
	filters := []string{tenantID}
	if scopeName != "" {
		filters = append(filters, scopeName)
	}
	ids, ok, err := r.nameIDs(ctx, filters...)
	if err != nil || !ok {
		return nil, err
	}
	tenant := ids[0]
	q := r.read()
	from := micros(since)
	day0 := from - mod(from, dayMicros)
	whole := day0
	if from != day0 {
		whole = day0 + dayMicros
	}
	var c conds
	c.add("tenant = $%d", tenant)
	if scopeName != "" {
		c.add("scope = $%d", ids[1])
	}
	c.add("day >= $%d", day0)
	rows, err := q.QueryContext(ctx, `SELECT scope, client, day, grants, last FROM audit_scope_days`+c.where(), c.args...)
	days, err := collect(rows, err, func(s scanner) (g grantCount, err error) {
		return g, s.Scan(&g.scope, &g.client, &g.day, &g.grants, &g.last)
	})
	if err != nil {
		return nil, fmt.Errorf("read scope counters: %w", err)
	}
	var out []grantCount
	head := map[[2]int64]int64{} // (scope, client) → grants of day0 in the rollup
	for _, g := range days {
		if g.day < whole {
			head[[2]int64{g.scope, g.client}] = g.grants
			continue
		}
		out = append(out, g)
	}
	if from != day0 && len(head) > 0 {
		// since's day: whole hours from audit_scope_hours, the part of
		// since's hour from raw rows.
		hour0 := from - mod(from, hourMicros)
		firstWhole := hour0
		if from != hour0 {
			firstWhole = hour0 + hourMicros
		}
		// Only the scopes granted that day have hour counters in it.
		var scopes []int64
		seen := map[int64]bool{}
		for k := range head {
			if !seen[k[0]] {
				seen[k[0]] = true
				scopes = append(scopes, k[0])
			}
		}
		hours, err := r.hourCounts(ctx, tenant, scopes, firstWhole, whole)
		if err != nil {
			return nil, err
		}
		for _, g := range hours {
			g.day = day0
			out = append(out, g)
		}
		if from != hour0 {
			part, err := r.partialHour(ctx, tenant, scopes, hour0, from)
			if err != nil {
				return nil, err
			}
			for _, g := range part {
				g.day = day0
				out = append(out, g)
			}
		}
	} else {
		for _, g := range days {
			if g.day < whole {
				out = append(out, g)
			}
		}
	}
	if byDay {
		return out, nil
	}
	sum := map[[2]int64]grantCount{}
	for _, g := range out {
		k := [2]int64{g.scope, g.client}
		s := sum[k]
		s.scope, s.client = g.scope, g.client
		s.grants += g.grants
		s.last = max(s.last, g.last)
		sum[k] = s
	}
	out = out[:0]
	for _, g := range sum {
		out = append(out, g)
	}
	return out, nil
}

// hourMicros is one hour in the unit of the time columns.
const hourMicros = int64(time.Hour / time.Microsecond)

// hourCounts sums audit_scope_hours over [from, to) per scope and client,
// for each of scopes: one range of the key (tenant, scope, hour) each.
func (r audit) hourCounts(ctx context.Context, tenant int64, scopes []int64, from, to int64) ([]grantCount, error) {
	if from >= to {
		return nil, nil
	}
	var out []grantCount
	for _, sc := range scopes {
		rows, err := r.read().QueryContext(ctx, `SELECT client, SUM(grants), MAX(last) FROM audit_scope_hours
			WHERE tenant = $1 AND scope = $2 AND hour >= $3 AND hour < $4 GROUP BY client`, tenant, sc, from, to)
		got, err := collect(rows, err, func(s scanner) (g grantCount, err error) {
			g.scope = sc
			return g, s.Scan(&g.client, &g.grants, &g.last)
		})
		if err != nil {
			return nil, fmt.Errorf("read hourly scope counters: %w", err)
		}
		out = append(out, got...)
	}
	return out, nil
}

// partialHour counts the grants of [from, hour0 + 1h) from raw scope rows
// (at most an hour of them, one range per scope granted that hour). When
// the hour's raw rows were pruned (fewer than its counter says), the whole
// hour's counter is counted instead: the window then starts at hour0.
func (r audit) partialHour(ctx context.Context, tenant int64, scopes []int64, hour0, from int64) ([]grantCount, error) {
	counters, err := r.hourCounts(ctx, tenant, scopes, hour0, hour0+hourMicros)
	if err != nil || len(counters) == 0 {
		return nil, err
	}
	granted := map[int64]bool{}
	var rolled int64
	for _, g := range counters {
		granted[g.scope] = true
		rolled += g.grants
	}
	var raw []grantCount
	var rawHour int64
	for sc := range granted {
		rows, err := r.read().QueryContext(ctx, `SELECT client, COUNT(*), MAX(time), MIN(CASE WHEN time >= $5 THEN 1 ELSE 0 END)
			FROM audit_log_scopes WHERE tenant = $1 AND scope = $2 AND time >= $3 AND time < $4 AND type = $6
			GROUP BY client, time >= $5`, tenant, sc, hour0, hour0+hourMicros, from, nameTokenIssued)
		got, err := collect(rows, err, func(s scanner) (g grantCount, err error) {
			var inWindow int64
			g.scope = sc
			if err := s.Scan(&g.client, &g.grants, &g.last, &inWindow); err != nil {
				return g, err
			}
			if inWindow == 0 {
				g.scope = -1 // before since: counted for the pruned-hour check only
			}
			return g, nil
		})
		if err != nil {
			return nil, fmt.Errorf("count grants of the first hour: %w", err)
		}
		for _, g := range got {
			rawHour += g.grants
			if g.scope >= 0 {
				raw = append(raw, g)
			}
		}
	}
	if rawHour < rolled {
		return counters, nil
	}
	return raw, nil
}

// ScopeUsage reads audit_scope_days (see grants): the cost is the number of
// counters in the window, however many events the log holds.
func (r audit) ScopeUsage(ctx context.Context, tenantID string, since time.Time) ([]store.ScopeUsage, error) {
	if tenantID == "" {
		return nil, fmt.Errorf("sqlstore: scope usage: %w: a tenant ID is required", model.ErrInvalid)
	}
	gs, err := r.grants(ctx, tenantID, "", since, false)
	if err == nil {
		var out []store.ScopeUsage
		out, err = named(ctx, r, gs, func(g grantCount, scope, client string) store.ScopeUsage {
			return store.ScopeUsage{ClientID: client, Scope: scope, Grants: int(g.grants), Last: fromMicros(g.last)}
		})
		if err == nil {
			// Byte-wise, as both databases order these columns (COLLATE "C").
			slices.SortFunc(out, func(a, b store.ScopeUsage) int {
				return cmp.Or(strings.Compare(a.ClientID, b.ClientID), strings.Compare(a.Scope, b.Scope))
			})
			return out, nil
		}
	}
	return nil, fmt.Errorf("sqlstore: scope usage of %s: %w", tenantID, err)
}

// named resolves the scope and client names of counts.
func named[T any](ctx context.Context, r audit, gs []grantCount, f func(g grantCount, scope, client string) T) ([]T, error) {
	refs := map[int64]string{}
	for _, g := range gs {
		refs[g.scope], refs[g.client] = "", ""
	}
	if err := r.namesOf(ctx, refs); err != nil {
		return nil, err
	}
	out := make([]T, 0, len(gs))
	for _, g := range gs {
		out = append(out, f(g, refs[g.scope], refs[g.client]))
	}
	return out, nil
}

// ScopeUsageByDay is ScopeUsage per UTC day, from the same counters.
func (r audit) ScopeUsageByDay(ctx context.Context, tenantID string, since time.Time) ([]store.DailyScopeUsage, error) {
	if tenantID == "" {
		return nil, fmt.Errorf("sqlstore: scope usage by day: %w: a tenant ID is required", model.ErrInvalid)
	}
	gs, err := r.grants(ctx, tenantID, "", since, true)
	if err == nil {
		var out []store.DailyScopeUsage
		out, err = named(ctx, r, gs, func(g grantCount, scope, client string) store.DailyScopeUsage {
			return store.DailyScopeUsage{ClientID: client, Scope: scope, Day: fromMicros(g.day), Grants: int(g.grants)}
		})
		if err == nil {
			slices.SortFunc(out, func(a, b store.DailyScopeUsage) int {
				return cmp.Or(strings.Compare(a.ClientID, b.ClientID), strings.Compare(a.Scope, b.Scope), a.Day.Compare(b.Day))
			})
			return out, nil
		}
	}
	return nil, fmt.Errorf("sqlstore: scope usage by day of %s: %w", tenantID, err)
}

// CountGrants counts the token_issued events since since that granted
// scope, from the same counters as ScopeUsage.
func (r audit) CountGrants(ctx context.Context, tenantID, scope string, since time.Time) (int, error) {
	if tenantID == "" {
		return 0, fmt.Errorf("sqlstore: count grants: %w: a tenant ID is required", model.ErrInvalid)
	}
	gs, err := r.grants(ctx, tenantID, scope, since, false)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: count grants of %s/%s: %w", tenantID, scope, err)
	}
	var n int64
	for _, g := range gs {
		n += g.grants
	}
	return int(n), nil
}
