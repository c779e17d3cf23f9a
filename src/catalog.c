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

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

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
} MasterTable;

static const MasterTable masters[] = {
	[OMS_SKU] = {"sku", "oms.sku", ERRCODE_OMS_UNKNOWN_SKU},
	[OMS_LOCATION] = {"location", "oms.location", ERRCODE_OMS_UNKNOWN_LOCATION},
	[OMS_CHANNEL] = {"channel", "oms.channel", ERRCODE_OMS_UNKNOWN_CHANNEL},
};

/* Raises the error for an unknown code. */
static void
unknown_code(const MasterTable *m, const char *code)
{
	ereport(ERROR,
			(errcode(m->errcode),
			 errmsg("unknown %s \"%s\"", m->noun, code),
			 errhint("Check the code against %s.", m->table)));
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
 * Finds n SKUs by their codes into refs[]; an unknown code is an error.
 * Every order looks its SKUs up, so this reads oms.sku's unique index on
 * code directly, with the calling statement's snapshot, rather than run a
 * query.
 */
void
oms_lookup_skus(char **codes, int n, OmsRef *refs)
{
	Relation	rel = table_open(oms_relid("sku"), AccessShareLock);
	Relation	idx = index_open(oms_relid("sku_code_key"), AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	int			id_att = SPI_fnumber(desc, "id");
	int			active_att = SPI_fnumber(desc, "active");
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	IndexScanDesc scan = index_beginscan(rel, idx, GetActiveSnapshot(), 1, 0);

	if (id_att <= 0 || active_att <= 0)
		elog(ERROR, "oms: oms.sku lacks its id or active column");
	for (int i = 0; i < n; i++)
	{
		ScanKeyData key;

		ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid,
							   idx->rd_indcollation[0], F_TEXTEQ, CStringGetTextDatum(codes[i]));
		index_rescan(scan, &key, 1, NULL, 0);
		if (!index_getnext_slot(scan, ForwardScanDirection, slot))
			unknown_code(&masters[OMS_SKU], codes[i]);
		slot_getsomeattrs(slot, Max(id_att, active_att));
		refs[i].id = DatumGetInt64(slot->tts_values[id_att - 1]);
		refs[i].active = DatumGetBool(slot->tts_values[active_att - 1]);
		refs[i].code = codes[i];
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(idx, NoLock);
	table_close(rel, NoLock);
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
	char	   *cstring = text_to_cstring(code);
	OmsRef		ref;

	if (kind != OMS_SKU)
		return lookup_cached(kind, cstring);
	oms_lookup_skus(&cstring, 1, &ref);
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
