/*-------------------------------------------------------------------------
 *
 * cache.c
 *	  Channels, locations, which locations serve which channel, the
 *	  channels' routing policies (and the names of the strategies they
 *	  choose) and the legal status transitions, kept in backend memory:
 *	  small tables that every order reads and that change rarely.
 *
 *	  A statement trigger on each of the five tables (oms.master_changed)
 *	  sends a relcache invalidation for it; every backend's callback then
 *	  marks the cache stale, and the next lookup reloads it in full.  A reload
 *	  reads with the latest snapshot, so a long transaction never caches data
 *	  older than the invalidation that caused the reload.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "oms.h"

PG_FUNCTION_INFO_V1(oms_master_changed);

/* Longest code the tables allow (their code checks), plus the NUL. */
#define CODE_KEY_SIZE 104

typedef struct LocationEntry
{
	int64		id;				/* hash key */
	OmsLocation location;
} LocationEntry;

typedef struct CodeEntry
{
	char		code[CODE_KEY_SIZE];	/* hash key */
	int64		id;
	OmsChannel	channel;		/* for channels */
} CodeEntry;

typedef struct ChannelLocationKey
{
	int64		channel_id;
	int64		location_id;
} ChannelLocationKey;

typedef struct ChannelLocationEntry
{
	ChannelLocationKey key;
	int32		safety_stock;	/* -1: the channel's */
} ChannelLocationEntry;

static MemoryContext cache_context = NULL;
static HTAB *locations = NULL;	/* by id */
static HTAB *location_codes = NULL;
static HTAB *channels = NULL;	/* by code */
static HTAB *channel_locations = NULL;
static bool cache_valid = false;
static uint64 invalidations = 0;
static Oid	cached_relids[5];

/* Legal status transitions (oms.transition); from NULL is a new row. */
typedef struct Transition
{
	char	   *entity;
	char	   *from;
	char	   *to;
} Transition;

static Transition *transitions = NULL;
static int	ntransitions = 0;

/* Routing strategies by name, as oms.routing_policy.strategy holds them. */
const char *const oms_strategy_names[OMS_NUM_STRATEGIES] = {
	"fewest_shipments", "cheapest", "nearest_first", "priority_first", "balance_stock"
};

/*
 * Sets *strategy to the strategy called name; false if there is none.
 */
bool
oms_parse_strategy(const char *name, OmsStrategy *strategy)
{
	for (int i = 0; i < OMS_NUM_STRATEGIES; i++)
		if (strcmp(name, oms_strategy_names[i]) == 0)
		{
			*strategy = (OmsStrategy) i;
			return true;
		}
	return false;
}

/*
 * Relcache callback: a change to one of the cached tables (or to all
 * relations) makes the cache stale.
 */
static void
cache_invalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == cached_relids[0] || relid == cached_relids[1] ||
		relid == cached_relids[2] || relid == cached_relids[3] || relid == cached_relids[4])
	{
		cache_valid = false;
		invalidations++;
	}
}

/*
 * Registers the invalidation callback; called once from _PG_init.
 */
void
oms_cache_init(void)
{
	CacheRegisterRelcacheCallback(cache_invalidate, (Datum) 0);
}

/* Runs a kept query with the latest snapshot. */
static void
run_latest(SPIPlanPtr *plan, const char *sql)
{
	int			rc;

	oms_prepare(plan, sql, 0, NULL);
	rc = SPI_execute_snapshot(*plan, NULL, NULL, GetLatestSnapshot(), InvalidSnapshot,
							  true, false, 0);
	oms_check_spi(rc, SPI_OK_SELECT, "loading master data");
}

/* Returns column col of row i of the last SPI result, which is not NULL. */
static Datum
column(uint64 i, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, col, isnull);
}

/*
 * Loads the five tables into fresh hash tables and arrays.
 */
