/*-------------------------------------------------------------------------
 *
 * feed.c
 *	  The available-to-promise feed's recompute: oms.atp_recompute(skus,
 *	  at) computes the figures of the SKUs for every channel, writes those
 *	  that changed to oms.atp_level with the next number of oms.atp_seq,
 *	  writes a stock event for every change of level, and wakes LISTENers
 *	  of channel oms_atp.  oms.atp_flush() (src/sql/65_atp.sql) calls it for
 *	  the SKUs whose changes have committed.
 *
 *	  It computes what oms.atp_compute() computes in SQL, which stays the
 *	  definition: check_invariants() compares the two.  A flush recomputes
 *	  thousands of SKUs a second, so this reads the stock rows and the
 *	  published figures straight from their primary keys and writes the
 *	  figures that changed without a statement (src/insert.c); a figure
 *	  whose cursor number stays (a new level only) is a HOT update.  Stock
 *	  events are rare and go through SPI.
 *
 *	  One flush at a time: it takes the flush's advisory lock (held already
 *	  when oms.atp_flush() calls it) and refuses to wait for it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "oms.h"

PG_FUNCTION_INFO_V1(oms_atp_recompute);

/* Levels of a figure, as oms.atp_level.level spells them. */
typedef enum FeedLevel
{
	LEVEL_IN,
	LEVEL_LOW,
	LEVEL_OUT
} FeedLevel;

static const char *const level_names[] = {"in_stock", "low_stock", "out_of_stock"};

/* A location's own safety stock for a channel (-1: the channel's). */
typedef struct FeedChannelLocation
{
	int64		location_id;
	int32		safety_stock;
} FeedChannelLocation;

/* A channel, with what it says for every SKU. */
typedef struct FeedChannel
{
	int64		id;
	char	   *code;
	bool		active;
	int32		safety_stock;
	int32		buffer;
	int32		cap;			/* -1: none */
	int32		threshold;
	int			nlocations;		/* > 0: only these locations */
	FeedChannelLocation *locations; /* sorted by location_id */
	bool		moved;			/* a figure of this channel took a number */
} FeedChannel;

/* oms.atp_policy of one SKU and channel; -1: the channel's (or SKU's). */
typedef struct FeedPolicy
{
	int64		sku_id;
	int64		channel_id;
	int32		buffer;
	int32		cap;
	int32		threshold;
} FeedPolicy;

/* A SKU to recompute. */
typedef struct FeedSku
{
	int64		id;
	bool		known;			/* in oms.sku */
	bool		active;
	int32		threshold;		/* -1: each channel's */
} FeedSku;

/* What oms.atp_level has for one SKU and channel. */
typedef struct Published
{
	int64		channel_id;
	int32		available;
	int32		units;
	FeedLevel	level;
	int64		last_event_id;	/* 0: none */
	ItemPointerData tid;
	HeapTuple	tuple;			/* a copy, to write the next version from */
} Published;

/* Everything one recompute reads once. */
typedef struct Feed
{
	TimestampTz at;
	int			nchannels;
	FeedChannel *channels;
	int			nactive;
	int64	   *active_locations;	/* sorted */
	int			npolicies;
	FeedPolicy *policies;		/* sorted by sku_id, channel_id */
	Snapshot	snapshot;
	Relation	stock;
	Relation	stock_pkey;
	Relation	level;
	Relation	level_pkey;
	TupleTableSlot *stock_slot;
	TupleTableSlot *level_slot;
	TupleTableSlot *copy_slot;	/* a published figure, to write the next version from */
	AttrNumber	stock_att[7];
	AttrNumber	level_att[8];
	Oid			seq;			/* oms.atp_seq */
	Oid			event_seq;		/* oms.order_event_id_seq */
	OmsInsert	writer;			/* oms.atp_level */
} Feed;

/* The columns of oms.stock and oms.atp_level read here, found by name. */
static const char *const stock_columns[] = {
	"location_id", "on_hand", "reserved", "held", "escrow", "safety_stock", "sku_id"
};
enum
{
	ST_LOCATION, ST_ON_HAND, ST_RESERVED, ST_HELD, ST_ESCROW, ST_SAFETY, ST_SKU
};
static const char *const level_columns[] = {
	"channel_id", "available", "units", "level", "seq", "changed_at", "last_event_id", "sku_id"
};
enum
{
	LV_CHANNEL, LV_AVAILABLE, LV_UNITS, LV_LEVEL, LV_SEQ, LV_CHANGED_AT, LV_LAST_EVENT, LV_SKU
};

