-- The referee's daily bars against the stored ones: one line `code date (why)` for each row
-- that differs, none when they are equal. {rows}: a jsonb array of rows, each the 18 daily
-- fields in the order of baostock::value::DAILY_FIELDS as the server sends them (text);
-- {scope}: a predicate on baostock.daily_bars naming the rows the referee's cover. Compared as
-- numerics, empty strings as NULL. Used by pgrx-tests/e2e.rs and tests/harness/lib.rs.
WITH p AS (
    SELECT (r->>0)::date AS date, r->>1 AS code, r FROM jsonb_array_elements({rows}) r
), b AS (SELECT * FROM baostock.daily_bars WHERE {scope})
SELECT coalesce(p.code, b.code) || ' ' || coalesce(p.date, b.date)::text || CASE
         WHEN b.code IS NULL THEN ' (not stored)' WHEN p.code IS NULL THEN ' (stored, not expected)'
         ELSE ' (values differ)' END
FROM p FULL JOIN b ON b.code = p.code AND b.date = p.date
WHERE p.code IS NULL OR b.code IS NULL
   OR b.open IS DISTINCT FROM nullif(r->>2, '')::numeric
   OR b.high IS DISTINCT FROM nullif(r->>3, '')::numeric
   OR b.low IS DISTINCT FROM nullif(r->>4, '')::numeric
   OR b.close IS DISTINCT FROM nullif(r->>5, '')::numeric
   OR b.preclose IS DISTINCT FROM nullif(r->>6, '')::numeric
   OR b.volume IS DISTINCT FROM nullif(r->>7, '')::bigint
   OR b.amount IS DISTINCT FROM nullif(r->>8, '')::numeric
   OR b.adjustflag IS DISTINCT FROM nullif(r->>9, '')::smallint
   OR b.turn IS DISTINCT FROM nullif(r->>10, '')::numeric
   OR b.trade_status IS DISTINCT FROM (nullif(r->>11, '') = '1')
   OR b.pct_chg IS DISTINCT FROM nullif(r->>12, '')::numeric
   OR b.pe_ttm IS DISTINCT FROM nullif(r->>13, '')::numeric
   OR b.pb_mrq IS DISTINCT FROM nullif(r->>14, '')::numeric
   OR b.ps_ttm IS DISTINCT FROM nullif(r->>15, '')::numeric
   OR b.pcf_ncf_ttm IS DISTINCT FROM nullif(r->>16, '')::numeric
   OR b.is_st IS DISTINCT FROM (nullif(r->>17, '') = '1')
ORDER BY 1
