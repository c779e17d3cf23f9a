/*-------------------------------------------------------------------------
 *
 * sync.c
 *	  Bulk stock sync from an ERP or WMS: oms.sync_stock and
 *	  oms.sync_stock_from set on_hand of many SKUs at one location to counted
 *	  figures in one call.  The result is that of oms.count_stock called once
 *	  per SKU -- the same stock rows, ledger rows, and refusals -- but the work
 *	  is done by a few statements for the whole batch:
 *
 *	  1. read the counts, and set apart those that cannot apply: a SKU given
 *	     twice, an on_hand that is not a whole number from 0 up, no SKU;
 *	  2. look the SKUs up and lock their stock rows in sku_id order, the
 *	     global lock order, reading them, through the indexes directly.  A
 *	     hot row that the count takes below its committed units has its
 *	     slots locked right after the row, before any row of a higher SKU,
 *	     because giving way takes their quotas back.  The few counts left
 *	     have an unknown SKU or no stock row yet: those rows are created
 *	     (one INSERT);
 *	  3. a count that leaves room for the row's reserved, held and escrow
 *	     units applies as it is.  A count below them goes the way of
 *	     count_stock for that row alone, in a subtransaction: idle units give
 *	     way (expired holds, unused slot quotas); if the count still goes
 *	     below, the subtransaction rolls back and the count is reported, not
 *	     applied;
 *	  4. a ledger row for every applied count (one of no difference
 *	     included), written without a statement a thousand at a time, and
 *	     on_hand written directly into the rows whose on_hand changes;
 *	  5. the units counts added go to backorders waiting for them there, in
 *	     one pass (backorder.c).
 *
 *	  test/bench/README.md ("Bulk stock sync") has the figures and where the
 *	  time goes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/stratnum.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "oms.h"

/*
 * Built with -DOMS_SYNC_BENCH, each step of a sync logs how long it took
 * (the figures behind test/bench/README.md, "Bulk stock sync").
 */
#ifdef OMS_SYNC_BENCH
#include <sys/resource.h>

#include "portability/instr_time.h"

static instr_time sync_clock;
static double sync_cpu;

/* CPU time of this backend so far, in ms. */
static double
sync_cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
		(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

#define SYNC_STEP_BEGIN() (INSTR_TIME_SET_CURRENT(sync_clock), sync_cpu = sync_cpu_ms())
#define SYNC_STEP_END(step) \
	do { \
		instr_time	now_; \
		double		cpu_ = sync_cpu_ms(); \
		INSTR_TIME_SET_CURRENT(now_); \
		INSTR_TIME_SUBTRACT(now_, sync_clock); \
		elog(LOG, "oms sync: %s took %.1f ms, %.1f ms of CPU", (step), \
			 INSTR_TIME_GET_MILLISEC(now_), cpu_ - sync_cpu); \
		SYNC_STEP_BEGIN(); \
	} while (0)
#else
#define SYNC_STEP_BEGIN() ((void) 0)
#define SYNC_STEP_END(step) ((void) 0)
#endif

PG_FUNCTION_INFO_V1(oms_sync_stock);
PG_FUNCTION_INFO_V1(oms_sync_stock_from);

/* What became of one count; README, "Bulk stock sync", lists them. */
typedef enum SyncOutcome
{
	SYNC_PENDING,				/* not decided yet */
	SYNC_UNCHANGED,
	SYNC_CREATED,
	SYNC_INCREASED,
	SYNC_DECREASED,
	SYNC_BELOW_RESERVED,
	SYNC_UNKNOWN_SKU,
	SYNC_DUPLICATE_SKU,
	SYNC_INVALID_ON_HAND
} SyncOutcome;

static const char *const outcome_names[] = {
	[SYNC_PENDING] = "pending",
	[SYNC_UNCHANGED] = "unchanged",
	[SYNC_CREATED] = "created",
	[SYNC_INCREASED] = "increased",
	[SYNC_DECREASED] = "decreased",
	[SYNC_BELOW_RESERVED] = "below_reserved",
	[SYNC_UNKNOWN_SKU] = "unknown_sku",
	[SYNC_DUPLICATE_SKU] = "duplicate_sku",
	[SYNC_INVALID_ON_HAND] = "invalid_on_hand",
};

/* One count of the batch, as given and as applied. */
typedef struct SyncCount
{
	int64		sku_id;			/* first: sorted by it; 0 until resolved */
	int32		position;		/* 1-based, in the input */
	char	   *code;			/* NULL: none given */
	bool		valid;			/* counted is a whole number from 0 up */
	int32		counted;
	char	   *given;			/* on_hand as given, when not valid */
	bool		created;		/* the sync created the stock row */
	bool		locked;			/* the stock row is locked and read */
	bool		moved;			/* giving way wrote a new version of it */
	ItemPointerData tid;		/* the version locked */
	int32		before;			/* on_hand before */
	int32		after;			/* on_hand after */
	int64		committed;		/* reserved + held + escrow of the row */
	int32		escrow;			/* escrow of the row */
	int32		copies;			/* counts of this SKU in the batch */
	SyncOutcome outcome;
} SyncCount;

/* A batch of counts for one location. */
typedef struct SyncBatch
{
	int64		location_id;
	int			n;
	SyncCount  *rows;			/* in input order */
	int			nknown;
	SyncCount **known;			/* those with a code to look up */
	int			nlocked;
	SyncCount **locked;			/* those to apply, by sku_id */
} SyncBatch;

/* Statements, prepared once per backend. */
static SPIPlanPtr create_plan = NULL;
static SPIPlanPtr ledger_plan = NULL;

/*
 * Returns the kept plan in *cache, preparing it on first use.  Unlike
 * oms_prepare(), it plans every execution for its parameters: a batch may be
 * ten counts or a hundred thousand, and the planner sizes unnest() from the
 * array it is given (a hash join for many, index probes for few).
 */
static SPIPlanPtr
prepare_batch(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes)
{
	return oms_prepare_planned(cache, sql, nargs, argtypes, CURSOR_OPT_CUSTOM_PLAN);
}

/* Raises the error for counts that are not what sync_stock reads. */
static void
invalid_counts(const char *message, int element)
{
	ereport(ERROR,
			(errcode(ERRCODE_OMS_INVALID_COUNTS),
			 element > 0 ? errmsg("element %d of counts %s", element, message) : errmsg("counts %s", message),
			 errdetail("counts is a JSON array of objects with exactly the fields sku and on_hand."),
			 errhint("For example [{\"sku\": \"SKU-1\", \"on_hand\": 12}, {\"sku\": \"SKU-2\", \"on_hand\": 0}].")));
}

/* Returns any JSON value as JSON text, for messages. */
static char *
json_text(JsonbValue *v)
{
	Jsonb	   *jb = JsonbValueToJsonb(v);

	return JsonbToCString(NULL, &jb->root, VARSIZE(jb));
}

/*
 * Reads element n (1-based) of the counts array into row.  Its shape must
 * be right (an object with exactly a string sku and an on_hand); its
 * on_hand, a value, may be wrong and is reported.
 */
static void
read_json_count(JsonbValue *elem, int n, SyncCount *row)
{
	JsonbContainer *obj;
	JsonbValue	key;
	JsonbValue *sku;
	JsonbValue *on_hand;

	if (elem->type != jbvBinary || !JsonContainerIsObject(elem->val.binary.data))
		invalid_counts("is not an object", n);
	obj = elem->val.binary.data;

	key.type = jbvString;
	key.val.string.val = "sku";
	key.val.string.len = 3;
	sku = findJsonbValueFromContainer(obj, JB_FOBJECT, &key);
	key.val.string.val = "on_hand";
	key.val.string.len = 7;
	on_hand = findJsonbValueFromContainer(obj, JB_FOBJECT, &key);

	if (JsonContainerSize(obj) != (sku != NULL) + (on_hand != NULL))
	{
		JsonbIterator *it = JsonbIteratorInit(obj);
		JsonbValue	k;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			char	   *name;

			if (tok != WJB_KEY)
				continue;
			name = pnstrdup(k.val.string.val, k.val.string.len);
			if (strcmp(name, "sku") != 0 && strcmp(name, "on_hand") != 0)
				invalid_counts(psprintf("has an unknown field \"%s\"", name), n);
		}
	}
	if (sku == NULL)
		invalid_counts("lacks sku", n);
	if (on_hand == NULL)
		invalid_counts("lacks on_hand", n);
	if (sku->type != jbvString || sku->val.string.len == 0)
		invalid_counts(psprintf("has sku %s, not a non-empty string", json_text(sku)), n);

	row->position = n;
	row->code = pnstrdup(sku->val.string.val, sku->val.string.len);
	row->valid = oms_json_int32(on_hand, &row->counted) && row->counted >= 0;
	if (!row->valid)
		row->given = json_text(on_hand);
}

