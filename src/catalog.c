/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Master-data lookups by business code, and the small SPI helpers every
 *	  oms module shares (kept plans, checked return codes, argument checks).
 *
 *	  Callers are connected to SPI.  Every query names its tables with the
 *	  schema, and plans are prepared once per backend and kept; PostgreSQL's
 *	  plan cache revalidates them after DDL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "oms.h"

/*
 * Returns the kept plan in *cache, preparing it on first use.  oms's
 * statements look rows up by key, so one generic plan serves every call: the
 * plan cache would otherwise plan afresh each time for array parameters,
 * whose custom plans it estimates cheaper.
 */
SPIPlanPtr
oms_prepare(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes)
{
	if (*cache == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);

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
 * Raises an internal error unless an SPI call returned what was expected.
 */
void
oms_check_spi(int rc, int expected, const char *what)
{
	if (rc != expected)
		elog(ERROR, "oms: %s failed: %s", what, SPI_result_code_string(rc));
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

/* The master-data tables looked up by code, indexed by OmsMaster. */
typedef struct MasterTable
{
	const char *noun;
	const char *table;
	int			errcode;
	SPIPlanPtr	plan;			/* one code */
	SPIPlanPtr	many_plan;		/* an array of codes */
} MasterTable;

static MasterTable masters[] = {
	[OMS_SKU] = {"sku", "oms.sku", ERRCODE_OMS_UNKNOWN_SKU},
	[OMS_LOCATION] = {"location", "oms.location", ERRCODE_OMS_UNKNOWN_LOCATION},
	[OMS_CHANNEL] = {"channel", "oms.channel", ERRCODE_OMS_UNKNOWN_CHANNEL},
};

/* Raises the error for an unknown code. */
static void
unknown_code(MasterTable *m, const char *code)
{
	ereport(ERROR,
			(errcode(m->errcode),
			 errmsg("unknown %s \"%s\"", m->noun, code),
			 errhint("Check the code against %s.", m->table)));
}

/*
 * Finds n SKUs, locations or channels by their codes in one query, into
 * refs[]; an unknown code is an error.
 */
void
oms_lookup_many(OmsMaster kind, char **codes, int n, OmsRef *refs)
{
	MasterTable *m = &masters[kind];
	Datum	   *elems = palloc(sizeof(Datum) * n);
	Datum		values[1];
	int			rc;

	if (m->many_plan == NULL)
	{
		char	   *sql = psprintf("SELECT t.id, t.active FROM unnest($1) WITH ORDINALITY AS u(code, n)"
								   " LEFT JOIN %s t ON t.code = u.code ORDER BY u.n", m->table);
		Oid			argtypes[1] = {TEXTARRAYOID};

		oms_prepare(&m->many_plan, sql, 1, argtypes);
		pfree(sql);
	}
	for (int i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(codes[i]);
	values[0] = PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
	rc = SPI_execute_plan(m->many_plan, values, NULL, true, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "master-data lookup");

	for (int i = 0; i < n; i++)
	{
		bool		isnull;
		Datum		id = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

		if (isnull)
			unknown_code(m, codes[i]);
		refs[i].id = DatumGetInt64(id);
		refs[i].active = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		refs[i].code = codes[i];
	}
}

/*
 * Finds a channel or location, from the cache.
 */
static OmsRef
lookup_cached(OmsMaster kind, char *code)
{
	OmsRef		ref;
	OmsChannel	channel;
	OmsLocation location;

	ref.code = code;
	if (kind == OMS_CHANNEL)
	{
		if (!oms_find_channel(code, &channel))
			unknown_code(&masters[kind], code);
		ref.id = channel.id;
		ref.active = channel.active;
	}
	else
	{
		ref.id = oms_find_location_id(code);
		if (ref.id == 0 || !oms_find_location(ref.id, &location))
			unknown_code(&masters[kind], code);
		ref.active = location.active;
	}
	return ref;
}

/*
 * Finds a SKU, location or channel by its code; an unknown code is an error.
 */
OmsRef
oms_lookup(OmsMaster kind, text *code)
{
	MasterTable *m = &masters[kind];
	Datum		values[1] = {PointerGetDatum(code)};
	OmsRef		ref;
	bool		isnull;
	int			rc;

	if (kind != OMS_SKU)
		return lookup_cached(kind, text_to_cstring(code));

	if (m->plan == NULL)
	{
		char	   *sql = psprintf("SELECT id, active FROM %s WHERE code = $1", m->table);
		Oid			argtypes[1] = {TEXTOID};

		oms_prepare(&m->plan, sql, 1, argtypes);
		pfree(sql);
	}

	rc = SPI_execute_plan(m->plan, values, NULL, true, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "master-data lookup");
	if (SPI_processed == 0)
		unknown_code(m, text_to_cstring(code));

	ref.id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										 SPI_tuptable->tupdesc, 1, &isnull));
	ref.active = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
											SPI_tuptable->tupdesc, 2, &isnull));
	ref.code = text_to_cstring(code);
	return ref;
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
