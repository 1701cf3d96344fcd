/*-------------------------------------------------------------------------
 *
 * citus_shard_map.c
 *	  Which of segext's tables Citus distributes, and their shards on this
 *	  node: a map read from Citus's metadata (pg_dist_partition,
 *	  pg_dist_shard) of each local shard to its table and shard group, of
 *	  each shard group and table to the local shard, of each reference
 *	  table to its local placement, of each distributed table to its
 *	  distribution column and of each shard id to its table's name; with it
 *	  the catalog facts the planner hook needs (whether segext.companies is
 *	  distributed, the functions and operator it puts into statements).  The
 *	  map is read again when a relation it does not know turns up.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "citus.h"
#include "citus_shard_map.h"

#include <ctype.h>

#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "objectid.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

/* A shard of one of segext's tables on this node, by its shard id. */
typedef struct ShardName
{
	int64		shardid;		/* key */
	char		table[NAMEDATALEN]; /* the name of its table */
} ShardName;

/* One of segext's reference tables and its local placement. */
typedef struct ReferenceTable
{
	Oid			table;			/* key */
	Oid			placement;		/* its local placement */
} ReferenceTable;

/* The local shard of a table in a shard group. */
typedef struct GroupKey
{
	Oid			table;
	int32		group;
} GroupKey;

typedef struct GroupEntry
{
	GroupKey	key;
	Oid			shard;
} GroupEntry;

/* A hash-distributed table of segext and its distribution column. */
typedef struct DistributedTable
{
	Oid			table;			/* key */
	AttrNumber	column;
} DistributedTable;

static int	citus_loaded = -1;	/* -1 unknown, 0 no, 1 yes */
static HTAB *shards_by_oid = NULL;
static HTAB *shards_by_group = NULL;
static HTAB *reference_tables = NULL;
static HTAB *distributed_tables = NULL;
static HTAB *shards_by_id = NULL;
static bool map_stale = false;
static bool map_building = false;
static Oid	last_unknown_relid = InvalidOid;
static CitusCatalog catalog;

/*
 * segext_citus_shard_table returns the distributed table of a local shard
 * of one of segext's tables, or InvalidOid (no catalog access: it is called
 * from relcache callbacks).
 */
Oid
segext_citus_shard_table(Oid relid)
{
	ShardEntry *entry;

	if (shards_by_oid == NULL)
		return InvalidOid;
	entry = hash_search(shards_by_oid, &relid, HASH_FIND, NULL);
	if (entry != NULL)
		return entry->table;
	/* any other relation may have been distributed or made since */
	map_stale = true;
	return InvalidOid;
}

/*
 * segext_citus_local_index returns the index of a local shard that
 * corresponds to an index of its table (Citus names it after the index and
 * the shard id), or the index itself when the table is not a shard.
 */
Oid
segext_citus_local_index(Oid index, Oid table, Oid local_table)
{
	const char *table_name;
	const char *shard_name;
	const char *index_name;
	char		name[NAMEDATALEN * 2];
	Oid			shard_index;

	if (local_table == table)
		return index;
	table_name = get_rel_name(table);
	shard_name = get_rel_name(local_table);
	index_name = get_rel_name(index);
	if (table_name == NULL || shard_name == NULL || index_name == NULL ||
		strlen(shard_name) <= strlen(table_name))
		elog(ERROR, "relation %u is not a shard of relation %u", local_table, table);
	snprintf(name, sizeof(name), "%s%s", index_name, shard_name + strlen(table_name));
	shard_index = get_relname_relid(name, get_rel_namespace(local_table));
	if (!OidIsValid(shard_index))
		elog(ERROR, "shard %s has no index %s", shard_name, name);
	return shard_index;
}

/*
 * segext_citus_shard_id_table returns the name of the table of a shard of
 * segext's tables on this node by its shard id, or NULL.
 */
const char *
segext_citus_shard_id_table(int64 shardid)
{
	ShardName  *entry;

	if (shards_by_id == NULL)
		return NULL;
	entry = hash_search(shards_by_id, &shardid, HASH_FIND, NULL);
	return entry != NULL ? entry->table : NULL;
}

