/*-------------------------------------------------------------------------
 *
 * member_changes.c
 *	  What follows every change of segext.memberships, in the statement that
 *	  made it: the statement triggers memberships_entered (AFTER INSERT) and
 *	  memberships_left (AFTER DELETE) run segext.memberships_changed, which
 *
 *	   - records one row of segext.membership_history per member that entered
 *		 or left a segment that still exists (a segment being deleted takes
 *		 its history with it);
 *	   - appends one row per touched segment to segext.segment_member_counts
 *		 (the count is the sum of a segment's rows) and, at READ COMMITTED,
 *		 folds a segment's rows into one when it holds more than
 *		 COUNT_ROWS_KEPT of them (segext.compact_segment_member_counts);
 *	   - sends a NOTIFY on channel segext_membership whose payload names no
 *		 company, segment or customer, only the range of history ids written
 *		 (listeners read them through row level security), unless
 *		 segext.notify_membership is off.
 *
 *	  On Citus the statement runs on a shard, on a worker: a NOTIFY there
 *	  would never reach a listener on the coordinator, and Citus commits a
 *	  write to several nodes with two-phase commit, which refuses NOTIFY.  So
 *	  the trigger on a shard writes the range into the shard of
 *	  segext.membership_notices instead (an outbox), and the node that
 *	  started the statement, at its end, reads the outbox of its distributed
 *	  transaction through Citus (which reads a placement through the
 *	  connection that wrote it, so it sees the uncommitted rows of its own
 *	  transaction and no other's) and sends the NOTIFY itself
 *	  (segext_membership_notices_send, called by citus.c; a later statement
 *	  of the transaction reads the earlier ranges again, and PostgreSQL
 *	  sends a notification queued twice in a transaction once).  Before the
 *	  worker's transaction commits or prepares, it deletes the rows it wrote
 *	  to the outbox: no row of it is ever committed.
 *
 *	  Only segext writes members (memberships_guard), so every write passes
 *	  here.  The statements are kept plans over the trigger's transition
 *	  table ("changed"), run as the owner of segext's tables.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "kept_plan.h"
#include "objectid.h"
#include "role_switch.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "trigger_check.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

/* A segment's count rows beyond which a writer folds them into one. */
#define COUNT_ROWS_KEPT 64

/* The channel of the membership notifications. */
#define MEMBERSHIP_CHANNEL "segext_membership"

/* segext.notify_membership: see segext_member_changes_init. */
static bool notify_membership = true;

/* The local shards of segext.membership_notices this transaction wrote (on a worker). */
static List *notice_shards = NIL;

static void member_changes_xact_callback(XactEvent event, void *arg);

/*
 * segext_member_changes_init defines segext.notify_membership: whether a
 * statement that changes members sends its NOTIFY on segext_membership.
 */
void
segext_member_changes_init(void)
{
	DefineCustomBoolVariable("segext.notify_membership",
							 "Sends a NOTIFY on channel segext_membership for every statement that changes members.",
							 "A transaction that sends a notification takes the notification queue lock at commit, "
							 "so such commits run one at a time; turn it off where nobody listens.",
							 &notify_membership,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);
	RegisterXactCallback(member_changes_xact_callback, NULL);
}

/*
 * record_changes inserts the history rows and the count rows (one per
 * segment, delta +n or -n) of the changed members whose segment exists
 * and, when compact, folds the count rows of each touched segment that
 * holds more than COUNT_ROWS_KEPT of them; returns whether it wrote history,
 * and its lowest and highest history id.
 */
