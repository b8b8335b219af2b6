-- 0001_init (PostgreSQL): tenants and their configuration (scopes, APIs,
-- applications with allowlists and secrets, signing keys), token revocations
-- and the audit log.
--
-- Conventions (shared with the SQLite schema; sqlstore relies on them):
--   * every row but a tenant's own carries tenant_id, first in every primary
--     key and index, and every query filters on it;
--   * timestamps are BIGINT unix microseconds UTC; durations BIGINT
--     nanoseconds;
--   * string lists never queried are JSON arrays in TEXT; lists that are
--     queried or rewritten are child tables with a pos column for order;
--   * names, IDs and other compared or ordered strings are COLLATE "C": byte
--     order, the same as SQLite's and Go's, whatever the database locale
--     (ULID-like audit IDs and pagination depend on it).

CREATE TABLE tenants (
	id            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
	name          TEXT   NOT NULL,
	issuer        TEXT   NOT NULL,
	domain        TEXT COLLATE "C",            -- NULL: no custom domain
	scope_pattern TEXT   NOT NULL DEFAULT '',
	rev           BIGINT NOT NULL,             -- bumped by every configuration write
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL,
	version       BIGINT NOT NULL
);

-- Host names compare without regard to (ASCII) case; lower() under the "C"
-- collation folds ASCII only, as SQLite's does.
CREATE UNIQUE INDEX tenants_domain ON tenants (lower(domain));

CREATE TABLE apis (
	tenant_id        TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
	id               TEXT COLLATE "C" NOT NULL,
	identifier       TEXT COLLATE "C" NOT NULL,
	name             TEXT    NOT NULL,
	signing_alg      TEXT    NOT NULL,
	access_token_ttl BIGINT  NOT NULL,
	platform         BOOLEAN NOT NULL,
	created_at       BIGINT  NOT NULL,
	updated_at       BIGINT  NOT NULL,
	version          BIGINT  NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, identifier)
);

CREATE TABLE scopes (
	tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
	name         TEXT COLLATE "C" NOT NULL,
	display_name TEXT   NOT NULL,
	description  TEXT   NOT NULL,
	kind         TEXT COLLATE "C" NOT NULL,
	api_id       TEXT COLLATE "C",             -- NULL for OIDC scopes
	claims       TEXT   NOT NULL,              -- JSON array
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL,
	version      BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, name),
	-- An API cannot be deleted while scopes belong to it.
	FOREIGN KEY (tenant_id, api_id) REFERENCES apis (tenant_id, id)
);

CREATE INDEX scopes_api ON scopes (tenant_id, api_id);

-- scope_implies lists, per scope, the scopes it implies. The implied names
-- are not foreign keys (the registry's consistency is the admin layer's
-- rule); Scopes.Rename and Scopes.Delete rewrite them explicitly.
CREATE TABLE scope_implies (
	tenant_id TEXT COLLATE "C" NOT NULL,
	scope     TEXT COLLATE "C" NOT NULL,
	implied   TEXT COLLATE "C" NOT NULL,
	pos       INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, scope, implied),
	FOREIGN KEY (tenant_id, scope) REFERENCES scopes (tenant_id, name) ON DELETE CASCADE ON UPDATE CASCADE
);

CREATE INDEX scope_implies_implied ON scope_implies (tenant_id, implied);

-- Issue 3 adds role_scopes and consent_scopes shaped like application_scopes
-- (tenant_id, owner key, scope), indexed on (tenant_id, scope); Scopes.Rename
-- and Scopes.Delete in sqlstore must rewrite them too.

CREATE TABLE applications (
	tenant_id            TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
	client_id            TEXT COLLATE "C" NOT NULL,
	name                 TEXT   NOT NULL,
	type                 TEXT   NOT NULL,
	redirect_uris        TEXT   NOT NULL,      -- JSON array
	grant_types          TEXT   NOT NULL,      -- JSON array
	scope_policy         TEXT   NOT NULL,
	consent              TEXT   NOT NULL,
	access_token_ttl     BIGINT NOT NULL,
	refresh_idle_ttl     BIGINT NOT NULL,
	refresh_absolute_ttl BIGINT NOT NULL,
	created_at           BIGINT NOT NULL,
	updated_at           BIGINT NOT NULL,
	version              BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, client_id)
);