/* citus_is_loaded tells whether the Citus library is loaded in this server. */
bool
citus_is_loaded(void)
{
	if (citus_loaded < 0)
		citus_loaded = GetConfigOption("citus.node_conninfo", true, false) != NULL ? 1 : 0;
	return citus_loaded == 1;
}

/* shard_map_create makes one of the maps of shard_map_build, in TopMemoryContext. */
static HTAB *
shard_map_create(const char *name, long size, Size keysize, Size entrysize)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = keysize;
	ctl.entrysize = entrysize;
	ctl.hcxt = TopMemoryContext;
	return hash_create(name, size, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* shard_maps_reset empties the maps and the catalog facts. */
static void
shard_maps_reset(void)
{
	if (shards_by_oid != NULL)
		hash_destroy(shards_by_oid);
	if (shards_by_group != NULL)
		hash_destroy(shards_by_group);
	if (reference_tables != NULL)
		hash_destroy(reference_tables);
	if (distributed_tables != NULL)
		hash_destroy(distributed_tables);
	if (shards_by_id != NULL)
		hash_destroy(shards_by_id);
	map_stale = false;
	memset(&catalog, 0, sizeof(catalog));
	shards_by_oid = shard_map_create("segext shards", 256, sizeof(Oid), sizeof(ShardEntry));
	shards_by_group = shard_map_create("segext shard groups", 256, sizeof(GroupKey), sizeof(GroupEntry));
	reference_tables = shard_map_create("segext reference tables", 32, sizeof(Oid), sizeof(ReferenceTable));
	distributed_tables = shard_map_create("segext distributed tables", 32, sizeof(Oid), sizeof(DistributedTable));
	shards_by_id = shard_map_create("segext shard names", 256, sizeof(int64), sizeof(ShardName));
}

/*
 * shard_map_add enters one row of Citus's metadata (a table, a shard of it,
 * the shard's group, whether the table is a reference table, its
 * distribution column) into the maps, when the shard is on this node.
 */
static void
shard_map_add(HeapTuple tuple, TupleDesc desc, Oid nsp)
{
	bool		isnull;
	Oid			table = DatumGetObjectId(SPI_getbinval(tuple, desc, 1, &isnull));
	int64		shardid = DatumGetInt64(SPI_getbinval(tuple, desc, 2, &isnull));
	int32		group = DatumGetInt32(SPI_getbinval(tuple, desc, 3, &isnull));
	bool		reference = DatumGetBool(SPI_getbinval(tuple, desc, 4, &isnull));
	char	   *table_name = get_rel_name(table);
	char		name[NAMEDATALEN * 2];
	Oid			shard;
	ShardEntry *entry;
	GroupEntry *gentry;
	GroupKey	key;

	if (table_name == NULL)
		return;
	if (!reference)
	{
		char	   *column = SPI_getvalue(tuple, desc, 5);
		DistributedTable *dist = hash_search(distributed_tables, &table, HASH_ENTER, NULL);

		dist->column = column != NULL ? get_attnum(table, column) : InvalidAttrNumber;
	}
	snprintf(name, sizeof(name), "%s_" INT64_FORMAT, table_name, shardid);
	shard = get_relname_relid(name, nsp);
	if (!OidIsValid(shard))
		return;					/* the shard is on another node */
	{
		ShardName  *named = hash_search(shards_by_id, &shardid, HASH_ENTER, NULL);

		strlcpy(named->table, table_name, NAMEDATALEN);
	}
	entry = hash_search(shards_by_oid, &shard, HASH_ENTER, NULL);
	entry->table = table;
	entry->reference = reference;
	entry->group = group;
	if (reference)
	{
		ReferenceTable *ref = hash_search(reference_tables, &table, HASH_ENTER, NULL);

		ref->placement = shard;
		return;
	}
	memset(&key, 0, sizeof(key));
	key.table = table;
	key.group = group;
	gentry = hash_search(shards_by_group, &key, HASH_ENTER, NULL);
	gentry->shard = shard;
}

/* catalog_read looks up the catalog facts of citus_catalog (needs SPI). */
static void
catalog_read(Oid nsp)
{
	int			ret;

	/* by catalog lookups: a role without USAGE on schema segext plans here too */
	catalog.current_company_fn = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
										 CStringGetDatum("current_company_id"),
										 PointerGetDatum(buildoidvector(NULL, 0)),
										 ObjectIdGetDatum(nsp));
	{
		Oid			objectid = segext_objectid_type();
		Oid			checked_args[2] = {objectid, REGCLASSOID};
		Oid			kept_args[4] = {objectid, objectid, TEXTOID, TEXTOID};

		catalog.written_company_fn = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
											 CStringGetDatum("written_company"),
											 PointerGetDatum(buildoidvector(&objectid, 1)),
											 ObjectIdGetDatum(nsp));
		catalog.view_checked_company_fn = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
												  CStringGetDatum("view_checked_company"),
												  PointerGetDatum(buildoidvector(checked_args, 2)),
												  ObjectIdGetDatum(nsp));
		catalog.company_kept_fn = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
										  CStringGetDatum("company_kept"),
										  PointerGetDatum(buildoidvector(kept_args, 4)),
										  ObjectIdGetDatum(nsp));
		catalog.objectid_eq_op = OpernameGetOprid(list_make2(makeString("pg_catalog"), makeString("=")),
										  objectid, objectid);
	}
	{
		Oid			companies = get_relname_relid("companies", nsp);
		Oid			types[1] = {REGCLASSOID};
		Datum		values[1] = {ObjectIdGetDatum(companies)};

		ret = SPI_execute_with_args("SELECT FROM pg_catalog.pg_dist_partition AS d "
									"WHERE d.logicalrelid OPERATOR(pg_catalog.=) $1",
									1, types, values, NULL, true, 1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
		catalog.segext_distributed = OidIsValid(companies) && SPI_processed == 1;
	}
}

