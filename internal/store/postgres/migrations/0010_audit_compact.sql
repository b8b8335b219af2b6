-- 0010_audit_compact (PostgreSQL): a compact audit log, its retention and
-- its scope-usage rollups (issue 13; docs/audit.md). The SQLite file of the
-- same number says why each table has the shape it has.
--
-- Gaps in the migration numbers are allowed (0009 belongs to another change).

CREATE TABLE audit_names (
	id   BIGSERIAL PRIMARY KEY,
	name TEXT COLLATE "C" NOT NULL UNIQUE
);

-- Fixed IDs the partial indexes below rely on.
INSERT INTO audit_names (id, name) VALUES (1, 'oauth.token_issued'), (2, '');
SELECT setval(pg_get_serial_sequence('audit_names', 'id'), 2);

CREATE TABLE audit_log (
	tenant     BIGINT NOT NULL,
	id         TEXT COLLATE "C" NOT NULL,
	time       BIGINT NOT NULL,
	type       BIGINT NOT NULL,
	actor_type BIGINT NOT NULL,
	actor      BIGINT NOT NULL,
	client     BIGINT NOT NULL,
	subject    BIGINT NOT NULL,
	audience   BIGINT NOT NULL,
	scopes     TEXT   NOT NULL,   -- audit_names IDs, comma-separated, as listed
	details    BYTEA,             -- zstd frame, or JSON text (rows migrated here)
	PRIMARY KEY (tenant, id)
);

CREATE INDEX audit_log_client  ON audit_log (tenant, client, id);
CREATE INDEX audit_log_subject ON audit_log (tenant, subject, id) WHERE subject <> 2;
CREATE INDEX audit_log_type    ON audit_log (tenant, type, id) WHERE type <> 1;

CREATE TABLE audit_log_scopes (
	tenant BIGINT NOT NULL,
	scope  BIGINT NOT NULL,
	time   BIGINT NOT NULL,
	id     TEXT COLLATE "C" NOT NULL,
	type   BIGINT NOT NULL,
	client BIGINT NOT NULL,
	PRIMARY KEY (tenant, scope, time, id)
);

CREATE TABLE audit_scope_days (
	tenant BIGINT NOT NULL,
	scope  BIGINT NOT NULL,
	day    BIGINT NOT NULL,
	client BIGINT NOT NULL,
	grants BIGINT NOT NULL,
	last   BIGINT NOT NULL,
	PRIMARY KEY (tenant, scope, day, client)
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
	SELECT (SELECT id FROM audit_names WHERE name = e.tenant_id), e.id, e.time,
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
	SELECT l.tenant, n.id, s.time, s.event_id, (SELECT id FROM audit_names WHERE name = s.type), l.client
	FROM audit_event_scopes s
	JOIN audit_names t ON t.name = s.tenant_id
	JOIN audit_names n ON n.name = s.scope
	JOIN audit_log l ON l.tenant = t.id AND l.id = s.event_id;

INSERT INTO audit_scope_days (tenant, scope, day, client, grants, last)
	SELECT s.tenant, s.scope, s.time - s.time % 86400000000, s.client, COUNT(*), MAX(s.time)
	FROM audit_log_scopes s WHERE s.type = 1
	GROUP BY s.tenant, s.scope, s.time - s.time % 86400000000, s.client;

DROP TABLE audit_event_scopes;
DROP TABLE audit_events;
