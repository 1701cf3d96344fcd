/*-------------------------------------------------------------------------
 *
 * tenancy_grants.c
 *	  The grants of companies to roles (segext.company_roles), read the way a
 *	  catalog lookup reads them (the latest committed rows, no row level
 *	  security): the level of a company for a role and its memberships, the
 *	  one company a role may have been granted, and role membership by name.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "citus.h"
#include "objectid.h"
#include "tenancy_sources.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/typcache.h"

/* Attribute numbers of segext.company_roles (company_id, role, level). */
#define COMPANY_ROLES_COMPANY	1
#define COMPANY_ROLES_ROLE		2
#define COMPANY_ROLES_LEVEL		3

/*
 * segext_role_is_member_of says whether member is a member of the named role
 * (directly or through other roles; superusers are members of every role),
 * as pg_has_role(..., 'MEMBER') does; false when the role does not exist.
 */
bool
segext_role_is_member_of(Oid member, const char *rolename)
{
	Oid			role = get_role_oid(rolename, true);

	return OidIsValid(role) && is_member_of_role(member, role);
}

/*
 * segext_company_level returns the highest level of the grants of a company to
 * roles userid is a member of (NONE without such a grant).
 */
CompanyLevel
segext_company_level(Oid userid, const SegextObjectId *company)
{
	Oid			relid = segext_company_roles_oid();
	CompanyLevel level = COMPANY_LEVEL_NONE;
	Relation	rel;
	Snapshot	snapshot;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;
	TypeCacheEntry *typentry;

	if (!OidIsValid(relid))
		return COMPANY_LEVEL_NONE;
	typentry = lookup_type_cache(segext_objectid_type(), TYPECACHE_EQ_OPR);
	if (!OidIsValid(typentry->eq_opr))
		elog(ERROR, "type segext.objectid has no equality operator");
	ScanKeyInit(&key, COMPANY_ROLES_COMPANY, BTEqualStrategyNumber,
				get_opcode(typentry->eq_opr), PointerGetDatum(company));

	/* on Citus, the local placement of the reference table (citus.c) */
	rel = table_open(segext_citus_local_relation(relid), AccessShareLock);
	/* the latest committed grants, as a catalog lookup would read them */
	snapshot = RegisterSnapshot(IsInParallelMode() ? GetActiveSnapshot() : GetLatestSnapshot());
	scan = systable_beginscan(rel, RelationGetPrimaryKeyIndex(rel), true,
							  snapshot, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;
		Oid			role = DatumGetObjectId(heap_getattr(tuple, COMPANY_ROLES_ROLE,
														 RelationGetDescr(rel), &isnull));
		text	   *value;

		if (isnull || !is_member_of_role(userid, role))
			continue;
		value = DatumGetTextPP(heap_getattr(tuple, COMPANY_ROLES_LEVEL,
											RelationGetDescr(rel), &isnull));
		if (!isnull && VARSIZE_ANY_EXHDR(value) == 6 &&
			memcmp(VARDATA_ANY(value), "writer", 6) == 0)
			level = COMPANY_LEVEL_WRITER;
		else if (level == COMPANY_LEVEL_NONE)
			level = COMPANY_LEVEL_READER;
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return level;
}

/*
 * segext_single_granted_company finds the company granted to roles userid is a
 * member of, and its level, when exactly one company is; false when none
 * or several are.
 */
bool
segext_single_granted_company(Oid userid, SegextObjectId *company, CompanyLevel *level)
{
	Oid			relid = segext_company_roles_oid();
	int			found = 0;
	Relation	rel;
	Snapshot	snapshot;
	SysScanDesc scan;
	HeapTuple	tuple;

	if (!OidIsValid(relid))
		return false;
	/* on Citus, the local placement of the reference table (citus.c) */
	rel = table_open(segext_citus_local_relation(relid), AccessShareLock);
	snapshot = RegisterSnapshot(IsInParallelMode() ? GetActiveSnapshot() : GetLatestSnapshot());
	scan = systable_beginscan(rel, InvalidOid, false, snapshot, 0, NULL);
	while (found < 2 && HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		row_company = heap_getattr(tuple, COMPANY_ROLES_COMPANY,
											   RelationGetDescr(rel), &isnull);
		Oid			role = DatumGetObjectId(heap_getattr(tuple, COMPANY_ROLES_ROLE,
														 RelationGetDescr(rel), &isnull));

		if (!is_member_of_role(userid, role))
			continue;
		if (found == 0)
		{
			memcpy(company, DatumGetPointer(row_company), sizeof(SegextObjectId));
			found = 1;
		}
		else if (!segext_objectid_equal(company, DatumGetSegextObjectIdP(row_company)))
			found = 2;
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	if (found != 1)
		return false;
	*level = segext_company_level(userid, company);
	return true;
}
