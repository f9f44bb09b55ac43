-- pg_baostock's research reads, what could have been known on a day, without look-ahead:
-- * the reports (sql/reports.sql): a report is known on a day when it was published before
--   that day (the server publishes a day's reports at 01:30 China time the next day);
-- * index membership: the stored list in force on a day is the newest one dated on or before
--   it (the server dates a week's list by its Monday); backfill_membership() stores the lists
--   back to each index's launch, to the week of every change.
-- Remade by every update.

CREATE FUNCTION baostock.fundamentals_asof(codes text[], day date, kind text DEFAULT 'profit')
RETURNS TABLE (code text, stat_date date, pub_date date, report jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF codes IS NULL OR day IS NULL OR kind IS NULL THEN
        RAISE EXCEPTION 'fundamentals_asof: % must not be NULL',
            CASE WHEN codes IS NULL THEN 'codes' WHEN day IS NULL THEN 'day' ELSE 'kind' END
            USING ERRCODE = '22004', HINT = 'Pass the codes, a day and a kind (profit by default).';
    END IF;
    IF NOT isfinite(day) THEN
        RAISE EXCEPTION 'fundamentals_asof: day % is not a day', day USING ERRCODE = '22023';
    END IF;
    IF kind NOT IN ('profit', 'operation', 'growth', 'balance', 'cash_flow', 'dupont', 'express', 'forecast', 'dividend') THEN
        RAISE EXCEPTION 'fundamentals_asof: unknown kind %', quote_literal(kind) USING ERRCODE = '22023',
            HINT = 'Kinds are profit, operation, growth, balance, cash_flow, dupont, express, forecast and dividend.';
    END IF;
    IF kind = 'dividend' THEN
        -- A dividend is known from its earliest date; the dates it announced later (record,
        -- ex and pay dates) are shown only when they are before the day.
        RETURN QUERY
        SELECT DISTINCT ON (r.code) r.code, NULL::date, r.pub_date,
               (SELECT jsonb_object_agg(e.key, CASE WHEN e.key LIKE '%\_date' AND e.value #>> '{}' >= day::text
                                                    THEN 'null'::jsonb ELSE e.value END)
                FROM jsonb_each(to_jsonb(r) - 'code' - 'pub_date' - 'fetched_at') e)
        FROM baostock.report_dividend r
        WHERE r.code = ANY (codes) AND r.pub_date < day
        ORDER BY r.code, r.pub_date DESC;
        RETURN;
    END IF;
    RETURN QUERY EXECUTE format($q$
        SELECT DISTINCT ON (r.code) r.code, r.stat_date, r.pub_date,
               to_jsonb(r) - 'code' - 'stat_date' - 'pub_date' - 'fetched_at'
        FROM baostock.%I r
        WHERE r.code = ANY ($1) AND r.pub_date < $2
        ORDER BY r.code, r.stat_date DESC, r.pub_date DESC$q$, 'report_' || kind)
    USING codes, day;
END
$$;
COMMENT ON FUNCTION baostock.fundamentals_asof(text[], date, text) IS 'What was known on a day of the codes'' reports of a kind (profit by default; operation, growth, balance, cash_flow, dupont, express, forecast, dividend): per code the report of the latest period published before the day, in its latest revision published before the day, never one published on or after it; report holds its fields under their column names (numbers as JSON numbers). Dividends: the latest dividend known before the day (stat_date NULL), its dates not yet reached shown as null. NULL arguments are 22004, an unknown kind or an infinite day 22023.';

CREATE VIEW baostock.profit_latest AS
SELECT DISTINCT ON (r.code, r.stat_date) r.*, count(*) OVER (PARTITION BY r.code, r.stat_date) AS revisions,
       min(r.pub_date) OVER (PARTITION BY r.code, r.stat_date) AS first_pub_date
FROM baostock.report_profit r
ORDER BY r.code, r.stat_date, r.pub_date DESC;
COMMENT ON VIEW baostock.profit_latest IS 'The latest stored revision of each code''s profit report of each period (baostock.report_profit), with how many revisions are stored and when the first was published. For what was known on a past day, use baostock.fundamentals_asof(codes, day, ''profit'').';

CREATE VIEW baostock.operation_latest AS
SELECT DISTINCT ON (r.code, r.stat_date) r.*, count(*) OVER (PARTITION BY r.code, r.stat_date) AS revisions,
       min(r.pub_date) OVER (PARTITION BY r.code, r.stat_date) AS first_pub_date
FROM baostock.report_operation r
ORDER BY r.code, r.stat_date, r.pub_date DESC;
COMMENT ON VIEW baostock.operation_latest IS 'The latest stored revision of each code''s operation report of each period (baostock.report_operation), with how many revisions are stored and when the first was published. For what was known on a past day, use baostock.fundamentals_asof(codes, day, ''operation'').';

CREATE VIEW baostock.growth_latest AS
SELECT DISTINCT ON (r.code, r.stat_date) r.*, count(*) OVER (PARTITION BY r.code, r.stat_date) AS revisions,
       min(r.pub_date) OVER (PARTITION BY r.code, r.stat_date) AS first_pub_date
FROM baostock.report_growth r
ORDER BY r.code, r.stat_date, r.pub_date DESC;
COMMENT ON VIEW baostock.growth_latest IS 'The latest stored revision of each code''s growth report of each period (baostock.report_growth), with how many revisions are stored and when the first was published. For what was known on a past day, use baostock.fundamentals_asof(codes, day, ''growth'').';

CREATE VIEW baostock.balance_latest AS
SELECT DISTINCT ON (r.code, r.stat_date) r.*, count(*) OVER (PARTITION BY r.code, r.stat_date) AS revisions,
       min(r.pub_date) OVER (PARTITION BY r.code, r.stat_date) AS first_pub_date
FROM baostock.report_balance r
ORDER BY r.code, r.stat_date, r.pub_date DESC;
COMMENT ON VIEW baostock.balance_latest IS 'The latest stored revision of each code''s balance report of each period (baostock.report_balance), with how many revisions are stored and when the first was published. For what was known on a past day, use baostock.fundamentals_asof(codes, day, ''balance'').';

CREATE VIEW baostock.cash_flow_latest AS
SELECT DISTINCT ON (r.code, r.stat_date) r.*, count(*) OVER (PARTITION BY r.code, r.stat_date) AS revisions,
       min(r.pub_date) OVER (PARTITION BY r.code, r.stat_date) AS first_pub_date
FROM baostock.report_cash_flow r
ORDER BY r.code, r.stat_date, r.pub_date DESC;
COMMENT ON VIEW baostock.cash_flow_latest IS 'The latest stored revision of each code''s cash flow report of each period (baostock.report_cash_flow), with how many revisions are stored and when the first was published. For what was known on a past day, use baostock.fundamentals_asof(codes, day, ''cash_flow'').';

CREATE VIEW baostock.dupont_latest AS
SELECT DISTINCT ON (r.code, r.stat_date) r.*, count(*) OVER (PARTITION BY r.code, r.stat_date) AS revisions,
       min(r.pub_date) OVER (PARTITION BY r.code, r.stat_date) AS first_pub_date
FROM baostock.report_dupont r
ORDER BY r.code, r.stat_date, r.pub_date DESC;
COMMENT ON VIEW baostock.dupont_latest IS 'The latest stored revision of each code''s dupont report of each period (baostock.report_dupont), with how many revisions are stored and when the first was published. For what was known on a past day, use baostock.fundamentals_asof(codes, day, ''dupont'').';

CREATE VIEW baostock.express_latest AS
SELECT DISTINCT ON (r.code, r.stat_date) r.*, count(*) OVER (PARTITION BY r.code, r.stat_date) AS revisions,
       min(r.pub_date) OVER (PARTITION BY r.code, r.stat_date) AS first_pub_date
FROM baostock.report_express r
ORDER BY r.code, r.stat_date, r.pub_date DESC;
COMMENT ON VIEW baostock.express_latest IS 'The latest stored revision of each code''s express report of each period (baostock.report_express), with how many revisions are stored and when the first was published. For what was known on a past day, use baostock.fundamentals_asof(codes, day, ''express'').';

CREATE VIEW baostock.forecast_latest AS
SELECT DISTINCT ON (r.code, r.stat_date) r.*, count(*) OVER (PARTITION BY r.code, r.stat_date) AS revisions,
       min(r.pub_date) OVER (PARTITION BY r.code, r.stat_date) AS first_pub_date
FROM baostock.report_forecast r
ORDER BY r.code, r.stat_date, r.pub_date DESC;
COMMENT ON VIEW baostock.forecast_latest IS 'The latest stored revision of each code''s forecast report of each period (baostock.report_forecast), with how many revisions are stored and when the first was published. For what was known on a past day, use baostock.fundamentals_asof(codes, day, ''forecast'').';

CREATE VIEW baostock.dividends AS
SELECT r.*, f.back_factor, f.adjust_factor
FROM baostock.report_dividend r
LEFT JOIN baostock.adjust_factors f ON f.code = r.code AND f.operate_date = r.operate_date;
COMMENT ON VIEW baostock.dividends IS 'Every stored dividend (baostock.report_dividend, known from its pub_date) beside the adjust factor of its ex date (baostock.adjust_factors on operate_date; NULL while that factor is not stored).';

CREATE VIEW baostock.index_membership AS
WITH lists AS (
    SELECT d.index_name, d.update_date,
           lead(d.update_date) OVER w AS next_list,
           row_number() OVER w AS n
    FROM (SELECT DISTINCT c.index_name, c.update_date FROM baostock.index_constituents c) d
    WINDOW w AS (PARTITION BY d.index_name ORDER BY d.update_date)
), runs AS (
    SELECT c.index_name, c.code, l.update_date, l.next_list, l.n,
           l.n - row_number() OVER (PARTITION BY c.index_name, c.code ORDER BY l.n) AS run
    FROM baostock.index_constituents c
    JOIN lists l ON l.index_name = c.index_name AND l.update_date = c.update_date
)
SELECT r.index_name, r.code, min(r.update_date) AS valid_from,
       (array_agg(r.next_list ORDER BY r.n DESC))[1] AS valid_to
FROM runs r
GROUP BY r.index_name, r.code, r.run;
COMMENT ON VIEW baostock.index_membership IS 'Each stretch of time a code was a constituent of an index, from the stored lists (baostock.index_constituents): valid_from the first list of the stretch with it, valid_to the first stored list after it without it (exclusive; NULL while the newest stored list has it). Two stored lists that are equal count as one stretch: backfill_membership() stores lists a month apart and, where they differ, the lists between them to the week of the change.';

CREATE FUNCTION baostock.index_members(index_name text, day date)
RETURNS TABLE (code text, code_name text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF index_members.index_name IS NULL OR day IS NULL THEN
        RAISE EXCEPTION 'index_members: % must not be NULL', CASE WHEN day IS NULL THEN 'day' ELSE 'index_name' END
            USING ERRCODE = '22004';
    END IF;
    IF index_members.index_name NOT IN ('hs300', 'sz50', 'zz500') THEN
        RAISE EXCEPTION 'index_members: unknown index %', quote_literal(index_members.index_name) USING ERRCODE = '22023',
            HINT = 'Indices are hs300 (CSI 300), sz50 (SSE 50) and zz500 (CSI 500).';
    END IF;
    IF NOT isfinite(day) THEN
        RAISE EXCEPTION 'index_members: day % is not a day', day USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    SELECT c.code, c.code_name
    FROM baostock.index_constituents c
    WHERE c.index_name = index_members.index_name
      AND c.update_date = (SELECT max(x.update_date) FROM baostock.index_constituents x
                           WHERE x.index_name = index_members.index_name AND x.update_date <= day)
    ORDER BY c.code;
END
$$;
COMMENT ON FUNCTION baostock.index_members(text, date) IS 'The constituents of an index (hs300, sz50, zz500) on a day: the newest stored list dated on or before it (the server dates a week''s list by its Monday; a list is in force until the next). No rows before the first stored list: backfill_membership() stores them back to the index''s launch. NULL arguments are 22004, an unknown index or an infinite day 22023.';

CREATE VIEW baostock.universe AS
SELECT m.index_name, b.date, b.code, b.open, b.high, b.low, b.close, b.preclose,
       b.qfq_open, b.qfq_high, b.qfq_low, b.qfq_close, b.hfq_close,
       b.volume, b.amount, b.turn, b.pct_chg, b.trade_status, b.is_st
FROM baostock.index_membership m
JOIN baostock.daily_bars b ON b.code = m.code AND b.date >= m.valid_from AND (m.valid_to IS NULL OR b.date < m.valid_to);
COMMENT ON VIEW baostock.universe IS 'The daily bars of each index''s constituents of the day (baostock.index_membership joined to baostock.daily_bars): a backtest over an index without survivorship bias, e.g. WHERE index_name = ''hs300'' AND date BETWEEN ... .';
