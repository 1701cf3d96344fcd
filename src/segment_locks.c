/*-------------------------------------------------------------------------
 *
 * segment_locks.c
 *	  The lock order of a company's segments, members and customers, the
 *	  lock of a company's segments that comes first in it, and the checks
 *	  that refuse (40001) to compute members from a snapshot that a
 *	  committed change of segments or members has made stale.
 *
 * Lock order.  Every path that locks rows of one company takes them in this
 * order, and never a lock of an earlier rank while it holds one of a later
 * rank, so that two such paths cannot wait for each other in a cycle:
 *
 *	 1. the company's segment rows, FOR NO KEY UPDATE: segment 0 "All"
 *		first, then the others by id (segext_lock_company_segments); a plain UPDATE or
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

#include "access/xact.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "storage/procarray.h"
#include "utils/snapmgr.h"

#include "kept_plan.h"
#include "segment_locks.h"

/*
 * segext_lock_company_segments locks every segment row of a company FOR NO
 * KEY UPDATE in the lock order (segment 0 first, then by id), with the
 * caller's SPI connection.  A segment changed by a transaction that
 * committed after a REPEATABLE READ or SERIALIZABLE snapshot fails with
 * 40001.
 */
void
segext_lock_company_segments(const SegextObjectId *company)
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
		segext_check_members_unchanged(company);
}

/*
 * segext_check_members_unchanged raises 40001 when a member count row of the
 * company, read with the latest snapshot, was written by a transaction that
 * committed after this transaction's snapshot (REPEATABLE READ and
 * SERIALIZABLE), so that members are never computed from a stale view.
 */
void
segext_check_members_unchanged(const SegextObjectId *company)
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
 * segext_check_definitions_unchanged raises 40001 at REPEATABLE READ and
 * SERIALIZABLE when a segment of the company, or the members of one of its
 * manual segments, were changed by a transaction that committed after this
 * transaction's snapshot: the maintenance of customers would evaluate them
 * against definitions it cannot see.
 */
void
segext_check_definitions_unchanged(const SegextObjectId *company)
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
	segext_lock_company_segments(company);
	SPI_finish();
	PG_RETURN_VOID();
}
