/*-------------------------------------------------------------------------
 *
 * search.c
 *	  The routing search: which set of locations ("sites") should serve an
 *	  order, best by a lexicographic objective.
 *
 *	  The problem, free of any database: lines with quantities, sites with
 *	  the units of each line they have, per-site weights for the terms of
 *	  the strategy, and a cap on the number of sites.  The objective ranks a
 *	  set S by
 *
 *	    1. units(S) = sum over lines of min(qty, units of the line in S), more first;
 *	    2. the strategy's terms in order, each the sum of a per-site weight
 *	       (the shipments term weighs 1 per site), less first;
 *	    3. the sites' code ranks, sorted, compared as arrays, smaller first.
 *
 *	  Weights are integers >= 0.  A term that ranks "more is better"
 *	  (priority, stock) comes with weights max - value from the caller; the
 *	  shipments term always precedes such terms, so among sets of equal size
 *	  that ranks the same.
 *
 *	  Two exact searches, each bounded by a number of nodes:
 *
 *	  - cover(): when some set within the cap holds every unit that can be
 *	    had, branch and bound over the sets that do.  At each node it picks
 *	    the open line with the fewest sites left that hold it: any completion
 *	    takes one of them, so the children are "take site 1", "take site 2
 *	    but not 1", ...  -- every set is reached once.  Bounds: per open line,
 *	    the fewest further sites that could fill it (its sites by units,
 *	    largest first); their maximum L gives at least |S| + L shipments and,
 *	    for a weight term, at least the L smallest weights left.
 *
 *	  - widest(): when no set within the cap holds every unit, sets of at
 *	    most cap sites in index order, bounded above by the units of S plus
 *	    the largest gains of the sites left.
 *
 *	  A greedy pass (the site that adds the most units, ties by the
 *	  strategy) gives both a first incumbent.  Shipments are numbered by the
 *	  units each chosen site could ship alone, most first, then the strategy.  When a search runs out of
 *	  nodes the best set found so far stands, and the solution says it is
 *	  not proven optimal.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "oms.h"

/* Site states during the search. */
#define SITE_OPEN		0
#define SITE_CHOSEN		1
#define SITE_BARRED		2

typedef struct Search
{
	const RouteProblem *p;
	int64	   *target;			/* per line: units wanted */
	int64	   *covered;		/* per line: units in the chosen set */
	int		  **by_units;		/* per line: sites holding it, most units first */
	int		   *nby_units;
	int		   *by_weight;		/* sites by the weight of the first weight term */
	int			weight_term;	/* that term, or -1 */
	char	   *state;			/* per site */
	int		   *nopen;			/* per line: open sites that hold it */
	int64	   *supply;			/* per line: its units at open sites */
	int		   *set;			/* chosen sites, in order of choice */
	int			nset;
	int64		key[ROUTE_MAX_TERMS];	/* of the chosen set */
	int		  **branch;			/* per depth: the children of the node */
	int32	   *gains;			/* scratch: per site */
	int		   *rank;			/* per site: its place in the strategy's order */

	bool		have_best;
	int64		best_units;
	int64		best_key[ROUTE_MAX_TERMS];
	int		   *best_set;
	int			nbest;

	int64		nodes;
	bool		stopped;
} Search;

static const RouteProblem *sort_problem;	/* for the qsort comparators */
static const int32 *sort_values;
static const int64 *sort_weights;
static const int *sort_rank;	/* each site's place in the strategy's order */

static inline int32
avail(const RouteProblem *p, int site, int line)
{
	return p->avail[(size_t) site * p->nlines + line];
}

static inline int64
weight(const RouteProblem *p, int term, int site)
{
	return p->terms[term] == ROUTE_TERM_SHIPMENTS ? 1 : p->weight[term][site];
}

/*
 * Orders two single sites by the strategy: its weights in term order, then
 * code.  Shipment order and the order children are tried in follow it.
 */
static int
compare_sites(const RouteProblem *p, int a, int b)
{
	for (int t = 0; t < p->nterms; t++)
	{
		int64		wa = weight(p, t, a),
					wb = weight(p, t, b);

		if (wa != wb)
			return wa < wb ? -1 : 1;
	}
	return p->code_rank[a] - p->code_rank[b];
}