/* Compares int64 values, for qsort and bsearch. */
static int
compare_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* Compares policies by SKU and channel. */
static int
compare_policy(const void *a, const void *b)
{
	const FeedPolicy *x = a;
	const FeedPolicy *y = b;

	if (x->sku_id != y->sku_id)
		return x->sku_id < y->sku_id ? -1 : 1;
	return x->channel_id < y->channel_id ? -1 : x->channel_id > y->channel_id ? 1 : 0;
}

/* Column col (1-based) of row i of the last SPI result as int64, or dflt if NULL. */
static int64
spi_int(uint64 i, int col, int64 dflt)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, col, &isnull);

	if (isnull)
		return dflt;
	switch (SPI_gettypeid(SPI_tuptable->tupdesc, col))
	{
		case INT8OID:
			return DatumGetInt64(d);
		case BOOLOID:
			return DatumGetBool(d) ? 1 : 0;
		default:
			return DatumGetInt32(d);
	}
}

/*
 * Reads the channels, the locations they may use, the active locations and
 * the policies of the SKUs.
 */
static void
load_master_data(Feed *feed, Datum skus)
{
	Oid			argtype = INT8ARRAYOID;
	int			rc;

	rc = SPI_execute("SELECT c.id, c.active, c.safety_stock, c.atp_buffer, c.atp_cap, c.low_stock_threshold, c.code"
					 "  FROM oms.channel c ORDER BY c.id", true, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "reading channels");
	feed->nchannels = (int) SPI_processed;
	feed->channels = palloc0(sizeof(FeedChannel) * Max(feed->nchannels, 1));
	for (int c = 0; c < feed->nchannels; c++)
	{
		FeedChannel *ch = &feed->channels[c];

		ch->id = spi_int(c, 1, 0);
		ch->active = spi_int(c, 2, 0) != 0;
		ch->safety_stock = (int32) spi_int(c, 3, 0);
		ch->buffer = (int32) spi_int(c, 4, 0);
		ch->cap = (int32) spi_int(c, 5, -1);
		ch->threshold = (int32) spi_int(c, 6, 0);
		ch->code = SPI_getvalue(SPI_tuptable->vals[c], SPI_tuptable->tupdesc, 7);
	}

	rc = SPI_execute("SELECT channel_id, location_id, safety_stock FROM oms.channel_location"
					 " ORDER BY channel_id, location_id", true, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "reading channel locations");
	for (uint64 r = 0; r < SPI_processed;)
	{
		int64		channel_id = spi_int(r, 1, 0);
		uint64		end = r;
		FeedChannel *ch = NULL;

		while (end < SPI_processed && spi_int(end, 1, 0) == channel_id)
			end++;
		for (int c = 0; c < feed->nchannels; c++)
			if (feed->channels[c].id == channel_id)
				ch = &feed->channels[c];
		if (ch != NULL)
		{
			ch->nlocations = (int) (end - r);
			ch->locations = palloc(sizeof(FeedChannelLocation) * ch->nlocations);
			for (int l = 0; l < ch->nlocations; l++)
			{
				ch->locations[l].location_id = spi_int(r + l, 2, 0);
				ch->locations[l].safety_stock = (int32) spi_int(r + l, 3, -1);
			}
		}
		r = end;
	}

	rc = SPI_execute("SELECT id FROM oms.location WHERE active ORDER BY id", true, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "reading locations");
	feed->nactive = (int) SPI_processed;
	feed->active_locations = palloc(sizeof(int64) * Max(feed->nactive, 1));
	for (int l = 0; l < feed->nactive; l++)
		feed->active_locations[l] = spi_int(l, 1, 0);

	rc = SPI_execute_with_args("SELECT sku_id, channel_id, atp_buffer, atp_cap, low_stock_threshold"
							   "  FROM oms.atp_policy WHERE sku_id = ANY ($1)",
							   1, &argtype, &skus, NULL, true, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "reading available-to-promise policies");
	feed->npolicies = (int) SPI_processed;
	feed->policies = palloc(sizeof(FeedPolicy) * Max(feed->npolicies, 1));
	for (int p = 0; p < feed->npolicies; p++)
	{
		feed->policies[p].sku_id = spi_int(p, 1, 0);
		feed->policies[p].channel_id = spi_int(p, 2, 0);
		feed->policies[p].buffer = (int32) spi_int(p, 3, -1);
		feed->policies[p].cap = (int32) spi_int(p, 4, -1);
		feed->policies[p].threshold = (int32) spi_int(p, 5, -1);
	}
	qsort(feed->policies, feed->npolicies, sizeof(FeedPolicy), compare_policy);
}

