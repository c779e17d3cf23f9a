/*-------------------------------------------------------------------------
 *
 * oms.c
 *	  Module entry point of oms, an order management system inside PostgreSQL:
 *	  settings, and the background worker when oms is preloaded.
 *
 *	  The work is split by concern: catalog.c looks up master data (cache.c
 *	  keeps channels and locations in memory), input.c
 *	  reads JSON input, ledger.c changes stock through the ledger, route.c
 *	  chooses locations by the search in search.c (explain.c shows why),
 *	  stock.c takes and returns units of a stock row, reserve.c those of
 *	  a whole order or hold, order.c and
 *	  hold.c are the order and hold API, backorder.c fills backorders from
 *	  units that become free, guard.c keeps the tables from being written
 *	  around oms, atp.c signals changes to the available-to-promise feed,
 *	  worker.c expires holds, publishes events, fills backorders and
 *	  flushes the feed in the background.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "oms.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Defines the settings (README, "Settings"), whose variables live in the
 * files that read them, and, when oms is in shared_preload_libraries,
 * registers the background worker.
 */
void
_PG_init(void)
{
	DefineCustomIntVariable("oms.hot_stock_wait",
							"Wait for a stock row's lock, in milliseconds, after which the row spreads over slots.",
							"-1 never spreads rows by itself; oms.set_stock_slots still does.",
							&oms_hot_stock_wait,
							5, -1, 60000,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("oms.hot_stock_slots",
							"Number of slots a hot stock row spreads over.",
							NULL,
							&oms_hot_stock_slots,
							64, 0, OMS_MAX_SLOTS,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	/*
	 * Superuser only (or a role granted SET on it): the limit bounds the
	 * time one call of route, route_explain or place_order may take, which a
	 * caller must not raise for itself.
	 */
	DefineCustomIntVariable("oms.route_search_limit",
							"Most search nodes routing visits for one order.",
							"Beyond it the best plan found so far stands, marked \"bounded\" rather than \"exact\".",
							&oms_route_search_limit,
							20000, 1, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("oms.events",
							 "Write an event for every status transition.",
							 "Off is for measuring what events cost and for bulk loads; the history then misses transitions.",
							 &oms_events,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("oms.atp_feed",
							 "Signal changes of stock to the available-to-promise feed.",
							 "Off is for measuring what the feed costs and for bulk loads; the feed then misses those changes until oms.atp_refresh().",
							 &oms_atp_feed,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("oms.report",
							 "Note every changed order for the reporting rollups (schema oms_report).",
							 "Off is for measuring what reporting costs and for bulk loads; run oms.report_rebuild() afterwards.",
							 &oms_report,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	/*
	 * Server-wide: the rollups and the views must agree on the zone their
	 * dates are in, so a session cannot change it for itself.
	 */
	DefineCustomStringVariable("oms.report_timezone",
							   "Time zone of the dates in the reporting views (schema oms_report).",
							   "A change re-buckets the rollups at the next oms.report_compact().",
							   &oms_report_timezone,
							   "UTC",
							   PGC_SIGHUP, 0,
							   oms_report_check_timezone, NULL, NULL);

	if (process_shared_preload_libraries_in_progress)
	{
		DefineCustomIntVariable("oms.expire_holds_interval",
								"Seconds between runs of oms.expire_holds() by the background worker.",
								"0 disables the worker.",
								&oms_expire_holds_interval,
								60, 0, 86400,
								PGC_SIGHUP, GUC_UNIT_S,
								NULL, NULL, NULL);
		DefineCustomIntVariable("oms.publish_interval",
								"Milliseconds between runs of oms.publish_events() by the background worker.",
								"0 stops waking LISTENers of channel oms_events.",
								&oms_publish_interval,
								200, 0, 60000,
								PGC_SIGHUP, GUC_UNIT_MS,
								NULL, NULL, NULL);
		DefineCustomIntVariable("oms.allocate_backorders_interval",
								"Milliseconds between runs of oms.allocate_backorders() by the background worker.",
								"0 leaves backorders to receipts and to calls of oms.allocate_backorders().",
								&oms_allocate_backorders_interval,
								1000, 0, 3600000,
								PGC_SIGHUP, GUC_UNIT_MS,
								NULL, NULL, NULL);
		DefineCustomIntVariable("oms.atp_interval",
								"Milliseconds between runs of oms.atp_flush() by the background worker.",
								"0 stops them; oms.atp_changes() still flushes before it reads.",
								&oms_atp_interval,
								5000, 0, 60000,
								PGC_SIGHUP, GUC_UNIT_MS,
								NULL, NULL, NULL);
		DefineCustomIntVariable("oms.report_compact_interval",
								"Milliseconds between runs of oms.report_compact() by the background worker.",
								"0 leaves compaction to calls of oms.report_compact(); the views stay exact either way.",
								&oms_report_compact_interval,
								1000, 0, 3600000,
								PGC_SIGHUP, GUC_UNIT_MS,
								NULL, NULL, NULL);
		DefineCustomStringVariable("oms.database",
								   "Database the oms background worker connects to.",
								   NULL,
								   &oms_database,
								   "postgres",
								   PGC_POSTMASTER, 0,
								   NULL, NULL, NULL);
		oms_register_worker();
	}

	MarkGUCPrefixReserved("oms");
	oms_cache_init();
	oms_atp_init();
	oms_citus_init();
}
