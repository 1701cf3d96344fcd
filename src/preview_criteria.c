/*-------------------------------------------------------------------------
 *
 * preview_criteria.c
 *	  segext.preview_criteria: the member count and the smallest member ids
 *	  of criteria that are not saved, for the current company, evaluated by
 *	  the engine as segment_members evaluates a saved segment.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/memutils.h"

#include "membership_engine.h"
#include "segment_members.h"
#include "segments.h"
#include "tenancy.h"

/* Largest sample preview_criteria returns. */
#define PREVIEW_MAX_SAMPLE	1000

/* What a preview collects: the member count and the smallest member ids. */
typedef struct PreviewState
{
	int			index;			/* the previewed criteria's segment index */
	int64		count;
	int			sample;			/* how many ids to keep */
	int			nids;
	SegextObjectId *ids;		/* ascending, nids of them */
} PreviewState;

/*
 * preview_member counts a member of the previewed criteria (segment index 0)
 * and keeps it when it is among the sample smallest ids seen so far.
 */
static void
preview_member(Engine *e, const SegextObjectId *customer, bits8 *new_bits,
			   bits8 *old_bits, void *arg)
{
	PreviewState *ps = (PreviewState *) arg;
	int			lo = 0,
				hi;

	if (!BIT_TEST(new_bits, ps->index))
		return;
	ps->count++;
	if (ps->sample == 0 ||
		(ps->nids == ps->sample &&
		 segext_objectid_cmp(customer, &ps->ids[ps->nids - 1]) >= 0))
		return;
	hi = ps->nids;
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (segext_objectid_cmp(&ps->ids[mid], customer) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (ps->nids < ps->sample)
		ps->nids++;
	memmove(&ps->ids[lo + 1], &ps->ids[lo], sizeof(SegextObjectId) * (ps->nids - 1 - lo));
	ps->ids[lo] = *customer;
}

/*
 * load_with_named_segments makes an engine of criteria that are not saved
 * (the last segment, with a zero id) together with the active segments that
 * their in_segment criteria name, directly or not, all decided in the same
 * pass (and the explicit members of the manual ones).
 */
static void
load_with_named_segments(Engine *e, const SegextCriteria *criteria)
{
	SegextSegmentRef *refs;
	int			nrefs;
	SegextObjectId *ids;
	Segment    *s;
	MemoryContext old;
	bool		manual_needed = false;

	refs = segext_criteria_segment_refs(criteria, &nrefs);
	ids = palloc(sizeof(SegextObjectId) * Max(nrefs, 1));
	for (int i = 0; i < nrefs; i++)
		ids[i] = refs[i].id;
	engine_load_segments_for(e, ids, nrefs, true);
	old = MemoryContextSwitchTo(e->cxt);
	s = &e->segs[e->nsegs];		/* engine_load_segments_for leaves room for one more */
	memset(s, 0, sizeof(Segment));
	s->number = PG_INT32_MAX;
	s->target = true;
	s->criteria = (SegextCriteria *) PG_DETOAST_DATUM_COPY(PointerGetDatum(criteria));
	s->handle = segext_requirements_add(e->reqs, s->criteria);
	s->refs = segext_criteria_segment_refs(s->criteria, &s->nrefs);
	e->nsegs++;
	MemoryContextSwitchTo(old);
	engine_plan_order(e);
	for (int i = 0; i < e->nsegs; i++)
		manual_needed |= e->segs[i].manual && e->segs[i].target && e->segs[i].number > 1;
	if (manual_needed)
		engine_load_memberships(e, true);
}

PG_FUNCTION_INFO_V1(segext_preview_criteria);
/*
 * segext_preview_criteria evaluates criteria that are not saved for the
 * current company's active customers, from the customer states, as
 * segment_members evaluates a saved segment: returns the member count and
 * the sample smallest member ids.  Nothing is written.
 */
Datum
segext_preview_criteria(PG_FUNCTION_ARGS)
{
	SegextCriteria *criteria = PG_GETARG_SEGEXT_CRITERIA_P(0);
	int32		sample = PG_GETARG_INT32(1);
	SegextObjectId company;
	SegextObjectId none;
	PreviewState ps;
	Engine		e;
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	Datum	   *ids;

	if (sample < 0 || sample > PREVIEW_MAX_SAMPLE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sample must be between 0 and %d", PREVIEW_MAX_SAMPLE),
				 errdetail("The sample asked for is %d.", sample),
				 errhint("Ask for at most %d member ids; the member count is always exact.",
						 PREVIEW_MAX_SAMPLE)));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "preview_criteria must return a composite type");
	memset(&ps, 0, sizeof(ps));
	ps.sample = sample;
	ps.ids = palloc(sizeof(SegextObjectId) * Max(sample, 1));

	segext_require_company(&company);
	segext_check_company_read_access(&company);
	SPI_connect();
	segext_company_must_be_visible(&company, "Set segext.company_id to the id of an existing company.");

	/* the criteria as an active segment of their own, above the built-ins */
	memset(&none, 0, sizeof(none));
	engine_init(&e, &company);
	criteria = segext_resolve_segment_refs(&company, criteria);
	/* customer lists: only the listed customers can match */
	e.only = segext_listed_candidates(criteria);
	if (has_segment_refs(criteria))
		load_with_named_segments(&e, criteria);
	else
		engine_load_one_segment(&e, &none, 2, PointerGetDatum(criteria), false);
	ps.index = e.nsegs - 1;
	engine_query_customers(&e, preview_member, &ps);
	MemoryContextDelete(e.cxt);
	SPI_finish();

	ids = palloc(sizeof(Datum) * Max(ps.nids, 1));
	for (int i = 0; i < ps.nids; i++)
		ids[i] = PointerGetDatum(&ps.ids[i]);
	values[0] = Int64GetDatum(ps.count);
	values[1] = PointerGetDatum(construct_array(ids, ps.nids, segext_objectid_type(),
												SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}

