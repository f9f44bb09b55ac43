-- pg_baostock: adjusted prices, computed from the raw bars and the back factors (never
-- downloaded). The server's rule, which its answers with adjustflag 1 and 2 follow to the
-- last of their 10 decimals:
--   hfq (back-adjusted)    price x back_factor in force that day
--   qfq (forward-adjusted) price x round(back_factor in force / the code's latest back_factor, 6)
-- where the factor in force is that of the code's latest factor row with operate_date on or
-- before the day (1.000000 before its first). A raw price has 4 decimals and a factor 6, so
-- the product has exactly 10. A new dividend changes every forward-adjusted price before it
-- (the latest back factor moves) and no back-adjusted one. Weeks and months are built from
-- the daily bars the way the server builds them: first open, highest high, lowest low, last
-- close of the adjusted daily prices within the range asked; volume, amount and turnover
-- summed; pct_chg from the close before the period to its last close (raw prices).

-- The last day through which a code's stored factor history is known to be complete: the end
-- of its newest whole-history fetch (a factors range from the first trading day), carried on
-- by each synced day after it (whose 9C brings that day's factors) up to the first trading day
-- that is not synced. NULL when the whole history was never fetched.
CREATE FUNCTION baostock.factors_known_through(code text) RETURNS date
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    through date;
BEGIN
    IF $1 IS NULL THEN
        RAISE EXCEPTION 'pg_baostock: factors_known_through: code must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT max(upper(r.span)) - 1 INTO through FROM baostock.synced_ranges r
    WHERE r.code = $1 AND r.kind = 'factors' AND lower(r.span) <= date '1990-12-19';
    IF through IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN coalesce((SELECT min(c.day) - 1 FROM baostock.trade_calendar c
                     WHERE c.is_trading_day AND c.day > through
                       AND NOT EXISTS (SELECT 1 FROM baostock.synced_days s WHERE s.day = c.day)),
                    greatest(through, (SELECT max(day) FROM baostock.trade_calendar)));
END
$$;
COMMENT ON FUNCTION baostock.factors_known_through(text) IS 'The last day through which the code''s stored adjust factors are known complete (its whole history fetched, then every trading day synced); NULL when its whole history was never fetched. Forward-adjusted prices equal the server''s only while this reaches the last trading day before today.';

-- The price factor of a code for an adjust mode over each stretch of days: from each factor
-- row's operate_date until the next one's, and before the first one (from -infinity). One pass
-- over the code's factors, which the bars then join by range (called once a query).
CREATE FUNCTION baostock.factor_ranges(code text, adjust text)
RETURNS TABLE (since date, until date, factor numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    known date;
BEGIN
    IF $1 IS NULL OR $2 IS NULL THEN
        RAISE EXCEPTION 'pg_baostock: factor_ranges: code and adjust must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF $2 NOT IN ('qfq', 'hfq', 'none') THEN
        RAISE EXCEPTION 'pg_baostock: factor_ranges: unknown adjust mode %', quote_literal($2)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Adjust modes are qfq (forward), hfq (back) and none.';
    END IF;
    -- Adjusted prices from an unknown factor history are not the server's: say so, never
    -- guess. Back-adjusted ones need the factors up to each day (a history fetched once);
    -- forward-adjusted ones also the latest (a dividend after what is known moves them all).
    IF $2 IN ('qfq', 'hfq') THEN
        known := baostock.factors_known_through($1);
    END IF;
    IF ($2 = 'hfq' AND known IS NULL)
       OR ($2 = 'qfq' AND (known IS NULL OR EXISTS (SELECT 1 FROM baostock.trade_calendar c
                                                     WHERE c.is_trading_day AND c.day > known
                                                       AND c.day < (now() AT TIME ZONE 'Asia/Shanghai')::date))) THEN
        RAISE WARNING 'pg_baostock: %: its % prices may differ from the server''s',
            CASE WHEN known IS NULL THEN format('the whole factor history of %s was never fetched', $1)
                 ELSE format('the adjust factors of %s are known only through %s', $1, to_char(known, 'YYYY-MM-DD')) END,
            CASE $2 WHEN 'qfq' THEN 'forward-adjusted (qfq)' ELSE 'back-adjusted (hfq)' END
            USING HINT = format('SELECT baostock.backfill(%L, codes => ARRAY[%L]) fetches its factor history up to today; sync_date() keeps it current.',
                                (SELECT to_char(coalesce(min(b.date), date '1990-12-19'), 'YYYY-MM-DD')
                                 FROM baostock.daily_bars b WHERE b.code = $1), $1);
    END IF;
    RETURN QUERY
    WITH f AS (
        SELECT a.operate_date, a.back_factor,
               lead(a.operate_date) OVER (ORDER BY a.operate_date) AS next,
               last_value(a.back_factor) OVER (ORDER BY a.operate_date
                                               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS latest
        FROM baostock.adjust_factors a WHERE a.code = $1
    ), r AS (
        SELECT '-infinity'::date AS d0, coalesce(min(f.operate_date), 'infinity') AS d1, 1.000000::numeric AS back,
               coalesce(max(f.latest), 1.000000) AS latest
        FROM f
        UNION ALL
        SELECT f.operate_date, coalesce(f.next, 'infinity'), coalesce(f.back_factor, 1.000000),
               coalesce(f.latest, 1.000000)
        FROM f
    )
    SELECT '-infinity'::date, 'infinity'::date, 1::numeric WHERE $2 = 'none'
    UNION ALL
    SELECT r.d0, r.d1, CASE $2 WHEN 'hfq' THEN r.back ELSE round(r.back / nullif(r.latest, 0), 6) END
    FROM r WHERE $2 IN ('hfq', 'qfq');
END
$$;
COMMENT ON FUNCTION baostock.factor_ranges(text, text) IS 'The price factor of a code for an adjust mode over each stretch of days [since, until): none 1; hfq the back factor in force (1.000000 before the first factor row); qfq that back factor / the code''s latest back factor rounded to 6 decimals, as the server computes its fore factor.';

-- adjusted_bars' body: PL/pgSQL cannot name a parameter like a result column (code, date).
CREATE FUNCTION baostock.adjusted_bars_of(
    c text,
    start_date date,
    end_date date,
    adjust text,
    frequency text
) RETURNS TABLE (
    code text, date date, "time" timestamp, open numeric, high numeric, low numeric, close numeric,
    preclose numeric, volume bigint, amount numeric, adjustflag smallint, turn numeric, trade_status boolean,
    pct_chg numeric, pe_ttm numeric, pb_mrq numeric, ps_ttm numeric, pcf_ncf_ttm numeric, is_st boolean
)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    flag smallint;
BEGIN
    IF c IS NULL OR start_date IS NULL OR end_date IS NULL OR adjust IS NULL OR frequency IS NULL THEN
        RAISE EXCEPTION 'pg_baostock: adjusted_bars: code, start_date, end_date, adjust and frequency must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    flag := CASE adjust WHEN 'qfq' THEN 2 WHEN 'hfq' THEN 1 WHEN 'none' THEN 3 END;
    IF flag IS NULL THEN
        RAISE EXCEPTION 'pg_baostock: adjusted_bars: unknown adjust mode %', quote_literal(adjust)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Adjust modes are qfq (forward), hfq (back) and none.';
    END IF;
    IF frequency NOT IN ('d', 'w', 'm', '5', '15', '30', '60') THEN
        RAISE EXCEPTION 'pg_baostock: adjusted_bars: unknown frequency %', quote_literal(frequency)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Frequencies are d, w, m, 5, 15, 30 and 60.';
    END IF;
    IF start_date > end_date THEN
        RAISE EXCEPTION 'pg_baostock: adjusted_bars: start_date % is after end_date %', start_date, end_date
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF frequency IN ('5', '15', '30', '60')
       AND EXISTS (SELECT 1 FROM baostock.securities s WHERE s.code = c AND s.sec_type = 2) THEN
        RAISE EXCEPTION 'pg_baostock: adjusted_bars: the server has no minute bars of indices (% is one)', c
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Ask for its daily, weekly or monthly bars instead.';
    END IF;

    -- Daily, weekly and monthly prices come from the stored adjusted columns; factor_ranges
    -- still says when the code's factor history makes them differ from the server's.
    IF frequency IN ('d', 'w', 'm') AND adjust <> 'none' THEN
        PERFORM FROM baostock.factor_ranges(c, adjust) LIMIT 1;
    END IF;
    IF frequency = 'd' THEN
        RETURN QUERY
        SELECT b.code, b.date, NULL::timestamp,
               CASE adjust WHEN 'qfq' THEN b.qfq_open WHEN 'hfq' THEN b.hfq_open ELSE b.open END,
               CASE adjust WHEN 'qfq' THEN b.qfq_high WHEN 'hfq' THEN b.hfq_high ELSE b.high END,
               CASE adjust WHEN 'qfq' THEN b.qfq_low WHEN 'hfq' THEN b.hfq_low ELSE b.low END,
               CASE adjust WHEN 'qfq' THEN b.qfq_close WHEN 'hfq' THEN b.hfq_close ELSE b.close END,
               CASE adjust WHEN 'qfq' THEN b.qfq_preclose WHEN 'hfq' THEN b.hfq_preclose ELSE b.preclose END,
               b.volume, b.amount, flag, b.turn, b.trade_status, b.pct_chg,
               b.pe_ttm, b.pb_mrq, b.ps_ttm, b.pcf_ncf_ttm, b.is_st
        FROM baostock.daily_bars b
        WHERE b.code = c AND b.date BETWEEN start_date AND end_date
        ORDER BY b.date;
    ELSIF frequency IN ('w', 'm') THEN
        RETURN QUERY
        WITH d AS (
            SELECT b.*,
                   CASE adjust WHEN 'qfq' THEN b.qfq_open WHEN 'hfq' THEN b.hfq_open ELSE b.open END AS a_open,
                   CASE adjust WHEN 'qfq' THEN b.qfq_high WHEN 'hfq' THEN b.hfq_high ELSE b.high END AS a_high,
                   CASE adjust WHEN 'qfq' THEN b.qfq_low WHEN 'hfq' THEN b.hfq_low ELSE b.low END AS a_low,
                   CASE adjust WHEN 'qfq' THEN b.qfq_close WHEN 'hfq' THEN b.hfq_close ELSE b.close END AS a_close,
                   date_trunc(CASE adjusted_bars_of.frequency WHEN 'w' THEN 'week' ELSE 'month' END, b.date) AS period
            FROM baostock.daily_bars b
            WHERE b.code = c AND b.date BETWEEN start_date AND end_date
        )
        SELECT c, max(d.date), NULL::timestamp,
               (array_agg(d.a_open ORDER BY d.date))[1],
               max(d.a_high), min(d.a_low),
               (array_agg(d.a_close ORDER BY d.date DESC))[1],
               NULL::numeric,
               sum(d.volume)::bigint, sum(d.amount), flag,
               CASE WHEN (SELECT s.sec_type FROM baostock.securities s WHERE s.code = c) = 2 THEN NULL
                    ELSE coalesce(sum(d.turn), 0.000000) END,
               NULL::boolean,
               round(((array_agg(d.close ORDER BY d.date DESC))[1] - (array_agg(d.preclose ORDER BY d.date))[1]) * 100
                     / nullif((array_agg(d.preclose ORDER BY d.date))[1], 0), 6),
               NULL::numeric, NULL::numeric, NULL::numeric, NULL::numeric, NULL::boolean
        FROM d
        GROUP BY d.period
        ORDER BY d.period;
    ELSE
        RETURN QUERY
        SELECT b.code, b.date, b.time,
               b.open * k.factor, b.high * k.factor, b.low * k.factor, b.close * k.factor, NULL::numeric,
               b.volume, b.amount, flag, NULL::numeric, NULL::boolean, NULL::numeric,
               NULL::numeric, NULL::numeric, NULL::numeric, NULL::numeric, NULL::boolean
        FROM baostock.minute_bars b
        JOIN baostock.factor_ranges(c, adjust) k ON b.date >= k.since AND b.date < k.until
        WHERE b.code = c AND b.frequency = adjusted_bars_of.frequency::smallint
          AND b.time >= start_date AND b.time < end_date + 1
        ORDER BY b.time;
    END IF;
END
$$;
COMMENT ON FUNCTION baostock.adjusted_bars_of(text, date, date, text, text) IS 'The body of baostock.adjusted_bars (same arguments, in order); call that instead.';

CREATE FUNCTION baostock.adjusted_bars(
    code text,
    start_date date,
    end_date date,
    adjust text DEFAULT 'qfq',
    frequency text DEFAULT 'd'
) RETURNS TABLE (
    code text, date date, "time" timestamp, open numeric, high numeric, low numeric, close numeric,
    preclose numeric, volume bigint, amount numeric, adjustflag smallint, turn numeric, trade_status boolean,
    pct_chg numeric, pe_ttm numeric, pb_mrq numeric, ps_ttm numeric, pcf_ncf_ttm numeric, is_st boolean
)
LANGUAGE sql STABLE
AS $$ SELECT * FROM baostock.adjusted_bars_of($1, $2, $3, $4, $5) $$;
COMMENT ON FUNCTION baostock.adjusted_bars(text, date, date, text, text) IS 'A code''s bars between two days with prices adjusted in SQL from the stored raw bars and back factors: adjust qfq (forward, the default), hfq (back) or none; frequency d (default), w or m (built from the daily bars as the server builds them), 5, 15, 30 or 60 (from baostock.minute_bars; indices have none). Equal to the server''s answers with adjustflag 2 / 1 when the code''s factor history is complete (backfill fetches it). Columns a frequency does not have are NULL.';

-- The adjusted prices are stored beside the raw ones (daily_bars.qfq_*, hfq_*, kept in step
-- with the factors by the store): reading them costs what reading the raw bars does.
CREATE VIEW baostock.daily_bars_qfq AS
SELECT b.code, b.date, b.qfq_open AS open, b.qfq_high AS high, b.qfq_low AS low, b.qfq_close AS close,
       b.qfq_preclose AS preclose, b.volume, b.amount, 2::smallint AS adjustflag, b.turn, b.trade_status,
       b.pct_chg, b.pe_ttm, b.pb_mrq, b.ps_ttm, b.pcf_ncf_ttm, b.is_st
FROM baostock.daily_bars b;
COMMENT ON VIEW baostock.daily_bars_qfq IS 'Every stored daily bar with forward-adjusted (qfq) prices (the stored qfq_* columns: price x factor_spans'' fore factor), as baostock.adjusted_bars gives them; filter by code and date. Does not warn about an incomplete factor history (adjusted_bars does; see factors_known_through).';

CREATE VIEW baostock.daily_bars_hfq AS
SELECT b.code, b.date, b.hfq_open AS open, b.hfq_high AS high, b.hfq_low AS low, b.hfq_close AS close,
       b.hfq_preclose AS preclose, b.volume, b.amount, 1::smallint AS adjustflag, b.turn, b.trade_status,
       b.pct_chg, b.pe_ttm, b.pb_mrq, b.ps_ttm, b.pcf_ncf_ttm, b.is_st
FROM baostock.daily_bars b;
COMMENT ON VIEW baostock.daily_bars_hfq IS 'Every stored daily bar with back-adjusted (hfq) prices (the stored hfq_* columns: price x the back factor in force), as baostock.adjusted_bars gives them; filter by code and date. Does not warn about an incomplete factor history (adjusted_bars does).';
