/*-------------------------------------------------------------------------
 *
 * citus.c
 *	  Knowing which oms tables Citus holds (issue 15, README "Scaling out
 *	  with Citus").
 *
 *	  On a distributed or reference table the coordinator's own heap is an
 *	  empty shell that no query reads: a row written there directly is lost
 *	  without an error, and a direct read finds nothing.  Every direct
 *	  heap/index path of oms asks oms_citus_table() first and takes the SQL
 *	  path (SPI, which Citus routes to the shard) when it answers true.
 *
 *	  The answer comes from Citus's catalog pg_dist_partition, read once per
 *	  table and backend and kept until a relcache invalidation of the table
 *	  (Citus sends one when it distributes or undistributes a table) or of
 *	  every table.  Without Citus the lookup is one syscache probe that finds
 *	  no pg_dist_partition.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "miscadmin.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "oms.h"

PG_FUNCTION_INFO_V1(oms_citus_forget);

/* The tables asked about so far in this backend, with their answer. */
#define OMS_CITUS_CACHE 64

typedef struct CitusAnswer
{
	Oid			relid;
	bool		citus;
} CitusAnswer;

static CitusAnswer answers[OMS_CITUS_CACHE];
static int	nanswers = 0;

/* Forgets the answer for relid, or every answer when relid is InvalidOid. */
static void
citus_invalidate(Datum arg, Oid relid)
{
	if (!OidIsValid(relid))
	{
		nanswers = 0;
		return;
	}
	for (int i = 0; i < nanswers; i++)
		if (answers[i].relid == relid)
		{
			answers[i] = answers[--nanswers];
			return;
		}
}

/*
 * Registers the relcache callback; called from _PG_init.
 */
void
oms_citus_init(void)
{
	CacheRegisterRelcacheCallback(citus_invalidate, (Datum) 0);
}

/* Whether pg_dist_partition names relid: Citus holds the table. */
static bool
in_pg_dist_partition(Oid relid)
{
	Oid			catalog = get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE);
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	bool		found;

	if (!OidIsValid(catalog))
		return false;			/* no Citus in this database */
	rel = table_open(catalog, AccessShareLock);
	/* Its first column is logicalrelid. */
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 1, &key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Whether Citus holds relid (a distributed, reference or Citus-managed local
 * table): then its local heap must never be read or written directly.
 */
bool
oms_citus_table(Oid relid)
{
	bool		citus;

	for (int i = 0; i < nanswers; i++)
		if (answers[i].relid == relid)
			return answers[i].citus;
	citus = in_pg_dist_partition(relid);
	if (nanswers == OMS_CITUS_CACHE)
		nanswers = 0;			/* more tables than oms has: start over */
	answers[nanswers].relid = relid;
	answers[nanswers].citus = citus;
	nanswers++;
	return citus;
}

/* oms_citus_table() of oms.<name>. */
bool
oms_citus_named(const char *name)
{
	return oms_citus_table(oms_relid(name));
}

/*
 * Whether oms.distribute() has run in this database: Citus holds oms.orders.
 */
bool
oms_citus_active(void)
{
	Oid			nsp = get_namespace_oid("oms", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("orders", nsp) : InvalidOid;

	return OidIsValid(relid) && oms_citus_table(relid);
}

/*
 * Whether this node is a Citus worker: its pg_dist_local_group (one row,
 * groupid first) names a group other than the coordinator's, 0.  Read each
 * time: the coordinator sets it when it adds the node.
 */
bool
oms_citus_worker_node(void)
{
	Oid			catalog = get_relname_relid("pg_dist_local_group", PG_CATALOG_NAMESPACE);
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	int32		group = 0;

	if (!OidIsValid(catalog))
		return false;
	rel = table_open(catalog, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		value = heap_getattr(tuple, 1, RelationGetDescr(rel), &isnull);

		group = isnull ? 0 : DatumGetInt32(value);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return group != 0;
}

/*
 * Refuses a direct path of what on oms.<table>, which Citus holds; for the
 * steps that have no SQL path yet.
 */
void
oms_citus_refuse(const char *table, const char *what)
{
	if (oms_citus_named(table))
		ereport(ERROR,
				(errcode(ERRCODE_OMS_CITUS_UNSUPPORTED),
				 errmsg("%s is not supported on Citus yet: oms.%s is distributed", what, table),
				 errdetail("This step reads or writes the table's local heap directly, which on a Citus coordinator is an empty shell."),
				 errhint("See README, \"Scaling out with Citus\", for what runs on a distributed oms.")));
}

/*
 * Whether this backend serves a Citus-internal connection: a coordinator
 * running a statement on one of this node's shards.  Citus names those
 * connections "citus_internal gpid=...".
 */
bool
oms_citus_internal_backend(void)
{
	const char *name = GetConfigOption("application_name", true, false);

	return name != NULL && strncmp(name, "citus_internal", 14) == 0;
}

/*
 * oms.citus_forget(): forgets every answer of this backend.
 */
Datum
oms_citus_forget(PG_FUNCTION_ARGS)
{
	nanswers = 0;
	PG_RETURN_VOID();
}