/*
 * Reads a JSON array of {"sku", "on_hand"} objects into batch.
 */
static void
read_json_counts(Jsonb *counts, SyncBatch *batch)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			n = 0;

	if (!JB_ROOT_IS_ARRAY(counts) || JB_ROOT_IS_SCALAR(counts))
		invalid_counts("is not a JSON array", 0);
	batch->n = JB_ROOT_COUNT(counts);
	batch->rows = palloc0(sizeof(SyncCount) * Max(batch->n, 1));

	it = JsonbIteratorInit(&counts->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		read_json_count(&v, n + 1, &batch->rows[n]);
		n++;
	}
}

/*
 * Reads the counts of a table (or view) with columns sku and on_hand, an
 * integer, into batch.  The rows are read with the privileges of the
 * calling role, not those of the function's owner.
 */
static void
read_table_counts(Oid relid, SyncBatch *batch)
{
	char	   *relname = get_rel_name(relid);
	char	   *name;
	AttrNumber	sku_att = get_attnum(relid, "sku");
	AttrNumber	on_hand_att = get_attnum(relid, "on_hand");
	Oid			on_hand_type;
	Oid			save_userid;
	int			save_sec_context;
	volatile int rc = 0;

	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), relname);

	if (sku_att == InvalidAttrNumber || on_hand_att == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_SOURCE),
				 errmsg("%s has no column %s", name, sku_att == InvalidAttrNumber ? "sku" : "on_hand"),
				 errhint("Load the counts into a table with the columns sku text and on_hand integer, e.g. with COPY.")));
	on_hand_type = getBaseType(get_atttype(relid, on_hand_att));
	if (on_hand_type != INT2OID && on_hand_type != INT4OID && on_hand_type != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_OMS_INVALID_SOURCE),
				 errmsg("column on_hand of %s is %s, not an integer", name, format_type_be(on_hand_type)),
				 errhint("Load the counts into a table with the columns sku text and on_hand integer, e.g. with COPY.")));

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(GetOuterUserId(), save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		rc = SPI_execute(psprintf("SELECT sku::pg_catalog.text, on_hand::pg_catalog.int8 FROM %s", name),
						 false, 0);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
	oms_check_spi(rc, SPI_OK_SELECT, "reading the counts");

	batch->n = (int) SPI_processed;
	if ((uint64) batch->n != SPI_processed)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s has too many rows to sync at once", name)));
	batch->rows = palloc0(sizeof(SyncCount) * Max(batch->n, 1));
	for (int i = 0; i < batch->n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		SyncCount  *row = &batch->rows[i];
		bool		isnull;
		Datum		d;

		row->position = i + 1;
		d = SPI_getbinval(tup, desc, 1, &isnull);
		row->code = isnull ? NULL : TextDatumGetCString(d);
		d = SPI_getbinval(tup, desc, 2, &isnull);
		row->valid = !isnull && DatumGetInt64(d) >= 0 && DatumGetInt64(d) <= PG_INT32_MAX;
		if (row->valid)
			row->counted = (int32) DatumGetInt64(d);
		else
			row->given = isnull ? "null" : psprintf(INT64_FORMAT, DatumGetInt64(d));
	}
	SPI_freetuptable(SPI_tuptable);
}

/* Orders counts by SKU code, then position; no code last. */
static int
compare_codes(const void *a, const void *b)
{
	const SyncCount *x = *(SyncCount *const *) a;
	const SyncCount *y = *(SyncCount *const *) b;
	int			c;

	if (x->code == NULL || y->code == NULL)
		c = (x->code == NULL) - (y->code == NULL);
	else
		c = strcmp(x->code, y->code);
	return c != 0 ? c : x->position - y->position;
}

