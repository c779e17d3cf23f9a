/*-------------------------------------------------------------------------
 *
 * report.c
 *	  What keeps the reporting views (schema oms_report) exact without a
 *	  hot row: every transaction that changes an order notes the order in
 *	  the append-only oms.report_dirty, one row per order and transaction,
 *	  keyed by the order.  No counter is updated on the order path.
 *
 *	  oms.report_compact() (the background worker calls it every
 *	  oms.report_compact_interval) recomputes the figures of the noted
 *	  orders, adds the difference to the rollups and drops the notes of
 *	  transactions that can no longer be running; the views add the rollups
 *	  and, for the orders still noted, the difference between what the
 *	  tables say now and what the rollups hold (src/sql/75_reporting.sql).
 *
 *	  Orders are noted where their events are written (oms_write_events())
 *	  and, for changes that move no status (a part of a line cancelled, a
 *	  payment that leaves the payment status as it was), by the functions
 *	  that make them.  A database still on a release without reporting
 *	  (before ALTER EXTENSION oms UPDATE) has no oms.report_dirty: nothing is
 *	  noted there, and the update computes the rollups from every order.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "pgtime.h"
#include "utils/lsyscache.h"
#include "utils/xid8.h"

#include "oms.h"

/* Settings (oms.c defines them). */
bool		oms_report = true;
char	   *oms_report_timezone = NULL;
int			oms_report_compact_interval = 1000;

/*
 * Notes orders[0..n-1] as changed by this transaction; a repeated id (the
 * events of one order come together) is noted once.  Nothing is noted
 * while oms.report is off.
 */
void
oms_report_touch(const int64 *orders, int n)
{
	OmsInsert	ins;
	Datum		txid;

	if (!oms_report || n == 0)
		return;
	/* Before ALTER EXTENSION oms UPDATE an older oms has no reporting. */
	if (!OidIsValid(get_relname_relid("report_dirty", get_namespace_oid("oms", false))))
		return;
	txid = FullTransactionIdGetDatum(GetTopFullTransactionId());
	oms_insert_open(&ins, "report_dirty", true);
	for (int i = 0; i < n; i++)
	{
		if (i > 0 && orders[i] == orders[i - 1])
			continue;
		oms_insert_set(&ins, "order_id", Int64GetDatum(orders[i]));
		oms_insert_set(&ins, "txid", txid);
		(void) oms_insert_row_if_new(&ins);
	}
	oms_insert_close(&ins);
}

/* Notes one order as changed by this transaction. */
void
oms_report_touch_order(int64 order_id)
{
	oms_report_touch(&order_id, 1);
}

/*
 * Check hook of oms.report_timezone: a zone PostgreSQL knows.
 */
bool
oms_report_check_timezone(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || pg_tzset(*newval) == NULL)
	{
		GUC_check_errdetail("\"%s\" is not a time zone PostgreSQL knows.", *newval ? *newval : "");
		return false;
	}
	return true;
}
