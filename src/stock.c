/*-------------------------------------------------------------------------
 *
 * stock.c
 *	  Taking units of one stock row for an order or a hold, and giving them
 *	  back: the atomic step under every reservation.
 *
 *	  A stock row's free units are on_hand - reserved - held - escrow -
 *	  safety_stock; a channel's safety stock at the location is kept back on
 *	  top.  Three paths take units, cheapest first:
 *
 *	  1. slot: a hot row (stock.slots > 0) has handed its free units to
 *	     oms.stock_slot rows as quotas (their sum is stock.escrow).  A
 *	     reservation takes from a slot with room that no other session has
 *	     locked, without touching the stock row at all; it never waits for
 *	     a slot, but looks again for a few milliseconds while all are busy.
 *	  2. row: one conditional UPDATE of the stock row.
 *	  3. settle: lock the stock row, clean up expired holds on it, take
 *	     unused quota back from the slots, then decide.  This path sees
 *	     every unit, so it fails only when the units really are not there.
 *
 *	  A row becomes hot by itself when a session waited longer than
 *	  oms.hot_stock_wait for its lock; it then spreads its free units over
 *	  oms.hot_stock_slots slots.  Only a session that holds the stock row
 *	  waits for its slots, taking them in slot order, and callers take rows
 *	  in (sku_id, location_id) order, so sessions never wait for each other
 *	  in a cycle.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "oms.h"

/* How long a buyer looks for a free slot before it settles the row. */
#define OMS_SLOT_PATIENCE_US 20000

/* Free units per slot below which a row is not spread by itself. */
#define OMS_MIN_UNITS_PER_SLOT 8

/* Settings (oms.c defines them): when and how far a hot row spreads. */
int			oms_hot_stock_wait = 5;
int			oms_hot_stock_slots = 64;

/* Statements, prepared once per backend. */
static SPIPlanPtr lock_plan = NULL;
static SPIPlanPtr insert_plan = NULL;
static SPIPlanPtr write_plan = NULL;
static SPIPlanPtr expire_plan = NULL;
static SPIPlanPtr reclaim_plan = NULL;
static SPIPlanPtr lock_slots_plan = NULL;
static SPIPlanPtr add_slots_plan = NULL;
static SPIPlanPtr quota_plan = NULL;
static SPIPlanPtr return_row_plan = NULL;
static SPIPlanPtr return_held_plan = NULL;
static SPIPlanPtr return_slot_plan = NULL;

/* Returns int4 column col of row i of the last SPI result. */
static inline int32
result_int32(uint64 i, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt32(d);
}

/*
 * Locks the stock row of sku_id at location_id and reads it into *row.
 * A missing row is created when create is true; otherwise returns false.
 */
bool
oms_lock_stock(int64 sku_id, int64 location_id, bool create, StockRow *row)
{
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		values[2] = {Int64GetDatum(sku_id), Int64GetDatum(location_id)};
	int			rc;

	oms_prepare(&lock_plan,
				"SELECT on_hand, reserved, held, escrow, safety_stock, slots FROM oms.stock"
				" WHERE sku_id = $1 AND location_id = $2 FOR NO KEY UPDATE",
				2, argtypes);
	rc = SPI_execute_plan(lock_plan, values, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "locking a stock row");

	if (SPI_processed == 0 && create)
	{
		/* A racing first receipt may insert it too: then lock theirs. */
		oms_prepare(&insert_plan,
					"INSERT INTO oms.stock (sku_id, location_id) VALUES ($1, $2)"
					" ON CONFLICT DO NOTHING",
					2, argtypes);
		rc = oms_execute_trusted(insert_plan, values, NULL, 0);
		oms_check_spi(rc, SPI_OK_INSERT, "creating a stock row");
		rc = SPI_execute_plan(lock_plan, values, NULL, false, 1);
		oms_check_spi(rc, SPI_OK_SELECT, "locking a stock row");
	}

	memset(row, 0, sizeof(*row));
	row->sku_id = sku_id;
	row->location_id = location_id;
	if (SPI_processed == 0)
		return false;
	row->on_hand = result_int32(0, 1);
	row->reserved = result_int32(0, 2);
	row->held = result_int32(0, 3);
	row->escrow = result_int32(0, 4);
	row->safety_stock = result_int32(0, 5);
	row->slots = result_int32(0, 6);
	return true;
}

