-- 0003_audit_scope_usage (PostgreSQL): the scope rows of the audit log carry
-- their event's time, type and client, so the scope-usage report ("how often
-- was each scope granted to each application since …", PRODUCT.md §4) and
-- the grant count of a scope's impact preview read only these rows, in the
-- order of their key: (tenant, scope, time) is a range per scope.
--
-- The alternative — an index on audit_event_scopes (tenant_id, event_id) to
-- join each scope row to its event — would be one more B-tree written per
-- scope row on the token endpoint's hot path, and the report would still
-- visit every event of the window at random. The copied columns are a few
-- bytes in the row already written: measured interleaved in one process
-- (batches of 10 and 64 events of 3 scopes, multi-row INSERTs), the append
-- transaction takes ~5–10% longer here, from the wider rows and key.
--
-- time comes before event_id in the key so that a window is a range; the
-- Scope filter of a search still finds its row by the whole key, since it
-- knows the event's time.

ALTER TABLE audit_event_scopes ADD COLUMN time      BIGINT;
ALTER TABLE audit_event_scopes ADD COLUMN type      TEXT COLLATE "C";
ALTER TABLE audit_event_scopes ADD COLUMN client_id TEXT COLLATE "C";

UPDATE audit_event_scopes s SET time = e.time, type = e.type, client_id = e.client_id
	FROM audit_events e WHERE e.tenant_id = s.tenant_id AND e.id = s.event_id;
-- A scope row always has its event (both are written in one transaction);
-- one that somehow has none cannot be reported and is dropped.
DELETE FROM audit_event_scopes WHERE time IS NULL;

ALTER TABLE audit_event_scopes ALTER COLUMN time      SET NOT NULL;
ALTER TABLE audit_event_scopes ALTER COLUMN type      SET NOT NULL;
ALTER TABLE audit_event_scopes ALTER COLUMN client_id SET NOT NULL;
ALTER TABLE audit_event_scopes DROP CONSTRAINT audit_event_scopes_pkey;
ALTER TABLE audit_event_scopes ADD PRIMARY KEY (tenant_id, scope, time, event_id);
