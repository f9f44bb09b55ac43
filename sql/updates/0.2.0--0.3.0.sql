-- pg_baostock 0.2.0 -> 0.3.0: the table changes, written by hand. scripts/assemble-update.sh
-- puts them between the drop of 0.2.0's views and functions and the views and functions of
-- 0.3.0 to make sql/pg_baostock--0.2.0--0.3.0.sql, which ALTER EXTENSION pg_baostock UPDATE runs.
-- Tables are altered in place, never dropped, but for daily_bars (made again with its columns in
-- a new order, every row kept).

-- Tables of 0.2.0, altered in place -------------------------------------------------------

ALTER TABLE baostock.server_state ADD COLUMN cluster_id bigint;
COMMENT ON COLUMN baostock.server_state.cluster_id IS 'The cluster whose worker saved this row (pg_control_system().system_identifier): a row of another (a restored dump) does not bring its blacklist and budget to this cluster.';

ALTER TABLE baostock.sync_runs ADD COLUMN spool_key text;
CREATE UNIQUE INDEX sync_runs_spool_key ON baostock.sync_runs (spool_key) WHERE spool_key IS NOT NULL;
COMMENT ON COLUMN baostock.sync_runs.spool_key IS 'For a failed run imported by the run recorder: the name of its spool file, so that a recorder that dies after the commit never imports it twice.';

-- Daily bars carry their adjusted prices (0.3.0), right after the raw ones: a scan decodes a row
-- up to the last column it reads, and Postgres adds columns only at the end, so daily_bars is
-- made again in that order (one write of the table, the prices of every stored bar computed on
-- the way by the functions below); the store keeps them in step after that. What a DBA gave the
-- table comes along (owner, comments, indexes); their grants, or a trigger, policy or
-- publication of theirs stop the update with a hint, and a view of theirs over it stops it at
-- DROP TABLE.
-- The factors the store multiplies daily prices by (the server's rule: sql/adjusted.sql), a
-- row for each stretch of days of each code: before its first factor row back 1.000000, then
-- from each row's operate_date until the next one's its back factor; fore is that back factor
-- / the code's latest one, rounded to 6 decimals. A code without factor rows has one stretch
-- of 1.000000 both ways. Kept beside the tables: the update scripts fill the adjusted columns
-- with it before the functions of a version are made.
CREATE FUNCTION baostock.factor_spans(codes text[])
RETURNS TABLE (code text, since date, until date, back numeric, fore numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    -- PL/pgSQL, not SQL: Citus plans no query of a SQL function that takes parameters.
    -- Of many codes (a day of every code) every factor row is read and the codes kept here: on
    -- Citus the array would go into every shard's query (5,000 codes on 32 shards: 0.2 s against
    -- 0.08 s); OFFSET 0 keeps the filter out of the subquery.
    RETURN QUERY EXECUTE format($q$
    WITH f AS (
        SELECT a.code, a.operate_date, coalesce(a.back_factor, 1.000000) AS back,
               lead(a.operate_date) OVER w AS next,
               coalesce(nullif(last_value(a.back_factor) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING
                                                                 AND UNBOUNDED FOLLOWING), 0), 1.000000) AS latest
        FROM %s
        WHERE a.code = ANY ($1)
        WINDOW w AS (PARTITION BY a.code ORDER BY a.operate_date)
    ), firsts AS (
        SELECT f.code, min(f.operate_date) AS first, min(f.latest) AS latest FROM f GROUP BY f.code
    )
    SELECT c.code, '-infinity'::date, coalesce(g.first, 'infinity'::date), 1.000000::numeric,
           round(1.000000 / coalesce(g.latest, 1.000000), 6)
    FROM (SELECT DISTINCT u.code FROM unnest($1) AS u(code) WHERE u.code IS NOT NULL) c
    LEFT JOIN firsts g ON g.code = c.code
    UNION ALL
    SELECT f.code, f.operate_date, coalesce(f.next, 'infinity'::date), f.back, round(f.back / f.latest, 6)
    FROM f$q$,
        CASE WHEN cardinality(codes) > 16
             THEN '(SELECT x.code, x.operate_date, x.back_factor FROM baostock.adjust_factors x OFFSET 0) a'
             ELSE 'baostock.adjust_factors a' END)
    USING codes;
