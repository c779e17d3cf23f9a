/*-------------------------------------------------------------------------
 *
 * returns.c
 *	  Returns (RMA): shipped units that come back, each at most once.
 *
 *	  oms.request_return() records which units of which lines come back,
 *	  never more than a line's returnable units (shipped, less those in open
 *	  returns, those returned and those claimed already), within the
 *	  channel's return window; oms.authorize_return(), oms.decline_return() and
 *	  oms.cancel_return() move it on; oms.receive_return() records what
 *	  arrives and what becomes of it -- restocked units go back into on_hand
 *	  through the ledger (kind return) and to waiting backorders --,
 *	  oms.close_return() gives up on what never arrives, and
 *	  oms.release_quarantine() settles units kept apart.  A claim (a parcel
 *	  lost or broken) expects nothing back: settled in money or by its
 *	  replacement, it completes and its units are claimed for good
 *	  (oms_settle_returns(), which every function calls last).
 *
 *	  Every function locks the order first, as the forward flow does, so two
 *	  calls on returns of one order take turns and each sees what the other
 *	  committed (under REPEATABLE READ the later one fails with 40001:
 *	  oms_lock_order() writes the row).  A return is found from its id through oms.return_ref, one
 *	  probe of its own key.  Statuses change by UPDATE: the transition
 *	  trigger admits only legal changes and the events trigger writes them
 *	  (events.c); a new return's first event is written here.
 *
 *	  oms_lock_return(), oms_require_return_status(),
 *	  oms_set_return_status() and the idempotency-key helpers are shared
 *	  (oms.h) with the functions that settle returns in money or goods.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "oms.h"

PG_FUNCTION_INFO_V1(oms_request_return);
PG_FUNCTION_INFO_V1(oms_authorize_return);
PG_FUNCTION_INFO_V1(oms_decline_return);
PG_FUNCTION_INFO_V1(oms_cancel_return);
PG_FUNCTION_INFO_V1(oms_receive_return);
PG_FUNCTION_INFO_V1(oms_close_return);
PG_FUNCTION_INFO_V1(oms_release_quarantine);
PG_FUNCTION_INFO_V1(oms_expire_returns);

/* Return statuses in which units are still expected. */
#define OPEN_RETURN_STATUSES "('requested', 'authorized', 'partially_received')"

/* One line of a return request, as given and as checked. */
typedef struct RequestLine
{
	int32		line_no;
	int32		qty;
	char	   *reason;			/* code, or NULL */
	char	   *note;			/* or NULL */
	int64		reason_id;		/* 0: none */
	int64		sku_id;
	Datum		unit_amount;	/* numeric */
	int64		shipped_from;	/* location of its last shipment; 0: none */
} RequestLine;

/* The options of a return request. */
typedef struct RequestOptions
{
	const char *kind;
	const char *resolution;
	char	   *return_location;	/* code, or NULL */
	char	   *idempotency_key;	/* or NULL */
	bool		override_policy;
	bool		has_exchange;
} RequestOptions;

static void cancel_replacement(const OmsReturn *r, text *reason);

/* The string of JSON string v, NUL-terminated. */
static char *
json_text(JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* Whether v is a JSON object. */
static bool
json_is_object(JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

/*
 * Reads a quantity: a whole number from 1 to 2^31 - 1, else OM152 naming
 * what of which element.
 */
static int32
parse_qty(JsonbValue *v, const char *what, int n)
{
	int32		qty = 0;

	if (!oms_json_int32(v, &qty) || qty <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_RETURN_QTY),
				 errmsg("%s %d: qty must be a whole number from 1 to %d", what, n, PG_INT32_MAX),
				 errdetail("It is %s.", v->type == jbvNumeric ?
						   DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric))) :
						   JsonbTypeName(v))));
	return qty;
}

/*
 * Reads a positive line number, else OM151.
 */
static int32
parse_line_no(JsonbValue *v, const char *what, int n)
{
	int32		line_no = 0;

	if (!oms_json_int32(v, &line_no) || line_no <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_RETURN_LINES),
				 errmsg("%s %d: line_no must be a positive whole number", what, n)));
	return line_no;
}

/*
 * Reads an optional string field: a non-empty string, or null for none.
 */
static char *
parse_optional_string(JsonbValue *v, const char *what, int n, const char *key)
{
	if (v->type == jbvNull)
		return NULL;
	if (v->type != jbvString || v->val.string.len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_RETURN_LINES),
				 errmsg("%s %d: %s must be a non-empty string, not %s", what, n, key, JsonbTypeName(v))));
	return json_text(v);
}

/*
 * Reads request_return's lines, [{"line_no", "qty", "reason", "note"}].
 */
static RequestLine *
parse_request_lines(Jsonb *lines, int *nlines)
{
	RequestLine *out;
	int			n;

	if (!JB_ROOT_IS_ARRAY(lines) || JB_ROOT_IS_SCALAR(lines) || (n = JB_ROOT_COUNT(lines)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_RETURN_LINES),
				 errmsg("lines must be a non-empty JSON array of objects"),
				 errhint("Each line looks like {\"line_no\": 1, \"qty\": 1, \"reason\": \"too_small\"}.")));
	out = palloc0(sizeof(RequestLine) * n);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *elem = getIthJsonbValueFromContainer(&lines->root, i);
		RequestLine *line = &out[i];
		JsonbIterator *it;
		JsonbIteratorToken tok;
		JsonbValue	k,
					v;

		if (!json_is_object(elem))
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_RETURN_LINES),
					 errmsg("line %d is %s, not an object", i + 1, JsonbTypeName(elem))));
		it = JsonbIteratorInit(elem->val.binary.data);
		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			char	   *key;

			if (tok != WJB_KEY)
				continue;
			key = json_text(&k);
			(void) JsonbIteratorNext(&it, &v, true);
			if (strcmp(key, "line_no") == 0)
				line->line_no = parse_line_no(&v, "line", i + 1);
			else if (strcmp(key, "qty") == 0)
				line->qty = parse_qty(&v, "line", i + 1);
			else if (strcmp(key, "reason") == 0)
				line->reason = parse_optional_string(&v, "line", i + 1, key);
			else if (strcmp(key, "note") == 0)
				line->note = parse_optional_string(&v, "line", i + 1, key);
			else
				ereport(ERROR,
						(errcode(ERRCODE_OMS_INVALID_RETURN_LINES),
						 errmsg("line %d has an unknown field \"%s\"", i + 1, key),
						 errhint("A line has the fields line_no, qty, reason and note.")));
		}
		if (line->line_no == 0 || line->qty == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_RETURN_LINES),
					 errmsg("line %d lacks %s", i + 1, line->line_no == 0 ? "line_no" : "qty")));
		for (int j = 0; j < i; j++)
			if (out[j].line_no == line->line_no)
				ereport(ERROR,
						(errcode(ERRCODE_OMS_INVALID_RETURN_LINES),
						 errmsg("order line %d appears twice in lines", line->line_no),
						 errhint("Give each order line once, with all its units.")));
	}
	*nlines = n;
	return out;
}

/*
 * Raises OM163 about request_return's options.
 */
static void
bad_option(const char *message, const char *value)
{
	ereport(ERROR,
			(errcode(ERRCODE_OMS_INVALID_RETURN_OPTIONS),
			 errmsg(message, value),
			 errhint("Options are kind (return, exchange, claim), resolution (a claim's: refund or replace), "
					 "return_location, exchange (an array of lines), idempotency_key and override_policy.")));
}

/*
 * Reads request_return's options.
 */
static void
parse_request_options(Jsonb *options, RequestOptions *opt)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	k,
				v;
	char	   *resolution = NULL;

	memset(opt, 0, sizeof(*opt));
	opt->kind = "return";
	opt->resolution = "refund";
	if (options == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(options))
		bad_option("options must be a JSON object", NULL);
	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = json_text(&k);
		(void) JsonbIteratorNext(&it, &v, true);
		if (strcmp(key, "kind") == 0)
		{
			char	   *kind = v.type == jbvString ? json_text(&v) : "";

			if (strcmp(kind, "return") == 0)
				opt->kind = "return";
			else if (strcmp(kind, "exchange") == 0)
				opt->kind = "exchange";
			else if (strcmp(kind, "claim") == 0)
				opt->kind = "claim";
			else
				bad_option("option kind must be return, exchange or claim, not %s",
						   v.type == jbvString ? kind : JsonbTypeName(&v));
		}
		else if (strcmp(key, "resolution") == 0)
		{
			resolution = v.type == jbvString ? json_text(&v) : "";
			if (strcmp(resolution, "refund") != 0 && strcmp(resolution, "replace") != 0)
				bad_option("option resolution must be refund or replace, not %s",
						   v.type == jbvString ? resolution : JsonbTypeName(&v));
		}
		else if (strcmp(key, "return_location") == 0)
		{
			if (v.type != jbvString || v.val.string.len == 0)
				bad_option("option return_location must be a location code, not %s", JsonbTypeName(&v));
			opt->return_location = json_text(&v);
		}
		else if (strcmp(key, "exchange") == 0)
		{
			if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data) ||
				JsonContainerSize(v.val.binary.data) == 0)
				bad_option("option exchange must be a non-empty array of lines, not %s", JsonbTypeName(&v));
			opt->has_exchange = true;
		}
		else if (strcmp(key, "idempotency_key") == 0)
		{
			char	   *key_text;

			if (v.type != jbvString)
				bad_option("option idempotency_key must be a string, not %s", JsonbTypeName(&v));
			key_text = json_text(&v);
			if (key_text[0] == '\0' || pg_mbstrlen(key_text) > 200 || isspace((unsigned char) key_text[0]) ||
				isspace((unsigned char) key_text[strlen(key_text) - 1]))
				bad_option("option idempotency_key must be 1 to 200 characters without surrounding blanks%s", "");
			opt->idempotency_key = key_text;
		}
		else if (strcmp(key, "override_policy") == 0)
		{
			if (v.type != jbvBool)
				bad_option("option override_policy must be true or false, not %s", JsonbTypeName(&v));
			opt->override_policy = v.val.boolean;
		}
		else
			bad_option("unknown option \"%s\"", key);
	}

	if (strcmp(opt->kind, "claim") == 0)
		opt->resolution = resolution && strcmp(resolution, "replace") == 0 ? "replace" : "refund";
	else if (resolution != NULL)
		bad_option("option resolution is for a claim, not a %s", opt->kind);
	else
		opt->resolution = strcmp(opt->kind, "exchange") == 0 ? "exchange" : "refund";
	if (opt->has_exchange != (strcmp(opt->kind, "exchange") == 0))
		bad_option(opt->has_exchange ? "option exchange is for kind exchange, not %s"
				   : "an exchange needs option exchange, the lines of the replacement goods%s",
				   opt->has_exchange ? opt->kind : "");
}

