/*-------------------------------------------------------------------------
 *
 * kept_plan.c
 *	  Statements that segext's C code prepares once per backend and keeps
 *	  (SPI_keepplan).  The plan cache re-plans them when tables, policies or
 *	  the user change; a kept plan is prepared again when segext.objectid is
 *	  a different type than when it was prepared (the extension was dropped
 *	  and created again in the same session).
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "kept_plan.h"
#include "objectid.h"

#include "catalog/pg_type.h"
#include "utils/lsyscache.h"

/*
 * segext_kept_plan returns the kept plan of sql with nargs parameters of
 * argtypes (KEPT_ARG_OBJECTID and KEPT_ARG_OBJECTID_ARRAY for segext's type),
 * preparing it with cursor_options on first use (a custom plan instead of a
 * generic one where Citus is installed: citus.c).
 */
SPIPlanPtr
segext_kept_plan(SegextKeptPlan *kp, const char *sql, int nargs,
				 const Oid *argtypes, int cursor_options)
{
	Oid			idtype = segext_objectid_type();
	Oid			types[FUNC_MAX_ARGS];
	SPIPlanPtr	plan;

	if (kp->plan != NULL && kp->idtype == idtype)
		return kp->plan;
	if (kp->plan != NULL)
		SPI_freeplan(kp->plan);
	kp->plan = NULL;
	Assert(nargs <= FUNC_MAX_ARGS);
	for (int i = 0; i < nargs; i++)
		types[i] = argtypes[i] == KEPT_ARG_OBJECTID ? idtype :
			argtypes[i] == KEPT_ARG_OBJECTID_ARRAY ? get_array_type(idtype) : argtypes[i];
	plan = SPI_prepare_cursor(sql, nargs, types, segext_plan_cursor_options(cursor_options));
	if (plan == NULL)
		elog(ERROR, "could not prepare segext query \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "could not keep the plan of segext query \"%s\"", sql);
	kp->plan = plan;
	kp->idtype = idtype;
	return plan;
}
