/*-------------------------------------------------------------------------
 *
 * lifecycle.c
 *	  The statuses of orders, lines, shipments and payments: which changes
 *	  are legal (oms.transition, enforced by a row trigger) and how the
 *	  engine derives them from facts.  Every change writes its event
 *	  (events.c).
 *
 *	  oms_transition_guard() refuses an UPDATE that sets a status the
 *	  transition table does not allow from the old one.  It does not fire
 *	  under session_replication_role = replica, and pg_restore only
 *	  inserts: restored rows are taken as they are.
 *
 *	  oms_lock_order() locks an order and reads its status, which every
 *	  function that changes an order does first.  oms.hold_order,
 *	  oms.release_order and oms.close_order are an operator's changes of an
 *	  order's status.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "oms.h"

PG_FUNCTION_INFO_V1(oms_transition_guard);
PG_FUNCTION_INFO_V1(oms_hold_order);
PG_FUNCTION_INFO_V1(oms_release_order);
PG_FUNCTION_INFO_V1(oms_close_order);

/* The value of text column attnum of tuple, or NULL. */
static char *
text_column(HeapTuple tuple, TupleDesc desc, int attnum)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnum, desc, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * Row trigger BEFORE UPDATE; its arguments are pairs (entity, status
 * column).  Refuses a changed status that is not a legal transition.
 */
Datum
oms_transition_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = oms_trigger_data(fcinfo, "oms.transition_guard");
	Trigger    *trigger = trigdata->tg_trigger;
	TupleDesc	desc = trigdata->tg_relation->rd_att;

	if (!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		elog(ERROR, "oms.transition_guard() must fire BEFORE UPDATE FOR EACH ROW");

	/* The transitions are cached; reloading them runs queries of our own. */
	oms_spi_connect();

	for (int i = 0; i + 1 < trigger->tgnargs; i += 2)
	{
		const char *entity = trigger->tgargs[i];
		int			attnum = SPI_fnumber(desc, trigger->tgargs[i + 1]);
		char	   *from,
				   *to;

		if (attnum <= 0)
			elog(ERROR, "oms: column \"%s\" not found", trigger->tgargs[i + 1]);
		from = text_column(trigdata->tg_trigtuple, desc, attnum);
		to = text_column(trigdata->tg_newtuple, desc, attnum);
		if (from == NULL || to == NULL || strcmp(from, to) == 0)
			continue;			/* NOT NULL constraints speak for themselves */
		if (!oms_transition_legal(entity, from, to))
		{
			char	   *next = oms_transition_next(entity, from);

			ereport(ERROR,
					(errcode(ERRCODE_OMS_ILLEGAL_TRANSITION),
					 errmsg("illegal %s transition: %s -> %s", entity, from, to),
					 next ? errhint("From %s it may go to: %s.", from, next)
					 : errhint("%s is final.", from)));
		}
	}
	oms_spi_finish();
	return PointerGetDatum(trigdata->tg_newtuple);
}

/*
 * Derives the statuses of order order_id's lines, then of the order, from
 * its quantities and shipments; reason goes with a cancellation.  Only
 * changed statuses are written, so the triggers see exactly the
 * transitions.  The caller holds the order's lock.
 */
void
oms_settle_order(int64 order_id, text *reason)
{
	static SPIPlanPtr lines_plan = NULL;
	static SPIPlanPtr order_plan = NULL;
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};
	int			rc;

	oms_prepare(&lines_plan,
				"WITH d AS ("
				"  SELECT l.order_id, l.line_no,"
				"         CASE WHEN l.qty_cancelled = l.qty THEN 'cancelled'"
				"              WHEN l.qty_shipped > 0 AND l.qty_shipped = l.qty - l.qty_cancelled THEN"
				"                   CASE WHEN EXISTS (SELECT FROM oms.shipment_line sl"
				"                                       JOIN oms.shipment s ON s.order_id = sl.order_id AND s.id = sl.shipment_id"
				"                                      WHERE sl.order_id = l.order_id AND sl.line_no = l.line_no"
				"                                        AND s.status NOT IN ('delivered', 'cancelled'))"
				"                        THEN 'shipped' ELSE 'delivered' END"
				"              WHEN l.qty_shipped > 0 THEN 'partially_shipped'"
				"              WHEN l.qty_backordered > 0 THEN 'backordered'"
				"              ELSE 'reserved' END AS status"
				"    FROM oms.order_lines l WHERE l.order_id = $1)"
				" UPDATE oms.order_lines l SET status = d.status"
				"   FROM d WHERE l.order_id = d.order_id AND l.line_no = d.line_no AND l.status <> d.status",
				1, argtypes);
	values[0] = Int64GetDatum(order_id);
	rc = oms_execute_trusted(lines_plan, values, NULL, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "deriving the line statuses");

	/* An order on hold or closed stays so, unless everything is cancelled. */
	oms_prepare(&order_plan,
				"WITH l AS ("
				"  SELECT bool_and(status = 'cancelled') AS cancelled,"
				"         bool_and(status IN ('delivered', 'cancelled')) AS delivered,"
				"         bool_and(status IN ('shipped', 'delivered', 'cancelled')) AS shipped,"
				"         bool_or(status IN ('partially_shipped', 'shipped', 'delivered')) AS some_shipped,"
				"         bool_or(status = 'backordered') AS backordered"
				"    FROM oms.order_lines WHERE order_id = $1),"
				" d AS ("
				"  SELECT o.order_id,"
				"         CASE WHEN l.cancelled THEN 'cancelled'"
				"              WHEN o.status IN ('on_hold', 'closed') THEN o.status"
				"              WHEN l.delivered THEN 'delivered'"
				"              WHEN l.shipped THEN 'shipped'"
				"              WHEN l.some_shipped THEN 'partially_shipped'"
				"              WHEN l.backordered THEN 'backordered'"
				"              ELSE 'reserved' END AS status"
				"    FROM oms.orders o, l WHERE o.order_id = $1)"
				" UPDATE oms.orders o"
				"    SET status = d.status, updated_at = now(),"
				"        cancelled_at = CASE WHEN d.status = 'cancelled' THEN now() END,"
				"        cancel_reason = CASE WHEN d.status = 'cancelled' THEN $2 END"
				"   FROM d WHERE o.order_id = d.order_id AND o.status <> d.status",
				2, argtypes);
	values[1] = PointerGetDatum(reason);
	nulls[1] = reason ? ' ' : 'n';
	rc = oms_execute_trusted(order_plan, values, nulls, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "deriving the order status");
}

