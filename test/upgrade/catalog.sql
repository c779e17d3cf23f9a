--
-- test/upgrade/catalog.sql — everything extension oms defines, one sorted
-- line per fact, so that two databases can be compared with diff: an
-- upgraded one against a fresh install.  Names, not oids; column order, types,
-- defaults, constraints, indexes, triggers, function definitions, views,
-- domains, sequences, privileges, comments and pg_dump registrations.
--
WITH ext AS (
    SELECT oid, extnamespace AS nsp FROM pg_extension WHERE extname = 'oms'
), rel AS (
    SELECT c.oid, c.oid::regclass::text AS name, c.relkind, c.relpersistence, c.relrowsecurity,
           c.relacl, c.reloptions
      FROM pg_class c, ext WHERE c.relnamespace = ext.nsp
), facts(line) AS (
    SELECT 'extension ' || extversion || ' relocatable=' || extrelocatable FROM pg_extension WHERE extname = 'oms'
    UNION ALL
    SELECT 'member ' || pg_describe_object(d.classid, d.objid, d.objsubid)
      FROM pg_depend d, ext WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
    UNION ALL
    SELECT 'schema ' || n.nspname || ' owner=' || n.nspowner::regrole || ' acl=' || coalesce(n.nspacl::text, '')
           || ' comment=' || coalesce(obj_description(n.oid, 'pg_namespace'), '')
      FROM pg_namespace n, ext WHERE n.oid = ext.nsp
    UNION ALL
    SELECT format('relation %s kind=%s persistence=%s rls=%s acl=%s options=%s comment=%s', name, relkind,
                  relpersistence, relrowsecurity, relacl, reloptions, obj_description(oid, 'pg_class'))
      FROM rel WHERE relkind <> 'S'
    UNION ALL
    SELECT format('columns %s: %s', r.name, string_agg(a.attname, ', ' ORDER BY a.attnum))
      FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid
     WHERE a.attnum > 0 AND NOT a.attisdropped AND r.relkind IN ('r', 'p', 'v', 'm', 'c', 'f')
     GROUP BY r.name
    UNION ALL
    SELECT format('column %s.%s type=%s notnull=%s default=%s identity=%s generated=%s collation=%s acl=%s comment=%s',
                  r.name, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated,
                  CASE WHEN a.attcollation <> 0 THEN a.attcollation::regcollation::text END, a.attacl,
                  col_description(r.oid, a.attnum))
      FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
     WHERE a.attnum > 0 AND NOT a.attisdropped AND r.relkind IN ('r', 'p', 'v', 'm', 'c', 'f')
    UNION ALL
    SELECT format('constraint %s %s: %s deferrable=%s deferred=%s valid=%s comment=%s',
                  coalesce(r.name, t.oid::regtype::text), co.conname, pg_get_constraintdef(co.oid),
                  co.condeferrable, co.condeferred, co.convalidated, obj_description(co.oid, 'pg_constraint'))
      FROM pg_constraint co
      LEFT JOIN rel r ON r.oid = co.conrelid
      LEFT JOIN pg_type t ON t.oid = co.contypid
      JOIN ext ON co.connamespace = ext.nsp
    UNION ALL
    SELECT format('index %s: %s comment=%s', i.indexrelid::regclass, pg_get_indexdef(i.indexrelid),
                  obj_description(i.indexrelid, 'pg_class'))
      FROM pg_index i JOIN rel r ON r.oid = i.indrelid
    UNION ALL
    SELECT format('trigger %s %s: %s enabled=%s comment=%s', r.name, tg.tgname, pg_get_triggerdef(tg.oid),
                  tg.tgenabled, obj_description(tg.oid, 'pg_trigger'))
      FROM pg_trigger tg JOIN rel r ON r.oid = tg.tgrelid WHERE NOT tg.tgisinternal
    UNION ALL
    SELECT format('policy %s %s: %s %s using=%s check=%s', r.name, p.polname, p.polcmd, p.polroles::regrole[],
                  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
      FROM pg_policy p JOIN rel r ON r.oid = p.polrelid
    UNION ALL
    SELECT format('view %s: %s', r.name, pg_get_viewdef(r.oid))
      FROM rel r WHERE r.relkind IN ('v', 'm')
    UNION ALL
    SELECT format('sequence %s type=%s start=%s increment=%s min=%s max=%s cache=%s cycle=%s owned_by=%s acl=%s comment=%s',
                  r.name, s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
                  (SELECT d.refobjid::regclass || '.' || a.attname FROM pg_depend d
                     JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid AND d.deptype IN ('a', 'i')),
                  r.relacl, obj_description(r.oid, 'pg_class'))
      FROM rel r JOIN pg_sequence s ON s.seqrelid = r.oid
    UNION ALL
    SELECT format('function %s: %s acl=%s comment=%s', p.oid::regprocedure,
                  CASE WHEN p.prokind = 'a' THEN 'aggregate' ELSE pg_get_functiondef(p.oid) END,
                  p.proacl, obj_description(p.oid, 'pg_proc'))
      FROM pg_proc p, ext WHERE p.pronamespace = ext.nsp
    UNION ALL
    SELECT format('type %s: type=%s base=%s notnull=%s default=%s acl=%s comment=%s', t.oid::regtype, t.typtype,
                  CASE WHEN t.typbasetype <> 0 THEN format_type(t.typbasetype, t.typtypmod) END,
                  t.typnotnull, t.typdefault, t.typacl, obj_description(t.oid, 'pg_type'))
      FROM pg_type t, ext
     WHERE t.typnamespace = ext.nsp AND t.typtype IN ('d', 'e', 'b', 'r')
        OR t.typnamespace = ext.nsp AND t.typtype = 'c'
           AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'
    UNION ALL
    SELECT format('enum %s: %s', e.enumtypid::regtype, string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder))
      FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid, ext WHERE t.typnamespace = ext.nsp
     GROUP BY e.enumtypid
    UNION ALL
    SELECT format('config %s condition=%s', cfg.oid::regclass, cond)
      FROM pg_extension e,
           unnest(e.extconfig, coalesce(e.extcondition, array_fill(NULL::text, ARRAY[cardinality(e.extconfig)])))
               AS cfg(oid, cond)
     WHERE e.extname = 'oms'
)
SELECT replace(line, E'\n', E'\n    ') FROM facts ORDER BY line COLLATE "C";
