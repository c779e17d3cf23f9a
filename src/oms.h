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
#include "executor/spi.h"

#include "compat.h"

/*
 * SQLSTATEs of the errors a caller can cause, class OM.  README lists them;
 * a code, once released, never changes its meaning.
 */
#define ERRCODE_OMS_UNKNOWN_SKU				MAKE_SQLSTATE('O','M','0','0','1')
#define ERRCODE_OMS_UNKNOWN_LOCATION		MAKE_SQLSTATE('O','M','0','0','2')
#define ERRCODE_OMS_UNKNOWN_CHANNEL			MAKE_SQLSTATE('O','M','0','0','3')
#define ERRCODE_OMS_INVALID_QUANTITY		MAKE_SQLSTATE('O','M','0','1','0')
#define ERRCODE_OMS_STOCK_OVERFLOW			MAKE_SQLSTATE('O','M','0','1','1')
#define ERRCODE_OMS_NEGATIVE_STOCK			MAKE_SQLSTATE('O','M','0','1','2')
#define ERRCODE_OMS_BELOW_RESERVED			MAKE_SQLSTATE('O','M','0','1','3')
#define ERRCODE_OMS_REASON_REQUIRED			MAKE_SQLSTATE('O','M','0','1','4')
#define ERRCODE_OMS_LEDGER_APPEND_ONLY		MAKE_SQLSTATE('O','M','0','9','0')
#define ERRCODE_OMS_STOCK_WRITE_DENIED		MAKE_SQLSTATE('O','M','0','9','1')

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

/* catalog.c: SPI helpers. */
extern SPIPlanPtr oms_prepare(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes);
extern void oms_check_spi(int rc, int expected, const char *what);
extern text *oms_arg_text(FunctionCallInfo fcinfo, int argno, const char *argname);
extern int32 oms_arg_int32(FunctionCallInfo fcinfo, int argno, const char *argname);

/* guard.c: writes the guard triggers let through. */
extern int	oms_execute_trusted(SPIPlanPtr plan, Datum *values, const char *nulls, long tcount);

#endif							/* OMS_H */
