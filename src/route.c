/*-------------------------------------------------------------------------
 *
 * route.c
 *	  Choosing the locations an order's units come from.
 *
 *	  oms_route() reads the candidates (eligible, active locations with free
 *	  units for the channel) in one query and decides:
 *
 *	  1. a single location that has every unit, if any: the nearest to
 *	     ship_to, then the one of highest priority, then by code;
 *	  2. otherwise, when splitting is allowed, locations one at a time, each
 *	     the one that fills the most of what is still open (same tie-breaks),
 *	     up to max_shipments;
 *	  3. what stays open is backordered, or the order fails.
 *
 *	  The reservation engine reserves exactly what the plan says; if a racing
 *	  session took the units first, place_order routes again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "oms.h"

/* One location that can serve some of the order. */
typedef struct Candidate
{
	int64		location_id;
	char	   *code;
	int32		priority;
	double		distance_km;
	int32	   *available;		/* per line; 0 where it has none */
	int32	   *channel_safety; /* per line */
	int32	   *slots;			/* per line */
} Candidate;

/*
 * Great-circle distance in kilometres between two points given in degrees.
 */
static double
haversine_km(double lat1, double lon1, double lat2, double lon2)
{
	const double r = 6371.0088;
	double		p1 = lat1 * M_PI / 180.0,
				p2 = lat2 * M_PI / 180.0;
	double		dp = p2 - p1,
				dl = (lon2 - lon1) * M_PI / 180.0;
	double		a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);

	return 2 * r * asin(Min(1.0, sqrt(a)));
}

/*
 * Whether location may serve req, and the units the channel keeps back there.
 */
static bool
eligible(OrderRequest *req, const OmsLocation *loc, int32 *channel_safety)
{
	if (!loc->active)
		return false;
	if (req->pickup_location_id ? (loc->id != req->pickup_location_id || !loc->can_pickup)
		: !loc->can_ship)
		return false;
	for (int i = 0; i < req->nexclude; i++)
		if (req->exclude[i] == loc->id)
			return false;
	return oms_channel_may_use(&req->channel, loc->id, channel_safety);
}

/*
 * Reads the candidate locations of req, with what each has of each line.
 * The stock rows come from one query; which locations may serve the order,
 * and how, from the master-data cache.
 */
static Candidate *
read_candidates(OrderRequest *req, int *ncand)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8ARRAYOID, TEXTOID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};
	Datum	   *skus = palloc(sizeof(Datum) * req->nlines);
	Candidate  *cands;
	SPITupleTable *rows;
	uint64		nrows;
	int			n = 0;
	int			rc;

	for (int i = 0; i < req->nlines; i++)
		skus[i] = Int64GetDatum(req->lines[i].sku_id);

	/*
	 * Free units: unexpired holds count against them, except the holds of
	 * the order's own hold_ref.  For a hot row this is an upper bound: its
	 * slots' reservations are not added up here, which would mean reading
	 * every slot on every order; the reservation step finds the exact figure
	 * when it matters, and a second attempt routes with it (overrides).
	 * Rows come grouped by location.
	 */
	oms_prepare(&plan,
				"SELECT st.location_id, st.sku_id,"
				"       st.on_hand - st.reserved - st.safety_stock"
				"       - CASE WHEN st.held > 0 THEN"
				"           (SELECT coalesce(sum(h.qty), 0) FROM oms.hold_line h"
				"             WHERE h.sku_id = st.sku_id AND h.location_id = st.location_id"
				"               AND h.expires_at > now() AND h.hold_ref IS DISTINCT FROM $2)::integer"
				"         ELSE 0 END,"
				"       st.slots"
				"  FROM oms.stock st WHERE st.sku_id = ANY ($1)"
				" ORDER BY st.location_id",
				2, argtypes);
	values[0] = PointerGetDatum(construct_array(skus, req->nlines, INT8OID, 8, true, TYPALIGN_DOUBLE));
	values[1] = req->hold_ref ? CStringGetTextDatum(req->hold_ref) : (Datum) 0;
	nulls[1] = req->hold_ref ? ' ' : 'n';
	rc = SPI_execute_plan(plan, values, nulls, true, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "reading routing candidates");

	/* Keep the result: a reload of the cache below runs queries of its own. */
	rows = SPI_tuptable;
	nrows = SPI_processed;
	cands = palloc0(sizeof(Candidate) * Max(nrows, 1));
	for (uint64 r = 0; r < nrows; r++)
	{
		HeapTuple	tup = rows->vals[r];
		TupleDesc	desc = rows->tupdesc;
		bool		isnull;
		int64		location_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		int64		sku_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		int32		free = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
		int32		channel_safety;
		Candidate  *c;
		int			line;

		if (n == 0 || cands[n - 1].location_id != location_id)
		{
			OmsLocation loc;

			if (!oms_find_location(location_id, &loc) || !eligible(req, &loc, &channel_safety))
				continue;
			c = &cands[n++];
			c->location_id = location_id;
			c->code = loc.code;
			c->priority = loc.priority;
			c->distance_km = req->has_point ?
				haversine_km(req->latitude, req->longitude, loc.latitude, loc.longitude) : 0.0;
			c->available = palloc0(sizeof(int32) * req->nlines);
			c->channel_safety = palloc0(sizeof(int32) * req->nlines);
			c->slots = palloc0(sizeof(int32) * req->nlines);
		}
		c = &cands[n - 1];
		for (line = 0; line < req->nlines; line++)
			if (req->lines[line].sku_id == sku_id)
				break;
		(void) oms_channel_may_use(&req->channel, location_id, &channel_safety);
		c->available[line] = Max(free - channel_safety, 0);
		for (int o = 0; o < req->noverrides; o++)
			if (req->overrides[o].sku_id == sku_id && req->overrides[o].location_id == location_id)
				c->available[line] = Min(c->available[line], req->overrides[o].qty);
		c->channel_safety[line] = channel_safety;
		c->slots[line] = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
	}
	*ncand = n;
	return cands;
}