END
$$;
COMMENT ON FUNCTION baostock.factor_spans(text[]) IS 'The price factors of codes over each stretch of days [since, until): back (hfq) the back factor in force, 1.000000 before the first factor row; fore (qfq) that back factor / the code''s latest back factor, rounded to 6 decimals, as the server computes it. The store keeps daily_bars'' qfq_* and hfq_* columns equal to the prices times these.';

-- Makes the stored adjusted prices of codes' daily bars (every code's: NULL) equal to their
-- prices times factor_spans; returns the bars changed. The store calls it for the codes whose
-- factors a write changed; bars written by other means (INSERT, COPY) get their adjusted
-- prices from it.
CREATE FUNCTION baostock.adjust_bars(codes text[] DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    changed bigint;
BEGIN
    -- The spans computed once (on Citus: on the coordinator, sent to the shards with the UPDATE).
    WITH s AS MATERIALIZED (
        SELECT * FROM baostock.factor_spans(coalesce(codes, ARRAY(SELECT DISTINCT d.code FROM baostock.daily_bars d)))
    )
        UPDATE baostock.daily_bars b
        SET qfq_open = b.open * s.fore, qfq_high = b.high * s.fore, qfq_low = b.low * s.fore,
            qfq_close = b.close * s.fore, qfq_preclose = b.preclose * s.fore,
            hfq_open = b.open * s.back, hfq_high = b.high * s.back, hfq_low = b.low * s.back,
            hfq_close = b.close * s.back, hfq_preclose = b.preclose * s.back
        FROM s
        WHERE b.code = s.code AND b.date >= s.since AND b.date < s.until
          AND (b.qfq_open, b.qfq_high, b.qfq_low, b.qfq_close, b.qfq_preclose,
               b.hfq_open, b.hfq_high, b.hfq_low, b.hfq_close, b.hfq_preclose)
              IS DISTINCT FROM
              (b.open * s.fore, b.high * s.fore, b.low * s.fore, b.close * s.fore, b.preclose * s.fore,
               b.open * s.back, b.high * s.back, b.low * s.back, b.close * s.back, b.preclose * s.back);
    GET DIAGNOSTICS changed = ROW_COUNT;
    RETURN changed;
END
$$;
REVOKE EXECUTE ON FUNCTION baostock.adjust_bars(text[]) FROM PUBLIC;
COMMENT ON FUNCTION baostock.adjust_bars(text[]) IS 'Sets the adjusted prices (qfq_*, hfq_*) of the stored daily bars of codes (NULL: every code) to their prices times baostock.factor_spans where they differ; returns the bars changed. The store keeps them in step by itself; call it after writing bars or factors by other means.';

-- What the new table could not carry over stops the update before any work.
DO $refuse$
DECLARE
    o record;
    granted text;
BEGIN
    FOR o IN
        SELECT 'trigger ' || t.tgname AS what FROM pg_catalog.pg_trigger t WHERE t.tgrelid = 'baostock.daily_bars'::regclass AND NOT t.tgisinternal
        UNION ALL SELECT 'policy ' || p.polname FROM pg_catalog.pg_policy p WHERE p.polrelid = 'baostock.daily_bars'::regclass
        UNION ALL SELECT 'rule ' || r.rulename FROM pg_catalog.pg_rewrite r WHERE r.ev_class = 'baostock.daily_bars'::regclass
        UNION ALL SELECT 'publication ' || p.pubname FROM pg_catalog.pg_publication_rel r
                  JOIN pg_catalog.pg_publication p ON p.oid = r.prpubid WHERE r.prrelid = 'baostock.daily_bars'::regclass
        UNION ALL SELECT 'statistics ' || s.stxname FROM pg_catalog.pg_statistic_ext s WHERE s.stxrelid = 'baostock.daily_bars'::regclass
    LOOP
        RAISE EXCEPTION 'baostock.daily_bars has a % of yours, which this update cannot carry over', o.what
            USING ERRCODE = '55000',
                  HINT = 'pg_baostock 0.3.0 makes daily_bars again with its columns in a new order. Drop it, run ALTER EXTENSION pg_baostock UPDATE, and make it again.';
    END LOOP;
    -- Privileges beyond the extension's own (the owner's, SELECT to baostock_reader): a GRANT
    -- made by an update script becomes the extension's initial privilege (pg_init_privs),
    -- which pg_dump leaves out, so the update cannot give them to the new table.
    SELECT string_agg(pg_catalog.format('%s%s to %s', a.privilege_type, coalesce(' (' || g.attname || ')', ''),
                                        CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END),
                      ', ' ORDER BY g.attname NULLS FIRST, a.grantee, a.privilege_type)
    INTO granted
    FROM (SELECT NULL::name AS attname, c.relacl AS acl, c.relowner AS owner
          FROM pg_catalog.pg_class c WHERE c.oid = 'baostock.daily_bars'::regclass
          UNION ALL
          SELECT t.attname, t.attacl, c.relowner
          FROM pg_catalog.pg_attribute t JOIN pg_catalog.pg_class c ON c.oid = t.attrelid
          WHERE t.attrelid = 'baostock.daily_bars'::regclass AND t.attnum > 0 AND t.attacl IS NOT NULL) g
    CROSS JOIN LATERAL pg_catalog.aclexplode(g.acl) a
    WHERE a.grantee <> g.owner
      AND NOT (g.attname IS NULL AND a.privilege_type = 'SELECT'
               AND a.grantee = (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = 'baostock_reader'));
    IF granted IS NOT NULL THEN
        RAISE EXCEPTION 'baostock.daily_bars has privileges of yours, which this update cannot carry over: %', granted
            USING ERRCODE = '55000',
                  HINT = 'pg_baostock 0.3.0 makes daily_bars again with its columns in a new order, and a grant made by an update would become the extension''s own, which pg_dump leaves out. REVOKE them, run ALTER EXTENSION pg_baostock UPDATE, and GRANT them again.';
    END IF;