/*
 * Writes reserved, held, escrow and slots of a locked stock row back.
 */
void
oms_write_stock(StockRow *row)
{
	Oid			argtypes[6] = {INT8OID, INT8OID, INT4OID, INT4OID, INT4OID, INT4OID};
	Datum		values[6];
	int			rc;

	oms_prepare(&write_plan,
				"UPDATE oms.stock SET reserved = $3, held = $4, escrow = $5, slots = $6,"
				" updated_at = now() WHERE sku_id = $1 AND location_id = $2",
				6, argtypes);
	values[0] = Int64GetDatum(row->sku_id);
	values[1] = Int64GetDatum(row->location_id);
	values[2] = Int32GetDatum(row->reserved);
	values[3] = Int32GetDatum(row->held);
	values[4] = Int32GetDatum(row->escrow);
	values[5] = Int32GetDatum(row->slots);
	rc = oms_execute_trusted(write_plan, values, NULL, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "writing a stock row");
}

/* Free units of a locked stock row, before any channel's safety stock. */
static inline int64
row_free(StockRow *row)
{
	return (int64) row->on_hand - row->reserved - row->held - row->escrow - row->safety_stock;
}

/*
 * Locks every slot of a locked stock row, in slot order (the only order in
 * which anyone waits for them), and returns the units they have reserved.
 */
static int32
lock_slots(StockRow *row)
{
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		values[2] = {Int64GetDatum(row->sku_id), Int64GetDatum(row->location_id)};
	int32		reserved = 0;
	int			rc;

	oms_prepare(&lock_slots_plan,
				"SELECT reserved FROM oms.stock_slot WHERE sku_id = $1 AND location_id = $2"
				" ORDER BY slot FOR NO KEY UPDATE",
				2, argtypes);
	rc = SPI_execute_plan(lock_slots_plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "locking the slots of a stock row");
	for (uint64 i = 0; i < SPI_processed; i++)
		reserved += result_int32(i, 1);
	return reserved;
}

/*
 * Makes every committed-but-idle unit of a locked stock row free again:
 * deletes its expired hold lines and takes the unused quota back from its
 * slots.  The caller writes the row.
 */
void
oms_uncommit_stock(StockRow *row)
{
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		values[2] = {Int64GetDatum(row->sku_id), Int64GetDatum(row->location_id)};
	int			rc;
	uint64		i;

	if (row->held > 0)
	{
		oms_prepare(&expire_plan,
					"DELETE FROM oms.hold_line WHERE sku_id = $1 AND location_id = $2"
					" AND expires_at <= now() RETURNING qty",
					2, argtypes);
		rc = oms_execute_trusted(expire_plan, values, NULL, 0);
		oms_check_spi(rc, SPI_OK_DELETE_RETURNING, "dropping expired holds");
		for (i = 0; i < SPI_processed; i++)
			row->held -= result_int32(i, 1);
	}

	if (row->escrow > 0)
	{
		/*
		 * Lock every slot in order, then shrink each quota to the units it
		 * has reserved: the escrow becomes exactly those.
		 */
		row->escrow = lock_slots(row);

		oms_prepare(&reclaim_plan,
					"UPDATE oms.stock_slot SET quota = reserved"
					" WHERE sku_id = $1 AND location_id = $2 AND quota > reserved",
					2, argtypes);
		rc = oms_execute_trusted(reclaim_plan, values, NULL, 0);
		oms_check_spi(rc, SPI_OK_UPDATE, "taking back slot quotas");
	}
}

/*
 * Hands the free units of a locked stock row to its slots, creating them
 * first when the row was not hot.  The caller writes the row.
 */