/* Orders counts by sku_id. */
static int
compare_sku_ids(const void *a, const void *b)
{
	const SyncCount *x = *(SyncCount *const *) a;
	const SyncCount *y = *(SyncCount *const *) b;

	return x->sku_id < y->sku_id ? -1 : x->sku_id > y->sku_id;
}

/*
 * Sets apart the counts that cannot apply before any lookup, each for the
 * first reason that holds: a SKU given more than once (none of its counts
 * applies), an invalid on_hand, no SKU.  The others go to batch->known.
 */
static void
screen_counts(SyncBatch *batch)
{
	SyncCount **byname = palloc(sizeof(SyncCount *) * Max(batch->n, 1));

	for (int i = 0; i < batch->n; i++)
		byname[i] = &batch->rows[i];
	qsort(byname, batch->n, sizeof(SyncCount *), compare_codes);

	batch->known = palloc(sizeof(SyncCount *) * Max(batch->n, 1));
	batch->nknown = 0;
	for (int i = 0, j; i < batch->n; i = j)
	{
		for (j = i + 1; j < batch->n && byname[i]->code && byname[j]->code &&
			 strcmp(byname[i]->code, byname[j]->code) == 0; j++)
			;
		for (int k = i; k < j; k++)
		{
			byname[k]->copies = j - i;
			if (j - i > 1)
				byname[k]->outcome = SYNC_DUPLICATE_SKU;
			else if (!byname[k]->valid)
				byname[k]->outcome = SYNC_INVALID_ON_HAND;
			else if (byname[k]->code == NULL)
				byname[k]->outcome = SYNC_UNKNOWN_SKU;
			else
				batch->known[batch->nknown++] = byname[k];
		}
	}
	pfree(byname);
}

/*
 * Returns an array of one field of rows[]: 'i' sku_id (int8[]), 's' the SKU
 * code (text[]), 'c' counted, 'b' on_hand before, 'a' on_hand after (int4[]).
 */
static Datum
field_array(SyncCount **rows, int n, char field)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	ArrayType  *array;

	for (int i = 0; i < n; i++)
		switch (field)
		{
			case 'i':
				elems[i] = Int64GetDatum(rows[i]->sku_id);
				break;
			case 's':
				elems[i] = CStringGetTextDatum(rows[i]->code);
				break;
			case 'c':
				elems[i] = Int32GetDatum(rows[i]->counted);
				break;
			case 'b':
				elems[i] = Int32GetDatum(rows[i]->before);
				break;
			default:
				elems[i] = Int32GetDatum(rows[i]->after);
				break;
		}
	if (field == 'i')
		array = construct_array(elems, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
	else if (field == 's')
		array = construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT);
	else
		array = construct_array(elems, n, INT4OID, sizeof(int32), true, TYPALIGN_INT);
	return PointerGetDatum(array);
}

/* Returns int8 or int4 column col of row r of the last SPI result. */
static inline int64
result_int(uint64 r, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, col, &isnull);

	return SPI_gettypeid(SPI_tuptable->tupdesc, col) == INT8OID ? DatumGetInt64(d) : DatumGetInt32(d);
}

/*
 * Takes a locked stock row from row r of the last SPI result: sku_id,
 * on_hand, committed in columns col, col + 1, col + 2.
 */
static void
take_locked(SyncCount *row, uint64 r, int col)
{
	row->sku_id = result_int(r, col);
	row->before = row->created ? 0 : (int32) result_int(r, col + 1);
	row->committed = result_int(r, col + 2);
	row->locked = true;
}

/* A row changed or deleted since the transaction's snapshot: 40001. */
static void
serialization_failure(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("could not serialize access due to concurrent update")));
}

/*
 * The rows a table holds, as the planner estimates them (from its size when
 * it was never analyzed).
 */
static double
relation_rows(Relation rel)
{
	if (rel->rd_rel->reltuples >= 0)
		return rel->rd_rel->reltuples;
	return (double) RelationGetNumberOfBlocks(rel) * (BLCKSZ / 64);
}

/*
 * oms.stock opened for locking and writing rows directly, with a scan of its
 * primary key.
 */
typedef struct StockAccess
{
	OmsInsert	w;
	IndexScanDesc scan;
	TupleTableSlot *seen;		/* the version the scan found */
	TupleTableSlot *locked;		/* the version locked */
	int			on_hand_att;
	int			reserved_att;
	int			held_att;
	int			escrow_att;
	int			updated_at_att;
} StockAccess;

/*
 * Opens oms.stock and its primary key for stock_lock() and stock_set().
 * First it makes the writes of this transaction so far visible, as SPI does
 * before each statement.  The scan reads with the latest snapshot under READ
 * COMMITTED, as SELECT ... FOR NO KEY UPDATE follows a row to its newest
 * version, and with the transaction's under REPEATABLE READ and
 * SERIALIZABLE, where a row changed since is a serialization failure.  That
 * snapshot stays active until stock_close().
 */
static void
stock_open(StockAccess *a)
{
	CommandCounterIncrement();
	PushCopiedSnapshot(IsolationUsesXactSnapshot() ? GetTransactionSnapshot() : GetLatestSnapshot());
	UpdateActiveSnapshotCommandId();

	oms_insert_open(&a->w, "stock", false);
	a->scan = index_beginscan(a->w.rel, index_open(oms_relid("stock_pkey"), RowExclusiveLock),
							  GetActiveSnapshot(), 2, 0);
	a->seen = table_slot_create(a->w.rel, NULL);
	a->locked = table_slot_create(a->w.rel, NULL);
	a->on_hand_att = oms_insert_column(&a->w, "on_hand");
	a->reserved_att = oms_insert_column(&a->w, "reserved");
	a->held_att = oms_insert_column(&a->w, "held");
	a->escrow_att = oms_insert_column(&a->w, "escrow");
	a->updated_at_att = oms_insert_column(&a->w, "updated_at");
}

/* Closes what stock_open() opened and pops its snapshot. */
static void
stock_close(StockAccess *a)
{
	Relation	index = a->scan->indexRelation;

	ExecDropSingleTupleTableSlot(a->seen);
	ExecDropSingleTupleTableSlot(a->locked);
	index_endscan(a->scan);
	index_close(index, NoLock);
	oms_insert_close(&a->w);
	PopActiveSnapshot();
}

