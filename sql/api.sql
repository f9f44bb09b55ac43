-- pg_baostock: health, views, comments and privileges. Runs after the generated functions.

CREATE FUNCTION baostock.sync_health(
    OUT status text,
    OUT last_synced_day date,
    OUT lag_trading_days integer,
    OUT holes integer,
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
), holes AS (
    SELECT count(*)::integer AS n
    FROM baostock.trade_calendar c
    WHERE c.is_trading_day
      AND c.day > (SELECT min(day) FROM baostock.synced_days) AND c.day < (SELECT max(day) FROM baostock.synced_days)
      AND NOT EXISTS (SELECT 1 FROM baostock.synced_days s WHERE s.day = c.day)
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
           WHEN last.day IS NULL OR lag.n > 1 OR holes.n > 0 THEN 'stale'
           WHEN stats.streak > 0 OR stats.rate < 0.9 THEN 'degraded'
           ELSE 'healthy'
       END,
       last.day, lag.n, holes.n, stats.rate, stats.mean, stats.n, stats.streak,
       err.error_message, err.finished_at
FROM today, last, lag, holes, stats LEFT JOIN err ON true
$$;
COMMENT ON FUNCTION baostock.sync_health() IS 'One row on the state of the daily sync: failing (the last 3 sync_date runs failed), stale (nothing synced, more than one trading day behind the calendar, or holes: unsynced trading days between the oldest and the newest synced day), degraded (the last run failed, or under 90% of the last 20 succeeded) or healthy; with the last synced day, the lag in trading days, the holes, success rate, mean duration and the last error.';

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
SELECT NULL::text AS code, c.day, 'day not synced'::text AS missing
FROM baostock.trade_calendar c
WHERE c.is_trading_day
  AND c.day > (SELECT min(day) FROM baostock.synced_days) AND c.day < (SELECT max(day) FROM baostock.synced_days)
  AND NOT EXISTS (SELECT 1 FROM baostock.synced_days s WHERE s.day = c.day)
UNION ALL
SELECT s.code, d.day, 'bar'
FROM baostock.synced_days d
JOIN baostock.securities s
  ON s.sec_type IN (1, 5)
 AND s.ipo_date <= d.day
 AND (s.out_date IS NULL OR d.day < s.out_date)
WHERE NOT EXISTS (SELECT 1 FROM baostock.daily_bars b WHERE b.code = s.code AND b.date = d.day);
COMMENT ON VIEW baostock.gaps IS 'What is missing: trading days between the oldest and the newest synced day that are not synced (code NULL, missing = ''day not synced''), and listed stocks or ETFs without a bar on a synced day (missing = ''bar'').';

CREATE VIEW baostock.jobs AS
SELECT j.job_id, j.state, j.start_date, j.end_date, j.codes, j.frequency,
       coalesce(u.total, 0) AS units_total, coalesce(u.done, 0) AS units_done, coalesce(u.failed, 0) AS units_failed,
       j.rows_written, j.requests, j.bytes, j.created_at, j.started_at, j.finished_at,
       r.rate,
       CASE WHEN j.state IN ('queued', 'running') AND r.rate > 0
            THEN make_interval(secs => (coalesce(u.total, 0) - coalesce(u.done, 0) - coalesce(u.failed, 0)) / r.rate)
       END AS eta,
       j.est_requests, j.est_seconds, j.plan, j.error_message
FROM baostock.sync_jobs j
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE state NOT IN ('empty', 'replanned', 'cancelled')) AS total,
           count(*) FILTER (WHERE state = 'done') AS done,
           count(*) FILTER (WHERE state = 'failed') AS failed
    FROM baostock.sync_units WHERE job_id = j.job_id
) u ON true
LEFT JOIN LATERAL (
    SELECT (coalesce(u.done, 0) + coalesce(u.failed, 0))
           / nullif(extract(epoch FROM coalesce(j.finished_at, clock_timestamp()) - j.started_at), 0)::double precision AS rate
) r ON true
ORDER BY j.job_id DESC;
COMMENT ON VIEW baostock.jobs IS 'Backfill jobs, newest first: state, units total / done / failed (days replanned per code count by their per-code units), rows written, requests, bytes, times, rate in units per second and the ETA.';

COMMENT ON FUNCTION baostock.sync_date(date, boolean) IS 'Syncs one trading day, or without a day every trading day after the newest synced one up to the latest (at most baostock.catchup_days), oldest first, each with its own run: every A-share''s and ETF''s daily bar and the day''s adjust factors. One row per day looked at. Skips non-trading days and days already synced unless force; not_available: the server has not published the day; incomplete: stocks or ETFs missing; neither is marked synced.';
COMMENT ON FUNCTION baostock.backfill(date, date, text[], text, boolean) IS 'Queues a backfill job for the background worker and returns its id at once: one unit per trading day not yet synced (all codes), or per-code units (codes given). Follow it with baostock.wait(job_id) or the baostock.jobs view.';
COMMENT ON FUNCTION baostock.plan(date, date, text[], text, boolean) IS 'What backfill() with the same arguments would do: units per kind, their days, estimated requests and seconds; queues nothing.';
COMMENT ON FUNCTION baostock.worker_status() IS 'Whether the library is preloaded, the background worker''s pid and last heartbeat (NULL when none runs), and the server sessions the cluster holds now (capped by baostock.max_sessions).';
COMMENT ON FUNCTION baostock.wait(bigint) IS 'Blocks until the job ends, with a progress NOTICE every 2 seconds; returns done, failed or cancelled. Cancelling the wait does not cancel the job.';
COMMENT ON FUNCTION baostock.cancel(bigint) IS 'Cancels a queued or running job; the worker stops between units within a second. Returns the job''s state.';
COMMENT ON FUNCTION baostock.sync_calendar(date, date) IS 'Syncs the trade calendar between two days (default: 1990-12-19 to today).';
COMMENT ON FUNCTION baostock.bench_store(integer) IS 'Benchmark: the store''s batch upsert (new, unchanged, changed rows) against COPY of the same synthetic bars into an identical temporary table; superusers only.';
COMMENT ON FUNCTION baostock.sync_securities() IS 'Syncs the list of securities with names, types, listing and delisting dates.';

-- Reading is open; reaching the network or writing is for the owner and whom it grants.
GRANT USAGE ON SCHEMA baostock TO PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA baostock FROM PUBLIC;
GRANT SELECT ON baostock.health, baostock.runs, baostock.coverage, baostock.gaps, baostock.jobs TO PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.sync_date(date, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.sync_calendar(date, date) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.sync_securities() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.bench_store(integer) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.backfill(date, date, text[], text, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.plan(date, date, text[], text, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.cancel(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION baostock.wait(bigint) TO PUBLIC;
GRANT EXECUTE ON FUNCTION baostock.worker_status() TO PUBLIC;
GRANT EXECUTE ON FUNCTION baostock.sync_health() TO PUBLIC;
GRANT EXECUTE ON FUNCTION baostock.latest_trading_day() TO PUBLIC;
