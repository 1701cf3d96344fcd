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
 * part matches.  A part is indexable when all its criteria are on one field
 * and each is eq with a string value, in with string values only, or begins
 * (all compared byte for byte): it matches only rows where that field is
 * present and equals one of the strings or begins with one of the prefixes.
 * The n-th indexable part on a field of a segment belongs to column (field,
 * n) (n is 0 unless a segment has several indexable parts on one field).
 * Each (column, value) and (column, prefix) of those criteria keeps a bitmap
 * of its segments; each column keeps a bitmap of the segments with no part
 * in it.  Per row, each column's field is looked up once and probed: whole,
 * and cut to each length that a prefix in that column has.  A segment is a
 * candidate when, in every column, it has no part or the row satisfies its
 * part (the AND over columns of the OR of the probed bitmaps); so segments
 * without indexable parts are always candidates.  Numeric values (compared
 * as numbers) and every other operator are not indexed.
 *
 *-------------------------------------------------------------------------
 */
#include "segment_cache.h"

#include "segext.h"
#include "module_init.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "trigger_check.h"
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

/*
 * One key of the dispatch index, (column, value) for eq/in values or
 * (column, prefix) for begins values, and the segments whose part in that
 * column it satisfies.
 */
typedef struct DispatchKey
{
	int			column_key;		/* 2 * column + (1 for a prefix) */
	int			len;
	const char *value;			/* points into a cached criteria value */
} DispatchKey;

typedef struct DispatchEntry
{
	DispatchKey key;			/* hash key */
	uint32		hash;			/* dispatch_hash of the key */
	char		status;			/* simplehash slot status */
	uint64	   *segments;		/* bitmap, nwords words */
} DispatchEntry;

static inline uint32 dispatch_hash(int key, const char *value, int len);

/* dispatch_key_equal says whether two dispatch keys are the same. */
static inline bool
dispatch_key_equal(DispatchKey a, DispatchKey b)
{
	return a.column_key == b.column_key && a.len == b.len &&
		memcmp(a.value, b.value, a.len) == 0;
}

/*
 * A simplehash table of dispatch entries; probes pass the hash, which
 * segext_segment_candidates computes for every prefix in one pass.
 */
#define SH_PREFIX dispatchhash
#define SH_ELEMENT_TYPE DispatchEntry
#define SH_KEY_TYPE DispatchKey
#define SH_KEY key
#define SH_HASH_KEY(tb, k) dispatch_hash((k).column_key, (k).value, (k).len)
#define SH_EQUAL(tb, a, b) dispatch_key_equal(a, b)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * A column of the dispatch index: the n-th indexable part on one field of
 * each segment (n is 0 for all but segments with several such parts).
 */
typedef struct DispatchColumn
{
	const char *name;			/* field name, points into cached criteria */
	int			len;
	int			occurrence;		/* n */
	bool		has_values;		/* some eq/in value is indexed */
	int			nprefix_lens;
	int		   *prefix_lens;	/* distinct begins value lengths, ascending */
	uint64	   *unused;			/* bitmap: segments without a part here */
} DispatchColumn;

/* The dispatch index of one segment list (see the file header). */
struct SegextDispatchIndex
{
	int			nwords;
	int			ncolumns;
	DispatchColumn *columns;
	dispatchhash_hash *table;
	uint64	   *all;			/* bitmap of every segment */
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
	segext_register_relcache_callback(segment_cache_callback);
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
 * company_must_exist raises 23503 unless the company exists (read as
 * segment_list_build reads, with its snapshot).
 */
static void
company_must_exist(const SegextObjectId *company, Oid *argtypes, Datum *values,
				   Snapshot snapshot)
{
	static const char *company_query =
		"SELECT 1 FROM segext.companies c WHERE c.id OPERATOR(pg_catalog.=) $1";
	SPIPlanPtr	plan;
	int			ret;

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
}

/*
 * segment_list_fill compiles the rows of the segments query into the list
 * (allocated in context): the default group from segment 1, and each
 * active segment with field-only criteria; the numbers of the segments
 * left out for criteria on customer aggregates go to skipped.  Returns the
 * number of compiled segments.
 */
static int
segment_list_fill(SegextSegmentList *list, MemoryContext context, StringInfo skipped)
{
	uint64		i;
	int			n = 0;

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
				appendStringInfoString(skipped, ", ");
			appendStringInfo(skipped, "%d", number);
			list->nskipped++;
			continue;
		}
		copy = (SegextCriteria *) MemoryContextAlloc(context, VARSIZE(detoasted));
		memcpy(copy, detoasted, VARSIZE(detoasted));
		list->segments[n].number = number;
		list->segments[n].group_id = group_id;
		list->segments[n].criteria = copy;
		{
			MemoryContext old = MemoryContextSwitchTo(context);

			list->segments[n].plan = segext_row_plan_create(copy);
			MemoryContextSwitchTo(old);
		}
		n++;
	}
	return n;
}

