/*-------------------------------------------------------------------------
 *
 * backorder.c
 *	  Backorders that fill themselves: units that are free now go to the
 *	  backordered lines of orders, oldest order (smallest order_id) first,
 *	  under the rules place_order follows -- route.c chooses the locations
 *	  the order's channel may use, with its safety stock and its cost model,
 *	  around unexpired holds; stock.c takes the units.  oms.allocate_backorders
 *	  runs it on demand, the background worker every
 *	  oms.allocate_backorders_interval, and a receipt, adjustment or count
 *	  upwards for the units it brought, in its own transaction.
 *
 *	  One pass:
 *	  1. read the free units of the SKUs that have backordered lines;
 *	  2. order by order, in order_id order: pass over an order whose channel
 *	     may use none of them, lock the order without waiting (one another
 *	     session holds is filled next round), read its backordered lines
 *	     anew and route them over the units this pass has not promised yet;
 *	  3. take the allocations from their stock rows in (sku_id, location_id)
 *	     order, one step per row for all its allocations, keeping what the
 *	     row really had (a racing order may have taken units since step 1:
 *	     the youngest orders there then get less);
 *	  4. write the reservations, move the units from backordered to
 *	     reserved and derive the statuses, whose changes write the events.
 *
 *	  Locks: orders before stock rows, as cancel_order and ship take them;
 *	  orders only without waiting; stock rows in the global order.  So a
 *	  pass never deadlocks with orders, cancels, shipments or another pass.
 *	  Each SKU's takes run in a subtransaction: under a lock_timeout (the
 *	  background worker's), a SKU whose stock row a long transaction holds
 *	  waits for the next pass, and the others are filled.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "oms.h"

PG_FUNCTION_INFO_V1(oms_allocate_backorders);

/* Free units of one stock row that this pass has not promised yet. */
typedef struct FreeRow
{
	StockRowKey row;			/* first: sorted by oms_compare_stock_rows() */
	int32		free;			/* before any channel's safety stock */
} FreeRow;

/* A backordered line, as read under its order's lock. */
typedef struct WaitingLine
{
	int32		line_no;
	int64		sku_id;
	int32		backordered;
	int32		filled;
} WaitingLine;

/* An order of the pass, locked, with the lines it routed. */
typedef struct FillOrder
{
	int64		order_id;
	int			nlines;
	WaitingLine *lines;			/* in line order */
} FillOrder;

/* Units of one SKU of an order to take at one stock row. */
typedef struct Fill
{
	StockRowKey row;			/* first: the lock order */
	int			order;			/* index into the pass's orders */
	int32		qty;			/* routed */
	int32		channel_safety;
	int32		slots;			/* as routing read them */
	int32		taken;			/* what the row had */
	int32		slot;			/* where they came from */
} Fill;

/* One pass of filling. */
typedef struct FillPass
{
	int64		location_id;	/* only this location, or 0 */
	bool		arrival;		/* the caller holds the stock rows: never wait */
	int			nrows;
	FreeRow    *rows;
	Datum		skus;			/* int8[] of the SKUs with free rows */
	int			norders;
	FillOrder  *orders;
	int			nfills;
	int			maxfills;
	Fill	   *fills;
	int32		units;			/* units free and not yet promised */
} FillPass;

/* Returns int4 column col of row i of the last SPI result. */
static int32
result_int32(uint64 i, int col, bool *isnull)
{
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, col, isnull));
}

/* Returns int8 column col of row i of the last SPI result, which is not NULL. */
static int64
result_int64(uint64 i, int col)
{
	bool		isnull;

	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, col, &isnull));
}

/* Orders fills by stock row, then oldest order first. */
static int
compare_fills(const void *a, const void *b)
{
	const Fill *x = a;
	const Fill *y = b;
	int			c = oms_compare_stock_rows(&x->row, &y->row);

	if (c != 0)
		return c;
	return x->order - y->order;
}

/*
 * Reads the stock rows with free units (oms.stock_level: slots and
 * unexpired holds counted) of the given SKUs, or of every SKU that has a
 * backordered line when nskus is 0, at pass->location_id or anywhere; keeps
 * those of active locations.  Returns the units they have.
 */