/* Returns int4 column att of the row version in slot. */
static inline int32
slot_int32(TupleTableSlot *slot, int att)
{
	bool		isnull;

	return DatumGetInt32(slot_getattr(slot, att, &isnull));
}

/*
 * Locks the slots of a hot row, in slot order, when the count goes below
 * the row's committed units: giving way will take back their quotas
 * (oms_uncommit_stock).  It runs right after the row is locked, before any
 * row of a higher SKU: a row and then its slots, as every session locks
 * them.  Locking them only later, with rows of higher SKUs held, would
 * deadlock with a buyer that holds one of the slots and waits for such a row
 * (sync_stock_race.spec).
 */
static void
lock_slots(SyncCount *row, int64 location_id)
{
	static SPIPlanPtr slot_lock_plan = NULL;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		values[2] = {Int64GetDatum(row->sku_id), Int64GetDatum(location_id)};
	int			rc;

	oms_prepare(&slot_lock_plan,
				"SELECT FROM oms.stock_slot WHERE sku_id = $1 AND location_id = $2"
				" ORDER BY slot FOR NO KEY UPDATE",
				2, argtypes);
	rc = SPI_execute_plan(slot_lock_plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "locking the slots of a stock row");
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Locks the version at tid of row's stock row FOR NO KEY UPDATE, as a
 * SELECT ... FOR NO KEY UPDATE would: waiting for a session that holds it,
 * then locking its newest version (or, under a transaction snapshot, failing
 * when it changed).  Reads its on_hand and committed units and keeps its
 * tid.  Returns false when the row was deleted meanwhile.
 */
static bool
lock_version(StockAccess *a, ItemPointer version, SyncCount *row)
{
	ItemPointerData tid = *version;
	TM_FailureData tmfd;
	TupleTableSlot *v = a->locked;

	switch (table_tuple_lock(a->w.rel, &tid, GetActiveSnapshot(), v, a->w.estate->es_output_cid,
							 LockTupleNoKeyExclusive, LockWaitBlock,
							 IsolationUsesXactSnapshot() ? 0 : TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd))
	{
		case TM_Ok:
			break;
		case TM_Updated:
		case TM_Deleted:
			if (IsolationUsesXactSnapshot())
				serialization_failure();
			return false;		/* deleted meanwhile */
		default:
			elog(ERROR, "oms: a stock row a sync locks changed in this very command");
	}
	row->tid = v->tts_tid;
	row->before = row->created ? 0 : slot_int32(v, a->on_hand_att);
	row->escrow = slot_int32(v, a->escrow_att);
	row->committed = (int64) slot_int32(v, a->reserved_att) + slot_int32(v, a->held_att) + row->escrow;
	row->locked = true;
	return true;
}

/*
 * Finds the stock row of row at location through the primary key and locks
 * it (lock_version).  Returns false when there is no such row, or it was
 * deleted meanwhile.
 */
static bool
stock_lock(StockAccess *a, int64 location_id, SyncCount *row)
{
	ScanKeyData keys[2];

	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(row->sku_id));
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(location_id));
	index_rescan(a->scan, keys, 2, NULL, 0);
	if (!index_getnext_slot(a->scan, ForwardScanDirection, a->seen))
		return false;
	return lock_version(a, &a->seen->tts_tid, row);
}

/* Locks the slots of row's stock row when the count needs them (lock_slots). */
static inline void
lock_slots_if_needed(SyncCount *row, int64 location_id)
{
	if (row->escrow > 0 && row->counted < row->committed)
		lock_slots(row, location_id);
}

/*
 * Locks the stock rows of rows[] (sorted by sku_id, at least one) in one
 * pass over the primary key from the first SKU to the last, reading the
 * location's entries only, in sku_id order, as a merge join would.
 */
static void
lock_in_one_pass(StockAccess *a, int64 location_id, SyncCount **rows, int n)
{
	ScanKeyData keys[3];
	IndexScanDesc scan = index_beginscan(a->w.rel, a->scan->indexRelation, GetActiveSnapshot(), 3, 0);
	int			i = 0;

	ScanKeyInit(&keys[0], 1, BTGreaterEqualStrategyNumber, F_INT8GE, Int64GetDatum(rows[0]->sku_id));
	ScanKeyInit(&keys[1], 1, BTLessEqualStrategyNumber, F_INT8LE, Int64GetDatum(rows[n - 1]->sku_id));
	ScanKeyInit(&keys[2], 2, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(location_id));
	index_rescan(scan, keys, 3, NULL, 0);
	while (i < n && index_getnext_slot(scan, ForwardScanDirection, a->seen))
	{
		bool		isnull;
		int64		sku_id = DatumGetInt64(slot_getattr(a->seen, 1, &isnull));

		CHECK_FOR_INTERRUPTS();
		while (i < n && rows[i]->sku_id < sku_id)
			i++;
		if (i < n && rows[i]->sku_id == sku_id)
		{
			if (lock_version(a, &a->seen->tts_tid, rows[i]))
				lock_slots_if_needed(rows[i], location_id);
			i++;
		}
	}
	index_endscan(scan);
}

/*
 * Locks and reads the stock rows of rows[] (sorted by sku_id) at the
 * location in that order, the order in which every session locks stock
 * rows, each hot row's slots right after it when it needs them.  A row not
 * found stays unlocked: a missing stock row, or one deleted meanwhile.
 *
 * This reads the stock table's primary key directly rather than run a
 * statement: the join and LockRows of SELECT ... FOR NO KEY UPDATE were
 * two fifths of a sync's time for a hundred thousand counts
 * (test/bench/README.md).  A batch of a fair share of the table's rows is
 * merged with one pass over the index; a smaller one probes it per SKU.
 */
static void
lock_existing(SyncBatch *batch, SyncCount **rows, int n)
{
	StockAccess a;

	if (n == 0)
		return;
	stock_open(&a);
	if ((double) n * 4 >= relation_rows(a.w.rel))
		lock_in_one_pass(&a, batch->location_id, rows, n);
	else
		for (int i = 0; i < n; i++)
		{
			CHECK_FOR_INTERRUPTS();
			if (stock_lock(&a, batch->location_id, rows[i]))
				lock_slots_if_needed(rows[i], batch->location_id);
		}
	stock_close(&a);
}

