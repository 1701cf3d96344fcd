/*-------------------------------------------------------------------------
 *
 * segment_cache.c
 *	  Per-backend cache of each company's compiled segment list: the active
 *	  segments with field-only criteria, ordered by position then number,
 *	  with their group and a copy of their criteria.
 *
 * The cache is a hash table keyed by company id, created on first use and
 * filled lazily, one company at a time, by an SPI query on segext.segments
 * run as the owner of that table (event tables belong to users who need not
 * see segext's tables, and row level security must not hide segments from
 * the lookup).
 *
 * Invalidation follows pg_cron: a statement-level trigger on segext.segments
 * calls segext.segment_cache_invalidate(), which queues a relcache
 * invalidation of that table.  PostgreSQL applies it locally at the end of
 * the command (and when the transaction aborts) and sends it to every other
 * backend only at commit, so a rolled-back change is never seen elsewhere.
 * The relcache callback, registered once in _PG_init, only marks the cache
 * invalid and increments a generation counter; the next lookup empties the
 * table and rebuilds what it needs.  A list built while an invalidation
 * arrives is used for the current call only and not kept.
 *
 * The build query runs with the latest snapshot, as catalog lookups do, so
 * a list built inside an old REPEATABLE READ snapshot cannot outlive the
 * transaction stale.
 *
 * Each list carries a dispatch index.  A segment matches only when every
 * part matches; a part made only of eq/in criteria on one field with string
 * values (compared byte for byte) matches only rows whose field equals one
 * of those strings.  For one such part per segment (the one with the fewest
 * values), the segment is registered under each (field, value); segments
 * without such a part are always candidates.  Per row, the values of the
 * indexed fields are looked up and the registered segments added to the
 * always-candidates; every other segment cannot match the row.  Numeric
 * values (compared as numbers) and every other operator are not indexed.
 *
 *-------------------------------------------------------------------------
 */
#include "segment_cache.h"

#include "segext.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "catalog/pg_class.h"
#include "common/hashfn.h"
#include "commands/trigger.h"
#include "utils/rel.h"

/* One (field, value) of the dispatch index and the segments under it. */
typedef struct DispatchEntry
{
	uint32		hash;
	int			field;			/* index into the index's fields; -1: empty */
	const char *value;			/* points into a cached criteria value */
	int			len;
	int			nsegs;
	int			maxsegs;
	int		   *segs;			/* indexes into the list, ascending */
} DispatchEntry;

/* The dispatch index of one segment list (see the file header). */
struct SegextDispatchIndex
{
	int			nfields;
	const char **field_names;	/* point into cached criteria values */
	int		   *field_lens;
	int			table_size;		/* power of 2, at most half full */
	int			table_used;
	DispatchEntry *table;
	uint64	   *always;			/* segments without an indexed part */
};

/* A hash entry: the list of one company. */
typedef struct SegmentCacheEntry
{
	SegextObjectId company;		/* hash key */
	SegextSegmentList *list;
} SegmentCacheEntry;

/* The skipped segments last reported for a company (hash of their list). */
typedef struct SkippedEntry
{
	SegextObjectId company;		/* hash key */
	uint32		hash;
} SkippedEntry;

uint64		segext_segment_cache_generation = 1;

static HTAB *skipped_reported = NULL;

/* Whether the hash table holds lists that are still valid. */
static bool segment_cache_valid = false;

/* OID of segext.segments when the cache was last built (for the callback). */
static Oid	segments_relid = InvalidOid;

static MemoryContext segment_cache_context = NULL;
static HTAB *segment_cache = NULL;

static void segment_cache_callback(Datum arg, Oid relid);
static void segment_cache_reset(void);
static SegextSegmentList *segment_list_build(const SegextObjectId *company,
											 MemoryContext context);
static Oid	segments_table_oid(void);
static Oid	segments_table_owner(void);
static bool skipped_changed(const SegextObjectId *company, const char *skipped);
static SegextDispatchIndex *dispatch_build(const SegextSegmentList *list);

/* segext_segment_cache_init registers the relcache callback, once per backend. */
void
segext_segment_cache_init(void)
{
	CacheRegisterRelcacheCallback(segment_cache_callback, (Datum) 0);
}

