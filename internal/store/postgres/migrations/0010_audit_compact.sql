-- 0010_audit_compact (PostgreSQL): a compact audit log, its retention and
-- its scope-usage rollups (issue 13; docs/audit.md). The SQLite file of the
-- same number says why each table has the shape it has.
--
-- Gaps in the migration numbers are allowed (0009 belongs to another change).

CREATE TABLE audit_names (
	id   SERIAL PRIMARY KEY,
	name TEXT COLLATE "C" NOT NULL UNIQUE
);

-- Fixed IDs the partial indexes below rely on.
INSERT INTO audit_names (id, name) VALUES (1, 'oauth.token_issued'), (2, '');
SELECT setval(pg_get_serial_sequence('audit_names', 'id'), 2);

-- Name IDs are INTEGER (4 bytes) and the 8-byte column comes first, so a
-- row has no alignment padding.
CREATE TABLE audit_log (
	time       BIGINT  NOT NULL,
	tenant     INTEGER NOT NULL,
	type       INTEGER NOT NULL,
	actor_type INTEGER NOT NULL,
	actor      INTEGER NOT NULL,
	client     INTEGER NOT NULL,
	subject    INTEGER NOT NULL,
	audience   INTEGER NOT NULL,
	id         BYTEA   NOT NULL,   -- the event ID as a key: a ULID in 16 bytes, any other ID as 0x00 || its text
	scopes     TEXT    NOT NULL,   -- audit_names IDs, comma-separated, as listed
	details    BYTEA,              -- zstd frame, or JSON text (rows migrated here)
	PRIMARY KEY (tenant, id)
);

CREATE INDEX audit_log_client  ON audit_log (tenant, client, id);
CREATE INDEX audit_log_subject ON audit_log (tenant, subject, id) WHERE subject <> 2;
CREATE INDEX audit_log_type    ON audit_log (tenant, type, id) WHERE type <> 1;

CREATE TABLE audit_log_scopes (
	time   BIGINT  NOT NULL,
	tenant INTEGER NOT NULL,
	scope  INTEGER NOT NULL,
	type   INTEGER NOT NULL,
	client INTEGER NOT NULL,
	id     BYTEA   NOT NULL,
	PRIMARY KEY (tenant, scope, time, id)
);

CREATE TABLE audit_scope_days (
	day    BIGINT  NOT NULL,
	grants BIGINT  NOT NULL,
	last   BIGINT  NOT NULL,
	tenant INTEGER NOT NULL,
	scope  INTEGER NOT NULL,
	client INTEGER NOT NULL,
	PRIMARY KEY (tenant, scope, day, client)
);

CREATE TABLE audit_scope_hours (
	hour   BIGINT  NOT NULL,
	grants BIGINT  NOT NULL,
	last   BIGINT  NOT NULL,
	tenant INTEGER NOT NULL,
	scope  INTEGER NOT NULL,
	client INTEGER NOT NULL,
	PRIMARY KEY (tenant, scope, hour, client)
);

CREATE TABLE audit_retention (
	tenant_id TEXT COLLATE "C" NOT NULL,
	class     TEXT COLLATE "C" NOT NULL,
	days      INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, class)
);

INSERT INTO audit_names (name)
	SELECT tenant_id FROM audit_events UNION SELECT type FROM audit_events
	UNION SELECT actor_type FROM audit_events UNION SELECT actor_id FROM audit_events
	UNION SELECT client_id FROM audit_events UNION SELECT subject FROM audit_events
	UNION SELECT audience FROM audit_events UNION SELECT scope FROM audit_event_scopes
	ON CONFLICT (name) DO NOTHING;

