/*-------------------------------------------------------------------------
 *
 * membership_engine.c
 *	  The membership engine, which every path that decides members runs:
 *	  it loads a company's active segments (the targets of a run closed
 *	  over in_segment criteria, in dependency order), the current members
 *	  of the customers it evaluates, then reads those customers joined with
 *	  their state rows in one query and evaluates every target segment per
 *	  customer as the rows arrive (segext_facts_fill is the one place that
 *	  turns a state row into facts).  What is done with each customer's new
 *	  and old membership bits is the caller's callback (write the
 *	  differences, list the members, preview, explain).
 *
 * in_segment criteria read the members of other segments as decided in the
 * same pass: per customer, segments are evaluated in dependency order (a
 * named segment first, engine_plan_order) and each decision sets the named
 * segment's bit in the facts (SEGEXT_SLOT_SEGMENT) that the evaluator
 * reads.  A run over some segments also evaluates the segments they name,
 * directly or not, and a run that writes also those that name them
 * (close_targets), so that a change of a segment's criteria or active flag
 * moves the segments built on it in the same statement.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "tcop/dest.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "customer_state.h"
#include "kept_plan.h"
#include "membership_engine.h"

/* One customer in the hash: its current membership bits. */
typedef struct CustomerEntry
{
	SegextObjectId id;			/* hash key */
	char		status;			/* simplehash slot status */
	bits8	   *old;			/* current memberships (bit per segment) */
} CustomerEntry;

/* hash_objectid hashes the 12 bytes of a customer id. */
static inline uint32
hash_objectid(const SegextObjectId *id)
{
	uint32		w[3];

	memcpy(w, id->data, sizeof(w));
	return murmurhash32(w[0] ^ murmurhash32(w[1] ^ murmurhash32(w[2])));
}

/* A simplehash table of customers: far cheaper per lookup than dynahash. */
#define SH_PREFIX custhash
#define SH_ELEMENT_TYPE CustomerEntry
#define SH_KEY_TYPE SegextObjectId
#define SH_KEY id
#define SH_HASH_KEY(tb, key) hash_objectid(&(key))
#define SH_EQUAL(tb, a, b) segext_objectid_equal(&(a), &(b))
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* engine_init prepares an engine run for a company in a private context. */
void
engine_init(Engine *e, const SegextObjectId *company)
{
	memset(e, 0, sizeof(Engine));
	e->cxt = AllocSetContextCreate(CurrentMemoryContext, "segext membership",
								   ALLOCSET_DEFAULT_SIZES);
	e->company = *company;
	e->idtype = segext_objectid_type();
	e->idx_all = e->idx_default = -1;
	e->customers_expected = 1024;
	segext_eval_time_current(&e->time);
}

/*
 * refers_to_any says whether segment s names (in_segment) a segment listed
 * in targets or a loaded target segment other than the built-ins.
 */
static bool
refers_to_any(const Engine *e, const Segment *s, const SegextObjectId *targets, int ntargets)
{
	for (int k = 0; k < s->nrefs; k++)
	{
		for (int t = 0; t < ntargets; t++)
			if (segext_objectid_equal(&s->refs[k].id, &targets[t]))
				return true;
		for (int j = 0; j < e->nsegs; j++)
			if (e->segs[j].target && e->segs[j].number > 1 &&
				segext_objectid_equal(&s->refs[k].id, &e->segs[j].id))
				return true;
	}
	return false;
}

/*
 * close_targets makes targets of the loaded segments that the targets
 * depend on through in_segment criteria (the segments they name, and
 * those that these name...), so that they are decided in the same pass;
 * with dependents, also of the segments that name a target (or a segment
 * of the targets list that is not loaded: an inactive or deleted one), and
 * so on until nothing changes, so that they follow its new members.
 */
