/*-------------------------------------------------------------------------
 *
 * oms.h
 *	  Declarations shared by the oms modules: SQLSTATEs, catalog lookups,
 *	  SPI helpers and the trusted-write guard.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OMS_H
#define OMS_H

#include "fmgr.h"
#include "access/tableam.h"
#include "executor/spi.h"
#include "utils/guc.h"
#include "utils/jsonb.h"

#include "compat.h"

/*
 * SQLSTATEs of the errors a caller can cause, class OM.  README lists them;
 * a code, once released, never changes its meaning.
 */
#define ERRCODE_OMS_UNKNOWN_SKU				MAKE_SQLSTATE('O','M','0','0','1')
#define ERRCODE_OMS_UNKNOWN_LOCATION		MAKE_SQLSTATE('O','M','0','0','2')
#define ERRCODE_OMS_UNKNOWN_CHANNEL			MAKE_SQLSTATE('O','M','0','0','3')
#define ERRCODE_OMS_INACTIVE_SKU			MAKE_SQLSTATE('O','M','0','0','4')
#define ERRCODE_OMS_INACTIVE_CHANNEL		MAKE_SQLSTATE('O','M','0','0','5')
#define ERRCODE_OMS_INACTIVE_LOCATION		MAKE_SQLSTATE('O','M','0','0','6')
#define ERRCODE_OMS_INVALID_QUANTITY		MAKE_SQLSTATE('O','M','0','1','0')
#define ERRCODE_OMS_STOCK_OVERFLOW			MAKE_SQLSTATE('O','M','0','1','1')
#define ERRCODE_OMS_NEGATIVE_STOCK			MAKE_SQLSTATE('O','M','0','1','2')
#define ERRCODE_OMS_BELOW_RESERVED			MAKE_SQLSTATE('O','M','0','1','3')
#define ERRCODE_OMS_REASON_REQUIRED			MAKE_SQLSTATE('O','M','0','1','4')
#define ERRCODE_OMS_INVALID_LINES			MAKE_SQLSTATE('O','M','0','2','0')
#define ERRCODE_OMS_INVALID_SHIP_TO			MAKE_SQLSTATE('O','M','0','2','1')
#define ERRCODE_OMS_INVALID_OPTIONS			MAKE_SQLSTATE('O','M','0','2','2')
#define ERRCODE_OMS_DUPLICATE_SKU			MAKE_SQLSTATE('O','M','0','2','3')
#define ERRCODE_OMS_INVALID_PRICE			MAKE_SQLSTATE('O','M','0','2','4')
#define ERRCODE_OMS_INVALID_REFERENCE		MAKE_SQLSTATE('O','M','0','2','5')
#define ERRCODE_OMS_REQUEST_TOO_LARGE		MAKE_SQLSTATE('O','M','0','2','6')
#define ERRCODE_OMS_INSUFFICIENT_STOCK		MAKE_SQLSTATE('O','M','0','3','0')
#define ERRCODE_OMS_IDEMPOTENCY_CONFLICT	MAKE_SQLSTATE('O','M','0','3','1')
#define ERRCODE_OMS_CAPACITY_REACHED		MAKE_SQLSTATE('O','M','0','3','2')
#define ERRCODE_OMS_UNKNOWN_ORDER			MAKE_SQLSTATE('O','M','0','4','0')
#define ERRCODE_OMS_ORDER_NOT_CANCELLABLE	MAKE_SQLSTATE('O','M','0','4','1')
#define ERRCODE_OMS_UNKNOWN_LINE			MAKE_SQLSTATE('O','M','0','4','2')
#define ERRCODE_OMS_CANCEL_EXCEEDS_OPEN		MAKE_SQLSTATE('O','M','0','4','3')
#define ERRCODE_OMS_LINE_IN_SHIPMENT		MAKE_SQLSTATE('O','M','0','4','4')
#define ERRCODE_OMS_HOLD_CHANNEL_MISMATCH	MAKE_SQLSTATE('O','M','0','5','0')
#define ERRCODE_OMS_INVALID_TTL				MAKE_SQLSTATE('O','M','0','5','1')
#define ERRCODE_OMS_ILLEGAL_TRANSITION		MAKE_SQLSTATE('O','M','0','6','0')
#define ERRCODE_OMS_NOTHING_TO_SHIP			MAKE_SQLSTATE('O','M','0','6','1')
#define ERRCODE_OMS_UNKNOWN_SHIPMENT		MAKE_SQLSTATE('O','M','0','6','2')
#define ERRCODE_OMS_SHIPMENT_STATE			MAKE_SQLSTATE('O','M','0','6','3')
#define ERRCODE_OMS_INVALID_TRACKING		MAKE_SQLSTATE('O','M','0','6','4')
#define ERRCODE_OMS_INVALID_SHIPMENT_LINES	MAKE_SQLSTATE('O','M','0','6','5')
#define ERRCODE_OMS_INVALID_PAYMENT			MAKE_SQLSTATE('O','M','0','7','0')
#define ERRCODE_OMS_PAYMENT_EXCEEDS			MAKE_SQLSTATE('O','M','0','7','1')
#define ERRCODE_OMS_PAYMENT_CONFLICT		MAKE_SQLSTATE('O','M','0','7','2')
#define ERRCODE_OMS_PAYMENT_REFUSED			MAKE_SQLSTATE('O','M','0','7','3')
#define ERRCODE_OMS_INVALID_CONSUMER		MAKE_SQLSTATE('O','M','0','8','0')
#define ERRCODE_OMS_INVALID_PUBLISH			MAKE_SQLSTATE('O','M','0','8','1')
#define ERRCODE_OMS_LEDGER_APPEND_ONLY		MAKE_SQLSTATE('O','M','0','9','0')
#define ERRCODE_OMS_STOCK_WRITE_DENIED		MAKE_SQLSTATE('O','M','0','9','1')
#define ERRCODE_OMS_DEFINITION_READ_ONLY	MAKE_SQLSTATE('O','M','0','9','2')
#define ERRCODE_OMS_INVALID_AMOUNT			MAKE_SQLSTATE('O','M','1','1','4')
#define ERRCODE_OMS_DISCOUNT_EXCEEDS		MAKE_SQLSTATE('O','M','1','1','5')
#define ERRCODE_OMS_TOTAL_MISMATCH			MAKE_SQLSTATE('O','M','1','1','6')
#define ERRCODE_OMS_INVALID_FULFILMENT		MAKE_SQLSTATE('O','M','1','1','7')
#define ERRCODE_OMS_INVALID_COUNTS			MAKE_SQLSTATE('O','M','1','4','0')
#define ERRCODE_OMS_INVALID_SOURCE			MAKE_SQLSTATE('O','M','1','4','1')
/* Raised by the available-to-promise feed (src/sql/65_atp.sql, feed.c). */
#define ERRCODE_OMS_INVALID_FEED_ARGUMENT	MAKE_SQLSTATE('O','M','1','3','0')
#define ERRCODE_OMS_CURSOR_AHEAD			MAKE_SQLSTATE('O','M','1','3','1')
#define ERRCODE_OMS_FLUSH_ISOLATION			MAKE_SQLSTATE('O','M','1','3','2')
#define ERRCODE_OMS_FLUSH_BUSY				MAKE_SQLSTATE('O','M','1','3','3')
#define ERRCODE_OMS_UNKNOWN_RETURN			MAKE_SQLSTATE('O','M','1','5','0')
#define ERRCODE_OMS_INVALID_RETURN_LINES	MAKE_SQLSTATE('O','M','1','5','1')
#define ERRCODE_OMS_INVALID_RETURN_QTY		MAKE_SQLSTATE('O','M','1','5','2')
#define ERRCODE_OMS_UNKNOWN_RETURN_LINE		MAKE_SQLSTATE('O','M','1','5','3')
#define ERRCODE_OMS_NOT_RETURNABLE			MAKE_SQLSTATE('O','M','1','5','4')
#define ERRCODE_OMS_NEVER_SHIPPED			MAKE_SQLSTATE('O','M','1','5','5')
#define ERRCODE_OMS_RETURN_WINDOW_OVER		MAKE_SQLSTATE('O','M','1','5','6')
#define ERRCODE_OMS_UNKNOWN_RETURN_REASON	MAKE_SQLSTATE('O','M','1','5','7')
#define ERRCODE_OMS_UNKNOWN_DISPOSITION		MAKE_SQLSTATE('O','M','1','5','8')
#define ERRCODE_OMS_CANNOT_RECEIVE			MAKE_SQLSTATE('O','M','1','5','9')
#define ERRCODE_OMS_RETURN_STATUS			MAKE_SQLSTATE('O','M','1','6','0')
#define ERRCODE_OMS_RETURN_KEY_CONFLICT		MAKE_SQLSTATE('O','M','1','6','1')
#define ERRCODE_OMS_RECEIVE_EXCEEDS			MAKE_SQLSTATE('O','M','1','6','2')
#define ERRCODE_OMS_INVALID_RETURN_OPTIONS	MAKE_SQLSTATE('O','M','1','6','3')
#define ERRCODE_OMS_OVERRIDE_DENIED			MAKE_SQLSTATE('O','M','1','6','4')
#define ERRCODE_OMS_RETURN_REASON_REQUIRED	MAKE_SQLSTATE('O','M','1','6','5')
#define ERRCODE_OMS_QUARANTINE_EXCEEDS		MAKE_SQLSTATE('O','M','1','6','6')
#define ERRCODE_OMS_REFUND_EXCEEDS			MAKE_SQLSTATE('O','M','1','6','7')
#define ERRCODE_OMS_REFUND_UNCOVERED		MAKE_SQLSTATE('O','M','1','6','8')
#define ERRCODE_OMS_INVALID_REFUND			MAKE_SQLSTATE('O','M','1','6','9')
/* Raised on Citus (src/citus.c, src/sql/85_citus.sql: OM180-OM183). */
#define ERRCODE_OMS_CITUS_UNSUPPORTED		MAKE_SQLSTATE('O','M','1','8','4')
#define ERRCODE_OMS_INVALID_PERCENTILE		MAKE_SQLSTATE('O','M','2','1','0')
#define ERRCODE_OMS_INVALID_HISTOGRAM		MAKE_SQLSTATE('O','M','2','1','1')

