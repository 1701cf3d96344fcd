/*-------------------------------------------------------------------------
 *
 * citus_company_grants.c
 *	  The grants of companies a DELETE through the coordinator removes.
 *	  segext.company_roles is a reference table on Citus, without the
 *	  foreign key whose ON DELETE CASCADE deletes a deleted company's
 *	  grants on one node: when a DELETE of segext.companies that this node
 *	  starts begins, the companies with grants its role sees are noted; at
 *	  its end those the role no longer sees were deleted, and their grants
 *	  are deleted as the table's owner, in the same transaction.  citus.c's
 *	  executor hooks and transaction callbacks call these.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "citus_company_grants.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "objectid.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

/* The most DELETE statements of companies nested in one another. */
#define MAX_DELETING_STATEMENTS 64

/*
 * A DELETE of segext.companies this node started, and the companies with
 * grants that its role saw before it ran: those it no longer sees at its
 * end were deleted, and their grants go with them.
 */
typedef struct DeletingStatement
{
	QueryDesc  *query;
	SubTransactionId subxact;	/* the subtransaction it started in */
	ArrayType  *granted;		/* objectid[], in TopTransactionContext */
} DeletingStatement;

static DeletingStatement deleting_statements[MAX_DELETING_STATEMENTS];
static int	deleting_statement_depth = 0;
static bool deleting_grants = false;	/* the grants of deleted companies are being deleted */

/*
 * deletes_companies tells whether a statement this node starts deletes rows
 * of segext.companies, itself or in a writable CTE: its range table asks
 * for the DELETE privilege on the table (Citus's plan of a routed statement
 * keeps the range table, not the statement's kind).
 */
static bool
deletes_companies(QueryDesc *query)
{
	ListCell   *lc;
	Oid			nsp;
	Oid			companies;

	nsp = get_namespace_oid("segext", true);
	companies = OidIsValid(nsp) ? get_relname_relid("companies", nsp) : InvalidOid;
	if (!OidIsValid(companies))
		return false;
	foreach(lc, query->plannedstmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION && rte->relid == companies &&
			(rte->requiredPerms & ACL_DELETE) != 0)
			return true;
	}
	return false;
}