static void
close_targets(Engine *e, const SegextObjectId *targets, int ntargets, bool dependents)
{
	bool		changed = true;

	while (changed)
	{
		changed = false;
		for (int i = 0; i < e->nsegs; i++)
		{
			Segment    *s = &e->segs[i];

			CHECK_FOR_INTERRUPTS();
			if (s->target)
			{
				for (int k = 0; k < s->nrefs; k++)
				{
					int			j = engine_segment_index(e, &s->refs[k].id);

					if (j >= 0 && !e->segs[j].target)
					{
						e->segs[j].target = true;
						changed = true;
					}
				}
			}
			else if (dependents && refers_to_any(e, s, targets, ntargets))
			{
				s->target = true;
				changed = true;
			}
		}
	}
}

/*
 * order_visit appends segment i to the evaluation order after the loaded
 * segments it names (depth first); state: 0 new, 1 being visited, 2 done.
 */
static void
order_visit(const Segment *segs, int nsegs, int i, char *state, int *order, int *norder,
			const Engine *e)
{
	check_stack_depth();
	if (state[i] == 2)
		return;
	if (state[i] == 1)
	{
		char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

		segext_objectid_to_hex(&e->company, hex);
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("segments of company \"%s\" name each other in a cycle of in_segment criteria", hex),
				 errdetail("Segment %d is on the cycle; segext refuses such criteria when they are saved, so they were written with its triggers disabled.",
						   segs[i].number),
				 errhint("Remove an in_segment criterion of the cycle.")));
	}
	state[i] = 1;
	if (segs[i].target && !segs[i].manual)
		for (int k = 0; k < segs[i].nrefs; k++)
		{
			int			j = -1;

			for (int m = 0; m < nsegs && j < 0; m++)
				if (segext_objectid_equal(&segs[m].id, &segs[i].refs[k].id))
					j = m;
			if (j >= 0)
				order_visit(segs, nsegs, j, state, order, norder, e);
		}
	state[i] = 2;
	order[(*norder)++] = i;
}

/*
 * engine_plan_order sets the engine's evaluation order (every segment after the
 * segments its in_segment criteria name) and the SEGEXT_SLOT_SEGMENT slot
 * of each segment that an evaluated criterion names, in the engine's
 * context.
 */
void
engine_plan_order(Engine *e)
{
	MemoryContext old = MemoryContextSwitchTo(e->cxt);
	char	   *state = palloc0(e->nsegs + 1);
	int			norder = 0;

	e->order = palloc(sizeof(int) * (e->nsegs + 1));
	e->member_slot = palloc(sizeof(int) * (e->nsegs + 1));
	for (int i = 0; i < e->nsegs; i++)
	{
		order_visit(e->segs, e->nsegs, i, state, e->order, &norder, e);
		e->member_slot[i] = segext_requirements_segment_slot(e->reqs, &e->segs[i].id);
	}
	pfree(state);
	MemoryContextSwitchTo(old);
}

/*
 * engine_load_segments reads the company's active segments with the active
 * snapshot, marks the targets (every active segment when ntargets is 0,
 * else those listed plus the built-ins, closed over in_segment criteria by
 * close_targets: with dependents unless dependencies_only) and compiles the
 * requirements of the targets with criteria.
 */