/*
 * segment_cache_callback marks the cache invalid when segext.segments, or
 * every relation (InvalidOid), is invalidated.  It only marks: rebuilding
 * happens at the next lookup, outside the callback.
 */
static void
segment_cache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == segments_relid)
	{
		segment_cache_valid = false;
		segext_segment_cache_generation++;
	}
}

/* segments_table_oid returns the OID of segext.segments, failing if absent. */
static Oid
segments_table_oid(void)
{
	Oid			nsp = get_namespace_oid("segext", false);
	Oid			relid = get_relname_relid("segments", nsp);

	if (!OidIsValid(relid))
		elog(ERROR, "relation \"segext.segments\" does not exist");
	return relid;
}

/* segments_table_owner returns the role owning segext.segments. */
static Oid
segments_table_owner(void)
{
	Oid			relid = segments_table_oid();
	HeapTuple	tuple;
	Oid			owner;

	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

/*
 * skipped_changed tells whether the skipped segments of a company differ
 * from those last reported by this backend, and remembers them, so that the
 * warning is given once per backend and change, not at every rebuild.
 */
static bool
skipped_changed(const SegextObjectId *company, const char *skipped)
{
	SkippedEntry *entry;
	uint32		hash = hash_bytes((const unsigned char *) skipped, strlen(skipped));
	bool		found;

	if (skipped_reported == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(SegextObjectId);
		ctl.entrysize = sizeof(SkippedEntry);
		skipped_reported = hash_create("segext skipped segments", 16, &ctl,
									   HASH_ELEM | HASH_BLOBS);
	}
	entry = (SkippedEntry *) hash_search(skipped_reported, company, HASH_ENTER, &found);
	if (found && entry->hash == hash)
		return false;
	entry->hash = hash;
	return true;
}

/* segment_cache_reset empties the hash table and marks the cache valid. */
static void
segment_cache_reset(void)
{
	HASHCTL		ctl;

	if (segment_cache_context == NULL)
		segment_cache_context = AllocSetContextCreate(CacheMemoryContext,
													  "segext segment cache",
													  ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(segment_cache_context);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(SegextObjectId);
	ctl.entrysize = sizeof(SegmentCacheEntry);
	ctl.hcxt = segment_cache_context;
	segment_cache = hash_create("segext segment cache", 64, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	segments_relid = segments_table_oid();
	segment_cache_valid = true;
}

/*
 * segext_segment_cache_lookup returns the compiled segment list of a
 * company, building it if needed.  The list stays valid until the next call.
 * An unknown company is an error (23503).
 */
const SegextSegmentList *
segext_segment_cache_lookup(const SegextObjectId *company)
{
	int			attempt;

	for (attempt = 0;; attempt++)
	{
		SegmentCacheEntry *entry;
		SegextSegmentList *list;
		MemoryContext listcxt;
		uint64		generation;
		bool		found;

		if (!segment_cache_valid || segment_cache == NULL)
			segment_cache_reset();

		entry = (SegmentCacheEntry *) hash_search(segment_cache, company,
												  HASH_FIND, NULL);
		if (entry != NULL)
			return entry->list;

		/*
		 * Build before entering the key: building can deliver an
		 * invalidation, which would leave the new list stale.
		 */
		generation = segext_segment_cache_generation;
		listcxt = AllocSetContextCreate(segment_cache_context,
										"segext segment list",
										ALLOCSET_SMALL_SIZES);
		list = segment_list_build(company, listcxt);

		if (generation == segext_segment_cache_generation && segment_cache_valid)
		{
			entry = (SegmentCacheEntry *) hash_search(segment_cache, company,
													  HASH_ENTER, &found);
			entry->list = list;
			return list;
		}

		/*
		 * Invalidated while building: try again, but after a few attempts use
		 * this list for this call only (it lives in the transaction's memory
		 * until the next reset of the cache).
		 */
		if (attempt >= 3)
		{
			MemoryContextSetParent(listcxt, CurTransactionContext);
			return list;
		}
		MemoryContextDelete(listcxt);
	}
}

/*
 * segment_list_build reads a company's active segments with SPI, as the
 * owner of segext.segments and with the latest snapshot, and returns the
 * compiled list allocated in context.
 */
static SegextSegmentList *
segment_list_build(const SegextObjectId *company, MemoryContext context)
{
	static const char *query =
		"SELECT s.number, s.group_id, s.criteria"
		"  FROM segext.segments s"
		" WHERE s.company_id OPERATOR(segext.=) $1"
		"   AND (s.number OPERATOR(pg_catalog.=) 1"
		"        OR (s.active AND s.number OPERATOR(pg_catalog.>=) 2))"
		" ORDER BY s.position, s.number";
	static const char *company_query =
		"SELECT 1 FROM segext.companies c WHERE c.id OPERATOR(segext.=) $1";
	Oid			objectid_type;
	Oid			argtypes[1];
	Datum		values[1];
	Oid			save_userid;
	int			save_sec_context;
	Oid			owner;
	SegextSegmentList *list;
	SPIPlanPtr	plan;
	Snapshot	snapshot;
	uint64		i;
	int			n = 0;
	int			ret;
	StringInfoData skipped;

	initStringInfo(&skipped);
	objectid_type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
									CStringGetDatum("objectid"),
									ObjectIdGetDatum(get_namespace_oid("segext", false)));
	argtypes[0] = objectid_type;
	values[0] = SegextObjectIdPGetDatum(company);

	/* Run as the owner of segext.segments, in a restricted context. */
	owner = segments_table_owner();
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	snapshot = RegisterSnapshot(GetLatestSnapshot());

	plan = SPI_prepare(company_query, 1, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	ret = SPI_execute_snapshot(plan, values, NULL, snapshot, InvalidSnapshot,
							   true, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
	{
		char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

		segext_objectid_to_hex(company, hex);
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("company \"%s\" does not exist", hex),
				 errdetail("An event must name the company whose segments classify it."),
				 errhint("Create the company first, or correct the company id of the event.")));
	}

	plan = SPI_prepare(query, 1, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	ret = SPI_execute_snapshot(plan, values, NULL, snapshot, InvalidSnapshot,
							   true, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(ret));

	list = MemoryContextAllocZero(context, sizeof(SegextSegmentList));
	list->company = *company;
	list->default_group = 0;
	list->segments = MemoryContextAllocZero(context,
											sizeof(SegextCachedSegment) * (SPI_processed + 1));

	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	tupdesc = SPI_tuptable->tupdesc;
		bool		isnull;
		int32		number;
		int32		group_id;
		Datum		criteria;
		struct varlena *detoasted;
		SegextCriteria *copy;

		number = DatumGetInt32(SPI_getbinval(tuple, tupdesc, 1, &isnull));
		group_id = DatumGetInt32(SPI_getbinval(tuple, tupdesc, 2, &isnull));
		criteria = SPI_getbinval(tuple, tupdesc, 3, &isnull);

		if (number == 1)
		{
			list->default_group = group_id;
			continue;
		}
		if (isnull)
			continue;			/* manual segment: members assigned explicitly */
		detoasted = pg_detoast_datum((struct varlena *) DatumGetPointer(criteria));
		if (!segext_criteria_is_field_only((SegextCriteria *) detoasted))
		{
			/* needs customer aggregates: reported below */
			if (list->nskipped > 0)
				appendStringInfoString(&skipped, ", ");
			appendStringInfo(&skipped, "%d", number);
			list->nskipped++;
			continue;
		}
		copy = (SegextCriteria *) MemoryContextAlloc(context, VARSIZE(detoasted));
		memcpy(copy, detoasted, VARSIZE(detoasted));
		list->segments[n].number = number;
		list->segments[n].group_id = group_id;
		list->segments[n].criteria = copy;
		n++;
	}
	list->nsegments = n;
	list->nwords = (n + 63) / 64;
	{
		MemoryContext old = MemoryContextSwitchTo(context);

		list->index = dispatch_build(list);
		MemoryContextSwitchTo(old);
	}

	if (list->nskipped > 0 && skipped_changed(company, skipped.data))
	{
		char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

		segext_objectid_to_hex(company, hex);
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg_plural("event stamping skips %d active segment of company \"%s\"",
							   "event stamping skips %d active segments of company \"%s\"",
							   list->nskipped, list->nskipped, hex),
				 errdetail_plural("Segment %s has criteria on customer aggregates, which an event cannot be matched against.",
								  "Segments %s have criteria on customer aggregates, which an event cannot be matched against.",
								  list->nskipped, skipped.data),
				 errhint("Use field criteria only in segments meant to classify events; segext.check_event_segments() lists the segments left out.")));
	}

	UnregisterSnapshot(snapshot);
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec_context);

	return list;
}

