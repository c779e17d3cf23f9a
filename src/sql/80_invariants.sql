--
-- oms.check_invariants(): one row per violated invariant of design.md.
--
-- Each table is aggregated on its own first and only then joined, so the
-- checks stay valid once tables are distributed (design.md, "Scale").
--

CREATE FUNCTION oms.check_invariants()
    RETURNS TABLE (invariant text, detail text)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'stock.reserved within [0, on_hand]',
           pg_catalog.format('sku %s at %s: on_hand %s, reserved %s',
                             st.sku_id, st.location_id, st.on_hand, st.reserved)
      FROM oms.stock st
     WHERE NOT (0 OPERATOR(pg_catalog.<=) st.reserved
                AND st.reserved OPERATOR(pg_catalog.<=) st.on_hand)
    UNION ALL
    SELECT 'stock.on_hand equals the ledger sum',
           pg_catalog.format('sku %s at %s: on_hand %s, ledger sum %s',
                             coalesce(st.sku_id, m.sku_id), coalesce(st.location_id, m.location_id),
                             coalesce(st.on_hand, 0), coalesce(m.total, 0))
      FROM oms.stock st
      FULL JOIN (SELECT sku_id, location_id, pg_catalog.sum(quantity) AS total
                   FROM oms.stock_movement
                  GROUP BY sku_id, location_id) m
        ON m.sku_id OPERATOR(pg_catalog.=) st.sku_id
       AND m.location_id OPERATOR(pg_catalog.=) st.location_id
     WHERE coalesce(st.on_hand, 0) OPERATOR(pg_catalog.<>) coalesce(m.total, 0)
$$;
COMMENT ON FUNCTION oms.check_invariants() IS
    'Lists every violated invariant (one row each, with the offending keys); no rows means healthy.';
