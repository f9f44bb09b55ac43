-- pg_baostock schema: tables. Runs before the functions pgrx generates (bootstrap).
-- Every table holds user data and is registered with pg_extension_config_dump, so pg_dump
-- keeps it.

CREATE TABLE baostock.securities (
    code        text PRIMARY KEY CHECK (length(code) = 9),
    name        text,
    sec_type    smallint,
    status      smallint,
    ipo_date    date,
    out_date    date,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE baostock.securities IS 'Every security the server knows (query_stock_basic): stocks, indices, ETFs, with listing and delisting dates.';
COMMENT ON COLUMN baostock.securities.code IS 'Baostock code, e.g. sh.600000, sz.000001, bj.430047.';
COMMENT ON COLUMN baostock.securities.name IS 'Security name as the server spells it.';
COMMENT ON COLUMN baostock.securities.sec_type IS '1 stock, 2 index, 3 other, 4 convertible bond, 5 ETF.';
COMMENT ON COLUMN baostock.securities.status IS '1 listed, 0 delisted.';
COMMENT ON COLUMN baostock.securities.ipo_date IS 'Listing date.';
COMMENT ON COLUMN baostock.securities.out_date IS 'Delisting date; NULL while listed.';
COMMENT ON COLUMN baostock.securities.updated_at IS 'When this row last changed.';

CREATE TABLE baostock.index_constituents (
    index_name   text NOT NULL CHECK (index_name IN ('hs300', 'sz50', 'zz500')),
    update_date  date NOT NULL,
    code         text NOT NULL,
    code_name    text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (index_name, update_date, code)
);
COMMENT ON TABLE baostock.index_constituents IS 'Constituents of the CSI 300, SSE 50 and CSI 500 (query_hs300_stocks, query_sz50_stocks, query_zz500_stocks), one list per date the server says it applies to; a list fetched again replaces the stored one of its date.';
COMMENT ON COLUMN baostock.index_constituents.index_name IS 'hs300 (CSI 300), sz50 (SSE 50) or zz500 (CSI 500).';
COMMENT ON COLUMN baostock.index_constituents.update_date IS 'The date the list applies to, as the server gives it (the Monday of the week asked for).';
COMMENT ON COLUMN baostock.index_constituents.code IS 'Baostock code of a constituent.';
COMMENT ON COLUMN baostock.index_constituents.code_name IS 'Its name as the server spells it.';
COMMENT ON COLUMN baostock.index_constituents.updated_at IS 'When this row last changed.';

CREATE TABLE baostock.stock_industries (
    code                     text NOT NULL,
    update_date              date NOT NULL,
    code_name                text,
    industry                 text,
    industry_classification  text,
    updated_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, update_date)
);
COMMENT ON TABLE baostock.stock_industries IS 'Industry of every stock (query_stock_industry), one classification per date the server says it applies to.';
COMMENT ON COLUMN baostock.stock_industries.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.stock_industries.update_date IS 'The date the classification applies to, as the server gives it.';
COMMENT ON COLUMN baostock.stock_industries.code_name IS 'The stock''s name as the server spells it.';
COMMENT ON COLUMN baostock.stock_industries.industry IS 'Industry, e.g. J66货币金融服务.';
COMMENT ON COLUMN baostock.stock_industries.industry_classification IS 'The classification the industry belongs to, e.g. 证监会行业分类 (CSRC).';
COMMENT ON COLUMN baostock.stock_industries.updated_at IS 'When this row last changed.';

CREATE TABLE baostock.trade_calendar (
    day             date PRIMARY KEY,
    is_trading_day  boolean NOT NULL
);
COMMENT ON TABLE baostock.trade_calendar IS 'The exchange calendar (query_trade_dates): one row per calendar day.';
COMMENT ON COLUMN baostock.trade_calendar.day IS 'Calendar day.';
COMMENT ON COLUMN baostock.trade_calendar.is_trading_day IS 'Whether the exchanges trade on this day.';

