/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The oms background worker: when oms is in shared_preload_libraries it
 *	  runs oms.expire_holds() in database oms.database every
 *	  oms.expire_holds_interval seconds, once the extension is installed
 *	  there.  Without it, schedule oms.expire_holds() with pg_cron; expired
 *	  holds never block a sale either way.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

#include "oms.h"

PGDLLEXPORT void oms_worker_main(Datum arg);

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
	snprintf(worker.bgw_name, BGW_MAXLEN, "oms hold expiry");
	snprintf(worker.bgw_type, BGW_MAXLEN, "oms hold expiry");
	RegisterBackgroundWorker(&worker);
}

/*
 * Runs oms.expire_holds() once, if oms is installed; returns the holds expired.
 */
static int
expire_once(void)
{
	int			expired = 0;
	int			rc;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "SELECT oms.expire_holds()");

	rc = SPI_execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'oms'", true, 1);
	oms_check_spi(rc, SPI_OK_SELECT, "looking for the oms extension");
	if (SPI_processed == 1)
	{
		bool		isnull;

		rc = SPI_execute("SELECT oms.expire_holds()", false, 1);
		oms_check_spi(rc, SPI_OK_SELECT, "expiring holds");
		expired = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	return expired;
}

/*
 * Entry point of the worker.
 */
void
oms_worker_main(Datum arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(oms_database, NULL, 0);

	for (;;)
	{
		long		timeout = oms_expire_holds_interval > 0 ? oms_expire_holds_interval * 1000L : 60000L;

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (oms_expire_holds_interval > 0)
		{
			int			expired = expire_once();

			if (expired > 0)
				elog(LOG, "oms: expired %d holds", expired);
		}
	}
}
