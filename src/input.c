/*-------------------------------------------------------------------------
 *
 * input.c
 *	  Reading the JSON that orders and holds arrive in: lines, ship_to and
 *	  options.  Everything is checked before any stock is touched; each kind
 *	  of mistake has its own SQLSTATE and a message that names the field.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"

#include "oms.h"

/*
 * Lines an order may have, and locations it may exclude: they bound the
 * work and memory one call can cause.  More is OM026.
 */
#define OMS_MAX_LINES 1000
#define OMS_MAX_EXCLUDED 1000

/* Returns a JSON value's type name, for messages. */
static const char *
json_type_name(JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "a string";
		case jbvNumeric:
			return "a number";
		case jbvBool:
			return "a boolean";
		case jbvBinary:
			return JsonContainerIsArray(v->val.binary.data) ? "an array" : "an object";
		default:
			return "a value";
	}
}

/* Returns the text of a JSON key or string value. */
static char *
json_string(JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * Returns a JSON number as an int32 if it is a whole number in range.
 */
bool
oms_json_int32(JsonbValue *v, int32 *out)
{
	Datum		n;
	bool		error = false;

	if (v->type != jbvNumeric)
		return false;
	n = NumericGetDatum(v->val.numeric);
	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, n,
										  DirectFunctionCall2(numeric_trunc, n, Int32GetDatum(0)))) != 0)
		return false;
	*out = numeric_int4_opt_error(v->val.numeric, &error);
	return !error;
}

/*
 * Returns a JSON number as a double, or false if it is not a finite number.
 */
static bool
json_double(JsonbValue *v, double *out)
{
	char	   *digits;
	char	   *end;

	if (v->type != jbvNumeric || numeric_is_nan(v->val.numeric) || numeric_is_inf(v->val.numeric))
		return false;

	/*
	 * As float8in converts, but a number too large or too small for a double
	 * (1e309, 1e-400) is a wrong coordinate rather than numeric_float8's
	 * out-of-range error.
	 */
	digits = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	errno = 0;
	*out = strtod(digits, &end);
	if (end == digits || *end != '\0')
		return false;
	if (errno == ERANGE && (*out == 0.0 || isinf(*out)))
		return false;
	return !isinf(*out) && !isnan(*out);
}

/*
 * Reads one line object into line; n is its position for messages.
 */
static void
parse_line(JsonbValue *elem, int n, bool prices, OrderLine *line)
{
	JsonbIterator *it;
	JsonbValue	k,
				v;
	JsonbIteratorToken tok;
	bool		has_qty = false;

	if (elem->type != jbvBinary || !JsonContainerIsObject(elem->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_LINES),
				 errmsg("line %d is %s, not an object", n, json_type_name(elem)),
				 errhint("Each line looks like {\"sku\": \"SKU-1\", \"qty\": 2, \"unit_price\": 19.99}.")));

	line->line_no = n;
	line->unit_price = DirectFunctionCall1(int4_numeric, Int32GetDatum(0));
	it = JsonbIteratorInit(elem->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = json_string(&k);
		tok = JsonbIteratorNext(&it, &v, true);
		if (strcmp(key, "sku") == 0)
		{
			if (v.type != jbvString || v.val.string.len == 0)
				ereport(ERROR,
						(errcode(ERRCODE_OMS_INVALID_LINES),
						 errmsg("line %d: sku must be a non-empty string, not %s", n, json_type_name(&v))));
			line->sku = json_string(&v);
		}
		else if (strcmp(key, "qty") == 0)
		{
			if (!oms_json_int32(&v, &line->qty) || line->qty <= 0)
				ereport(ERROR,
						(errcode(ERRCODE_OMS_INVALID_QUANTITY),
						 errmsg("line %d: qty must be a positive whole number of at most %d", n, PG_INT32_MAX)));
			has_qty = true;
		}
		else if (strcmp(key, "unit_price") == 0 && prices)
		{
			Datum		zero = DirectFunctionCall1(int4_numeric, Int32GetDatum(0));
			Datum		limit = DirectFunctionCall1(int8_numeric, Int64GetDatum(INT64CONST(1000000000000)));

			if (v.type != jbvNumeric || numeric_is_nan(v.val.numeric) ||
				DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(v.val.numeric), zero)) < 0 ||
				DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(v.val.numeric), limit)) >= 0)
				ereport(ERROR,
						(errcode(ERRCODE_OMS_INVALID_PRICE),
						 errmsg("line %d: unit_price must be a number from 0 up to 10^12", n)));
			line->unit_price = NumericGetDatum(v.val.numeric);
		}
		else if (prices && oms_parse_line_money(key, &v, n, line))
			continue;
		else
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_LINES),
					 errmsg("line %d has an unknown field \"%s\"", n, key),
					 errhint("A line has the fields %s.", prices ?
							 "sku, qty, unit_price, discount, tax and external_line_id" : "sku and qty")));
	}
	if (line->sku == NULL || !has_qty)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_LINES),
				 errmsg("line %d lacks %s", n, line->sku == NULL ? "sku" : "qty")));
}

