/*-------------------------------------------------------------------------
 *
 * fulfil.c
 *	  Shipments: oms.create_shipment() puts reserved units of an order at one
 *	  location into a parcel, oms.ship() hands it to a carrier -- the
 *	  reservations are consumed and the units leave on_hand through the
 *	  ledger -- and oms.track() records the carrier's scans until delivery.
 *	  oms.cancel_shipment() calls off a parcel not shipped yet.
 *
 *	  Every function locks the order first, as cancel_order does, so a
 *	  shipment and a cancellation of the same order never interleave.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "oms.h"

PG_FUNCTION_INFO_V1(oms_create_shipment);
PG_FUNCTION_INFO_V1(oms_ship);
PG_FUNCTION_INFO_V1(oms_track);
PG_FUNCTION_INFO_V1(oms_cancel_shipment);

/* Statuses a carrier scan may report (oms.track). */
static const char *const tracking_statuses[] = {
	"in_transit", "out_for_delivery", "delivered", "delivery_failed", "returned_to_sender"
};

/* A shipment, as read under its order's lock. */
typedef struct Shipment
{
	int64		id;
	int64		order_id;
	int64		location_id;
	char	   *status;
	TimestampTz status_at;
	char	   *order_status;
} Shipment;

/*
 * Locks the order of shipment_id, then the shipment, and reads it.
 */
static Shipment
lock_shipment(int64 shipment_id)
{
	static SPIPlanPtr order_plan = NULL;
	static SPIPlanPtr lock_plan = NULL;
	Oid			argtype = INT8OID;
	Oid			lock_argtypes[2] = {INT8OID, INT8OID};
	Datum		value = Int64GetDatum(shipment_id);
	Datum		lock_values[2];
	Shipment	s;
	bool		isnull;
	int			rc;

	/*
	 * Not read-only: a fresh snapshot sees a shipment an oms function
	 * created earlier in the calling statement (ship(create_shipment(...))).
	 */
	oms_prepare(&order_plan, "SELECT order_id FROM oms.shipment WHERE id = $1", 1, &argtype);
	rc = SPI_execute_plan(order_plan, &value, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "finding the shipment");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_UNKNOWN_SHIPMENT),
				 errmsg("shipment %lld does not exist", (long long) shipment_id)));
	s.order_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	s.order_status = oms_lock_order(s.order_id);

	/* By the order too: a row lock Citus takes only by the distribution key. */
	oms_prepare(&lock_plan,
				"SELECT location_id, status, status_at FROM oms.shipment"
				" WHERE order_id = $2 AND id = $1 FOR NO KEY UPDATE",
				2, lock_argtypes);
	lock_values[0] = value;
	lock_values[1] = Int64GetDatum(s.order_id);
	rc = SPI_execute_plan(lock_plan, lock_values, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "locking the shipment");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_UNKNOWN_SHIPMENT),
				 errmsg("shipment %lld does not exist", (long long) shipment_id)));
	s.id = shipment_id;
	s.location_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	s.status = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	s.status_at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	return s;
}

/*
 * Units of each line of order_id reserved at location_id and not yet in a
 * pending shipment: open[line_no - 1], for lines 1 to *nlines.
 */
static int32 *
open_units(int64 order_id, int64 location_id, int *nlines)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		values[2] = {Int64GetDatum(order_id), Int64GetDatum(location_id)};
	int32	   *open;
	int			rc;

	oms_prepare(&plan,
				"SELECT l.line_no,"
				"       (SELECT coalesce(sum(r.qty), 0) FROM oms.reservation r"
				"         WHERE r.order_id = l.order_id AND r.line_no = l.line_no"
				"           AND r.location_id = $2 AND r.state = 'held')"
				"     - (SELECT coalesce(sum(sl.qty), 0) FROM oms.shipment_line sl"
				"          JOIN oms.shipment s ON s.order_id = sl.order_id AND s.id = sl.shipment_id"
				"         WHERE sl.order_id = l.order_id AND sl.line_no = l.line_no"
				"           AND s.location_id = $2 AND s.status = 'pending')"
				"  FROM oms.order_lines l WHERE l.order_id = $1 ORDER BY l.line_no",
				2, argtypes);
	rc = SPI_execute_plan(plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "reading the units to ship");

	/* Lines are numbered 1 to n (place_order numbers them). */
	*nlines = (int) SPI_processed;
	open = palloc0(sizeof(int32) * Max(*nlines, 1));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;

		open[i] = (int32) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	return open;
}

