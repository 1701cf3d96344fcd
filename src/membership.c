/*-------------------------------------------------------------------------
 *
 * membership.c
 *	  Segment membership, always fresh: every segment is decided from the
 *	  per-customer state (segext.customer_states, src/customer_state.c) and
 *	  the customer row, and the stored members (segext.memberships) change
 *	  in the statement that changes what they depend on.
 *
 * One engine serves every path.  It loads the company's active segments,
 * the current members of the customers it evaluates, then reads those
 * customers joined with their state rows in one query and evaluates every
 * target segment per customer (segext_facts_fill is the one place that
 * turns a state row into facts).  Only differences are written back
 * (INSERT/DELETE on segext.memberships); statement triggers on that table
 * append the count changes (segext.segment_member_counts), the history and
 * the NOTIFY.  The paths:
 *
 *	 - a statement that writes transactions: the state trigger re-evaluates
 *	   the customers whose state it changed (segext_reevaluate_customers);
 *	 - a statement that inserts or updates customers: the customers of its
 *	   new rows (segext_customers_membership);
 *	 - a statement that inserts, updates or deletes segments: every customer
 *	   of the company for the segments whose criteria or active flag changed,
 *	   and for Default (segext_segments_membership);
 *	 - refresh_company rebuilds the company's state from its transactions,
 *	   then evaluates every segment (the repair path); refresh_segment
 *	   evaluates one segment from the state; segment_members evaluates
 *	   without writing.
 *
 * in_segment criteria read the members of other segments as decided in the
 * same pass: per customer, segments are evaluated in dependency order (a
 * named segment first, plan_order) and each decision sets the named
 * segment's bit in the facts (SEGEXT_SLOT_SEGMENT) that the evaluator
 * reads.  A run over some segments also evaluates the segments they name,
 * directly or not, and a run that writes also those that name them
 * (close_targets), so that a change of a segment's criteria or active flag
 * moves the segments built on it in the same statement.
 *
 * Lock order.  Every path that locks rows of one company takes them in this
 * order, and never a lock of an earlier rank while it holds one of a later
 * rank, so that two such paths cannot wait for each other in a cycle:
 *
 *	 1. the company's segment rows, FOR NO KEY UPDATE: segment 0 "All"
 *		first, then the others by id (lock_segments); a plain UPDATE or
 *		DELETE of segments holds only its own rows;
 *	 2. the company row (companies), FOR NO KEY UPDATE (the rules that count
 *		a company's rows, src/rules.c);
 *	 3. channel rows, by (company_id, id) (the segment mix rules);
 *	 4. the company's state lock (a transaction lock of its own):
 *		ShareLock for the maintenance of customers (sales, customer edits:
 *		they run side by side), ExclusiveLock for a change of segments, of
 *		manual members and for a refresh (they wait for the sales in flight
 *		and the sales wait for them);
 *	 5. customer rows FOR SHARE and state rows (maintenance only, one
 *		customer at a time in (company, customer) order): two statements
 *		that touch one customer are serialized here, so each evaluates the
 *		customer as the other left it.
 *	 membership rows, and after them their count rows, are written only
 *	 while holding the lock of rank 4.
 *
 * After its locks, every path reads with a snapshot taken after them (READ
 * COMMITTED), so it sees whatever the writers it waited for committed.  At
 * REPEATABLE READ and SERIALIZABLE the snapshot cannot move: a path that
 * finds a segment, or the members of a manual segment, changed by a
 * transaction that committed after the snapshot fails with 40001.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/params.h"
#include "tcop/dest.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "criteria.h"
#include "customer_state.h"
#include "evaluate.h"
#include "kept_plan.h"
#include "membership.h"
#include "role_switch.h"
#include "objectid.h"
#include "trigger_check.h"

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
	custhash_hash *customers;	/* made by the first customer_entry */
	uint32		customers_expected; /* its initial size */
	bool		all_customers;	/* inactive customers too (they leave) */
	ArrayType  *only;			/* evaluate these customers only, or NULL */
	SegextEvalTime time;
	SegextExplain *explain;		/* records the segment at explain_index, or NULL */
	int			explain_index;
} Engine;

typedef void (*MemberCallback) (Engine *e, const SegextObjectId *customer,
								bits8 *new_bits, bits8 *old_bits, void *arg);

static void check_members_unchanged(const SegextObjectId *company);
static void lock_segments(const SegextObjectId *company);
static void query_customers(Engine *e, MemberCallback cb, void *arg);
static int	segment_index(const Engine *e, const SegextObjectId *id);

/* Memberships this backend changed, for the callers that report them. */
static int64 membership_changes = 0;

#define BITS_BYTES(n)	((n) / 8 + 1)
#define BIT_SET(b, i)	((b)[(i) / 8] |= (bits8) (1 << ((i) % 8)))
#define BIT_TEST(b, i)	(((b)[(i) / 8] & (1 << ((i) % 8))) != 0)

/* engine_init prepares an engine run for a company in a private context. */
static void
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
 * lock_segments locks every segment row of a company FOR NO KEY UPDATE in
 * the lock order (segment 0 first, then by id).  A segment changed by a transaction that committed after a
 * REPEATABLE READ or SERIALIZABLE snapshot fails with 40001.
 */
static void
lock_segments(const SegextObjectId *company)
{
	Datum		args[1];
	Oid			types[1];
	int			ret = 0;
	MemoryContext cxt = CurrentMemoryContext;

	types[0] = segext_objectid_type();
	args[0] = PointerGetDatum(company);
	PG_TRY();
	{
		ret = SPI_execute_with_args("SELECT id FROM segext.segments "
									"WHERE company_id OPERATOR(pg_catalog.=) $1 "
									"ORDER BY number OPERATOR(pg_catalog.<>) 0, id FOR NO KEY UPDATE",
									1, types, args, NULL, false, 0);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_T_R_SERIALIZATION_FAILURE)
			PG_RE_THROW();
		FlushErrorState();
		segext_objectid_to_hex(company, hex);
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not lock the segments of company \"%s\"", hex),
				 errdetail("A transaction that committed after this transaction's snapshot changed a segment of company \"%s\" or its members (%s); at isolation level %s the snapshot cannot move to see it.",
						   hex, edata->message,
						   XactIsoLevel == XACT_SERIALIZABLE ? "SERIALIZABLE" : "REPEATABLE READ"),
				 errhint("Retry the transaction, or run it at isolation level READ COMMITTED.")));
	}
	PG_END_TRY();
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	if (IsolationUsesXactSnapshot())
		check_members_unchanged(company);
}

/*
 * check_members_unchanged raises 40001 when a member count row of the
 * company, read with the latest snapshot, was written by a transaction that
 * committed after this transaction's snapshot (REPEATABLE READ and
 * SERIALIZABLE), so that members are never computed from a stale view.
 */
static void
check_members_unchanged(const SegextObjectId *company)
{
	static const char *sql = "SELECT m.xmin FROM segext.segment_member_counts AS m "
		"WHERE m.company_id OPERATOR(pg_catalog.=) $1";
	Oid			types[1];
	Datum		args[1];
	SPIPlanPtr	plan;
	Snapshot	mine = GetTransactionSnapshot();
	int			ret;

	types[0] = segext_objectid_type();
	args[0] = PointerGetDatum(company);
	plan = SPI_prepare(sql, 1, types);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	ret = SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot,
							   true, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(ret));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		TransactionId xid = DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[i],
																SPI_tuptable->tupdesc, 1, &isnull));

		if (!isnull && TransactionIdIsNormal(xid) && !TransactionIdIsCurrentTransactionId(xid) &&
			XidInMVCCSnapshot(xid, mine))
		{
			char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

			segext_objectid_to_hex(company, hex);
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not lock the segments of company \"%s\"", hex),
					 errdetail("A transaction that committed after this transaction's snapshot changed the members of a segment of company \"%s\"; at isolation level %s the snapshot cannot move to see it.",
							   hex, XactIsoLevel == XACT_SERIALIZABLE ? "SERIALIZABLE" : "REPEATABLE READ"),
					 errhint("Retry the transaction, or run it at isolation level READ COMMITTED.")));
		}
	}
	SPI_freeplan(plan);
}

