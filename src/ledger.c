/*-------------------------------------------------------------------------
 *
 * ledger.c
 *	  Ledgered stock: receipts, adjustments, cycle counts, shipments and
 *	  till sales change on_hand and append to oms.stock_movement in one step, under the
 *	  stock row's lock; per-channel availability reads the result.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "oms.h"

PG_FUNCTION_INFO_V1(oms_receive_stock);
PG_FUNCTION_INFO_V1(oms_adjust_stock);
PG_FUNCTION_INFO_V1(oms_count_stock);
PG_FUNCTION_INFO_V1(oms_set_safety_stock);
PG_FUNCTION_INFO_V1(oms_available);
PG_FUNCTION_INFO_V1(oms_set_stock_slots);

/* One SKU at one location, as the caller named them. */
typedef struct StockKey
{
	OmsRef		sku;
	OmsRef		location;
} StockKey;

/* How a movement sets the new on_hand. */
typedef enum MoveMode
{
	MOVE_BY_DELTA,				/* on_hand + value */
	MOVE_TO_COUNT				/* value */
} MoveMode;

/*
 * Looks up the SKU and location named by arguments 0 and 1.
 */
static StockKey
stock_key(FunctionCallInfo fcinfo)
{
	StockKey	key;

	key.sku = oms_lookup(OMS_SKU, oms_arg_text(fcinfo, 0, "sku"));
	key.location = oms_lookup(OMS_LOCATION, oms_arg_text(fcinfo, 1, "location"));
	return key;
}

/*
 * Appends a movement to the ledger and applies it to the locked stock row;
 * returns the movement's id.
 */
static int64
write_movement(StockKey *key, const char *kind, int32 quantity, int32 on_hand_after,
			   text *reason, text *reference)
{
	static SPIPlanPtr update_plan = NULL;
	static SPIPlanPtr insert_plan = NULL;
	Oid			update_types[3] = {INT8OID, INT8OID, INT4OID};
	Oid			insert_types[8] = {INT8OID, INT8OID, TEXTOID, INT4OID, INT4OID,
								   TEXTOID, TEXTOID, TEXTOID};
	Datum		values[8];
	char		nulls[8];
	bool		isnull;
	int			rc;

	oms_atp_touch(key->sku.id);
	oms_prepare(&update_plan,
				"UPDATE oms.stock SET on_hand = $3, updated_at = now()"
				" WHERE sku_id = $1 AND location_id = $2",
				3, update_types);
	values[0] = Int64GetDatum(key->sku.id);
	values[1] = Int64GetDatum(key->location.id);
	values[2] = Int32GetDatum(on_hand_after);
	rc = oms_execute_trusted(update_plan, values, NULL, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "updating on_hand");

	oms_prepare(&insert_plan,
				"INSERT INTO oms.stock_movement"
				" (sku_id, location_id, kind, quantity, on_hand_after, reason, reference, created_by)"
				" VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
				8, insert_types);
	memset(nulls, ' ', sizeof(nulls));
	values[2] = CStringGetTextDatum(kind);
	values[3] = Int32GetDatum(quantity);
	values[4] = Int32GetDatum(on_hand_after);
	values[5] = PointerGetDatum(reason);
	nulls[5] = reason ? ' ' : 'n';
	values[6] = PointerGetDatum(reference);
	nulls[6] = reference ? ' ' : 'n';
	/* The role that called us, not the owner SECURITY DEFINER runs as. */
	values[7] = CStringGetTextDatum(GetUserNameFromId(GetOuterUserId(), false));
	rc = SPI_execute_plan(insert_plan, values, nulls, false, 0);
	oms_check_spi(rc, SPI_OK_INSERT_RETURNING, "writing the stock ledger");
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Moves on_hand of key by value (or to value, for a count) and records it in
 * the ledger as kind; returns the new on_hand.
 */
static int32
move_stock(StockKey *key, const char *kind, MoveMode mode, int32 value, text *reason)
{
	StockRow	row;
	int64		after;

	/* Only a change that can add units may create the row. */
	oms_lock_stock(key->sku.id, key->location.id, mode == MOVE_TO_COUNT || value > 0, &row);
	after = (mode == MOVE_TO_COUNT) ? value : (int64) row.on_hand + value;

	/* Units set aside but idle (expired holds, unused slot quotas) give way. */
	if (after < (int64) row.reserved + row.held + row.escrow)
	{
		oms_uncommit_stock(&row);
		oms_write_stock(&row);
	}

	if (after > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_STOCK_OVERFLOW),
				 errmsg("on_hand of sku \"%s\" at location \"%s\" would exceed %d",
						key->sku.code, key->location.code, PG_INT32_MAX),
				 errdetail("on_hand is %d; the change is %+d.", row.on_hand, value)));
	if (after < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_NEGATIVE_STOCK),
				 errmsg("on_hand of sku \"%s\" at location \"%s\" cannot go below 0",
						key->sku.code, key->location.code),
				 errdetail("on_hand is %d; the change is %+d.", row.on_hand, value)));
	if (after < (int64) row.reserved + row.held + row.escrow)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_BELOW_RESERVED),
				 errmsg("on_hand of sku \"%s\" at location \"%s\" cannot go below its %d reserved or held units",
						key->sku.code, key->location.code, row.reserved + row.held + row.escrow),
				 errdetail("on_hand is %d; it would become " INT64_FORMAT ".", row.on_hand, after),
				 errhint("Cancel or reroute the orders holding those units first.")));

	write_movement(key, kind, (int32) (after - row.on_hand), (int32) after, reason, NULL);

	/* Units that arrived go to backorders waiting for them. */
	if (after > row.on_hand)
		(void) oms_fill_arrivals(&key->sku.id, 1, key->location.id);
	return (int32) after;
}

