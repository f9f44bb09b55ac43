-- pg_baostock: health, views, comments and privileges. Runs after the generated functions.

CREATE FUNCTION baostock.stale_after() RETURNS interval
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- Shown with a unit once the library is loaded ('15h'); a bare number is minutes.
    SELECT CASE WHEN v ~ '^\d+$' THEN make_interval(mins => v::integer) ELSE v::interval END
    FROM coalesce(nullif(current_setting('baostock.stale_after', true), ''), '900') AS v
$$;
COMMENT ON FUNCTION baostock.stale_after() IS 'baostock.stale_after as an interval (default 15 hours): how long after a trading day''s publication (18:00 China) it may stay unsynced before health is stale.';

-- The newest bar of a series (a code at a frequency): an index probe of one code's bars, a
-- query of its own so that Citus routes it to the one shard holding the code (a view's
-- correlated subquery over a distributed table joined to a local one, it cannot plan).
CREATE FUNCTION baostock.newest_bar(code text, frequency text) RETURNS timestamp
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    newest timestamp;
BEGIN
    CASE frequency
        WHEN 'd' THEN SELECT max(b.date) INTO newest FROM baostock.daily_bars b WHERE b.code = newest_bar.code;
        WHEN 'w' THEN SELECT max(b.date) INTO newest FROM baostock.weekly_bars b WHERE b.code = newest_bar.code;
        WHEN 'm' THEN SELECT max(b.date) INTO newest FROM baostock.monthly_bars b WHERE b.code = newest_bar.code;
        WHEN '5', '15', '30', '60' THEN
            SELECT max(b.time) INTO newest FROM baostock.minute_bars b
            WHERE b.code = newest_bar.code AND b.frequency = newest_bar.frequency::smallint;
        ELSE NULL;
    END CASE;
    RETURN newest;
END
$$;
COMMENT ON FUNCTION baostock.newest_bar(text, text) IS 'The date (the time for minute bars) of the newest stored bar of a code at a frequency (d, w, m, 5, 15, 30, 60); NULL when none is stored or the frequency is unknown. What the view baostock.tracked shows as newest.';

-- The bars of one code looked for on given days: a few queries on that code's bars alone, so
-- that Citus routes each to the one shard holding the code (the gaps view calls it per code).
CREATE FUNCTION baostock.missing_bars(code text, frequency text, days date[]) RETURNS SETOF date
LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lo date := (SELECT min(d) FROM unnest(days) AS d);
    hi date := (SELECT max(d) FROM unnest(days) AS d);
    unit text := CASE frequency WHEN 'w' THEN 'week' WHEN 'm' THEN 'month' END;
    stored date[];
    suspended date[];
BEGIN
    IF frequency NOT IN ('d', 'w', 'm', '5', '15', '30', '60') THEN
        RAISE EXCEPTION 'pg_baostock: missing_bars: unknown frequency %', frequency
            USING ERRCODE = 'invalid_parameter_value', HINT = 'One of d, w, m, 5, 15, 30, 60.';
    END IF;
    IF lo IS NULL THEN
        RETURN;
    END IF;
    CASE frequency
        WHEN 'd' THEN
            SELECT array_agg(b.date) INTO stored FROM baostock.daily_bars b
            WHERE b.code = missing_bars.code AND b.date BETWEEN lo AND hi;
        WHEN 'w' THEN
            SELECT array_agg(b.period_start) INTO stored FROM baostock.weekly_bars b
            WHERE b.code = missing_bars.code AND b.period_start BETWEEN date_trunc('week', lo)::date AND hi;
        WHEN 'm' THEN
            SELECT array_agg(b.period_start) INTO stored FROM baostock.monthly_bars b
            WHERE b.code = missing_bars.code AND b.period_start BETWEEN date_trunc('month', lo)::date AND hi;
        ELSE
            SELECT array_agg(DISTINCT b.time::date) INTO stored FROM baostock.minute_bars b
            WHERE b.code = missing_bars.code AND b.frequency = missing_bars.frequency::smallint
              AND b.time > lo AND b.time < hi + 1;
            SELECT array_agg(b.date) INTO suspended FROM baostock.daily_bars b
            WHERE b.code = missing_bars.code AND b.date BETWEEN lo AND hi AND NOT b.trade_status;
    END CASE;
    IF unit IS NULL THEN
        RETURN QUERY
            SELECT d FROM unnest(days) AS d
            EXCEPT SELECT unnest(stored) EXCEPT SELECT unnest(suspended)
            ORDER BY 1;
    ELSE
        -- A week or month by the first of the days in it.
        RETURN QUERY
            SELECT f.first
            FROM (SELECT date_trunc(unit, d)::date AS period, min(d) AS first FROM unnest(days) AS d GROUP BY 1) f
            WHERE f.period NOT IN (SELECT p FROM unnest(stored) AS p WHERE p IS NOT NULL)
            ORDER BY 1;
    END IF;
END
$$;
COMMENT ON FUNCTION baostock.missing_bars(text, text, date[]) IS 'Of the trading days given, those on which a code has no bar stored at a frequency (d; w or m: the first of the days in each week or month without its bar; 5, 15, 30, 60: days without a minute bar that the daily bar does not show suspended), in order. What the view baostock.gaps lists, a code at a time (on Citus a few queries routed to the code''s shard).';

-- The server's clock and what it has published by it (PROTOCOL.md section 6), as the
-- extension's domain::publication decides it: the views compare stored series with it.
CREATE FUNCTION baostock.server_time() RETURNS timestamp
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (now() + make_interval(secs => coalesce(
               (SELECT clock_offset_ms FROM baostock.worker_status()),
               (SELECT clock_offset_ms FROM baostock.server_state), 0) / 1000.0))
           AT TIME ZONE 'Asia/Shanghai'
$$;
COMMENT ON FUNCTION baostock.server_time() IS 'The server''s China time now: ours plus the offset its last login reply showed (shared memory''s with the preload, else the one baostock.server_state keeps, else none).';

CREATE FUNCTION baostock.published_through(frequency text) RETURNS date
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t timestamp := baostock.server_time();
    hour time := CASE WHEN frequency = 'd' THEN time '17:30' WHEN frequency = 'factors' THEN time '18:00'
                      WHEN frequency IN ('5', '15', '30', '60') THEN time '20:00' END;
BEGIN
    IF frequency IS NULL THEN
        RAISE EXCEPTION 'frequency must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF hour IS NOT NULL THEN
        RETURN CASE WHEN t::time >= hour THEN t::date ELSE t::date - 1 END;
    ELSIF frequency = 'w' THEN
        -- The Sunday ending the last week whose Saturday 17:30 has passed.
        RETURN date_trunc('week', t)::date + 6
               - CASE WHEN t >= date_trunc('week', t) + interval '5 days 17:30' THEN 0 ELSE 7 END;
    ELSIF frequency = 'm' THEN
        -- The last day of the last month whose next 1st 17:30 has passed.
        RETURN (date_trunc('month', t)
                - CASE WHEN t >= date_trunc('month', t) + interval '17:30' THEN interval '0' ELSE interval '1 month' END)::date - 1;
    END IF;
    RAISE EXCEPTION 'unknown kind %', quote_literal(frequency) USING ERRCODE = 'invalid_parameter_value',
        HINT = 'Kinds are d, factors, 5, 15, 30, 60, w and m.';
