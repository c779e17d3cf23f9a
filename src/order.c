/*-------------------------------------------------------------------------
 *
 * order.c
 *	  Placing and cancelling orders: oms.place_order, oms.cancel_order and
 *	  oms.cancel_line.
 *
 *	  place_order checks everything first (money.c), claims the channel's
 *	  reference (so that a retry or a racing duplicate gets the same order),
 *	  routes and reserves each SKU's total through reserve.c (demand.c), then
 *	  writes the order, its lines and its reservations.  An order a store
 *	  sold or a marketplace shipped is written as such, without routing.
 *	  Cancelling locks the order row first, so two sessions cancelling at
 *	  once release each reservation exactly once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "oms.h"

PG_FUNCTION_INFO_V1(oms_place_order);
PG_FUNCTION_INFO_V1(oms_cancel_order);
PG_FUNCTION_INFO_V1(oms_cancel_line);

/*
 * Claims (channel, external_ref) for a new order and sets *order_id to its
 * new id; or returns false with the order placed earlier under the same
 * reference with the same payload (a different payload is an error).  A
 * racing session that claims the same reference waits here until this
 * transaction ends.
 */
static bool
claim_reference(OrderRequest *req, char *external_ref, Datum payload, int64 *order_id)
{
	static SPIPlanPtr find_plan = NULL;
	Oid			argtypes[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		values[3];
	bool		claimed;
	bool		isnull;
	int			rc;
	OmsInsert	ins;

	values[0] = Int64GetDatum(req->channel.id);
	values[1] = CStringGetTextDatum(external_ref);
	values[2] = payload;

	*order_id = nextval_internal(oms_relid("order_id_seq"), false);
	oms_insert_open(&ins, "order_ref", true);
	oms_insert_set(&ins, "channel_id", values[0]);
	oms_insert_set(&ins, "external_ref", values[1]);
	oms_insert_set(&ins, "order_id", Int64GetDatum(*order_id));
	oms_insert_set(&ins, "payload_hash", DirectFunctionCall1(md5_text, payload));
	claimed = oms_insert_row_if_new(&ins);
	oms_insert_close(&ins);
	if (claimed)
		return true;

	oms_prepare(&find_plan,
				"SELECT order_id, payload_hash = md5($3) FROM oms.order_ref"
				" WHERE channel_id = $1 AND external_ref = $2",
				3, argtypes);
	rc = SPI_execute_plan(find_plan, values, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "reading the order reference");
	if (SPI_processed != 1)
		elog(ERROR, "oms: order reference vanished");
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_IDEMPOTENCY_CONFLICT),
				 errmsg("channel \"%s\" already placed order \"%s\" with different contents",
						req->channel.code, external_ref),
				 errdetail("The same external_ref returns the same order only for the same lines, ship_to and options."),
				 errhint("Use a new external_ref for a new order.")));
	*order_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return false;
}

/*
 * Writes the first event of a placed order, then of each backordered line.
 * A line placed in full starts out reserved without an event of its own, as
 * a payment starts out unpaid: the order's event says it was placed.  The
 * lines of an order a store sold or a marketplace shipped each start out in
 * the order's status, with an event.
 */
static void
write_first_events(OrderRequest *req, int64 order_id, Datum status)
{
	OmsEvent   *events = palloc0(sizeof(OmsEvent) * (req->nlines + 1));
	bool		elsewhere = req->fulfilment != OMS_FULFIL_MERCHANT;
	int			n = 0;

	events[n].order_id = order_id;
	events[n].entity = "order";
	events[n].entity_id = order_id;
	events[n++].to_status = status;
	for (int i = 0; i < req->nlines; i++)
	{
		if (!elsewhere && req->lines[i].placed == req->lines[i].qty)
			continue;
		events[n].order_id = order_id;
		events[n].entity = "line";
		events[n].entity_id = req->lines[i].line_no;
		events[n++].to_status = elsewhere ? status : CStringGetTextDatum("backordered");
	}
	oms_write_events(events, n);
}

/*
 * Writes a placed order: the order row, its lines, the first events of the
 * order and of its backordered lines, and the reservations.  The rows go
 * straight into the tables (insert.c), with every value computed here.  An
 * order fulfilled elsewhere (a store's till, a marketplace; plan is NULL)
 * is written delivered or shipped in full, with an event for every line.
 */