static int64
read_free_rows(FillPass *pass, const int64 *sku_ids, int nskus)
{
	static SPIPlanPtr all_plan = NULL;
	static SPIPlanPtr some_plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8ARRAYOID};
	Datum		values[2];
	Datum	   *ids;
	int			nids = 0;
	int			nrows;
	int64		units = 0;
	int			rc;

	oms_prepare(&all_plan,
				"SELECT lv.sku_id, lv.location_id, lv.free FROM oms.stock_level lv"
				" WHERE lv.sku_id IN (SELECT l.sku_id FROM oms.order_lines l WHERE l.qty_backordered > 0)"
				"   AND lv.free > 0 AND ($1 = 0 OR lv.location_id = $1)"
				" ORDER BY lv.sku_id, lv.location_id",
				1, argtypes);
	oms_prepare(&some_plan,
				"SELECT lv.sku_id, lv.location_id, lv.free FROM oms.stock_level lv"
				" WHERE lv.sku_id = ANY ($2) AND lv.free > 0 AND ($1 = 0 OR lv.location_id = $1)"
				" ORDER BY lv.sku_id, lv.location_id",
				2, argtypes);
	values[0] = Int64GetDatum(pass->location_id);
	if (nskus > 0)
	{
		Datum	   *d = palloc(sizeof(Datum) * nskus);

		for (int i = 0; i < nskus; i++)
			d[i] = Int64GetDatum(sku_ids[i]);
		values[1] = PointerGetDatum(construct_array(d, nskus, INT8OID, 8, true, TYPALIGN_DOUBLE));
	}
	/* Not read-only: sees what the calling statement changed so far. */
	rc = SPI_execute_plan(nskus > 0 ? some_plan : all_plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "reading free units for backorders");

	nrows = (int) SPI_processed;
	pass->rows = palloc(sizeof(FreeRow) * Max(nrows, 1));
	for (int i = 0; i < nrows; i++)
	{
		bool		isnull;

		pass->rows[i].row.sku_id = result_int64(i, 1);
		pass->rows[i].row.location_id = result_int64(i, 2);
		pass->rows[i].free = result_int32(i, 3, &isnull);
	}
	SPI_freetuptable(SPI_tuptable);

	/* Only now: reloading the master-data cache runs queries of its own. */
	ids = palloc(sizeof(Datum) * Max(nrows, 1));
	pass->nrows = 0;
	for (int i = 0; i < nrows; i++)
	{
		FreeRow    *r = &pass->rows[i];
		OmsLocation loc;

		if (!oms_find_location(r->row.location_id, &loc) || !loc.active)
			continue;
		if (nids == 0 || DatumGetInt64(ids[nids - 1]) != r->row.sku_id)
			ids[nids++] = Int64GetDatum(r->row.sku_id);
		units += r->free;
		pass->rows[pass->nrows++] = *r;
	}
	pass->skus = PointerGetDatum(construct_array(ids, nids, INT8OID, 8, true, TYPALIGN_DOUBLE));
	return units;
}

/* The free row of key in the pass, or NULL. */
static FreeRow *
find_row(FillPass *pass, int64 sku_id, int64 location_id)
{
	StockRowKey key = {sku_id, location_id};

	return bsearch(&key, pass->rows, pass->nrows, sizeof(FreeRow), oms_compare_stock_rows);
}

/*
 * Whether a free row of sku_id that this pass has not promised is one the
 * channel and pickup store of req may use, beyond the channel's safety
 * stock there: a cheap test before an order is locked and routed.
 */
static bool
may_get_units(FillPass *pass, OrderRequest *req, int64 sku_id)
{
	for (int r = 0; r < pass->nrows; r++)
	{
		FreeRow    *row = &pass->rows[r];
		OmsLocation loc;
		int32		channel_safety;

		if (row->row.sku_id != sku_id || row->free <= 0)
			continue;
		if (!oms_find_location(row->row.location_id, &loc) || oms_route_exclusion(req, &loc) != NULL)
			continue;
		(void) oms_channel_may_use(&req->channel, loc.id, &channel_safety);
		if (row->free > channel_safety)
			return true;
	}
	return false;
}

