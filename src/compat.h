/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Differences between the PostgreSQL versions oms builds for (13 to 17),
 *	  kept in one place so that no other file needs an #if on the version.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OMS_COMPAT_H
#define OMS_COMPAT_H

#if PG_VERSION_NUM < 130000
#error "oms requires PostgreSQL 13 or later"
#endif

/* PostgreSQL 15 replaced EmitWarningsOnPlaceholders with MarkGUCPrefixReserved. */
#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

/* PostgreSQL 14 added HASH_STRINGS; before it, string keys were the default. */
#if PG_VERSION_NUM < 140000
#define HASH_STRINGS 0
#endif

/* PostgreSQL 14 added infinite numerics. */
#if PG_VERSION_NUM < 140000
#define numeric_is_inf(n) false
#endif

/* PostgreSQL 15 added InitMaterializedSRF; before it, this is what it does. */
#if PG_VERSION_NUM < 150000
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/tuplestore.h"

#define MAT_SRF_USE_EXPECTED_DESC	0x01
#define MAT_SRF_BLESS				0x02

static inline void
InitMaterializedSRF(FunctionCallInfo fcinfo, bits32 flags)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old_context;
	TupleDesc	tupdesc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	old_context = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tuplestore_begin_heap((rsinfo->allowedModes & SFRM_Materialize_Random) != 0,
											  false, work_mem);
	rsinfo->setDesc = tupdesc;
	MemoryContextSwitchTo(old_context);
}
#endif

#endif							/* OMS_COMPAT_H */
