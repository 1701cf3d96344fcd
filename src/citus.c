/*-------------------------------------------------------------------------
 *
 * citus.c
 *	  What segext's C code does differently when its tables may be
 *	  distributed by Citus (segext.distribute(), src/sql/90_citus.sql).
 *
 *	  Citus plans a statement on distributed tables with the values of its
 *	  parameters: a generic plan of a join of distributed tables with
 *	  parameters fails ("could not create distributed plan").  So in a
 *	  database where Citus is installed, the statements segext keeps
 *	  (kept_plan.c) are planned with their parameters' values each time
 *	  instead of once for all values.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"

#include "commands/extension.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"

/* segext_citus_installed tells whether extension citus exists in this database. */
bool
segext_citus_installed(void)
{
	return OidIsValid(get_extension_oid("citus", true));
}

/*
 * segext_plan_cursor_options returns the cursor options to prepare a kept
 * statement with: a custom plan instead of a generic one where Citus is
 * installed.
 */
int
segext_plan_cursor_options(int cursor_options)
{
	if ((cursor_options & CURSOR_OPT_GENERIC_PLAN) != 0 && segext_citus_installed())
		cursor_options = (cursor_options & ~CURSOR_OPT_GENERIC_PLAN) | CURSOR_OPT_CUSTOM_PLAN;
	return cursor_options;
}