void
oms_spread_stock(StockRow *row, int32 slots)
{
	Oid			argtypes[4] = {INT8OID, INT8OID, INT4OID, INT4OID};
	Datum		values[4];
	int64		free = row_free(row);
	int			rc;

	values[0] = Int64GetDatum(row->sku_id);
	values[1] = Int64GetDatum(row->location_id);

	if (slots > row->slots)
	{
		oms_prepare(&add_slots_plan,
					"INSERT INTO oms.stock_slot (sku_id, location_id, slot)"
					" SELECT $1, $2, g FROM generate_series(0, $3 - 1) g ON CONFLICT DO NOTHING",
					3, argtypes);
		values[2] = Int32GetDatum(slots);
		rc = oms_execute_trusted(add_slots_plan, values, NULL, 0);
		oms_check_spi(rc, SPI_OK_INSERT, "creating slots");
	}
	row->slots = slots;
	if (free <= 0 || slots == 0)
		return;
	lock_slots(row);

	/* Slot g gets free / slots units, the first free % slots one more. */
	oms_prepare(&quota_plan,
				"UPDATE oms.stock_slot SET quota = quota + $3 / $4 + (slot < $3 % $4)::integer"
				" WHERE sku_id = $1 AND location_id = $2 AND slot < $4",
				4, argtypes);
	values[2] = Int32GetDatum((int32) free);
	values[3] = Int32GetDatum(slots);
	rc = oms_execute_trusted(quota_plan, values, NULL, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "spreading stock over slots");
	row->escrow += (int32) free;
}

/* The int32 column name of the row in slot, a row of w's table. */
static int32
int32_column(OmsInsert *w, TupleTableSlot *slot, const char *name)
{
	bool		isnull;

	return DatumGetInt32(slot_getattr(slot, oms_insert_column(w, name), &isnull));
}

/* Starts w's next row as a copy of the row in from, with reserved + qty. */
static void
copy_row_adding(OmsInsert *w, TupleTableSlot *from, int32 qty)
{
	oms_insert_copy(w, from);
	oms_insert_set(w, "reserved", Int32GetDatum(int32_column(w, from, "reserved") + qty));
}

/* A row changed or deleted since the transaction's snapshot: 40001. */
static void
serialization_failure(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("could not serialize access due to concurrent update")));
}

/*
 * Opens oms.<table> for writing and scans its primary key <index> for the
 * rows of (sku_id, location_id), from slot from on when slotted.
 *
 * First it makes the writes of this transaction so far visible, as SPI
 * does before each statement.  The scan's snapshot (scan->xs_snapshot) is
 * the latest under READ COMMITTED, where a row changed since the statement
 * began is read in its newest version, and the transaction's under
 * REPEATABLE READ and SERIALIZABLE, where such a row is a serialization
 * failure, as for an UPDATE.  It is the active snapshot until
 * end_stock_scan().
 */
static IndexScanDesc
begin_stock_scan(OmsInsert *w, const char *table, const char *index,
				 int64 sku_id, int64 location_id, int32 from, bool slotted)
{
	ScanKeyData keys[3];
	IndexScanDesc scan;
	int			nkeys = slotted ? 3 : 2;

	CommandCounterIncrement();
	PushCopiedSnapshot(IsolationUsesXactSnapshot() ? GetTransactionSnapshot() : GetLatestSnapshot());
	UpdateActiveSnapshotCommandId();

	oms_insert_open(w, table, false);
	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(sku_id));
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(location_id));
	ScanKeyInit(&keys[2], 3, BTGreaterEqualStrategyNumber, F_INT4GE, Int32GetDatum(from));
	scan = index_beginscan(w->rel, index_open(oms_relid(index), RowExclusiveLock),
						   GetActiveSnapshot(), nkeys, 0);
	index_rescan(scan, keys, nkeys, NULL, 0);
	return scan;
}

/* Ends a scan begun by begin_stock_scan() and pops its snapshot. */
static void
end_stock_scan(OmsInsert *w, IndexScanDesc scan)
{
	Relation	index = scan->indexRelation;

	index_endscan(scan);
	index_close(index, NoLock);
	oms_insert_close(w);
	PopActiveSnapshot();
}

/*
 * Takes qty units from the first slot in [from, to) of the row with room
 * that no other session holds, reading the slots in index order; returns
 * the slot, or OMS_NO_SLOT and sets *room when some slot had room but was
 * busy.  It locks a slot without waiting, and only in the version it read,
 * which then is the newest: a slot another session holds, or changed since
 * it was read, is passed over.  So it never holds a slot it does not take
 * from, and needs no subtransaction to let one go.
 *
 * This reads and writes the table directly: the statement it replaces
 * (UPDATE ... WHERE slot = (SELECT ... FOR NO KEY UPDATE SKIP LOCKED) in a
 * subtransaction) was a sixth of a flash-sale order's CPU time.  The new
 * version satisfies reserved <= quota because the locked one had room.
 */
