/*-------------------------------------------------------------------------
 *
 * membership.c
 *	  Segment membership, always fresh: every segment is decided from the
 *	  per-customer state (segext.customer_states, src/customer_state.c) and
 *	  the customer row by the engine (membership_engine.c), and the stored
 *	  members (segext.memberships) change in the statement that changes
 *	  what they depend on.  This file writes the differences and holds the
 *	  runs that write them, and finds a segment by id for the SQL functions.
 *
 * Only differences are written back (INSERT/DELETE on segext.memberships);
 * statement triggers on that table append the count changes
 * (segext.segment_member_counts), the history and the NOTIFY.  The paths:
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
 * The lock order that every path follows is described in segment_locks.c.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "compiled_segments.h"
#include "customer_state.h"
#include "kept_plan.h"
#include "membership.h"
#include "membership_engine.h"
#include "segment_locks.h"
#include "segments.h"

/* Memberships this backend changed, for the callers that report them. */
static int64 membership_changes = 0;

/* membership_change_count returns how many memberships this backend changed. */
int64
membership_change_count(void)
{
	return membership_changes;
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
 * membership_write_begin switches to the owner of segext.memberships, with
 * search_path pg_catalog, pg_temp, for segext's own writes of members.
 */
void
membership_write_begin(MembersWrite *w)
{
	segext_switch_role(w, segext_table_owner("memberships"));
}

/* membership_write_end restores the caller's role and search_path. */
void
membership_write_end(MembersWrite *w)
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
	membership_write_begin(&w);
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
	membership_write_end(&w);
}

/* membership_segment_company finds the company of a segment (membership_segment_row). */
void
membership_segment_company(const SegextObjectId *segment, SegextObjectId *company, int *number)
{
	membership_segment_row(segment, company, number, NULL, NULL, NULL, NULL);
}

/*
 * membership_segment_row finds a segment by its id among the current company's segments
 * (ids are unique per company only), with the caller's privileges and row
 * level security, and reads its company and number and, when asked, a copy of
 * its criteria (NULL for a manual segment), whether it is active and its
 * name, in the caller's memory context.  With no current company (an
 * admin), the id must belong to one company alone.  Raises 22023 when no
 * segment or more than one matches.
 */
void
membership_segment_row(const SegextObjectId *segment, SegextObjectId *company, int *number,
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
		segext_report_missing_segment(segment, 0, NULL, "Pass the id of an existing segment.");
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
 * membership_evaluate_and_write runs the engine over its customers (e->only, or the
 * whole company) with a snapshot taken now, after the caller's locks, and
 * writes the differences of the target segments; returns how many
 * memberships changed.
 */
int64
membership_evaluate_and_write(Engine *e, const SegextObjectId *targets, int ntargets)
{
	DiffPair	dp;

	CommandCounterIncrement();
	PushCopiedSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	if (ntargets == 0 && e->only != NULL)
		compiled_segments_load(e);
	else
		engine_load_segments(e, targets, ntargets);
	if (e->only != NULL)
		e->customers_expected = Max(ArrayGetNItems(ARR_NDIM(e->only), ARR_DIMS(e->only)), 16);
	else
	{
		Relation	rel = table_openrv(makeRangeVar("segext", "customers", -1), AccessShareLock);

		e->customers_expected = (uint32) Min(Max(rel->rd_rel->reltuples, 1024.0) * 1.2,
											 (double) PG_UINT32_MAX / 2);
		table_close(rel, AccessShareLock);
	}
	engine_load_memberships(e, false);
	memset(&dp, 0, sizeof(dp));
	engine_query_customers(e, collect_diff, &dp);

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
	membership_write_begin(&w);
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
	membership_write_end(&w);
	return (int64) SPI_processed;
}

/*
 * membership_evaluate_company_segments re-evaluates the targets (none: every active
 * segment) and the built-ins for every customer of a company from the
 * state, after removing the members of its inactive segments, under the
 * company's state lock (ExclusiveLock); returns how many memberships
 * changed.
 */
int64
membership_evaluate_company_segments(const SegextObjectId *company, const SegextObjectId *targets, int ntargets)
{
	Engine		e;
	int64		changed;

	segext_lock_company_state(company, ExclusiveLock);
	if (IsolationUsesXactSnapshot())
		segext_check_members_unchanged(company);
	changed = remove_inactive_members(company, ntargets == 1 ? &targets[0] : NULL);
	engine_init(&e, company);
	e.all_customers = true;
	changed += membership_evaluate_and_write(&e, targets, ntargets);
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
		segext_check_definitions_unchanged(company);
	for (int start = 0; start < n; start += REEVALUATE_CHUNK)
	{
		int			m = Min(REEVALUATE_CHUNK, n - start);

		engine_init(&e, company);
		e.all_customers = true;
		e.only = construct_array(ids + start, m, e.idtype, SEGEXT_OBJECTID_LEN, false, TYPALIGN_CHAR);
		engine_lock_customer_rows(&e);
		changed += membership_evaluate_and_write(&e, NULL, 0);
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

		(void) membership_evaluate_company_segments(&company, NULL, 0);
	}
	SPI_finish();
}

PG_FUNCTION_INFO_V1(segext_segment_company_id);
/*
 * segext_segment_company_id returns the company of a segment of the current
 * company found by its id (membership_segment_row: 22023 when unknown or ambiguous).
 */
Datum
segext_segment_company_id(PG_FUNCTION_ARGS)
{
	SegextObjectId *company = (SegextObjectId *) palloc(sizeof(SegextObjectId));
	int			number;

	SPI_connect();
	membership_segment_company(PG_GETARG_SEGEXT_OBJECTID_P(0), company, &number);
	SPI_finish();
	PG_RETURN_POINTER(company);
}

