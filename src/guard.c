/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  Keeps stock honest: on_hand and reserved change only inside oms's own
 *	  functions, and the stock ledger is append-only.
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
#include "commands/trigger.h"

#include "oms.h"

PG_FUNCTION_INFO_V1(oms_stock_guard);
PG_FUNCTION_INFO_V1(oms_ledger_guard);

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
 * Returns integer column attname of tuple, which must not be NULL.
 */
static int32
int32_column(HeapTuple tuple, TupleDesc tupdesc, const char *attname)
{
	int			attnum = SPI_fnumber(tupdesc, attname);
	bool		isnull;
	Datum		value;

	if (attnum <= 0)
		elog(ERROR, "oms: column \"%s\" not found", attname);
	value = heap_getattr(tuple, attnum, tupdesc, &isnull);
	return isnull ? 0 : DatumGetInt32(value);
}

/*
 * Returns the TriggerData of a call, refusing calls that are not triggers.
 */
static TriggerData *
trigger_data(FunctionCallInfo fcinfo)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("oms guard functions can only be called as triggers")));
	return (TriggerData *) fcinfo->context;
}

/*
 * Trigger on oms.stock: refuses UPDATEs of on_hand or reserved, DELETEs of
 * rows that still hold units, and TRUNCATE, unless oms itself writes.
 */
Datum
oms_stock_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = trigger_data(fcinfo);
	TupleDesc	tupdesc = trigdata->tg_relation->rd_att;
	HeapTuple	old = trigdata->tg_trigtuple;

	if (trusted_depth > 0)
		return TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
			PointerGetDatum(trigdata->tg_newtuple) : PointerGetDatum(old);

	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_STOCK_WRITE_DENIED),
				 errmsg("oms.stock cannot be truncated"),
				 errdetail("Every unit of stock is accounted for in oms.stock_movement."),
				 errhint("Use DROP EXTENSION oms to remove oms with all its data.")));

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		HeapTuple	new = trigdata->tg_newtuple;

		if (int32_column(old, tupdesc, "on_hand") != int32_column(new, tupdesc, "on_hand") ||
			int32_column(old, tupdesc, "reserved") != int32_column(new, tupdesc, "reserved"))
			ereport(ERROR,
					(errcode(ERRCODE_OMS_STOCK_WRITE_DENIED),
					 errmsg("on_hand and reserved of oms.stock change only through oms functions"),
					 errdetail("Every change of on_hand is a row of the ledger oms.stock_movement."),
					 errhint("Use oms.receive_stock, oms.adjust_stock or oms.count_stock.")));
		return PointerGetDatum(new);
	}

	/* DELETE */
	if (int32_column(old, tupdesc, "on_hand") != 0 || int32_column(old, tupdesc, "reserved") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_STOCK_WRITE_DENIED),
				 errmsg("a stock row that holds units cannot be deleted"),
				 errdetail("The row has on_hand %d and reserved %d.",
						   int32_column(old, tupdesc, "on_hand"),
						   int32_column(old, tupdesc, "reserved")),
				 errhint("Bring on_hand to 0 with oms.adjust_stock first.")));
	return PointerGetDatum(old);
}

/*
 * Trigger on oms.stock_movement: refuses every UPDATE, DELETE and TRUNCATE.
 */
Datum
oms_ledger_guard(PG_FUNCTION_ARGS)
{
	(void) trigger_data(fcinfo);

	ereport(ERROR,
			(errcode(ERRCODE_OMS_LEDGER_APPEND_ONLY),
			 errmsg("oms.stock_movement is append-only"),
			 errdetail("Ledger rows are never changed or removed."),
			 errhint("Correct a mistake with a new movement, e.g. oms.adjust_stock.")));
	PG_RETURN_NULL();			/* not reached */
}