/*
 * Locks order order_id unless another session holds it, and reads what
 * routing its backordered units needs into req: channel, ship_to point,
 * pickup store and the options it was placed with.  False when the order
 * is held elsewhere or no longer waits for stock (cancelled, on hold).
 */
static bool
lock_order(int64 order_id, OrderRequest *req)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtype = INT8OID;
	Datum		value = Int64GetDatum(order_id);
	HeapTuple	tup;
	TupleDesc	desc;
	char	   *status;
	char	   *strategy;
	bool		isnull;
	Datum		d;
	int			rc;

	oms_prepare(&plan,
				"SELECT o.status::text, c.code::text,"
				"       CASE WHEN jsonb_typeof(o.ship_to -> 'latitude') = 'number'"
				"             AND jsonb_typeof(o.ship_to -> 'longitude') = 'number'"
				"            THEN (o.ship_to ->> 'latitude')::float8 END,"
				"       CASE WHEN jsonb_typeof(o.ship_to -> 'latitude') = 'number'"
				"             AND jsonb_typeof(o.ship_to -> 'longitude') = 'number'"
				"            THEN (o.ship_to ->> 'longitude')::float8 END,"
				"       o.pickup_location_id,"
				"       CASE jsonb_typeof(o.options -> 'allow_split')"
				"            WHEN 'boolean' THEN (o.options ->> 'allow_split')::boolean ELSE true END,"
				"       CASE jsonb_typeof(o.options -> 'max_shipments')"
				"            WHEN 'number' THEN (o.options ->> 'max_shipments')::numeric::integer END,"
				"       o.options ->> 'strategy',"
				"       ARRAY(SELECT jsonb_array_elements_text(CASE jsonb_typeof(o.options -> 'exclude_locations')"
				"                                              WHEN 'array' THEN o.options -> 'exclude_locations' END))"
				"  FROM oms.orders o JOIN oms.channel c ON c.id = o.channel_id"
				" WHERE o.order_id = $1"
				"   FOR NO KEY UPDATE OF o SKIP LOCKED",
				1, &argtype);
	rc = SPI_execute_plan(plan, &value, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "locking an order with backorders");
	if (SPI_processed == 0)
		return false;			/* held by another session: next round */

	/* The row stays valid when a cache reload below runs queries of its own. */
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	status = SPI_getvalue(tup, desc, 1);
	if (strcmp(status, "backordered") != 0 && strcmp(status, "partially_shipped") != 0)
		return false;
	if (!oms_find_channel(SPI_getvalue(tup, desc, 2), &req->channel))
		return false;

	d = SPI_getbinval(tup, desc, 3, &isnull);
	if (!isnull)
	{
		req->has_point = true;
		req->latitude = DatumGetFloat8(d);
		req->longitude = DatumGetFloat8(SPI_getbinval(tup, desc, 4, &isnull));
	}
	d = SPI_getbinval(tup, desc, 5, &isnull);
	req->pickup_location_id = isnull ? 0 : DatumGetInt64(d);
	req->allow_split = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));
	d = SPI_getbinval(tup, desc, 7, &isnull);
	req->max_shipments = isnull ? 0 : Max(DatumGetInt32(d), 0);
	strategy = SPI_getvalue(tup, desc, 8);
	if (strategy && oms_parse_strategy(strategy, &req->strategy))
		req->has_strategy = true;
	d = SPI_getbinval(tup, desc, 9, &isnull);
	if (!isnull)
	{
		Datum	   *codes;
		int			n;

		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT, &codes, NULL, &n);
		req->exclude = palloc(sizeof(int64) * Max(n, 1));
		for (int i = 0; i < n; i++)
		{
			int64		id = oms_find_location_id(TextDatumGetCString(codes[i]));

			if (id != 0)
				req->exclude[req->nexclude++] = id;
		}
	}
	req->allow_backorder = true;
	return true;
}

/*
 * Reads the backordered lines of order order_id of the pass's SKUs, now
 * that the order is locked, into order; returns how many there are.
 */