-- The adjusted prices come right after the raw ones: a scan decodes each row up to the last column
-- it reads, so reading qfq_close costs what reading close does (docs/src/performance.md).
CREATE TABLE baostock.daily_bars (
    code          text    NOT NULL,
    date          date    NOT NULL,
    open          numeric,
    high          numeric,
    low           numeric,
    close         numeric,
    preclose      numeric,
    qfq_open      numeric,
    qfq_high      numeric,
    qfq_low       numeric,
    qfq_close     numeric,
    qfq_preclose  numeric,
    hfq_open      numeric,
    hfq_high      numeric,
    hfq_low       numeric,
    hfq_close     numeric,
    hfq_preclose  numeric,
    volume        bigint,
    amount        numeric,
    adjustflag    smallint,
    turn          numeric,
    trade_status  boolean,
    pct_chg       numeric,
    pe_ttm        numeric,
    pb_mrq        numeric,
    ps_ttm        numeric,
    pcf_ncf_ttm   numeric,
    is_st         boolean,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    row_hash      bigint,
    PRIMARY KEY (code, date)
);
CREATE INDEX daily_bars_date ON baostock.daily_bars (date);
COMMENT ON INDEX baostock.daily_bars_date IS 'Every code on a day (a cross-section, and the store''s check of a day already stored).';
COMMENT ON TABLE baostock.daily_bars IS 'Unadjusted daily bars of A-shares and ETFs, exactly as the server sends them, and beside them their prices adjusted by the stored factors (qfq_*, hfq_*: what the views daily_bars_qfq / daily_bars_hfq read).';
COMMENT ON COLUMN baostock.daily_bars.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.daily_bars.date IS 'Trading day.';
COMMENT ON COLUMN baostock.daily_bars.open IS 'Opening price, the server''s exact decimal.';
COMMENT ON COLUMN baostock.daily_bars.high IS 'Highest price.';
COMMENT ON COLUMN baostock.daily_bars.low IS 'Lowest price.';
COMMENT ON COLUMN baostock.daily_bars.close IS 'Closing price.';
COMMENT ON COLUMN baostock.daily_bars.preclose IS 'Previous trading day''s close.';
COMMENT ON COLUMN baostock.daily_bars.qfq_open IS 'The forward-adjusted (qfq) open: open x baostock.factor_spans'' fore factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';
COMMENT ON COLUMN baostock.daily_bars.qfq_high IS 'The forward-adjusted (qfq) high: high x baostock.factor_spans'' fore factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';
COMMENT ON COLUMN baostock.daily_bars.qfq_low IS 'The forward-adjusted (qfq) low: low x baostock.factor_spans'' fore factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';
COMMENT ON COLUMN baostock.daily_bars.qfq_close IS 'The forward-adjusted (qfq) close: close x baostock.factor_spans'' fore factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';
COMMENT ON COLUMN baostock.daily_bars.qfq_preclose IS 'The forward-adjusted (qfq) preclose: preclose x baostock.factor_spans'' fore factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';
COMMENT ON COLUMN baostock.daily_bars.hfq_open IS 'The back-adjusted (hfq) open: open x baostock.factor_spans'' back factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';
COMMENT ON COLUMN baostock.daily_bars.hfq_high IS 'The back-adjusted (hfq) high: high x baostock.factor_spans'' back factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';
COMMENT ON COLUMN baostock.daily_bars.hfq_low IS 'The back-adjusted (hfq) low: low x baostock.factor_spans'' back factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';
COMMENT ON COLUMN baostock.daily_bars.hfq_close IS 'The back-adjusted (hfq) close: close x baostock.factor_spans'' back factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';
COMMENT ON COLUMN baostock.daily_bars.hfq_preclose IS 'The back-adjusted (hfq) preclose: preclose x baostock.factor_spans'' back factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';
COMMENT ON COLUMN baostock.daily_bars.volume IS 'Shares traded.';
COMMENT ON COLUMN baostock.daily_bars.amount IS 'Turnover in yuan.';
COMMENT ON COLUMN baostock.daily_bars.adjustflag IS '3: unadjusted (always, for stored bars).';
COMMENT ON COLUMN baostock.daily_bars.turn IS 'Turnover rate in percent; NULL when suspended.';
COMMENT ON COLUMN baostock.daily_bars.trade_status IS 'true when traded, false when suspended.';
COMMENT ON COLUMN baostock.daily_bars.pct_chg IS 'Change against preclose in percent.';
COMMENT ON COLUMN baostock.daily_bars.pe_ttm IS 'Price/earnings, trailing twelve months; NULL when the server has none.';
COMMENT ON COLUMN baostock.daily_bars.pb_mrq IS 'Price/book, most recent quarter.';
COMMENT ON COLUMN baostock.daily_bars.ps_ttm IS 'Price/sales, trailing twelve months.';
COMMENT ON COLUMN baostock.daily_bars.pcf_ncf_ttm IS 'Price/cash flow, trailing twelve months.';
COMMENT ON COLUMN baostock.daily_bars.is_st IS 'Whether the security was under special treatment (ST) that day.';
COMMENT ON COLUMN baostock.daily_bars.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN baostock.daily_bars.row_hash IS 'The store''s digest of the row''s values (FNV-1a of their COPY text), so that a bar sent again unchanged costs one index lookup; NULL for a row written by anything else (the next sync rewrites it).';

CREATE TABLE baostock.weekly_bars (
    code          text    NOT NULL,
    period_start  date    NOT NULL,
    date          date    NOT NULL,
    open          numeric,
    high          numeric,
    low           numeric,
    close         numeric,
    volume        bigint,
    amount        numeric,
    adjustflag    smallint,
    turn          numeric,
    pct_chg       numeric,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    row_hash      bigint,
    PRIMARY KEY (code, period_start)
);
COMMENT ON TABLE baostock.weekly_bars IS 'Unadjusted weekly bars (query_history_k_data_plus, frequency w) exactly as the server sends them; one row a code and week: the bar of a week not over yet is replaced when it is fetched again after the week ends.';
COMMENT ON COLUMN baostock.weekly_bars.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.weekly_bars.period_start IS 'Monday of the ISO week the bar covers (the key: a week has one bar).';
COMMENT ON COLUMN baostock.weekly_bars.date IS 'The bar''s date as the server gives it: the last trading day of the week that the bar covers.';
COMMENT ON COLUMN baostock.weekly_bars.open IS 'Opening price of the week''s first trading day.';
COMMENT ON COLUMN baostock.weekly_bars.high IS 'Highest price of the week.';
COMMENT ON COLUMN baostock.weekly_bars.low IS 'Lowest price of the week.';
COMMENT ON COLUMN baostock.weekly_bars.close IS 'Closing price of the week''s last trading day.';
COMMENT ON COLUMN baostock.weekly_bars.volume IS 'Shares traded in the week.';
COMMENT ON COLUMN baostock.weekly_bars.amount IS 'Turnover in yuan in the week.';
COMMENT ON COLUMN baostock.weekly_bars.adjustflag IS '3: unadjusted (always, for stored bars).';
COMMENT ON COLUMN baostock.weekly_bars.turn IS 'Turnover rate in percent over the week; NULL for indices.';
COMMENT ON COLUMN baostock.weekly_bars.pct_chg IS 'Change in percent from the close before the week to its last close.';
COMMENT ON COLUMN baostock.weekly_bars.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN baostock.weekly_bars.row_hash IS 'The store''s digest of the row''s values.';