static bool
record_changes(bool entered, bool compact, int64 *first_id, int64 *last_id)
{
	static SegextKeptPlan changes_plan;
	static SegextKeptPlan compact_plan;
	static const Oid argtypes[3] = {TEXTOID, INT8OID, BOOLOID};
	static const Oid compact_argtypes[2] = {KEPT_ARG_OBJECTID, KEPT_ARG_OBJECTID};
	Datum		args[3];
	bool		isnull;
	int			ret;
	SPITupleTable *result;
	uint64		nresult;
	bool		wrote;

	args[0] = CStringGetTextDatum(entered ? "entered" : "left");
	args[1] = Int64GetDatum(entered ? 1 : -1);
	args[2] = BoolGetDatum(compact);
	ret = SPI_execute_plan(segext_kept_plan(&changes_plan,
											"WITH existing AS MATERIALIZED ("
											" SELECT c.company_id, c.segment_id, c.customer_id FROM changed AS c"
											" WHERE EXISTS (SELECT FROM segext.segments AS s"
											"  WHERE s.company_id OPERATOR(pg_catalog.=) c.company_id AND s.id OPERATOR(pg_catalog.=) c.segment_id)),"
											" written AS ("
											" INSERT INTO segext.membership_history (company_id, segment_id, customer_id, kind)"
											" SELECT e.company_id, e.segment_id, e.customer_id, $1 FROM existing AS e"
											" RETURNING id),"
											" counted AS ("
											" INSERT INTO segext.segment_member_counts (company_id, segment_id, delta)"
											" SELECT e.company_id, e.segment_id, $2 OPERATOR(pg_catalog.*) pg_catalog.count(*)"
											" FROM existing AS e GROUP BY e.company_id, e.segment_id"
											" RETURNING company_id, segment_id)"
											" SELECT w.first_id, w.last_id, k.company_id, k.segment_id"
											" FROM (SELECT pg_catalog.min(id) AS first_id, pg_catalog.max(id) AS last_id FROM written) AS w"
											" LEFT JOIN (SELECT k.company_id, k.segment_id FROM counted AS k"
											"  WHERE $3 AND (SELECT pg_catalog.count(*) FROM ("
											"   SELECT FROM segext.segment_member_counts AS m"
											"   WHERE m.company_id OPERATOR(pg_catalog.=) k.company_id AND m.segment_id OPERATOR(pg_catalog.=) k.segment_id"
											"   LIMIT " CppAsString2(COUNT_ROWS_KEPT) " + 1) AS l) OPERATOR(pg_catalog.>) "
											CppAsString2(COUNT_ROWS_KEPT) ") AS k ON true",
											3, argtypes, 0),
						   args, NULL, false, 0);
	if (ret != SPI_OK_SELECT || SPI_processed < 1)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	result = SPI_tuptable;
	nresult = SPI_processed;
	*first_id = DatumGetInt64(SPI_getbinval(result->vals[0], result->tupdesc, 1, &isnull));
	wrote = !isnull;
	if (wrote)
		*last_id = DatumGetInt64(SPI_getbinval(result->vals[0], result->tupdesc, 2, &isnull));
	for (uint64 i = 0; i < nresult; i++)
	{
		Datum		keys[2];
		bool		crowded;

		keys[0] = SPI_getbinval(result->vals[i], result->tupdesc, 3, &isnull);
		crowded = !isnull;
		keys[1] = SPI_getbinval(result->vals[i], result->tupdesc, 4, &isnull);
		if (!crowded)
			continue;
		ret = SPI_execute_plan(segext_kept_plan(&compact_plan,
												"SELECT segext.compact_segment_member_counts($1, $2)",
												2, compact_argtypes, 0),
							   keys, NULL, false, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	}
	return wrote;
}

/* notify_range queues the NOTIFY of one range of history ids. */
static void
notify_range(int64 first_id, int64 last_id)
{
	char		payload[96];

	snprintf(payload, sizeof(payload), "{\"first_id\" : " INT64_FORMAT ", \"last_id\" : " INT64_FORMAT "}",
			 first_id, last_id);
	Async_Notify(MEMBERSHIP_CHANNEL, payload);
}

/*
 * queue_shard_notice writes the range of history ids a statement on a shard
 * of segext.memberships wrote into the outbox segext.membership_notices (its
 * shard in the same group: citus.c), as the owner of segext's tables, and
 * remembers the shard for the deletion before commit.
 */
static void
queue_shard_notice(TriggerData *trigdata, int64 first_id, int64 last_id)
{
	static SegextKeptPlan notice_plan;
	static const Oid argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2];
	Oid			notices;
	Oid			shard;
	SegextRoleSwitch rs;
	int			ret;

	notices = get_relname_relid("membership_notices", RelationGetNamespace(trigdata->tg_relation));
	if (!OidIsValid(notices))
		elog(ERROR, "segext.membership_notices does not exist");
	segext_switch_role(&rs, segext_table_owner("memberships"));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_register_trigger_data(trigdata) != SPI_OK_TD_REGISTER)
		elog(ERROR, "SPI_register_trigger_data failed");
	args[0] = Int64GetDatum(first_id);
	args[1] = Int64GetDatum(last_id);
	ret = SPI_execute_plan(segext_kept_plan(&notice_plan,
											"INSERT INTO segext.membership_notices (company_id, first_id, last_id)"
											" SELECT c.company_id, $1, $2 FROM changed AS c LIMIT 1",
											2, argtypes, 0),
						   args, NULL, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	shard = segext_citus_local_relation(notices);
	SPI_finish();
	segext_restore_role(&rs);
	if (shard != notices && !list_member_oid(notice_shards, shard))
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		notice_shards = lappend_oid(notice_shards, shard);
		MemoryContextSwitchTo(old);
	}
}

/* segext_membership_notices_wanted tells whether statements send membership notifications. */
bool
segext_membership_notices_wanted(void)
{
	return notify_membership;
}

