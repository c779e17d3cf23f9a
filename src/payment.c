/*-------------------------------------------------------------------------
 *
 * payment.c
 *	  oms.record_payment(): what the payment provider did with an order's
 *	  money -- authorize, capture, refund, void -- one row each, never
 *	  capturing more than is authorized nor refunding more than is captured.
 *	  The order's payment_status follows from the sums (and writes its event
 *	  through the transition trigger).  The order's lock serializes the
 *	  payments of one order; provider_ref makes a retry record nothing twice.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "oms.h"

PG_FUNCTION_INFO_V1(oms_record_payment);

static const char *const payment_kinds[] = {"authorize", "capture", "refund", "void"};

/*
 * Returns the payment recorded under provider_ref, or 0; refuses a
 * provider_ref used for another operation.
 */
static int64
find_provider_ref(text *provider_ref, int64 order_id, const char *kind, Numeric amount)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtype = TEXTOID;
	Datum		value = PointerGetDatum(provider_ref);
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	int			rc;

	oms_prepare(&plan, "SELECT id, order_id, kind, amount FROM oms.payment WHERE provider_ref = $1",
				1, &argtype);
	rc = SPI_execute_plan(plan, &value, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "looking up provider_ref");
	if (SPI_processed == 0)
		return 0;
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	if (DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull)) != order_id ||
		strcmp(SPI_getvalue(tup, desc, 3), kind) != 0 ||
		oms_num_cmp(DatumGetNumeric(SPI_getbinval(tup, desc, 4, &isnull)), amount) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_PAYMENT_CONFLICT),
				 errmsg("provider_ref \"%s\" was recorded for another payment", text_to_cstring(provider_ref)),
				 errdetail("It was recorded as %s %s for order %s.", SPI_getvalue(tup, desc, 3),
						   SPI_getvalue(tup, desc, 4), SPI_getvalue(tup, desc, 2))));
	return DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
}

/*
 * Sets the payment_status of order order_id, which the caller has locked,
 * from the sums of its payments (README, "Payments"); the transition
 * trigger writes the event, and reporting hears of the order either way.
 * Called inside an SPI connection.
 */
void
oms_derive_payment_status(int64 order_id)
{
	static SPIPlanPtr status_plan = NULL;
	Oid			argtype = INT8OID;
	Datum		value = Int64GetDatum(order_id);
	int			rc;

	oms_prepare(&status_plan,
				"WITH p AS ("
				"  SELECT coalesce(sum(amount) FILTER (WHERE kind = 'authorize'), 0) AS a,"
				"         coalesce(sum(amount) FILTER (WHERE kind = 'capture'), 0) AS c,"
				"         coalesce(sum(amount) FILTER (WHERE kind = 'refund'), 0) AS r,"
				"         coalesce(sum(amount) FILTER (WHERE kind = 'void'), 0) AS v"
				"    FROM oms.payment WHERE order_id = $1),"
				" d AS ("
				"  SELECT CASE WHEN a = 0 THEN 'unpaid'"
				"              WHEN c = 0 THEN CASE WHEN v = a THEN 'voided' ELSE 'authorized' END"
				"              WHEN r = 0 THEN CASE WHEN c = a - v THEN 'captured' ELSE 'partially_captured' END"
				"              WHEN r < c THEN 'partially_refunded'"
				"              ELSE 'refunded' END AS status"
				"    FROM p)"
				" UPDATE oms.orders o SET payment_status = d.status, updated_at = now()"
				"   FROM d WHERE o.order_id = $1 AND o.payment_status <> d.status",
				1, &argtype);
	rc = SPI_execute_plan(status_plan, &value, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "deriving the payment status");
	oms_report_touch_order(order_id);	/* the status may stay as it was */
}

/*
 * oms.record_payment(order_id, kind, amount, provider_ref): records one
 * payment operation and returns its id.
 */