/* A master-data row found by its code. */
typedef struct OmsRef
{
	int64		id;
	bool		active;
	char	   *code;
} OmsRef;

/* The master-data tables oms_lookup() searches. */
typedef enum OmsMaster
{
	OMS_SKU,
	OMS_LOCATION,
	OMS_CHANNEL
} OmsMaster;

/* catalog.c: look up master data by code; unknown codes are errors. */
extern OmsRef oms_lookup(OmsMaster kind, text *code);
extern void oms_lookup_skus(char **codes, int n, OmsRef *refs);

/* A location, as routing sees it. */
typedef struct OmsLocation
{
	int64		id;
	char	   *code;
	int32		code_rank;		/* place of code in byte order among all locations */
	double		latitude;
	double		longitude;
	int32		priority;
	bool		can_ship;
	bool		can_pickup;
	bool		active;
	int32		daily_capacity; /* -1: unlimited */
	bool		has_cost_model;
	double		shipping_cost_fixed;
	double		shipping_cost_per_km;
} OmsLocation;

/* What routing ranks after units (README, "Routing"); oms.routing_policy.strategy. */
typedef enum OmsStrategy
{
	OMS_FEWEST_SHIPMENTS,
	OMS_CHEAPEST,
	OMS_NEAREST_FIRST,
	OMS_PRIORITY_FIRST,
	OMS_BALANCE_STOCK
} OmsStrategy;

