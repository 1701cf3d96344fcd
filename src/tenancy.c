/*-------------------------------------------------------------------------
 *
 * tenancy.c
 *	  The current company of a session and what the current role may do
 *	  in it.  Row level security policies compare every row's company_id
 *	  with it, and the C triggers check new rows against it.
 *
 * A company is granted, not claimed.  The current company is, in order:
 *
 *	1. the company_id claim of request.jwt.claims (PostgREST) or the
 *	   setting jwt.claims.company_id (PostGraphile), but only when the
 *	   session user (the login that opened the connection) is a member of
 *	   segext_gateway: the gateway has checked the token's signature.  From
 *	   any other session the claims are ignored.  A trusted claim allows
 *	   writing; the table privileges of the JWT's role decide the rest;
 *	2. for a member of segext_admin (or a superuser), segext.company_id as
 *	   it is: admins act for every company;
 *	3. segext.company_id when the current role is a member of a role that
 *	   segext.company_roles grants that company (else 42501); the highest
 *	   level among those grants says whether it may write;
 *	4. with no setting, the one company granted to the current role, when
 *	   exactly one is;
 *	5. else no company.
 *
 * On a Citus worker, a company token that the coordinator made for the
 * role of this session in the current distributed transaction comes first
 * (company_token.c): it carries the coordinator's decision.
 *
 * Naming a company that way is refused data-independently: an unusable
 * input (an ungranted company, a claim that is not JSON or not a company
 * id) makes the current company "none" in every function that row level
 * security, views and lookups call, and the error is raised when a query
 * on segext's tables starts (an ExecutorStart hook) and by the triggers'
 * checks.  So a refusal never depends on whether a row with some key
 * exists, even when the setting changes in the middle of a query.
 *
 * The answers are cached per backend (a few: segext's triggers run
 * statements as the table owner between the caller's), keyed by every
 * input (current and session user, the setting, both claims) and a
 * generation counter; the claims are compared only in a session of a
 * member of segext_gateway, the only one where they count, so a call from
 * a SQL login or a policy row costs a few comparisons and no setting
 * lookup.  The counter moves when segext.company_roles changes (a
 * statement trigger queues a relcache invalidation of the table, which
 * PostgreSQL sends to every backend at commit) and when role memberships
 * or roles change (syscache callbacks).  Pending invalidations are read at the first call of
 * each statement, so a grant or revoke committed by another session counts
 * from the next statement on, also inside an open transaction.
 *
 * The claims are read in tenancy_claims.c, the grants of
 * segext.company_roles in tenancy_grants.c.
 *
 *-------------------------------------------------------------------------
 */
#include "segext.h"
#include "citus.h"
#include "tenancy.h"
#include "module_init.h"
#include "objectid.h"
#include "kept_plan.h"
#include "tenancy_sources.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "common/jsonapi.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "access/parallel.h"
#include "commands/trigger.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "trigger_check.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

/* Value of the segext.company_id setting (24 hex digits or empty). */
static char *segext_company_id_setting = NULL;

/* The ExecutorStart hook segext's was installed over. */
static ExecutorStart_hook_type prev_executor_start = NULL;

/* Moves when company_roles, role memberships or roles change. */
static uint64 tenancy_generation = 1;

/* OID of segext.company_roles when last looked up (for the callback). */
static Oid	company_roles_relid = InvalidOid;

/* The statement whose pending invalidations were last read. */
static LocalTransactionId checked_lxid = InvalidLocalTransactionId;
static TimestampTz checked_statement = 0;

/*
 * The last answers and the inputs they were computed from: a few, because
 * segext's triggers run statements as the table owner between the caller's.
 */
#define COMPANY_CACHE_SIZE 4