/* warn_skipped warns that event stamping leaves out segments with criteria on customer aggregates. */
static void
warn_skipped(const SegextObjectId *company, int nskipped, const char *skipped)
{
	char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

	segext_objectid_to_hex(company, hex);
	ereport(WARNING,
			(errcode(ERRCODE_WARNING),
			 errmsg_plural("event stamping skips %d active segment of company \"%s\"",
						   "event stamping skips %d active segments of company \"%s\"",
						   nskipped, nskipped, hex),
			 errdetail_plural("Segment %s has criteria on customer aggregates, which an event cannot be matched against.",
							  "Segments %s have criteria on customer aggregates, which an event cannot be matched against.",
							  nskipped, skipped),
			 errhint("Use field criteria only in segments meant to classify events; segext.check_event_segments() lists the segments left out.")));
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
		" WHERE s.company_id OPERATOR(pg_catalog.=) $1"
		"   AND (s.number OPERATOR(pg_catalog.=) 1"
		"        OR (s.active AND s.number OPERATOR(pg_catalog.>=) 2))"
		" ORDER BY s.position, s.number";
	Oid			objectid_type;
	Oid			argtypes[1];
	Datum		values[1];
	Oid			save_userid;
	int			save_sec_context;
	Oid			owner;
	SegextSegmentList *list;
	SPIPlanPtr	plan;
	Snapshot	snapshot;
	int			ret;
	StringInfoData skipped;

	initStringInfo(&skipped);
	objectid_type = segext_objectid_type();
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

	company_must_exist(company, argtypes, values, snapshot);

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

	list->nsegments = segment_list_fill(list, context, &skipped);
	list->nwords = (list->nsegments + 63) / 64;
	{
		MemoryContext old = MemoryContextSwitchTo(context);

		list->index = dispatch_build(list);
		MemoryContextSwitchTo(old);
	}

	if (list->nskipped > 0 && skipped_changed(company, skipped.data))
		warn_skipped(company, list->nskipped, skipped.data);

	UnregisterSnapshot(snapshot);
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec_context);

	return list;
}

/*
 * The dispatch hash is FNV-1a over the key's 4 bytes and the value's bytes,
 * finished by a murmur mix; so the hashes of all prefixes of a row's value
 * come from one pass over it (dispatch_hash_step).
 */
#define DISPATCH_FNV_PRIME	16777619u

/* dispatch_hash_start starts the hash of a value under a key. */
static inline uint32
dispatch_hash_start(int key)
{
	uint32		h = 2166136261u;
	uint32		k = (uint32) key;
	int			i;

	for (i = 0; i < 4; i++, k >>= 8)
		h = (h ^ (k & 0xff)) * DISPATCH_FNV_PRIME;
	return h;
}

/* dispatch_hash_step adds one byte of the value to a running hash. */
static inline uint32
dispatch_hash_step(uint32 h, char c)
{
	return (h ^ (unsigned char) c) * DISPATCH_FNV_PRIME;
}

/* dispatch_hash hashes a key (field and kind) and a whole value. */
static inline uint32
dispatch_hash(int key, const char *value, int len)
{
	uint32		h = dispatch_hash_start(key);
	int			i;

	for (i = 0; i < len; i++)
		h = dispatch_hash_step(h, value[i]);
	return murmurhash32(h);
}

/* dispatch_add marks segment seg under (key, value). */
static void
dispatch_add(SegextDispatchIndex *index, int key, const char *value, int len,
			 int seg)
{
	DispatchKey dkey = {key, len, value};
	DispatchEntry *e;
	bool		found;

	e = dispatchhash_insert(index->table, dkey, &found);
	if (!found)
		e->segments = MemoryContextAllocZero(index->table->ctx, sizeof(uint64) * index->nwords);
	e->segments[seg / 64] |= UINT64CONST(1) << (seg % 64);
}

