-- Writes the query that digests every table of the baostock schema (partitions too): one
-- line `table count md5` a table, in table order, the md5 over its rows as text in text order.
-- The columns are listed by name as they are now, so a query written before an update digests
-- the same columns after it. Run its output to get the digests (psql: this file, then \gexec
-- or the saved output). The same digest as tests/harness's digest_of makes of any query. Used
-- by the cluster tests (tests/harness: table_digests; upgrade, package, dump, pg_upgrade).
SELECT 'SELECT line FROM (' || string_agg(format(
           'SELECT %L || '' '' || count(*) || '' '' || md5(coalesce(string_agg(r::text, E''\n'' ORDER BY r::text), '''')) AS line FROM (SELECT %s FROM %s) r',
           c.oid::regclass,
           (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
           c.oid::regclass), ' UNION ALL ') || ') d ORDER BY line'
FROM pg_class c
WHERE c.relnamespace = 'baostock'::regnamespace AND c.relkind = 'r'
