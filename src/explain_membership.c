/*-------------------------------------------------------------------------
 *
 * explain_membership.c
 *	  segext.explain_membership: why a customer is or is not a member of a
 *	  segment, from the same engine run and, for a segment with criteria,
 *	  the same evaluation as segment_members, one row per node of the
 *	  condition and a last row with the answer.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "membership.h"
#include "membership_engine.h"
#include "tenancy.h"

/* What explain_membership learns from the engine about its one customer. */
typedef struct ExplainState
{
	bool		found;
	bits8	   *bits;			/* the customer's new membership bits */
} ExplainState;

/* explain_member keeps the membership bits of the explained customer. */
static void
explain_member(Engine *e, const SegextObjectId *customer, bits8 *new_bits,
			   bits8 *old_bits, void *arg)
{
	ExplainState *xs = (ExplainState *) arg;

	xs->found = true;
	xs->bits = MemoryContextAlloc(e->cxt, BITS_BYTES(e->nsegs));
	memcpy(xs->bits, new_bits, BITS_BYTES(e->nsegs));
}

/* One row of explain_membership's result. */
typedef struct ExplainRow
{
	const char *path;
	int			depth;
	const char *node;
	const char *subject;
	const char *value;
	const char *requirement;
	bool		matched;
} ExplainRow;

