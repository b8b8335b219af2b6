-- 0002_users (SQLite): end users and the state of their flows — users,
-- roles and groups, consents, browser sessions, authorization requests,
-- authorization codes, refresh-token families and sign-in throttles — and
-- two new lists on applications (post-logout redirect URIs, CORS origins).
--
-- Conventions as in 0001_init. In addition:
--   * optional instants that are filled in later (last_seen, used_at,
--     rotated_at, locked_until, …) are NULL while unset; sqlstore maps NULL
--     to the zero time and back;
--   * every row of a user's or an application's flow state refers to its
--     owner with ON DELETE CASCADE, so deleting a user or an application
--     removes its grants in the same statement; each such reference has an
--     index led by (tenant_id, owner) so the cascade does not scan;
--   * scope names are not foreign keys (as in 0001): Scopes.Rename and
--     Scopes.Delete rewrite role_scopes and consent_scopes explicitly.

ALTER TABLE applications ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]'; -- JSON array
ALTER TABLE applications ADD COLUMN allowed_origins           TEXT NOT NULL DEFAULT '[]'; -- JSON array

CREATE TABLE users (
	tenant_id             TEXT    NOT NULL REFERENCES tenants (id),
	id                    TEXT    NOT NULL,
	username              TEXT    NOT NULL,
	email                 TEXT    NOT NULL,    -- '' when unset
	email_verified        INTEGER NOT NULL,
	name                  TEXT    NOT NULL,
	given_name            TEXT    NOT NULL,
	family_name           TEXT    NOT NULL,
	picture               TEXT    NOT NULL,
	locale                TEXT    NOT NULL,
	address               TEXT    NOT NULL,    -- JSON object (OIDC Core §5.1.1)
	phone_number          TEXT    NOT NULL,
	phone_number_verified INTEGER NOT NULL,
	password_hash         TEXT    NOT NULL,    -- argon2id PHC string; '' when none
	status                TEXT    NOT NULL,
	created_at            INTEGER NOT NULL,
	updated_at            INTEGER NOT NULL,
	version               INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, id)
) STRICT;

-- Usernames and emails are unique per tenant without regard to (ASCII)
-- case; these indexes also serve GetByLogin.
CREATE UNIQUE INDEX users_username ON users (tenant_id, lower(username));
CREATE UNIQUE INDEX users_email    ON users (tenant_id, lower(email)) WHERE email <> '';
-- Users.List orders by username.
CREATE INDEX users_by_username ON users (tenant_id, username);

CREATE TABLE roles (
	tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
	name        TEXT    NOT NULL,
	description TEXT    NOT NULL,
	builtin     INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	version     INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, name)
) STRICT;

-- The scopes a role gives, in display order.
CREATE TABLE role_scopes (
	tenant_id TEXT    NOT NULL,
	role      TEXT    NOT NULL,
	scope     TEXT    NOT NULL,
	pos       INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, role, scope),
	FOREIGN KEY (tenant_id, role) REFERENCES roles (tenant_id, name) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Scopes.Impact, Rename and Delete look roles up by scope.
CREATE INDEX role_scopes_scope ON role_scopes (tenant_id, scope, role);

-- Direct role assignments.
CREATE TABLE user_roles (
	tenant_id TEXT NOT NULL,
	user_id   TEXT NOT NULL,
	role      TEXT NOT NULL,
	PRIMARY KEY (tenant_id, user_id, role),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, role) REFERENCES roles (tenant_id, name) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Roles.Holders, and the cascade from roles.
CREATE INDEX user_roles_role ON user_roles (tenant_id, role, user_id);

CREATE TABLE groups (
	tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
	name        TEXT    NOT NULL,
	description TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	version     INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, name)
) STRICT;

-- The roles a group gives its members, in display order. An unknown role
-- is refused by the foreign key; deleting a role removes it here.
CREATE TABLE group_roles (
	tenant_id  TEXT    NOT NULL,
	group_name TEXT    NOT NULL,
	role       TEXT    NOT NULL,
	pos        INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, group_name, role),
	FOREIGN KEY (tenant_id, group_name) REFERENCES groups (tenant_id, name) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, role) REFERENCES roles (tenant_id, name) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE INDEX group_roles_role ON group_roles (tenant_id, role, group_name);

CREATE TABLE group_members (
	tenant_id  TEXT NOT NULL,
	group_name TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	PRIMARY KEY (tenant_id, group_name, user_id),
	FOREIGN KEY (tenant_id, group_name) REFERENCES groups (tenant_id, name) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Groups.OfUser and Roles.OfUser, and the cascade from users.
CREATE INDEX group_members_user ON group_members (tenant_id, user_id, group_name);

CREATE TABLE consents (
	tenant_id  TEXT    NOT NULL,
	user_id    TEXT    NOT NULL,
	client_id  TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, user_id, client_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, client_id) REFERENCES applications (tenant_id, client_id) ON DELETE CASCADE
) STRICT;

CREATE INDEX consents_client ON consents (tenant_id, client_id);