typedef struct CompanyCacheEntry
{
	bool		valid;
	uint64		generation;
	Oid			userid;
	Oid			session_userid;
	char		setting[SEGEXT_OBJECTID_HEX_LEN + 1];
	char	   *claims;			/* request.jwt.claims, or NULL */
	char	   *claim_company;	/* jwt.claims.company_id, or NULL */
	bool		claims_trusted; /* the session user is a member of segext_gateway */
	char	   *token;			/* segext.company_token, or NULL */
	LocalTransactionId token_lxid;	/* a token holds in its transaction only */
	CurrentCompany result;
} CompanyCacheEntry;

static CompanyCacheEntry company_cache[COMPANY_CACHE_SIZE];
static int	company_cache_next = 0;	/* the entry replaced next */

static bool company_id_is_valid(const char *str);
static bool check_company_id(char **newval, void **extra, GucSource source);
static void company_id_parse(const char *str, const char *source, SegextObjectId *id);
static void raise_refusal(const CurrentCompany *current);
static void tenancy_executor_start(QueryDesc *queryDesc, int eflags);
static bool query_reads_segext(const PlannedStmt *stmt);
static void tenancy_relcache_callback(Datum arg, Oid relid);
static void tenancy_syscache_callback(Datum arg, int cacheid, uint32 hashvalue);
static bool same_text(const char *cached, const char *now);
static char *cache_text(const char *value);
static bool company_from_token(CurrentCompany *result);
static void resolve_current_company(CurrentCompany *result);
static void accept_invalidations_once_per_statement(void);
static const CurrentCompany *cached_company(void);
static const CurrentCompany *current_company(void);
static void check_company(const SegextObjectId *company, bool write);

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
	GUC_check_errhint("Set segext.company_id to the id of a company granted to your role, or to an empty string for no company.");
	return false;
}

/*
 * company_id_parse turns 24 hex digits into an objectid, or raises 22P02
 * naming where the value came from.
 */
static void
company_id_parse(const char *str, const char *source, SegextObjectId *id)
{
	if (!segext_objectid_from_hex(str, strlen(str), id))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid company id \"%s\" in %s", str, source),
				 errdetail("A company id is an objectid of exactly 24 hexadecimal digits."),
				 errhint("Set %s to the id of a row of segext.companies.", source)));
}

static void assign_company_id(const char *newval, void *extra);

/*
 * segext_tenancy_init defines the segext.company_id setting and registers
 * the callbacks that invalidate the cached current company; called once
 * from _PG_init.
 */
void
segext_tenancy_init(void)
{
	DefineCustomStringVariable("segext.company_id",
							   "Current company (tenant) of the session for SQL and libpq users.",
							   "An objectid of a company granted to the current role (segext.grant_company); the company_id claim of a gateway session takes precedence.",
							   &segext_company_id_setting,
							   "",
							   PGC_USERSET,
							   0,
							   check_company_id,
							   assign_company_id,
							   NULL);
	segext_register_relcache_callback(tenancy_relcache_callback);
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = tenancy_executor_start;
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, tenancy_syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, tenancy_syscache_callback, (Datum) 0);
}

/*
 * assign_company_id drops the plans on Citus in which the coordinator has
 * put the current company as a constant (citus.c).
 */
static void
assign_company_id(const char *newval, void *extra)
{
	segext_citus_company_changed();
}

/*
 * tenancy_relcache_callback moves the generation when segext.company_roles,
 * or every relation (InvalidOid), is invalidated.
 */
static void
tenancy_relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == company_roles_relid)
		tenancy_generation++;
}

/* tenancy_syscache_callback moves the generation when roles or memberships change. */
static void
tenancy_syscache_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	tenancy_generation++;
}

/* same_text compares a cached string with the current one (NULL = unset). */
static bool
same_text(const char *cached, const char *now)
{
	if (now == NULL || now[0] == '\0')
		return cached == NULL;
	return cached != NULL && strcmp(cached, now) == 0;
}

