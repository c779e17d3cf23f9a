/*-------------------------------------------------------------------------
 *
 * oms.c
 *	  Module entry point of oms, an order management system inside PostgreSQL.
 *
 *	  The work is split by concern: catalog.c looks up master data, ledger.c
 *	  changes stock through the ledger, guard.c keeps stock and ledger tables
 *	  from being written any other way.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/guc.h"

#include "oms.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Sets oms up when the library is loaded.
 */
void
_PG_init(void)
{
	MarkGUCPrefixReserved("oms");
}
