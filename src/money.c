/*-------------------------------------------------------------------------
 *
 * money.c
 *	  The money of an order and who fulfils it: a line's discount, tax and
 *	  external id, the options prices_include_tax, shipping, order_discount,
 *	  total, fulfilment and location, and the grand total computed from them
 *	  exactly, in numeric (README, "Orders").
 *
 *	  A line's subtotal is qty * unit_price, its net the subtotal less its
 *	  discount, its total the net plus its tax unless prices include tax.
 *	  The order's total is the sum of the line totals, less order_discount,
 *	  plus the shipping price less its discount, plus shipping tax unless
 *	  prices include tax.  A total the channel sends must be exactly that.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "oms.h"

/* Most characters of an external line id, as of a reference. */
#define OMS_MAX_EXTERNAL_ID 200

/* Returns numeric 0, made once per backend. */
static Datum
zero(void)
{
	static Datum value = 0;

	if (value == 0)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		value = DirectFunctionCall1(int4_numeric, Int32GetDatum(0));
		MemoryContextSwitchTo(old);
	}
	return value;
}

/* Returns a + b, a - b, a * b and the sign of a - b for numeric Datums. */
static Datum
add(Datum a, Datum b)
{
	return DirectFunctionCall2(numeric_add, a, b);
}

static Datum
sub(Datum a, Datum b)
{
	return DirectFunctionCall2(numeric_sub, a, b);
}

static int
cmp(Datum a, Datum b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, a, b));
}

/* Returns a numeric Datum as text, or "0" for an absent amount. */
static char *
show(Datum a)
{
	return a ? DatumGetCString(DirectFunctionCall1(numeric_out, a)) : "0";
}

/* Returns an absent amount (0) as numeric 0. */
static Datum
amount_or_zero(Datum a)
{
	return a ? a : zero();
}

/*
 * Returns a JSON amount: a number from 0 below 10^12, as unit prices are;
 * what names it in the message.
 */
static Datum
json_amount(JsonbValue *v, const char *what)
{
	Datum		limit = DirectFunctionCall1(int8_numeric, Int64GetDatum(INT64CONST(1000000000000)));

	if (v->type != jbvNumeric || numeric_is_nan(v->val.numeric) ||
		cmp(NumericGetDatum(v->val.numeric), zero()) < 0 ||
		cmp(NumericGetDatum(v->val.numeric), limit) >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_AMOUNT),
				 errmsg("%s must be a number from 0 up to 10^12", what)));
	return NumericGetDatum(v->val.numeric);
}

/*
 * Reads a line's money field key (discount, tax) or its external_line_id
 * into line; false when key is none of them.  n is the line's position.
 */
bool
oms_parse_line_money(const char *key, JsonbValue *v, int n, OrderLine *line)
{
	if (strcmp(key, "discount") == 0)
		line->discount = json_amount(v, psprintf("line %d: discount", n));
	else if (strcmp(key, "tax") == 0)
		line->tax = json_amount(v, psprintf("line %d: tax", n));
	else if (strcmp(key, "external_line_id") == 0)
	{
		if (v->type != jbvString || v->val.string.len == 0 ||
			pg_mbstrlen_with_len(v->val.string.val, v->val.string.len) > OMS_MAX_EXTERNAL_ID)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_LINES),
					 errmsg("line %d: external_line_id must be a string of 1 to %d characters",
							n, OMS_MAX_EXTERNAL_ID)));
		line->external_line_id = pnstrdup(v->val.string.val, v->val.string.len);
	}
	else
		return false;
	return true;
}

/* Reads option shipping: an object of price, tax and discount. */
static void
parse_shipping(JsonbValue *v, OrderMoney *money)
{
	JsonbIterator *it;
	JsonbValue	k,
				f;
	JsonbIteratorToken tok;

	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_OPTIONS),
				 errmsg("option shipping must be an object"),
				 errhint("For example {\"price\": 4.90, \"tax\": 0.78, \"discount\": 0}.")));
	it = JsonbIteratorInit(v->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		JsonbIteratorNext(&it, &f, true);
		if (strcmp(key, "price") == 0)
			money->shipping_price = json_amount(&f, "shipping price");
		else if (strcmp(key, "tax") == 0)
			money->shipping_tax = json_amount(&f, "shipping tax");
		else if (strcmp(key, "discount") == 0)
			money->shipping_discount = json_amount(&f, "shipping discount");
		else
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_OPTIONS),
					 errmsg("option shipping has an unknown field \"%s\"", key),
					 errhint("shipping has the fields price, tax and discount.")));
	}
}

/*
 * Reads order option key (prices_include_tax, shipping, order_discount,
 * total, fulfilment, location) into req; false when key is none of them.
 * The caller is connected to SPI.
 */