static int32
take_slot_units(int64 sku_id, int64 location_id, int32 qty, int32 from, int32 to, bool *room)
{
	OmsInsert	w;
	IndexScanDesc scan = begin_stock_scan(&w, "stock_slot", "stock_slot_pkey",
										  sku_id, location_id, from, true);
	TupleTableSlot *seen = table_slot_create(w.rel, NULL);
	TupleTableSlot *locked = table_slot_create(w.rel, NULL);
	int32		taken = OMS_NO_SLOT;

	while (taken == OMS_NO_SLOT && index_getnext_slot(scan, ForwardScanDirection, seen))
	{
		int32		slot = int32_column(&w, seen, "slot");
		ItemPointerData tid = seen->tts_tid;
		TM_FailureData tmfd;

		if (slot >= to)
			break;
		if (int32_column(&w, seen, "quota") - int32_column(&w, seen, "reserved") < qty)
			continue;
		*room = true;
		switch (table_tuple_lock(w.rel, &tid, scan->xs_snapshot, locked, w.estate->es_output_cid,
								 LockTupleNoKeyExclusive, LockWaitSkip, 0, &tmfd))
		{
			case TM_Ok:
				copy_row_adding(&w, locked, qty);
				if (oms_insert_replace(&w, &tid) != TM_Ok)
					elog(ERROR, "oms: a locked slot of a stock row changed");
				taken = slot;
				break;
			case TM_Updated:
			case TM_Deleted:
				if (IsolationUsesXactSnapshot())
					serialization_failure();
				break;
			default:
				break;			/* another session holds it */
		}
	}
	ExecDropSingleTupleTableSlot(seen);
	ExecDropSingleTupleTableSlot(locked);
	end_stock_scan(&w, scan);
	return taken;
}

/*
 * Takes qty units of a hot row from a slot with room that no other session
 * holds; returns the slot, or OMS_NO_SLOT, holding no lock on any slot of the
 * row, when none has room or they stay busy.  It never waits for a slot's
 * lock: the only waits for a row's slots are those of a session settling the
 * row, which holds the row and takes the slots in slot order, so no two
 * sessions wait for each other there.  While every slot with room is busy, it
 * looks again after a short sleep (their holders commit within a moment),
 * for a bounded time, rather than settle the row, which waits for all of them.
 *
 * Each backend starts at a slot of its own and reads on in slot order, then
 * wraps around, in the order of the index, so that it reads the few slots up
 * to the first free one rather than all of them: every slot row is updated
 * over and over, and each read walks the row's chain of versions.
 */
int32
oms_take_from_slot(int64 sku_id, int64 location_id, int32 qty, int32 slots)
{
	int32		home = MyProcPid % slots;
	long		sleep_us = 50;
	long		slept_us = 0;

	/* Slots are read and written directly: not where Citus holds them. */
	if (oms_citus_named("stock_slot"))
		return OMS_NO_SLOT;
	oms_atp_touch(sku_id);
	for (;;)
	{
		bool		room = false;
		int32		slot = take_slot_units(sku_id, location_id, qty, home, OMS_MAX_SLOTS, &room);

		if (slot == OMS_NO_SLOT && home > 0)
			slot = take_slot_units(sku_id, location_id, qty, 0, home, &room);
		if (slot != OMS_NO_SLOT || !room || slept_us >= OMS_SLOT_PATIENCE_US)
			return slot;
		pg_usleep(sleep_us);
		CHECK_FOR_INTERRUPTS();
		slept_us += sleep_us;
		sleep_us = Min(sleep_us * 2, 1000);
	}
}

/* Whether the stock row in row is not spread over slots and has qty units free. */
static bool
row_has_room(OmsInsert *w, TupleTableSlot *row, int64 qty)
{
	return int32_column(w, row, "slots") == 0 &&
		(int64) int32_column(w, row, "on_hand") - int32_column(w, row, "reserved")
		- int32_column(w, row, "held") - int32_column(w, row, "escrow")
		- int32_column(w, row, "safety_stock") >= qty;
}