END
$$;
COMMENT ON FUNCTION baostock.published_through(text) IS 'The last day whose data of a kind the server has published, by its clock (baostock.server_time()): d daily bars (17:30 China time), factors (18:00), 5/15/30/60 minute bars (20:00), w the Sunday ending the last week out (its Saturday 17:30), m the last day of the last month out (the next 1st 17:30). NULL is 22004, another kind 22023.';

CREATE FUNCTION baostock.latest_trading_day() RETURNS date
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(max(c.day), baostock.published_through('d'))
    FROM baostock.trade_calendar c
    WHERE c.is_trading_day AND c.day <= baostock.published_through('d')
$$;
COMMENT ON FUNCTION baostock.latest_trading_day() IS 'The latest trading day in the stored calendar whose daily bars the server has published (17:30 China time, by baostock.server_time()); the last published day when the calendar is empty. Default day of sync_date.';

-- The tracked series: each code tracked, or constituent of a tracked index in its newest
-- stored list, at each frequency, from its earliest start; how far it is stored and its lag
-- (trading days of its listing after that, up to the newest day sync_date reached, or the
-- last day the server has published of the frequency if earlier).
CREATE VIEW baostock.tracked AS
WITH target AS (
    SELECT coalesce((SELECT max(day) FROM baostock.synced_days), baostock.latest_trading_day()) AS day
), src AS (
    SELECT t.code, t.frequency, t.start_date, 'code'::text AS via
    FROM baostock.tracking t WHERE t.code IS NOT NULL
    UNION ALL
    SELECT c.code, t.frequency, t.start_date, t.index_name
    FROM baostock.tracking t
    CROSS JOIN target
    JOIN baostock.index_constituents c
      ON c.index_name = t.index_name
     AND c.update_date = (SELECT max(x.update_date) FROM baostock.index_constituents x
                          WHERE x.index_name = t.index_name AND x.update_date <= target.day)
), series AS (
    SELECT src.code, src.frequency, min(src.start_date) AS start_date, array_agg(DISTINCT src.via ORDER BY src.via) AS tracked_as
    FROM src GROUP BY src.code, src.frequency
)
SELECT s.code, s.frequency, s.tracked_as, s.start_date, n.newest, r.through AS synced_through,
       greatest(n.newest::date, r.through) AS current_through, tg.day AS target_day,
       (SELECT count(*)::integer FROM baostock.trade_calendar c
        WHERE c.is_trading_day AND c.day <= tg.day
          AND c.day >= s.start_date AND c.day > coalesce(greatest(n.newest::date, r.through), '-infinity')
          AND (sec.ipo_date IS NULL OR c.day >= sec.ipo_date) AND (sec.out_date IS NULL OR c.day < sec.out_date)) AS lag_trading_days
FROM series s
CROSS JOIN target
-- No further than the server has published of the series' frequency.
CROSS JOIN LATERAL (SELECT least(target.day, baostock.published_through(s.frequency)) AS day) tg
LEFT JOIN baostock.securities sec ON sec.code = s.code
CROSS JOIN LATERAL (SELECT baostock.newest_bar(s.code, s.frequency) AS newest) n
LEFT JOIN LATERAL (
    SELECT max(upper(x.span)) - 1 AS through FROM baostock.synced_ranges x
    WHERE x.code = s.code AND x.kind = s.frequency
) r ON true;
COMMENT ON VIEW baostock.tracked IS 'Every tracked series (a code tracked, or a constituent of a tracked index in its newest stored list up to target_day; per frequency): tracked_as (code and/or index names), the earliest start, the newest bar stored (its time for minute bars), the end of its synced ranges, current_through (the later of the two), target_day (the newest day sync_date reached, or the last day the server has published of the frequency if earlier: published_through) and lag_trading_days (trading days of its listing from its start up to target_day after current_through).';