/* Hashes a SKU code for the table of scan_codes(). */
static inline uint32
code_hash(const char *code, int len)
{
	return hash_bytes((const unsigned char *) code, len);
}

/*
 * Looks up the SKUs of rows[] by reading all of oms.sku once, matching each
 * row's code in an open-addressing hash table of the codes (bytes equal:
 * code's collation is deterministic).  For a batch of a fair share of the
 * SKUs, cheaper than a probe of the code index each.
 */
static void
scan_codes(Relation rel, int id_att, int code_att, SyncCount **rows, int n)
{
	uint32		size = 1;
	uint32		mask;
	SyncCount **table;
	TableScanDesc scan;
	TupleTableSlot *slot = table_slot_create(rel, NULL);

	while (size < (uint32) n * 2)
		size <<= 1;
	mask = size - 1;
	table = palloc0(sizeof(SyncCount *) * size);
	for (int i = 0; i < n; i++)
	{
		uint32		h = code_hash(rows[i]->code, strlen(rows[i]->code)) & mask;

		while (table[h] != NULL)
			h = (h + 1) & mask;
		table[h] = rows[i];
	}

	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		text	   *code;
		const char *bytes;
		int			len;
		uint32		h;

		CHECK_FOR_INTERRUPTS();
		slot_getsomeattrs(slot, Max(id_att, code_att));
		code = DatumGetTextPP(slot->tts_values[code_att - 1]);
		bytes = VARDATA_ANY(code);
		len = VARSIZE_ANY_EXHDR(code);
		for (h = code_hash(bytes, len) & mask; table[h] != NULL; h = (h + 1) & mask)
			if (strncmp(table[h]->code, bytes, len) == 0 && table[h]->code[len] == '\0')
			{
				table[h]->sku_id = DatumGetInt64(slot_getattr(slot, id_att, &isnull));
				break;
			}
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	pfree(table);
}

/* Looks up the SKUs of rows[] by code with a probe of oms.sku's code index each. */
static void
probe_codes(Relation rel, int id_att, SyncCount **rows, int n)
{
	Relation	idx = index_open(oms_relid("sku_code_key"), AccessShareLock);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	IndexScanDesc scan = index_beginscan(rel, idx, GetActiveSnapshot(), 1, 0);

	for (int i = 0; i < n; i++)
	{
		ScanKeyData key;
		text	   *code = cstring_to_text(rows[i]->code);
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, InvalidOid,
							   idx->rd_indcollation[0], F_TEXTEQ, PointerGetDatum(code));
		index_rescan(scan, &key, 1, NULL, 0);
		if (index_getnext_slot(scan, ForwardScanDirection, slot))
			rows[i]->sku_id = DatumGetInt64(slot_getattr(slot, id_att, &isnull));
		pfree(code);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(idx, NoLock);
}

/*
 * Looks up the SKUs of rows[] by code, with the statement's snapshot; a row
 * whose SKU is unknown is set apart.  Returns how many of them it found,
 * moved to the front of rows[] in their order.
 */
static int
resolve_skus(SyncCount **rows, int n)
{
	Relation	rel = table_open(oms_relid("sku"), AccessShareLock);
	int			id_att = SPI_fnumber(RelationGetDescr(rel), "id");
	int			code_att = SPI_fnumber(RelationGetDescr(rel), "code");
	int			found = 0;

	if (id_att <= 0 || code_att <= 0)
		elog(ERROR, "oms: oms.sku lacks its id or code column");
	if ((double) n * 4 >= relation_rows(rel))
		scan_codes(rel, id_att, code_att, rows, n);
	else
		probe_codes(rel, id_att, rows, n);
	table_close(rel, NoLock);

	for (int i = 0; i < n; i++)
	{
		if (rows[i]->sku_id == 0)
			rows[i]->outcome = SYNC_UNKNOWN_SKU;
		else
			rows[found++] = rows[i];
	}
	return found;
}

/*
 * Creates the stock rows of rows[] (sorted by sku_id), in that order, with
 * on_hand at the count: count_stock creates a missing row at 0 and counts
 * it, to the same end.  A row that another transaction is creating is waited
 * for; if that one commits, its row stays unlocked here and is counted as it
 * is.  The rows created are ours alone until we commit: they count as locked.
 */