/*
 * Reads the lines argument of create_shipment, [{"line_no": 1, "qty": 2}],
 * into take[], checking each against open[].
 */
static void
parse_shipment_lines(Jsonb *lines, int64 order_id, const char *location,
					 const int32 *open, int nlines, int32 *take)
{
	int			n;

	if (!JB_ROOT_IS_ARRAY(lines) || JB_ROOT_IS_SCALAR(lines) ||
		(n = JB_ROOT_COUNT(lines)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_SHIPMENT_LINES),
				 errmsg("lines must be a non-empty JSON array of {\"line_no\": n, \"qty\": n} objects")));
	for (int i = 0; i < n; i++)
	{
		JsonbValue *elem = getIthJsonbValueFromContainer(&lines->root, i);
		JsonbValue *v;
		int32		line_no = 0,
					qty = -1;

		if (elem->type != jbvBinary || !JsonContainerIsObject(elem->val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_SHIPMENT_LINES),
					 errmsg("lines element %d is not an object", i + 1)));
		if (JsonContainerSize(elem->val.binary.data) > 2)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_SHIPMENT_LINES),
					 errmsg("lines element %d has fields other than line_no and qty", i + 1)));
		v = getKeyJsonValueFromContainer(elem->val.binary.data, "line_no", 7, NULL);
		if (v == NULL || v->type != jbvNumeric ||
			!oms_json_int32(v, &line_no) || line_no <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_SHIPMENT_LINES),
					 errmsg("lines element %d: line_no must be a positive whole number", i + 1)));
		v = getKeyJsonValueFromContainer(elem->val.binary.data, "qty", 3, NULL);
		if (v != NULL && (!oms_json_int32(v, &qty) || qty <= 0))
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_QUANTITY),
					 errmsg("lines element %d: qty must be a positive whole number", i + 1)));
		if (JsonContainerSize(elem->val.binary.data) == 2 && v == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_SHIPMENT_LINES),
					 errmsg("lines element %d has fields other than line_no and qty", i + 1)));
		if (line_no > nlines)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_UNKNOWN_LINE),
					 errmsg("order %lld has no line %d", (long long) order_id, line_no)));
		if (take[line_no - 1] > 0)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_SHIPMENT_LINES),
					 errmsg("line %d appears twice in lines", line_no)));
		if (qty < 0)
			qty = open[line_no - 1];	/* no qty: every open unit */
		if (qty <= 0 || qty > open[line_no - 1])
			ereport(ERROR,
					(errcode(ERRCODE_OMS_NOTHING_TO_SHIP),
					 errmsg("line %d of order %lld: %d asked, %d reserved at %s and not in a shipment",
							line_no, (long long) order_id, qty > 0 ? qty : 1, Max(open[line_no - 1], 0),
							location)));
		take[line_no - 1] = qty;
	}
}

/*
 * oms.create_shipment(order_id, location, lines): a pending shipment of the
 * order's units reserved at location, by default every one not yet in a
 * shipment; returns its id.
 */
