/*-------------------------------------------------------------------------
 *
 * facts.c
 *	  segext.customer_facts: a parallel-safe aggregate that folds a
 *	  customer's transactions into the compact figures the criteria of some
 *	  segments need (count and amount, last purchase, per-POS counts, bought
 *	  SKUs, makers, item labels and purchase periods).
 *
 * The membership engine groups a company's transactions by customer with
 * this aggregate, so the planner can run it as Partial/Finalize HashAggregate
 * over a parallel sequential scan; the criteria of the segments being
 * evaluated come in as a constant argument and are compiled once per query
 * into the same requirements (slot numbers) the engine evaluates with.  The
 * state is a flat bytea (no pointers), so partial states travel between
 * processes without serialization functions; the combine function adds two
 * of them.  Amounts are compared as int64 units, never through numeric_cmp.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "access/tupmacs.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "criteria.h"
#include "evaluate.h"
#include "facts.h"

/* The kinds whose bits transactions set, in the order the state holds them. */
static const SegextSlotKind state_kinds[] = {
	SEGEXT_SLOT_SKU, SEGEXT_SLOT_MAKER, SEGEXT_SLOT_ITEM_LABEL, SEGEXT_SLOT_PERIOD
};

#define NSTATE_KINDS	4

/*
 * The aggregate's state: this header, then int64 pos[npos], then the
 * bitsets of state_kinds (nslots / 8 + 1 bytes each).  Read it with memcpy:
 * a state that arrives inside a tuple need not be 8-byte aligned.
 */
typedef struct FactsState
{
	int32		vl_len_;
	int32		npos;
	int32		nbytes;			/* bytes of all bitsets */
	int32		has_last;
	int64		count;
	int64		amount;
	TimestampTz last;
} FactsState;

#define STATE_POS(s)	((char *) (s) + sizeof(FactsState))
#define STATE_BITS(s)	(STATE_POS(s) + sizeof(int64) * ((FactsState *) (s))->npos)

/* The compiled criteria argument, kept for the whole query. */
typedef struct FactsSpec
{
	SegextRequirements *reqs;
	int			npos;
	int			nslots[NSTATE_KINDS];
	int			off[NSTATE_KINDS];	/* byte offset of each bitset */
	int			nbytes;
	Size		size;
	int			nperiods;
	const SegextPeriod *periods;
	Datum		arg;			/* the criteria argument of the first row */
	ArrayType  *criteria;		/* its detoasted copy */
} FactsSpec;

static void state_error(const char *detail) pg_attribute_noreturn();

/* same_criteria tells whether a row's criteria argument is the spec's. */
static bool
same_criteria(const FactsSpec *spec, Datum arg)
{
	ArrayType  *arr;
	bool		same;

	if (arg == spec->arg)
		return true;			/* the same constant, as the engine passes it */
	arr = DatumGetArrayTypeP(arg);
	same = VARSIZE(arr) == VARSIZE(spec->criteria) &&
		memcmp(arr, spec->criteria, VARSIZE(arr)) == 0;
	if ((Pointer) arr != DatumGetPointer(arg))
		pfree(arr);
	return same;
}

/* get_spec compiles the criteria array once per query (cached in fn_extra). */
static FactsSpec *
get_spec(FunctionCallInfo fcinfo)
{
	FactsSpec  *spec = (FactsSpec *) fcinfo->flinfo->fn_extra;
	MemoryContext old;
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	if (spec != NULL)
	{
		if (PG_ARGISNULL(1) || !same_criteria(spec, PG_GETARG_DATUM(1)))
			state_error("The criteria argument changed between rows.");
		return spec;
	}
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("criteria of segext.customer_facts cannot be null"),
				 errdetail("The aggregate needs the criteria whose figures it collects."),
				 errhint("Pass an array of segext.criteria values.")));
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	spec = palloc0(sizeof(FactsSpec));
	arr = DatumGetArrayTypePCopy(PG_GETARG_DATUM(1));
	spec->arg = PG_GETARG_DATUM(1);
	spec->criteria = arr;
	get_typlenbyvalalign(ARR_ELEMTYPE(arr), &typlen, &typbyval, &typalign);
	deconstruct_array(arr, ARR_ELEMTYPE(arr), typlen, typbyval, typalign, &elems, &nulls, &n);
	spec->reqs = segext_requirements_create();
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			segext_requirements_add(spec->reqs, DatumGetSegextCriteriaP(elems[i]));
	spec->npos = segext_requirements_nslots(spec->reqs, SEGEXT_SLOT_POS);
	for (int k = 0; k < NSTATE_KINDS; k++)
	{
		spec->nslots[k] = segext_requirements_nslots(spec->reqs, state_kinds[k]);
		spec->off[k] = spec->nbytes;
		spec->nbytes += spec->nslots[k] / 8 + 1;
	}
	spec->size = sizeof(FactsState) + sizeof(int64) * spec->npos + spec->nbytes;
	spec->periods = segext_requirements_periods(spec->reqs, &spec->nperiods);
	MemoryContextSwitchTo(old);
	fcinfo->flinfo->fn_extra = spec;
	return spec;
}

