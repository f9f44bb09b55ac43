-- pg_baostock 0.2.0 -> 0.3.0: the table changes, written by hand. scripts/assemble-update.sh
-- appends the views and functions of 0.3.0 to make sql/pg_baostock--0.2.0--0.3.0.sql, which
-- ALTER EXTENSION pg_baostock UPDATE runs. Tables are altered in place, never dropped.

-- Tables of 0.2.0, altered in place -------------------------------------------------------

ALTER TABLE baostock.server_state ADD COLUMN cluster_id bigint;
COMMENT ON COLUMN baostock.server_state.cluster_id IS 'The cluster whose worker saved this row (pg_control_system().system_identifier): a row of another (a restored dump) does not bring its blacklist and budget to this cluster.';

ALTER TABLE baostock.sync_runs ADD COLUMN spool_key text;
CREATE UNIQUE INDEX sync_runs_spool_key ON baostock.sync_runs (spool_key) WHERE spool_key IS NOT NULL;
COMMENT ON COLUMN baostock.sync_runs.spool_key IS 'For a failed run imported by the run recorder: the name of its spool file, so that a recorder that dies after the commit never imports it twice.';

-- Tables new in 0.3.0 ----------------------------------------------------------------------

-- The locks that keep two syncs from fetching one day, or creating one minute partition, at
-- once: row locks on rows only the extension's owner may lock (advisory locks any role could
-- take and hold). Rows are made on first use and hold nothing worth a dump.
CREATE TABLE baostock.sync_locks (
    name text PRIMARY KEY
);
REVOKE ALL ON baostock.sync_locks FROM PUBLIC;
COMMENT ON TABLE baostock.sync_locks IS 'Locks of the syncs (a row per day or minute partition, locked FOR UPDATE while one is synced or created); no role but the owner may lock them.';
COMMENT ON COLUMN baostock.sync_locks.name IS 'What the row locks: day YYYY-MM-DD, or minute partition YYYYMM.';