CREATE TABLE baostock.monthly_bars (
    code          text    NOT NULL,
    period_start  date    NOT NULL,
    date          date    NOT NULL,
    open          numeric,
    high          numeric,
    low           numeric,
    close         numeric,
    volume        bigint,
    amount        numeric,
    adjustflag    smallint,
    turn          numeric,
    pct_chg       numeric,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    row_hash      bigint,
    PRIMARY KEY (code, period_start)
);
COMMENT ON TABLE baostock.monthly_bars IS 'Unadjusted monthly bars (query_history_k_data_plus, frequency m) exactly as the server sends them; one row a code and month: the bar of a month not over yet is replaced when it is fetched again after the month ends.';
COMMENT ON COLUMN baostock.monthly_bars.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.monthly_bars.period_start IS 'First day of the month the bar covers (the key: a month has one bar).';
COMMENT ON COLUMN baostock.monthly_bars.date IS 'The bar''s date as the server gives it: the last trading day of the month that the bar covers.';
COMMENT ON COLUMN baostock.monthly_bars.open IS 'Opening price of the month''s first trading day.';
COMMENT ON COLUMN baostock.monthly_bars.high IS 'Highest price of the month.';
COMMENT ON COLUMN baostock.monthly_bars.low IS 'Lowest price of the month.';
COMMENT ON COLUMN baostock.monthly_bars.close IS 'Closing price of the month''s last trading day.';
COMMENT ON COLUMN baostock.monthly_bars.volume IS 'Shares traded in the month.';
COMMENT ON COLUMN baostock.monthly_bars.amount IS 'Turnover in yuan in the month.';
COMMENT ON COLUMN baostock.monthly_bars.adjustflag IS '3: unadjusted (always, for stored bars).';
COMMENT ON COLUMN baostock.monthly_bars.turn IS 'Turnover rate in percent over the month; NULL for indices.';
COMMENT ON COLUMN baostock.monthly_bars.pct_chg IS 'Change in percent from the close before the month to its last close.';
COMMENT ON COLUMN baostock.monthly_bars.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN baostock.monthly_bars.row_hash IS 'The store''s digest of the row''s values.';

CREATE TABLE baostock.minute_bars (
    code        text      NOT NULL,
    frequency   smallint  NOT NULL CHECK (frequency IN (5, 15, 30, 60)),
    time        timestamp NOT NULL,
    date        date      NOT NULL,
    open        numeric,
    high        numeric,
    low         numeric,
    close       numeric,
    volume      bigint,
    amount      numeric,
    adjustflag  smallint,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    row_hash    bigint
) PARTITION BY RANGE (time);
COMMENT ON TABLE baostock.minute_bars IS 'Unadjusted 5, 15, 30 and 60-minute bars of stocks and ETFs (the server has none for indices) exactly as the server sends them; partitioned by month of time: the store creates baostock.minute_bars_YYYYMM, keyed by (code, frequency, time), before it writes a row of that month. The key is each partition''s (a key on this table would be made by CREATE EXTENSION before pg_restore attaches the dumped partitions, and the restore would fail).';
COMMENT ON COLUMN baostock.minute_bars.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.minute_bars.frequency IS 'Minutes a bar: 5, 15, 30 or 60.';
COMMENT ON COLUMN baostock.minute_bars.time IS 'End of the bar, China Standard Time (UTC+8, no daylight saving) as the server gives it (its 17 digits YYYYMMDDHHMMSSmmm); time AT TIME ZONE ''Asia/Shanghai'' is the instant.';
COMMENT ON COLUMN baostock.minute_bars.date IS 'Trading day of the bar.';
COMMENT ON COLUMN baostock.minute_bars.open IS 'Opening price of the bar.';
COMMENT ON COLUMN baostock.minute_bars.high IS 'Highest price.';
COMMENT ON COLUMN baostock.minute_bars.low IS 'Lowest price.';
COMMENT ON COLUMN baostock.minute_bars.close IS 'Closing price.';
COMMENT ON COLUMN baostock.minute_bars.volume IS 'Shares traded in the bar.';
COMMENT ON COLUMN baostock.minute_bars.amount IS 'Turnover in yuan.';
COMMENT ON COLUMN baostock.minute_bars.adjustflag IS '3: unadjusted (always, for stored bars).';
COMMENT ON COLUMN baostock.minute_bars.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN baostock.minute_bars.row_hash IS 'The store''s digest of the row''s values.';

CREATE TABLE baostock.adjust_factors (
    code           text    NOT NULL,
    operate_date   date    NOT NULL,
    fore_factor    numeric,
    back_factor    numeric,
    adjust_factor  numeric,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, operate_date)
);
COMMENT ON TABLE baostock.adjust_factors IS 'Adjust factors (query_daily_adjust_factor / query_adjust_factor); a row applies from operate_date until the next row of the same code.';
COMMENT ON COLUMN baostock.adjust_factors.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.adjust_factors.operate_date IS 'Ex-dividend day from which the factor applies.';
COMMENT ON COLUMN baostock.adjust_factors.fore_factor IS 'Forward (qfq) factor: back_factor / the code''s latest back_factor, 6 decimals, as the server computes it; kept current (every write of a code''s factors recomputes its column), so it equals what the server would answer now.';
COMMENT ON COLUMN baostock.adjust_factors.back_factor IS 'Back (hfq) factor.';
COMMENT ON COLUMN baostock.adjust_factors.adjust_factor IS 'The server''s adjustFactor.';
COMMENT ON COLUMN baostock.adjust_factors.updated_at IS 'When this row last changed.';

