-- 0008_mfa (PostgreSQL): second factors (issue 11; PRODUCT.md §2 step 6b, §6c).
--
-- mfa_factors: a user's TOTP authenticators and WebAuthn credentials.
-- secret is the TOTP shared secret sealed with the master key (empty for
-- WebAuthn); credential is the WebAuthn credential as JSON (empty for
-- TOTP). credential_id is NULL for TOTP and unique in the tenant otherwise:
-- a passwordless sign-in finds its user by it. counter is the last TOTP
-- step accepted or the last WebAuthn signature counter seen; Factors.Use
-- moves it forward only (a compare-and-swap), so a code is accepted once
-- even by two nodes at once. An unconfirmed factor (an enrolment not
-- finished) is pruned after a while.
--
-- mfa_recovery_codes: the SHA-256 of each single-use recovery code; used_at
-- is set once, by a conditional UPDATE.
--
-- mfa_challenges: a WebAuthn ceremony between its two requests, so that any
-- node can finish it; taken (deleted) by the finish. user_id is NULL for a
-- passwordless sign-in, and the foreign key then does not apply.
--
-- Every row of a user cascades when the user is deleted. Columns added
-- with a constant default only change the catalog: no table is rewritten.
--
-- The policy columns, with defaults that keep what every row meant before:
-- a tenant's policy is 'optional' (users who enrolled are asked), an
-- application 'inherit's it, no scope requires a second factor. Sessions,
-- codes and refresh tokens written before were password sign-ins, so their
-- amr (a JSON array, RFC 8176 values) is ["pwd"]. An authorization request
-- asked for no acr_values and skipped no enrolment.

CREATE TABLE mfa_factors (
	tenant_id     TEXT COLLATE "C" NOT NULL,
	id            TEXT COLLATE "C" NOT NULL,
	user_id       TEXT COLLATE "C" NOT NULL,
	type          TEXT    NOT NULL,            -- 'totp' or 'webauthn'
	name          TEXT    NOT NULL,
	secret        BYTEA   NOT NULL,            -- sealed TOTP secret; empty for WebAuthn
	credential    BYTEA   NOT NULL,            -- WebAuthn credential JSON; empty for TOTP
	credential_id TEXT COLLATE "C",            -- NULL for TOTP
	confirmed     BOOLEAN NOT NULL,
	counter       BIGINT  NOT NULL,
	created_at    BIGINT  NOT NULL,
	last_used_at  BIGINT,                      -- NULL: never used
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX mfa_factors_user ON mfa_factors (tenant_id, user_id);
CREATE UNIQUE INDEX mfa_factors_credential ON mfa_factors (tenant_id, credential_id) WHERE credential_id IS NOT NULL;
-- Factors.Prune: unconfirmed enrolments of every tenant.
CREATE INDEX mfa_factors_unconfirmed ON mfa_factors (created_at) WHERE NOT confirmed;

CREATE TABLE mfa_recovery_codes (
	tenant_id  TEXT COLLATE "C" NOT NULL,
	user_id    TEXT COLLATE "C" NOT NULL,
	hash       TEXT COLLATE "C" NOT NULL,      -- hex SHA-256 of the normalised code
	created_at BIGINT NOT NULL,
	used_at    BIGINT,                         -- NULL until spent
	PRIMARY KEY (tenant_id, user_id, hash),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE mfa_challenges (
	tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id),
	id         TEXT COLLATE "C" NOT NULL,
	user_id    TEXT COLLATE "C",               -- NULL: passwordless sign-in
	purpose    TEXT   NOT NULL,                -- 'register' or 'login'
	data       BYTEA  NOT NULL,                -- the ceremony's session data, JSON
	expires_at BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX mfa_challenges_expires ON mfa_challenges (expires_at);
-- The cascade from users.
CREATE INDEX mfa_challenges_user ON mfa_challenges (tenant_id, user_id) WHERE user_id IS NOT NULL;

ALTER TABLE tenants ADD COLUMN mfa_policy      TEXT   NOT NULL DEFAULT 'optional'; -- 'off', 'optional', 'required'
ALTER TABLE tenants ADD COLUMN mfa_grace_until BIGINT;                            -- NULL: no grace period
ALTER TABLE applications ADD COLUMN mfa TEXT NOT NULL DEFAULT 'inherit';           -- 'inherit' or 'required'
ALTER TABLE scopes ADD COLUMN requires_mfa BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '["pwd"]';               -- JSON array
ALTER TABLE auth_requests ADD COLUMN acr_values  TEXT    NOT NULL DEFAULT '';      -- as requested
ALTER TABLE auth_requests ADD COLUMN mfa_skipped BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE auth_codes ADD COLUMN amr TEXT NOT NULL DEFAULT '["pwd"]';             -- JSON array
ALTER TABLE refresh_tokens ADD COLUMN amr TEXT NOT NULL DEFAULT '["pwd"]';         -- JSON array, the family's
