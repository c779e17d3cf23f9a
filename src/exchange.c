/*-------------------------------------------------------------------------
 *
 * exchange.c
 *	  The replacement order of an exchange or a replace claim (README,
 *	  "Exchanges and claims").
 *
 *	  The replacement is placed by oms.place_order itself -- routing,
 *	  reservation, events, idempotency -- on the original order's channel,
 *	  ship_to, currency and customer, under the reference
 *	  <original reference>/R<return id>; place_order's errors (no stock:
 *	  OM030; an unknown SKU...) fail the call that placed it, so a return is
 *	  never left without the replacement it promised.  An exchange places
 *	  it when it is requested (policy exchange_reserve on_request) or when
 *	  its first units arrive (on_receipt); a replace claim when it is
 *	  requested, with the claimed units free of charge.  The link goes both
 *	  ways: oms.returns.replacement_order_id, and oms.orders.replaces_order_id
 *	  and replaces_return_id on the replacement.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

#include "oms.h"

/*
 * Places the replacement order of return return_id of order order_id, which
 * the caller has locked, if it is due now (received: units of the return
 * have arrived) and not placed yet; returns its id, or 0.
 */
int64
oms_place_replacement(int64 order_id, int64 return_id, bool received)
{
	static SPIPlanPtr read_plan = NULL;
	static SPIPlanPtr place_plan = NULL;
	static SPIPlanPtr link_plan = NULL;
	Oid			argtypes[5] = {INT8OID, INT8OID, JSONBOID, JSONBOID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	bool		due;
	int64		replacement_id;
	int			rc;

	oms_prepare(&read_plan,
				"SELECT r.resolution, r.replacement_order_id IS NOT NULL,"
				"       coalesce(p.exchange_reserve, 'on_request'), c.code, o.external_ref || '/R' || r.return_id,"
				"       CASE WHEN r.kind = 'exchange' THEN r.options -> 'exchange'"
				"            ELSE (SELECT jsonb_agg(jsonb_build_object('sku', s.code, 'qty', rl.qty_requested)"
				"                                   ORDER BY rl.line_no)"
				"                    FROM oms.return_line rl JOIN oms.sku s ON s.id = rl.sku_id"
				"                   WHERE rl.order_id = r.order_id AND rl.return_id = r.return_id) END,"
				"       o.ship_to,"
				"       jsonb_strip_nulls(jsonb_build_object('currency', o.currency, 'customer', o.customer))"
				"  FROM oms.returns r"
				"  JOIN oms.orders o ON o.order_id = r.order_id"
				"  JOIN oms.channel c ON c.id = o.channel_id"
				"  LEFT JOIN oms.return_policy p ON p.channel_id = o.channel_id"
				" WHERE r.order_id = $1 AND r.return_id = $2",
				2, argtypes);
	values[0] = Int64GetDatum(order_id);
	values[1] = Int64GetDatum(return_id);
	rc = SPI_execute_plan(read_plan, values, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "reading the return's replacement");
	if (SPI_processed == 0)
		return 0;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	if (DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull)))
		return 0;
	if (strcmp(SPI_getvalue(tup, desc, 1), "exchange") == 0)
		due = received || strcmp(SPI_getvalue(tup, desc, 3), "on_request") == 0;
	else
		due = strcmp(SPI_getvalue(tup, desc, 1), "replace") == 0;
	if (!due)
		return 0;

	/* place_order's own path: it validates the lines, routes and reserves. */
	oms_prepare(&place_plan, "SELECT oms.place_order($1, $2, $3, $4, $5)", 5,
				(Oid[]) {TEXTOID, TEXTOID, JSONBOID, JSONBOID, JSONBOID});
	values[0] = SPI_getbinval(tup, desc, 4, &isnull);
	values[1] = SPI_getbinval(tup, desc, 5, &isnull);
	values[2] = SPI_getbinval(tup, desc, 6, &isnull);
	values[3] = SPI_getbinval(tup, desc, 7, &isnull);
	nulls[3] = isnull ? 'n' : ' ';
	values[4] = SPI_getbinval(tup, desc, 8, &isnull);
	rc = SPI_execute_plan(place_plan, values, nulls, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "placing the replacement order");
	replacement_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	oms_prepare(&link_plan,
				"WITH r AS (UPDATE oms.returns SET replacement_order_id = $3, updated_at = now()"
				"            WHERE order_id = $1 AND return_id = $2)"
				" UPDATE oms.orders SET replaces_order_id = $1, replaces_return_id = $2 WHERE order_id = $3",
				3, (Oid[]) {INT8OID, INT8OID, INT8OID});
	values[0] = Int64GetDatum(order_id);
	values[1] = Int64GetDatum(return_id);
	values[2] = Int64GetDatum(replacement_id);
	rc = SPI_execute_plan(link_plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "linking the replacement order");
	return replacement_id;
}
