/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Differences between the PostgreSQL versions oms builds for, kept in
 *	  one place so that no other file needs an #if on the version.
 *
 *	  The suite runs on 15, 17 and 18 (the majors Debian 12, 13 and testing
 *	  ship).  The branches for 13, 14 and 16 are kept but not tested.
 *
 *-------------------------------------------------------------------------
 */
#ifndef OMS_COMPAT_H
#define OMS_COMPAT_H

#if PG_VERSION_NUM < 130000
#error "oms requires PostgreSQL 13 or later"
#endif

/* PostgreSQL 17 replaced the global IsBackgroundWorker with AmBackgroundWorkerProcess(). */
#if PG_VERSION_NUM < 170000
#define AmBackgroundWorkerProcess() IsBackgroundWorker
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


/*
 * PostgreSQL 18 gave index_beginscan an IndexScanInstrumentation argument
 * (for EXPLAIN ANALYZE's index searches; NULL counts nothing, as most core
 * callers pass).  oms calls the five-argument form of 13 to 17; on 18 the
 * macro adds the NULL.  genam.h is included first so that its declaration
 * is not taken for a call of the macro.
 */
#include "access/genam.h"

#if PG_VERSION_NUM >= 180000
#define index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	(index_beginscan) ((heap), (index), (snapshot), NULL, (nkeys), (norderbys))
#endif


/*
 * The executor calls insert.c makes to write rows without a statement.
 * PostgreSQL 14 moved the result relation out of the EState's single slot
 * and gave ExecInsertIndexTuples and ExecCheckIndexConstraints the
 * ResultRelInfo; 16 added permission infos to the range table and told an
 * update whether only summarizing indexes need new entries; 18 added the
 * range table's unpruned relations (those the executor may open as scan
 * relations: ours, range table index 1, as logical replication's apply
 * worker and COPY FROM pass) and the TID of a row ExecCheckIndexConstraints
 * is to ignore as its own (an invalid TID before the row is inserted, as
 * INSERT ... ON CONFLICT passes).
 */
#include "executor/executor.h"
#include "nodes/bitmapset.h"
#include "parser/parse_relation.h"

#if PG_VERSION_NUM < 160000
typedef bool TU_UpdateIndexes;	/* true: every index */
#define TU_None false
#define oms_only_summarizing(update_indexes) false
#else
#define oms_only_summarizing(update_indexes) ((update_indexes) == TU_Summarizing)
#endif

static inline void
oms_init_result_relation(EState *estate, RangeTblEntry *rte, ResultRelInfo *rri, Relation rel)
{
#if PG_VERSION_NUM >= 180000
	List	   *perminfos = NIL;

	addRTEPermissionInfo(&perminfos, rte);
	ExecInitRangeTable(estate, list_make1(rte), perminfos, bms_make_singleton(1));
#elif PG_VERSION_NUM >= 160000
	List	   *perminfos = NIL;

	addRTEPermissionInfo(&perminfos, rte);
	ExecInitRangeTable(estate, list_make1(rte), perminfos);
#else
	ExecInitRangeTable(estate, list_make1(rte));
#endif
	InitResultRelInfo(rri, rel, 1, NULL, 0);
#if PG_VERSION_NUM >= 140000
	estate->es_opened_result_relations = list_make1(rri);
#else
	estate->es_result_relations = rri;
	estate->es_num_result_relations = 1;
	estate->es_result_relation_info = rri;
#endif
}

static inline List *
oms_insert_index_tuples(ResultRelInfo *rri, TupleTableSlot *slot, EState *estate, bool update,
						bool no_dup_err, bool *spec_conflict, bool only_summarizing)
{
#if PG_VERSION_NUM >= 160000
	return ExecInsertIndexTuples(rri, slot, estate, update, no_dup_err, spec_conflict, NIL,
								 only_summarizing);
#elif PG_VERSION_NUM >= 140000
	return ExecInsertIndexTuples(rri, slot, estate, update, no_dup_err, spec_conflict, NIL);
#else
	return ExecInsertIndexTuples(slot, estate, no_dup_err, spec_conflict, NIL);
#endif
}

static inline bool
oms_check_index_constraints(ResultRelInfo *rri, TupleTableSlot *slot, EState *estate,
							ItemPointer conflict)
{
#if PG_VERSION_NUM >= 180000
	ItemPointerData none;

	ItemPointerSetInvalid(&none);
	return ExecCheckIndexConstraints(rri, slot, estate, conflict, &none, NIL);
#elif PG_VERSION_NUM >= 140000
	return ExecCheckIndexConstraints(rri, slot, estate, conflict, NIL);
#else
	return ExecCheckIndexConstraints(slot, estate, conflict, NIL);
#endif
}

#endif							/* OMS_COMPAT_H */
