--
-- test/bench/report/plan.sql — what happens to :n orders of the reporting
-- benchmark (ids :base + 1 to :base + :n, placed over the last :days days),
-- drawn once, as two temporary tables that both ways of loading them read:
-- bulk.sql writes the rows oms's functions would write, real.sql calls the
-- functions (prove.sh shows they agree).  The proportions of a shop:
--   channels WEB 60 %, APP 30 %, MKT 10 %; EUR, 3 % USD; 1 to 3 lines of
--   SKUs of skewed popularity, 1 to 3 units, 20 % of lines discounted 10 %,
--   19 % tax, 4.90 shipping (free from 50 net);
--   4 % of orders cancelled 1 to 24 hours after being placed, before they
--   ship; 3 % of the lines of the others with more than one unit lose one
--   30 minutes after the order (a line cancelled in part);
--   the rest shipped 1 to 90 hours after the order from the location next
--   to the customer, 8 % of orders of several lines in two parcels (line 1
--   first, the rest 5 hours later), delivered 12 to 120 hours after they
--   shipped; authorized and captured a minute after the order, the
--   authorization of a cancelled order voided;
--   a unit of 4 % of the delivered lines returned (received 3 days after
--   delivery, half restocked, half damaged, reasons too_small, broken or
--   none) and refunded then.
-- Orders whose next step lies after :anchor (now, or the time prove.sh
-- fixes for both of its runs) stay where they are: the last days' orders
-- are reserved, shipped or in transit.
--
SELECT setseed(:seed);

CREATE TEMP TABLE g AS
SELECT :base + i AS order_id,
       CASE WHEN r.c < 0.6 THEN 'WEB' WHEN r.c < 0.9 THEN 'APP' ELSE 'MKT' END AS channel,
       CASE WHEN r.cur > 0.97 THEN 'USD' ELSE 'EUR' END AS currency,
       date_trunc('second', :'anchor'::timestamptz - (r.age * :days) * interval '1 day') AS placed_at,
       1 + floor(r.n * 3)::integer AS nlines,
       r.x < 0.04 AS cancelled,
       1 + floor(r.ct * 24)::integer AS cancel_hours,
       r.s < 0.08 AS split,
       1 + floor(89 * r.h ^ 2)::integer AS ship_hours,
       12 + floor(108 * r.d)::integer AS deliver_hours,
       1 + floor(r.l * 10)::integer AS loc
  FROM generate_series(1, :n) i
 CROSS JOIN LATERAL (SELECT random() AS c, random() AS cur, random() AS age, random() AS n, random() AS x,
                            random() AS ct, random() AS s, random() AS h, random() AS d, random() AS l,
                            i AS dummy) r;
ALTER TABLE g ADD PRIMARY KEY (order_id);
ANALYZE g;
UPDATE g SET split = false WHERE nlines = 1;

CREATE TEMP TABLE gl AS
SELECT g.order_id, n AS line_no,
       'SKU-' || (1 + floor((random() ^ 2) * :nskus)::integer) AS sku,
       1 + floor(random() * 3)::integer AS qty,
       random() < 0.2 AS discounted,
       random() < 0.03 AS cut,
       random() < 0.04 AS returned,
       random() AS how
  FROM g CROSS JOIN LATERAL generate_series(1, g.nlines) n;
ALTER TABLE gl ADD PRIMARY KEY (order_id, line_no);
ANALYZE gl;
ALTER TABLE gl ADD COLUMN unit_price numeric, ADD COLUMN discount numeric, ADD COLUMN tax numeric,
               ADD COLUMN parcel integer;
UPDATE gl SET unit_price = 4.99 + (substr(sku, 5)::integer % 90);
UPDATE gl SET discount = CASE WHEN discounted THEN round(qty * unit_price * 0.1, 2) ELSE 0 END;
UPDATE gl SET tax = round((qty * unit_price - discount) * 0.19, 2);
UPDATE gl SET cut = cut AND qty > 1 AND NOT g.cancelled FROM g WHERE g.order_id = gl.order_id;
UPDATE gl SET parcel = CASE WHEN g.split AND gl.line_no > 1 THEN 2 ELSE 1 END FROM g WHERE g.order_id = gl.order_id;

-- When each step happens (NULL: it has not happened by now).
ALTER TABLE g ADD COLUMN net numeric, ADD COLUMN cancelled_at timestamptz, ADD COLUMN paid_at timestamptz,
              ADD COLUMN shipped_at timestamptz, ADD COLUMN shipped2_at timestamptz,
              ADD COLUMN delivered_at timestamptz, ADD COLUMN delivered2_at timestamptz;
UPDATE g SET net = l.net FROM (SELECT order_id, sum(qty * unit_price - discount) AS net FROM gl GROUP BY 1) l
 WHERE l.order_id = g.order_id;
UPDATE g SET paid_at = placed_at + interval '1 minute';
UPDATE g SET cancelled_at = placed_at + cancel_hours * interval '1 hour' WHERE cancelled;
UPDATE g SET cancelled = false, cancelled_at = NULL WHERE cancelled_at > :'anchor'::timestamptz;
UPDATE g SET shipped_at = placed_at + ship_hours * interval '1 hour' WHERE NOT cancelled;
UPDATE g SET shipped2_at = shipped_at + interval '5 hours' WHERE split;
UPDATE g SET delivered_at = shipped_at + deliver_hours * interval '1 hour';
UPDATE g SET delivered2_at = shipped2_at + deliver_hours * interval '1 hour';
UPDATE g SET paid_at = NULL WHERE paid_at > :'anchor'::timestamptz;
UPDATE g SET cancelled = false, cancelled_at = NULL WHERE paid_at IS NULL;
UPDATE g SET shipped_at = NULL WHERE shipped_at > :'anchor'::timestamptz;
UPDATE g SET shipped2_at = NULL WHERE shipped2_at > :'anchor'::timestamptz OR shipped_at IS NULL;
UPDATE g SET delivered_at = NULL WHERE delivered_at > :'anchor'::timestamptz OR shipped_at IS NULL;
UPDATE g SET delivered2_at = NULL WHERE delivered2_at > :'anchor'::timestamptz OR shipped2_at IS NULL;
ALTER TABLE gl ADD COLUMN cut_at timestamptz, ADD COLUMN returned_at timestamptz;
UPDATE gl SET cut_at = g.placed_at + interval '30 minutes' FROM g WHERE g.order_id = gl.order_id AND gl.cut;
UPDATE gl SET cut = false, cut_at = NULL WHERE cut_at > :'anchor'::timestamptz;
UPDATE gl SET returned_at = CASE WHEN gl.parcel = 1 THEN g.delivered_at ELSE g.delivered2_at END + interval '3 days'
  FROM g WHERE g.order_id = gl.order_id AND gl.returned;
UPDATE gl SET returned = false, returned_at = NULL WHERE returned_at IS NULL OR returned_at > :'anchor'::timestamptz;