bool
oms_parse_order_option(const char *key, JsonbValue *v, OrderRequest *req)
{
	if (strcmp(key, "prices_include_tax") == 0)
	{
		if (v->type != jbvBool)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_OPTIONS),
					 errmsg("option prices_include_tax must be true or false")));
		req->money.prices_include_tax = v->val.boolean;
	}
	else if (strcmp(key, "shipping") == 0)
		parse_shipping(v, &req->money);
	else if (strcmp(key, "order_discount") == 0)
		req->money.order_discount = json_amount(v, "option order_discount");
	else if (strcmp(key, "total") == 0)
		req->money.expected_total = json_amount(v, "option total");
	else if (strcmp(key, "fulfilment") == 0)
	{
		char	   *name;

		if (v->type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_OPTIONS),
					 errmsg("option fulfilment must be a string")));
		name = pnstrdup(v->val.string.val, v->val.string.len);
		if (strcmp(name, "merchant") == 0)
			req->fulfilment = OMS_FULFIL_MERCHANT;
		else if (strcmp(name, "store") == 0)
			req->fulfilment = OMS_FULFIL_STORE;
		else if (strcmp(name, "marketplace") == 0)
			req->fulfilment = OMS_FULFIL_MARKETPLACE;
		else
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_FULFILMENT),
					 errmsg("unknown fulfilment \"%s\"", name),
					 errhint("fulfilment is merchant (the default), store or marketplace.")));
	}
	else if (strcmp(key, "location") == 0)
	{
		if (v->type != jbvString)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INVALID_OPTIONS),
					 errmsg("option location must be a location code")));
		req->store = oms_lookup(OMS_LOCATION, cstring_to_text_with_len(v->val.string.val,
																	   v->val.string.len));
		if (!req->store.active)
			ereport(ERROR,
					(errcode(ERRCODE_OMS_INACTIVE_LOCATION),
					 errmsg("location \"%s\" is not active", req->store.code)));
	}
	else
		return false;
	return true;
}

/*
 * Whether the table being written has column: the money columns arrive with
 * oms 0.2.0, and between installing its library and ALTER EXTENSION oms
 * UPDATE the tables are still 0.1.0's.
 */
static bool
has_column(OmsInsert *ins, const char *column)
{
	TupleDesc	desc = ins->slot->tts_tupleDescriptor;

	for (int i = desc->natts - 1; i >= 0; i--)
		if (!TupleDescAttr(desc, i)->attisdropped &&
			strcmp(NameStr(TupleDescAttr(desc, i)->attname), column) == 0)
			return true;
	return false;
}

/* Refuses money the tables of oms 0.1.0 cannot keep. */
static void
refuse_before_update(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("discounts, tax, shipping and fulfilment need oms 0.2.0's tables"),
			 errhint("Run ALTER EXTENSION oms UPDATE.")));
}

/* Refuses options that do not go with the order's fulfilment. */
static void
check_fulfilment(OrderRequest *req)
{
	const char *name = req->fulfilment == OMS_FULFIL_STORE ? "store" : "marketplace";

	if (req->fulfilment != OMS_FULFIL_MERCHANT &&
		get_attnum(oms_relid("orders"), "fulfilment") == InvalidAttrNumber)
		refuse_before_update();

	if (req->fulfilment == OMS_FULFIL_STORE && req->store.id == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_FULFILMENT),
				 errmsg("fulfilment store needs option location, the store that sold the order")));
	if (req->fulfilment != OMS_FULFIL_STORE && req->store.id != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_FULFILMENT),
				 errmsg("option location is for fulfilment store only"),
				 errhint("A merchant order is routed; a pickup store is option pickup_location.")));
	if (req->fulfilment != OMS_FULFIL_MERCHANT && (req->hold_ref || req->pickup_location_id))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_FULFILMENT),
				 errmsg("an order with fulfilment %s cannot have option %s", name,
						req->hold_ref ? "hold" : "pickup_location"),
				 errdetail("It takes no stock through oms's routing: a store sells from its own shelf, a marketplace ships from its own stock.")));
}

/*
 * Checks the money of req's lines and options and computes its grand total
 * into req->money.total: each discount at most what it discounts, and the
 * channel's total, if it sent one, exactly oms's.  Also checks that the
 * fulfilment options go together.  Runs on the lines as given.
 */
