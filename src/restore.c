/*-------------------------------------------------------------------------
 *
 * restore.c
 *	  Restoring segext's tables with a plain pg_restore: a COPY into one of
 *	  them by a superuser in a session with row_security off (what the output
 *	  of pg_dump sets) is a restore, and loads its rows as they were dumped,
 *	  with the triggers off for that statement as under
 *	  session_replication_role = replica.  The trigger restore_load_begin
 *	  (BEFORE INSERT FOR EACH STATEMENT) switches the setting to replica,
 *	  locally, so that the rules, the membership maintenance and the foreign
 *	  key checks of the rows are skipped; restore_load_end (AFTER INSERT FOR
 *	  EACH STATEMENT, enabled ALWAYS so that it fires in replica mode)
 *	  switches it back.  Both are created on every table segext dumps
 *	  (96_restore.sql).
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "access/xact.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "trigger_check.h"
#include "tcop/cmdtag.h"
#include "tcop/pquery.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/portal.h"
#include "utils/rel.h"
#include "utils/rls.h"

/* Whether restore_load_begin switched session_replication_role in this transaction. */
static bool switched_to_replica = false;
static bool callbacks_registered = false;

/* restore_xact_callback forgets the switch when its transaction ends. */
static void
restore_xact_callback(XactEvent event, void *arg)
{
	switched_to_replica = false;
}

/*
 * restore_subxact_callback forgets the switch when a subtransaction aborts:
 * the setting went back with it.
 */
static void
restore_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		switched_to_replica = false;
}

/*
 * statement_is_restore says whether the running statement loads a dump: a
 * COPY by a superuser, with row_security off, while triggers are on.
 */
static bool
statement_is_restore(void)
{
	return SessionReplicationRole == SESSION_REPLICATION_ROLE_ORIGIN &&
		!row_security &&
		ActivePortal != NULL && ActivePortal->commandTag == CMDTAG_COPY &&
		superuser();
}

/*
 * segext_restore_load_begin switches session_replication_role to replica,
 * locally, for a COPY that restores a dump (see statement_is_restore).
 */
PG_FUNCTION_INFO_V1(segext_restore_load_begin);
Datum
segext_restore_load_begin(PG_FUNCTION_ARGS)
{
	Relation	rel;

	(void) segext_check_trigger_call(fcinfo, "restore_load_begin",
									 SEGEXT_TRIGGER_BEFORE | SEGEXT_TRIGGER_STATEMENT |
									 SEGEXT_TRIGGER_INSERT);
	if (!statement_is_restore())
		return PointerGetDatum(NULL);
	rel = ((TriggerData *) fcinfo->context)->tg_relation;
	if (!callbacks_registered)
	{
		RegisterXactCallback(restore_xact_callback, NULL);
		RegisterSubXactCallback(restore_subxact_callback, NULL);
		callbacks_registered = true;
	}
	(void) set_config_option("session_replication_role", "replica",
							 PGC_SUSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
							 true, 0, false);
	switched_to_replica = true;
	ereport(LOG,
			(errmsg("COPY into table \"%s.%s\" restores a dump: its rows are loaded with triggers off",
					get_namespace_name(RelationGetNamespace(rel)), RelationGetRelationName(rel)),
			 errdetail("A COPY by a superuser with row_security off runs as with session_replication_role = replica."),
			 errhidestmt(true)));
	return PointerGetDatum(NULL);
}

/*
 * segext_restore_load_end switches session_replication_role back to origin
 * after a statement that segext_restore_load_begin switched to replica.
 */
PG_FUNCTION_INFO_V1(segext_restore_load_end);
Datum
segext_restore_load_end(PG_FUNCTION_ARGS)
{
	(void) segext_check_trigger_call(fcinfo, "restore_load_end",
									 SEGEXT_TRIGGER_AFTER | SEGEXT_TRIGGER_STATEMENT |
									 SEGEXT_TRIGGER_INSERT);
	if (!switched_to_replica)
		return PointerGetDatum(NULL);
	switched_to_replica = false;
	(void) set_config_option("session_replication_role", "origin",
							 PGC_SUSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
							 true, 0, false);
	return PointerGetDatum(NULL);
}
