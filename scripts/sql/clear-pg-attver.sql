-- Before pg_upgrade from the PostgreSQL 15 installed here to 18: removes the attribute option
-- pg_attver, which that 15 build stamps on every column and stock PostgreSQL 18 rejects
-- ('unrecognized parameter "pg_attver"' when pg_upgrade restores the schema), from the
-- columns of this database's own relations (the system catalogs are not carried over). Other
-- attribute options stay. Run it in every database of the old cluster, as a superuser.
UPDATE pg_catalog.pg_attribute a
SET attoptions = (SELECT pg_catalog.array_agg(o) FROM pg_catalog.unnest(a.attoptions) o WHERE o NOT LIKE 'pg_attver=%')
FROM pg_catalog.pg_class c
WHERE c.oid = a.attrelid
  AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
  AND c.relnamespace::regnamespace::text NOT LIKE 'pg_toast%'
  AND a.attoptions::text LIKE '%pg_attver=%';