/*
 * check_definitions_unchanged raises 40001 at REPEATABLE READ and
 * SERIALIZABLE when a segment of the company, or the members of one of its
 * manual segments, were changed by a transaction that committed after this
 * transaction's snapshot: the maintenance of customers would evaluate them
 * against definitions it cannot see.
 */
static void
check_definitions_unchanged(const SegextObjectId *company)
{
	static SegextKeptPlan plan;
	static const Oid types[1] = {KEPT_ARG_OBJECTID};
	static const char *sql = "SELECT s.xmin FROM segext.segments AS s "
		"WHERE s.company_id OPERATOR(pg_catalog.=) $1 "
		"UNION ALL SELECT m.xmin FROM segext.segment_member_counts AS m "
		"JOIN segext.segments AS s ON s.company_id OPERATOR(pg_catalog.=) m.company_id "
		"AND s.id OPERATOR(pg_catalog.=) m.segment_id "
		"WHERE m.company_id OPERATOR(pg_catalog.=) $1 AND s.criteria IS NULL "
		"AND s.number OPERATOR(pg_catalog.>) 1";
	Datum		args[1];
	Snapshot	mine = GetTransactionSnapshot();
	uint64		visible_now;
	bool		changed = false;
	int			ret;

	args[0] = PointerGetDatum(company);
	ret = SPI_execute_snapshot(segext_kept_plan(&plan, sql, 1, types, CURSOR_OPT_GENERIC_PLAN),
							   args, NULL, GetLatestSnapshot(), InvalidSnapshot, true, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(ret));
	visible_now = SPI_processed;
	for (uint64 i = 0; i < SPI_processed && !changed; i++)
	{
		bool		isnull;
		TransactionId xid = DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[i],
																SPI_tuptable->tupdesc, 1, &isnull));

		changed = !isnull && TransactionIdIsNormal(xid) && !TransactionIdIsCurrentTransactionId(xid) &&
			XidInMVCCSnapshot(xid, mine);
	}
	if (!changed)
	{
		/* a row deleted since the snapshot: the snapshot sees more rows */
		ret = SPI_execute_snapshot(segext_kept_plan(&plan, sql, 1, types, CURSOR_OPT_GENERIC_PLAN),
								   args, NULL, mine, InvalidSnapshot, true, false, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(ret));
		changed = SPI_processed != visible_now;
	}
	if (changed)
	{
		char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

		segext_objectid_to_hex(company, hex);
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to a concurrent change of the segments of company \"%s\"", hex),
				 errdetail("A transaction that committed after this transaction's snapshot changed a segment of company \"%s\" or the members of a manual segment; at isolation level %s the snapshot cannot move to see it.",
						   hex, XactIsoLevel == XACT_SERIALIZABLE ? "SERIALIZABLE" : "REPEATABLE READ"),
				 errhint("Retry the transaction, or run it at isolation level READ COMMITTED.")));
	}
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
					int			j = segment_index(e, &s->refs[k].id);

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
 * plan_order sets the engine's evaluation order (every segment after the
 * segments its in_segment criteria name) and the SEGEXT_SLOT_SEGMENT slot
 * of each segment that an evaluated criterion names, in the engine's
 * context.
 */
static void
plan_order(Engine *e)
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
 * load_segments reads the company's active segments with the active
 * snapshot, marks the targets (every active segment when ntargets is 0,
 * else those listed plus the built-ins, closed over in_segment criteria by
 * close_targets: with dependents unless dependencies_only) and compiles the
 * requirements of the targets with criteria.
 */
static void
load_segments_for(Engine *e, const SegextObjectId *targets, int ntargets, bool dependencies_only)
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
	plan_order(e);
}

/* load_segments loads the segments for a run that writes (load_segments_for). */
static void
load_segments(Engine *e, const SegextObjectId *targets, int ntargets)
{
	load_segments_for(e, targets, ntargets, false);
}

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
 * load_all_segments_kept points the engine at the company's compiled active
 * segments, all targets, from the backend's cache when still current, else
 * loaded with the active snapshot and kept.  The engine must not change
 * them.
 */
static void
load_all_segments_kept(Engine *e)
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
	load_segments(e, NULL, 0);
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

/*
 * load_one_segment makes an engine of one segment (number > 1) whose row is
 * already read, for an evaluation that depends on it alone.
 */
static void
load_one_segment(Engine *e, const SegextObjectId *id, int number, Datum criteria, bool manual)
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
	plan_order(e);
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

/* segment_index returns the index of a loaded segment, or -1. */
static int
segment_index(const Engine *e, const SegextObjectId *id)
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
			cur = segment_index(e, sid);
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
 * load_memberships reads the current members of the loaded segments (all of
 * them, or only the manual ones, whose members are explicit) of the
 * customers the engine evaluates (e->only) or of the whole company, with
 * the active snapshot, into the customers' old bits.
 */
static void
load_memberships(Engine *e, bool manual_only)
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
 * lock_customer_rows locks the rows of the customers the maintenance
 * evaluates FOR SHARE, in id order: a statement that changes one of them
 * (or its state) waits for this transaction, and this one for it.
 */
static void
lock_customer_rows(Engine *e)
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
 * query_customers reads, with the active snapshot, the customers the engine
 * evaluates (e->only, or every customer of the company; only the active
 * ones unless all_customers) joined with their state rows, and evaluates
 * each row as it arrives.
 */
static void
query_customers(Engine *e, MemberCallback cb, void *arg)
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

/* The differences found by a refresh, as parallel arrays. */
typedef struct Diff
{
	int			n;
	int			cap;
	Datum	   *segment;
	Datum	   *customer;
} Diff;

typedef struct DiffPair
{
	Diff		entered;
	Diff		left;
} DiffPair;

/* diff_add appends one (segment, customer) pair. */
static void
diff_add(Engine *e, Diff *d, const SegextObjectId *seg, const SegextObjectId *cust)
{
	SegextObjectId *c;

	if (d->n == d->cap)
	{
		d->cap = d->cap == 0 ? 1024 : d->cap * 2;
		d->segment = d->segment ? repalloc_huge(d->segment, sizeof(Datum) * d->cap) :
			MemoryContextAllocHuge(e->cxt, sizeof(Datum) * d->cap);
		d->customer = d->customer ? repalloc_huge(d->customer, sizeof(Datum) * d->cap) :
			MemoryContextAllocHuge(e->cxt, sizeof(Datum) * d->cap);
	}
	c = MemoryContextAlloc(e->cxt, SEGEXT_OBJECTID_LEN);
	*c = *cust;
	d->segment[d->n] = PointerGetDatum(seg);
	d->customer[d->n] = PointerGetDatum(c);
	d->n++;
}

/* collect_diff records the targets whose membership of a customer changed. */
static void
collect_diff(Engine *e, const SegextObjectId *customer, bits8 *new_bits,
			 bits8 *old_bits, void *arg)
{
	DiffPair   *dp = (DiffPair *) arg;

	for (int i = 0; i < e->nsegs; i++)
	{
		bool		now = BIT_TEST(new_bits, i);
		bool		before = BIT_TEST(old_bits, i);

		if (!e->segs[i].target || now == before)
			continue;
		diff_add(e, now ? &dp->entered : &dp->left, &e->segs[i].id, customer);
	}
}

/*
 * State saved while segext writes segext.memberships as its owner: only
 * segext writes members (the table's guard refuses anyone else), after the
 * caller's right to act for the company has been checked.
 */