-- The factors the store multiplies daily prices by (the server's rule: sql/adjusted.sql), a
-- row for each stretch of days of each code: before its first factor row back 1.000000, then
-- from each row's operate_date until the next one's its back factor; fore is that back factor
-- / the code's latest one, rounded to 6 decimals. A code without factor rows has one stretch
-- of 1.000000 both ways. Kept beside the tables: the update scripts fill the adjusted columns
-- with it before the functions of a version are made.
CREATE FUNCTION baostock.factor_spans(codes text[])
RETURNS TABLE (code text, since date, until date, back numeric, fore numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    -- PL/pgSQL, not SQL: Citus plans no query of a SQL function that takes parameters.
    -- Of many codes (a day of every code) every factor row is read and the codes kept here: on
    -- Citus the array would go into every shard's query (5,000 codes on 32 shards: 0.2 s against
    -- 0.08 s); OFFSET 0 keeps the filter out of the subquery.
    RETURN QUERY EXECUTE format($q$
    WITH f AS (
        SELECT a.code, a.operate_date, coalesce(a.back_factor, 1.000000) AS back,
               lead(a.operate_date) OVER w AS next,
               coalesce(nullif(last_value(a.back_factor) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING
                                                                 AND UNBOUNDED FOLLOWING), 0), 1.000000) AS latest
        FROM %s
        WHERE a.code = ANY ($1)
        WINDOW w AS (PARTITION BY a.code ORDER BY a.operate_date)
    ), firsts AS (
        SELECT f.code, min(f.operate_date) AS first, min(f.latest) AS latest FROM f GROUP BY f.code
    )
    SELECT c.code, '-infinity'::date, coalesce(g.first, 'infinity'::date), 1.000000::numeric,
           round(1.000000 / coalesce(g.latest, 1.000000), 6)
    FROM (SELECT DISTINCT u.code FROM unnest($1) AS u(code) WHERE u.code IS NOT NULL) c
    LEFT JOIN firsts g ON g.code = c.code
    UNION ALL
    SELECT f.code, f.operate_date, coalesce(f.next, 'infinity'::date), f.back, round(f.back / f.latest, 6)
    FROM f$q$,
        CASE WHEN cardinality(codes) > 16
             THEN '(SELECT x.code, x.operate_date, x.back_factor FROM baostock.adjust_factors x OFFSET 0) a'
             ELSE 'baostock.adjust_factors a' END)
    USING codes;
END
$$;
COMMENT ON FUNCTION baostock.factor_spans(text[]) IS 'The price factors of codes over each stretch of days [since, until): back (hfq) the back factor in force, 1.000000 before the first factor row; fore (qfq) that back factor / the code''s latest back factor, rounded to 6 decimals, as the server computes it. The store keeps daily_bars'' qfq_* and hfq_* columns equal to the prices times these.';

