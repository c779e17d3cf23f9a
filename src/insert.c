/*-------------------------------------------------------------------------
 *
 * insert.c
 *	  Writing rows straight into a table and its indexes, without a
 *	  statement: place_order writes every order this way, and takes stock
 *	  through it.
 *
 *	  Starting and ending a statement's executor (a node, a projection and a
 *	  domain check per column, each index opened and closed) cost more than
 *	  the rows an order writes.  This sets up what logical replication's
 *	  apply worker does, one executor state per table, and per row inserts
 *	  the heap tuple and its index entries (unique ones checked) and fires
 *	  row triggers.  Column defaults, domain and CHECK constraints are the
 *	  caller's: it gives every column a valid value by name, and a column it
 *	  leaves out is NULL.
 *
 *	  A table Citus holds (src/citus.c) is never written this way: its local
 *	  heap on the coordinator is an empty shell no query reads.  The same
 *	  calls then build the row alike and write it with an INSERT through
 *	  SPI, which Citus routes to the shard, with the columns' domain and
 *	  CHECK constraints checked there; replacing a row by its tid is refused.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "oms.h"

/*
 * Opens oms.<table> for writing rows, with oms_insert_row_if_new() when
 * if_new; the lock lasts until the transaction ends.
 */
void
oms_insert_open(OmsInsert *ins, const char *table, bool if_new)
{
	MemoryContext oldcontext;
	RangeTblEntry *rte;
	Oid			relid = oms_relid(table);

	ins->sql = oms_citus_table(relid);
	ins->rel = table_open(relid, RowExclusiveLock);
	ins->estate = CreateExecutorState();
	oldcontext = MemoryContextSwitchTo(ins->estate->es_query_cxt);
	if (ins->sql)
	{
		/* Only the row being built; the statement does the rest. */
		ins->rri = NULL;
		ins->slot = ExecInitExtraTupleSlot(ins->estate, RelationGetDescr(ins->rel), &TTSOpsVirtual);
		ExecClearTuple(ins->slot);
		memset(ins->slot->tts_isnull, true, sizeof(bool) * ins->slot->tts_tupleDescriptor->natts);
		MemoryContextSwitchTo(oldcontext);
		return;
	}

	/* As the apply worker does, so that triggers find the relation. */
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(ins->rel);
	rte->relkind = ins->rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	ins->rri = makeNode(ResultRelInfo);
	oms_init_result_relation(ins->estate, rte, ins->rri, ins->rel);
	ins->estate->es_output_cid = GetCurrentCommandId(true);
	ExecOpenIndices(ins->rri, if_new);
	ins->slot = ExecInitExtraTupleSlot(ins->estate, RelationGetDescr(ins->rel), &TTSOpsVirtual);
	ExecClearTuple(ins->slot);
	memset(ins->slot->tts_isnull, true, sizeof(bool) * ins->slot->tts_tupleDescriptor->natts);

	MemoryContextSwitchTo(oldcontext);
	AfterTriggerBeginQuery();
}

/*
 * The number of column of the table, which must exist.
 */
int
oms_insert_column(OmsInsert *ins, const char *column)
{
	TupleDesc	desc = ins->slot->tts_tupleDescriptor;

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), column) == 0)
			return i + 1;
	}
	elog(ERROR, "oms: oms.%s has no column \"%s\"", RelationGetRelationName(ins->rel), column);
	pg_unreachable();
}

/*
 * Sets column of the row being built.
 */
void
oms_insert_set(OmsInsert *ins, const char *column, Datum value)
{
	int			attnum = oms_insert_column(ins, column);

	ins->slot->tts_values[attnum - 1] = value;
	ins->slot->tts_isnull[attnum - 1] = false;
}

/*
 * Starts the row being built as a copy of the row in from, a row of the same
 * table; a dropped column is NULL.
 */
void
oms_insert_copy(OmsInsert *ins, TupleTableSlot *from)
{
	TupleDesc	desc = ins->slot->tts_tupleDescriptor;

	slot_getallattrs(from);
	for (int i = 0; i < desc->natts; i++)
	{
		ins->slot->tts_values[i] = from->tts_values[i];
		ins->slot->tts_isnull[i] = from->tts_isnull[i] || TupleDescAttr(desc, i)->attisdropped;
	}
}

/*
 * Runs the BEFORE row triggers of the row built in ins->slot and checks its
 * NOT NULL columns; false if a trigger skipped the row.
 */