/* cache_text copies a setting's value into TopMemoryContext (NULL = unset). */
static char *
cache_text(const char *value)
{
	if (value == NULL || value[0] == '\0')
		return NULL;
	return MemoryContextStrdup(TopMemoryContext, value);
}

/* segext_company_roles_oid returns the OID of segext.company_roles (kept for the relcache callback), or InvalidOid. */
Oid
segext_company_roles_oid(void)
{
	Oid			nsp = get_namespace_oid("segext", true);

	if (!OidIsValid(nsp))
		return InvalidOid;
	company_roles_relid = get_relname_relid("company_roles", nsp);
	return company_roles_relid;
}

/*
 * company_from_token sets result from a company token of the Citus
 * coordinator that verifies (company_token.c) and returns true; a company
 * reached through a grant or as an admin counts only while the role the
 * session was opened as still holds that grant or membership here.
 */
static bool
company_from_token(CurrentCompany *result)
{
	char		source;
	bool		writable;
	CompanyLevel level;

	if (!segext_company_token_verify(&result->company, &source, &writable))
		return false;
	if (source == SEGEXT_TOKEN_ADMIN &&
		!segext_role_is_member_of(GetSessionUserId(), "segext_admin"))
		return false;
	if (source == SEGEXT_TOKEN_GRANT)
	{
		level = segext_company_level(GetSessionUserId(), &result->company);
		if (level == COMPANY_LEVEL_NONE)
			return false;
		writable = writable && level == COMPANY_LEVEL_WRITER;
	}
	result->source = COMPANY_SOURCE_NODE;
	result->writable = writable;
	return true;
}

/*
 * resolve_current_company decides the current company from the claims of a
 * gateway session, the setting and the grants (see the file header);
 * raises 42501 when segext.company_id names a company not granted to the
 * current role.
 */
static void
resolve_current_company(CurrentCompany *result)
{
	Oid			userid = GetUserId();
	const char *claims = GetConfigOption("request.jwt.claims", true, false);
	const char *claim_company = GetConfigOption("jwt.claims.company_id", true, false);
	const char *setting = segext_company_id_setting;
	CompanyLevel level;

	memset(result, 0, sizeof(CurrentCompany));
	result->admin = segext_role_is_member_of(userid, "segext_admin");
	if (segext_company_token()[0] != '\0' && company_from_token(result))
		return;
	if (((claims != NULL && claims[0] != '\0') ||
		 (claim_company != NULL && claim_company[0] != '\0')) &&
		segext_role_is_member_of(GetSessionUserId(), "segext_gateway") &&
		segext_company_from_claims(claims, claim_company, result))
	{
		if (result->refusal != COMPANY_REFUSAL_NONE)
			return;
		result->source = COMPANY_SOURCE_CLAIM;
		result->writable = true;
		return;
	}
	if (result->admin)
	{
		if (setting != NULL && setting[0] != '\0')
		{
			company_id_parse(setting, "segext.company_id", &result->company);
			result->source = COMPANY_SOURCE_ADMIN;
			result->writable = true;
		}
		return;
	}
	if (setting != NULL && setting[0] != '\0')
	{
		company_id_parse(setting, "segext.company_id", &result->company);
		level = segext_company_level(userid, &result->company);
		if (level == COMPANY_LEVEL_NONE)
		{
			segext_tenancy_refuse(result, COMPANY_REFUSAL_UNGRANTED, setting, strlen(setting),
								  "segext.company_id");
			return;
		}
		result->source = COMPANY_SOURCE_GRANT;
		result->writable = (level == COMPANY_LEVEL_WRITER);
		return;
	}
	if (segext_single_granted_company(userid, &result->company, &level) &&
		level != COMPANY_LEVEL_NONE)
	{
		result->source = COMPANY_SOURCE_GRANT;
		result->writable = (level == COMPANY_LEVEL_WRITER);
	}
}

/*
 * accept_invalidations_once_per_statement reads pending invalidations at the
 * first call of each statement, so that grants and revokes committed by
 * other sessions count from the next statement on.
 */
