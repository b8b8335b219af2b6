-- 0009_placeholder: an empty step that keeps the versions contiguous on the
-- c-audit branch (storetest's CheckSchema test steps back one version).
-- 0009 belongs to c-nodes: drop this file when that branch's 0009 is merged.
SELECT 1;
