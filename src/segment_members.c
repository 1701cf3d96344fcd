/*-------------------------------------------------------------------------
 *
 * segment_members.c
 *	  segext.segment_members, which lists a segment's members as the
 *	  engine decides them now without writing, and the narrowing to the
 *	  customers named by customer lists that it shares with
 *	  preview_criteria (segext_listed_candidates).
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "membership.h"
#include "membership_engine.h"
#include "segment_members.h"

/* The SRF's state: the tuplestore and which segment to emit. */
typedef struct EmitState
{
	ReturnSetInfo *rsinfo;
	int			index;
} EmitState;

/* emit_member puts a customer into the SRF result when it is a member. */
static void
emit_member(Engine *e, const SegextObjectId *customer, bits8 *new_bits,
			bits8 *old_bits, void *arg)
{
	EmitState  *st = (EmitState *) arg;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (st->index < 0 || !BIT_TEST(new_bits, st->index))
		return;
	values[0] = PointerGetDatum(&e->segs[st->index].id);
	values[1] = PointerGetDatum(customer);
	tuplestore_putvalues(st->rsinfo->setResult, st->rsinfo->setDesc, values, nulls);
}

/* Customers listed by customer lists: pointers into a criteria value. */
typedef struct ListedIds
{
	int			n;
	const SegextObjectId **ids;
} ListedIds;

/* listed_add appends the customers of one customer_list criterion. */
static void
listed_add(const SegextCriteria *c, const SegextCriterion *cr, ListedIds *out)
{
	const SegextObjectId *listed = (const SegextObjectId *) (SEGEXT_CRITERIA_DATA(c) + cr->items);

	out->ids = out->ids == NULL ? palloc(sizeof(SegextObjectId *) * Max(cr->nitems, 1)) :
		repalloc(out->ids, sizeof(SegextObjectId *) * (out->n + cr->nitems));
	for (uint32 k = 0; k < cr->nitems; k++)
		out->ids[out->n++] = &listed[k];
}

/* listed_concat appends the customers of more to out. */
static void
listed_concat(ListedIds *out, const ListedIds *more)
{
	if (more->n == 0)
		return;
	out->ids = out->ids == NULL ? palloc(sizeof(SegextObjectId *) * more->n) :
		repalloc(out->ids, sizeof(SegextObjectId *) * (out->n + more->n));
	memcpy(out->ids + out->n, more->ids, sizeof(SegextObjectId *) * more->n);
	out->n += more->n;
}

/*
 * node_candidates says whether only listed customers can match the subtree
 * rooted at node i, and then fills out (empty on entry) with them: a customer list its own
 * customers, "all" the fewest of any bounded child, "any" the customers of
 * all its children when every child is bounded; "not" and the other
 * criteria are not bounded.
 */
static bool
node_candidates(const SegextCriteria *c, uint32 i, ListedIds *out)
{
	const SegextNode *nodes = SEGEXT_CRITERIA_NODES(c);
	const SegextCriterion *crits = SEGEXT_CRITERIA_CRIT(c);
	uint32		end = SEGEXT_NODE_END(nodes, i);
	bool		bounded = false;

	check_stack_depth();
	switch (nodes[i].kind)
	{
		case SEGEXT_NODE_CRITERION:
			if (crits[nodes[i].arg].kind != SEGEXT_CRIT_CUSTOMER_LIST)
				return false;
			listed_add(c, &crits[nodes[i].arg], out);
			return true;
		case SEGEXT_NODE_ALL:
			for (uint32 k = i + 1; k < end; k = SEGEXT_NODE_END(nodes, k))
			{
				ListedIds	child = {0, NULL};

				if (node_candidates(c, k, &child) && (!bounded || child.n < out->n))
				{
					*out = child;
					bounded = true;
				}
			}
			return bounded;
		case SEGEXT_NODE_ANY:
			for (uint32 k = i + 1; k < end; k = SEGEXT_NODE_END(nodes, k))
			{
				ListedIds	child = {0, NULL};

				if (!node_candidates(c, k, &child))
					return false;
				listed_concat(out, &child);
				bounded = true;
			}
			return bounded;
		default:
			return false;
	}
}

