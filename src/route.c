/*-------------------------------------------------------------------------
 *
 * route.c
 *	  Choosing the locations an order's units come from.
 *
 *	  oms_route() reads the candidates -- the locations that may serve the
 *	  order, with their free units of each line, straight from the stock
 *	  table's primary key index -- turns the
 *	  channel's strategy into a search problem (search.c) and turns the
 *	  chosen set of locations into allocations: each line takes its units
 *	  from the chosen locations in shipment order.
 *
 *	  The reservation engine reserves exactly what the plan says; if a racing
 *	  session took the units first, place_order routes again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "oms.h"

/* Setting (oms.c defines it): most search nodes for one order. */
int			oms_route_search_limit = 20000;

/* Each strategy's terms, after units (README, "Routing"). */
static const RouteTerm strategy_terms[OMS_NUM_STRATEGIES][ROUTE_MAX_TERMS + 1] = {
	[OMS_FEWEST_SHIPMENTS] = {ROUTE_TERM_SHIPMENTS, ROUTE_TERM_COST, ROUTE_TERM_PRIORITY, -1},
	[OMS_CHEAPEST] = {ROUTE_TERM_COST, ROUTE_TERM_SHIPMENTS, ROUTE_TERM_PRIORITY, -1},
	[OMS_NEAREST_FIRST] = {ROUTE_TERM_SHIPMENTS, ROUTE_TERM_DISTANCE, ROUTE_TERM_PRIORITY, -1},
	[OMS_PRIORITY_FIRST] = {ROUTE_TERM_SHIPMENTS, ROUTE_TERM_PRIORITY, ROUTE_TERM_COST, -1},
	[OMS_BALANCE_STOCK] = {ROUTE_TERM_SHIPMENTS, ROUTE_TERM_STOCK, ROUTE_TERM_COST, ROUTE_TERM_PRIORITY},
};

/* Millionths: distances and costs are compared as whole numbers of them. */
#define MICRO 1000000.0

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
 * Why loc may not serve req ("inactive", "cannot_ship", ...), or NULL if
 * it may.  Daily capacity is checked by the caller.
 */
const char *
oms_route_exclusion(OrderRequest *req, const OmsLocation *loc)
{
	int32		channel_safety;

	if (!loc->active)
		return "inactive";
	if (req->pickup_location_id)
	{
		if (loc->id != req->pickup_location_id)
			return "not_pickup_location";
		if (!loc->can_pickup)
			return "cannot_pickup";
	}
	else if (!loc->can_ship)
		return "cannot_ship";
	for (int i = 0; i < req->nexclude; i++)
		if (req->exclude[i] == loc->id)
			return "excluded_by_request";
	if (!oms_channel_may_use(&req->channel, loc->id, &channel_safety))
		return "channel_not_allowed";
	return NULL;
}

/* Makes site of location loc, with nothing of any line yet. */
static void
init_site(OrderRequest *req, RouteSite *site, const OmsLocation *loc)
{
	double		km = req->has_point ?
		haversine_km(req->latitude, req->longitude, loc->latitude, loc->longitude) : 0.0;

	site->location_id = loc->id;
	site->code = loc->code;
	site->code_rank = loc->code_rank;
	site->priority = loc->priority;
	site->daily_capacity = loc->daily_capacity;
	site->has_cost_model = loc->has_cost_model;
	site->distance = (int64) llround(km * MICRO);
	site->cost = loc->has_cost_model ?
		(int64) llround((loc->shipping_cost_fixed +
						 loc->shipping_cost_per_km * ((double) site->distance / MICRO)) * MICRO) :
		site->distance;
	site->available = palloc0(sizeof(int32) * req->nlines);
	(void) oms_channel_may_use(&req->channel, loc->id, &site->channel_safety);
	site->slots = palloc0(sizeof(int32) * req->nlines);
}

/* One stock row of an ordered SKU, as routing reads it. */
typedef struct StockFree
{
	int64		location_id;
	int			line;
	int32		free;			/* on_hand - reserved - unexpired holds - safety_stock */
	int32		slots;
} StockFree;

/*
 * Units of the unexpired holds at a stock row, but those of hold_ref.
 */
