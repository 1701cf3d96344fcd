/*-------------------------------------------------------------------------
 *
 * tenancy_claims.c
 *	  The company named by JWT claims: the company_id claim of
 *	  request.jwt.claims (PostgREST), found by a scan of the claims' JSON that
 *	  keeps only the top-level key, else the setting jwt.claims.company_id
 *	  (PostGraphile).  Claims that are not JSON or name no company id are
 *	  refused in the answer, never raised here (tenancy.c raises them when a
 *	  query starts).
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "objectid.h"
#include "tenancy_sources.h"

#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonfuncs.h"

/* What a scan of request.jwt.claims found of its top-level company_id. */
typedef struct ClaimScan
{
	int			depth;
	bool		root_is_object;
	bool		in_company;		/* inside the value of company_id */
	bool		found;
	bool		is_string;
	bool		is_null;
	char	   *value;			/* a scalar's text, de-escaped */
} ClaimScan;

/* claim_nest_start enters an object or array (a company_id that is one is no string). */
static void
claim_nest_start(void *state)
{
	ClaimScan  *scan = (ClaimScan *) state;

	if (scan->depth == 0)
		scan->root_is_object = false;
	if (scan->in_company && scan->depth == 1)
		scan->value = NULL;		/* neither string nor null */
	scan->depth++;
}

/* claim_object_start enters an object; the root's says the claims are an object. */
static void
claim_object_start(void *state)
{
	ClaimScan  *scan = (ClaimScan *) state;
	bool		root = (scan->depth == 0);

	claim_nest_start(state);
	if (root)
		scan->root_is_object = true;
}

/* claim_nest_end leaves an object or array. */
static void
claim_nest_end(void *state)
{
	((ClaimScan *) state)->depth--;
}

/* claim_field_start notes when the root object's company_id starts (the last one wins). */
static void
claim_field_start(void *state, char *fname, bool isnull)
{
	ClaimScan  *scan = (ClaimScan *) state;

	if (scan->depth != 1)
		return;
	scan->in_company = (strcmp(fname, "company_id") == 0);
	if (scan->in_company)
	{
		scan->found = true;
		scan->is_string = false;
		scan->is_null = false;
		scan->value = NULL;
	}
}

/* claim_field_end leaves a field of the root object. */
static void
claim_field_end(void *state, char *fname, bool isnull)
{
	ClaimScan  *scan = (ClaimScan *) state;

	if (scan->depth == 1)
		scan->in_company = false;
}

/* claim_scalar keeps the scalar value of the root object's company_id. */
static void
claim_scalar(void *state, char *token, JsonTokenType tokentype)
{
	ClaimScan  *scan = (ClaimScan *) state;

	if (!scan->in_company || scan->depth != 1)
		return;
	scan->value = token;
	scan->is_string = (tokentype == JSON_TOKEN_STRING);
	scan->is_null = (tokentype == JSON_TOKEN_NULL);
}

/*
 * segext_tenancy_refuse marks result as naming no usable company, keeping the refused
 * value (cut to REFUSED_VALUE_LEN bytes) and where it came from.
 */
void
segext_tenancy_refuse(CurrentCompany *result, CompanyRefusal refusal,
					  const char *value, int len, const char *source)
{
	result->source = COMPANY_SOURCE_NONE;
	result->refusal = refusal;
	result->refused_source = source;
	len = pg_mbcliplen(value, len, Min(len, REFUSED_VALUE_LEN));
	memcpy(result->refused_value, value, len);
	result->refused_value[len] = '\0';
}

/*
 * segext_company_from_claims sets result->company from the company_id claim of
 * request.jwt.claims, else from jwt.claims.company_id, and returns true;
 * false when neither names one.  Malformed claims are refused in result
 * (true, source NONE), never raised here.
 */
bool
segext_company_from_claims(const char *claims, const char *claim_company,
						   CurrentCompany *result)
{
	if (claims != NULL && claims[0] != '\0')
	{
		JsonSemAction sem;
		ClaimScan	scan;
		JsonLexContext *lex;

		memset(&sem, 0, sizeof(sem));
		memset(&scan, 0, sizeof(scan));
		sem.semstate = &scan;
		sem.object_start = claim_object_start;
		sem.object_end = claim_nest_end;
		sem.array_start = claim_nest_start;
		sem.array_end = claim_nest_end;
		sem.object_field_start = claim_field_start;
		sem.object_field_end = claim_field_end;
		sem.scalar = claim_scalar;
		lex = makeJsonLexContextCstringLen(unconstify(char *, claims), strlen(claims),
										   GetDatabaseEncoding(), true);
		if (pg_parse_json(lex, &sem) != JSON_SUCCESS)
		{
			segext_tenancy_refuse(result, COMPANY_REFUSAL_CLAIMS_NOT_JSON, claims, strlen(claims),
								  "request.jwt.claims");
			return true;
		}
		if (scan.root_is_object && scan.found && !scan.is_null)
		{
			if (!scan.is_string)
			{
				segext_tenancy_refuse(result, COMPANY_REFUSAL_CLAIM_NOT_STRING, "", 0,
									  "the company_id claim of request.jwt.claims");
				return true;
			}
			if (scan.value[0] != '\0')
			{
				if (!segext_objectid_from_hex(scan.value, strlen(scan.value), &result->company))
					segext_tenancy_refuse(result, COMPANY_REFUSAL_CLAIM_NOT_ID, scan.value, strlen(scan.value),
										  "the company_id claim of request.jwt.claims");
				return true;
			}
		}
	}
	if (claim_company != NULL && claim_company[0] != '\0')
	{
		if (!segext_objectid_from_hex(claim_company, strlen(claim_company), &result->company))
			segext_tenancy_refuse(result, COMPANY_REFUSAL_CLAIM_NOT_ID, claim_company, strlen(claim_company),
								  "jwt.claims.company_id");
		return true;
	}
	return false;
}
