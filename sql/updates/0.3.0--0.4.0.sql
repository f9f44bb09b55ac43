-- pg_baostock 0.3.0 -> 0.4.0: the table changes, written by hand. scripts/assemble-update.sh
-- puts them between the drop of 0.3.0's views and functions and the views and functions of
-- 0.4.0 to make sql/pg_baostock--0.3.0--0.4.0.sql, which ALTER EXTENSION pg_baostock UPDATE runs.
-- Tables change only through baostock.table_ddl (a Citus cluster runs the update on every node).
--
-- baostock.latest_trading_day() moves from the tables' part to the functions (sql/api.sql: it
-- follows the server's clock through baostock.server_time()), so it is dropped and made again
-- with them.

-- The states and kinds of jobs and units become enum types (they were text with a CHECK): a
-- label no version knows is refused by the column itself. The checks that compare them with
-- text go first and come back with the same names, as a fresh install names them.
CREATE TYPE baostock.job_state AS ENUM ('queued', 'running', 'paused', 'done', 'failed', 'cancelled');
COMMENT ON TYPE baostock.job_state IS 'Where a job is: queued, running, paused (the request budget is spent or the server blacklisted us: resumes by itself), done (every unit final), failed (the job could not go on), cancelled.';
CREATE TYPE baostock.job_kind AS ENUM ('backfill', 'track', 'fundamentals', 'membership');
COMMENT ON TYPE baostock.job_kind IS 'What queued a job: backfill (backfill()), or track (the tracked series extended by sync_date() or sync_tracked()), fundamentals (backfill_fundamentals()) or membership (backfill_membership()).';
CREATE TYPE baostock.unit_state AS ENUM ('queued', 'running', 'done', 'empty', 'replanned', 'failed', 'cancelled');
COMMENT ON TYPE baostock.unit_state IS 'Where a unit is: queued, running (handed to the network), done, empty (a past day the server has no all-market answer for), replanned (that day is covered by per-code units), failed, cancelled.';
CREATE TYPE baostock.unit_kind AS ENUM ('day', 'range', 'factors', 'report', 'lists');
COMMENT ON TYPE baostock.unit_kind IS 'What a unit fetches: day (every bar and factor of a day: 98 + 9A + 9C), range (a code''s bars over days: 95), factors (a code''s factor history: 15), report (a code''s reports of a kind for a quarter or a year: 13, 17..31) or lists (an index''s constituent list of a date: 61, 63, 65).';

SELECT baostock.table_ddl('baostock.sync_jobs', $ddl$ALTER TABLE baostock.sync_jobs
    DROP CONSTRAINT sync_jobs_state_check,
    DROP CONSTRAINT sync_jobs_kind_check,
    DROP CONSTRAINT sync_jobs_check1,
    ALTER COLUMN state DROP DEFAULT,
    ALTER COLUMN state TYPE baostock.job_state USING state::baostock.job_state,
    ALTER COLUMN state SET DEFAULT 'queued',
    ALTER COLUMN kind DROP DEFAULT,
    ALTER COLUMN kind TYPE baostock.job_kind USING kind::baostock.job_kind,
    ALTER COLUMN kind SET DEFAULT 'backfill',
    ADD CONSTRAINT sync_jobs_check1 CHECK ((state = 'paused') = (pause_reason IS NOT NULL))
$ddl$);

SELECT baostock.table_ddl('baostock.sync_units', $ddl$ALTER TABLE baostock.sync_units
    DROP CONSTRAINT sync_units_kind_check,
    DROP CONSTRAINT sync_units_state_check,
    DROP CONSTRAINT sync_units_check,
    DROP CONSTRAINT sync_units_check1,
    ALTER COLUMN kind TYPE baostock.unit_kind USING kind::baostock.unit_kind,
    ALTER COLUMN state DROP DEFAULT,
    ALTER COLUMN state TYPE baostock.unit_state USING state::baostock.unit_state,
    ALTER COLUMN state SET DEFAULT 'queued',
    ADD CONSTRAINT sync_units_check CHECK ((kind IN ('day', 'lists')) = (code IS NULL)),
    ADD CONSTRAINT sync_units_check1 CHECK (kind NOT IN ('day', 'lists') OR start_date = end_date)
$ddl$);

-- Report and lists units (issue 31): what a unit asks about, last as a fresh install has it.
SELECT baostock.table_ddl('baostock.sync_units', $ddl$ALTER TABLE baostock.sync_units
    ADD COLUMN subject text,
    ADD CONSTRAINT sync_units_subject_check CHECK ((kind IN ('report', 'lists')) = (subject IS NOT NULL)
        AND (kind <> 'report' OR subject IN ('profit', 'operation', 'growth', 'balance', 'cash_flow', 'dupont', 'express', 'forecast', 'dividend'))
        AND (kind <> 'lists' OR subject IN ('hs300', 'sz50', 'zz500')))
$ddl$);
COMMENT ON COLUMN baostock.sync_units.subject IS 'What a report or lists unit asks about: the report kind of a report unit (profit, operation, growth, balance, cash_flow, dupont, express, forecast, dividend; its period is start_date..end_date, a quarter or a year), the index of a lists unit (hs300, sz50, zz500; its date is start_date).';
COMMENT ON TABLE baostock.sync_units IS 'The units of each job: a day (98 + 9A + 9C), a code''s bar range (95), a code''s factor history (15), a code''s reports of a kind for a quarter or a year (13, 17..31) or an index''s list of a date (61, 63, 65). A unit''s rows and its state commit in one transaction.';

-- The reports (issue 31): a table per kind, made as a fresh install makes them.
\ir ../reports.sql
