/*-------------------------------------------------------------------------
 *
 * events.c
 *	  The history of an order (oms.order_event) and the outbox its consumers
 *	  read (oms.outbox): one event for every status an order, a line, a
 *	  shipment or a payment takes.
 *
 *	  oms_record_events() runs once per UPDATE statement and writes, with one
 *	  INSERT, an oms.order_event row and an oms.outbox row for each status it
 *	  changed.  Rows oms creates get their first event from the function
 *	  creating them (through oms_write_first_events() for place_order's).
 *	  The trigger does not fire under session_replication_role = replica, and
 *	  pg_restore only inserts: restored rows are taken as they are.
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

/*
 * Writes the first events of n new entities of order order_id -- entity[i]
 * number entity_id[i], created in status[i] -- to the history and the
 * outbox, as the calling role.
 */
void
oms_write_first_events(int64 order_id, int n, const char *const *entity, const int64 *entity_id,
					   const Datum *status)
{
	Datum		now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	Datum		caller = CStringGetTextDatum(GetUserNameFromId(GetOuterUserId(), false));
	Datum		txid = FullTransactionIdGetDatum(GetTopFullTransactionId());
	Oid			seq = oms_relid("order_event_id_seq");
	int64	   *ids = palloc(sizeof(int64) * n);
	OmsInsert	ins;

	oms_insert_open(&ins, "order_event", false);
	for (int i = 0; i < n; i++)
	{
		ids[i] = nextval_internal(seq, false);
		oms_insert_set(&ins, "order_id", Int64GetDatum(order_id));
		oms_insert_set(&ins, "id", Int64GetDatum(ids[i]));
		oms_insert_set(&ins, "entity", CStringGetTextDatum(entity[i]));
		oms_insert_set(&ins, "entity_id", Int64GetDatum(entity_id[i]));
		oms_insert_set(&ins, "to_status", status[i]);
		oms_insert_set(&ins, "at", now);
		oms_insert_set(&ins, "created_by", caller);
		oms_insert_row(&ins);
	}
	oms_insert_close(&ins);

	oms_insert_open(&ins, "outbox", false);
	for (int i = 0; i < n; i++)
	{
		oms_insert_set(&ins, "txid", txid);
		oms_insert_set(&ins, "event_id", Int64GetDatum(ids[i]));
		oms_insert_set(&ins, "order_id", Int64GetDatum(order_id));
		oms_insert_set(&ins, "entity", CStringGetTextDatum(entity[i]));
		oms_insert_set(&ins, "entity_id", Int64GetDatum(entity_id[i]));
		oms_insert_set(&ins, "status", status[i]);
		oms_insert_set(&ins, "created_at", now);
		oms_insert_row(&ins);
	}
	oms_insert_close(&ins);
}

/*
 * Statement trigger AFTER UPDATE with transition tables old_rows and
 * new_rows; its argument names the entity.  Writes the events of the
 * statuses the statement changed.
 */
Datum
oms_record_events(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr order_plan = NULL;
	static SPIPlanPtr line_plan = NULL;
	static SPIPlanPtr shipment_plan = NULL;
	TriggerData *trigdata = oms_trigger_data(fcinfo, "oms.record_events");
	const char *entity;
	SPIPlanPtr *plan;
	const char *sql;
	Oid			argtype = TEXTOID;
	Datum		role;
	int			rc;

	if (trigdata->tg_trigger->tgnargs != 1 || trigdata->tg_oldtable == NULL ||
		trigdata->tg_newtable == NULL)
		elog(ERROR, "oms.record_events(entity) needs transition tables old_rows and new_rows");
	if (!oms_events)
		return PointerGetDatum(NULL);
	entity = trigdata->tg_trigger->tgargs[0];

	/* Each: WITH e AS (INSERT the events RETURNING them) INSERT the outbox rows. */
	if (strcmp(entity, "order") == 0)
	{
		plan = &order_plan;
		sql = "WITH e AS ("
			"  INSERT INTO oms.order_event (order_id, entity, entity_id, from_status, to_status, created_by, details)"
			"  SELECT n.order_id, 'order', n.order_id, o.status, n.status, $1,"
			"         CASE WHEN n.status = 'cancelled' AND n.cancel_reason IS NOT NULL"
			"              THEN jsonb_build_object('reason', n.cancel_reason) END"
			"    FROM new_rows n JOIN old_rows o ON o.order_id = n.order_id WHERE n.status <> o.status"
			"  UNION ALL"
			"  SELECT n.order_id, 'payment', n.order_id, o.payment_status, n.payment_status, $1, NULL"
			"    FROM new_rows n JOIN old_rows o ON o.order_id = n.order_id"
			"   WHERE n.payment_status <> o.payment_status"
			"  RETURNING id, order_id, entity, entity_id, to_status)"
			" INSERT INTO oms.outbox (event_id, order_id, entity, entity_id, status)"
			" SELECT id, order_id, entity, entity_id, to_status FROM e";
	}
	else if (strcmp(entity, "line") == 0)
	{
		plan = &line_plan;
		sql = "WITH e AS ("
			"  INSERT INTO oms.order_event (order_id, entity, entity_id, from_status, to_status, created_by)"
			"  SELECT n.order_id, 'line', n.line_no, o.status, n.status, $1"
			"    FROM new_rows n JOIN old_rows o ON o.order_id = n.order_id AND o.line_no = n.line_no"
			"   WHERE n.status <> o.status"
			"  RETURNING id, order_id, entity, entity_id, to_status)"
			" INSERT INTO oms.outbox (event_id, order_id, entity, entity_id, status)"
			" SELECT id, order_id, entity, entity_id, to_status FROM e";
	}
	else if (strcmp(entity, "shipment") == 0)
	{
		plan = &shipment_plan;
		sql = "WITH e AS ("
			"  INSERT INTO oms.order_event (order_id, entity, entity_id, from_status, to_status, created_by, details)"
			"  SELECT n.order_id, 'shipment', n.id, o.status, n.status, $1,"
			"         CASE WHEN n.status = 'shipped'"
			"              THEN jsonb_build_object('carrier', n.carrier, 'tracking_number', n.tracking_number)"
			"              WHEN n.status = 'cancelled' THEN NULL"
			"              ELSE jsonb_build_object('at', n.status_at) || coalesce(n.status_details, '{}') END"
			"    FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.status <> o.status"
			"  RETURNING id, order_id, entity, entity_id, to_status)"
			" INSERT INTO oms.outbox (event_id, order_id, entity, entity_id, status)"
			" SELECT id, order_id, entity, entity_id, to_status FROM e";
	}
	else
		elog(ERROR, "oms.record_events: unknown entity \"%s\"", entity);

	oms_spi_connect();
	rc = SPI_register_trigger_data(trigdata);
	if (rc != SPI_OK_TD_REGISTER)
		elog(ERROR, "oms: SPI_register_trigger_data failed: %s", SPI_result_code_string(rc));
	oms_prepare(plan, sql, 1, &argtype);
	role = CStringGetTextDatum(GetUserNameFromId(GetOuterUserId(), false));
	rc = SPI_execute_plan(*plan, &role, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_INSERT, "writing order events");
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