static int32
unexpired_holds(int64 sku_id, int64 location_id, const char *hold_ref)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, TEXTOID};
	Datum		values[3] = {Int64GetDatum(sku_id), Int64GetDatum(location_id),
							 hold_ref ? CStringGetTextDatum(hold_ref) : (Datum) 0};
	char		nulls[3] = {' ', ' ', hold_ref ? ' ' : 'n'};
	bool		isnull;
	int			rc;

	oms_prepare(&plan,
				"SELECT coalesce(sum(qty), 0)::integer FROM oms.hold_line"
				" WHERE sku_id = $1 AND location_id = $2 AND expires_at > now()"
				"   AND hold_ref IS DISTINCT FROM $3",
				3, argtypes);
	rc = SPI_execute_plan(plan, values, nulls, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "adding up holds");
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* The columns of oms.stock that routing reads. */
typedef enum StockColumn
{
	STOCK_LOCATION_ID,
	STOCK_ON_HAND,
	STOCK_RESERVED,
	STOCK_HELD,
	STOCK_SAFETY_STOCK,
	STOCK_SLOTS,
	STOCK_NCOLUMNS
} StockColumn;

static const char *const stock_column_names[STOCK_NCOLUMNS] = {
	"location_id", "on_hand", "reserved", "held", "safety_stock", "slots"
};

/*
 * Finds the attribute numbers of the stock columns routing reads, by name:
 * an upgrade that adds or drops a column of oms.stock moves them.
 */
static void
stock_columns(Relation rel, AttrNumber *attnums, AttrNumber *last)
{
	TupleDesc	desc = RelationGetDescr(rel);

	*last = 0;
	for (int c = 0; c < STOCK_NCOLUMNS; c++)
	{
		attnums[c] = SPI_fnumber(desc, stock_column_names[c]);
		if (attnums[c] <= 0)
			elog(ERROR, "oms: oms.stock has no column \"%s\"", stock_column_names[c]);
		*last = Max(*last, attnums[c]);
	}
}

/*
 * Reads the stock rows of req's SKUs straight from oms.stock's primary key
 * index, with a snapshot that sees what this transaction took so far (an
 * earlier order of the same statement, say); returns them by SKU.
 *
 * For a hot row the free units are an upper bound: its slots' reservations
 * are not added up here, which would mean reading every slot on every order.
 * The reservation step finds the exact figure when it matters, and the next
 * attempt routes with it (overrides).
 *
 * This one reads them with a query, for an oms.stock that Citus holds.
 */
static StockFree *
read_stock_sql(OrderRequest *req, int *nrows)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[1] = {INT8OID};
	StockFree  *rows;
	int			n = 0,
				room = 8 * req->nlines;

	oms_prepare(&plan,
				"SELECT location_id, on_hand::bigint - reserved - safety_stock, held, slots"
				"  FROM oms.stock WHERE sku_id = $1",
				1, argtypes);
	rows = palloc(sizeof(StockFree) * room);
	for (int i = 0; i < req->nlines; i++)
	{
		Datum		sku_id = Int64GetDatum(req->lines[i].sku_id);
		int			rc = SPI_execute_plan(plan, &sku_id, NULL, false, 0);
		uint64		count = SPI_processed;
		SPITupleTable *result = SPI_tuptable;

		oms_check_spi(rc, SPI_OK_SELECT, "reading stock");
		for (uint64 r = 0; r < count; r++)
		{
			HeapTuple	tuple = result->vals[r];
			bool		isnull;
			int64		location_id = DatumGetInt64(SPI_getbinval(tuple, result->tupdesc, 1, &isnull));
			int64		free = DatumGetInt64(SPI_getbinval(tuple, result->tupdesc, 2, &isnull));

			if (DatumGetInt32(SPI_getbinval(tuple, result->tupdesc, 3, &isnull)) > 0)
				free -= unexpired_holds(req->lines[i].sku_id, location_id, req->hold_ref);
			if (n == room)
			{
				room *= 2;
				rows = repalloc(rows, sizeof(StockFree) * room);
			}
			rows[n].location_id = location_id;
			rows[n].line = i;
			rows[n].free = (int32) Max(Min(free, PG_INT32_MAX), PG_INT32_MIN);
			rows[n].slots = DatumGetInt32(SPI_getbinval(tuple, result->tupdesc, 4, &isnull));
			n++;
		}
		SPI_freetuptable(result);
	}
	*nrows = n;
	return rows;
}

/*
 * Reads the stock rows of req's SKUs straight from oms.stock's primary key
 * index; with a query when Citus holds oms.stock (read_stock_sql).
 */
