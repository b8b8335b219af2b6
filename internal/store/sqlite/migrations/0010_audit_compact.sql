-- 0010_audit_compact (SQLite): a compact audit log, its retention and its
-- scope-usage rollups (issue 13; docs/audit.md).
--
-- Before: ~960 bytes on disk per token — every string (tenant, type,
-- client, subject, audience) stored in the row and again in four secondary
-- indexes, and one string row per (event, scope). After:
--   * audit_names interns every string the log repeats; rows and indexes
--     hold small integers (1–3 bytes in a SQLite record);
--   * audit_log keeps the event ID as its key, a ULID (what the audit
--     package makes) in its 16 bytes, any other ID as a zero byte and its
--     text — bytes that sort as the IDs do, so newest first is still ORDER
--     BY id DESC (IDs of another shape sort before every ULID); the scopes as a list of name IDs, and details
--     compressed (zstd with a dictionary of the token events' keys, written
--     by sqlstore; rows migrated here keep their JSON text, which sqlstore
--     tells apart by the zstd magic number);
--   * the type index skips oauth.token_issued (name 1, seeded below: a type
--     filter on issuance finds its events in any stretch of the log) and the
--     subject index skips events without a subject (client credentials);
--   * no index by time (it cost ~49 bytes an event): a time window with a
--     Scope filter is a range of audit_log_scopes, the report reads
--     audit_scope_days, and IDs are time-sortable, so a window of the recent
--     past is near the start of the newest-first scan;
--   * audit_log_scopes keeps one integer row per (event, scope) for the
--     Scope filter and for the report's partial first day;
--   * audit_scope_days counts the grants per (tenant, scope, UTC day,
--     client), maintained in the transaction that appends the events, so the
--     scope-usage report reads days, not events, and stays right after raw
--     events are pruned;
--   * audit_scope_hours holds the same counters per hour, for the report's
--     first day (docs/audit.md);
--   * audit_retention holds a tenant's retention per class of event.
--
-- Gaps in the migration numbers are allowed (0009 belongs to another change).

CREATE TABLE audit_names (
	id   INTEGER NOT NULL PRIMARY KEY,
	name TEXT    NOT NULL UNIQUE
) STRICT;

-- Fixed IDs the partial index below relies on.
INSERT INTO audit_names (id, name) VALUES (1, 'oauth.token_issued'), (2, '');

CREATE TABLE audit_log (
	tenant     INTEGER NOT NULL,   -- audit_names
	id         BLOB    NOT NULL,   -- the event ID as a key: a ULID in 16 bytes, any other ID as 0x00 || its text
	time       INTEGER NOT NULL,   -- unix µs
	type       INTEGER NOT NULL,   -- audit_names
	actor_type INTEGER NOT NULL,   -- audit_names
	actor      INTEGER NOT NULL,   -- audit_names
	client     INTEGER NOT NULL,   -- audit_names ('' is 2)
	subject    INTEGER NOT NULL,   -- audit_names ('' is 2)
	audience   INTEGER NOT NULL,   -- audit_names
	scopes     TEXT    NOT NULL,   -- audit_names IDs, comma-separated, as listed
	details    BLOB,               -- zstd frame, or JSON text (rows migrated here)
	PRIMARY KEY (tenant, id)
) STRICT, WITHOUT ROWID;

CREATE INDEX audit_log_client  ON audit_log (tenant, client, id);
CREATE INDEX audit_log_subject ON audit_log (tenant, subject, id) WHERE subject <> 2;
CREATE INDEX audit_log_type    ON audit_log (tenant, type, id) WHERE type <> 1;