static int
read_lines(FillPass *pass, int64 order_id, FillOrder *order)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8ARRAYOID};
	Datum		values[2] = {Int64GetDatum(order_id), pass->skus};
	int			rc;

	oms_prepare(&plan,
				"SELECT line_no, sku_id, qty_backordered FROM oms.order_lines"
				" WHERE order_id = $1 AND qty_backordered > 0 AND sku_id = ANY ($2)"
				" ORDER BY line_no",
				2, argtypes);
	rc = SPI_execute_plan(plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "reading backordered lines");
	order->order_id = order_id;
	order->nlines = (int) SPI_processed;
	order->lines = palloc0(sizeof(WaitingLine) * Max(order->nlines, 1));
	for (int i = 0; i < order->nlines; i++)
	{
		bool		isnull;

		order->lines[i].line_no = result_int32(i, 1, &isnull);
		order->lines[i].sku_id = result_int64(i, 2);
		order->lines[i].backordered = result_int32(i, 3, &isnull);
	}
	SPI_freetuptable(SPI_tuptable);
	return order->nlines;
}

/*
 * Keeps an order that may not split (allow_split false) at the locations it
 * already ships from, if any: every other location is excluded.
 */
static void
keep_to_own_locations(int64 order_id, OrderRequest *req)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtype = INT8OID;
	Datum		value = Int64GetDatum(order_id);
	OmsLocation *all;
	int			nall;
	int64	   *own;
	int			nown;
	int			rc;

	oms_prepare(&plan,
				"SELECT DISTINCT location_id FROM oms.reservation WHERE order_id = $1 AND state <> 'released'",
				1, &argtype);
	rc = SPI_execute_plan(plan, &value, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "reading where an order ships from");
	nown = (int) SPI_processed;
	if (nown == 0)
		return;
	own = palloc(sizeof(int64) * nown);
	for (int i = 0; i < nown; i++)
		own[i] = result_int64(i, 1);
	SPI_freetuptable(SPI_tuptable);

	all = oms_all_locations(&nall);
	req->exclude = repalloc(req->exclude ? req->exclude : palloc(1), sizeof(int64) * (req->nexclude + nall));
	for (int j = 0; j < nall; j++)
	{
		bool		mine = false;

		for (int i = 0; i < nown && !mine; i++)
			mine = own[i] == all[j].id;
		if (!mine)
			req->exclude[req->nexclude++] = all[j].id;
	}
}

/*
 * Turns an order's backordered lines into req's lines, one per SKU with the
 * units its lines wait for (routing works on a SKU's total; step 4 gives the
 * units back to the lines in line order).
 */
static void
set_demand(FillOrder *order, OrderRequest *req)
{
	req->lines = palloc0(sizeof(OrderLine) * order->nlines);
	req->nlines = 0;
	for (int i = 0; i < order->nlines; i++)
	{
		WaitingLine *w = &order->lines[i];
		int			d;

		for (d = 0; d < req->nlines; d++)
			if (req->lines[d].sku_id == w->sku_id)
				break;
		if (d == req->nlines)
		{
			req->lines[d].line_no = w->line_no;
			req->lines[d].sku = "";
			req->lines[d].sku_id = w->sku_id;
			req->lines[d].unit_price = (Datum) 0;
			req->lines[d].demand = d;
			req->nlines++;
		}
		req->lines[d].qty += w->backordered;
	}
}

/*
 * Tells routing what this pass has not promised yet of every free row of
 * req's SKUs: no more than that, less the channel's safety stock there.
 */
static void
set_overrides(FillPass *pass, OrderRequest *req)
{
	req->overrides = palloc(sizeof(RowUnits) * Max(pass->nrows, 1));
	req->noverrides = 0;
	for (int r = 0; r < pass->nrows; r++)
	{
		FreeRow    *row = &pass->rows[r];
		int32		channel_safety = 0;
		RowUnits   *o;
		bool		ordered = false;

		for (int d = 0; d < req->nlines && !ordered; d++)
			ordered = req->lines[d].sku_id == row->row.sku_id;
		if (!ordered)
			continue;
		if (!oms_channel_may_use(&req->channel, row->row.location_id, &channel_safety))
			continue;			/* routing leaves it out anyway */
		o = &req->overrides[req->noverrides++];
		o->row = row->row;
		o->hold_ref = NULL;
		o->qty = Max(row->free - channel_safety, 0);
	}
}

