/*-------------------------------------------------------------------------
 *
 * citus_company_grants.h
 *	  The grants of companies a DELETE through the coordinator removes
 *	  (citus_company_grants.c), for citus.c's hooks.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_CITUS_COMPANY_GRANTS_H
#define SEGEXT_CITUS_COMPANY_GRANTS_H

#include "postgres.h"

#include "executor/execdesc.h"

extern void citus_grants_statement_start(QueryDesc *query, int eflags);
extern void citus_grants_statement_end(QueryDesc *query);
extern void citus_grants_abort(SubTransactionId subxact);
extern bool citus_deleting_grants(void);

#endif							/* SEGEXT_CITUS_COMPANY_GRANTS_H */