static StockFree *
read_stock(OrderRequest *req, int *nrows)
{
	Relation	rel;
	Relation	idx;
	TupleTableSlot *slot;
	AttrNumber	att[STOCK_NCOLUMNS];
	AttrNumber	last;
	Snapshot	snapshot;
	IndexScanDesc scan;
	StockFree  *rows;
	int			n = 0,
				room = 8 * req->nlines;

	if (oms_citus_named("stock"))
		return read_stock_sql(req, nrows);
	rel = table_open(oms_relid("stock"), AccessShareLock);
	idx = index_open(oms_relid("stock_pkey"), AccessShareLock);
	slot = table_slot_create(rel, NULL);

#define STOCK_INT32(c) DatumGetInt32(slot->tts_values[att[c] - 1])

	stock_columns(rel, att, &last);
	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetTransactionSnapshot());
	rows = palloc(sizeof(StockFree) * room);
	scan = index_beginscan(rel, idx, snapshot, 1, 0);
	for (int i = 0; i < req->nlines; i++)
	{
		ScanKeyData key;

		/* The primary key's first column is sku_id. */
		ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(req->lines[i].sku_id));
		index_rescan(scan, &key, 1, NULL, 0);
		while (index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			int64		location_id;
			int64		free;

			slot_getsomeattrs(slot, last);
			location_id = DatumGetInt64(slot->tts_values[att[STOCK_LOCATION_ID] - 1]);
			free = (int64) STOCK_INT32(STOCK_ON_HAND) - STOCK_INT32(STOCK_RESERVED)
				- STOCK_INT32(STOCK_SAFETY_STOCK);
			if (STOCK_INT32(STOCK_HELD) > 0)
				free -= unexpired_holds(req->lines[i].sku_id, location_id, req->hold_ref);
			if (n == room)
			{
				room *= 2;
				rows = repalloc(rows, sizeof(StockFree) * room);
			}
			rows[n].location_id = location_id;
			rows[n].line = i;
			rows[n].free = (int32) Max(Min(free, PG_INT32_MAX), PG_INT32_MIN);
			rows[n].slots = STOCK_INT32(STOCK_SLOTS);
			n++;
		}
	}
#undef STOCK_INT32
	index_endscan(scan);
	UnregisterSnapshot(snapshot);
	ExecDropSingleTupleTableSlot(slot);
	index_close(idx, NoLock);
	table_close(rel, NoLock);
	*nrows = n;
	return rows;
}

/*
 * Reads the candidate locations of req, with what each has of each line:
 * the stock rows from read_stock(), which locations may serve the order,
 * and how, from the master-data cache.
 */
static RouteSite *
read_sites(OrderRequest *req, int *nsites)
{
	int			nrows;
	StockFree  *rows = read_stock(req, &nrows);
	RouteSite  *sites = palloc0(sizeof(RouteSite) * Max(nrows, 1));
	int			n = 0;
	int			size = 16;
	int64	   *keys;
	int		   *slot_site;		/* per hash slot: site index, -1 ineligible */

	/* Locations by id in an open-addressing table at most half full. */
	while (size < 2 * nrows)
		size *= 2;
	keys = palloc0(sizeof(int64) * size);
	slot_site = palloc(sizeof(int) * size);

	for (int r = 0; r < nrows; r++)
	{
		int64		location_id = rows[r].location_id;
		int			line = rows[r].line;
		int64		sku_id = req->lines[line].sku_id;
		uint32		h = (uint32) (location_id * UINT64CONST(0x9E3779B97F4A7C15) >> 32) & (size - 1);
		RouteSite  *site;

		while (keys[h] != 0 && keys[h] != location_id)
			h = (h + 1) & (size - 1);
		if (keys[h] == 0)
		{
			OmsLocation loc;

			keys[h] = location_id;
			slot_site[h] = -1;
			if (oms_find_location(location_id, &loc) && oms_route_exclusion(req, &loc) == NULL)
			{
				slot_site[h] = n;
				init_site(req, &sites[n++], &loc);
			}
		}
		if (slot_site[h] < 0)
			continue;
		site = &sites[slot_site[h]];
		site->available[line] = (int32) Max((int64) rows[r].free - site->channel_safety, 0);
		for (int o = 0; o < req->noverrides; o++)
			if (req->overrides[o].row.sku_id == sku_id && req->overrides[o].row.location_id == location_id)
				site->available[line] = Min(site->available[line], req->overrides[o].qty);
		site->slots[line] = rows[r].slots;
		site->stock += site->available[line];
	}
	*nsites = n;
	return sites;
}

/*
 * Marks the sites that took as many orders today (UTC) as their daily
 * capacity allows, or that a reservation found so.
 */