static void
accept_invalidations_once_per_statement(void)
{
	if (MyProc->lxid != checked_lxid ||
		GetCurrentStatementStartTimestamp() != checked_statement)
	{
		AcceptInvalidationMessages();
		checked_lxid = MyProc->lxid;
		checked_statement = GetCurrentStatementStartTimestamp();
	}
}

/*
 * cached_company returns the cached current company when no input changed
 * since it was resolved, else NULL.  The claims are read only in a session
 * whose user is a member of segext_gateway: elsewhere they do not count, so
 * the usual call compares two role ids, a counter and the setting.
 */
static const CurrentCompany *
cached_company(void)
{
	const char *setting = segext_company_id_setting ? segext_company_id_setting : "";
	const char *token = segext_company_token();
	Oid			userid = GetUserId();
	Oid			session_userid = GetSessionUserId();

	accept_invalidations_once_per_statement();
	for (int i = 0; i < COMPANY_CACHE_SIZE; i++)
	{
		CompanyCacheEntry *entry = &company_cache[i];

		if (!entry->valid ||
			entry->generation != tenancy_generation ||
			entry->userid != userid ||
			entry->session_userid != session_userid ||
			strcmp(entry->setting, setting) != 0 ||
			!same_text(entry->token, token) ||
			(token[0] != '\0' && entry->token_lxid != MyProc->lxid))
			continue;
		if (entry->claims_trusted &&
			(!same_text(entry->claims, GetConfigOption("request.jwt.claims", true, false)) ||
			 !same_text(entry->claim_company, GetConfigOption("jwt.claims.company_id", true, false))))
			continue;
		return &entry->result;
	}
	return NULL;
}

/*
 * current_company returns the current company of the session, from the
 * cache when no input changed.
 */
static const CurrentCompany *
current_company(void)
{
	const CurrentCompany *cached = cached_company();
	Oid			userid = GetUserId();
	Oid			session_userid = GetSessionUserId();
	const char *claims;
	const char *claim_company;
	const char *token = segext_company_token();
	const char *setting = segext_company_id_setting ? segext_company_id_setting : "";
	CurrentCompany result;
	uint64		generation;
	bool		claims_trusted;
	int			slot;
	CompanyCacheEntry *entry;

	if (cached != NULL)
		return cached;

	/* an invalidation arriving while resolving leaves the entry stale */
	generation = tenancy_generation;
	claims = GetConfigOption("request.jwt.claims", true, false);
	claim_company = GetConfigOption("jwt.claims.company_id", true, false);
	claims_trusted = segext_role_is_member_of(session_userid, "segext_gateway");
	resolve_current_company(&result);

	/* an entry of the same user and session, else a stale one, else the next */
	for (slot = 0; slot < COMPANY_CACHE_SIZE; slot++)
		if (company_cache[slot].valid &&
			company_cache[slot].userid == userid &&
			company_cache[slot].session_userid == session_userid)
			break;
	if (slot == COMPANY_CACHE_SIZE)
		for (slot = 0; slot < COMPANY_CACHE_SIZE; slot++)
			if (!company_cache[slot].valid || company_cache[slot].generation != generation)
				break;
	if (slot == COMPANY_CACHE_SIZE)
	{
		slot = company_cache_next;
		company_cache_next = (company_cache_next + 1) % COMPANY_CACHE_SIZE;
	}
	entry = &company_cache[slot];
	entry->valid = false;
	if (entry->claims)
		pfree(entry->claims);
	if (entry->claim_company)
		pfree(entry->claim_company);
	if (entry->token)
		pfree(entry->token);
	entry->claims = cache_text(claims);
	entry->claim_company = cache_text(claim_company);
	entry->token = cache_text(token);
	entry->token_lxid = MyProc->lxid;
	strlcpy(entry->setting, setting, sizeof(entry->setting));
	entry->userid = userid;
	entry->session_userid = session_userid;
	entry->claims_trusted = claims_trusted;
	entry->generation = generation;
	entry->result = result;
	entry->valid = true;
	return &entry->result;
}