/*
 * The digest of a call's arguments, to tell a replay of an idempotency key
 * from another call under it.
 */
char *
oms_return_payload_hash(Jsonb *a, Jsonb *b)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {JSONBOID, JSONBOID};
	Datum		values[2] = {JsonbPGetDatum(a), b ? JsonbPGetDatum(b) : (Datum) 0};
	char		nulls[2] = {' ', b ? ' ' : 'n'};
	int			rc;

	oms_prepare(&plan, "SELECT md5($1::text || '/' || coalesce($2::text, ''))", 2, argtypes);
	rc = SPI_execute_plan(plan, values, nulls, true, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "hashing the arguments");
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * Looks up idempotency key key of operation on order_id: 0 when new, else
 * the return it was used for -- if hash matches, else OM161.
 */
int64
oms_find_return_key(int64 order_id, const char *operation, const char *key, const char *hash)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, TEXTOID, TEXTOID};
	Datum		values[3] = {Int64GetDatum(order_id), CStringGetTextDatum(operation), CStringGetTextDatum(key)};
	bool		isnull;
	int64		return_id;
	int			rc;

	oms_prepare(&plan,
				"SELECT return_id, payload_hash FROM oms.return_key"
				" WHERE order_id = $1 AND operation = $2 AND idempotency_key = $3",
				3, argtypes);
	rc = SPI_execute_plan(plan, values, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "looking up the idempotency key");
	if (SPI_processed == 0)
		return 0;
	return_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2), hash) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_RETURN_KEY_CONFLICT),
				 errmsg("idempotency key \"%s\" was used for another %s of order %lld", key, operation,
						(long long) order_id),
				 errdetail("It recorded return %lld with other arguments.", (long long) return_id),
				 errhint("Use a new key for a different call, or repeat the first call exactly.")));
	return return_id;
}

/*
 * Records idempotency key key of operation on order_id for return_id.
 */
void
oms_save_return_key(int64 order_id, const char *operation, const char *key, const char *hash, int64 return_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[5] = {INT8OID, TEXTOID, TEXTOID, INT8OID, TEXTOID};
	Datum		values[5] = {Int64GetDatum(order_id), CStringGetTextDatum(operation), CStringGetTextDatum(key),
							 Int64GetDatum(return_id), CStringGetTextDatum(hash)};
	int			rc;

	/*
	 * Under the order lock find_key saw every committed key, unless this
	 * transaction's snapshot is older than one: REPEATABLE READ then fails
	 * here with a serialization error (the ON CONFLICT check), as it would
	 * on the order lines, never with a unique violation.
	 */
	oms_prepare(&plan,
				"INSERT INTO oms.return_key (order_id, operation, idempotency_key, return_id, payload_hash)"
				" VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
				5, argtypes);
	rc = SPI_execute_plan(plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_INSERT, "recording the idempotency key");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to a concurrent use of idempotency key \"%s\"", key),
				 errhint("Retry the transaction.")));
}

/*
 * Adds delta units to the units in open returns (qty_in_returns) of line
 * line_no of order order_id.  Every return function changes an order line
 * so, under the order lock: a REPEATABLE READ transaction whose snapshot
 * misses another's return then fails with a serialization error here.
 */
static void
add_in_returns(int64 order_id, int32 line_no, int32 delta)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT4OID, INT4OID};
	Datum		values[3] = {Int64GetDatum(order_id), Int32GetDatum(line_no), Int32GetDatum(delta)};
	int			rc;

	oms_prepare(&plan,
				"UPDATE oms.order_lines SET qty_in_returns = qty_in_returns + $3"
				" WHERE order_id = $1 AND line_no = $2",
				3, argtypes);
	rc = oms_execute_trusted(plan, values, NULL, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "counting the units in open returns");
}

/*
 * Takes the units return return_id of order order_id still expects
 * (requested - received - missing) off its order lines' qty_in_returns:
 * the return ends (declined, cancelled, closed), or, claimed, a claim
 * completes and they become the lines' claimed units, never returnable
 * again.  Touches each of its lines even when nothing is expected any more
 * (see add_in_returns).
 */
static void
end_in_returns(int64 order_id, int64 return_id, bool claimed)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, BOOLOID};
	Datum		values[3] = {Int64GetDatum(order_id), Int64GetDatum(return_id), BoolGetDatum(claimed)};
	int			rc;

	oms_prepare(&plan,
				"UPDATE oms.order_lines l"
				"   SET qty_in_returns = l.qty_in_returns - x.open,"
				"       qty_claimed = l.qty_claimed + CASE WHEN $3 THEN x.open ELSE 0 END"
				"  FROM (SELECT line_no, qty_requested - qty_received - qty_missing AS open FROM oms.return_line"
				"         WHERE order_id = $1 AND return_id = $2) x"
				" WHERE l.order_id = $1 AND l.line_no = x.line_no",
				3, argtypes);
	rc = oms_execute_trusted(plan, values, NULL, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "counting the units in open returns");
}

/*
 * Brings the returns of order order_id, which the caller has locked, up to
 * date with their money: each one's refund_status follows from
 * oms.refund_breakdown() (another return of the order, or a shipment, may
 * have made shipping refundable), and a claim settled in full -- a refund
 * claim refunded, a replace claim whose replacement order has shipped in
 * full -- completes.  Every return function calls it last, and so do
 * oms.ship() and the worker's round (oms.expire_returns()).
 */
void
oms_settle_returns(int64 order_id)
{
	static SPIPlanPtr status_plan = NULL;
	static SPIPlanPtr claims_plan = NULL;
	Oid			argtype = INT8OID;
	Datum		value = Int64GetDatum(order_id);
	int64	   *claims;
	uint64		nclaims;
	int			rc;

	/* oms.ship() calls it in a database still on 0.1.0 (no returns yet). */
	if (!OidIsValid(get_relname_relid("returns", get_namespace_oid("oms", false))))
		return;

	/*
	 * none: nothing refundable yet; pending: refundable, nothing refunded;
	 * partial; refunded: all it may refund, with every unit it expects
	 * eligible (and some eligible: an exchange refunds nothing).
	 */
	oms_prepare(&status_plan,
				"UPDATE oms.returns r SET refund_status = x.refund_status"
				"  FROM (SELECT t.return_id,"
				"               CASE WHEN t.refund_amount >= b.refundable_total AND b.units_eligible > 0"
				"                         AND b.units_eligible >= b.units_expected THEN 'refunded'"
				"                    WHEN t.refund_amount > 0 THEN 'partial'"
				"                    WHEN b.refundable > 0 THEN 'pending'"
				"                    ELSE 'none' END AS refund_status"
				"          FROM oms.returns t, LATERAL oms.refund_breakdown(t.order_id, t.return_id) b"
				"         WHERE t.order_id = $1) x"
				" WHERE r.order_id = $1 AND r.return_id = x.return_id AND r.refund_status <> x.refund_status",
				1, &argtype);
	rc = SPI_execute_plan(status_plan, &value, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "setting the returns' refund status");

	oms_prepare(&claims_plan,
				"SELECT r.return_id FROM oms.returns r"
				" WHERE r.order_id = $1 AND r.kind = 'claim'"
				"   AND r.status IN ('authorized', 'partially_received', 'received')"
				"   AND CASE r.resolution"
				"         WHEN 'replace' THEN (SELECT sum(l.qty_shipped) > 0 AND sum(l.qty_reserved + l.qty_backordered) = 0"
				"                                FROM oms.order_lines l WHERE l.order_id = r.replacement_order_id)"
				"         ELSE r.refund_status = 'refunded' END"
				" ORDER BY r.return_id",
				1, &argtype);
	rc = SPI_execute_plan(claims_plan, &value, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "finding the settled claims");
	claims = oms_spi_int64s(1, &nclaims);
	for (uint64 i = 0; i < nclaims; i++)
	{
		OmsReturn	claim = {.order_id = order_id, .return_id = claims[i], .kind = "claim"};

		end_in_returns(order_id, claims[i], true);
		oms_set_return_status(&claim, "completed", NULL);
	}
}

