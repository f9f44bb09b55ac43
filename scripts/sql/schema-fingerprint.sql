-- Every object of the pg_baostock extension, one line each, as the catalog describes it: the
-- upgrade test compares this list in an upgraded database with the list of a fresh install
-- (tests/upgrade.rs). pg_dump --schema-only cannot: it prints an
-- extension's members as one CREATE EXTENSION.
WITH ext AS (
    SELECT oid, extconfig, extcondition FROM pg_extension WHERE extname = 'pg_baostock'
), members AS (
    SELECT d.classid, d.objid
    FROM pg_depend d, ext
    WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), rels AS (
    SELECT c.oid, c.oid::regclass::text AS name, c.relkind
    FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
), procs AS (
    SELECT p.oid, p.oid::regprocedure::text AS name
    FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
)
SELECT line FROM (
    -- every member, by kind and identity
    SELECT 'member ' || pg_describe_object(classid, objid, 0) AS line FROM members
    UNION ALL
    SELECT format('relation %s kind %s options %s acl %s partkey %s comment %s', r.name, r.relkind,
                  c.reloptions, c.relacl, pg_get_partkeydef(c.oid), obj_description(c.oid, 'pg_class'))
    FROM rels r JOIN pg_class c USING (oid)
    UNION ALL
    SELECT format('column %s %s %s %s notnull %s default %s identity %s generated %s collation %s comment %s',
                  r.name, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated, a.attcollation::regcollation,
                  col_description(a.attrelid, a.attnum))
    FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
    WHERE r.relkind IN ('r', 'p', 'v', 'm', 'f')
    UNION ALL
    SELECT format('constraint %s %s %s deferrable %s comment %s', r.name, co.conname, pg_get_constraintdef(co.oid),
                  co.condeferrable, obj_description(co.oid, 'pg_constraint'))
    FROM rels r JOIN pg_constraint co ON co.conrelid = r.oid
    UNION ALL
    SELECT format('index %s comment %s', pg_get_indexdef(i.indexrelid), obj_description(i.indexrelid, 'pg_class'))
    FROM rels r JOIN pg_index i ON i.indrelid = r.oid
    UNION ALL
    SELECT format('view %s %s', r.name, pg_get_viewdef(r.oid)) FROM rels r WHERE r.relkind IN ('v', 'm')
    UNION ALL
    SELECT format('sequence %s %s %s %s %s %s %s', r.name, s.seqtypid::regtype, s.seqstart, s.seqincrement,
                  s.seqmin, s.seqmax, s.seqcycle)
    FROM rels r JOIN pg_sequence s ON s.seqrelid = r.oid
    UNION ALL
    SELECT format('trigger %s', pg_get_triggerdef(t.oid)) FROM rels r JOIN pg_trigger t ON t.tgrelid = r.oid
    WHERE NOT t.tgisinternal
    UNION ALL
    SELECT format('function %s acl %s comment %s definition %s', p.name, pr.proacl,
                  obj_description(p.oid, 'pg_proc'), pg_get_functiondef(p.oid))
    FROM procs p JOIN pg_proc pr USING (oid)
    UNION ALL
    SELECT format('type %s %s labels %s acl %s comment %s', t.oid::regtype, t.typtype,
                  (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid),
                  t.typacl, obj_description(t.oid, 'pg_type'))
    FROM pg_type t JOIN members m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid
    UNION ALL
    SELECT format('schema %s acl %s comment %s', n.nspname, n.nspacl, obj_description(n.oid, 'pg_namespace'))
    FROM pg_namespace n WHERE n.nspname = 'baostock'
    UNION ALL
    -- what pg_dump carries: the configuration tables and their filters
    SELECT format('config_dump %s filter %L', cfg.rel::regclass, cfg.cond)
    FROM ext, unnest(ext.extconfig, ext.extcondition) AS cfg (rel, cond)
) l
ORDER BY line;
