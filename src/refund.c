/*-------------------------------------------------------------------------
 *
 * refund.c
 *	  oms.refund_return() and oms.return_refund_preview(): the money of a
 *	  return goes back through the order's payments (README, "Refunds").
 *
 *	  What a return may refund is oms.refund_breakdown() (SQL, the one
 *	  definition check_invariants() holds returns to): eligible units at the
 *	  price paid for them, less the restocking fee, plus shipping at most
 *	  once per order.  A refund is spread over the order's captures, oldest
 *	  first, each at most what it has left (oms.refund_captures()); every
 *	  piece is an oms.payment row of kind refund linked to its capture
 *	  (refund_of) and to the return (return_id).  The order's lock, taken
 *	  first as every function that changes an order takes it, serializes a
 *	  refund with record_payment and with other refunds, so no capture is
 *	  ever refunded twice.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "oms.h"

PG_FUNCTION_INFO_V1(oms_refund_return);
PG_FUNCTION_INFO_V1(oms_return_refund_preview);

/* Columns of oms.refund_breakdown(), as the functions below read them. */
#define BREAKDOWN_SQL \
	"SELECT b.goods, b.restocking_fee, b.shipping, b.refundable_total, b.refunded, b.refundable, b.lines," \
	"       r.shipping_refund, oms.currency_exponent(o.currency), o.currency" \
	"  FROM oms.refund_breakdown($1, $2) b, oms.returns r, oms.orders o" \
	" WHERE r.order_id = $1 AND r.return_id = $2 AND o.order_id = $1"

/* A return's breakdown, read under its order's lock. */
typedef struct Breakdown
{
	Numeric		goods;
	Numeric		fee;
	Numeric		shipping;
	Numeric		total;
	Numeric		refunded;
	Numeric		refundable;
	Datum		lines;			/* jsonb */
	Numeric		shipping_refunded;	/* shipping paid back so far */
	int32		exponent;		/* decimals of the currency's minor unit */
	char	   *currency;
} Breakdown;

/*
 * Reads the breakdown of return return_id of order order_id.
 */
static Breakdown
read_breakdown(int64 order_id, int64 return_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		values[2] = {Int64GetDatum(order_id), Int64GetDatum(return_id)};
	Breakdown	b;
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	int			rc;

	oms_prepare(&plan, BREAKDOWN_SQL, 2, argtypes);
	rc = SPI_execute_plan(plan, values, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "computing what the return may refund");
	if (SPI_processed == 0)
		elog(ERROR, "oms: return %lld of order %lld has no breakdown", (long long) return_id, (long long) order_id);
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	b.goods = DatumGetNumeric(SPI_getbinval(tup, desc, 1, &isnull));
	b.fee = DatumGetNumeric(SPI_getbinval(tup, desc, 2, &isnull));
	b.shipping = DatumGetNumeric(SPI_getbinval(tup, desc, 3, &isnull));
	b.total = DatumGetNumeric(SPI_getbinval(tup, desc, 4, &isnull));
	b.refunded = DatumGetNumeric(SPI_getbinval(tup, desc, 5, &isnull));
	b.refundable = DatumGetNumeric(SPI_getbinval(tup, desc, 6, &isnull));
	b.lines = SPI_getbinval(tup, desc, 7, &isnull);
	b.shipping_refunded = DatumGetNumeric(SPI_getbinval(tup, desc, 8, &isnull));
	b.exponent = DatumGetInt32(SPI_getbinval(tup, desc, 9, &isnull));
	b.currency = SPI_getvalue(tup, desc, 10);
	return b;
}

/*
 * Checks an explicit refund amount: a number above 0 and below 10^12
 * (OM169).
 */
static void
check_amount(Numeric amount)
{
	if (numeric_is_nan(amount) || numeric_is_inf(amount) ||
		oms_num_cmp(amount, oms_num_int(0)) <= 0 || oms_num_cmp(amount, oms_num_int(INT64CONST(1000000000000))) >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_REFUND),
				 errmsg("a refund amount must be a number above 0 and below 10^12, not %s", oms_num_text(amount)),
				 errhint("Leave amount NULL to refund what the return may refund now.")));
}