/* dispatch_hash hashes a field index and a value. */
static inline uint32
dispatch_hash(int field, const char *value, int len)
{
	return hash_combine(murmurhash32((uint32) field),
						hash_bytes((const unsigned char *) value, len));
}

/* dispatch_find returns the entry of (field, value), or an empty one. */
static DispatchEntry *
dispatch_find(const SegextDispatchIndex *index, int field, const char *value,
			  int len, uint32 hash)
{
	uint32		mask = index->table_size - 1;
	uint32		i = hash & mask;

	for (;;)
	{
		DispatchEntry *e = &index->table[i];

		if (e->field < 0)
			return e;
		if (e->hash == hash && e->field == field && e->len == len &&
			memcmp(e->value, value, len) == 0)
			return e;
		i = (i + 1) & mask;
	}
}

/* dispatch_add registers segment seg under (field, value). */
static void
dispatch_add(SegextDispatchIndex *index, int field, const char *value, int len,
			 int seg)
{
	uint32		hash = dispatch_hash(field, value, len);
	DispatchEntry *e;

	if ((index->table_used + 1) * 2 > index->table_size)
	{
		DispatchEntry *old = index->table;
		int			oldsize = index->table_size;
		int			i;

		index->table_size = oldsize * 2;
		index->table = palloc(sizeof(DispatchEntry) * index->table_size);
		for (i = 0; i < index->table_size; i++)
			index->table[i].field = -1;
		for (i = 0; i < oldsize; i++)
			if (old[i].field >= 0)
				*dispatch_find(index, old[i].field, old[i].value, old[i].len,
							   old[i].hash) = old[i];
		pfree(old);
	}
	e = dispatch_find(index, field, value, len, hash);
	if (e->field < 0)
	{
		e->hash = hash;
		e->field = field;
		e->value = value;
		e->len = len;
		e->nsegs = 0;
		e->maxsegs = 4;
		e->segs = palloc(sizeof(int) * e->maxsegs);
		index->table_used++;
	}
	if (e->nsegs > 0 && e->segs[e->nsegs - 1] == seg)
		return;					/* the same value twice in one part */
	if (e->nsegs == e->maxsegs)
	{
		e->maxsegs *= 2;
		e->segs = repalloc(e->segs, sizeof(int) * e->maxsegs);
	}
	e->segs[e->nsegs++] = seg;
}