/*
 * Reads the lines of an order (with unit prices and money) or a hold (without)
 * into req->lines: a non-empty array of objects.  A SKU may repeat
 * (oms_merge_lines).
 */
void
oms_parse_lines(Jsonb *lines, bool prices, OrderRequest *req)
{
	int			n,
				i;
	int64		units = 0;

	if (lines == NULL || !JB_ROOT_IS_ARRAY(lines) || JB_ROOT_IS_SCALAR(lines))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_LINES),
				 errmsg("lines must be a JSON array of line objects"),
				 errhint("For example [{\"sku\": \"SKU-1\", \"qty\": 2}].")));
	n = JB_ROOT_COUNT(lines);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_LINES),
				 errmsg("an order has from 1 to %d lines, not %d", OMS_MAX_LINES, n)));
	if (n > OMS_MAX_LINES)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_REQUEST_TOO_LARGE),
				 errmsg("an order has from 1 to %d lines, not %d", OMS_MAX_LINES, n),
				 errhint("Split it into several orders.")));

	req->nlines = n;
	req->lines = palloc0(sizeof(OrderLine) * n);
	for (i = 0; i < n; i++)
	{
		JsonbValue *elem = getIthJsonbValueFromContainer(&lines->root, i);

		parse_line(elem, i + 1, prices, &req->lines[i]);
		units += req->lines[i].qty;
	}
	if (units > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_QUANTITY),
				 errmsg("an order has at most %d units in all", PG_INT32_MAX)));
}

/*
 * Reads ship_to: NULL or an object; latitude and longitude, if given, come
 * together and lie on the globe.
 */
void
oms_parse_ship_to(Jsonb *ship_to, OrderRequest *req)
{
	JsonbValue	lat_value,
				lon_value;
	JsonbValue *lat,
			   *lon;

	if (ship_to == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(ship_to))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_SHIP_TO),
				 errmsg("ship_to must be a JSON object"),
				 errhint("For example {\"city\": \"Berlin\", \"country\": \"DE\", \"latitude\": 52.52, \"longitude\": 13.40}.")));

	lat = getKeyJsonValueFromContainer(&ship_to->root, "latitude", 8, &lat_value);
	lon = getKeyJsonValueFromContainer(&ship_to->root, "longitude", 9, &lon_value);
	if ((lat == NULL) != (lon == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_SHIP_TO),
				 errmsg("ship_to has %s but not %s", lat ? "latitude" : "longitude", lat ? "longitude" : "latitude")));
	if (lat == NULL)
		return;
	if (!json_double(lat, &req->latitude) || req->latitude < -90 || req->latitude > 90)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_SHIP_TO),
				 errmsg("ship_to latitude must be a number from -90 to 90")));
	if (!json_double(lon, &req->longitude) || req->longitude < -180 || req->longitude > 180)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_SHIP_TO),
				 errmsg("ship_to longitude must be a number from -180 to 180")));
	req->has_point = true;
}

/* Raises the error for an option of the wrong type. */
static void
bad_option(const char *key, const char *want, JsonbValue *v)
{
	ereport(ERROR,
			(errcode(ERRCODE_OMS_INVALID_OPTIONS),
			 errmsg("option %s must be %s, not %s", key, want, json_type_name(v))));
}

/*
 * Reads the options of an order into req; location codes are looked up
 * (the caller is connected to SPI).
 */
