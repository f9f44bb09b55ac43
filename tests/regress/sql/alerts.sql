-- Alerts and health from the tables alone: a database with a calendar and nothing synced is
-- stale, with a stale alert raised once (and as JSON); a temporary table of the caller's named
-- like anything evaluate_alerts() might use is never written by it (it runs as its owner).
INSERT INTO baostock.trade_calendar (day, is_trading_day) VALUES ('2020-01-14', true), ('2020-01-15', true);
SELECT status, last_synced_day, due_day, holes, jobs_queued, jobs_running, jobs_paused, failed_units, open_alerts
FROM baostock.health;
CREATE TEMP TABLE baostock_conditions (severity text, kind text, key text, message text, job_id bigint, run_id bigint);
CREATE FUNCTION pg_temp.planted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the planted trigger ran as %', current_user;
END $$;
CREATE TRIGGER planted BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON baostock_conditions
    FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.planted();
SELECT baostock.evaluate_alerts();
SELECT baostock.evaluate_alerts();
SELECT severity, kind, key, message, cleared_at IS NULL AS open FROM baostock.alerts ORDER BY alert_id;
SELECT array_agg(k ORDER BY k) FROM baostock.alerts a, json_object_keys(baostock.alert_json(a)::json) k;
-- Synced: the condition no longer holds and the alert clears.
INSERT INTO baostock.synced_days (day, bars, factors) VALUES ('2020-01-14', 1, 0), ('2020-01-15', 1, 0);
SELECT baostock.evaluate_alerts();
SELECT kind, cleared_at IS NULL AS open FROM baostock.alerts ORDER BY alert_id;
SELECT status, last_synced_day, holes FROM baostock.health;
-- The health queries are never JIT-compiled: their estimates pass jit_above_cost on any
-- database (empty tables count as ten pages), and compiling took 1.5 s of a query that runs in
-- milliseconds, every two seconds in the worker and at every scrape.
SELECT proname, 'jit=off' = ANY (proconfig) AS no_jit
FROM pg_proc
WHERE pronamespace = 'baostock'::regnamespace AND proname IN ('sync_health', 'evaluate_alerts')
ORDER BY proname;