Datum
oms_create_shipment(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr insert_plan = NULL;
	Oid			argtypes[4] = {INT8OID, INT8OID, INT4ARRAYOID, INT4ARRAYOID};
	Datum		values[4];
	int64		order_id = oms_arg_int64(fcinfo, 0, "order_id");
	Jsonb	   *lines = oms_arg_optional_jsonb(fcinfo, 2);
	OmsRef		location;
	char	   *status;
	int32	   *open;
	int32	   *take;
	Datum	   *line_nos;
	Datum	   *qtys;
	int			nlines,
				n = 0;
	bool		isnull;
	int64		shipment_id;
	OmsEvent	event;
	StringInfoData details;
	int			rc;

	oms_spi_connect();
	status = oms_lock_order(order_id);
	location = oms_lookup(OMS_LOCATION, oms_arg_text(fcinfo, 1, "location"));
	if (strcmp(status, "reserved") != 0 && strcmp(status, "backordered") != 0 &&
		strcmp(status, "partially_shipped") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_NOTHING_TO_SHIP),
				 errmsg("order %lld is %s: it has nothing to ship", (long long) order_id, status)));

	open = open_units(order_id, location.id, &nlines);
	take = palloc0(sizeof(int32) * Max(nlines, 1));
	if (lines)
		parse_shipment_lines(lines, order_id, location.code, open, nlines, take);
	else
		for (int i = 0; i < nlines; i++)
			take[i] = Max(open[i], 0);

	line_nos = palloc(sizeof(Datum) * Max(nlines, 1));
	qtys = palloc(sizeof(Datum) * Max(nlines, 1));
	for (int i = 0; i < nlines; i++)
		if (take[i] > 0)
		{
			line_nos[n] = Int32GetDatum(i + 1);
			qtys[n] = Int32GetDatum(take[i]);
			n++;
		}
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_NOTHING_TO_SHIP),
				 errmsg("order %lld has no units reserved at %s that are not in a shipment yet",
						(long long) order_id, location.code)));

	/*
	 * The shipment and its lines, in one statement; then its first event.
	 * Citus runs no statement with two INSERTs into distributed tables: there
	 * the shipment comes first, then its lines.
	 */
	values[0] = Int64GetDatum(order_id);
	values[1] = Int64GetDatum(location.id);
	if (oms_citus_named("shipment"))
	{
		static SPIPlanPtr shipment_plan = NULL;
		static SPIPlanPtr lines_plan = NULL;

		oms_prepare(&shipment_plan,
					"INSERT INTO oms.shipment (order_id, location_id) VALUES ($1, $2) RETURNING id",
					2, argtypes);
		rc = SPI_execute_plan(shipment_plan, values, NULL, false, 0);
		oms_check_spi(rc, SPI_OK_INSERT_RETURNING, "creating the shipment");
		shipment_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		oms_prepare(&lines_plan,
					"INSERT INTO oms.shipment_line (shipment_id, line_no, order_id, qty)"
					" SELECT $2, u.n, $1, u.q FROM unnest($3, $4) AS u(n, q)",
					4, argtypes);
		values[1] = Int64GetDatum(shipment_id);
		values[2] = PointerGetDatum(construct_array(line_nos, n, INT4OID, 4, true, TYPALIGN_INT));
		values[3] = PointerGetDatum(construct_array(qtys, n, INT4OID, 4, true, TYPALIGN_INT));
		rc = SPI_execute_plan(lines_plan, values, NULL, false, 0);
		oms_check_spi(rc, SPI_OK_INSERT, "creating the shipment's lines");
	}
	else
	{
		oms_prepare(&insert_plan,
					"WITH s AS ("
					"  INSERT INTO oms.shipment (order_id, location_id) VALUES ($1, $2) RETURNING id),"
					" l AS ("
					"  INSERT INTO oms.shipment_line (shipment_id, line_no, order_id, qty)"
					"  SELECT s.id, u.n, $1, u.q FROM s, unnest($3, $4) AS u(n, q))"
					" SELECT id FROM s",
					4, argtypes);
		values[2] = PointerGetDatum(construct_array(line_nos, n, INT4OID, 4, true, TYPALIGN_INT));
		values[3] = PointerGetDatum(construct_array(qtys, n, INT4OID, 4, true, TYPALIGN_INT));
		rc = SPI_execute_plan(insert_plan, values, NULL, false, 0);
		oms_check_spi(rc, SPI_OK_SELECT, "creating the shipment");
		shipment_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}

	memset(&event, 0, sizeof(event));
	event.order_id = order_id;
	event.entity = "shipment";
	event.entity_id = shipment_id;
	event.to_status = CStringGetTextDatum("pending");
	initStringInfo(&details);
	appendStringInfoString(&details, "{\"location\": ");
	escape_json(&details, location.code);
	appendStringInfoChar(&details, '}');
	event.details = DirectFunctionCall1(jsonb_in, CStringGetDatum(details.data));
	oms_write_events(&event, 1);

	oms_spi_finish();
	PG_RETURN_INT64(shipment_id);
}

/* Text argument argno, which must be non-empty if given; NULL if null. */
static text *
optional_label(FunctionCallInfo fcinfo, int argno, const char *argname, bool required)
{
	text	   *t = required ? oms_arg_text(fcinfo, argno, argname) : oms_arg_optional_text(fcinfo, argno);
	char	   *s = t ? text_to_cstring(t) : NULL;

	if (s && (s[0] == '\0' || strlen(s) > 200 || isspace((unsigned char) s[0]) ||
			  isspace((unsigned char) s[strlen(s) - 1])))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_TRACKING),
				 errmsg("%s must be 1 to 200 characters without surrounding blanks", argname)));
	return t;
}