/*
 * Plans order order_id: locks it unless another session holds it, reads its
 * backordered lines, routes them and adds the allocations to the pass's
 * fills.  Runs in an SPI connection of its own, which frees what routing
 * read; what the pass keeps is allocated in keep.
 */
static void
plan_order(FillPass *pass, int64 order_id, MemoryContext keep)
{
	OrderRequest req;
	FillOrder	order;
	RoutePlan  *plan;
	MemoryContext old;
	int			index;

	memset(&req, 0, sizeof(req));
	oms_spi_connect();
	if (!lock_order(order_id, &req) || read_lines(pass, order_id, &order) == 0)
	{
		oms_spi_finish();
		return;
	}
	if (pass->location_id != 0)
	{
		/* Only the location whose units arrived. */
		OmsLocation *all;
		int			nall;

		all = oms_all_locations(&nall);
		req.exclude = repalloc(req.exclude ? req.exclude : palloc(1), sizeof(int64) * (req.nexclude + nall));
		for (int j = 0; j < nall; j++)
			if (all[j].id != pass->location_id)
				req.exclude[req.nexclude++] = all[j].id;
	}
	if (!req.allow_split && req.pickup_location_id == 0)
		keep_to_own_locations(order_id, &req);
	set_demand(&order, &req);
	set_overrides(pass, &req);
	plan = oms_route(&req);

	/* Keep the order and its allocations. */
	old = MemoryContextSwitchTo(keep);
	index = pass->norders++;
	pass->orders[index].order_id = order_id;
	pass->orders[index].nlines = order.nlines;
	pass->orders[index].lines = palloc(sizeof(WaitingLine) * Max(order.nlines, 1));
	memcpy(pass->orders[index].lines, order.lines, sizeof(WaitingLine) * order.nlines);
	if (pass->nfills + plan->nallocs > pass->maxfills)
	{
		pass->maxfills = Max(pass->maxfills * 2, pass->nfills + plan->nallocs);
		pass->fills = repalloc(pass->fills, sizeof(Fill) * pass->maxfills);
	}
	MemoryContextSwitchTo(old);
	for (int a = 0; a < plan->nallocs; a++)
	{
		Allocation *alloc = &plan->allocs[a];
		Fill	   *fill = &pass->fills[pass->nfills++];
		FreeRow    *row = find_row(pass, alloc->row.sku_id, alloc->row.location_id);

		fill->row = alloc->row;
		fill->order = index;
		fill->qty = alloc->qty;
		fill->channel_safety = alloc->channel_safety;
		fill->slots = alloc->slots;
		fill->taken = 0;
		fill->slot = OMS_NO_SLOT;
		if (row)
		{
			int32		promised = Min(alloc->qty, Max(row->free, 0));

			row->free -= promised;
			pass->units -= promised;
		}
	}
	oms_spi_finish();
}

/*
 * Takes the units of n fills at one stock row with the same channel safety
 * stock -- in one step, as many as the row has up to their sum -- and hands
 * them to the fills in order, the oldest order first.  One step per row, not
 * per fill: every take from a row in one transaction makes the next read
 * its versions again.  A caller that holds the stock rows (arrival) never
 * waits: a hot row, whose slots only a wait could settle, is left to the
 * next pass.
 */
static void
take_fills(FillPass *pass, Fill *fills, int n)
{
	Fill	   *first = &fills[0];
	int64		sum = 0;
	int32		qty;
	int32		taken = 0;
	int32		free = 0;
	int32		slot = OMS_NO_SLOT;

	for (int i = 0; i < n; i++)
		sum += fills[i].qty;
	qty = (int32) Min(sum, PG_INT32_MAX);

	oms_spi_connect();
	if (pass->arrival && first->slots > 0)
	{
		if (first->channel_safety == 0)
		{
			slot = oms_take_from_slot(first->row.sku_id, first->row.location_id, qty, first->slots);
			if (slot != OMS_NO_SLOT)
				taken = qty;
		}
	}
	else if (oms_take_stock(first->row.sku_id, first->row.location_id, qty, first->channel_safety,
							first->slots, false, &slot, &free))
		taken = qty;
	else if (free > 0)
	{
		/* The first try settled the row and holds it: what it found is there. */
		qty = Min(free, qty);
		if (oms_take_stock(first->row.sku_id, first->row.location_id, qty, first->channel_safety,
						   0, false, &slot, &free))
			taken = qty;
	}
	oms_spi_finish();

	for (int i = 0; i < n; i++)
	{
		fills[i].taken = Min(fills[i].qty, taken);
		fills[i].slot = slot;
		taken -= fills[i].taken;
	}
}

