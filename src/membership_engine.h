/*-------------------------------------------------------------------------
 *
 * membership_engine.h
 *	  The membership engine (membership_engine.c): the state of one run,
 *	  the segments it loads, and the calls that load them, load the current
 *	  members and evaluate the customers, for the paths that write members
 *	  (membership.c), list them (segment_members.c), preview criteria
 *	  (preview_criteria.c) and explain a membership (explain_membership.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_MEMBERSHIP_ENGINE_H
#define SEGEXT_MEMBERSHIP_ENGINE_H

#include "postgres.h"
#include "utils/array.h"

#include "criteria.h"
#include "evaluate.h"
#include "objectid.h"

/* One segment the engine knows about. */
typedef struct Segment
{
	SegextObjectId id;
	int			number;
	bool		manual;			/* criteria IS NULL */
	bool		target;			/* evaluated in this run */
	SegextCriteria *criteria;
	int			handle;			/* in the requirements, when evaluated */
	SegextSegmentRef *refs;		/* segments its in_segment criteria name */
	int			nrefs;
} Segment;

/* The customers of a run with their membership bits (a simplehash table). */
struct custhash_hash;

/* The state of one engine run. */
typedef struct Engine
{
	MemoryContext cxt;
	SegextObjectId company;
	Oid			idtype;
	int			nsegs;
	Segment    *segs;
	int			idx_all;		/* index of segment 0 */
	int			idx_default;	/* index of segment 1 */
	SegextRequirements *reqs;
	int		   *order;			/* segment indexes, each after those it names */
	int		   *member_slot;	/* per segment: its SEGEXT_SLOT_SEGMENT slot, or -1 */
	struct custhash_hash *customers;	/* made by the first customer_entry */
	uint32		customers_expected; /* its initial size */
	bool		all_customers;	/* inactive customers too (they leave) */
	ArrayType  *only;			/* evaluate these customers only, or NULL */
	SegextEvalTime time;
	SegextExplain *explain;		/* records the segment at explain_index, or NULL */
	int			explain_index;
} Engine;

typedef void (*MemberCallback) (Engine *e, const SegextObjectId *customer,
								bits8 *new_bits, bits8 *old_bits, void *arg);

#define BITS_BYTES(n)	((n) / 8 + 1)
#define BIT_SET(b, i)	((b)[(i) / 8] |= (bits8) (1 << ((i) % 8)))
#define BIT_TEST(b, i)	(((b)[(i) / 8] & (1 << ((i) % 8))) != 0)

/* has_segment_refs says whether criteria hold an in_segment criterion. */
static inline bool
has_segment_refs(const void *criteria)
{
	int			n;

	return segext_criteria_segment_refs((const SegextCriteria *) criteria, &n) != NULL;
}

/* Prepare an engine run for a company in a private context. */
extern void engine_init(Engine *e, const SegextObjectId *company);

/*
 * Read the company's active segments, mark the targets (every active
 * segment when ntargets is 0, else those listed plus the built-ins, closed
 * over in_segment criteria: with the segments that name them unless
 * dependencies_only) and compile the targets' requirements.
 */
extern void engine_load_segments_for(Engine *e, const SegextObjectId *targets, int ntargets,
									 bool dependencies_only);

/* engine_load_segments_for for a run that writes (dependents too). */
extern void engine_load_segments(Engine *e, const SegextObjectId *targets, int ntargets);

/* Make an engine of one segment above the built-ins whose row is read. */
extern void engine_load_one_segment(Engine *e, const SegextObjectId *id, int number,
									Datum criteria, bool manual);

/* Set the evaluation order and the in_segment slots of the loaded segments. */
extern void engine_plan_order(Engine *e);

/* The index of a loaded segment, or -1. */
extern int	engine_segment_index(const Engine *e, const SegextObjectId *id);

/* Read the current members (all, or of manual segments only) into the old bits. */
extern void engine_load_memberships(Engine *e, bool manual_only);

/* Lock the rows of the customers the maintenance evaluates FOR SHARE, in id order. */
extern void engine_lock_customer_rows(Engine *e);

/* Evaluate the engine's customers with their state, calling cb per customer. */
extern void engine_query_customers(Engine *e, MemberCallback cb, void *arg);

#endif							/* SEGEXT_MEMBERSHIP_ENGINE_H */
