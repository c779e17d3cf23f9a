/*-------------------------------------------------------------------------
 *
 * sync.c
 *	  Bulk stock sync from an ERP or WMS: oms.sync_stock and
 *	  oms.sync_stock_from set on_hand of many SKUs at one location to counted
 *	  figures in one call.  The result is that of oms.count_stock called once
 *	  per SKU -- the same stock rows, ledger rows, and refusals -- but the work
 *	  is done by a few statements for the whole batch:
 *
 *	  1. read the counts, and set apart the rows that cannot apply: a SKU
 *	     given twice, an on_hand that is not a whole number from 0 up, an
 *	     unknown SKU (one join);
 *	  2. lock the stock rows in sku_id order, the global lock order, creating
 *	     missing ones on the way (one INSERT ... ON CONFLICT DO UPDATE whose
 *	     WHERE is false: it locks the existing rows without writing them).  A
 *	     hot row that the count takes below its committed units has its slots
 *	     locked right after the row, before any row of a higher SKU, because
 *	     giving way below takes them back;
 *	  3. read the locked rows (one join);
 *	  4. a count that leaves room for the row's reserved, held and escrow
 *	     units applies as it is.  A count below them goes the way of
 *	     count_stock for that row alone, in a subtransaction: idle units give
 *	     way (expired holds, unused slot quotas); if the count still goes
 *	     below, the subtransaction rolls back and the row is reported, not
 *	     applied;
 *	  5. one INSERT into the ledger for every applied row (a count of no
 *	     difference included), one UPDATE of on_hand for the rows it changes;
 *	  6. the units counts added go to backorders waiting for them there, in
 *	     one pass (backorder.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "oms.h"

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
	bool		created;		/* the stock row did not exist */
	int32		before;			/* on_hand before */
	int32		after;			/* on_hand after */
	int64		committed;		/* reserved + held + escrow of the row */
	int32		copies;			/* counts of this SKU in the batch */
	SyncOutcome outcome;
} SyncCount;

/* A batch of counts for one location. */
typedef struct SyncBatch
{
	int64		location_id;
	int			n;
	SyncCount  *rows;			/* in input order */
	int			nlocked;
	SyncCount **locked;			/* those to apply, by sku_id */
} SyncBatch;

/* Statements, prepared once per backend. */
static SPIPlanPtr resolve_plan = NULL;
static SPIPlanPtr lock_plan = NULL;
static SPIPlanPtr read_plan = NULL;
static SPIPlanPtr ledger_plan = NULL;
static SPIPlanPtr update_plan = NULL;

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
 * Sets apart the counts that cannot apply, each for the first reason that
 * holds: a SKU given more than once (none of its counts applies), an invalid
 * on_hand, no SKU or an unknown one.  The others get their sku_id.
 */
static void
screen_counts(SyncBatch *batch)
{
	SyncCount **byname = palloc(sizeof(SyncCount *) * Max(batch->n, 1));
	Datum	   *codes = palloc(sizeof(Datum) * Max(batch->n, 1));
	SyncCount **known = palloc(sizeof(SyncCount *) * Max(batch->n, 1));
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		values[1];
	int			nknown = 0;
	int			rc;

	for (int i = 0; i < batch->n; i++)
		byname[i] = &batch->rows[i];
	qsort(byname, batch->n, sizeof(SyncCount *), compare_codes);
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
			{
				codes[nknown] = CStringGetTextDatum(byname[k]->code);
				known[nknown++] = byname[k];
			}
		}
	}
	if (nknown == 0)
		return;

	/* One join finds every SKU; u.i is a position in known[]. */
	prepare_batch(&resolve_plan,
				  "SELECT u.i, s.id FROM pg_catalog.unnest($1) WITH ORDINALITY AS u(code, i)"
				  "  JOIN oms.sku s ON s.code = u.code",
				  1, argtypes);
	values[0] = PointerGetDatum(construct_array(codes, nknown, TEXTOID, -1, false, TYPALIGN_INT));
	rc = SPI_execute_plan(resolve_plan, values, NULL, true, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "looking up the SKUs of the counts");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		int64		i = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));

		known[i - 1]->sku_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);

	batch->locked = palloc(sizeof(SyncCount *) * nknown);
	batch->nlocked = 0;
	for (int i = 0; i < nknown; i++)
	{
		if (known[i]->sku_id == 0)
			known[i]->outcome = SYNC_UNKNOWN_SKU;
		else
			batch->locked[batch->nlocked++] = known[i];
	}
	qsort(batch->locked, batch->nlocked, sizeof(SyncCount *), compare_sku_ids);
}

