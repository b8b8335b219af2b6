-- 0006_console (PostgreSQL).
--
-- console_sessions: the admin console's server-side sessions (PRODUCT.md
-- §5). The browser holds only a cookie whose SHA-256 is id; the tokens the
-- console was issued are sealed with the master key (tokens) and never
-- leave the server. version is the compare-and-swap of a token refresh.
--
-- The console application: every tenant has one (client_id 'console', a
-- confidential web client with implicit consent, allowed the OIDC scopes it
-- signs in with and every platform scope, permissive so that a user is
-- given the platform scopes their roles entitle them to and no error for
-- the rest). New tenants get it from CreateTenant; this inserts it for the
-- tenants that exist. Its secret is derived from the master key by the
-- node, which adds it on first use: SQL cannot.

CREATE TABLE console_sessions (
	tenant_id         TEXT COLLATE "C" NOT NULL,
	id                TEXT COLLATE "C" NOT NULL,
	user_id           TEXT COLLATE "C" NOT NULL,
	tokens            BYTEA  NOT NULL,
	access_expires_at BIGINT NOT NULL,
	created_at        BIGINT NOT NULL,
	expires_at        BIGINT NOT NULL,
	version           BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX console_sessions_expires ON console_sessions (expires_at);
CREATE INDEX console_sessions_user ON console_sessions (tenant_id, user_id);

INSERT INTO applications (tenant_id, client_id, name, type, redirect_uris, grant_types, scope_policy, consent,
	access_token_ttl, refresh_idle_ttl, refresh_absolute_ttl, created_at, updated_at, version,
	post_logout_redirect_uris, allowed_origins)
SELECT t.id, 'console', 'IntelliAuth console', 'web',
	json_build_array(t.issuer || '/console/callback')::text, '["authorization_code","refresh_token"]', 'permissive', 'implicit',
	300000000000, 0, 0, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, 1,
	json_build_array(t.issuer || '/console/signed-out')::text, '[]'
FROM tenants t
WHERE NOT EXISTS (SELECT 1 FROM applications a WHERE a.tenant_id = t.id AND a.client_id = 'console');

INSERT INTO application_scopes (tenant_id, client_id, scope, pos)
SELECT s.tenant_id, 'console', s.name, ROW_NUMBER() OVER (PARTITION BY s.tenant_id ORDER BY s.name) - 1
FROM scopes s
WHERE (s.kind = 'platform' OR s.name IN ('openid', 'profile', 'offline_access'))
  AND EXISTS (SELECT 1 FROM applications a WHERE a.tenant_id = s.tenant_id AND a.client_id = 'console' AND a.name = 'IntelliAuth console')
  AND NOT EXISTS (SELECT 1 FROM application_scopes x WHERE x.tenant_id = s.tenant_id AND x.client_id = 'console');

UPDATE tenants SET rev = rev + 1;