/*
 * Takes qty reserved units of a stock row out of on_hand because they were
 * shipped: from the row's reserved units, or from slot's.  The ledger
 * records the movement with reference.
 */
void
oms_ship_units(int64 sku_id, int64 location_id, int32 slot, int32 qty, text *reference)
{
	static SPIPlanPtr slot_plan = NULL;
	StockKey	key;
	StockRow	row;

	memset(&key, 0, sizeof(key));
	key.sku.id = sku_id;
	key.location.id = location_id;
	if (!oms_lock_stock(sku_id, location_id, false, &row))
		elog(ERROR, "oms: no stock row for reserved units of sku " INT64_FORMAT, sku_id);

	if (slot != OMS_NO_SLOT)
	{
		Oid			argtypes[4] = {INT8OID, INT8OID, INT4OID, INT4OID};
		Datum		values[4] = {Int64GetDatum(sku_id), Int64GetDatum(location_id),
								 Int32GetDatum(qty), Int32GetDatum(slot)};
		int			rc;

		/* Every slot locked in order, quotas down to what they reserved; then out. */
		oms_uncommit_stock(&row);
		oms_prepare(&slot_plan,
					"UPDATE oms.stock_slot SET reserved = reserved - $3, quota = quota - $3"
					" WHERE sku_id = $1 AND location_id = $2 AND slot = $4",
					4, argtypes);
		rc = oms_execute_trusted(slot_plan, values, NULL, 0);
		oms_check_spi(rc, SPI_OK_UPDATE, "shipping units of a slot");
		row.escrow -= qty;
	}
	else
		row.reserved -= qty;
	oms_write_stock(&row);
	write_movement(&key, "shipment", -qty, row.on_hand - qty, NULL, reference);
}

/*
 * Puts qty returned units of sku_id back into the on_hand of location_id
 * (ledger kind return, with reference), creating the stock row on the first
 * return there; returns the movement's id.  The caller gives the units to
 * waiting backorders (oms_fill_arrivals) once its own writes are done.
 */
int64
oms_restock_units(int64 sku_id, int64 location_id, int32 qty, text *reference)
{
	StockKey	key;
	StockRow	row;

	memset(&key, 0, sizeof(key));
	key.sku.id = sku_id;
	key.location.id = location_id;
	oms_lock_stock(sku_id, location_id, true, &row);
	if ((int64) row.on_hand + qty > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_STOCK_OVERFLOW),
				 errmsg("on_hand of sku " INT64_FORMAT " at location " INT64_FORMAT " would exceed %d",
						sku_id, location_id, PG_INT32_MAX),
				 errdetail("on_hand is %d; the return adds %d.", row.on_hand, qty)));
	return write_movement(&key, "return", qty, row.on_hand + qty, NULL, reference);
}