#define OMS_NUM_STRATEGIES (OMS_BALANCE_STOCK + 1)

/* cache.c: strategies by name. */
extern const char *const oms_strategy_names[OMS_NUM_STRATEGIES];
extern bool oms_parse_strategy(const char *name, OmsStrategy *strategy);

/* A channel, as ordering sees it. */
typedef struct OmsChannel
{
	int64		id;
	char	   *code;
	bool		active;
	int32		safety_stock;
	bool		restricted;		/* has rows in oms.channel_location */
	OmsStrategy strategy;		/* oms.routing_policy, or the default */
	int32		max_shipments;	/* oms.routing_policy; 0: no cap */
} OmsChannel;

/* cache.c: channels and locations kept in backend memory. */
extern void oms_cache_init(void);
extern bool oms_find_channel(const char *code, OmsChannel *channel);
extern bool oms_find_location(int64 id, OmsLocation *location);
extern int64 oms_find_location_id(const char *code);
extern bool oms_channel_may_use(const OmsChannel *channel, int64 location_id, int32 *safety_stock);
extern OmsLocation *oms_all_locations(int *n);
extern bool oms_transition_legal(const char *entity, const char *from, const char *to);
extern char *oms_transition_next(const char *entity, const char *from);

/* helpers.c: SPI helpers, checked arguments, relations by name, subtransactions, numerics. */
extern void oms_spi_connect(void);
extern void oms_spi_finish(void);
extern SPIPlanPtr oms_prepare(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes);
extern SPIPlanPtr oms_prepare_planned(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes,
									  int cursor_options);
