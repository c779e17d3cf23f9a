/*-------------------------------------------------------------------------
 *
 * histogram.c
 *	  The mergeable hour histograms of the reporting rollups: the hours from
 *	  an order placed to a shipment leaving, and from a shipment leaving to
 *	  its delivery, kept per day and location as counts in fixed log-scale
 *	  buckets, so that a rollup row holds every shipment of its day and
 *	  location in a few hundred bytes, histograms of any days and locations
 *	  add up bucket by bucket, and p50/p90 come from the merged buckets.
 *
 *	  Buckets: whole hours h below 32 have a bucket each (bucket h); from
 *	  32 up, each doubling of hours is cut in 16 equal buckets (the bucket
 *	  of h is 32 + 16 * (e - 5) + (h >> (e - 4)) - 16, e = floor(log2 h)),
 *	  so a bucket is at most 1/16 of its hours wide: 720 hours (30 days)
 *	  fall in bucket 102, 720 to 735.  A percentile is the highest hour of
 *	  the bucket that holds it: exact below 32 hours, at most 6.25 % high
 *	  above.
 *
 *	  A histogram is a bigint[] of counts indexed by bucket, its lower bound
 *	  the first bucket with a count (a shipment's histogram is one element,
 *	  '[b:b]={1}'); empty is '{}'.  Counts may be negative: the views add a
 *	  tail of contributions now minus contributions folded in.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"

#include "oms.h"

PG_FUNCTION_INFO_V1(oms_report_hours_bucket);
PG_FUNCTION_INFO_V1(oms_report_bucket_hours);
PG_FUNCTION_INFO_V1(oms_report_hist);
PG_FUNCTION_INFO_V1(oms_report_hist_add);
PG_FUNCTION_INFO_V1(oms_report_hist_neg);
PG_FUNCTION_INFO_V1(oms_report_hist_merge);
PG_FUNCTION_INFO_V1(oms_report_hist_final);
PG_FUNCTION_INFO_V1(oms_report_hist_percentile);

/* Buckets below this hold one hour each. */
#define HIST_EXACT		32
/* Buckets per doubling of hours from HIST_EXACT up (a power of 2). */
#define HIST_SUB		16
#define HIST_SUB_BITS	4

/* The bucket of h whole hours (below 0 counts as 0). */
static int32
hours_bucket(int32 h)
{
	int			e;

	if (h < HIST_EXACT)
		return Max(h, 0);
	e = 31 - __builtin_clz((uint32) h);
	return HIST_EXACT + HIST_SUB * (e - 5) + (h >> (e - HIST_SUB_BITS)) - HIST_SUB;
}

/* The highest whole hour of bucket b. */
static int64
bucket_hours(int32 b)
{
	int			e,
				s;

	if (b < HIST_EXACT)
		return Max(b, 0);
	e = 5 + (b - HIST_EXACT) / HIST_SUB;
	s = (b - HIST_EXACT) % HIST_SUB;
	return ((int64) (HIST_SUB + s + 1) << (e - HIST_SUB_BITS)) - 1;
}

/* A histogram as its counts and the bucket of the first. */
typedef struct Hist
{
	int32		first;			/* bucket of counts[0] */
	int			n;				/* number of counts */
	int64	   *counts;
} Hist;

/* Checks that a is a histogram (one dimension of bigint, no NULLs) and reads it. */
static void
hist_read(ArrayType *a, Hist *h)
{
	if (ARR_NDIM(a) == 0)
	{
		h->first = 0;
		h->n = 0;
		h->counts = NULL;
		return;
	}
	if (ARR_NDIM(a) != 1 || ARR_ELEMTYPE(a) != INT8OID || ARR_HASNULL(a) || ARR_LBOUND(a)[0] < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_HISTOGRAM),
				 errmsg("not an hour histogram of the reporting rollups"),
				 errdetail("An hour histogram is a one-dimensional bigint array without NULLs, indexed by bucket from 0 up."),
				 errhint("Build histograms with oms.report_hist() and oms.report_hist_sum().")));
	h->first = ARR_LBOUND(a)[0];
	h->n = ARR_DIMS(a)[0];
	h->counts = (int64 *) ARR_DATA_PTR(a);
}

/* The histogram of counts[0..n-1] from bucket first, without leading or trailing zeros. */
static ArrayType *
hist_make(int32 first, int n, const int64 *counts)
{
	int			lo = 0,
				hi = n;
	int			dims[1],
				lbs[1];
	Datum	   *d;
	ArrayType  *a;

	while (lo < hi && counts[lo] == 0)
		lo++;
	while (hi > lo && counts[hi - 1] == 0)
		hi--;
	if (lo == hi)
		return construct_empty_array(INT8OID);
	d = palloc(sizeof(Datum) * (hi - lo));
	for (int i = lo; i < hi; i++)
		d[i - lo] = Int64GetDatum(counts[i]);
	dims[0] = hi - lo;
	lbs[0] = first + lo;
	a = construct_md_array(d, NULL, 1, dims, lbs, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	pfree(d);
	return a;
}

/* counts of a + sign * counts of b, over the buckets of both. */
static ArrayType *
hist_combine(ArrayType *a, ArrayType *b, int sign)
{
	Hist		x,
				y;
	int32		first,
				last;
	int64	   *sum;
	ArrayType  *r;

	hist_read(a, &x);
	hist_read(b, &y);
	if (x.n == 0 && y.n == 0)
		return construct_empty_array(INT8OID);
	first = x.n == 0 ? y.first : y.n == 0 ? x.first : Min(x.first, y.first);
	last = x.n == 0 ? y.first + y.n : y.n == 0 ? x.first + x.n : Max(x.first + x.n, y.first + y.n);
	sum = palloc0(sizeof(int64) * (last - first));
	for (int i = 0; i < x.n; i++)
		sum[x.first - first + i] += x.counts[i];
	for (int i = 0; i < y.n; i++)
		sum[y.first - first + i] += sign * y.counts[i];
	r = hist_make(first, last - first, sum);
	pfree(sum);
	return r;
}

/* oms.report_hours_bucket(hours integer): the bucket of whole hours. */
Datum
oms_report_hours_bucket(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(hours_bucket(PG_GETARG_INT32(0)));
}

/* oms.report_bucket_hours(bucket integer): the highest whole hour of a bucket. */
Datum
oms_report_bucket_hours(PG_FUNCTION_ARGS)
{
	int32		b = PG_GETARG_INT32(0);

	if (b < 0 || b > hours_bucket(PG_INT32_MAX))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_HISTOGRAM),
				 errmsg("no hour bucket %d", b),
				 errdetail("Buckets run from 0 to %d.", hours_bucket(PG_INT32_MAX))));
	PG_RETURN_INT64(bucket_hours(b));
}