/*
 * Takes qty units of sku out of the on_hand of store because they were sold
 * at its till (a store-fulfilled order): the ledger records a sale with
 * reference.  Units reserved or held for others stay; without enough left
 * it is the error of an order short of stock, naming the store.
 */
void
oms_sell_units(const char *sku, int64 sku_id, const OmsRef *store, int32 qty, text *reference)
{
	StockKey	key;
	StockRow	row;
	int64		free = 0;

	memset(&key, 0, sizeof(key));
	memset(&row, 0, sizeof(row));
	key.sku.id = sku_id;
	key.sku.code = (char *) sku;
	key.location = *store;
	if (oms_lock_stock(sku_id, store->id, false, &row))
	{
		/* Units set aside but idle (expired holds, unused slot quotas) give way. */
		if ((int64) row.on_hand - qty < (int64) row.reserved + row.held + row.escrow)
		{
			oms_uncommit_stock(&row);
			oms_write_stock(&row);
		}
		free = (int64) row.on_hand - row.reserved - row.held - row.escrow;
	}
	if (free < qty)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INSUFFICIENT_STOCK),
				 errmsg("not enough stock of sku \"%s\" at store \"%s\": %d sold, " INT64_FORMAT " available",
						sku, store->code, qty, Max(free, 0)),
				 errdetail("A till sale takes units from the store's on_hand at once, never those reserved for orders or held for carts."),
				 errhint("Record the units the store really has (oms.count_stock or oms.receive_stock), then place the sale again.")));
	write_movement(&key, "sale", -qty, row.on_hand - qty, NULL, reference);
}

/*
 * oms.receive_stock(sku, location, qty, reason): adds qty units.
 */
Datum
oms_receive_stock(PG_FUNCTION_ARGS)
{
	int32		qty = oms_arg_int32(fcinfo, 2, "qty");
	StockKey	key;
	int32		on_hand;

	if (qty <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_QUANTITY),
				 errmsg("qty must be positive, not %d", qty),
				 errhint("Record lost or damaged units with oms.adjust_stock.")));

	oms_spi_connect();
	key = stock_key(fcinfo);
	on_hand = move_stock(&key, "receipt", MOVE_BY_DELTA, qty, oms_arg_optional_text(fcinfo, 3));
	oms_spi_finish();
	PG_RETURN_INT32(on_hand);
}

/*
 * oms.adjust_stock(sku, location, delta, reason): changes on_hand by delta.
 */
Datum
oms_adjust_stock(PG_FUNCTION_ARGS)
{
	int32		delta = oms_arg_int32(fcinfo, 2, "delta");
	text	   *reason = oms_arg_optional_text(fcinfo, 3);
	StockKey	key;
	int32		on_hand;

	if (delta == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_QUANTITY),
				 errmsg("delta must not be 0")));
	if (reason == NULL || VARSIZE_ANY_EXHDR(reason) == 0 ||
		strspn(text_to_cstring(reason), " \t\r\n") == VARSIZE_ANY_EXHDR(reason))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_REASON_REQUIRED),
				 errmsg("an adjustment needs a reason"),
				 errhint("Say why on_hand changes, e.g. 'damaged in transit'.")));

	oms_spi_connect();
	key = stock_key(fcinfo);
	on_hand = move_stock(&key, "adjustment", MOVE_BY_DELTA, delta, reason);
	oms_spi_finish();
	PG_RETURN_INT32(on_hand);
}

/*
 * oms.count_stock(sku, location, counted, reason): sets on_hand to a count.
 */
Datum
oms_count_stock(PG_FUNCTION_ARGS)
{
	int32		counted = oms_arg_int32(fcinfo, 2, "counted");
	StockKey	key;
	int32		on_hand;

	if (counted < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_QUANTITY),
				 errmsg("counted must not be negative, not %d", counted)));

	oms_spi_connect();
	key = stock_key(fcinfo);
	on_hand = move_stock(&key, "count", MOVE_TO_COUNT, counted, oms_arg_optional_text(fcinfo, 3));
	oms_spi_finish();
	PG_RETURN_INT32(on_hand);
}

/*
 * oms.set_safety_stock(sku, location, units): units no channel is promised.
 */
