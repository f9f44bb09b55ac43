-- The referee's adjust factors against the stored ones: one line `code date (why)` for each
-- row that differs, none when they are equal. {rows}: a jsonb array of rows (code,
-- dividOperateDate, fore, back, adjust; text); {scope}: a predicate on baostock.adjust_factors
-- naming the rows the referee's cover. Used by pgrx-tests/e2e.rs and tests/harness/lib.rs.
WITH p AS (
    SELECT r->>0 AS code, (r->>1)::date AS operate_date, r FROM jsonb_array_elements({rows}) r
), f AS (SELECT * FROM baostock.adjust_factors WHERE {scope})
SELECT coalesce(p.code, f.code) || ' ' || coalesce(p.operate_date, f.operate_date)::text || CASE
         WHEN f.code IS NULL THEN ' (not stored)' WHEN p.code IS NULL THEN ' (stored, not expected)'
         ELSE ' (values differ)' END
FROM p FULL JOIN f ON f.code = p.code AND f.operate_date = p.operate_date
WHERE p.code IS NULL OR f.code IS NULL
   OR f.fore_factor IS DISTINCT FROM nullif(r->>2, '')::numeric
   OR f.back_factor IS DISTINCT FROM nullif(r->>3, '')::numeric
   OR f.adjust_factor IS DISTINCT FROM nullif(r->>4, '')::numeric
ORDER BY 1
