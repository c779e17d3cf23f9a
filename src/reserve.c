/*-------------------------------------------------------------------------
 *
 * reserve.c
 *	  Reserving a whole order or hold: route it (route.c), then take every
 *	  allocation's units from its stock row (stock.c) all or nothing, in one
 *	  pass in (sku_id, location_id) order, giving back the units of a hold
 *	  it replaces on the way; route again, a bounded number of times, when a
 *	  racing session took the units first or a location reached its daily
 *	  capacity.  An order that allows backorders takes, on its last attempt,
 *	  what each row has and backorders the rest.  And closing an order's reservations: released units go back
 *	  to their stock row, shipped ones leave on_hand through the ledger.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"

#include "oms.h"

/* Times place_order routes again after racing sessions took its units. */
#define OMS_ROUTE_ATTEMPTS 3

/* A plan to take, with the hold lines to give back on the way. */
typedef struct PlanTake
{
	OrderRequest *req;
	RoutePlan  *plan;
	bool		hold;
	RowUnits   *release;
	int			nrelease;
	bool		partial;		/* a row short of units gives what it has */
	int			short_alloc;	/* out: the allocation that fell short, or -1 */
	int32		short_free;		/* out: what its row had */
	int64		full_location;	/* out: a location found at its capacity, or 0 */
} PlanTake;

static int
compare_int64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a,
				y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

/*
 * Counts an order against the daily capacity of each of its locations that
 * has one, in location order; returns the first that is full, or 0.
 */
static int64
count_orders(RoutePlan *plan)
{
	static SPIPlanPtr count_plan = NULL;
	Oid			types[2] = {INT8OID, INT4OID};
	int64	   *ids = palloc(sizeof(int64) * Max(plan->nchosen, 1));
	int32	   *caps = palloc(sizeof(int32) * Max(plan->nchosen, 1));
	int			n = 0;

	for (int c = 0; c < plan->nchosen; c++)
		if (plan->sites[plan->chosen[c]].daily_capacity >= 0)
			ids[n++] = plan->sites[plan->chosen[c]].location_id;
	if (n == 0)
		return 0;
	qsort(ids, n, sizeof(int64), compare_int64);
	for (int k = 0; k < n; k++)
		for (int j = 0; j < plan->nsites; j++)
			if (plan->sites[j].location_id == ids[k])
				caps[k] = plan->sites[j].daily_capacity;

	oms_prepare(&count_plan,
				"INSERT INTO oms.location_load AS l (location_id, day, orders)"
				" VALUES ($1, (pg_catalog.now() AT TIME ZONE 'UTC')::date, 1)"
				" ON CONFLICT (location_id, day) DO UPDATE SET orders = l.orders + 1"
				" WHERE l.orders < $2",
				2, types);
	for (int k = 0; k < n; k++)
	{
		Datum		values[2] = {Int64GetDatum(ids[k]), Int32GetDatum(caps[k])};
		int			rc;

		if (caps[k] == 0)
			return ids[k];
		rc = SPI_execute_plan(count_plan, values, NULL, false, 0);
		oms_check_spi(rc, SPI_OK_INSERT, "counting the order against daily capacity");
		if (SPI_processed == 0)
			return ids[k];
	}
	return 0;
}

/*
 * Leaves out of a plan taken in part the allocations that got nothing, and
 * the locations left without one; each line's placed units (the rest is
 * backordered) and the plan's units follow what was taken.
 */
static void
keep_taken(PlanTake *t)
{
	RoutePlan  *plan = t->plan;
	OrderRequest *req = t->req;
	int		   *number = palloc0(sizeof(int) * (plan->nchosen + 1));
	int			n = 0,
				c = 0;

	for (int i = 0; i < req->nlines; i++)
		req->lines[i].placed = 0;
	plan->units = 0;
	for (int a = 0; a < plan->nallocs; a++)
	{
		Allocation *alloc = &plan->allocs[a];

		if (alloc->qty == 0)
			continue;
		req->lines[alloc->line].placed += alloc->qty;
		plan->units += alloc->qty;
		number[alloc->shipment] = 1;
		plan->allocs[n++] = *alloc;
	}
	plan->nallocs = n;
	for (int k = 0; k < plan->nchosen; k++)
		if (number[k + 1])
		{
			plan->chosen[c] = plan->chosen[k];
			number[k + 1] = ++c;
		}
	plan->nchosen = c;
	for (int a = 0; a < plan->nallocs; a++)
		plan->allocs[a].shipment = number[plan->allocs[a].shipment];
}