/*
 * True if candidate a is better than b at equal coverage: nearer to ship_to,
 * then of higher priority, then the smaller code.
 */
static bool
better(Candidate *a, Candidate *b)
{
	if (a->distance_km != b->distance_km)
		return a->distance_km < b->distance_km;
	if (a->priority != b->priority)
		return a->priority > b->priority;
	return strcmp(a->code, b->code) < 0;
}

/*
 * Units candidate c can fill of what is still open.
 */
static int64
coverage(OrderRequest *req, Candidate *c, int32 *open)
{
	int64		units = 0;

	for (int i = 0; i < req->nlines; i++)
		units += Min(c->available[i], open[i]);
	return units;
}

/*
 * Decides where each unit of req comes from.  Lines that cannot be filled
 * are left to the caller: short_line names the first of them.
 */
RoutePlan *
oms_route(OrderRequest *req)
{
	RoutePlan  *plan = palloc0(sizeof(RoutePlan));
	int			ncand;
	Candidate  *cands = read_candidates(req, &ncand);
	int32	   *open = palloc(sizeof(int32) * req->nlines);
	bool	   *used = palloc0(sizeof(bool) * Max(ncand, 1));
	int64		total = 0;
	int			shipments = 0;
	int			max_shipments;
	int			i;

	for (i = 0; i < req->nlines; i++)
	{
		open[i] = req->lines[i].qty;
		total += open[i];
	}
	plan->allocs = palloc(sizeof(Allocation) * Max(ncand * req->nlines, 1));
	plan->short_line = -1;

	/* A pickup order is collected whole from one store. */
	max_shipments = req->pickup_location_id || !req->allow_split ? 1 : req->max_shipments;

	while (total > 0 && (max_shipments == 0 || shipments < max_shipments))
	{
		int			best = -1;
		int64		best_units = 0;

		for (i = 0; i < ncand; i++)
		{
			int64		units;

			if (used[i])
				continue;
			units = coverage(req, &cands[i], open);
			if (units > best_units || (units == best_units && units > 0 && better(&cands[i], &cands[best])))
			{
				best = i;
				best_units = units;
			}
		}
		if (best < 0)
			break;

		/* Without splitting, only a location with everything will do (or backorder). */
		if (max_shipments == 1 && best_units < total && !req->allow_backorder)
			break;

		used[best] = true;
		shipments++;
		for (i = 0; i < req->nlines; i++)
		{
			int32		take = Min(cands[best].available[i], open[i]);
			Allocation *a;

			if (take == 0)
				continue;
			a = &plan->allocs[plan->nallocs++];
			a->line = i;
			a->sku_id = req->lines[i].sku_id;
			a->location_id = cands[best].location_id;
			a->qty = take;
			a->channel_safety = cands[best].channel_safety[i];
			a->slots = cands[best].slots[i];
			a->slot = OMS_NO_SLOT;
			open[i] -= take;
			total -= take;
		}
	}

	for (i = 0; i < req->nlines; i++)
	{
		req->lines[i].placed = req->lines[i].qty - open[i];
		if (open[i] > 0 && plan->short_line < 0)
		{
			int64		available = 0;

			plan->short_line = i;
			for (int c = 0; c < ncand; c++)
				available += cands[c].available[i];
			plan->short_available = (int32) Min(available, PG_INT32_MAX);
		}
	}

	/* Reserve in one global order: no two sessions wait for each other in a cycle. */
	qsort(plan->allocs, plan->nallocs, sizeof(Allocation), oms_compare_allocations);
	return plan;
}

/*
 * Orders allocations by stock row: (sku_id, location_id).
 */
int
oms_compare_allocations(const void *a, const void *b)
{
	const Allocation *x = a;
	const Allocation *y = b;

	if (x->sku_id != y->sku_id)
		return x->sku_id < y->sku_id ? -1 : 1;
	if (x->location_id != y->location_id)
		return x->location_id < y->location_id ? -1 : 1;
	return 0;
}