static bool
before_row(OmsInsert *ins)
{
	TriggerDesc *triggers = ins->rri->ri_TrigDesc;
	TupleDesc	desc = ins->slot->tts_tupleDescriptor;

	ExecStoreVirtualTuple(ins->slot);
	if (triggers && triggers->trig_insert_before_row &&
		!ExecBRInsertTriggers(ins->estate, ins->rri, ins->slot))
		return false;
	for (int i = 0; i < desc->natts; i++)
		if (TupleDescAttr(desc, i)->attnotnull && slot_attisnull(ins->slot, i + 1))
			elog(ERROR, "oms: no value for column \"%s\" of oms.%s",
				 NameStr(TupleDescAttr(desc, i)->attname), RelationGetRelationName(ins->rel));
	return true;
}

/* Queues the AFTER row triggers of the row just inserted. */
static void
after_row(OmsInsert *ins, List *recheck)
{
	ExecARInsertTriggers(ins->estate, ins->rri, ins->slot, recheck, NULL);
	list_free(recheck);
}

/* Starts the next row with every column NULL. */
static void
next_row(OmsInsert *ins)
{
	ResetPerTupleExprContext(ins->estate);
	ExecClearTuple(ins->slot);
	memset(ins->slot->tts_isnull, true, sizeof(bool) * ins->slot->tts_tupleDescriptor->natts);
}

/*
 * Under a transaction snapshot, the row found at tid must be visible to it
 * or be our own, as ExecCheckTupleVisible() requires of ON CONFLICT DO
 * NOTHING.
 */
static void
check_visible(OmsInsert *ins, ItemPointer tid)
{
	TupleTableSlot *found;
	bool		isnull;

	if (!IsolationUsesXactSnapshot())
		return;
	found = table_slot_create(ins->rel, NULL);
	if (!table_tuple_fetch_row_version(ins->rel, tid, SnapshotAny, found))
		elog(ERROR, "oms: failed to fetch a conflicting row of oms.%s", RelationGetRelationName(ins->rel));
	if (!table_tuple_satisfies_snapshot(ins->rel, found, GetTransactionSnapshot()) &&
		!TransactionIdIsCurrentTransactionId(DatumGetTransactionId(
				slot_getsysattr(found, MinTransactionIdAttributeNumber, &isnull))))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to concurrent update")));
	ExecDropSingleTupleTableSlot(found);
}

/*
 * Writes the row built so far into a table Citus holds with an INSERT of
 * its non-NULL columns (ON CONFLICT DO NOTHING when if_new), through SPI,
 * which must be connected; returns the rows inserted, 0 or 1.  The next row
 * starts with every column NULL.
 */
static uint64
sql_insert(OmsInsert *ins, bool if_new)
{
	TupleDesc	desc = ins->slot->tts_tupleDescriptor;
	StringInfoData sql;
	StringInfoData params;
	Oid		   *types = palloc(sizeof(Oid) * desc->natts);
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	int			n = 0;
	int			rc;
	uint64		inserted;

	initStringInfo(&sql);
	initStringInfo(&params);
	appendStringInfo(&sql, "INSERT INTO oms.%s (", quote_identifier(RelationGetRelationName(ins->rel)));
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || ins->slot->tts_isnull[i])
			continue;
		appendStringInfo(&sql, "%s%s", n > 0 ? ", " : "", quote_identifier(NameStr(att->attname)));
		appendStringInfo(&params, "%s$%d", n > 0 ? ", " : "", n + 1);
		types[n] = att->atttypid;
		values[n] = ins->slot->tts_values[i];
		n++;
	}
	appendStringInfo(&sql, ") VALUES (%s)%s", params.data, if_new ? " ON CONFLICT DO NOTHING" : "");
	rc = SPI_execute_with_args(sql.data, n, types, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_INSERT, "writing a row of a distributed table");
	inserted = SPI_processed;
	pfree(sql.data);
	pfree(params.data);
	pfree(types);
	pfree(values);
	next_row(ins);
	return inserted;
}

/*
 * Inserts the row built so far, then starts the next one with every column
 * NULL.  Row triggers fire and unique indexes are checked; of the table's
 * constraints only NOT NULL is checked here.  PostgreSQL parses a table's
 * CHECK constraints anew for every executor state that checks them (50 of
 * the 350 microseconds of CPU a flash-sale order took), and the rows oms writes
 * this way satisfy them by construction (new lines and reservations count
 * every unit once).  UPDATEs, which move the counts, are checked as usual.
 */
void
oms_insert_row(OmsInsert *ins)
{
	if (ins->sql)
	{
		(void) sql_insert(ins, false);
		return;
	}
	if (before_row(ins))
	{
		List	   *recheck = NIL;

		simple_table_tuple_insert(ins->rel, ins->slot);
		if (ins->rri->ri_NumIndices > 0)
			recheck = oms_insert_index_tuples(ins->rri, ins->slot, ins->estate, false, false, NULL, false);
		after_row(ins, recheck);
	}
	next_row(ins);
}

