-- test/storm/fill.sql — pgbench: hand free units to backorders, as the
-- background worker does: of every SKU, or of one random S- SKU.
\set s random(0, 20)
SELECT oms.allocate_backorders(CASE WHEN :s::integer = 0 THEN NULL ELSE 'S-' || :s::text END);