/*
 * Reads the SKUs (active, threshold) into skus[], which are sorted by id;
 * an id that names no SKU stays unknown.
 */
static void
load_skus(FeedSku *skus, int n, Datum array)
{
	Oid			argtype = INT8ARRAYOID;
	int			rc;

	rc = SPI_execute_with_args("SELECT id, active, low_stock_threshold FROM oms.sku WHERE id = ANY ($1)",
							   1, &argtype, &array, NULL, true, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "reading SKUs");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		int64		id = spi_int(r, 1, 0);
		FeedSku    *sku = bsearch(&id, skus, n, sizeof(FeedSku), compare_int64);

		if (sku == NULL)
			continue;
		sku->known = true;
		sku->active = spi_int(r, 2, 0) != 0;
		sku->threshold = (int32) spi_int(r, 3, -1);
	}
}

/* Finds the attribute numbers of columns[] in rel. */
static void
find_columns(Relation rel, const char *const *columns, int n, AttrNumber *att)
{
	for (int c = 0; c < n; c++)
	{
		att[c] = SPI_fnumber(RelationGetDescr(rel), columns[c]);
		if (att[c] <= 0)
			elog(ERROR, "oms: oms.%s has no column \"%s\"", RelationGetRelationName(rel), columns[c]);
	}
}

/* Units of a stock row's slots reserved, for a row with escrow. */
static int64
slot_units(int64 sku_id, int64 location_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		values[2] = {Int64GetDatum(sku_id), Int64GetDatum(location_id)};
	int			rc;

	oms_prepare(&plan,
				"SELECT coalesce(sum(reserved), 0)::bigint FROM oms.stock_slot"
				" WHERE sku_id = $1 AND location_id = $2",
				2, argtypes);
	rc = SPI_execute_plan(plan, values, NULL, true, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "adding up a hot row's slots");
	return spi_int(0, 1, 0);
}

/* Units of a stock row held by holds that have not run out at `at`. */
static int64
held_units(int64 sku_id, int64 location_id, TimestampTz at)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, TIMESTAMPTZOID};
	Datum		values[3] = {Int64GetDatum(sku_id), Int64GetDatum(location_id), TimestampTzGetDatum(at)};
	int			rc;

	oms_prepare(&plan,
				"SELECT coalesce(sum(qty), 0)::bigint FROM oms.hold_line"
				" WHERE sku_id = $1 AND location_id = $2 AND expires_at > $3",
				3, argtypes);
	rc = SPI_execute_plan(plan, values, NULL, true, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "adding up holds");
	return spi_int(0, 1, 0);
}

/* The channel's own safety stock at a location it may use, or -2 if it may not. */
static int32
channel_safety(const FeedChannel *ch, int64 location_id)
{
	int			lo = 0,
				hi = ch->nlocations - 1;

	if (ch->nlocations == 0)
		return ch->safety_stock;
	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int64		id = ch->locations[mid].location_id;

		if (id == location_id)
			return ch->locations[mid].safety_stock >= 0 ? ch->locations[mid].safety_stock : ch->safety_stock;
		if (id < location_id)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -2;
}

/*
 * Adds up, per channel, the units the stock rows of sku_id give it: over
 * the active locations it may use, on_hand - reserved (slots too) - held
 * (unexpired) - safety stock - the channel's safety stock there, each never
 * below 0.
 */
static void
add_stock(Feed *feed, int64 sku_id, int64 *units)
{
	TupleTableSlot *slot = feed->stock_slot;
	IndexScanDesc scan;
	ScanKeyData key;
	AttrNumber *att = feed->stock_att;

#define STOCK_INT32(c) DatumGetInt32(slot->tts_values[att[c] - 1])

	memset(units, 0, sizeof(int64) * feed->nchannels);
	scan = index_beginscan(feed->stock, feed->stock_pkey, feed->snapshot, 1, 0);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(sku_id));
	index_rescan(scan, &key, 1, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		int64		location_id;
		int64		free;

		slot_getallattrs(slot);
		location_id = DatumGetInt64(slot->tts_values[att[ST_LOCATION] - 1]);
		if (!bsearch(&location_id, feed->active_locations, feed->nactive, sizeof(int64), compare_int64))
			continue;
		free = (int64) STOCK_INT32(ST_ON_HAND) - STOCK_INT32(ST_RESERVED) - STOCK_INT32(ST_SAFETY);
		if (STOCK_INT32(ST_ESCROW) > 0)
			free -= slot_units(sku_id, location_id);
		if (STOCK_INT32(ST_HELD) > 0)
			free -= held_units(sku_id, location_id, feed->at);
		for (int c = 0; c < feed->nchannels; c++)
		{
			int32		css = channel_safety(&feed->channels[c], location_id);

			if (css >= 0 && free > css)
				units[c] += free - css;
		}
	}
