/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The oms background worker: when oms is in shared_preload_libraries it
 *	  works in database oms.database, once the extension is installed there:
 *	  every oms.atp_interval it flushes the available-to-promise feed
 *	  (oms.atp_flush()), every oms.publish_interval it wakes LISTENers of
 *	  committed events (oms.publish_events()), every
 *	  oms.allocate_backorders_interval it gives units that became free (a
 *	  cancel, a released hold) to backorders (oms.allocate_backorders()),
 *	  every oms.report_compact_interval it folds reporting deltas into their
 *	  rollups (oms.report_compact()), and every oms.expire_holds_interval it
 *	  expires holds and returns and trims the outbox (oms.expire_holds(),
 *	  oms.expire_returns(), oms.purge_outbox()).
 *	  Without it, schedule those functions with pg_cron; expired holds never
 *	  block a sale, consumers claim events from the outbox, receipts fill
 *	  backorders themselves, and oms.atp_changes() flushes before it reads,
 *	  either way.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "oms.h"

PGDLLEXPORT void oms_worker_main(Datum arg);

/* Settings of the worker (oms.c defines them). */
int			oms_expire_holds_interval = 60;
int			oms_publish_interval = 200;
int			oms_allocate_backorders_interval = 1000;
int			oms_atp_interval = 5000;
char	   *oms_database = NULL;

/*
 * Registers the worker; called from _PG_init while preloading.
 */
void
oms_register_worker(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 10;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "oms");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "oms_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "oms worker");
	snprintf(worker.bgw_type, BGW_MAXLEN, "oms worker");
	RegisterBackgroundWorker(&worker);
}

/* How long a fill of backorders waits for a stock row another transaction holds. */
#define OMS_FILL_LOCK_TIMEOUT "100ms"

/* The feed's flushes take up to this many SKUs each (oms.atp_flush's default). */
#define OMS_ATP_FLUSH_MAX 10000

/* At most this many flushes in a row, while a backlog lasts. */
#define OMS_ATP_FLUSH_ROUNDS 100

/*
 * Runs query, which returns one integer, in a transaction of its own if oms
 * is installed -- in a version that has function needs, unless it is NULL --
 * waiting for a lock no longer than lock_timeout unless it is NULL; returns
 * the integer, or 0.  An error (oms dropped meanwhile, say) is logged and the
 * worker carries on.
 */
static int64
run_query(const char *query, const char *lock_timeout, const char *needs)
{
	MemoryContext context = CurrentMemoryContext;
	volatile int64 result = 0;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		int			rc;

		if (lock_timeout)
			(void) set_config_option("lock_timeout", lock_timeout, PGC_SUSET, PGC_S_SESSION,
									 GUC_ACTION_LOCAL, true, 0, false);

		oms_spi_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, query);

		if (needs == NULL)
			rc = SPI_execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'oms'", true, 1);
		else
		{
			Oid			argtypes[1] = {TEXTOID};
			Datum		values[1] = {CStringGetTextDatum(needs)};

			rc = SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'oms'"
									   " AND pg_catalog.to_regprocedure($1) IS NOT NULL",
									   1, argtypes, values, NULL, true, 1);
		}
		oms_check_spi(rc, SPI_OK_SELECT, "looking for the oms extension");
		if (SPI_processed == 1)
		{
			bool		isnull;

			rc = SPI_execute(query, false, 1);
			oms_check_spi(rc, SPI_OK_SELECT, query);
			result = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		}

		oms_spi_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		EmitErrorReport();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(context);
		FlushErrorState();
		result = 0;
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
	return result;
}

/* Runs query as run_query() does, with the server's lock_timeout. */
static int64
run_once(const char *query)
{
	return run_query(query, NULL, NULL);
}

/*
 * Whether this node is a Citus worker (its pg_dist_local_group names a
 * group other than the coordinator's, 0): there the oms worker has nothing
 * to do, since every oms call goes through the coordinator (README,
 * "Scaling out with Citus").
 */