PG_FUNCTION_INFO_V1(segext_current_company_id);

/* segext_current_company_id returns the current company, or NULL. */
Datum
segext_current_company_id(PG_FUNCTION_ARGS)
{
	const CurrentCompany *current = current_company();
	SegextObjectId *company;

	if (current->source == COMPANY_SOURCE_NONE)
		PG_RETURN_NULL();
	company = (SegextObjectId *) palloc(sizeof(SegextObjectId));
	memcpy(company, &current->company, sizeof(SegextObjectId));
	PG_RETURN_POINTER(company);
}

PG_FUNCTION_INFO_V1(segext_current_company_writable);

/*
 * segext_current_company_writable says whether the current role may change
 * the rows of the current company (false when there is none).
 */
Datum
segext_current_company_writable(PG_FUNCTION_ARGS)
{
	const CurrentCompany *current = current_company();

	PG_RETURN_BOOL(current->source != COMPANY_SOURCE_NONE && current->writable);
}

PG_FUNCTION_INFO_V1(segext_writable_company_id);

/*
 * segext_writable_company_id returns the current company for the write
 * policies: NULL when there is none, 42501 when the current role holds only
 * a reader grant for it.
 */
Datum
segext_writable_company_id(PG_FUNCTION_ARGS)
{
	const CurrentCompany *current = current_company();
	SegextObjectId *company;

	if (current->source == COMPANY_SOURCE_NONE)
		PG_RETURN_NULL();
	if (!current->writable)
		check_company(&current->company, true);
	company = (SegextObjectId *) palloc(sizeof(SegextObjectId));
	memcpy(company, &current->company, sizeof(SegextObjectId));
	PG_RETURN_POINTER(company);
}

/*
 * raise_refusal raises the error of an unusable company input: 42501 for
 * an ungranted company, 22P02 for a malformed claim.
 */
static void
raise_refusal(const CurrentCompany *current)
{
	const char *value = current->refused_value;
	const char *role;

	switch (current->refusal)
	{
		case COMPANY_REFUSAL_NONE:
			return;
		case COMPANY_REFUSAL_UNGRANTED:
			role = GetUserNameFromId(GetUserId(), false);
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for company \"%s\"", value),
					 errdetail("Company \"%s\" is not granted to role \"%s\" nor to a role it is a member of, so segext.company_id cannot name it.",
							   value, role),
					 errhint("A member of segext_admin can grant it: SELECT segext.grant_company('%s', '%s', 'reader');",
							 value, quote_identifier(role))));
			break;
		case COMPANY_REFUSAL_CLAIMS_NOT_JSON:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid request.jwt.claims: not a JSON text"),
					 errdetail("The gateway set request.jwt.claims to a value that is not JSON."),
					 errhint("Set request.jwt.claims to the JSON object of the verified token's claims, as PostgREST does.")));
			break;
		case COMPANY_REFUSAL_CLAIM_NOT_STRING:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid company_id claim in request.jwt.claims"),
					 errdetail("The company_id claim must be a JSON string of 24 hexadecimal digits."),
					 errhint("Issue tokens whose company_id claim is the id of a row of segext.companies, as a string.")));
			break;
		case COMPANY_REFUSAL_CLAIM_NOT_ID:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid company id \"%s\" in %s", value, current->refused_source),
					 errdetail("A company id is an objectid of exactly 24 hexadecimal digits."),
					 errhint("Set %s to the id of a row of segext.companies.", current->refused_source)));
			break;
	}
}

/*
 * query_reads_segext says whether a plan reads or writes a relation of
 * schema segext (directly or through a segext_api view).
 */