typedef SegextRoleSwitch MembersWrite;

/*
 * members_write_begin switches to the owner of segext.memberships, with
 * search_path pg_catalog, pg_temp, for segext's own writes of members.
 */
static void
members_write_begin(MembersWrite *w)
{
	segext_switch_role(w, segext_table_owner("memberships"));
}

/* members_write_end restores the caller's role and search_path. */
static void
members_write_end(MembersWrite *w)
{
	segext_restore_role(w);
}

/*
 * Diffs up to this size are written with a plan prepared once per backend
 * (the few rows of a sale); larger ones (a refresh, a segment change) with
 * a plan made for their values.
 */
#define DIFF_KEPT_PLAN_MAX 1000

/* apply_diff writes the differences into segext.memberships. */
static void
apply_diff(Engine *e, Diff *d, bool entered)
{
	static SegextKeptPlan insert_plan;
	static SegextKeptPlan delete_plan;
	static const Oid argtypes[3] = {KEPT_ARG_OBJECTID, KEPT_ARG_OBJECTID_ARRAY, KEPT_ARG_OBJECTID_ARRAY};
	const char *sql;
	SegextKeptPlan *kept;
	Datum		args[3];
	int			ret;
	MembersWrite w;

	if (d->n == 0)
		return;
	args[0] = PointerGetDatum(&e->company);
	args[1] = PointerGetDatum(construct_array(d->segment, d->n, e->idtype,
											  SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR));
	args[2] = PointerGetDatum(construct_array(d->customer, d->n, e->idtype,
											  SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR));
	if (entered)
	{
		sql = "INSERT INTO segext.memberships (company_id, segment_id, customer_id) "
			"SELECT $1, u.s, u.c FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(s, c)";
		kept = &insert_plan;
	}
	else
	{
		sql = "DELETE FROM segext.memberships AS m "
			"USING ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) AS u(s, c) "
			"WHERE m.company_id OPERATOR(pg_catalog.=) $1 "
			"AND m.segment_id OPERATOR(pg_catalog.=) u.s "
			"AND m.customer_id OPERATOR(pg_catalog.=) u.c";
		kept = &delete_plan;
	}
	members_write_begin(&w);
	if (d->n <= DIFF_KEPT_PLAN_MAX)
		ret = SPI_execute_plan(segext_kept_plan(kept, sql, 3, argtypes, CURSOR_OPT_GENERIC_PLAN),
							   args, NULL, false, 0);
	else
	{
		Oid			types[3];

		types[0] = e->idtype;
		types[1] = types[2] = get_array_type(e->idtype);
		ret = SPI_execute_with_args(sql, 3, types, args, NULL, false, 0);
	}
	if (ret < 0)
		elog(ERROR, "SPI execution failed: %s", SPI_result_code_string(ret));
	membership_changes += (int64) SPI_processed;
	members_write_end(&w);
}

static void segment_row(const SegextObjectId *segment, SegextObjectId *company,
						int *number, Datum *criteria, bool *manual, bool *active,
						char **name);

/* segment_company finds the company of a segment (segment_row). */
static void
segment_company(const SegextObjectId *segment, SegextObjectId *company, int *number)
{
	segment_row(segment, company, number, NULL, NULL, NULL, NULL);
}

/*
 * segment_row finds a segment by its id among the current company's segments
 * (ids are unique per company only), with the caller's privileges and row
 * level security, and reads its company and number and, when asked, a copy of
 * its criteria (NULL for a manual segment), whether it is active and its
 * name, in the caller's memory context.  With no current company (an
 * admin), the id must belong to one company alone.  Raises 22023 when no
 * segment or more than one matches.
 */
static void
segment_row(const SegextObjectId *segment, SegextObjectId *company, int *number,
			Datum *criteria, bool *manual, bool *active, char **name)
{
	static SegextKeptPlan row_plan;
	static const Oid argtypes[1] = {KEPT_ARG_OBJECTID};
	Datum		args[1];
	int			ret;
	bool		isnull;
	char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

	args[0] = PointerGetDatum(segment);
	/* a key lookup: the generic plan suits every id, so plan it once */
	ret = SPI_execute_plan(segext_kept_plan(&row_plan,
											"SELECT company_id, number, criteria, active, name FROM segext.segments "
											"WHERE id OPERATOR(pg_catalog.=) $1 AND company_id OPERATOR(pg_catalog.=) "
											"COALESCE(segext.current_company_id(), company_id) LIMIT 2",
											1, argtypes, CURSOR_OPT_GENERIC_PLAN),
						   args, NULL, true, 2);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	segext_objectid_to_hex(segment, hex);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment \"%s\" does not exist", hex),
				 errdetail("No segment of the current company has id \"%s\".", hex),
				 errhint("Pass the id of an existing segment.")));
	if (SPI_processed > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment id \"%s\" is ambiguous", hex),
				 errdetail("Segment ids are unique within a company only, several companies have a segment with id \"%s\", and no company is current.",
						   hex),
				 errhint("Set segext.company_id to the company whose segment is meant.")));
	memcpy(company, DatumGetPointer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
		   SEGEXT_OBJECTID_LEN);
	*number = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	if (criteria != NULL)
	{
		Datum		c = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, manual);

		*criteria = *manual ? (Datum) 0 : PointerGetDatum(PG_DETOAST_DATUM_COPY(c));
		*active = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
	}
	if (name != NULL)
		*name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5);
}

/*
 * evaluate_and_write runs the engine over its customers (e->only, or the
 * whole company) with a snapshot taken now, after the caller's locks, and
 * writes the differences of the target segments; returns how many
 * memberships changed.
 */
static int64
evaluate_and_write(Engine *e, const SegextObjectId *targets, int ntargets)
{
	DiffPair	dp;

	CommandCounterIncrement();
	PushCopiedSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	if (ntargets == 0 && e->only != NULL)
		load_all_segments_kept(e);
	else
		load_segments(e, targets, ntargets);
	if (e->only != NULL)
		e->customers_expected = Max(ArrayGetNItems(ARR_NDIM(e->only), ARR_DIMS(e->only)), 16);
	else
	{
		Relation	rel = table_openrv(makeRangeVar("segext", "customers", -1), AccessShareLock);

		e->customers_expected = (uint32) Min(Max(rel->rd_rel->reltuples, 1024.0) * 1.2,
											 (double) PG_UINT32_MAX / 2);
		table_close(rel, AccessShareLock);
	}
	load_memberships(e, false);
	memset(&dp, 0, sizeof(dp));
	query_customers(e, collect_diff, &dp);

	PopActiveSnapshot();
	/* Customers with memberships but no row any more are left by cascade. */
	apply_diff(e, &dp.left, false);
	apply_diff(e, &dp.entered, true);
	return (int64) dp.entered.n + dp.left.n;
}

/*
 * remove_inactive_members deletes the members of the company's inactive
 * segments (only that one, when segment is given and inactive), which no
 * evaluation reads; returns how many were removed.
 */
static int64
remove_inactive_members(const SegextObjectId *company, const SegextObjectId *segment)
{
	Datum		args[2];
	Oid			types[2];
	char		nulls[2] = {' ', segment == NULL ? 'n' : ' '};
	int			ret;
	MembersWrite w;

	types[0] = types[1] = segext_objectid_type();
	args[0] = PointerGetDatum(company);
	args[1] = PointerGetDatum(segment);
	members_write_begin(&w);
	ret = SPI_execute_with_args("DELETE FROM segext.memberships AS m "
								"WHERE m.company_id OPERATOR(pg_catalog.=) $1 "
								"AND m.segment_id OPERATOR(pg_catalog.=) ANY (ARRAY("
								"SELECT s.id FROM segext.segments AS s "
								"WHERE s.company_id OPERATOR(pg_catalog.=) $1 AND NOT s.active "
								"AND ($2 IS NULL OR s.id OPERATOR(pg_catalog.=) $2)))",
								2, types, args, nulls, false, 0);
	if (ret != SPI_OK_DELETE)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	membership_changes += (int64) SPI_processed;
	members_write_end(&w);
	return (int64) SPI_processed;
}

