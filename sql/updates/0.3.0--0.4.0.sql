-- pg_baostock 0.3.0 -> 0.4.0: the table changes, written by hand. scripts/assemble-update.sh
-- puts them between the drop of 0.3.0's views and functions and the views and functions of
-- 0.4.0 to make sql/pg_baostock--0.3.0--0.4.0.sql, which ALTER EXTENSION pg_baostock UPDATE runs.
-- Tables change only through baostock.table_ddl (a Citus cluster runs the update on every node).

-- The latest trading day follows the server's clock and its publication (17:30 China time); it
-- stays beside the tables (sql/schema.sql), so it is replaced here rather than remade.
CREATE OR REPLACE FUNCTION baostock.latest_trading_day() RETURNS date
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    -- The server's China time (ours plus the offset its last login reply showed); a day's
    -- daily bars are published at 17:30.
    WITH server AS (
        SELECT (now() + make_interval(secs => coalesce((SELECT clock_offset_ms FROM baostock.server_state), 0) / 1000.0))
               AT TIME ZONE 'Asia/Shanghai' AS t
    ), published AS (
        SELECT CASE WHEN t::time >= '17:30' THEN t::date ELSE t::date - 1 END AS day FROM server
    )
    SELECT coalesce(max(c.day), (SELECT day FROM published))
    FROM baostock.trade_calendar c
    WHERE c.is_trading_day AND c.day <= (SELECT day FROM published)
$$;
COMMENT ON FUNCTION baostock.latest_trading_day() IS 'The latest trading day in the stored calendar whose daily bars the server has published (17:30 China time, by the server''s clock: ours plus the offset its last login reply showed); the last published day when the calendar is empty. Default day of sync_date.';