static int
compare_sites_qsort(const void *a, const void *b)
{
	return compare_sites(sort_problem, *(const int *) a, *(const int *) b);
}

/* Most units first, then by the strategy. */
static int
compare_units_qsort(const void *a, const void *b)
{
	int			x = *(const int *) a,
				y = *(const int *) b;

	if (sort_values[x] != sort_values[y])
		return sort_values[x] > sort_values[y] ? -1 : 1;
	return sort_rank[x] - sort_rank[y];
}

/* Least weight first, then by index. */
static int
compare_weight_qsort(const void *a, const void *b)
{
	int			x = *(const int *) a,
				y = *(const int *) b;

	if (sort_weights[x] != sort_weights[y])
		return sort_weights[x] < sort_weights[y] ? -1 : 1;
	return x - y;
}

static int
compare_ints(const void *a, const void *b)
{
	return *(const int *) a - *(const int *) b;
}

/*
 * Compares set a (its key, its sites) with set b, both of the same units:
 * < 0 if a is better.
 */
static int
compare_sets(const Search *s, const int64 *key_a, const int *set_a, int na,
			 const int64 *key_b, const int *set_b, int nb)
{
	int		   *ra,
			   *rb;
	int			result = 0;

	for (int t = 0; t < s->p->nterms; t++)
		if (key_a[t] != key_b[t])
			return key_a[t] < key_b[t] ? -1 : 1;

	ra = palloc(sizeof(int) * Max(na, 1));
	rb = palloc(sizeof(int) * Max(nb, 1));
	for (int i = 0; i < na; i++)
		ra[i] = s->p->code_rank[set_a[i]];
	for (int i = 0; i < nb; i++)
		rb[i] = s->p->code_rank[set_b[i]];
	qsort(ra, na, sizeof(int), compare_ints);
	qsort(rb, nb, sizeof(int), compare_ints);
	for (int i = 0; i < Min(na, nb) && result == 0; i++)
		result = ra[i] - rb[i];
	if (result == 0)
		result = na - nb;
	pfree(ra);
	pfree(rb);
	return result;
}

static int64
units_of_set(const Search *s)
{
	int64		units = 0;

	for (int i = 0; i < s->p->nlines; i++)
		units += Min(s->covered[i], s->target[i]);
	return units;
}

/* Keeps the chosen set if it beats the best so far. */
static void
consider(Search *s)
{
	int64		units = units_of_set(s);

	if (s->have_best &&
		(units < s->best_units ||
		 (units == s->best_units &&
		  compare_sets(s, s->key, s->set, s->nset, s->best_key, s->best_set, s->nbest) >= 0)))
		return;
	s->have_best = true;
	s->best_units = units;
	memcpy(s->best_key, s->key, sizeof(s->key));
	memcpy(s->best_set, s->set, sizeof(int) * s->nset);
	s->nbest = s->nset;
}

/*
 * Moves site into state, keeping each line's open sites and supply.
 */
static void
set_state(Search *s, int site, char state)
{
	bool		was_open = s->state[site] == SITE_OPEN;
	int			delta = was_open ? -1 : 1;

	s->state[site] = state;
	if (was_open == (state == SITE_OPEN))
		return;
	for (int i = 0; i < s->p->nlines; i++)
	{
		int32		a = avail(s->p, site, i);

		if (a > 0)
		{
			s->nopen[i] += delta;
			s->supply[i] += delta * a;
		}
	}
}

static void
choose(Search *s, int site)
{
	set_state(s, site, SITE_CHOSEN);
	s->set[s->nset++] = site;
	for (int i = 0; i < s->p->nlines; i++)
		s->covered[i] += avail(s->p, site, i);
	for (int t = 0; t < s->p->nterms; t++)
		s->key[t] += weight(s->p, t, site);
}

static void
unchoose(Search *s, int site)
{
	set_state(s, site, SITE_OPEN);
	s->nset--;
	for (int i = 0; i < s->p->nlines; i++)
		s->covered[i] -= avail(s->p, site, i);
	for (int t = 0; t < s->p->nterms; t++)
		s->key[t] -= weight(s->p, t, site);
}