/*
 * Locks order order_id and returns its status.  The lock writes the row
 * (updated_at): a transaction whose snapshot predates another's change of
 * the order -- under REPEATABLE READ or SERIALIZABLE -- then fails with a
 * serialization error here, as it would not if both only locked it (two
 * refunds of one order reading the same payments, say).
 */
char *
oms_lock_order(int64 order_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(order_id)};
	int			rc;

	oms_prepare(&plan, "UPDATE oms.orders SET updated_at = now() WHERE order_id = $1 RETURNING status",
				1, argtypes);
	rc = SPI_execute_plan(plan, values, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_UPDATE_RETURNING, "locking the order");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_UNKNOWN_ORDER),
				 errmsg("order %lld does not exist", (long long) order_id)));
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * Sets the status of order order_id, which the caller has locked.
 */
static void
set_order_status(int64 order_id, const char *status)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		values[2] = {Int64GetDatum(order_id), CStringGetTextDatum(status)};
	int			rc;

	oms_prepare(&plan, "UPDATE oms.orders SET status = $2, updated_at = now() WHERE order_id = $1",
				2, argtypes);
	rc = SPI_execute_plan(plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "setting the order status");
}

/* Whether a line of order order_id waits for stock. */
static bool
order_has_backorders(int64 order_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtype = INT8OID;
	Datum		value = Int64GetDatum(order_id);
	int			rc;

	oms_prepare(&plan, "SELECT FROM oms.order_lines WHERE order_id = $1 AND qty_backordered > 0 LIMIT 1",
				1, &argtype);
	/* Not read-only: sees a line cancelled earlier in the calling statement. */
	rc = SPI_execute_plan(plan, &value, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "looking for backordered lines");
	return SPI_processed > 0;
}

/*
 * oms.hold_order(order_id): stops an order from shipping until
 * oms.release_order; its units stay reserved.
 */
Datum
oms_hold_order(PG_FUNCTION_ARGS)
{
	int64		order_id = oms_arg_int64(fcinfo, 0, "order_id");

	oms_spi_connect();
	(void) oms_lock_order(order_id);
	set_order_status(order_id, "on_hold");	/* the transition trigger says from where */
	oms_spi_finish();
	PG_RETURN_VOID();
}

/*
 * oms.release_order(order_id): lets an order on hold ship again.
 */
Datum
oms_release_order(PG_FUNCTION_ARGS)
{
	int64		order_id = oms_arg_int64(fcinfo, 0, "order_id");
	char	   *status;

	oms_spi_connect();
	status = oms_lock_order(order_id);
	if (strcmp(status, "on_hold") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_ILLEGAL_TRANSITION),
				 errmsg("order %lld is %s, not on_hold", (long long) order_id, status)));
	/* Nothing ships while on hold: the lines are reserved, backordered or cancelled. */
	set_order_status(order_id, order_has_backorders(order_id) ? "backordered" : "reserved");
	oms_spi_finish();
	PG_RETURN_VOID();
}

/*
 * Whether every unit of order order_id that shipped came back (returns)
 * and none is still reserved or backordered.
 */
static bool
order_all_returned(int64 order_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtype = INT8OID;
	Datum		value = Int64GetDatum(order_id);
	bool		isnull;
	Datum		d;
	int			rc;

	oms_prepare(&plan,
				"SELECT bool_and(qty_returned = qty_shipped AND qty_reserved = 0 AND qty_backordered = 0)"
				"  FROM oms.order_lines WHERE order_id = $1",
				1, &argtype);
	rc = SPI_execute_plan(plan, &value, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "looking for units not returned");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return !isnull && DatumGetBool(d);
}

/*
 * oms.close_order(order_id): closes a delivered or cancelled order, or a
 * shipped one every shipped unit of which came back (a parcel returned to
 * sender and received); nothing happens to it any more.
 */
Datum
oms_close_order(PG_FUNCTION_ARGS)
{
	int64		order_id = oms_arg_int64(fcinfo, 0, "order_id");
	char	   *status;

	oms_spi_connect();
	status = oms_lock_order(order_id);
	if (strcmp(status, "shipped") == 0 && !order_all_returned(order_id))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_ILLEGAL_TRANSITION),
				 errmsg("illegal order transition: shipped -> closed"),
				 errdetail("A shipped order closes once delivered, or once every shipped unit came back."),
				 errhint("Track it to delivery, or receive every shipped unit back with oms.receive_return.")));
	set_order_status(order_id, "closed");
	oms_spi_finish();
	PG_RETURN_VOID();
}