#undef STOCK_INT32
	index_endscan(scan);
}

/* Reads what oms.atp_level has for sku_id, one entry per channel at most. */
static int
read_published(Feed *feed, int64 sku_id, Published *rows)
{
	TupleTableSlot *slot = feed->level_slot;
	AttrNumber *att = feed->level_att;
	IndexScanDesc scan;
	ScanKeyData key;
	int			n = 0;

	scan = index_beginscan(feed->level, feed->level_pkey, feed->snapshot, 1, 0);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(sku_id));
	index_rescan(scan, &key, 1, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot) && n < feed->nchannels)
	{
		char	   *level;

		slot_getallattrs(slot);
		rows[n].channel_id = DatumGetInt64(slot->tts_values[att[LV_CHANNEL] - 1]);
		rows[n].available = DatumGetInt32(slot->tts_values[att[LV_AVAILABLE] - 1]);
		rows[n].units = DatumGetInt32(slot->tts_values[att[LV_UNITS] - 1]);
		level = TextDatumGetCString(slot->tts_values[att[LV_LEVEL] - 1]);
		rows[n].level = strcmp(level, "out_of_stock") == 0 ? LEVEL_OUT :
			strcmp(level, "low_stock") == 0 ? LEVEL_LOW : LEVEL_IN;
		rows[n].last_event_id = slot->tts_isnull[att[LV_LAST_EVENT] - 1] ? 0 :
			DatumGetInt64(slot->tts_values[att[LV_LAST_EVENT] - 1]);
		rows[n].tid = slot->tts_tid;
		rows[n].tuple = ExecCopySlotHeapTuple(slot);
		n++;
	}
	index_endscan(scan);
	return n;
}

/*
 * Writes a stock event of sku_id on channel ch, chained to the one before,
 * to the history and the outbox; returns its id.
 */
static int64
write_event(Feed *feed, int64 sku_id, FeedChannel *ch, const char *kind, const Published *old,
			int32 units, int32 available, int32 threshold, FeedLevel level)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[12] = {INT8OID, INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, INT4OID, INT4OID,
								INT4OID, INT4OID, INT8OID, TIMESTAMPTZOID};
	Datum		values[12];
	char		nulls[12];
	int64		id = DatumGetInt64(DirectFunctionCall1(nextval_oid, ObjectIdGetDatum(feed->event_seq)));
	int			rc;

	oms_prepare(&plan,
				"WITH e AS (INSERT INTO oms.stock_event (sku_id, id, channel_id, kind, from_level, to_level,"
				"                                         previous, units, available, threshold, previous_id,"
				"                                         at, created_by)"
				"           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, session_user)"
				"           RETURNING id, sku_id, kind)"
				" INSERT INTO oms.outbox (event_id, order_id, entity, entity_id, status)"
				" SELECT e.id, 0, 'stock', e.sku_id, e.kind FROM e",
				12, argtypes);
	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(sku_id);
	values[1] = Int64GetDatum(id);
	values[2] = Int64GetDatum(ch->id);
	values[3] = CStringGetTextDatum(kind);
	values[4] = CStringGetTextDatum(level_names[old->level]);
	values[5] = CStringGetTextDatum(level_names[level]);
	values[6] = Int32GetDatum(old->units);
	values[7] = Int32GetDatum(units);
	values[8] = Int32GetDatum(available);
	values[9] = Int32GetDatum(threshold);
	values[10] = Int64GetDatum(old->last_event_id);
	nulls[10] = old->last_event_id != 0 ? ' ' : 'n';
	values[11] = TimestampTzGetDatum(feed->at);
	rc = SPI_execute_plan(plan, values, nulls, false, 0);
	oms_check_spi(rc, SPI_OK_INSERT, "writing a stock event");
	return id;
}

/*
 * Recomputes one SKU for every channel and writes what changed; returns the
 * number of figures written.
 */