/* The fills of one SKU, to take in a subtransaction. */
typedef struct SkuFills
{
	FillPass   *pass;
	Fill	   *fills;
	int			n;
} SkuFills;

/*
 * Takes the fills of one SKU, sorted: a step per stock row and channel
 * safety stock.  Always true (oms_in_subtransaction() keeps what it took).
 */
static bool
take_sku(void *arg)
{
	SkuFills   *sku = arg;

	for (int f = 0; f < sku->n;)
	{
		int			n = 1;

		while (f + n < sku->n &&
			   oms_compare_stock_rows(&sku->fills[f + n].row, &sku->fills[f].row) == 0 &&
			   sku->fills[f + n].channel_safety == sku->fills[f].channel_safety)
			n++;
		take_fills(sku->pass, &sku->fills[f], n);
		f += n;
	}
	return true;
}

/*
 * Takes the fills of one SKU in a subtransaction.  When a stock row stays
 * locked beyond lock_timeout (the background worker sets one), what the SKU
 * took is undone and its lines wait for the next pass; the other SKUs go on.
 */
static void
take_sku_fills(FillPass *pass, Fill *fills, int n)
{
	MemoryContext context = CurrentMemoryContext;
	SkuFills	sku = {pass, fills, n};

	PG_TRY();
	{
		(void) oms_in_subtransaction(take_sku, &sku);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(context);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			PG_RE_THROW();
		FlushErrorState();
		for (int i = 0; i < n; i++)
		{
			fills[i].taken = 0;
			fills[i].slot = OMS_NO_SLOT;
		}
	}
	PG_END_TRY();
}

/*
 * Writes what the pass took: a reservation per line and stock row (a SKU's
 * units go to its lines in line order), then each order's lines move the
 * units from backordered to reserved and its statuses are derived, which
 * writes their events.  Orders in order_id order.
 */
static int32
write_fills(FillPass *pass)
{
	static SPIPlanPtr line_plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT4OID, INT4OID};
	Datum		now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	Oid			reservation_seq = oms_relid("reservation_id_seq");
	int32		units = 0;
	OmsInsert	ins;

	oms_insert_open(&ins, "reservation", false);
	for (int f = 0; f < pass->nfills; f++)
	{
		Fill	   *fill = &pass->fills[f];
		FillOrder  *order = &pass->orders[fill->order];
		int32		open = fill->taken;

		for (int i = 0; i < order->nlines && open > 0; i++)
		{
			WaitingLine *line = &order->lines[i];
			int32		qty = Min(open, line->backordered - line->filled);

			if (line->sku_id != fill->row.sku_id || qty <= 0)
				continue;
			oms_insert_set(&ins, "order_id", Int64GetDatum(order->order_id));
			oms_insert_set(&ins, "id", Int64GetDatum(nextval_internal(reservation_seq, false)));
			oms_insert_set(&ins, "line_no", Int32GetDatum(line->line_no));
			oms_insert_set(&ins, "sku_id", Int64GetDatum(fill->row.sku_id));
			oms_insert_set(&ins, "location_id", Int64GetDatum(fill->row.location_id));
			if (fill->slot != OMS_NO_SLOT)
				oms_insert_set(&ins, "slot", Int32GetDatum(fill->slot));
			oms_insert_set(&ins, "qty", Int32GetDatum(qty));
			oms_insert_set(&ins, "state", CStringGetTextDatum("held"));
			oms_insert_set(&ins, "created_at", now);
			oms_insert_row(&ins);
			line->filled += qty;
			open -= qty;
		}
		if (open != 0)
			elog(ERROR, "oms: %d units of a backorder fill found no line", open);
	}
	oms_insert_close(&ins);

	oms_prepare(&line_plan,
				"UPDATE oms.order_lines SET qty_reserved = qty_reserved + $3,"
				"       qty_backordered = qty_backordered - $3"
				" WHERE order_id = $1 AND line_no = $2",
				3, argtypes);
	for (int o = 0; o < pass->norders; o++)
	{
		FillOrder  *order = &pass->orders[o];
		int32		filled = 0;

		for (int i = 0; i < order->nlines; i++)
		{
			WaitingLine *line = &order->lines[i];
			Datum		values[3];
			int			rc;

			if (line->filled == 0)
				continue;
			values[0] = Int64GetDatum(order->order_id);
			values[1] = Int32GetDatum(line->line_no);
			values[2] = Int32GetDatum(line->filled);
			rc = oms_execute_trusted(line_plan, values, NULL, 0);
			oms_check_spi(rc, SPI_OK_UPDATE, "filling a backordered line");
			if (SPI_processed != 1)
				elog(ERROR, "oms: backordered line %d of order %lld vanished",
					 line->line_no, (long long) order->order_id);
			filled += line->filled;
		}
		if (filled > 0)
			oms_settle_order(order->order_id, NULL);
		units += filled;
	}
	return units;
}

