/*-------------------------------------------------------------------------
 *
 * explain.c
 *	  Routing as the caller sees it: oms.route() previews where an order's
 *	  units would come from, oms.route_explain() says why, and the same
 *	  decision, without the candidates, is kept with every placed order
 *	  (oms.orders.routing).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "oms.h"

PG_FUNCTION_INFO_V1(oms_route_preview);
PG_FUNCTION_INFO_V1(oms_route_explain);

/* JSON output: keys and scalar values pushed onto a parse state. */
static void
put_key(JsonbParseState **st, const char *key)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) key;
	v.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &v);
}

static void
put_text(JsonbParseState **st, const char *key, const char *value)
{
	JsonbValue	v;

	put_key(st, key);
	if (value == NULL)
		v.type = jbvNull;
	else
	{
		v.type = jbvString;
		v.val.string.val = (char *) value;
		v.val.string.len = strlen(value);
	}
	pushJsonbValue(st, WJB_VALUE, &v);
}

static void
put_numeric(JsonbParseState **st, const char *key, Numeric value)
{
	JsonbValue	v;

	put_key(st, key);
	v.type = jbvNumeric;
	v.val.numeric = value;
	pushJsonbValue(st, WJB_VALUE, &v);
}

static void
put_int(JsonbParseState **st, const char *key, int64 value)
{
	put_numeric(st, key, DatumGetNumeric(DirectFunctionCall1(int8_numeric, Int64GetDatum(value))));
}

