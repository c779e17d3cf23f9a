/*-------------------------------------------------------------------------
 *
 * events.c
 *	  The history of an order (oms.order_event) and the outbox its consumers
 *	  read (oms.outbox): one event for every status an order, a line, a
 *	  shipment, a payment or a return takes.
 *
 *	  Every event is written by oms_write_events(): an oms.order_event row
 *	  and an oms.outbox row each.  A function that creates a row (an order,
 *	  a backordered line, a shipment) writes its first event itself;
 *	  oms_record_events() runs once per UPDATE statement and writes the
 *	  events of the statuses it changed.  The trigger does not fire under
 *	  session_replication_role = replica, and pg_restore only inserts:
 *	  restored rows are taken as they are.
 *
 *	  oms.next_xact_id() tells the outbox's SQL functions which transaction
 *	  ids belong to this cluster.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "oms.h"

PG_FUNCTION_INFO_V1(oms_record_events);
PG_FUNCTION_INFO_V1(oms_next_xact_id);

/* Setting (oms.c defines it): off writes no events. */
bool		oms_events = true;

/*
 * Writes n events to the history and the outbox, as the calling role: the
 * one path every event takes, whether a function creates a row (its first
 * event) or an UPDATE changes a status (oms_record_events()).  The rows go
 * straight into the tables (insert.c), as place_order's rows do.  Nothing
 * is written while oms.events is off, but the orders are still noted
 * for the reporting rollups (report.c).
 */
void
oms_write_events(const OmsEvent *events, int n)
{
	Datum		now;
	Datum		caller;
	Datum		txid;
	Oid			seq;
	int64	   *ids;
	OmsInsert	ins;

	if (n > 0)
	{
		int64	   *orders = palloc(sizeof(int64) * n);

		for (int i = 0; i < n; i++)
			orders[i] = events[i].order_id;
		oms_report_touch(orders, n);	/* for the reporting rollups */
	}
	if (!oms_events || n == 0)
		return;

	/*
	 * On Citus a status trigger fires on the shard, in a worker's backend:
	 * its outbox is the worker's own, which no consumer reads.  Rather than
	 * lose the events there, such a change is refused (README, "Scaling out
	 * with Citus").
	 */
	if (oms_citus_worker_node())
		ereport(ERROR,
				(errcode(ERRCODE_OMS_CITUS_UNSUPPORTED),
				 errmsg("status changes of %s are not supported on Citus yet", events[0].entity),
				 errdetail("Citus runs the change on a worker, whose outbox no consumer reads; the event would be lost."),
				 errhint("See README, \"Scaling out with Citus\", for what runs on a distributed oms.")));
	now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	caller = CStringGetTextDatum(GetUserNameFromId(GetOuterUserId(), false));
	txid = FullTransactionIdGetDatum(GetTopFullTransactionId());
	seq = oms_relid("order_event_id_seq");
	ids = palloc(sizeof(int64) * n);

	oms_insert_open(&ins, "order_event", false);
	for (int i = 0; i < n; i++)
	{
		const OmsEvent *e = &events[i];

		ids[i] = nextval_internal(seq, false);
		oms_insert_set(&ins, "order_id", Int64GetDatum(e->order_id));
		oms_insert_set(&ins, "id", Int64GetDatum(ids[i]));
		oms_insert_set(&ins, "entity", CStringGetTextDatum(e->entity));
		oms_insert_set(&ins, "entity_id", Int64GetDatum(e->entity_id));
		if (e->from_status)
			oms_insert_set(&ins, "from_status", e->from_status);
		oms_insert_set(&ins, "to_status", e->to_status);
		oms_insert_set(&ins, "at", now);
		oms_insert_set(&ins, "created_by", caller);
		if (e->details)
			oms_insert_set(&ins, "details", e->details);
		oms_insert_row(&ins);
	}
	oms_insert_close(&ins);

	oms_insert_open(&ins, "outbox", false);
	for (int i = 0; i < n; i++)
	{
		const OmsEvent *e = &events[i];

		oms_insert_set(&ins, "txid", txid);
		oms_insert_set(&ins, "event_id", Int64GetDatum(ids[i]));
		oms_insert_set(&ins, "order_id", Int64GetDatum(e->order_id));
		oms_insert_set(&ins, "entity", CStringGetTextDatum(e->entity));
		oms_insert_set(&ins, "entity_id", Int64GetDatum(e->entity_id));
		oms_insert_set(&ins, "status", e->to_status);
		oms_insert_set(&ins, "created_at", now);
		oms_insert_row(&ins);
	}
	oms_insert_close(&ins);
}

/*
 * The statuses an UPDATE of each entity's table changed, read from the
 * statement's transition tables, with the details each kind of event
 * carries; the columns are those of OmsEvent.
 */