END
$refuse$;
CREATE TABLE baostock.daily_bars_0_3_0 (
    code          text    NOT NULL,
    date          date    NOT NULL,
    open          numeric,
    high          numeric,
    low           numeric,
    close         numeric,
    preclose      numeric,
    qfq_open      numeric,
    qfq_high      numeric,
    qfq_low       numeric,
    qfq_close     numeric,
    qfq_preclose  numeric,
    hfq_open      numeric,
    hfq_high      numeric,
    hfq_low       numeric,
    hfq_close     numeric,
    hfq_preclose  numeric,
    volume        bigint,
    amount        numeric,
    adjustflag    smallint,
    turn          numeric,
    trade_status  boolean,
    pct_chg       numeric,
    pe_ttm        numeric,
    pb_mrq        numeric,
    ps_ttm        numeric,
    pcf_ncf_ttm   numeric,
    is_st         boolean,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    row_hash      bigint
);
-- Every bar falls in exactly one of its code's spans (a LEFT JOIN all the same: no bar is left behind).
INSERT INTO baostock.daily_bars_0_3_0
SELECT b.code, b.date, b.open, b.high, b.low, b.close, b.preclose,
       b.open * s.fore, b.high * s.fore, b.low * s.fore, b.close * s.fore, b.preclose * s.fore,
       b.open * s.back, b.high * s.back, b.low * s.back, b.close * s.back, b.preclose * s.back,
       b.volume, b.amount, b.adjustflag, b.turn, b.trade_status, b.pct_chg, b.pe_ttm, b.pb_mrq, b.ps_ttm,
       b.pcf_ncf_ttm, b.is_st, b.updated_at, b.row_hash
FROM baostock.daily_bars b
LEFT JOIN baostock.factor_spans(ARRAY(SELECT DISTINCT d.code FROM baostock.daily_bars d)) s
       ON s.code = b.code AND b.date >= s.since AND b.date < s.until;
DO $keep$
DECLARE
    old CONSTANT regclass := 'baostock.daily_bars';
    made CONSTANT regclass := 'baostock.daily_bars_0_3_0';
    o record;
    indexes text[];
