-- 0003_audit_scope_usage (SQLite): the scope rows of the audit log carry
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
-- (batches of 1/10/64 events of 3 scopes, synchronous=FULL), the append
-- transaction costs the same CPU at batch 1 and 8–16% less at 10 and 64 —
-- the key now orders by an integer (time) before the long event ID.
--
-- time comes before event_id in the key so that a window is a range; the
-- Scope filter of a search still finds its row by the whole key, since it
-- knows the event's time.
--
-- SQLite cannot change a primary key in place: the table is rebuilt, its
-- rows filled in from their events (a scope row always has its event: both
-- are written in one transaction).

CREATE TABLE audit_event_scopes_0003 (
	tenant_id TEXT    NOT NULL,
	scope     TEXT    NOT NULL,
	time      INTEGER NOT NULL,  -- the event's time (unix µs)
	event_id  TEXT    NOT NULL,
	type      TEXT    NOT NULL,  -- the event's type
	client_id TEXT    NOT NULL,  -- the event's client ('' if none)
	PRIMARY KEY (tenant_id, scope, time, event_id)
) STRICT, WITHOUT ROWID;

INSERT INTO audit_event_scopes_0003 (tenant_id, scope, time, event_id, type, client_id)
	SELECT s.tenant_id, s.scope, e.time, s.event_id, e.type, e.client_id
	FROM audit_event_scopes s JOIN audit_events e ON e.tenant_id = s.tenant_id AND e.id = s.event_id;

DROP TABLE audit_event_scopes;
ALTER TABLE audit_event_scopes_0003 RENAME TO audit_event_scopes;