static void
mark_full_sites(OrderRequest *req, RouteSite *sites, int nsites)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtype = INT8ARRAYOID;
	Datum	   *ids = palloc(sizeof(Datum) * Max(nsites, 1));
	Datum		value;
	int			n = 0;
	int			rc;

	for (int j = 0; j < nsites; j++)
	{
		for (int f = 0; f < req->nfull; f++)
			if (req->full[f] == sites[j].location_id)
				sites[j].full = true;
		if (sites[j].daily_capacity == 0)
			sites[j].full = true;
		else if (sites[j].daily_capacity > 0 && !sites[j].full)
			ids[n++] = Int64GetDatum(sites[j].location_id);
	}
	if (n == 0)
		return;

	oms_prepare(&plan,
				"SELECT location_id, orders FROM oms.location_load"
				" WHERE location_id = ANY ($1) AND day = (pg_catalog.now() AT TIME ZONE 'UTC')::date",
				1, &argtype);
	value = PointerGetDatum(construct_array(ids, n, INT8OID, 8, true, TYPALIGN_DOUBLE));
	rc = SPI_execute_plan(plan, &value, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "reading the locations' orders of today");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
		int32		orders = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));

		for (int j = 0; j < nsites; j++)
			if (sites[j].location_id == id && orders >= sites[j].daily_capacity)
				sites[j].full = true;
	}
}

/*
 * The routing problem of req over the sites that may serve it and have
 * something of it; index[k] is the site of problem site k.
 */
static void
make_problem(OrderRequest *req, RoutePlan *plan, RouteProblem *p, int *index)
{
	const RouteTerm *terms = strategy_terms[plan->strategy];
	int32	   *qty = palloc(sizeof(int32) * req->nlines);
	int32	   *avail;
	int		   *rank;
	int32		max_priority = 0;
	int64		max_stock = 0;
	int64		limit;
	int			n = 0;

	for (int j = 0; j < plan->nsites; j++)
		if (!plan->sites[j].full && plan->sites[j].stock > 0)
			index[n++] = j;

	memset(p, 0, sizeof(*p));
	p->nlines = req->nlines;
	p->nsites = n;
	for (int i = 0; i < req->nlines; i++)
		qty[i] = req->lines[i].qty;
	p->qty = qty;
	avail = palloc(sizeof(int32) * Max(n, 1) * req->nlines);
	for (int k = 0; k < n; k++)
	{
		RouteSite  *site = &plan->sites[index[k]];

		memcpy(avail + (size_t) k * req->nlines, site->available, sizeof(int32) * req->nlines);
		max_priority = Max(max_priority, site->priority);
		max_stock = Max(max_stock, site->stock);
	}
	p->avail = avail;

	/* Code ranks, the final tie-break: in the master-data cache's order. */
	rank = palloc(sizeof(int) * Max(n, 1));
	for (int k = 0; k < n; k++)
		rank[k] = plan->sites[index[k]].code_rank;
	p->code_rank = rank;

	/* Weights, so that no sum over the sites can overflow. */
	limit = PG_INT64_MAX / (n + 1);
	for (int t = 0; t < ROUTE_MAX_TERMS && (int) terms[t] >= 0; t++)
	{
		int64	   *w = palloc(sizeof(int64) * Max(n, 1));

		p->terms[t] = terms[t];
		p->nterms++;
		for (int k = 0; k < n; k++)
		{
			RouteSite  *site = &plan->sites[index[k]];

			switch (terms[t])
			{
				case ROUTE_TERM_SHIPMENTS:
					w[k] = 1;
					break;
				case ROUTE_TERM_COST:
					w[k] = site->cost;
					break;
				case ROUTE_TERM_DISTANCE:
					w[k] = site->distance;
					break;
				case ROUTE_TERM_PRIORITY:
					w[k] = max_priority - site->priority;
					break;
				case ROUTE_TERM_STOCK:
					w[k] = max_stock - site->stock;
					break;
			}
			w[k] = Min(Max(w[k], 0), limit);
		}
		p->weight[t] = w;
	}

	/* A pickup order, or one that may not split, ships from one location. */
	if (req->pickup_location_id || !req->allow_split)
		plan->max_shipments = 1;
	else if (req->max_shipments > 0 && req->channel.max_shipments > 0)
		plan->max_shipments = Min(req->max_shipments, req->channel.max_shipments);
	else
		plan->max_shipments = Max(req->max_shipments, req->channel.max_shipments);
	p->cap = plan->max_shipments > 0 ? Min(plan->max_shipments, Max(n, 1)) : Max(n, 1);
	p->max_nodes = oms_route_search_limit;
}

/*
 * Leaves out of the plan a chosen site that ships nothing -- a search that
 * ran out of nodes may have kept one -- and numbers the shipments again.
 */