/*
 * Fills backordered lines from free units of the given SKUs (every SKU with
 * backorders when nskus is 0), at location_id only when it is not 0, and
 * returns the units given.  The caller is connected to SPI.
 */
static int32
fill_backorders(const int64 *sku_ids, int nskus, int64 location_id, bool arrival)
{
	static SPIPlanPtr candidates_plan = NULL;
	Oid			argtype = INT8ARRAYOID;
	MemoryContext keep = CurrentMemoryContext;
	FillPass	pass;
	int64	   *order_ids;
	char	  **channels;
	int64	   *pickups;
	int64	   *line_skus;
	uint64		ncandidates;
	int			rc;

	memset(&pass, 0, sizeof(pass));
	pass.location_id = location_id;
	pass.arrival = arrival;
	pass.units = (int32) Min(read_free_rows(&pass, sku_ids, nskus), PG_INT32_MAX);
	if (pass.nrows == 0)
		return 0;

	/* The waiting lines of those SKUs, oldest order first, as they are now. */
	oms_prepare(&candidates_plan,
				"SELECT l.order_id, l.sku_id, c.code::text, o.pickup_location_id"
				"  FROM oms.order_lines l"
				"  JOIN oms.orders o ON o.order_id = l.order_id"
				"  JOIN oms.channel c ON c.id = o.channel_id"
				" WHERE l.qty_backordered > 0 AND l.sku_id = ANY ($1)"
				"   AND o.status IN ('backordered', 'partially_shipped')"
				" ORDER BY l.order_id, l.line_no",
				1, &argtype);
	rc = SPI_execute_plan(candidates_plan, &pass.skus, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "reading backordered lines");
	ncandidates = SPI_processed;
	order_ids = palloc(sizeof(int64) * Max(ncandidates, 1));
	line_skus = palloc(sizeof(int64) * Max(ncandidates, 1));
	channels = palloc(sizeof(char *) * Max(ncandidates, 1));
	pickups = palloc(sizeof(int64) * Max(ncandidates, 1));
	for (uint64 i = 0; i < ncandidates; i++)
	{
		bool		isnull;
		Datum		d;

		order_ids[i] = result_int64(i, 1);
		line_skus[i] = result_int64(i, 2);
		channels[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 4, &isnull);
		pickups[i] = isnull ? 0 : DatumGetInt64(d);
	}
	SPI_freetuptable(SPI_tuptable);

	pass.orders = palloc(sizeof(FillOrder) * Max(ncandidates, 1));
	pass.maxfills = 16;
	pass.fills = palloc(sizeof(Fill) * pass.maxfills);

	/* Plan order by order, while units are left to promise. */
	for (uint64 i = 0; i < ncandidates && pass.units > 0;)
	{
		OrderRequest probe;
		uint64		next = i;
		bool		hopeful = false;

		memset(&probe, 0, sizeof(probe));
		if (oms_find_channel(channels[i], &probe.channel))
		{
			probe.pickup_location_id = pickups[i];
			for (next = i; next < ncandidates && order_ids[next] == order_ids[i]; next++)
				hopeful |= may_get_units(&pass, &probe, line_skus[next]);
		}
		while (next < ncandidates && order_ids[next] == order_ids[i])
			next++;
		if (hopeful)
			plan_order(&pass, order_ids[i], keep);
		i = next;
	}
	if (pass.nfills == 0)
		return 0;

	/* Take in the global lock order, a SKU at a time; at one row, the oldest order first. */
	qsort(pass.fills, pass.nfills, sizeof(Fill), compare_fills);
	for (int f = 0; f < pass.nfills;)
	{
		int			n = 1;

		while (f + n < pass.nfills && pass.fills[f + n].row.sku_id == pass.fills[f].row.sku_id)
			n++;
		take_sku_fills(&pass, &pass.fills[f], n);
		f += n;
	}
	return write_fills(&pass);
}