BEGIN
    IF (SELECT count(*) FROM baostock.daily_bars) <> (SELECT count(*) FROM baostock.daily_bars_0_3_0) THEN
        RAISE EXCEPTION 'daily_bars was not copied whole' USING ERRCODE = 'XX000';
    END IF;
    EXECUTE pg_catalog.format('ALTER TABLE %s OWNER TO %I', made,
                              (SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c WHERE c.oid = old));
    FOR o IN
        SELECT a.attname, d.description FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_description d ON d.objoid = old AND d.classoid = 'pg_catalog.pg_class'::regclass AND d.objsubid = a.attnum
        WHERE a.attrelid = old AND a.attnum > 0
    LOOP
        EXECUTE pg_catalog.format('COMMENT ON COLUMN %s.%I IS %L', made, o.attname, o.description);
    END LOOP;
    -- Indexes of the DBA's, made again on the new table once it has the old one's name.
    indexes := ARRAY(SELECT pg_catalog.pg_get_indexdef(i.indexrelid) FROM pg_catalog.pg_index i
                     WHERE i.indrelid = old
                       AND i.indexrelid NOT IN ('baostock.daily_bars_pkey'::regclass, 'baostock.daily_bars_date'::regclass));
    -- Out of the extension first: that takes it out of pg_extension.extconfig too (a DROP leaves it there).
    ALTER EXTENSION pg_baostock DROP TABLE baostock.daily_bars;
    DROP TABLE baostock.daily_bars;
    ALTER TABLE baostock.daily_bars_0_3_0 RENAME TO daily_bars;
    -- Constraints named after the table when it was made (PostgreSQL 18 names its NOT NULLs).
    FOR o IN
        SELECT co.conname FROM pg_catalog.pg_constraint co
        WHERE co.conrelid = 'baostock.daily_bars'::regclass AND co.conname LIKE 'daily\_bars\_0\_3\_0\_%'
    LOOP
        EXECUTE pg_catalog.format('ALTER TABLE baostock.daily_bars RENAME CONSTRAINT %I TO %I',
                                  o.conname, 'daily_bars_' || substr(o.conname, length('daily_bars_0_3_0_') + 1));
    END LOOP;
    ALTER TABLE baostock.daily_bars ADD PRIMARY KEY (code, date);
    CREATE INDEX daily_bars_date ON baostock.daily_bars (date);
    FOR i IN 1 .. coalesce(array_length(indexes, 1), 0) LOOP
        EXECUTE indexes[i];
    END LOOP;
END
$keep$;
COMMENT ON INDEX baostock.daily_bars_date IS 'Every code on a day (a cross-section, and the store''s check of a day already stored).';
SELECT pg_catalog.pg_extension_config_dump('baostock.daily_bars', '');
COMMENT ON TABLE baostock.daily_bars IS 'Unadjusted daily bars of A-shares and ETFs, exactly as the server sends them, and beside them their prices adjusted by the stored factors (qfq_*, hfq_*: what the views daily_bars_qfq / daily_bars_hfq read).';
COMMENT ON COLUMN baostock.daily_bars.qfq_open IS 'The forward-adjusted (qfq) open: open x baostock.factor_spans'' fore factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';
COMMENT ON COLUMN baostock.daily_bars.qfq_high IS 'The forward-adjusted (qfq) high: high x baostock.factor_spans'' fore factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';
COMMENT ON COLUMN baostock.daily_bars.qfq_low IS 'The forward-adjusted (qfq) low: low x baostock.factor_spans'' fore factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';
COMMENT ON COLUMN baostock.daily_bars.qfq_close IS 'The forward-adjusted (qfq) close: close x baostock.factor_spans'' fore factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';
COMMENT ON COLUMN baostock.daily_bars.qfq_preclose IS 'The forward-adjusted (qfq) preclose: preclose x baostock.factor_spans'' fore factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';
COMMENT ON COLUMN baostock.daily_bars.hfq_open IS 'The back-adjusted (hfq) open: open x baostock.factor_spans'' back factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';
COMMENT ON COLUMN baostock.daily_bars.hfq_high IS 'The back-adjusted (hfq) high: high x baostock.factor_spans'' back factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';
COMMENT ON COLUMN baostock.daily_bars.hfq_low IS 'The back-adjusted (hfq) low: low x baostock.factor_spans'' back factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';
COMMENT ON COLUMN baostock.daily_bars.hfq_close IS 'The back-adjusted (hfq) close: close x baostock.factor_spans'' back factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';
COMMENT ON COLUMN baostock.daily_bars.hfq_preclose IS 'The back-adjusted (hfq) preclose: preclose x baostock.factor_spans'' back factor of the day; kept in step with the factors by the store (not part of row_hash; changing it leaves updated_at alone).';

