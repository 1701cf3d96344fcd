/*-------------------------------------------------------------------------
 *
 * released_symbols.c
 *	  C symbols that a released install script names and that the current
 *	  code has no use for.  A library must keep every symbol of every
 *	  install and upgrade script it supports, or CREATE EXTENSION segext
 *	  VERSION '0.1.0' (followed by ALTER EXTENSION segext UPDATE) fails.
 *	  Each refuses to run with 55000 and the hint to update the extension:
 *	  an object 0.2.0 dropped, or a write of members, customers or
 *	  transactions (a trigger whose symbol 0.2.0 renamed to the segext_
 *	  prefix).
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

/* released_write_refused raises 55000: a write (CHANGE) needs the update. */
static void
released_write_refused(const char *change)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("extension \"segext\" must be updated before %s", change),
			 errdetail("The installed library is segext %s; this database still has the objects of an older version.",
					   SEGEXT_VERSION),
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

PG_FUNCTION_INFO_V1(segext_add_customers_count);

/*
 * segext_add_customers_count refuses to run: the released 0.1.0 install
 * script declares segext.add_customers_count, whose counts 0.2.0 keeps in
 * segext.segment_member_counts, so a database still on 0.1.0's schema must
 * be updated before its members change.
 */
Datum
segext_add_customers_count(PG_FUNCTION_ARGS)
{
	released_write_refused("members change");
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(customers_check);

/*
 * customers_check refuses to run: 0.1.0's name of the trigger function
 * segext.customers_check, which the update points at segext_customers_check.
 */
Datum
customers_check(PG_FUNCTION_ARGS)
{
	released_write_refused("customers change");
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(transactions_check);

/*
 * transactions_check refuses to run: 0.1.0's name of the trigger function
 * segext.transactions_check, which the update points at
 * segext_transactions_check.
 */
Datum
transactions_check(PG_FUNCTION_ARGS)
{
	released_write_refused("transactions change");
	PG_RETURN_NULL();
}

PG_FUNCTION_INFO_V1(transactions_returned);

/*
 * transactions_returned refuses to run: 0.1.0's name of the trigger function
 * segext.transactions_returned, which the update points at
 * segext_transactions_returned.
 */
Datum
transactions_returned(PG_FUNCTION_ARGS)
{
	released_write_refused("transactions change");
	PG_RETURN_NULL();
}
