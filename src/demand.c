/*-------------------------------------------------------------------------
 *
 * demand.c
 *	  Lines that repeat a SKU: a channel may send the same SKU on two lines
 *	  (another price, a gift, a personalised item).  Routing and reserving
 *	  see one demand per SKU, the total of its lines; the allocations are
 *	  then split back onto the lines in line order, so each line keeps its
 *	  own line number, price and reservations, and units that could not be
 *	  placed (backordered) fall to the last lines of their SKU.
 *
 *	  Orders that oms does not route -- sold at a store's till, or shipped
 *	  by a marketplace -- take their units here too: a store's from its
 *	  on_hand through the ledger, a marketplace's from nowhere in oms.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "oms.h"

/*
 * Turns req's lines into its demand, one line per SKU with the total
 * quantity (the first of its lines standing for it), and keeps the lines as
 * given in req->given; each given line's demand says which is its SKU's.
 * An order whose SKUs are all different is its own demand and stays as it
 * is.  Runs after the SKUs are resolved.
 */
void
oms_merge_lines(OrderRequest *req)
{
	OrderLine  *demand;
	int			ndemand = 0;
	bool		repeated = false;

	for (int i = 0; i < req->nlines && !repeated; i++)
	{
		req->lines[i].demand = i;
		for (int j = 0; j < i; j++)
			if (req->lines[j].sku_id == req->lines[i].sku_id)
			{
				repeated = true;
				break;
			}
	}
	if (!repeated)
		return;

	demand = palloc(sizeof(OrderLine) * req->nlines);
	for (int i = 0; i < req->nlines; i++)
	{
		OrderLine  *line = &req->lines[i];
		int			d;

		for (d = 0; d < ndemand; d++)
			if (demand[d].sku_id == line->sku_id)
				break;
		if (d == ndemand)
		{
			demand[d] = *line;
			demand[d].qty = 0;
			demand[d].demand = d;
			ndemand++;
		}
		demand[d].qty += line->qty; /* the units of an order fit an int32 */
		line->demand = d;
	}
	req->given = req->lines;
	req->ngiven = req->nlines;
	req->lines = demand;
	req->nlines = ndemand;
}

/* Orders allocations by demand line, then shipment. */
static int
compare_line_shipment(const void *a, const void *b)
{
	const Allocation *x = a;
	const Allocation *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->shipment - y->shipment;
}

/*
 * Gives req back its lines as given, after the demand was routed and
 * reserved by plan: each SKU's allocations, in shipment order, go to its
 * lines in line order, an allocation split where a line is full, and each
 * line's placed units are set.  Nothing to do for an order that was its own
 * demand.
 */
void
oms_split_plan(OrderRequest *req, RoutePlan *plan)
{
	OrderLine  *given = req->given;
	Allocation *pieces;
	int		   *next;			/* per demand line: the given line being filled */
	int			n = 0;

	if (given == NULL)
		return;

	next = palloc(sizeof(int) * req->nlines);
	for (int d = 0; d < req->nlines; d++)
		next[d] = -1;
	for (int g = req->ngiven - 1; g >= 0; g--)
	{
		given[g].placed = 0;
		next[given[g].demand] = g;
	}

	pieces = palloc(sizeof(Allocation) * (plan->nallocs + req->ngiven));
	qsort(plan->allocs, plan->nallocs, sizeof(Allocation), compare_line_shipment);
	for (int a = 0; a < plan->nallocs; a++)
	{
		Allocation *alloc = &plan->allocs[a];
		int			d = alloc->line;
		int32		open = alloc->qty;

		while (open > 0)
		{
			int			g = next[d];
			int32		take;

			/* The next line of the SKU with room; the demand is their sum. */
			while (given[g].placed == given[g].qty)
			{
				g++;
				while (given[g].demand != d)
					g++;
			}
			next[d] = g;
			take = Min(open, given[g].qty - given[g].placed);
			pieces[n] = *alloc;
			pieces[n].line = g;
			pieces[n].qty = take;
			n++;
			given[g].placed += take;
			open -= take;
		}
	}
	plan->allocs = pieces;
	plan->nallocs = n;

	req->lines = given;
	req->nlines = req->ngiven;
	req->given = NULL;
	req->ngiven = 0;
}

static int
compare_sku_ids(const void *a, const void *b)
{
	int64		x = ((const OrderLine *) a)->sku_id;
	int64		y = ((const OrderLine *) b)->sku_id;

	return x < y ? -1 : x > y;
}

/*
 * Takes the units of an order that oms does not route: a store sells its
 * demand from its on_hand (ledger kind sale, in SKU order, so stock rows
 * are locked in the global order), a marketplace takes none.  Then gives
 * req back its lines as given, none of them reserved.
 */
void
oms_fulfil_elsewhere(OrderRequest *req, int64 order_id)
{
	if (req->fulfilment == OMS_FULFIL_STORE)
	{
		OrderLine  *demand = palloc(sizeof(OrderLine) * req->nlines);
		text	   *reference = cstring_to_text(psprintf("order %lld", (long long) order_id));

		memcpy(demand, req->lines, sizeof(OrderLine) * req->nlines);
		qsort(demand, req->nlines, sizeof(OrderLine), compare_sku_ids);
		for (int d = 0; d < req->nlines; d++)
			oms_sell_units(demand[d].sku, demand[d].sku_id, &req->store, demand[d].qty, reference);
	}
	if (req->given)
	{
		req->lines = req->given;
		req->nlines = req->ngiven;
		req->given = NULL;
		req->ngiven = 0;
	}
	for (int i = 0; i < req->nlines; i++)
		req->lines[i].placed = 0;
}