/*
 * Takes qty units of a stock row that is not spread over slots, keeping
 * channel_safety units back: the row path.  Like the UPDATE ... WHERE free
 * >= qty it replaces, it waits for a session that holds the row; when that
 * session changed it, it locks the newest version and looks again (READ
 * COMMITTED's recheck), so it may end up holding a row it did not take from,
 * as the UPDATE did; under a transaction snapshot that is a serialization
 * failure instead.  The new version satisfies the row's CHECK because the
 * version it replaces had the units free.
 */
static bool
take_row_units(int64 sku_id, int64 location_id, int32 qty, int32 channel_safety)
{
	OmsInsert	w;
	IndexScanDesc scan = begin_stock_scan(&w, "stock", "stock_pkey",
										  sku_id, location_id, 0, false);
	TupleTableSlot *row = table_slot_create(w.rel, NULL);
	bool		taken = false;

	if (index_getnext_slot(scan, ForwardScanDirection, row))
	{
		ItemPointerData tid = row->tts_tid;

		while (row_has_room(&w, row, (int64) qty + channel_safety))
		{
			TM_FailureData tmfd;
			TM_Result	result;

			copy_row_adding(&w, row, qty);
			oms_insert_set(&w, "updated_at", TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()));
			result = oms_insert_replace(&w, &tid);
			if (result == TM_Ok)
			{
				taken = true;
				break;
			}
			if (result != TM_Updated && result != TM_Deleted)
				elog(ERROR, "oms: a stock row changed in this very command");
			if (IsolationUsesXactSnapshot())
				serialization_failure();
			if (result == TM_Deleted ||
				table_tuple_lock(w.rel, &tid, scan->xs_snapshot, row, w.estate->es_output_cid,
								 LockTupleNoKeyExclusive, LockWaitBlock,
								 TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd) != TM_Ok)
				break;			/* deleted meanwhile: nothing to take */
		}
	}
	ExecDropSingleTupleTableSlot(row);
	end_stock_scan(&w, scan);
	return taken;
}

/*
 * Takes qty units of a stock row for an order (or, with hold, for a cart
 * hold), keeping channel_safety units back; slots is the row's slot count as
 * last read, a hint for which path to try first.  Returns true and the slot
 * the units came from (OMS_NO_SLOT for the row itself), or false and the
 * units the channel could have had.  Holds never use slots.
 */
bool
oms_take_stock(int64 sku_id, int64 location_id, int32 qty, int32 channel_safety,
			   int32 slots, bool hold, int32 *slot, int32 *free)
{
	StockRow	row;
	instr_time	start,
				waited;
	int64		available;

	/*
	 * Paths 1 and 2 read and write the tables directly; where Citus holds
	 * them, every take settles through statements (path 3), which Citus
	 * routes to the SKU's shard.
	 */
	bool		direct = !oms_citus_named("stock");

	*slot = OMS_NO_SLOT;
	oms_atp_touch(sku_id);

	/* Path 1, a slot of a hot row, for channels without safety stock here. */
	if (direct && !hold && slots > 0 && channel_safety == 0)
	{
		*slot = oms_take_from_slot(sku_id, location_id, qty, slots);
		if (*slot != OMS_NO_SLOT)
			return true;
	}

	/*
	 * Path 2, the row: one conditional update.  Time it: a long wait for the
	 * lock means sessions queue for this row, which then spreads over slots
	 * while we hold it.
	 */
	if (direct && !hold)
	{
		bool		taken;

		INSTR_TIME_SET_CURRENT(start);
		taken = take_row_units(sku_id, location_id, qty, channel_safety);
		INSTR_TIME_SET_CURRENT(waited);
		INSTR_TIME_SUBTRACT(waited, start);
		if (taken)
		{
			if (oms_hot_stock_slots > 0 && oms_hot_stock_wait >= 0 &&
				INSTR_TIME_GET_MILLISEC(waited) >= oms_hot_stock_wait)
			{
				/* Spreading a few units would only make the row settle often. */
				oms_lock_stock(sku_id, location_id, false, &row);
				if (row_free(&row) >= (int64) OMS_MIN_UNITS_PER_SLOT * oms_hot_stock_slots)
				{
					oms_spread_stock(&row, oms_hot_stock_slots);
					oms_write_stock(&row);
				}
			}
			return true;
		}
	}

	/* Path 3, settle: lock the row and see every unit. */
	if (!oms_lock_stock(sku_id, location_id, false, &row))
	{
		*free = 0;
		return false;
	}
	if (row_free(&row) < (int64) qty + channel_safety || (channel_safety > 0 && row.escrow > 0))
		oms_uncommit_stock(&row);

	available = row_free(&row) - channel_safety;
	if (available < qty)
	{
		oms_write_stock(&row);	/* keep what the clean-up freed */
		*free = (int32) Max(available, 0);
		return false;
	}

	if (hold)
		row.held += qty;
	else
		row.reserved += qty;
	if (row.slots > 0)
		oms_spread_stock(&row, row.slots);
	oms_write_stock(&row);
	return true;
}