static bool
query_reads_segext(const PlannedStmt *stmt)
{
	Oid			nsp = InvalidOid;
	ListCell   *lc;

	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind != RTE_RELATION)
			continue;
		if (!OidIsValid(nsp))
		{
			nsp = get_namespace_oid("segext", true);
			if (!OidIsValid(nsp))
				return false;
		}
		if (get_rel_namespace(rte->relid) == nsp)
			return true;
	}
	return false;
}

/* citus_may_be_loaded says whether Citus is loaded in this server (its settings exist). */
static bool
citus_may_be_loaded(void)
{
	static int	loaded = -1;

	if (loaded < 0)
		loaded = GetConfigOption("citus.node_conninfo", true, false) != NULL ? 1 : 0;
	return loaded == 1;
}

/*
 * tenancy_executor_start raises the error of an unusable company input
 * before a query on segext's tables reads a row, so that the refusal does
 * not depend on the data, and on a Citus coordinator hands the current
 * company to the workers; then starts the query as usual.
 */
static void
tenancy_executor_start(QueryDesc *queryDesc, int eflags)
{
	const CurrentCompany *cached;

	if (!IsParallelWorker())
	{
		/*
		 * A cached usable answer has nothing to raise and, without Citus,
		 * nothing to hand on: no need to read the plan.
		 */
		cached = cached_company();
		if ((cached == NULL || cached->refusal != COMPANY_REFUSAL_NONE || citus_may_be_loaded()) &&
			query_reads_segext(queryDesc->plannedstmt))
		{
			raise_refusal(current_company());
			/* on a Citus coordinator: the workers get the same company */
			if (segext_citus_initiating())
			{
				const CurrentCompany *current = current_company();

				if (current->source != COMPANY_SOURCE_NODE)
					segext_company_token_send(current->source != COMPANY_SOURCE_NONE ?
											  &current->company : NULL,
											  current->source == COMPANY_SOURCE_CLAIM ? SEGEXT_TOKEN_CLAIM :
											  current->source == COMPANY_SOURCE_ADMIN ? SEGEXT_TOKEN_ADMIN :
											  SEGEXT_TOKEN_GRANT,
											  current->writable);
			}
		}
	}
	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/*
 * raise_no_current_company raises 42501 "no current company": nothing names
 * the company the statement acts for.
 */
static void
raise_no_current_company(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("no current company"),
			 errdetail("Neither a JWT claim of a gateway session nor the setting \"segext.company_id\" names a company, and role \"%s\" is not granted exactly one company.",
					   GetUserNameFromId(GetUserId(), false)),
			 errhint("SET segext.company_id to a company granted to the role (segext.grant_company), or send a JWT carrying a \"company_id\" claim through a gateway.")));
}

/*
 * segext_get_current_company sets *company to the current company and
 * returns true, or returns false when none is current.
 */
bool
segext_get_current_company(SegextObjectId *company)
{
	const CurrentCompany *current = current_company();

	if (current->source == COMPANY_SOURCE_NONE)
		return false;
	*company = current->company;
	return true;
}

/*
 * segext_require_company sets *company to the current company, or raises the
 * error of an unusable company input or 42501 "no current company".
 */
void
segext_require_company(SegextObjectId *company)
{
	const CurrentCompany *current = current_company();

	raise_refusal(current);
	if (current->source == COMPANY_SOURCE_NONE)
		raise_no_current_company();
	*company = current->company;
}

PG_FUNCTION_INFO_V1(segext_api_company);

/*
 * segext_api_company returns the current company of an API call, or raises
 * 42501 "no current company".
 */
Datum
segext_api_company(PG_FUNCTION_ARGS)
{
	SegextObjectId *company = (SegextObjectId *) palloc(sizeof(SegextObjectId));

	segext_require_company(company);
	PG_RETURN_POINTER(company);
}