/*
 * The id of location code if returned parcels may arrive there; an unknown
 * code is OM002, one that takes no returns OM159.
 */
static int64
receiving_location(const char *code)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtype = TEXTOID;
	Datum		value = CStringGetTextDatum(code);
	bool		isnull;
	int64		id;
	int			rc;

	oms_prepare(&plan, "SELECT id, active AND accepts_returns FROM oms.location WHERE code = $1", 1, &argtype);
	rc = SPI_execute_plan(plan, &value, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "looking up the location");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_UNKNOWN_LOCATION),
				 errmsg("location \"%s\" does not exist", code)));
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_CANNOT_RECEIVE),
				 errmsg("location \"%s\" cannot receive returns", code),
				 errdetail("It is inactive or does not accept returns (oms.location.accepts_returns)."),
				 errhint("Name a location that receives returns.")));
	return id;
}

/*
 * Whether location id may receive returned parcels; its code in *code.
 */
static bool
location_receives(int64 id, char **code)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtype = INT8OID;
	Datum		value = Int64GetDatum(id);
	bool		isnull;
	int			rc;

	oms_prepare(&plan, "SELECT code, active AND accepts_returns FROM oms.location WHERE id = $1", 1, &argtype);
	rc = SPI_execute_plan(plan, &value, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "looking up the location");
	if (SPI_processed == 0)
	{
		*code = psprintf(INT64_FORMAT, id);
		return false;
	}
	*code = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
}

/*
 * The id of active return reason code, else OM157.
 */
static int64
reason_id(const char *code)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtype = TEXTOID;
	Datum		value = CStringGetTextDatum(code);
	bool		isnull;
	int			rc;

	oms_prepare(&plan, "SELECT id FROM oms.return_reason WHERE code = $1 AND active", 1, &argtype);
	rc = SPI_execute_plan(plan, &value, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "looking up the return reason");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_UNKNOWN_RETURN_REASON),
				 errmsg("return reason \"%s\" does not exist or is inactive", code),
				 errhint("oms.return_reason lists the reasons.")));
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Checks the requested lines of order order_id against what each may
 * return, under the order's lock: the line exists, shipped, has the units
 * returnable and, unless override, within the window.  The window counts
 * per shipment: units of a parcel returned to sender, or delivered (else
 * shipped) at most window_days ago, less the line's units in open returns
 * and returned.  Fills in each line's SKU, paid unit amount and shipping
 * location.
 */
static void
check_request_lines(int64 order_id, RequestLine *lines, int nlines, int32 window_days, bool override)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(order_id), Int32GetDatum(window_days)};
	int			rc;

	/*
	 * unit_amount: what one unit was paid, never more -- the line total
	 * less its share of the order discount (in proportion to the line nets,
	 * as README's money section spreads it), divided by qty and rounded
	 * down to 4 places, so that qty units are worth at most the line paid.
	 * Units shipped outside any parcel (a till sale) count from placement.
	 */
	oms_prepare(&plan,
				"SELECT l.line_no, l.sku_id, l.qty_shipped, l.qty_returned + l.qty_claimed, coalesce(r.open, 0)::integer,"
				"       trunc((l.qty * l.unit_price - l.discount_amount"
				"              + CASE WHEN o.prices_include_tax THEN 0 ELSE l.tax_amount END"
				"              - CASE WHEN o.order_discount = 0 THEN 0"
				"                     ELSE o.order_discount * (l.qty * l.unit_price - l.discount_amount)"
				"                          / nullif(sum(l.qty * l.unit_price - l.discount_amount) OVER (), 0) END)"
				"             / l.qty, 4),"
				"       (coalesce(s.in_window, 0)"
				"        + CASE WHEN o.placed_at + make_interval(days => $2) >= now()"
				"               THEN l.qty_shipped - coalesce(s.units, 0) ELSE 0 END)::integer,"
				"       coalesce(s.location_id, o.fulfilment_location_id)"
				"  FROM oms.order_lines l"
				"  JOIN oms.orders o ON o.order_id = l.order_id"
				"  LEFT JOIN LATERAL ("
				"       SELECT sum(rl.qty_requested - rl.qty_received - rl.qty_missing) AS open"
				"         FROM oms.return_line rl"
				"         JOIN oms.returns rt ON rt.order_id = rl.order_id AND rt.return_id = rl.return_id"
				"        WHERE rl.order_id = l.order_id AND rl.line_no = l.line_no"
				"          AND rt.status IN " OPEN_RETURN_STATUSES ") r ON true"
				"  LEFT JOIN LATERAL ("
				"       SELECT sum(sl.qty) AS units,"
				"              sum(sl.qty) FILTER (WHERE sh.status = 'returned_to_sender'"
				"                                    OR coalesce(sh.delivered_at, sh.shipped_at)"
				"                                       + make_interval(days => $2) >= now()) AS in_window,"
				"              (array_agg(sh.location_id ORDER BY sh.shipped_at DESC, sh.id DESC))[1] AS location_id"
				"         FROM oms.shipment_line sl JOIN oms.shipment sh ON sh.id = sl.shipment_id"
				"        WHERE sl.order_id = l.order_id AND sl.line_no = l.line_no"
				"          AND sh.shipped_at IS NOT NULL) s ON true"
				" WHERE l.order_id = $1",
				2, argtypes);
	rc = SPI_execute_plan(plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "reading the order lines");

	for (int i = 0; i < nlines; i++)
	{
		RequestLine *line = &lines[i];
		bool		found = false;

		for (uint64 r = 0; r < SPI_processed && !found; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			int32		shipped,
						returned,
						open,
						returnable,
						in_window;
			Datum		location;

			if (DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull)) != line->line_no)
				continue;
			found = true;
			line->sku_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
			shipped = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
			returned = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
			open = DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
			line->unit_amount = SPI_getbinval(tup, desc, 6, &isnull);
			in_window = DatumGetInt32(SPI_getbinval(tup, desc, 7, &isnull));
			location = SPI_getbinval(tup, desc, 8, &isnull);
			line->shipped_from = isnull ? 0 : DatumGetInt64(location);

			if (shipped == 0)
				ereport(ERROR,
						(errcode(ERRCODE_OMS_NEVER_SHIPPED),
						 errmsg("line %d of order %lld has shipped no units", line->line_no, (long long) order_id),
						 errhint("Only shipped units can be returned; cancel units that have not shipped.")));
			returnable = shipped - open - returned;
			if (line->qty > returnable)
				ereport(ERROR,
						(errcode(ERRCODE_OMS_NOT_RETURNABLE),
						 errmsg("line %d of order %lld has %d returnable units, not %d",
								line->line_no, (long long) order_id, Max(returnable, 0), line->qty),
						 errdetail("%d shipped, %d in open returns, %d returned or claimed already.", shipped, open,
								   returned)));

			/*
			 * Units in open returns or returned count against those within
			 * the window first; a parcel coming back to us by itself is no
			 * customer's return and always within it.
			 */
			if (!override && line->qty > in_window - open - returned)
				ereport(ERROR,
						(errcode(ERRCODE_OMS_RETURN_WINDOW_OVER),
						 errmsg("the return window of line %d of order %lld is over", line->line_no,
								(long long) order_id),
						 errdetail("The channel takes returns for %d days after delivery (or shipment); %d of the line's %d shipped units are within them, %d are in open returns or returned.",
								   window_days, in_window, shipped, open + returned),
						 errhint("An admin may request it with option override_policy.")));
		}
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_UNKNOWN_RETURN_LINE),
					 errmsg("order %lld has no line %d", (long long) order_id, line->line_no)));
	}
	/* The amounts are numerics in SPI memory: copy them out. */
	for (int i = 0; i < nlines; i++)
		lines[i].unit_amount = SPI_datumTransfer(lines[i].unit_amount, false, -1);
}

/*
 * Returns the order of return return_id, from oms.return_ref; an unknown
 * return is OM150.
 */
int64
oms_return_order(int64 return_id)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtype = INT8OID;
	Datum		value = Int64GetDatum(return_id);
	bool		isnull;
	int			rc;

	/* Not read-only: sees a return requested earlier in the calling statement. */
	oms_prepare(&plan, "SELECT order_id FROM oms.return_ref WHERE return_id = $1", 1, &argtype);
	rc = SPI_execute_plan(plan, &value, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "finding the return");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_UNKNOWN_RETURN),
				 errmsg("return %lld does not exist", (long long) return_id)));
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Finds return return_id, locks its order and then the return, and reads
 * it; an unknown return is OM150.
 */
OmsReturn
oms_lock_return(int64 return_id)
{
	static SPIPlanPtr row_plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		values[2];
	OmsReturn	r;
	bool		isnull;
	Datum		d;
	int			rc;

	r.return_id = return_id;
	r.order_id = oms_return_order(return_id);
	(void) oms_lock_order(r.order_id);

	oms_prepare(&row_plan,
				"SELECT status, kind, return_location_id, replacement_order_id FROM oms.returns"
				" WHERE order_id = $1 AND return_id = $2 FOR NO KEY UPDATE",
				2, argtypes);
	values[0] = Int64GetDatum(r.order_id);
	values[1] = Int64GetDatum(return_id);
	rc = SPI_execute_plan(row_plan, values, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "locking the return");
	if (SPI_processed == 0)
		elog(ERROR, "oms: return %lld of oms.return_ref is missing from order %lld",
			 (long long) return_id, (long long) r.order_id);
	r.status = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	r.kind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
	r.return_location_id = isnull ? 0 : DatumGetInt64(d);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull);
	r.replacement_order_id = isnull ? 0 : DatumGetInt64(d);
	return r;
}

