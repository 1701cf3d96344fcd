/*-------------------------------------------------------------------------
 *
 * role_switch.c
 *	  Running segext's own SQL as the owner of its tables: the switch of
 *	  role (a local user id change, row level security not forced) and of
 *	  search_path to pg_catalog, pg_temp, undone in reverse.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "role_switch.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

/* segext_table_owner returns the owner of table segext.<relname>. */
Oid
segext_table_owner(const char *relname)
{
	Oid			relid = get_relname_relid(relname, get_namespace_oid("segext", false));
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(relid))
		elog(ERROR, "relation segext.%s does not exist", relname);
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * segext_switch_role switches to role (InvalidOid: keeps the current one)
 * without forced row level security, and sets search_path to pg_catalog,
 * pg_temp until segext_restore_role.
 */
void
segext_switch_role(SegextRoleSwitch *rs, Oid role)
{
	GetUserIdAndSecContext(&rs->save_userid, &rs->save_sec_context);
	if (OidIsValid(role))
		SetUserIdAndSecContext(role, rs->save_sec_context |
							   SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
	rs->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
}

/* segext_restore_role restores the role and search_path segext_switch_role saved. */
void
segext_restore_role(SegextRoleSwitch *rs)
{
	AtEOXact_GUC(true, rs->save_nestlevel);
	SetUserIdAndSecContext(rs->save_userid, rs->save_sec_context);
}