/*
 * Takes the units of plan, first giving back the held units in release (a
 * hold being replaced or turned into an order) at the same stock rows, all
 * in one pass in (sku_id, location_id) order.  Runs in a subtransaction: if
 * a row falls short, everything this attempt locked and took is undone and
 * false is returned with the allocation that fell short.
 */
static bool
run_plan_take(void *arg)
{
	PlanTake   *t = arg;
	int			a = 0,
				r = 0;

	while (a < t->plan->nallocs || r < t->nrelease)
	{
		Allocation *alloc = a < t->plan->nallocs ? &t->plan->allocs[a] : NULL;
		RowUnits   *held = r < t->nrelease ? &t->release[r] : NULL;

		/* At the same row, the hold's units go back before the new take. */
		if (held && (alloc == NULL || oms_compare_stock_rows(&held->row, &alloc->row) <= 0))
		{
			oms_release_hold_line(held->hold_ref, held->row.sku_id, held->row.location_id);
			r++;
			continue;
		}
		if (!oms_take_stock(alloc->row.sku_id, alloc->row.location_id, alloc->qty, alloc->channel_safety,
							alloc->slots, t->hold, &alloc->slot, &t->short_free))
		{
			if (!t->partial)
			{
				t->short_alloc = a;
				return false;
			}
			/* The failed take settled the row and holds it: what it found is there. */
			alloc->qty = Max(t->short_free, 0);
			if (alloc->qty > 0 &&
				!oms_take_stock(alloc->row.sku_id, alloc->row.location_id, alloc->qty, alloc->channel_safety,
								0, t->hold, &alloc->slot, &t->short_free))
				elog(ERROR, "oms: a settled stock row lost units under its lock");
		}
		a++;
	}
	if (t->partial)
		keep_taken(t);

	/* Orders count against their locations' daily capacity; holds do not. */
	if (!t->hold && (t->full_location = count_orders(t->plan)) != 0)
		return false;
	return true;
}

/*
 * Takes a plan of one hot row from a slot without a subtransaction around
 * it, which an order of one line at one hot row (a flash sale) would
 * otherwise pay for: a slot take that fails holds no lock, and one that
 * succeeds leaves nothing else to lock or count.  False when the plan is
 * not of that kind, or its slots had nothing; the caller then takes the
 * plan the usual way, settling the row.
 */
static bool
take_one_slot(PlanTake *t)
{
	RoutePlan  *plan = t->plan;
	Allocation *alloc = &plan->allocs[0];

	if (t->hold || t->nrelease > 0 || plan->nallocs != 1 || plan->nchosen != 1 ||
		alloc->slots == 0 || alloc->channel_safety != 0 ||
		plan->sites[plan->chosen[0]].daily_capacity >= 0)
		return false;
	alloc->slot = oms_take_from_slot(alloc->row.sku_id, alloc->row.location_id, alloc->qty, alloc->slots);
	if (alloc->slot != OMS_NO_SLOT)
		return true;
	alloc->slots = 0;			/* it looked long enough: settle straight away */
	return false;
}

/*
 * Routes req and takes its units for an order (or, with hold, a cart hold),
 * giving back the held units in release on the way.  A plan that a racing
 * session spoiled is routed again, a bounded number of times.  Lines that
 * cannot be filled are an error unless the order allows backorders; each
 * line's placed units are set.
 */
RoutePlan *
oms_reserve(OrderRequest *req, bool hold, RowUnits *release, int nrelease)
{
	int			attempt = 1;

	qsort(release, nrelease, sizeof(RowUnits), oms_compare_stock_rows);
	for (;;)
	{
		RoutePlan  *plan = oms_route(req);
		PlanTake	take = {req, plan, hold, release, nrelease, false, -1, 0, 0};
		int			short_alloc;
		int32		short_free;

		plan->attempts = attempt;
		if (plan->short_line >= 0 && (hold || !req->allow_backorder))
			oms_insufficient(req, plan->short_line, plan->short_available, plan->max_shipments);

		/* Racing sessions spoiled every plan so far: take what there is. */
		take.partial = !hold && req->allow_backorder && attempt == OMS_ROUTE_ATTEMPTS;

		/*
		 * All of the plan or none: a row that falls short undoes what this
		 * attempt locked and took, so the next attempt can take rows in order
		 * from scratch.
		 */
		if (take_one_slot(&take) || oms_in_subtransaction(run_plan_take, &take))
			return plan;
		if (take.full_location != 0)
		{
			/* Route again without the location that filled up meanwhile. */
			if (req->full == NULL)
				req->full = palloc(sizeof(int64) * OMS_ROUTE_ATTEMPTS);
			req->full[req->nfull++] = take.full_location;
			if (attempt++ == OMS_ROUTE_ATTEMPTS)
				ereport(ERROR,
						(errcode(ERRCODE_OMS_CAPACITY_REACHED),
						 errmsg("every location able to fill the order reached its daily capacity"),
						 errhint("Raise oms.location.daily_capacity, or retry tomorrow.")));
			continue;
		}
		short_alloc = take.short_alloc;
		short_free = take.short_free;
		if (attempt++ == OMS_ROUTE_ATTEMPTS)
			oms_insufficient(req, plan->allocs[short_alloc].line, Max(short_free, 0), plan->max_shipments);

		/* Route again knowing what that row really has. */
		if (req->overrides == NULL)
			req->overrides = palloc(sizeof(RowUnits) * OMS_ROUTE_ATTEMPTS);
		req->overrides[req->noverrides].hold_ref = NULL;
		req->overrides[req->noverrides].row = plan->allocs[short_alloc].row;
		req->overrides[req->noverrides].qty = Max(short_free, 0);
		req->noverrides++;
	}
}