/*
 * evaluate_company_segments re-evaluates the targets (none: every active
 * segment) and the built-ins for every customer of a company from the
 * state, after removing the members of its inactive segments, under the
 * company's state lock (ExclusiveLock); returns how many memberships
 * changed.
 */
static int64
evaluate_company_segments(const SegextObjectId *company, const SegextObjectId *targets, int ntargets)
{
	Engine		e;
	int64		changed;

	segext_lock_company_state(company, ExclusiveLock);
	if (IsolationUsesXactSnapshot())
		check_members_unchanged(company);
	changed = remove_inactive_members(company, ntargets == 1 ? &targets[0] : NULL);
	engine_init(&e, company);
	e.all_customers = true;
	changed += evaluate_and_write(&e, targets, ntargets);
	MemoryContextDelete(e.cxt);
	return changed;
}

/*
 * Customers re-evaluated, locked and written together: bounds the memory of
 * a bulk statement's maintenance (their members, bits and differences).
 */
#define REEVALUATE_CHUNK 10000

/*
 * segext_reevaluate_customers re-evaluates customers of one company (ids,
 * n of them, in id order), REEVALUATE_CHUNK at a time, against every active
 * segment from their state and writes the differences; returns how many
 * memberships changed.  The caller holds the company's state lock (ShareLock
 * at least).  Runs as the caller, inside or outside an SPI connection of its
 * own.
 */
int64
segext_reevaluate_customers(const SegextObjectId *company, Datum *ids, int n)
{
	Engine		e;
	int64		changed = 0;

	if (n == 0)
		return 0;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (IsolationUsesXactSnapshot())
		check_definitions_unchanged(company);
	for (int start = 0; start < n; start += REEVALUATE_CHUNK)
	{
		int			m = Min(REEVALUATE_CHUNK, n - start);

		engine_init(&e, company);
		e.all_customers = true;
		e.only = construct_array(ids + start, m, e.idtype, SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR);
		lock_customer_rows(&e);
		changed += evaluate_and_write(&e, NULL, 0);
		pfree(e.only);
		MemoryContextDelete(e.cxt);
	}
	SPI_finish();
	return changed;
}

/*
 * segext_reevaluate_every_company re-evaluates every segment for every
 * customer of every company, each under its state lock (after TRUNCATE of
 * the transactions emptied every state).
 */
void
segext_reevaluate_every_company(void)
{
	SPITupleTable *companies;
	uint64		n;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT id FROM segext.companies ORDER BY id", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed");
	companies = SPI_tuptable;
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		SegextObjectId company = *DatumGetSegextObjectIdP(SPI_getbinval(companies->vals[i],
																		 companies->tupdesc, 1, &isnull));

		(void) evaluate_company_segments(&company, NULL, 0);
	}
	SPI_finish();
}

/* A company's customers or segments named by a statement's rows. */
typedef struct CompanyKey
{
	SegextObjectId company;
	SegextObjectId id;
} CompanyKey;

static void delete_rows_of_keys(const char *table, const char *column, const CompanyKey *keys, int n);

/* cmp_company_key orders keys by company, then id. */
static int
cmp_company_key(const void *a, const void *b)
{
	const CompanyKey *x = a;
	const CompanyKey *y = b;
	int			c = segext_objectid_cmp(&x->company, &y->company);

	return c != 0 ? c : segext_objectid_cmp(&x->id, &y->id);
}

/*
 * read_keys reads (company_id, id) of every row of a transition table into
 * a sorted array of distinct keys; returns how many.
 */
static int
read_keys(Tuplestorestate *ts, TupleDesc desc, CompanyKey **keys)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	int			a_company = SPI_fnumber(desc, "company_id");
	int			a_id = SPI_fnumber(desc, "id");
	int			cap = 64;
	int			n = 0;
	int			kept = 0;
	CompanyKey *k = palloc(sizeof(CompanyKey) * cap);

	if (a_company <= 0 || a_id <= 0)
		elog(ERROR, "transition table lacks company_id or id");
	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		bool		isnull;

		if (n == cap)
		{
			cap *= 2;
			k = repalloc_huge(k, sizeof(CompanyKey) * cap);
		}
		memcpy(&k[n].company, DatumGetPointer(slot_getattr(slot, a_company, &isnull)), SEGEXT_OBJECTID_LEN);
		memcpy(&k[n].id, DatumGetPointer(slot_getattr(slot, a_id, &isnull)), SEGEXT_OBJECTID_LEN);
		n++;
	}
	ExecDropSingleTupleTableSlot(slot);
	qsort(k, n, sizeof(CompanyKey), cmp_company_key);
	for (int i = 0; i < n; i++)
		if (kept == 0 || cmp_company_key(&k[i], &k[kept - 1]) != 0)
			k[kept++] = k[i];
	*keys = k;
	return kept;
}

PG_FUNCTION_INFO_V1(segext_customers_membership);
/*
 * segext_customers_membership is the AFTER INSERT, UPDATE and DELETE
 * statement trigger of segext.customers (with a transition table):
 * re-evaluates the customers of the new rows against every active segment
 * of their company, and deletes the memberships of deleted customers.
 */
Datum
segext_customers_membership(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	CompanyKey *keys;
	int			n;
	int			start = 0;
	bool		deleting;
	Tuplestorestate *rows;

	(void) segext_check_trigger_call(fcinfo, "customers_membership",
									 SEGEXT_TRIGGER_AFTER | SEGEXT_TRIGGER_STATEMENT);
	deleting = TRIGGER_FIRED_BY_DELETE(trigdata->tg_event);
	rows = deleting ? trigdata->tg_oldtable : trigdata->tg_newtable;
	if (rows == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" needs the transition table of its event", "customers_membership"),
				 errhint("Create the trigger with REFERENCING NEW TABLE, or OLD TABLE for DELETE.")));
	n = read_keys(rows, RelationGetDescr(trigdata->tg_relation), &keys);
	if (deleting && SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	while (start < n)
	{
		int			end = start;
		Datum	   *ids;

		while (end < n && segext_objectid_equal(&keys[end].company, &keys[start].company))
			end++;
		segext_lock_company_state(&keys[start].company, ShareLock);
		if (deleting)
			delete_rows_of_keys("memberships", "customer_id", &keys[start], end - start);
		else
		{
			ids = palloc(sizeof(Datum) * (end - start));
			for (int i = start; i < end; i++)
				ids[i - start] = PointerGetDatum(&keys[i].id);
			(void) segext_reevaluate_customers(&keys[start].company, ids, end - start);
			pfree(ids);
		}
		start = end;
	}
	if (deleting)
		SPI_finish();
	return PointerGetDatum(NULL);
}

/* A segment row as the segments trigger compares it. */
typedef struct SegmentVersion
{
	CompanyKey	key;
	bool		active;
	bytea	   *criteria;		/* NULL: manual */
} SegmentVersion;