static void
cache_load(void)
{
	static SPIPlanPtr location_plan = NULL;
	static SPIPlanPtr channel_plan = NULL;
	static SPIPlanPtr channel_location_plan = NULL;
	static SPIPlanPtr transition_plan = NULL;
	Oid			nsp = get_namespace_oid("oms", false);
	HASHCTL		ctl;
	bool		isnull;
	bool		found;

	if (cache_context == NULL)
		cache_context = AllocSetContextCreate(CacheMemoryContext, "oms master data",
											  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(cache_context);
	transitions = NULL;
	ntransitions = 0;
	cached_relids[0] = get_relname_relid("channel", nsp);
	cached_relids[1] = get_relname_relid("location", nsp);
	cached_relids[2] = get_relname_relid("channel_location", nsp);
	cached_relids[3] = get_relname_relid("routing_policy", nsp);
	cached_relids[4] = get_relname_relid("transition", nsp);

	memset(&ctl, 0, sizeof(ctl));
	ctl.hcxt = cache_context;
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(LocationEntry);
	locations = hash_create("oms locations", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.keysize = CODE_KEY_SIZE;
	ctl.entrysize = sizeof(CodeEntry);
	location_codes = hash_create("oms location codes", 64, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	channels = hash_create("oms channels", 16, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	ctl.keysize = sizeof(ChannelLocationKey);
	ctl.entrysize = sizeof(ChannelLocationEntry);
	channel_locations = hash_create("oms channel locations", 64, &ctl,
									HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	run_latest(&location_plan,
			   "SELECT id, code, latitude, longitude, priority, can_ship, can_pickup,"
			   "       coalesce(daily_capacity, -1), active, shipping_cost_fixed IS NOT NULL,"
			   "       coalesce(shipping_cost_fixed, 0)::float8, coalesce(shipping_cost_per_km, 0)::float8"
			   "  FROM oms.location ORDER BY code COLLATE \"C\"");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		int64		id = DatumGetInt64(column(i, 1, &isnull));
		LocationEntry *e = hash_search(locations, &id, HASH_ENTER, &found);
		char	   *code = TextDatumGetCString(column(i, 2, &isnull));
		CodeEntry  *c;

		e->location.id = id;
		e->location.code = MemoryContextStrdup(cache_context, code);
		e->location.code_rank = (int32) i;
		e->location.latitude = DatumGetFloat8(column(i, 3, &isnull));
		e->location.longitude = DatumGetFloat8(column(i, 4, &isnull));
		e->location.priority = DatumGetInt32(column(i, 5, &isnull));
		e->location.can_ship = DatumGetBool(column(i, 6, &isnull));
		e->location.can_pickup = DatumGetBool(column(i, 7, &isnull));
		e->location.daily_capacity = DatumGetInt32(column(i, 8, &isnull));
		e->location.active = DatumGetBool(column(i, 9, &isnull));
		e->location.has_cost_model = DatumGetBool(column(i, 10, &isnull));
		e->location.shipping_cost_fixed = DatumGetFloat8(column(i, 11, &isnull));
		e->location.shipping_cost_per_km = DatumGetFloat8(column(i, 12, &isnull));
		c = hash_search(location_codes, code, HASH_ENTER, &found);
		c->id = id;
	}

	run_latest(&channel_plan,
			   "SELECT c.id, c.code, c.active, c.safety_stock,"
			   "       EXISTS (SELECT 1 FROM oms.channel_location cl WHERE cl.channel_id = c.id),"
			   "       coalesce(p.strategy, 'fewest_shipments'), coalesce(p.max_shipments, 0)"
			   "  FROM oms.channel c LEFT JOIN oms.routing_policy p ON p.channel_id = c.id");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *code = TextDatumGetCString(column(i, 2, &isnull));
		CodeEntry  *c = hash_search(channels, code, HASH_ENTER, &found);

		c->id = DatumGetInt64(column(i, 1, &isnull));
		c->channel.id = c->id;
		c->channel.code = MemoryContextStrdup(cache_context, code);
		c->channel.active = DatumGetBool(column(i, 3, &isnull));
		c->channel.safety_stock = DatumGetInt32(column(i, 4, &isnull));
		c->channel.restricted = DatumGetBool(column(i, 5, &isnull));
		if (!oms_parse_strategy(TextDatumGetCString(column(i, 6, &isnull)), &c->channel.strategy))
			c->channel.strategy = OMS_FEWEST_SHIPMENTS; /* the table's check allows no other */
		c->channel.max_shipments = DatumGetInt32(column(i, 7, &isnull));
	}

	run_latest(&channel_location_plan,
			   "SELECT channel_id, location_id, coalesce(safety_stock, -1) FROM oms.channel_location");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		ChannelLocationKey key;
		ChannelLocationEntry *e;

		key.channel_id = DatumGetInt64(column(i, 1, &isnull));
		key.location_id = DatumGetInt64(column(i, 2, &isnull));
		e = hash_search(channel_locations, &key, HASH_ENTER, &found);
		e->safety_stock = DatumGetInt32(column(i, 3, &isnull));
	}

	run_latest(&transition_plan,
			   "SELECT entity, from_status, to_status FROM oms.transition ORDER BY entity, from_status, to_status");
	transitions = MemoryContextAlloc(cache_context, sizeof(Transition) * Max(SPI_processed, 1));
	ntransitions = (int) SPI_processed;
	for (int i = 0; i < ntransitions; i++)
	{
		bool		from_null;
		Datum		from = column(i, 2, &from_null);

		transitions[i].entity = MemoryContextStrdup(cache_context, TextDatumGetCString(column(i, 1, &isnull)));
		transitions[i].from = from_null ? NULL : MemoryContextStrdup(cache_context, TextDatumGetCString(from));
		transitions[i].to = MemoryContextStrdup(cache_context, TextDatumGetCString(column(i, 3, &isnull)));
	}
}

/*
 * Makes sure the cache is current; the caller is connected to SPI.
 */
static void
cache_ensure(void)
{
	/* An invalidation that arrives while loading means: load again. */
	while (!cache_valid)
	{
		uint64		before = invalidations;

		cache_valid = true;
		PG_TRY();
		{
			cache_load();
		}
		PG_CATCH();
		{
			/* A reload cut short (a lock timeout, a cancel) leaves nothing to trust. */
			cache_valid = false;
			PG_RE_THROW();
		}
		PG_END_TRY();
		if (invalidations != before)
			cache_valid = false;
	}
}

/*
 * Copies the channel with code into *channel (its code allocated in the
 * current memory context); false if there is none.
 */
bool
oms_find_channel(const char *code, OmsChannel *channel)
{
	CodeEntry  *c;

	if (strlen(code) >= CODE_KEY_SIZE)
		return false;
	cache_ensure();
	c = hash_search(channels, code, HASH_FIND, NULL);
	if (c == NULL)
		return false;
	*channel = c->channel;
	channel->code = pstrdup(c->channel.code);
	return true;
}

/*
 * Copies the location with id into *location (its code allocated in the
 * current memory context); false if there is none.
 */
bool
oms_find_location(int64 id, OmsLocation *location)
{
	LocationEntry *e;

	cache_ensure();
	e = hash_search(locations, &id, HASH_FIND, NULL);
	if (e == NULL)
		return false;
	*location = e->location;
	location->code = pstrdup(e->location.code);
	return true;
}

/*
 * Returns the id of the location with code, or 0.
 */
int64
oms_find_location_id(const char *code)
{
	CodeEntry  *c;

	if (strlen(code) >= CODE_KEY_SIZE)
		return 0;
	cache_ensure();
	c = hash_search(location_codes, code, HASH_FIND, NULL);
	return c ? c->id : 0;
}

/*
 * Returns a copy of every location (codes allocated in the current memory
 * context); *n is set to their number.
 */
OmsLocation *
oms_all_locations(int *n)
{
	HASH_SEQ_STATUS status;
	LocationEntry *e;
	OmsLocation *all;
	int			i = 0;

	cache_ensure();
	all = palloc(sizeof(OmsLocation) * Max(hash_get_num_entries(locations), 1));
	hash_seq_init(&status, locations);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		all[i] = e->location;
		all[i].code = pstrdup(e->location.code);
		i++;
	}
	*n = i;
	return all;
}

/*
 * Whether channel may use location_id; if so, sets *safety_stock to the
 * units it keeps back there.
 */
bool
oms_channel_may_use(const OmsChannel *channel, int64 location_id, int32 *safety_stock)
{
	ChannelLocationKey key;
	ChannelLocationEntry *e;

	cache_ensure();
	key.channel_id = channel->id;
	key.location_id = location_id;
	e = hash_search(channel_locations, &key, HASH_FIND, NULL);
	if (e == NULL && channel->restricted)
		return false;
	*safety_stock = (e && e->safety_stock >= 0) ? e->safety_stock : channel->safety_stock;
	return true;
}

/*
 * Whether entity may go from status from to status to.
 */
bool
oms_transition_legal(const char *entity, const char *from, const char *to)
{
	cache_ensure();
	for (int i = 0; i < ntransitions; i++)
		if (strcmp(transitions[i].entity, entity) == 0 && transitions[i].from &&
			strcmp(transitions[i].from, from) == 0 && strcmp(transitions[i].to, to) == 0)
			return true;
	return false;
}

/*
 * The statuses entity may go to from status from, comma-separated, or NULL
 * if from is final.
 */
char *
oms_transition_next(const char *entity, const char *from)
{
	StringInfoData buf;

	cache_ensure();
	initStringInfo(&buf);
	for (int i = 0; i < ntransitions; i++)
		if (strcmp(transitions[i].entity, entity) == 0 && transitions[i].from &&
			strcmp(transitions[i].from, from) == 0)
			appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", transitions[i].to);
	return buf.len > 0 ? buf.data : NULL;
}

/*
 * Statement trigger on the cached tables: tells every backend to reload.
 *
 * On Citus the trigger fires on a shard of the reference table (named
 * <table>_<shard id>), whose invalidation no cache watches: then the table
 * the shard belongs to is invalidated as well, on the node the shard is on
 * (the coordinator keeps a copy of every reference table).
 */
Datum
oms_master_changed(PG_FUNCTION_ARGS)
{
	Relation	rel = oms_trigger_data(fcinfo, "oms.master_changed")->tg_relation;
	const char *name = RelationGetRelationName(rel);
	const char *suffix = strrchr(name, '_');

	CacheInvalidateRelcache(rel);
	if (suffix != NULL && suffix[1] != '\0' && strspn(suffix + 1, "0123456789") == strlen(suffix + 1))
	{
		char	   *table = pnstrdup(name, suffix - name);
		Oid			relid = get_relname_relid(table, RelationGetNamespace(rel));

		if (OidIsValid(relid))
			CacheInvalidateRelcacheByRelid(relid);
	}
	PG_RETURN_POINTER(NULL);
}