-- Makes the stored adjusted prices of codes' daily bars (every code's: NULL) equal to their
-- prices times factor_spans; returns the bars changed. The store calls it for the codes whose
-- factors a write changed; bars written by other means (INSERT, COPY) get their adjusted
-- prices from it.
CREATE FUNCTION baostock.adjust_bars(codes text[] DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    changed bigint;
BEGIN
    -- The spans computed once (on Citus: on the coordinator, sent to the shards with the UPDATE).
    WITH s AS MATERIALIZED (
        SELECT * FROM baostock.factor_spans(coalesce(codes, ARRAY(SELECT DISTINCT d.code FROM baostock.daily_bars d)))
    )
        UPDATE baostock.daily_bars b
        SET qfq_open = b.open * s.fore, qfq_high = b.high * s.fore, qfq_low = b.low * s.fore,
            qfq_close = b.close * s.fore, qfq_preclose = b.preclose * s.fore,
            hfq_open = b.open * s.back, hfq_high = b.high * s.back, hfq_low = b.low * s.back,
            hfq_close = b.close * s.back, hfq_preclose = b.preclose * s.back
        FROM s
        WHERE b.code = s.code AND b.date >= s.since AND b.date < s.until
          AND (b.qfq_open, b.qfq_high, b.qfq_low, b.qfq_close, b.qfq_preclose,
               b.hfq_open, b.hfq_high, b.hfq_low, b.hfq_close, b.hfq_preclose)
              IS DISTINCT FROM
              (b.open * s.fore, b.high * s.fore, b.low * s.fore, b.close * s.fore, b.preclose * s.fore,
               b.open * s.back, b.high * s.back, b.low * s.back, b.close * s.back, b.preclose * s.back);
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END
$$;
REVOKE EXECUTE ON FUNCTION baostock.adjust_bars(text[]) FROM PUBLIC;
COMMENT ON FUNCTION baostock.adjust_bars(text[]) IS 'Sets the adjusted prices (qfq_*, hfq_*) of the stored daily bars of codes (NULL: every code) to their prices times baostock.factor_spans where they differ; returns the bars changed. The store keeps them in step by itself; call it after writing bars or factors by other means.';

CREATE TABLE baostock.synced_days (
    day        date PRIMARY KEY,
    run_id     bigint,
    synced_at  timestamptz NOT NULL DEFAULT now(),
    bars       integer NOT NULL,
    factors    integer NOT NULL,
    job_id     bigint
);
COMMENT ON TABLE baostock.synced_days IS 'Trading days whose bars and factors are complete; committed in the same transaction as the data.';
COMMENT ON COLUMN baostock.synced_days.day IS 'Trading day.';
COMMENT ON COLUMN baostock.synced_days.run_id IS 'The sync_date run (baostock.sync_runs) that completed it, if one did.';
COMMENT ON COLUMN baostock.synced_days.job_id IS 'The backfill job (baostock.sync_jobs) that completed it, if one did.';
COMMENT ON COLUMN baostock.synced_days.synced_at IS 'When it was completed.';
COMMENT ON COLUMN baostock.synced_days.bars IS 'Bars (stocks and ETFs) the server sent for the day.';
COMMENT ON COLUMN baostock.synced_days.factors IS 'Adjust factors the server sent for the day.';

CREATE TABLE baostock.sync_runs (
    run_id          bigserial PRIMARY KEY,
    kind            text NOT NULL,
    params          jsonb NOT NULL DEFAULT '{}',
    day             date,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz NOT NULL,
    status          text NOT NULL CHECK (status IN ('ok', 'skipped', 'not_available', 'incomplete', 'failed')),
    requests        integer NOT NULL DEFAULT 0,
    bytes           bigint NOT NULL DEFAULT 0,
    rows_inserted   bigint NOT NULL DEFAULT 0,
    rows_updated    bigint NOT NULL DEFAULT 0,
    rows_unchanged  bigint NOT NULL DEFAULT 0,
    error_sqlstate  text,
    error_message   text,
    spool_key       text
);
CREATE INDEX sync_runs_kind_started ON baostock.sync_runs (kind, started_at DESC);
CREATE UNIQUE INDEX sync_runs_spool_key ON baostock.sync_runs (spool_key) WHERE spool_key IS NOT NULL;
COMMENT ON TABLE baostock.sync_runs IS 'Every sync call, successful or not, with its metrics. Failed runs are written by an autonomous worker, so they survive the error''s rollback.';
COMMENT ON COLUMN baostock.sync_runs.run_id IS 'Run id.';
COMMENT ON COLUMN baostock.sync_runs.kind IS 'sync_date, sync_calendar or sync_securities.';
COMMENT ON COLUMN baostock.sync_runs.params IS 'The call''s arguments.';
COMMENT ON COLUMN baostock.sync_runs.day IS 'The trading day, for sync_date.';
COMMENT ON COLUMN baostock.sync_runs.started_at IS 'Start of the call.';
COMMENT ON COLUMN baostock.sync_runs.finished_at IS 'End of the call.';
COMMENT ON COLUMN baostock.sync_runs.status IS 'ok, skipped (nothing to do), not_available (the server has not published the day yet), incomplete (stocks or ETFs missing or too few: not marked synced) or failed.';
COMMENT ON COLUMN baostock.sync_runs.requests IS 'Requests sent to the server, login and logout included.';
COMMENT ON COLUMN baostock.sync_runs.bytes IS 'Response bytes received.';
COMMENT ON COLUMN baostock.sync_runs.rows_inserted IS 'Rows that were new.';
COMMENT ON COLUMN baostock.sync_runs.rows_updated IS 'Rows whose values changed.';
COMMENT ON COLUMN baostock.sync_runs.rows_unchanged IS 'Rows received but already stored with the same values.';
COMMENT ON COLUMN baostock.sync_runs.error_sqlstate IS 'SQLSTATE of the error, for failed runs.';
COMMENT ON COLUMN baostock.sync_runs.error_message IS 'Error message, for failed runs (never contains credentials).';
COMMENT ON COLUMN baostock.sync_runs.spool_key IS 'For a failed run imported by the run recorder: the name of its spool file, so that a recorder that dies after the commit never imports it twice.';

CREATE TABLE baostock.synced_ranges (
    code       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('d', 'w', 'm', '5', '15', '30', '60', 'factors')),
    span       daterange NOT NULL CHECK (NOT isempty(span)),
    job_id     bigint,
    synced_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX synced_ranges_code ON baostock.synced_ranges (code, kind);
COMMENT ON TABLE baostock.synced_ranges IS 'Per-code ranges completed by backfill units (95 bars of a frequency, or 15 factors); committed in the same transaction as their rows. A weekly or monthly range covers whole periods only: a period not over yet is fetched again.';
COMMENT ON COLUMN baostock.synced_ranges.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.synced_ranges.kind IS 'The frequency of bars fetched (query_history_k_data_plus): d, w, m, 5, 15, 30 or 60; or factors: the adjust factor history (query_adjust_factor).';
COMMENT ON COLUMN baostock.synced_ranges.span IS 'Days covered, bounds included as fetched.';
COMMENT ON COLUMN baostock.synced_ranges.job_id IS 'The backfill job that fetched it.';
COMMENT ON COLUMN baostock.synced_ranges.synced_at IS 'When it was completed.';

-- The states and kinds of jobs and units: crates/core/src/states.rs spells the same labels (a test
-- compares them) and converts them in one place.
CREATE TYPE baostock.job_state AS ENUM ('queued', 'running', 'paused', 'done', 'failed', 'cancelled');
COMMENT ON TYPE baostock.job_state IS 'Where a job is: queued, running, paused (the request budget is spent or the server blacklisted us: resumes by itself), done (every unit final), failed (the job could not go on), cancelled.';
CREATE TYPE baostock.job_kind AS ENUM ('backfill', 'track', 'fundamentals', 'membership');
COMMENT ON TYPE baostock.job_kind IS 'What queued a job: backfill (backfill()), or track (the tracked series extended by sync_date() or sync_tracked()), fundamentals (backfill_fundamentals()) or membership (backfill_membership()).';
CREATE TYPE baostock.unit_state AS ENUM ('queued', 'running', 'done', 'empty', 'replanned', 'failed', 'cancelled');
COMMENT ON TYPE baostock.unit_state IS 'Where a unit is: queued, running (handed to the network), done, empty (a past day the server has no all-market answer for), replanned (that day is covered by per-code units), failed, cancelled.';
CREATE TYPE baostock.unit_kind AS ENUM ('day', 'range', 'factors', 'report', 'lists');
COMMENT ON TYPE baostock.unit_kind IS 'What a unit fetches: day (every bar and factor of a day: 98 + 9A + 9C), range (a code''s bars over days: 95), factors (a code''s factor history: 15), report (a code''s reports of a kind for a quarter or a year: 13, 17..31) or lists (an index''s constituent list of a date: 61, 63, 65).';

CREATE TABLE baostock.sync_jobs (
    job_id            bigserial PRIMARY KEY,
    state             baostock.job_state NOT NULL DEFAULT 'queued',
    start_date        date NOT NULL,
    end_date          date NOT NULL,
    codes             text[],
    frequency         text NOT NULL,
    force             boolean NOT NULL,
    plan              jsonb NOT NULL,
    est_requests      bigint NOT NULL,
    est_seconds       double precision NOT NULL,
    rows_written      bigint NOT NULL DEFAULT 0,
    requests          bigint NOT NULL DEFAULT 0,
    bytes             bigint NOT NULL DEFAULT 0,
    created_by        text NOT NULL DEFAULT session_user,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz,
    error_message     text,
    paused_until      timestamptz,
    pause_reason      text,
    passes            integer NOT NULL DEFAULT 0,
    kind              baostock.job_kind NOT NULL DEFAULT 'backfill',
    CHECK (start_date <= end_date),
    CHECK ((state = 'paused') = (pause_reason IS NOT NULL))
);
COMMENT ON TABLE baostock.sync_jobs IS 'Backfill jobs: what backfill() was asked, the plan, the state and the traffic. Units are in baostock.sync_units.';
COMMENT ON COLUMN baostock.sync_jobs.job_id IS 'Job id, as backfill() returned it.';
COMMENT ON COLUMN baostock.sync_jobs.state IS 'queued, running, paused (the request budget is spent or the server blacklisted us: resumes by itself), done (every unit final; units_failed of baostock.jobs counts those that failed twice), failed (the job could not go on: error_message), cancelled.';
COMMENT ON COLUMN baostock.sync_jobs.start_date IS 'First day asked.';
COMMENT ON COLUMN baostock.sync_jobs.end_date IS 'Last day asked.';
COMMENT ON COLUMN baostock.sync_jobs.codes IS 'Codes asked; NULL for all stocks and ETFs.';
COMMENT ON COLUMN baostock.sync_jobs.frequency IS 'Bar frequency: d, w, m, 5, 15, 30 or 60.';
COMMENT ON COLUMN baostock.sync_jobs.force IS 'Whether units already done were planned again.';
COMMENT ON COLUMN baostock.sync_jobs.plan IS 'The plan: units per kind, days skipped as done, estimates and the assumptions behind them.';
COMMENT ON COLUMN baostock.sync_jobs.est_requests IS 'Requests the plan expects, logins included.';
COMMENT ON COLUMN baostock.sync_jobs.est_seconds IS 'Seconds the plan expects at the assumed latency and write rate.';
COMMENT ON COLUMN baostock.sync_jobs.rows_written IS 'Rows received and upserted so far (inserted, updated or unchanged).';
COMMENT ON COLUMN baostock.sync_jobs.requests IS 'Requests sent so far, logins and logouts included.';
COMMENT ON COLUMN baostock.sync_jobs.bytes IS 'Response bytes received so far.';
COMMENT ON COLUMN baostock.sync_jobs.created_by IS 'Session user that called backfill().';
COMMENT ON COLUMN baostock.sync_jobs.created_at IS 'When backfill() queued it.';
COMMENT ON COLUMN baostock.sync_jobs.started_at IS 'When the worker first started it.';
COMMENT ON COLUMN baostock.sync_jobs.finished_at IS 'When it ended (done, failed or cancelled).';
COMMENT ON COLUMN baostock.sync_jobs.error_message IS 'Why the job failed as a whole, if it did.';
COMMENT ON COLUMN baostock.sync_jobs.paused_until IS 'When a paused job resumes on its own (the next China day for a spent budget, the end of a blacklist).';
COMMENT ON COLUMN baostock.sync_jobs.pause_reason IS 'budget or blacklisted, while paused.';
COMMENT ON COLUMN baostock.sync_jobs.passes IS 'Passes over the units so far: the first, then one retry pass of the units that failed (and one more for each baostock.retry()).';
COMMENT ON COLUMN baostock.sync_jobs.kind IS 'backfill (queued by backfill()), or track (the tracked series extended to end_date: queued by sync_date() or sync_tracked(); frequency lists their frequencies).';

-- What the user follows beyond the daily bars: codes, or an index's current constituents, at
-- some frequencies; the syncs extend each such series to the newest synced day.
CREATE TABLE baostock.tracking (
    code        text CHECK (length(code) = 9),
    index_name  text CHECK (index_name IN ('hs300', 'sz50', 'zz500')),
    frequency   text NOT NULL CHECK (frequency IN ('d', 'w', 'm', '5', '15', '30', '60')),
    start_date  date NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    added_by    text NOT NULL DEFAULT session_user,
    CHECK ((code IS NULL) <> (index_name IS NULL)),
    UNIQUE NULLS NOT DISTINCT (code, index_name, frequency)
);
COMMENT ON TABLE baostock.tracking IS 'What baostock.track() asked to keep current: a code, or an index''s constituents (following its changes), at a frequency from a start day. The view baostock.tracked shows each series and its lag.';
COMMENT ON COLUMN baostock.tracking.code IS 'A Baostock code (NULL for an index''s constituents).';
COMMENT ON COLUMN baostock.tracking.index_name IS 'hs300, sz50 or zz500: its current constituents (NULL for a code).';
COMMENT ON COLUMN baostock.tracking.frequency IS 'd, w, m, 5, 15, 30 or 60.';
COMMENT ON COLUMN baostock.tracking.start_date IS 'First day kept (a code that joins the index later is fetched from here too).';
COMMENT ON COLUMN baostock.tracking.added_at IS 'When track() added it.';
COMMENT ON COLUMN baostock.tracking.added_by IS 'Session user that called track().';

CREATE TABLE baostock.sync_units (
    job_id          bigint NOT NULL REFERENCES baostock.sync_jobs ON DELETE CASCADE,
    unit_no         integer NOT NULL,
    kind            baostock.unit_kind NOT NULL,
    code            text,
    frequency       text NOT NULL DEFAULT 'd' CHECK (frequency IN ('d', 'w', 'm', '5', '15', '30', '60')),
    start_date      date NOT NULL,
    end_date        date NOT NULL,
    state           baostock.unit_state NOT NULL DEFAULT 'queued',
    attempts        integer NOT NULL DEFAULT 0,
    rows_written    bigint NOT NULL DEFAULT 0,
    finished_at     timestamptz,
    error_sqlstate  text,
    error_message   text,
    subject         text,
    PRIMARY KEY (job_id, unit_no),
    CHECK ((kind IN ('day', 'lists')) = (code IS NULL)),
    CHECK (kind NOT IN ('day', 'lists') OR start_date = end_date),
    CONSTRAINT sync_units_subject_check CHECK ((kind IN ('report', 'lists')) = (subject IS NOT NULL)
        AND (kind <> 'report' OR subject IN ('profit', 'operation', 'growth', 'balance', 'cash_flow', 'dupont', 'express', 'forecast', 'dividend'))
        AND (kind <> 'lists' OR subject IN ('hs300', 'sz50', 'zz500')))
);
CREATE INDEX sync_units_pending ON baostock.sync_units (job_id, state);
COMMENT ON TABLE baostock.sync_units IS 'The units of each job: a day (98 + 9A + 9C), a code''s bar range (95), a code''s factor history (15), a code''s reports of a kind for a quarter or a year (13, 17..31) or an index''s list of a date (61, 63, 65). A unit''s rows and its state commit in one transaction.';
COMMENT ON COLUMN baostock.sync_units.job_id IS 'The job.';
COMMENT ON COLUMN baostock.sync_units.unit_no IS 'Order within the job.';
COMMENT ON COLUMN baostock.sync_units.kind IS 'day, range or factors.';
COMMENT ON COLUMN baostock.sync_units.code IS 'The code, for range and factors units.';
COMMENT ON COLUMN baostock.sync_units.frequency IS 'The bars'' frequency, for range units (d for the others).';
COMMENT ON COLUMN baostock.sync_units.start_date IS 'First day (the day, for day units).';
COMMENT ON COLUMN baostock.sync_units.end_date IS 'Last day.';
COMMENT ON COLUMN baostock.sync_units.state IS 'queued, running (handed to the network), done, empty (a past day the server has no all-market answer for), replanned (that day is covered by per-code units), failed, cancelled.';
COMMENT ON COLUMN baostock.sync_units.attempts IS 'Times the unit was fetched.';
COMMENT ON COLUMN baostock.sync_units.rows_written IS 'Rows the unit upserted.';
COMMENT ON COLUMN baostock.sync_units.finished_at IS 'When it reached its final state.';
COMMENT ON COLUMN baostock.sync_units.error_sqlstate IS 'SQLSTATE of the error, for failed units.';
COMMENT ON COLUMN baostock.sync_units.error_message IS 'Error message, for failed units (never contains credentials).';
COMMENT ON COLUMN baostock.sync_units.subject IS 'What a report or lists unit asks about: the report kind of a report unit (profit, operation, growth, balance, cash_flow, dupont, express, forecast, dividend; its period is start_date..end_date, a quarter or a year), the index of a lists unit (hs300, sz50, zz500; its date is start_date).';

-- What must outlive a restart about the server: one row, written by the worker's first save (not
-- seeded here: a restored dump brings its own row, and a seeded one would collide with it).
CREATE TABLE baostock.server_state (
    id                 boolean PRIMARY KEY DEFAULT true CHECK (id),
    blacklisted_until  timestamptz,
    blacklisted_at     timestamptz,
    budget_day         date,
    budget_used        bigint NOT NULL DEFAULT 0 CHECK (budget_used >= 0),
    clock_offset_ms    bigint NOT NULL DEFAULT 0,
    calendar_checked   date,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    cluster_id         bigint
);
COMMENT ON TABLE baostock.server_state IS 'One row the worker keeps from shared memory, so that a blacklist, the day''s request count and the server''s clock survive restarts.';
COMMENT ON COLUMN baostock.server_state.id IS 'Always true: there is one row.';
COMMENT ON COLUMN baostock.server_state.blacklisted_until IS 'No request goes to the server before this time (set on a 10001011 answer for baostock.blacklist_pause; baostock.resume() clears it).';
COMMENT ON COLUMN baostock.server_state.blacklisted_at IS 'When the server last blacklisted us.';
COMMENT ON COLUMN baostock.server_state.budget_day IS 'The China day (by the server''s clock) budget_used counts.';
COMMENT ON COLUMN baostock.server_state.budget_used IS 'Requests sent to the server that day by the whole cluster, logins included.';
COMMENT ON COLUMN baostock.server_state.clock_offset_ms IS 'The server''s clock minus ours, from its last login reply; the budget''s day follows the server''s clock.';
COMMENT ON COLUMN baostock.server_state.cluster_id IS 'The cluster whose worker saved this row (pg_control_system().system_identifier): a row of another (a restored dump) does not bring its blacklist and budget to this cluster.';
COMMENT ON COLUMN baostock.server_state.calendar_checked IS 'The China day the worker last brought the trade calendar up to date.';
COMMENT ON COLUMN baostock.server_state.updated_at IS 'When the worker last wrote this row.';