/*
 * check_company raises 42501 unless the current user may read (write
 * false) or change (write true) the rows of the company: it is the current
 * company (reached through a writer grant, a trusted claim or as an admin
 * to change it), or the user is a superuser or a member of segext_admin,
 * exactly as the row level security policies decide.  A NULL company (a
 * new row without one) is refused only when no current company is set
 * either.
 */
static void
check_company(const SegextObjectId *company, bool write)
{
	const CurrentCompany *current = current_company();
	char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];
	const char *role;

	raise_refusal(current);
	if (current->admin)
		return;
	if (company != NULL && current->source != COMPANY_SOURCE_NONE &&
		segext_objectid_equal(&current->company, company) &&
		(!write || current->writable))
		return;
	role = GetUserNameFromId(GetUserId(), false);
	if (company == NULL)
	{
		/* else row level security or the NOT NULL constraint reports it */
		if (current->source == COMPANY_SOURCE_NONE)
			raise_no_current_company();
		company = &current->company;
	}
	segext_objectid_to_hex(company, hex);
	if (current->source != COMPANY_SOURCE_NONE &&
		segext_objectid_equal(&current->company, company))
	{
		if (!write || current->writable)
			return;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to change rows of company \"%s\"", hex),
				 errdetail("Role \"%s\" holds only a reader grant for company \"%s\".", role, hex),
				 errhint("A member of segext_admin can grant writing: SELECT segext.grant_company('%s', '%s', 'writer');",
						 hex, quote_identifier(role))));
	}
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for company \"%s\"", hex),
			 current->source == COMPANY_SOURCE_NONE ?
			 errdetail("No current company is set for role \"%s\" in this session.", role) :
			 errdetail("The current company of role \"%s\" in this session is another company.", role),
			 errhint("Set segext.company_id to this company, if it is granted to the role (segext.grant_company), or act as a member of segext_admin.")));
}

/*
 * segext_check_company_access raises 42501 unless the current user may
 * change the rows of the company (see check_company); the rules triggers
 * call it before they read a new row's company as the table owner.
 */
void
segext_check_company_access(const SegextObjectId *company)
{
	check_company(company, true);
}

/*
 * segext_check_company_read_access raises 42501 unless the current user may
 * read the rows of the company (see check_company).
 */
void
segext_check_company_read_access(const SegextObjectId *company)
{
	check_company(company, false);
}

PG_FUNCTION_INFO_V1(segext_company_roles_invalidate);

/*
 * segext_company_roles_invalidate is the statement-level trigger on
 * segext.company_roles: it queues a relcache invalidation of the table,
 * which every backend's callback turns into "resolve the current company
 * again".
 */
Datum
segext_company_roles_invalidate(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = segext_check_trigger_call(fcinfo, "company_roles_invalidate", 0);

	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));

	PG_RETURN_POINTER(NULL);
}

/*
 * segext_company_must_be_visible raises 22023 (with hint) unless a company
 * with this id is visible to the current user; it first evaluates
 * segext.current_company_id(), so an unusable session company raises
 * whether or not the company exists.  The caller is connected to SPI.
 */
void
segext_company_must_be_visible(const SegextObjectId *company, const char *hint)
{
	static SegextKeptPlan plan;
	static const Oid types[1] = {KEPT_ARG_OBJECTID};
	Datum		args[1];
	bool		isnull;
	char		hex[SEGEXT_OBJECTID_HEX_LEN + 1];

	args[0] = PointerGetDatum(company);
	/* one statement prepared once; its columns are evaluated in order */
	if (SPI_execute_plan(segext_kept_plan(&plan,
										  "SELECT segext.current_company_id(), EXISTS (SELECT FROM segext.companies "
										  "WHERE id OPERATOR(pg_catalog.=) $1)",
										  1, types, 0),
						 args, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "SPI_execute_plan failed");
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)))
		return;
	segext_objectid_to_hex(company, hex);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("company \"%s\" does not exist", hex),
			 errdetail("No company visible to the current user has id \"%s\".", hex),
			 errhint("%s", hint)));
}
