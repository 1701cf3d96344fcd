/*-------------------------------------------------------------------------
 *
 * membership_actions.c
 *	  The SQL functions that change the members of a company's segments:
 *	  refresh_segment, refresh_company, reevaluate_customers,
 *	  activate_segment, deactivate_segment, add_segment_members and
 *	  remove_segment_members.  Each checks the caller's right to change the
 *	  company's rows, runs on the company's node on Citus, and takes its
 *	  locks in the lock order (segment_locks.c).
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "citus.h"
#include "customer_state.h"
#include "membership.h"
#include "membership_engine.h"
#include "segment_locks.h"
#include "tenancy.h"

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
	membership_segment_company(segment, &company, &number);
	segext_check_company_access(&company);
	/* on Citus, run on the node of the company's shard group (citus.c) */
	if (segext_citus_route(fcinfo, &company, &routed))
	{
		SPI_finish();
		PG_RETURN_DATUM(routed);
	}
	/* the lock order: the segments before any of their members change */
	segext_lock_company_segments(&company);
	if (number <= 1)
		changed = membership_evaluate_company_segments(&company, NULL, 0);
	else
		changed = membership_evaluate_company_segments(&company, segment, 1);
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
	segext_lock_company_segments(company);
	segext_lock_company_state(company, ExclusiveLock);
	(void) segext_rebuild_company_states(company);
	changed = membership_evaluate_company_segments(company, NULL, 0);
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
	int64		before = membership_change_count();
	Datum		args[2];
	Oid			types[2];
	char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

	Datum		routed;

	SPI_connect();
	membership_segment_company(segment, &company, &number);
	/* on Citus, run on the node of the company's shard group (citus.c) */
	if (segext_citus_route(fcinfo, &company, &routed))
	{
		SPI_finish();
		return DatumGetInt64(routed);
	}
	segext_lock_company_segments(&company);
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
	return membership_change_count() - before;
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
	membership_segment_row(segment, &company, &number, &criteria, &manual, &active, &name);
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
	segext_lock_company_segments(&company);
	segext_lock_company_state(&company, ExclusiveLock);
	PushCopiedSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	membership_segment_row(segment, &company, &number, &criteria, &manual, &active, &name);
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
	membership_write_begin(&w);
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
	membership_write_end(&w);
	PopActiveSnapshot();
	/* Default holds the active customers in no other active segment */
	{
		Engine		e;

		engine_init(&e, &company);
		e.all_customers = true;
		e.only = customers;
		(void) membership_evaluate_and_write(&e, NULL, 0);
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