/* oms.report_hist(hours integer): the histogram of one shipment, hours after. */
Datum
oms_report_hist(PG_FUNCTION_ARGS)
{
	int64		one = 1;

	PG_RETURN_ARRAYTYPE_P(hist_make(hours_bucket(PG_GETARG_INT32(0)), 1, &one));
}

/* oms.report_hist_add(a, b): the counts of both, bucket by bucket. */
Datum
oms_report_hist_add(PG_FUNCTION_ARGS)
{
	PG_RETURN_ARRAYTYPE_P(hist_combine(PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_ARRAYTYPE_P(1), 1));
}

/* oms.report_hist_neg(a): the counts of a negated (to take a contribution out). */
Datum
oms_report_hist_neg(PG_FUNCTION_ARGS)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);

	PG_RETURN_ARRAYTYPE_P(hist_combine(construct_empty_array(INT8OID), a, -1));
}

/*
 * State of oms.report_hist_sum: counts over the buckets seen so far, in the
 * aggregate's memory context, grown as later histograms reach further; NULL
 * until a histogram with counts comes (most groups of a rebuild have none).
 */
typedef struct HistState
{
	int32		first;
	int			n;
	int64		counts[FLEXIBLE_ARRAY_MEMBER];
} HistState;

/* Transition function of oms.report_hist_sum(bigint[]). */
Datum
oms_report_hist_merge(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	HistState  *st = PG_ARGISNULL(0) ? NULL : (HistState *) PG_GETARG_POINTER(0);
	Hist		h;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "oms_report_hist_merge called in a non-aggregate context");
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);
	hist_read(PG_GETARG_ARRAYTYPE_P(1), &h);
	if (h.n == 0)
		PG_RETURN_POINTER(st);
	if (st == NULL || h.first < st->first || h.first + h.n > st->first + st->n)
	{
		int32		first = st == NULL ? h.first : Min(st->first, h.first);
		int32		last = st == NULL ? h.first + h.n : Max(st->first + st->n, h.first + h.n);
		HistState  *grown;

		grown = MemoryContextAllocZero(aggcontext, offsetof(HistState, counts) + sizeof(int64) * (last - first));
		grown->first = first;
		grown->n = last - first;
		if (st != NULL)
		{
			memcpy(&grown->counts[st->first - first], st->counts, sizeof(int64) * st->n);
			pfree(st);
		}
		st = grown;
	}
	for (int i = 0; i < h.n; i++)
		st->counts[h.first - st->first + i] += h.counts[i];
	PG_RETURN_POINTER(st);
}

/* Final function of oms.report_hist_sum(bigint[]): the histogram, '{}' when empty. */
Datum
oms_report_hist_final(PG_FUNCTION_ARGS)
{
	HistState  *st = PG_ARGISNULL(0) ? NULL : (HistState *) PG_GETARG_POINTER(0);

	if (st == NULL)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(INT8OID));
	PG_RETURN_ARRAYTYPE_P(hist_make(st->first, st->n, st->counts));
}

/*
 * oms.report_hist_percentile(histogram, fraction): the highest hour of the
 * bucket that holds the fraction's shipment, as percentile_disc picks it
 * (the ceil(fraction * total)-th in order, the first for 0); NULL when the
 * histogram counts nothing.
 */
Datum
oms_report_hist_percentile(PG_FUNCTION_ARGS)
{
	float8		p = PG_GETARG_FLOAT8(1);
	Hist		h;
	int64		total = 0,
				target,
				cum = 0;

	if (isnan(p) || p < 0 || p > 1)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_PERCENTILE),
				 errmsg("percentile %g is not between 0 and 1", p),
				 errhint("Ask for 0.5 for the median, 0.9 for the 90th percentile.")));
	hist_read(PG_GETARG_ARRAYTYPE_P(0), &h);
	for (int i = 0; i < h.n; i++)
		total += h.counts[i];
	if (total <= 0)
		PG_RETURN_NULL();
	target = Max((int64) ceil(p * (float8) total), 1);
	for (int i = 0; i < h.n; i++)
	{
		cum += h.counts[i];
		if (cum >= target)
			PG_RETURN_INT64(bucket_hours(h.first + i));
	}
	PG_RETURN_INT64(bucket_hours(h.first + h.n - 1));
}