/*
 * Refuses (OM160) to act on return r unless its status is one of allowed,
 * a NULL-terminated list.
 */
void
oms_require_return_status(const OmsReturn *r, const char *action, const char *const *allowed)
{
	StringInfoData buf;

	for (int i = 0; allowed[i]; i++)
		if (strcmp(r->status, allowed[i]) == 0)
			return;
	initStringInfo(&buf);
	for (int i = 0; allowed[i]; i++)
		appendStringInfo(&buf, "%s%s", i == 0 ? "" : allowed[i + 1] ? ", " : " or ", allowed[i]);
	ereport(ERROR,
			(errcode(ERRCODE_OMS_RETURN_STATUS),
			 errmsg("return %lld is %s: it cannot be %s", (long long) r->return_id, r->status, action),
			 errdetail("Only a return that is %s can be %s.", buf.data, action)));
}

/*
 * Sets the status of return r, which the caller has locked, with reason
 * (or NULL); the triggers check the transition and write its event.  A
 * return ends otherwise (closed_at) when declined, cancelled, expired or
 * completed with units missing.
 */
void
oms_set_return_status(const OmsReturn *r, const char *status, text *reason)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[4] = {INT8OID, INT8OID, TEXTOID, TEXTOID};
	Datum		values[4] = {Int64GetDatum(r->order_id), Int64GetDatum(r->return_id),
							 CStringGetTextDatum(status), PointerGetDatum(reason)};
	char		nulls[4] = {' ', ' ', ' ', reason ? ' ' : 'n'};
	int			rc;

	oms_prepare(&plan,
				"UPDATE oms.returns"
				"   SET status = $3, updated_at = now(), status_reason = coalesce($4, status_reason),"
				"       authorized_at = CASE WHEN $3 = 'authorized' THEN now() ELSE authorized_at END,"
				"       expires_at = CASE WHEN $3 = 'authorized'"
				"                         THEN now() + (SELECT make_interval(days => p.expire_days)"
				"                                         FROM oms.orders o JOIN oms.return_policy p ON p.channel_id = o.channel_id"
				"                                        WHERE o.order_id = $1)"
				"                         ELSE expires_at END,"
				"       completed_at = CASE WHEN $3 = 'completed' THEN now() ELSE completed_at END,"
				"       closed_at = CASE WHEN $3 IN ('declined', 'cancelled', 'expired')"
				"                          OR ($3 = 'completed'"
				"                              AND EXISTS (SELECT FROM oms.return_line rl"
				"                                           WHERE rl.order_id = $1 AND rl.return_id = $2"
				"                                             AND rl.qty_missing > 0))"
				"                         THEN now() ELSE closed_at END"
				" WHERE order_id = $1 AND return_id = $2",
				4, argtypes);
	rc = SPI_execute_plan(plan, values, nulls, false, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "setting the return status");
}

/*
 * The reason argument argno: required, not blank (OM165).
 */
static text *
reason_arg(FunctionCallInfo fcinfo, int argno, const char *action)
{
	text	   *reason = oms_arg_optional_text(fcinfo, argno);
	char	   *s = reason ? text_to_cstring(reason) : NULL;
	bool		blank = true;

	for (char *p = s; p && *p; p++)
		if (!isspace((unsigned char) *p))
			blank = false;
	if (blank)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_RETURN_REASON_REQUIRED),
				 errmsg("a return is %s only with a reason", action),
				 errhint("Say why, e.g. 'outside policy' or 'customer changed mind'.")));
	return reason;
}

/*
 * Whether the caller may override a return policy: an admin, one who may
 * change the policies (oms.grant_admin, the owner, a superuser).
 */
static bool
caller_is_admin(void)
{
	return pg_class_aclcheck(oms_relid("return_policy"), GetOuterUserId(), ACL_UPDATE) == ACLCHECK_OK;
}

/*
 * oms.request_return(order_id, lines, options): records a return of shipped
 * units of order order_id and returns its id.  Authorized at once unless
 * the channel's policy wants an authorization.
 */
Datum
oms_request_return(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr order_plan = NULL;
	static SPIPlanPtr policy_plan = NULL;
	static SPIPlanPtr insert_plan = NULL;
	static SPIPlanPtr ref_plan = NULL;
	static SPIPlanPtr line_plan = NULL;
	int64		order_id = oms_arg_int64(fcinfo, 0, "order_id");
	Jsonb	   *lines_arg;
	Jsonb	   *options = oms_arg_optional_jsonb(fcinfo, 2);
	RequestOptions opt;
	RequestLine *lines;
	int			nlines;
	char	   *hash = NULL;
	int64		channel_id;
	int32		window_days = 30;
	Datum		fee_pct;
	char	   *refund_shipping = "never";
	char	   *refund_on = "receipt";
	bool		authorization_required = false;
	int64		location_id = 0;
	int64		return_id;
	OmsReturn	r;
	OmsEvent	event;
	Oid			argtypes[12];
	Datum		values[12];
	char		nulls[12];
	bool		isnull;
	int			rc;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lines must not be null")));
	lines_arg = PG_GETARG_JSONB_P(1);
	lines = parse_request_lines(lines_arg, &nlines);
	parse_request_options(options, &opt);
	if (opt.override_policy && !caller_is_admin())
		ereport(ERROR,
				(errcode(ERRCODE_OMS_OVERRIDE_DENIED),
				 errmsg("only an admin may override the return policy"),
				 errhint("A role of oms.grant_admin may; leave out override_policy.")));

	oms_spi_connect();
	(void) oms_lock_order(order_id);

	if (opt.idempotency_key)
	{
		hash = oms_return_payload_hash(lines_arg, options);
		return_id = oms_find_return_key(order_id, "request", opt.idempotency_key, hash);
		if (return_id != 0)
		{
			oms_spi_finish();
			PG_RETURN_INT64(return_id);
		}
	}

	argtypes[0] = INT8OID;
	values[0] = Int64GetDatum(order_id);
	oms_prepare(&order_plan, "SELECT channel_id FROM oms.orders WHERE order_id = $1", 1, argtypes);
	rc = SPI_execute_plan(order_plan, values, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "reading the order");
	channel_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	values[0] = Int64GetDatum(channel_id);
	oms_prepare(&policy_plan,
				"SELECT window_days, restocking_fee_pct, refund_shipping, refund_on, authorization_required"
				"  FROM oms.return_policy WHERE channel_id = $1",
				1, argtypes);
	rc = SPI_execute_plan(policy_plan, values, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "reading the return policy");
	fee_pct = DirectFunctionCall1(int4_numeric, Int32GetDatum(0));
	if (SPI_processed > 0)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		window_days = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		fee_pct = SPI_datumTransfer(SPI_getbinval(tup, desc, 2, &isnull), false, -1);
		refund_shipping = SPI_getvalue(tup, desc, 3);
		refund_on = SPI_getvalue(tup, desc, 4);
		authorization_required = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
	}

	check_request_lines(order_id, lines, nlines, window_days, opt.override_policy);
	for (int i = 0; i < nlines; i++)
		add_in_returns(order_id, lines[i].line_no, lines[i].qty);
	for (int i = 0; i < nlines; i++)
		if (lines[i].reason)
			lines[i].reason_id = reason_id(lines[i].reason);

	/* Where the parcel goes back: as asked, or where the first line left from. */
	if (opt.return_location)
		location_id = receiving_location(opt.return_location);
	else if (lines[0].shipped_from != 0)
	{
		char	   *code;

		location_id = lines[0].shipped_from;
		if (!location_receives(location_id, &code))
			ereport(ERROR,
					(errcode(ERRCODE_OMS_CANNOT_RECEIVE),
					 errmsg("location \"%s\", which shipped line %d, cannot receive returns", code,
							lines[0].line_no),
					 errhint("Name a location that receives returns with option return_location.")));
	}
	else if (strcmp(opt.kind, "claim") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_CANNOT_RECEIVE),
				 errmsg("order %lld has no location its units left from", (long long) order_id),
				 errhint("Name a location that receives returns with option return_location.")));

	/* The return, its reference and its lines. */
	for (int i = 0; i < 12; i++)
		argtypes[i] = TEXTOID;
	argtypes[0] = INT8OID;
	argtypes[3] = INT8OID;
	argtypes[5] = INT4OID;
	argtypes[6] = BOOLOID;
	argtypes[7] = NUMERICOID;
	argtypes[10] = JSONBOID;
	oms_prepare(&insert_plan,
				"INSERT INTO oms.returns (order_id, kind, resolution, return_location_id, idempotency_key,"
				"                         window_days, policy_overridden, restocking_fee_pct, refund_shipping,"
				"                         refund_on, options, created_by)"
				" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING return_id",
				12, argtypes);
	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(order_id);
	values[1] = CStringGetTextDatum(opt.kind);
	values[2] = CStringGetTextDatum(opt.resolution);
	values[3] = Int64GetDatum(location_id);
	nulls[3] = location_id ? ' ' : 'n';
	values[4] = opt.idempotency_key ? CStringGetTextDatum(opt.idempotency_key) : (Datum) 0;
	nulls[4] = opt.idempotency_key ? ' ' : 'n';
	values[5] = Int32GetDatum(window_days);
	values[6] = BoolGetDatum(opt.override_policy);
	values[7] = fee_pct;
	values[8] = CStringGetTextDatum(refund_shipping);
	values[9] = CStringGetTextDatum(refund_on);
	values[10] = options ? JsonbPGetDatum(options) : DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"));
	values[11] = CStringGetTextDatum(GetUserNameFromId(GetOuterUserId(), false));
	rc = SPI_execute_plan(insert_plan, values, nulls, false, 0);
	oms_check_spi(rc, SPI_OK_INSERT_RETURNING, "writing the return");
	return_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	argtypes[0] = INT8OID;
	argtypes[1] = INT8OID;
	values[0] = Int64GetDatum(return_id);
	values[1] = Int64GetDatum(order_id);
	oms_prepare(&ref_plan, "INSERT INTO oms.return_ref (return_id, order_id) VALUES ($1, $2)", 2, argtypes);
	rc = SPI_execute_plan(ref_plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_INSERT, "writing the return reference");

	argtypes[0] = INT8OID;
	argtypes[1] = INT8OID;
	argtypes[2] = INT4OID;
	argtypes[3] = INT8OID;
	argtypes[4] = INT8OID;
	argtypes[5] = TEXTOID;
	argtypes[6] = INT4OID;
	argtypes[7] = NUMERICOID;
	oms_prepare(&line_plan,
				"INSERT INTO oms.return_line (order_id, return_id, line_no, sku_id, reason_id, note,"
				"                             qty_requested, unit_amount)"
				" VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
				8, argtypes);
	for (int i = 0; i < nlines; i++)
	{
		memset(nulls, ' ', sizeof(nulls));
		values[0] = Int64GetDatum(order_id);
		values[1] = Int64GetDatum(return_id);
		values[2] = Int32GetDatum(lines[i].line_no);
		values[3] = Int64GetDatum(lines[i].sku_id);
		values[4] = Int64GetDatum(lines[i].reason_id);
		nulls[4] = lines[i].reason_id ? ' ' : 'n';
		values[5] = lines[i].note ? CStringGetTextDatum(lines[i].note) : (Datum) 0;
		nulls[5] = lines[i].note ? ' ' : 'n';
		values[6] = Int32GetDatum(lines[i].qty);
		values[7] = lines[i].unit_amount;
		rc = SPI_execute_plan(line_plan, values, nulls, false, 0);
		oms_check_spi(rc, SPI_OK_INSERT, "writing a return line");
	}
	if (opt.idempotency_key)
		oms_save_return_key(order_id, "request", opt.idempotency_key, hash, return_id);

	event.order_id = order_id;
	event.entity = "return";
	event.entity_id = return_id;
	event.from_status = (Datum) 0;
	event.to_status = CStringGetTextDatum("requested");
	event.details = DirectFunctionCall1(jsonb_in,
										CStringGetDatum(psprintf("{\"kind\": \"%s\"}", opt.kind)));
	oms_write_events(&event, 1);

	if (!authorization_required)
	{
		r.order_id = order_id;
		r.return_id = return_id;
		oms_set_return_status(&r, "authorized", NULL);
	}
	/* refunds: an exchange or replace claim's replacement order (exchange.c). */
	(void) oms_place_replacement(order_id, return_id, false);
	oms_settle_returns(order_id);
	oms_spi_finish();
	PG_RETURN_INT64(return_id);
}