void
engine_load_segments_for(Engine *e, const SegextObjectId *targets, int ntargets, bool dependencies_only)
{
	static SegextKeptPlan plan;
	static const Oid types[1] = {KEPT_ARG_OBJECTID};
	Datum		args[1];
	int			ret;
	MemoryContext old;
	bool		any_refs = false;

	args[0] = PointerGetDatum(&e->company);
	ret = SPI_execute_plan(segext_kept_plan(&plan,
											"SELECT id, number, criteria FROM segext.segments "
											"WHERE company_id OPERATOR(pg_catalog.=) $1 AND active "
											"ORDER BY number",
											1, types, CURSOR_OPT_GENERIC_PLAN),
						   args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));

	old = MemoryContextSwitchTo(e->cxt);
	e->nsegs = SPI_processed;
	e->segs = palloc0(sizeof(Segment) * (e->nsegs + 1));
	e->reqs = segext_requirements_create();
	for (int i = 0; i < e->nsegs; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Segment    *s = &e->segs[i];
		Datum		crit;

		memcpy(&s->id, DatumGetPointer(SPI_getbinval(tup, desc, 1, &isnull)), SEGEXT_OBJECTID_LEN);
		s->number = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		crit = SPI_getbinval(tup, desc, 3, &isnull);
		s->manual = isnull;
		if (s->number == 0)
			e->idx_all = i;
		else if (s->number == 1)
			e->idx_default = i;
		s->target = ntargets == 0 || s->number <= 1;
		for (int t = 0; t < ntargets && !s->target; t++)
			s->target = segext_objectid_equal(&s->id, &targets[t]);
		if (!s->manual && s->number > 1)
		{
			s->criteria = (SegextCriteria *) PG_DETOAST_DATUM_COPY(crit);
			s->refs = segext_criteria_segment_refs(s->criteria, &s->nrefs);
			any_refs |= s->nrefs > 0;
		}
	}
	SPI_freetuptable(SPI_tuptable);
	if (any_refs && ntargets > 0)
		close_targets(e, targets, ntargets, !dependencies_only);
	for (int i = 0; i < e->nsegs; i++)
	{
		Segment    *s = &e->segs[i];

		if (s->target && s->criteria != NULL)
			s->handle = segext_requirements_add(e->reqs, s->criteria);
		else if (s->criteria != NULL)
		{
			pfree(s->criteria);
			s->criteria = NULL;
		}
	}
	MemoryContextSwitchTo(old);
	engine_plan_order(e);
}

/* engine_load_segments loads the segments for a run that writes (engine_load_segments_for). */
void
engine_load_segments(Engine *e, const SegextObjectId *targets, int ntargets)
{
	engine_load_segments_for(e, targets, ntargets, false);
}

/*
 * engine_load_one_segment makes an engine of one segment (number > 1) whose row is
 * already read, for an evaluation that depends on it alone.
 */
void
engine_load_one_segment(Engine *e, const SegextObjectId *id, int number, Datum criteria, bool manual)
{
	MemoryContext old = MemoryContextSwitchTo(e->cxt);
	Segment    *s;

	e->nsegs = 1;
	e->segs = palloc0(sizeof(Segment) * 2);
	e->reqs = segext_requirements_create();
	s = &e->segs[0];
	s->id = *id;
	s->number = number;
	s->manual = manual;
	s->target = true;
	if (!manual)
	{
		s->criteria = (SegextCriteria *) PG_DETOAST_DATUM_COPY(criteria);
		s->handle = segext_requirements_add(e->reqs, s->criteria);
	}
	MemoryContextSwitchTo(old);
	engine_plan_order(e);
}

/* customer_entry finds or creates the hash entry of a customer. */
static CustomerEntry *
customer_entry(Engine *e, const SegextObjectId *id)
{
	bool		found;
	CustomerEntry *ce;

	if (e->customers == NULL)
		e->customers = custhash_create(e->cxt, e->customers_expected, NULL);
	ce = custhash_insert(e->customers, *id, &found);
	if (!found)
		ce->old = NULL;
	return ce;
}

/* set_old_bit records that a customer is a member of the segment at index i. */
static void
set_old_bit(Engine *e, const SegextObjectId *customer, int i)
{
	CustomerEntry *ce = customer_entry(e, customer);

	if (ce->old == NULL)
		ce->old = MemoryContextAllocZero(e->cxt, BITS_BYTES(e->nsegs));
	BIT_SET(ce->old, i);
}

/* engine_segment_index returns the index of a loaded segment, or -1. */
int
engine_segment_index(const Engine *e, const SegextObjectId *id)
{
	for (int i = 0; i < e->nsegs; i++)
		if (segext_objectid_equal(&e->segs[i].id, id))
			return i;
	return -1;
}

