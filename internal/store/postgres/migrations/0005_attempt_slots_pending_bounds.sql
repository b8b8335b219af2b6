-- 0005_attempt_slots_pending_bounds (PostgreSQL).
--
-- throttle_slots: a sign-in attempt holds a slot of its throttle keys (the
-- account, the client address) while its password is checked. The failures
-- of the window plus the slots held may not exceed the budget, so N
-- concurrent guesses get at most the budget's checks across every node;
-- but only a failure is counted: a success releases its slot, so that
-- concurrent correct sign-ins are not refused as failures. A slot left by a
-- node that died expires on its own (expires_at, unix µs). Reservations of
-- one key queue on its throttles row (an upsert locks it), so the count
-- and the insert of a slot are atomic.
--
-- auth_requests.peer: the client address (the throttle's form of it) that
-- started the request, so the unfinished requests — nobody signed in for
-- them yet — can be bounded per peer as well as per client. Rows written
-- before this migration have '' and are counted for their client only.
-- Adding a column with a constant default only changes the catalog. The
-- partial indexes hold only those unfinished rows, the ones the bounds
-- count.

CREATE TABLE throttle_slots (
	tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
	key        TEXT COLLATE "C" NOT NULL,
	id         TEXT COLLATE "C" NOT NULL,
	expires_at BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, key, id)
);

CREATE INDEX throttle_slots_expires ON throttle_slots (expires_at);

ALTER TABLE auth_requests ADD COLUMN peer TEXT COLLATE "C" NOT NULL DEFAULT '';

CREATE INDEX auth_requests_unfinished_client ON auth_requests (tenant_id, client_id, expires_at) WHERE user_id IS NULL;
CREATE INDEX auth_requests_unfinished_peer   ON auth_requests (tenant_id, peer, expires_at) WHERE user_id IS NULL;