/*
 * oms.authorize_return(return_id): the customer may send a requested
 * return.
 */
Datum
oms_authorize_return(PG_FUNCTION_ARGS)
{
	int64		return_id = oms_arg_int64(fcinfo, 0, "return_id");
	static const char *const allowed[] = {"requested", NULL};
	OmsReturn	r;

	oms_spi_connect();
	r = oms_lock_return(return_id);
	oms_require_return_status(&r, "authorized", allowed);
	oms_set_return_status(&r, "authorized", NULL);
	oms_settle_returns(r.order_id);
	oms_spi_finish();
	PG_RETURN_VOID();
}

/*
 * Refuses (OM160) to call off return r once it is settled in part: money
 * refunded for it, or its replacement order shipped (the caller has locked
 * the replacement after the return's order, so a shipment in progress has
 * committed or waits).  Its units must not become returnable again;
 * close_return ends it instead.
 */
static void
refuse_settled(const OmsReturn *r, const char *action)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[3] = {INT8OID, INT8OID, INT8OID};
	Datum		values[3] = {Int64GetDatum(r->order_id), Int64GetDatum(r->return_id),
							 Int64GetDatum(r->replacement_order_id)};
	int			rc;

	oms_prepare(&plan,
				"SELECT r.refund_amount,"
				"       (SELECT coalesce(sum(l.qty_shipped), 0) FROM oms.order_lines l WHERE l.order_id = $3)"
				"  FROM oms.returns r WHERE r.order_id = $1 AND r.return_id = $2"
				"   AND (r.refund_amount > 0"
				"        OR EXISTS (SELECT FROM oms.order_lines l WHERE l.order_id = $3 AND l.qty_shipped > 0))",
				3, argtypes);
	rc = SPI_execute_plan(plan, values, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "reading what the return settled");
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_RETURN_STATUS),
				 errmsg("return %lld is settled in part: it cannot be %s", (long long) r->return_id, action),
				 errdetail("%s refunded; units of its replacement order shipped: %s.",
						   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
						   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2)),
				 errhint("Close it with oms.close_return: what was refunded or replaced stays settled.")));
}

/*
 * oms.decline_return(return_id, reason): refuses a requested return; its
 * units are returnable again.
 */
Datum
oms_decline_return(PG_FUNCTION_ARGS)
{
	int64		return_id = oms_arg_int64(fcinfo, 0, "return_id");
	text	   *reason = reason_arg(fcinfo, 1, "declined");
	static const char *const allowed[] = {"requested", NULL};
	OmsReturn	r;

	oms_spi_connect();
	r = oms_lock_return(return_id);
	oms_require_return_status(&r, "declined", allowed);
	if (r.replacement_order_id != 0)
		(void) oms_lock_order(r.replacement_order_id);	/* it may be shipping */
	refuse_settled(&r, "declined");
	end_in_returns(r.order_id, r.return_id, false);
	oms_set_return_status(&r, "declined", reason);
	cancel_replacement(&r, reason);
	oms_settle_returns(r.order_id);
	oms_spi_finish();
	PG_RETURN_VOID();
}

/*
 * Cancels the replacement order of return r unless it has left already.
 */
static void
cancel_replacement(const OmsReturn *r, text *reason)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		values[2] = {Int64GetDatum(r->replacement_order_id), PointerGetDatum(reason)};
	int			rc;

	if (r->replacement_order_id == 0)
		return;
	oms_prepare(&plan,
				"SELECT oms.cancel_order(order_id, $2) FROM oms.orders"
				" WHERE order_id = $1 AND status IN ('pending', 'reserved', 'backordered', 'on_hold')",
				2, argtypes);
	rc = SPI_execute_plan(plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "cancelling the replacement order");
}

/*
 * oms.cancel_return(return_id, reason): calls off a return of which nothing
 * arrived and nothing was settled; its units are returnable again, and an
 * exchange's replacement order is cancelled.
 */
Datum
oms_cancel_return(PG_FUNCTION_ARGS)
{
	int64		return_id = oms_arg_int64(fcinfo, 0, "return_id");
	text	   *reason = reason_arg(fcinfo, 1, "cancelled");
	static const char *const allowed[] = {"requested", "authorized", NULL};
	OmsReturn	r;

	oms_spi_connect();
	r = oms_lock_return(return_id);
	oms_require_return_status(&r, "cancelled", allowed);
	if (r.replacement_order_id != 0)
		(void) oms_lock_order(r.replacement_order_id);	/* it may be shipping */
	refuse_settled(&r, "cancelled");
	end_in_returns(r.order_id, r.return_id, false);
	oms_set_return_status(&r, "cancelled", reason);
	cancel_replacement(&r, reason);
	oms_settle_returns(r.order_id);
	oms_spi_finish();
	PG_RETURN_VOID();
}

/* Dispositions of received units (oms.return_receipt.disposition). */
static const char *const dispositions[] = {"restock", "damaged", "write_off", "quarantine"};

/* One receipt of receive_return, as given and as checked. */
typedef struct Receipt
{
	StockRowKey row;			/* first: oms_compare_stock_rows() sorts these */
	int32		line_no;
	int32		qty;
	const char *disposition;
	char	   *location;		/* code, or NULL: the return's location */
	char	   *note;			/* or NULL */
} Receipt;

/*
 * Reads receive_return's receipts, [{"line_no", "qty", "disposition",
 * "location", "note"}].
 */