/*
 * set_old_bits records (segment_id, customer_id) rows of memberships in the
 * customers' old bits: of every loaded segment, or of the manual ones only.
 */
static void
set_old_bits(Engine *e, SPITupleTable *tuptable, uint64 n, bool manual_only)
{
	int			cur = -1;
	SegextObjectId cur_id;

	for (uint64 r = 0; r < n; r++)
	{
		bool		isnull;
		SegextObjectId *sid = DatumGetSegextObjectIdP(SPI_getbinval(tuptable->vals[r], tuptable->tupdesc, 1, &isnull));

		CHECK_FOR_INTERRUPTS();
		if (r == 0 || !segext_objectid_equal(sid, &cur_id))
		{
			cur = engine_segment_index(e, sid);
			if (cur >= 0 && manual_only && !e->segs[cur].manual)
				cur = -1;
			cur_id = *sid;
		}
		if (cur < 0)
			continue;			/* an inactive segment, or not needed */
		set_old_bit(e, DatumGetSegextObjectIdP(SPI_getbinval(tuptable->vals[r], tuptable->tupdesc, 2, &isnull)), cur);
	}
}

/*
 * engine_load_memberships reads the current members of the loaded segments (all of
 * them, or only the manual ones, whose members are explicit) of the
 * customers the engine evaluates (e->only) or of the whole company, with
 * the active snapshot, into the customers' old bits.
 */
void
engine_load_memberships(Engine *e, bool manual_only)
{
	static SegextKeptPlan company_plan;
	static SegextKeptPlan customers_plan;
	static const Oid types[2] = {KEPT_ARG_OBJECTID, KEPT_ARG_OBJECTID_ARRAY};
	Datum		args[2];
	SPIPlanPtr	plan;
	Portal		portal;

	args[0] = PointerGetDatum(&e->company);
	args[1] = PointerGetDatum(e->only);
	if (e->only != NULL)
		plan = segext_kept_plan(&customers_plan,
								"SELECT segment_id, customer_id FROM segext.memberships "
								"WHERE company_id OPERATOR(pg_catalog.=) $1 "
								"AND customer_id OPERATOR(pg_catalog.=) ANY ($2) ORDER BY segment_id",
								2, types, CURSOR_OPT_GENERIC_PLAN);
	else
		plan = segext_kept_plan(&company_plan,
								"SELECT segment_id, customer_id FROM segext.memberships "
								"WHERE company_id OPERATOR(pg_catalog.=) $1 ORDER BY segment_id",
								1, types, CURSOR_OPT_GENERIC_PLAN);
	if (e->only != NULL && ArrayGetNItems(ARR_NDIM(e->only), ARR_DIMS(e->only)) <= 1000)
	{
		/* a few customers: their rows at once */
		if (SPI_execute_plan(plan, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_plan failed");
		set_old_bits(e, SPI_tuptable, SPI_processed, manual_only);
		SPI_freetuptable(SPI_tuptable);
		return;
	}
	/* many: in batches */
	portal = SPI_cursor_open(NULL, plan, args, NULL, true);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 10000);
		if (SPI_processed == 0)
			break;
		set_old_bits(e, SPI_tuptable, SPI_processed, manual_only);
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
}

/* Evaluation of the rows of the customers query, as they arrive. */
typedef struct StateReceiver
{
	DestReceiver pub;
	Engine	   *e;
	MemberCallback cb;
	void	   *arg;
	SegextCustomerRow row;
	SegextCustomerFacts *facts;
	int			bytes;
	bits8	   *newbits;
	bits8	   *nobits;
	MemoryContext tmp;
} StateReceiver;

/* sr_startup finds the customer and state columns of the query's rows. */
static void
sr_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	StateReceiver *sr = (StateReceiver *) self;
	Engine	   *e = sr->e;
	MemoryContext old = MemoryContextSwitchTo(e->cxt);

	/* the state's three columns come after the customer's */
	segext_customer_row_init(&sr->row, typeinfo, typeinfo->natts - 3);
	sr->facts = segext_facts_create(e->reqs);
	sr->bytes = BITS_BYTES(e->nsegs);
	sr->newbits = palloc(sr->bytes);
	sr->nobits = palloc0(sr->bytes);
	sr->tmp = AllocSetContextCreate(e->cxt, "segext customer", ALLOCSET_SMALL_SIZES);
	MemoryContextSwitchTo(old);
}

