/*-------------------------------------------------------------------------
 *
 * drop_guard.c
 *	  Refusing a DROP EXTENSION segext (or DROP SCHEMA segext) that would
 *	  delete companies: the event trigger segext_refuse_drop_with_data
 *	  (95_drop_guard.sql) runs at ddl_command_start of DROP EXTENSION and
 *	  DROP SCHEMA and raises 2BP01 while segext.companies has rows, unless
 *	  segext.drop_with_data is on in the session.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "module_init.h"
#include "role_switch.h"

#include "catalog/namespace.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

/* segext.drop_with_data: see segext_drop_guard_init. */
static bool drop_with_data = false;

/*
 * segext_drop_guard_init defines segext.drop_with_data: whether DROP
 * EXTENSION segext may delete the companies it holds.
 */
void
segext_drop_guard_init(void)
{
	DefineCustomBoolVariable("segext.drop_with_data",
							 "Lets DROP EXTENSION segext delete every company, customer and transaction it holds.",
							 "Off: the drop is refused while any company exists.",
							 &drop_with_data,
							 false,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
}

/* drop_names_segext says whether a DROP EXTENSION or DROP SCHEMA names segext. */
static bool
drop_names_segext(DropStmt *stmt)
{
	ListCell   *lc;

	if (stmt->removeType != OBJECT_EXTENSION && stmt->removeType != OBJECT_SCHEMA)
		return false;
	foreach(lc, stmt->objects)
	{
		Node	   *name = lfirst(lc);

		if (IsA(name, String) && strcmp(strVal(name), "segext") == 0)
			return true;
	}
	return false;
}

/* companies_count counts the rows of segext.companies (0 when it is gone). */
static int64
companies_count(void)
{
	SegextRoleSwitch rs;
	int64		count = 0;
	bool		isnull;

	if (!OidIsValid(get_relname_relid("companies", get_namespace_oid("segext", true))))
		return 0;
	segext_switch_role(&rs, segext_table_owner("companies"));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT pg_catalog.count(*) FROM segext.companies", true, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "SPI_execute failed");
	count = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	segext_restore_role(&rs);
	return count;
}

PG_FUNCTION_INFO_V1(segext_refuse_drop_with_data);
/*
 * segext_refuse_drop_with_data is the ddl_command_start event trigger of
 * DROP EXTENSION and DROP SCHEMA: it refuses (2BP01) to drop segext while
 * companies exist, unless segext.drop_with_data is on.
 */
Datum
segext_refuse_drop_with_data(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	int64		companies;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by event trigger manager", "refuse_drop_with_data")));
	trigdata = (EventTriggerData *) fcinfo->context;
	if (drop_with_data || !IsA(trigdata->parsetree, DropStmt) ||
		!drop_names_segext((DropStmt *) trigdata->parsetree))
		PG_RETURN_VOID();
	companies = companies_count();
	if (companies > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop extension segext because it holds " INT64_FORMAT " %s",
						companies, companies == 1 ? "company" : "companies"),
				 errdetail("Dropping segext deletes every company with its segments, channels, customers, transactions and members."),
				 errhint("Back up the database first (README, \"Dump and restore\"), then run "
						 "SET segext.drop_with_data = on and drop it again, or delete the companies first.")));
	PG_RETURN_VOID();
}