/*
 * indexable_part tells whether criteria [start, end) of a part are all on
 * one field and each is eq with a string value, in with string values only,
 * or begins: then the part matches only rows where that field is present
 * and equals one of the strings or begins with one of the prefixes.
 */
static bool
indexable_part(const SegextCriteria *cr, uint32 start, uint32 end)
{
	const SegextCriterion *crits = SEGEXT_CRITERIA_CRIT(cr);
	uint32		i;

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
		}
		else if (c->op == SEGEXT_OP_IN)
		{
			const SegextString *items = SEGEXT_CRIT_ITEMS(cr, c);
			const uint8 *flags = (const uint8 *) (items + c->nitems);
			uint32		j;

			for (j = 0; j < c->nitems; j++)
				if (flags[j])
					return false;	/* a number in the list */
		}
		else if (c->op != SEGEXT_OP_BEGINS)
			return false;		/* begins compares bytes, like strings */
	}
	return true;
}

/*
 * dispatch_column returns the index's column of the occurrence-th
 * indexable part on a field, adding it.
 */
static int
dispatch_column(SegextDispatchIndex *index, const char *name, int len,
				int occurrence, int maxcolumns)
{
	DispatchColumn *col;
	int			c;

	for (c = 0; c < index->ncolumns; c++)
	{
		col = &index->columns[c];
		if (col->occurrence == occurrence && col->len == len &&
			memcmp(col->name, name, len) == 0)
			return c;
	}
	Assert(index->ncolumns < maxcolumns);
	col = &index->columns[index->ncolumns];
	col->name = name;
	col->len = len;
	col->occurrence = occurrence;
	col->unused = palloc(sizeof(uint64) * index->nwords);
	memcpy(col->unused, index->all, sizeof(uint64) * index->nwords);
	return index->ncolumns++;
}

/* dispatch_prefix_len records a begins value length of a column. */
static void
dispatch_prefix_len(DispatchColumn *col, int len)
{
	int			i;

	for (i = 0; i < col->nprefix_lens && col->prefix_lens[i] < len; i++)
		;
	if (i < col->nprefix_lens && col->prefix_lens[i] == len)
		return;
	if (col->nprefix_lens == 0)
		col->prefix_lens = palloc(sizeof(int) * 4);
	else if ((col->nprefix_lens & (col->nprefix_lens - 1)) == 0 &&
			 col->nprefix_lens >= 4)
		col->prefix_lens = repalloc(col->prefix_lens,
									sizeof(int) * col->nprefix_lens * 2);
	memmove(col->prefix_lens + i + 1, col->prefix_lens + i,
			sizeof(int) * (col->nprefix_lens - i));
	col->prefix_lens[i] = len;
	col->nprefix_lens++;
}

/*
 * dispatch_build makes the dispatch index of a list (in the current memory
 * context): the n-th indexable part on field f of a segment goes to column
 * (f, n); the segment is marked under each (column, value) of its eq/in
 * criteria and each (column, prefix) of its begins criteria there, and is
 * cleared from the column's unused bitmap.
 */