/*
 * Closes up to qty units held by the held reservations of order_id -- of one
 * line, or every line when line_no is 0; at one location, or any when
 * location_id is 0 -- in stock-row order, and returns how many it closed.
 * Released units go back to their stock row; shipped ones (consumed) leave
 * on_hand through the ledger with reference.
 */
int32
oms_close_reservations(int64 order_id, int32 line_no, int64 location_id, int32 qty,
					   bool shipped, text *reference)
{
	static SPIPlanPtr select_plan = NULL;
	static SPIPlanPtr close_plan = NULL;
	static SPIPlanPtr split_plan = NULL;
	Oid			argtypes[4] = {INT8OID, INT4OID, INT8OID, TEXTOID};
	Datum		values[4];
	int32		closed = 0;
	uint64		n;
	int64	   *ids;
	int64	   *skus;
	int64	   *locs;
	int32	   *slots;
	int32	   *qtys;
	int			rc;

	oms_prepare(&select_plan,
				"SELECT id, sku_id, location_id, coalesce(slot, -1), qty FROM oms.reservation"
				" WHERE order_id = $1 AND state = 'held' AND ($2 = 0 OR line_no = $2)"
				"   AND ($3 = 0 OR location_id = $3)"
				" ORDER BY sku_id, location_id, slot NULLS FIRST, id",
				3, argtypes);
	values[0] = Int64GetDatum(order_id);
	values[1] = Int32GetDatum(line_no);
	values[2] = Int64GetDatum(location_id);
	rc = SPI_execute_plan(select_plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "reading reservations");

	/* Copy the rows out: the statements below reuse SPI's result. */
	n = SPI_processed;
	ids = palloc(sizeof(int64) * Max(n, 1));
	skus = palloc(sizeof(int64) * Max(n, 1));
	locs = palloc(sizeof(int64) * Max(n, 1));
	slots = palloc(sizeof(int32) * Max(n, 1));
	qtys = palloc(sizeof(int32) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		skus[i] = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		locs[i] = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		slots[i] = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
		qtys[i] = DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
	}

	oms_prepare(&close_plan,
				"UPDATE oms.reservation SET state = $4, closed_at = now()"
				" WHERE order_id = $1 AND id = $3",
				4, argtypes);
	oms_prepare(&split_plan,
				"WITH kept AS (UPDATE oms.reservation SET qty = qty - $2"
				"               WHERE order_id = $1 AND id = $3 RETURNING *)"
				" INSERT INTO oms.reservation (order_id, line_no, sku_id, location_id, slot, qty,"
				"                              state, created_at, closed_at)"
				" SELECT order_id, line_no, sku_id, location_id, slot, $2, $4, created_at, now()"
				"   FROM kept",
				4, argtypes);
	values[3] = CStringGetTextDatum(shipped ? "consumed" : "released");
	for (uint64 i = 0; i < n && closed < qty; i++)
	{
		int32		take = Min(qtys[i], qty - closed);

		if (shipped)
			oms_ship_units(skus[i], locs[i], slots[i], take, reference);
		else
			oms_return_stock(skus[i], locs[i], slots[i], take, false);
		values[1] = Int32GetDatum(take);
		values[2] = Int64GetDatum(ids[i]);
		rc = oms_execute_trusted(take == qtys[i] ? close_plan : split_plan, values, NULL, 0);
		oms_check_spi(rc, take == qtys[i] ? SPI_OK_UPDATE : SPI_OK_INSERT, "closing a reservation");
		closed += take;
	}
	return closed;
}