CREATE TABLE baostock.alerts (
    alert_id      bigserial PRIMARY KEY,
    raised_at     timestamptz NOT NULL DEFAULT now(),
    severity      text NOT NULL CHECK (severity IN ('warning', 'critical')),
    kind          text NOT NULL,
    key           text NOT NULL DEFAULT '',
    message       text NOT NULL,
    job_id        bigint,
    run_id        bigint,
    cleared_at    timestamptz,
    delivered_at  timestamptz,
    delivery_error text
);
CREATE UNIQUE INDEX alerts_open ON baostock.alerts (kind, key) WHERE cleared_at IS NULL;
COMMENT ON TABLE baostock.alerts IS 'Alerts the worker raised: one row per condition from when it arose until it cleared; each new one is also sent as a NOTIFY on channel baostock_alerts (and to baostock.alert_webhook when set).';
COMMENT ON COLUMN baostock.alerts.alert_id IS 'Alert id.';
COMMENT ON COLUMN baostock.alerts.raised_at IS 'When the condition was first seen.';
COMMENT ON COLUMN baostock.alerts.severity IS 'warning or critical.';
COMMENT ON COLUMN baostock.alerts.kind IS 'job_failures, sync_failing, stale, blacklisted, budget_spent or worker_crash_loop.';
COMMENT ON COLUMN baostock.alerts.key IS 'What the condition is about within its kind (a job id), so each is raised once.';
COMMENT ON COLUMN baostock.alerts.message IS 'What is wrong, for a person.';
COMMENT ON COLUMN baostock.alerts.job_id IS 'The job it is about, if any.';
COMMENT ON COLUMN baostock.alerts.run_id IS 'The run it is about, if any.';
COMMENT ON COLUMN baostock.alerts.cleared_at IS 'When the condition was no longer seen; NULL while open.';
COMMENT ON COLUMN baostock.alerts.delivered_at IS 'When the webhook accepted it.';
COMMENT ON COLUMN baostock.alerts.delivery_error IS 'Why the last webhook attempt failed.';