static void
create_rows(SyncBatch *batch, SyncCount **rows, int n)
{
	Oid			argtypes[3] = {INT8OID, INT8ARRAYOID, INT4ARRAYOID};
	Datum		values[3];
	int			rc;

	prepare_batch(&create_plan,
				  "INSERT INTO oms.stock (sku_id, location_id, on_hand)"
				  " SELECT u.sku_id, $1, u.counted"
				  "   FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(sku_id, counted)"
				  "  ORDER BY u.sku_id"
				  " ON CONFLICT (sku_id, location_id) DO NOTHING"
				  " RETURNING sku_id, on_hand, reserved::bigint + held + escrow",
				  3, argtypes);
	values[0] = Int64GetDatum(batch->location_id);
	values[1] = field_array(rows, n, 'i');
	values[2] = field_array(rows, n, 'c');
	rc = oms_execute_trusted(create_plan, values, NULL, 0);
	oms_check_spi(rc, SPI_OK_INSERT_RETURNING, "creating the stock rows of a sync");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		SyncCount	key;
		SyncCount  *keyp = &key;
		SyncCount **row;

		key.sku_id = result_int(r, 1);
		row = bsearch(&keyp, rows, n, sizeof(SyncCount *), compare_sku_ids);
		if (row == NULL)
			elog(ERROR, "oms: a sync created a stock row it did not ask for");
		(*row)->created = true;
		take_locked(*row, r, 1);
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Locks and reads the stock rows of the counts in batch->known, creating the
 * missing ones, and sets apart unknown SKUs; batch->locked gets the rows to
 * decide, by sku_id.
 *
 * The SKUs are looked up, then the rows that exist, nearly all, locked in
 * sku_id order.  Then the rows of the others are created (sorted), and a row
 * another transaction created meanwhile locked.  So a sync creates rows after
 * it locked the existing ones, not in their place in sku_id order; other
 * syncs do the same, and orders never create stock rows, so neither can wait
 * for a row a sync created while holding one that sync waits for.  A row
 * deleted between the lookup and the lock (an empty row an admin removed) is
 * created again.
 */
static void
lock_rows(SyncBatch *batch)
{
	SyncCount **rest = palloc(sizeof(SyncCount *) * Max(batch->nknown, 1));
	int			nfound;
	int			nrest = 0;

	nfound = resolve_skus(batch->known, batch->nknown);
	qsort(batch->known, nfound, sizeof(SyncCount *), compare_sku_ids);
	SYNC_STEP_END("looking up the SKUs");
	lock_existing(batch, batch->known, nfound);
	for (int i = 0; i < nfound; i++)
		if (!batch->known[i]->locked)
			rest[nrest++] = batch->known[i];

	for (int attempt = 0; nrest > 0; attempt++)
	{
		int			n = 0;

		if (attempt == 3)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent delete"),
					 errdetail("Stock rows of the sync were deleted while it locked them.")));
		create_rows(batch, rest, nrest);
		for (int i = 0; i < nrest; i++)
			if (!rest[i]->locked)
				rest[n++] = rest[i];
		if (n > 0)
			lock_existing(batch, rest, n);
		nrest = 0;
		for (int i = 0; i < n; i++)
			if (!rest[i]->locked)
				rest[nrest++] = rest[i];
	}

	batch->locked = palloc(sizeof(SyncCount *) * Max(nfound, 1));
	batch->nlocked = 0;
	for (int i = 0; i < nfound; i++)
		if (batch->known[i]->locked)
			batch->locked[batch->nlocked++] = batch->known[i];
}

/* A count below its row's committed units, for give_way(). */
typedef struct GiveWay
{
	int64		location_id;
	SyncCount  *row;
} GiveWay;

/*
 * Lets the idle units of a locked stock row give way (expired holds, unused
 * slot quotas), as count_stock does; returns whether the count then fits.
 * Runs in a subtransaction that is rolled back when it does not.
 */
static bool
give_way(void *arg)
{
	GiveWay    *g = arg;
	StockRow	row;

	if (!oms_lock_stock(g->row->sku_id, g->location_id, false, &row))
		elog(ERROR, "oms: a stock row locked by a sync is gone");
	oms_uncommit_stock(&row);
	oms_write_stock(&row);
	g->row->committed = (int64) row.reserved + row.held + row.escrow;
	g->row->moved = g->row->counted >= g->row->committed;	/* else rolled back */
	return g->row->moved;
}

/*
 * Decides each locked count: applied (created, unchanged, increased,
 * decreased) or below what the row has reserved.
 */
static void
decide(SyncBatch *batch)
{
	for (int i = 0; i < batch->nlocked; i++)
	{
		SyncCount  *row = batch->locked[i];
		GiveWay		g = {batch->location_id, row};

		if (!row->created && row->counted < row->committed && !oms_in_subtransaction(give_way, &g))
		{
			row->outcome = SYNC_BELOW_RESERVED;
			row->after = row->before;
			continue;
		}
		row->after = row->counted;
		row->outcome = row->created ? SYNC_CREATED :
			row->after > row->before ? SYNC_INCREASED :
			row->after < row->before ? SYNC_DECREASED : SYNC_UNCHANGED;
	}
}

/* The columns of oms.stock_movement, as write_ledger() fills them. */
typedef enum LedgerColumn
{
	LEDGER_SKU_ID,
	LEDGER_ID,
	LEDGER_LOCATION_ID,
	LEDGER_KIND,
	LEDGER_QUANTITY,
	LEDGER_ON_HAND_AFTER,
	LEDGER_REASON,
	LEDGER_REFERENCE,
	LEDGER_CREATED_AT,
	LEDGER_CREATED_BY,
	LEDGER_NUM_COLUMNS
} LedgerColumn;

static const char *const ledger_columns[LEDGER_NUM_COLUMNS] = {
	"sku_id", "id", "location_id", "kind", "quantity", "on_hand_after", "reason", "reference",
	"created_at", "created_by"
};

/*
 * Whether write_ledger() may write rows of the ledger opened in w: it has
 * exactly the columns above (their positions go to attnums), and its only
 * triggers on INSERT are the checks of its foreign key to oms.stock.
 */
static bool
ledger_writable(OmsInsert *w, int *attnums)
{
	TupleDesc	desc = RelationGetDescr(w->rel);
	TriggerDesc *triggers = w->rel->trigdesc;
	Oid			stock = oms_relid("stock");
	int			ncolumns = 0;

	for (int i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped)
			ncolumns++;
	if (ncolumns != LEDGER_NUM_COLUMNS)
		return false;
	for (int c = 0; c < LEDGER_NUM_COLUMNS; c++)
	{
		attnums[c] = SPI_fnumber(desc, ledger_columns[c]);
		if (attnums[c] <= 0)
			return false;
	}
	for (int t = 0; triggers && t < triggers->numtriggers; t++)
	{
		Trigger    *trigger = &triggers->triggers[t];

		if (TRIGGER_FOR_INSERT(trigger->tgtype) && trigger->tgenabled != TRIGGER_DISABLED &&
			(RI_FKey_trigger_type(trigger->tgfoid) != RI_TRIGGER_FK || trigger->tgconstrrelid != stock))
			return false;
	}
	return true;
}

/* Ledger rows written by one table_multi_insert(). */
#define LEDGER_BATCH 1000

/*
 * Writes a ledger row of kind count for each of rows[], by sku_id, without a
 * statement (as COPY does: a thousand heap tuples at a time, then their
 * index entries) and without the checks of the ledger's foreign key to
 * oms.stock, which an INSERT runs as a query per row: three fifths of the
 * time the INSERT took for a hundred thousand counts (test/bench/README.md).
 * They hold by construction: each row is of a stock row this transaction
 * created or holds locked FOR NO KEY UPDATE, stronger than the FOR KEY SHARE
 * the check takes, until it ends.  The rows satisfy the ledger's CHECK
 * constraints by construction too (kind count, on_hand_after >= 0).  Returns
 * false, having written nothing, when the ledger has columns or INSERT
 * triggers this does not know: the caller then INSERTs.
 */