/*
 * Gives back qty units taken by oms_take_stock from slot (or the row), for
 * an order or, with hold, a cart hold.
 */
void
oms_return_stock(int64 sku_id, int64 location_id, int32 slot, int32 qty, bool hold)
{
	Oid			argtypes[4] = {INT8OID, INT8OID, INT4OID, INT4OID};
	Datum		values[4];
	int			rc;

	oms_atp_touch(sku_id);
	values[0] = Int64GetDatum(sku_id);
	values[1] = Int64GetDatum(location_id);
	values[2] = Int32GetDatum(qty);
	values[3] = Int32GetDatum(slot);

	if (slot != OMS_NO_SLOT)
	{
		oms_prepare(&return_slot_plan,
					"UPDATE oms.stock_slot SET reserved = reserved - $3"
					" WHERE sku_id = $1 AND location_id = $2 AND slot = $4",
					4, argtypes);
		rc = oms_execute_trusted(return_slot_plan, values, NULL, 0);
	}
	else if (hold)
	{
		oms_prepare(&return_held_plan,
					"UPDATE oms.stock SET held = held - $3, updated_at = now()"
					" WHERE sku_id = $1 AND location_id = $2",
					3, argtypes);
		rc = oms_execute_trusted(return_held_plan, values, NULL, 0);
	}
	else
	{
		oms_prepare(&return_row_plan,
					"UPDATE oms.stock SET reserved = reserved - $3, updated_at = now()"
					" WHERE sku_id = $1 AND location_id = $2",
					3, argtypes);
		rc = oms_execute_trusted(return_row_plan, values, NULL, 0);
	}
	oms_check_spi(rc, SPI_OK_UPDATE, "returning units");
	if (SPI_processed != 1)
		elog(ERROR, "oms: no stock row to return units to");
}

/*
 * Gives back the units a hold line sets aside at one stock row and deletes
 * the line.  The row is locked first: a sale that cleans up the line because
 * it expired locks the row first too, so only one of them counts it.
 */
void
oms_release_hold_line(const char *hold_ref, int64 sku_id, int64 location_id)
{
	static SPIPlanPtr delete_plan = NULL;
	Oid			argtypes[3] = {TEXTOID, INT8OID, INT8OID};
	Datum		values[3];
	StockRow	row;
	int			rc;

	if (!oms_lock_stock(sku_id, location_id, false, &row))
		return;
	oms_prepare(&delete_plan,
				"DELETE FROM oms.hold_line WHERE hold_ref = $1 AND sku_id = $2 AND location_id = $3"
				" RETURNING qty",
				3, argtypes);
	values[0] = CStringGetTextDatum(hold_ref);
	values[1] = Int64GetDatum(sku_id);
	values[2] = Int64GetDatum(location_id);
	rc = oms_execute_trusted(delete_plan, values, NULL, 0);
	oms_check_spi(rc, SPI_OK_DELETE_RETURNING, "releasing a hold line");
	if (SPI_processed == 1)
		oms_return_stock(sku_id, location_id, OMS_NO_SLOT, result_int32(0, 1), true);
}

/*
 * Orders stock rows by their key, (sku_id, location_id): the order in which
 * every session locks them.  a and b point to a StockRowKey, or to a struct
 * that begins with one.
 */
int
oms_compare_stock_rows(const void *a, const void *b)
{
	const StockRowKey *x = a;
	const StockRowKey *y = b;

	if (x->sku_id != y->sku_id)
		return x->sku_id < y->sku_id ? -1 : 1;
	if (x->location_id != y->location_id)
		return x->location_id < y->location_id ? -1 : 1;
	return 0;
}