extern void oms_check_spi(int rc, int expected, const char *what);
extern int64 *oms_spi_int64s(int col, uint64 *n);
extern text *oms_arg_text(FunctionCallInfo fcinfo, int argno, const char *argname);
extern int32 oms_arg_int32(FunctionCallInfo fcinfo, int argno, const char *argname);
extern int64 oms_arg_int64(FunctionCallInfo fcinfo, int argno, const char *argname);
extern text *oms_arg_optional_text(FunctionCallInfo fcinfo, int argno);
extern Jsonb *oms_arg_optional_jsonb(FunctionCallInfo fcinfo, int argno);
extern struct TriggerData *oms_trigger_data(FunctionCallInfo fcinfo, const char *name);
extern Oid	oms_relid(const char *name);
extern bool oms_in_subtransaction(bool (*fn) (void *arg), void *arg);
extern Numeric oms_num_add(Numeric a, Numeric b);
extern Numeric oms_num_sub(Numeric a, Numeric b);
extern int	oms_num_cmp(Numeric a, Numeric b);
extern Numeric oms_num_int(int64 i);
extern char *oms_num_text(Numeric n);

/* worker.c: the background worker and its settings. */
extern int	oms_expire_holds_interval;
extern int	oms_publish_interval;
extern int	oms_allocate_backorders_interval;
extern int	oms_atp_interval;
extern char *oms_database;
extern void oms_register_worker(void);

/* atp.c: signals of the available-to-promise feed, and its setting. */
extern bool oms_atp_feed;
extern void oms_atp_init(void);
extern void oms_atp_touch(int64 sku_id);
extern void oms_atp_touch_many(const int64 *skus, int n);

/* ledger.c: shipped and sold units leave on_hand, returned ones come back. */
extern void oms_ship_units(int64 sku_id, int64 location_id, int32 slot, int32 qty, text *reference);
extern void oms_sell_units(const char *sku, int64 sku_id, const OmsRef *store, int32 qty, text *reference);
extern int64 oms_restock_units(int64 sku_id, int64 location_id, int32 qty, text *reference);

/* A locked row of oms.stock. */
typedef struct StockRow
{
	int64		sku_id;
	int64		location_id;
	int32		on_hand;
	int32		reserved;
	int32		held;
	int32		escrow;
	int32		safety_stock;
	int32		slots;
} StockRow;

/*
 * A stock row's key.  Every session locks stock rows in this order, so no
 * two wait for each other in a cycle; structs that are sorted so begin
 * with one.
 */
typedef struct StockRowKey
{
	int64		sku_id;
	int64		location_id;
} StockRowKey;

/* Most slots a stock row spreads over (the domain oms.slot_count). */
#define OMS_MAX_SLOTS 256

/* The stock row itself, as opposed to one of its slots. */
#define OMS_NO_SLOT (-1)

/* stock.c: units of one stock row, under its lock; when a hot row spreads. */
extern int	oms_hot_stock_wait;
extern int	oms_hot_stock_slots;
extern bool oms_lock_stock(int64 sku_id, int64 location_id, bool create, StockRow *row);
extern void oms_write_stock(StockRow *row);
extern void oms_uncommit_stock(StockRow *row);
extern bool oms_take_stock(int64 sku_id, int64 location_id, int32 qty, int32 channel_safety,
						   int32 slots, bool hold, int32 *slot, int32 *free);
