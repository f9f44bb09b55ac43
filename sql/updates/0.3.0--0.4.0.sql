-- pg_baostock 0.3.0 -> 0.4.0: the table changes, written by hand. scripts/assemble-update.sh
-- puts them between the drop of 0.3.0's views and functions and the views and functions of
-- 0.4.0 to make sql/pg_baostock--0.3.0--0.4.0.sql, which ALTER EXTENSION pg_baostock UPDATE runs.
-- Tables change only through baostock.table_ddl (a Citus cluster runs the update on every node).

-- No table changes: baostock.latest_trading_day() moves from the tables' part to the functions
-- (sql/api.sql: it follows the server's clock through baostock.server_time()), so it is dropped
-- and made again with them.
