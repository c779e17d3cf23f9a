-- A new oms for each test file.  The upgrade test (test/upgrade) sets
-- regress.oms_from on its database, so that the suite runs on an oms
-- installed as that release and updated to this one.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS oms CASCADE;
SELECT coalesce(nullif(current_setting('regress.oms_from', true), ''), default_version) AS oms_from
  FROM pg_available_extensions WHERE name = 'oms' \gset
CREATE EXTENSION oms VERSION :'oms_from';
ALTER EXTENSION oms UPDATE;
RESET client_min_messages;
