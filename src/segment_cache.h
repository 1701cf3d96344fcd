/*-------------------------------------------------------------------------
 *
 * segment_cache.h
 *	  Per-backend cache of each company's compiled, ordered list of active
 *	  segments, as the event-stamping trigger and segext.classify read it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_SEGMENT_CACHE_H
#define SEGEXT_SEGMENT_CACHE_H

#include "postgres.h"

#include "criteria.h"
#include "evaluate.h"
#include "objectid.h"

/* One active user segment, in matching order. */
typedef struct SegextCachedSegment
{
	int32		number;			/* segment number (2-65535) */
	int32		group_id;		/* the segment's group at build time */
	SegextCriteria *criteria;	/* detoasted copy in the cache's memory */
	SegextRowPlan *plan;		/* its numbers parsed once */
} SegextCachedSegment;

/*
 * Dispatch index of a segment list (opaque): which segments can match a row
 * given the row's values of a few fields (see segext_segment_candidates).
 */
typedef struct SegextDispatchIndex SegextDispatchIndex;

/* The compiled segment list of one company. */
typedef struct SegextSegmentList
{
	SegextObjectId company;
	int32		default_group;	/* group of segment 1 (Default) */
	int			nsegments;		/* field-only segments that take part */
	SegextCachedSegment *segments;	/* ordered by position, then number */
	int			nskipped;		/* active segments left out (manual or
								 * customer-aggregate criteria) */
	int			nwords;			/* 64-bit words of a candidate bitmap */
	SegextDispatchIndex *index; /* built with the list */
} SegextSegmentList;

/*
 * Generation of the cache: incremented by every invalidation, so callers
 * may keep state derived from a list as long as the generation is unchanged.
 */
extern uint64 segext_segment_cache_generation;

extern const SegextSegmentList *segext_segment_cache_lookup(const SegextObjectId *company);

/*
 * Fill bits (list->nwords words) with the candidate segments of a row: bit i
 * set when segment i of the list may match.  A clear bit means the segment
 * cannot match the row (one of its parts needs a field to equal one of some
 * strings or begin with one of some prefixes, and the row's field is missing
 * or does none of that); so the first set bit whose criteria match is the
 * first matching segment.
 */
extern void segext_segment_candidates(const SegextSegmentList *list,
									  SegextFieldLookup lookup, void *arg,
									  uint64 *bits);

#endif							/* SEGEXT_SEGMENT_CACHE_H */