static Receipt *
parse_receipts(Jsonb *receipts, int *nreceipts)
{
	Receipt    *out;
	int			n;

	if (!JB_ROOT_IS_ARRAY(receipts) || JB_ROOT_IS_SCALAR(receipts) || (n = JB_ROOT_COUNT(receipts)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_RETURN_LINES),
				 errmsg("receipts must be a non-empty JSON array of objects"),
				 errhint("Each receipt looks like {\"line_no\": 1, \"qty\": 1, \"disposition\": \"restock\", \"location\": \"BER-DC\"}.")));
	out = palloc0(sizeof(Receipt) * n);
	for (int i = 0; i < n; i++)
	{
		JsonbValue *elem = getIthJsonbValueFromContainer(&receipts->root, i);
		Receipt    *rc = &out[i];
		JsonbIterator *it;
		JsonbIteratorToken tok;
		JsonbValue	k,
					v;

		if (!json_is_object(elem))
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_RETURN_LINES),
					 errmsg("receipt %d is %s, not an object", i + 1, JsonbTypeName(elem))));
		it = JsonbIteratorInit(elem->val.binary.data);
		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			char	   *key;

			if (tok != WJB_KEY)
				continue;
			key = json_text(&k);
			(void) JsonbIteratorNext(&it, &v, true);
			if (strcmp(key, "line_no") == 0)
				rc->line_no = parse_line_no(&v, "receipt", i + 1);
			else if (strcmp(key, "qty") == 0)
				rc->qty = parse_qty(&v, "receipt", i + 1);
			else if (strcmp(key, "disposition") == 0)
			{
				char	   *d;

				if (v.type != jbvString)
					ereport(ERROR,
							(errcode(ERRCODE_OMS_INVALID_RETURN_LINES),
							 errmsg("receipt %d: disposition must be a string, not %s", i + 1, JsonbTypeName(&v))));
				d = json_text(&v);
				for (int j = 0; j < (int) lengthof(dispositions); j++)
					if (strcmp(d, dispositions[j]) == 0)
						rc->disposition = dispositions[j];
				if (rc->disposition == NULL)
					ereport(ERROR,
							(errcode(ERRCODE_OMS_UNKNOWN_DISPOSITION),
							 errmsg("receipt %d: unknown disposition \"%s\"", i + 1, d),
							 errhint("A disposition is restock, damaged, write_off or quarantine.")));
			}
			else if (strcmp(key, "location") == 0)
				rc->location = parse_optional_string(&v, "receipt", i + 1, key);
			else if (strcmp(key, "note") == 0)
				rc->note = parse_optional_string(&v, "receipt", i + 1, key);
			else
				ereport(ERROR,
						(errcode(ERRCODE_OMS_INVALID_RETURN_LINES),
						 errmsg("receipt %d has an unknown field \"%s\"", i + 1, key),
						 errhint("A receipt has the fields line_no, qty, disposition, location and note.")));
		}
		if (rc->line_no == 0 || rc->qty == 0 || rc->disposition == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_RETURN_LINES),
					 errmsg("receipt %d lacks %s", i + 1,
							rc->line_no == 0 ? "line_no" : rc->qty == 0 ? "qty" : "disposition")));
	}
	*nreceipts = n;
	return out;
}

/*
 * An idempotency key argument: NULL for none, else 1 to 200 characters
 * without surrounding blanks (OM163).
 */
static char *
key_arg(FunctionCallInfo fcinfo, int argno)
{
	text	   *arg = oms_arg_optional_text(fcinfo, argno);
	char	   *key = arg ? text_to_cstring(arg) : NULL;
	size_t		len = key ? strlen(key) : 0;

	if (key && (len == 0 || pg_mbstrlen(key) > 200 || isspace((unsigned char) key[0]) ||
				isspace((unsigned char) key[len - 1])))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_RETURN_OPTIONS),
				 errmsg("idempotency_key must be 1 to 200 characters without surrounding blanks")));
	return key;
}

/*
 * The location of receipt rc of return r: the one it names, or the
 * return's; either must receive returns (OM159).
 */
static int64
receipt_location(const OmsReturn *r, const Receipt *rc)
{
	char	   *code;

	if (rc->location)
		return receiving_location(rc->location);
	if (r->return_location_id == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_CANNOT_RECEIVE),
				 errmsg("return %lld has no return location", (long long) r->return_id),
				 errhint("Name the location that received the units in each receipt.")));
	if (!location_receives(r->return_location_id, &code))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_CANNOT_RECEIVE),
				 errmsg("location \"%s\", the return's, cannot receive returns", code),
				 errhint("Name a location that receives returns in each receipt.")));
	return r->return_location_id;
}

/*
 * Writes a receipt row of return r, moving restocked units into on_hand
 * first; from_quarantine for units released from quarantine.
 */
static void
write_receipt(const OmsReturn *r, const Receipt *rc, bool from_quarantine, const char *key)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[12] = {INT8OID, INT8OID, INT4OID, INT8OID, INT4OID, TEXTOID, INT8OID, BOOLOID,
								INT8OID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[12];
	char		nulls[12];
	int64		movement_id = 0;
	int			rc_spi;

	if (strcmp(rc->disposition, "restock") == 0)
		movement_id = oms_restock_units(rc->row.sku_id, rc->row.location_id, rc->qty,
										cstring_to_text(psprintf("return %lld", (long long) r->return_id)));
	oms_prepare(&plan,
				"INSERT INTO oms.return_receipt (order_id, return_id, line_no, sku_id, qty, disposition, location_id,"
				"                                from_quarantine, movement_id, idempotency_key, note, created_by)"
				" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
				12, argtypes);
	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(r->order_id);
	values[1] = Int64GetDatum(r->return_id);
	values[2] = Int32GetDatum(rc->line_no);
	values[3] = Int64GetDatum(rc->row.sku_id);
	values[4] = Int32GetDatum(rc->qty);
	values[5] = CStringGetTextDatum(rc->disposition);
	values[6] = Int64GetDatum(rc->row.location_id);
	values[7] = BoolGetDatum(from_quarantine);
	values[8] = Int64GetDatum(movement_id);
	nulls[8] = movement_id ? ' ' : 'n';
	values[9] = key ? CStringGetTextDatum(key) : (Datum) 0;
	nulls[9] = key ? ' ' : 'n';
	values[10] = rc->note ? CStringGetTextDatum(rc->note) : (Datum) 0;
	nulls[10] = rc->note ? ' ' : 'n';
	values[11] = CStringGetTextDatum(GetUserNameFromId(GetOuterUserId(), false));
	rc_spi = SPI_execute_plan(plan, values, nulls, false, 0);
	oms_check_spi(rc_spi, SPI_OK_INSERT, "writing a return receipt");
}

/*
 * Gives the units restocked at the rows of receipts (sorted) to the
 * backorders waiting for them, once per stock row.
 */
static void
fill_restocked(const Receipt *receipts, int n)
{
	for (int i = 0; i < n; i++)
	{
		if (strcmp(receipts[i].disposition, "restock") != 0)
			continue;
		if (i > 0 && strcmp(receipts[i - 1].disposition, "restock") == 0 &&
			oms_compare_stock_rows(&receipts[i - 1], &receipts[i]) == 0)
			continue;
		(void) oms_fill_arrivals(&receipts[i].row.sku_id, 1, receipts[i].row.location_id);
	}
}

/*
 * Units of return r that receipts of idempotency key key recorded: those
 * released from quarantine (release_quarantine's) or those received.
 */
static int32
units_of_key(const OmsReturn *r, const char *key, bool from_quarantine)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[4] = {INT8OID, INT8OID, TEXTOID, BOOLOID};
	Datum		values[4] = {Int64GetDatum(r->order_id), Int64GetDatum(r->return_id), CStringGetTextDatum(key),
							 BoolGetDatum(from_quarantine)};
	bool		isnull;
	int			rc;

	oms_prepare(&plan,
				"SELECT coalesce(sum(qty), 0)::integer FROM oms.return_receipt"
				" WHERE order_id = $1 AND return_id = $2 AND idempotency_key = $3 AND from_quarantine = $4",
				4, argtypes);
	rc = SPI_execute_plan(plan, values, NULL, false, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "reading the receipts of the key");
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Adds qty units of disposition to line line_no of return r (released from
 * quarantine when from_quarantine), and moves them from the order line's
 * units in open returns to its returned units when they arrived.
 */
static void
count_units(const OmsReturn *r, int32 line_no, int32 qty, const char *disposition, bool from_quarantine)
{
	static SPIPlanPtr line_plan = NULL;
	static SPIPlanPtr order_line_plan = NULL;
	Oid			argtypes[6] = {INT8OID, INT8OID, INT4OID, INT4OID, TEXTOID, BOOLOID};
	Datum		values[6] = {Int64GetDatum(r->order_id), Int64GetDatum(r->return_id), Int32GetDatum(line_no),
							 Int32GetDatum(qty), CStringGetTextDatum(disposition), BoolGetDatum(from_quarantine)};
	int			rc;

	oms_prepare(&line_plan,
				"UPDATE oms.return_line"
				"   SET qty_received = qty_received + CASE WHEN $6 THEN 0 ELSE $4 END,"
				"       qty_quarantined = qty_quarantined"
				"                         + CASE WHEN $6 THEN -$4 WHEN $5 = 'quarantine' THEN $4 ELSE 0 END,"
				"       qty_restocked = qty_restocked + CASE WHEN $5 = 'restock' THEN $4 ELSE 0 END,"
				"       qty_damaged = qty_damaged + CASE WHEN $5 = 'damaged' THEN $4 ELSE 0 END,"
				"       qty_written_off = qty_written_off + CASE WHEN $5 = 'write_off' THEN $4 ELSE 0 END"
				" WHERE order_id = $1 AND return_id = $2 AND line_no = $3",
				6, argtypes);
	rc = oms_execute_trusted(line_plan, values, NULL, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "counting returned units");
	oms_report_touch_order(r->order_id);	/* a receipt may move no status */
	if (from_quarantine)
		return;

	values[1] = Int32GetDatum(line_no);
	values[2] = Int32GetDatum(qty);
	argtypes[1] = INT4OID;
	argtypes[2] = INT4OID;
	oms_prepare(&order_line_plan,
				"UPDATE oms.order_lines SET qty_returned = qty_returned + $3, qty_in_returns = qty_in_returns - $3"
				" WHERE order_id = $1 AND line_no = $2",
				3, argtypes);
	rc = oms_execute_trusted(order_line_plan, values, NULL, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "counting the order line's returned units");
}

