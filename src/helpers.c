/*-------------------------------------------------------------------------
 *
 * helpers.c
 *	  The small helpers every oms module shares: kept SPI plans, checked SPI
 *	  return codes, checked function arguments, oms's relations by name,
 *	  the TriggerData of a trigger call, running a step in a subtransaction
 *	  of its own, and numeric arithmetic for the C that computes money.
 *
 *	  Callers of the SPI helpers are connected to SPI.  Every query names its
 *	  tables with the schema, and plans are prepared once per backend and
 *	  kept; PostgreSQL's plan cache revalidates them after DDL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/resowner.h"

#include "oms.h"

/*
 * Returns the kept plan in *cache, preparing it on first use with
 * cursor_options (CURSOR_OPT_GENERIC_PLAN or CURSOR_OPT_CUSTOM_PLAN).
 */
SPIPlanPtr
oms_prepare_planned(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes, int cursor_options)
{
	if (*cache == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, cursor_options);

		if (plan == NULL)
			elog(ERROR, "oms: SPI_prepare failed for \"%s\": %s",
				 sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "oms: SPI_keepplan failed");
		*cache = plan;
	}
	return *cache;
}

/*
 * Returns the kept plan in *cache, preparing it on first use.  oms's
 * statements look rows up by key, so one generic plan serves every call: the
 * plan cache would otherwise plan afresh each time for array parameters,
 * whose custom plans it estimates cheaper.  Not on Citus, see below.
 */
SPIPlanPtr
oms_prepare(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes)
{
	/*
	 * Citus cannot run a generic plan of a statement that reads a distributed
	 * table by anything but its distribution key ("could not create
	 * distributed plan"): there every statement is planned with its values.
	 */
	if (*cache == NULL && oms_citus_active())
		return oms_prepare_planned(cache, sql, nargs, argtypes, CURSOR_OPT_CUSTOM_PLAN);
	return oms_prepare_planned(cache, sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);
}

/*
 * Connects to SPI.  Everything palloc'd from here to oms_spi_finish() lives
 * in SPI's memory and is freed by it: a result the caller returns or uses
 * afterwards must be copied out (SPI_datumTransfer, or a by-value local)
 * before.
 */
void
oms_spi_connect(void)
{
	int			rc = SPI_connect();

	if (rc != SPI_OK_CONNECT)
		elog(ERROR, "oms: SPI_connect failed: %s", SPI_result_code_string(rc));
}

/*
 * Disconnects from SPI, freeing what was allocated since oms_spi_connect().
 */
void
oms_spi_finish(void)
{
	int			rc = SPI_finish();

	if (rc != SPI_OK_FINISH)
		elog(ERROR, "oms: SPI_finish failed: %s", SPI_result_code_string(rc));
}

/*
 * Raises an internal error unless an SPI call returned what was expected.
 */
void
oms_check_spi(int rc, int expected, const char *what)
{
	if (rc != expected)
		elog(ERROR, "oms: %s failed: %s", what, SPI_result_code_string(rc));
}

/*
 * Copies the bigint column col (1-based, never NULL) of the rows the last
 * SPI query returned, so that other queries may run while they are used;
 * sets *n to their number.
 */
int64 *
oms_spi_int64s(int col, uint64 *n)
{
	int64	   *values = palloc(sizeof(int64) * Max(SPI_processed, 1));
	bool		isnull;

	*n = SPI_processed;
	for (uint64 i = 0; i < SPI_processed; i++)
		values[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, col, &isnull));
	return values;
}

/*
 * Returns text argument argno, which must not be NULL.
 */
text *
oms_arg_text(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", argname)));
	return PG_GETARG_TEXT_PP(argno);
}

/*
 * Returns optional text argument argno, or NULL.
 */
text *
oms_arg_optional_text(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : PG_GETARG_TEXT_PP(argno);
}

/*
 * Returns optional jsonb argument argno, or NULL.
 */
Jsonb *
oms_arg_optional_jsonb(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : PG_GETARG_JSONB_P(argno);
}

/*
 * Returns bigint argument argno, which must not be NULL.
 */
int64
oms_arg_int64(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", argname)));
	return PG_GETARG_INT64(argno);
}

/*
 * Returns integer argument argno, which must not be NULL.
 */
int32
oms_arg_int32(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", argname)));
	return PG_GETARG_INT32(argno);
}

/*
 * Returns the OID of oms's table or index name.  Callers that read one
 * directly close it with NoLock: the lock they took stays until the
 * transaction ends, as a query's would.
 */
Oid
oms_relid(const char *name)
{
	Oid			relid = get_relname_relid(name, get_namespace_oid("oms", false));

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation oms.%s does not exist", name),
				 errhint("Reinstall the oms extension.")));
	return relid;
}

/*
 * Returns the TriggerData of a call of trigger function name, refusing a
 * call that is not a trigger's.
 */
TriggerData *
oms_trigger_data(FunctionCallInfo fcinfo, const char *name)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() can only be called as a trigger", name)));
	return (TriggerData *) fcinfo->context;
}

/*
 * Runs fn(arg) in a subtransaction that is kept when fn returns true and
 * rolled back, with every lock it took, when fn returns false or fails.  A
 * failure is rethrown once our subtransaction is gone: a caller's exception
 * block must not roll back ours instead of its own.
 */
bool
oms_in_subtransaction(bool (*fn) (void *arg), void *arg)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	volatile bool keep = false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		keep = fn(arg);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
		ReThrowError(edata);
	}
	PG_END_TRY();

	if (keep)
		ReleaseCurrentSubTransaction();
	else
		RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(oldcontext);
	CurrentResourceOwner = oldowner;
	return keep;
}

/*
 * Numeric arithmetic and text, by the SQL functions, for the C that
 * computes with money.
 */
Numeric
oms_num_add(Numeric a, Numeric b)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_add, NumericGetDatum(a), NumericGetDatum(b)));
}

Numeric
oms_num_sub(Numeric a, Numeric b)
{
	return DatumGetNumeric(DirectFunctionCall2(numeric_sub, NumericGetDatum(a), NumericGetDatum(b)));
}

int
oms_num_cmp(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(a), NumericGetDatum(b)));
}

Numeric
oms_num_int(int64 i)
{
	return DatumGetNumeric(DirectFunctionCall1(int8_numeric, Int64GetDatum(i)));
}

char *
oms_num_text(Numeric n)
{
	return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n)));
}