/* state_error reports a state the functions did not make for this use. */
static void
state_error(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid segext.customer_facts state"),
			 errdetail("%s", detail),
			 errhint("Use segext.customer_facts only as the membership engine does, with one criteria array for every row.")));
}

/*
 * check_state refuses a state that is not a plain varlena whose length
 * matches its header's sizes, and, when spec is given, one of other criteria.
 */
static void
check_state(const FactsState *st, const FactsSpec *spec)
{
	if (VARATT_IS_EXTENDED(st) || VARSIZE(st) < sizeof(FactsState) ||
		st->npos < 0 || st->nbytes < 0 ||
		VARSIZE(st) != sizeof(FactsState) + sizeof(int64) * (Size) st->npos + st->nbytes)
		state_error("The state's sizes do not match its length.");
	if (spec != NULL && (st->npos != spec->npos || st->nbytes != spec->nbytes))
		state_error("The state was made for other criteria.");
}

/*
 * aggregate_context returns the aggregate's context; outside an aggregate
 * the support functions refuse to run.
 */
static MemoryContext
aggregate_context(FunctionCallInfo fcinfo)
{
	MemoryContext cxt;

	if (!AggCheckCallContext(fcinfo, &cxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function %s can only be called by an aggregate",
						get_func_name(fcinfo->flinfo->fn_oid)),
				 errhint("Use the aggregate segext.customer_facts.")));
	return cxt;
}

/* add_items sets the bits of the slots named in a text[] of folded strings. */
static void
add_items(FactsSpec *spec, bits8 *bits, int k, Datum arrd)
{
	ArrayType  *a;
	int			n;
	char	   *p;
	bool		all = true;
	int			nslots = spec->nslots[k];

	for (int i = 0; i < nslots && all; i++)
		all = (bits[i / 8] & (1 << (i % 8))) != 0;
	if (all)
		return;					/* nothing left to learn */
	a = DatumGetArrayTypeP(arrd);
	if (ARR_HASNULL(a))
		return;					/* the trigger never writes NULL elements */
	n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	p = ARR_DATA_PTR(a);
	for (int i = 0; i < n; i++)
	{
		char	   *s = VARDATA_ANY(p);
		int			len = VARSIZE_ANY_EXHDR(p);
		int			slot;

		if (state_kinds[k] == SEGEXT_SLOT_ITEM_LABEL)
		{
			char	   *sep = memchr(s, '\x1f', len);

			slot = sep == NULL ? -1 :
				segext_requirements_pair_slot(spec->reqs, SEGEXT_SLOT_ITEM_LABEL, s, sep - s,
											  sep + 1, len - (sep - s) - 1);
		}
		else
			slot = segext_requirements_slot(spec->reqs, state_kinds[k], s, len);
		if (slot >= 0)
			bits[slot / 8] |= (bits8) (1 << (slot % 8));
		p = att_addlength_pointer(p, -1, p);
		p = (char *) att_align_nominal(p, TYPALIGN_INT);
	}
	if ((Pointer) a != DatumGetPointer(arrd))
		pfree(a);
}

/* add_amount adds an amount to a state's total, refusing an overflow. */
static void
add_amount(FactsState *st, int64 amount)
{
	if (pg_add_s64_overflow(st->amount, amount, &st->amount))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the total amount of a customer's transactions is out of range"),
				 errdetail("Totals must lie between -9223372036854.775807 and 9223372036854.775807."),
				 errhint("Check the amounts of the customer's transactions.")));
}

PG_FUNCTION_INFO_V1(segext_customer_facts_step);
/*
 * segext_customer_facts_step folds one transaction into the state:
 * (state, criteria[], now, amount, returned_amount, is_sale, occurred_at,
 * pos_id, item_skus, item_makers, item_labels).
 */