INSERT INTO audit_log (tenant, id, time, type, actor_type, actor, client, subject, audience, scopes, details)
	SELECT (SELECT id FROM audit_names WHERE name = e.tenant_id),
		CASE WHEN e.id ~ '^[0-7][0-9A-HJKMNP-TV-Z]{25}$' AND substr(e.id, 1, 2) <> '00'
		THEN decode(lpad(to_hex(((strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 1, 1)) - 1)::bigint * 35184372088832 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 2, 1)) - 1)::bigint * 1099511627776 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 3, 1)) - 1)::bigint * 34359738368 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 4, 1)) - 1)::bigint * 1073741824 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 5, 1)) - 1)::bigint * 33554432 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 6, 1)) - 1)::bigint * 1048576 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 7, 1)) - 1)::bigint * 32768 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 8, 1)) - 1)::bigint * 1024 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 9, 1)) - 1)::bigint * 32 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 10, 1)) - 1)::bigint * 1)), 12, '0') ||
			lpad(to_hex(((strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 11, 1)) - 1)::bigint * 34359738368 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 12, 1)) - 1)::bigint * 1073741824 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 13, 1)) - 1)::bigint * 33554432 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 14, 1)) - 1)::bigint * 1048576 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 15, 1)) - 1)::bigint * 32768 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 16, 1)) - 1)::bigint * 1024 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 17, 1)) - 1)::bigint * 32 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 18, 1)) - 1)::bigint * 1)), 10, '0') ||
			lpad(to_hex(((strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 19, 1)) - 1)::bigint * 34359738368 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 20, 1)) - 1)::bigint * 1073741824 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 21, 1)) - 1)::bigint * 33554432 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 22, 1)) - 1)::bigint * 1048576 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 23, 1)) - 1)::bigint * 32768 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 24, 1)) - 1)::bigint * 1024 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 25, 1)) - 1)::bigint * 32 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(e.id, 26, 1)) - 1)::bigint * 1)), 10, '0'), 'hex')
		ELSE '\x00'::bytea || convert_to(e.id, 'UTF8') END,
		e.time,
		(SELECT id FROM audit_names WHERE name = e.type),
		(SELECT id FROM audit_names WHERE name = e.actor_type),
		(SELECT id FROM audit_names WHERE name = e.actor_id),
		(SELECT id FROM audit_names WHERE name = e.client_id),
		(SELECT id FROM audit_names WHERE name = e.subject),
		(SELECT id FROM audit_names WHERE name = e.audience),
		COALESCE((SELECT string_agg(n.id::text, ',' ORDER BY j.ord)
			FROM jsonb_array_elements_text(e.scopes::jsonb) WITH ORDINALITY AS j(value, ord)
			JOIN audit_names n ON n.name = j.value), ''),
		convert_to(e.details, 'UTF8')
	FROM audit_events e;

INSERT INTO audit_log_scopes (tenant, scope, time, id, type, client)
	SELECT t.id, n.id, s.time, CASE WHEN s.event_id ~ '^[0-7][0-9A-HJKMNP-TV-Z]{25}$' AND substr(s.event_id, 1, 2) <> '00'
		THEN decode(lpad(to_hex(((strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 1, 1)) - 1)::bigint * 35184372088832 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 2, 1)) - 1)::bigint * 1099511627776 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 3, 1)) - 1)::bigint * 34359738368 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 4, 1)) - 1)::bigint * 1073741824 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 5, 1)) - 1)::bigint * 33554432 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 6, 1)) - 1)::bigint * 1048576 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 7, 1)) - 1)::bigint * 32768 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 8, 1)) - 1)::bigint * 1024 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 9, 1)) - 1)::bigint * 32 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 10, 1)) - 1)::bigint * 1)), 12, '0') ||
			lpad(to_hex(((strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 11, 1)) - 1)::bigint * 34359738368 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 12, 1)) - 1)::bigint * 1073741824 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 13, 1)) - 1)::bigint * 33554432 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 14, 1)) - 1)::bigint * 1048576 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 15, 1)) - 1)::bigint * 32768 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 16, 1)) - 1)::bigint * 1024 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 17, 1)) - 1)::bigint * 32 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 18, 1)) - 1)::bigint * 1)), 10, '0') ||
			lpad(to_hex(((strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 19, 1)) - 1)::bigint * 34359738368 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 20, 1)) - 1)::bigint * 1073741824 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 21, 1)) - 1)::bigint * 33554432 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 22, 1)) - 1)::bigint * 1048576 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 23, 1)) - 1)::bigint * 32768 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 24, 1)) - 1)::bigint * 1024 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 25, 1)) - 1)::bigint * 32 + (strpos('0123456789ABCDEFGHJKMNPQRSTVWXYZ', substr(s.event_id, 26, 1)) - 1)::bigint * 1)), 10, '0'), 'hex')
		ELSE '\x00'::bytea || convert_to(s.event_id, 'UTF8') END,
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