static void
drop_idle_sites(RoutePlan *plan)
{
	int		   *number = palloc0(sizeof(int) * (plan->nchosen + 1));
	int			n = 0;

	for (int a = 0; a < plan->nallocs; a++)
		number[plan->allocs[a].shipment] = 1;
	for (int c = 0; c < plan->nchosen; c++)
		if (number[c + 1])
		{
			plan->chosen[n] = plan->chosen[c];
			number[c + 1] = ++n;
		}
	plan->nchosen = n;
	for (int a = 0; a < plan->nallocs; a++)
		plan->allocs[a].shipment = number[plan->allocs[a].shipment];
}

/*
 * Raises the error for a line oms cannot fill: available is what the
 * locations have of it, or, when they have enough but not within the
 * shipments allowed, what the best plan could place.
 */
void
oms_insufficient(OrderRequest *req, int line, int32 available, int32 max_shipments)
{
	char	   *cap = max_shipments == 1 ? ", from a single location" :
		max_shipments > 1 ? psprintf(", from at most %d locations", max_shipments) : "";

	ereport(ERROR,
			(errcode(ERRCODE_OMS_INSUFFICIENT_STOCK),
			 errmsg("not enough stock of sku \"%s\": %d asked, %d available",
					req->lines[line].sku, req->lines[line].qty, available),
			 req->channel.code ?
			 errdetail("Available counts the active locations channel \"%s\" may use, less reserved, held and safety stock%s.",
					   req->channel.code, cap) :
			 errdetail("Available counts the active locations, less reserved, held and safety stock%s.", cap),
			 errhint("Order fewer units, or place the order with {\"allow_backorder\": true}.")));
}

/*
 * Decides where each unit of req comes from.  Lines that cannot be filled
 * are left to the caller: short_line names the first of them.
 */
RoutePlan *
oms_route(OrderRequest *req)
{
	RoutePlan  *plan = palloc0(sizeof(RoutePlan));
	RouteProblem problem;
	RouteSolution sol;
	int		   *index;
	int32	   *open = palloc(sizeof(int32) * req->nlines);

	plan->strategy = req->has_strategy ? req->strategy : req->channel.strategy;
	plan->sites = read_sites(req, &plan->nsites);
	mark_full_sites(req, plan->sites, plan->nsites);
	index = palloc(sizeof(int) * Max(plan->nsites, 1));
	make_problem(req, plan, &problem, index);
	oms_route_search(&problem, &sol);

	plan->exact = sol.exact;
	plan->nodes = sol.nodes;
	plan->nchosen = sol.nchosen;
	plan->chosen = palloc(sizeof(int) * Max(sol.nchosen, 1));
	for (int c = 0; c < sol.nchosen; c++)
		plan->chosen[c] = index[sol.chosen[c]];

	/* Each line takes its units from the chosen locations in shipment order. */
	plan->allocs = palloc(sizeof(Allocation) * Max(sol.nchosen * req->nlines, 1));
	plan->short_line = -1;
	for (int i = 0; i < req->nlines; i++)
	{
		open[i] = req->lines[i].qty;
		plan->units_requested += open[i];
		for (int c = 0; c < plan->nchosen && open[i] > 0; c++)
		{
			RouteSite  *site = &plan->sites[plan->chosen[c]];
			int32		take = Min(site->available[i], open[i]);
			Allocation *a;

			if (take == 0)
				continue;
			a = &plan->allocs[plan->nallocs++];
			a->line = i;
			a->row.sku_id = req->lines[i].sku_id;
			a->row.location_id = site->location_id;
			a->qty = take;
			a->channel_safety = site->channel_safety;
			a->slots = site->slots[i];
			a->slot = OMS_NO_SLOT;
			a->shipment = c + 1;
			open[i] -= take;
		}
		req->lines[i].placed = req->lines[i].qty - open[i];
		plan->units += req->lines[i].placed;
		if (open[i] > 0 && plan->short_line < 0)
		{
			int64		total = 0;

			for (int j = 0; j < plan->nsites; j++)
				if (!plan->sites[j].full)
					total += plan->sites[j].available[i];
			plan->short_line = i;
			plan->short_available = (int32) Min(total < req->lines[i].qty ? total : req->lines[i].placed,
												PG_INT32_MAX);
		}
	}

	drop_idle_sites(plan);

	/* Reserve in one global order: no two sessions wait for each other in a cycle. */
	qsort(plan->allocs, plan->nallocs, sizeof(Allocation), oms_compare_stock_rows);
	return plan;
}
