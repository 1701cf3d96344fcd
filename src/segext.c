/*-------------------------------------------------------------------------
 *
 * segext.c
 *	  Module entry point of segext: the module magic and _PG_init, which
 *	  calls each module's init function once per backend.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "membership.h"

#include "fmgr.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* _PG_init initializes every segext module when the library is loaded. */
void
_PG_init(void)
{
	segext_tenancy_init();
	segext_segment_cache_init();
	segext_events_init();
	segext_customer_state_init();
	segext_membership_init();

	/* After every module has defined its settings: no other segext.* names. */
#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("segext");
#else
	EmitWarningsOnPlaceholders("segext");
#endif
}

#if PG_VERSION_NUM < 150000
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/tuplestore.h"

/*
 * segext_init_materialized_srf prepares a materialize-mode set-returning
 * function on PostgreSQL 13 and 14, which lack InitMaterializedSRF.
 */
void
segext_init_materialized_srf(FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext oldcontext;
	TupleDesc	tupdesc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	oldcontext = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	rsinfo->returnMode = SFRM_Materialize;
	/* random access only when the caller asks for it (cheaper if it spills) */
	rsinfo->setResult = tuplestore_begin_heap((rsinfo->allowedModes & SFRM_Materialize_Random) != 0,
											  false, work_mem);
	rsinfo->setDesc = CreateTupleDescCopy(tupdesc);
	MemoryContextSwitchTo(oldcontext);
}
#endif