static int
recompute_sku(Feed *feed, const FeedSku *sku, int64 *units, Published *published)
{
	int			npublished;
	int			written = 0;
	OmsInsert  *w = &feed->writer;
	TupleTableSlot *old_slot = feed->copy_slot;

	if (!sku->known)
		return 0;				/* deleted meanwhile: nothing to show */
	add_stock(feed, sku->id, units);
	npublished = read_published(feed, sku->id, published);

	for (int c = 0; c < feed->nchannels; c++)
	{
		FeedChannel *ch = &feed->channels[c];
		FeedPolicy	key = {sku->id, ch->id, 0, 0, 0};
		FeedPolicy *p = bsearch(&key, feed->policies, feed->npolicies, sizeof(FeedPolicy), compare_policy);
		int32		buffer = (p && p->buffer >= 0) ? p->buffer : ch->buffer;
		int32		cap = (p && p->cap >= 0) ? p->cap : ch->cap;
		int32		threshold = (p && p->threshold >= 0) ? p->threshold :
			sku->threshold >= 0 ? sku->threshold : ch->threshold;
		int64		u = sku->active ? Min(Max(units[c] - buffer, 0), PG_INT32_MAX) : 0;
		int32		available = !ch->active ? 0 : (cap >= 0 && cap < u) ? cap : (int32) u;
		FeedLevel	level = u <= 0 ? LEVEL_OUT : u <= threshold ? LEVEL_LOW : LEVEL_IN;
		Published  *old = NULL;
		const char *kind = NULL;
		int64		event_id = 0;

		for (int i = 0; i < npublished; i++)
			if (published[i].channel_id == ch->id)
				old = &published[i];

		if (old == NULL)
		{
			/* A first figure: a number, and no event. */
			oms_insert_set(w, "sku_id", Int64GetDatum(sku->id));
			oms_insert_set(w, "channel_id", Int64GetDatum(ch->id));
			oms_insert_set(w, "available", Int32GetDatum(available));
			oms_insert_set(w, "units", Int32GetDatum((int32) u));
			oms_insert_set(w, "level", CStringGetTextDatum(level_names[level]));
			oms_insert_set(w, "seq", DirectFunctionCall1(nextval_oid, ObjectIdGetDatum(feed->seq)));
			oms_insert_set(w, "changed_at", TimestampTzGetDatum(feed->at));
			oms_insert_row(w);
			ch->moved = true;
			written++;
			continue;
		}
		if (old->available == available && old->units == u && old->level == level)
			continue;

		if (level != old->level)
			kind = level == LEVEL_OUT ? "out_of_stock" :
				old->level == LEVEL_OUT ? "back_in_stock" :
				level == LEVEL_LOW ? "low_stock" : NULL;
		if (kind != NULL)
			event_id = write_event(feed, sku->id, ch, kind, old, (int32) u, available, threshold, level);

		ExecStoreHeapTuple(old->tuple, old_slot, false);
		oms_insert_copy(w, old_slot);
		oms_insert_set(w, "available", Int32GetDatum(available));
		oms_insert_set(w, "units", Int32GetDatum((int32) u));
		oms_insert_set(w, "level", CStringGetTextDatum(level_names[level]));
		oms_insert_set(w, "changed_at", TimestampTzGetDatum(feed->at));
		if (available != old->available)
		{
			oms_insert_set(w, "seq", DirectFunctionCall1(nextval_oid, ObjectIdGetDatum(feed->seq)));
			ch->moved = true;
		}
		if (event_id != 0)
			oms_insert_set(w, "last_event_id", Int64GetDatum(event_id));
		if (oms_insert_replace(w, &old->tid) != TM_Ok)
			elog(ERROR, "oms: a published figure changed during a flush");
		ExecClearTuple(old_slot);
		written++;
	}
	for (int i = 0; i < npublished; i++)
		heap_freetuple(published[i].tuple);
	return written;
}

/* Takes the flush's advisory lock, or errors: another flush is at work. */
static void
lock_flush(void)
{
	Datum		key = DirectFunctionCall1Coll(hashtext, DEFAULT_COLLATION_OID,
											  CStringGetTextDatum("oms.atp_flush"));

	if (!DatumGetBool(DirectFunctionCall1(pg_try_advisory_xact_lock_int8,
										  Int64GetDatum((int64) DatumGetInt32(key)))))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_FLUSH_BUSY),
				 errmsg("another session is flushing the available-to-promise feed"),
				 errhint("oms.atp_flush() returns 0 at once in that case; call it again later.")));
}