/* Returns the count of sku_id among the locked ones; it must be there. */
static SyncCount *
find_locked(SyncBatch *batch, int64 sku_id)
{
	SyncCount	key;
	SyncCount  *keyp = &key;
	SyncCount **found;

	key.sku_id = sku_id;
	found = bsearch(&keyp, batch->locked, batch->nlocked, sizeof(SyncCount *), compare_sku_ids);
	if (found == NULL)
		elog(ERROR, "oms: sku " INT64_FORMAT " is not in the batch", sku_id);
	return *found;
}

/* Returns an int8[] or int4[] of one field of the locked counts. */
static Datum
locked_array(SyncBatch *batch, SyncCount **rows, int n, char field)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		switch (field)
		{
			case 'i':
				elems[i] = Int64GetDatum(rows[i]->sku_id);
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
		return PointerGetDatum(construct_array(elems, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	return PointerGetDatum(construct_array(elems, n, INT4OID, sizeof(int32), true, TYPALIGN_INT));
}

/*
 * Locks the stock rows of the batch in sku_id order, creating missing ones
 * with on_hand at their count (count_stock creates them at 0 and then counts),
 * and reads them.
 *
 * The INSERT takes the rows one by one in the order of its SELECT: a missing
 * row is inserted, an existing one locked as for an update, and then its
 * WHERE, which is never true, is evaluated on the locked version.  When the
 * count goes below the committed units of a hot row, giving way will take
 * its slots (oms_uncommit_stock), so the WHERE locks them there, in slot
 * order, before the next row: the order in which every session locks a row
 * and its slots.  Locking them only later, with rows of higher SKUs held,
 * would deadlock with a buyer that holds one of the slots and waits for such
 * a row (sync_stock_race.spec).
 */
static void
lock_rows(SyncBatch *batch)
{
	Oid			lock_types[3] = {INT8OID, INT8ARRAYOID, INT4ARRAYOID};
	Oid			read_types[2] = {INT8OID, INT8ARRAYOID};
	Datum		values[3];
	int			rc;

	prepare_batch(&lock_plan,
				  "INSERT INTO oms.stock AS st (sku_id, location_id, on_hand)"
				  " SELECT u.sku_id, $1, u.counted"
				  "   FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(sku_id, counted)"
				  "  ORDER BY u.sku_id"
				  " ON CONFLICT (sku_id, location_id) DO UPDATE SET updated_at = st.updated_at"
				  "  WHERE st.escrow > 0 AND excluded.on_hand < st.reserved + st.held + st.escrow"
				  "    AND (SELECT count(*) FROM (SELECT FROM oms.stock_slot sl"
				  "          WHERE sl.sku_id = st.sku_id AND sl.location_id = st.location_id"
				  "          ORDER BY sl.slot FOR NO KEY UPDATE) slots) < 0"
				  " RETURNING st.sku_id",
				  3, lock_types);
	values[0] = Int64GetDatum(batch->location_id);
	values[1] = locked_array(batch, batch->locked, batch->nlocked, 'i');
	values[2] = locked_array(batch, batch->locked, batch->nlocked, 'c');
	rc = oms_execute_trusted(lock_plan, values, NULL, 0);
	oms_check_spi(rc, SPI_OK_INSERT_RETURNING, "locking the stock rows of a sync");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;

		find_locked(batch, DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull)))->created = true;
	}
	SPI_freetuptable(SPI_tuptable);

	/* A new snapshot: under READ COMMITTED it sees the versions we locked. */
	prepare_batch(&read_plan,
				  "SELECT st.sku_id, st.on_hand, st.reserved::bigint + st.held + st.escrow"
				  "  FROM pg_catalog.unnest($2) AS u(sku_id)"
				  "  JOIN oms.stock st ON st.sku_id = u.sku_id AND st.location_id = $1",
				  2, read_types);
	rc = SPI_execute_plan(read_plan, values, NULL, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "reading the stock rows of a sync");
	if (SPI_processed != (uint64) batch->nlocked)
		elog(ERROR, "oms: a sync locked " UINT64_FORMAT " stock rows of %d", SPI_processed, batch->nlocked);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		SyncCount  *row = find_locked(batch, DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)));

		row->before = row->created ? 0 : DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		row->committed = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
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
	return g->row->counted >= g->row->committed;
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