static bool
on_citus_worker(void)
{
	volatile bool worker = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (OidIsValid(get_relname_relid("pg_dist_local_group", PG_CATALOG_NAMESPACE)))
	{
		int			rc;

		oms_spi_connect();
		PushActiveSnapshot(GetTransactionSnapshot());
		rc = SPI_execute("SELECT groupid <> 0 FROM pg_catalog.pg_dist_local_group", true, 1);
		oms_check_spi(rc, SPI_OK_SELECT, "reading Citus's node group");
		if (SPI_processed == 1)
		{
			bool		isnull;

			worker = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		}
		oms_spi_finish();
		PopActiveSnapshot();
	}
	CommitTransactionCommand();
	return worker;
}

/*
 * Entry point of the worker.
 */
void
oms_worker_main(Datum arg)
{
	TimestampTz last_expiry = GetCurrentTimestamp();
	TimestampTz last_fill = last_expiry;
	TimestampTz last_flush = last_expiry;
	TimestampTz last_compact = last_expiry;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(oms_database, NULL, 0);

	for (;;)
	{
		long		expire_ms = oms_expire_holds_interval > 0 ? oms_expire_holds_interval * 1000L : 60000L;
		long		timeout = oms_publish_interval > 0 ? Min(oms_publish_interval, expire_ms) : expire_ms;

		if (oms_allocate_backorders_interval > 0)
			timeout = Min(timeout, oms_allocate_backorders_interval);
		if (oms_atp_interval > 0)
			timeout = Min(timeout, oms_atp_interval);
		if (oms_report_compact_interval > 0)
			timeout = Min(timeout, oms_report_compact_interval);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		if (on_citus_worker())
		{
			ereport(LOG,
					(errmsg("oms worker: this node is a Citus worker, where the oms worker has nothing to do; it stops"),
					 errhint("Preload oms on the Citus coordinator only.")));
			proc_exit(0);		/* exit status 0: not restarted */
		}
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		/* First the feed, so that its stock events are published at once. */
		if (oms_atp_interval > 0 &&
			TimestampDifferenceExceeds(last_flush, GetCurrentTimestamp(), oms_atp_interval))
		{
			last_flush = GetCurrentTimestamp();
			for (int i = 0; i < OMS_ATP_FLUSH_ROUNDS; i++)
				if (run_query("SELECT oms.atp_flush()::bigint", NULL, "oms.atp_flush(integer)") < OMS_ATP_FLUSH_MAX)
					break;
		}
		if (oms_publish_interval > 0)
			(void) run_once("SELECT oms.publish_events()::bigint");
		if (oms_allocate_backorders_interval > 0 &&
			TimestampDifferenceExceeds(last_fill, GetCurrentTimestamp(), oms_allocate_backorders_interval))
		{
			int64		filled;

			last_fill = GetCurrentTimestamp();
			/* A stock row held long only makes its SKU wait for the next round. */
			filled = run_query("SELECT oms.allocate_backorders()::bigint", OMS_FILL_LOCK_TIMEOUT, NULL);
			if (filled > 0)
				elog(DEBUG1, "oms: gave " INT64_FORMAT " units to backorders", filled);
		}
		if (oms_report_compact_interval > 0 &&
			TimestampDifferenceExceeds(last_compact, GetCurrentTimestamp(), oms_report_compact_interval))
		{
			last_compact = GetCurrentTimestamp();
			(void) run_query("SELECT oms.report_compact()", NULL, "oms.report_compact(integer)");
		}
		if (oms_expire_holds_interval > 0 &&
			TimestampDifferenceExceeds(last_expiry, GetCurrentTimestamp(), (int) expire_ms))
		{
			int64		expired = run_once("SELECT oms.expire_holds()::bigint");

			if (expired > 0)
				elog(LOG, "oms: expired " INT64_FORMAT " holds", expired);
			expired = run_query("SELECT oms.expire_returns()::bigint", NULL, "oms.expire_returns()");
			if (expired > 0)
				elog(LOG, "oms: expired " INT64_FORMAT " returns", expired);
			(void) run_once("SELECT oms.purge_outbox()");
			last_expiry = GetCurrentTimestamp();
		}
	}
}