/*
 * Sets return r to received when every unit it asked for arrived or is
 * missing, else to partially_received, and notes when units arrived.
 */
static void
settle_receipt(const OmsReturn *r)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		values[2] = {Int64GetDatum(r->order_id), Int64GetDatum(r->return_id)};
	int			rc;

	oms_prepare(&plan,
				"UPDATE oms.returns r"
				"   SET status = CASE WHEN l.outstanding = 0 THEN 'received' ELSE 'partially_received' END,"
				"       received_at = now(), updated_at = now()"
				"  FROM (SELECT sum(qty_requested - qty_received - qty_missing) AS outstanding"
				"          FROM oms.return_line WHERE order_id = $1 AND return_id = $2) l"
				" WHERE r.order_id = $1 AND r.return_id = $2",
				2, argtypes);
	rc = SPI_execute_plan(plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "settling the return");
}

/*
 * oms.receive_return(return_id, receipts, idempotency_key): records units
 * of an authorized return that arrived and what becomes of them; returns
 * the units received (by the first call, when the key was used before).
 */
Datum
oms_receive_return(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr lines_plan = NULL;
	static const char *const allowed[] = {"authorized", "partially_received", NULL};
	int64		return_id = oms_arg_int64(fcinfo, 0, "return_id");
	Jsonb	   *receipts_arg;
	char	   *key = key_arg(fcinfo, 2);
	Receipt    *receipts;
	int			nreceipts;
	char	   *hash = NULL;
	OmsReturn	r;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		values[2];
	int32		total = 0;
	int			rc;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("receipts must not be null")));
	receipts_arg = PG_GETARG_JSONB_P(1);
	receipts = parse_receipts(receipts_arg, &nreceipts);

	oms_spi_connect();
	r = oms_lock_return(return_id);
	if (key)
	{
		int64		used_for;

		hash = oms_return_payload_hash(receipts_arg, NULL);
		used_for = oms_find_return_key(r.order_id, "receive", key, hash);
		if (used_for != 0 && used_for != return_id)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_RETURN_KEY_CONFLICT),
					 errmsg("idempotency key \"%s\" was used to receive return %lld of order %lld", key,
							(long long) used_for, (long long) r.order_id),
					 errhint("Use a new key for a different call, or repeat the first call exactly.")));
		if (used_for != 0)
		{
			total = units_of_key(&r, key, false);
			oms_spi_finish();
			PG_RETURN_INT32(total);
		}
	}
	oms_require_return_status(&r, "received", allowed);

	/* Each receipt against its line: what the line still expects, less this call's. */
	values[0] = Int64GetDatum(r.order_id);
	values[1] = Int64GetDatum(return_id);
	oms_prepare(&lines_plan,
				"SELECT line_no, sku_id, qty_requested - qty_received - qty_missing FROM oms.return_line"
				" WHERE order_id = $1 AND return_id = $2",
				2, argtypes);
	rc = SPI_execute_plan(lines_plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "reading the return lines");
	{
		SPITupleTable *lines = SPI_tuptable;
		uint64		nlines = SPI_processed;
		int32	   *expected = palloc0(sizeof(int32) * Max(nlines, 1));

		for (uint64 l = 0; l < nlines; l++)
		{
			bool		isnull;

			expected[l] = DatumGetInt32(SPI_getbinval(lines->vals[l], lines->tupdesc, 3, &isnull));
		}
		for (int i = 0; i < nreceipts; i++)
		{
			Receipt    *rc_i = &receipts[i];
			bool		found = false;

			for (uint64 l = 0; l < nlines && !found; l++)
			{
				bool		isnull;

				if (DatumGetInt32(SPI_getbinval(lines->vals[l], lines->tupdesc, 1, &isnull)) != rc_i->line_no)
					continue;
				found = true;
				rc_i->row.sku_id = DatumGetInt64(SPI_getbinval(lines->vals[l], lines->tupdesc, 2, &isnull));
				if (rc_i->qty > expected[l])
					ereport(ERROR,
							(errcode(ERRCODE_OMS_RECEIVE_EXCEEDS),
							 errmsg("line %d of return %lld expects %d more units, not %d", rc_i->line_no,
									(long long) return_id, expected[l], rc_i->qty),
							 errdetail("Requested units less those received and missing, less earlier receipts of this call.")));
				expected[l] -= rc_i->qty;
			}
			if (!found)
				ereport(ERROR,
						(errcode(ERRCODE_OMS_UNKNOWN_RETURN_LINE),
						 errmsg("return %lld has no line %d", (long long) return_id, rc_i->line_no)));
		}
	}
	for (int i = 0; i < nreceipts; i++)
		receipts[i].row.location_id = receipt_location(&r, &receipts[i]);

	/* Stock rows are locked in the order every session locks them in. */
	qsort(receipts, nreceipts, sizeof(Receipt), oms_compare_stock_rows);
	for (int i = 0; i < nreceipts; i++)
	{
		write_receipt(&r, &receipts[i], false, key);
		count_units(&r, receipts[i].line_no, receipts[i].qty, receipts[i].disposition, false);
		total += receipts[i].qty;
	}
	if (key)
		oms_save_return_key(r.order_id, "receive", key, hash, return_id);
	settle_receipt(&r);
	fill_restocked(receipts, nreceipts);
	/* refunds: an exchange reserved on receipt (exchange.c). */
	(void) oms_place_replacement(r.order_id, return_id, true);
	oms_settle_returns(r.order_id);
	oms_spi_finish();
	PG_RETURN_INT32(total);
}

/*
 * oms.close_return(return_id, reason): completes a return; the units that
 * have not arrived will not, and count as missing -- except those refunded
 * already, which are settled as a claim's are (qty_claimed), never
 * returnable again.  Returns the units missing.  A claim expects no
 * parcel: closing it accepts it as it stands, every unit claimed.
 */
Datum
oms_close_return(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	static const char *const allowed[] = {"authorized", "partially_received", "received", NULL};
	int64		return_id = oms_arg_int64(fcinfo, 0, "return_id");
	text	   *reason = reason_arg(fcinfo, 1, "closed");
	OmsReturn	r;
	Oid			argtypes[3] = {INT8OID, INT8OID, BOOLOID};
	Datum		values[3];
	bool		isnull;
	int32		missing;
	int			rc;

	oms_spi_connect();
	r = oms_lock_return(return_id);
	oms_require_return_status(&r, "closed", allowed);
	end_in_returns(r.order_id, return_id, false);
	values[0] = Int64GetDatum(r.order_id);
	values[1] = Int64GetDatum(return_id);
	values[2] = BoolGetDatum(strcmp(r.kind, "claim") == 0);
	oms_prepare(&plan,
				"WITH m AS ("
				"  UPDATE oms.return_line"
				"     SET qty_missing = CASE WHEN $3 THEN 0 ELSE qty_requested - greatest(qty_received, qty_refunded) END"
				"   WHERE order_id = $1 AND return_id = $2"
				"  RETURNING line_no, qty_missing, qty_requested - qty_received - qty_missing AS settled),"
				" c AS ("
				"  UPDATE oms.order_lines l SET qty_claimed = l.qty_claimed + m.settled"
				"    FROM m WHERE l.order_id = $1 AND l.line_no = m.line_no AND m.settled > 0"
				"  RETURNING 1)"
				" SELECT coalesce(sum(qty_missing), 0)::integer FROM m",
				3, argtypes);
	rc = oms_execute_trusted(plan, values, NULL, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "counting the missing units");
	missing = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	oms_set_return_status(&r, "completed", reason);
	oms_settle_returns(r.order_id);
	oms_spi_finish();
	PG_RETURN_INT32(missing);
}

/*
 * oms.release_quarantine(return_id, line_no, qty, disposition, location,
 * idempotency_key): restocks or writes off qty units of a return line kept
 * in quarantine.  Quarantine is kept per location (where the units were
 * received into it): the units are released from location, which may be
 * left out when the line has quarantined units at one location only, and
 * restocked there, first in, first out.  Returns the units released (by
 * the first call, when the key was used before).
 */
