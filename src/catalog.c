/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Master-data lookups by business code: SKUs from oms.sku's index,
 *	  channels and locations from the cache (cache.c); the channel and SKUs
 *	  of an order or hold, which must be active.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "oms.h"

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
 * Finds n SKUs by their codes with a query, for an oms.sku that Citus
 * holds (a reference table: its rows are in its shards only).
 */
static void
lookup_skus_sql(char **codes, int n, OmsRef *refs)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[1] = {TEXTOID};

	oms_prepare(&plan, "SELECT id, active FROM oms.sku WHERE code = $1", 1, argtypes);
	for (int i = 0; i < n; i++)
	{
		Datum		value = CStringGetTextDatum(codes[i]);
		bool		isnull;
		int			rc = SPI_execute_plan(plan, &value, NULL, false, 1);

		oms_check_spi(rc, SPI_OK_SELECT, "looking up a SKU");
		if (SPI_processed == 0)
			unknown_code(&masters[OMS_SKU], codes[i]);
		refs[i].id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		refs[i].active = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
		refs[i].code = codes[i];
	}
}

/*
 * Finds n SKUs by their codes into refs[]; an unknown code is an error.
 * Every order looks its SKUs up, so this reads oms.sku's unique index on
 * code directly, with the calling statement's snapshot, rather than run a
 * query (a query when Citus holds oms.sku).
 */
void
oms_lookup_skus(char **codes, int n, OmsRef *refs)
{
	Relation	rel;
	Relation	idx;
	TupleDesc	desc;
	int			id_att;
	int			active_att;
	TupleTableSlot *slot;
	IndexScanDesc scan;

	if (oms_citus_named("sku"))
	{
		lookup_skus_sql(codes, n, refs);
		return;
	}
	rel = table_open(oms_relid("sku"), AccessShareLock);
	idx = index_open(oms_relid("sku_code_key"), AccessShareLock);
	desc = RelationGetDescr(rel);
	id_att = SPI_fnumber(desc, "id");
	active_att = SPI_fnumber(desc, "active");
	slot = table_slot_create(rel, NULL);
	scan = index_beginscan(rel, idx, GetActiveSnapshot(), 1, 0);

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
 * Looks up the SKUs of req's lines; each must exist and be active.
 */
void
oms_resolve_skus(OrderRequest *req)
{
	char	  **codes = palloc(sizeof(char *) * req->nlines);
	OmsRef	   *skus = palloc(sizeof(OmsRef) * req->nlines);

	for (int i = 0; i < req->nlines; i++)
		codes[i] = req->lines[i].sku;
	oms_lookup_skus(codes, req->nlines, skus);
	for (int i = 0; i < req->nlines; i++)
	{
		if (!skus[i].active)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INACTIVE_SKU),
					 errmsg("sku \"%s\" is not active", skus[i].code),
					 errhint("An inactive SKU can be stocked but not sold.")));
		req->lines[i].sku_id = skus[i].id;
	}
}

/*
 * Looks up a channel that may place orders.
 */
OmsChannel
oms_active_channel(text *code)
{
	OmsChannel	channel;

	if (!oms_find_channel(text_to_cstring(code), &channel))
		(void) oms_lookup(OMS_CHANNEL, code);	/* raises the error */
	if (!channel.active)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INACTIVE_CHANNEL),
				 errmsg("channel \"%s\" is not active", channel.code)));
	return channel;
}
