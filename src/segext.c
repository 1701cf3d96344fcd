/*-------------------------------------------------------------------------
 *
 * segext.c
 *	  Module entry point of segext: the module magic and _PG_init, which
 *	  calls each module's init function once per backend.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "citus.h"
#include "module_init.h"
#include "compiled_segments.h"

#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/guc.h"
#include "utils/inval.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * PostgreSQL keeps room for only ten relcache callbacks per backend, shared
 * by every loaded library (Citus alone takes several): segext registers one
 * and calls the callbacks of its modules from it.
 */
#define SEGEXT_MAX_RELCACHE_CALLBACKS 8

static RelcacheCallbackFunction relcache_callbacks[SEGEXT_MAX_RELCACHE_CALLBACKS];
static int	relcache_callback_count = 0;

static void relcache_dispatch(Datum arg, Oid relid);

/* segext_register_relcache_callback adds a module's relcache callback. */
void
segext_register_relcache_callback(RelcacheCallbackFunction callback)
{
	if (relcache_callback_count >= SEGEXT_MAX_RELCACHE_CALLBACKS)
		elog(ERROR, "out of segext relcache callback slots");
	if (relcache_callback_count == 0)
		CacheRegisterRelcacheCallback(relcache_dispatch, (Datum) 0);
	relcache_callbacks[relcache_callback_count++] = callback;
}

/*
 * relcache_dispatch passes a relcache invalidation to every module's
 * callback, and, for a local shard of one of segext's tables distributed
 * by Citus, that of its table (citus.c).
 */
static void
relcache_dispatch(Datum arg, Oid relid)
{
	Oid			table = segext_citus_shard_table(relid);

	for (int i = 0; i < relcache_callback_count; i++)
	{
		relcache_callbacks[i] (arg, relid);
		if (OidIsValid(table))
			relcache_callbacks[i] (arg, table);
	}
}

/* _PG_init initializes every segext module when the library is loaded. */
void
_PG_init(void)
{
	segext_tenancy_init();
	segext_segment_cache_init();
	segext_events_init();
	segext_customer_state_init();
	segext_membership_init();
	segext_member_changes_init();
	segext_drop_guard_init();
	segext_unique_detail_init();
	segext_citus_init();
	segext_company_token_init();

	/* After every module has defined its settings: no other segext.* names. */
	MarkGUCPrefixReserved("segext");
}
