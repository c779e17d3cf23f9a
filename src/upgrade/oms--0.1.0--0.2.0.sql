-- oms upgrade script from 0.1.0 to 0.2.0: every schema change of 0.2.0, in the
-- order it was made.  test/upgrade proves that 0.1.0 upgraded by this script
-- equals a fresh install of 0.2.0.

\echo Use "ALTER EXTENSION oms UPDATE TO '0.2.0'" to load this file. \quit