extern int32 oms_take_from_slot(int64 sku_id, int64 location_id, int32 qty, int32 slots);
extern void oms_return_stock(int64 sku_id, int64 location_id, int32 slot, int32 qty, bool hold);
extern void oms_spread_stock(StockRow *row, int32 slots);
extern void oms_release_hold_line(const char *hold_ref, int64 sku_id, int64 location_id);
extern int	oms_compare_stock_rows(const void *a, const void *b);

/* Units at one stock row: set aside by hold hold_ref, or found there. */
typedef struct RowUnits
{
	StockRowKey row;			/* first: oms_compare_stock_rows() sorts these */
	const char *hold_ref;
	int32		qty;
} RowUnits;

/* One line of an order or hold, as given and as placed. */
typedef struct OrderLine
{
	int32		line_no;
	char	   *sku;
	int64		sku_id;
	int32		qty;
	Datum		unit_price;		/* numeric */
	Datum		discount;		/* numeric, off the line in total; 0: none */
	Datum		tax;			/* numeric, of the line in total; 0: none */
	char	   *external_line_id;	/* or NULL */
	int			demand;			/* its SKU's line in the demand routing sees */
	int32		placed;			/* units reserved (or held) */
} OrderLine;

/* Who fulfils an order (oms.orders.fulfilment). */
typedef enum OmsFulfilment
{
	OMS_FULFIL_MERCHANT,		/* oms routes, reserves and ships */
	OMS_FULFIL_STORE,			/* sold at a store's till: delivered */
	OMS_FULFIL_MARKETPLACE		/* shipped by the marketplace from its stock */
} OmsFulfilment;

/* The money of an order beyond its lines (options), and its grand total. */
typedef struct OrderMoney
{
	bool		prices_include_tax;
	Datum		order_discount; /* numeric; 0: none */
	Datum		shipping_price; /* numeric; 0: none */
	Datum		shipping_tax;	/* numeric; 0: none */
	Datum		shipping_discount;	/* numeric; 0: none */
	Datum		expected_total; /* numeric, the channel's option total; 0: none */
	Datum		total;			/* numeric, computed by oms_check_money() */
} OrderMoney;

/* An order (or a hold) to route and reserve. */
typedef struct OrderRequest
{
	OmsChannel	channel;
	int			nlines;
	OrderLine  *lines;
	bool		has_point;		/* ship_to has coordinates */
	double		latitude;
	double		longitude;
	bool		allow_backorder;
	bool		allow_split;
	bool		has_strategy;	/* the options name one */
	OmsStrategy strategy;
	char	   *hold_ref;
	int64		pickup_location_id; /* 0: ship */
	int32		max_shipments;	/* 0: no cap */
	int			nexclude;
	int64	   *exclude;		/* location ids */
	char	   *currency;
	Datum		customer;		/* jsonb, or 0 */
	int			noverrides;
	RowUnits   *overrides;	/* exact units available at rows found short */
	int			nfull;
	int64	   *full;			/* locations found at their daily capacity */
	OrderMoney	money;
	OmsFulfilment fulfilment;
	OmsRef		store;			/* option location, for fulfilment store */
	int			ngiven;
	OrderLine  *given;			/* the lines as given while lines holds one per SKU */
} OrderRequest;

/* Units of one line to take at one location. */
typedef struct Allocation
{
	StockRowKey row;			/* first: oms_compare_stock_rows() sorts these */
	int			line;			/* index into OrderRequest.lines */
	int32		qty;
	int32		channel_safety;
	int32		slots;			/* hint for oms_take_stock */
	int32		slot;			/* where the units came from */
	int			shipment;		/* 1-based, in RoutePlan.chosen order */
} Allocation;

/* A location that may serve an order, with what it has of each line. */
typedef struct RouteSite
{
	int64		location_id;
	char	   *code;
	int32		code_rank;		/* as OmsLocation.code_rank */
	int32		priority;
	int32		daily_capacity; /* -1: unlimited */
	bool		has_cost_model;
	int64		distance;		/* to ship_to, in millionths of a km */
	int64		cost;			/* per shipment, in millionths */
	int64		stock;			/* units over all lines */
	bool		full;			/* reached its daily capacity */
	int32	   *available;		/* per line */
	int32		channel_safety; /* units the channel keeps back here, per SKU */
	int32	   *slots;			/* per line */
} RouteSite;