static SegextDispatchIndex *
dispatch_build(const SegextSegmentList *list)
{
	SegextDispatchIndex *index = palloc0(sizeof(SegextDispatchIndex));
	int			maxparts = 0;
	int			s;

	for (s = 0; s < list->nsegments; s++)
		maxparts += list->segments[s].criteria->nparts;

	index->nwords = list->nwords;
	index->all = palloc0(sizeof(uint64) * (list->nwords + 1));
	for (s = 0; s < list->nsegments; s++)
		index->all[s / 64] |= UINT64CONST(1) << (s % 64);
	index->columns = palloc0(sizeof(DispatchColumn) * (maxparts + 1));
	index->table = dispatchhash_create(CurrentMemoryContext, 16, NULL);

	for (s = 0; s < list->nsegments; s++)
	{
		const SegextCriteria *cr = list->segments[s].criteria;
		const uint32 *part_end = SEGEXT_CRITERIA_PART_END(cr);
		const SegextCriterion *crits = SEGEXT_CRITERIA_CRIT(cr);
		uint32		p,
					start = 0;

		for (p = 0; p < cr->nparts; start = part_end[p], p++)
		{
			const char *name = SEGEXT_CRIT_STRING(cr, crits[start].str);
			int			len = crits[start].str.len;
			int			occurrence = 0;
			int			column;
			uint32		q,
						qstart = 0,
						c;

			if (!indexable_part(cr, start, part_end[p]))
				continue;
			/* earlier indexable parts of this segment on the same field */
			for (q = 0; q < p; qstart = part_end[q], q++)
				if (indexable_part(cr, qstart, part_end[q]) &&
					crits[qstart].str.len == len &&
					memcmp(SEGEXT_CRIT_STRING(cr, crits[qstart].str), name, len) == 0)
					occurrence++;
			column = dispatch_column(index, name, len, occurrence, maxparts);
			index->columns[column].unused[s / 64] &= ~(UINT64CONST(1) << (s % 64));
			for (c = start; c < part_end[p]; c++)
			{
				const SegextCriterion *crit = &crits[c];

				if (crit->op == SEGEXT_OP_EQ)
				{
					dispatch_add(index, 2 * column, SEGEXT_CRIT_STRING(cr, crit->val),
								 crit->val.len, s);
					index->columns[column].has_values = true;
				}
				else if (crit->op == SEGEXT_OP_BEGINS)
				{
					dispatch_add(index, 2 * column + 1, SEGEXT_CRIT_STRING(cr, crit->val),
								 crit->val.len, s);
					dispatch_prefix_len(&index->columns[column], crit->val.len);
				}
				else
				{
					const SegextString *items = SEGEXT_CRIT_ITEMS(cr, crit);
					uint32		j;

					for (j = 0; j < crit->nitems; j++)
						dispatch_add(index, 2 * column, SEGEXT_CRIT_STRING(cr, items[j]),
									 items[j].len, s);
					index->columns[column].has_values = true;
				}
			}
		}
	}
	return index;
}

/*
 * dispatch_probe adds to acc the segments marked under (key, value); hash
 * is dispatch_hash(key, value, len).
 */
static inline void
dispatch_probe(const SegextDispatchIndex *index, int key, const char *value,
			   int len, uint32 hash, uint64 *acc)
{
	DispatchKey dkey = {key, len, value};
	DispatchEntry *e = dispatchhash_lookup_hash(index->table, dkey, hash);
	int			w;

	if (e == NULL)
		return;
	for (w = 0; w < index->nwords; w++)
		acc[w] |= e->segments[w];
}

/*
 * segext_segment_candidates sets the bits of the segments that may match a
 * row: per column, the segments without a part there or whose part there
 * the row's field satisfies (equal to one of its strings, or beginning with
 * one of its prefixes); candidates are in every column's set.
 */
void
segext_segment_candidates(const SegextSegmentList *list,
						  SegextFieldLookup lookup, void *arg, uint64 *bits)
{
	const SegextDispatchIndex *index = list->index;
	uint64		local[16];
	uint64	   *acc = local;
	int			c;
	int			w;

	memcpy(bits, index->all, sizeof(uint64) * list->nwords);
	if (index->ncolumns == 0)
		return;
	if (list->nwords > lengthof(local))
		acc = palloc(sizeof(uint64) * list->nwords);
	for (c = 0; c < index->ncolumns; c++)
	{
		const DispatchColumn *col = &index->columns[c];
		const char *value;
		int			len;
		int			i;

		memcpy(acc, col->unused, sizeof(uint64) * list->nwords);
		/* eq, in and begins never match a missing field */
		if (lookup(arg, col->name, col->len, &value, &len))
		{
			if (col->has_values)
				dispatch_probe(index, 2 * c, value, len,
							   dispatch_hash(2 * c, value, len), acc);
			if (col->nprefix_lens > 0)
			{
				/* hash the prefixes in one pass, probing at each length used */
				uint32		h = dispatch_hash_start(2 * c + 1);
				int			done = 0;

				for (i = 0; i < col->nprefix_lens && col->prefix_lens[i] <= len; i++)
				{
					int			plen = col->prefix_lens[i];

					for (; done < plen; done++)
						h = dispatch_hash_step(h, value[done]);
					dispatch_probe(index, 2 * c + 1, value, plen, murmurhash32(h), acc);
				}
			}
		}
		for (w = 0; w < list->nwords; w++)
			bits[w] &= acc[w];
	}
	if (acc != local)
		pfree(acc);
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
	TriggerData *trigdata = segext_check_trigger_call(fcinfo, "segment_cache_invalidate", 0);

	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));

	PG_RETURN_POINTER(NULL);
}