/* explain_put appends one row; ordinal counts the rows. */
static void
explain_put(ReturnSetInfo *rsinfo, int *ordinal, const ExplainRow *r)
{
	Datum		values[8];
	bool		nulls[8] = {false, false, false, false, false, false, false, false};

	values[0] = Int32GetDatum(++*ordinal);
	values[1] = CStringGetTextDatum(r->path);
	values[2] = Int32GetDatum(r->depth);
	values[3] = CStringGetTextDatum(r->node);
	values[4] = CStringGetTextDatum(r->value);
	values[5] = CStringGetTextDatum(r->requirement);
	values[6] = BoolGetDatum(r->matched);
	values[7] = CStringGetTextDatum(psprintf("%s: %s (needs %s) -> %s", r->subject, r->value,
											 r->requirement, r->matched ? "true" : "false"));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * customer_active reads whether a customer of the company is active, with
 * the caller's rights; raises 22023 when the company has no such customer
 * (or the caller cannot see it).
 */
static bool
customer_active(const SegextObjectId *company, const SegextObjectId *customer)
{
	Datum		args[2];
	Oid			types[2];
	bool		isnull;
	char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];
	char		company_hex[SEGEXT_OBJECTID_HEX_LEN + 1];

	types[0] = types[1] = segext_objectid_type();
	args[0] = PointerGetDatum(company);
	args[1] = PointerGetDatum(customer);
	if (SPI_execute_with_args("SELECT c.active FROM segext.customers AS c "
							  "WHERE c.company_id OPERATOR(pg_catalog.=) $1 AND c.id OPERATOR(pg_catalog.=) $2",
							  2, types, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed");
	if (SPI_processed == 0)
	{
		segext_objectid_to_hex(customer, hex);
		segext_objectid_to_hex(company, company_hex);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("customer \"%s\" does not exist", hex),
				 errdetail("Company \"%s\", whose segment is explained, has no customer with id \"%s\".",
						   company_hex, hex),
				 errhint("Pass the id of a customer of the segment's company.")));
	}
	return DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* The explained segment's row (membership_segment_row). */
typedef struct ExplainedSegment
{
	const SegextObjectId *id;
	SegextObjectId company;
	int			number;
	Datum		criteria;
	bool		manual;
	bool		active;
	char	   *name;
} ExplainedSegment;

/*
 * explain_load loads the engine for the explained segment (with the
 * segments its in_segment criteria name, alone, or, for Default, with every
 * other active segment) and the explicit members it needs, and asks the
 * engine to record the evaluation of a segment with criteria; returns the
 * segment's index in the engine, or -1.
 */
static int
explain_load(Engine *e, const ExplainedSegment *s)
{
	int			index;

	if (s->number > 1 && s->active && !s->manual && has_segment_refs(DatumGetPointer(s->criteria)))
	{
		bool		manual_needed = false;

		/* with the segments it names (in_segment), decided in the same pass */
		engine_load_segments_for(e, s->id, 1, true);
		index = engine_segment_index(e, s->id);
		for (int i = 0; i < e->nsegs; i++)
			manual_needed |= e->segs[i].manual && e->segs[i].target && e->segs[i].number > 1;
		if (manual_needed)
			engine_load_memberships(e, true);
		e->explain = segext_explain_create();
		e->explain_index = index;
	}
	else if (s->number > 1)
	{
		/* a user segment depends on itself alone; inactive ones are explained too */
		engine_load_one_segment(e, s->id, s->number, s->criteria, s->manual);
		index = 0;
		if (s->manual)
			engine_load_memberships(e, true);
		else
		{
			e->explain = segext_explain_create();
			e->explain_index = 0;
		}
	}
	else
	{
		/* Default depends on every other active segment; All on none */
		engine_load_segments(e, s->number == 1 ? NULL : s->id, s->number == 1 ? 0 : 1);
		index = engine_segment_index(e, s->id);
		if (s->number == 1)
			engine_load_memberships(e, true);
	}
	return index;
}

/* explain_put_steps appends the nodes of the criteria as the evaluation recorded them. */
static void
explain_put_steps(ReturnSetInfo *rsinfo, int *ordinal, const Engine *e)
{
	ListCell   *lc;
	ExplainRow	r;

	foreach(lc, segext_explain_steps(e->explain))
	{
		SegextExplainStep *step = (SegextExplainStep *) lfirst(lc);

		r.path = step->path;
		r.depth = step->depth;
		r.node = step->criterion >= 0 ?
			segext_criterion_to_cstring(e->segs[e->explain_index].criteria, step->criterion) : step->subject;
		r.subject = step->subject;
		r.value = step->value;
		r.requirement = step->requirement;
		r.matched = step->matched;
		explain_put(rsinfo, ordinal, &r);
	}
}

/*
 * explain_put_default appends Default's condition: "not any" of the other
 * active segments, with the customer's membership of each (bits).
 */
static void
explain_put_default(ReturnSetInfo *rsinfo, int *ordinal, const Engine *e, const bits8 *bits)
{
	int			others = 0,
				in = 0,
				k = 0;
	ExplainRow	r;

	for (int i = 0; i < e->nsegs; i++)
		if (e->segs[i].number > 1)
		{
			others++;
			in += BIT_TEST(bits, i) ? 1 : 0;
		}
	r.path = "1";
	r.depth = 1;
	r.node = r.subject = "not";
	r.value = in > 0 ? "its child matched" : "its child did not match";
	r.requirement = "its child not to match";
	r.matched = in == 0;
	explain_put(rsinfo, ordinal, &r);
	r.path = "1.1";
	r.depth = 2;
	r.node = r.subject = "any";
	r.value = psprintf("%d of %d matched", in, others);
	r.requirement = psprintf("at least 1 of %d to match", others);
	r.matched = in > 0;
	explain_put(rsinfo, ordinal, &r);
	for (int i = 0; i < e->nsegs; i++)
	{
		bool		in_seg = BIT_TEST(bits, i);

		if (e->segs[i].number <= 1)
			continue;
		r.path = psprintf("1.1.%d", ++k);
		r.depth = 3;
		r.node = psprintf("segment %d", e->segs[i].number);
		r.subject = r.node;
		r.value = in_seg ? "a member" : "not a member";
		r.requirement = "a member";
		r.matched = in_seg;
		explain_put(rsinfo, ordinal, &r);
	}
}

/* explain_put_answer appends the last row, "segment": whether the customer is a member. */
static void
explain_put_answer(ReturnSetInfo *rsinfo, int *ordinal, const ExplainedSegment *s,
				   bool customer_is_active, bool member)
{
	ExplainRow	r;

	r.path = "segment";
	r.depth = 0;
	r.node = psprintf("segment %d \"%s\"", s->number, s->name);
	r.subject = r.node;
	r.matched = member;
	if (!s->active)
	{
		r.value = "segment is inactive";
		r.requirement = "an active segment";
	}
	else if (!customer_is_active)
	{
		r.value = "customer is inactive";
		r.requirement = "an active customer";
	}
	else if (s->number == 0)
	{
		r.value = "customer is active";
		r.requirement = "an active customer";
	}
	else if (s->number == 1)
	{
		r.value = member ? "in no other active segment" : "in another active segment";
		r.requirement = "an active customer in no other active segment";
	}
	else if (s->manual)
	{
		r.value = member ? "an explicit member" : "not an explicit member";
		r.requirement = "an explicit member of this manual segment";
	}
	else
	{
		r.value = member ? "criteria matched" : "criteria did not match";
		r.requirement = "an active customer whom the criteria match";
	}
	explain_put(rsinfo, ordinal, &r);
}

PG_FUNCTION_INFO_V1(segext_explain_membership);
/*
 * segext_explain_membership evaluates one segment for one customer now, as
 * segment_members does (the same engine, and for a segment with criteria
 * the same evaluation, recording every node), and returns one row per node
 * of the condition in tree order, then a last row "segment" with the
 * answer: whether the customer is a member.  Default is explained as "not
 * any" of the other active segments; a manual segment by its explicit
 * members; an inactive segment or customer is never a member.
 */
Datum
segext_explain_membership(PG_FUNCTION_ARGS)
{
	SegextObjectId *customer = PG_GETARG_SEGEXT_OBJECTID_P(1);
	ReturnSetInfo *rsinfo;
	ExplainedSegment s;
	bool		customer_is_active;
	Engine		e;
	ExplainState xs;
	int			index;
	int			ordinal = 0;
	bool		member;
	Datum		only_ids[1];

	s.id = PG_GETARG_SEGEXT_OBJECTID_P(0);
	segext_init_materialized_srf(fcinfo);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SPI_connect();
	membership_segment_row(s.id, &s.company, &s.number, &s.criteria, &s.manual, &s.active, &s.name);
	segext_check_company_read_access(&s.company);
	customer_is_active = customer_active(&s.company, customer);

	engine_init(&e, &s.company);
	e.all_customers = true;
	only_ids[0] = PointerGetDatum(customer);
	e.only = construct_array(only_ids, 1, e.idtype, SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR);
	index = explain_load(&e, &s);
	memset(&xs, 0, sizeof(xs));
	engine_query_customers(&e, explain_member, &xs);
	if (!xs.found)
		elog(ERROR, "customer of explain_membership not read");
	member = s.active && index >= 0 && BIT_TEST(xs.bits, index);

	if (e.explain != NULL)
		explain_put_steps(rsinfo, &ordinal, &e);
	if (s.number == 1 && index >= 0)
		explain_put_default(rsinfo, &ordinal, &e, xs.bits);
	explain_put_answer(rsinfo, &ordinal, &s, customer_is_active, member);

	MemoryContextDelete(e.cxt);
	SPI_finish();
	return (Datum) 0;
}