CREATE FUNCTION baostock.track(
    codes text[] DEFAULT NULL,
    index_name text DEFAULT NULL,
    frequencies text[] DEFAULT ARRAY['5'],
    start_date date DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    today date := (now() AT TIME ZONE 'Asia/Shanghai')::date;
    -- The default start: the first day of last month (one to two months of bars).
    start date := coalesce($4, (date_trunc('month', today) - interval '1 month')::date);
    bad text;
    added integer;
BEGIN
    IF $1 IS NULL AND $2 IS NULL THEN
        RAISE EXCEPTION 'pg_baostock: track: codes or index_name must be given'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'SELECT baostock.track(ARRAY[''sh.600000'']) or baostock.track(index_name => ''hs300'').';
    END IF;
    IF $1 IS NOT NULL AND $2 IS NOT NULL THEN
        RAISE EXCEPTION 'pg_baostock: track: give codes or index_name, not both' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF $1 IS NOT NULL AND cardinality($1) = 0 THEN
        RAISE EXCEPTION 'pg_baostock: track: codes is an empty array' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF array_position($1, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'pg_baostock: track: an element of codes is NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF $2 IS NOT NULL AND $2 NOT IN ('hs300', 'sz50', 'zz500') THEN
        RAISE EXCEPTION 'pg_baostock: track: unknown index %', quote_literal($2)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Indices are hs300 (CSI 300), sz50 (SSE 50) and zz500 (CSI 500).';
    END IF;
    IF $3 IS NULL OR array_position($3, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'pg_baostock: track: frequencies and its elements must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF cardinality($3) = 0 THEN
        RAISE EXCEPTION 'pg_baostock: track: frequencies is an empty array' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(quote_literal(f), ', ') INTO bad FROM unnest($3) f
    WHERE f NOT IN ('d', 'w', 'm', '5', '15', '30', '60');
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'pg_baostock: track: unknown frequencies: %', bad
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Frequencies are d, w, m, 5, 15, 30 and 60.';
    END IF;
    IF start < date '1990-12-19' OR start > today THEN
        RAISE EXCEPTION 'pg_baostock: track: start_date % is before 1990-12-19 or in the future', start
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(c, ', ' ORDER BY c) INTO bad FROM unnest($1) c
    WHERE NOT EXISTS (SELECT 1 FROM baostock.securities s WHERE s.code = c);
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'pg_baostock: track: unknown codes: %', bad
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Codes come from baostock.securities (SELECT baostock.sync_securities() refreshes it).';
    END IF;
    SELECT string_agg(DISTINCT s.code, ', ') INTO bad FROM baostock.securities s
    WHERE s.code = ANY ($1) AND s.sec_type = 2 AND EXISTS (SELECT 1 FROM unnest($3) f WHERE f IN ('5', '15', '30', '60'));
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'pg_baostock: track: the server has no minute bars of indices: %', bad
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Track their daily, weekly or monthly bars instead.';
    END IF;
    INSERT INTO baostock.tracking (code, index_name, frequency, start_date)
    SELECT c, $2, f, start
    FROM unnest(coalesce($1, ARRAY[NULL::text])) c CROSS JOIN (SELECT DISTINCT f FROM unnest($3) f) fs
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    IF added > 0 THEN
        RAISE NOTICE 'pg_baostock: % tracked series added from %; the next sync_date() extends them (SELECT baostock.sync_tracked() starts now)',
            added, to_char(start, 'YYYY-MM-DD');
    END IF;
    RETURN added;
END
$$;
COMMENT ON FUNCTION baostock.track(text[], text, text[], date) IS 'Keeps codes, or an index''s constituents (hs300, sz50, zz500: following its changes), current at the frequencies given (default 5-minute bars) from start_date (default: the first day of last month): after every sync_date() a job of kind track extends each series to the day synced. Returns the number of (code or index, frequency) entries added; tracking one again is a no-op. Unknown codes, an unknown index, empty arrays and minute bars of indices are errors (22023; NULLs 22004).';

CREATE FUNCTION baostock.untrack(
    codes text[] DEFAULT NULL,
    index_name text DEFAULT NULL,
    frequencies text[] DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    removed integer;
BEGIN
    IF $1 IS NULL AND $2 IS NULL THEN
        RAISE EXCEPTION 'pg_baostock: untrack: codes or index_name must be given' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    DELETE FROM baostock.tracking t
    WHERE (t.code = ANY ($1) OR t.index_name = $2) AND ($3 IS NULL OR t.frequency = ANY ($3));
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$$;
COMMENT ON FUNCTION baostock.untrack(text[], text, text[]) IS 'Stops tracking codes or an index at the frequencies given (default: all); returns the entries removed. The bars stored stay.';

CREATE FUNCTION baostock.sync_health(
    OUT status text,
    OUT last_synced_day date,
    OUT due_day date,
    OUT lag_trading_days integer,
    OUT holes integer,
    OUT success_rate double precision,
    OUT mean_duration_s double precision,
    OUT recent_runs integer,
    OUT consecutive_failures integer,
    OUT last_error text,
    OUT last_error_at timestamptz,
    OUT worker_pid integer,
    OUT worker_heartbeat timestamptz,
    OUT jobs_queued integer,
    OUT jobs_running integer,
    OUT jobs_paused integer,
    OUT failed_units integer,
    OUT budget_used_today bigint,
    OUT daily_budget bigint,
    OUT blacklisted_until timestamptz,
    OUT open_alerts integer,
    OUT newest_alert text,
    OUT tracked_lagging integer,
    OUT awaiting text[],
    OUT reports_awaited integer,
    OUT reports_through date)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
WITH today AS (
    SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date AS d
), last AS (
    SELECT max(day) AS day FROM baostock.synced_days
), due AS (
    -- The newest trading day whose publication (18:00 China) is more than stale_after ago.
    SELECT max(day) AS day FROM baostock.trade_calendar
    WHERE is_trading_day AND ((day + time '18:00') AT TIME ZONE 'Asia/Shanghai') + baostock.stale_after() <= now()
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
), w AS (
    SELECT * FROM baostock.worker_status()
), j AS (
    SELECT count(*) FILTER (WHERE state = 'queued')::integer AS queued,
           count(*) FILTER (WHERE state = 'running')::integer AS running,
           count(*) FILTER (WHERE state = 'paused')::integer AS paused
    FROM baostock.sync_jobs
), fu AS (
    SELECT count(*)::integer AS n FROM baostock.sync_units u JOIN baostock.sync_jobs sj USING (job_id)
    WHERE u.state = 'failed' AND sj.state <> 'cancelled'
), srv AS (
    -- The cluster's live state when the library is preloaded (every database sees the same),
    -- else what the worker's last save left.
    SELECT CASE WHEN w.preloaded THEN coalesce(w.budget_used_today, 0)
                WHEN s.budget_day = ((now() + make_interval(secs => s.clock_offset_ms / 1000.0)) AT TIME ZONE 'Asia/Shanghai')::date
                THEN s.budget_used ELSE 0 END AS used,
           CASE WHEN w.preloaded THEN w.blacklisted_until
                WHEN s.blacklisted_until > now() THEN s.blacklisted_until END AS until
    FROM w, (VALUES (true)) one (id) LEFT JOIN baostock.server_state s USING (id)
), tl AS (
    -- Tracked series not stored through the due day (sync_date's stale rule, per series).
    SELECT count(*)::integer AS n FROM baostock.tracked t, due
    WHERE t.lag_trading_days > 0 AND coalesce(t.current_through, '-infinity') < due.day
), al AS (
    SELECT count(*)::integer AS n,
           (array_agg(format('%s (%s): %s', kind, severity, message) ORDER BY alert_id DESC))[1] AS newest
    FROM baostock.alerts WHERE cleared_at IS NULL
), aw AS (
    -- The kinds of the newest trading day (by the server's clock) it has not published yet.
    SELECT coalesce(array_agg(k.kind ORDER BY k.n) FILTER (WHERE baostock.published_through(k.frequency) < c.day), '{}') AS kinds
    FROM (SELECT max(day) AS day FROM baostock.trade_calendar
          WHERE is_trading_day AND day <= baostock.server_time()::date) c,
         (VALUES (1, 'daily', 'd'), (2, 'factors', 'factors'), (3, 'minute', '5')) k (n, kind, frequency)
), rp AS (
    -- The fundamentals: answers not final yet (asked before their disclosure deadline: the
    -- evening pickup asks them again), and the newest period with a final answer.
    SELECT (count(*) FILTER (WHERE NOT final))::integer AS awaited, max(period) FILTER (WHERE final) AS through
    FROM baostock.report_checks
)
SELECT CASE
           WHEN stats.streak >= 3 THEN 'failing'
           WHEN srv.until IS NOT NULL THEN 'blacklisted'
           WHEN last.day IS NULL OR lag.n > 1 OR holes.n > 0 OR due.day > last.day OR tl.n > 0 THEN 'stale'
           WHEN stats.streak > 0 OR stats.rate < 0.9 OR al.n > 0 THEN 'degraded'
           ELSE 'healthy'
       END,
       last.day, due.day, lag.n, holes.n, stats.rate, stats.mean, stats.n, stats.streak,
       err.error_message, err.finished_at,
       w.worker_pid, w.last_heartbeat, j.queued, j.running, j.paused, fu.n,
       coalesce(srv.used, 0), nullif(current_setting('baostock.daily_request_budget', true), '')::bigint,
       srv.until, al.n, al.newest, tl.n, aw.kinds, rp.awaited, rp.through
FROM today, last, due, lag, holes, stats, w, j, fu, al, tl, aw, rp LEFT JOIN srv ON true LEFT JOIN err ON true
$$;
COMMENT ON FUNCTION baostock.sync_health() IS 'One row on the state of the sync: status failing (the last 3 sync_date runs failed), blacklisted (the server blacklisted us; nothing is sent until blacklisted_until), stale (nothing synced, more than one trading day behind the calendar, holes between the oldest and newest synced day, due_day, the newest trading day published more than baostock.stale_after ago, not synced, or a tracked series not stored through due_day: tracked_lagging), degraded (the last run failed, under 90% of the last 20 succeeded, or an alert is open) or healthy; with the last synced day, the lag in trading days, the holes, success rate, mean duration, the last error, the worker (pid and heartbeat, NULL when none runs), jobs queued / running / paused, failed units of jobs not cancelled (baostock.retry() queues them), requests sent today against the budget, the blacklist and the open alerts; awaiting: the kinds of the newest trading day (by the server''s clock) the server has not published yet (daily 17:30, factors 18:00, minute 20:00 China time; empty when all are out); reports_awaited: reports asked before their disclosure deadline and not out yet (the evening''s tracking job asks them again), reports_through: the newest period with a final answer (how far the fundamentals reach).';

CREATE VIEW baostock.health AS SELECT * FROM baostock.sync_health();
COMMENT ON VIEW baostock.health IS 'sync_health() as a view, for dashboards and alert queries.';

CREATE VIEW baostock.runs AS
SELECT run_id, kind, params, day, started_at, finished_at, finished_at - started_at AS duration, status,
       requests, bytes, rows_inserted, rows_updated, rows_unchanged, error_sqlstate, error_message
FROM baostock.sync_runs
ORDER BY run_id DESC;
COMMENT ON VIEW baostock.runs IS 'Run history with metrics, newest first.';

CREATE VIEW baostock.coverage AS
SELECT code, 'd'::text AS frequency, min(date) AS first_day, max(date) AS last_day, count(*) AS bars
FROM baostock.daily_bars GROUP BY code
UNION ALL
SELECT code, 'w', min(date), max(date), count(*) FROM baostock.weekly_bars GROUP BY code
UNION ALL
SELECT code, 'm', min(date), max(date), count(*) FROM baostock.monthly_bars GROUP BY code
UNION ALL
SELECT code, frequency::text, min(date), max(date), count(*) FROM baostock.minute_bars GROUP BY code, frequency;
COMMENT ON VIEW baostock.coverage IS 'Per code and frequency (d, w, m, 5, 15, 30, 60): first and last stored day and number of bars.';

CREATE VIEW baostock.gaps AS
SELECT NULL::text AS code, 'd'::text AS frequency, c.day, 'day not synced'::text AS missing
FROM baostock.trade_calendar c
WHERE c.is_trading_day
  AND c.day > (SELECT min(day) FROM baostock.synced_days) AND c.day < (SELECT max(day) FROM baostock.synced_days)
  AND NOT EXISTS (SELECT 1 FROM baostock.synced_days s WHERE s.day = c.day)
UNION ALL
-- Listed stocks and ETFs without a bar on a synced day: the bars looked up a code at a time
-- (missing_bars, which Citus routes to the code's shard).
SELECT s.code, 'd', m.day, 'bar'
FROM baostock.securities s
CROSS JOIN LATERAL baostock.missing_bars(s.code, 'd', ARRAY(
    SELECT d.day FROM baostock.synced_days d
    WHERE d.day >= s.ipo_date AND (s.out_date IS NULL OR d.day < s.out_date))) AS m(day)
WHERE s.sec_type IN (1, 5)
UNION ALL
-- Per-code ranges (of each frequency, overlapping ones merged): a trading day of the code's
-- listing in them without its bar (a day the daily bars show suspended has no minute bars),
-- or a week or month with trading days but no bar (by its first trading day).
SELECT r.code, r.kind, m.day,
       CASE r.kind WHEN 'd' THEN 'bar' WHEN 'w' THEN 'weekly bar' WHEN 'm' THEN 'monthly bar' ELSE 'minute bars' END
FROM (SELECT x.code, x.kind, range_agg(x.span) AS spans
      FROM baostock.synced_ranges x WHERE x.kind <> 'factors' GROUP BY x.code, x.kind) r
JOIN baostock.securities s ON s.code = r.code
CROSS JOIN LATERAL baostock.missing_bars(r.code, r.kind, ARRAY(
    SELECT c.day FROM baostock.trade_calendar c
    WHERE c.is_trading_day AND c.day >= lower(r.spans) AND c.day < upper(r.spans) AND r.spans @> c.day
      AND (s.ipo_date IS NULL OR c.day >= s.ipo_date) AND (s.out_date IS NULL OR c.day < s.out_date))) AS m(day)
UNION ALL
-- Tracked series: the trading days of their listing after what is stored, up to the newest
-- synced day (the next tracking job fetches them).
SELECT t.code, t.frequency, c.day, 'tracked, not extended yet'
FROM baostock.tracked t
LEFT JOIN baostock.securities sec ON sec.code = t.code
JOIN baostock.trade_calendar c
  ON c.is_trading_day AND c.day <= t.target_day AND c.day >= t.start_date
 AND c.day > coalesce(t.current_through, '-infinity')
 AND (sec.ipo_date IS NULL OR c.day >= sec.ipo_date) AND (sec.out_date IS NULL OR c.day < sec.out_date)
WHERE t.lag_trading_days > 0;
COMMENT ON VIEW baostock.gaps IS 'What is missing: trading days between the oldest and the newest synced day that are not synced (code NULL, missing = ''day not synced''); listed stocks or ETFs without a bar on a synced day (missing = ''bar''); for each frequency a code was backfilled at, the trading days of its listing in its synced ranges without that bar (a week or month by its first trading day; a day suspended has no minute bars); and the trading days a tracked series is not stored through yet, up to the newest synced day (missing = ''tracked, not extended yet'').';

CREATE VIEW baostock.jobs AS
SELECT j.job_id, j.kind, j.state, j.start_date, j.end_date, j.codes, j.frequency,
       coalesce(u.total, 0) AS units_total, coalesce(u.done, 0) AS units_done, coalesce(u.failed, 0) AS units_failed,
       j.rows_written, j.requests, j.bytes, j.created_at, j.started_at, j.finished_at,
       r.rate,
       CASE WHEN j.state IN ('queued', 'running') AND r.rate > 0
            THEN make_interval(secs => (coalesce(u.total, 0) - coalesce(u.done, 0) - coalesce(u.failed, 0)) / r.rate)
       END AS eta,
       j.est_requests, j.est_seconds, j.plan, j.error_message, j.paused_until, j.pause_reason, j.passes
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
COMMENT ON VIEW baostock.jobs IS 'Jobs, newest first: kind (backfill, or track: the tracked series extended after a sync_date), state, units total / done / failed (days replanned per code count by their per-code units; failed: after the second pass), rows written, requests, bytes, times, rate in units per second, the ETA, and while paused why and until when.';

COMMENT ON FUNCTION baostock.sync_date(date, boolean) IS 'Syncs one trading day, or without a day every trading day after the newest synced one up to the latest (at most baostock.catchup_days), oldest first, each with its own run: every A-share''s and ETF''s daily bar and the day''s adjust factors. One row per day looked at. Skips non-trading days and days already synced unless force; not_available: the server has not published the day; incomplete: stocks or ETFs missing; neither is marked synced.';
COMMENT ON FUNCTION baostock.backfill(date, date, text[], text, boolean, boolean) IS 'Queues a backfill job for the background worker and returns its id at once: one unit per trading day not yet synced (all codes, frequency d), or per-code range units (codes given, or frequency w, m, 5, 15, 30, 60); with factors (the default), a factor history unit (the whole history, one request) for every code whose stored history does not reach end_date. Follow it with baostock.wait(job_id) or the baostock.jobs view.';
COMMENT ON FUNCTION baostock.plan(date, date, text[], text, boolean, boolean) IS 'What backfill() with the same arguments would do: units per kind, their days, estimated requests and seconds (no budget assumed), and the China days the requests take under baostock.daily_request_budget (NULL without a budget); queues nothing.';
COMMENT ON FUNCTION baostock.worker_status() IS 'Whether the library is preloaded, the background worker''s pid and last heartbeat (NULL when none runs), the server sessions the cluster holds now (capped by baostock.max_sessions), and from the shared memory every database sees: the requests the cluster sent this China day (by the server''s clock) and the end of a blacklist in force (NULL when none, or without the preload); clock_offset_ms, the server''s clock minus ours from its last login reply (NULL without the preload).';
COMMENT ON FUNCTION baostock.wait(bigint) IS 'Blocks until the job ends, with a progress NOTICE every 2 seconds; returns done, failed or cancelled. Cancelling the wait does not cancel the job.';
COMMENT ON FUNCTION baostock.cancel(bigint) IS 'Cancels a queued or running job; the worker stops between units within a second. Returns the job''s state.';
COMMENT ON FUNCTION baostock.sync_calendar(date, date) IS 'Syncs the trade calendar between two days (default: 1990-12-19 to today).';
COMMENT ON FUNCTION baostock.sync_index_constituents(date) IS 'Syncs the constituents of the CSI 300 (hs300), SSE 50 (sz50) and CSI 500 (zz500) on a day (default NULL: the latest lists) into baostock.index_constituents; a list replaces the stored list of its date. One row per index. sync_date refreshes them when the newest stored list is older than this week''s Monday.';
COMMENT ON FUNCTION baostock.sync_industries(date) IS 'Syncs every stock''s industry on a day (default NULL: the latest classification) into baostock.stock_industries. sync_date refreshes it when the newest is older than this week''s Monday.';
COMMENT ON FUNCTION baostock.sync_macro() IS 'Syncs the macro series whole: benchmark deposit and loan rates, required reserve ratios, money supply by month and by year (five requests) into baostock.report_deposit_rate, report_loan_rate, report_reserve_ratio, report_money_supply_month and report_money_supply_year. One row per series.';
COMMENT ON FUNCTION baostock.backfill_fundamentals(integer, integer, text[], text[], boolean) IS 'Queues a job (kind fundamentals) that fetches the reports of codes (NULL: every stock) for the years start_year..end_year (NULL: this year): kinds profit, operation, growth, balance, cash_flow, dupont (a request a code and quarter), express, forecast, dividend (a request a code and year); NULL: all nine. Only periods a code could have reported are asked (listed by the period''s end, not delisted before it began, the quarter over), and none whose answer is final in baostock.report_checks (force => true asks those again: a restatement comes as the same period with a later pub_date, and both revisions are kept). The worker runs it like a backfill: within the daily request budget (it pauses and resumes the next China day), across restarts; a NOTICE says how many China days the budget makes it take. Returns the job id; baostock.wait(id) follows it. Bad arguments are 22023 (22004 for NULL start_year).';
COMMENT ON FUNCTION baostock.plan_fundamentals(integer, integer, text[], text[], boolean) IS 'What backfill_fundamentals() with the same arguments would ask, without queueing: a row per report kind (units, first and last day of its periods, requests, seconds, China days under the daily request budget), then the total with the logins.';
COMMENT ON FUNCTION baostock.backfill_membership(text, date) IS 'Queues a job (kind membership) that stores the lists of an index (hs300, sz50, zz500; NULL: all three) from start_date (NULL: the index''s first list) to this week: the list of the first Monday of every month not stored yet, then, where two stored lists more than a week apart differ, the list halfway between until every change lies between two lists a week apart. baostock.index_members(index, day), baostock.index_membership and baostock.universe read them. Returns the job id; an unknown index or a start_date in the future or before the first trading day is 22023.';
COMMENT ON FUNCTION baostock.sync_securities() IS 'Syncs the list of securities with names, types, listing and delisting dates.';

CREATE FUNCTION baostock.alert_json(a baostock.alerts) RETURNS text
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT json_build_object('alert_id', a.alert_id, 'raised_at', a.raised_at, 'severity', a.severity,
                             'kind', a.kind, 'key', a.key, 'message', a.message, 'job_id', a.job_id,
                             'run_id', a.run_id, 'database', current_database(),
                             'text', format('[pg_baostock %s] %s: %s', a.severity, a.kind, a.message))::text
$$;
COMMENT ON FUNCTION baostock.alert_json(baostock.alerts) IS 'An alert as the JSON of its NOTIFY payload and webhook body (text holds a one-line summary, for chat robots).';

CREATE FUNCTION baostock.evaluate_alerts() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    raised integer;
    h record;
BEGIN
    SELECT * INTO h FROM baostock.sync_health();
    -- One statement over the conditions of now (no temporary table: a caller could have made
    -- one of that name beforehand, with a trigger that would run as this function's owner).
    WITH conditions (severity, kind, key, message, job_id, run_id) AS (
    SELECT 'warning', 'job_failures', j.job_id::text,
           CASE WHEN j.state = 'failed' THEN format('backfill job %s failed: %s', j.job_id, j.error_message)
                ELSE format('backfill job %s ended with %s failed units (SELECT baostock.retry(%s) queues them again)',
                            j.job_id, j.units_failed, j.job_id) END,
           j.job_id, NULL::bigint
    FROM baostock.jobs j
    WHERE j.state = 'failed' OR (j.state = 'done' AND j.units_failed > 0)
    UNION ALL
    SELECT 'critical', 'sync_failing', '',
           format('the last %s sync_date runs failed; the last error: %s', h.consecutive_failures, h.last_error),
           NULL, (SELECT max(run_id) FROM baostock.sync_runs WHERE kind = 'sync_date')
    WHERE h.consecutive_failures >= 3
    UNION ALL
    SELECT 'warning', 'stale', '',
           format('trading day %s is not synced %s after its publication; the newest synced day is %s',
                  h.due_day, baostock.stale_after(), coalesce(h.last_synced_day::text, 'none')),
           NULL, NULL
    WHERE h.due_day > coalesce(h.last_synced_day, '-infinity')
    UNION ALL
    SELECT 'warning', 'stale', 'tracked',
           format('%s tracked series are not stored through trading day %s, %s after its publication (baostock.tracked shows which)',
                  h.tracked_lagging, h.due_day, baostock.stale_after()),
           NULL, NULL
    WHERE h.tracked_lagging > 0
    UNION ALL
    SELECT 'critical', 'blacklisted', '',
           format('the server blacklisted this address at %s; nothing is sent until %s (SELECT baostock.resume() lifts it early)',
                  coalesce(s.blacklisted_at::text, '?'), s.blacklisted_until),
           NULL, NULL
    FROM baostock.server_state s WHERE s.blacklisted_until > now()
    UNION ALL
    SELECT 'warning', 'budget_spent', '',
           format('the daily request budget is spent (%s requests today); %s paused job(s) resume at the next China day',
                  s.budget_used, (SELECT count(*) FROM baostock.sync_jobs WHERE state = 'paused' AND pause_reason = 'budget')),
           NULL, NULL
    FROM baostock.server_state s
    WHERE EXISTS (SELECT 1 FROM baostock.sync_jobs WHERE state = 'paused' AND pause_reason = 'budget')
    UNION ALL
    SELECT 'critical', 'worker_crash_loop', '',
           format('the background worker started %s times in the last 10 minutes; see the server log', n),
           NULL, NULL
    FROM (SELECT count(*) AS n FROM baostock.worker_starts WHERE started_at > now() - interval '10 minutes') w
    WHERE n >= 5
    ), cleared AS (
        UPDATE baostock.alerts a SET cleared_at = now()
        WHERE a.cleared_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM conditions c WHERE c.kind = a.kind AND c.key = a.key)
    ), new AS (
        INSERT INTO baostock.alerts (severity, kind, key, message, job_id, run_id)
        SELECT severity, kind, key, message, job_id, run_id FROM conditions
        ON CONFLICT (kind, key) WHERE cleared_at IS NULL DO NOTHING
        RETURNING *
    )
    SELECT count(pg_notify('baostock_alerts', baostock.alert_json(new::baostock.alerts))) INTO raised FROM new;
    RETURN raised;
END
$$;
COMMENT ON FUNCTION baostock.evaluate_alerts() IS 'Raises an alert for each condition that holds and has no open alert (a NOTIFY on channel baostock_alerts with its JSON), and clears the open alerts whose condition no longer holds; returns the number raised. The worker calls it every 2 seconds.';

CREATE FUNCTION baostock.schedule_daily(
    times text[] DEFAULT ARRAY['18:30', '19:30', '21:00', '23:00', '08:00'])
RETURNS TABLE (jobname text, china_time text, schedule text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t text;
    zone text;
    shift_min integer;
    local_min integer;
    day_shift integer;
    dows integer[];
BEGIN
    IF times IS NULL THEN
        RAISE EXCEPTION 'times must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF cardinality(times) = 0 THEN
        RAISE EXCEPTION 'times is an empty array' USING ERRCODE = '22023',
            HINT = 'Give China times like ARRAY[''18:30'', ''08:00''], or call baostock.unschedule_daily().';
    END IF;
    FOREACH t IN ARRAY times LOOP
        IF t IS NULL OR t !~ '^([01][0-9]|2[0-3]):[0-5][0-9]$' THEN
            RAISE EXCEPTION 'time % is not HH:MM (China time, 00:00 to 23:59)', coalesce(quote_literal(t), 'NULL')
                USING ERRCODE = '22023';
        END IF;
    END LOOP;
    IF (SELECT count(DISTINCT x) FROM unnest(times) x) <> cardinality(times) THEN
        RAISE EXCEPTION 'times has duplicates' USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in this database' USING ERRCODE = '55000',
            HINT = 'Add pg_cron to shared_preload_libraries, set cron.database_name to this database, restart, and CREATE EXTENSION pg_cron.';
    END IF;
    -- pg_cron 1.5+ runs schedules in cron.timezone; 1.4 (Debian 12) always in GMT.
    zone := coalesce(nullif(current_setting('cron.timezone', true), ''), 'GMT');
    shift_min := (extract(epoch FROM (now() AT TIME ZONE 'Asia/Shanghai') - (now() AT TIME ZONE zone)) / 60)::integer;
    PERFORM baostock.unschedule_daily();
    FOREACH t IN ARRAY times LOOP
        local_min := split_part(t, ':', 1)::integer * 60 + split_part(t, ':', 2)::integer - shift_min;
        day_shift := floor(local_min / 1440.0)::integer;
        local_min := local_min - day_shift * 1440;
        -- Evening times follow the trading days (Monday to Friday, China); a morning time
        -- (before 12:00) retries the previous evening's day (Tuesday to Saturday).
        SELECT array_agg(((d + day_shift) % 7 + 7) % 7 ORDER BY ((d + day_shift) % 7 + 7) % 7)
        INTO dows
        FROM generate_series(CASE WHEN t < '12:00' THEN 2 ELSE 1 END, CASE WHEN t < '12:00' THEN 6 ELSE 5 END) d;
        jobname := 'baostock-daily-' || replace(t, ':', '');
        china_time := t;
        schedule := format('%s %s * * %s', local_min % 60, local_min / 60, array_to_string(dows, ','));
        PERFORM cron.schedule_in_database(jobname, schedule, 'SELECT baostock.sync_date()', current_database());
        RETURN NEXT;
    END LOOP;
    -- Weekly bars come out on Saturdays and monthly bars on the 1st (17:30 China time): the
    -- first evening time runs then too, and its sync_date() extends the tracked series.
    SELECT min(x) INTO t FROM unnest(times) x WHERE x >= '17:30';
    IF t IS NULL THEN
        RETURN;
    END IF;
    local_min := split_part(t, ':', 1)::integer * 60 + split_part(t, ':', 2)::integer - shift_min;
    day_shift := floor(local_min / 1440.0)::integer;
    local_min := local_min - day_shift * 1440;
    jobname := 'baostock-weekly-' || replace(t, ':', '');
    china_time := t;
    schedule := format('%s %s * * %s', local_min % 60, local_min / 60, ((6 + day_shift) % 7 + 7) % 7);
    PERFORM cron.schedule_in_database(jobname, schedule, 'SELECT baostock.sync_date()', current_database());
    RETURN NEXT;
    IF day_shift >= 0 THEN
        jobname := 'baostock-monthly-' || replace(t, ':', '');
        schedule := format('%s %s %s * *', local_min % 60, local_min / 60, 1 + day_shift);
        PERFORM cron.schedule_in_database(jobname, schedule, 'SELECT baostock.sync_date()', current_database());
        RETURN NEXT;
    ELSE
        RAISE NOTICE 'pg_baostock: % China time on the 1st is the day before in pg_cron''s time zone %, which cron cannot say: no monthly job; the next trading evening''s sync_date() extends the monthly series', t, zone;
    END IF;
END
$$;
COMMENT ON FUNCTION baostock.schedule_daily(text[]) IS 'Creates (or replaces) one pg_cron job per China time, named baostock-daily-HHMM, that calls baostock.sync_date() in this database: evening times on trading weekdays (Monday to Friday, China), morning times (before 12:00) Tuesday to Saturday as a retry of the evening before; the first time from 17:30 on also on Saturdays (baostock-weekly-HHMM, weekly bars) and on the 1st of each month (baostock-monthly-HHMM, monthly bars), when the tracked series of those frequencies are extended; converted to pg_cron''s time zone (GMT for pg_cron 1.4, cron.timezone where it exists). Returns the jobs and their cron lines. Needs pg_cron in this database.';

CREATE FUNCTION baostock.unschedule_daily() RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer := 0;
    id bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in this database' USING ERRCODE = '55000';
    END IF;
    FOR id IN SELECT jobid FROM cron.job
              WHERE cron.job.jobname LIKE 'baostock-daily-%' OR cron.job.jobname LIKE 'baostock-weekly-%'
                 OR cron.job.jobname LIKE 'baostock-monthly-%' LOOP
        PERFORM cron.unschedule(id);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION baostock.unschedule_daily() IS 'Removes the pg_cron jobs schedule_daily() created (named baostock-daily-*, baostock-weekly-*, baostock-monthly-*); returns how many.';

-- Citus: where a table of ours lives, read from Citus' catalog when Citus is installed.
CREATE FUNCTION baostock.distribution_of(rel regclass) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    how text;
BEGIN
    IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE 'SELECT CASE partmethod WHEN ''h'' THEN ''distributed'' WHEN ''n'' THEN ''reference'' ELSE partmethod::text END
             FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1'
        INTO how USING rel;
    RETURN how;
END
$$;
COMMENT ON FUNCTION baostock.distribution_of(regclass) IS 'How Citus holds a table: distributed (hash, on code), reference (a copy on every node), another Citus method''s letter, or NULL (a local table, or no Citus). The store asks it once a batch: it never writes a distributed table the single-node way.';

-- Months of minute bars as columnar (Citus columnar, zstd) once closed and old, and back to
-- heap for a write: columnar takes no UPDATE or DELETE, and the store rewrites changed rows.
CREATE FUNCTION baostock.relation_bytes(rel regclass, with_indexes boolean DEFAULT true) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bytes bigint;
BEGIN
    IF baostock.distribution_of(rel) IS NULL THEN
        RETURN CASE WHEN with_indexes THEN pg_total_relation_size(rel) ELSE pg_table_size(rel) END;
    END IF;
    EXECUTE CASE WHEN with_indexes THEN 'SELECT pg_catalog.citus_total_relation_size($1)'
                 ELSE 'SELECT pg_catalog.citus_table_size($1)' END
        INTO bytes USING rel;
    RETURN bytes;
END
$$;
COMMENT ON FUNCTION baostock.relation_bytes(regclass, boolean) IS 'Bytes a table takes, with its indexes or without: on this node, or on a Citus cluster all its shards together.';

CREATE FUNCTION baostock.set_minute_month_storage(part regclass, method text) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF method NOT IN ('heap', 'columnar') THEN
        RAISE EXCEPTION 'pg_baostock: a month of minute bars is stored heap or columnar, not %', quote_literal(method)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = part AND inhparent = 'baostock.minute_bars'::regclass) THEN
        RAISE EXCEPTION 'pg_baostock: % is not a month of baostock.minute_bars', part USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = part) = method THEN
        RETURN false;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_am WHERE amname = 'columnar') THEN
        RAISE EXCEPTION 'pg_baostock: columnar storage needs Citus columnar in this database'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'CREATE EXTENSION citus_columnar (or citus), or RESET baostock.columnar_after.';
    END IF;
    IF baostock.distribution_of(part) IS NOT NULL THEN
        -- A partition of a distributed table: Citus converts each shard.
        EXECUTE 'SELECT pg_catalog.alter_table_set_access_method($1, $2)' USING part, method;
    ELSE
        EXECUTE format('ALTER TABLE %s SET ACCESS METHOD %I', part, method);
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION baostock.set_minute_month_storage(regclass, text) IS 'Stores a month of baostock.minute_bars (a partition) heap or columnar, rewriting it (on Citus with alter_table_set_access_method); false when it is stored so already. Columnar needs Citus columnar (55000 without). The caller holds the month''s row of baostock.sync_locks.';

CREATE FUNCTION baostock.compress_minute_months(older_than interval DEFAULT NULL)
RETURNS TABLE (month_table regclass, month date)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    age interval := coalesce(older_than, nullif(btrim(current_setting('baostock.columnar_after', true)), '')::interval);
    china timestamp := now() AT TIME ZONE 'Asia/Shanghai';
    p record;
BEGIN
    IF age IS NULL THEN
        RETURN;
    END IF;
    FOR p IN
        SELECT c.oid::regclass AS rel, to_date(substr(c.relname, 13), 'YYYYMM') AS first
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_am a ON a.oid = c.relam
        WHERE i.inhparent = 'baostock.minute_bars'::regclass AND c.relname ~ '^minute_bars_[0-9]{6}$' AND a.amname = 'heap'
          AND to_date(substr(c.relname, 13), 'YYYYMM') + interval '1 month' + age <= china
        ORDER BY 2
    LOOP
        -- The month's lock, as a writer of it takes (rows of sync_locks only the owner may lock).
        INSERT INTO baostock.sync_locks (name) VALUES ('minute partition ' || to_char(p.first, 'YYYYMM')) ON CONFLICT DO NOTHING;
        PERFORM 1 FROM baostock.sync_locks WHERE name = 'minute partition ' || to_char(p.first, 'YYYYMM') FOR UPDATE;
        IF baostock.set_minute_month_storage(p.rel, 'columnar') THEN
            -- The conversion may have made the table again: look it up by name. (Its size is in
            -- baostock.minute_months: Citus measures no table in a transaction that rewrote one.)
            month_table := to_regclass('baostock.minute_bars_' || to_char(p.first, 'YYYYMM'));
            month := p.first;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION baostock.compress_minute_months(interval) IS 'Stores columnar (Citus columnar) every month of baostock.minute_bars that ended longer ago than older_than (default: the setting baostock.columnar_after; empty: none) and is heap; a row for each month converted (baostock.minute_months shows their sizes). The worker calls it every 10 minutes when baostock.columnar_after is set; a write into a columnar month converts it back to heap first.';

CREATE VIEW baostock.minute_months AS
SELECT c.oid::regclass AS month_table, to_date(substr(c.relname, 13), 'YYYYMM') AS month, a.amname::text AS access_method,
       baostock.relation_bytes(c.oid) AS bytes, baostock.relation_bytes(c.oid, false) AS table_bytes
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_am a ON a.oid = c.relam
WHERE i.inhparent = 'baostock.minute_bars'::regclass AND c.relname ~ '^minute_bars_[0-9]{6}$';
COMMENT ON VIEW baostock.minute_months IS 'Each month of baostock.minute_bars (a partition): its table, first day, access method (heap, or columnar once older than baostock.columnar_after), bytes with its indexes and table_bytes without them (on Citus, of all its shards).';

CREATE FUNCTION baostock.citus_group() RETURNS integer
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g integer;
BEGIN
    IF to_regclass('pg_catalog.pg_dist_local_group') IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE 'SELECT groupid FROM pg_catalog.pg_dist_local_group' INTO g;
    RETURN g;
END
$$;
COMMENT ON FUNCTION baostock.citus_group() IS 'This node''s Citus group: 0 on the coordinator (or a single node with Citus), the worker''s group on a Citus worker, NULL without Citus. Syncs, jobs and the worker run where it is 0 or NULL.';

CREATE FUNCTION baostock.distribute(shard_count integer DEFAULT NULL)
RETURNS TABLE (table_name text, placement text, action text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t text;
    rel regclass;
    how text;
    n integer;
    first_table constant text := 'daily_bars';
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'Citus is not installed in this database' USING ERRCODE = '55000',
            HINT = 'Put citus first in shared_preload_libraries (''citus,pg_baostock'') on every node, restart, CREATE EXTENSION citus, add the workers with citus_add_node() on the coordinator, then call baostock.distribute() there.';
    END IF;
    n := baostock.citus_group();
    IF n IS DISTINCT FROM 0 THEN
        RAISE EXCEPTION 'this node is a Citus worker (group %)', n USING ERRCODE = '55000',
            HINT = 'Call baostock.distribute() on the coordinator.';
    END IF;
    IF shard_count IS NOT NULL AND shard_count NOT BETWEEN 1 AND 64000 THEN
        RAISE EXCEPTION 'shard_count % is out of range', shard_count USING ERRCODE = '22023',
            HINT = 'Give 1 to 64000, or NULL for citus.shard_count.';
    END IF;
    -- The bar tables and the factors, on code and colocated: a code's bars and factors are
    -- on one node, so adjusting joins them there. A table distributed already is left alone.
    FOREACH t IN ARRAY ARRAY[first_table, 'weekly_bars', 'monthly_bars', 'minute_bars', 'adjust_factors'] LOOP
        rel := ('baostock.' || t)::regclass;
        how := baostock.distribution_of(rel);
        table_name := t;
        placement := 'distributed by code';
        IF how = 'distributed' THEN
            EXECUTE 'SELECT count(*) FROM pg_catalog.pg_dist_shard WHERE logicalrelid = $1' INTO n USING rel;
            IF shard_count IS NOT NULL AND n <> shard_count THEN
                RAISE EXCEPTION 'baostock.% is distributed already, in % shards, not %', t, n, shard_count
                    USING ERRCODE = '22023',
                    HINT = 'Citus'' alter_distributed_table(table, shard_count => N, cascade_to_colocated => true) changes the shard count of colocated tables.';
            END IF;
            action := format('already (%s shards)', n);
        ELSIF how IS NOT NULL THEN
            RAISE EXCEPTION 'baostock.% is a Citus % table, not distributed by code', t, how USING ERRCODE = '55000',
                HINT = 'Undo it with undistribute_table() and call baostock.distribute() again.';
        ELSE
            IF t = first_table THEN
                PERFORM create_distributed_table(rel, 'code', colocate_with => 'none', shard_count => shard_count);
            ELSE
                PERFORM create_distributed_table(rel, 'code', colocate_with => 'baostock.' || first_table);
            END IF;
            -- Rows already stored were copied into the shards; the coordinator's own copy goes.
            PERFORM truncate_local_data_after_distributing_table(rel);
            EXECUTE 'SELECT count(*) FROM pg_catalog.pg_dist_shard WHERE logicalrelid = $1' INTO n USING rel;
            action := format('distributed (%s shards)', n);
        END IF;
        RETURN NEXT;
    END LOOP;
    -- The reference data, on every node: small, and joined with the bars everywhere.
    FOREACH t IN ARRAY ARRAY['securities', 'trade_calendar', 'index_constituents', 'stock_industries'] LOOP
        rel := ('baostock.' || t)::regclass;
        how := baostock.distribution_of(rel);
        table_name := t;
        placement := 'reference';
        IF how = 'reference' THEN
            action := 'already';
        ELSIF how IS NOT NULL THEN
            RAISE EXCEPTION 'baostock.% is a Citus % table, not a reference table', t, how USING ERRCODE = '55000',
                HINT = 'Undo it with undistribute_table() and call baostock.distribute() again.';
        ELSE
            PERFORM create_reference_table(rel);
            PERFORM truncate_local_data_after_distributing_table(rel);
            action := 'made a reference table';
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION baostock.distribute(integer) IS 'On a Citus coordinator: distributes the daily, weekly, monthly and minute bars and the adjust factors by code, colocated (in shard_count shards, NULL: citus.shard_count), and makes securities, the calendar, index constituents and industries reference tables; jobs, units, runs, checkpoints, alerts and the server state stay local. Rows stored before are moved into the shards. Idempotent: a table placed already is left as it is. One row a table: its placement and what was done. Without Citus, or on a Citus worker, it refuses (55000); a bad shard_count is 22023. Nothing is half-done: it runs in one transaction.';

-- Reading is open; reaching the network or writing is for the owner and whom it grants.
GRANT USAGE ON SCHEMA baostock TO PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA baostock FROM PUBLIC;
GRANT SELECT ON baostock.health, baostock.runs, baostock.coverage, baostock.gaps, baostock.jobs, baostock.tracked, baostock.minute_months TO PUBLIC;

COMMENT ON FUNCTION baostock.retry(bigint) IS 'Queues the failed units of an ended job again (the job goes back to the queue and gets its own second pass); returns how many.';
COMMENT ON FUNCTION baostock.resume() IS 'Lifts a blacklist before baostock.blacklist_pause ends it and queues the jobs it paused; returns how many jobs.';
CREATE VIEW baostock.open_alerts AS
SELECT alert_id, raised_at, severity, kind, key, message, job_id, run_id, delivered_at, delivery_error
FROM baostock.alerts WHERE cleared_at IS NULL ORDER BY alert_id DESC;
COMMENT ON VIEW baostock.open_alerts IS 'Alerts whose condition still holds, newest first.';
GRANT SELECT ON baostock.alerts, baostock.open_alerts TO PUBLIC;

-- A role for those who read the data (analysts, dashboards): GRANT baostock_reader TO someone.
-- One that exists already is used only if nobody can log in as it: a role made beforehand with
-- LOGIN (by anyone with CREATEROLE) would receive these grants for whoever made it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'baostock_reader') THEN
        CREATE ROLE baostock_reader NOLOGIN;
    ELSIF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'baostock_reader' AND (rolcanlogin OR rolsuper)) THEN
        RAISE EXCEPTION 'pg_baostock: the role baostock_reader exists and can log in (or is a superuser)'
            USING ERRCODE = 'duplicate_object',
                  HINT = 'pg_baostock grants its data to baostock_reader, a NOLOGIN role: drop that role (or ALTER ROLE baostock_reader NOLOGIN NOSUPERUSER if it is yours), then create or update the extension.';
    END IF;
END
$$;
GRANT USAGE ON SCHEMA baostock TO baostock_reader;
GRANT SELECT ON baostock.daily_bars, baostock.weekly_bars, baostock.monthly_bars, baostock.minute_bars,
                baostock.adjust_factors, baostock.securities, baostock.trade_calendar,
                baostock.synced_days, baostock.synced_ranges, baostock.daily_bars_qfq, baostock.daily_bars_hfq,
                baostock.index_constituents, baostock.stock_industries,
                baostock.report_profit, baostock.report_operation, baostock.report_growth, baostock.report_balance,
                baostock.report_cash_flow, baostock.report_dupont, baostock.report_express, baostock.report_forecast,
                baostock.report_dividend, baostock.report_deposit_rate, baostock.report_loan_rate,
                baostock.report_reserve_ratio, baostock.report_money_supply_month, baostock.report_money_supply_year,
                baostock.profit_latest, baostock.operation_latest, baostock.growth_latest, baostock.balance_latest,
                baostock.cash_flow_latest, baostock.dupont_latest, baostock.express_latest, baostock.forecast_latest,
                baostock.dividends, baostock.index_membership, baostock.universe
                TO baostock_reader;

-- Who may execute what, in one place (the manual's Security section lists it too): nothing by
-- default, then an allowlist per role. PUBLIC: the status functions and the functions the
-- PUBLIC views call (Postgres checks EXECUTE for the view's reader; each reveals no more than
-- its view). baostock_reader: the data reads. Everything else (syncs, jobs, tracking,
-- schedules, Citus placement, the internals) is the owner's and whom the owner grants.
-- tests/regress/sql/privileges.sql fails on any function executable beyond this list.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA baostock FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    baostock.sync_health(), baostock.worker_status(), baostock.latest_trading_day(), baostock.stale_after(),
    baostock.wait(bigint),
    baostock.newest_bar(text, text), baostock.published_through(text), -- tracked
    baostock.missing_bars(text, text, date[]),                        -- gaps
    baostock.relation_bytes(regclass, boolean), baostock.distribution_of(regclass) -- minute_months
    TO PUBLIC;
GRANT EXECUTE ON FUNCTION
    baostock.adjusted_bars(text, date, date, text, text), baostock.adjusted_bars_of(text, date, date, text, text),
    baostock.factor_ranges(text, text), baostock.factors_known_through(text),
    baostock.fundamentals_asof(text[], date, text), baostock.index_members(text, date)
    TO baostock_reader;