Datum
segext_customer_facts_step(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = aggregate_context(fcinfo);
	FactsSpec  *spec = get_spec(fcinfo);
	FactsState *st;
	int64		amount;
	bool		counted;

	if (PG_ARGISNULL(0))
	{
		st = MemoryContextAllocZero(aggcxt, spec->size);
		SET_VARSIZE(st, spec->size);
		st->npos = spec->npos;
		st->nbytes = spec->nbytes;
	}
	else
	{
		st = (FactsState *) PG_GETARG_POINTER(0);	/* our own, aligned */
		check_state(st, spec);
	}
	if (PG_ARGISNULL(3))
		PG_RETURN_POINTER(st);
	amount = segext_amount_from_numeric(PG_GETARG_NUMERIC(3));
	add_amount(st, amount);
	if (PG_ARGISNULL(5) || !PG_GETARG_BOOL(5))
		PG_RETURN_POINTER(st);	/* a return: only its amount counts */
	counted = true;
	if (!PG_ARGISNULL(4))
	{
		Pointer		returned = PG_GETARG_POINTER(4);

		/* a numeric zero is a bare header: nothing returned */
		if (VARSIZE_ANY_EXHDR(returned) != sizeof(uint16))
			counted = segext_amount_from_numeric(PG_GETARG_NUMERIC(4)) < amount;
	}
	if (!counted)
		PG_RETURN_POINTER(st);
	st->count++;
	if (!PG_ARGISNULL(6))
	{
		TimestampTz at = PG_GETARG_TIMESTAMPTZ(6);
		bits8	   *periods = (bits8 *) STATE_BITS(st) + spec->off[3];

		for (int i = 0; i < spec->nperiods; i++)
			if (spec->periods[i].from <= at && at <= spec->periods[i].to)
				periods[i / 8] |= (bits8) (1 << (i % 8));
		if (!PG_ARGISNULL(2) && at <= PG_GETARG_TIMESTAMPTZ(2) &&
			(!st->has_last || at > st->last))
		{
			st->has_last = 1;
			st->last = at;
		}
	}
	if (spec->npos > 0 && !PG_ARGISNULL(7))
	{
		Pointer		t = PG_GETARG_POINTER(7);
		int			s = segext_requirements_slot(spec->reqs, SEGEXT_SLOT_POS,
												 VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));

		if (s >= 0)
			((int64 *) STATE_POS(st))[s]++;
	}
	for (int k = 0; k < 3; k++)
		if (spec->nslots[k] > 0 && !PG_ARGISNULL(8 + k))
			add_items(spec, (bits8 *) STATE_BITS(st) + spec->off[k], k, PG_GETARG_DATUM(8 + k));
	PG_RETURN_POINTER(st);
}

/* state_copy returns a MAXALIGNed copy of a state datum in cxt. */
static FactsState *
state_copy(Datum d, MemoryContext cxt)
{
	struct varlena *v = PG_DETOAST_DATUM(d);
	FactsState *st = MemoryContextAllocZero(cxt, Max(VARSIZE(v), sizeof(FactsState)));

	memcpy(st, v, VARSIZE(v));
	check_state(st, NULL);
	return st;
}

PG_FUNCTION_INFO_V1(segext_customer_facts_combine);
/* segext_customer_facts_combine adds a partial state into another. */
Datum
segext_customer_facts_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = aggregate_context(fcinfo);
	FactsState *a;
	FactsState *b;
	int64	   *apos;
	int64	   *bpos;
	bits8	   *abits;
	bits8	   *bbits;

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	if (PG_ARGISNULL(0))
		PG_RETURN_POINTER(state_copy(PG_GETARG_DATUM(1), aggcxt));
	a = (FactsState *) PG_GETARG_POINTER(0);	/* our own, aligned */
	check_state(a, NULL);
	b = state_copy(PG_GETARG_DATUM(1), CurrentMemoryContext);
	if (a->npos != b->npos || a->nbytes != b->nbytes)
		state_error("The two states were made for different criteria.");
	if (pg_add_s64_overflow(a->count, b->count, &a->count))
		state_error("The sum of the transaction counts is out of range.");
	add_amount(a, b->amount);
	if (b->has_last && (!a->has_last || b->last > a->last))
	{
		a->has_last = 1;
		a->last = b->last;
	}
	apos = (int64 *) STATE_POS(a);
	bpos = (int64 *) STATE_POS(b);
	for (int i = 0; i < a->npos; i++)
		if (pg_add_s64_overflow(apos[i], bpos[i], &apos[i]))
			state_error("The sum of the per-POS transaction counts is out of range.");
	abits = (bits8 *) STATE_BITS(a);
	bbits = (bits8 *) STATE_BITS(b);
	for (int i = 0; i < a->nbytes; i++)
		abits[i] |= bbits[i];
	pfree(b);
	PG_RETURN_POINTER(a);
}

/* segext_facts_from_state copies an aggregate result into facts. */
void
segext_facts_from_state(const SegextRequirements *reqs, const bytea *state,
						SegextCustomerFacts *facts)
{
	FactsState	h;
	const char *p = VARDATA_ANY(state);	/* a short header in a tuple */
	int			npos = segext_requirements_nslots(reqs, SEGEXT_SLOT_POS);

	memcpy((char *) &h + VARHDRSZ, p, sizeof(h) - VARHDRSZ);
	if (h.npos != npos)
		elog(ERROR, "segext.customer_facts state does not fit the requirements");
	facts->transaction_count = h.count;
	facts->amount = h.amount;
	facts->has_last_purchase = h.has_last != 0;
	facts->last_purchase = h.last;
	p += sizeof(FactsState) - VARHDRSZ;
	memcpy(facts->pos_count, p, sizeof(int64) * npos);
	p += sizeof(int64) * npos;
	for (int k = 0; k < NSTATE_KINDS; k++)
	{
		int			bytes = segext_requirements_nslots(reqs, state_kinds[k]) / 8 + 1;

		memcpy(facts->bits[state_kinds[k]], p, bytes);
		p += bytes;
	}
}
