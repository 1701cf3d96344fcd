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
 *		 segext.notify_membership is off or the table is a Citus shard.
 *
 *	  Only segext writes members (memberships_guard), so every write passes
 *	  here.  The statements are kept plans over the trigger's transition
 *	  table ("changed"), run as the owner of segext's tables.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "kept_plan.h"
#include "role_switch.h"

#include "access/xact.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/rel.h"

/* A segment's count rows beyond which a writer folds them into one. */
#define COUNT_ROWS_KEPT 64

/* The channel of the membership notifications. */
#define MEMBERSHIP_CHANNEL "segext_membership"

/* segext.notify_membership: see segext_member_changes_init. */
static bool notify_membership = true;

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
	static const Oid compact_argtypes[2] = {KEPT_OBJECTID, KEPT_OBJECTID};
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

	segext_require_after_statement_trigger(fcinfo, "memberships_changed");
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

	/*
	 * Not from a Citus shard (memberships_<shard id>, on a worker): it would
	 * never reach a listener on the coordinator, and Citus commits a write to
	 * several nodes with two-phase commit, which refuses NOTIFY.
	 */
	if (wrote && notify_membership &&
		strcmp(RelationGetRelationName(trigdata->tg_relation), "memberships") == 0)
	{
		char		payload[96];

		snprintf(payload, sizeof(payload), "{\"first_id\" : " INT64_FORMAT ", \"last_id\" : " INT64_FORMAT "}",
				 first_id, last_id);
		Async_Notify(MEMBERSHIP_CHANNEL, payload);
	}
	return PointerGetDatum(NULL);
}