/*
 * sr_receive evaluates every segment for one customer row with its state
 * and calls the callback with the new and old membership bits.
 */
static bool
sr_receive(TupleTableSlot *slot, DestReceiver *self)
{
	StateReceiver *sr = (StateReceiver *) self;
	Engine	   *e = sr->e;
	SegextCustomerFacts *f = sr->facts;
	int			natts = sr->row.natts;
	SegextStateRow state;
	CustomerEntry *ce;
	bool		in_other = false;
	MemoryContext old;

	CHECK_FOR_INTERRUPTS();
	slot_getallattrs(slot);
	sr->row.values = slot->tts_values;
	sr->row.nulls = slot->tts_isnull;
	state.sales = slot->tts_isnull[natts] ? 0 : DatumGetInt64(slot->tts_values[natts]);
	state.amount = slot->tts_isnull[natts + 1] ? 0 : DatumGetInt64(slot->tts_values[natts + 1]);
	state.figures = slot->tts_isnull[natts + 2] ? NULL : DatumGetByteaPP(slot->tts_values[natts + 2]);
	old = MemoryContextSwitchTo(sr->tmp);
	segext_facts_reset(e->reqs, f);
	segext_facts_fill(e->reqs, f, &e->time, &state, &sr->row);
	ce = e->customers == NULL ? NULL : custhash_lookup(e->customers, f->id);
	memset(sr->newbits, 0, sr->bytes);
	/* "All", which in_segment may name: every active customer */
	if (f->active && e->idx_all >= 0 && e->member_slot[e->idx_all] >= 0)
		SEGEXT_FACTS_SET(f, SEGEXT_SLOT_SEGMENT, e->member_slot[e->idx_all]);
	/* in dependency order: a segment that in_segment names is decided first */
	for (int k = 0; k < e->nsegs; k++)
	{
		int			i = e->order[k];
		Segment    *s = &e->segs[i];
		bool		member;

		if (s->number <= 1)
			continue;
		if (!s->target || s->manual)
			member = f->active && ce != NULL && ce->old != NULL && BIT_TEST(ce->old, i);
		else if (e->explain != NULL && i == e->explain_index)
			member = segext_criteria_explain_customer(e->reqs, s->handle, f, &e->time,
													  segext_customer_row_field, &sr->row,
													  e->explain);
		else
			member = f->active &&
				segext_criteria_match_customer(e->reqs, s->handle, f, &e->time,
											   segext_customer_row_field, &sr->row);
		if (member)
		{
			BIT_SET(sr->newbits, i);
			in_other = true;
			if (e->member_slot[i] >= 0)
				SEGEXT_FACTS_SET(f, SEGEXT_SLOT_SEGMENT, e->member_slot[i]);
		}
	}
	if (f->active && e->idx_all >= 0)
		BIT_SET(sr->newbits, e->idx_all);
	if (f->active && !in_other && e->idx_default >= 0)
		BIT_SET(sr->newbits, e->idx_default);
	MemoryContextSwitchTo(old);
	sr->cb(e, &f->id, sr->newbits, ce != NULL && ce->old != NULL ? ce->old : sr->nobits, sr->arg);
	MemoryContextReset(sr->tmp);
	return true;
}

/* sr_shutdown has nothing to release: the engine's context holds it all. */
static void
sr_shutdown(DestReceiver *self)
{
}

/* sr_destroy has nothing to free: the receiver lives on the stack. */
static void
sr_destroy(DestReceiver *self)
{
}