static void
write_order(OrderRequest *req, int64 order_id, char *external_ref, RoutePlan *plan,
			Jsonb *ship_to, Jsonb *options)
{
	Datum		now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	Datum		reserved = CStringGetTextDatum("reserved");
	Datum		backordered = CStringGetTextDatum("backordered");
	int64		units = 0;
	bool		short_of_stock = false;
	bool		elsewhere = req->fulfilment != OMS_FULFIL_MERCHANT;
	Datum		status;			/* of the order */
	Oid			reservation_seq;
	Jsonb	   *decision;
	OmsInsert	ins;

	for (int i = 0; i < req->nlines; i++)
	{
		OrderLine  *line = &req->lines[i];

		short_of_stock |= line->placed < line->qty;
		units += line->qty;
	}

	if (elsewhere)
		status = CStringGetTextDatum(req->fulfilment == OMS_FULFIL_STORE ? "delivered" : "shipped");
	else
		status = short_of_stock ? backordered : reserved;

	oms_insert_open(&ins, "orders", false);
	oms_insert_set(&ins, "order_id", Int64GetDatum(order_id));
	oms_insert_set(&ins, "channel_id", Int64GetDatum(req->channel.id));
	oms_insert_set(&ins, "external_ref", CStringGetTextDatum(external_ref));
	oms_insert_set(&ins, "status", status);
	oms_insert_set(&ins, "payment_status", CStringGetTextDatum("unpaid"));
	if (req->customer)
		oms_insert_set(&ins, "customer", req->customer);
	if (ship_to)
		oms_insert_set(&ins, "ship_to", JsonbPGetDatum(ship_to));
	oms_insert_set(&ins, "currency", CStringGetTextDatum(req->currency ? req->currency : "EUR"));
	oms_insert_set(&ins, "units", Int32GetDatum((int32) units));
	oms_insert_set(&ins, "options", options ? JsonbPGetDatum(options)
				   : DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
	if (req->pickup_location_id)
		oms_insert_set(&ins, "pickup_location_id", Int64GetDatum(req->pickup_location_id));
	if (plan)
	{
		decision = oms_route_decision(req, plan, false);
		oms_insert_set(&ins, "routing",
					   CStringGetTextDatum(JsonbToCString(NULL, &decision->root, VARSIZE(decision))));
	}
	oms_insert_set(&ins, "placed_at", now);
	oms_insert_set(&ins, "updated_at", now);
	oms_set_order_money(&ins, req);
	oms_insert_row(&ins);
	oms_insert_close(&ins);

	oms_insert_open(&ins, "order_lines", false);
	for (int i = 0; i < req->nlines; i++)
	{
		OrderLine  *line = &req->lines[i];

		oms_insert_set(&ins, "order_id", Int64GetDatum(order_id));
		oms_insert_set(&ins, "line_no", Int32GetDatum(line->line_no));
		oms_insert_set(&ins, "sku_id", Int64GetDatum(line->sku_id));
		oms_insert_set(&ins, "qty", Int32GetDatum(line->qty));
		oms_insert_set(&ins, "unit_price", line->unit_price);
		oms_insert_set(&ins, "qty_reserved", Int32GetDatum(line->placed));
		oms_insert_set(&ins, "qty_shipped", Int32GetDatum(elsewhere ? line->qty : 0));
		oms_insert_set(&ins, "qty_cancelled", Int32GetDatum(0));
		oms_insert_set(&ins, "qty_backordered", Int32GetDatum(elsewhere ? 0 : line->qty - line->placed));
		oms_insert_set(&ins, "qty_returned", Int32GetDatum(0));
		oms_insert_set(&ins, "status", elsewhere ? status : line->placed < line->qty ? backordered : reserved);
		oms_set_line_money(&ins, line);
		oms_insert_row(&ins);
	}
	oms_insert_close(&ins);

	write_first_events(req, order_id, status);

	if (plan == NULL)
		return;
	oms_insert_open(&ins, "reservation", false);
	reservation_seq = oms_relid("reservation_id_seq");
	for (int i = 0; i < plan->nallocs; i++)
	{
		Allocation *a = &plan->allocs[i];

		oms_insert_set(&ins, "order_id", Int64GetDatum(order_id));
		oms_insert_set(&ins, "id", Int64GetDatum(nextval_internal(reservation_seq, false)));
		oms_insert_set(&ins, "line_no", Int32GetDatum(req->lines[a->line].line_no));
		oms_insert_set(&ins, "sku_id", Int64GetDatum(a->row.sku_id));
		oms_insert_set(&ins, "location_id", Int64GetDatum(a->row.location_id));
		if (a->slot != OMS_NO_SLOT)
			oms_insert_set(&ins, "slot", Int32GetDatum(a->slot));
		oms_insert_set(&ins, "qty", Int32GetDatum(a->qty));
		oms_insert_set(&ins, "state", CStringGetTextDatum("held"));
		oms_insert_set(&ins, "created_at", now);
		oms_insert_row(&ins);
	}
	oms_insert_close(&ins);
}

/*
 * oms.place_order(channel, external_ref, lines, ship_to, options)
 */
Datum
oms_place_order(PG_FUNCTION_ARGS)
{
	char	   *external_ref = oms_arg_reference(fcinfo, 1, "external_ref");
	Jsonb	   *lines = oms_arg_optional_jsonb(fcinfo, 2);
	Jsonb	   *ship_to = oms_arg_optional_jsonb(fcinfo, 3);
	Jsonb	   *options = oms_arg_optional_jsonb(fcinfo, 4);
	OrderRequest req;
	RoutePlan  *plan;
	RowUnits  *held = NULL;
	int			nheld = 0;
	Datum		payload;
	int64		order_id;

	memset(&req, 0, sizeof(req));
	oms_parse_lines(lines, true, &req);
	oms_parse_ship_to(ship_to, &req);

	oms_spi_connect();
	req.channel = oms_active_channel(oms_arg_text(fcinfo, 0, "channel"));
	oms_parse_options(options, &req);
	oms_resolve_skus(&req);
	oms_check_money(&req);
	oms_merge_lines(&req);

	/* Claim the reference before taking stock, so a duplicate takes none. */
	payload = DirectFunctionCall1(textin, CStringGetDatum(psprintf("%s|%s|%s",
					 JsonbToCString(NULL, &lines->root, VARSIZE(lines)),
					 ship_to ? JsonbToCString(NULL, &ship_to->root, VARSIZE(ship_to)) : "",
					 options ? JsonbToCString(NULL, &options->root, VARSIZE(options)) : "")));
	if (!claim_reference(&req, external_ref, payload, &order_id))
	{
		oms_spi_finish();
		PG_RETURN_INT64(order_id);
	}

	if (req.fulfilment != OMS_FULFIL_MERCHANT)
	{
		/* Sold at a store's till or shipped by a marketplace: nothing to route. */
		oms_fulfil_elsewhere(&req, order_id);
		write_order(&req, order_id, external_ref, NULL, ship_to, options);
		oms_spi_finish();
		PG_RETURN_INT64(order_id);
	}

	if (req.hold_ref)
	{
		bool		exists;

		held = oms_lock_hold(&req, req.hold_ref, &nheld, &exists);
	}
	plan = oms_reserve(&req, false, held, nheld);
	oms_split_plan(&req, plan);
	write_order(&req, order_id, external_ref, plan, ship_to, options);
	if (req.hold_ref)
	{
		Datum		hold_ref = CStringGetTextDatum(req.hold_ref);

		oms_delete_holds(&hold_ref, 1);
	}

	oms_spi_finish();
	PG_RETURN_INT64(order_id);
}

/*
 * Returns a pending shipment holding units of line line_no of order_id, or 0.
 */
static int64
pending_shipment(int64 order_id, int32 line_no)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(order_id), Int32GetDatum(line_no)};
	bool		isnull;
	int			rc;

	oms_prepare(&plan,
				"SELECT s.id FROM oms.shipment_line sl"
				"  JOIN oms.shipment s ON s.order_id = sl.order_id AND s.id = sl.shipment_id"
				" WHERE sl.order_id = $1 AND sl.line_no = $2 AND s.status = 'pending'"
				" ORDER BY s.id LIMIT 1",
				2, argtypes);
	/* Not read-only: sees a shipment created earlier in the calling statement. */
	rc = SPI_execute_plan(plan, values, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "looking for pending shipments");
	if (SPI_processed == 0)
		return 0;
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* Refuses to cancel an order that is past cancelling. */
static void
check_cancellable(int64 order_id, const char *status)
{
	if (strcmp(status, "cancelled") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_ORDER_NOT_CANCELLABLE),
				 errmsg("order %lld is cancelled already", (long long) order_id)));
	if (strcmp(status, "shipped") == 0 || strcmp(status, "delivered") == 0 ||
		strcmp(status, "closed") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_ORDER_NOT_CANCELLABLE),
				 errmsg("order %lld is %s and cannot be cancelled", (long long) order_id, status),
				 errhint("Shipped units come back through a return.")));
}