Datum
oms_release_quarantine(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr line_plan = NULL;
	static SPIPlanPtr held_plan = NULL;
	int64		return_id = oms_arg_int64(fcinfo, 0, "return_id");
	int32		line_no = oms_arg_int32(fcinfo, 1, "line_no");
	int32		qty = oms_arg_int32(fcinfo, 2, "qty");
	char	   *disposition = text_to_cstring(oms_arg_text(fcinfo, 3, "disposition"));
	text	   *location_arg = oms_arg_optional_text(fcinfo, 4);
	char	   *location = location_arg ? text_to_cstring(location_arg) : NULL;
	char	   *key = key_arg(fcinfo, 5);
	char	   *hash = NULL;
	OmsReturn	r;
	Receipt		rc;
	Oid			argtypes[3] = {INT8OID, INT8OID, INT4OID};
	Datum		values[3];
	bool		isnull;
	int32		held = 0;
	char	   *held_code = NULL;
	StringInfoData where;
	int			spi_rc;

	if (qty <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_RETURN_QTY),
				 errmsg("qty must be a whole number from 1 to %d", PG_INT32_MAX)));
	if (strcmp(disposition, "restock") != 0 && strcmp(disposition, "write_off") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_QUARANTINE_EXCEEDS),
				 errmsg("quarantined units are released to restock or write_off, not \"%s\"", disposition)));

	oms_spi_connect();
	r = oms_lock_return(return_id);
	if (key)
	{
		StringInfoData args;
		int64		used_for;

		initStringInfo(&args);
		appendStringInfo(&args, "{\"line_no\": %d, \"qty\": %d, \"disposition\": ", line_no, qty);
		escape_json(&args, disposition);
		appendStringInfoString(&args, ", \"location\": ");
		if (location)
			escape_json(&args, location);
		else
			appendStringInfoString(&args, "null");
		appendStringInfoChar(&args, '}');
		hash = oms_return_payload_hash(DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(args.data))), NULL);
		used_for = oms_find_return_key(r.order_id, "release", key, hash);
		if (used_for != 0 && used_for != return_id)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_RETURN_KEY_CONFLICT),
					 errmsg("idempotency key \"%s\" was used to release units of return %lld of order %lld", key,
							(long long) used_for, (long long) r.order_id),
					 errhint("Use a new key for a different call, or repeat the first call exactly.")));
		if (used_for != 0)
		{
			int32		released = units_of_key(&r, key, true);

			oms_spi_finish();
			PG_RETURN_INT32(released);
		}
	}
	values[0] = Int64GetDatum(r.order_id);
	values[1] = Int64GetDatum(return_id);
	values[2] = Int32GetDatum(line_no);
	oms_prepare(&line_plan,
				"SELECT sku_id FROM oms.return_line WHERE order_id = $1 AND return_id = $2 AND line_no = $3",
				3, argtypes);
	spi_rc = SPI_execute_plan(line_plan, values, NULL, false, 1);
	oms_check_spi(spi_rc, SPI_OK_SELECT, "reading the return line");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_UNKNOWN_RETURN_LINE),
				 errmsg("return %lld has no line %d", (long long) return_id, line_no)));
	memset(&rc, 0, sizeof(rc));
	rc.row.sku_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	/* The line's quarantine per location, the longest held first. */
	oms_prepare(&held_plan,
				"SELECT rr.location_id, l.code,"
				"       sum(CASE WHEN rr.from_quarantine THEN -rr.qty ELSE rr.qty END)::integer"
				"  FROM oms.return_receipt rr JOIN oms.location l ON l.id = rr.location_id"
				" WHERE rr.order_id = $1 AND rr.return_id = $2 AND rr.line_no = $3"
				"   AND (rr.disposition = 'quarantine' OR rr.from_quarantine)"
				" GROUP BY rr.location_id, l.code"
				" HAVING sum(CASE WHEN rr.from_quarantine THEN -rr.qty ELSE rr.qty END) > 0"
				" ORDER BY min(rr.id)",
				3, argtypes);
	spi_rc = SPI_execute_plan(held_plan, values, NULL, false, 0);
	oms_check_spi(spi_rc, SPI_OK_SELECT, "reading the line's quarantine");
	initStringInfo(&where);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *code = SPI_getvalue(tup, desc, 2);
		int32		units = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));

		appendStringInfo(&where, "%s%d at %s", i == 0 ? "" : ", ", units, code);
		if (location ? strcmp(code, location) == 0 : i == 0)
		{
			rc.row.location_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
			held = units;
			held_code = code;
		}
	}
	if (location == NULL && SPI_processed > 1)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_QUARANTINE_EXCEEDS),
				 errmsg("line %d of return %lld has units in quarantine at several locations", line_no,
						(long long) return_id),
				 errdetail("In quarantine: %s.", where.data),
				 errhint("Name the location to release them from.")));
	if (qty > held)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_QUARANTINE_EXCEEDS),
				 errmsg("line %d of return %lld has %d units in quarantine%s%s, not %d", line_no,
						(long long) return_id, held, location ? " at " : "", location ? location : "", qty),
				 errdetail("In quarantine: %s.", where.len > 0 ? where.data : "none")));

	/* Restocked units go on the shelf where they are kept: it must take returns. */
	rc.disposition = strcmp(disposition, "restock") == 0 ? dispositions[0] : dispositions[2];
	if (rc.disposition == dispositions[0] && !location_receives(rc.row.location_id, &held_code))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_CANNOT_RECEIVE),
				 errmsg("location \"%s\", where the units are kept, cannot take them back into stock", held_code),
				 errdetail("It is inactive or does not accept returns (oms.location.accepts_returns)."),
				 errhint("Write them off, or make the location take returns again first.")));
	rc.line_no = line_no;
	rc.qty = qty;
	write_receipt(&r, &rc, true, key);
	count_units(&r, line_no, qty, rc.disposition, true);
	if (key)
		oms_save_return_key(r.order_id, "release", key, hash, return_id);
	fill_restocked(&rc, 1);
	oms_spi_finish();
	PG_RETURN_INT32(qty);
}

/*
 * oms.expire_returns(): the background worker's round over returns.  It
 * expires the authorized returns whose parcel did not come within the
 * policy's expire_days and that nothing settled in part (no refund, no
 * replacement shipped): their units are returnable again.  And it brings
 * up to date the orders whose replace claim has seen its replacement ship
 * (the claim completes).  Returns the returns expired.
 */
Datum
oms_expire_returns(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr expire_plan = NULL;
	static SPIPlanPtr replaced_plan = NULL;
	int64	   *orders;
	uint64		expired;
	uint64		nreplaced;
	int			rc;

	/*
	 * Orders first, as every return function locks them; an order another
	 * transaction holds is left for the next round.  A receipt or
	 * cancellation committed in between wins: the UPDATE finds the return
	 * no longer authorized.  Expired units leave their lines'
	 * qty_in_returns.
	 */
	oms_spi_connect();
	oms_prepare(&expire_plan,
				"WITH due AS ("
				"    SELECT o.order_id FROM oms.orders o"
				"     WHERE o.order_id IN (SELECT r.order_id FROM oms.returns r"
				"                           WHERE r.status = 'authorized' AND r.expires_at <= now())"
				"     ORDER BY o.order_id"
				"       FOR NO KEY UPDATE SKIP LOCKED),"
				" e AS ("
				"    UPDATE oms.returns r"
				"       SET status = 'expired', status_reason = 'no parcel by ' || r.expires_at::text,"
				"           closed_at = now(), updated_at = now()"
				"      FROM due"
				"     WHERE r.order_id = due.order_id AND r.status = 'authorized' AND r.expires_at <= now()"
				"       AND r.refund_amount = 0"
				"       AND NOT EXISTS (SELECT FROM oms.order_lines l"
				"                        WHERE l.order_id = r.replacement_order_id AND l.qty_shipped > 0)"
				"    RETURNING r.order_id, r.return_id),"
				" l AS ("
				"    UPDATE oms.order_lines ol"
				"       SET qty_in_returns = ol.qty_in_returns - x.open"
				"      FROM (SELECT rl.order_id, rl.line_no, sum(rl.qty_requested - rl.qty_received - rl.qty_missing) AS open"
				"              FROM oms.return_line rl"
				"              JOIN e ON e.order_id = rl.order_id AND e.return_id = rl.return_id"
				"             GROUP BY 1, 2) x"
				"     WHERE ol.order_id = x.order_id AND ol.line_no = x.line_no"
				"    RETURNING 1)"
				" SELECT order_id FROM e ORDER BY order_id",
				0, NULL);
	rc = oms_execute_trusted(expire_plan, NULL, NULL, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "expiring returns");
	orders = oms_spi_int64s(1, &expired);
	for (uint64 i = 0; i < expired; i++)
		if (i == 0 || orders[i] != orders[i - 1])
			oms_settle_returns(orders[i]);

	oms_prepare(&replaced_plan,
				"SELECT o.order_id FROM oms.orders o"
				" WHERE o.order_id IN (SELECT r.order_id FROM oms.returns r"
				"                       WHERE r.kind = 'claim' AND r.resolution = 'replace'"
				"                         AND r.status IN ('authorized', 'partially_received', 'received')"
				"                         AND r.replacement_order_id IS NOT NULL"
				"                         AND NOT EXISTS (SELECT FROM oms.order_lines l"
				"                                          WHERE l.order_id = r.replacement_order_id"
				"                                            AND l.qty_reserved + l.qty_backordered > 0)"
				"                         AND EXISTS (SELECT FROM oms.order_lines l"
				"                                      WHERE l.order_id = r.replacement_order_id AND l.qty_shipped > 0))"
				" ORDER BY o.order_id"
				"   FOR NO KEY UPDATE SKIP LOCKED",
				0, NULL);
	rc = SPI_execute_plan(replaced_plan, NULL, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "finding the replaced claims");
	orders = oms_spi_int64s(1, &nreplaced);
	for (uint64 i = 0; i < nreplaced; i++)
		oms_settle_returns(orders[i]);
	oms_spi_finish();
	PG_RETURN_INT32((int32) expired);
}