CREATE TABLE baostock.worker_starts (
    started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    pid         integer NOT NULL
);
CREATE INDEX worker_starts_at ON baostock.worker_starts (started_at);
COMMENT ON TABLE baostock.worker_starts IS 'Each start of the background worker (pruned after baostock.retention); many in a short time raise a worker_crash_loop alert.';
COMMENT ON COLUMN baostock.worker_starts.started_at IS 'When it started.';
COMMENT ON COLUMN baostock.worker_starts.pid IS 'Its process id.';

-- The locks that keep two syncs from fetching one day, or creating one minute partition, at
-- once: row locks on rows only the extension's owner may lock (advisory locks any role could
-- take and hold). Rows are made on first use and hold nothing worth a dump.
CREATE TABLE baostock.sync_locks (
    name text PRIMARY KEY
);
REVOKE ALL ON baostock.sync_locks FROM PUBLIC;
COMMENT ON TABLE baostock.sync_locks IS 'Locks of the syncs (a row per day or minute partition, locked FOR UPDATE while one is synced or created; the row factors, locked FOR SHARE by writers of daily bars and FOR UPDATE by writers of factors); no role but the owner may lock them.';
COMMENT ON COLUMN baostock.sync_locks.name IS 'What the row locks: day YYYY-MM-DD, minute partition YYYYMM, or factors.';

