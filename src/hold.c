/*-------------------------------------------------------------------------
 *
 * hold.c
 *	  Cart and checkout holds: oms.hold_stock, oms.release_hold and
 *	  oms.expire_holds.
 *
 *	  A hold sets units aside at the locations routing picks, like an order
 *	  that has not been placed yet, until it expires.  The units count in
 *	  stock.held.  An expired hold blocks nothing: routing does not count
 *	  it, and a sale that needs its units deletes its lines on the spot
 *	  (stock.c).  expire_holds cleans up the rest.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "oms.h"

PG_FUNCTION_INFO_V1(oms_hold_stock);
PG_FUNCTION_INFO_V1(oms_release_hold);
PG_FUNCTION_INFO_V1(oms_expire_holds);

/*
 * Locks hold hold_ref and returns its lines; for an order or hold of req, a
 * hold of another channel is an error.  A missing hold has no lines.
 */
RowUnits *
oms_lock_hold(OrderRequest *req, const char *hold_ref, int *nheld, bool *exists)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(hold_ref)};
	RowUnits  *held;
	bool		isnull;
	int			rc;

	/* Lock the hold itself, then read its lines. */
	oms_prepare(&plan,
				"SELECT h.channel_id, l.sku_id, l.location_id, l.qty"
				"  FROM (SELECT hold_ref, channel_id FROM oms.hold WHERE hold_ref = $1 FOR NO KEY UPDATE) h"
				"  LEFT JOIN oms.hold_line l ON l.hold_ref = h.hold_ref",
				1, argtypes);
	rc = SPI_execute_plan(plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "locking a hold");

	*exists = SPI_processed > 0;
	*nheld = 0;
	held = palloc(sizeof(RowUnits) * Max(SPI_processed, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		if (req && DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)) != req->channel.id)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_HOLD_CHANNEL_MISMATCH),
					 errmsg("hold \"%s\" belongs to another channel than \"%s\"", hold_ref, req->channel.code)));
		(void) SPI_getbinval(tup, desc, 2, &isnull);
		if (isnull)
			continue;			/* a hold whose lines all expired */
		held[*nheld].hold_ref = hold_ref;
		held[*nheld].row.sku_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		held[*nheld].row.location_id = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		held[*nheld].qty = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
		(*nheld)++;
	}
	return held;
}

/*
 * Deletes the holds whose references are in hold_refs (n text Datums) and
 * their lines, once their units were given back.
 */
void
oms_delete_holds(Datum *hold_refs, int n)
{
	static SPIPlanPtr lines_plan = NULL;
	static SPIPlanPtr holds_plan = NULL;
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		values[1];
	int			rc;

	values[0] = PointerGetDatum(construct_array(hold_refs, n, TEXTOID, -1, false, TYPALIGN_INT));
	oms_prepare(&lines_plan, "DELETE FROM oms.hold_line WHERE hold_ref = ANY ($1)", 1, argtypes);
	rc = oms_execute_trusted(lines_plan, values, NULL, 0);
	oms_check_spi(rc, SPI_OK_DELETE, "deleting hold lines");
	oms_prepare(&holds_plan, "DELETE FROM oms.hold WHERE hold_ref = ANY ($1)", 1, argtypes);
	rc = oms_execute_trusted(holds_plan, values, NULL, 0);
	oms_check_spi(rc, SPI_OK_DELETE, "deleting holds");
}

/*
 * Gives back every unit of the holds' lines in held, in stock-row order,
 * then deletes the n holds in hold_refs.
 */
static void
release_holds(RowUnits *held, int nheld, Datum *hold_refs, int n)
{
	qsort(held, nheld, sizeof(RowUnits), oms_compare_stock_rows);
	for (int i = 0; i < nheld; i++)
		oms_release_hold_line(held[i].hold_ref, held[i].row.sku_id, held[i].row.location_id);
	oms_delete_holds(hold_refs, n);
}

/*
 * oms.hold_stock(hold_ref, channel, lines, ttl): sets units aside.
 */