ALTER TABLE baostock.sync_jobs ADD COLUMN kind text NOT NULL DEFAULT 'backfill' CHECK (kind IN ('backfill', 'track'));
COMMENT ON COLUMN baostock.sync_jobs.kind IS 'backfill (queued by backfill()), or track (the tracked series extended to end_date: queued by sync_date() or sync_tracked(); frequency lists their frequencies).';

-- Tables new in 0.3.0 ----------------------------------------------------------------------

-- The locks that keep two syncs from fetching one day, or creating one minute partition, at
-- once: row locks on rows only the extension's owner may lock (advisory locks any role could
-- take and hold). Rows are made on first use and hold nothing worth a dump.
CREATE TABLE baostock.sync_locks (
    name text PRIMARY KEY
);
REVOKE ALL ON baostock.sync_locks FROM PUBLIC;
COMMENT ON TABLE baostock.sync_locks IS 'Locks of the syncs (a row per day or minute partition, locked FOR UPDATE while one is synced or created; the row factors, locked FOR SHARE by writers of daily bars and FOR UPDATE by writers of factors); no role but the owner may lock them.';
COMMENT ON COLUMN baostock.sync_locks.name IS 'What the row locks: day YYYY-MM-DD, minute partition YYYYMM, or factors.';

-- What the user follows beyond the daily bars: codes, or an index's current constituents, at
-- some frequencies; the syncs extend each such series to the newest synced day.
CREATE TABLE baostock.tracking (
    code        text CHECK (length(code) = 9),
    index_name  text CHECK (index_name IN ('hs300', 'sz50', 'zz500')),
    frequency   text NOT NULL CHECK (frequency IN ('d', 'w', 'm', '5', '15', '30', '60')),
    start_date  date NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    added_by    text NOT NULL DEFAULT session_user,
    CHECK ((code IS NULL) <> (index_name IS NULL)),
    UNIQUE NULLS NOT DISTINCT (code, index_name, frequency)
);
COMMENT ON TABLE baostock.tracking IS 'What baostock.track() asked to keep current: a code, or an index''s constituents (following its changes), at a frequency from a start day. The view baostock.tracked shows each series and its lag.';
COMMENT ON COLUMN baostock.tracking.code IS 'A Baostock code (NULL for an index''s constituents).';
COMMENT ON COLUMN baostock.tracking.index_name IS 'hs300, sz50 or zz500: its current constituents (NULL for a code).';
COMMENT ON COLUMN baostock.tracking.frequency IS 'd, w, m, 5, 15, 30 or 60.';
COMMENT ON COLUMN baostock.tracking.start_date IS 'First day kept (a code that joins the index later is fetched from here too).';
COMMENT ON COLUMN baostock.tracking.added_at IS 'When track() added it.';
COMMENT ON COLUMN baostock.tracking.added_by IS 'Session user that called track().';
SELECT pg_catalog.pg_extension_config_dump('baostock.tracking', '');

-- How an update script changes a table (ALTER TABLE, CREATE INDEX, ...) from 0.3.0 on, so that
-- ALTER EXTENSION UPDATE works on a Citus cluster too. There the coordinator runs the script
-- and Citus sends a table's DDL to its shards and to every node's copy of the table, but only
-- one statement at a time (in a script it sends the whole script and fails), and Citus then
-- runs the same update on each worker node, whose tables that DDL has already changed. Kept
-- beside the tables (an update drops and remakes the other functions before its table part).
CREATE FUNCTION baostock.table_ddl(rel regclass, ddl text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    held boolean := false;
BEGIN
    IF to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_local_group WHERE groupid > 0)
                    AND EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1)'
            INTO held USING rel;
    END IF;
    IF NOT held THEN
        EXECUTE ddl;
    END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION baostock.table_ddl(regclass, text) FROM PUBLIC;
COMMENT ON FUNCTION baostock.table_ddl(regclass, text) IS 'Runs one DDL statement on one of the extension''s tables from an update script: executed alone (Citus sends a single statement to the shards), and skipped on a Citus worker node for a table Citus holds (the coordinator''s run of the same update changed it there). Update scripts from 0.3.0 on change tables only through it (scripts/assemble-update.sh checks).';