/*
 * citus_shard_map_build reads the local shards of segext's hash-distributed tables
 * from Citus's metadata into the maps (empty where there are none), and
 * the catalog facts of citus_catalog.
 */
void
citus_shard_map_build(void)
{
	Oid			nsp;
	int			ret;

	shard_maps_reset();
	nsp = get_namespace_oid("segext", true);
	if (!OidIsValid(nsp) || !OidIsValid(get_extension_oid("citus", true)) ||
		!OidIsValid(get_extension_oid("segext", true)) ||
		!OidIsValid(get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE)) ||
		!OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE)))
		return;

	map_building = true;
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		ret = SPI_execute("SELECT p.logicalrelid::pg_catalog.oid, s.shardid, "
						  "COALESCE(s.shardminvalue::pg_catalog.int4, 0), p.partmethod OPERATOR(pg_catalog.=) 'n', "
						  "CASE WHEN p.partmethod OPERATOR(pg_catalog.=) 'h' "
						  "THEN pg_catalog.column_to_column_name(p.logicalrelid, p.partkey) END "
						  "FROM pg_catalog.pg_dist_partition AS p "
						  "JOIN pg_catalog.pg_dist_shard AS s ON s.logicalrelid OPERATOR(pg_catalog.=) p.logicalrelid "
						  "JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) p.logicalrelid "
						  "WHERE c.relnamespace OPERATOR(pg_catalog.=) 'segext'::pg_catalog.regnamespace "
						  "AND p.partmethod OPERATOR(pg_catalog.=) ANY ('{h,n}')", true, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
		for (uint64 i = 0; i < SPI_processed; i++)
			shard_map_add(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, nsp);
		catalog_read(nsp);
		SPI_finish();
	}
	PG_FINALLY();
	{
		map_building = false;
	}
	PG_END_TRY();
}

/*
 * citus_shard_map_lookup finds the entry of a local shard; an unknown relation of
 * schema segext that is not one of its tables (a shard made after the maps
 * were read) makes it read them again, once per such relation.
 */
