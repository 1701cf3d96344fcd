/*-------------------------------------------------------------------------
 *
 * compiled_segments.c
 *	  The active segments of a company, compiled, kept per backend for the
 *	  maintenance of customers until an invalidation of segext.segments
 *	  arrives, and the relcache callback that counts those invalidations.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "catalog/namespace.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "compiled_segments.h"

/*
 * The active segments of a company, compiled, kept for the maintenance of
 * customers (every active segment a target) until an invalidation of
 * segext.segments arrives (any statement on it, here or committed
 * elsewhere).
 */
typedef struct CompiledSegments
{
	SegextObjectId company;		/* hash key */
	uint64		generation;
	MemoryContext cxt;
	int			nsegs;
	Segment    *segs;
	int			idx_all;
	int			idx_default;
	SegextRequirements *reqs;
	int		   *order;
	int		   *member_slot;
} CompiledSegments;

static HTAB *compiled_segments = NULL;

/* segext.segments, and a counter of its invalidations seen by this backend */
static Oid	compiled_segments_relid = InvalidOid;
static uint64 compiled_segments_generation = 1;

/*
 * compiled_segments_callback counts an invalidation of segext.segments (or
 * of every relation): every statement on segext.segments queues one
 * (segext.segment_cache_invalidate), here at the end of the command and
 * elsewhere at commit.
 */
static void
compiled_segments_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == compiled_segments_relid)
		compiled_segments_generation++;
}

/*
 * segext_membership_init registers the relcache callback of the compiled
 * segments, once per backend.
 */
void
segext_membership_init(void)
{
	segext_register_relcache_callback(compiled_segments_callback);
}

/*
 * compiled_segments_load points the engine at the company's compiled active
 * segments, all targets, from the backend's cache when still current, else
 * loaded with the active snapshot and kept.  The engine must not change
 * them.
 */
void
compiled_segments_load(Engine *e)
{
	CompiledSegments *cs;
	bool		found;
	uint64		generation;

	AcceptInvalidationMessages();
	if (compiled_segments == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(SegextObjectId);
		ctl.entrysize = sizeof(CompiledSegments);
		compiled_segments = hash_create("segext compiled segments", 16, &ctl, HASH_ELEM | HASH_BLOBS);
	}
	cs = hash_search(compiled_segments, &e->company, HASH_ENTER, &found);
	if (found && cs->generation == compiled_segments_generation)
	{
		e->nsegs = cs->nsegs;
		e->segs = cs->segs;
		e->idx_all = cs->idx_all;
		e->idx_default = cs->idx_default;
		e->reqs = cs->reqs;
		e->order = cs->order;
		e->member_slot = cs->member_slot;
		return;
	}
	if (found && cs->cxt != NULL)
		MemoryContextDelete(cs->cxt);
	cs->cxt = NULL;
	cs->generation = 0;			/* no generation is 0: stale until kept below */
	compiled_segments_relid = get_relname_relid("segments", get_namespace_oid("segext", false));
	generation = compiled_segments_generation;
	engine_load_segments(e, NULL, 0);
	/* keep a copy made in a context of its own, unless an invalidation came in */
	if (generation != compiled_segments_generation)
		return;
	cs->cxt = AllocSetContextCreate(TopMemoryContext, "segext compiled segments", ALLOCSET_SMALL_SIZES);
	{
		MemoryContext old = MemoryContextSwitchTo(cs->cxt);

		cs->nsegs = e->nsegs;
		cs->segs = palloc0(sizeof(Segment) * (e->nsegs + 1));
		cs->reqs = segext_requirements_create();
		for (int i = 0; i < e->nsegs; i++)
		{
			cs->segs[i] = e->segs[i];
			if (e->segs[i].criteria != NULL)
			{
				cs->segs[i].criteria = (SegextCriteria *) PG_DETOAST_DATUM_COPY(PointerGetDatum(e->segs[i].criteria));
				cs->segs[i].handle = segext_requirements_add(cs->reqs, cs->segs[i].criteria);
			}
		}
		cs->idx_all = e->idx_all;
		cs->idx_default = e->idx_default;
		/* the same criteria added in the same order: the same slots */
		cs->order = palloc(sizeof(int) * (e->nsegs + 1));
		cs->member_slot = palloc(sizeof(int) * (e->nsegs + 1));
		memcpy(cs->order, e->order, sizeof(int) * e->nsegs);
		memcpy(cs->member_slot, e->member_slot, sizeof(int) * e->nsegs);
		for (int i = 0; i < e->nsegs; i++)
			if (cs->segs[i].nrefs > 0)
			{
				SegextSegmentRef *refs = palloc(sizeof(SegextSegmentRef) * cs->segs[i].nrefs);

				memcpy(refs, cs->segs[i].refs, sizeof(SegextSegmentRef) * cs->segs[i].nrefs);
				cs->segs[i].refs = refs;
			}
		MemoryContextSwitchTo(old);
	}
	cs->generation = generation;
}
