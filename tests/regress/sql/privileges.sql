-- Who may do what: a role granted baostock_reader reads the data and nothing else; a role
-- granted nothing reads the status views only; the functions that reach the server or write
-- are the owner's until granted, and no role but the owner may lock the syncs' locks.
CREATE ROLE regress_baostock_analyst;
GRANT baostock_reader TO regress_baostock_analyst;
CREATE ROLE regress_baostock_nobody;
SELECT rolcanlogin FROM pg_roles WHERE rolname = 'baostock_reader';

SET ROLE regress_baostock_analyst;
SELECT q, public.error_of(q) FROM (VALUES
    ('SELECT count(*) FROM baostock.daily_bars'),
    ('SELECT count(*) FROM baostock.weekly_bars'),
    ('SELECT count(*) FROM baostock.monthly_bars'),
    ('SELECT count(*) FROM baostock.minute_bars'),
    ('SELECT count(*) FROM baostock.adjust_factors'),
    ('SELECT count(*) FROM baostock.securities'),
    ('SELECT count(*) FROM baostock.trade_calendar'),
    ('SELECT count(*) FROM baostock.synced_days'),
    ('SELECT count(*) FROM baostock.synced_ranges'),
    ('SELECT count(*) FROM baostock.index_constituents'),
    ('SELECT count(*) FROM baostock.stock_industries'),
    ('SELECT count(*) FROM baostock.daily_bars_qfq'),
    ('SELECT count(*) FROM baostock.adjusted_bars(''sh.600000'', ''2020-01-01'', ''2020-01-10'', ''hfq'')'),
    ('SELECT baostock.factors_known_through(''sh.600000'')'),
    ('SELECT count(*) FROM baostock.report_profit'),
    ('SELECT count(*) FROM baostock.report_dividend'),
    ('SELECT count(*) FROM baostock.report_money_supply_month'),
    ('SELECT count(*) FROM baostock.profit_latest'),
    ('SELECT count(*) FROM baostock.dividends'),
    ('SELECT count(*) FROM baostock.fundamentals_asof(ARRAY[''sh.600000''], ''2024-01-02'')'),
    ('SELECT count(*) FROM baostock.index_membership'),
    ('SELECT count(*) FROM baostock.universe'),
    ('SELECT count(*) FROM baostock.index_members(''hs300'', ''2024-01-02'')'),
    ('SELECT count(*) FROM baostock.health'),
    ('SELECT count(*) FROM baostock.runs'),
    ('SELECT count(*) FROM baostock.jobs'),
    ('SELECT count(*) FROM baostock.gaps'),
    ('SELECT count(*) FROM baostock.coverage'),
    ('SELECT count(*) FROM baostock.open_alerts'),
    ('DELETE FROM baostock.daily_bars'),
    ('INSERT INTO baostock.trade_calendar (day, is_trading_day) VALUES (''1990-01-01'', false)'),
    ('SELECT count(*) FROM baostock.server_state'),
    ('SELECT count(*) FROM baostock.sync_locks'),
    ('SELECT * FROM baostock.sync_locks FOR UPDATE'),
    ('SELECT * FROM baostock.sync_date()'),
    ('SELECT baostock.backfill(''2024-01-02'')'),
    ('SELECT baostock.cancel(1)'),
    ('SELECT baostock.retry(1)'),
    ('SELECT baostock.resume()'),
    ('SELECT baostock.evaluate_alerts()'),
    ('SELECT * FROM baostock.schedule_daily()'),
    ('SHOW baostock.password'),
    ('SHOW baostock.api_key'),
    ('SHOW baostock.alert_webhook'),
    ('SET baostock.retries = 10'),
    ('SET baostock.request_timeout = ''1h''')
) AS t(q);
RESET ROLE;

SET ROLE regress_baostock_nobody;
SELECT q, public.error_of(q) FROM (VALUES
    ('SELECT count(*) FROM baostock.daily_bars'),
    ('SELECT count(*) FROM baostock.health'),
    ('SELECT count(*) FROM baostock.runs'),
    ('SELECT count(*) FROM baostock.open_alerts'),
    ('SELECT baostock.wait(1)'),
    ('SELECT baostock.sync_tracked()'),
    ('SELECT count(*) FROM baostock.adjusted_bars(''sh.600000'', ''2020-01-01'', ''2020-01-10'', ''hfq'')'),
    ('SELECT count(*) FROM baostock.factor_spans(ARRAY[''sh.600000''])')
) AS t(q);
-- The secrets are not even listed.
SELECT count(*) FROM pg_settings WHERE name IN ('baostock.password', 'baostock.api_key', 'baostock.alert_webhook');
RESET ROLE;

-- Placing the tables on Citus nodes is the owner's.
SET ROLE regress_baostock_analyst;
SELECT public.error_of('SELECT * FROM baostock.distribute()');
RESET ROLE;

-- A grant of one function is enough to call it: it runs as its owner with a fixed search_path.
GRANT EXECUTE ON FUNCTION baostock.sync_date(date, boolean) TO regress_baostock_nobody;
SET ROLE regress_baostock_nobody;
SELECT public.error_of($$SELECT * FROM baostock.sync_date('1980-01-01')$$);
RESET ROLE;
REVOKE EXECUTE ON FUNCTION baostock.sync_date(date, boolean) FROM regress_baostock_nobody;

-- Deny by default: every function of the schema that a role granted nothing may execute
-- (PUBLIC's allowlist) and those baostock_reader may execute besides (sql/api.sql). A function
-- added without a decision is nobody's: any other row here fails the test.
SELECT who, function FROM (
    SELECT CASE WHEN has_function_privilege('regress_baostock_nobody', p.oid, 'EXECUTE') THEN 'PUBLIC'
                ELSE 'baostock_reader' END AS who,
           p.oid::regprocedure::text AS function
    FROM pg_proc p
    WHERE p.pronamespace = 'baostock'::regnamespace
      AND has_function_privilege('regress_baostock_analyst', p.oid, 'EXECUTE')
) f
ORDER BY who COLLATE "C", function COLLATE "C";
DROP ROLE regress_baostock_analyst;
DROP ROLE regress_baostock_nobody;