static bool
write_ledger(SyncBatch *batch, SyncCount **rows, int n, text *reason, Datum created_by)
{
	OmsInsert	w;
	int			attnums[LEDGER_NUM_COLUMNS];
	Oid			sequence = oms_relid("stock_movement_id_seq");
	Datum		kind = CStringGetTextDatum("count");
	Datum		now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	BulkInsertState bistate;
	TupleTableSlot **slots;

	oms_insert_open(&w, "stock_movement", false);
	if (!ledger_writable(&w, attnums))
	{
		oms_insert_close(&w);
		return false;
	}
	bistate = GetBulkInsertState();
	slots = palloc0(sizeof(TupleTableSlot *) * LEDGER_BATCH);
	for (int first = 0; first < n; first += LEDGER_BATCH)
	{
		int			nslots = Min(LEDGER_BATCH, n - first);

		CHECK_FOR_INTERRUPTS();
		for (int k = 0; k < nslots; k++)
		{
			SyncCount  *row = rows[first + k];
			Datum	   *values;
			bool	   *isnull;

			if (slots[k] == NULL)
				slots[k] = table_slot_create(w.rel, NULL);
			ExecClearTuple(slots[k]);
			values = slots[k]->tts_values;
			isnull = slots[k]->tts_isnull;
			memset(isnull, true, sizeof(bool) * slots[k]->tts_tupleDescriptor->natts);
			values[attnums[LEDGER_SKU_ID] - 1] = Int64GetDatum(row->sku_id);
			values[attnums[LEDGER_ID] - 1] = Int64GetDatum(nextval_internal(sequence, false));
			values[attnums[LEDGER_LOCATION_ID] - 1] = Int64GetDatum(batch->location_id);
			values[attnums[LEDGER_KIND] - 1] = kind;
			values[attnums[LEDGER_QUANTITY] - 1] = Int32GetDatum(row->after - row->before);
			values[attnums[LEDGER_ON_HAND_AFTER] - 1] = Int32GetDatum(row->after);
			values[attnums[LEDGER_REASON] - 1] = PointerGetDatum(reason);
			values[attnums[LEDGER_CREATED_AT] - 1] = now;
			values[attnums[LEDGER_CREATED_BY] - 1] = created_by;
			for (int c = 0; c < LEDGER_NUM_COLUMNS; c++)
				isnull[attnums[c] - 1] = false;
			isnull[attnums[LEDGER_REASON] - 1] = reason == NULL;
			isnull[attnums[LEDGER_REFERENCE] - 1] = true;
			ExecStoreVirtualTuple(slots[k]);
		}
		table_multi_insert(w.rel, slots, nslots, w.estate->es_output_cid, 0, bistate);
		for (int k = 0; k < nslots; k++)
			list_free(oms_insert_index_tuples(w.rri, slots[k], w.estate, false, false, NULL, false));
		ResetPerTupleExprContext(w.estate);
	}
	for (int k = 0; k < LEDGER_BATCH && slots[k] != NULL; k++)
		ExecDropSingleTupleTableSlot(slots[k]);
	FreeBulkInsertState(bistate);
	oms_insert_close(&w);
	return true;
}

/*
 * Writes a ledger row of kind count for each of rows[] with an INSERT, when
 * write_ledger() may not.
 */
static void
insert_ledger(SyncBatch *batch, SyncCount **rows, int n, text *reason, Datum created_by)
{
	Oid			argtypes[6] = {INT8OID, INT8ARRAYOID, INT4ARRAYOID, INT4ARRAYOID, TEXTOID, TEXTOID};
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	int			rc;

	prepare_batch(&ledger_plan,
				  "INSERT INTO oms.stock_movement"
				  " (sku_id, location_id, kind, quantity, on_hand_after, reason, created_by)"
				  " SELECT u.sku_id, $1, 'count', u.after - u.before, u.after, $5, $6"
				  "   FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4))"
				  "     AS u(sku_id, before, after)",
				  6, argtypes);
	values[0] = Int64GetDatum(batch->location_id);
	values[1] = field_array(rows, n, 'i');
	values[2] = field_array(rows, n, 'b');
	values[3] = field_array(rows, n, 'a');
	values[4] = PointerGetDatum(reason);
	nulls[4] = reason ? ' ' : 'n';
	values[5] = created_by;
	rc = SPI_execute_plan(ledger_plan, values, nulls, false, 0);
	oms_check_spi(rc, SPI_OK_INSERT, "writing the stock ledger of a sync");
}

/*
 * Sets on_hand of the locked stock rows of rows[] (sorted by sku_id) to their
 * counts, writing each new version directly from the version locked, as
 * stock.c does: an UPDATE of a hundred thousand rows joined to arrays costs
 * a join and a projection per row.  The new version satisfies the row's
 * CHECK because the count leaves room for its committed units; no trigger
 * fires (oms.stock's guard lets oms write units).  A row that gave way has a
 * newer version of our own, found again first.
 */
static void
set_on_hand(SyncCount **rows, int n, int64 location_id)
{
	StockAccess a;
	Datum		now = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());

	stock_open(&a);
	for (int i = 0; i < n; i++)
	{
		SyncCount  *row = rows[i];

		CHECK_FOR_INTERRUPTS();
		if (row->moved && !stock_lock(&a, location_id, row))
			elog(ERROR, "oms: a stock row locked by a sync is gone");
		if (!table_tuple_fetch_row_version(a.w.rel, &row->tid, SnapshotAny, a.locked))
			elog(ERROR, "oms: failed to fetch a stock row locked by a sync");
		oms_insert_copy(&a.w, a.locked);
		a.w.slot->tts_values[a.on_hand_att - 1] = Int32GetDatum(row->after);
		a.w.slot->tts_values[a.updated_at_att - 1] = now;
		if (oms_insert_replace(&a.w, &row->tid) != TM_Ok)
			elog(ERROR, "oms: a stock row locked by a sync changed");
	}
	stock_close(&a);
}

/*
 * Writes the applied counts: a ledger row each, and on_hand where it changes
 * (a created row has it already).
 */
