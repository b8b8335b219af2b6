-- 0007_api_token_budget (SQLite): an API's optional access-token size
-- budget in bytes (model.API.TokenSizeBudget). 0 is no budget, which every
-- API written before this migration keeps. The bounds (0, or 256–65536) are
-- model.API.Validate's; the column only holds the number.
--
-- The token endpoint reads it with the API, from the tenant's snapshot: a
-- token longer than its API's budget is flagged in its oauth.token_issued
-- event and counted; explain reports it before any token is issued.

ALTER TABLE apis ADD COLUMN token_size_budget INTEGER NOT NULL DEFAULT 0; -- bytes; 0: no budget
