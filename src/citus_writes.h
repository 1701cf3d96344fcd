/*-------------------------------------------------------------------------
 *
 * citus_writes.h
 *	  What the coordinator changes in a write of segext's distributed tables
 *	  before Citus plans it (citus_writes.c), for citus.c's planner hook.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_CITUS_WRITES_H
#define SEGEXT_CITUS_WRITES_H

#include "postgres.h"

#include "nodes/parsenodes.h"

extern Oid	citus_write_through_view(Query *parse);
extern void citus_check_null_company(Query *parse);
extern void citus_check_view_company(Query *parse, Oid view);
extern void citus_check_kept_company(Query *parse);
extern bool citus_return_rows_of_insert_select(Query *parse);
extern void citus_mark_written_company(Query *parse);

#endif							/* SEGEXT_CITUS_WRITES_H */
