/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  Keeps stock honest: units (on_hand, reserved, held, quotas, reserved
 *	  quantities of lines) change only inside oms's own functions, and the
 *	  stock ledger is append-only.
 *
 *	  The oms functions run their writes through oms_execute_trusted(), which
 *	  raises a backend-local counter for the duration of the statement.  SQL
 *	  cannot reach the counter, so a role that owns the tables (or a superuser)
 *	  who UPDATEs oms.stock directly is refused just the same.  Like every
 *	  ordinary trigger, the guards do not fire under session_replication_role
 *	  = replica, which logical replication and pg_restore --disable-triggers use.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "oms.h"

PG_FUNCTION_INFO_V1(oms_stock_guard);
PG_FUNCTION_INFO_V1(oms_ledger_guard);
PG_FUNCTION_INFO_V1(oms_definition_guard);

/* Depth of oms_execute_trusted() calls in progress in this backend. */
static int	trusted_depth = 0;

/*
 * Executes a kept plan whose writes the guard triggers let through.
 */
int
oms_execute_trusted(SPIPlanPtr plan, Datum *values, const char *nulls, long tcount)
{
	volatile int rc = 0;

	trusted_depth++;
	PG_TRY();
	{
		rc = SPI_execute_plan(plan, values, nulls, false, tcount);
	}
	PG_FINALLY();
	{
		trusted_depth--;
	}
	PG_END_TRY();
	return rc;
}

/*
 * Trigger on the tables whose unit columns (the trigger's arguments) only
 * oms may change: refuses UPDATEs of those columns, DELETEs of rows where an
 * integer one is not 0, and TRUNCATE, unless oms itself writes.
 */
Datum
oms_stock_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = oms_trigger_data(fcinfo, "oms.stock_guard");
	Relation	rel = trigdata->tg_relation;
	TupleDesc	tupdesc = rel->rd_att;
	HeapTuple	old = trigdata->tg_trigtuple;
	HeapTuple	new = trigdata->tg_newtuple;
	char	   *table;

	/*
	 * On Citus the trigger fires on the shard, in a worker's backend that
	 * the coordinator's statement connected to, where trusted_depth is
	 * always 0: there the guard lets writes through (README, "Scaling out
	 * with Citus": a direct UPDATE through the coordinator is not refused).
	 */
	if (trusted_depth > 0 || oms_citus_internal_backend())
		return TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? PointerGetDatum(new) : PointerGetDatum(old);

	table = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
									   RelationGetRelationName(rel));

	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_STOCK_WRITE_DENIED),
				 errmsg("%s cannot be truncated", table),
				 errdetail("Every unit oms keeps is accounted for."),
				 errhint("Use DROP EXTENSION oms to remove oms with all its data.")));

	for (int i = 0; i < trigdata->tg_trigger->tgnargs; i++)
	{
		const char *column = trigdata->tg_trigger->tgargs[i];
		int			attnum = SPI_fnumber(tupdesc, column);
		Form_pg_attribute att;
		bool		old_null,
					new_null;
		Datum		old_value,
					new_value;

		if (attnum <= 0)
			elog(ERROR, "oms: column \"%s\" of %s not found", column, table);
		att = TupleDescAttr(tupdesc, attnum - 1);
		old_value = heap_getattr(old, attnum, tupdesc, &old_null);

		if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		{
			new_value = heap_getattr(new, attnum, tupdesc, &new_null);
			if (old_null != new_null ||
				(!old_null && !datumIsEqual(old_value, new_value, att->attbyval, att->attlen)))
				ereport(ERROR,
						(errcode(ERRCODE_OMS_STOCK_WRITE_DENIED),
						 errmsg("column %s of %s changes only through oms functions", column, table),
						 errdetail("oms keeps units, reservations and the ledger in step; a direct change would break them apart."),
						 errhint("Use the oms functions, e.g. oms.adjust_stock or oms.cancel_order.")));
		}
		else if (getBaseType(att->atttypid) == INT4OID && !old_null && DatumGetInt32(old_value) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_STOCK_WRITE_DENIED),
					 errmsg("a row of %s that still counts units cannot be deleted", table),
					 errdetail("Its %s is %d.", column, DatumGetInt32(old_value)),
					 errhint("Units leave through the oms functions, e.g. oms.adjust_stock, oms.cancel_order or oms.release_hold; an order is never deleted.")));
	}
	return TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? PointerGetDatum(new) : PointerGetDatum(old);
}

/*
 * Trigger on the append-only tables (the stock ledger, the order history):
 * refuses every UPDATE, DELETE and TRUNCATE.
 */
Datum
oms_ledger_guard(PG_FUNCTION_ARGS)
{
	Relation	rel = oms_trigger_data(fcinfo, "oms.ledger_guard")->tg_relation;
	bool		ledger = strcmp(RelationGetRelationName(rel), "stock_movement") == 0;

	ereport(ERROR,
			(errcode(ERRCODE_OMS_LEDGER_APPEND_ONLY),
			 errmsg("oms.%s is append-only", RelationGetRelationName(rel)),
			 errdetail("Its rows are never changed or removed."),
			 ledger ? errhint("Correct a mistake with a new movement, e.g. oms.adjust_stock.") : 0));
	PG_RETURN_NULL();			/* not reached */
}

/*
 * Statement trigger on oms.transition, the legal status transitions the
 * engine derives statuses along: refuses INSERT, UPDATE, DELETE and TRUNCATE
 * but from the extension's own scripts (CREATE EXTENSION writes the rows,
 * ALTER EXTENSION UPDATE changes them).  They are part of oms, so pg_dump
 * does not keep them, and a change by hand would be lost in a restore.
 */
Datum
oms_definition_guard(PG_FUNCTION_ARGS)
{
	Relation	rel = oms_trigger_data(fcinfo, "oms.definition_guard")->tg_relation;

	/*
	 * On Citus, oms.distribute() copies the rows into the shards of the
	 * reference table through Citus's own connections to the workers; a
	 * change through the coordinator is still refused there, by the trigger
	 * on the coordinator's copy.
	 */
	if (!creating_extension && !oms_citus_internal_backend())
		ereport(ERROR,
				(errcode(ERRCODE_OMS_DEFINITION_READ_ONLY),
				 errmsg("oms.%s is part of the oms extension and changes only with it",
						RelationGetRelationName(rel)),
				 errdetail("The engine derives statuses along these transitions, and pg_dump keeps no change to them."),
				 errhint("ALTER EXTENSION oms UPDATE brings the transitions of a new version.")));
	PG_RETURN_POINTER(NULL);
}