/* relation_owner returns the role that owns a relation. */
static Oid
relation_owner(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

/*
 * granted_companies_seen returns, as an objectid[] in TopTransactionContext,
 * the companies of the given ones (with companies NULL: of those that have
 * grants in segext.company_roles, read as the table's owner) that the
 * current role sees in segext.companies, or NULL when there are none or the
 * role may not read the table.  The current role reads companies as the
 * DELETE that it runs does: Citus lets only it read the placements it
 * wrote in this transaction.
 */
static ArrayType *
granted_companies_seen(ArrayType *companies)
{
	Oid			nsp = get_namespace_oid("segext", true);
	Oid			companies_table = OidIsValid(nsp) ? get_relname_relid("companies", nsp) : InvalidOid;
	Oid			grants_table = OidIsValid(nsp) ? get_relname_relid("company_roles", nsp) : InvalidOid;
	Oid			objectid = segext_objectid_type();
	Oid			array_type = get_array_type(objectid);
	Oid			types[1];
	Datum		values[1];
	ArrayType  *seen = NULL;
	int			ret;

	if (!OidIsValid(companies_table) || !OidIsValid(grants_table) || !OidIsValid(array_type) ||
		pg_namespace_aclcheck(nsp, GetUserId(), ACL_USAGE) != ACLCHECK_OK ||
		pg_class_aclcheck(companies_table, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return NULL;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (companies == NULL)
	{
		Oid			save_userid;
		int			save_sec_context;
		bool		isnull;

		GetUserIdAndSecContext(&save_userid, &save_sec_context);
		SetUserIdAndSecContext(relation_owner(grants_table), save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
		ret = SPI_execute("SELECT pg_catalog.array_agg(DISTINCT g.company_id) FROM segext.company_roles AS g",
						  true, 0);
		SetUserIdAndSecContext(save_userid, save_sec_context);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
		values[0] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (isnull)
		{
			SPI_finish();
			return NULL;
		}
	}
	else
		values[0] = PointerGetDatum(companies);
	types[0] = array_type;
	ret = SPI_execute_with_args("SELECT pg_catalog.array_agg(c.id) FROM segext.companies AS c"
								" WHERE c.id OPERATOR(pg_catalog.=) ANY ($1)",
								1, types, values, NULL, false, 0);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	{
		bool		isnull;
		Datum		found = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

			seen = DatumGetArrayTypePCopy(found);
			MemoryContextSwitchTo(old);
		}
	}
	SPI_finish();
	return seen;
}

/*
 * delete_grants_of_deleted deletes, as the owner of segext.company_roles,
 * the grants of the companies of granted that the current role no longer
 * sees: what the foreign key's ON DELETE CASCADE does on one node.
 */
static void
delete_grants_of_deleted(ArrayType *granted)
{
	bool		snapshot_pushed = !ActiveSnapshotSet();
	ArrayType  *remaining;
	Datum	   *companies;
	int			ncompanies;
	Datum	   *kept = NULL;
	int			nkept = 0;
	int			ndeleted = 0;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	Oid			objectid = segext_objectid_type();
	Oid			types[1];
	Datum		values[1];
	Oid			nsp = get_namespace_oid("segext", true);
	Oid			grants_table = OidIsValid(nsp) ? get_relname_relid("company_roles", nsp) : InvalidOid;
	Oid			save_userid;
	int			save_sec_context;
	int			ret;

	if (!OidIsValid(grants_table))
		return;
	/* the end of a statement run by a portal (a writable CTE) has none */
	if (snapshot_pushed)
		PushActiveSnapshot(GetTransactionSnapshot());
	remaining = granted_companies_seen(granted);
	get_typlenbyvalalign(objectid, &typlen, &typbyval, &typalign);
	deconstruct_array(granted, objectid, typlen, typbyval, typalign, &companies, NULL, &ncompanies);
	if (remaining != NULL)
		deconstruct_array(remaining, objectid, typlen, typbyval, typalign, &kept, NULL, &nkept);
	for (int i = 0; i < ncompanies; i++)
	{
		bool		still = false;

		for (int k = 0; k < nkept && !still; k++)
			still = segext_objectid_equal(DatumGetSegextObjectIdP(companies[i]),
										  DatumGetSegextObjectIdP(kept[k]));
		if (!still)
			companies[ndeleted++] = companies[i];
	}
	if (ndeleted == 0)
	{
		if (snapshot_pushed)
			PopActiveSnapshot();
		return;
	}
	types[0] = get_array_type(objectid);
	values[0] = PointerGetDatum(construct_array(companies, ndeleted, objectid, typlen, typbyval, typalign));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(relation_owner(grants_table), save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	deleting_grants = true;
	PG_TRY();
	{
		ret = SPI_execute_with_args("DELETE FROM segext.company_roles AS g"
									" WHERE g.company_id OPERATOR(pg_catalog.=) ANY ($1)",
									1, types, values, NULL, false, 0);
		if (ret != SPI_OK_DELETE)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	}
	PG_FINALLY();
	{
		deleting_grants = false;
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
	SPI_finish();
	if (snapshot_pushed)
		PopActiveSnapshot();
}

/*
 * citus_grants_statement_start notes, for a DELETE of companies that this
 * node starts (not under EXPLAIN only), the companies with grants its role
 * sees.
 */
void
citus_grants_statement_start(QueryDesc *query, int eflags)
{
	ArrayType  *granted;
	DeletingStatement *statement;

	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0 || deleting_grants ||
		deleting_statement_depth >= MAX_DELETING_STATEMENTS || !deletes_companies(query))
		return;
	granted = granted_companies_seen(NULL);
	if (granted == NULL)
		return;
	statement = &deleting_statements[deleting_statement_depth++];
	statement->query = query;
	statement->subxact = GetCurrentSubTransactionId();
	statement->granted = granted;
}

/* citus_grants_statement_end deletes the grants of the companies a DELETE removed. */
void
citus_grants_statement_end(QueryDesc *query)
{
	if (deleting_statement_depth > 0 && deleting_statements[deleting_statement_depth - 1].query == query)
	{
		DeletingStatement statement = deleting_statements[--deleting_statement_depth];

		delete_grants_of_deleted(statement.granted);
	}
}

/*
 * citus_grants_abort forgets the DELETE statements an aborted
 * subtransaction started, or every one (InvalidSubTransactionId) at the
 * end of a transaction.
 */
void
citus_grants_abort(SubTransactionId subxact)
{
	if (subxact == InvalidSubTransactionId)
		deleting_statement_depth = 0;
	while (deleting_statement_depth > 0 &&
		   deleting_statements[deleting_statement_depth - 1].subxact == subxact)
		deleting_statement_depth--;
	deleting_grants = false;
}

/* citus_deleting_grants tells whether the grants of deleted companies are being deleted. */
bool
citus_deleting_grants(void)
{
	return deleting_grants;
}