/*
 * engine_lock_customer_rows locks the rows of the customers the maintenance
 * evaluates FOR SHARE, in id order: a statement that changes one of them
 * (or its state) waits for this transaction, and this one for it.
 */
void
engine_lock_customer_rows(Engine *e)
{
	static SegextKeptPlan plan;
	static const Oid types[2] = {KEPT_ARG_OBJECTID, KEPT_ARG_OBJECTID_ARRAY};
	Datum		args[2];
	int			ret;

	args[0] = PointerGetDatum(&e->company);
	args[1] = PointerGetDatum(e->only);
	ret = SPI_execute_plan(segext_kept_plan(&plan,
											"SELECT FROM segext.customers AS c "
											"WHERE c.company_id OPERATOR(pg_catalog.=) $1 AND c.id OPERATOR(pg_catalog.=) ANY ($2) "
											"ORDER BY c.id FOR SHARE",
											2, types, CURSOR_OPT_GENERIC_PLAN),
						   args, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	SPI_freetuptable(SPI_tuptable);
}

/*
 * engine_query_customers reads, with the active snapshot, the customers the engine
 * evaluates (e->only, or every customer of the company; only the active
 * ones unless all_customers) joined with their state rows, and evaluates
 * each row as it arrives.
 */
void
engine_query_customers(Engine *e, MemberCallback cb, void *arg)
{
	static SegextKeptPlan plans[2][2];	/* [only][active only] */
	static const Oid types[2] = {KEPT_ARG_OBJECTID, KEPT_ARG_OBJECTID_ARRAY};
	StateReceiver sr;
	SPIExecuteOptions opts;
	SegextKeptPlan *kept = &plans[e->only != NULL][!e->all_customers];
	char	   *sql;
	int			ret;

	sql = psprintf("SELECT c.*, s.sales AS \"segext state sales\", s.amount AS \"segext state amount\", "
				   "s.figures AS \"segext state figures\" "
				   "FROM segext.customers AS c LEFT JOIN segext.customer_states AS s "
				   "ON s.company_id OPERATOR(pg_catalog.=) c.company_id AND s.customer_id OPERATOR(pg_catalog.=) c.id "
				   "WHERE c.company_id OPERATOR(pg_catalog.=) $1%s%s",
				   e->only != NULL ? " AND c.id OPERATOR(pg_catalog.=) ANY ($2)" : "",
				   e->all_customers ? "" : " AND c.active");
	memset(&sr, 0, sizeof(sr));
	sr.pub.receiveSlot = sr_receive;
	sr.pub.rStartup = sr_startup;
	sr.pub.rShutdown = sr_shutdown;
	sr.pub.rDestroy = sr_destroy;
	sr.pub.mydest = DestNone;
	sr.e = e;
	sr.cb = cb;
	sr.arg = arg;
	memset(&opts, 0, sizeof(opts));
	opts.params = makeParamList(2);
	opts.params->params[0].value = PointerGetDatum(&e->company);
	opts.params->params[0].isnull = false;
	opts.params->params[0].ptype = e->idtype;
	opts.params->params[0].pflags = PARAM_FLAG_CONST;
	opts.params->params[1].value = PointerGetDatum(e->only);
	opts.params->params[1].isnull = e->only == NULL;
	opts.params->params[1].ptype = get_array_type(e->idtype);
	opts.params->params[1].pflags = PARAM_FLAG_CONST;
	opts.read_only = true;
	opts.dest = &sr.pub;
	/* every customer of a company: planned for its own size; a list: once */
	ret = SPI_execute_plan_extended(segext_kept_plan(kept, sql, 2, types,
													 e->only != NULL ? CURSOR_OPT_GENERIC_PLAN : 0),
									&opts);
	/* With a receiver of its own, SPI reports a SELECT as SPI_OK_UTILITY. */
	if (ret != SPI_OK_SELECT && ret != SPI_OK_UTILITY)
		elog(ERROR, "SPI_execute_plan_extended failed: %s", SPI_result_code_string(ret));
}