Datum
oms_set_safety_stock(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	int32		units = oms_arg_int32(fcinfo, 2, "units");
	Oid			argtypes[3] = {INT8OID, INT8OID, INT4OID};
	Datum		values[3];
	StockKey	key;
	int			rc;

	if (units < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_QUANTITY),
				 errmsg("units must not be negative, not %d", units)));

	oms_spi_connect();
	key = stock_key(fcinfo);
	oms_atp_touch(key.sku.id);
	oms_prepare(&plan,
				"INSERT INTO oms.stock AS s (sku_id, location_id, safety_stock) VALUES ($1, $2, $3)"
				" ON CONFLICT (sku_id, location_id)"
				" DO UPDATE SET safety_stock = excluded.safety_stock, updated_at = now()",
				3, argtypes);
	values[0] = Int64GetDatum(key.sku.id);
	values[1] = Int64GetDatum(key.location.id);
	values[2] = Int32GetDatum(units);
	rc = SPI_execute_plan(plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_INSERT, "setting safety stock");
	oms_spi_finish();
	PG_RETURN_VOID();
}

/*
 * oms.available(sku, channel): units that can be promised to channel.
 */
Datum
oms_available(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};
	OmsRef		sku;
	int64		units = 0;
	bool		isnull;
	int			rc;

	oms_spi_connect();
	sku = oms_lookup(OMS_SKU, oms_arg_text(fcinfo, 0, "sku"));
	values[0] = Int64GetDatum(sku.id);
	if (PG_ARGISNULL(1))
	{
		values[1] = (Datum) 0;
		nulls[1] = 'n';
	}
	else
	{
		OmsRef		channel = oms_lookup(OMS_CHANNEL, PG_GETARG_TEXT_PP(1));

		values[1] = Int64GetDatum(channel.id);
		if (!channel.active)
			sku.active = false;	/* an inactive channel is promised nothing */
	}

	/*
	 * A channel may use the locations listed for it in oms.channel_location,
	 * or every location when none are listed.  In bigint: a location's and
	 * a channel's safety stock may each be up to 2^31 - 1, and so may the
	 * units at each location.
	 */
	oms_prepare(&plan,
				"SELECT coalesce(sum(greatest(lv.free::bigint - coalesce(cl.safety_stock, c.safety_stock, 0), 0)), 0)::bigint"
				"  FROM oms.stock_level lv"
				"  JOIN oms.location l ON l.id = lv.location_id AND l.active"
				"  LEFT JOIN oms.channel c ON c.id = $2"
				"  LEFT JOIN oms.channel_location cl ON cl.channel_id = $2 AND cl.location_id = lv.location_id"
				" WHERE lv.sku_id = $1"
				"   AND ($2 IS NULL OR cl.channel_id IS NOT NULL"
				"        OR NOT EXISTS (SELECT 1 FROM oms.channel_location x WHERE x.channel_id = $2))",
				2, argtypes);
	if (sku.active)
	{
		/* Not read-only: sees stock changed earlier in the calling statement. */
		rc = SPI_execute_plan(plan, values, nulls, false, 1);
		oms_check_spi(rc, SPI_OK_SELECT, "computing availability");
		units = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	oms_spi_finish();

	/* More than an integer holds is more than any order can ask for. */
	PG_RETURN_INT32((int32) Min(units, PG_INT32_MAX));
}

/*
 * oms.set_stock_slots(sku, location, slots): spreads a stock row over slots
 * (0 gathers its free units back into the row).
 */
Datum
oms_set_stock_slots(PG_FUNCTION_ARGS)
{
	int32		slots = oms_arg_int32(fcinfo, 2, "slots");
	StockKey	key;
	StockRow	row;

	if (slots < 0 || slots > OMS_MAX_SLOTS)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_QUANTITY),
				 errmsg("slots must be from 0 to %d, not %d", OMS_MAX_SLOTS, slots)));

	oms_spi_connect();
	key = stock_key(fcinfo);
	oms_lock_stock(key.sku.id, key.location.id, true, &row);
	oms_uncommit_stock(&row);
	row.slots = 0;
	oms_spread_stock(&row, slots);
	oms_write_stock(&row);
	oms_spi_finish();
	PG_RETURN_VOID();
}