/* Units site would add to the chosen set. */
static int64
gain(const Search *s, int site)
{
	int64		units = 0;

	for (int i = 0; i < s->p->nlines; i++)
	{
		int64		open = s->target[i] - s->covered[i];

		if (open > 0)
			units += Min(open, avail(s->p, site, i));
	}
	return units;
}

/* Whether site holds every unit the chosen set still lacks. */
static bool
holds_all_open(const Search *s, int site)
{
	for (int i = 0; i < s->p->nlines; i++)
		if (s->target[i] - s->covered[i] > avail(s->p, site, i))
			return false;
	return true;
}

static bool
out_of_nodes(Search *s)
{
	CHECK_FOR_INTERRUPTS();
	if (s->nodes >= s->p->max_nodes)
	{
		s->stopped = true;
		return true;
	}
	s->nodes++;
	return false;
}

/*
 * Greedy: up to cap times, the site that adds the most units (ties by the
 * strategy).  Leaves its set as the incumbent and the chosen set empty.
 */
static void
greedy(Search *s)
{
	int			n = 0;
	int		   *picked = palloc(sizeof(int) * Max(s->p->cap, 1));

	while (n < s->p->cap)
	{
		int			best = -1;
		int64		best_gain = 0;

		CHECK_FOR_INTERRUPTS();

		for (int j = 0; j < s->p->nsites; j++)
		{
			int64		g;

			if (s->state[j] != SITE_OPEN)
				continue;
			g = gain(s, j);
			if (g > best_gain || (g == best_gain && g > 0 && s->rank[j] < s->rank[best]))
			{
				best = j;
				best_gain = g;
			}
		}
		if (best < 0)
			break;
		choose(s, best);
		picked[n++] = best;
	}
	if (n > 0)
		consider(s);
	while (n > 0)
		unchoose(s, picked[--n]);
	pfree(picked);
}

/*
 * Lower bound on term t's value for any set that adds at least `more`
 * further sites to the chosen one: the smallest weights of the open sites
 * that hold something still wanted.
 */
static int64
bound_term(Search *s, int t, int more)
{
	int64		bound = s->key[t];

	if (s->p->terms[t] == ROUTE_TERM_SHIPMENTS)
		return bound + more;
	if (t != s->weight_term)
		return bound;			/* no bound kept: the weight can be 0 */
	for (int k = 0; k < s->p->nsites && more > 0; k++)
	{
		int			j = s->by_weight[k];

		if (s->state[j] == SITE_OPEN && gain(s, j) > 0)
		{
			bound += s->p->weight[t][j];
			more--;
		}
	}
	return bound;
}

/*
 * Branch and bound over the sets that hold every wanted unit.
 */