/*
 * Returns the amount refunded under provider_ref for return return_id of
 * order order_id (the pieces provider_ref, provider_ref#2, ...), or NULL
 * when provider_ref is new; refuses a provider_ref recorded for anything
 * else, or for this return with another amount (OM072).
 */
static Numeric
replayed_refund(int64 order_id, int64 return_id, text *provider_ref, Numeric amount)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, TEXTOID};
	Datum		values[3] = {Int64GetDatum(order_id), Int64GetDatum(return_id), PointerGetDatum(provider_ref)};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum		sum_datum;
	Numeric		sum;
	int			rc;

	oms_prepare(&plan,
				"SELECT p.order_id, p.kind, p.return_id,"
				"       (SELECT sum(x.amount) FROM oms.payment x"
				"         WHERE x.order_id = $1 AND x.return_id = $2 AND x.kind = 'refund' AND x.id >= p.id"
				"           AND (x.provider_ref = $3 OR left(x.provider_ref, length($3) + 1) = $3 || '#'))"
				"  FROM oms.payment p WHERE p.provider_ref = $3",
				3, argtypes);
	rc = SPI_execute_plan(plan, values, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "looking up provider_ref");
	if (SPI_processed == 0)
		return NULL;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	/* NULL (not to be detoasted) when the reference is another return's or payment's */
	sum_datum = SPI_getbinval(tup, desc, 4, &isnull);
	sum = isnull ? NULL : DatumGetNumeric(sum_datum);
	if (isnull || DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)) != order_id ||
		(amount && oms_num_cmp(amount, sum) != 0))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_PAYMENT_CONFLICT),
				 errmsg("provider_ref \"%s\" was recorded for another payment", text_to_cstring(provider_ref)),
				 errdetail("It was recorded as %s of order %s, return %s%s%s.", SPI_getvalue(tup, desc, 2),
						   SPI_getvalue(tup, desc, 1), SPI_getvalue(tup, desc, 3) ? SPI_getvalue(tup, desc, 3) : "(none)",
						   isnull ? "" : ", amount ", isnull ? "" : oms_num_text(sum))));
	return sum;
}

/*
 * Records amount as refunds of the captures of order order_id, oldest
 * first, each at most what it has left; refuses (OM168) when the captures
 * have less left than amount.  Returns the ids of the refund rows as a
 * JSON array.
 */