-- The allowlist. Scope names are not foreign keys, for the same reason as
-- scope_implies.
CREATE TABLE application_scopes (
	tenant_id TEXT COLLATE "C" NOT NULL,
	client_id TEXT COLLATE "C" NOT NULL,
	scope     TEXT COLLATE "C" NOT NULL,
	pos       INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, client_id, scope),
	FOREIGN KEY (tenant_id, client_id) REFERENCES applications (tenant_id, client_id) ON DELETE CASCADE
);

-- Scopes.Holders, Rename and Delete look allowlists up by scope.
CREATE INDEX application_scopes_scope ON application_scopes (tenant_id, scope, client_id);

CREATE TABLE client_secrets (
	tenant_id  TEXT COLLATE "C" NOT NULL,
	client_id  TEXT COLLATE "C" NOT NULL,
	id         TEXT COLLATE "C" NOT NULL,
	hash       BYTEA  NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT,                         -- NULL: the current secret
	PRIMARY KEY (tenant_id, client_id, id),
	FOREIGN KEY (tenant_id, client_id) REFERENCES applications (tenant_id, client_id) ON DELETE CASCADE
);

CREATE TABLE signing_keys (
	tenant_id      TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
	kid            TEXT COLLATE "C" NOT NULL,
	alg            TEXT   NOT NULL,
	state          TEXT   NOT NULL,
	public_jwk     BYTEA  NOT NULL,
	private_sealed BYTEA  NOT NULL,            -- AES-256-GCM sealed PKCS#8
	created_at     BIGINT NOT NULL,
	updated_at     BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, kid)
);

-- Revocations and audit events have no foreign key to tenants: they are
-- written on hot paths, and one stray tenant ID must never fail a whole
-- group-commit batch of audit events.
CREATE TABLE revocations (
	tenant_id  TEXT COLLATE "C" NOT NULL,
	jti        TEXT COLLATE "C" NOT NULL,
	expires_at BIGINT NOT NULL,
	revoked_at BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, jti)
);

CREATE INDEX revocations_expires ON revocations (expires_at);

CREATE TABLE audit_events (
	tenant_id  TEXT COLLATE "C" NOT NULL,
	id         TEXT COLLATE "C" NOT NULL,      -- time-sortable: newest first is ORDER BY id DESC
	type       TEXT COLLATE "C" NOT NULL,
	time       BIGINT NOT NULL,
	actor_type TEXT   NOT NULL,
	actor_id   TEXT   NOT NULL,
	client_id  TEXT COLLATE "C" NOT NULL,
	subject    TEXT COLLATE "C" NOT NULL,
	audience   TEXT   NOT NULL,
	scopes     TEXT   NOT NULL,                -- JSON array, as listed
	details    TEXT,                           -- JSON document
	PRIMARY KEY (tenant_id, id)
);

CREATE INDEX audit_events_client  ON audit_events (tenant_id, client_id, id);
CREATE INDEX audit_events_subject ON audit_events (tenant_id, subject, id);
CREATE INDEX audit_events_type    ON audit_events (tenant_id, type, id);
CREATE INDEX audit_events_time    ON audit_events (tenant_id, time);

-- One row per (event, scope) for the exact Scope filter of a search. No
-- foreign key and no index by event: the log is append-only, these rows are
-- written in the same transaction as their event, and every extra index is
-- paid on the token endpoint's hot path (see BENCHMARKS.md).
CREATE TABLE audit_event_scopes (
	tenant_id TEXT COLLATE "C" NOT NULL,
	event_id  TEXT COLLATE "C" NOT NULL,
	scope     TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant_id, scope, event_id)
);