void
oms_check_money(OrderRequest *req)
{
	OrderMoney *m = &req->money;
	Datum		subtotal = zero();	/* sum of qty * unit_price */
	Datum		discounts = zero(); /* sum of the line discounts */
	Datum		taxes = zero();		/* sum of the line taxes */
	bool		taxed = false;
	Datum		nets;
	Datum		total;

	check_fulfilment(req);

	for (int i = 0; i < req->nlines; i++)
	{
		OrderLine  *line = &req->lines[i];
		Datum		line_subtotal = DirectFunctionCall2(numeric_mul,
														DirectFunctionCall1(int4_numeric, Int32GetDatum(line->qty)),
														line->unit_price);

		subtotal = add(subtotal, line_subtotal);
		if (line->discount)
		{
			if (cmp(line->discount, line_subtotal) > 0)
				ereport(ERROR,
						(errcode(ERRCODE_OMS_DISCOUNT_EXCEEDS),
						 errmsg("line %d: discount %s is more than the line's %s", line->line_no,
								show(line->discount), show(line_subtotal)),
						 errdetail("A line's discount is the amount off the whole line, at most qty * unit_price.")));
			discounts = add(discounts, line->discount);
		}
		if (line->tax)
		{
			taxes = add(taxes, line->tax);
			taxed = true;
		}
	}
	nets = sub(subtotal, discounts);

	if (m->order_discount && cmp(m->order_discount, nets) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_DISCOUNT_EXCEEDS),
				 errmsg("order_discount %s is more than the lines' net %s", show(m->order_discount), show(nets)),
				 errdetail("order_discount comes off the lines after their own discounts; shipping has its own discount.")));
	if (m->shipping_discount && cmp(m->shipping_discount, amount_or_zero(m->shipping_price)) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_DISCOUNT_EXCEEDS),
				 errmsg("shipping discount %s is more than the shipping price %s",
						show(m->shipping_discount), show(m->shipping_price))));

	/* The common order, lines at their unit prices and nothing else, adds nothing. */
	total = nets;
	if (m->order_discount)
		total = sub(total, m->order_discount);
	if (m->shipping_price)
		total = add(total, m->shipping_price);
	if (m->shipping_discount)
		total = sub(total, m->shipping_discount);
	if (!m->prices_include_tax)
	{
		if (taxed)
			total = add(total, taxes);
		if (m->shipping_tax)
			total = add(total, m->shipping_tax);
	}
	m->total = total;

	if (m->expected_total && cmp(m->expected_total, total) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_TOTAL_MISMATCH),
				 errmsg("option total %s is not the order's total %s", show(m->expected_total), show(total)),
				 errdetail("oms adds up: lines %s (qty * unit_price) - line discounts %s + line tax %s%s"
						   " - order_discount %s + shipping %s - shipping discount %s + shipping tax %s%s = %s.",
						   show(subtotal), show(discounts), show(taxes),
						   m->prices_include_tax ? " (included in the prices, not added)" : "",
						   show(m->order_discount), show(m->shipping_price), show(m->shipping_discount),
						   show(m->shipping_tax),
						   m->prices_include_tax ? " (included, not added)" : "", show(total)),
				 errhint("Send the lines' discount and tax as amounts per line, not per unit.")));
}

/*
 * Sets the money and fulfilment columns of the order row being built.
 */
void
oms_set_order_money(OmsInsert *ins, OrderRequest *req)
{
	static const char *const fulfilment[] = {"merchant", "store", "marketplace"};
	OrderMoney *m = &req->money;

	oms_insert_set(ins, "total_amount", m->total);
	if (!has_column(ins, "fulfilment"))
	{
		if (m->order_discount || m->shipping_price || m->shipping_tax || m->shipping_discount ||
			m->prices_include_tax || req->fulfilment != OMS_FULFIL_MERCHANT)
			refuse_before_update();
		return;
	}
	oms_insert_set(ins, "order_discount", amount_or_zero(m->order_discount));
	oms_insert_set(ins, "shipping_amount", amount_or_zero(m->shipping_price));
	oms_insert_set(ins, "shipping_tax", amount_or_zero(m->shipping_tax));
	oms_insert_set(ins, "shipping_discount", amount_or_zero(m->shipping_discount));
	oms_insert_set(ins, "prices_include_tax", BoolGetDatum(m->prices_include_tax));
	oms_insert_set(ins, "fulfilment", CStringGetTextDatum(fulfilment[req->fulfilment]));
	if (req->fulfilment == OMS_FULFIL_STORE)
		oms_insert_set(ins, "fulfilment_location_id", Int64GetDatum(req->store.id));
}

/*
 * Sets the money columns of the order line row being built.
 */
void
oms_set_line_money(OmsInsert *ins, OrderLine *line)
{
	if (!has_column(ins, "external_line_id"))
	{
		if (line->discount || line->tax || line->external_line_id)
			refuse_before_update();
		return;
	}
	oms_insert_set(ins, "discount_amount", amount_or_zero(line->discount));
	oms_insert_set(ins, "tax_amount", amount_or_zero(line->tax));
	if (line->external_line_id)
		oms_insert_set(ins, "external_line_id", CStringGetTextDatum(line->external_line_id));
	/* Not money, but 0.2.0's too: a new line has no units in returns or claims. */
	if (has_column(ins, "qty_in_returns"))
	{
		oms_insert_set(ins, "qty_in_returns", Int32GetDatum(0));
		oms_insert_set(ins, "qty_claimed", Int32GetDatum(0));
	}
}