/* Millionths as a decimal number: 12345600 is 12.3456. */
static Numeric
micro_numeric(int64 micro)
{
	char	   *s = psprintf(INT64_FORMAT ".%06d", micro / 1000000, (int) (micro % 1000000));
	int			n = strlen(s);

	while (s[n - 1] == '0')
		s[--n] = '\0';
	if (s[n - 1] == '.')
		s[n - 1] = '\0';
	return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(s),
											   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

static void
put_micro(JsonbParseState **st, const char *key, int64 micro)
{
	put_numeric(st, key, micro_numeric(micro));
}

static void
put_null(JsonbParseState **st, const char *key)
{
	put_text(st, key, NULL);
}

/* One row of a plan: units of a line from a location, or backordered. */
typedef struct PlanRow
{
	int			line;
	int			shipment;		/* 0: backordered */
	RouteSite  *site;
	int32		qty;
} PlanRow;

static int
compare_plan_rows(const void *a, const void *b)
{
	const PlanRow *x = a;
	const PlanRow *y = b;

	if (x->shipment != y->shipment)
	{
		if (x->shipment == 0 || y->shipment == 0)
			return x->shipment == 0 ? 1 : -1;
		return x->shipment - y->shipment;
	}
	return x->line - y->line;
}

/*
 * The rows of plan by shipment and line, backordered units last.
 */
static PlanRow *
plan_rows(OrderRequest *req, RoutePlan *plan, int *nrows)
{
	PlanRow    *rows = palloc(sizeof(PlanRow) * (plan->nallocs + req->nlines));
	int			n = 0;

	for (int a = 0; a < plan->nallocs; a++)
	{
		Allocation *alloc = &plan->allocs[a];

		rows[n].line = alloc->line;
		rows[n].shipment = alloc->shipment;
		rows[n].site = &plan->sites[plan->chosen[alloc->shipment - 1]];
		rows[n].qty = alloc->qty;
		n++;
	}
	for (int i = 0; i < req->nlines; i++)
		if (req->lines[i].placed < req->lines[i].qty)
		{
			rows[n].line = i;
			rows[n].shipment = 0;
			rows[n].site = NULL;
			rows[n].qty = req->lines[i].qty - req->lines[i].placed;
			n++;
		}
	qsort(rows, n, sizeof(PlanRow), compare_plan_rows);
	*nrows = n;
	return rows;
}

/* Why a location is or is not among the chosen ones. */
static void
put_candidate(JsonbParseState **st, OrderRequest *req, RoutePlan *plan, const OmsLocation *loc)
{
	const char *reason = oms_route_exclusion(req, loc);
	RouteSite  *site = NULL;
	bool		chosen = false;

	for (int j = 0; j < plan->nsites && site == NULL; j++)
		if (plan->sites[j].location_id == loc->id)
		{
			site = &plan->sites[j];
			for (int c = 0; c < plan->nchosen; c++)
				chosen |= plan->chosen[c] == j;
		}
	if (reason == NULL)
		reason = site == NULL || site->stock == 0 ? "no_stock" : site->full ? "capacity_reached" : NULL;

	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	put_text(st, "location", loc->code);
	put_text(st, "status", chosen ? "chosen" : reason ? "excluded" : "candidate");
	put_text(st, "reason", reason);
	put_int(st, "priority", loc->priority);
	if (site)
	{
		put_micro(st, "distance_km", site->distance);
		put_micro(st, "cost", site->cost);
		put_key(st, "available");
		pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
		for (int i = 0; i < req->nlines; i++)
			put_int(st, req->lines[i].sku, site->available[req->lines[i].demand]);
		pushJsonbValue(st, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

static int
compare_location_codes(const void *a, const void *b)
{
	return strcmp(((const OmsLocation *) a)->code, ((const OmsLocation *) b)->code);
}

/*
 * The routing decision of req as JSON: strategy, how the search ended, the
 * objective's values and the plan; with candidates, every location and why
 * it was chosen or not.
 */
Jsonb *
oms_route_decision(OrderRequest *req, RoutePlan *plan, bool candidates)
{
	JsonbParseState *st = NULL;
	JsonbValue *result;
	int64		cost = 0,
				distance = 0,
				priority = 0,
				stock = 0;
	PlanRow    *rows;
	int			nrows;

	for (int c = 0; c < plan->nchosen; c++)
	{
		RouteSite  *site = &plan->sites[plan->chosen[c]];

		cost += site->cost;
		distance += site->distance;
		priority += site->priority;
		stock += site->stock;
	}

	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	put_text(&st, "strategy", oms_strategy_names[plan->strategy]);
	put_text(&st, "search", plan->exact ? "exact" : "bounded");
	put_int(&st, "nodes", plan->nodes);
	if (plan->attempts > 0)
		put_int(&st, "attempts", plan->attempts);
	if (plan->max_shipments > 0)
		put_int(&st, "max_shipments", plan->max_shipments);
	else
		put_null(&st, "max_shipments");

	put_key(&st, "objective");
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	put_int(&st, "units", plan->units);
	put_int(&st, "units_requested", plan->units_requested);
	put_int(&st, "shipments", plan->nchosen);
	put_micro(&st, "cost", cost);
	put_micro(&st, "distance_km", distance);
	put_int(&st, "priority", priority);
	put_int(&st, "stock", stock);
	pushJsonbValue(&st, WJB_END_OBJECT, NULL);

	put_key(&st, "plan");
	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	rows = plan_rows(req, plan, &nrows);
	for (int r = 0; r < nrows; r++)
	{
		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		put_int(&st, "line_no", req->lines[rows[r].line].line_no);
		put_text(&st, "sku", req->lines[rows[r].line].sku);
		put_text(&st, "location", rows[r].site ? rows[r].site->code : NULL);
		put_int(&st, "qty", rows[r].qty);
		if (rows[r].shipment > 0)
			put_int(&st, "shipment", rows[r].shipment);
		else
			put_null(&st, "shipment");
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(&st, WJB_END_ARRAY, NULL);

	if (candidates)
	{
		int			n;
		OmsLocation *locs = oms_all_locations(&n);

		qsort(locs, n, sizeof(OmsLocation), compare_location_codes);
		put_key(&st, "candidates");
		pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
		for (int k = 0; k < n; k++)
			put_candidate(&st, req, plan, &locs[k]);
		pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	}

	result = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(result);
}

/*
 * Routes the order described by oms.route's arguments, without locking or
 * writing anything.  The caller is connected to SPI.
 */
static RoutePlan *
preview(FunctionCallInfo fcinfo, OrderRequest *req)
{
	RoutePlan  *plan;

	memset(req, 0, sizeof(*req));
	oms_parse_lines(oms_arg_optional_jsonb(fcinfo, 0), true, req);
	oms_parse_ship_to(oms_arg_optional_jsonb(fcinfo, 1), req);
	if (!PG_ARGISNULL(2))
		req->channel = oms_active_channel(PG_GETARG_TEXT_PP(2));
	oms_parse_options(oms_arg_optional_jsonb(fcinfo, 3), req);
	oms_resolve_skus(req);
	oms_merge_lines(req);

	plan = oms_route(req);
	if (plan->short_line >= 0 && !req->allow_backorder)
		oms_insufficient(req, plan->short_line, plan->short_available, plan->max_shipments);
	oms_split_plan(req, plan);
	return plan;
}

/*
 * oms.route(lines, ship_to, channel, options): where each unit would come
 * from, by shipment and line; backordered units have no location.
 */
Datum
oms_route_preview(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	OrderRequest req;
	RoutePlan  *plan;
	PlanRow    *rows;
	int			nrows;

	InitMaterializedSRF(fcinfo, 0);
	oms_spi_connect();
	plan = preview(fcinfo, &req);
	rows = plan_rows(&req, plan, &nrows);
	for (int r = 0; r < nrows; r++)
	{
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};
		RouteSite  *site = rows[r].site;

		values[0] = Int32GetDatum(req.lines[rows[r].line].line_no);
		values[1] = CStringGetTextDatum(req.lines[rows[r].line].sku);
		values[3] = Int32GetDatum(rows[r].qty);
		if (site)
		{
			values[2] = CStringGetTextDatum(site->code);
			values[4] = Int32GetDatum(rows[r].shipment);
			values[5] = Float8GetDatum((double) site->distance / 1000000.0);
			values[6] = NumericGetDatum(micro_numeric(site->cost));
		}
		else
			nulls[2] = nulls[4] = nulls[5] = nulls[6] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	oms_spi_finish();
	return (Datum) 0;
}

/*
 * oms.route_explain(lines, ship_to, channel, options): the decision of
 * oms.route with every location and why it was chosen or not.
 */
Datum
oms_route_explain(PG_FUNCTION_ARGS)
{
	OrderRequest req;
	Datum		result;

	oms_spi_connect();
	result = JsonbPGetDatum(oms_route_decision(&req, preview(fcinfo, &req), true));
	result = SPI_datumTransfer(result, false, -1);
	oms_spi_finish();
	PG_RETURN_DATUM(result);
}