/*
 * indexable_part tells whether criteria [start, end) of a part are all eq
 * or in on one field with string values only, and counts those values.
 */
static bool
indexable_part(const SegextCriteria *cr, uint32 start, uint32 end, int *nvalues)
{
	const SegextCriterion *crits = SEGEXT_CRITERIA_CRIT(cr);
	uint32		i;

	*nvalues = 0;
	if (start >= end)
		return false;
	for (i = start; i < end; i++)
	{
		const SegextCriterion *c = &crits[i];

		if (c->kind != SEGEXT_CRIT_FIELD)
			return false;
		if (c->str.len != crits[start].str.len ||
			memcmp(SEGEXT_CRIT_STRING(cr, c->str),
				   SEGEXT_CRIT_STRING(cr, crits[start].str), c->str.len) != 0)
			return false;
		if (c->op == SEGEXT_OP_EQ)
		{
			if (c->flags & SEGEXT_CF_VALUE_NUMBER)
				return false;	/* compared as a number */
			(*nvalues)++;
		}
		else if (c->op == SEGEXT_OP_IN)
		{
			const SegextString *items = SEGEXT_CRIT_ITEMS(cr, c);
			const uint8 *flags = (const uint8 *) (items + c->nitems);
			uint32		j;

			for (j = 0; j < c->nitems; j++)
				if (flags[j])
					return false;	/* a number in the list */
			*nvalues += c->nitems;
		}
		else
			return false;
	}
	return true;
}

