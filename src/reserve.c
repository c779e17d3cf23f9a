/*-------------------------------------------------------------------------
 *
 * reserve.c
 *	  Reserving a whole order or hold: route it (route.c), then take every
 *	  allocation's units from its stock row (stock.c) all or nothing, in one
 *	  pass in (sku_id, location_id) order, giving back the units of a hold
 *	  it replaces on the way; route again, a bounded number of times, when a
 *	  racing session took the units first or a location reached its daily
 *	  capacity.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "utils/resowner.h"

#include "oms.h"

/* Times place_order routes again after racing sessions took its units. */
#define OMS_ROUTE_ATTEMPTS 3

/*
 * Runs fn(arg) in a subtransaction that is kept when fn returns true and
 * rolled back, with every lock it took, when fn returns false or fails.  A
 * failure is rethrown once our subtransaction is gone: a caller's exception
 * block must not roll back ours instead of its own.
 */
static bool
in_subtransaction(bool (*fn) (void *arg), void *arg)
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

/* A plan to take, with the hold lines to give back on the way. */
typedef struct PlanTake
{
	RoutePlan  *plan;
	bool		hold;
	RowUnits   *release;
	int			nrelease;
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
			t->short_alloc = a;
			return false;
		}
		a++;
	}

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
		PlanTake	take = {plan, hold, release, nrelease, -1, 0, 0};
		int			short_alloc;
		int32		short_free;

		plan->attempts = attempt;
		if (plan->short_line >= 0 && (hold || !req->allow_backorder))
			oms_insufficient(req, plan->short_line, plan->short_available, plan->max_shipments);

		/*
		 * All of the plan or none: a row that falls short undoes what this
		 * attempt locked and took, so the next attempt can take rows in order
		 * from scratch.
		 */
		if (take_one_slot(&take) || in_subtransaction(run_plan_take, &take))
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