/*
 * Whether this database records cancellations (oms.order_cancellation, new
 * in 0.2.0): a database still on 0.1.0 before ALTER EXTENSION oms UPDATE
 * runs the new library without it.
 */
static bool
cancellations_recorded(void)
{
	return OidIsValid(get_relname_relid("order_cancellation", get_namespace_oid("oms", false)));
}

/*
 * oms.cancel_order(order_id, reason): cancels every open unit.
 */
Datum
oms_cancel_order(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr shipments_plan = NULL;
	static SPIPlanPtr lines_plan = NULL;
	static SPIPlanPtr lines_plan_010 = NULL;
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};
	int64		order_id = oms_arg_int64(fcinfo, 0, "order_id");
	text	   *reason = oms_arg_optional_text(fcinfo, 1);
	char	   *status;
	bool		isnull;
	int32		units;
	int			rc;

	oms_spi_connect();
	status = oms_lock_order(order_id);
	if (strcmp(status, "cancelled") == 0)
	{
		oms_spi_finish();
		PG_RETURN_INT32(0);
	}
	check_cancellable(order_id, status);

	/* Parcels not yet handed to a carrier are called off with the order. */
	oms_prepare(&shipments_plan,
				"UPDATE oms.shipment SET status = 'cancelled', status_at = now()"
				" WHERE order_id = $1 AND status = 'pending'",
				1, argtypes);
	values[0] = Int64GetDatum(order_id);
	rc = SPI_execute_plan(shipments_plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "cancelling pending shipments");

	oms_close_reservations(order_id, 0, 0, PG_INT32_MAX, false, NULL);

	/*
	 * Every open unit becomes cancelled; the old figures say how many, and
	 * each line's go into its cancellation record (not before ALTER
	 * EXTENSION oms UPDATE: 0.1.0 has none).
	 */
	if (cancellations_recorded())
		oms_prepare(&lines_plan,
					"WITH c AS (UPDATE oms.order_lines l"
					"              SET qty_cancelled = l.qty_cancelled + l.qty_reserved + l.qty_backordered,"
					"                  qty_reserved = 0, qty_backordered = 0, cancel_reason = $2"
					"             FROM oms.order_lines o"
					"            WHERE l.order_id = $1 AND o.order_id = l.order_id AND o.line_no = l.line_no"
					"              AND l.qty_reserved + l.qty_backordered > 0"
					"        RETURNING l.line_no, o.qty_reserved + o.qty_backordered AS open),"
					"      k AS (INSERT INTO oms.order_cancellation (order_id, line_no, qty, reason)"
					"            SELECT $1, c.line_no, c.open, $2 FROM c)"
					" SELECT coalesce(sum(open), 0)::integer FROM c",
					2, argtypes);
	else
		oms_prepare(&lines_plan_010,
					"WITH c AS (UPDATE oms.order_lines l"
					"              SET qty_cancelled = l.qty_cancelled + l.qty_reserved + l.qty_backordered,"
					"                  qty_reserved = 0, qty_backordered = 0, cancel_reason = $2"
					"             FROM oms.order_lines o"
					"            WHERE l.order_id = $1 AND o.order_id = l.order_id AND o.line_no = l.line_no"
					"              AND l.qty_reserved + l.qty_backordered > 0"
					"        RETURNING o.qty_reserved + o.qty_backordered AS open)"
					" SELECT coalesce(sum(open), 0)::integer FROM c",
					2, argtypes);
	values[0] = Int64GetDatum(order_id);
	values[1] = PointerGetDatum(reason);
	nulls[1] = reason ? ' ' : 'n';
	rc = oms_execute_trusted(cancellations_recorded() ? lines_plan : lines_plan_010, values, nulls, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "cancelling the lines");
	units = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	oms_settle_order(order_id, reason);

	oms_spi_finish();
	PG_RETURN_INT32(units);
}