static char *
spread_refund(int64 order_id, int64 return_id, Numeric amount, text *provider_ref, const Breakdown *b)
{
	static SPIPlanPtr captures_plan = NULL;
	static SPIPlanPtr insert_plan = NULL;
	Oid			argtypes[7] = {INT8OID, NUMERICOID, TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	SPITupleTable *captures;
	uint64		ncaptures;
	Numeric		left = oms_num_int(0);
	Numeric		rest = amount;
	Datum		caller = CStringGetTextDatum(GetUserNameFromId(GetOuterUserId(), false));
	StringInfoData ids;
	int			pieces = 0;
	bool		isnull;
	int			rc;

	oms_prepare(&captures_plan,
				"SELECT payment_id, refundable FROM oms.refund_captures($1) WHERE refundable > 0 ORDER BY payment_id",
				1, argtypes);
	values[0] = Int64GetDatum(order_id);
	rc = SPI_execute_plan(captures_plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "reading the captures");
	captures = SPI_tuptable;
	ncaptures = SPI_processed;
	for (uint64 i = 0; i < ncaptures; i++)
		left = oms_num_add(left, DatumGetNumeric(SPI_getbinval(captures->vals[i], captures->tupdesc, 2, &isnull)));
	if (oms_num_cmp(amount, left) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_REFUND_UNCOVERED),
				 errmsg("a refund of %s exceeds the %s the order's captures have left", oms_num_text(amount), oms_num_text(left)),
				 errdetail("Order %lld: what is captured and not refunded yet is %s; the return may refund %s.",
						   (long long) order_id, oms_num_text(left), oms_num_text(b->refundable)),
				 errhint("Capture the payment first (oms.record_payment), or refund at most %s.", oms_num_text(left))));

	oms_prepare(&insert_plan,
				"INSERT INTO oms.payment (order_id, kind, amount, provider_ref, created_by, refund_of, return_id)"
				" VALUES ($1, 'refund', $2, $3, $4, $5, $6)"
				" ON CONFLICT (provider_ref) WHERE provider_ref IS NOT NULL DO NOTHING RETURNING id",
				6, argtypes);
	initStringInfo(&ids);
	appendStringInfoChar(&ids, '[');
	for (uint64 i = 0; i < ncaptures && oms_num_cmp(rest, oms_num_int(0)) > 0; i++)
	{
		Numeric		has = DatumGetNumeric(SPI_getbinval(captures->vals[i], captures->tupdesc, 2, &isnull));
		Numeric		take = oms_num_cmp(has, rest) < 0 ? has : rest;
		char	   *ref = NULL;

		pieces++;
		if (provider_ref)
			ref = pieces == 1 ? text_to_cstring(provider_ref)
				: psprintf("%s#%d", text_to_cstring(provider_ref), pieces);
		if (ref && strlen(ref) > 200)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_REFERENCE),
					 errmsg("provider_ref \"%s\" is too long to name the refund's %d pieces", text_to_cstring(provider_ref), pieces),
					 errdetail("A refund over several captures records provider_ref, provider_ref#2, ...: each at most 200 characters.")));
		values[0] = Int64GetDatum(order_id);
		values[1] = NumericGetDatum(take);
		values[2] = ref ? CStringGetTextDatum(ref) : (Datum) 0;
		nulls[2] = ref ? ' ' : 'n';
		values[3] = caller;
		values[4] = SPI_getbinval(captures->vals[i], captures->tupdesc, 1, &isnull);
		values[5] = Int64GetDatum(return_id);
		rc = SPI_execute_plan(insert_plan, values, nulls, false, 0);
		oms_check_spi(rc, SPI_OK_INSERT_RETURNING, "recording the refund");
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_PAYMENT_CONFLICT),
					 errmsg("provider_ref \"%s\" was recorded for another payment", ref)));
		appendStringInfo(&ids, "%s%lld", pieces == 1 ? "" : ", ",
						 (long long) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)));
		rest = oms_num_sub(rest, take);
	}
	appendStringInfoChar(&ids, ']');
	return ids.data;
}

/*
 * Adds amount to what return return_id has refunded (b: its breakdown
 * before), and spreads it over the return's lines.  The money pays for the
 * goods first, net of the restocking fee, then shipping (shipping_refund is
 * the shipping paid back so far).  The goods paid for in all, before the
 * fee, are min(goods, net * goods / (goods - fee)), net the goods' share
 * of all refunded, to the currency's minor unit; what is new of them goes
 * to the lines in line order, each up to its eligible amount, and a line's
 * qty_refunded is the units its refund_amount pays for in full.  Both only
 * grow.  Then the returns' refund_status (returns.c).
 */