Datum
oms_hold_stock(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr hold_plan = NULL;
	static SPIPlanPtr lines_plan = NULL;
	char	   *hold_ref = oms_arg_reference(fcinfo, 0, "hold_ref");
	Jsonb	   *lines = oms_arg_optional_jsonb(fcinfo, 2);
	Interval   *ttl;
	Oid			hold_types[3] = {TEXTOID, INT8OID, INTERVALOID};
	Oid			lines_types[5] = {TEXTOID, INT8ARRAYOID, INT8ARRAYOID, INT4ARRAYOID, TIMESTAMPTZOID};
	Datum		values[5];
	OrderRequest req;
	RoutePlan  *plan;
	RowUnits  *held;
	int			nheld;
	bool		exists;
	TimestampTz expires_at;
	bool		isnull;
	Datum	   *skus,
			   *locs,
			   *qtys;
	int			rc;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("ttl must not be null")));
	ttl = PG_GETARG_INTERVAL_P(3);
	/* Days and time each bounded before they are added: no overflow. */
	if (ttl->month != 0 || ttl->day < 0 || ttl->day > 7 || ttl->time < 0 ||
		ttl->time > 7 * USECS_PER_DAY || (ttl->day == 0 && ttl->time == 0) ||
		ttl->day * USECS_PER_DAY + ttl->time > 7 * USECS_PER_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_TTL),
				 errmsg("ttl must be more than 0 and at most 7 days")));

	memset(&req, 0, sizeof(req));
	oms_parse_lines(lines, false, &req);
	req.allow_split = true;
	req.hold_ref = hold_ref;

	oms_spi_connect();
	req.channel = oms_active_channel(oms_arg_text(fcinfo, 1, "channel"));
	oms_resolve_skus(&req);
	oms_merge_lines(&req);		/* a repeated SKU is held once, in total */

	/* Create or extend the hold, which also locks it against a racing call. */
	oms_prepare(&hold_plan,
				"INSERT INTO oms.hold (hold_ref, channel_id, expires_at) VALUES ($1, $2, now() + $3)"
				" ON CONFLICT (hold_ref) DO UPDATE SET expires_at = excluded.expires_at"
				" RETURNING channel_id, expires_at",
				3, hold_types);
	values[0] = CStringGetTextDatum(hold_ref);
	values[1] = Int64GetDatum(req.channel.id);
	values[2] = IntervalPGetDatum(ttl);
	rc = oms_execute_trusted(hold_plan, values, NULL, 0);
	oms_check_spi(rc, SPI_OK_INSERT_RETURNING, "writing the hold");
	/* By value: SPI's tuple is gone after oms_spi_finish(). */
	expires_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

	/* The new lines replace the old ones, whose units count for them. */
	held = oms_lock_hold(&req, hold_ref, &nheld, &exists);
	plan = oms_reserve(&req, true, held, nheld);

	skus = palloc(sizeof(Datum) * Max(plan->nallocs, 1));
	locs = palloc(sizeof(Datum) * Max(plan->nallocs, 1));
	qtys = palloc(sizeof(Datum) * Max(plan->nallocs, 1));
	for (int i = 0; i < plan->nallocs; i++)
	{
		skus[i] = Int64GetDatum(plan->allocs[i].row.sku_id);
		locs[i] = Int64GetDatum(plan->allocs[i].row.location_id);
		qtys[i] = Int32GetDatum(plan->allocs[i].qty);
	}
	oms_prepare(&lines_plan,
				"INSERT INTO oms.hold_line (hold_ref, sku_id, location_id, qty, expires_at)"
				" SELECT $1, s, l, q, $5 FROM unnest($2, $3, $4) AS u(s, l, q)",
				5, lines_types);
	values[1] = PointerGetDatum(construct_array(skus, plan->nallocs, INT8OID, 8, true, TYPALIGN_DOUBLE));
	values[2] = PointerGetDatum(construct_array(locs, plan->nallocs, INT8OID, 8, true, TYPALIGN_DOUBLE));
	values[3] = PointerGetDatum(construct_array(qtys, plan->nallocs, INT4OID, 4, true, TYPALIGN_INT));
	values[4] = TimestampTzGetDatum(expires_at);
	rc = oms_execute_trusted(lines_plan, values, NULL, 0);
	oms_check_spi(rc, SPI_OK_INSERT, "writing the hold lines");

	oms_spi_finish();
	PG_RETURN_TIMESTAMPTZ(expires_at);
}

/*
 * oms.release_hold(hold_ref): gives a hold's units back.
 */
Datum
oms_release_hold(PG_FUNCTION_ARGS)
{
	char	   *hold_ref = text_to_cstring(oms_arg_text(fcinfo, 0, "hold_ref"));
	Datum		ref = CStringGetTextDatum(hold_ref);
	RowUnits  *held;
	int			nheld;
	bool		exists;

	oms_spi_connect();
	held = oms_lock_hold(NULL, hold_ref, &nheld, &exists);
	if (exists)
		release_holds(held, nheld, &ref, 1);
	oms_spi_finish();
	PG_RETURN_BOOL(exists);
}

/*
 * oms.expire_holds(): releases the expired holds nobody is working on.
 */
Datum
oms_expire_holds(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	int			nholds,
				nheld = 0;
	RowUnits  *held;
	Datum	   *refs;
	int			rc;

	oms_spi_connect();

	/* Lock the expired holds first, then read their lines. */
	oms_prepare(&plan,
				"WITH h AS (SELECT hold_ref FROM oms.hold WHERE expires_at <= now()"
				"            ORDER BY expires_at LIMIT 10000 FOR NO KEY UPDATE SKIP LOCKED)"
				" SELECT h.hold_ref, l.sku_id, l.location_id FROM h"
				"   LEFT JOIN oms.hold_line l ON l.hold_ref = h.hold_ref"
				"  ORDER BY h.hold_ref",
				0, NULL);
	rc = SPI_execute_plan(plan, NULL, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "finding expired holds");

	held = palloc(sizeof(RowUnits) * Max(SPI_processed, 1));
	refs = palloc(sizeof(Datum) * Max(SPI_processed, 1));
	nholds = 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *ref = SPI_getvalue(tup, desc, 1);
		bool		isnull;

		if (nholds == 0 || strcmp(TextDatumGetCString(refs[nholds - 1]), ref) != 0)
			refs[nholds++] = CStringGetTextDatum(ref);
		held[nheld].hold_ref = ref;
		held[nheld].row.sku_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		if (isnull)
			continue;			/* its lines went already */
		held[nheld].row.location_id = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		nheld++;
	}
	if (nholds > 0)
		release_holds(held, nheld, refs, nholds);

	oms_spi_finish();
	PG_RETURN_INT32(nholds);
}
