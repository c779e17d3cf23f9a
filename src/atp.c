/*-------------------------------------------------------------------------
 *
 * atp.c
 *	  What the order path writes for the available-to-promise feed: every
 *	  oms function that changes the units a channel may be promised (takes
 *	  and returns of stock, ledger movements, safety stock) calls
 *	  oms_atp_touch() with the SKU, which appends one row to
 *	  oms.atp_signal per SKU and transaction.  Everything else, the figures,
 *	  the feed and the stock events, happens outside the order's
 *	  transaction, in oms.atp_flush() (src/sql/65_atp.sql).
 *
 *	  The row goes straight into the heap.  The table is unlogged, has no
 *	  index and no trigger, and no one updates its rows: writing one takes
 *	  no lock another order could wait for, and writes no WAL.  (On Citus the
 *	  table stays a local table of the node that runs the order.)
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "oms.h"

/* Settings (README, "Settings"). */
bool		oms_atp_feed = true;

/* SKUs this transaction has signalled, as far as it keeps count. */
#define OMS_ATP_TOUCHED_MAX 64

static int64 touched[OMS_ATP_TOUCHED_MAX];
static int	ntouched = 0;

/*
 * Forgets the SKUs signalled when a transaction ends, and when a
 * subtransaction is rolled back (its signals with it).
 */
static void
atp_xact_callback(XactEvent event, void *arg)
{
	ntouched = 0;
}

static void
atp_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					 SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		ntouched = 0;
}

/*
 * Registers the callbacks; called from _PG_init.
 */
void
oms_atp_init(void)
{
	RegisterXactCallback(atp_xact_callback, NULL);
	RegisterSubXactCallback(atp_subxact_callback, NULL);
}

/* Whether this transaction has signalled sku_id, as far as it keeps count. */
static bool
touched_already(int64 sku_id)
{
	for (int i = 0; i < ntouched; i++)
		if (touched[i] == sku_id)
			return true;
	return false;
}

/*
 * Appends a row to oms.atp_signal for each of the n SKUs this transaction
 * has not signalled yet.  Before ALTER EXTENSION oms UPDATE has created the
 * table, there is nothing to signal to.
 */
static void
append_signals(const int64 *skus, int n)
{
	Oid			relid = get_relname_relid("atp_signal", get_namespace_oid("oms", false));
	Relation	rel;
	TupleDesc	desc;
	Datum	   *values;
	bool	   *nulls;
	int			sku_att;
	int			at_att;

	if (!OidIsValid(relid))
		return;
	rel = table_open(relid, RowExclusiveLock);
	desc = RelationGetDescr(rel);
	if (rel->rd_rel->relhasindex || rel->trigdesc != NULL)
		elog(ERROR, "oms: oms.atp_signal has an index or a trigger, which oms writes around");
	sku_att = SPI_fnumber(desc, "sku_id");
	at_att = SPI_fnumber(desc, "signalled_at");
	if (sku_att <= 0 || at_att <= 0)
		elog(ERROR, "oms: oms.atp_signal lacks its sku_id or signalled_at column");

	values = palloc0(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	memset(nulls, true, sizeof(bool) * desc->natts);
	nulls[sku_att - 1] = false;
	values[at_att - 1] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	nulls[at_att - 1] = false;

	for (int i = 0; i < n; i++)
	{
		HeapTuple	tuple;

		if (touched_already(skus[i]))
			continue;
		values[sku_att - 1] = Int64GetDatum(skus[i]);
		tuple = heap_form_tuple(desc, values, nulls);
		simple_heap_insert(rel, tuple);
		heap_freetuple(tuple);
		if (ntouched < OMS_ATP_TOUCHED_MAX)
			touched[ntouched++] = skus[i];
	}
	pfree(values);
	pfree(nulls);
	table_close(rel, NoLock);
}

/*
 * Signals that the available-to-promise figures of sku_id may have changed
 * in this transaction, once per SKU and transaction, unless oms.atp_feed is
 * off.
 */
void
oms_atp_touch(int64 sku_id)
{
	if (oms_atp_feed && !touched_already(sku_id))
		append_signals(&sku_id, 1);
}

/*
 * Signals n SKUs at once (a bulk change of stock), as oms_atp_touch() does
 * each.
 */
void
oms_atp_touch_many(const int64 *skus, int n)
{
	if (oms_atp_feed && n > 0)
		append_signals(skus, n);
}