static void
write_counts(SyncBatch *batch, text *reason)
{
	SyncCount **applied = palloc(sizeof(SyncCount *) * Max(batch->nlocked, 1));
	SyncCount **changed = palloc(sizeof(SyncCount *) * Max(batch->nlocked, 1));
	int64	   *moved = palloc(sizeof(int64) * Max(batch->nlocked, 1));
	int			nmoved = 0;
	int			napplied = 0;
	int			nchanged = 0;
	Datum		created_by;

	for (int i = 0; i < batch->nlocked; i++)
	{
		SyncCount  *row = batch->locked[i];

		if (row->outcome == SYNC_BELOW_RESERVED)
			continue;
		applied[napplied++] = row;
		if (!row->created && row->after != row->before)
			changed[nchanged++] = row;
	}
	if (napplied == 0)
		return;

	/* The role that called us, not the owner SECURITY DEFINER runs as. */
	created_by = CStringGetTextDatum(GetUserNameFromId(GetOuterUserId(), false));
	if (!write_ledger(batch, applied, napplied, reason, created_by))
		insert_ledger(batch, applied, napplied, reason, created_by);
	SYNC_STEP_END("writing the ledger");

	/* The available-to-promise feed recomputes the SKUs whose on_hand moved. */
	for (int i = 0; i < napplied; i++)
		if (applied[i]->created || applied[i]->after != applied[i]->before)
			moved[nmoved++] = applied[i]->sku_id;
	oms_atp_touch_many(moved, nmoved);

	if (nchanged == 0)
		return;
	set_on_hand(changed, nchanged, batch->location_id);
}

/*
 * Gives the units the counts added to the backorders waiting for them at the
 * location, as count_stock does for one count (backorder.c).
 */
static void
fill_backorders(SyncBatch *batch)
{
	int64	   *sku_ids = palloc(sizeof(int64) * Max(batch->nlocked, 1));
	int			n = 0;

	for (int i = 0; i < batch->nlocked; i++)
	{
		SyncCount  *row = batch->locked[i];

		if (row->outcome != SYNC_BELOW_RESERVED && row->after > row->before)
			sku_ids[n++] = row->sku_id;
	}
	(void) oms_fill_arrivals(sku_ids, n, batch->location_id);
}

/* The detail of a count's outcome, or NULL. */
static char *
outcome_detail(SyncCount *row)
{
	switch (row->outcome)
	{
		case SYNC_BELOW_RESERVED:
			return psprintf("on_hand cannot go below its " INT64_FORMAT " reserved or held units",
							row->committed);
		case SYNC_UNKNOWN_SKU:
			return row->code ? "no such sku in oms.sku" : "no sku given";
		case SYNC_DUPLICATE_SKU:
			return psprintf("the sku has %d counts in the batch; none applies", row->copies);
		case SYNC_INVALID_ON_HAND:
			return psprintf("on_hand must be a whole number from 0 to %d, not %s", PG_INT32_MAX, row->given);
		default:
			return NULL;
	}
}

/*
 * Syncs batch at location and returns a row for each count that did more
 * or other than confirm on_hand: created, increased, decreased or not
 * applied, in input order.
 */
static void
sync_batch(FunctionCallInfo fcinfo, SyncBatch *batch, text *reason)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	SYNC_STEP_END("reading the counts");
	screen_counts(batch);
	SYNC_STEP_END("screening the counts");
	if (batch->nknown > 0)
	{
		lock_rows(batch);
		SYNC_STEP_END("locking and reading the stock rows");
		decide(batch);
		SYNC_STEP_END("deciding (giving way)");
		write_counts(batch, reason);
		SYNC_STEP_END("writing the ledger and on_hand");
		fill_backorders(batch);
		SYNC_STEP_END("filling backorders");
	}

	for (int i = 0; i < batch->n; i++)
	{
		SyncCount  *row = &batch->rows[i];
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};
		char	   *detail;

		if (row->outcome == SYNC_UNCHANGED)
			continue;
		values[0] = row->code ? CStringGetTextDatum(row->code) : (Datum) 0;
		nulls[0] = row->code == NULL;
		values[1] = CStringGetTextDatum(outcome_names[row->outcome]);
		values[2] = Int32GetDatum(row->counted);
		nulls[2] = !row->valid;
		values[3] = Int32GetDatum(row->before);
		values[4] = Int32GetDatum(row->after);
		nulls[3] = nulls[4] = row->sku_id == 0;	/* not looked up, or unknown */
		detail = outcome_detail(row);
		values[5] = detail ? CStringGetTextDatum(detail) : (Datum) 0;
		nulls[5] = detail == NULL;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/* Connects to SPI and looks up the location of argument 0. */
static void
begin_sync(FunctionCallInfo fcinfo, SyncBatch *batch)
{
	SYNC_STEP_BEGIN();
	InitMaterializedSRF(fcinfo, 0);
	oms_spi_connect();
	memset(batch, 0, sizeof(*batch));
	batch->location_id = oms_lookup(OMS_LOCATION, oms_arg_text(fcinfo, 0, "location")).id;
}

/*
 * oms.sync_stock(location, counts, reason): counts a JSON array of
 * {"sku", "on_hand"} at location.
 */
Datum
oms_sync_stock(PG_FUNCTION_ARGS)
{
	SyncBatch	batch;

	oms_citus_refuse("stock", "oms.sync_stock");

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("counts must not be null")));
	begin_sync(fcinfo, &batch);
	read_json_counts(PG_GETARG_JSONB_P(1), &batch);
	sync_batch(fcinfo, &batch, oms_arg_optional_text(fcinfo, 2));
	oms_spi_finish();
	return (Datum) 0;
}

/*
 * oms.sync_stock_from(location, source, reason): counts the rows (sku,
 * on_hand) of table source at location.
 */
Datum
oms_sync_stock_from(PG_FUNCTION_ARGS)
{
	SyncBatch	batch;

	oms_citus_refuse("stock", "oms.sync_stock_from");

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source must not be null")));
	begin_sync(fcinfo, &batch);
	read_table_counts(PG_GETARG_OID(1), &batch);
	sync_batch(fcinfo, &batch, oms_arg_optional_text(fcinfo, 2));
	oms_spi_finish();
	return (Datum) 0;
}
