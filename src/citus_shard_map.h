/*-------------------------------------------------------------------------
 *
 * citus_shard_map.h
 *	  Which of segext's tables Citus distributes and their shards on this
 *	  node (citus_shard_map.c), for the files of segext on Citus.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_CITUS_SHARD_MAP_H
#define SEGEXT_CITUS_SHARD_MAP_H

#include "postgres.h"

#include "access/attnum.h"

/* A local shard of one of segext's hash-distributed tables. */
typedef struct ShardEntry
{
	Oid			shard;			/* key: the shard relation */
	Oid			table;			/* its distributed table */
	bool		reference;		/* a placement of a reference table */
	int32		group;			/* the shard group: the shard's smallest hash value */
} ShardEntry;

/* What the planner hook reads of the catalog with the map. */
typedef struct CitusCatalog
{
	bool		segext_distributed; /* segext.companies is distributed */
	Oid			current_company_fn; /* segext.current_company_id() */
	Oid			written_company_fn; /* segext.written_company(objectid) */
	Oid			view_checked_company_fn;	/* segext.view_checked_company(objectid, regclass) */
	Oid			company_kept_fn;	/* segext.company_kept(objectid, objectid, text, text) */
	Oid			objectid_eq_op; /* objectid = objectid */
} CitusCatalog;

extern bool citus_is_loaded(void);
extern bool citus_found_loaded(void);

extern void citus_shard_map_build(void);
extern void citus_shard_map_ensure(void);
extern bool citus_shard_map_building(void);
extern bool citus_shard_map_ready(void);
extern void citus_shard_map_forget_unknown(void);
extern const CitusCatalog *citus_catalog(void);

extern bool citus_shard_map_lookup(Oid relid, ShardEntry **entry);
extern Oid	citus_group_shard(Oid table, int32 group);
extern Oid	citus_reference_placement(Oid table);
extern bool citus_is_local_placement(Oid relid);
extern bool citus_is_distributed_table(Oid relid);
extern AttrNumber citus_distribution_column(Oid relid);
extern const char *segext_citus_shard_id_table(int64 shardid);

#endif							/* SEGEXT_CITUS_SHARD_MAP_H */