/* dispatch_field returns the index's number of a field name, adding it. */
static int
dispatch_field(SegextDispatchIndex *index, const char *name, int len, int maxfields)
{
	int			f;

	for (f = 0; f < index->nfields; f++)
		if (index->field_lens[f] == len && memcmp(index->field_names[f], name, len) == 0)
			return f;
	Assert(index->nfields < maxfields);
	index->field_names[index->nfields] = name;
	index->field_lens[index->nfields] = len;
	return index->nfields++;
}

/*
 * dispatch_build makes the dispatch index of a list (in the current memory
 * context): for each segment, its indexable part with the fewest values, if
 * any, registers it under each (field, value) of that part.
 */
static SegextDispatchIndex *
dispatch_build(const SegextSegmentList *list)
{
	SegextDispatchIndex *index = palloc0(sizeof(SegextDispatchIndex));
	int			s;
	int			i;

	index->always = palloc0(sizeof(uint64) * (list->nwords + 1));
	index->field_names = palloc(sizeof(char *) * (list->nsegments + 1));
	index->field_lens = palloc(sizeof(int) * (list->nsegments + 1));
	index->table_size = 16;
	index->table = palloc(sizeof(DispatchEntry) * index->table_size);
	for (i = 0; i < index->table_size; i++)
		index->table[i].field = -1;

	for (s = 0; s < list->nsegments; s++)
	{
		const SegextCriteria *cr = list->segments[s].criteria;
		const uint32 *part_end = SEGEXT_CRITERIA_PART_END(cr);
		const SegextCriterion *crits = SEGEXT_CRITERIA_CRIT(cr);
		uint32		p,
					start = 0;
		int			best_start = -1;
		int			best_end = -1;
		int			best_n = 0;
		int			field;

		for (p = 0; p < cr->nparts; p++)
		{
			int			nvalues;

			if (indexable_part(cr, start, part_end[p], &nvalues) &&
				(best_start < 0 || nvalues < best_n))
			{
				best_start = start;
				best_end = part_end[p];
				best_n = nvalues;
			}
			start = part_end[p];
		}
		if (best_start < 0)
		{
			index->always[s / 64] |= UINT64CONST(1) << (s % 64);
			continue;
		}

		field = dispatch_field(index, SEGEXT_CRIT_STRING(cr, crits[best_start].str),
							   crits[best_start].str.len, list->nsegments);
		for (i = best_start; i < best_end; i++)
		{
			const SegextCriterion *c = &crits[i];

			if (c->op == SEGEXT_OP_EQ)
				dispatch_add(index, field, SEGEXT_CRIT_STRING(cr, c->val), c->val.len, s);
			else
			{
				const SegextString *items = SEGEXT_CRIT_ITEMS(cr, c);
				uint32		j;

				for (j = 0; j < c->nitems; j++)
					dispatch_add(index, field, SEGEXT_CRIT_STRING(cr, items[j]),
								 items[j].len, s);
			}
		}
	}
	return index;
}

/*
 * segext_segment_candidates sets the bits of the segments that may match a
 * row: the always-candidates and those registered under the row's values of
 * the indexed fields.
 */
void
segext_segment_candidates(const SegextSegmentList *list,
						  SegextFieldLookup lookup, void *arg, uint64 *bits)
{
	const SegextDispatchIndex *index = list->index;
	int			f;

	memcpy(bits, index->always, sizeof(uint64) * list->nwords);
	for (f = 0; f < index->nfields; f++)
	{
		const char *value;
		int			len;
		DispatchEntry *e;
		int			i;

		if (!lookup(arg, index->field_names[f], index->field_lens[f], &value, &len))
			continue;			/* eq and in never match a missing field */
		e = dispatch_find(index, f, value, len, dispatch_hash(f, value, len));
		if (e->field < 0)
			continue;
		for (i = 0; i < e->nsegs; i++)
			bits[e->segs[i] / 64] |= UINT64CONST(1) << (e->segs[i] % 64);
	}
}

PG_FUNCTION_INFO_V1(segext_segment_cache_invalidate);

/*
 * segext_segment_cache_invalidate is the statement-level trigger on
 * segext.segments: it queues a relcache invalidation of the table, which
 * every backend's callback turns into "rebuild the segment cache".
 */
Datum
segext_segment_cache_invalidate(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("segment_cache_invalidate: must be called as trigger")));

	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));

	PG_RETURN_POINTER(NULL);
}
