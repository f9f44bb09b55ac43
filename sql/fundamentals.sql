-- pg_baostock: point-in-time reads of the reports (sql/reports.sql): what could have been known
-- on a day. A report is known on a day when it was published before that day (the server
-- publishes a day's reports at 01:30 China time the next day). Remade by every update.

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
