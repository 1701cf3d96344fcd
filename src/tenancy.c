/*-------------------------------------------------------------------------
 *
 * tenancy.c
 *	  The current company of a session: the company_id claim of PostgREST's
 *	  request.jwt.claims, else the segext.company_id setting.  Row level
 *	  security policies compare every row's company_id with it.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "objectid.h"

#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"

/* Value of the segext.company_id setting (24 hex digits or empty). */
static char *segext_company_id_setting = NULL;

static bool company_id_is_valid(const char *str);
static bool check_company_id(char **newval, void **extra, GucSource source);
static SegextObjectId *company_id_parse(const char *str, const char *source);

/* company_id_is_valid says whether str is exactly 24 hex digits. */
static bool
company_id_is_valid(const char *str)
{
	SegextObjectId id;

	return segext_objectid_from_hex(str, strlen(str), &id);
}

/* check_company_id refuses a segext.company_id that is not an objectid. */
static bool
check_company_id(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || company_id_is_valid(*newval))
		return true;
	GUC_check_errcode(ERRCODE_INVALID_TEXT_REPRESENTATION);
	GUC_check_errdetail("A company id is an objectid of exactly 24 hexadecimal digits.");
	GUC_check_errhint("Set segext.company_id to the id of a row of segext.companies, or to an empty string for no company.");
	return false;
}

/*
 * company_id_parse turns 24 hex digits into an objectid, or raises 22P02
 * naming where the value came from.
 */
static SegextObjectId *
company_id_parse(const char *str, const char *source)
{
	SegextObjectId *id = (SegextObjectId *) palloc(sizeof(SegextObjectId));

	if (!segext_objectid_from_hex(str, strlen(str), id))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid company id \"%s\" in %s", str, source),
				 errdetail("A company id is an objectid of exactly 24 hexadecimal digits."),
				 errhint("Set %s to the id of a row of segext.companies.", source)));
	return id;
}

/*
 * segext_tenancy_init defines the segext.company_id setting; called once from
 * _PG_init.
 */
void
segext_tenancy_init(void)
{
	DefineCustomStringVariable("segext.company_id",
							   "Current company (tenant) of the session for SQL and libpq users.",
							   "An objectid; the company_id claim of request.jwt.claims takes precedence when present.",
							   &segext_company_id_setting,
							   "",
							   PGC_USERSET,
							   0,
							   check_company_id,
							   NULL,
							   NULL);
}

/*
 * current_company returns the company_id claim of request.jwt.claims when
 * present and non-empty, else the segext.company_id setting, else NULL.
 */
static SegextObjectId *
current_company(void)
{
	const char *claims = GetConfigOption("request.jwt.claims", true, false);

	if (claims != NULL && claims[0] != '\0')
	{
		Jsonb	   *jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
															CStringGetDatum(claims)));

		if (JB_ROOT_IS_OBJECT(jb))
		{
			JsonbValue	value;

			if (getKeyJsonValueFromContainer(&jb->root, "company_id",
											 strlen("company_id"), &value) != NULL)
			{
				if (value.type == jbvString)
				{
					if (value.val.string.len > 0)
						return company_id_parse(pnstrdup(value.val.string.val,
														 value.val.string.len),
												"the company_id claim of request.jwt.claims");
				}
				else if (value.type != jbvNull)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
							 errmsg("invalid company_id claim in request.jwt.claims"),
							 errdetail("The company_id claim must be a JSON string of 24 hexadecimal digits."),
							 errhint("Issue tokens whose company_id claim is the id of a row of segext.companies, as a string.")));
			}
		}
	}
	if (segext_company_id_setting != NULL && segext_company_id_setting[0] != '\0')
		return company_id_parse(segext_company_id_setting, "segext.company_id");
	return NULL;
}

PG_FUNCTION_INFO_V1(segext_current_company_id);

/* segext_current_company_id returns the current company, or NULL. */
Datum
segext_current_company_id(PG_FUNCTION_ARGS)
{
	SegextObjectId *company = current_company();

	if (company == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(company);
}

/*
 * segext_check_company_access raises 42501 unless the current user may act
 * for the company: it is the current company, or the user is a superuser
 * or a member of segext_admin, exactly as the row level security policies
 * decide.  A NULL company (a new row without one) is refused only when no
 * current company is set either.
 */
void
segext_check_company_access(const SegextObjectId *company)
{
	Oid			admin;
	SegextObjectId *current;
	char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

	if (superuser())
		return;
	admin = get_role_oid("segext_admin", true);
	if (OidIsValid(admin) && has_privs_of_role(GetUserId(), admin))
		return;
	current = current_company();
	if (company == NULL)
	{
		/* else row level security or the NOT NULL constraint reports it */
		if (current == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("no current company"),
					 errdetail("Neither the JWT claim \"company_id\" nor the setting \"segext.company_id\" names a company, and the row gives none."),
					 errhint("Send a JWT carrying a \"company_id\" claim, or SET segext.company_id to the company's id.")));
		return;
	}
	if (current != NULL && memcmp(current, company, sizeof(SegextObjectId)) == 0)
		return;

	segext_objectid_to_hex(company, hex);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for company \"%s\"", hex),
			 current == NULL ?
			 errdetail("No current company is set for this session.") :
			 errdetail("The current company of this session is another company."),
			 errhint("Set segext.company_id (or the company_id claim of the token) to this company, or act as a member of segext_admin.")));
}