SELECT pg_catalog.pg_extension_config_dump('baostock.securities', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.index_constituents', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.stock_industries', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.trade_calendar', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.daily_bars', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.weekly_bars', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.monthly_bars', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.minute_bars', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.adjust_factors', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.tracking', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.synced_days', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.sync_runs', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.sync_runs_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.synced_ranges', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.sync_jobs', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.sync_jobs_job_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.sync_units', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.server_state', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.alerts', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.alerts_alert_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.worker_starts', '');

-- How an update script changes a table (ALTER TABLE, CREATE INDEX, ...) from 0.3.0 on, so that
-- ALTER EXTENSION UPDATE works on a Citus cluster too. There the coordinator runs the script
-- and Citus sends a table's DDL to its shards and to every node's copy of the table, but only
-- one statement at a time (in a script it sends the whole script and fails), and Citus then
-- runs the same update on each worker node, whose tables that DDL has already changed. Kept
-- beside the tables (an update drops and remakes the other functions before its table part).
CREATE FUNCTION baostock.table_ddl(rel regclass, ddl text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    held boolean := false;
BEGIN
    IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_local_group WHERE groupid > 0)
                    AND EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1)'
            INTO held USING rel;
    END IF;
    IF NOT held THEN
        EXECUTE ddl;
    END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION baostock.table_ddl(regclass, text) FROM PUBLIC;
COMMENT ON FUNCTION baostock.table_ddl(regclass, text) IS 'Runs one DDL statement on one of the extension''s tables from an update script: executed alone (Citus sends a single statement to the shards), and skipped on a Citus worker node for a table Citus holds (the coordinator''s run of the same update changed it there). Update scripts from 0.3.0 on change tables only through it (scripts/assemble-update.sh checks).';
