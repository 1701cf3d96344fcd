/*-------------------------------------------------------------------------
 *
 * tenancy_sources.h
 *	  The answer tenancy.c caches (CurrentCompany: the current company, how it
 *	  was reached, whether it may be written, or why the inputs were refused)
 *	  and the sources it is decided from: the JWT claims (tenancy_claims.c) and
 *	  the grants of segext.company_roles (tenancy_grants.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGEXT_TENANCY_SOURCES_H
#define SEGEXT_TENANCY_SOURCES_H

#include "postgres.h"

#include "objectid.h"

/* What the current role may do in a company. */
typedef enum CompanyLevel
{
	COMPANY_LEVEL_NONE = 0,
	COMPANY_LEVEL_READER,
	COMPANY_LEVEL_WRITER
} CompanyLevel;

/* How the current company was reached. */
typedef enum CompanySource
{
	COMPANY_SOURCE_NONE = 0,
	COMPANY_SOURCE_CLAIM,
	COMPANY_SOURCE_ADMIN,
	COMPANY_SOURCE_GRANT,
	COMPANY_SOURCE_NODE			/* a company token of the Citus coordinator */
} CompanySource;

/* Why the inputs name no usable company (raised at query start). */
typedef enum CompanyRefusal
{
	COMPANY_REFUSAL_NONE = 0,
	COMPANY_REFUSAL_UNGRANTED,	/* segext.company_id names an ungranted company */
	COMPANY_REFUSAL_CLAIMS_NOT_JSON,	/* request.jwt.claims is not JSON */
	COMPANY_REFUSAL_CLAIM_NOT_STRING,	/* its company_id is not a string */
	COMPANY_REFUSAL_CLAIM_NOT_ID	/* a company_id claim is not an objectid */
} CompanyRefusal;

/* Longest refused value kept for the error message. */
#define REFUSED_VALUE_LEN 64

/* The current company of the session and whether it may be written. */
typedef struct CurrentCompany
{
	CompanyRefusal refusal;		/* when set, source is NONE */
	char		refused_value[REFUSED_VALUE_LEN + 1];
	const char *refused_source; /* the setting or claim refused */
	CompanySource source;
	SegextObjectId company;		/* valid unless source is NONE */
	bool		writable;
	bool		admin;			/* superuser or member of segext_admin */
} CurrentCompany;

/*
 * Mark result as naming no usable company, keeping the refused value (cut
 * to REFUSED_VALUE_LEN bytes) and where it came from.
 */
extern void segext_tenancy_refuse(CurrentCompany *result, CompanyRefusal refusal,
								  const char *value, int len, const char *source);

/*
 * Set result->company from the company_id claim of request.jwt.claims,
 * else from jwt.claims.company_id, and return true; false when neither
 * names one.  Malformed claims are refused in result, never raised.
 */
extern bool segext_company_from_claims(const char *claims, const char *claim_company,
									   CurrentCompany *result);

/* Whether member is a member of the named role (false when it does not exist). */
extern bool segext_role_is_member_of(Oid member, const char *rolename);

/* The OID of segext.company_roles, or InvalidOid (tenancy.c, which watches it). */
extern Oid	segext_company_roles_oid(void);

/* The highest level of the grants of a company to roles userid is a member of. */
extern CompanyLevel segext_company_level(Oid userid, const SegextObjectId *company);

/*
 * The company granted to roles userid is a member of, and its level, when
 * exactly one company is; false when none or several are.
 */
extern bool segext_single_granted_company(Oid userid, SegextObjectId *company,
										  CompanyLevel *level);

#endif							/* SEGEXT_TENANCY_SOURCES_H */
