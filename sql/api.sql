-- pg_baostock: health, views, comments and privileges. Runs after the generated functions.

CREATE FUNCTION baostock.sync_health(
    OUT status text,
    OUT last_synced_day date,
    OUT lag_trading_days integer,
    OUT success_rate double precision,
    OUT mean_duration_s double precision,
    OUT recent_runs integer,
    OUT consecutive_failures integer,
    OUT last_error text,
    OUT last_error_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
WITH today AS (
    SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date AS d
), last AS (
    SELECT max(day) AS day FROM baostock.synced_days
), lag AS (
    SELECT count(*)::integer AS n
    FROM baostock.trade_calendar c, last, today
    WHERE c.is_trading_day AND c.day <= today.d AND (last.day IS NULL OR c.day > last.day)
), recent AS (
    SELECT status, finished_at - started_at AS took, row_number() OVER (ORDER BY run_id DESC) AS rn
    FROM (SELECT * FROM baostock.sync_runs WHERE kind = 'sync_date' ORDER BY run_id DESC LIMIT 20) r
), stats AS (
    SELECT count(*)::integer AS n,
           avg((status <> 'failed')::integer)::double precision AS rate,
           avg(extract(epoch FROM took))::double precision AS mean,
           coalesce(min(rn) FILTER (WHERE status <> 'failed') - 1, count(*))::integer AS streak
    FROM recent
), err AS (
    SELECT error_message, finished_at FROM baostock.sync_runs
    WHERE status = 'failed' ORDER BY run_id DESC LIMIT 1
)
SELECT CASE
           WHEN stats.streak >= 3 THEN 'failing'
           WHEN last.day IS NULL OR lag.n > 1 THEN 'stale'
           WHEN stats.streak > 0 OR stats.rate < 0.9 THEN 'degraded'
           ELSE 'healthy'
       END,
       last.day, lag.n, stats.rate, stats.mean, stats.n, stats.streak,
       err.error_message, err.finished_at
FROM today, last, lag, stats LEFT JOIN err ON true
$$;
COMMENT ON FUNCTION baostock.sync_health() IS 'One row on the state of the daily sync: failing (the last 3 sync_date runs failed), stale (nothing synced, or more than one trading day behind the calendar), degraded (the last run failed, or under 90% of the last 20 succeeded) or healthy; with the last synced day, the lag in trading days, success rate, mean duration and the last error.';

CREATE VIEW baostock.health AS SELECT * FROM baostock.sync_health();
COMMENT ON VIEW baostock.health IS 'sync_health() as a view, for dashboards and alert queries.';

CREATE VIEW baostock.runs AS
SELECT run_id, kind, params, day, started_at, finished_at, finished_at - started_at AS duration, status,
       requests, bytes, rows_inserted, rows_updated, rows_unchanged, error_sqlstate, error_message
FROM baostock.sync_runs
ORDER BY run_id DESC;
COMMENT ON VIEW baostock.runs IS 'Run history with metrics, newest first.';

CREATE VIEW baostock.coverage AS
SELECT code, min(date) AS first_day, max(date) AS last_day, count(*) AS bars
FROM baostock.daily_bars
GROUP BY code;
COMMENT ON VIEW baostock.coverage IS 'Per code: first and last stored day and number of daily bars.';

CREATE VIEW baostock.gaps AS
SELECT s.code, d.day
FROM baostock.synced_days d
JOIN baostock.securities s
  ON s.sec_type IN (1, 5)
 AND s.ipo_date <= d.day
 AND (s.out_date IS NULL OR d.day < s.out_date)
WHERE NOT EXISTS (SELECT 1 FROM baostock.daily_bars b WHERE b.code = s.code AND b.date = d.day);
COMMENT ON VIEW baostock.gaps IS 'Synced trading days on which a listed stock or ETF has no bar.';

COMMENT ON FUNCTION baostock.sync_date(date, boolean) IS 'Syncs one trading day (default: the latest): every A-share''s and ETF''s daily bar and the day''s adjust factors, in one transaction. Skips non-trading days and days already synced unless force; reports not_available when the server has not published the day yet.';
COMMENT ON FUNCTION baostock.sync_calendar(date, date) IS 'Syncs the trade calendar between two days (default: 1990-12-19 to today).';
COMMENT ON FUNCTION baostock.bench_store(integer) IS 'Benchmark: the store''s batch upsert (new, unchanged, changed rows) against COPY of the same synthetic bars into an identical temporary table; superusers only.';
COMMENT ON FUNCTION baostock.sync_securities() IS 'Syncs the list of securities with names, types, listing and delisting dates.';

-- Reading is open; reaching the network or writing is for the owner and whom it grants.
GRANT USAGE ON SCHEMA baostock TO PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA baostock FROM PUBLIC;
GRANT SELECT ON baostock.health, baostock.runs, baostock.coverage, baostock.gaps TO PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.sync_date(date, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.sync_calendar(date, date) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.sync_securities() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.bench_store(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION baostock.sync_health() TO PUBLIC;
GRANT EXECUTE ON FUNCTION baostock.latest_trading_day() TO PUBLIC;