/*
 * segext_listed_candidates returns, when only customers named by customer lists
 * can match the criteria, the fewest such customers it finds (an objectid[],
 * possibly with repeats; the members are among them), else NULL.  In parts
 * (all must match), a part made only of customer lists names the customers
 * of its lists; in a tree, see node_candidates.  segment_members and
 * preview_criteria read only these customers.
 */
ArrayType *
segext_listed_candidates(const SegextCriteria *c)
{
	ListedIds	best = {0, NULL};
	bool		bounded = false;
	Datum	   *ids;

	if (c->nnodes > 0)
		bounded = node_candidates(c, 0, &best);
	else
	{
		const SegextCriterion *crits = SEGEXT_CRITERIA_CRIT(c);
		const uint32 *ends = SEGEXT_CRITERIA_PART_END(c);
		uint32		start = 0;

		for (int p = 0; p < c->nparts; start = ends[p], p++)
		{
			ListedIds	part = {0, NULL};
			bool		lists_only = ends[p] > start;

			for (uint32 j = start; j < ends[p] && lists_only; j++)
				lists_only = crits[j].kind == SEGEXT_CRIT_CUSTOMER_LIST;
			if (!lists_only)
				continue;
			for (uint32 j = start; j < ends[p]; j++)
				listed_add(c, &crits[j], &part);
			if (!bounded || part.n < best.n)
				best = part;
			bounded = true;
		}
	}
	if (!bounded)
		return NULL;
	ids = palloc(sizeof(Datum) * Max(best.n, 1));
	for (int k = 0; k < best.n; k++)
		ids[k] = PointerGetDatum(best.ids[k]);
	return construct_array(ids, best.n, segext_objectid_type(), SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR);
}

PG_FUNCTION_INFO_V1(segext_segment_members);
/*
 * segext_segment_members evaluates a segment now from the customer states
 * and returns its members (segment 0: active customers; 1: active customers
 * in no other active segment; a manual segment: its explicit active
 * members); no transaction is read and nothing is written.  A segment
 * that only customers named by its customer lists can match reads only
 * those customers (segext_listed_candidates).
 */
Datum
segext_segment_members(PG_FUNCTION_ARGS)
{
	SegextObjectId *segment = PG_GETARG_SEGEXT_OBJECTID_P(0);
	SegextObjectId company;
	int			number;
	Engine		e;
	EmitState	st;
	Datum		criteria;
	bool		manual;
	bool		active;

	segext_init_materialized_srf(fcinfo);
	st.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SPI_connect();
	membership_segment_row(segment, &company, &number, &criteria, &manual, &active, NULL);
	engine_init(&e, &company);
	st.index = -1;
	if (number > 1)
	{
		/* a segment above the built-ins depends on itself alone */
		if (active && !manual && has_segment_refs(DatumGetPointer(criteria)))
		{
			/* with the segments it names (in_segment), decided in the same pass */
			engine_load_segments_for(&e, segment, 1, true);
			st.index = engine_segment_index(&e, segment);
			if (st.index >= 0)
				e.only = segext_listed_candidates(e.segs[st.index].criteria);
		}
		else if (active)
		{
			engine_load_one_segment(&e, segment, number, criteria, manual);
			st.index = 0;
			/* customer lists: only the listed customers can match */
			if (!manual)
				e.only = segext_listed_candidates(e.segs[0].criteria);
		}
	}
	else
	{
		/* Segment 1 depends on every other segment; 0 on none. */
		if (number == 1)
			engine_load_segments(&e, NULL, 0);
		else
			engine_load_segments(&e, segment, 1);
		st.index = engine_segment_index(&e, segment);
	}
	if (st.index >= 0)
	{
		bool		manual_needed = false;

		/* explicit members matter only for manual segments and for Default */
		for (int i = 0; i < e.nsegs; i++)
			manual_needed |= e.segs[i].manual && e.segs[i].number > 1 &&
				(number == 1 || e.segs[i].target);
		if (manual_needed)
			engine_load_memberships(&e, true);
		engine_query_customers(&e, emit_member, &st);
	}
	MemoryContextDelete(e.cxt);
	SPI_finish();
	return (Datum) 0;
}

