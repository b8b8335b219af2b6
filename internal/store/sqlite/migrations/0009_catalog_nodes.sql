-- 0009_catalog_nodes (SQLite): nothing to do. PostgreSQL's 0009 adds the
-- change feed and node leases that let several nodes share one database
-- (issue 12); one SQLite database is served by one node, whose own writes
-- drop its cache. The step exists so both dialects keep one version list.
SELECT 1;