void
oms_parse_options(Jsonb *options, OrderRequest *req)
{
	JsonbIterator *it;
	JsonbValue	k,
				v;
	JsonbIteratorToken tok;

	req->allow_split = true;
	if (options == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(options))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_OPTIONS),
				 errmsg("options must be a JSON object")));

	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = json_string(&k);
		JsonbIteratorNext(&it, &v, true);

		if (strcmp(key, "allow_backorder") == 0 || strcmp(key, "allow_split") == 0)
		{
			if (v.type != jbvBool)
				bad_option(key, "true or false", &v);
			if (key[6] == 'b')
				req->allow_backorder = v.val.boolean;
			else
				req->allow_split = v.val.boolean;
		}
		else if (strcmp(key, "hold") == 0)
		{
			if (v.type != jbvString || v.val.string.len == 0)
				bad_option(key, "a hold reference (a non-empty string)", &v);
			req->hold_ref = json_string(&v);
		}
		else if (strcmp(key, "pickup_location") == 0)
		{
			OmsRef		loc;

			if (v.type != jbvString)
				bad_option(key, "a location code", &v);
			loc = oms_lookup(OMS_LOCATION, cstring_to_text_with_len(v.val.string.val, v.val.string.len));
			if (!loc.active)
				ereport(ERROR,
						(errcode(ERRCODE_OMS_INACTIVE_LOCATION),
						 errmsg("pickup location \"%s\" is not active", loc.code)));
			req->pickup_location_id = loc.id;
		}
		else if (strcmp(key, "max_shipments") == 0)
		{
			if (!oms_json_int32(&v, &req->max_shipments) || req->max_shipments <= 0)
				bad_option(key, "a positive whole number", &v);
		}
		else if (strcmp(key, "exclude_locations") == 0)
		{
			int			i,
						n;

			if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data))
				bad_option(key, "an array of location codes", &v);
			n = JsonContainerSize(v.val.binary.data);
			if (n > OMS_MAX_EXCLUDED)
				ereport(ERROR,
						(errcode(ERRCODE_OMS_REQUEST_TOO_LARGE),
						 errmsg("option exclude_locations names at most %d locations, not %d",
								OMS_MAX_EXCLUDED, n),
						 errhint("Deactivate a location that no order may use, or limit a channel's locations in oms.channel_location.")));
			req->exclude = palloc(sizeof(int64) * Max(n, 1));
			for (i = 0; i < n; i++)
			{
				JsonbValue *code = getIthJsonbValueFromContainer(v.val.binary.data, i);

				if (code->type != jbvString)
					bad_option(key, "an array of location codes", code);
				req->exclude[req->nexclude++] =
					oms_lookup(OMS_LOCATION, cstring_to_text_with_len(code->val.string.val,
																	  code->val.string.len)).id;
			}
		}
		else if (strcmp(key, "strategy") == 0)
		{
			char	   *name;

			if (v.type != jbvString)
				bad_option(key, "a routing strategy", &v);
			name = json_string(&v);
			if (!oms_parse_strategy(name, &req->strategy))
				ereport(ERROR,
						(errcode(ERRCODE_OMS_INVALID_OPTIONS),
						 errmsg("unknown routing strategy \"%s\"", name),
						 errhint("Strategies are fewest_shipments, cheapest, nearest_first, "
								 "priority_first and balance_stock.")));
			req->has_strategy = true;
		}
		else if (strcmp(key, "currency") == 0)
		{
			char	   *c;

			if (v.type != jbvString)
				bad_option(key, "a three-letter ISO 4217 code", &v);
			c = json_string(&v);
			if (strlen(c) != 3 || strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3)
				ereport(ERROR,
						(errcode(ERRCODE_OMS_INVALID_OPTIONS),
						 errmsg("option currency must be a three-letter ISO 4217 code such as \"EUR\", not \"%s\"", c)));
			req->currency = c;
		}
		else if (strcmp(key, "customer") == 0)
		{
			if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
				bad_option(key, "an object", &v);
			req->customer = JsonbPGetDatum(JsonbValueToJsonb(&v));
		}
		else if (oms_parse_order_option(key, &v, req))
			continue;
		else
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_OPTIONS),
					 errmsg("unknown option \"%s\"", key),
					 errhint("Options are allow_backorder, allow_split, hold, pickup_location, "
							 "max_shipments, exclude_locations, strategy, currency, customer, "
							 "prices_include_tax, shipping, order_discount, total, fulfilment and location.")));
	}
}

/*
 * Returns text argument argno as a reference (an external_ref or hold_ref):
 * non-empty, without surrounding blanks, at most 200 characters.
 */
char *
oms_arg_reference(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	char	   *ref = text_to_cstring(oms_arg_text(fcinfo, argno, argname));
	size_t		len = strlen(ref);

	if (len == 0 || len > 200 || isspace((unsigned char) ref[0]) ||
		isspace((unsigned char) ref[len - 1]))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_REFERENCE),
				 errmsg("%s must be 1 to 200 characters without surrounding blanks", argname)));
	return ref;
}