/*
 * oms.ship(shipment_id, carrier, tracking_number): hands a pending shipment
 * to the carrier.
 */
Datum
oms_ship(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr lines_plan = NULL;
	static SPIPlanPtr order_lines_plan = NULL;
	static SPIPlanPtr shipped_plan = NULL;
	Oid			argtypes[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	int64		shipment_id = oms_arg_int64(fcinfo, 0, "shipment_id");
	text	   *carrier = optional_label(fcinfo, 1, "carrier", true);
	text	   *tracking = optional_label(fcinfo, 2, "tracking_number", false);
	text	   *reference = cstring_to_text(psprintf("shipment %lld", (long long) shipment_id));
	Shipment	s;
	uint64		n;
	int32	   *line_nos,
			   *qtys;
	int			rc;

	oms_spi_connect();
	s = lock_shipment(shipment_id);
	if (strcmp(s.status, "pending") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_SHIPMENT_STATE),
				 errmsg("shipment %lld is %s, not pending", (long long) shipment_id, s.status),
				 errhint("Only a pending shipment can be shipped, once.")));
	if (strcmp(s.order_status, "on_hold") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_NOTHING_TO_SHIP),
				 errmsg("order %lld is on hold: it ships nothing", (long long) s.order_id),
				 errhint("Take it off hold with oms.release_order first.")));

	/* Lines in SKU order: stock rows are locked in (sku, location) order. */
	oms_prepare(&lines_plan,
				"SELECT sl.line_no, sl.qty FROM oms.shipment_line sl"
				"  JOIN oms.order_lines l ON l.order_id = sl.order_id AND l.line_no = sl.line_no"
				" WHERE sl.shipment_id = $1 ORDER BY l.sku_id",
				1, argtypes);
	values[0] = Int64GetDatum(shipment_id);
	rc = SPI_execute_plan(lines_plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "reading the shipment lines");
	n = SPI_processed;
	line_nos = palloc(sizeof(int32) * Max(n, 1));
	qtys = palloc(sizeof(int32) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;

		line_nos[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		qtys[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	for (uint64 i = 0; i < n; i++)
		if (oms_close_reservations(s.order_id, line_nos[i], s.location_id, qtys[i], true, reference) < qtys[i])
			elog(ERROR, "oms: line %d of order " INT64_FORMAT " lacks reserved units for shipment " INT64_FORMAT,
				 line_nos[i], s.order_id, shipment_id);

	oms_prepare(&order_lines_plan,
				"UPDATE oms.order_lines l SET qty_reserved = l.qty_reserved - sl.qty,"
				"                             qty_shipped = l.qty_shipped + sl.qty"
				"  FROM oms.shipment_line sl"
				" WHERE sl.shipment_id = $1 AND l.order_id = sl.order_id AND l.line_no = sl.line_no",
				1, argtypes);
	rc = oms_execute_trusted(order_lines_plan, values, NULL, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "moving the lines' units to shipped");

	oms_prepare(&shipped_plan,
				"UPDATE oms.shipment SET status = 'shipped', carrier = $2, tracking_number = $3,"
				"       shipped_at = now(), status_at = now()"
				" WHERE id = $1",
				3, argtypes);
	values[1] = PointerGetDatum(carrier);
	values[2] = PointerGetDatum(tracking);
	nulls[2] = tracking ? ' ' : 'n';
	rc = SPI_execute_plan(shipped_plan, values, nulls, false, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "marking the shipment shipped");

	oms_settle_order(s.order_id, NULL);
	/* Shipping may now be refundable with a full return (returns.c). */
	oms_settle_returns(s.order_id);
	oms_spi_finish();
	PG_RETURN_VOID();
}

/*
 * oms.track(shipment_id, status, at, details): records a carrier scan.  A
 * scan no newer than the shipment's status, or one its status cannot go to,
 * is kept in the history but changes nothing.
 */
Datum
oms_track(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr scan_plan = NULL;
	static SPIPlanPtr status_plan = NULL;
	Oid			argtypes[5] = {INT8OID, TEXTOID, TIMESTAMPTZOID, JSONBOID, BOOLOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	int64		shipment_id = oms_arg_int64(fcinfo, 0, "shipment_id");
	char	   *status = text_to_cstring(oms_arg_text(fcinfo, 1, "status"));
	TimestampTz at;
	Jsonb	   *details = oms_arg_optional_jsonb(fcinfo, 3);
	Shipment	s;
	bool		known = false;
	bool		applies;
	int			rc;

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("at must not be NULL")));
	at = PG_GETARG_TIMESTAMPTZ(2);
	for (int i = 0; i < (int) lengthof(tracking_statuses); i++)
		known |= strcmp(status, tracking_statuses[i]) == 0;
	if (!known)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_TRACKING),
				 errmsg("unknown tracking status \"%s\"", status),
				 errhint("Tracking statuses are in_transit, out_for_delivery, delivered, delivery_failed "
						 "and returned_to_sender.")));
	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_TRACKING),
				 errmsg("at must be a finite time")));
	if (details && !JB_ROOT_IS_OBJECT(details))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_TRACKING),
				 errmsg("details must be a JSON object")));

	oms_spi_connect();
	s = lock_shipment(shipment_id);
	if (strcmp(s.status, "pending") == 0 || strcmp(s.status, "cancelled") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_SHIPMENT_STATE),
				 errmsg("shipment %lld is %s: only a shipped parcel is tracked", (long long) shipment_id, s.status)));

	/*
	 * A scan no newer than the one that set the status arrived late, and one
	 * the status cannot follow (in_transit after delivered) is the carrier's
	 * noise: both are kept in the history and change nothing.  The first
	 * scan applies whatever its time: the carrier may have scanned the
	 * parcel before oms.ship was called.
	 */
	applies = strcmp(status, s.status) != 0 &&
		(strcmp(s.status, "shipped") == 0 || at > s.status_at);
	if (applies && !oms_transition_legal("shipment", s.status, status))
	{
		char	   *next = oms_transition_next("shipment", s.status);

		ereport(NOTICE,
				(errmsg("scan %s of shipment %lld not applied: it is %s", status, (long long) shipment_id, s.status),
				 next ? errhint("From %s a shipment may go to: %s.", s.status, next)
				 : errhint("%s is final.", s.status)));
		applies = false;
	}

	oms_prepare(&scan_plan,
				"INSERT INTO oms.tracking_event (shipment_id, status, at, details, applied)"
				" VALUES ($1, $2, $3, $4, $5)",
				5, argtypes);
	values[0] = Int64GetDatum(shipment_id);
	values[1] = CStringGetTextDatum(status);
	values[2] = TimestampTzGetDatum(at);
	values[3] = details ? JsonbPGetDatum(details) : (Datum) 0;
	nulls[3] = details ? ' ' : 'n';
	values[4] = BoolGetDatum(applies);
	rc = SPI_execute_plan(scan_plan, values, nulls, false, 0);
	oms_check_spi(rc, SPI_OK_INSERT, "recording the scan");

	if (applies)
	{
		oms_prepare(&status_plan,
					"UPDATE oms.shipment SET status = $2, status_at = $3, status_details = $4,"
					"       delivered_at = CASE WHEN $2 = 'delivered' THEN $3 END"
					" WHERE id = $1",
					4, argtypes);
		rc = SPI_execute_plan(status_plan, values, nulls, false, 0);
		oms_check_spi(rc, SPI_OK_UPDATE, "moving the shipment on");
		oms_settle_order(s.order_id, NULL);
	}

	oms_spi_finish();
	PG_RETURN_VOID();
}

/*
 * oms.cancel_shipment(shipment_id): calls off a pending shipment; its units
 * stay reserved for the order.
 */
Datum
oms_cancel_shipment(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtype = INT8OID;
	int64		shipment_id = oms_arg_int64(fcinfo, 0, "shipment_id");
	Datum		value = Int64GetDatum(shipment_id);
	Shipment	s;
	int			rc;

	oms_spi_connect();
	s = lock_shipment(shipment_id);
	if (strcmp(s.status, "pending") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_SHIPMENT_STATE),
				 errmsg("shipment %lld is %s, not pending", (long long) shipment_id, s.status),
				 errhint("A shipped parcel comes back through a return.")));
	oms_prepare(&plan, "UPDATE oms.shipment SET status = 'cancelled', status_at = now() WHERE id = $1",
				1, &argtype);
	rc = SPI_execute_plan(plan, &value, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "cancelling the shipment");
	oms_spi_finish();
	PG_RETURN_VOID();
}