/* Where an order's units come from, and why. */
typedef struct RoutePlan
{
	int			nallocs;
	Allocation *allocs;
	int			short_line;		/* a line that cannot be filled, or -1 */
	int32		short_available;	/* units of it that could be */
	OmsStrategy strategy;
	int32		max_shipments;	/* the cap applied; 0: none */
	bool		exact;			/* proven best */
	int64		nodes;			/* search nodes visited */
	int64		units;			/* units placed */
	int64		units_requested;
	int			nsites;
	RouteSite  *sites;			/* the candidates */
	int			nchosen;
	int		   *chosen;			/* indexes into sites, in shipment order */
	int			attempts;		/* routings place_order needed */
} RoutePlan;

/* The terms a strategy ranks sets of locations by, after units. */
typedef enum RouteTerm
{
	ROUTE_TERM_SHIPMENTS,
	ROUTE_TERM_COST,
	ROUTE_TERM_DISTANCE,
	ROUTE_TERM_PRIORITY,
	ROUTE_TERM_STOCK
} RouteTerm;

#define ROUTE_MAX_TERMS 4

/* search.c: the routing search, over plain arrays. */
typedef struct RouteProblem
{
	int			nlines;
	int			nsites;
	const int32 *qty;			/* per line */
	const int32 *avail;			/* per site, per line: nsites * nlines */
	int			nterms;
	RouteTerm	terms[ROUTE_MAX_TERMS];
	int64	   *weight[ROUTE_MAX_TERMS];	/* per site, >= 0, less is better */
	const int  *code_rank;		/* per site */
	int			cap;			/* most sites in a set, >= 1 */
	int64		max_nodes;
} RouteProblem;

typedef struct RouteSolution
{
	int			nchosen;
	int		   *chosen;			/* site indexes, in shipment order */
	int64		units;
	bool		exact;
	int64		nodes;
} RouteSolution;

extern void oms_route_search(const RouteProblem *p, RouteSolution *sol);

/* input.c: JSON input of orders and holds. */
extern void oms_parse_lines(Jsonb *lines, bool prices, OrderRequest *req);
extern void oms_parse_ship_to(Jsonb *ship_to, OrderRequest *req);
extern void oms_parse_options(Jsonb *options, OrderRequest *req);
extern char *oms_arg_reference(FunctionCallInfo fcinfo, int argno, const char *argname);
extern bool oms_json_int32(JsonbValue *v, int32 *out);

/* catalog.c: the channel and SKUs of an order or hold, which must be active. */
extern OmsChannel oms_active_channel(text *code);
extern void oms_resolve_skus(OrderRequest *req);

/* route.c: choosing locations. */
extern int	oms_route_search_limit;
extern RoutePlan *oms_route(OrderRequest *req);
extern const char *oms_route_exclusion(OrderRequest *req, const OmsLocation *loc);
extern void oms_insufficient(OrderRequest *req, int line, int32 available, int32 max_shipments);

/* explain.c: routing decisions as JSON. */
extern Jsonb *oms_route_decision(OrderRequest *req, RoutePlan *plan, bool candidates);

/* reserve.c: reserving a whole order or hold; closing an order's reservations. */
extern RoutePlan *oms_reserve(OrderRequest *req, bool hold, RowUnits *release, int nrelease);
extern int32 oms_close_reservations(int64 order_id, int32 line_no, int64 location_id, int32 qty,
									bool shipped, text *reference);


/* hold.c: hold storage, shared with order.c. */
extern RowUnits *oms_lock_hold(OrderRequest *req, const char *hold_ref, int *nheld, bool *exists);
extern void oms_delete_holds(Datum *hold_refs, int n);

/* lifecycle.c: an order's lock, statuses derived from facts. */
extern char *oms_lock_order(int64 order_id);
extern void oms_settle_order(int64 order_id, text *reason);

/* One event: entity entity_id of order order_id took status to_status. */
typedef struct OmsEvent
{
	int64		order_id;
	const char *entity;			/* order, line, shipment, payment, return */
	int64		entity_id;		/* the order's id, a line's line_no, a shipment's or return's id */
	Datum		from_status;	/* text, or 0 for a new row */
	Datum		to_status;		/* text */
	Datum		details;		/* jsonb, or 0 */
} OmsEvent;