static void
cover(Search *s)
{
	const RouteProblem *p = s->p;
	int			need = 0;		/* fewest further sites */
	int			pivot = -1;		/* the line to branch on */
	int			pivot_sites = 0;
	int			limit;
	int		   *children;
	int			nchildren = 0;

	check_stack_depth();
	if (s->stopped || out_of_nodes(s))
		return;

	for (int i = 0; i < p->nlines; i++)
	{
		int64		open = s->target[i] - s->covered[i];
		int64		acc = 0;
		int			fill = 0;

		if (open <= 0)
			continue;
		if (s->supply[i] < open)
			return;				/* this line can no longer be filled */
		for (int k = 0; acc < open; k++)
		{
			int			j = s->by_units[i][k];

			if (s->state[j] == SITE_OPEN)
			{
				fill++;
				acc += avail(p, j, i);
			}
		}
		need = Max(need, fill);
		if (pivot < 0 || s->nopen[i] < pivot_sites)
		{
			pivot = i;
			pivot_sites = s->nopen[i];
		}
	}

	if (pivot < 0)
	{
		consider(s);			/* every wanted unit is in */
		return;
	}

	/* When shipments rank first, no set may have more than the best so far. */
	limit = p->cap;
	if (s->have_best && p->terms[0] == ROUTE_TERM_SHIPMENTS)
		limit = Min(limit, s->best_key[0]);
	if (s->nset + need > limit)
		return;
	if (s->nset + 1 == limit)
	{
		/* One more site: it must hold every open unit by itself. */
		for (int k = 0; k < s->nby_units[pivot]; k++)
		{
			int			j = s->by_units[pivot][k];

			if (s->state[j] == SITE_OPEN && holds_all_open(s, j))
			{
				choose(s, j);
				consider(s);
				unchoose(s, j);
			}
		}
		return;
	}
	if (s->have_best)
	{
		/* Prune when the bound is worse than the best at the first term that differs. */
		for (int t = 0; t < p->nterms; t++)
		{
			int64		b = bound_term(s, t, need);

			if (b != s->best_key[t])
			{
				if (b > s->best_key[t])
					return;
				break;
			}
		}
	}

	/* Children: the open sites holding the pivot line, most useful first. */
	if (s->branch[s->nset] == NULL)
		s->branch[s->nset] = palloc(sizeof(int) * p->nsites);
	children = s->branch[s->nset];
	for (int k = 0; k < s->nby_units[pivot]; k++)
	{
		int			j = s->by_units[pivot][k];

		if (s->state[j] == SITE_OPEN)
		{
			children[nchildren++] = j;
			s->gains[j] = (int32) Min(gain(s, j), PG_INT32_MAX);
		}
	}
	sort_values = s->gains;
	sort_rank = s->rank;
	qsort(children, nchildren, sizeof(int), compare_units_qsort);

	for (int k = 0; k < nchildren && !s->stopped; k++)
	{
		choose(s, children[k]);
		cover(s);
		unchoose(s, children[k]);
		set_state(s, children[k], SITE_BARRED);
	}
	for (int k = 0; k < nchildren; k++)
		if (s->state[children[k]] == SITE_BARRED)
			set_state(s, children[k], SITE_OPEN);
}

/*
 * Sets of at most cap sites, of the norder sites in order from `from` on,
 * that hold the most units (when no set within the cap holds them all).
 */
static void
widest(Search *s, const int *order, int norder, int from)
{
	const RouteProblem *p = s->p;
	int64		units;
	int64		bound;
	int			room;

	check_stack_depth();
	if (s->stopped || out_of_nodes(s))
		return;
	units = units_of_set(s);
	if (s->nset > 0)
		consider(s);
	room = p->cap - s->nset;
	if (room == 0)
		return;

	/* At most the units of the set plus the room largest gains left. */
	{
		int64	   *top = palloc0(sizeof(int64) * room);

		bound = units;
		for (int k = from; k < norder; k++)
		{
			int64		g = gain(s, order[k]);

			for (int r = 0; r < room; r++)
				if (g > top[r])
				{
					int64		tmp = top[r];

					top[r] = g;
					g = tmp;
				}
		}
		for (int r = 0; r < room; r++)
			bound += top[r];
		pfree(top);
	}
	if (s->have_best && bound < s->best_units)
		return;

	for (int k = from; k < norder && !s->stopped; k++)
	{
		int			j = order[k];

		if (gain(s, j) == 0)
			continue;			/* the same set without it is better */
		choose(s, j);
		widest(s, order, norder, k + 1);
		unchoose(s, j);
	}
}

/*
 * Solves p into sol.
 */