static void
book_refund(int64 order_id, int64 return_id, Numeric amount, const Breakdown *b)
{
	static SPIPlanPtr return_plan = NULL;
	static SPIPlanPtr lines_plan = NULL;
	Oid			argtypes[6] = {INT8OID, INT8OID, NUMERICOID, NUMERICOID, NUMERICOID, JSONBOID};
	Datum		values[6];
	Numeric		goods_due;
	bool		isnull;
	int			rc;

	/* $3 the refund, $4 the fee, $5 the goods net of the fee not refunded yet */
	oms_prepare(&return_plan,
				"UPDATE oms.returns"
				"   SET refund_amount = refund_amount + $3, restocking_fee = $4,"
				"       shipping_refund = shipping_refund + $3 - least($3, greatest($5, 0)), updated_at = now()"
				" WHERE order_id = $1 AND return_id = $2"
				" RETURNING refund_amount - shipping_refund",
				5, argtypes);
	values[0] = Int64GetDatum(order_id);
	values[1] = Int64GetDatum(return_id);
	values[2] = NumericGetDatum(amount);
	values[3] = NumericGetDatum(b->fee);
	goods_due = oms_num_sub(oms_num_sub(b->goods, b->fee), oms_num_sub(b->refunded, b->shipping_refunded));
	values[4] = NumericGetDatum(goods_due);
	rc = SPI_execute_plan(return_plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_UPDATE_RETURNING, "recording the refund on the return");

	/* $3 the goods refunded in all, net of the fee; $4 the fee; $5 the goods; $6 the lines */
	values[2] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	values[4] = NumericGetDatum(b->goods);
	values[5] = b->lines;
	oms_prepare(&lines_plan,
				"WITH x AS (SELECT * FROM jsonb_to_recordset($6) AS x(line_no integer, qty integer, amount numeric)),"
				" cur AS ("
				"    SELECT rl.line_no, rl.refund_amount, rl.qty_refunded, x.qty, x.amount,"
				"           greatest(x.amount - rl.refund_amount, 0) AS room"
				"      FROM oms.return_line rl JOIN x ON x.line_no = rl.line_no"
				"     WHERE rl.order_id = $1 AND rl.return_id = $2),"
				" due AS ("
				"    SELECT greatest(CASE WHEN $3 >= $5 - $4 THEN $5"
				"                         ELSE trunc($3 * $5 / nullif($5 - $4, 0), oms.currency_exponent(o.currency)) END"
				"                    - (SELECT coalesce(sum(refund_amount), 0) FROM cur), 0) AS goods"
				"      FROM oms.orders o WHERE o.order_id = $1),"
				" a AS ("
				"    SELECT cur.line_no, cur.qty, cur.amount, cur.qty_refunded,"
				"           cur.refund_amount + least(cur.room, greatest(due.goods - coalesce(sum(cur.room) OVER ("
				"               ORDER BY cur.line_no ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0), 0)) AS refund_amount"
				"      FROM cur, due),"
				" n AS ("
				"    SELECT a.line_no, a.refund_amount,"
				"           greatest(a.qty_refunded, CASE WHEN a.refund_amount >= a.amount THEN a.qty"
				"                                         ELSE floor(a.refund_amount * a.qty / a.amount)::integer END) AS qty"
				"      FROM a)"
				" UPDATE oms.return_line rl SET refund_amount = n.refund_amount, qty_refunded = n.qty"
				"   FROM n"
				"  WHERE rl.order_id = $1 AND rl.return_id = $2 AND rl.line_no = n.line_no"
				"    AND (rl.refund_amount, rl.qty_refunded) IS DISTINCT FROM (n.refund_amount, n.qty)",
				6, argtypes);
	rc = SPI_execute_plan(lines_plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "recording the refunded units");
	oms_settle_returns(order_id);
}

/*
 * oms.refund_return(return_id, amount, provider_ref): refunds amount (NULL:
 * all the return may refund now) through the order's captures and returns
 * the amount refunded.
 */