CREATE TABLE audit_log_scopes (
	tenant INTEGER NOT NULL,
	scope  INTEGER NOT NULL,
	time   INTEGER NOT NULL,   -- the event's time
	id     BLOB    NOT NULL,   -- the event's key
	type   INTEGER NOT NULL,   -- the event's type
	client INTEGER NOT NULL,   -- the event's client
	PRIMARY KEY (tenant, scope, time, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE audit_scope_days (
	tenant INTEGER NOT NULL,
	scope  INTEGER NOT NULL,
	day    INTEGER NOT NULL,   -- unix µs of the UTC midnight
	client INTEGER NOT NULL,
	grants INTEGER NOT NULL,
	last   INTEGER NOT NULL,   -- unix µs of the latest grant counted
	PRIMARY KEY (tenant, scope, day, client)
) STRICT, WITHOUT ROWID;

-- The same counters per UTC hour: the report's first day is counted from
-- them, so that it reads at most an hour of raw scope rows.
CREATE TABLE audit_scope_hours (
	tenant INTEGER NOT NULL,
	scope  INTEGER NOT NULL,
	hour   INTEGER NOT NULL,   -- unix µs of the hour's start
	client INTEGER NOT NULL,
	grants INTEGER NOT NULL,
	last   INTEGER NOT NULL,
	PRIMARY KEY (tenant, scope, hour, client)
) STRICT, WITHOUT ROWID;

CREATE TABLE audit_retention (
	tenant_id TEXT    NOT NULL,
	class     TEXT    NOT NULL,   -- issuance, security, admin
	days      INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, class)
) STRICT, WITHOUT ROWID;

-- Copy the log.
INSERT OR IGNORE INTO audit_names (name)
	SELECT tenant_id FROM audit_events UNION SELECT type FROM audit_events
	UNION SELECT actor_type FROM audit_events UNION SELECT actor_id FROM audit_events
	UNION SELECT client_id FROM audit_events UNION SELECT subject FROM audit_events
	UNION SELECT audience FROM audit_events UNION SELECT scope FROM audit_event_scopes;

INSERT INTO audit_log (tenant, id, time, type, actor_type, actor, client, subject, audience, scopes, details)
	SELECT (SELECT id FROM audit_names WHERE name = e.tenant_id),
		CASE WHEN length(e.id) = 26 AND e.id GLOB '[0-7]*' AND substr(e.id, 1, 2) <> '00' AND e.id NOT GLOB '*[^0-9A-HJKMNP-TV-Z]*'
		THEN unhex(printf('%012X%010X%010X',
			((instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 1, 1)) - 1) * 35184372088832 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 2, 1)) - 1) * 1099511627776 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 3, 1)) - 1) * 34359738368 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 4, 1)) - 1) * 1073741824 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 5, 1)) - 1) * 33554432 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 6, 1)) - 1) * 1048576 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 7, 1)) - 1) * 32768 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 8, 1)) - 1) * 1024 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 9, 1)) - 1) * 32 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 10, 1)) - 1) * 1),
			((instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 11, 1)) - 1) * 34359738368 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 12, 1)) - 1) * 1073741824 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 13, 1)) - 1) * 33554432 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 14, 1)) - 1) * 1048576 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 15, 1)) - 1) * 32768 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 16, 1)) - 1) * 1024 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 17, 1)) - 1) * 32 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 18, 1)) - 1) * 1),
			((instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 19, 1)) - 1) * 34359738368 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 20, 1)) - 1) * 1073741824 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 21, 1)) - 1) * 33554432 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 22, 1)) - 1) * 1048576 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 23, 1)) - 1) * 32768 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 24, 1)) - 1) * 1024 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 25, 1)) - 1) * 32 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 26, 1)) - 1) * 1)))
		ELSE CAST(X'00' || e.id AS BLOB) END,
		e.time,
		(SELECT id FROM audit_names WHERE name = e.type),
		(SELECT id FROM audit_names WHERE name = e.actor_type),
		(SELECT id FROM audit_names WHERE name = e.actor_id),
		(SELECT id FROM audit_names WHERE name = e.client_id),
		(SELECT id FROM audit_names WHERE name = e.subject),
		(SELECT id FROM audit_names WHERE name = e.audience),
		COALESCE((SELECT group_concat(n.id, ',' ORDER BY CAST(j.key AS INTEGER))
			FROM json_each(e.scopes) j JOIN audit_names n ON n.name = j.value), ''),
		CAST(e.details AS BLOB)
	FROM audit_events e;

INSERT INTO audit_log_scopes (tenant, scope, time, id, type, client)
	SELECT t.id, n.id, s.time, CASE WHEN length(s.event_id) = 26 AND s.event_id GLOB '[0-7]*' AND substr(s.event_id, 1, 2) <> '00' AND s.event_id NOT GLOB '*[^0-9A-HJKMNP-TV-Z]*'
		THEN unhex(printf('%012X%010X%010X',
			((instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 1, 1)) - 1) * 35184372088832 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 2, 1)) - 1) * 1099511627776 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 3, 1)) - 1) * 34359738368 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 4, 1)) - 1) * 1073741824 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 5, 1)) - 1) * 33554432 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 6, 1)) - 1) * 1048576 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 7, 1)) - 1) * 32768 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 8, 1)) - 1) * 1024 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 9, 1)) - 1) * 32 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 10, 1)) - 1) * 1),
			((instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 11, 1)) - 1) * 34359738368 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 12, 1)) - 1) * 1073741824 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 13, 1)) - 1) * 33554432 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 14, 1)) - 1) * 1048576 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 15, 1)) - 1) * 32768 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 16, 1)) - 1) * 1024 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 17, 1)) - 1) * 32 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 18, 1)) - 1) * 1),
			((instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 19, 1)) - 1) * 34359738368 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 20, 1)) - 1) * 1073741824 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 21, 1)) - 1) * 33554432 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 22, 1)) - 1) * 1048576 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 23, 1)) - 1) * 32768 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 24, 1)) - 1) * 1024 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 25, 1)) - 1) * 32 + (instr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 26, 1)) - 1) * 1)))
		ELSE CAST(X'00' || s.event_id AS BLOB) END,
		(SELECT id FROM audit_names WHERE name = s.type), (SELECT id FROM audit_names WHERE name = s.client_id)
	FROM audit_event_scopes s
	JOIN audit_names t ON t.name = s.tenant_id
	JOIN audit_names n ON n.name = s.scope;

INSERT INTO audit_scope_days (tenant, scope, day, client, grants, last)
	SELECT s.tenant, s.scope, s.time - s.time % 86400000000, s.client, COUNT(*), MAX(s.time)
	FROM audit_log_scopes s WHERE s.type = 1
	GROUP BY s.tenant, s.scope, s.time - s.time % 86400000000, s.client;

INSERT INTO audit_scope_hours (tenant, scope, hour, client, grants, last)
	SELECT s.tenant, s.scope, s.time - s.time % 3600000000, s.client, COUNT(*), MAX(s.time)
	FROM audit_log_scopes s WHERE s.type = 1
	GROUP BY s.tenant, s.scope, s.time - s.time % 3600000000, s.client;

DROP TABLE audit_event_scopes;
DROP TABLE audit_events;
