--
-- Installing, dropping and reinstalling the extension.
--
CREATE EXTENSION oms;
SELECT extversion, extrelocatable, extnamespace::regnamespace FROM pg_extension WHERE extname = 'oms';
DROP EXTENSION oms;
SELECT count(*) AS oms_tables_left FROM pg_tables WHERE schemaname = 'oms';
CREATE EXTENSION oms;
-- Installed into its own schema, which is not relocatable.
ALTER EXTENSION oms SET SCHEMA public;
-- Every table and view is documented.
SELECT c.relname
  FROM pg_class c
 WHERE c.relnamespace = 'oms'::regnamespace AND c.relkind IN ('r', 'v')
   AND obj_description(c.oid, 'pg_class') IS NULL;
SELECT p.oid::regprocedure
  FROM pg_proc p
 WHERE p.pronamespace = 'oms'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL;