Datum
oms_refund_return(PG_FUNCTION_ARGS)
{
	int64		return_id = oms_arg_int64(fcinfo, 0, "return_id");
	Numeric		amount = PG_ARGISNULL(1) ? NULL : PG_GETARG_NUMERIC(1);
	text	   *provider_ref = oms_arg_optional_text(fcinfo, 2);
	int64		order_id;
	Numeric		replayed;
	Breakdown	b;
	char	   *payment_ids;
	char	   *details;
	OmsEvent	event;
	Datum		result;

	if (amount)
		check_amount(amount);
	if (provider_ref)
	{
		char	   *ref = text_to_cstring(provider_ref);

		if (ref[0] == '\0' || strlen(ref) > 200)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_REFERENCE),
					 errmsg("provider_ref must be 1 to 200 characters")));
	}

	oms_spi_connect();
	order_id = oms_lock_return(return_id).order_id;

	/* A retry of a refund recorded before returns its amount, and does nothing. */
	if (provider_ref && (replayed = replayed_refund(order_id, return_id, provider_ref, amount)) != NULL)
	{
		result = SPI_datumTransfer(NumericGetDatum(replayed), false, -1);
		oms_spi_finish();
		PG_RETURN_DATUM(result);
	}

	b = read_breakdown(order_id, return_id);
	if (amount && oms_num_cmp(amount, DatumGetNumeric(DirectFunctionCall2(numeric_trunc, NumericGetDatum(amount),
																		Int32GetDatum(b.exponent)))) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_REFUND),
				 errmsg("a refund amount in %s has at most %d decimals, not %s", b.currency, b.exponent,
						oms_num_text(amount)),
				 errdetail("Refunds are figured to the currency's minor unit (oms.currency_exponent).")));
	if (amount == NULL)
		amount = b.refundable;
	else if (oms_num_cmp(amount, b.refundable) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_REFUND_EXCEEDS),
				 errmsg("a refund of %s exceeds the %s return %lld may refund now",
						oms_num_text(amount), oms_num_text(b.refundable), (long long) return_id),
				 errdetail("Goods %s - restocking fee %s + shipping %s = %s, of which %s is refunded already.",
						   oms_num_text(b.goods), oms_num_text(b.fee), oms_num_text(b.shipping), oms_num_text(b.total),
						   oms_num_text(b.refunded)),
				 errhint("oms.return_refund_preview(%lld) shows the breakdown.", (long long) return_id)));
	if (oms_num_cmp(amount, oms_num_int(0)) <= 0)
	{
		/* Nothing to refund now (nothing received yet, or refunded already). */
		result = SPI_datumTransfer(NumericGetDatum(oms_num_int(0)), false, -1);
		oms_spi_finish();
		PG_RETURN_DATUM(result);
	}

	payment_ids = spread_refund(order_id, return_id, amount, provider_ref, &b);
	book_refund(order_id, return_id, amount, &b);
	oms_derive_payment_status(order_id);

	/* "refund issued": one event per refund, entity refund, id its return. */
	event.order_id = order_id;
	event.entity = "refund";
	event.entity_id = return_id;
	event.from_status = oms_num_cmp(b.refunded, oms_num_int(0)) > 0 ? CStringGetTextDatum("issued") : (Datum) 0;
	event.to_status = CStringGetTextDatum("issued");
	details = psprintf("{\"return_id\": %lld, \"amount\": %s, \"goods\": %s, \"restocking_fee\": %s,"
					   " \"shipping\": %s, \"payments\": %s}",
					   (long long) return_id, oms_num_text(amount), oms_num_text(b.goods), oms_num_text(b.fee),
					   oms_num_text(b.shipping), payment_ids);
	event.details = DirectFunctionCall1(jsonb_in, CStringGetDatum(details));
	oms_write_events(&event, 1);

	result = SPI_datumTransfer(NumericGetDatum(amount), false, -1);
	oms_spi_finish();
	PG_RETURN_DATUM(result);
}

/*
 * oms.return_refund_preview(return_id): what refund_return(return_id)
 * would refund now, and from which captures, as JSON; records nothing.
 */
Datum
oms_return_refund_preview(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	int64		return_id = oms_arg_int64(fcinfo, 0, "return_id");
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		values[2];
	Datum		result;
	bool		isnull;
	int			rc;

	oms_spi_connect();
	values[0] = Int64GetDatum(oms_return_order(return_id));
	values[1] = Int64GetDatum(return_id);
	oms_prepare(&plan,
				"SELECT jsonb_build_object('return_id', $2, 'order_id', $1, 'currency', o.currency,"
				"         'kind', r.kind, 'status', r.status, 'refund_on', r.refund_on,"
				"         'restocking_fee_pct', r.restocking_fee_pct, 'refund_shipping', r.refund_shipping,"
				"         'lines', b.lines, 'goods', b.goods, 'restocking_fee', b.restocking_fee,"
				"         'shipping', b.shipping, 'refundable_total', b.refundable_total,"
				"         'refunded', b.refunded, 'refundable', b.refundable,"
				"         'captures', (SELECT coalesce(jsonb_agg(jsonb_build_object('payment_id', c.payment_id,"
				"                             'refundable', c.refundable,"
				"                             'take', least(c.refundable, greatest(0, b.refundable - c.before)))"
				"                             ORDER BY c.payment_id), '[]')"
				"                        FROM (SELECT x.*, coalesce(sum(x.refundable) OVER (ORDER BY x.payment_id"
				"                                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before"
				"                                FROM oms.refund_captures($1) x WHERE x.refundable > 0) c))"
				"  FROM oms.refund_breakdown($1, $2) b, oms.returns r, oms.orders o"
				" WHERE r.order_id = $1 AND r.return_id = $2 AND o.order_id = $1",
				2, argtypes);
	rc = SPI_execute_plan(plan, values, NULL, true, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "previewing the refund");
	if (SPI_processed == 0)
		elog(ERROR, "oms: return %lld has no breakdown", (long long) return_id);
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	result = SPI_datumTransfer(result, false, -1);
	oms_spi_finish();
	PG_RETURN_DATUM(result);
}
