-- 0004_refresh_access_jti (PostgreSQL): every refresh token records the
-- access token issued together with it (by the code exchange that started
-- the family, or by the rotation that created this token), so that revoking
-- the family revokes those access tokens too (RFC 7009 §2.1: the server
-- "SHOULD also invalidate all access tokens based on the same authorization
-- grant"). RevokeFamily and RevokeByUser copy the unexpired ones into
-- revocations in their transaction.
--
-- Both columns are written by the INSERT that already stores the token: the
-- token endpoint pays a few bytes, not a statement. Rows written before this
-- migration have NULLs and keep working; their access tokens expire on
-- their own, as they did before. Adding a nullable column without a default
-- only changes the catalog: the table is not rewritten.
--
-- No index: the jtis are only read through the family (refresh_tokens_family)
-- or the user (refresh_tokens_user).

ALTER TABLE refresh_tokens ADD COLUMN access_jti        TEXT COLLATE "C"; -- NULL: not recorded
ALTER TABLE refresh_tokens ADD COLUMN access_expires_at BIGINT;           -- unix µs; NULL with access_jti