/* read_segment_versions reads the segment rows of a transition table. */
static int
read_segment_versions(Tuplestorestate *ts, TupleDesc desc, SegmentVersion **out)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	int			a_company = SPI_fnumber(desc, "company_id");
	int			a_id = SPI_fnumber(desc, "id");
	int			a_active = SPI_fnumber(desc, "active");
	int			a_criteria = SPI_fnumber(desc, "criteria");
	int			cap = 16;
	int			n = 0;
	SegmentVersion *v = palloc(sizeof(SegmentVersion) * cap);

	if (a_company <= 0 || a_id <= 0 || a_active <= 0 || a_criteria <= 0)
		elog(ERROR, "transition table lacks a column of segext.segments");
	tuplestore_rescan(ts);
	while (tuplestore_gettupleslot(ts, true, false, slot))
	{
		bool		isnull;
		Datum		crit;

		if (n == cap)
		{
			cap *= 2;
			v = repalloc_huge(v, sizeof(SegmentVersion) * cap);
		}
		memcpy(&v[n].key.company, DatumGetPointer(slot_getattr(slot, a_company, &isnull)), SEGEXT_OBJECTID_LEN);
		memcpy(&v[n].key.id, DatumGetPointer(slot_getattr(slot, a_id, &isnull)), SEGEXT_OBJECTID_LEN);
		v[n].active = DatumGetBool(slot_getattr(slot, a_active, &isnull));
		crit = slot_getattr(slot, a_criteria, &isnull);
		v[n].criteria = isnull ? NULL : DatumGetByteaPCopy(crit);
		n++;
	}
	ExecDropSingleTupleTableSlot(slot);
	*out = v;
	return n;
}

/* same_definition says whether two versions of a segment decide alike. */
static bool
same_definition(const SegmentVersion *a, const SegmentVersion *b)
{
	if (a->active != b->active || (a->criteria == NULL) != (b->criteria == NULL))
		return false;
	return a->criteria == NULL ||
		(VARSIZE_ANY_EXHDR(a->criteria) == VARSIZE_ANY_EXHDR(b->criteria) &&
		 memcmp(VARDATA_ANY(a->criteria), VARDATA_ANY(b->criteria), VARSIZE_ANY_EXHDR(a->criteria)) == 0);
}