bool
citus_shard_map_lookup(Oid relid, ShardEntry **entry)
{
	Oid			nsp;

	if (shards_by_oid == NULL || map_stale)
		citus_shard_map_build();
	*entry = hash_search(shards_by_oid, &relid, HASH_FIND, NULL);
	if (*entry != NULL)
		return !(*entry)->reference;
	if (relid == last_unknown_relid)
		return false;
	nsp = get_namespace_oid("segext", true);
	if (!OidIsValid(nsp) || get_rel_namespace(relid) != nsp || get_rel_relkind(relid) != RELKIND_RELATION)
		return false;
	{
		char	   *name = get_rel_name(relid);
		size_t		len = name != NULL ? strlen(name) : 0;

		/* a shard is named after its table, "_", the shard id */
		if (len == 0 || !isdigit((unsigned char) name[len - 1]))
			return false;
	}
	last_unknown_relid = relid;
	citus_shard_map_build();
	*entry = hash_search(shards_by_oid, &relid, HASH_FIND, NULL);
	return *entry != NULL && !(*entry)->reference;
}

/* citus_is_distributed_table tells whether a table is one of segext's hash-distributed tables. */
bool
citus_is_distributed_table(Oid relid)
{
	return distributed_tables != NULL && hash_search(distributed_tables, &relid, HASH_FIND, NULL) != NULL;
}

/* citus_found_loaded tells whether citus_is_loaded has found Citus loaded (no lookup). */
bool
citus_found_loaded(void)
{
	return citus_loaded == 1;
}

/* citus_shard_map_building tells whether the map is being read (its queries plan as usual). */
bool
citus_shard_map_building(void)
{
	return map_building;
}

/* citus_shard_map_ready tells whether the map has been read in this backend. */
bool
citus_shard_map_ready(void)
{
	return shards_by_oid != NULL;
}

/* citus_shard_map_ensure reads the map when it has not been read or is stale. */
void
citus_shard_map_ensure(void)
{
	if (shards_by_oid == NULL || map_stale)
		citus_shard_map_build();
}

/* citus_shard_map_forget_unknown lets the next transaction look again for an unknown relation. */
void
citus_shard_map_forget_unknown(void)
{
	last_unknown_relid = InvalidOid;
}

/* citus_catalog returns the catalog facts read with the map. */
const CitusCatalog *
citus_catalog(void)
{
	return &catalog;
}

/* citus_group_shard returns the local shard of a table in a shard group, or InvalidOid. */
Oid
citus_group_shard(Oid table, int32 group)
{
	GroupKey	key;
	GroupEntry *entry;

	if (shards_by_group == NULL)
		return InvalidOid;
	memset(&key, 0, sizeof(key));
	key.table = table;
	key.group = group;
	entry = hash_search(shards_by_group, &key, HASH_FIND, NULL);
	return entry != NULL ? entry->shard : InvalidOid;
}

/* citus_reference_placement returns the local placement of a reference table, or InvalidOid. */
Oid
citus_reference_placement(Oid table)
{
	ReferenceTable *reference;

	if (reference_tables == NULL)
		return InvalidOid;
	reference = hash_search(reference_tables, &table, HASH_FIND, NULL);
	return reference != NULL ? reference->placement : InvalidOid;
}

/* citus_is_local_placement tells whether a relation is a local shard or placement of segext's tables. */
bool
citus_is_local_placement(Oid relid)
{
	return shards_by_oid != NULL && hash_search(shards_by_oid, &relid, HASH_FIND, NULL) != NULL;
}

/*
 * citus_distribution_column returns the distribution column of one of
 * segext's hash-distributed tables, or InvalidAttrNumber.
 */
AttrNumber
citus_distribution_column(Oid relid)
{
	DistributedTable *table;

	if (distributed_tables == NULL)
		return InvalidAttrNumber;
	table = hash_search(distributed_tables, &relid, HASH_FIND, NULL);
	return table != NULL ? table->column : InvalidAttrNumber;
}
