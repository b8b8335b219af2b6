-- 0009_catalog_nodes (PostgreSQL): a configuration change is effective at
-- once on every node (issue 12; docs/operations.md, "Several nodes").
--
-- catalog_clock: one row whose number every configuration change takes,
-- under the row's lock, in the transaction that bumps tenants.rev. The lock
-- is held to commit, so change numbers follow commit order: a node that has
-- applied change n has applied every change before it.
--
-- The trigger on tenants.rev (every configuration write bumps it first in
-- its transaction, a store invariant) takes the number and sends
-- NOTIFY '<tenant id> <number>' on a channel named after the schema, so two
-- installations (or two tests) in one database never hear each other.
-- NOTIFY is sent at commit and in commit order, or not at all.
--
-- catalog_nodes: one row per running node — the change number it has
-- applied (acked) and its lease. A writer waits after commit until every
-- node with an unexpired lease has acked its change; a node answers from
-- its cache only while its lease is valid.
CREATE TABLE catalog_clock (
	id INT    NOT NULL PRIMARY KEY CHECK (id = 1),
	n  BIGINT NOT NULL
);
INSERT INTO catalog_clock (id, n) VALUES (1, 0);

CREATE TABLE catalog_nodes (
	id         TEXT        NOT NULL PRIMARY KEY,
	acked      BIGINT      NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL
);

CREATE FUNCTION catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	change BIGINT;
BEGIN
	UPDATE catalog_clock SET n = n + 1 WHERE id = 1 RETURNING n INTO change;
	PERFORM pg_notify('intelliauth_catalog_' || md5(current_schema()), NEW.id || ' ' || change);
	RETURN NEW;
END
$$;

CREATE TRIGGER tenants_catalog_changed AFTER UPDATE OF rev ON tenants
	FOR EACH ROW WHEN (NEW.rev IS DISTINCT FROM OLD.rev)
	EXECUTE FUNCTION catalog_changed();
