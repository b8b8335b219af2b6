-- 0011_placeholder: a no-op keeping the versions contiguous on branch c-mres
-- (0009–0011 are other branches' migrations; the merge drops this file).
SELECT 1;