/*
 * Writes the applied counts: a ledger row each, and on_hand where it changes
 * (a created row has it already).
 */
static void
write_counts(SyncBatch *batch, text *reason)
{
	Oid			ledger_types[6] = {INT8OID, INT8ARRAYOID, INT4ARRAYOID, INT4ARRAYOID, TEXTOID, TEXTOID};
	Oid			update_types[3] = {INT8OID, INT8ARRAYOID, INT4ARRAYOID};
	SyncCount **applied = palloc(sizeof(SyncCount *) * Max(batch->nlocked, 1));
	SyncCount **changed = palloc(sizeof(SyncCount *) * Max(batch->nlocked, 1));
	int			napplied = 0;
	int			nchanged = 0;
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	int			rc;

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

	prepare_batch(&ledger_plan,
				  "INSERT INTO oms.stock_movement"
				  " (sku_id, location_id, kind, quantity, on_hand_after, reason, created_by)"
				  " SELECT u.sku_id, $1, 'count', u.after - u.before, u.after, $5, $6"
				  "   FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3), pg_catalog.unnest($4))"
				  "     AS u(sku_id, before, after)",
				  6, ledger_types);
	values[0] = Int64GetDatum(batch->location_id);
	values[1] = locked_array(batch, applied, napplied, 'i');
	values[2] = locked_array(batch, applied, napplied, 'b');
	values[3] = locked_array(batch, applied, napplied, 'a');
	values[4] = PointerGetDatum(reason);
	nulls[4] = reason ? ' ' : 'n';
	/* The role that called us, not the owner SECURITY DEFINER runs as. */
	values[5] = CStringGetTextDatum(GetUserNameFromId(GetOuterUserId(), false));
	rc = SPI_execute_plan(ledger_plan, values, nulls, false, 0);
	oms_check_spi(rc, SPI_OK_INSERT, "writing the stock ledger of a sync");

	if (nchanged == 0)
		return;
	prepare_batch(&update_plan,
				  "UPDATE oms.stock st SET on_hand = u.after, updated_at = now()"
				  "  FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(sku_id, after)"
				  " WHERE st.sku_id = u.sku_id AND st.location_id = $1",
				  3, update_types);
	values[1] = locked_array(batch, changed, nchanged, 'i');
	values[2] = locked_array(batch, changed, nchanged, 'a');
	rc = oms_execute_trusted(update_plan, values, NULL, 0);
	oms_check_spi(rc, SPI_OK_UPDATE, "updating on_hand in a sync");
	if (SPI_processed != (uint64) nchanged)
		elog(ERROR, "oms: a sync updated " UINT64_FORMAT " stock rows of %d", SPI_processed, nchanged);
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

	screen_counts(batch);
	if (batch->nlocked > 0)
	{
		lock_rows(batch);
		decide(batch);
		write_counts(batch, reason);
		fill_backorders(batch);
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