-- The approved scopes of a consent, a set (read back sorted).
CREATE TABLE consent_scopes (
	tenant_id TEXT NOT NULL,
	user_id   TEXT NOT NULL,
	client_id TEXT NOT NULL,
	scope     TEXT NOT NULL,
	PRIMARY KEY (tenant_id, user_id, client_id, scope),
	FOREIGN KEY (tenant_id, user_id, client_id) REFERENCES consents (tenant_id, user_id, client_id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

-- Scopes.Impact, Rename and Delete look consents up by scope.
CREATE INDEX consent_scopes_scope ON consent_scopes (tenant_id, scope);

CREATE TABLE sessions (
	tenant_id  TEXT    NOT NULL,
	id         TEXT    NOT NULL,               -- hex SHA-256 of the cookie
	user_id    TEXT    NOT NULL,
	auth_time  INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	last_seen  INTEGER,                        -- NULL: never touched
	user_agent TEXT    NOT NULL,
	ip         TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

-- Sessions.ListByUser (newest first), and the cascade from users.
CREATE INDEX sessions_user    ON sessions (tenant_id, user_id, created_at);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE auth_requests (
	tenant_id             TEXT    NOT NULL,
	id                    TEXT    NOT NULL,
	client_id             TEXT    NOT NULL,
	redirect_uri          TEXT    NOT NULL,
	scope                 TEXT    NOT NULL,    -- as requested
	state                 TEXT    NOT NULL,
	nonce                 TEXT    NOT NULL,
	code_challenge        TEXT    NOT NULL,
	code_challenge_method TEXT    NOT NULL,
	audience              TEXT    NOT NULL,
	prompt                TEXT    NOT NULL,
	max_age               INTEGER NOT NULL,    -- seconds; -1 when absent
	login_hint            TEXT    NOT NULL,
	include_granted       INTEGER NOT NULL,
	user_id               TEXT,                -- NULL until the user signs in
	session_id            TEXT    NOT NULL,
	auth_time             INTEGER,             -- NULL until the user signs in
	ask_scopes            TEXT    NOT NULL,    -- JSON array
	consent_done          INTEGER NOT NULL,
	denied                INTEGER NOT NULL,
	created_at            INTEGER NOT NULL,
	expires_at            INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, client_id) REFERENCES applications (tenant_id, client_id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX auth_requests_client  ON auth_requests (tenant_id, client_id);
CREATE INDEX auth_requests_user    ON auth_requests (tenant_id, user_id);
CREATE INDEX auth_requests_expires ON auth_requests (expires_at);

CREATE TABLE auth_codes (
	tenant_id             TEXT    NOT NULL,
	hash                  TEXT    NOT NULL,    -- hex SHA-256 of the code
	client_id             TEXT    NOT NULL,
	user_id               TEXT    NOT NULL,
	session_id            TEXT    NOT NULL,
	redirect_uri          TEXT    NOT NULL,
	code_challenge        TEXT    NOT NULL,
	code_challenge_method TEXT    NOT NULL,
	scopes                TEXT    NOT NULL,    -- JSON array, granted
	audience              TEXT    NOT NULL,
	nonce                 TEXT    NOT NULL,
	auth_time             INTEGER NOT NULL,
	expires_at            INTEGER NOT NULL,
	created_at            INTEGER NOT NULL,
	used_at               INTEGER,             -- NULL until redeemed (single use)
	issued_jti            TEXT    NOT NULL,    -- '' until redeemed
	issued_expires_at     INTEGER,
	family_id             TEXT    NOT NULL,    -- '' when no refresh token was issued
	PRIMARY KEY (tenant_id, hash),
	FOREIGN KEY (tenant_id, client_id) REFERENCES applications (tenant_id, client_id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX auth_codes_client  ON auth_codes (tenant_id, client_id);
CREATE INDEX auth_codes_user    ON auth_codes (tenant_id, user_id);
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);

-- One row per refresh token; the tokens of one grant share family_id.
-- revoked is a property of the family, written to every row of it.
CREATE TABLE refresh_tokens (
	tenant_id         TEXT    NOT NULL,
	hash              TEXT    NOT NULL,        -- hex SHA-256 of the token
	family_id         TEXT    NOT NULL,
	client_id         TEXT    NOT NULL,
	user_id           TEXT    NOT NULL,
	session_id        TEXT    NOT NULL,
	scopes            TEXT    NOT NULL,        -- JSON array
	audience          TEXT    NOT NULL,
	auth_time         INTEGER NOT NULL,
	created_at        INTEGER NOT NULL,
	expires_at        INTEGER NOT NULL,        -- idle deadline of this token
	family_expires_at INTEGER NOT NULL,        -- absolute deadline of the family
	rotated_at        INTEGER,                 -- NULL until used and replaced
	revoked           INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, hash),
	FOREIGN KEY (tenant_id, client_id) REFERENCES applications (tenant_id, client_id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX refresh_tokens_family  ON refresh_tokens (tenant_id, family_id);
CREATE INDEX refresh_tokens_user    ON refresh_tokens (tenant_id, user_id, client_id);
CREATE INDEX refresh_tokens_client  ON refresh_tokens (tenant_id, client_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (family_expires_at);

-- Failed sign-ins per key ("user:<id>", "ip:<addr>").
CREATE TABLE throttles (
	tenant_id    TEXT    NOT NULL REFERENCES tenants (id),
	key          TEXT    NOT NULL,
	failures     INTEGER NOT NULL,
	window_start INTEGER NOT NULL,
	locked_until INTEGER,                      -- NULL: never locked
	PRIMARY KEY (tenant_id, key)
) STRICT, WITHOUT ROWID;