/* Orders int64s. */
static int
compare_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a,
				y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

/*
 * Fills backorders from units that just arrived at location_id (a receipt,
 * an adjustment or count upwards, a bulk sync of many SKUs), in the
 * caller's transaction; the caller holds the stock rows of sku_ids there,
 * so this never waits.  Returns the units given.  Under REPEATABLE READ or
 * SERIALIZABLE it leaves them to the background worker, since locking a
 * backordered order changed since the snapshot would fail the caller.
 */
int32
oms_fill_arrivals(const int64 *sku_ids, int nskus, int64 location_id)
{
	static SPIPlanPtr one_plan = NULL;
	static SPIPlanPtr all_plan = NULL;
	Oid			argtype = INT8OID;
	int64	   *given;
	int64	   *waiting;
	int			nwaiting = 0;
	int			rc;

	if (IsolationUsesXactSnapshot() || nskus <= 0)
		return 0;
	if (nskus == 1)
	{
		/* The usual receipt, of a SKU nobody waits for: one index probe. */
		Datum		value = Int64GetDatum(sku_ids[0]);

		oms_prepare(&one_plan,
					"SELECT FROM oms.order_lines WHERE sku_id = $1 AND qty_backordered > 0 LIMIT 1",
					1, &argtype);
		rc = SPI_execute_plan(one_plan, &value, NULL, false, 1);
		oms_check_spi(rc, SPI_OK_SELECT, "looking for backorders");
		if (SPI_processed == 0)
			return 0;
		return fill_backorders(sku_ids, 1, location_id, true);
	}

	/* Many SKUs: those of them that lines wait for (the index is small). */
	oms_prepare(&all_plan,
				"SELECT DISTINCT sku_id FROM oms.order_lines WHERE qty_backordered > 0",
				0, NULL);
	rc = SPI_execute_plan(all_plan, NULL, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "looking for backorders");
	given = palloc(sizeof(int64) * nskus);
	memcpy(given, sku_ids, sizeof(int64) * nskus);
	qsort(given, nskus, sizeof(int64), compare_int64);
	waiting = palloc(sizeof(int64) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		int64		sku_id = result_int64(i, 1);

		if (bsearch(&sku_id, given, nskus, sizeof(int64), compare_int64))
			waiting[nwaiting++] = sku_id;
	}
	SPI_freetuptable(SPI_tuptable);
	if (nwaiting == 0)
		return 0;
	return fill_backorders(waiting, nwaiting, location_id, true);
}

/*
 * oms.allocate_backorders(sku): fills backordered lines of sku (of every
 * SKU when NULL) from the units free now; returns the units given.
 */
Datum
oms_allocate_backorders(PG_FUNCTION_ARGS)
{
	int32		units;

	oms_spi_connect();
	if (PG_ARGISNULL(0))
		units = fill_backorders(NULL, 0, 0, false);
	else
	{
		OmsRef		sku = oms_lookup(OMS_SKU, PG_GETARG_TEXT_PP(0));

		units = fill_backorders(&sku.id, 1, 0, false);
	}
	oms_spi_finish();
	PG_RETURN_INT32(units);
}