void
oms_route_search(const RouteProblem *p, RouteSolution *sol)
{
	Search		s;
	int		   *sites = palloc(sizeof(int) * Max(p->nsites, 1));
	int32	   *line_units = palloc(sizeof(int32) * Max(p->nsites, 1));
	bool		full = true;

	memset(&s, 0, sizeof(s));
	s.p = p;
	s.target = palloc(sizeof(int64) * Max(p->nlines, 1));
	s.covered = palloc0(sizeof(int64) * Max(p->nlines, 1));
	s.by_units = palloc(sizeof(int *) * Max(p->nlines, 1));
	s.nby_units = palloc0(sizeof(int) * Max(p->nlines, 1));
	s.nopen = palloc0(sizeof(int) * Max(p->nlines, 1));
	s.supply = palloc0(sizeof(int64) * Max(p->nlines, 1));
	s.state = palloc0(Max(p->nsites, 1));
	s.set = palloc(sizeof(int) * Max(p->nsites, 1));
	s.best_set = palloc(sizeof(int) * Max(p->nsites, 1));
	s.branch = palloc0(sizeof(int *) * (p->nsites + 1));
	s.gains = palloc(sizeof(int32) * Max(p->nsites, 1));
	s.weight_term = -1;

	/* Each site's place in the strategy's order settles ties in every sort below. */
	s.rank = palloc(sizeof(int) * Max(p->nsites, 1));
	for (int j = 0; j < p->nsites; j++)
		sites[j] = j;
	sort_problem = p;
	qsort(sites, p->nsites, sizeof(int), compare_sites_qsort);
	for (int k = 0; k < p->nsites; k++)
		s.rank[sites[k]] = k;
	sort_rank = s.rank;

	/* Each line wants what all sites together have of it, at most its qty. */
	sort_values = line_units;
	for (int i = 0; i < p->nlines; i++)
	{
		int64		total = 0;
		int			n = 0;

		for (int j = 0; j < p->nsites; j++)
		{
			line_units[j] = avail(p, j, i);
			if (line_units[j] > 0)
			{
				total += line_units[j];
				sites[n++] = j;
			}
		}
		s.target[i] = Min(total, p->qty[i]);
		s.nopen[i] = n;
		s.supply[i] = total;
		qsort(sites, n, sizeof(int), compare_units_qsort);
		s.by_units[i] = palloc(sizeof(int) * Max(n, 1));
		memcpy(s.by_units[i], sites, sizeof(int) * n);
		s.nby_units[i] = n;
	}

	/* The first weight term bounds the search (shipments bound it anyway). */
	for (int t = 0; t < p->nterms && s.weight_term < 0; t++)
		if (p->terms[t] != ROUTE_TERM_SHIPMENTS)
			s.weight_term = t;
	s.by_weight = palloc(sizeof(int) * Max(p->nsites, 1));
	for (int j = 0; j < p->nsites; j++)
		s.by_weight[j] = j;
	if (s.weight_term >= 0)
	{
		sort_weights = p->weight[s.weight_term];
		qsort(s.by_weight, p->nsites, sizeof(int), compare_weight_qsort);
	}

	greedy(&s);
	if (s.have_best)
	{
		int64		wanted = 0;

		for (int i = 0; i < p->nlines; i++)
			wanted += s.target[i];
		full = s.best_units == wanted;
	}
	if (s.have_best && !full)
	{
		/* The greedy set falls short: search for a full set within the cap. */
		Search		probe = s;

		probe.have_best = false;
		cover(&probe);
		s.nodes = probe.nodes;
		s.stopped = probe.stopped;
		if (probe.have_best)
		{
			s = probe;
			full = true;
		}
	}
	else if (s.have_best)
		cover(&s);

	if (s.have_best && !full && !s.stopped)
	{
		/* No set within the cap holds every unit: the set that holds most. */
		int			n = 0;

		for (int j = 0; j < p->nsites; j++)
		{
			line_units[j] = (int32) Min(gain(&s, j), PG_INT32_MAX);
			if (line_units[j] > 0)
				sites[n++] = j;
		}
		sort_values = line_units;
		sort_rank = s.rank;
		qsort(sites, n, sizeof(int), compare_units_qsort);
		widest(&s, sites, n, 0);
	}

	sol->exact = !s.stopped;
	sol->nodes = s.nodes;
	sol->units = s.have_best ? s.best_units : 0;
	sol->nchosen = s.have_best ? s.nbest : 0;
	sol->chosen = palloc(sizeof(int) * Max(sol->nchosen, 1));
	memcpy(sol->chosen, s.best_set, sizeof(int) * sol->nchosen);

	/* Shipment order: the units each site could ship alone, then the strategy. */
	for (int c = 0; c < sol->nchosen; c++)
	{
		int			j = sol->chosen[c];
		int64		units = 0;

		for (int i = 0; i < p->nlines; i++)
			units += Min(p->qty[i], avail(p, j, i));
		line_units[j] = (int32) Min(units, PG_INT32_MAX);
	}
	sort_values = line_units;
	sort_rank = s.rank;
	qsort(sol->chosen, sol->nchosen, sizeof(int), compare_units_qsort);
}