typedef struct ChangeQuery
{
	const char *entity;
	const char *sql;
	SPIPlanPtr	plan;
} ChangeQuery;

static ChangeQuery change_queries[] = {
	{"order",
		"SELECT n.order_id, 'order', n.order_id, o.status, n.status,"
		"       CASE WHEN n.status = 'cancelled' AND n.cancel_reason IS NOT NULL"
		"            THEN jsonb_build_object('reason', n.cancel_reason) END"
		"  FROM new_rows n JOIN old_rows o ON o.order_id = n.order_id WHERE n.status <> o.status"
		" UNION ALL"
		" SELECT n.order_id, 'payment', n.order_id, o.payment_status, n.payment_status, NULL"
		"  FROM new_rows n JOIN old_rows o ON o.order_id = n.order_id"
		" WHERE n.payment_status <> o.payment_status"},
	{"line",
		"SELECT n.order_id, 'line', n.line_no::bigint, o.status, n.status, NULL::jsonb"
		"  FROM new_rows n JOIN old_rows o ON o.order_id = n.order_id AND o.line_no = n.line_no"
		" WHERE n.status <> o.status"},
	{"shipment",
		"SELECT n.order_id, 'shipment', n.id, o.status, n.status,"
		"       CASE WHEN n.status = 'shipped'"
		"            THEN jsonb_build_object('carrier', n.carrier, 'tracking_number', n.tracking_number)"
		"            WHEN n.status = 'cancelled' THEN NULL"
		"            ELSE jsonb_build_object('at', n.status_at) || coalesce(n.status_details, '{}') END"
		"  FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.status <> o.status"},
	{"return",
		"SELECT n.order_id, 'return', n.return_id, o.status, n.status,"
		"       CASE WHEN n.status_reason IS NOT NULL AND n.status IN ('declined', 'cancelled', 'completed', 'expired')"
		"            THEN jsonb_build_object('reason', n.status_reason) END"
		"  FROM new_rows n JOIN old_rows o ON o.order_id = n.order_id AND o.return_id = n.return_id"
		" WHERE n.status <> o.status"},
};

/*
 * Statement trigger AFTER UPDATE with transition tables old_rows and
 * new_rows; its argument names the entity.  Writes the events of the
 * statuses the statement changed.
 */
Datum
oms_record_events(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = oms_trigger_data(fcinfo, "oms.record_events");
	ChangeQuery *query = NULL;
	OmsEvent   *events;
	int			rc;

	if (trigdata->tg_trigger->tgnargs != 1 || trigdata->tg_oldtable == NULL ||
		trigdata->tg_newtable == NULL)
		elog(ERROR, "oms.record_events(entity) needs transition tables old_rows and new_rows");
	if (!oms_events)
		return PointerGetDatum(NULL);	/* spares the query */
	for (int i = 0; i < (int) lengthof(change_queries); i++)
		if (strcmp(trigdata->tg_trigger->tgargs[0], change_queries[i].entity) == 0)
			query = &change_queries[i];
	if (query == NULL)
		elog(ERROR, "oms.record_events: unknown entity \"%s\"", trigdata->tg_trigger->tgargs[0]);

	oms_spi_connect();
	rc = SPI_register_trigger_data(trigdata);
	if (rc != SPI_OK_TD_REGISTER)
		elog(ERROR, "oms: SPI_register_trigger_data failed: %s", SPI_result_code_string(rc));
	oms_prepare(&query->plan, query->sql, 0, NULL);
	rc = SPI_execute_plan(query->plan, NULL, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "reading the changed statuses");

	/* The events point into SPI's result, which lasts until oms_spi_finish(). */
	events = palloc(sizeof(OmsEvent) * Max(SPI_processed, 1));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		events[r].order_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		events[r].entity = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
		events[r].entity_id = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		events[r].from_status = SPI_getbinval(tup, desc, 4, &isnull);
		if (isnull)
			events[r].from_status = (Datum) 0;
		events[r].to_status = SPI_getbinval(tup, desc, 5, &isnull);
		events[r].details = SPI_getbinval(tup, desc, 6, &isnull);
		if (isnull)
			events[r].details = (Datum) 0;
	}
	oms_write_events(events, (int) SPI_processed);
	oms_spi_finish();
	return PointerGetDatum(NULL);
}

/*
 * oms.next_xact_id(): the transaction id this cluster assigns next.  An
 * event id at or beyond it was written by another cluster (a restore, a
 * failover): oms.rebase_events() looks for those.
 */
Datum
oms_next_xact_id(PG_FUNCTION_ARGS)
{
	PG_RETURN_FULLTRANSACTIONID(ReadNextFullTransactionId());
}
