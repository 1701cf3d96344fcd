/*-------------------------------------------------------------------------
 *
 * released_symbols.c
 *	  C symbols that a released install script names and that the current
 *	  code has no use for.  A library must keep every symbol of every
 *	  install and upgrade script it supports, or CREATE EXTENSION segext
 *	  VERSION '0.1.0' (followed by ALTER EXTENSION segext UPDATE) fails.
 *	  Each refuses to run with 55000 and the hint to update the extension,
 *	  as the 0.1.0 objects the current library serves do before a membership
 *	  change (segext_add_customers_count, rules.c).
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

/* released_object_refused raises 55000 for an object of an older version. */
static void
released_object_refused(const char *object)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("extension \"segext\" must be updated before %s can run", object),
			 errdetail("The installed library is segext %s; this database still has the objects of an older version, and %s is not one of segext %s.",
					   SEGEXT_VERSION, object, SEGEXT_VERSION),
			 errhint("Run ALTER EXTENSION segext UPDATE in this database.")));
}

PG_FUNCTION_INFO_V1(segext_customer_facts_step);

/*
 * segext_customer_facts_step refuses to run: the transition function of the
 * aggregate segext.customer_facts of 0.1.0, which the update drops.
 */
Datum
segext_customer_facts_step(PG_FUNCTION_ARGS)
{
	released_object_refused("segext.customer_facts");
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(segext_customer_facts_combine);

/*
 * segext_customer_facts_combine refuses to run: the combine function of the
 * aggregate segext.customer_facts of 0.1.0, which the update drops.
 */
Datum
segext_customer_facts_combine(PG_FUNCTION_ARGS)
{
	released_object_refused("segext.customer_facts");
	PG_RETURN_NULL();
}