/*
 * oms.atp_recompute(skus, at): recomputes the figures of the SKUs for every
 * channel, counting holds that have not run out at `at`; returns how many
 * figures it wrote.
 */
Datum
oms_atp_recompute(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	Feed		feed;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	FeedSku    *skus;
	int			nskus = 0;
	int64	   *units;
	Published  *published;
	int			written = 0;
	MemoryContext per_sku;
	MemoryContext old;

	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_OMS_FLUSH_ISOLATION),
				 errmsg("the available-to-promise feed is flushed under READ COMMITTED only"),
				 errdetail("A flush must see the changes and flushes that committed before it."),
				 errhint("Call it in a transaction of its own; the background worker flushes by itself.")));
	/*
	 * The recompute reads oms.stock and oms.atp_level directly; where Citus
	 * holds stock, the feed does not run yet (README, "Scaling out with
	 * Citus"): refused, and quietly skipped by the background worker.
	 */
	if (AmBackgroundWorkerProcess() && oms_citus_named("stock"))
		PG_RETURN_INT32(0);
	oms_citus_refuse("stock", "the available-to-promise feed (oms.atp_flush, oms.atp_changes)");
	lock_flush();

	memset(&feed, 0, sizeof(feed));
	feed.at = PG_GETARG_TIMESTAMPTZ(1);
	deconstruct_array(array, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &nelems);
	skus = palloc0(sizeof(FeedSku) * Max(nelems, 1));
	for (int i = 0; i < nelems; i++)
		if (!nulls[i])
			skus[nskus++].id = DatumGetInt64(elems[i]);
	qsort(skus, nskus, sizeof(FeedSku), compare_int64);
	{
		int			j = 0;

		for (int i = 0; i < nskus; i++)
			if (j == 0 || skus[j - 1].id != skus[i].id)
				skus[j++] = skus[i];
		nskus = j;
	}

	oms_spi_connect();
	load_master_data(&feed, PointerGetDatum(array));
	load_skus(skus, nskus, PointerGetDatum(array));
	feed.seq = oms_relid("atp_seq");
	feed.event_seq = oms_relid("order_event_id_seq");

	/* A snapshot of this moment: every change committed before the call. */
	CommandCounterIncrement();
	feed.snapshot = RegisterSnapshot(GetTransactionSnapshot());
	feed.stock = table_open(oms_relid("stock"), AccessShareLock);
	feed.stock_pkey = index_open(oms_relid("stock_pkey"), AccessShareLock);
	feed.level = table_open(oms_relid("atp_level"), RowExclusiveLock);
	feed.level_pkey = index_open(oms_relid("atp_level_pkey"), AccessShareLock);
	feed.stock_slot = table_slot_create(feed.stock, NULL);
	feed.level_slot = table_slot_create(feed.level, NULL);
	feed.copy_slot = MakeSingleTupleTableSlot(RelationGetDescr(feed.level), &TTSOpsHeapTuple);
	find_columns(feed.stock, stock_columns, lengthof(stock_columns), feed.stock_att);
	find_columns(feed.level, level_columns, lengthof(level_columns), feed.level_att);
	oms_insert_open(&feed.writer, "atp_level", false);

	units = palloc(sizeof(int64) * Max(feed.nchannels, 1));
	published = palloc(sizeof(Published) * Max(feed.nchannels, 1));
	per_sku = AllocSetContextCreate(CurrentMemoryContext, "oms atp recompute", ALLOCSET_DEFAULT_SIZES);
	for (int i = 0; i < nskus; i++)
	{
		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(per_sku);
		written += recompute_sku(&feed, &skus[i], units, published);
		MemoryContextSwitchTo(old);
		MemoryContextReset(per_sku);
	}

	oms_insert_close(&feed.writer);
	ExecDropSingleTupleTableSlot(feed.stock_slot);
	ExecDropSingleTupleTableSlot(feed.level_slot);
	ExecDropSingleTupleTableSlot(feed.copy_slot);
	index_close(feed.level_pkey, NoLock);
	table_close(feed.level, NoLock);
	index_close(feed.stock_pkey, NoLock);
	table_close(feed.stock, NoLock);
	UnregisterSnapshot(feed.snapshot);

	/* Wake the connectors of the channels whose figures moved. */
	for (int c = 0; c < feed.nchannels; c++)
		if (feed.channels[c].moved)
			Async_Notify("oms_atp", feed.channels[c].code);
	oms_spi_finish();
	PG_RETURN_INT32(written);
}