/*
 * oms.cancel_line(order_id, line_no, qty, reason): cancels qty open units
 * of one line, backordered ones first.
 */
Datum
oms_cancel_line(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr line_plan = NULL;
	static SPIPlanPtr update_plan = NULL;
	static SPIPlanPtr update_plan_010 = NULL;
	Oid			argtypes[5] = {INT8OID, INT4OID, INT4OID, INT4OID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	int64		order_id = oms_arg_int64(fcinfo, 0, "order_id");
	int32		line_no = oms_arg_int32(fcinfo, 1, "line_no");
	int32		qty = oms_arg_int32(fcinfo, 2, "qty");
	text	   *reason = oms_arg_optional_text(fcinfo, 3);
	char	   *status;
	int32		reserved,
				backordered,
				from_backorder;
	bool		isnull;
	int			rc;

	if (qty <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_QUANTITY),
				 errmsg("qty must be positive, not %d", qty)));

	oms_spi_connect();
	status = oms_lock_order(order_id);
	check_cancellable(order_id, status);

	oms_prepare(&line_plan,
				"SELECT qty_reserved, qty_backordered FROM oms.order_lines"
				" WHERE order_id = $1 AND line_no = $2",
				2, argtypes);
	values[0] = Int64GetDatum(order_id);
	values[1] = Int32GetDatum(line_no);
	rc = SPI_execute_plan(line_plan, values, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "reading the order line");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_UNKNOWN_LINE),
				 errmsg("order %lld has no line %d", (long long) order_id, line_no)));
	reserved = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	backordered = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (qty > reserved + backordered)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_CANCEL_EXCEEDS_OPEN),
				 errmsg("line %d of order %lld has %d open units, fewer than the %d to cancel",
						line_no, (long long) order_id, reserved + backordered, qty),
				 errdetail("Open units are reserved or backordered; shipped and cancelled ones are not.")));

	from_backorder = Min(qty, backordered);
	if (qty > from_backorder)
	{
		int64		shipment_id = pending_shipment(order_id, line_no);

		if (shipment_id != 0)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_LINE_IN_SHIPMENT),
					 errmsg("line %d of order %lld has reserved units in pending shipment %lld",
							line_no, (long long) order_id, (long long) shipment_id),
					 errhint("Ship it, or call it off with oms.cancel_shipment(%lld) first.",
							 (long long) shipment_id)));
		oms_close_reservations(order_id, line_no, 0, qty - from_backorder, false, NULL);
	}

	/* The units cancelled, and when, go into the line's cancellation record (from 0.2.0). */
	if (cancellations_recorded())
		oms_prepare(&update_plan,
					"WITH u AS (UPDATE oms.order_lines"
					"              SET qty_backordered = qty_backordered - $3, qty_reserved = qty_reserved - $4,"
					"                  qty_cancelled = qty_cancelled + $3 + $4, cancel_reason = $5"
					"            WHERE order_id = $1 AND line_no = $2 RETURNING line_no)"
					" INSERT INTO oms.order_cancellation (order_id, line_no, qty, reason)"
					" SELECT $1, u.line_no, $3 + $4, $5 FROM u",
					5, argtypes);
	else
		oms_prepare(&update_plan_010,
					"UPDATE oms.order_lines"
					"   SET qty_backordered = qty_backordered - $3, qty_reserved = qty_reserved - $4,"
					"       qty_cancelled = qty_cancelled + $3 + $4, cancel_reason = $5"
					" WHERE order_id = $1 AND line_no = $2",
					5, argtypes);
	values[2] = Int32GetDatum(from_backorder);
	values[3] = Int32GetDatum(qty - from_backorder);
	values[4] = PointerGetDatum(reason);
	nulls[4] = reason ? ' ' : 'n';
	if (cancellations_recorded())
	{
		rc = oms_execute_trusted(update_plan, values, nulls, 0);
		oms_check_spi(rc, SPI_OK_INSERT, "cancelling the order line");
	}
	else
	{
		rc = oms_execute_trusted(update_plan_010, values, nulls, 0);
		oms_check_spi(rc, SPI_OK_UPDATE, "cancelling the order line");
	}
	oms_settle_order(order_id, reason);
	oms_report_touch_order(order_id);	/* a part of a line moves no status */

	oms_spi_finish();
	PG_RETURN_INT32(qty);
}