/* company_exists says whether the company still has its row. */
static bool
company_exists(const SegextObjectId *company)
{
	static SegextKeptPlan plan;
	static const Oid types[1] = {KEPT_ARG_OBJECTID};
	Datum		args[1] = {PointerGetDatum(company)};

	if (SPI_execute_plan(segext_kept_plan(&plan, "SELECT FROM segext.companies WHERE id OPERATOR(pg_catalog.=) $1",
										  1, types, CURSOR_OPT_GENERIC_PLAN),
						 args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed");
	return SPI_processed > 0;
}

/*
 * delete_rows_of_keys deletes, as the owner of the membership tables, the
 * rows of table whose (company_id, column) is one of n keys of one company.
 */
static void
delete_rows_of_keys(const char *table, const char *column, const CompanyKey *keys, int n)
{
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum		args[2];
	Oid			types[2];
	MembersWrite w;
	char	   *sql;

	for (int i = 0; i < n; i++)
		ids[i] = PointerGetDatum(&keys[i].id);
	types[0] = segext_objectid_type();
	types[1] = get_array_type(types[0]);
	args[0] = PointerGetDatum(&keys[0].company);
	args[1] = PointerGetDatum(construct_array(ids, n, types[0], SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR));
	sql = psprintf("DELETE FROM segext.%s WHERE company_id OPERATOR(pg_catalog.=) $1 "
				   "AND %s OPERATOR(pg_catalog.=) ANY ($2)", table, column);
	members_write_begin(&w);
	if (SPI_execute_with_args(sql, 2, types, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "SPI_execute_with_args failed");
	members_write_end(&w);
}

/*
 * delete_rows_of_segments deletes the members, member counts and history of
 * deleted segments of one company (n keys): the tables hold no foreign key
 * to segments, so that writers of members never wait for a segment row
 * (see the lock order at the top of this file).
 */
static void
delete_rows_of_segments(const CompanyKey *keys, int n)
{
	delete_rows_of_keys("memberships", "segment_id", keys, n);
	delete_rows_of_keys("segment_member_counts", "segment_id", keys, n);
	delete_rows_of_keys("membership_history", "segment_id", keys, n);
}

PG_FUNCTION_INFO_V1(segext_segments_membership);
/*
 * segext_segments_membership is the AFTER INSERT, UPDATE and DELETE
 * statement trigger of segext.segments (with transition tables): for every
 * company whose segments changed criteria or active flag (or were added
 * active, or deleted), re-evaluates those segments and the built-ins for
 * every customer from the state, and removes the members of the segments
 * made inactive.
 */
Datum
segext_segments_membership(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	SegmentVersion *olds = NULL;
	SegmentVersion *news = NULL;
	int			nold = 0;
	int			nnew = 0;
	CompanyKey *changed;
	int			nchanged = 0;
	CompanyKey *deleted;
	int			ndeleted = 0;
	int			start = 0;
	int			dstart = 0;

	(void) segext_check_trigger_call(fcinfo, "segments_membership",
									 SEGEXT_TRIGGER_AFTER | SEGEXT_TRIGGER_STATEMENT);
	desc = RelationGetDescr(trigdata->tg_relation);
	if (trigdata->tg_oldtable != NULL)
		nold = read_segment_versions(trigdata->tg_oldtable, desc, &olds);
	if (trigdata->tg_newtable != NULL)
		nnew = read_segment_versions(trigdata->tg_newtable, desc, &news);
	changed = palloc(sizeof(CompanyKey) * (nold + nnew + 1));
	deleted = palloc(sizeof(CompanyKey) * (nold + 1));
	/* new or changed versions that decide differently; deleted active ones */
	for (int i = 0; i < nnew; i++)
	{
		const SegmentVersion *before = NULL;

		for (int j = 0; j < nold && before == NULL; j++)
			if (cmp_company_key(&olds[j].key, &news[i].key) == 0)
				before = &olds[j];
		if (before == NULL ? news[i].active : !same_definition(before, &news[i]))
			changed[nchanged++] = news[i].key;
	}
	for (int j = 0; j < nold; j++)
	{
		bool		kept = false;

		for (int i = 0; i < nnew && !kept; i++)
			kept = cmp_company_key(&olds[j].key, &news[i].key) == 0;
		if (!kept)
		{
			/* a deleted segment: its rows go, and Default follows */
			changed[nchanged] = olds[j].key;
			deleted[ndeleted++] = olds[j].key;
			memset(&changed[nchanged].id, 0, SEGEXT_OBJECTID_LEN);
			nchanged++;
		}
	}
	if (nchanged == 0)
		return PointerGetDatum(NULL);
	qsort(changed, nchanged, sizeof(CompanyKey), cmp_company_key);
	qsort(deleted, ndeleted, sizeof(CompanyKey), cmp_company_key);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	while (start < nchanged)
	{
		int			end = start;
		SegextObjectId *targets;
		int			ntargets = 0;

		while (end < nchanged &&
			   segext_objectid_equal(&changed[end].company, &changed[start].company))
			end++;
		targets = palloc(sizeof(SegextObjectId) * (end - start));
		for (int i = start; i < end; i++)
		{
			/* the zero id names no segment: the built-ins only */
			if (ntargets == 0 || !segext_objectid_equal(&targets[ntargets - 1], &changed[i].id))
				targets[ntargets++] = changed[i].id;
		}
		segext_lock_company_state(&changed[start].company, ExclusiveLock);
		while (dstart < ndeleted &&
			   segext_objectid_cmp(&deleted[dstart].company, &changed[start].company) < 0)
			dstart++;
		{
			int			dend = dstart;

			while (dend < ndeleted &&
				   segext_objectid_equal(&deleted[dend].company, &changed[start].company))
				dend++;
			if (dend > dstart)
				delete_rows_of_segments(&deleted[dstart], dend - dstart);
			dstart = dend;
		}
		if (company_exists(&changed[start].company))
			(void) evaluate_company_segments(&changed[start].company, targets, ntargets);
		start = end;
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(segext_refresh_segment);
/*
 * segext_refresh_segment re-evaluates one segment of the current company
 * (an inactive one loses its members) and the built-ins 0 and 1, which
 * depend on it, for every customer from the state; returns the number of
 * memberships that changed.
 */
Datum
segext_refresh_segment(PG_FUNCTION_ARGS)
{
	SegextObjectId *segment = PG_GETARG_SEGEXT_OBJECTID_P(0);
	SegextObjectId company;
	int			number;
	int64		changed;
	Datum		routed;

	SPI_connect();
	segment_company(segment, &company, &number);
	segext_check_company_access(&company);
	/* on Citus, run on the node of the company's shard group (citus.c) */
	if (segext_citus_route(fcinfo, &company, &routed))
	{
		SPI_finish();
		PG_RETURN_DATUM(routed);
	}
	/* the lock order: the segments before any of their members change */
	lock_segments(&company);
	if (number <= 1)
		changed = evaluate_company_segments(&company, NULL, 0);
	else
		changed = evaluate_company_segments(&company, segment, 1);
	SPI_finish();
	PG_RETURN_INT64(changed);
}

PG_FUNCTION_INFO_V1(segext_refresh_company);
/*
 * segext_refresh_company rebuilds a company's customer states from its
 * transactions, then re-evaluates every active segment for every customer
 * (the repair path); returns the number of memberships that changed.
 */
Datum
segext_refresh_company(PG_FUNCTION_ARGS)
{
	SegextObjectId *company = PG_GETARG_SEGEXT_OBJECTID_P(0);
	int64		changed;
	Datum		routed;

	SPI_connect();
	segext_company_must_be_visible(company, "Pass the id of the current company.");
	segext_check_company_access(company);
	/* on Citus, run on the node of the company's shard group (citus.c) */
	if (segext_citus_route(fcinfo, company, &routed))
	{
		SPI_finish();
		PG_RETURN_DATUM(routed);
	}
	/* the lock order: the segments before any of their members change */
	lock_segments(company);
	segext_lock_company_state(company, ExclusiveLock);
	(void) segext_rebuild_company_states(company);
	changed = evaluate_company_segments(company, NULL, 0);
	SPI_finish();
	PG_RETURN_INT64(changed);
}

PG_FUNCTION_INFO_V1(segext_reevaluate_customers_sql);
/*
 * segext_reevaluate_customers_sql re-evaluates the listed customers of a
 * company (the caller must be able to change its rows) against every
 * active segment from their state; returns the number of memberships that
 * changed.
 */
Datum
segext_reevaluate_customers_sql(PG_FUNCTION_ARGS)
{
	SegextObjectId *company = PG_GETARG_SEGEXT_OBJECTID_P(0);
	ArrayType  *customers = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *ids;
	bool	   *nulls;
	int			n;
	int			kept = 0;
	int64		changed;
	Datum		routed;

	SPI_connect();
	segext_company_must_be_visible(company, "Pass the id of the current company.");
	segext_check_company_access(company);
	SPI_finish();
	/* on Citus, run on the node of the company's shard group (citus.c) */
	if (segext_citus_route(fcinfo, company, &routed))
		PG_RETURN_DATUM(routed);
	deconstruct_array(customers, segext_objectid_type(), SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR,
					  &ids, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			ids[kept++] = ids[i];
	segext_lock_company_state(company, ShareLock);
	changed = segext_reevaluate_customers(company, ids, kept);
	PG_RETURN_INT64(changed);
}

/*
 * set_segment_active activates or deactivates a segment of the current
 * company: its UPDATE re-evaluates the segment in the segments trigger;
 * returns the number of memberships that changed.
 */
static int64
set_segment_active(FunctionCallInfo fcinfo, const SegextObjectId *segment, bool active)
{
	SegextObjectId company;
	int			number;
	int64		before = membership_changes;
	Datum		args[2];
	Oid			types[2];
	char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

	Datum		routed;

	SPI_connect();
	segment_company(segment, &company, &number);
	/* on Citus, run on the node of the company's shard group (citus.c) */
	if (segext_citus_route(fcinfo, &company, &routed))
	{
		SPI_finish();
		return DatumGetInt64(routed);
	}
	lock_segments(&company);
	types[0] = types[1] = segext_objectid_type();
	args[0] = PointerGetDatum(&company);
	args[1] = PointerGetDatum(segment);
	if (SPI_execute_with_args(active ?
							  "UPDATE segext.segments SET active = true "
							  "WHERE company_id OPERATOR(pg_catalog.=) $1 AND id OPERATOR(pg_catalog.=) $2" :
							  "UPDATE segext.segments SET active = false "
							  "WHERE company_id OPERATOR(pg_catalog.=) $1 AND id OPERATOR(pg_catalog.=) $2",
							  2, types, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "SPI_execute_with_args failed");
	if (SPI_processed == 0)
	{
		segext_objectid_to_hex(segment, hex);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s segment \"%s\"", active ? "activate" : "deactivate", hex),
				 errdetail("Segment \"%s\" is visible to role \"%s\", which may not change it.",
						   hex, GetUserNameFromId(GetUserId(), false)),
				 errhint("Act as a writer of the segment's company.")));
	}
	SPI_finish();
	return membership_changes - before;
}

PG_FUNCTION_INFO_V1(segext_activate_segment);
/*
 * segext_activate_segment activates a segment of the current company and
 * computes its members at once; returns the number of membership changes.
 */
Datum
segext_activate_segment(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(set_segment_active(fcinfo, PG_GETARG_SEGEXT_OBJECTID_P(0), true));
}

PG_FUNCTION_INFO_V1(segext_deactivate_segment);
/*
 * segext_deactivate_segment deactivates a segment of the current company
 * and removes its members at once (they may enter Default); returns the
 * number of membership changes.
 */
Datum
segext_deactivate_segment(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(set_segment_active(fcinfo, PG_GETARG_SEGEXT_OBJECTID_P(0), false));
}

/*
 * segext_lock_company_segments locks every segment of a company in the lock
 * order, for other modules (reorder_segments), within their SPI connection.
 */
void
segext_lock_company_segments(const SegextObjectId *company)
{
	lock_segments(company);
}

PG_FUNCTION_INFO_V1(segext_lock_segments);
/*
 * segext_lock_segments locks every segment of a company in the lock order
 * (see the top of this file), for the membership functions written in SQL,
 * which call it before they change a segment or its members.
 */
Datum
segext_lock_segments(PG_FUNCTION_ARGS)
{
	SegextObjectId *company = PG_GETARG_SEGEXT_OBJECTID_P(0);

	SPI_connect();
	lock_segments(company);
	SPI_finish();
	PG_RETURN_VOID();
}

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

/* has_segment_refs says whether criteria hold an in_segment criterion. */
static bool
has_segment_refs(const void *criteria)
{
	int			n;

	return segext_criteria_segment_refs((const SegextCriteria *) criteria, &n) != NULL;
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
 * listed_candidates returns, when only customers named by customer lists
 * can match the criteria, the fewest such customers it finds (an objectid[],
 * possibly with repeats; the members are among them), else NULL.  In parts
 * (all must match), a part made only of customer lists names the customers
 * of its lists; in a tree, see node_candidates.  segment_members and
 * preview_criteria read only these customers.
 */
static ArrayType *
listed_candidates(const SegextCriteria *c)
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
 * those customers (listed_candidates).
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
	segment_row(segment, &company, &number, &criteria, &manual, &active, NULL);
	engine_init(&e, &company);
	st.index = -1;
	if (number > 1)
	{
		/* a segment above the built-ins depends on itself alone */
		if (active && !manual && has_segment_refs(DatumGetPointer(criteria)))
		{
			/* with the segments it names (in_segment), decided in the same pass */
			load_segments_for(&e, segment, 1, true);
			st.index = segment_index(&e, segment);
			if (st.index >= 0)
				e.only = listed_candidates(e.segs[st.index].criteria);
		}
		else if (active)
		{
			load_one_segment(&e, segment, number, criteria, manual);
			st.index = 0;
			/* customer lists: only the listed customers can match */
			if (!manual)
				e.only = listed_candidates(e.segs[0].criteria);
		}
	}
	else
	{
		/* Segment 1 depends on every other segment; 0 on none. */
		if (number == 1)
			load_segments(&e, NULL, 0);
		else
			load_segments(&e, segment, 1);
		st.index = segment_index(&e, segment);
	}
	if (st.index >= 0)
	{
		bool		manual_needed = false;

		/* explicit members matter only for manual segments and for Default */
		for (int i = 0; i < e.nsegs; i++)
			manual_needed |= e.segs[i].manual && e.segs[i].number > 1 &&
				(number == 1 || e.segs[i].target);
		if (manual_needed)
			load_memberships(&e, true);
		query_customers(&e, emit_member, &st);
	}
	MemoryContextDelete(e.cxt);
	SPI_finish();
	return (Datum) 0;
}

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
	load_segments_for(e, ids, nrefs, true);
	old = MemoryContextSwitchTo(e->cxt);
	s = &e->segs[e->nsegs];		/* load_segments_for leaves room for one more */
	memset(s, 0, sizeof(Segment));
	s->number = PG_INT32_MAX;
	s->target = true;
	s->criteria = (SegextCriteria *) PG_DETOAST_DATUM_COPY(PointerGetDatum(criteria));
	s->handle = segext_requirements_add(e->reqs, s->criteria);
	s->refs = segext_criteria_segment_refs(s->criteria, &s->nrefs);
	e->nsegs++;
	MemoryContextSwitchTo(old);
	plan_order(e);
	for (int i = 0; i < e->nsegs; i++)
		manual_needed |= e->segs[i].manual && e->segs[i].target && e->segs[i].number > 1;
	if (manual_needed)
		load_memberships(e, true);
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
	static SegextKeptPlan company_plan;
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
	bool		isnull;

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

	SPI_connect();
	if (SPI_execute_plan(segext_kept_plan(&company_plan, "SELECT segext.current_company_id()", 0, NULL, 0),
						 NULL, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed");
	values[0] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("no current company"),
				 errdetail("Criteria are previewed for the current company, and neither a JWT claim of a gateway session nor the setting \"segext.company_id\" names one, nor is role \"%s\" granted exactly one company.",
						   GetUserNameFromId(GetUserId(), false)),
				 errhint("SET segext.company_id to a company granted to the role (segext.grant_company), or send a JWT carrying a \"company_id\" claim through a gateway.")));
	memcpy(&company, DatumGetPointer(values[0]), SEGEXT_OBJECTID_LEN);
	segext_check_company_read_access(&company);
	segext_company_must_be_visible(&company, "Set segext.company_id to the id of an existing company.");

	/* the criteria as an active segment of their own, above the built-ins */
	memset(&none, 0, sizeof(none));
	engine_init(&e, &company);
	criteria = segext_resolve_segment_refs(&company, criteria);
	/* customer lists: only the listed customers can match */
	e.only = listed_candidates(criteria);
	if (has_segment_refs(criteria))
		load_with_named_segments(&e, criteria);
	else
		load_one_segment(&e, &none, 2, PointerGetDatum(criteria), false);
	ps.index = e.nsegs - 1;
	query_customers(&e, preview_member, &ps);
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
	SegextObjectId *segment = PG_GETARG_SEGEXT_OBJECTID_P(0);
	SegextObjectId *customer = PG_GETARG_SEGEXT_OBJECTID_P(1);
	ReturnSetInfo *rsinfo;
	SegextObjectId company;
	int			number;
	Datum		criteria;
	bool		manual;
	bool		active;
	char	   *name;
	bool		customer_is_active;
	Engine		e;
	ExplainState xs;
	int			index = -1;
	int			ordinal = 0;
	bool		member;
	ExplainRow	r;
	Datum		only_ids[1];

	segext_init_materialized_srf(fcinfo);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	SPI_connect();
	segment_row(segment, &company, &number, &criteria, &manual, &active, &name);
	segext_check_company_read_access(&company);
	customer_is_active = customer_active(&company, customer);

	engine_init(&e, &company);
	e.all_customers = true;
	only_ids[0] = PointerGetDatum(customer);
	e.only = construct_array(only_ids, 1, e.idtype, SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR);
	if (number > 1 && active && !manual && has_segment_refs(DatumGetPointer(criteria)))
	{
		bool		manual_needed = false;

		/* with the segments it names (in_segment), decided in the same pass */
		load_segments_for(&e, segment, 1, true);
		index = segment_index(&e, segment);
		for (int i = 0; i < e.nsegs; i++)
			manual_needed |= e.segs[i].manual && e.segs[i].target && e.segs[i].number > 1;
		if (manual_needed)
			load_memberships(&e, true);
		e.explain = segext_explain_create();
		e.explain_index = index;
	}
	else if (number > 1)
	{
		/* a user segment depends on itself alone; inactive ones are explained too */
		load_one_segment(&e, segment, number, criteria, manual);
		index = 0;
		if (manual)
			load_memberships(&e, true);
		else
		{
			e.explain = segext_explain_create();
			e.explain_index = 0;
		}
	}
	else
	{
		/* Default depends on every other active segment; All on none */
		load_segments(&e, number == 1 ? NULL : segment, number == 1 ? 0 : 1);
		index = segment_index(&e, segment);
		if (number == 1)
			load_memberships(&e, true);
	}
	memset(&xs, 0, sizeof(xs));
	query_customers(&e, explain_member, &xs);
	if (!xs.found)
		elog(ERROR, "customer of explain_membership not read");
	member = active && index >= 0 && BIT_TEST(xs.bits, index);

	/* the nodes of the criteria, as the evaluation recorded them */
	if (e.explain != NULL)
	{
		ListCell   *lc;

		foreach(lc, segext_explain_steps(e.explain))
		{
			SegextExplainStep *step = (SegextExplainStep *) lfirst(lc);

			r.path = step->path;
			r.depth = step->depth;
			r.node = step->criterion >= 0 ?
				segext_criterion_to_cstring(e.segs[e.explain_index].criteria, step->criterion) : step->subject;
			r.subject = step->subject;
			r.value = step->value;
			r.requirement = step->requirement;
			r.matched = step->matched;
			explain_put(rsinfo, &ordinal, &r);
		}
	}
	/* Default: "not any" of the other active segments */
	if (number == 1 && index >= 0)
	{
		int			others = 0,
					in = 0,
					k = 0;

		for (int i = 0; i < e.nsegs; i++)
			if (e.segs[i].number > 1)
			{
				others++;
				in += BIT_TEST(xs.bits, i) ? 1 : 0;
			}
		r.path = "1";
		r.depth = 1;
		r.node = r.subject = "not";
		r.value = in > 0 ? "its child matched" : "its child did not match";
		r.requirement = "its child not to match";
		r.matched = in == 0;
		explain_put(rsinfo, &ordinal, &r);
		r.path = "1.1";
		r.depth = 2;
		r.node = r.subject = "any";
		r.value = psprintf("%d of %d matched", in, others);
		r.requirement = psprintf("at least 1 of %d to match", others);
		r.matched = in > 0;
		explain_put(rsinfo, &ordinal, &r);
		for (int i = 0; i < e.nsegs; i++)
		{
			bool		in_seg = BIT_TEST(xs.bits, i);

			if (e.segs[i].number <= 1)
				continue;
			r.path = psprintf("1.1.%d", ++k);
			r.depth = 3;
			r.node = psprintf("segment %d", e.segs[i].number);
			r.subject = r.node;
			r.value = in_seg ? "a member" : "not a member";
			r.requirement = "a member";
			r.matched = in_seg;
			explain_put(rsinfo, &ordinal, &r);
		}
	}

	/* the answer */
	r.path = "segment";
	r.depth = 0;
	r.node = psprintf("segment %d \"%s\"", number, name);
	r.subject = r.node;
	r.matched = member;
	if (!active)
	{
		r.value = "segment is inactive";
		r.requirement = "an active segment";
	}
	else if (!customer_is_active)
	{
		r.value = "customer is inactive";
		r.requirement = "an active customer";
	}
	else if (number == 0)
	{
		r.value = "customer is active";
		r.requirement = "an active customer";
	}
	else if (number == 1)
	{
		r.value = member ? "in no other active segment" : "in another active segment";
		r.requirement = "an active customer in no other active segment";
	}
	else if (manual)
	{
		r.value = member ? "an explicit member" : "not an explicit member";
		r.requirement = "an explicit member of this manual segment";
	}
	else
	{
		r.value = member ? "criteria matched" : "criteria did not match";
		r.requirement = "an active customer whom the criteria match";
	}
	explain_put(rsinfo, &ordinal, &r);

	MemoryContextDelete(e.cxt);
	SPI_finish();
	return (Datum) 0;
}

/*
 * change_manual_members adds (adding) or removes customers of a manual
 * segment of the current company, then re-evaluates those customers' Default; returns how
 * many memberships changed in the segment.  Everything the caller names is
 * looked up with its privileges and row level security; the members are
 * then written as the table's owner.
 */
static int64
change_manual_members(FunctionCallInfo fcinfo, const SegextObjectId *segment, ArrayType *customers,
					  bool adding)
{
	SegextObjectId company;
	int			number;
	Datum		criteria;
	bool		manual;
	bool		active;
	char	   *name;
	char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];
	Datum		args[3];
	Oid			types[3];
	int			ret;
	int64		changed;
	MembersWrite w;

	Datum		routed;

	SPI_connect();
	segment_row(segment, &company, &number, &criteria, &manual, &active, &name);
	segext_check_company_access(&company);
	/* on Citus, run on the node of the company's shard group (citus.c) */
	if (segext_citus_route(fcinfo, &company, &routed))
	{
		SPI_finish();
		return DatumGetInt64(routed);
	}

	/*
	 * The lock order: the company's segments first; then the segment and the
	 * customers are read again with a snapshot taken after the locks.
	 */
	lock_segments(&company);
	segext_lock_company_state(&company, ExclusiveLock);
	PushCopiedSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	segment_row(segment, &company, &number, &criteria, &manual, &active, &name);
	if (!manual || number <= 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment \"%s\" is not a manual segment", name),
				 errdetail("Segment \"%s\" has criteria (or is built in), so its members are computed.", name),
				 errhint("Assign members only to segments whose criteria are NULL.")));
	if (!active)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment \"%s\" is inactive", name),
				 errdetail("Segment \"%s\" is inactive and has no members.", name),
				 errhint("Activate the segment first.")));
	types[0] = types[2] = segext_objectid_type();
	types[1] = get_array_type(types[0]);
	args[0] = PointerGetDatum(&company);
	args[1] = PointerGetDatum(customers);
	args[2] = PointerGetDatum(segment);
	if (adding)
	{
		char	   *missing;
		bool		isnull;

		ret = SPI_execute_with_args("SELECT pg_catalog.string_agg(u.id::pg_catalog.text, ', ') "
									"FROM pg_catalog.unnest($2) AS u(id) "
									"WHERE NOT EXISTS (SELECT FROM segext.customers AS c "
									"WHERE c.company_id OPERATOR(pg_catalog.=) $1 AND c.id OPERATOR(pg_catalog.=) u.id)",
									2, types, args, NULL, true, 1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
		(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
		{
			missing = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			segext_objectid_to_hex(segment, hex);
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("customers do not exist: %s", missing),
					 errdetail("The company of segment \"%s\" has no customers %s.", hex, missing),
					 errhint("Pass ids of existing customers of the segment's company.")));
		}
	}
	members_write_begin(&w);
	if (adding)
		ret = SPI_execute_with_args("INSERT INTO segext.memberships (company_id, segment_id, customer_id) "
									"SELECT DISTINCT $1, $3, c.id FROM segext.customers AS c "
									"WHERE c.company_id OPERATOR(pg_catalog.=) $1 "
									"AND c.id OPERATOR(pg_catalog.=) ANY ($2) AND c.active "
									"ON CONFLICT DO NOTHING",
									3, types, args, NULL, false, 0);
	else
		ret = SPI_execute_with_args("DELETE FROM segext.memberships AS m "
									"WHERE m.company_id OPERATOR(pg_catalog.=) $1 "
									"AND m.segment_id OPERATOR(pg_catalog.=) $3 "
									"AND m.customer_id OPERATOR(pg_catalog.=) ANY ($2)",
									3, types, args, NULL, false, 0);
	if (ret != (adding ? SPI_OK_INSERT : SPI_OK_DELETE))
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	changed = (int64) SPI_processed;
	members_write_end(&w);
	PopActiveSnapshot();
	/* Default holds the active customers in no other active segment */
	{
		Engine		e;

		engine_init(&e, &company);
		e.all_customers = true;
		e.only = customers;
		(void) evaluate_and_write(&e, NULL, 0);
		MemoryContextDelete(e.cxt);
	}
	SPI_finish();
	return changed;
}

