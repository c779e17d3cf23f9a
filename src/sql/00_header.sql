-- oms install script, assembled by the Makefile from src/sql/*.sql in name order.

\echo Use "CREATE EXTENSION oms" to load this file. \quit
