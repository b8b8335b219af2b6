package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intelliauth/intelliauth/internal/model"
	"github.com/intelliauth/intelliauth/internal/store"
)

// Migrator is the migration surface of a SQL backend; *sqlstore.DB has it.
type Migrator interface {
	Migrate(ctx context.Context) error
	MigrateTo(ctx context.Context, version int) error
	SchemaVersion(ctx context.Context) (int, error)
}

// MigrationEnv is one empty, unmigrated database for RunMigrationTests.
type MigrationEnv struct {
	// Store and Migrator are one handle on the database (a *sqlstore.DB is
	// both).
	Store    store.Store
	Migrator Migrator
	// Exec runs one raw SQL statement with $N placeholders on the same
	// database, to insert fixture rows between migration steps.
	Exec func(ctx context.Context, query string, args ...any) error
	// Another opens a second, independent handle on the same database, as
	// another node or a CLI run beside the server would.
	Another func(t *testing.T) Migrator
}

// fixture is a raw row written right after its migration version is applied.
type fixture struct {
	version int
	query   string
	args    []any
}

// The fixture instant in the stored format (unix microseconds).
var fixtureMicros = t0.UnixMicro()

// migrationFixtures are rows in the shape of the schema as of each version,
// written in SQL both dialects accept. When a migration changes a table, add
// rows here in the shape it leaves, and extend checkFixtures with what a
// later schema must still return for them (Hydra's migration tests).
var migrationFixtures = []fixture{
	{1, `INSERT INTO tenants (id, name, issuer, domain, scope_pattern, rev, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		[]any{"fx", "Fixture", "https://id.example.com/t/fx", "Id.Example.com", "^[a-z:]+$", int64(7), fixtureMicros, fixtureMicros + 1, int64(3)}},
	{1, `INSERT INTO apis (tenant_id, id, identifier, name, signing_alg, access_token_ttl, platform, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		[]any{"fx", "platform", "https://id.example.com/t/fx/api/v1", "Platform", "ES256", int64(time.Hour), true, fixtureMicros, fixtureMicros, int64(1)}},
	{1, `INSERT INTO scopes (tenant_id, name, display_name, description, kind, api_id, claims, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		[]any{"fx", "users:write", "Manage users", "Manage users.", "platform", "platform", "[]", fixtureMicros, fixtureMicros, int64(2)}},
	{1, `INSERT INTO scopes (tenant_id, name, display_name, description, kind, api_id, claims, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		[]any{"fx", "email", "Email", "Your email.", "oidc", nil, `["email","email_verified"]`, fixtureMicros, fixtureMicros, int64(1)}},
	{1, `INSERT INTO scope_implies (tenant_id, scope, implied, pos) VALUES ($1, $2, $3, $4)`,
		[]any{"fx", "users:write", "users:read", 0}},
	{1, `INSERT INTO applications (tenant_id, client_id, name, type, redirect_uris, grant_types, scope_policy, consent,
		access_token_ttl, refresh_idle_ttl, refresh_absolute_ttl, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		[]any{"fx", "console", "Console", "web", `["https://id.example.com/console/cb"]`, `["authorization_code","refresh_token"]`,
			"strict", "implicit", int64(0), int64(24 * time.Hour), int64(720 * time.Hour), fixtureMicros, fixtureMicros, int64(4)}},
	{1, `INSERT INTO application_scopes (tenant_id, client_id, scope, pos) VALUES ($1, $2, $3, $4)`,
		[]any{"fx", "console", "users:write", 1}},
	{1, `INSERT INTO application_scopes (tenant_id, client_id, scope, pos) VALUES ($1, $2, $3, $4)`,
		[]any{"fx", "console", "email", 0}},
	{1, `INSERT INTO client_secrets (tenant_id, client_id, id, hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		[]any{"fx", "console", "sec1", []byte{0xde, 0xad, 0xbe, 0xef}, fixtureMicros, nil}},
	{1, `INSERT INTO signing_keys (tenant_id, kid, alg, state, public_jwk, private_sealed, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		[]any{"fx", "kid1", "ES256", "current", []byte(`{"kty":"EC"}`), []byte{1, 2, 3}, fixtureMicros, fixtureMicros}},
	{1, `INSERT INTO revocations (tenant_id, jti, expires_at, revoked_at) VALUES ($1, $2, $3, $4)`,
		[]any{"fx", "jti1", fixtureMicros + int64(time.Hour/time.Microsecond), fixtureMicros}},
	{1, `INSERT INTO audit_events (tenant_id, id, type, time, actor_type, actor_id, client_id, subject, audience, scopes, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		[]any{"fx", "01J0000000FX", "oauth.token_issued", fixtureMicros, "client", "console", "console", "usr_1", "aud",
			`["users:write"]`, `{"granted":["users:write"]}`}},
	{1, `INSERT INTO audit_event_scopes (tenant_id, event_id, scope) VALUES ($1, $2, $3)`,
		[]any{"fx", "01J0000000FX", "users:write"}},

	// 0002_users: end users and their flows; applications gain two lists.
	{2, `INSERT INTO applications (tenant_id, client_id, name, type, redirect_uris, post_logout_redirect_uris, allowed_origins,
		grant_types, scope_policy, consent, access_token_ttl, refresh_idle_ttl, refresh_absolute_ttl, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		[]any{"fx", "spa", "SPA", "spa", `["https://spa.example.com/cb"]`, `["https://spa.example.com/bye"]`, `["https://spa.example.com"]`,
			`["authorization_code"]`, "permissive", "required", int64(0), int64(0), int64(0), fixtureMicros, fixtureMicros, int64(1)}},
	{2, `INSERT INTO users (tenant_id, id, username, email, email_verified, name, given_name, family_name, picture, locale, address,
		phone_number, phone_number_verified, password_hash, status, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		[]any{"fx", "usr_fx", "Alice", "alice@example.com", true, "Alice Liddell", "Alice", "Liddell", "https://example.com/a.png", "en-GB",
			`{"locality":"Oxford","country":"GB"}`, "+44 1865 000000", false, "$argon2id$v=19$m=65536,t=1,p=1$c2FsdA$aGFzaA", "active",
			fixtureMicros, fixtureMicros + 1, int64(2)}},
	{2, `INSERT INTO roles (tenant_id, name, description, builtin, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		[]any{"fx", "admin", "Administrators", true, fixtureMicros, fixtureMicros, int64(1)}},
	{2, `INSERT INTO roles (tenant_id, name, description, builtin, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		[]any{"fx", "teller", "Tellers", false, fixtureMicros, fixtureMicros, int64(3)}},
	{2, `INSERT INTO role_scopes (tenant_id, role, scope, pos) VALUES ($1, $2, $3, $4)`, []any{"fx", "admin", "users:write", 0}},
	{2, `INSERT INTO role_scopes (tenant_id, role, scope, pos) VALUES ($1, $2, $3, $4)`, []any{"fx", "teller", "read:tx", 1}},
	{2, `INSERT INTO role_scopes (tenant_id, role, scope, pos) VALUES ($1, $2, $3, $4)`, []any{"fx", "teller", "email", 0}},
	{2, `INSERT INTO user_roles (tenant_id, user_id, role) VALUES ($1, $2, $3)`, []any{"fx", "usr_fx", "admin"}},
	{2, `INSERT INTO groups (tenant_id, name, description, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6)`,
		[]any{"fx", "branch", "Branch", fixtureMicros, fixtureMicros, int64(1)}},
	{2, `INSERT INTO group_roles (tenant_id, group_name, role, pos) VALUES ($1, $2, $3, $4)`, []any{"fx", "branch", "teller", 0}},
	{2, `INSERT INTO group_members (tenant_id, group_name, user_id) VALUES ($1, $2, $3)`, []any{"fx", "branch", "usr_fx"}},
	{2, `INSERT INTO consents (tenant_id, user_id, client_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)`,
		[]any{"fx", "usr_fx", "console", fixtureMicros, fixtureMicros + 1}},
	{2, `INSERT INTO consent_scopes (tenant_id, user_id, client_id, scope) VALUES ($1, $2, $3, $4)`, []any{"fx", "usr_fx", "console", "users:write"}},
	{2, `INSERT INTO consent_scopes (tenant_id, user_id, client_id, scope) VALUES ($1, $2, $3, $4)`, []any{"fx", "usr_fx", "console", "email"}},
	{2, `INSERT INTO sessions (tenant_id, id, user_id, auth_time, expires_at, last_seen, user_agent, ip, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		[]any{"fx", "ses_fx", "usr_fx", fixtureMicros, fixtureMicros + hourMicros, nil, "curl/8", "192.0.2.9", fixtureMicros}},
	{2, `INSERT INTO auth_requests (tenant_id, id, client_id, redirect_uri, scope, state, nonce, code_challenge, code_challenge_method,
		audience, prompt, max_age, login_hint, include_granted, user_id, session_id, auth_time, ask_scopes, consent_done, denied,
		created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
		[]any{"fx", "req_fx", "spa", "https://spa.example.com/cb", "openid email", "st", "n", "chal", "S256", "", "", int64(-1), "",
			false, "usr_fx", "ses_fx", fixtureMicros, `["email"]`, false, false, fixtureMicros, fixtureMicros + hourMicros}},
	{2, `INSERT INTO auth_codes (tenant_id, hash, client_id, user_id, session_id, redirect_uri, code_challenge, code_challenge_method,
		scopes, audience, nonce, auth_time, expires_at, created_at, used_at, issued_jti, issued_expires_at, family_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		[]any{"fx", "code_fx", "spa", "usr_fx", "ses_fx", "https://spa.example.com/cb", "chal", "S256", `["openid","email"]`, "aud", "n",
			fixtureMicros, fixtureMicros + hourMicros, fixtureMicros, fixtureMicros + 1, "jti_fx", fixtureMicros + hourMicros, "fam_fx"}},
	{2, `INSERT INTO refresh_tokens (tenant_id, hash, family_id, client_id, user_id, session_id, scopes, audience, auth_time,
		created_at, expires_at, family_expires_at, rotated_at, revoked)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		[]any{"fx", "rt_fx", "fam_fx", "spa", "usr_fx", "ses_fx", `["openid","offline_access"]`, "aud", fixtureMicros,
			fixtureMicros, fixtureMicros + hourMicros, fixtureMicros + 2*hourMicros, nil, false}},
	{2, `INSERT INTO throttles (tenant_id, key, failures, window_start, locked_until) VALUES ($1, $2, $3, $4, $5)`,
		[]any{"fx", "user:usr_fx", int64(3), fixtureMicros, fixtureMicros + hourMicros}},

	// 0004_refresh_access_jti: a refresh token records its access token. The
	// one written at version 2 (rt_fx) has none. The access token expires
	// far in the future, so that revoking the family still revokes it.
	{4, `INSERT INTO refresh_tokens (tenant_id, hash, family_id, client_id, user_id, session_id, scopes, audience, auth_time,
		created_at, expires_at, family_expires_at, rotated_at, revoked, access_jti, access_expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		[]any{"fx", "rt_fx4", "fam_fx", "spa", "usr_fx", "ses_fx", `["openid","offline_access"]`, "aud", fixtureMicros,
			fixtureMicros, fixtureMicros + hourMicros, fixtureMicros + 2*hourMicros, nil, false, "at_fx4", farMicros}},
	// 0006 gives every tenant without one the console application; "fx"
	// already has an application called console (its own, kept as it is).
	{5, `INSERT INTO tenants (id, name, issuer, domain, scope_pattern, rev, created_at, updated_at, version)
		VALUES ($1, $2, $3, NULL, '', $4, $5, $5, 1)`,
		[]any{"fy", "Second", "https://id.example.com/t/fy", int64(2), fixtureMicros}},
	{5, `INSERT INTO apis (tenant_id, id, identifier, name, signing_alg, access_token_ttl, platform, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		[]any{"fy", "platform", "https://id.example.com/t/fy/api/v1", "Platform", "ES256", int64(time.Hour), true, fixtureMicros, fixtureMicros, int64(1)}},
	{5, `INSERT INTO scopes (tenant_id, name, display_name, description, kind, api_id, claims, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1)`,
		[]any{"fy", "audit:read", "Read audit", "Read the audit log.", "platform", "platform", "[]", fixtureMicros}},
	{5, `INSERT INTO scopes (tenant_id, name, display_name, description, kind, api_id, claims, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, NULL, $6, $7, $7, 1)`,
		[]any{"fy", "openid", "OpenID", "Sign you in.", "oidc", "[]", fixtureMicros}},
	{5, `INSERT INTO apis (tenant_id, id, identifier, name, signing_alg, access_token_ttl, platform, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		[]any{"fy", "bank", "https://bank.example", "Bank", "ES256", int64(time.Hour), false, fixtureMicros, fixtureMicros, int64(1)}},
	{5, `INSERT INTO scopes (tenant_id, name, display_name, description, kind, api_id, claims, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1)`,
		[]any{"fy", "read:x", "Read x", "Read x.", "custom", "bank", "[]", fixtureMicros}},

	// 0007_api_token_budget: an API may have a token-size budget; the ones
	// written before (fx's platform API, fy's bank) have none.
	{7, `INSERT INTO apis (tenant_id, id, identifier, name, signing_alg, access_token_ttl, token_size_budget, platform, created_at, updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 1)`,
		[]any{"fy", "lean", "https://lean.example", "Lean", "RS256", int64(time.Hour), 700, false, fixtureMicros}},

	// 0008_mfa: second factors, recovery codes, WebAuthn challenges, and the
	// MFA columns of tenants, applications, scopes, sessions, requests,
	// codes and refresh tokens. The rows written before (fx's session, code
	// and tokens, every tenant, application and scope) read the defaults:
	// password sign-ins under the optional policy.
	{8, `UPDATE tenants SET mfa_policy = $2, mfa_grace_until = $3 WHERE id = $1`,
		[]any{"fy", "required", fixtureMicros + hourMicros}},
	{8, `INSERT INTO applications (tenant_id, client_id, name, type, redirect_uris, post_logout_redirect_uris, allowed_origins,
		grant_types, scope_policy, consent, access_token_ttl, refresh_idle_ttl, refresh_absolute_ttl, created_at, updated_at, version, mfa)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, 1, $15)`,
		[]any{"fx", "teller", "Teller", "web", `["https://teller.example.com/cb"]`, "[]", "[]", `["authorization_code"]`,
			"strict", "required", int64(0), int64(0), int64(0), fixtureMicros, "required"}},
	{8, `INSERT INTO scopes (tenant_id, name, display_name, description, kind, api_id, claims, created_at, updated_at, version, requires_mfa)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1, $9)`,
		[]any{"fy", "pay:x", "Pay x", "Pay x.", "custom", "bank", "[]", fixtureMicros, true}},
	{8, `INSERT INTO mfa_factors (tenant_id, id, user_id, type, name, secret, credential, credential_id, confirmed, counter,
		created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		[]any{"fx", "mfa_totp", "usr_fx", "totp", "Phone", []byte{0x01, 0xff}, []byte{}, nil, true, int64(57_000_000),
			fixtureMicros, fixtureMicros + 1}},
	{8, `INSERT INTO mfa_factors (tenant_id, id, user_id, type, name, secret, credential, credential_id, confirmed, counter,
		created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		[]any{"fx", "mfa_key", "usr_fx", "webauthn", "YubiKey", []byte{}, []byte(`{"publicKey":"pQ"}`), "Y3JlZA", false, int64(0),
			fixtureMicros + 2, nil}},
	{8, `INSERT INTO mfa_recovery_codes (tenant_id, user_id, hash, created_at, used_at) VALUES ($1, $2, $3, $4, $5)`,
		[]any{"fx", "usr_fx", "c0de", fixtureMicros, fixtureMicros + 1}},
	{8, `INSERT INTO mfa_recovery_codes (tenant_id, user_id, hash, created_at, used_at) VALUES ($1, $2, $3, $4, $5)`,
		[]any{"fx", "usr_fx", "c1de", fixtureMicros, nil}},
	{8, `INSERT INTO mfa_challenges (tenant_id, id, user_id, purpose, data, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		[]any{"fx", "ch_fx", nil, "login", []byte(`{"challenge":"x"}`), farMicros}},
	{8, `INSERT INTO sessions (tenant_id, id, user_id, auth_time, expires_at, last_seen, user_agent, ip, created_at, amr)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		[]any{"fx", "ses_fx8", "usr_fx", fixtureMicros, fixtureMicros + hourMicros, nil, "curl/8", "192.0.2.9", fixtureMicros,
			`["pwd","otp","mfa"]`}},
	{8, `INSERT INTO auth_requests (tenant_id, id, client_id, redirect_uri, scope, state, nonce, code_challenge, code_challenge_method,
		audience, prompt, max_age, login_hint, include_granted, user_id, session_id, auth_time, ask_scopes, consent_done, denied,
		created_at, expires_at, peer, acr_values, mfa_skipped)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)`,
		[]any{"fx", "req_fx8", "spa", "https://spa.example.com/cb", "openid", "st", "n", "chal", "S256", "", "", int64(-1), "",
			false, nil, "", nil, `[]`, false, false, fixtureMicros, fixtureMicros + hourMicros, "ip:192.0.2.9", "mfa", true}},
	{8, `INSERT INTO auth_codes (tenant_id, hash, client_id, user_id, session_id, redirect_uri, code_challenge, code_challenge_method,
		scopes, audience, nonce, auth_time, expires_at, created_at, used_at, issued_jti, issued_expires_at, family_id, amr)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
		[]any{"fx", "code_fx8", "spa", "usr_fx", "ses_fx8", "https://spa.example.com/cb", "chal", "S256", `["openid"]`, "aud", "n",
			fixtureMicros, fixtureMicros + hourMicros, fixtureMicros, nil, "", nil, "", `["pwd","otp","mfa"]`}},
	{8, `INSERT INTO refresh_tokens (tenant_id, hash, family_id, client_id, user_id, session_id, scopes, audience, auth_time,
		created_at, expires_at, family_expires_at, rotated_at, revoked, access_jti, access_expires_at, amr)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		[]any{"fx", "rt_fx8", "fam_fx8", "spa", "usr_fx", "ses_fx8", `["openid","offline_access"]`, "aud", fixtureMicros,
			fixtureMicros, farMicros, farMicros, nil, false, nil, nil, `["pwd","hwk","mfa"]`}},

	// Before 0010_audit_compact: events of tenant "fz" with a ULID ID (0010
	// stores it in 16 bytes) and with another ID (a zero byte and its text),
	// the ULID one a day after the other.
	{8, `INSERT INTO audit_events (tenant_id, id, type, time, actor_type, actor_id, client_id, subject, audience, scopes, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		[]any{"fz", "01KBMZ3Q4W8Y2V6N0R5T7X9A1C", "oauth.token_issued", fixtureMicros + 24*hourMicros, "client", "web", "web", "", "aud",
			`["me:read","openid"]`, `{"granted":["me:read","openid"]}`}},
	{8, `INSERT INTO audit_event_scopes (tenant_id, scope, time, event_id, type, client_id) VALUES ($1, $2, $3, $4, $5, $6)`,
		[]any{"fz", "me:read", fixtureMicros + 24*hourMicros, "01KBMZ3Q4W8Y2V6N0R5T7X9A1C", "oauth.token_issued", "web"}},
	{8, `INSERT INTO audit_event_scopes (tenant_id, scope, time, event_id, type, client_id) VALUES ($1, $2, $3, $4, $5, $6)`,
		[]any{"fz", "openid", fixtureMicros + 24*hourMicros, "01KBMZ3Q4W8Y2V6N0R5T7X9A1C", "oauth.token_issued", "web"}},
	{8, `INSERT INTO audit_events (tenant_id, id, type, time, actor_type, actor_id, client_id, subject, audience, scopes, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		[]any{"fz", "evt-zz", "oauth.token_issued", fixtureMicros, "client", "web", "web", "usr_fz", "aud", `["me:read"]`, nil}},
	{8, `INSERT INTO audit_event_scopes (tenant_id, scope, time, event_id, type, client_id) VALUES ($1, $2, $3, $4, $5, $6)`,
		[]any{"fz", "me:read", fixtureMicros, "evt-zz", "oauth.token_issued", "web"}},
}

// farMicros is an instant no test run reaches, in the stored unit.
var farMicros = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()

// hourMicros is an hour in the stored unit.
const hourMicros = int64(time.Hour / time.Microsecond)

// checkFixtures reads every fixture row back through the store as of the
// latest schema.
func checkFixtures(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	at := us(t0)
	tn, err := s.Tenants().GetByDomain(ctx, "id.example.com")
	must(t, err)
	equal(t, "tenant", tn, model.Tenant{ID: "fx", Name: "Fixture", Issuer: "https://id.example.com/t/fx", Domain: "Id.Example.com",
		ScopePattern: "^[a-z:]+$", MFAPolicy: model.MFAOptional, Rev: 8, CreatedAt: at, UpdatedAt: at.Add(time.Microsecond), Version: 3})
	api, err := s.APIs().Get(ctx, "fx", "platform")
	must(t, err)
	equal(t, "API", api, model.API{TenantID: "fx", ID: "platform", Identifier: "https://id.example.com/t/fx/api/v1", Name: "Platform",
		SigningAlg: "ES256", AccessTokenTTL: time.Hour, Platform: true, CreatedAt: at, UpdatedAt: at, Version: 1})
	all, err := s.Scopes().All(ctx, "fx")
	must(t, err)
	equal(t, "scopes", all, []model.Scope{
		{TenantID: "fx", Name: "email", DisplayName: "Email", Description: "Your email.", Kind: model.KindOIDC,
			Claims: []string{"email", "email_verified"}, CreatedAt: at, UpdatedAt: at, Version: 1},
		{TenantID: "fx", Name: "users:write", DisplayName: "Manage users", Description: "Manage users.", Kind: model.KindPlatform,
			APIID: "platform", Implies: []string{"users:read"}, CreatedAt: at, UpdatedAt: at, Version: 2},
	})
	app, err := s.Applications().Get(ctx, "fx", "console")
	must(t, err)
	equal(t, "application", app, model.Application{TenantID: "fx", ClientID: "console", Name: "Console", Type: model.AppWeb,
		RedirectURIs: []string{"https://id.example.com/console/cb"}, GrantTypes: []string{"authorization_code", "refresh_token"},
		AllowedScopes: []string{"email", "users:write"}, ScopePolicy: "strict", Consent: "implicit", MFA: model.AppMFAInherit,
		RefreshIdleTTL: 24 * time.Hour, RefreshAbsoluteTTL: 720 * time.Hour, CreatedAt: at, UpdatedAt: at, Version: 4})
	secrets, err := s.Applications().Secrets(ctx, "fx", "console")
	must(t, err)
	equal(t, "secrets", secrets, []model.ClientSecret{{TenantID: "fx", ClientID: "console", ID: "sec1", Hash: []byte{0xde, 0xad, 0xbe, 0xef}, CreatedAt: at}})
	keys, err := s.Keys().List(ctx, "fx")
	must(t, err)
	equal(t, "keys", keys, []model.SigningKey{{TenantID: "fx", KID: "kid1", Alg: "ES256", State: model.KeyCurrent,
		PublicJWK: []byte(`{"kty":"EC"}`), PrivateSealed: []byte{1, 2, 3}, CreatedAt: at, UpdatedAt: at}})
	ok, err := s.Revocations().IsRevoked(ctx, "fx", "jti1")
	must(t, err)
	equal(t, "revoked", ok, true)
	events, err := s.Audit().Search(ctx, store.AuditQuery{TenantID: "fx", Scope: "users:write"})
	must(t, err)
	equal(t, "events", events, []model.AuditEvent{{ID: "01J0000000FX", TenantID: "fx", Type: "oauth.token_issued", Time: at,
		ActorType: "client", ActorID: "console", ClientID: "console", Subject: "usr_1", Audience: "aud",
		Scopes: []string{"users:write"}, Details: json.RawMessage(`{"granted":["users:write"]}`)}})
	// 0003 filled in the scope row's time, type and client from its event.
	usage, err := s.Audit().ScopeUsage(ctx, "fx", time.Time{})
	must(t, err)
	equal(t, "scope usage", usage, []store.ScopeUsage{{ClientID: "console", Scope: "users:write", Grants: 1, Last: at}})
	n, err := s.Audit().CountGrants(ctx, "fx", "users:write", at)
	must(t, err)
	equal(t, "grants", n, 1)
	holders, err := s.Scopes().Holders(ctx, "fx", "users:write")
	must(t, err)
	equal(t, "holders", holders, []string{"console"})
	// (The application written at version 1 came back above with no
	// post-logout redirect URIs and no allowed origins: 0002's defaults.)
	checkFixtures2(t, s)
	checkFixtures4(t, s)
	checkFixtures6(t, s)
	checkFixtures7(t, s)
	checkFixtures8(t, s)
	checkFixtures10(t, s)
}

// checkFixtures10 reads back the audit events 0010_audit_compact copied:
// IDs (the ULID through its 16-byte key), order, cursor, scope rows and
// the daily grant counters it computed.
func checkFixtures10(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	at := us(t0)
	ulid := model.AuditEvent{ID: "01KBMZ3Q4W8Y2V6N0R5T7X9A1C", TenantID: "fz", Type: "oauth.token_issued", Time: at.Add(24 * time.Hour),
		ActorType: "client", ActorID: "web", ClientID: "web", Audience: "aud", Scopes: []string{"me:read", "openid"},
		Details: json.RawMessage(`{"granted":["me:read","openid"]}`)}
	other := model.AuditEvent{ID: "evt-zz", TenantID: "fz", Type: "oauth.token_issued", Time: at, ActorType: "client", ActorID: "web",
		ClientID: "web", Subject: "usr_fz", Audience: "aud", Scopes: []string{"me:read"}}
	events, err := s.Audit().Search(ctx, store.AuditQuery{TenantID: "fz"})
	must(t, err)
	equal(t, "0010 events, newest first", events, []model.AuditEvent{ulid, other})
	events, err = s.Audit().Search(ctx, store.AuditQuery{TenantID: "fz", Before: ulid.ID})
	must(t, err)
	equal(t, "0010 events before the ULID", eventIDs(events), []string{"evt-zz"})
	events, err = s.Audit().Search(ctx, store.AuditQuery{TenantID: "fz", Scope: "openid"})
	must(t, err)
	equal(t, "0010 scope rows", eventIDs(events), []string{ulid.ID})
	events, err = s.Audit().Search(ctx, store.AuditQuery{TenantID: "fz", Subject: "usr_fz"})
	must(t, err)
	equal(t, "0010 subject", eventIDs(events), []string{"evt-zz"})
	byDay, err := s.Audit().ScopeUsageByDay(ctx, "fz", time.Time{})
	must(t, err)
	day := at.Truncate(24 * time.Hour)
	equal(t, "0010 counters", byDay, []store.DailyScopeUsage{
		{ClientID: "web", Scope: "me:read", Day: day, Grants: 1},
		{ClientID: "web", Scope: "me:read", Day: day.Add(24 * time.Hour), Grants: 1},
		{ClientID: "web", Scope: "openid", Day: day.Add(24 * time.Hour), Grants: 1},
	})
}

// checkFixtures8 reads back the rows written in the shape of 0008_mfa, and
// the defaults it gave the rows written before it.
func checkFixtures8(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	at := us(t0)
	fy, err := s.Tenants().Get(ctx, "fy")
	must(t, err)
	equal(t, "fy policy", fy.MFAPolicy, model.MFARequired)
	equal(t, "fy grace", fy.MFAGraceUntil, at.Add(time.Hour))
	teller, err := s.Applications().Get(ctx, "fx", "teller")
	must(t, err)
	equal(t, "teller MFA", teller.MFA, model.AppMFARequired)
	scopes, err := s.Scopes().All(ctx, "fy")
	must(t, err)
	req := map[string]bool{}
	for _, sc := range scopes {
		req[sc.Name] = sc.RequiresMFA
	}
	equal(t, "requires_mfa of fy's scopes", req, map[string]bool{"audit:read": false, "openid": false, "read:x": false, "pay:x": true})

	factors, err := s.Factors().List(ctx, "fx", "usr_fx")
	must(t, err)
	equal(t, "factors", factors, []model.Factor{
		{TenantID: "fx", ID: "mfa_totp", UserID: "usr_fx", Type: model.FactorTOTP, Name: "Phone", Secret: []byte{0x01, 0xff},
			Confirmed: true, Counter: 57_000_000, CreatedAt: at, LastUsedAt: at.Add(time.Microsecond)},
		{TenantID: "fx", ID: "mfa_key", UserID: "usr_fx", Type: model.FactorWebAuthn, Name: "YubiKey",
			Credential: []byte(`{"publicKey":"pQ"}`), CredentialID: "Y3JlZA", CreatedAt: at.Add(2 * time.Microsecond)},
	})
	// The step stored before is still spent.
	wantErr(t, s.Factors().Use(ctx, "fx", "usr_fx", "mfa_totp", 57_000_000, nil, t0), store.ErrPrecondition)
	key, err := s.Factors().GetByCredentialID(ctx, "fx", "Y3JlZA")
	must(t, err)
	equal(t, "by credential", key.ID, "mfa_key")
	codes, err := s.Factors().RecoveryCodes(ctx, "fx", "usr_fx")
	must(t, err)
	equal(t, "recovery codes", codes, []model.RecoveryCode{
		{TenantID: "fx", UserID: "usr_fx", Hash: "c0de", CreatedAt: at, UsedAt: at.Add(time.Microsecond)},
		{TenantID: "fx", UserID: "usr_fx", Hash: "c1de", CreatedAt: at},
	})
	wantErr(t, s.Factors().UseRecoveryCode(ctx, "fx", "usr_fx", "c0de", t0), store.ErrNotFound)
	ch, err := s.Factors().TakeChallenge(ctx, "fx", "ch_fx", t0)
	must(t, err)
	equal(t, "challenge", ch, model.MFAChallenge{TenantID: "fx", ID: "ch_fx", Purpose: "login", Data: []byte(`{"challenge":"x"}`),
		ExpiresAt: time.UnixMicro(farMicros).UTC()})

	se, err := s.Sessions().Get(ctx, "fx", "ses_fx8")
	must(t, err)
	equal(t, "session AMR", se.AMR, []string{"pwd", "otp", "mfa"})
	ar, err := s.AuthRequests().Get(ctx, "fx", "req_fx8")
	must(t, err)
	equal(t, "acr_values, mfa_skipped", []any{ar.ACRValues, ar.MFASkipped}, []any{"mfa", true})
	old, err := s.AuthRequests().Get(ctx, "fx", "req_fx")
	must(t, err)
	equal(t, "request from before 0008", []any{old.ACRValues, old.MFASkipped}, []any{"", false})
	code, err := s.Codes().Get(ctx, "fx", "code_fx8")
	must(t, err)
	equal(t, "code AMR", code.AMR, []string{"pwd", "otp", "mfa"})
	rt, err := s.RefreshTokens().Rotate(ctx, "fx", "rt_fx8", model.RefreshToken{Hash: "rt_fx8b", ExpiresAt: time.UnixMicro(farMicros)}, t0)
	must(t, err)
	equal(t, "rotated AMR", rt.AMR, []string{"pwd", "hwk", "mfa"})
}

// checkFixtures7 reads back the budget written in the shape of
// 0007_api_token_budget, and no budget for an API from before it.
func checkFixtures7(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	lean, err := s.APIs().Get(ctx, "fy", "lean")
	must(t, err)
	equal(t, "budget written at 0007", lean.TokenSizeBudget, 700)
	bank, err := s.APIs().Get(ctx, "fy", "bank")
	must(t, err)
	equal(t, "budget of an API from before 0007", bank.TokenSizeBudget, 0)
}

// checkFixtures6 finds the console application 0006 created for the tenant
// that had none (and a bumped rev, so that running nodes reload it).
func checkFixtures6(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	app, err := s.Applications().Get(ctx, "fy", model.ConsoleClientID)
	must(t, err)
	app.CreatedAt, app.UpdatedAt = time.Time{}, time.Time{}
	equal(t, "console application", app, model.Application{TenantID: "fy", ClientID: "console", Name: "IntelliAuth console", Type: model.AppWeb,
		RedirectURIs: []string{"https://id.example.com/t/fy/console/callback"}, PostLogoutRedirectURIs: []string{"https://id.example.com/t/fy/console/signed-out"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, AllowedScopes: []string{"audit:read", "openid"},
		ScopePolicy: model.PolicyPermissive, Consent: model.ConsentImplicit, MFA: model.AppMFAInherit, AccessTokenTTL: 5 * time.Minute, Version: 1})
	tn, err := s.Tenants().Get(ctx, "fy")
	must(t, err)
	equal(t, "rev of fy", tn.Rev, int64(3))
}

// checkFixtures4 reads back the refresh token written in the shape of
// 0004_refresh_access_jti, and revokes its family, which also holds a token
// from before 0004 (no access token recorded).
func checkFixtures4(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	at := us(t0)
	rt, err := s.RefreshTokens().Get(ctx, "fx", "rt_fx4")
	must(t, err)
	equal(t, "refresh token with its access token", rt, model.RefreshToken{TenantID: "fx", Hash: "rt_fx4", FamilyID: "fam_fx",
		ClientID: "spa", UserID: "usr_fx", SessionID: "ses_fx", Scopes: []string{"openid", "offline_access"}, Audience: "aud",
		AuthTime: at, CreatedAt: at, ExpiresAt: at.Add(time.Hour), FamilyExpiresAt: at.Add(2 * time.Hour),
		AccessJTI: "at_fx4", AccessExpiresAt: time.UnixMicro(farMicros).UTC(), AMR: []string{"pwd"}})
	must(t, s.RefreshTokens().RevokeFamily(ctx, "fx", "fam_fx"))
	for _, h := range []string{"rt_fx", "rt_fx4"} {
		tok, err := s.RefreshTokens().Get(ctx, "fx", h)
		must(t, err)
		equal(t, h+" revoked", tok.Revoked, true)
	}
	ok, err := s.Revocations().IsRevoked(ctx, "fx", "at_fx4")
	must(t, err)
	equal(t, "access token of the family revoked", ok, true)
}

// checkFixtures2 reads back the rows written in the shape of 0002_users.
func checkFixtures2(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	at := us(t0)
	hour := at.Add(time.Hour)
	spa, err := s.Applications().Get(ctx, "fx", "spa")
	must(t, err)
	equal(t, "spa", spa, model.Application{TenantID: "fx", ClientID: "spa", Name: "SPA", Type: model.AppSPA,
		RedirectURIs: []string{"https://spa.example.com/cb"}, PostLogoutRedirectURIs: []string{"https://spa.example.com/bye"},
		AllowedOrigins: []string{"https://spa.example.com"}, GrantTypes: []string{"authorization_code"},
		ScopePolicy: "permissive", Consent: "required", MFA: model.AppMFAInherit, CreatedAt: at, UpdatedAt: at, Version: 1})
	u, err := s.Users().GetByLogin(ctx, "fx", "ALICE@example.com")
	must(t, err)
	equal(t, "user", u, model.User{TenantID: "fx", ID: "usr_fx", Username: "Alice", Email: "alice@example.com", EmailVerified: true,
		Name: "Alice Liddell", GivenName: "Alice", FamilyName: "Liddell", Picture: "https://example.com/a.png", Locale: "en-GB",
		Address: model.Address{Locality: "Oxford", Country: "GB"}, PhoneNumber: "+44 1865 000000",
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=1$c2FsdA$aGFzaA", Status: model.UserActive,
		CreatedAt: at, UpdatedAt: at.Add(time.Microsecond), Version: 2})
	rs, err := s.Roles().List(ctx, "fx")
	must(t, err)
	equal(t, "roles", rs, []model.Role{
		{TenantID: "fx", Name: "admin", Description: "Administrators", Scopes: []string{"users:write"}, Builtin: true, CreatedAt: at, UpdatedAt: at, Version: 1},
		{TenantID: "fx", Name: "teller", Description: "Tellers", Scopes: []string{"email", "read:tx"}, CreatedAt: at, UpdatedAt: at, Version: 3},
	})
	g, err := s.Groups().Get(ctx, "fx", "branch")
	must(t, err)
	equal(t, "group", g, model.Group{TenantID: "fx", Name: "branch", Description: "Branch", Roles: []string{"teller"}, CreatedAt: at, UpdatedAt: at, Version: 1})
	roles, err := s.Roles().OfUser(ctx, "fx", "usr_fx")
	must(t, err)
	equal(t, "roles of the user", roles, []string{"admin", "teller"})
	scopes, err := s.Roles().ScopesOfUser(ctx, "fx", "usr_fx")
	must(t, err)
	equal(t, "scopes of the user", scopes, []string{"email", "read:tx", "users:write"})
	c, err := s.Consents().Get(ctx, "fx", "usr_fx", "console")
	must(t, err)
	equal(t, "consent", c, model.Consent{TenantID: "fx", UserID: "usr_fx", ClientID: "console", Scopes: []string{"email", "users:write"},
		CreatedAt: at, UpdatedAt: at.Add(time.Microsecond)})
	impact, err := s.Scopes().Impact(ctx, "fx", "users:write")
	must(t, err)
	equal(t, "impact", impact, store.ScopeImpact{Applications: []string{"console"}, Roles: []string{"admin"}, Consents: 1})
	se, err := s.Sessions().Get(ctx, "fx", "ses_fx")
	must(t, err)
	equal(t, "session", se, model.Session{TenantID: "fx", ID: "ses_fx", UserID: "usr_fx", AuthTime: at, ExpiresAt: hour,
		UserAgent: "curl/8", IP: "192.0.2.9", CreatedAt: at, AMR: []string{"pwd"}})
	ar, err := s.AuthRequests().Get(ctx, "fx", "req_fx")
	must(t, err)
	equal(t, "authorization request", ar, model.AuthRequest{TenantID: "fx", ID: "req_fx", ClientID: "spa", RedirectURI: "https://spa.example.com/cb",
		Scope: "openid email", State: "st", Nonce: "n", CodeChallenge: "chal", CodeChallengeMethod: "S256", MaxAge: -1,
		UserID: "usr_fx", SessionID: "ses_fx", AuthTime: at, AskScopes: []string{"email"}, CreatedAt: at, ExpiresAt: hour})
	code, err := s.Codes().Redeem(ctx, "fx", "code_fx", t0)
	wantErr(t, err, store.ErrReused)
	equal(t, "code", code, model.AuthCode{TenantID: "fx", Hash: "code_fx", ClientID: "spa", UserID: "usr_fx", SessionID: "ses_fx",
		RedirectURI: "https://spa.example.com/cb", CodeChallenge: "chal", CodeChallengeMethod: "S256", Scopes: []string{"openid", "email"},
		Audience: "aud", Nonce: "n", AuthTime: at, ExpiresAt: hour, CreatedAt: at, UsedAt: at.Add(time.Microsecond),
		IssuedJTI: "jti_fx", IssuedExpiresAt: hour, FamilyID: "fam_fx", AMR: []string{"pwd"}})
	rt, err := s.RefreshTokens().Get(ctx, "fx", "rt_fx")
	must(t, err)
	equal(t, "refresh token", rt, model.RefreshToken{TenantID: "fx", Hash: "rt_fx", FamilyID: "fam_fx", ClientID: "spa", UserID: "usr_fx",
		SessionID: "ses_fx", Scopes: []string{"openid", "offline_access"}, Audience: "aud", AuthTime: at, CreatedAt: at,
		ExpiresAt: hour, FamilyExpiresAt: at.Add(2 * time.Hour), AMR: []string{"pwd"}}) // no access token: NULLs since 0004
	th, err := s.Throttles().Get(ctx, "fx", "user:usr_fx")
	must(t, err)
	equal(t, "throttle", th, model.Throttle{TenantID: "fx", Key: "user:usr_fx", Failures: 3, WindowStart: at, LockedUntil: hour})
}

// RunMigrationTests checks a SQL backend's migrations: fixture rows written
// between steps survive every later step and re-runs, Migrate is idempotent,
// and several nodes may migrate one database at once. open must return a
// fresh, empty, unmigrated database for each call and register its cleanup.
func RunMigrationTests(t *testing.T, open func(t *testing.T) MigrationEnv) {
	t.Run("fixture rows survive later steps and re-runs", func(t *testing.T) {
		env := open(t)
		ctx := t.Context()
		last := 0
		for _, f := range migrationFixtures {
			if f.version != last {
				must(t, env.Migrator.MigrateTo(ctx, f.version))
				v, err := env.Migrator.SchemaVersion(ctx)
				must(t, err)
				equal(t, "schema version after step", v, f.version)
				last = f.version
			}
			if err := env.Exec(ctx, f.query, f.args...); err != nil {
				t.Fatalf("fixture for version %d: %v\n%s", f.version, err, f.query)
			}
		}
		must(t, env.Migrator.Migrate(ctx))
		must(t, env.Migrator.Migrate(ctx))
		v, err := env.Migrator.SchemaVersion(ctx)
		must(t, err)
		if v < last {
			t.Fatalf("schema version %d after Migrate, below the fixtures' %d", v, last)
		}
		checkFixtures(t, env.Store)
	})
	t.Run("CheckSchema: not migrated, one step behind, current", func(t *testing.T) {
		env := open(t)
		ctx := t.Context()
		if err := env.Store.CheckSchema(ctx); err == nil || !strings.Contains(err.Error(), "intelliauth migrate") {
			t.Fatalf("an empty database: %v, want an error naming intelliauth migrate", err)
		}
		must(t, env.Migrator.Migrate(ctx))
		must(t, env.Store.CheckSchema(ctx))
		latest, err := env.Migrator.SchemaVersion(ctx)
		must(t, err)
		behind := open(t)
		must(t, behind.Migrator.MigrateTo(ctx, latest-1))
		err = behind.Store.CheckSchema(ctx)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("at version %d and this binary needs version %d", latest-1, latest)) {
			t.Fatalf("one step behind: %v", err)
		}
	})
	t.Run("Migrate is idempotent", func(t *testing.T) {
		env := open(t)
		ctx := t.Context()
		v0, err := env.Migrator.SchemaVersion(ctx)
		must(t, err)
		equal(t, "empty database", v0, 0)
		must(t, env.Migrator.Migrate(ctx))
		v1, err := env.Migrator.SchemaVersion(ctx)
		must(t, err)
		if v1 < 1 {
			t.Fatalf("schema version %d after Migrate", v1)
		}
		must(t, env.Migrator.Migrate(ctx))
		v2, err := env.Migrator.SchemaVersion(ctx)
		must(t, err)
		equal(t, "version after re-run", v2, v1)
		must(t, env.Store.Tenants().Create(ctx, newTenant("a")))
	})
	t.Run("several nodes migrate one database at once", func(t *testing.T) {
		env := open(t)
		ctx := t.Context()
		nodes := []Migrator{env.Migrator}
		for range 3 {
			nodes = append(nodes, env.Another(t))
		}
		errs := make([]error, len(nodes))
		var wg sync.WaitGroup
		for i, m := range nodes {
			wg.Go(func() { errs[i] = m.Migrate(ctx) })
		}
		wg.Wait()
		must(t, errors.Join(errs...))
		must(t, env.Store.Tenants().Create(ctx, newTenant("a")))
	})
}
