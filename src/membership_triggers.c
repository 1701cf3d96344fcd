/*-------------------------------------------------------------------------
 *
 * membership_triggers.c
 *	  The statement triggers that keep members fresh when customers or
 *	  segments change (segext_customers_membership,
 *	  segext_segments_membership), and the guard that lets only segext
 *	  write segext.memberships (segext_memberships_guard).
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

#include "customer_state.h"
#include "kept_plan.h"
#include "membership.h"
#include "trigger_check.h"

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
	membership_write_begin(&w);
	if (SPI_execute_with_args(sql, 2, types, args, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "SPI_execute_with_args failed");
	membership_write_end(&w);
}

/*
 * delete_rows_of_segments deletes the members, member counts and history of
 * deleted segments of one company (n keys): the tables hold no foreign key
 * to segments, so that writers of members never wait for a segment row
 * (see the lock order in segment_locks.c).
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
			(void) membership_evaluate_company_segments(&changed[start].company, targets, ntargets);
		start = end;
	}
	SPI_finish();
	return PointerGetDatum(NULL);
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
