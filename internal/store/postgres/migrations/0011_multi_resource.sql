-- 0011_multi_resource (PostgreSQL): grants of several APIs (RFC 8707 §2.1). An
-- authorization request may name several resource parameters; the request
-- keeps the APIs it names (auth_requests.resources: a JSON array of API
-- identifiers), and its code and refresh-token family keep the scopes
-- granted for each API (auth_codes.resources, refresh_tokens.resources: a
-- JSON array of {"aud": identifier, "scopes": [names]}). '[]' is a grant of
-- one API, which every row written before this migration keeps: audience
-- and scopes still say everything about it.

ALTER TABLE auth_requests ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
ALTER TABLE auth_codes ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
ALTER TABLE refresh_tokens ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