/*
 * segext_membership_notices_send sends the NOTIFY of every range that the
 * triggers on the shards wrote into segext.membership_notices in this
 * distributed transaction, for the given companies (one routed task each)
 * or, with companies NULL, for all (one task per shard); on the node that
 * started the statement, as the role that ran it, so that Citus reads each
 * placement through the connection that wrote it.
 */
void
segext_membership_notices_send(const SegextObjectId *companies, int ncompanies)
{
	Oid			nsp;
	Oid			notices;
	Oid			types[1];
	int			reads = companies != NULL ? ncompanies : 1;

	if (!notify_membership)
		return;
	nsp = get_namespace_oid("segext", true);
	notices = OidIsValid(nsp) ? get_relname_relid("membership_notices", nsp) : InvalidOid;
	if (!OidIsValid(notices) ||
		pg_namespace_aclcheck(nsp, GetUserId(), ACL_USAGE) != ACLCHECK_OK ||
		pg_class_aclcheck(notices, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	types[0] = segext_objectid_type();
	for (int r = 0; r < reads; r++)
	{
		int			ret;

		if (companies != NULL)
		{
			Datum		values[1] = {PointerGetDatum(&companies[r])};

			ret = SPI_execute_with_args("SELECT n.first_id, n.last_id FROM segext.membership_notices AS n"
										" WHERE n.company_id OPERATOR(pg_catalog.=) $1"
										" ORDER BY n.first_id", 1, types, values, NULL, false, 0);
		}
		else
			ret = SPI_execute("SELECT n.first_id, n.last_id FROM segext.membership_notices AS n"
							  " ORDER BY n.first_id", false, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;
			int64		first_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
			int64		last_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));

			notify_range(first_id, last_id);
		}
	}
	SPI_finish();
}

/*
 * delete_shard_notices deletes the rows of this transaction from the shards
 * of segext.membership_notices it wrote (the only rows it can see there).
 */
static void
delete_shard_notices(void)
{
	ListCell   *lc;
	Snapshot	snapshot;

	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	foreach(lc, notice_shards)
	{
		Relation	rel = try_table_open(lfirst_oid(lc), RowExclusiveLock);
		TableScanDesc scan;
		TupleTableSlot *slot;

		if (rel == NULL)
			continue;
		slot = table_slot_create(rel, NULL);
		scan = table_beginscan(rel, snapshot, 0, NULL);
		while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
			simple_table_tuple_delete(rel, &slot->tts_tid, snapshot);
		table_endscan(scan);
		ExecDropSingleTupleTableSlot(slot);
		table_close(rel, NoLock);
	}
	UnregisterSnapshot(snapshot);
}

/*
 * member_changes_xact_callback empties the outbox shards this transaction
 * wrote before it commits or prepares, and forgets them when it ends.
 */
static void
member_changes_xact_callback(XactEvent event, void *arg)
{
	if (notice_shards == NIL)
		return;
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE)
		delete_shard_notices();
	else if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
			 event == XACT_EVENT_PREPARE || event == XACT_EVENT_PARALLEL_COMMIT ||
			 event == XACT_EVENT_PARALLEL_ABORT)
	{
		list_free(notice_shards);
		notice_shards = NIL;
	}
}

PG_FUNCTION_INFO_V1(segext_memberships_changed);
/*
 * segext_memberships_changed is the AFTER INSERT and AFTER DELETE statement
 * trigger of segext.memberships (transition table "changed"): history,
 * count rows and NOTIFY of the members that entered or left.
 */
Datum
segext_memberships_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	bool		entered;
	bool		wrote;
	int64		first_id = 0;
	int64		last_id = 0;
	SegextRoleSwitch rs;

	(void) segext_check_trigger_call(fcinfo, "memberships_changed",
									 SEGEXT_TRIGGER_AFTER | SEGEXT_TRIGGER_STATEMENT);
	entered = TRIGGER_FIRED_BY_INSERT(trigdata->tg_event);
	if ((entered ? trigdata->tg_newtable : trigdata->tg_oldtable) == NULL ||
		!(entered || TRIGGER_FIRED_BY_DELETE(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired for INSERT or DELETE with a transition table named \"changed\"",
						"memberships_changed")));
	segext_switch_role(&rs, segext_table_owner("memberships"));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_register_trigger_data(trigdata) != SPI_OK_TD_REGISTER)
		elog(ERROR, "SPI_register_trigger_data failed");
	/* at READ COMMITTED a compaction never fails for rows another one folded */
	wrote = record_changes(entered, XactIsoLevel == XACT_READ_COMMITTED, &first_id, &last_id);
	SPI_finish();
	segext_restore_role(&rs);

	if (wrote && notify_membership)
	{
		if (strcmp(RelationGetRelationName(trigdata->tg_relation), "memberships") == 0)
			notify_range(first_id, last_id);
		else
			queue_shard_notice(trigdata, first_id, last_id);
	}
	return PointerGetDatum(NULL);
}