/* events.c: the history and the outbox. */
extern bool oms_events;
extern void oms_write_events(const OmsEvent *events, int n);

/* A return, read under its order's lock (returns.c). */
typedef struct OmsReturn
{
	int64		order_id;
	int64		return_id;
	char	   *status;
	char	   *kind;
	int64		return_location_id; /* 0: none */
	int64		replacement_order_id;	/* 0: none */
} OmsReturn;

/* returns.c: a return locked with its order, its status, idempotency keys. */
extern int64 oms_return_order(int64 return_id);
extern OmsReturn oms_lock_return(int64 return_id);
extern void oms_require_return_status(const OmsReturn *r, const char *action, const char *const *allowed);
extern void oms_set_return_status(const OmsReturn *r, const char *status, text *reason);
extern void oms_settle_returns(int64 order_id);
extern char *oms_return_payload_hash(Jsonb *a, Jsonb *b);
extern int64 oms_find_return_key(int64 order_id, const char *operation, const char *key, const char *hash);
extern void oms_save_return_key(int64 order_id, const char *operation, const char *key, const char *hash,
								int64 return_id);

/* payment.c: an order's payment_status from its payments. */
extern void oms_derive_payment_status(int64 order_id);

/* exchange.c: the replacement order of an exchange or a replace claim. */
extern int64 oms_place_replacement(int64 order_id, int64 return_id, bool received);

/* backorder.c: backordered lines filled from free units. */
extern int32 oms_fill_arrivals(const int64 *sku_ids, int nskus, int64 location_id);

/* guard.c: writes the guard triggers let through. */
extern int	oms_execute_trusted(SPIPlanPtr plan, Datum *values, const char *nulls, long tcount);

/* insert.c: rows written without a statement. */
typedef struct OmsInsert
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slot;		/* the row being built */
	bool		sql;			/* Citus holds the table: rows go in by INSERT */
} OmsInsert;

extern void oms_insert_open(OmsInsert *ins, const char *table, bool if_new);
extern int	oms_insert_column(OmsInsert *ins, const char *column);
extern void oms_insert_set(OmsInsert *ins, const char *column, Datum value);
extern void oms_insert_copy(OmsInsert *ins, TupleTableSlot *from);
extern void oms_insert_row(OmsInsert *ins);
extern void oms_insert_row_unqueued(OmsInsert *ins);
extern bool oms_insert_row_if_new(OmsInsert *ins);
extern TM_Result oms_insert_replace(OmsInsert *ins, ItemPointer tid);
extern void oms_insert_close(OmsInsert *ins);

/* citus.c: which tables Citus holds. */
extern void oms_citus_init(void);
extern bool oms_citus_table(Oid relid);
extern bool oms_citus_named(const char *name);
extern bool oms_citus_active(void);
extern bool oms_citus_worker_node(void);
extern void oms_citus_refuse(const char *table, const char *what);
extern bool oms_citus_internal_backend(void);

/* money.c: money and fulfilment of an order. */
extern bool oms_parse_line_money(const char *key, JsonbValue *v, int n, OrderLine *line);
extern bool oms_parse_order_option(const char *key, JsonbValue *v, OrderRequest *req);
extern void oms_check_money(OrderRequest *req);
extern void oms_set_order_money(OmsInsert *ins, OrderRequest *req);
extern void oms_set_line_money(OmsInsert *ins, OrderLine *line);

/* demand.c: lines of one SKU routed and reserved as one. */
extern void oms_merge_lines(OrderRequest *req);
extern void oms_split_plan(OrderRequest *req, RoutePlan *plan);
extern void oms_fulfil_elsewhere(OrderRequest *req, int64 order_id);

/* report.c: orders noted for the reporting rollups. */
extern bool oms_report;
extern char *oms_report_timezone;
extern int	oms_report_compact_interval;
extern void oms_report_touch(const int64 *orders, int n);
extern void oms_report_touch_order(int64 order_id);
extern bool oms_report_check_timezone(char **newval, void **extra, GucSource source);

#endif							/* OMS_H */
