--
-- test/demo/show.sql — what a newcomer should see once the sample is loaded.
--
\pset footer off

\echo
\echo '==> channels, and the locations each may sell from'
SELECT c.code AS channel, c.kind, c.safety_stock AS kept_back,
       coalesce(string_agg(l.code || coalesce(' (keeps ' || cl.safety_stock || ')', ''), ', ' ORDER BY l.code),
                'every active location') AS locations
  FROM oms.channel c
  LEFT JOIN oms.channel_location cl ON cl.channel_id = c.id
  LEFT JOIN oms.location l ON l.id = cl.location_id
 GROUP BY c.id ORDER BY c.id;

\echo '==> locations'
SELECT code, kind, latitude, longitude, priority, can_ship, can_pickup,
       coalesce(daily_capacity::text, 'unlimited') AS daily_capacity
  FROM oms.location ORDER BY priority DESC, code;

\echo '==> stock per location (oms.v_stock)'
SELECT location, count(*) AS skus, sum(on_hand) AS on_hand, sum(reserved) AS reserved,
       sum(available) AS available
  FROM oms.v_stock GROUP BY location ORDER BY location;

\echo '==> one SKU everywhere, and what each channel may promise of it (oms.available)'
SELECT * FROM oms.v_stock WHERE sku = 'JACKET-BLK-M' ORDER BY location;
SELECT oms.available('JACKET-BLK-M') AS any_channel,
       oms.available('JACKET-BLK-M', 'WEB') AS web,
       oms.available('JACKET-BLK-M', 'POS') AS pos,
       oms.available('JACKET-BLK-M', 'MKT-AMZ') AS marketplace;

\echo '==> the ledger: every change of on_hand is a row (latest three)'
SELECT m.id, s.code AS sku, l.code AS location, m.kind, m.quantity, m.on_hand_after, m.reason, m.created_by
  FROM oms.stock_movement m
  JOIN oms.sku s ON s.id = m.sku_id
  JOIN oms.location l ON l.id = m.location_id
 ORDER BY m.id DESC LIMIT 3;

\echo '==> on_hand cannot be written around the ledger'
\set ON_ERROR_STOP 0
\set VERBOSITY default
UPDATE oms.stock SET on_hand = on_hand + 100;
\set ON_ERROR_STOP 1

\echo '==> oms.check_invariants() (no rows: healthy)'
SELECT * FROM oms.check_invariants();