/*
 * Inserts the row built so far as oms_insert_row() does, but queues none of
 * its AFTER row triggers: for a caller that has made sure those only check
 * what it guarantees itself (sync.c, the ledger's foreign key to stock rows
 * it holds locked).
 */
void
oms_insert_row_unqueued(OmsInsert *ins)
{
	if (ins->sql)
	{
		(void) sql_insert(ins, false);
		return;
	}
	if (before_row(ins))
	{
		simple_table_tuple_insert(ins->rel, ins->slot);
		if (ins->rri->ri_NumIndices > 0)
			list_free(oms_insert_index_tuples(ins->rri, ins->slot, ins->estate, false, false, NULL, false));
	}
	next_row(ins);
}

/*
 * Inserts the row built so far unless a unique index holds its key already,
 * as INSERT ... ON CONFLICT DO NOTHING does (nodeModifyTable.c, ExecInsert):
 * a row another transaction is inserting with the same key is waited for,
 * and counts if that transaction commits.  Returns whether it inserted.
 * Under REPEATABLE READ or SERIALIZABLE, a row the snapshot cannot see is a
 * serialization failure.  The next row starts with every column NULL.
 */
bool
oms_insert_row_if_new(OmsInsert *ins)
{
	TupleTableSlot *slot = ins->slot;
	bool		inserted = false;
	bool		lost_race = true;

	if (ins->sql)
		return sql_insert(ins, true) > 0;
	if (!before_row(ins))
		lost_race = false;		/* a trigger skipped the row */
	while (lost_race)
	{
		ItemPointerData conflict;
		uint32		token;
		List	   *recheck;

		CHECK_FOR_INTERRUPTS();
		if (!oms_check_index_constraints(ins->rri, slot, ins->estate, &conflict))
		{
			check_visible(ins, &conflict);
			break;
		}

		/* Others wait on the token, not on our transaction, to see us decide. */
		token = SpeculativeInsertionLockAcquire(GetCurrentTransactionId());
		table_tuple_insert_speculative(ins->rel, slot, ins->estate->es_output_cid, 0, NULL, token);
		lost_race = false;
		recheck = oms_insert_index_tuples(ins->rri, slot, ins->estate, false, true, &lost_race, false);
		table_tuple_complete_speculative(ins->rel, slot, token, !lost_race);
		SpeculativeInsertionLockRelease(GetCurrentTransactionId());
		if (lost_race)
			list_free(recheck);	/* someone inserted the key meanwhile: look again */
		else
		{
			after_row(ins, recheck);
			inserted = true;
		}
	}
	next_row(ins);
	return inserted;
}

/*
 * Replaces the row version at tid by the row built so far and returns
 * TM_Ok, or returns why not: another transaction updated or deleted that
 * version (TM_Updated, TM_Deleted).  A transaction that holds the row is
 * waited for, as an UPDATE waits; the caller that must not wait locks the
 * version first, without waiting.  Index entries are added unless the
 * update is HOT.  No trigger fires and no constraint is checked: the caller
 * writes a valid row (of oms.stock or oms.stock_slot, whose one trigger
 * guards against writes from outside oms).  The next row starts with every
 * column NULL.
 */
TM_Result
oms_insert_replace(OmsInsert *ins, ItemPointer tid)
{
	TM_FailureData tmfd;
	LockTupleMode lockmode;
	TU_UpdateIndexes update_indexes;
	TM_Result	result;

	if (ins->sql)
		oms_citus_refuse(RelationGetRelationName(ins->rel), "replacing a row in place");
	ExecStoreVirtualTuple(ins->slot);
	result = table_tuple_update(ins->rel, tid, ins->slot, ins->estate->es_output_cid,
								GetActiveSnapshot(), InvalidSnapshot, true,
								&tmfd, &lockmode, &update_indexes);
	if (result == TM_Ok && update_indexes != TU_None && ins->rri->ri_NumIndices > 0)
		list_free(oms_insert_index_tuples(ins->rri, ins->slot, ins->estate, true, false, NULL,
										  oms_only_summarizing(update_indexes)));
	next_row(ins);
	return result;
}

/*
 * Fires the AFTER row triggers of the rows inserted and closes the table.
 */
void
oms_insert_close(OmsInsert *ins)
{
	if (!ins->sql)
	{
		AfterTriggerEndQuery(ins->estate);
		ExecCloseIndices(ins->rri);
	}
	ExecResetTupleTable(ins->estate->es_tupleTable, false);
	FreeExecutorState(ins->estate);
	table_close(ins->rel, NoLock);
}