Datum
oms_record_payment(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr sums_plan = NULL;
	static SPIPlanPtr insert_plan = NULL;
	Oid			argtypes[5] = {INT8OID, TEXTOID, NUMERICOID, TEXTOID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	int64		order_id = oms_arg_int64(fcinfo, 0, "order_id");
	char	   *kind = text_to_cstring(oms_arg_text(fcinfo, 1, "kind"));
	Numeric		amount;
	text	   *provider_ref = oms_arg_optional_text(fcinfo, 3);
	Numeric		authorized,
				captured,
				refunded,
				voided,
				limit = NULL;
	char	   *status;
	bool		known = false;
	bool		isnull;
	int64		payment_id;
	int			rc;

	for (int i = 0; i < (int) lengthof(payment_kinds); i++)
		known |= strcmp(kind, payment_kinds[i]) == 0;
	if (!known)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_PAYMENT),
				 errmsg("unknown payment kind \"%s\"", kind),
				 errhint("Kinds are authorize, capture, refund and void.")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("amount must not be NULL")));
	amount = PG_GETARG_NUMERIC(2);
	if (numeric_is_nan(amount) || numeric_is_inf(amount) ||
		oms_num_cmp(amount, oms_num_int(0)) <= 0 || oms_num_cmp(amount, oms_num_int(INT64CONST(1000000000000))) >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_PAYMENT),
				 errmsg("amount must be a number above 0 and below 10^12, not %s", oms_num_text(amount))));
	if (provider_ref)
	{
		char	   *ref = text_to_cstring(provider_ref);

		if (ref[0] == '\0' || strlen(ref) > 200)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_REFERENCE),
					 errmsg("provider_ref must be 1 to 200 characters")));
	}

	oms_spi_connect();
	status = oms_lock_order(order_id);

	/* A retry of an operation recorded before returns it, and does nothing. */
	if (provider_ref && (payment_id = find_provider_ref(provider_ref, order_id, kind, amount)) != 0)
	{
		oms_spi_finish();
		PG_RETURN_INT64(payment_id);
	}
	if ((strcmp(kind, "authorize") == 0 || strcmp(kind, "capture") == 0) &&
		(strcmp(status, "cancelled") == 0 || strcmp(status, "closed") == 0))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_PAYMENT_REFUSED),
				 errmsg("order %lld is %s: nothing more can be authorized or captured", (long long) order_id, status),
				 errhint("Void what is authorized, refund what is captured.")));

	oms_prepare(&sums_plan,
				"SELECT coalesce(sum(amount) FILTER (WHERE kind = 'authorize'), 0),"
				"       coalesce(sum(amount) FILTER (WHERE kind = 'capture'), 0),"
				"       coalesce(sum(amount) FILTER (WHERE kind = 'refund'), 0),"
				"       coalesce(sum(amount) FILTER (WHERE kind = 'void'), 0)"
				"  FROM oms.payment WHERE order_id = $1",
				1, argtypes);
	values[0] = Int64GetDatum(order_id);
	rc = SPI_execute_plan(sums_plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "adding up the payments");
	authorized = DatumGetNumeric(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	captured = DatumGetNumeric(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	refunded = DatumGetNumeric(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	voided = DatumGetNumeric(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));

	/* Capture and void take from the open authorization, refund from the captured. */
	if (strcmp(kind, "capture") == 0 || strcmp(kind, "void") == 0)
		limit = oms_num_sub(oms_num_sub(authorized, captured), voided);
	else if (strcmp(kind, "refund") == 0)
		limit = oms_num_sub(captured, refunded);
	if (limit && oms_num_cmp(amount, limit) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_PAYMENT_EXCEEDS),
				 errmsg("a %s of %s exceeds the %s %s", kind, oms_num_text(amount), oms_num_text(limit),
						strcmp(kind, "refund") == 0 ? "captured and not yet refunded"
						: "authorized and not yet captured or voided"),
				 errdetail("Order %lld: authorized %s, captured %s, refunded %s, voided %s.",
						   (long long) order_id, oms_num_text(authorized), oms_num_text(captured),
						   oms_num_text(refunded), oms_num_text(voided))));

	/*
	 * Another order's payment may claim the same provider_ref meanwhile.  On
	 * Citus provider_ref is unique per order (oms.distribute()), so there
	 * the insert gives way to any conflict.
	 */
	oms_prepare(&insert_plan,
				oms_citus_named("payment")
				? "INSERT INTO oms.payment (order_id, kind, amount, provider_ref, created_by)"
				" VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id"
				: "INSERT INTO oms.payment (order_id, kind, amount, provider_ref, created_by)"
				" VALUES ($1, $2, $3, $4, $5)"
				" ON CONFLICT (provider_ref) WHERE provider_ref IS NOT NULL DO NOTHING RETURNING id",
				5, argtypes);
	values[1] = CStringGetTextDatum(kind);
	values[2] = NumericGetDatum(amount);
	values[3] = PointerGetDatum(provider_ref);
	nulls[3] = provider_ref ? ' ' : 'n';
	values[4] = CStringGetTextDatum(GetUserNameFromId(GetOuterUserId(), false));
	rc = SPI_execute_plan(insert_plan, values, nulls, false, 0);
	oms_check_spi(rc, SPI_OK_INSERT_RETURNING, "recording the payment");
	if (SPI_processed == 0)
	{
		(void) find_provider_ref(provider_ref, order_id, kind, amount);
		ereport(ERROR,
				(errcode(ERRCODE_OMS_PAYMENT_CONFLICT),
				 errmsg("provider_ref \"%s\" was recorded for another payment", text_to_cstring(provider_ref))));
	}
	payment_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	oms_derive_payment_status(order_id);

	oms_spi_finish();
	PG_RETURN_INT64(payment_id);
}