PG_FUNCTION_INFO_V1(segext_add_segment_members);
/*
 * segext_add_segment_members adds active customers of the current company to
 * one of its active manual segments (inactive customers are skipped); returns
 * how many were added.
 */
Datum
segext_add_segment_members(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(change_manual_members(fcinfo, PG_GETARG_SEGEXT_OBJECTID_P(0),
										  PG_GETARG_ARRAYTYPE_P(1), true));
}

PG_FUNCTION_INFO_V1(segext_remove_segment_members);
/*
 * segext_remove_segment_members removes customers from one of the current
 * company's active manual segments; returns how many were removed.
 */
Datum
segext_remove_segment_members(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(change_manual_members(fcinfo, PG_GETARG_SEGEXT_OBJECTID_P(0),
										  PG_GETARG_ARRAYTYPE_P(1), false));
}

PG_FUNCTION_INFO_V1(segext_segment_company_id);
/*
 * segext_segment_company_id returns the company of a segment of the current
 * company found by its id (segment_row: 22023 when unknown or ambiguous).
 */
Datum
segext_segment_company_id(PG_FUNCTION_ARGS)
{
	SegextObjectId *company = (SegextObjectId *) palloc(sizeof(SegextObjectId));
	int			number;

	SPI_connect();
	segment_company(PG_GETARG_SEGEXT_OBJECTID_P(0), company, &number);
	SPI_finish();
	PG_RETURN_POINTER(company);
}

PG_FUNCTION_INFO_V1(segext_memberships_guard);
/*
 * segext_memberships_guard is the BEFORE INSERT OR UPDATE OR DELETE statement
 * trigger of segext.memberships: only segext writes members (as the table's
 * owner: refreshes, manual members, cascades of deleted rows), or a
 * superuser; anyone else gets 42501 naming the functions to use.
 */
Datum
segext_memberships_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = segext_check_trigger_call(fcinfo, "memberships_guard",
													  SEGEXT_TRIGGER_BEFORE | SEGEXT_TRIGGER_STATEMENT);

	if (GetUserId() == trigdata->tg_relation->rd_rel->relowner || superuser())
		return PointerGetDatum(NULL);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s segext.memberships directly",
					TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ? "insert into" :
					TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ? "delete from" : "update"),
			 errdetail("segext computes the members of segments with criteria and of 0 \"All\" and 1 \"Default\", and writes the members of manual segments through its functions, which check the segment and its customers."),
			 errhint("Use segext.add_segment_members or segext.remove_segment_members for a manual segment, and segext.refresh_segment or segext.refresh_company for the others (segext_api.add_segment_members, remove_segment_members, refresh_segment and refresh over HTTP).")));
	return (Datum) 0;
}
